package web

import (
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// svgElem is one element of a drawn chart.
type svgElem struct {
	name  string
	attr  map[string]string
	text  string
	class string
}

// parseSVG reads a chart as XML (it must be well-formed) into its elements.
func parseSVG(t *testing.T, s string) []*svgElem {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	var out, stack []*svgElem
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed: %v\n%s", err, s)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &svgElem{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			e.class = e.attr["class"]
			// A group's class applies to what it holds.
			if e.class == "" && len(stack) > 0 {
				e.class = stack[len(stack)-1].class
			}
			out = append(out, e)
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	if len(out) == 0 || out[0].name != "svg" {
		t.Fatalf("no <svg> root: %s", s)
	}
	return out
}

func find(es []*svgElem, name, class string) []*svgElem {
	var out []*svgElem
	for _, e := range es {
		if e.name == name && (class == "" || strings.Contains(" "+e.class+" ", " "+class+" ")) {
			out = append(out, e)
		}
	}
	return out
}

// checkGeometry fails on any coordinate outside the viewBox.
func checkGeometry(t *testing.T, es []*svgElem) {
	t.Helper()
	if vb := es[0].attr["viewBox"]; vb != "0 0 640 240" {
		t.Errorf("viewBox %q", vb)
	}
	if es[0].attr["width"] != "100%" {
		t.Errorf("width %q, want 100%%", es[0].attr["width"])
	}
	in := func(what string, v float64, hi float64) {
		if math.IsNaN(v) || v < 0 || v > hi {
			t.Errorf("%s = %v, outside 0..%v", what, v, hi)
		}
	}
	for _, e := range es {
		for _, k := range []string{"x", "x1", "x2", "cx"} {
			if v, ok := e.attr[k]; ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Errorf("<%s %s=%q>", e.name, k, v)
				}
				in(e.name+" "+k, f, 640)
			}
		}
		for _, k := range []string{"y", "y1", "y2", "cy"} {
			if v, ok := e.attr[k]; ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Errorf("<%s %s=%q>", e.name, k, v)
				}
				in(e.name+" "+k, f, 240)
			}
		}
		if pts, ok := e.attr["points"]; ok {
			for _, p := range points(t, pts) {
				in(e.name+" point x", p[0], 640)
				in(e.name+" point y", p[1], 240)
			}
		}
	}
}

func points(t *testing.T, s string) [][2]float64 {
	var out [][2]float64
	for _, p := range strings.Fields(s) {
		xs, ys, ok := strings.Cut(p, ",")
		x, err1 := strconv.ParseFloat(xs, 64)
		y, err2 := strconv.ParseFloat(ys, 64)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("bad point %q", p)
		}
		out = append(out, [2]float64{x, y})
	}
	return out
}

func label(es []*svgElem) string { return es[0].attr["aria-label"] }

var (
	chStart = time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	chEnd   = time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC)
)

func TestChartAccessible(t *testing.T) {
	es := parseSVG(t, string(SpendChart(sampleSpend(), 400, 1031.9, chStart, chEnd, sampleNow)))
	checkGeometry(t, es)
	if es[0].attr["role"] != "img" {
		t.Errorf("role %q", es[0].attr["role"])
	}
	if ts := find(es, "title", ""); len(ts) != 1 || ts[0].text == "" {
		t.Errorf("no title")
	}
	want := "Spent $312.47 from Feb 1, 2026 to today. Forecast $1,031.90 by Apr 30, 2026. Budget $400.00; the forecast is $631.90 over it."
	if got := label(es); got != want {
		t.Errorf("aria-label\n got %q\nwant %q", got, want)
	}
	// The spend line runs left to right, from zero at the start to the
	// last total at now.
	lines := find(es, "polyline", "spend")
	if len(lines) != 1 {
		t.Fatalf("%d spend lines", len(lines))
	}
	pts := points(t, lines[0].attr["points"])
	for i := 1; i < len(pts); i++ {
		if pts[i][0] < pts[i-1][0] {
			t.Errorf("spend line goes back: %v then %v", pts[i-1], pts[i])
		}
		if pts[i][1] > pts[i-1][1]+1e-9 { // y grows downwards; spending never falls here
			t.Errorf("cumulative spend falls: %v then %v", pts[i-1], pts[i])
		}
	}
	c := newChart(sampleSpend(), 400, 1031.9, chStart, chEnd, sampleNow)
	if first := pts[0]; math.Abs(first[0]-chartLeft) > 0.1 || math.Abs(first[1]-c.y(0)) > 0.1 {
		t.Errorf("spend starts at %v, want (%d, %v)", first, chartLeft, c.y(0))
	}
	last := pts[len(pts)-1]
	if math.Abs(last[0]-c.x(sampleNow)) > 0.1 || math.Abs(last[1]-c.y(312.47)) > 0.1 {
		t.Errorf("spend ends at %v, want (%v, %v)", last, c.x(sampleNow), c.y(312.47))
	}
	// Ticks: dates below, dollars on the left, and a labelled budget.
	var texts []string
	for _, e := range find(es, "text", "") {
		texts = append(texts, e.text)
	}
	all := strings.Join(texts, "|")
	for _, w := range []string{"$0", "$500", "$1,000", "Budget $400.00", "today", "$1,031.90", "Feb 2", "Mar 2", "Apr 27"} {
		if !strings.Contains("|"+all+"|", "|"+w+"|") {
			t.Errorf("no %q among the chart's texts: %s", w, all)
		}
	}
}

