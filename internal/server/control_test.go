package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func always(code int) func(client.TaskRef) int { return func(client.TaskRef) int { return code } }

// failFirst fails a task's first n attempts (exit 3), then succeeds.
func failFirst(n int) func(client.TaskRef) int {
	return func(r client.TaskRef) int {
		if r.Attempt <= n {
			return 3
		}
		return 0
	}
}

// --retries N runs a failing task up to N+1 times in all; the attempt that
// ends it is the one its row keeps, and a run (a job of one task) exits
// with its status.
func TestRetryAccounting(t *testing.T) {
	for _, c := range []struct {
		name           string
		retries, fails int
		state          burst.State
		attempt, exit  int
	}{
		{"no retries, fails", 0, 1, burst.Failed, 1, 3},
		{"no retries, succeeds", 0, 0, burst.Succeeded, 1, 0},
		{"one retry used", 1, 1, burst.Succeeded, 2, 0},
		{"one retry, fails twice", 1, 2, burst.Failed, 2, 3},
		{"two retries, the last succeeds", 2, 2, burst.Succeeded, 3, 0},
		{"two retries, all fail", 2, 5, burst.Failed, 3, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.register("a", 4)
			id := h.submit(1, asRun, retries(c.retries))
			h.drive("a", 10, failFirst(c.fails))
			h.wantTask(id, 0, c.state, c.attempt, 0)
			h.wantJob(id, c.state, c.exit)
		})
	}
}

// A lost machine requeues a started task without using one of its
// --retries, keeping its attempt number, and gives it up after maxLost
// losses.
func TestLostMachine(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	id := h.submit(1, asRun, retries(1))
	for lost := 1; lost <= maxLost; lost++ {
		m := "m" + string(rune('0'+lost))
		h.register(m, 1)
		h.place()
		if _, refs := h.startAll(m, 0); len(refs) != 1 {
			if _, refs = h.startAll("a", 0); len(refs) != 1 {
				t.Fatalf("loss %d: no machine got the task", lost)
			}
			m = "a"
		}
		h.do(func(b *batch) { h.c.loseMachine(h.c.machines[m], "gone", h.now, b) })
		if lost < maxLost {
			h.wantTask(id, 0, burst.Queued, lost, lost)
			h.register("a", 1) // a lost machine's agent comes back (the only way a lost "a" serves again)
			continue
		}
		h.wantTask(id, 0, burst.Lost, lost, lost)
		h.wantJob(id, burst.Lost, -1)
	}
	if len(h.kills) != maxLost {
		t.Errorf("kills of orphaned processes on this host: %d, want %d", len(h.kills), maxLost)
	}
}

// Lost attempts do not count against --retries: a task lost once and then
// failing once still has its retry.
func TestLostDoesNotUseARetry(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	id := h.submit(1, retries(1))
	h.place()
	h.startAll("a", 0)
	h.do(func(b *batch) { h.c.loseMachine(h.c.machines["a"], "gone", h.now, b) })
	h.wantTask(id, 0, burst.Queued, 1, 1)
	h.register("a", 1)
	h.drive("a", 10, failFirst(2)) // attempts 2 (fails: its retry) and 3 (succeeds)
	h.wantTask(id, 0, burst.Succeeded, 3, 1)
	h.wantJob(id, burst.Succeeded, 0)
}

// A task leased but never acknowledged nor started, whose machine is
// lost, did not use an attempt: its next attempt has the same number.
func TestLostBeforeDelivery(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	id := h.submit(1)
	h.place()
	if l := h.lease("a", 0); l == nil || len(l.Tasks) != 1 {
		t.Fatalf("lease: %+v", l)
	}
	h.do(func(b *batch) { h.c.loseMachine(h.c.machines["a"], "gone", h.now, b) })
	h.wantTask(id, 0, burst.Queued, 0, 0)
	h.register("b", 1)
	h.drive("b", 5, always(0))
	h.wantTask(id, 0, burst.Succeeded, 1, 0)
}

// A task its machine's stop preempts is requeued: not a failure, not a
// retry, and its lost count says so.
func TestPreemptedRequeues(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	id := h.submit(1)
	h.place()
	h.startAll("a", 0)
	a := h.c.machines["a"]
	a.row.State = burst.MachineStopping // as stopMachine leaves it: it takes no new task
	h.do(func(b *batch) { h.srv.requeueMachineTasks(a, "machine a stops", h.now, b) })
	h.wantTask(id, 0, burst.Queued, 1, 1)
	if h.job(id).Tasks.Failed != 0 {
		t.Fatalf("a preempted task counted as failed: %+v", h.job(id).Tasks)
	}
	h.register("b", 1)
	h.drive("b", 5, always(0))
	h.wantTask(id, 0, burst.Succeeded, 2, 1)
	h.wantJob(id, burst.Succeeded, 0)
}

