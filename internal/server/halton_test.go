package server

import (
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func haltOn(on string, n int, pct float64) jobOpt {
	return func(s *burst.JobSpec) { s.Map.HaltOn, s.Map.HaltAfter, s.Map.HaltAfterPct = on, n, pct }
}

// byIndex exits each task with codes[its index] (0 past the end).
func byIndex(codes ...int) func(client.TaskRef) int {
	return func(r client.TaskRef) int {
		if r.Index < len(codes) {
			return codes[r.Index]
		}
		return 0
	}
}

// GNU parallel's --halt success=N and done=N (HaltOn): the map stops once
// N of its tasks succeeded, or ended whatever their end, and starts no
// more; it ends succeeded (exit 0) on success=, whatever failed before,
// and on done= as its tasks' ends say (the number that failed). A map
// that never reaches its N ends as without a halt. The tasks run one at a
// time here, in input order.
func TestHaltOnSuccessAndDone(t *testing.T) {
	for _, c := range []struct {
		name                   string
		opt                    jobOpt
		codes                  []int
		succeeded, failed, ran int
		state                  burst.State
		exit                   int
		reason                 string
	}{
		{"success=1 after a failure", haltOn(burst.HaltOnSuccess, 1, 0), []int{1, 0}, 1, 1, 2, burst.Succeeded, 0, "halted: 1 task succeeded (--halt success=1)"},
		{"success=2", haltOn(burst.HaltOnSuccess, 2, 0), nil, 2, 0, 2, burst.Succeeded, 0, "halted: 2 tasks succeeded (--halt success=2)"},
		{"success=30% of 10 is 3", haltOn(burst.HaltOnSuccess, 0, 30), []int{0, 2, 0, 0}, 3, 1, 4, burst.Succeeded, 0, "halted: 3 tasks succeeded (--halt success=30%)"},
		{"success=5% of 10 is the first", haltOn(burst.HaltOnSuccess, 0, 5), nil, 1, 0, 1, burst.Succeeded, 0, ""},
		{"done=2 with a failure", haltOn(burst.HaltOnDone, 2, 0), []int{3, 0}, 1, 1, 2, burst.Failed, 1, ""},
		{"done=2", haltOn(burst.HaltOnDone, 2, 0), nil, 2, 0, 2, burst.Succeeded, 0, "halted: 2 tasks ended (--halt done=2)"},
		{"success=5 never reached", haltOn(burst.HaltOnSuccess, 5, 0), []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, 1, 9, 10, burst.Failed, 9, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.register("a", 1)
			id := h.submit(10, c.opt)
			h.drive("a", 20, byIndex(c.codes...))
			row := h.job(id)
			if n := row.Tasks; n.Succeeded != c.succeeded || n.Failed != c.failed || n.Cancelled != 10-c.ran {
				t.Fatalf("counts %+v (%s), want %d succeeded, %d failed, %d never started", n, row.Reason, c.succeeded, c.failed, 10-c.ran)
			}
			h.wantJob(id, c.state, c.exit)
			if row.Halted != (c.ran < 10) {
				t.Errorf("halted %v, want %v", row.Halted, c.ran < 10)
			}
			if c.reason != "" && row.Reason != c.reason {
				t.Errorf("reason %q, want %q", row.Reason, c.reason)
			}
		})
	}
}
