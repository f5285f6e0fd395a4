package server

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// cacheHarness is a harness whose batches' cache rows are kept: the hits
// and misses by job and task.
type cacheHarness struct {
	*harness
	uses map[taskKey]client.CacheUse
}

func newCacheHarness(t *testing.T) *cacheHarness {
	return &cacheHarness{harness: newHarness(t), uses: map[taskKey]client.CacheUse{}}
}

func (h *cacheHarness) do(ev func(b *batch)) {
	h.t.Helper()
	var b batch
	ev(&b)
	for _, u := range b.uses {
		h.uses[taskKey{u.job, u.Task}] = u.CacheUse
	}
	h.apply(&b)
}

func (h *cacheHarness) place() {
	h.readTasks(h.c.rereads())
	h.do(func(b *batch) { h.c.place(h.now, b) })
}

func (h *cacheHarness) report(id string, evs ...client.TaskEvent) {
	h.t.Helper()
	h.do(func(b *batch) { h.c.applyEvents(h.c.machines[id], evs, h.now, b) })
}

// runLeased has machine id take a lease, start its tasks and end them
// with code; it returns how many ran.
func (h *cacheHarness) runLeased(id string, seq *uint64, code int, outs ...client.OutputFile) int {
	h.t.Helper()
	h.place()
	l := h.lease(id, *seq)
	if l == nil {
		return 0
	}
	*seq = l.Seq
	for _, a := range l.Tasks {
		h.report(id, started(a.TaskRef, h.now))
		ev := exited(a.TaskRef, code, h.now)
		ev.Outputs = outs
		h.report(id, ev)
	}
	return len(l.Tasks)
}

func cached(s *burst.JobSpec) { s.Cache = burst.CacheOn }

func withEnv(k, v string) jobOpt {
	return func(s *burst.JobSpec) { s.Env = map[string]string{k: v} }
}

func (h *cacheHarness) wantUse(id int64, idx int, hit bool, why string) {
	h.t.Helper()
	u, ok := h.uses[taskKey{id, idx}]
	if !ok || u.Hit != hit || !strings.Contains(u.Why, why) {
		h.t.Fatalf("task %d of job %d: cache use %+v (recorded %v), want hit=%v with %q", idx, id, u, ok, hit, why)
	}
}

// warm runs a cached map of 4 tasks (echo {} over 0..3) on machine a of
// 4 CPUs, registered here: their results are in the cache after it.
func (h *cacheHarness) warm(seq *uint64) int64 {
	h.t.Helper()
	h.register("a", 4)
	first := h.submit(4, cached)
	if n := h.runLeased("a", seq, 0); n != 4 {
		h.t.Fatalf("first run: %d tasks ran, want 4", n)
	}
	h.wantJob(first, burst.Succeeded, 0)
	return first
}

func TestCacheHitAndMiss(t *testing.T) {
	h := newCacheHarness(t)
	var seq uint64
	first := h.warm(&seq)
	h.wantUse(first, 2, false, "no earlier run of this command")

	// A hit's reason names what it saved as every amount is written, so that
	// a saving below a cent never reads as zero ("$0.0000" did).
	for _, e := range h.c.cache.entries {
		e.row.CostNUSD = 900
	}
	again := h.submit(4, cached)
	h.place()
	h.wantJob(again, burst.Succeeded, 0) // no machine took anything
	if l := h.lease("a", seq); l != nil && len(l.Tasks) > 0 {
		t.Fatalf("a rerun leased %d tasks; want none (all hits)", len(l.Tasks))
	}
	h.wantUse(again, 3, true, "task 3 of job 1")
	if r := h.task(again, 3).Reason; r != "cache hit: the result of task 3 of job 1 (saved $0.0000009)" {
		t.Fatalf("hit's reason %q", r)
	}
	if e := h.c.cache.entries; len(e) != 4 {
		t.Fatalf("%d entries, want 4", len(e))
	}

	changed := h.submit(4, cached, withEnv("FOO", "1"))
	if n := h.runLeased("a", &seq, 0); n != 4 {
		t.Fatalf("changed env: %d ran, want 4", n)
	}
	h.wantUse(changed, 0, false, "env FOO set")

	off := h.submit(4)
	if n := h.runLeased("a", &seq, 0); n != 4 {
		t.Fatalf("without --cache: %d ran, want 4", n)
	}
	if _, ok := h.uses[taskKey{off, 0}]; ok {
		t.Fatal("a job without --cache recorded a cache use")
	}
}