// Cancelling a job ends its waiting tasks at once and has its running ones
// stopped by their agents; the job ends cancelled once they have.
func TestCancelJob(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	id := h.submit(3, retries(2))
	h.place()
	seq, refs := h.startAll("a", 0)
	h.do(func(b *batch) {
		if st, ok := h.c.cancelJob(id, "ann", h.now, b); !ok || st != burst.Running {
			t.Fatalf("cancel: %s %v", st, ok)
		}
	})
	l := h.lease("a", seq)
	if l == nil || len(l.Cancel) != 1 || l.Cancel[0] != refs[0] {
		t.Fatalf("the agent was not told to stop %v: %+v", refs, l)
	}
	if h.job(id).State != burst.Running {
		t.Fatalf("job ended before its running task: %s", h.job(id).State)
	}
	// Its process dies of the cancel: not a failure, and no retry.
	h.report("a", client.TaskEvent{TaskRef: refs[0], Kind: client.EventExited, State: burst.Cancelled, EndedAt: &h.now})
	h.wantTask(id, 0, burst.Cancelled, 1, 0)
	h.wantJob(id, burst.Cancelled, -1)
	if c := h.job(id).Tasks; c.Cancelled != 3 {
		t.Fatalf("counts %+v, want 3 cancelled", c)
	}
}

// Cancelling one task of a job: one never dispatched is skipped, a running
// one stopped; the others run, and the job did not all succeed.
func TestCancelTask(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	id := h.submit(3)
	h.place()
	seq, refs := h.startAll("a", 0)
	h.do(func(b *batch) {
		if _, err := h.c.cancelTask(id, 2, "ann", h.now, b); err != nil {
			t.Fatal(err)
		}
	})
	h.wantTask(id, 2, burst.Cancelled, 0, 0)
	if _, err := h.c.cancelTask(id, 3, "ann", h.now, &batch{}); err == nil {
		t.Fatal("task 3 of a job of 3 was cancelled")
	}
	h.do(func(b *batch) {
		if _, err := h.c.cancelTask(id, 0, "ann", h.now, b); err != nil {
			t.Fatal(err)
		}
	})
	if l := h.lease("a", seq); l == nil || len(l.Cancel) != 1 || l.Cancel[0] != refs[0] {
		t.Fatalf("the agent was not told to stop task 0: %+v", l)
	}
	h.report("a", client.TaskEvent{TaskRef: refs[0], Kind: client.EventExited, State: burst.Cancelled, EndedAt: &h.now})
	h.wantTask(id, 0, burst.Cancelled, 1, 0)
	h.drive("a", 5, always(0))
	h.wantTask(id, 1, burst.Succeeded, 1, 0)
	if c := h.job(id).Tasks; c.Succeeded != 1 || c.Cancelled != 2 {
		t.Fatalf("counts %+v", c)
	}
	h.wantJob(id, burst.Failed, 1)
}

// --max-failures N stops a map once more than N tasks failed, as GNU
// parallel's --halt now,fail=N+1 would (burst map's help); as a share of
// the tasks, N% of them. The map exits with the number that failed.
func TestMaxFailures(t *testing.T) {
	for _, c := range []struct {
		name     string
		opt      jobOpt
		failed   int
		finished int    // tasks that ran before the stop
		reason   string // the job's reason, where the case checks it
	}{
		{"count 2", maxFailures(2), 3, 3, ""},
		{"count 9 of 10", maxFailures(9), 10, 10, ""},
		{"20% of 10", maxFailPct(20), 3, 3, ""},
		{"25% of 10 is 2", maxFailPct(25), 3, 3, ""},
		{"5% of 10 is 0", maxFailPct(5), 1, 1, "stopped: 1 task failed, more than the map allows (0: --max-failures, or --halt fail=)"},
		{"none", func(*burst.JobSpec) {}, 10, 10, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.register("a", 1)
			id := h.submit(10, c.opt)
			h.drive("a", 20, always(1))
			row := h.job(id)
			if row.Tasks.Failed != c.failed || row.Tasks.Cancelled != 10-c.finished {
				t.Fatalf("counts %+v (%s), want %d failed, %d cancelled", row.Tasks, row.Reason, c.failed, 10-c.finished)
			}
			h.wantJob(id, burst.Failed, c.failed)
			if c.failed < 10 && !row.Stopped {
				t.Fatal("the job does not say --max-failures stopped it")
			}
			if c.reason != "" && row.Reason != c.reason {
				t.Fatalf("reason %q, want %q", row.Reason, c.reason)
			}
		})
	}
}

