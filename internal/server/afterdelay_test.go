package server

import (
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// afterDelay waits for jobs to have started min minutes before.
func afterDelay(min int, jobs ...int64) jobOpt { return afterDelayed(burst.AfterStart, min, jobs...) }

// TestAfterDelayCountsFromTheStart: after:A+5 lets the job start 5 minutes
// after A started, not when A starts (nor when it ends): held at 4m59s,
// asking the autoscaler for nothing; started at 5m, though A still runs.
func TestAfterDelayCountsFromTheStart(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1, asRun)
	b := h.submit(1, afterDelay(5, a))
	_, jobs := h.runOnce("m")
	wantStarted(t, jobs, a)
	h.wantHeld(b, "waiting for job 1 to have started 5 minutes ago")
	if got := h.c.afterText(h.c.jobs[b]); got != "after:1+5(unfulfilled)" {
		t.Fatalf("dependency %q, want after:1+5(unfulfilled)", got)
	}
	h.tick(5*time.Minute - time.Second)
	_, jobs = h.runOnce("m")
	wantStarted(t, jobs)
	h.wantHeld(b, "to have started 5 minutes ago")
	for _, d := range h.c.demand() {
		if d.Count != 0 {
			t.Fatalf("the autoscaler is asked for %+v while the only waiting job is held", d)
		}
	}
	h.tick(time.Second)
	refs, jobs := h.runOnce("m")
	wantStarted(t, jobs, b)
	if !h.hasEvent("job.release", "its dependencies (after:1+5) are met") {
		t.Fatalf("no job.release event names the dependency: %v", h.events)
	}
	h.finish("m", refs, exitOf(nil))
	h.wantJob(b, burst.Succeeded, 0)
	if h.job(a).State != burst.Running {
		t.Fatalf("job %d is %s: the job waited for a delay after its start, not its end", a, h.job(a).State)
	}
}

// TestAfterDelayFromTheStore: the job waited for ended and left memory
// before the submit, and again across a restart: the delay counts from
// its start as its row holds it. One cancelled before it started counts
// from its end (Slurm: "start or are cancelled").
func TestAfterDelayFromTheStore(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1, asRun)
	c := h.submit(1, asRun, h.beginIn(time.Hour)) // never starts: cancelled below
	startA := h.now
	h.drive("m", 3, exitOf(nil)) // a runs 1 s
	h.do(func(bt *batch) { h.c.cancelJob(c, "ann", h.now, bt) })
	cancelled := h.now
	h.place()
	if h.c.jobs[a] != nil || h.c.jobs[c] != nil {
		t.Fatal("ended jobs are still in memory")
	}
	b := h.submit(1, afterDelay(10, a))
	d := h.submit(1, afterDelay(3, c))
	// As the shell does at a submit: what the store holds of them.
	ra, rc := h.job(a), h.job(c)
	h.c.learnEnded(map[int64]jobEnd{a: endOf(&ra.Job), c: endOf(&rc.Job)})
	if got := h.c.jobs[b].after.ended[a].since; !got.Equal(startA) {
		t.Fatalf("job %d's start read as %v, want %v", a, got, startA)
	}
	h.tick(2 * time.Minute)
	_, jobs := h.runOnce("m")
	wantStarted(t, jobs)
	h.restart()
	h.register("m", 4)
	h.now = cancelled.Add(3 * time.Minute)
	_, jobs = h.runOnce("m")
	wantStarted(t, jobs, d)
	h.wantHeld(b, "to have started 10 minutes ago")
	h.now = startA.Add(10*time.Minute - time.Second)
	_, jobs = h.runOnce("m")
	wantStarted(t, jobs)
	h.now = startA.Add(10 * time.Minute)
	_, jobs = h.runOnce("m")
	wantStarted(t, jobs, b)
}

// TestAfterDelayWakesOnTime: the scheduler looks again at the delay's end
// by itself (a placement with nothing else changed releases it), and a
// job dropped meanwhile (cancelled) leaves no wake behind.
func TestAfterDelayWakesOnTime(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1, asRun)
	b := h.submit(1, afterDelay(1, a))
	e := h.submit(1, afterDelay(2, a))
	h.runOnce("m")
	h.place() // the placement after the start's report looks at the jobs that wait for it
	if w := h.c.deps.wakes[b]; !w.Equal(h.now.Add(time.Minute)) {
		t.Fatalf("job %d wakes at %v, want a minute after job %d's start (%v)", b, w, a, h.now)
	}
	h.do(func(bt *batch) { h.c.cancelJob(e, "ann", h.now, bt) })
	h.place()
	if _, ok := h.c.deps.wakes[e]; ok {
		t.Fatalf("cancelled job %d still has a wake", e)
	}
	h.tick(time.Minute - time.Millisecond)
	h.place()
	if j := h.c.jobs[b]; j == nil || j.after == nil {
		t.Fatalf("job %d is released before its delay's end", b)
	}
	h.tick(time.Millisecond)
	_, jobs := h.runOnce("m") // nothing else changed: the wake alone releases it
	wantStarted(t, jobs, b)
	if len(h.c.deps.wakes) != 0 {
		t.Fatalf("wakes left: %v", h.c.deps.wakes)
	}
}