func TestCacheFailureLeavesNoResult(t *testing.T) {
	h := newCacheHarness(t)
	h.register("a", 4)
	var seq uint64
	id := h.submit(2, cached)
	h.runLeased("a", &seq, 1)
	h.wantJob(id, burst.Failed, 2)
	if n := len(h.c.cache.entries); n != 0 {
		t.Fatalf("%d entries after failures, want 0", n)
	}
	again := h.submit(2, cached)
	if n := h.runLeased("a", &seq, 0); n != 2 {
		t.Fatalf("rerun after failures: %d ran, want 2", n)
	}
	h.wantJob(again, burst.Succeeded, 0)
}

func TestCacheConcurrentIdentical(t *testing.T) {
	for _, code := range []int{0, 1} {
		h := newCacheHarness(t)
		h.register("a", 4)
		a := h.submit(1, cached)
		b := h.submit(1, cached)
		h.place()
		l := h.lease("a", 0)
		if l == nil || len(l.Tasks) != 1 || l.Tasks[0].Job != a {
			t.Fatalf("code %d: leased %+v, want job %d's task alone", code, l, a)
		}
		if r := h.task(b, 0).Reason; !strings.Contains(r, "waiting for task 0 of job 1") {
			t.Fatalf("code %d: the identical task's reason %q", code, r)
		}
		h.report("a", started(l.Tasks[0].TaskRef, h.now))
		h.report("a", exited(l.Tasks[0].TaskRef, code, h.now))
		if code == 0 {
			h.wantJob(b, burst.Succeeded, 0)
			h.wantUse(b, 0, true, "task 0 of job 1")
			continue
		}
		// It failed: the waiting task runs itself.
		h.place()
		l2 := h.lease("a", l.Seq)
		if l2 == nil || len(l2.Tasks) != 1 || l2.Tasks[0].Job != b {
			t.Fatalf("after a failure: leased %+v, want job %d's task", l2, b)
		}
	}
}

func TestCacheCancelParked(t *testing.T) {
	h := newCacheHarness(t)
	h.register("a", 4)
	h.submit(1, cached)
	b := h.submit(1, cached)
	h.place()
	h.do(func(bt *batch) { h.c.cancelJob(b, "ann", h.now, bt) })
	h.wantJob(b, burst.Cancelled, -1)
}

func TestCacheRestart(t *testing.T) {
	h := newCacheHarness(t)
	h.register("a", 4)
	a := h.submit(1, cached)
	b := h.submit(1, cached)
	h.place()
	l := h.lease("a", 0)
	h.report("a", started(l.Tasks[0].TaskRef, h.now))
	// The server restarts while a computes and b waits for it.
	h.restart()
	h.register("a", 4, client.RunningTask{TaskRef: l.Tasks[0].TaskRef})
	h.place()
	if r := h.task(b, 0); r.State != burst.Queued || !strings.Contains(r.Reason, "waiting for task 0 of job 1") {
		t.Fatalf("after the restart b is %s (%s); want it waiting for a", r.State, r.Reason)
	}
	h.report("a", exited(l.Tasks[0].TaskRef, 0, h.now))
	h.wantJob(a, burst.Succeeded, 0)
	h.wantJob(b, burst.Succeeded, 0)

	// Entries survive a restart as the store holds them (loadCache).
	var rows []cacheEntry
	for _, e := range h.c.cache.entries {
		rows = append(rows, cacheEntry{row: e.row, own: e.own})
	}
	h.restart()
	for _, r := range rows {
		h.c.cacheAdd(&cacheEntry{row: r.row, own: r.own})
	}
	if len(h.c.cache.entries) != 1 {
		t.Fatalf("%d entries after restart, want 1", len(h.c.cache.entries))
	}
	c := h.submit(1, cached)
	h.place()
	h.wantJob(c, burst.Succeeded, 0)
}

func TestCacheOutputsDeleted(t *testing.T) {
	h := newCacheHarness(t)
	h.register("a", 4)
	var seq uint64
	staged := func(s *burst.JobSpec) { s.Cache = burst.CacheOn; s.Outputs = []string{"*.out"} }
	dg := "sha256:" + strings.Repeat("ab", 32)
	out := client.OutputFile{Path: "r.out", Digest: dg, Size: 3}
	a := h.submit(1, staged)
	h.runLeased("a", &seq, 0, out)
	h.wantJob(a, burst.Succeeded, 0)
	b := h.submit(1, staged)
	h.place()
	h.wantJob(b, burst.Succeeded, 0)
	h.do(func(bt *batch) { h.c.cacheForget([]string{dg}, bt) })
	c := h.submit(1, staged)
	if n := h.runLeased("a", &seq, 0, out); n != 1 {
		t.Fatalf("after its output was deleted: %d ran, want 1", n)
	}
	h.wantUse(c, 0, false, "lost its output r.out from the store")
}