// A lease stays unacknowledged until the agent's next lease carries its
// seq: until then what it held is handed out again, and an agent that
// registers again without it gets it again, on the same attempt.
func TestLeaseAckUnlease(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	id := h.submit(2)
	h.place()
	l1 := h.lease("a", 0)
	if l1 == nil || len(l1.Tasks) != 2 {
		t.Fatalf("first lease: %+v", l1)
	}
	l2 := h.lease("a", 0) // the answer was lost: no ack
	if l2 == nil || len(l2.Tasks) != 2 || l2.Seq == l1.Seq {
		t.Fatalf("an unacknowledged lease was not handed out again: %+v", l2)
	}
	if l3 := h.lease("a", l2.Seq); l3 != nil {
		t.Fatalf("an acknowledged lease was handed out again: %+v", l3)
	}
	// The same agent registers again (a server restart it survived) not
	// running task 1: it never started it, and gets it again.
	h.register("a", 2, client.RunningTask{TaskRef: l2.Tasks[0].TaskRef, PID: 1000})
	l4 := h.lease("a", 0)
	if l4 == nil || len(l4.Tasks) != 1 || l4.Tasks[0].TaskRef != l2.Tasks[1].TaskRef {
		t.Fatalf("the task the agent did not have was not handed over again: %+v", l4)
	}
	h.report("a", exited(l2.Tasks[0].TaskRef, 0, h.now), started(l4.Tasks[0].TaskRef, h.now))
	h.report("a", exited(l4.Tasks[0].TaskRef, 0, h.now))
	h.wantTask(id, 0, burst.Succeeded, 1, 0)
	h.wantTask(id, 1, burst.Succeeded, 1, 0)
	h.wantJob(id, burst.Succeeded, 0)
	// An agent that reports a task the server no longer wants is told to
	// stop it.
	ghost := client.TaskRef{Job: 99, Index: 0, Attempt: 1}
	h.report("a", started(ghost, h.now))
	if l := h.lease("a", l4.Seq); l == nil || len(l.Cancel) != 1 || l.Cancel[0] != ghost {
		t.Fatalf("a task nobody wants was not cancelled: %+v", l)
	}
}

// A restart rebuilds the control from the rows alone: a running task whose
// agent registers again with it goes on; one whose agent comes back
// without it is lost and requeued; queued ones and the job's progress stay.
func TestRecoveryAfterRestart(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	id := h.submit(4)
	h.place()
	_, refs := h.startAll("a", 0)
	if len(refs) != 2 {
		t.Fatalf("started %v", refs)
	}
	h.restart()
	if j := h.c.jobs[id]; j == nil || len(j.running) != 2 || j.row.Dispatched != 2 {
		t.Fatalf("restored job: %+v", j)
	}
	// The agent kept task 0 only (another agent: its pid changed).
	kill := h.register("a", 2, client.RunningTask{TaskRef: refs[0], PID: 1000})
	if len(kill) != 0 {
		t.Fatalf("kill %v", kill)
	}
	h.wantTask(id, 1, burst.Queued, 1, 1)
	h.report("a", exited(refs[0], 0, h.now))
	h.drive("a", 10, always(0))
	h.wantTask(id, 0, burst.Succeeded, 1, 0)
	h.wantTask(id, 1, burst.Succeeded, 2, 1)
	h.wantTask(id, 3, burst.Succeeded, 1, 0)
	h.wantJob(id, burst.Succeeded, 0)
}

// A restart with a task cancelled alone before its turn does not run it.
func TestRecoveryKeepsTasksCancelledAhead(t *testing.T) {
	h := newHarness(t)
	id := h.submit(3)
	h.do(func(b *batch) {
		if _, err := h.c.cancelTask(id, 1, "ann", h.now, b); err != nil {
			t.Fatal(err)
		}
	})
	h.restart()
	h.register("a", 1)
	ran := map[int]bool{}
	h.drive("a", 10, func(r client.TaskRef) int { ran[r.Index] = true; return 0 })
	if ran[1] || !ran[0] || !ran[2] {
		t.Fatalf("ran %v: want 0 and 2 only", ran)
	}
	h.wantTask(id, 1, burst.Cancelled, 0, 0)
	h.wantJob(id, burst.Failed, 1)
}

