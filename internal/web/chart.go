package web

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The chart's drawing box, in viewBox units. The SVG scales to its
// container's width; the page keeps it from getting too narrow to read.
const (
	chartW      = 640
	chartH      = 240
	chartLeft   = 64 // room for the $ labels
	chartRight  = 20
	chartTop    = 18
	chartBottom = 28 // room for the date labels
)

// SpendChart draws a project's spending as an inline SVG: the cumulative
// spend up to now (a solid line over a light area), a dashed forecast from
// now's spend to forecast at end, and the budget as a labelled horizontal
// line (none when budget is 0). The x axis runs from start (or the first
// point, if earlier) to end, or to now when end has passed; a zero end
// means open-ended, drawn to now plus 30 days. It is accessible: role img,
// a title, and an aria-label that says the figures.
func SpendChart(points []SpendPoint, budget, forecast float64, start, end time.Time, now time.Time) string {
	c := newChart(points, budget, forecast, start, end, now)
	return c.svg()
}

// chart is SpendChart's figures, cleaned up, and the scales that place
// them.
type chart struct {
	pts              []xy // the spend line, in time and dollars
	budget, forecast float64
	last             float64 // spent up to now
	start, end, now  time.Time
	x0, x1           time.Time // the x axis
	ymax, ystep      float64
	openEnded        bool
}

type xy struct {
	t time.Time
	v float64
}

func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0
	}
	return f
}

func newChart(points []SpendPoint, budget, forecast float64, start, end, now time.Time) *chart {
	c := &chart{budget: finite(budget), forecast: finite(forecast), start: start, end: end, now: now}
	ps := slices.Clone(points)
	slices.SortStableFunc(ps, func(a, b SpendPoint) int { return a.Day.Compare(b.Day) })
	if c.now.IsZero() {
		c.now = time.Now()
	}
	if c.end.IsZero() {
		c.openEnded = true
		c.end = c.now.Add(30 * 24 * time.Hour)
	}
	// The axis: from start, or the first point if earlier (or start is
	// unknown), to end, or now if end has passed.
	c.x0 = c.start
	if len(ps) > 0 && (c.x0.IsZero() || ps[0].Day.Before(c.x0)) {
		c.x0 = ps[0].Day
	}
	if c.x0.IsZero() || !c.x0.Before(c.now) {
		c.x0 = c.now.Add(-24 * time.Hour)
	}
	c.x1 = c.end
	if c.x1.Before(c.now) {
		c.x1 = c.now
	}
	if c.x1.Sub(c.x0) < time.Hour {
		c.x1 = c.x0.Add(time.Hour)
	}

	// The spend line: zero until the first day with spending, then each
	// day's total at its end (or now, for today).
	if len(ps) > 0 {
		first := ps[0].Day
		if first.Before(c.x0) {
			first = c.x0
		}
		c.pts = append(c.pts, xy{c.x0, 0})
		if first.After(c.x0) {
			c.pts = append(c.pts, xy{first, 0})
		}
		for _, p := range ps {
			t := p.Day.Add(24 * time.Hour)
			if t.After(c.now) {
				t = c.now
			}
			if t.Before(c.x0) {
				t = c.x0
			}
			v := finite(p.Cumulative)
			c.pts = append(c.pts, xy{t, v})
			c.last = v
		}
		if lt := c.pts[len(c.pts)-1].t; lt.Before(c.now) {
			c.pts = append(c.pts, xy{c.now, c.last})
		}
	}

	top := max(c.budget, c.forecast, c.last)
	for _, p := range c.pts {
		top = max(top, p.v)
	}
	if top <= 0 {
		top = 1
	}
	c.ystep = niceStep(top / 4)
	c.ymax = math.Ceil(top/c.ystep-1e-9) * c.ystep
	if c.ymax < top*1.04 { // leave room above the highest line for its label
		c.ymax += c.ystep
	}
	return c
}

// niceStep rounds a step up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

func (c *chart) x(t time.Time) float64 {
	f := float64(t.Sub(c.x0)) / float64(c.x1.Sub(c.x0))
	f = min(max(f, 0), 1)
	return chartLeft + f*(chartW-chartLeft-chartRight)
}

func (c *chart) y(v float64) float64 {
	f := min(max(v/c.ymax, 0), 1)
	return chartH - chartBottom - f*(chartH-chartTop-chartBottom)
}

