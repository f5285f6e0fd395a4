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

// TestDeadlineTimeMin: a job of one task with a --time-min is taken to
// need that much before its deadline, and starts with its time limit cut
// to end by then, in whole minutes; one with no limit is cut so too (as
// Slurm 22.05 starts `--deadline=now+1hour -t 120 --time-min=59` and
// `--deadline=now+1hour` with TimeLimit=01:00:00, checked beside it). One
// whose --time-min does not fit is ended, an array's tasks are cut as one
// job's (TestDeadlineTimeMinArray); a limit that fits is left alone.
func TestDeadlineTimeMin(t *testing.T) {
	h := newHarness(t)
	h.register("m", 8)
	timeMin := func(d time.Duration) jobOpt { return func(s *burst.JobSpec) { s.TimeMin = int64(d / time.Second) } }
	cut := h.submit(1, asRun, h.deadlineIn(time.Hour+30*time.Second, 2*time.Hour), timeMin(59*time.Minute))
	none := h.submit(1, asRun, h.deadlineIn(time.Hour, 0))
	noFit := h.submit(1, asRun, h.deadlineIn(30*time.Minute, 2*time.Hour), timeMin(45*time.Minute))
	array := h.submit(2, h.deadlineIn(time.Hour, 2*time.Hour), timeMin(time.Minute))
	fits := h.submit(1, asRun, h.deadlineIn(time.Hour, 10*time.Minute), timeMin(5*time.Minute))
	_, jobs := h.runOnce("m")
	wantStarted(t, jobs, cut, none, array, array, fits)
	h.wantDeadlineEnded(noFit)
	// Started 300 ms into the second it was submitted in, an hour before
	// its deadline: an hour, counted from that second as Slurm counts.
	late := h.submit(1, asRun, h.deadlineIn(time.Hour, 0))
	h.tick(300 * time.Millisecond)
	_, jobs = h.runOnce("m")
	wantStarted(t, jobs, late)
	for id, want := range map[int64]time.Duration{cut: time.Hour, none: time.Hour, array: time.Hour, fits: 10 * time.Minute, late: time.Hour} {
		if got := time.Duration(h.job(id).Spec.Resources.TimeLimit) * time.Second; got != want {
			t.Errorf("job %d started with time limit %s, want %s", id, got, want)
		}
	}
}

// TestDeadlineTimeMinArray: an array with a --time-min and a deadline its
// limit would run past starts, each task cut to end by the deadline as it
// starts, the job's limit with it: Slurm 22.05 ran `--array=1-3%1 -t 120
// --time-min=30 --deadline=now+1hour`, each task 70 s, task 1 started a
// second after the submission with TimeLimit=00:59:00, task 2 70 s later
// with 00:58:00, which the pending task 3 showed too. burst cancelled the
// array at once (its tasks were taken to need their whole 2 hours).
func TestDeadlineTimeMinArray(t *testing.T) {
	h := newHarness(t)
	h.register("m", 8)
	array := h.submit(3, h.deadlineIn(time.Hour, 2*time.Hour), func(s *burst.JobSpec) {
		s.TimeMin, s.MaxRunning = int64(30*time.Minute/time.Second), 1
	})
	limit := func() time.Duration { return time.Duration(h.job(array).Spec.Resources.TimeLimit) * time.Second }
	h.tick(time.Second)
	refs, jobs := h.runOnce("m")
	wantStarted(t, jobs, array)
	if got := limit(); got != 59*time.Minute {
		t.Fatalf("task 1 started with time limit %s, want 59m0s", got)
	}
	h.tick(70 * time.Second)
	h.finish("m", refs, exitOf(nil))
	_, jobs = h.runOnce("m")
	wantStarted(t, jobs, array)
	if got := limit(); got != 58*time.Minute {
		t.Fatalf("task 2 started with time limit %s, want 58m0s", got)
	}
}

// The time a task is taken to need by its deadline: its --time-min, no
// more than its time limit (which scontrol update may have lowered below
// it), else its limit, else a minute.
func TestDeadlineLimit(t *testing.T) {
	for _, c := range []struct {
		timeMin, limit int64
		tasks          int
		want           time.Duration
	}{
		{timeMin: 3540, limit: 7200, want: 59 * time.Minute},
		{timeMin: 3540, limit: 600, want: 10 * time.Minute}, // lowered by an update
		{timeMin: 60, want: time.Minute},
		{limit: 600, want: 10 * time.Minute},
		{want: time.Minute},
		{timeMin: 60, limit: 600, tasks: 4, want: time.Minute}, // an array's tasks are cut as a job's
	} {
		spec := &burst.JobSpec{TimeMin: c.timeMin, Tasks: c.tasks}
		spec.Resources.TimeLimit = c.limit
		if got := deadlineLimit(spec); got != c.want {
			t.Errorf("--time-min %ds, -t %ds, %d tasks: %v, want %v", c.timeMin, c.limit, c.tasks, got, c.want)
		}
	}
}

// TestDeadlineArrayCutSparesRunningTasks: an array's tasks cut to its
// deadline as each starts keep the limit each started with when their
// agent registers again (a restart of the server): the job's limit, cut
// for a later task, is not sent to the agent, which would apply it to
// every running task of the job and end the first before its time.
func TestDeadlineArrayCutSparesRunningTasks(t *testing.T) {
	h := newHarness(t)
	h.register("m", 8)
	array := h.submit(2, h.deadlineIn(time.Hour, 2*time.Hour), func(s *burst.JobSpec) {
		s.TimeMin, s.MaxRunning = int64(30*time.Minute/time.Second), 1
	})
	h.tick(time.Second)
	first, _ := h.runOnce("m")
	h.do(func(b *batch) { h.c.jobs[array].row.Spec.MaxRunning = 2 })
	h.tick(20 * time.Minute)
	second, jobs := h.runOnce("m")
	wantStarted(t, jobs, array)
	if got := h.job(array).Spec.Resources.TimeLimit; got != 39*60 {
		t.Fatalf("the second task started with limit %ds, want 2340s", got)
	}
	h.restart()
	var running []client.RunningTask
	for _, r := range append(first, second...) {
		running = append(running, client.RunningTask{TaskRef: r, PID: 100 + r.Index})
	}
	h.register("m", 8, running...)
	for _, l := range h.c.machines["m"].limits {
		if l.Job == array {
			t.Fatalf("a re-registration sends job %d's limit %ds to the agent: its first task, cut to 59m, would end at 39m", array, l.TimeLimitS)
		}
	}
}
