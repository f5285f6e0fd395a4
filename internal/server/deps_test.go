package server

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

func after(kind string, jobs ...int64) jobOpt { return afterDelayed(kind, 0, jobs...) }

// afterDelayed waits for jobs as kind says, with +min minutes (sbatch -d
// after:ID+MIN waits that long after the start).
func afterDelayed(kind string, min int, jobs ...int64) jobOpt {
	return func(s *burst.JobSpec) {
		for _, id := range jobs {
			s.After = append(s.After, burst.Dependency{Kind: kind, Job: id, Delay: min})
		}
	}
}

func anyOf() jobOpt       { return func(s *burst.JobSpec) { s.AfterAnyOf = true } }
func keepInvalid() jobOpt { return func(s *burst.JobSpec) { s.KeepUnsatisfiable = true } }
func named(n string) jobOpt {
	return func(s *burst.JobSpec) { s.Name = n }
}
func singleton() jobOpt {
	return func(s *burst.JobSpec) { s.After = append(s.After, burst.Dependency{Kind: burst.Singleton}) }
}

// exitOf exits each job's tasks with its code (0 for jobs not named).
func exitOf(codes map[int64]int) func(client.TaskRef) int {
	return func(r client.TaskRef) int { return codes[r.Job] }
}

// runOnce places, leases and starts what there is on machine id, and
// returns the jobs whose tasks started.
func (h *harness) runOnce(id string) ([]client.TaskRef, []int64) {
	h.t.Helper()
	h.place()
	_, refs := h.startAll(id, 0)
	var jobs []int64
	for _, r := range refs {
		jobs = append(jobs, r.Job)
	}
	return refs, jobs
}

// wantHeld checks that job id is held, waiting as why says.
func (h *harness) wantHeld(id int64, why string) {
	h.t.Helper()
	j := h.c.jobs[id]
	if j == nil || j.after == nil {
		h.t.Fatalf("job %d is not held by its dependencies", id)
	}
	if j.pending() != 0 {
		h.t.Fatalf("held job %d has %d tasks pending: it must ask for nothing", id, j.pending())
	}
	if got := h.c.afterWait(j); !strings.Contains(got, why) {
		h.t.Fatalf("job %d waits %q, want it to say %q", id, got, why)
	}
	if h.job(id).State != burst.Queued {
		h.t.Fatalf("held job %d is %s, want queued", id, h.job(id).State)
	}
}

func TestAfterOKMet(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1)
	b := h.submit(1, after(burst.AfterOK, a))
	refs, jobs := h.runOnce("m")
	if len(jobs) != 1 || jobs[0] != a {
		t.Fatalf("started tasks of jobs %v, want only job %d's", jobs, a)
	}
	h.wantHeld(b, "waiting for job 1 to succeed")
	if got := h.c.afterText(h.c.jobs[b]); got != "afterok:1(unfulfilled)" {
		t.Fatalf("dependency %q, want afterok:1(unfulfilled)", got)
	}
	for _, d := range h.c.demand() {
		if d.Count != 0 {
			t.Fatalf("the autoscaler is asked for %+v while the only waiting job is held", d)
		}
	}
	h.tick(1e9)
	h.finish("m", refs, exitOf(nil))
	h.wantJob(a, burst.Succeeded, 0)
	if h.c.jobs[b] != nil && h.c.jobs[b].after != nil {
		t.Fatalf("job %d still held after job %d succeeded", b, a)
	}
	h.drive("m", 3, exitOf(nil))
	h.wantJob(b, burst.Succeeded, 0)
}

func TestAfterOKNeverCancels(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1, asRun)
	b := h.submit(1, after(burst.AfterOK, a))
	h.drive("m", 3, exitOf(map[int64]int{a: 3}))
	h.wantJob(a, burst.Failed, 3)
	h.wantJob(b, burst.Cancelled, -1)
	if r := h.job(b).Reason; r != "cancelled: job 1 failed, which it needed to succeed" {
		t.Fatalf("reason %q", r)
	}
	if _, ran := h.tasks[taskKey{b, 0}]; ran {
		t.Fatalf("job %d's task ran or was written: %+v", b, h.tasks[taskKey{b, 0}])
	}
	if h.job(b).Tasks.Cancelled != 1 {
		t.Fatalf("tasks %+v, want 1 cancelled", h.job(b).Tasks)
	}
}

