package server

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/store"
)

// corr has the job's tasks each wait for the task of the same index of
// job (aftercorr).
func corr(job int64) jobOpt { return after(burst.AfterCorr, job) }

// afterTask has the job wait for task idx of job.
func afterTask(kind string, job int64, idx int) jobOpt {
	return func(s *burst.JobSpec) { s.After = append(s.After, burst.Dependency{Kind: kind, Job: job, Task: &idx}) }
}

// submitArray queues a job array (sbatch --array) of the given indices.
func (h *harness) submitArray(indices []int, opts ...jobOpt) int64 {
	in := make([]string, len(indices))
	for i, k := range indices {
		in[i] = strconv.Itoa(k)
	}
	spec := &burst.JobSpec{Kind: burst.KindMap, Name: "arr", Project: "default", Tasks: len(in),
		Resources: burst.Resources{CPUs: 1}, Map: &burst.MapSpec{Template: []string{"echo", "{}"}, Array: true}}
	for _, o := range opts {
		o(spec)
	}
	id := h.nextID
	h.nextID++
	row := store.JobRow{Job: burst.Job{ID: id, Name: spec.Name, Project: spec.Project, State: burst.Queued, Spec: spec,
		Tasks: burst.TaskCounts{Total: len(in)}, SubmittedAt: h.now}, IDSpan: len(in)}
	h.jobs[id] = row
	h.inputs[id] = [][]string{in}
	h.c.submit(row, h.inputs[id])
	h.learnTasks()
	return id
}

// startedOf places and leases on machine m, starts what it got and
// returns the refs of job id's tasks among them by index, and all refs.
func (h *harness) startedOf(m string, id int64) (map[int]client.TaskRef, []client.TaskRef) {
	h.t.Helper()
	refs, _ := h.runOnce(m)
	out := map[int]client.TaskRef{}
	for _, r := range refs {
		if r.Job == id {
			out[r.Index] = r
		}
	}
	return out, refs
}

// failing exits task idx of job with 1, every other task with 0.
func failing(job int64, idx int) func(client.TaskRef) int {
	return func(r client.TaskRef) int {
		if r.Job == job && r.Index == idx {
			return 1
		}
		return 0
	}
}

func indices(m map[int]client.TaskRef) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// wantTaskDep checks what queued task idx of gated map id waits for, as
// squeue's %E shows it.
func (h *harness) wantTaskDep(id int64, idx int, want string) {
	h.t.Helper()
	j := h.c.jobs[id]
	if j == nil {
		h.t.Fatalf("job %d is not active", id)
	}
	if got, _ := h.c.taskDependency(j, idx); got != want {
		h.t.Fatalf("task %d of job %d waits for %q, want %q", idx, id, got, want)
	}
}