// -j N: no more than N tasks of the job run at once.
func TestMaxRunning(t *testing.T) {
	h := newHarness(t)
	h.register("a", 8)
	id := h.submit(5, maxRunning(2))
	h.place()
	if _, refs := h.startAll("a", 0); len(refs) != 2 {
		t.Fatalf("%d tasks started at once, want 2", len(refs))
	}
	h.tick(time.Second)
	if j := h.c.jobs[id]; j.pending() != 0 {
		t.Fatalf("pending %d with 2 running", j.pending())
	}
}

// A pipe's stages are placed as a gang; a stage that fails from outside
// (killed, its exit unknown) stops the whole pipe, which ends with that
// stage's status, and nothing of it runs again.
func TestPipeStageFailureStopsTheGang(t *testing.T) {
	h := newHarness(t)
	h.register("a", 4)
	spec := &burst.JobSpec{Kind: burst.KindPipe, Name: "p", Project: "default", Tasks: 2,
		Pipe: &burst.PipeSpec{Text: "gen | sum", Stages: []burst.PipeStage{
			{Name: "gen", Argv: []string{"gen"}}, {Name: "sum", Argv: []string{"sum"}}}}}
	id := h.nextID
	h.nextID++
	row := h.submitSpec(id, spec)
	h.place()
	seq, refs := h.startAll("a", 0)
	if len(refs) != 2 {
		t.Fatalf("the gang was not placed whole: %v", refs)
	}
	// Stage gen is killed by a signal: no exit code.
	h.report("a", client.TaskEvent{TaskRef: refs[0], Kind: client.EventExited, State: burst.Failed, Signal: 9, EndedAt: &h.now})
	if l := h.lease("a", seq); l == nil || len(l.Cancel) != 1 || l.Cancel[0] != refs[1] {
		t.Fatalf("stage sum was not stopped with its gang: %+v", l)
	}
	h.report("a", client.TaskEvent{TaskRef: refs[1], Kind: client.EventExited, State: burst.Cancelled, EndedAt: &h.now})
	h.wantJob(id, burst.Failed, 137)
	if !h.job(id).Stopped || h.job(id).Reason == row.Reason {
		t.Fatalf("the pipe does not say its stage stopped it: %+v", h.job(id))
	}
	h.place()
	if l := h.lease("a", seq+1); l != nil && len(l.Tasks) > 0 {
		t.Fatalf("a stopped pipe ran again: %+v", l)
	}
}

// --halt soon: the stop lets the tasks that have started run to their end
// (they count as they end) and starts nothing more; --halt now (the
// default) cancels them at once. So for a stop on failures (fail=N,
// --max-failures) and a halt on a success (success=N): of 4 started, the
// first ends (two, failing, for --max-failures 1) and stops the map.
func TestMaxFailuresHaltSoon(t *testing.T) {
	for _, c := range []struct {
		name     string
		opt      jobOpt
		stopping int // of the 4 started, those whose ends stop the map
		stopCode int
		restCode func(client.TaskRef) int // the others' ends, under soon
		ok, bad  int                      // the tasks that succeeded and failed in all, under soon
		state    burst.State
		exit     int
	}{
		{"--max-failures 1", maxFailures(1), 2, 1, always(0), 2, 2, burst.Failed, 2},
		{"success=1", haltOn(burst.HaltOnSuccess, 1, 0), 1, 0, byIndex(0, 0, 1, 0), 3, 1, burst.Succeeded, 0},
	} {
		for _, soon := range []bool{false, true} {
			h := newHarness(t)
			h.register("a", 4)
			id := h.submit(10, c.opt, func(s *burst.JobSpec) { s.Map.HaltSoon = soon })
			h.place()
			_, refs := h.startAll("a", 0)
			if len(refs) != 4 {
				t.Fatalf("%s soon=%v: %d tasks started, want 4", c.name, soon, len(refs))
			}
			h.finish("a", refs[:c.stopping], always(c.stopCode))
			cancelled := 0
			for _, tk := range h.c.jobs[id].running {
				if tk.cancel {
					cancelled++
				}
			}
			if want := map[bool]int{false: 4 - c.stopping, true: 0}[soon]; cancelled != want {
				t.Fatalf("%s soon=%v: %d running tasks cancelled by the stop, want %d", c.name, soon, cancelled, want)
			}
			if !soon {
				continue
			}
			// A server restart keeps them running: the agent registering
			// with them is not told to kill them.
			h.restart()
			var still []client.RunningTask
			for _, r := range refs[c.stopping:] {
				if tk := h.c.jobs[id].running[r.Index]; tk == nil || tk.cancel {
					t.Fatalf("%s: after a restart, task %d a --halt soon left running: %+v", c.name, r.Index, tk)
				}
				still = append(still, client.RunningTask{TaskRef: r})
			}
			if kill := h.register("a", 4, still...); len(kill) != 0 {
				t.Fatalf("%s: after a restart the agent is told to kill %v, which --halt soon lets end", c.name, kill)
			}
			h.finish("a", refs[c.stopping:], c.restCode)
			row := h.job(id)
			if row.Tasks.Succeeded != c.ok || row.Tasks.Failed != c.bad || row.Tasks.Cancelled != 6 {
				t.Fatalf("%s --halt soon: counts %+v, want %d succeeded, %d failed, 6 never started", c.name, row.Tasks, c.ok, c.bad)
			}
			h.wantJob(id, c.state, c.exit)
		}
	}
}