func TestAfterOKNeverKept(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1)
	b := h.submit(1, after(burst.AfterOK, a), keepInvalid())
	h.drive("m", 3, exitOf(map[int64]int{a: 1}))
	h.wantJob(a, burst.Failed, 1)
	h.wantHeld(b, "job 1 failed, which it needed to succeed: it can never start (DependencyNeverSatisfied)")
	if got := h.c.afterText(h.c.jobs[b]); got != "afterok:1(failed)" {
		t.Fatalf("dependency %q, want afterok:1(failed)", got)
	}
	// It waits across a restart too (job 1 has left memory: its row tells).
	h.restart()
	h.register("m", 4)
	h.place()
	h.wantHeld(b, "DependencyNeverSatisfied")
	h.do(func(bt *batch) { h.c.cancelJob(b, "ann", h.now, bt) })
	h.wantJob(b, burst.Cancelled, -1)
	h.place()
	if len(h.c.deps.held) != 0 {
		t.Fatalf("a cancelled job is still held: %v", h.c.deps.held)
	}
}

func TestAfterAnyAndNotOK(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1)
	any := h.submit(1, after(burst.AfterAny, a))
	notok := h.submit(1, after(burst.AfterNotOK, a))
	ok := h.submit(1, after(burst.AfterOK, a))
	h.drive("m", 4, exitOf(map[int64]int{a: 2}))
	h.wantJob(any, burst.Succeeded, 0)
	h.wantJob(notok, burst.Succeeded, 0)
	h.wantJob(ok, burst.Cancelled, -1)

	// afternotok on a job that succeeds is never met.
	c := h.submit(1)
	d := h.submit(1, after(burst.AfterNotOK, c))
	h.drive("m", 3, exitOf(nil))
	h.wantJob(c, burst.Succeeded, 0)
	h.wantJob(d, burst.Cancelled, -1)
	if r := h.job(d).Reason; r != "cancelled: job 5 succeeded, which it needed to fail" {
		t.Fatalf("reason %q", r)
	}
}

func TestAfterChainOfThree(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1)
	b := h.submit(1, after(burst.AfterOK, a))
	c := h.submit(1, after(burst.AfterOK, b))
	var order []int64
	for range 5 {
		refs, jobs := h.runOnce("m")
		if len(refs) == 0 {
			break
		}
		if len(jobs) != 1 {
			t.Fatalf("jobs %v started at once: a chain runs one at a time", jobs)
		}
		order = append(order, jobs...)
		h.tick(1e9)
		h.finish("m", refs, exitOf(nil))
	}
	if len(order) != 3 || order[0] != a || order[1] != b || order[2] != c {
		t.Fatalf("ran %v, want %d, %d, %d in turn", order, a, b, c)
	}
	h.wantJob(c, burst.Succeeded, 0)
}

func TestAfterEndedAtSubmit(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1)
	f := h.submit(1)
	h.drive("m", 3, exitOf(map[int64]int{f: 1}))
	if h.c.jobs[a] != nil || h.c.jobs[f] != nil {
		t.Fatal("ended jobs are still in memory")
	}
	ok := h.submit(1, after(burst.AfterOK, a))
	bad := h.submit(1, after(burst.AfterOK, f))
	if got := h.c.unresolved(h.c.jobs[ok]); len(got) != 1 || got[0] != a {
		t.Fatalf("unresolved %v, want [%d]", got, a)
	}
	h.place()
	h.wantHeld(ok, "waiting for job 1 to succeed") // unknown until the shell says
	h.c.learnEnded(map[int64]jobEnd{a: {state: burst.Succeeded}, f: {state: burst.Failed}})
	h.drive("m", 3, exitOf(nil))
	h.wantJob(ok, burst.Succeeded, 0)
	h.wantJob(bad, burst.Cancelled, -1)
}

