package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// progress is a map's live progress line on a terminal's stderr: a bar,
// done of total, the tasks by state, the rate, the time left and the cost so
// far. Task output printed meanwhile goes above it: clear takes the line
// away, the next draw puts it back below what was printed.
type progress struct {
	w     io.Writer
	width func() int // the terminal's columns now
	start time.Time
	base  int  // tasks already done when following began (a resume's)
	drawn bool // the line is on the terminal now
	last  string
}

func newProgress(w io.Writer, width func() int, now time.Time, c burst.TaskCounts) *progress {
	return &progress{w: w, width: width, start: now, base: c.Done()}
}

// draw writes the line for counts c and cost usd at time now, in place of
// the one drawn before.
func (p *progress) draw(c burst.TaskCounts, cost float64, now time.Time) {
	line := progressLine(c, cost, now.Sub(p.start), p.base, p.width())
	if p.drawn && line == p.last {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K"+line)
	p.drawn, p.last = true, line
}

// clear takes the line off the terminal, leaving the cursor at the start of
// the now empty line, so that what is printed next takes its place.
func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// finish draws the final counts and ends the line.
func (p *progress) finish(c burst.TaskCounts, cost float64, now time.Time) {
	p.drawn = false
	p.draw(c, cost, now)
	fmt.Fprintln(p.w)
	p.drawn = false
}

// progressLine renders one progress line at most width columns wide: the
// bar and "done/total" count every task that ended, and the words beside it
// split that same number (ok + failed + cancelled = done), then what still
// runs or waits. Pure: a function of its arguments.
func progressLine(c burst.TaskCounts, cost float64, elapsed time.Duration, base, width int) string {
	done := c.Done()
	words := []string{fmt.Sprintf("%d/%d", done, c.Total), fmt.Sprintf("ok %d", c.Succeeded)}
	if bad := c.Failed + c.Timeout + c.Lost; bad > 0 {
		words = append(words, fmt.Sprintf("failed %d", bad))
	}
	if c.Cancelled > 0 {
		words = append(words, fmt.Sprintf("cancelled %d", c.Cancelled))
	}
	if c.Running > 0 {
		words = append(words, fmt.Sprintf("running %d", c.Running))
	}
	if q := c.Total - done - c.Running; q > 0 {
		words = append(words, fmt.Sprintf("queued %d", q))
	}
	if n := done - base; n > 0 && elapsed > 0 {
		rate := float64(n) / elapsed.Seconds()
		words = append(words, fmt.Sprintf("%.1f tasks/s", rate))
		if left := c.Total - done; left > 0 {
			words = append(words, shortDuration(time.Duration(float64(left)/rate*float64(time.Second)))+" left")
		}
	}
	words = append(words, usd(cost))
	text := strings.Join(words, " · ")
	const barWidth = 20
	if width <= 0 {
		width = 80
	}
	if len([]rune(text))+barWidth+3 <= width-1 {
		fill := 0
		if c.Total > 0 {
			fill = done * barWidth / c.Total
		}
		text = "[" + strings.Repeat("#", fill) + strings.Repeat(".", barWidth-fill) + "] " + text
	}
	if r := []rune(text); len(r) > width-1 {
		text = string(r[:max(width-1, 0)])
	}
	return text
}

// shortDuration is d rounded for a person: 42s, 3m10s, 2h05m.
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