// A person's cancel (or the budget's) still stops what a --halt soon stop
// left running.
func TestHaltSoonLeftRunningCancelled(t *testing.T) {
	h := newHarness(t)
	h.register("a", 4)
	id := h.submit(10, maxFailures(0), func(s *burst.JobSpec) { s.Map.MaxFailuresPct, s.Map.HaltSoon = 1e-9, true })
	h.place()
	_, refs := h.startAll("a", 0)
	h.finish("a", refs[:1], always(1)) // the stop: the other three run on
	if !h.c.jobs[id].leftRunning() {
		t.Fatal("--halt soon left nothing running")
	}
	h.do(func(b *batch) {
		if _, ok := h.c.cancelJob(id, "ann", h.now, b); !ok {
			t.Fatal("cancel of the halted job refused")
		}
	})
	if h.c.jobs[id].leftRunning() {
		t.Fatal("burst cancel left the tasks of a --halt soon stop running")
	}
	if !h.hasEvent("job.cancel", "left running cancelled") {
		t.Fatalf("no job.cancel event: %v", h.events)
	}
}

// A map of one task exits as a map of several: GNU parallel's count of the
// tasks that did not succeed (1), not the task's own status (3), which a
// run of one task exits with.
func TestMapOfOneTaskExitsWithTheCount(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	m := h.submit(1)
	r := h.submit(1, asRun)
	h.drive("a", 10, func(client.TaskRef) int { return 3 })
	h.wantJob(m, burst.Failed, 1)
	h.wantJob(r, burst.Failed, 3)
}

// --delay D (GNU parallel's): the map's tasks start one at a time, D apart,
// whatever room the machines have; each placement that starts one, or
// finds the next not due, asks to be run again when it is due (wakeAt).
func TestMapDelaySpacesStarts(t *testing.T) {
	h := newHarness(t)
	h.register("a", 8)
	id := h.submit(3, func(s *burst.JobSpec) { s.Map.DelayMS = 1500 })
	place := func() (placed int, wake time.Time) {
		var b batch
		h.c.place(h.now, &b)
		placed, wake = len(b.placed), b.wakeAt
		h.apply(&b)
		return placed, wake
	}
	start := h.now
	if n, w := place(); n != 1 || !w.Equal(start.Add(1500*time.Millisecond)) {
		t.Fatalf("first placement: %d started, wake at %v; want 1 and a wake 1.5 s on", n, w.Sub(start))
	}
	h.tick(time.Second)
	if n, w := place(); n != 0 || !w.Equal(start.Add(1500*time.Millisecond)) {
		t.Fatalf("1 s on: %d started, wake at %v; want none and the wake at 1.5 s", n, w.Sub(start))
	}
	if w := h.srv.jobWait(h.c.jobs[id], h.now, nil, nil, 0, nil, nil); !strings.Contains(w, "--delay 1.5s: its next task starts in 500ms") {
		t.Errorf("the job's wait does not name its --delay: %q", w)
	}
	h.tick(500 * time.Millisecond)
	if n, w := place(); n != 1 || !w.Equal(h.now.Add(1500*time.Millisecond)) {
		t.Fatalf("1.5 s on: %d started, wake at %v; want 1 and the next wake 1.5 s later", n, w.Sub(start))
	}
	h.tick(1500 * time.Millisecond)
	if n, _ := place(); n != 1 {
		t.Fatalf("3 s on: %d started, want the last 1", n)
	}
	if _, refs := h.startAll("a", 0); len(refs) != 3 {
		t.Fatalf("%d tasks handed out, want 3", len(refs))
	}
	j := h.c.jobs[id]
	j.nEnded, j.wallSum = 10, time.Second // short tasks: an undelayed map's are prefetched
	if j.prefetch() {
		t.Errorf("a map with --delay is prefetched: its agent would start tasks without waiting")
	}
}