func TestAfterRestartWhileHeld(t *testing.T) {
	h := newHarness(t)
	a := h.submit(1)
	b := h.submit(1, after(burst.AfterOK, a))
	h.place()
	h.wantHeld(b, "waiting for job 1 to succeed")
	h.restart()
	h.register("m", 4)
	refs, jobs := h.runOnce("m")
	if len(jobs) != 1 || jobs[0] != a {
		t.Fatalf("after a restart, started %v, want only job %d", jobs, a)
	}
	h.wantHeld(b, "waiting for job 1 to succeed")
	h.restart() // again, with job 1 running
	h.register("m", 4, client.RunningTask{TaskRef: refs[0], PID: 1000, PIDStart: 7})
	h.place()
	h.wantHeld(b, "waiting for job 1 to succeed")
	h.finish("m", refs, exitOf(nil))
	h.drive("m", 3, exitOf(nil))
	h.wantJob(b, burst.Succeeded, 0)
}

func TestAfterCancel(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1)
	b := h.submit(1, after(burst.AfterOK, a))
	// The held job cancelled: it ends now, and nothing of it runs later.
	h.do(func(bt *batch) { h.c.cancelJob(b, "ann", h.now, bt) })
	h.wantJob(b, burst.Cancelled, -1)
	// Its dependency cancelled: afterok never, afterany and afternotok go.
	c := h.submit(1, after(burst.AfterOK, a))
	d := h.submit(1, after(burst.AfterAny, a))
	e := h.submit(1, after(burst.AfterNotOK, a))
	h.place()
	h.do(func(bt *batch) { h.c.cancelJob(a, "ann", h.now, bt) })
	h.drive("m", 3, exitOf(nil))
	h.wantJob(a, burst.Cancelled, -1)
	h.wantJob(c, burst.Cancelled, -1)
	if r := h.job(c).Reason; r != "cancelled: job 1 was cancelled, which it needed to succeed" {
		t.Fatalf("reason %q", r)
	}
	h.wantJob(d, burst.Succeeded, 0)
	h.wantJob(e, burst.Succeeded, 0)
	if _, ran := h.tasks[taskKey{b, 0}]; ran {
		t.Fatalf("cancelled held job %d ran", b)
	}
}

func TestAfterAnyOfAndSingleton(t *testing.T) {
	h := newHarness(t)
	h.register("m", 8)
	a := h.submit(1)
	b := h.submit(1)
	either := h.submit(1, after(burst.AfterOK, a, b), anyOf())
	s1 := h.submit(1, named("s"))
	s2 := h.submit(1, named("s"), singleton())
	refs, jobs := h.runOnce("m")
	if len(jobs) != 3 {
		t.Fatalf("started %v, want jobs %d, %d and %d", jobs, a, b, s1)
	}
	h.wantHeld(either, "waiting for job 1 to succeed or job 2 to succeed")
	h.wantHeld(s2, "the jobs of the same name and user before it to end")
	h.tick(1e9)
	h.finish("m", refs, exitOf(map[int64]int{a: 1}))
	h.drive("m", 3, exitOf(nil))
	h.wantJob(either, burst.Succeeded, 0)
	h.wantJob(s2, burst.Succeeded, 0)
	if s1r, s2r := h.task(s1, 0), h.task(s2, 0); !s2r.StartedAt.After(*s1r.EndedAt) && !s2r.StartedAt.Equal(*s1r.EndedAt) {
		t.Fatalf("singleton started at %v, before job %d ended at %v", s2r.StartedAt, s1, s1r.EndedAt)
	}
}

