package server

import (
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// beginIn defers a job until d after the harness's clock now.
func (h *harness) beginIn(d time.Duration) jobOpt {
	at := h.now.Add(d)
	return func(s *burst.JobSpec) { s.Begin = at }
}

// wantStarted checks which jobs runOnce started.
func wantStarted(t *testing.T, got []int64, want ...int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("started jobs %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("started jobs %v, want %v", got, want)
		}
	}
}

// TestBeginHeldUntilItsTime: a job deferred by --begin asks for nothing
// until its Begin (held at Begin-1s, the autoscaler asked for nothing),
// and is released at Begin, saying why.
func TestBeginHeldUntilItsTime(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	b := h.submit(1, h.beginIn(10*time.Second))
	begin := h.now.Add(10 * time.Second).Format(time.RFC3339)
	_, jobs := h.runOnce("m")
	wantStarted(t, jobs)
	h.wantHeld(b, "waiting until "+begin+" (--begin)")
	if got := h.c.afterText(h.c.jobs[b]); got != "" {
		t.Fatalf("a job held by its begin time alone has dependency %q, want none", got)
	}
	for _, d := range h.c.demand() {
		if d.Count != 0 {
			t.Fatalf("the autoscaler is asked for %+v while the only job waits for its begin time", d)
		}
	}
	h.tick(9 * time.Second) // Begin-1s
	_, jobs = h.runOnce("m")
	wantStarted(t, jobs)
	h.wantHeld(b, "waiting until")
	if !h.c.deferred(h.c.jobs[b]) {
		t.Fatalf("a job held for its begin time is not deferred")
	}
	h.tick(time.Second) // Begin
	refs, jobs := h.runOnce("m")
	wantStarted(t, jobs, b)
	if h.c.deferred(h.c.jobs[b]) {
		t.Fatalf("a job released at its begin time is still deferred")
	}
	if !h.hasEvent("job.release", "released: its begin time ("+begin+") came") {
		t.Fatalf("no job.release event names the begin time: %v", h.events)
	}
	h.finish("m", refs, exitOf(nil))
	h.wantJob(b, burst.Succeeded, 0)
}

// TestBeginPastNotHeld: a Begin not after the submission defers nothing.
func TestBeginPastNotHeld(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	b := h.submit(1, h.beginIn(-time.Hour))
	if h.c.jobs[b].after != nil {
		t.Fatalf("a job whose begin time passed is held")
	}
	_, jobs := h.runOnce("m")
	wantStarted(t, jobs, b)
}

// TestBeginAfterRestart: a job whose Begin passed while the server was
// down is released at the first placement after the restart; one whose
// Begin is still to come stays held across it.
func TestBeginAfterRestart(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	soon := h.submit(1, h.beginIn(time.Minute))
	later := h.submit(1, h.beginIn(time.Hour))
	h.place()
	h.wantHeld(soon, "waiting until")
	h.tick(2 * time.Minute)
	h.restart()
	h.register("m", 4)
	_, jobs := h.runOnce("m")
	wantStarted(t, jobs, soon)
	h.wantHeld(later, "waiting until")
}

// TestBeginCancelWhileHeld: a deferred job cancelled while held ends at
// once and is let go of; its Begin later starts nothing.
func TestBeginCancelWhileHeld(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	b := h.submit(1, h.beginIn(time.Minute))
	h.place()
	h.do(func(bt *batch) { h.c.cancelJob(b, "ann", h.now, bt) })
	h.wantJob(b, burst.Cancelled, -1)
	h.place()
	// Let go of at the next placement, not kept until its Begin (which
	// may be a year away).
	if len(h.c.deps.held) != 0 || len(h.c.deps.timed) != 0 {
		t.Fatalf("a cancelled job is still held before its begin time: %v %v", h.c.deps.held, h.c.deps.timed)
	}
	h.tick(2 * time.Minute)
	_, jobs := h.runOnce("m")
	wantStarted(t, jobs)
	if len(h.c.deps.held) != 0 || len(h.c.deps.timed) != 0 {
		t.Fatalf("a cancelled job is still held: %v %v", h.c.deps.held, h.c.deps.timed)
	}
}

// TestBeginWithAfter: --begin with --after holds until both hold, in
// either order.
func TestBeginWithAfter(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1)
	// The dependency is met first: it still waits for its time.
	b := h.submit(1, after(burst.AfterOK, a), h.beginIn(time.Minute))
	h.wantHeld(b, "waiting until "+h.now.Add(time.Minute).Format(time.RFC3339)+" (--begin) and for job 1 to succeed")
	h.drive("m", 3, exitOf(nil))
	h.wantJob(a, burst.Succeeded, 0)
	h.wantHeld(b, "waiting until")
	if w := h.c.afterWait(h.c.jobs[b]); strings.Contains(w, "job 1") {
		t.Fatalf("job %d still says it waits for job 1, which succeeded: %q", b, w)
	}
	h.tick(time.Minute)
	_, jobs := h.runOnce("m")
	wantStarted(t, jobs, b)

	// Its time comes first: it still waits for its dependency.
	c := h.submit(1)
	d := h.submit(1, after(burst.AfterOK, c), h.beginIn(time.Second))
	refs, jobs := h.runOnce("m")
	wantStarted(t, jobs, c)
	h.tick(time.Second)
	h.place()
	h.wantHeld(d, "waiting for job 3 to succeed")
	h.finish("m", refs, exitOf(nil))
	_, jobs = h.runOnce("m")
	wantStarted(t, jobs, d)
}

// hasEvent says whether an event of kind whose message holds text was
// written.
func (h *harness) hasEvent(kind, text string) bool {
	for _, e := range h.events {
		if e.Kind == kind && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// TestReleaseKeepsBegin: scontrol release of a job deferred by --begin (held
// or not) lets go of its hold alone: it still waits for its begin time, as
// Slurm 22.05 does (checked with the suite's Slurm: Reason BeginTime again,
// StartTime the begin time, after the release).
func TestReleaseKeepsBegin(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	b := h.submit(1, h.beginIn(time.Hour), held())
	release := func() {
		h.do(func(bt *batch) {
			if err := h.c.holdJob(b, false, holder{}, "ann", h.now, bt); err != nil {
				t.Fatal(err)
			}
		})
	}
	release()
	_, jobs := h.runOnce("m")
	wantStarted(t, jobs)
	h.wantHeld(b, "waiting until")
	release() // released again, never held: nothing changes
	h.tick(time.Hour)
	_, jobs = h.runOnce("m")
	wantStarted(t, jobs, b)
}