// TestJobEndIsItsTasks: a job ends when its last task did, not when the
// server heard of it: an agent that reports an end 15 s late (after a
// restart of the server, or a store that held its writes) leaves the job's
// duration its task's.
func TestJobEndIsItsTasks(t *testing.T) {
	h := newHarness(t)
	h.register("m", 2)
	id := h.submit(1, asRun)
	h.place()
	_, refs := h.startAll("m", 0)
	if len(refs) != 1 {
		t.Fatalf("the task was not handed out: %v", refs)
	}
	start := h.now
	h.tick(15 * time.Second)
	h.report("m", exited(refs[0], 0, start.Add(3*time.Second)))
	j := h.job(id)
	if j.EndedAt == nil || !j.EndedAt.Equal(start.Add(3*time.Second)) {
		t.Errorf("job ended at %v, want its task's end %v (the report came at %v)", j.EndedAt, start.Add(3*time.Second), h.now)
	}
	// A job ended by a cancel ends then.
	id = h.submit(1, asRun)
	h.tick(time.Second)
	h.do(func(b *batch) { h.c.cancelJob(id, "ann", h.now, b) })
	if j := h.job(id); j.EndedAt == nil || !j.EndedAt.Equal(h.now) {
		t.Errorf("a job cancelled before it ran ended at %v, want the cancel's %v", j.EndedAt, h.now)
	}
}

// While the logs' filesystem is short of room (control.short, set by the
// shell's roomToStart), nothing is placed, and each waiting job says why:
// the disk first, then its own reason where it has one (a job that fits
// no machine); once there is room, placement goes on.
func TestShortDiskPlacesNothing(t *testing.T) {
	h := newHarness(t)
	h.register("local-1", 2)
	small := h.submit(2)
	big := h.submit(1, func(s *burst.JobSpec) { s.Resources.CPUs = 4 })
	h.c.short = "the filesystem /h has 1 MiB free"
	h.place()
	if n := len(h.c.machines["local-1"].outbox); n != 0 {
		t.Fatalf("%d tasks placed while the disk is short", n)
	}
	w := h.srv.waitReasons(h.now)
	if w[small] != h.c.short {
		t.Errorf("the small job waits for %q; want the disk's reason alone", w[small])
	}
	if !strings.HasPrefix(w[big], h.c.short+"; and then: ") || !strings.Contains(w[big], "CPU") {
		t.Errorf("the job that fits no machine waits for %q; want the disk's reason, then its own", w[big])
	}
	h.c.short = ""
	h.now = h.now.Add(time.Second)
	h.place()
	if n := len(h.c.machines["local-1"].outbox); n == 0 {
		t.Errorf("nothing placed once there was room")
	}
}

// TestCancelWaiting: a cancel of a job's waiting tasks alone (scancel -t
// PENDING of an array running some of its tasks) cancels those not started
// and lets the started ones end as they do; the job ends when they have.
func TestCancelWaiting(t *testing.T) {
	h := newHarness(t)
	h.register("m", 2)
	id := h.submit(5) // a map of 5 tasks on a machine of 2 CPUs: 2 run, 3 wait
	h.place()
	_, refs := h.startAll("m", 0)
	if len(refs) != 2 {
		t.Fatalf("%d tasks handed out; want 2", len(refs))
	}
	h.do(func(b *batch) { h.c.cancelWaiting(id, "ann", h.now, b) })
	j := h.job(id)
	if j.Tasks.Cancelled != 3 || j.Tasks.Running != 2 || j.State.Terminal() {
		t.Fatalf("after the cancel of its waiting tasks: %+v, state %s; want 3 cancelled, 2 running, the job on", j.Tasks, j.State)
	}
	if stops := h.c.machines["m"].cancels; len(stops) != 0 {
		t.Errorf("the running tasks were told to stop: %v", stops)
	}
	h.place()
	if n := len(h.c.machines["m"].outbox); n != 0 {
		t.Errorf("%d tasks placed after their cancel", n)
	}
	for _, r := range refs {
		h.report("m", exited(r, 0, h.now))
	}
	if j := h.job(id); !j.State.Terminal() || j.Tasks.Succeeded != 2 || j.Tasks.Cancelled != 3 {
		t.Errorf("once the running tasks ended: %+v, state %s; want ended, 2 succeeded, 3 cancelled", j.Tasks, j.State)
	}
}