// TestSingletonTouchOwnName: the start or end of a job has release look
// at the singleton-held jobs of its own user and name alone, not at every
// singleton-held job.
func TestSingletonTouchOwnName(t *testing.T) {
	h := newHarness(t)
	h.register("m", 8)
	s1 := h.submit(1, named("s"))
	s2 := h.submit(1, named("s"), singleton())
	t1 := h.submit(1, named("t"))
	t2 := h.submit(1, named("t"), singleton())
	other := h.submit(1, named("u"))
	h.place()
	h.wantHeld(s2, "the jobs of the same name and user before it to end")
	h.wantHeld(t2, "the jobs of the same name and user before it to end")
	if len(h.c.deps.check) != 0 {
		t.Fatalf("after a round, %v are still to be checked", h.c.deps.check)
	}
	h.c.deps.touch(h.c.jobs[other])
	if len(h.c.deps.check) != 0 {
		t.Fatalf("job %d (named u) changing marked %v for a check; want none (no singleton waits on u)", other, h.c.deps.check)
	}
	h.c.deps.touch(h.c.jobs[t1])
	if len(h.c.deps.check) != 1 || !h.c.deps.check[t2] {
		t.Fatalf("job %d (named t) changing marked %v for a check; want job %d alone", t1, h.c.deps.check, t2)
	}
	h.c.deps.touch(h.c.jobs[s1])
	if len(h.c.deps.check) != 2 || !h.c.deps.check[s2] {
		t.Fatalf("job %d (named s) changing marked %v for a check; want jobs %d and %d", s1, h.c.deps.check, s2, t2)
	}
	// Released, a job leaves the index.
	h.drive("m", 5, exitOf(nil))
	for _, id := range []int64{s2, t2} {
		h.wantJob(id, burst.Succeeded, 0)
	}
	if len(h.c.deps.singles) != 0 {
		t.Fatalf("singleton index after all ended: %v, want empty", h.c.deps.singles)
	}
}

// BenchmarkReleaseHeld is what a scheduling round costs after a job ended
// or started while 10,000 jobs are held, each waiting for a job of its own
// (a pipeline of many chains): release looks at the jobs that wait for the
// one that changed, not at every held job.
func BenchmarkReleaseHeld(b *testing.B) {
	h := newHarness(&testing.T{})
	var firsts []int64
	for range 10000 {
		a := h.submit(1)
		firsts = append(firsts, a)
		h.submit(1, after(burst.AfterOK, a))
	}
	h.place() // each held job is looked at once, when held
	b.ResetTimer()
	for i := range b.N {
		h.c.deps.touch(h.c.jobs[firsts[i%len(firsts)]])
		var bt batch
		h.c.release(h.now, &bt)
	}
}

// TestAfterBudgetHold: a job released while its project's budget is spent
// waits for the budget as any queued job does, and starts once it is
// raised; while held by its dependency it says so first.
func TestAfterBudgetHold(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1)
	b := h.submit(1, after(burst.AfterOK, a))
	refs, _ := h.runOnce("m")
	h.c.projects["default"].row.Exhausted = true
	h.wantHeld(b, "waiting for job 1 to succeed")
	h.tick(1e9)
	h.finish("m", refs, exitOf(nil))
	if j := h.c.jobs[b]; j == nil || j.after != nil {
		t.Fatalf("job %d not released once job %d succeeded", b, a)
	}
	h.place()
	if _, ran := h.tasks[taskKey{b, 0}]; ran {
		t.Fatalf("job %d was placed though its project's budget is spent", b)
	}
	if w := h.srv.jobWait(h.c.jobs[b], h.now, nil, nil, 0, nil, nil); !strings.Contains(w, "has spent its budget") {
		t.Fatalf("released job %d waits %q, want the budget named", b, w)
	}
	h.c.projects["default"].row.Exhausted = false
	h.drive("m", 3, exitOf(nil))
	h.wantJob(b, burst.Succeeded, 0)
}

// TestAfterNotServedFromCache: a held job whose tasks' results are cached
// is not given them before its dependency is met; once its dependency
// failed it is cancelled, not succeeded from the cache.
func TestAfterNotServedFromCache(t *testing.T) {
	h := newCacheHarness(t)
	h.register("a", 4)
	var seq uint64
	first := h.submit(1, cached)
	if n := h.runLeased("a", &seq, 0); n != 1 {
		t.Fatalf("first run: %d tasks ran, want 1", n)
	}
	h.wantJob(first, burst.Succeeded, 0)
	dep := h.submit(1)
	held := h.submit(1, cached, after(burst.AfterOK, dep))
	h.place()
	h.wantHeld(held, "waiting for job 2 to succeed")
	h.drive("a", 3, exitOf(map[int64]int{dep: 1}))
	h.wantJob(held, burst.Cancelled, -1)
}