func TestAfterCorrGatesEachTask(t *testing.T) {
	h := newHarness(t)
	h.register("m", 16)
	a := h.submit(4)
	b := h.submit(4, corr(a), keepInvalid())
	aRefs, _ := h.startedOf("m", a)
	if got := indices(aRefs); len(got) != 4 {
		t.Fatalf("job %d started tasks %v, want all 4", a, got)
	}
	if n := h.c.jobs[b].pending(); n != 0 {
		t.Fatalf("job %d asks for %d tasks while every one waits behind its gate", b, n)
	}
	h.wantTaskDep(b, 2, "aftercorr:1(unfulfilled)")

	// Task 2 of a succeeds: task 2 of b, and it alone, starts.
	h.tick(1e9)
	h.finish("m", []client.TaskRef{aRefs[2]}, exitOf(nil))
	bRefs, all := h.startedOf("m", b)
	if got := indices(bRefs); len(all) != 1 || len(got) != 1 || got[0] != 2 {
		t.Fatalf("started %v once task 2 of job %d succeeded, want task 2 of job %d alone", all, a, b)
	}
	h.wantTaskDep(b, 1, "aftercorr:1(unfulfilled)")

	// Task 0 of a fails: task 0 of b can never start (kept, as sbatch keeps
	// it); tasks 1 and 3 still wait for theirs.
	h.finish("m", []client.TaskRef{aRefs[0]}, func(client.TaskRef) int { return 3 })
	if _, all := h.startedOf("m", b); len(all) != 0 {
		t.Fatalf("started %v after task 0 of job %d failed", all, a)
	}
	h.wantTaskDep(b, 0, "aftercorr:1(failed)")
	if _, why := h.c.taskDependency(h.c.jobs[b], 0); !strings.Contains(why, "task 1_0 failed, which its task 0 needed to succeed (aftercorr)") {
		t.Fatalf("task 0 of job %d waits: %q", b, why)
	}
	if got := h.c.afterText(h.c.jobs[b]); got != "aftercorr:1(unfulfilled)" {
		t.Fatalf("job %d's dependency %q while 2 of its tasks may still start", b, got)
	}

	// The others succeed: b's tasks 1 and 3 run; b waits on for task 0.
	h.finish("m", []client.TaskRef{aRefs[1], aRefs[3]}, exitOf(nil))
	h.finish("m", []client.TaskRef{bRefs[2]}, exitOf(nil))
	h.drive("m", 4, exitOf(nil))
	h.wantJob(a, burst.Failed, 1)
	for _, i := range []int{1, 2, 3} {
		h.wantTask(b, i, burst.Succeeded, 1, 0)
	}
	if h.c.jobs[b] == nil || h.c.jobs[b].finished {
		t.Fatalf("job %d ended while its task 0 waits (DependencyNeverSatisfied)", b)
	}
	if got := h.c.afterText(h.c.jobs[b]); got != "aftercorr:1(failed)" {
		t.Fatalf("job %d's dependency %q, want aftercorr:1(failed)", b, got)
	}
	h.do(func(bt *batch) { h.c.cancelJob(b, "ann", h.now, bt) })
	h.wantJob(b, burst.Cancelled, -1)
	if r := h.job(b).Tasks; r.Succeeded != 3 || r.Cancelled != 1 {
		t.Fatalf("job %d's tasks %+v, want 3 succeeded and 1 cancelled", b, r)
	}
}

// Without --kill-on-invalid-dep=no (burst run's default), a task whose
// corresponding task failed is cancelled alone, saying why.
func TestAfterCorrNeverCancelsTheTask(t *testing.T) {
	h := newHarness(t)
	h.register("m", 8)
	a := h.submit(3)
	b := h.submit(3, corr(a))
	h.drive("m", 6, failing(a, 1))
	h.wantJob(a, burst.Failed, 1)
	h.wantTask(b, 0, burst.Succeeded, 1, 0)
	h.wantTask(b, 2, burst.Succeeded, 1, 0)
	h.wantTask(b, 1, burst.Cancelled, 0, 0)
	if r := h.task(b, 1).Reason; r != "cancelled: task 1_1 failed, which its task 1 needed to succeed (aftercorr)" {
		t.Fatalf("reason %q", r)
	}
	if d := burst.ParseNeverMet(h.task(b, 1).Reason); len(d) != 1 || d[0].Kind != burst.AfterCorr || d[0].Job != a {
		t.Fatalf("the reason reads back as %v, want aftercorr on job %d", d, a)
	}
	h.wantJob(b, burst.Failed, 1) // as any map one of whose tasks was cancelled alone
}