func TestChartNoPoints(t *testing.T) {
	es := parseSVG(t, string(SpendChart(nil, 100, 20, chStart, chEnd, sampleNow)))
	checkGeometry(t, es)
	if n := len(find(es, "polyline", "")); n != 0 {
		t.Errorf("%d polylines without points", n)
	}
	if !strings.HasPrefix(label(es), "No spending yet (since Feb 1, 2026).") {
		t.Errorf("aria-label %q", label(es))
	}
	// The forecast still starts from zero now.
	fl := find(es, "line", "forecast")
	if len(fl) != 1 {
		t.Fatalf("%d forecast lines", len(fl))
	}
	c := newChart(nil, 100, 20, chStart, chEnd, sampleNow)
	if y, _ := strconv.ParseFloat(fl[0].attr["y1"], 64); math.Abs(y-c.y(0)) > 0.1 {
		t.Errorf("forecast starts at y %v, want %v", y, c.y(0))
	}
	// Nothing at all: still a chart.
	es = parseSVG(t, string(SpendChart(nil, 0, 0, time.Time{}, time.Time{}, sampleNow)))
	checkGeometry(t, es)
}

func TestChartOnePoint(t *testing.T) {
	pts := []SpendPoint{{Day: time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC), Cumulative: 12.5}}
	es := parseSVG(t, string(SpendChart(pts, 100, 60, time.Date(2026, 3, 18, 8, 0, 0, 0, time.UTC), chEnd, sampleNow)))
	checkGeometry(t, es)
	lines := find(es, "polyline", "spend")
	if len(lines) != 1 {
		t.Fatalf("%d spend lines", len(lines))
	}
	if p := points(t, lines[0].attr["points"]); len(p) < 2 || p[0][0] >= p[len(p)-1][0] {
		t.Errorf("one point draws %v", p)
	}
	if !strings.Contains(label(es), "Spent $12.50 from Mar 18, 2026") {
		t.Errorf("aria-label %q", label(es))
	}
}

func TestChartNoBudget(t *testing.T) {
	es := parseSVG(t, string(SpendChart(sampleSpend(), 0, 500, chStart, chEnd, sampleNow)))
	checkGeometry(t, es)
	if n := len(find(es, "g", "budget")); n != 0 {
		t.Errorf("budget 0 draws %d budget lines", n)
	}
	if strings.Contains(string(SpendChart(sampleSpend(), 0, 500, chStart, chEnd, sampleNow)), "Budget $") {
		t.Error("budget 0 is labelled")
	}
	if !strings.HasSuffix(label(es), "No budget.") {
		t.Errorf("aria-label %q", label(es))
	}
	if n := len(find(es, "g", "over")); n != 0 {
		t.Error("a forecast is over no budget")
	}
}