// A job kept waiting for a dependency that failed is released when that
// job is resumed and then succeeds (Slurm's way out of
// DependencyNeverSatisfied): it waits for the resumed job again.
func TestAfterOKNeverKeptThenResumed(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1)
	b := h.submit(1, after(burst.AfterOK, a), keepInvalid())
	h.drive("m", 3, exitOf(map[int64]int{a: 1}))
	h.wantHeld(b, "DependencyNeverSatisfied")
	if h.c.jobs[a] != nil {
		t.Fatal("job a is still in memory after it failed: the test needs it gone")
	}
	row := h.jobs[a]
	row.State, row.ExitCode, row.Reason, row.EndedAt = burst.Queued, nil, "", nil
	row.Tasks.Failed, row.Dispatched = 0, 0
	h.do(func(*batch) { h.c.resumed(newJobRT(row), nil, nil, nil) })
	h.drive("m", 4, exitOf(nil))
	h.wantJob(a, burst.Succeeded, 0)
	h.wantJob(b, burst.Succeeded, 0)
}

// BenchmarkReleaseSingletons is what a scheduling round costs after a job
// ended or started while 2,000 jobs of as many names are held by
// singleton dependencies: release looks at the singletons of that job's
// name alone.
func BenchmarkReleaseSingletons(b *testing.B) {
	h := newHarness(&testing.T{})
	var firsts []int64
	for i := range 2000 {
		name := "s" + strconv.Itoa(i)
		firsts = append(firsts, h.submit(1, named(name)))
		h.submit(1, named(name), singleton())
	}
	h.place()
	b.ResetTimer()
	for i := range b.N {
		h.c.deps.touch(h.c.jobs[firsts[i%len(firsts)]])
		var bt batch
		h.c.release(h.now, &bt)
	}
}

func held() jobOpt { return func(s *burst.JobSpec) { s.Held = true } }

// A job held by its user (sbatch -H, scontrol hold) waits, asking for
// nothing, across a restart, until it is released; then it still waits for
// its dependencies. A job that runs is not held; one that ended is an error.
func TestHoldAndRelease(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1, held())
	b := h.submit(1, after(burst.AfterOK, a))
	c := h.submit(1)
	refs, jobs := h.runOnce("m")
	if len(jobs) != 1 || jobs[0] != c {
		t.Fatalf("started tasks of jobs %v, want only job %d's", jobs, c)
	}
	h.wantHeld(a, "held (sbatch -H, scontrol hold): `scontrol release 1` lets it start")
	hold := func(id int64, on bool) error {
		var err error
		h.do(func(bt *batch) { err = h.c.holdJob(id, on, holder{}, "ann", h.now, bt) })
		return err
	}
	if err := hold(c, true); err != nil || h.c.jobs[c].row.Spec.Held {
		t.Fatalf("holding a running job: %v, held %t; want no error and no hold", err, h.c.jobs[c].row.Spec.Held)
	}
	if err := hold(b, true); err != nil {
		t.Fatal(err)
	}
	h.restart()
	h.register("m", 4, client.RunningTask{TaskRef: refs[0], PID: 1000, PIDStart: 7})
	h.place()
	h.wantHeld(a, "held (sbatch -H")
	h.wantHeld(b, "held (sbatch -H, scontrol hold): `scontrol release 2` lets it start; then waiting for job 1 to succeed")
	h.finish("m", refs, exitOf(nil))
	if err := hold(c, true); err == nil || !strings.Contains(err.Error(), "job 3 has ended") {
		t.Fatalf("holding an ended job: %v", err)
	}
	if err := hold(b, false); err != nil {
		t.Fatal(err)
	}
	h.place()
	h.wantHeld(b, "waiting for job 1 to succeed") // released from its hold, not from job 1
	if err := hold(a, false); err != nil {
		t.Fatal(err)
	}
	h.drive("m", 6, exitOf(nil))
	h.wantJob(a, burst.Succeeded, 0)
	h.wantJob(b, burst.Succeeded, 0)
	var kinds []string
	for _, e := range h.events {
		if strings.HasPrefix(e.Kind, "job.hold") || e.Kind == "job.release" && e.Actor == "ann" {
			kinds = append(kinds, e.Kind+" "+e.Target)
		}
	}
	if want := []string{"job.hold job 2", "job.release job 2", "job.release job 1"}; !slices.Equal(kinds, want) {
		t.Errorf("events %q, want %q", kinds, want)
	}
}

