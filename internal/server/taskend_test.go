package server

import (
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// The end of a task, counted: each case below is one way endTask can go
// (internal/server/tasks.go), written down so that a change to its
// accounting fails here, in milliseconds, before any e2e run.

// endAs reports ref's end in state st (exit 0 for Succeeded, 1 for
// Failed, none else).
func endAs(ref client.TaskRef, st burst.State, at time.Time) client.TaskEvent {
	ev := client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: st, EndedAt: &at}
	switch st {
	case burst.Succeeded, burst.Failed:
		code := 0
		if st == burst.Failed {
			code = 1
		}
		ev.ExitCode = &code
	}
	return ev
}

// TestTaskEndCounts: with --retries 1, a task that succeeds at once is
// not run again; one that times out twice is counted a timeout, once.
func TestTaskEndCounts(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	id := h.submit(2, retries(1))
	h.place()
	seq, refs := h.startAll("a", 0)
	if len(refs) != 2 {
		t.Fatalf("started %v; want 2 tasks", refs)
	}
	h.report("a", endAs(refs[0], burst.Succeeded, h.now), endAs(refs[1], burst.Timeout, h.now))
	h.wantTask(id, refs[0].Index, burst.Succeeded, 1, 0)
	h.place()
	_, again := h.startAll("a", seq)
	if len(again) != 1 || again[0].Index != refs[1].Index || again[0].Attempt != 2 {
		t.Fatalf("started %v; want task %d's attempt 2 alone", again, refs[1].Index)
	}
	h.report("a", endAs(again[0], burst.Timeout, h.now))
	h.wantTask(id, refs[1].Index, burst.Timeout, 2, 0)
	if j := h.job(id); j.Tasks.Succeeded != 1 || j.Tasks.Timeout != 1 || j.Tasks.Failed != 0 || !j.State.Terminal() {
		t.Fatalf("job: %s %+v; want ended, 1 succeeded, 1 timeout", j.State, j.Tasks)
	}
}

// TestCancelledTaskMachineGone: a task whose cancel was asked for, whose
// machine goes before it stops, ends cancelled (counted so, and its lost
// machine counted on its row), not lost.
func TestCancelledTaskMachineGone(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	id := h.submit(2)
	h.place()
	_, refs := h.startAll("a", 0)
	if _, err := h.doCancelTask(id, refs[0].Index); err != nil {
		t.Fatal(err)
	}
	h.report("a", client.TaskEvent{TaskRef: refs[0], Kind: client.EventExited, State: burst.Lost, Reason: "machine a lost", EndedAt: &h.now})
	h.wantTask(id, refs[0].Index, burst.Cancelled, 1, 1)
	if j := h.job(id); j.Tasks.Cancelled != 1 || j.Tasks.Lost != 0 {
		t.Fatalf("job counts %+v; want 1 cancelled, none lost", j.Tasks)
	}
}

func (h *harness) doCancelTask(id int64, idx int) (*client.CancelResult, error) {
	var res *client.CancelResult
	var err error
	h.do(func(b *batch) { res, err = h.c.cancelTask(id, idx, "ann", h.now, b) })
	return res, err
}

