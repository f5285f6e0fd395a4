package server

import (
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// prefetchedAfterRestart: a short map whose agent holds a prefetched queue,
// then a server restart; it returns the job, the tasks started, and those
// queued (prefetched) at the agent, never started.
func prefetchedAfterRestart(t *testing.T, h *harness, opts ...jobOpt) (int64, []client.TaskRef, []client.TaskRef) {
	h.register("a", 2)
	id := h.submit(60, opts...)
	seq := h.shortRuns("a", 0) // prefetched from now on
	h.place()
	l := h.lease("a", seq)
	h.lease("a", l.Seq)
	now, queued := byQueue(l)
	if len(queued) < 4 || len(now) != 2 {
		t.Fatalf("%d queued, %d now", len(queued), len(now))
	}
	for _, r := range now {
		h.report("a", started(r, h.now))
	}
	h.restart()
	running := runningAs(now)
	for _, r := range queued {
		running = append(running, client.RunningTask{TaskRef: r}) // the agent's queue: no pid (agent.Registration)
	}
	if kill := h.register("a", 2, running...); len(kill) != 0 {
		t.Fatalf("kill %v", kill)
	}
	return id, now, queued
}

// After a server restart, a --halt soon stop cancels the prefetched tasks
// still queued at the agent (never started): restore makes every task
// queued=false, which stopJobAs read as "handed to start at once" and let
// run.
func TestHaltSoonAfterRestartCancelsAgentQueue(t *testing.T) {
	h := newHarness(t)
	id, now, queued := prefetchedAfterRestart(t, h, maxFailures(1), func(s *burst.JobSpec) { s.Map.HaltSoon = true })
	h.finish("a", now, always(1)) // the stop
	if !h.job(id).CancelRequested {
		t.Fatal("no stop")
	}
	let := 0
	for _, r := range queued {
		if tk := h.c.jobs[id].running[r.Index]; tk != nil && !tk.cancel {
			let++
		}
	}
	if let != 0 {
		t.Fatalf("--halt soon after a restart let %d of %d tasks queued at the agent (never started) run", let, len(queued))
	}
}

// Same for scancel -t PENDING (cancelWaiting): pending tasks held at the
// agent are cancelled after a restart too.
func TestCancelWaitingAfterRestartCancelsAgentQueue(t *testing.T) {
	h := newHarness(t)
	id, _, queued := prefetchedAfterRestart(t, h)
	h.do(func(b *batch) { h.c.cancelWaiting(id, "ann", h.now, b) })
	let := 0
	for _, r := range queued {
		if tk := h.c.jobs[id].running[r.Index]; tk != nil && !tk.cancel {
			let++
		}
	}
	if let != 0 {
		t.Fatalf("scancel -t PENDING after a restart left %d of %d pending tasks queued at the agent to run", let, len(queued))
	}
}

// A task --halt soon let run (handed out, start not yet reported) runs on
// across a server restart before its start is recorded: restore let run
// only tasks with a start; the stop now marks those it cancels.
func TestHaltSoonLetRunSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	id, refs := haltSoonOneStarting(t, h)
	h.restart()
	h.register("a", 4, runningAs(refs[2:])...)
	if tk := h.c.jobs[id].running[refs[3].Index]; tk == nil || tk.cancel {
		t.Fatalf("after a restart, the task --halt soon let run (it runs at the agent) is cancelled: %+v", tk)
	}
}

// Native mode: every task handed to the native agent is an sbatch job
// that waits in Slurm's queue (internal/slurm/native.go: "Assignment.Queued
// is ignored"), for hours maybe, its start reported when Slurm runs it.
// scancel -t PENDING (cancelWaiting) and --halt soon cancel such tasks:
// handed out, not queued, not started, they are not starting at once.
func TestCancelWaitingNativePending(t *testing.T) {
	h := newHarness(t)
	h.c.clusters["hpc:native"] = &clusterRT{def: burst.Cluster{Name: "hpc:native", Provider: "local"}}
	h.do(func(b *batch) {
		if _, err := h.c.register(&client.Register{Machine: "a", Host: "thishost", Cluster: "hpc:native", CPUs: 4,
			MemBytes: 8 << 30, PID: 100, PIDStart: 1}, h.now, b); err != nil {
			t.Fatal(err)
		}
	})
	id := h.submit(4, func(s *burst.JobSpec) { s.Native, s.Cluster = true, "hpc" })
	h.place()
	l := h.leaseN("a", 0, 4)
	h.lease("a", l.Seq) // the native agent has them: sbatch'd, pending in Slurm's queue
	h.do(func(b *batch) { h.c.cancelWaiting(id, "ann", h.now, b) })
	for _, a := range l.Tasks {
		if tk := h.c.jobs[id].running[a.Index]; tk != nil && !tk.cancel {
			t.Fatalf("scancel -t PENDING of a native job left task %d, pending in Slurm's queue, to run", a.Index)
		}
	}
}

// scancel -t PENDING lets the started tasks run; a server restart before
// they end keeps them running (it cancelled them: the stop's kind was not
// kept, and a restart took it for a whole cancel).
func TestCancelWaitingLetRunSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	h.register("m", 2)
	id := h.submit(5)
	h.place()
	_, refs := h.startAll("m", 0)
	h.do(func(b *batch) { h.c.cancelWaiting(id, "ann", h.now, b) })
	h.restart()
	running := runningAs(refs)
	h.register("m", 2, running...)
	for _, r := range refs {
		if tk := h.c.jobs[id].running[r.Index]; tk == nil || tk.cancel {
			t.Fatalf("after a restart, a running task scancel -t PENDING let run is cancelled: %+v", tk)
		}
	}
	// A whole cancel after it still stops them, restart or not.
	h.do(func(b *batch) { h.c.cancelJob(id, "ann", h.now, b) })
	h.restart()
	h.register("m", 2, running...)
	for _, r := range refs {
		if tk := h.c.jobs[id].running[r.Index]; tk != nil && !tk.cancel {
			t.Fatalf("after burst cancel and a restart, task %d runs on", r.Index)
		}
	}
}