// A job its dependencies released, whose dependency has ended and left
// memory, is held and released again: it waits for no one, since only the
// hold kept it (it waited for job 1 to succeed for ever: job 1's end is
// learnt from the store at submit and restart only).
func TestHoldAfterDependencyLeftMemory(t *testing.T) {
	h := newHarness(t)
	h.register("m", 1)
	a := h.submit(1, asRun)
	b := h.submit(1, asRun, after(burst.AfterOK, a), func(s *burst.JobSpec) { s.Resources.CPUs = 2 }) // fits no machine: stays queued
	h.drive("m", 3, exitOf(nil))
	h.wantJob(a, burst.Succeeded, 0)
	if h.c.jobs[a] != nil {
		t.Fatalf("job %d is still in memory: the test needs it gone", a)
	}
	if j := h.c.jobs[b]; j == nil || j.after != nil {
		t.Fatalf("job %d should be released by job %d's success, and queued", b, a)
	}
	hold := func(on bool) {
		h.do(func(bt *batch) {
			if err := h.c.holdJob(b, on, holder{}, "ann", h.now, bt); err != nil {
				t.Fatal(err)
			}
		})
		h.place()
	}
	hold(true)
	h.wantHeld(b, "held (sbatch -H, scontrol hold): `scontrol release 2` lets it start")
	if w := h.c.afterWait(h.c.jobs[b]); strings.Contains(w, "job 1") {
		t.Errorf("a held job whose dependencies were met says it waits for them: %q", w)
	}
	hold(false)
	if j := h.c.jobs[b]; j.after != nil {
		t.Fatalf("released, job %d still waits: %q", b, h.c.afterWait(j))
	}
}

// A cancelled job's need does not hold its cluster's pending machines for
// the withdrawal grace: the work will not come back.
func TestCancelDropsRecentNeed(t *testing.T) {
	h := newHarness(t)
	a := h.submit(1)
	cl := h.c.clusters[h.c.x.jobCluster(h.c.jobs[a])]
	cl.recent.Seen(h.now, 5)
	h.do(func(b *batch) { h.c.cancelJob(a, "ann", h.now, b) })
	if keep := cl.recent.Seen(h.now.Add(time.Second), 0); keep != 0 {
		t.Errorf("a second after the cancel, %d pending machines are kept for its need; want none", keep)
	}
}

// A dependency on a job array (sbatch --array) waits for every task of it,
// as Slurm's does: afterok never is met once one task failed. Its text
// names the array as Slurm 22.05 does, ID_* (checked with the suite's
// Slurm: afterok:12_*(unfulfilled)), before and after the array ends and
// leaves memory.
func TestAfterAnArray(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(3, func(s *burst.JobSpec) { s.Map.Array = true })
	b := h.submit(1, after(burst.AfterOK, a), keepInvalid())
	if got := h.c.afterText(h.c.jobs[b]); got != "afterok:1_*(unfulfilled)" {
		t.Fatalf("dependency %q, want afterok:1_*(unfulfilled)", got)
	}
	h.drive("m", 3, func(r client.TaskRef) int {
		if r.Job == a && r.Index == 1 {
			return 1
		}
		return 0
	})
	h.wantJob(a, burst.Failed, 1)
	if h.c.jobs[a] != nil {
		t.Fatalf("job %d is still in memory", a)
	}
	h.wantHeld(b, "DependencyNeverSatisfied")
	if got := h.c.afterText(h.c.jobs[b]); got != "afterok:1_*(failed)" {
		t.Fatalf("dependency %q, want afterok:1_*(failed)", got)
	}
}

