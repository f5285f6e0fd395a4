package server

import (
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// deadlineIn gives a job a deadline d after the harness's clock now and a
// time limit of limit.
func (h *harness) deadlineIn(d, limit time.Duration) jobOpt {
	at := h.now.Add(d)
	return func(s *burst.JobSpec) { s.Deadline, s.Resources.TimeLimit = at, int64(limit/time.Second) }
}

// wantDeadlineEnded checks that job id was cancelled for its deadline.
func (h *harness) wantDeadlineEnded(id int64) {
	h.t.Helper()
	row := h.job(id)
	if row.State != burst.Cancelled || !strings.HasPrefix(row.Reason, burst.ReasonDeadline) {
		h.t.Fatalf("job %d: %s (%q), want cancelled for its deadline", id, row.State, row.Reason)
	}
}

// TestDeadlineFreeJobsOnly: a job free to start that could no longer end
// by its deadline is cancelled at the next placement and never starts; one
// deferred by --begin, or whose array tasks wait for a slot under their
// cap, is looked at only once free to start; a running task runs on; a job
// whose deadline leaves room starts.
func TestDeadlineFreeJobsOnly(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	late := h.submit(1, asRun, h.deadlineIn(30*time.Second, time.Minute))
	deferred := h.submit(1, asRun, h.beginIn(50*time.Second), h.deadlineIn(100*time.Second, time.Minute))
	capped := h.submit(2, h.deadlineIn(100*time.Second, time.Minute), func(s *burst.JobSpec) { s.MaxRunning = 1 })
	room := h.submit(1, asRun, h.deadlineIn(time.Hour, time.Minute))
	refs, jobs := h.runOnce("m")
	wantStarted(t, jobs, capped, room)
	h.wantDeadlineEnded(late)
	if !h.hasEvent("job.cancel", "could no longer end by its --deadline") {
		t.Fatalf("no job.cancel event says why: %v", h.events)
	}
	if h.job(deferred).State != burst.Queued {
		t.Fatalf("a job deferred by --begin was ended before its begin time: %s", h.job(deferred).State)
	}

	// 50 s on: the deferred job is free, 50 s left of its deadline and a
	// minute's limit; the capped array's second task still waits for the
	// slot its first holds, past its deadline too: it is left alone.
	h.tick(50 * time.Second)
	_, jobs = h.runOnce("m")
	wantStarted(t, jobs)
	h.wantDeadlineEnded(deferred)
	if row := h.job(capped); row.State == burst.Cancelled || row.CancelRequested {
		t.Fatalf("an array whose next task waits for a slot under its cap was ended: %s %q", row.State, row.Reason)
	}
	// Its first task ends: the second is free, and past its deadline.
	var first []client.TaskRef
	for _, r := range refs {
		if r.Job == capped {
			first = append(first, r)
		}
	}
	h.finish("m", first, exitOf(nil))
	_, jobs = h.runOnce("m")
	wantStarted(t, jobs)
	h.wantTask(capped, 0, burst.Succeeded, 1, 0)
	if row := h.job(capped); !strings.HasPrefix(row.Reason, burst.ReasonDeadline) {
		t.Fatalf("the capped array once its slot freed: %s %q, want its last task cancelled for the deadline", row.State, row.Reason)
	}
	if h.job(room).State != burst.Running {
		t.Fatalf("a running job past nothing was touched: %s", h.job(room).State)
	}
}
