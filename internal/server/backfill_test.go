package server

import (
	"strconv"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func cpus(n int) jobOpt       { return func(s *burst.JobSpec) { s.Resources.CPUs = n } }
func limitS(sec int64) jobOpt { return func(s *burst.JobSpec) { s.Resources.TimeLimit = sec } }
func leased(l *client.Leased) []client.TaskRef {
	if l == nil {
		return nil
	}
	var out []client.TaskRef
	for _, a := range l.Tasks {
		out = append(out, a.TaskRef)
	}
	return out
}

// TestBackfillByTimeLimits: a task that waits for the whole machine (the
// head) reserves it from when the running task's time limit runs out,
// counted from that task's start, not from now: later work backfills
// the hole only if its own limit ends by then. A running task without a
// limit ends "never", so the head reserves nothing and later work runs.
func TestBackfillByTimeLimits(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	first := h.submit(1, asRun, cpus(1), limitS(60)) // ends at t0+60 s at the latest
	h.place()
	seq, refs := h.startAll("a", 0)
	if len(refs) != 1 || refs[0].Job != first {
		t.Fatalf("handed out %v; want job %d's task", refs, first)
	}
	h.tick(30 * time.Second)                         // t0+30 s
	head := h.submit(1, asRun, cpus(2), limitS(600)) // waits for the whole machine
	long := h.submit(1, asRun, cpus(1), limitS(45))  // would end at t0+75 s: past the head's start
	h.place()
	l := h.lease("a", seq)
	if got := leased(l); len(got) != 0 {
		t.Fatalf("at t0+30 s, handed out %v; want nothing: job %d (limit 45 s) would delay job %d, which starts at t0+60 s", got, long, head)
	}
	short := h.submit(1, asRun, cpus(1), limitS(20)) // ends at t0+50 s: before the head could start
	h.place()
	l = h.lease("a", seq)
	if got := leased(l); len(got) != 1 || got[0].Job != short {
		t.Fatalf("handed out %v; want job %d (limit 20 s), which fits before the head's start", got, short)
	}

	// The same with a first task of no limit: the head's start is never
	// known, it reserves nothing, and the 45 s job runs.
	h = newHarness(t)
	h.register("a", 2)
	h.submit(1, asRun, cpus(1))
	h.place()
	seq, _ = h.startAll("a", 0)
	h.tick(30 * time.Second)
	h.submit(1, asRun, cpus(2), limitS(600))
	long = h.submit(1, asRun, cpus(1), limitS(45))
	h.place()
	if got := leased(h.lease("a", seq)); len(got) != 1 || got[0].Job != long {
		t.Fatalf("beside a task of no time limit, handed out %v; want job %d", got, long)
	}
}

// TestRequeueBeforeLease: a task placed but not yet leased by its agent
// that is requeued (scontrol requeue) is taken back from the agent's
// outbox: the agent is handed its next attempt, never the one that ended.
func TestRequeueBeforeLease(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	id := h.submit(1, asRun)
	h.place() // in the agent's outbox, not leased yet
	var err error
	h.do(func(b *batch) { err = h.c.requeueTask(id, 0, "ann", h.now, b) })
	if err != nil {
		t.Fatalf("requeue of a placed task: %v", err)
	}
	h.place()
	for _, r := range leased(h.lease("a", 0)) {
		if r.Job == id && r.Attempt == 1 {
			t.Fatalf("handed out %v: attempt 1 ended when it was requeued", r)
		}
	}
}

// TestLogPaths: a map's task writes its output under the server's logs
// directory, a thousand tasks a directory; a job that names its files
// writes there.
func TestLogPaths(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	id := h.submit(1)
	named := h.submit(1, func(s *burst.JobSpec) { s.Stdout, s.Workdir = "out.txt", "/home/ann" })
	h.place()
	l := h.leaseN("a", 0, 2)
	for _, a := range l.Tasks {
		want := "/logs/" + strconv.FormatInt(id, 10) + "/0/0.out"
		if a.Job == named {
			want = "/home/ann/out.txt"
		}
		if a.Stdout != want {
			t.Errorf("job %d's task writes its stdout to %q; want %q", a.Job, a.Stdout, want)
		}
	}
}

// TestBatchDefaultOutputs: an sbatch job without --output writes
// slurm-JOBID.out in its working directory, an array's task
// slurm-ARRAYID_TASKID.out (task 0 too), and its stderr goes there as
// well unless --error names another file.
func TestBatchDefaultOutputs(t *testing.T) {
	h := newHarness(t)
	h.register("a", 4)
	batch := func(s *burst.JobSpec) { s.Batch, s.Workdir = &burst.BatchOptions{}, "/home/ann" }
	single := h.submit(1, asRun, batch)
	array := h.submit(2, batch, func(s *burst.JobSpec) { s.Map.Array = true })
	split := h.submit(1, asRun, batch, func(s *burst.JobSpec) { s.Stderr = "err.txt" })
	h.place()
	l := h.leaseN("a", 0, 4)
	for _, a := range l.Tasks {
		var out, errp string
		switch a.Job {
		case single:
			out = "/home/ann/slurm-" + strconv.FormatInt(single, 10) + ".out"
			errp = out
		case array:
			out = "/home/ann/slurm-" + strconv.FormatInt(array, 10) + "_" + strconv.Itoa(a.Index) + ".out"
			errp = out
		case split:
			out, errp = "/home/ann/slurm-"+strconv.FormatInt(split, 10)+".out", "/home/ann/err.txt"
		}
		if a.Stdout != out || a.Stderr != errp {
			t.Errorf("job %d task %d writes to %q and %q; want %q and %q", a.Job, a.Index, a.Stdout, a.Stderr, out, errp)
		}
	}
}

// TestEndWithoutStartReport: a task whose agent reports its end with no
// start report before it (a task shorter than a report's gathering) keeps
// the start the end report carries; one whose start was reported keeps
// that one.
func TestEndWithoutStartReport(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	id := h.submit(2)
	h.place()
	l := h.leaseN("a", 0, 2)
	t0 := h.now
	h.report("a", started(l.Tasks[0].TaskRef, t0))
	h.tick(time.Second)
	later := h.now
	for _, a := range l.Tasks {
		ev := exited(a.TaskRef, 0, h.now)
		ev.StartedAt = &later
		h.report("a", ev)
	}
	for i, want := range []time.Time{t0, later} {
		row := h.task(id, l.Tasks[i].Index)
		if row.StartedAt == nil || !row.StartedAt.Equal(want) {
			t.Errorf("task %d started at %v; want %v", l.Tasks[i].Index, row.StartedAt, want)
		}
	}
}

// TestMachineIdleSince: a machine is idle from when its last task ended,
// not before (the autoscaler stops it --idle-stop after that).
func TestMachineIdleSince(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	h.submit(2)
	h.place()
	_, refs := h.startAll("a", 0)
	if len(refs) != 2 {
		t.Fatalf("started %v; want 2 tasks", refs)
	}
	was := h.c.machines["a"].idleSince
	h.tick(time.Minute)
	h.finish("a", refs[:1], always(0))
	if got := h.c.machines["a"].idleSince; !got.Equal(was) {
		t.Errorf("with a task still running, idle since %v; want unchanged (%v)", got, was)
	}
	h.tick(time.Minute)
	h.finish("a", refs[1:], always(0))
	if got := h.c.machines["a"].idleSince; !got.Equal(h.now) {
		t.Errorf("once its last task ended, idle since %v; want %v", got, h.now)
	}
}

// TestRemoteLogPaths: a task on a remote machine has its output kept in
// the server's logs directory as its agent ships it: one file when the
// job's stdout and stderr are one (sbatch's default), two when not.
func TestRemoteLogPaths(t *testing.T) {
	h := newHarness(t)
	h.do(func(b *batch) {
		if _, err := h.c.register(&client.Register{Machine: "far", Host: "elsewhere", Cluster: localCluster, CPUs: 4,
			MemBytes: 8 << 30, PID: 100, PIDStart: 1, Remote: true}, h.now, b); err != nil {
			t.Fatal(err)
		}
	})
	batch := func(s *burst.JobSpec) { s.Batch, s.Workdir = &burst.BatchOptions{}, "/home/ann" }
	one := h.submit(1, asRun, batch)
	two := h.submit(1, asRun, batch, func(s *burst.JobSpec) { s.Stderr = "err.txt" })
	h.place()
	for _, c := range []struct {
		id   int64
		same bool
	}{{one, true}, {two, false}} {
		row := h.c.jobs[c.id].running[0].row
		dir := "/logs/" + strconv.FormatInt(c.id, 10) + "/0/"
		want := dir + "0.err"
		if c.same {
			want = dir + "0.out"
		}
		if row.Stdout != dir+"0.out" || row.Stderr != want {
			t.Errorf("job %d on a remote machine: stdout %q, stderr %q; want %q, %q", c.id, row.Stdout, row.Stderr, dir+"0.out", want)
		}
	}
}

// TestMachineIdleAcrossRestart: an agent that registers again with a
// restarted server tells when its last task ended: the machine shows that
// as its idle time (scontrol's LastBusyTime), while idle-stop counts from
// the restart (work the restart has not placed yet may be for it). A task
// that runs and ends there afterwards makes it idle from that end again.
func TestMachineIdleAcrossRestart(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	ended := h.now.Add(-10 * time.Minute)
	h.restart()
	restarted := h.now
	h.c.machines["a"].idleSince = restarted // as recover sets it
	sent := h.now
	h.do(func(b *batch) {
		if _, err := h.c.register(&client.Register{Machine: "a", Host: "thishost", Cluster: localCluster, CPUs: 2,
			MemBytes: 8 << 30, PID: 100, PIDStart: 1, SentAt: &sent, IdleSince: &ended}, h.now, b); err != nil {
			t.Fatal(err)
		}
	})
	m := h.c.machines["a"]
	if !m.idleSince.Equal(restarted) {
		t.Errorf("idle-stop counts from %v after the re-registration; want the restart, %v", m.idleSince, restarted)
	}
	if v := h.srv.machineView(m); v.IdleSince == nil || !v.IdleSince.Equal(ended) {
		t.Errorf("the machine shows idle since %v; want its agent's %v", v.IdleSince, ended)
	}
	h.submit(1)
	h.place()
	_, refs := h.startAll("a", 0)
	h.tick(time.Minute)
	h.finish("a", refs, always(0))
	if v := h.srv.machineView(m); v.IdleSince == nil || !v.IdleSince.Equal(h.now) {
		t.Errorf("after a task ended there, idle since %v; want %v", v.IdleSince, h.now)
	}
}