// An admin's scontrol hold is Slurm's root's (Reason JobHeldAdmin): only an
// admin may release it; an admin's uhold, and anyone else's hold, is one
// its user may release (JobHeldUser), as Slurm 22.05 has it.
func TestAdminHold(t *testing.T) {
	h := newHarness(t)
	a := h.submit(1, asRun)
	hold := func(on bool, by holder) error {
		var err error
		h.do(func(bt *batch) { err = h.c.holdJob(a, on, by, "ann", h.now, bt) })
		return err
	}
	spec := func() *burst.JobSpec { return h.c.jobs[a].row.Spec }
	admin, user, uhold := holder{admin: true}, holder{}, holder{admin: true, user: true}
	if err := hold(true, admin); err != nil || !spec().Held || !spec().HeldByAdmin {
		t.Fatalf("an admin's hold: %v, %+v", err, spec())
	}
	var denied *auth.Denied
	if err := hold(false, user); !errors.As(err, &denied) || !spec().Held {
		t.Fatalf("a user's release of an admin's hold: %v; want it refused, the job held", err)
	}
	if err := hold(true, uhold); err != nil || !spec().Held || spec().HeldByAdmin {
		t.Fatalf("an admin's uhold of a held job: %v, %+v; want its user's hold", err, spec())
	}
	if err := hold(false, user); err != nil || spec().Held {
		t.Fatalf("a user's release of a uhold: %v, %+v", err, spec())
	}
	if err := hold(true, user); err != nil || !spec().Held || spec().HeldByAdmin {
		t.Fatalf("a user's hold: %v, %+v", err, spec())
	}
	if err := hold(true, admin); err != nil || !spec().HeldByAdmin {
		t.Fatalf("an admin's hold of a job its user held: %v, %+v; want an admin's hold", err, spec())
	}
	if err := hold(false, admin); err != nil || spec().Held || spec().HeldByAdmin {
		t.Fatalf("an admin's release: %v, %+v", err, spec())
	}
}

// An array held while some of its tasks run (scontrol hold 12): they run
// on, the rest wait, across a restart, until it is released, as Slurm
// 22.05 holds the pending tasks of a partly started array. A job with
// nothing left to start is not held.
func TestHoldPartlyStartedArray(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(4, maxRunning(2))
	refs, jobs := h.runOnce("m")
	if len(jobs) != 2 {
		t.Fatalf("started %v, want 2 of job %d's tasks", jobs, a)
	}
	hold := func(on bool) error {
		var err error
		h.do(func(bt *batch) { err = h.c.holdJob(a, on, holder{}, "ann", h.now, bt) })
		return err
	}
	if err := hold(true); err != nil || !h.c.jobs[a].row.Spec.Held {
		t.Fatalf("holding a partly started array: %v", err)
	}
	h.finish("m", refs, exitOf(nil))
	if _, jobs := h.runOnce("m"); len(jobs) != 0 {
		t.Fatalf("started %v while the array is held", jobs)
	}
	h.restart()
	h.register("m", 4)
	if _, jobs := h.runOnce("m"); len(jobs) != 0 || h.c.jobs[a] == nil || h.c.jobs[a].pending() != 0 {
		t.Fatalf("started %v after a restart while the array is held", jobs)
	}
	if err := hold(false); err != nil {
		t.Fatal(err)
	}
	h.drive("m", 4, exitOf(nil))
	h.wantJob(a, burst.Succeeded, 0)
	b := h.submit(1, asRun)
	h.runOnce("m")
	if err := func() error {
		var err error
		h.do(func(bt *batch) { err = h.c.holdJob(b, true, holder{}, "ann", h.now, bt) })
		return err
	}(); err != nil || h.c.jobs[b].row.Spec.Held {
		t.Fatalf("holding a running job with nothing left to start: %v, held %t; want no error, no hold", err, h.c.jobs[b].row.Spec.Held)
	}
}

// TestAfterUnresolvedReadAgain: a job waited for that left memory and
// whose read failed (the shell learnt nothing of it) stays listed for the
// tick's read until its end is learnt; none once it is.
func TestAfterUnresolvedReadAgain(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1)
	h.drive("m", 3, exitOf(nil))
	b := h.submit(1, after(burst.AfterOK, a))
	c := h.submit(1, after(burst.AfterAny, a))
	h.place()
	h.tick(time.Minute)
	h.place()
	h.wantHeld(b, "waiting for job 1 to succeed")
	if got := h.c.unresolvedHeld(); !slices.Equal(got, []int64{a}) {
		t.Fatalf("unresolved %v, want [%d] once, for both jobs waiting", got, a)
	}
	ra := h.job(a)
	h.c.learnEnded(map[int64]jobEnd{a: endOf(&ra.Job)})
	if got := h.c.unresolvedHeld(); len(got) != 0 {
		t.Fatalf("unresolved %v after the read", got)
	}
	h.drive("m", 3, exitOf(nil))
	h.wantJob(b, burst.Succeeded, 0)
	h.wantJob(c, burst.Succeeded, 0)
}