// TestRequeue: scontrol requeue stops a running task and runs it again from
// the start, its attempt not counted against --retries (counted as a stop
// of its machine is); a task not running, and an ended job, are refused.
func TestRequeue(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	id := h.submit(1, asRun, retries(1))
	waiting := h.submit(1, asRun) // the machine has room for one: this one waits
	h.place()
	_, refs := h.startAll("a", 0)
	if len(refs) != 1 || refs[0].Job != id {
		t.Fatalf("handed out %v; want job %d's task", refs, id)
	}
	var err error
	h.do(func(b *batch) { err = h.c.requeueTask(waiting, 0, "ann", h.now, b) })
	if err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("requeue of a waiting task: %v; want it refused as not running", err)
	}
	h.do(func(b *batch) { err = h.c.requeueTask(id, 0, "ann", h.now, b) })
	if err != nil {
		t.Fatalf("requeue of the running task: %v", err)
	}
	if c := h.c.machines["a"].cancels; len(c) != 1 || c[0] != refs[0] {
		t.Fatalf("the running task was not told to stop: %v", c)
	}
	h.report("a", client.TaskEvent{TaskRef: refs[0], Kind: client.EventExited, State: burst.Cancelled, EndedAt: &h.now})
	if j := h.job(id); j.State.Terminal() {
		t.Fatalf("the requeued task's stop ended its job: %s", j.State)
	}
	// Its next run fails: --retries 1 still holds its retry, which succeeds.
	h.drive("a", 10, failFirst(2)) // attempt 2, the first after the requeue, fails
	h.wantTask(id, 0, burst.Succeeded, 3, 1)
	h.wantJob(id, burst.Succeeded, 0)
	h.do(func(b *batch) { err = h.c.requeueTask(id, 0, "ann", h.now, b) })
	if err == nil || !strings.Contains(err.Error(), "has ended") {
		t.Errorf("requeue of an ended job: %v; want it refused", err)
	}
}

// A pipe whose stages cannot all run at once is refused naming what each
// reserves, memory and GPUs too, and the asks to lower: stages too big in
// memory were refused as if CPUs were the cause, and not named.
func TestPipeTooBigNamesItsMemory(t *testing.T) {
	h := newHarness(t)
	h.register("a", 4)
	spec := &burst.JobSpec{Kind: burst.KindPipe, Name: "p", Project: "default", Tasks: 3,
		Pipe: &burst.PipeSpec{Text: "gen | a | b", Stages: []burst.PipeStage{
			{Name: "gen", Argv: []string{"gen"}, Resources: burst.Resources{CPUs: 1}},
			{Name: "a", Argv: []string{"a"}, Resources: burst.Resources{MemBytes: 1 << 50}},
			{Name: "b", Argv: []string{"b"}, Resources: burst.Resources{MemBytes: 1 << 50}}}}}
	err := h.c.gangFeasible(spec, h.c.machineViews(h.now), h.now)
	if err == nil || !strings.Contains(err.Error(), "a: 1 x 1 PiB on") || !strings.Contains(err.Error(), "less --mem") {
		t.Fatalf("a pipe of two stages of 1 PiB: %v; want refused naming their memory and --mem", err)
	}
}

// An agent killed under a map of short tasks loses what it ran, not the
// queue it held: a task it held queued (prefetched) and could not have
// started yet counts no lost machine. Before, each kill counted a loss for
// every one of the 32 tasks it held, and after maxLost kills tasks that
// never ran ended lost.
func TestLostMachineSparesItsQueue(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	id := h.submit(60)
	seq := h.shortRuns("a", 0) // 4 tasks of 0.1 s: the map is short, its tasks are prefetched from now on
	for kill := 1; kill <= maxLost+1; kill++ {
		h.place()
		l := h.lease("a", seq)
		if l == nil {
			t.Fatalf("kill %d: nothing leased", kill)
		}
		h.lease("a", l.Seq) // acknowledged: the agent holds all of it
		now, queued := byQueue(l)
		if len(queued) < 10 {
			t.Fatalf("kill %d: %d tasks queued at the agent, want a prefetched queue", kill, len(queued))
		}
		for _, r := range now {
			h.report("a", started(r, h.now))
		}
		h.tick(100 * time.Millisecond)
		h.finish("a", now, always(0))
		h.do(func(b *batch) { h.c.loseMachine(h.c.machines["a"], "agent on a exited", h.now, b) })
		for i, r := range queued {
			row := h.task(id, r.Index)
			want := 0
			if i < 2 { // the head of its queue: places were free for it (2 CPUs)
				want = 1
			}
			if row.State != burst.Queued || row.LostCount > want {
				t.Fatalf("kill %d: task %d, held at place %d of the queue, is %s with %d losses; want queued with at most %d",
					kill, r.Index, i, row.State, row.LostCount, want)
			}
		}
		h.register("a", 2)
		seq = 0
	}
	h.drive("a", 60, always(0))
	h.wantJob(id, burst.Succeeded, 0)
}