// TestCacheRemoveForgetsNearest: a result removed with `burst cache rm` is
// never the "nearest earlier run" a miss is compared with: the family
// falls back to the latest result left, or to none.
func TestCacheRemoveForgetsNearest(t *testing.T) {
	h := newCacheHarness(t)
	h.register("a", 4)
	var seq uint64
	plain := h.submit(1, cached)
	h.runLeased("a", &seq, 0)
	h.wantJob(plain, burst.Succeeded, 0)
	withFoo := h.submit(1, cached, withEnv("FOO", "1"))
	h.runLeased("a", &seq, 0)
	h.wantJob(withFoo, burst.Succeeded, 0)
	fooKey := ""
	for k, e := range h.c.cache.entries {
		if e.row.Job == withFoo {
			fooKey = k
		}
	}
	var gone []string
	h.do(func(b *batch) { gone = h.c.cacheRemove("default", false, []string{fooKey[:20]}, b) })
	if len(gone) != 1 || gone[0] != fooKey {
		t.Fatalf("removed %v, want [%s]", gone, fooKey)
	}
	// Compared with job 1's result (no FOO), not the removed one (FOO=1).
	next := h.submit(1, cached, withEnv("FOO", "2"))
	h.runLeased("a", &seq, 0)
	h.wantUse(next, 0, false, "env FOO set")

	h.do(func(b *batch) { gone = h.c.cacheRemove("default", true, nil, b) })
	if len(gone) != 2 || len(h.c.cache.entries) != 0 || len(h.c.cache.families) != 0 {
		t.Fatalf("removed %d; %d entries and %d families left, want 2 removed and none left", len(gone), len(h.c.cache.entries), len(h.c.cache.families))
	}
	last := h.submit(1, cached, withEnv("FOO", "3"))
	h.runLeased("a", &seq, 0)
	h.wantUse(last, 0, false, "no earlier run of this command")
}

// TestCacheKeyKeptWithTask: the key a task was looked up by when its turn
// came, and the parts it was made of, are what its result is left under
// at its end: nothing is computed again then.
func TestCacheKeyKeptWithTask(t *testing.T) {
	h := newCacheHarness(t)
	h.register("a", 4)
	id := h.submit(1, cached)
	h.place()
	l := h.lease("a", 0)
	if l == nil || len(l.Tasks) != 1 {
		t.Fatalf("leased %+v, want one task", l)
	}
	j := h.c.jobs[id]
	held := j.cache.holds[0]
	if held.key == "" || held.key == "-" || len(held.own) == 0 {
		t.Fatalf("the running task holds %+v, want its key and parts", held)
	}
	// Were the key computed again at the end, this would change it.
	j.row.Spec.Map.Template = []string{"echo", "other", "{}"}
	h.report("a", started(l.Tasks[0].TaskRef, h.now))
	h.report("a", exited(l.Tasks[0].TaskRef, 0, h.now))
	e := h.c.cache.entries[held.key]
	if e == nil || len(h.c.cache.entries) != 1 {
		t.Fatalf("entries %v, want one under the held key %s", h.c.cache.entries, held.key)
	}
	if !reflect.DeepEqual(e.own, held.own) {
		t.Fatalf("entry's parts %v, want those computed when its turn came %v", e.own, held.own)
	}
}

// BenchmarkCacheLookup measures one task's check against a cache of
// 10,000 results: its key built (the map's {} filled, hashed) and looked
// up, as a rerun of a 10,000-task map does for each task.
func BenchmarkCacheLookup(b *testing.B) {
	h := newCacheHarness(&testing.T{})
	h.register("a", 64)
	var seq uint64
	id := h.submit(10000, cached)
	for h.runLeased("a", &seq, 0) > 0 {
	}
	if len(h.c.cache.entries) != 10000 {
		b.Fatalf("%d entries", len(h.c.cache.entries))
	}
	j := h.c.jobs[id]
	if j == nil {
		again := h.submit(10000, cached)
		j = h.c.jobs[again]
	}
	jc := h.c.cacheOf(j)
	b.ResetTimer()
	for i := range b.N {
		key, _, _ := h.c.cacheKey(j, jc, i%10000)
		if h.c.cache.entries[key] == nil {
			b.Fatal("miss")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/task")
	_ = time.Second
}
