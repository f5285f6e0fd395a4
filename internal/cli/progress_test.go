package cli

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

var lineCounts = regexp.MustCompile(`(\d+)/(\d+) · ok (\d+)(?: · failed (\d+))?(?: · cancelled (\d+))?`)

// The bar's count and the words beside it tell the same story: done = ok +
// failed + cancelled, and what is neither done nor running is queued.
func TestProgressLineCountsAgree(t *testing.T) {
	for _, c := range []burst.TaskCounts{
		{Total: 10, Succeeded: 3, Failed: 1, Timeout: 1, Running: 2, Queued: 3},
		{Total: 7, Succeeded: 2, Cancelled: 4, Lost: 1},
		{Total: 5, Queued: 5},
		{Total: 1000, Succeeded: 999, Running: 1},
	} {
		line := progressLine(c, 1.25, 10*time.Second, 0, 200)
		m := lineCounts.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("%+v: %q has no done/total · ok", c, line)
			continue
		}
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		if n(1) != c.Done() || n(2) != c.Total || n(3)+n(4)+n(5) != n(1) {
			t.Errorf("%+v: %q: done %d should be ok %d + failed %d + cancelled %d", c, line, n(1), n(3), n(4), n(5))
		}
		if q := c.Total - c.Done() - c.Running; q > 0 && !strings.Contains(line, "queued "+strconv.Itoa(q)) {
			t.Errorf("%+v: %q should say queued %d", c, line, q)
		}
		if !strings.Contains(line, "$1.25") {
			t.Errorf("%+v: %q should show the cost so far, $1.25", c, line)
		}
		if !strings.HasPrefix(line, "[") {
			t.Errorf("%+v: %q: no bar on a wide terminal", c, line)
		}
	}
	// Narrow terminals get the line cut, never wrapped (a wrapped line
	// could not be redrawn in place).
	c := burst.TaskCounts{Total: 10, Succeeded: 3, Running: 2}
	for _, w := range []int{10, 40, 60} {
		if l := progressLine(c, 0, time.Second, 0, w); len([]rune(l)) > w-1 {
			t.Errorf("width %d: %q is %d columns", w, l, len([]rune(l)))
		}
	}
	// Rate and time left count only what ended during this follow.
	l := progressLine(burst.TaskCounts{Total: 100, Succeeded: 60, Running: 1}, 0, 10*time.Second, 50, 200)
	if !strings.Contains(l, "1.0 tasks/s") || !strings.Contains(l, "40s left") {
		t.Errorf("10 tasks in 10 s with 40 left: %q should say 1.0 tasks/s and 40s left", l)
	}
}
