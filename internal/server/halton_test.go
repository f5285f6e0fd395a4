package server

import (
	"strings"
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

// The exit status a --halt success= or done= fixes when it halts, as GNU
// parallel 20221122 fixes it (checked side by side): tasks that soon lets
// end afterwards, failing or not, change nothing. On done=, the number
// that had failed, their share of the tasks with done=P%, or the halting
// task's own status where the halt counts one task. Every task starts at
// once here; they end in order.
func TestHaltFixesStatusWhenItHalts(t *testing.T) {
	for _, c := range []struct {
		name  string
		opt   jobOpt
		soon  bool
		codes []int // each task's exit status, in the order they end
		state burst.State
		exit  int
	}{
		{"soon,done=1 ::: 0 1", haltOn(burst.HaltOnDone, 1, 0), true, []int{0, 1}, burst.Succeeded, 0},
		{"now,done=1 ::: 3 0", haltOn(burst.HaltOnDone, 1, 0), false, []int{3, 0}, burst.Failed, 3},
		{"now,done=50% ::: 3 0", haltOn(burst.HaltOnDone, 0, 50), false, []int{3, 0}, burst.Failed, 3},
		{"soon,done=2 ::: 0 3 5 4", haltOn(burst.HaltOnDone, 2, 0), true, []int{0, 3, 5, 4}, burst.Failed, 1},
		{"soon,done=50% ::: 0 3 5 4", haltOn(burst.HaltOnDone, 0, 50), true, []int{0, 3, 5, 4}, burst.Failed, 25},
		{"soon,success=1 ::: 1 0 2", haltOn(burst.HaltOnSuccess, 1, 0), true, []int{1, 0, 2}, burst.Succeeded, 0},
		{"done=2 met by the last task ::: 0 4", haltOn(burst.HaltOnDone, 2, 0), false, []int{0, 4}, burst.Failed, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.register("a", len(c.codes))
			id := h.submit(len(c.codes), c.opt, func(s *burst.JobSpec) { s.Map.HaltSoon = c.soon })
			h.place()
			_, refs := h.startAll("a", 0)
			if len(refs) != len(c.codes) {
				t.Fatalf("%d tasks started, want %d", len(refs), len(c.codes))
			}
			for _, r := range refs {
				switch tk := h.c.jobs[id]; {
				case tk == nil || tk.finished:
				case tk.running[r.Index] != nil && tk.running[r.Index].cancel: // now: its agent stops it
					h.report("a", client.TaskEvent{TaskRef: r, Kind: client.EventExited, State: burst.Cancelled, EndedAt: &h.now})
				default:
					h.finish("a", []client.TaskRef{r}, byIndex(c.codes...))
				}
			}
			h.wantJob(id, c.state, c.exit)
			if row := h.job(id); !strings.HasPrefix(row.Reason, "halted: ") {
				t.Errorf("reason %q, want the halt's", row.Reason)
			}
		})
	}
}

// A resumed map's --halt success= counts what succeeds from then on, as
// parallel --resume-failed counts the jobs it runs: the successes before
// the resume do not halt it again at its first end.
func TestHaltAfterResume(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	id := h.submit(10, haltOn(burst.HaltOnSuccess, 1, 0))
	h.drive("a", 20, byIndex(1, 0)) // task 0 fails, task 1 succeeds: halted, 8 never ran
	h.wantJob(id, burst.Succeeded, 0)
	h.resume(id)
	h.drive("a", 20, byIndex(1, 0, 2, 2, 0)) // 0 fails again, 2 and 3 fail, 4 succeeds: halted there
	row := h.job(id)
	if n := row.Tasks; n.Succeeded != 2 || n.Failed != 3 || n.Cancelled != 5 {
		t.Fatalf("after the resume: counts %+v (%s), want 2 succeeded, 3 failed, 5 never run", n, row.Reason)
	}
	h.wantJob(id, burst.Succeeded, 0)
}

// A cache hit is a success: it counts toward --halt success=, which stops
// the map there, with nothing leased. Before, hits were counted without
// the halt's check, and every other task ran.
func TestHaltOnCacheHit(t *testing.T) {
	h := newCacheHarness(t)
	var seq uint64
	h.warm(&seq)
	id := h.submit(6, cached, haltOn(burst.HaltOnSuccess, 1, 0)) // tasks 0-3 are hits
	h.place()
	if l := h.lease("a", seq); l != nil && len(l.Tasks) > 0 {
		t.Fatalf("the halted map leased %d tasks; want none", len(l.Tasks))
	}
	row := h.job(id)
	if n := row.Tasks; n.Succeeded != 1 || n.Cancelled != 5 {
		t.Fatalf("counts %+v (%s), want 1 succeeded (a hit), 5 never run", n, row.Reason)
	}
	h.wantJob(id, burst.Succeeded, 0)
}