// A task of the dependent array with no task of the same index in the
// array it waits for waits for that whole array to succeed, as Slurm 22.05
// does; so does aftercorr on a job that is no array.
func TestAfterCorrIndicesDiffer(t *testing.T) {
	for _, fail := range []bool{false, true} {
		h := newHarness(t)
		h.register("m", 8)
		a := h.submitArray([]int{0, 1})
		b := h.submitArray([]int{0, 1, 2, 3}, corr(a), keepInvalid())
		aRefs, _ := h.startedOf("m", a)
		code := 0
		if fail {
			code = 1
		}
		h.tick(1e9)
		h.finish("m", []client.TaskRef{aRefs[0]}, exitOf(nil))
		bRefs, _ := h.startedOf("m", b)
		if got := indices(bRefs); len(got) != 1 || got[0] != 0 {
			t.Fatalf("started tasks %v of job %d once task 0 of job %d succeeded, want 0 alone", got, b, a)
		}
		h.wantTaskDep(b, 3, "aftercorr:1_*(unfulfilled)")
		h.finish("m", []client.TaskRef{aRefs[1], bRefs[0]}, func(r client.TaskRef) int {
			if r.Job == a {
				return code
			}
			return 0
		})
		h.drive("m", 4, exitOf(nil))
		if fail {
			h.wantTaskDep(b, 2, "aftercorr:1_*(failed)")
			h.wantTaskDep(b, 1, "aftercorr:1_*(failed)")
			continue
		}
		h.wantJob(b, burst.Succeeded, 0)
	}

	// On a job of one task: each task waits for it.
	h := newHarness(t)
	h.register("m", 8)
	a := h.submit(1, asRun)
	b := h.submitArray([]int{5, 6}, corr(a), keepInvalid())
	h.drive("m", 4, exitOf(map[int64]int{a: 2}))
	h.wantTaskDep(b, 0, "aftercorr:1(failed)")
	h.wantTaskDep(b, 1, "aftercorr:1(failed)")
}

// A gated map keeps every gate across a restart of the server: what had
// passed its gate is not run again, what had not waits still.
func TestAfterCorrRestart(t *testing.T) {
	h := newHarness(t)
	h.register("m", 8)
	a := h.submit(3)
	b := h.submit(3, corr(a))
	aRefs, _ := h.startedOf("m", a)
	h.tick(1e9)
	h.finish("m", []client.TaskRef{aRefs[1]}, exitOf(nil))
	bRefs, _ := h.startedOf("m", b)
	if got := indices(bRefs); len(got) != 1 || got[0] != 1 {
		t.Fatalf("started %v of job %d, want task 1", got, b)
	}
	h.finish("m", []client.TaskRef{bRefs[1]}, exitOf(nil))

	h.restart()
	h.register("m", 8, client.RunningTask{TaskRef: aRefs[0], PID: 1000}, client.RunningTask{TaskRef: aRefs[2], PID: 1002})
	if _, all := h.startedOf("m", b); len(all) != 0 {
		t.Fatalf("after a restart, started %v while job %d's tasks 0 and 2 run", all, a)
	}
	if j := h.c.jobs[b]; j == nil || j.gate == nil || !j.skip[1] {
		t.Fatalf("after a restart, job %d is not gated, or task 1 is not past its gate: %+v", b, j)
	}
	h.wantTaskDep(b, 0, "aftercorr:1(unfulfilled)")

	// Task 2 of a succeeds, task 0 fails: task 2 of b runs, task 0 is
	// cancelled, task 1 does not run again.
	h.tick(1e9)
	h.finish("m", []client.TaskRef{aRefs[2]}, exitOf(nil))
	h.finish("m", []client.TaskRef{aRefs[0]}, func(client.TaskRef) int { return 1 })
	ran := map[int]int{}
	h.drive("m", 4, func(r client.TaskRef) int { ran[r.Index]++; return 0 })
	if len(ran) != 1 || ran[2] != 1 {
		t.Fatalf("after the restart ran tasks %v of job %d, want task 2 once", ran, b)
	}
	h.wantTask(b, 1, burst.Succeeded, 1, 0)
	h.wantTask(b, 0, burst.Cancelled, 0, 0)
	h.wantJob(b, burst.Failed, 1)
}

