package cli

import (
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"

	"github.com/burst-sh/burst"
)

// progress is a map's live progress bar on a terminal: done of total, rate,
// time left, and the tasks by state.
type progress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("tasks"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
		progressbar.OptionThrottle(100*1e6),
		progressbar.OptionSetRenderBlankState(true),
	)}
}

func (p *progress) update(c burst.TaskCounts) {
	p.bar.Describe(describe(c))
	p.bar.Set(c.Done())
}

func (p *progress) finish(c burst.TaskCounts) {
	p.update(c)
	p.bar.Finish()
	p.bar.Exit()
	fmt.Fprintln(p.w)
}

// describe writes the counts that matter now: done and failed always,
// running and queued while there are any.
func describe(c burst.TaskCounts) string {
	s := fmt.Sprintf("done %d", c.Succeeded)
	if bad := c.Failed + c.Timeout + c.Lost; bad > 0 {
		s += fmt.Sprintf(" · failed %d", bad)
	}
	if c.Running > 0 {
		s += fmt.Sprintf(" · running %d", c.Running)
	}
	if c.Queued > 0 {
		s += fmt.Sprintf(" · queued %d", c.Queued)
	}
	return s
}