// n writes a coordinate.
func n(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

func (c *chart) svg() string {
	var b strings.Builder
	label := c.describe()
	fmt.Fprintf(&b, `<svg class="spend-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="%s" font-size="12">`,
		chartW, chartH, html.EscapeString(label))
	b.WriteString(`<title>Spending over time</title>`)

	// Grid and $ ticks.
	b.WriteString(`<g class="axis y" aria-hidden="true">`)
	for i := 0; ; i++ {
		v := float64(i) * c.ystep
		if v > c.ymax*(1+1e-9) {
			break
		}
		y := n(c.y(v))
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%s" y2="%s" stroke="#e5e7eb"/>`, chartLeft, chartW-chartRight, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%s" dy="4" text-anchor="end" fill="#57606a">%s</text>`, chartLeft-8, y, axisMoney(v, c.ystep))
	}
	b.WriteString(`</g>`)

	// Date ticks.
	b.WriteString(`<g class="axis x" aria-hidden="true">`)
	base := n(chartH - chartBottom)
	fmt.Fprintf(&b, `<line class="base" x1="%d" x2="%d" y1="%s" y2="%s" stroke="#8c959f"/>`, chartLeft, chartW-chartRight, base, base)
	for _, t := range c.dateTicks() {
		x := n(c.x(t.t))
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#8c959f"/>`, x, x, base, n(chartH-chartBottom+4))
		fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle" fill="#57606a">%s</text>`, x, chartH-8, html.EscapeString(t.label))
	}
	b.WriteString(`</g>`)

	// Today, and the end date when it has passed.
	if c.end.Before(c.now) {
		x := n(c.x(c.end))
		fmt.Fprintf(&b, `<g class="ended" aria-hidden="true"><line x1="%s" x2="%s" y1="%d" y2="%s" stroke="#8c959f" stroke-dasharray="2 3"/><text x="%s" y="%d" dx="-4" text-anchor="end" fill="#57606a">ended</text></g>`,
			x, x, chartTop, base, x, chartTop+10)
	}
	tx := c.x(c.now)
	anchor, dx := "middle", "0"
	switch {
	case tx > chartW-chartRight-24:
		anchor, dx = "end", "-4"
	case tx < chartLeft+24: // clear of the $ labels
		anchor, dx = "start", "4"
	}
	fmt.Fprintf(&b, `<g class="today" aria-hidden="true"><line x1="%s" x2="%s" y1="%d" y2="%s" stroke="#8c959f" stroke-dasharray="2 3"/><text x="%s" dx="%s" y="%d" text-anchor="%s" fill="#57606a">today</text></g>`,
		n(tx), n(tx), chartTop, base, n(tx), dx, chartTop-6, anchor)

	// Budget.
	if c.budget > 0 {
		y := c.y(c.budget)
		ly, cls := y-6, "budget"
		if y < chartTop+14 {
			ly = y + 15
		}
		if c.last >= c.budget {
			cls += " reached"
		}
		fmt.Fprintf(&b, `<g class="%s"><line x1="%d" x2="%d" y1="%s" y2="%s" stroke="#9a6700" stroke-width="1.5"/><text x="%d" y="%s" text-anchor="start" fill="#7d4e00">Budget %s</text></g>`,
			cls, chartLeft, chartW-chartRight, n(y), n(y), chartLeft+6, n(ly), html.EscapeString(Money(c.budget)))
	}

	// Spend: area and line.
	if len(c.pts) > 0 {
		var line strings.Builder
		for i, p := range c.pts {
			if i > 0 {
				line.WriteByte(' ')
			}
			line.WriteString(n(c.x(p.t)) + "," + n(c.y(p.v)))
		}
		first, lastPt := c.pts[0], c.pts[len(c.pts)-1]
		fmt.Fprintf(&b, `<polygon class="spend-area" points="%s %s,%s %s,%s" fill="#0969da" fill-opacity="0.12" stroke="none"/>`,
			line.String(), n(c.x(lastPt.t)), base, n(c.x(first.t)), base)
		fmt.Fprintf(&b, `<polyline class="spend" points="%s" fill="none" stroke="#0969da" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>`, line.String())
	}

	// Forecast: from now's spend to the forecast at the end.
	if c.end.After(c.now) {
		cls, stroke := "forecast", "#57606a"
		if c.budget > 0 && c.forecast > c.budget {
			cls, stroke = "forecast over", "#cf222e"
		}
		x1, y1, x2, y2 := c.x(c.now), c.y(c.last), c.x(c.end), c.y(c.forecast)
		fmt.Fprintf(&b, `<g class="%s"><line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="6 4"/><circle cx="%s" cy="%s" r="3" fill="%s"/>`,
			cls, n(x1), n(y1), n(x2), n(y2), stroke, n(x2), n(y2), stroke)
		ty := y2 - 8
		if ty < chartTop {
			ty = y2 + 16
		}
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end" fill="%s">%s</text></g>`,
			n(x2), n(ty), stroke, html.EscapeString(Money(c.forecast)))
	}
	// Now's spend.
	fmt.Fprintf(&b, `<circle class="now" cx="%s" cy="%s" r="3.5" fill="#0969da"/>`, n(c.x(c.now)), n(c.y(c.last)))
	b.WriteString(`</svg>`)
	return b.String()
}