// --halt soon lets run, as a started one, a task handed to its machine to
// start at once whose start is not reported yet: the agent started it
// before the failure that stopped the map reached the server (its start
// rode a later report). Cancelled, it ran but its output was dropped while
// that of the task after it was kept: -k printed 0 1 3, never 2, under
// -j2 --halt soon,fail=20%.
func TestHaltSoonLetsRunWhatItHandedOut(t *testing.T) {
	h := newHarness(t)
	id, refs := haltSoonOneStarting(t, h)
	h.report("a", started(refs[3], h.now))
	h.finish("a", refs[2:], always(0))
	row := h.job(id)
	if row.Tasks.Succeeded != 2 || row.Tasks.Failed != 2 || row.Tasks.Cancelled != 6 {
		t.Fatalf("--halt soon: counts %+v, want 2 succeeded, 2 failed, 6 never started", row.Tasks)
	}
	h.wantJob(id, burst.Failed, 2)
}

// haltSoonOneStarting runs a --halt soon map of 10 on a machine of 4 until
// its stop: tasks 0-2 reported started, task 3 handed out to start at once
// (its start not reported), then 0 and 1 fail, past --max-failures 1. It
// checks the stop let task 3 run, and returns the job and the four tasks.
func haltSoonOneStarting(t *testing.T, h *harness) (int64, []client.TaskRef) {
	t.Helper()
	h.register("a", 4)
	id := h.submit(10, maxFailures(1), func(s *burst.JobSpec) { s.Map.HaltSoon = true })
	h.place()
	l := h.leaseN("a", 0, 4)
	var refs []client.TaskRef
	for _, a := range l.Tasks {
		refs = append(refs, a.TaskRef)
	}
	h.report("a", started(refs[0], h.now), started(refs[1], h.now), started(refs[2], h.now))
	h.lease("a", l.Seq)                // the agent has the lease: refs[3] starting there
	h.finish("a", refs[:2], always(1)) // two failures: more than --max-failures 1
	if tk := h.c.jobs[id].running[refs[3].Index]; tk == nil || tk.cancel {
		t.Fatalf("--halt soon cancelled a task handed to start at once, its start not reported yet: %+v", tk)
	}
	return id, refs
}

// runningAs is what an agent registering again says of refs: each runs,
// with a pid.
func runningAs(refs []client.TaskRef) []client.RunningTask {
	var out []client.RunningTask
	for _, r := range refs {
		out = append(out, client.RunningTask{TaskRef: r, PID: 1000 + r.Index})
	}
	return out
}

// TestWaitOfCappedMapCountsStarted: a map capped by -j whose short tasks
// are queued at their machine ahead of their start (capFree) says how many
// run, not how many were handed out: `burst show` said "--max-running 2:
// 32 of its tasks run" with 2 running. While the disk is short, the disk is
// what its tasks wait for (they wait at the agent for room), not the cap.
func TestWaitOfCappedMapCountsStarted(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	id := h.submit(40, func(s *burst.JobSpec) { s.MaxRunning = 2 })
	j := h.c.jobs[id]
	j.nEnded, j.wallSum = 10, time.Second // short tasks: prefetched
	h.place()
	seq, refs := h.startAll("a", 0) // 2 run
	if len(refs) != 2 {
		t.Fatalf("%d tasks started; want the cap's 2", len(refs))
	}
	h.place() // the rest is queued at the agent, which keeps the cap
	l := h.lease("a", seq)
	if l == nil || len(l.Tasks) == 0 {
		t.Fatalf("no task queued at the agent ahead of its start: %+v", l)
	}
	want := fmt.Sprintf("--max-running 2: 2 of its tasks run, %d more queued at their machine", len(l.Tasks))
	if w := h.srv.waitReasons(h.now)[id]; w != want {
		t.Errorf("the capped map waits for %q; want %q", w, want)
	}
	h.c.short = "the filesystem /h has 1 MiB free"
	h.tick(time.Second) // past the reasons kept from the last reading
	if w := h.srv.waitReasons(h.now)[id]; w != h.c.short {
		t.Errorf("while the disk is short, the capped map waits for %q; want the disk's reason", w)
	}
}