func TestChartForecastOverBudget(t *testing.T) {
	es := parseSVG(t, string(SpendChart(sampleSpend(), 400, 1031.9, chStart, chEnd, sampleNow)))
	over := find(es, "g", "over")
	if len(over) != 1 {
		t.Fatalf("forecast over budget: %d .over groups", len(over))
	}
	// The scale holds the forecast: its end is inside the plot, above the budget.
	c := newChart(sampleSpend(), 400, 1031.9, chStart, chEnd, sampleNow)
	fl := find(es, "line", "forecast")[0]
	y2, _ := strconv.ParseFloat(fl.attr["y2"], 64)
	x2, _ := strconv.ParseFloat(fl.attr["x2"], 64)
	if y2 < chartTop || y2 >= c.y(400) {
		t.Errorf("forecast ends at y %v; budget at %v, top %v", y2, c.y(400), chartTop)
	}
	if math.Abs(x2-(chartW-chartRight)) > 0.1 {
		t.Errorf("forecast ends at x %v, want the end of the axis", x2)
	}
	// Under budget: not marked over.
	es = parseSVG(t, string(SpendChart(sampleSpend(), 2000, 1031.9, chStart, chEnd, sampleNow)))
	if len(find(es, "g", "over")) != 0 || strings.Contains(label(es), "over") {
		t.Errorf("under budget marked over: %q", label(es))
	}
}

func TestChartEndBeforeNow(t *testing.T) {
	end := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	s := string(SpendChart(sampleSpend(), 400, 312.47, chStart, end, sampleNow))
	es := parseSVG(t, s)
	checkGeometry(t, es)
	if n := len(find(es, "line", "forecast")); n != 0 {
		t.Errorf("%d forecast lines after the end", n)
	}
	if len(find(es, "g", "ended")) != 1 {
		t.Error("no end marker")
	}
	if !strings.Contains(label(es), "The project ended on Mar 10, 2026.") {
		t.Errorf("aria-label %q", label(es))
	}
	// The axis runs to now, so today's spend is drawn.
	c := newChart(sampleSpend(), 400, 312.47, chStart, end, sampleNow)
	if !c.x1.Equal(sampleNow) || math.Abs(c.x(sampleNow)-(chartW-chartRight)) > 0.1 {
		t.Errorf("axis ends %v", c.x1)
	}
}

func TestChartOpenEnded(t *testing.T) {
	es := parseSVG(t, string(SpendChart(sampleSpend(), 0, 400, chStart, time.Time{}, sampleNow)))
	checkGeometry(t, es)
	c := newChart(sampleSpend(), 0, 400, chStart, time.Time{}, sampleNow)
	if want := sampleNow.Add(30 * 24 * time.Hour); !c.x1.Equal(want) {
		t.Errorf("open-ended axis ends %v, want %v", c.x1, want)
	}
	if !strings.Contains(label(es), "Open-ended; forecast $400.00 by Apr 17, 2026.") {
		t.Errorf("aria-label %q", label(es))
	}
}

func TestChartOddInput(t *testing.T) {
	// Points out of order, before the start, NaN, a start after now.
	pts := []SpendPoint{
		{Day: time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC), Cumulative: 30},
		{Day: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), Cumulative: 10},
		{Day: time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC), Cumulative: math.NaN()},
	}
	for _, start := range []time.Time{chStart, sampleNow.Add(time.Hour), {}} {
		es := parseSVG(t, string(SpendChart(pts, math.Inf(1), -5, start, chEnd, sampleNow)))
		checkGeometry(t, es)
	}
	c := newChart(pts, 0, 0, chStart, chEnd, sampleNow)
	if !c.x0.Equal(pts[1].Day) {
		t.Errorf("axis starts %v, want the earliest point %v", c.x0, pts[1].Day)
	}
}

func TestNiceStepAndAxisMoney(t *testing.T) {
	for in, want := range map[float64]float64{0.3: 0.5, 1: 1, 1.2: 2, 2.2: 2.5, 260: 500, 7: 10, 0.0004: 0.0005} {
		if got := niceStep(in); math.Abs(got-want) > 1e-12 {
			t.Errorf("niceStep(%v) = %v, want %v", in, got, want)
		}
	}
	for _, c := range []struct {
		v, step float64
		want    string
	}{{0, 1, "$0"}, {1500, 500, "$1,500"}, {0.25, 0.25, "$0.25"}, {0.5, 0.25, "$0.50"}, {0.0005, 0.0005, "$0.0005"}} {
		if got := axisMoney(c.v, c.step); got != c.want {
			t.Errorf("axisMoney(%v, %v) = %q, want %q", c.v, c.step, got, c.want)
		}
	}
}