// A gated map submitted once the job it waits for has ended (left memory)
// learns its tasks' ends from the store; one restarted in the middle too.
func TestAfterCorrOnEndedJob(t *testing.T) {
	h := newHarness(t)
	h.register("m", 8)
	a := h.submit(3)
	h.drive("m", 3, failing(a, 2))
	if h.c.jobs[a] != nil {
		t.Fatalf("job %d is still in memory", a)
	}
	b := h.submit(3, corr(a), keepInvalid())
	h.restart() // before it ran anything: what it learnt is learnt again
	h.register("m", 8)
	ran := map[int]bool{}
	h.drive("m", 4, func(r client.TaskRef) int { ran[r.Index] = true; return 0 })
	if len(ran) != 2 || !ran[0] || !ran[1] {
		t.Fatalf("ran %v, want tasks 0 and 1", ran)
	}
	h.wantTaskDep(b, 2, "aftercorr:1(failed)")
}

// A job may wait for one task of an array (sbatch's JOB_TASK: afterok:12_4).
func TestAfterOneTask(t *testing.T) {
	h := newHarness(t)
	h.register("m", 8)
	a := h.submitArray([]int{3, 4, 5})
	ok := h.submit(1, asRun, afterTask(burst.AfterOK, a, 4))
	bad := h.submit(1, asRun, afterTask(burst.AfterOK, a, 5))
	any := h.submit(1, asRun, afterTask(burst.AfterAny, a, 5))
	aRefs, _ := h.startedOf("m", a)
	h.wantHeld(ok, "waiting for task 1_4 to succeed")
	if got := h.c.afterText(h.c.jobs[ok]); got != "afterok:1_4(unfulfilled)" {
		t.Fatalf("dependency %q, want afterok:1_4(unfulfilled)", got)
	}
	h.tick(1e9)
	h.finish("m", []client.TaskRef{aRefs[1]}, exitOf(nil)) // index 4
	_, jobs := h.runOnce("m")
	if len(jobs) != 1 || jobs[0] != ok {
		t.Fatalf("started jobs %v once task 1_4 succeeded, want job %d alone (task 1_3 still runs)", jobs, ok)
	}
	h.finish("m", []client.TaskRef{aRefs[2]}, func(client.TaskRef) int { return 1 }) // index 5
	h.place()
	h.wantJob(bad, burst.Cancelled, -1)
	if r := h.job(bad).Reason; r != "cancelled: task 1_5 failed, which it needed to succeed" {
		t.Fatalf("reason %q", r)
	}
	if h.c.jobs[any] != nil && h.c.jobs[any].after != nil {
		t.Fatalf("job %d (afterany:1_5) still held once task 1_5 ended", any)
	}
	if h.c.jobs[a] == nil || h.c.jobs[a].finished {
		t.Fatalf("job %d ended while its task 1_3 runs", a)
	}
}

// resume reopens finished job id as Server.ResumeWith and
// store.ReopenTasks do: its tasks that did not succeed are queued again (a
// gated map's that never ran lose their row: behind their gates again),
// and the control queues it.
func (h *harness) resume(id int64) {
	h.t.Helper()
	row := h.job(id)
	gate := gated(row.Spec)
	var reopened []*store.TaskRow
	var ahead []int
	for _, k := range sortedTaskKeys(h.tasks, id) {
		t := h.tasks[k]
		switch {
		case t.State == burst.Succeeded || t.State == burst.Queued || t.State == burst.Running:
		case gate && t.Attempt == 0:
			delete(h.tasks, k)
			continue
		default:
			t.State, t.Reason = burst.Queued, "resumed"
			h.tasks[k] = t
			reopened = append(reopened, &t)
		}
		ahead = append(ahead, t.Index)
	}
	c := &row.Tasks
	c.Failed, c.Timeout, c.Cancelled, c.Lost, c.Running = 0, 0, 0, 0, 0
	row.State, row.ExitCode, row.Reason, row.EndedAt = burst.Queued, nil, "", nil
	row.CancelRequested, row.Stopped, row.LetRun, row.Halted = false, false, false, false
	resumeHalt(row.Spec, row.Tasks.Succeeded)
	h.jobs[id] = row
	j := newJobRT(row)
	if !gate {
		ahead = nil
	}
	h.do(func(*batch) { h.c.resumed(j, h.inputs[id], reopened, ahead) })
	h.learnTasks()
}