// describe says what the chart shows, for those who cannot see it.
func (c *chart) describe() string {
	var b strings.Builder
	if len(c.pts) == 0 {
		fmt.Fprintf(&b, "No spending yet (since %s).", Date(c.x0))
	} else {
		fmt.Fprintf(&b, "Spent %s from %s to today.", Money(c.last), Date(c.x0))
	}
	switch {
	case c.end.Before(c.now):
		fmt.Fprintf(&b, " The project ended on %s.", Date(c.end))
	case c.openEnded:
		fmt.Fprintf(&b, " Open-ended; forecast %s by %s.", Money(c.forecast), Date(c.end))
	default:
		fmt.Fprintf(&b, " Forecast %s by %s.", Money(c.forecast), Date(c.end))
	}
	if c.budget > 0 {
		fmt.Fprintf(&b, " Budget %s", Money(c.budget))
		switch {
		case c.last >= c.budget:
			b.WriteString(", spent.")
		case c.end.After(c.now) && c.forecast > c.budget:
			fmt.Fprintf(&b, "; the forecast is %s over it.", Money(c.forecast-c.budget))
		default:
			b.WriteString(".")
		}
	} else {
		b.WriteString(" No budget.")
	}
	return b.String()
}

// axisMoney writes a tick of the $ axis, to the precision its step needs.
func axisMoney(v, step float64) string {
	if v == 0 {
		return "$0"
	}
	if step >= 1 && v == math.Trunc(v) {
		if v >= 1e15 {
			return "$" + strconv.FormatFloat(v, 'g', 3, 64)
		}
		return "$" + group(int64(v))
	}
	dec := int(math.Ceil(-math.Log10(step) - 1e-9))
	if s := strconv.FormatFloat(step, 'f', -1, 64); strings.Contains(s, ".") {
		dec = max(dec, len(s)-strings.IndexByte(s, '.')-1)
	}
	dec = min(max(dec, 2), 9)
	return "$" + strconv.FormatFloat(v, 'f', dec, 64)
}

type tick struct {
	t     time.Time
	label string
}

// dateTicks are midnights (UTC) spaced so that about six fit: every day,
// few days or week, or the first of every month or few months.
func (c *chart) dateTicks() []tick {
	span := c.x1.Sub(c.x0)
	days := span.Hours() / 24
	var out []tick
	in := func(t time.Time) bool { return !t.Before(c.x0) && !t.After(c.x1) }
	if days <= 112 {
		step := 1
		for _, s := range []int{1, 2, 3, 7, 14} {
			step = s
			if days/float64(s) <= 8 {
				break
			}
		}
		t := c.x0.UTC().Truncate(24 * time.Hour)
		if t.Before(c.x0) {
			t = t.AddDate(0, 0, 1)
		}
		for ; in(t); t = t.AddDate(0, 0, step) {
			out = append(out, tick{t, t.Format("Jan 2")})
		}
	} else {
		months := days / 30.4
		step := 1
		for _, s := range []int{1, 2, 3, 6, 12, 24, 60} {
			step = s
			if months/float64(s) <= 7 {
				break
			}
		}
		y, m, _ := c.x0.UTC().Date()
		t := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		if t.Before(c.x0) {
			t = t.AddDate(0, 1, 0)
		}
		// Start on a month that the step divides, so ticks read evenly.
		for step > 1 && step <= 12 && (int(t.Month())-1)%step != 0 {
			t = t.AddDate(0, 1, 0)
		}
		years := c.x0.Year() != c.x1.Year()
		for ; in(t); t = t.AddDate(0, step, 0) {
			l := t.Format("Jan")
			if years {
				l = t.Format("Jan 2006")
			}
			out = append(out, tick{t, l})
		}
	}
	if len(out) < 2 { // less than two days: say where the axis starts and ends
		out = []tick{{c.x0, c.x0.UTC().Format("Jan 2 15:04")}, {c.x1, c.x1.UTC().Format("Jan 2 15:04")}}
	}
	return out
}