// TestCancelOfARequeuedTask: a task being stopped to run again (scontrol
// requeue) whose cancel is then asked for ends cancelled when it stops,
// and does not run again.
func TestCancelOfARequeuedTask(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	id := h.submit(2)
	h.place()
	_, refs := h.startAll("a", 0)
	var err error
	h.do(func(b *batch) { err = h.c.requeueTask(id, refs[0].Index, "ann", h.now, b) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.doCancelTask(id, refs[0].Index); err != nil {
		t.Fatal(err)
	}
	h.report("a", endAs(refs[0], burst.Cancelled, h.now))
	h.wantTask(id, refs[0].Index, burst.Cancelled, 1, 0)
	if j := h.job(id); j.Tasks.Cancelled != 1 {
		t.Fatalf("job counts %+v; want 1 cancelled", j.Tasks)
	}
}

// TestPreemptedJobWaitsAgain: a job whose running tasks are stopped to
// run again (scontrol requeue of each) stays running while one of them
// still runs, and is queued again, saying why, once none does.
func TestPreemptedJobWaitsAgain(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	id := h.submit(2)
	h.place()
	_, refs := h.startAll("a", 0)
	for _, r := range refs {
		var err error
		h.do(func(b *batch) { err = h.c.requeueTask(id, r.Index, "ann", h.now, b) })
		if err != nil {
			t.Fatal(err)
		}
	}
	h.c.machines["a"].drain = true // nothing placed again here, so that the job's wait shows
	h.report("a", endAs(refs[0], burst.Cancelled, h.now))
	if j := h.job(id); j.State != burst.Running {
		t.Fatalf("with one task still running, the job is %s; want running", j.State)
	}
	h.report("a", endAs(refs[1], burst.Cancelled, h.now))
	if j := h.job(id); j.State != burst.Queued || j.Reason == "" {
		t.Fatalf("with both requeued, the job is %s (%q); want queued, saying why", j.State, j.Reason)
	}
}

// TestPreemptedJobWithTaskHandedOut: a job's only started task stopped
// to run again leaves the job running while another of its tasks is
// handed to an agent, not yet started.
func TestPreemptedJobWithTaskHandedOut(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	id := h.submit(2)
	h.place()
	l := h.leaseN("a", 0, 2)
	first := l.Tasks[0].TaskRef
	h.report("a", started(first, h.now)) // the other is the agent's, not started yet
	var err error
	h.do(func(b *batch) { err = h.c.requeueTask(id, first.Index, "ann", h.now, b) })
	if err != nil {
		t.Fatal(err)
	}
	h.c.machines["a"].drain = true
	h.report("a", endAs(first, burst.Cancelled, h.now))
	if j := h.job(id); j.State == burst.Queued {
		t.Fatalf("with task %d handed out, the job is %s (%q); want it not waiting", l.Tasks[1].Index, j.State, j.Reason)
	}
}

// TestJobStartFromAnExit: a job none of whose tasks' starts was reported
// (each shorter than a report's gathering) starts when the first exit
// report says its task started, and runs while its other tasks do.
func TestJobStartFromAnExit(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	id := h.submit(2)
	h.place()
	l := h.lease("a", 0)
	if l == nil || len(l.Tasks) == 0 {
		t.Fatalf("leased %+v; want a task", l)
	}
	began := h.now
	h.tick(time.Second)
	ev := endAs(l.Tasks[0].TaskRef, burst.Succeeded, h.now)
	ev.StartedAt = &began
	h.report("a", ev)
	j := h.job(id)
	if j.StartedAt == nil || !j.StartedAt.Equal(began) {
		t.Errorf("job started at %v; want %v, as its task's exit report says", j.StartedAt, began)
	}
	if j.State != burst.Running {
		t.Errorf("with a task left to run, the job is %s; want running", j.State)
	}
	// The second's exit, with its own later start, leaves the job's.
	h.place()
	l2 := h.lease("a", l.Seq)
	if l2 == nil || len(l2.Tasks) != 1 {
		t.Fatalf("leased %+v; want the second task", l2)
	}
	later := h.now
	h.tick(time.Second)
	ev = endAs(l2.Tasks[0].TaskRef, burst.Succeeded, h.now)
	ev.StartedAt = &later
	h.report("a", ev)
	if j := h.job(id); j.StartedAt == nil || !j.StartedAt.Equal(began) {
		t.Errorf("after its second task, the job started at %v; want still %v", j.StartedAt, began)
	}
}

// TestJobStepsOfOneTask: a job of one task lists its task's srun steps,
// at once from a progress report while it runs (squeue -s and sstat read
// them there) and from its end report (sacct); a map of several takes no
// task's.
func TestJobStepsOfOneTask(t *testing.T) {
	for _, c := range []struct {
		kind  string
		state burst.State
	}{{client.EventProgress, burst.Running}, {client.EventExited, burst.Succeeded}} {
		h := newHarness(t)
		h.register("a", 4)
		one := h.submit(1, asRun)
		many := h.submit(2)
		h.place()
		_, refs := h.startAll("a", 0)
		var evs []client.TaskEvent
		for _, r := range refs {
			ev := client.TaskEvent{TaskRef: r, Kind: c.kind}
			if c.kind == client.EventExited {
				ev = endAs(r, burst.Succeeded, h.now)
			}
			ev.Steps = []burst.Step{{ID: 0, Name: "sleep", State: c.state, Tasks: 1, CPUs: 1, StartedAt: h.now}}
			evs = append(evs, ev)
		}
		h.report("a", evs...)
		steps := func(id int64) []burst.Step { // the running job's in memory, the ended one's row
			if j := h.c.jobs[id]; j != nil {
				return j.row.Steps
			}
			return h.job(id).Steps
		}
		if s := steps(one); len(s) != 1 || s[0].Name != "sleep" || s[0].State != c.state {
			t.Errorf("%s: job %d (one task) lists steps %+v; want its task's, %s", c.kind, one, s, c.state)
		}
		if s := steps(many); len(s) != 0 {
			t.Errorf("%s: job %d (a map of 2) lists steps %+v; want none", c.kind, many, s)
		}
	}
}

// TestNoRequeueTaskLostEnds: a task of a job submitted with sbatch
// --no-requeue is not run again when its machine is lost under it, as
// Slurm ends such a job NODE_FAIL: it ends lost, saying why; nor is it
// requeued on request (scontrol requeue), where the same job without the
// option runs again.
func TestNoRequeueTaskLostEnds(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	noRequeue := func(s *burst.JobSpec) { s.Batch = &burst.BatchOptions{NoRequeue: true} }
	id := h.submit(1, noRequeue)
	other := h.submit(1)
	h.place()
	_, refs := h.startAll("a", 0)
	if len(refs) != 2 {
		t.Fatalf("started %v", refs)
	}
	var err error
	h.do(func(b *batch) { err = h.c.requeueTask(id, 0, "ann", h.now, b) })
	if err == nil || !strings.Contains(err.Error(), "--no-requeue") {
		t.Errorf("requeue of a --no-requeue job: %v; want a refusal naming --no-requeue", err)
	}
	for _, r := range refs {
		h.report("a", client.TaskEvent{TaskRef: r, Kind: client.EventExited, State: burst.Lost, Reason: "machine a lost", EndedAt: &h.now})
	}
	if j := h.job(id); j.State != burst.Lost || !strings.Contains(j.Reason, "--no-requeue") {
		t.Errorf("the --no-requeue job whose machine was lost: %s (%q); want lost, naming --no-requeue", j.State, j.Reason)
	}
	if j := h.job(other); j.State.Terminal() || j.Tasks.Lost != 0 {
		t.Errorf("the job without --no-requeue whose machine was lost: %s, %+v; want it to run again", j.State, j.Tasks)
	}
}