func sortedTaskKeys(m map[taskKey]store.TaskRow, job int64) []taskKey {
	var out []taskKey
	for k := range m {
		if k.job == job {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b taskKey) int { return a.index - b.index })
	return out
}

// corrPair is a harness with machine m of 8 CPUs, a map a of n tasks and
// a map b of as many, with opts, whose tasks each wait for a's (aftercorr).
func corrPair(t *testing.T, n int, opts ...jobOpt) (h *harness, a, b int64) {
	h = newHarness(t)
	h.register("m", 8)
	a = h.submit(n)
	b = h.submit(n, append([]jobOpt{corr(a)}, opts...)...)
	return h, a, b
}

// A task of the waited-for job that ended just before the gated map was
// submitted, its end not yet durable (the store still says running), is
// not taken as running for good: the read is behind memory, and is read
// again.
func TestAfterCorrStaleRead(t *testing.T) {
	h := newHarness(t)
	h.register("m", 8)
	a := h.submit(2)
	aRefs, _ := h.startedOf("m", a)
	h.tick(1e9)
	h.finish("m", []client.TaskRef{aRefs[0]}, exitOf(nil))
	k := taskKey{a, 0}
	durable := h.tasks[k]
	stale := durable
	stale.State, stale.EndedAt, stale.ExitCode = burst.Running, nil, nil
	h.tasks[k] = stale // its end is enqueued, not yet committed
	b := h.submit(2, corr(a))
	if e := h.c.deps.logs[a]; e == nil || e.loaded || !slices.Contains(h.c.rereads(), a) {
		t.Fatalf("a stale read of job %d was taken as loaded, or is not read again: %+v", a, e)
	}
	h.tasks[k] = durable
	h.finish("m", []client.TaskRef{aRefs[1]}, exitOf(nil))
	h.drive("m", 6, exitOf(nil))
	h.wantJob(a, burst.Succeeded, 0)
	h.wantJob(b, burst.Succeeded, 0)
}

// A read that failed is read again; a job that is gone (purged) is an
// answer: none of its tasks succeeded.
func TestAfterCorrReadFailed(t *testing.T) {
	h := newHarness(t)
	h.register("m", 8)
	a := h.submit(2)
	h.drive("m", 3, exitOf(nil))
	c := h.submit(2)
	h.drive("m", 3, exitOf(nil))
	delete(h.jobs, c) // purged

	// Submitted as h.submit does, but its read of job a fails.
	b := h.nextID
	h.nextID++
	spec := &burst.JobSpec{Kind: burst.KindMap, Name: "m", Project: "default", Tasks: 2,
		Resources: burst.Resources{CPUs: 1}, Map: &burst.MapSpec{Template: []string{"echo", "{}"}},
		After: []burst.Dependency{{Kind: burst.AfterCorr, Job: a}}}
	h.jobs[b] = store.JobRow{Job: burst.Job{ID: b, Name: "m", Project: "default", State: burst.Queued, Spec: spec,
		Tasks: burst.TaskCounts{Total: 2}, SubmittedAt: h.now}, IDSpan: 1}
	h.inputs[b] = [][]string{{"0", "1"}}
	h.c.submit(h.jobs[b], h.inputs[b])
	h.c.learnAllTasks(map[int64]tasksRead{a: {err: errors.New("database is locked")}})
	if got := h.c.rereads(); !slices.Equal(got, []int64{a}) {
		t.Fatalf("after a failed read, read again %v, want [%d]", got, a)
	}
	h.drive("m", 4, exitOf(nil)) // placement reads it again, as the tick does
	h.wantJob(b, burst.Succeeded, 0)

	d := h.submit(2, corr(c), keepInvalid())
	h.place()
	h.wantTaskDep(d, 0, "aftercorr:"+strconv.FormatInt(c, 10)+"(failed)")
}

// A gated map resumed runs again its tasks that ran and did not succeed,
// at once; those cancelled before they ran go back behind their gates; a
// task that succeeded never runs again.
func TestAfterCorrResumeGated(t *testing.T) {
	h, a, b := corrPair(t, 3)
	h.drive("m", 6, func(r client.TaskRef) int {
		if r.Index == 1 && r.Job == a || r.Index == 2 && r.Job == b {
			return 1
		}
		return 0
	})
	h.wantJob(b, burst.Failed, 1)
	h.wantTask(b, 1, burst.Cancelled, 0, 0)
	h.resume(b)
	ran := map[int]int{}
	h.drive("m", 6, func(r client.TaskRef) int {
		if r.Job == b {
			ran[r.Index]++
		}
		return 0
	})
	if len(ran) != 1 || ran[2] != 1 {
		t.Fatalf("resume of the gated map ran %v, want task 2 alone, once", ran)
	}
	h.wantTask(b, 1, burst.Cancelled, 0, 0) // its task still failed: cancelled again
	if n := h.job(b).Tasks; n.Succeeded != 2 || n.Cancelled != 1 || n.Total != 3 {
		t.Fatalf("job %d's counts %+v, want 2 succeeded and 1 cancelled of 3", b, n)
	}
}

// A task kept waiting (DependencyNeverSatisfied) because its task failed
// runs once the job it waits on is resumed and that task succeeds.
func TestAfterCorrNeverKeptThenResumed(t *testing.T) {
	h, a, b := corrPair(t, 3, keepInvalid())
	h.drive("m", 6, failing(a, 1))
	h.wantJob(a, burst.Failed, 1)
	h.wantTaskDep(b, 1, "aftercorr:1(failed)")
	if h.c.jobs[a] != nil {
		t.Fatalf("job %d is still in memory", a)
	}
	h.resume(a)
	h.place()
	h.wantTaskDep(b, 1, "aftercorr:1(unfulfilled)") // task 1 of a runs again: b's waits for it
	h.drive("m", 6, exitOf(nil))
	h.wantJob(a, burst.Succeeded, 0)
	h.wantJob(b, burst.Succeeded, 0)
}

// Tasks of the waited-for map served from the result cache succeeded:
// the tasks that correspond to them run.
func TestAfterCorrOnCacheHits(t *testing.T) {
	h := newCacheHarness(t)
	h.register("a", 4)
	var seq uint64
	first := h.submit(4, cached)
	if n := h.runLeased("a", &seq, 0); n != 4 {
		t.Fatalf("first run: %d", n)
	}
	h.wantJob(first, burst.Succeeded, 0)
	again := h.submit(4, cached)
	b := h.submit(4, corr(again))
	for range 4 {
		h.runLeased("a", &seq, 0)
	}
	h.wantJob(again, burst.Succeeded, 0)
	h.wantJob(b, burst.Succeeded, 0)
}

// A task cancelled alone, before it ran or while in line to run again, is
// an end the jobs waiting on it learn of at once, not when its job ends.
func TestTaskCancelledAloneTellsWatchers(t *testing.T) {
	slow := func(s *burst.JobSpec) { s.Map.DelayMS = 60_000 } // one start a minute: a retry waits in line
	for _, inLine := range []bool{false, true} {
		h := newHarness(t)
		h.register("m", 4)
		a := h.submit(4, retries(1), slow)
		refs, _ := h.startedOf("m", a) // task 0 alone
		idx := 2                       // not yet handed out
		if inLine {
			idx = 0 // fails once: in line to run again
			h.tick(1e9)
			h.finish("m", []client.TaskRef{refs[0]}, func(client.TaskRef) int { return 1 })
			if j := h.c.jobs[a]; len(j.requeue) != 1 {
				t.Fatalf("task 0 of job %d is not in line to run again: %v", a, j.requeue)
			}
		}
		w := h.submit(1, asRun, afterTask(burst.AfterOK, a, idx))
		h.do(func(bt *batch) {
			if _, err := h.c.cancelTask(a, idx, "ann", h.now, bt); err != nil {
				t.Fatal(err)
			}
		})
		h.place()
		if h.c.jobs[a] == nil || h.c.jobs[a].finished {
			t.Fatalf("job %d ended: the test needs it running", a)
		}
		h.wantJob(w, burst.Cancelled, -1)
	}
}

// A cap on tasks that reserve no CPU running at once is at most
// burst.MaxSharedRunning, however given.
func TestSharedCPUsCap(t *testing.T) {
	shared := func(s *burst.JobSpec) { s.SharedCPUs, s.Resources.CPUs = true, 0 }
	h := newHarness(t)
	id := h.submit(4, shared, maxRunning(100_000))
	if got := h.c.jobs[id].maxRunning(); got != burst.MaxSharedRunning {
		t.Fatalf("-j 100000 of tasks of no CPU: cap %d, want %d", got, burst.MaxSharedRunning)
	}
	n := burst.MaxSharedRunning + 1
	var err error
	h.do(func(b *batch) {
		err = h.c.updateJob(id, client.UpdateOptions{MaxRunning: &n}, true, nil, "ann", h.now, b)
	})
	if err == nil || !strings.Contains(err.Error(), "at most 1024 at once") {
		t.Fatalf("throttle %d of tasks of no CPU: %v", n, err)
	}
	if _, err := resumeSpec(h.c.jobs[id].row.Spec, client.ResumeOptions{MaxRunning: &n}); err == nil || !strings.Contains(err.Error(), "-j 1025") {
		t.Fatalf("resume -j %d of tasks of no CPU: %v", n, err)
	}
	n = burst.MaxSharedRunning
	h.do(func(b *batch) {
		err = h.c.updateJob(id, client.UpdateOptions{MaxRunning: &n}, true, nil, "ann", h.now, b)
	})
	if err != nil {
		t.Fatalf("throttle %d: %v", n, err)
	}
}

// A gated map some of whose tasks passed their gates has started: its
// dependencies can no longer be changed, and a new time limit reaches the
// tasks handed out.
func TestAfterCorrStartedGated(t *testing.T) {
	h, a, b := corrPair(t, 2)
	aRefs, _ := h.startedOf("m", a)
	h.tick(1e9)
	h.finish("m", []client.TaskRef{aRefs[0]}, exitOf(nil))
	h.place()
	if l := h.lease("m", 0); l == nil || len(l.Tasks) != 1 || l.Tasks[0].Job != b {
		t.Fatalf("leased %+v, want task 0 of job %d", l, b)
	}
	var err error
	h.do(func(bt *batch) {
		err = h.c.updateJob(b, client.UpdateOptions{After: strp("afterok:1")}, true, nil, "ann", h.now, bt)
	})
	if err == nil || !strings.Contains(err.Error(), "has started") {
		t.Fatalf("a dependency update of gated map %d with a task handed out: %v", b, err)
	}
}

// A task of a gated map that ended is said to have finished, not to have
// been cancelled.
func TestCancelEndedTaskOfGatedMap(t *testing.T) {
	h, a, b := corrPair(t, 2, keepInvalid())
	h.drive("m", 6, failing(a, 1))
	h.wantTask(b, 0, burst.Succeeded, 1, 0)
	var res *client.CancelResult
	h.do(func(bt *batch) {
		var err error
		if res, err = h.c.cancelTask(b, 0, "ann", h.now, bt); err != nil {
			t.Fatal(err)
		}
	})
	if res == nil || !res.AlreadyFinished || res.State != "" {
		t.Fatalf("cancel of task 0 of job %d, which succeeded: %+v, want AlreadyFinished with no state", b, res)
	}
	h.wantTask(b, 0, burst.Succeeded, 1, 0)
}
