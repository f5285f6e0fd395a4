package server

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/cache"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// The result cache, the control plane's part (docs/cache.md). A task of a
// job run with the cache is checked when its turn comes: at the front of
// its job's queue (cacheFront, every scheduling round, no machine needed)
// or when it is dispatched (a retry, a task requeued by a restart). A key
// with a result is a hit: the task ends at once as that task ended, with
// its outputs and logs, at no cost. A key another task computes now parks
// the task until that one ends (then it hits, or, if that one failed, runs
// itself). Otherwise the task holds the key while it runs and, if it
// succeeds, leaves its result under it. All of it is memory: lookups are a
// map's, and the rows go through the batch.

// cacheRT is the cache in memory, loaded at start (Server.loadCache).
type cacheRT struct {
	entries  map[string]*cacheEntry
	families map[string]*cacheEntry // the latest entry of a project, name and task (cacheFamilies)
	inflight map[string]taskKey     // keys a task computes now
	waiters  map[string][]taskKey   // tasks parked behind them
	defaults map[string]string      // projects' defaults
	// gone says, per family, that its latest result was dropped because
	// its outputs left the store: the next miss says so.
	gone map[string]string
	// saved is, per project, its hits and what they saved (every hit
	// since the project began, entries removed or not): `burst budget`
	// reads it from memory.
	saved map[string]cacheSaved
}

// cacheSaved is a project's hits and what they saved, in nano-dollars.
type cacheSaved struct {
	hits int64
	nusd int64
}

type cacheEntry struct {
	row    store.CacheEntry
	shared cache.Parts
	own    cache.Parts
}

// jobCache is a job's state in the cache: nil until first asked; off for
// jobs run without it.
type jobCache struct {
	off     bool
	why     string // an uncacheable job's reason
	shared  cache.Parts
	digest  string
	holds   map[int]heldKey // keys its tasks hold (computing), as computed when their turn came
	parked  map[int]string  // its tasks parked behind another's key
	checked int             // tasks below it were checked at the front
}

func (k *cacheRT) init() {
	if k.entries == nil {
		k.entries, k.families = map[string]*cacheEntry{}, map[string]*cacheEntry{}
		k.inflight, k.waiters, k.defaults, k.gone = map[string]taskKey{}, map[string][]taskKey{}, map[string]string{}, map[string]string{}
		k.saved = map[string]cacheSaved{}
	}
}

// heldKey is the key a task holds while it runs, and the parts it was
// made of: computed once, when the task's turn came, and kept with it, so
// that its result is left under the key it was looked up by. Key "-": the
// task was checked and cannot be cached.
type heldKey struct {
	key string
	own cache.Parts
}

// cacheOf is j's cache state, nil when j runs without the cache.
func (c *control) cacheOf(j *jobRT) *jobCache {
	if j.cache != nil {
		if j.cache.off {
			return nil
		}
		return j.cache
	}
	c.cache.init()
	spec := j.row.Spec
	on := spec.Cache == burst.CacheOn ||
		spec.Cache == "" && spec.Staged() && c.cache.defaults[spec.Project] == burst.CacheOn
	if !on || spec.Pipe != nil || spec.Native || (spec.Map != nil && spec.Map.Array) {
		j.cache = &jobCache{off: true}
		return nil
	}
	command := spec.Argv
	if spec.Map != nil {
		command = spec.Map.Template
	}
	jc := &jobCache{holds: map[int]heldKey{}, parked: map[int]string{}}
	jc.shared, _ = cache.JobParts(cache.Job{Project: spec.Project, Name: spec.Name, Kind: spec.Kind, Command: command,
		Script: spec.Script, Shell: spec.Map != nil && spec.Map.Shell, Env: spec.Env, Workdir: spec.Workdir,
		Staged: spec.Staged(), Resources: spec.Resources, Stack: stackDigest(spec), Inputs: j.stagedInputs()})
	if jc.shared == nil {
		// An unpinned s3:// input: every task runs, and says why.
		_, err := cache.JobParts(cache.Job{Inputs: j.stagedInputs()})
		jc.why = "uncacheable: " + err.Error()
	}
	jc.digest = jc.shared.Digest()
	j.cache = jc
	return jc
}

// stackDigest is the digest of the job's software stack ("" without one),
// resolved at submit: a stack's name moving on to a new version changes
// the key.
func stackDigest(spec *burst.JobSpec) string {
	if spec.Stack == nil {
		return ""
	}
	return spec.Stack.Digest
}

// cacheKey is task idx's key and own parts ("" when it cannot be cached,
// with why).
func (c *control) cacheKey(j *jobRT, jc *jobCache, idx int) (string, cache.Parts, string) {
	if jc.why != "" {
		return "", nil, jc.why
	}
	argv := j.row.Spec.Argv
	if j.row.Spec.Map != nil {
		argv = j.mapArgv(idx, 0)
	}
	own, err := cache.TaskParts(argv, j.taskInputs(idx))
	if err != nil {
		return "", nil, "uncacheable: " + err.Error()
	}
	return cache.Key(jc.digest, own), own, ""
}

// cacheFamilies are where the nearest earlier result of a task is looked
// for: the same project, job name and arguments; else the same task of a
// job of that name; else that name.
func cacheFamilies(project, name string, own cache.Parts, idx int) [3]string {
	base := project + "\x00" + name + "\x00"
	args := ""
	for _, p := range own {
		if p.Name == "args" {
			args = p.Value
		}
	}
	return [3]string{base + "a" + args, base + "i" + strconv.Itoa(idx), base}
}

type cacheOutcome int

const (
	cacheRun  cacheOutcome = iota // run it (it holds its key, if cached)
	cacheHit                      // ended from the cache
	cachePark                     // waits behind the task computing its key
)

// cacheCheck decides what becomes of task idx of j now that its turn
// came: a hit comes back with its entry, for the caller to serve once it
// counts the task as dispatched. Called with s.mu held.
func (c *control) cacheCheck(j *jobRT, idx int, b *batch) (cacheOutcome, *cacheEntry) {
	jc := c.cacheOf(j)
	if jc == nil || jc.holds[idx].key != "" {
		return cacheRun, nil
	}
	key, own, why := c.cacheKey(j, jc, idx)
	if key == "" {
		b.cacheUse(j.row.ID, client.CacheUse{Task: idx, Why: why})
		jc.holds[idx] = heldKey{key: "-"} // checked: it runs, and leaves no result
		return cacheRun, nil
	}
	if e := c.cache.entries[key]; e != nil {
		return cacheHit, e
	}
	if h, ok := c.cache.inflight[key]; ok && h != (taskKey{j.row.ID, idx}) {
		jc.parked[idx] = key
		c.cache.waiters[key] = append(c.cache.waiters[key], taskKey{j.row.ID, idx})
		b.task(store.TaskRow{Task: burst.Task{JobID: j.row.ID, Index: idx, State: burst.Queued,
			Reason: fmt.Sprintf("waiting for task %d of job %d, which computes the same result", h.index, h.job)}})
		return cachePark, nil
	}
	c.cache.inflight[key] = taskKey{j.row.ID, idx}
	jc.holds[idx] = heldKey{key, own}
	b.cacheUse(j.row.ID, client.CacheUse{Task: idx, Why: c.cacheWhy(j, jc, own, idx)})
	return cacheRun, nil
}

// cacheWhy says why task idx of j missed, against the nearest earlier
// result.
func (c *control) cacheWhy(j *jobRT, jc *jobCache, own cache.Parts, idx int) string {
	for _, f := range cacheFamilies(j.row.Project, j.row.Name, own, idx) {
		if g := c.cache.gone[f]; g != "" {
			return g
		}
		if e := c.cache.families[f]; e != nil {
			return cache.Why(append(append(cache.Parts{}, e.shared...), e.own...), append(append(cache.Parts{}, jc.shared...), own...))
		}
	}
	return cache.Why(nil, nil)
}

// cacheServe ends task idx of j with entry e's result.
func (c *control) cacheServe(j *jobRT, idx int, e *cacheEntry, now time.Time, b *batch) {
	r := e.row.Result
	saved := cost.NUSD(e.row.CostNUSD)
	zero := 0
	row := store.TaskRow{Task: burst.Task{JobID: j.row.ID, Index: idx, State: burst.Succeeded, Attempt: 1, ExitCode: &zero,
		Reason:    fmt.Sprintf("cache hit: the result of task %d of job %d (saved %s)", e.row.Task, e.row.Job, saved),
		StartedAt: &now, EndedAt: &now, Stdout: r.Stdout, Stderr: r.Stderr,
		StdoutFrom: r.StdoutFrom, StderrFrom: r.StderrFrom, StdoutTo: r.StdoutTo, StderrTo: r.StderrTo}}
	b.task(row)
	if len(r.Outputs) > 0 || j.row.Spec.Staged() {
		b.outputs = append(b.outputs, client.TaskOutputs{Task: idx, Attempt: 1, Files: r.Outputs})
		b.outJobs = append(b.outJobs, j.row.ID)
		b.cacheRefs(j.row.Project, j.row.ID, idx, r.Outputs, now)
	}
	e.row.Hits++
	e.row.SavedNUSD = int64(cost.NUSD(e.row.SavedNUSD).Plus(cost.NUSD(e.row.CostNUSD))) // held at the limit, never wrapped
	key, nusd := e.row.Key, e.row.CostNUSD
	b.cacheWrite(func(tx *store.Tx) error { return store.CacheHit(tx, key, nusd) })
	b.cacheUse(j.row.ID, client.CacheUse{Task: idx, Hit: true, Why: fmt.Sprintf("same key as task %d of job %d", e.row.Task, e.row.Job),
		SavedUSD: saved.Dollars(), SavedNUSD: nusd})
	ps := c.cache.saved[j.row.Project]
	c.cache.saved[j.row.Project] = cacheSaved{ps.hits + 1, int64(cost.NUSD(ps.nusd).Plus(cost.NUSD(nusd)))}
	j.row.Tasks.Succeeded++
	c.taskEnded(j, idx, burst.Succeeded) // for the jobs that wait on it alone (corr.go)
	if j.row.StartedAt == nil {
		j.row.StartedAt = &now
		c.deps.touch(j) // it has started: jobs --after start:ID wait no more
	}
	b.job(j)
	c.mapStops(j, row, now, b) // a hit counts toward a --halt success= or done=
	if !j.finished && j.row.Tasks.Done() == j.row.Tasks.Total {
		c.finishJob(j, row, now)
	}
}

// cacheFront ends or parks the tasks at the front of j's queue that need
// no machine: hits, and those whose key another task computes. It stops
// at the first that must run (which then holds its key). Called with s.mu
// held, every scheduling round.
func (c *control) cacheFront(j *jobRT, now time.Time, b *batch) {
	jc := c.cacheOf(j)
	if jc == nil || j.row.CancelRequested || j.finished || j.gate != nil { // a gated map's tasks come through their gates
		return
	}
	for j.row.Dispatched < j.row.Tasks.Total {
		idx := j.row.Dispatched
		if j.skip[idx] { // cancelled alone before its turn: passed over, as dispatch does
			delete(j.skip, idx)
			j.row.Dispatched++
			b.job(j)
			continue
		}
		if idx < jc.checked {
			return // checked: it runs
		}
		jc.checked = idx + 1
		outcome, hit := c.cacheCheck(j, idx, b)
		if outcome == cacheRun {
			return
		}
		j.row.Dispatched++
		b.job(j)
		if outcome == cacheHit {
			c.cacheServe(j, idx, hit, now, b) // dispatched first: a --halt it meets cancels only the tasks after it
		}
		if j.finished || j.row.CancelRequested {
			return
		}
	}
}

// cacheEnded is told that task t ended for good as row: a success leaves
// its result under its key and serves the tasks parked behind it; any
// other end lets them run.
func (c *control) cacheEnded(t *taskRT, row store.TaskRow, ev client.TaskEvent, now time.Time, b *batch) {
	j := t.job
	jc := c.cacheOf(j)
	if jc == nil {
		return
	}
	held, ok := jc.holds[row.Index]
	delete(jc.holds, row.Index)
	key := held.key
	if !ok || key == "-" {
		// Never checked (it did not run with the cache's say) or
		// uncacheable: it leaves no result.
		return
	}
	if c.cache.inflight[key] == (taskKey{j.row.ID, row.Index}) {
		delete(c.cache.inflight, key)
	}
	res := client.CacheResult{Stdout: row.Stdout, Stderr: row.Stderr, StdoutFrom: row.StdoutFrom, StderrFrom: row.StderrFrom,
		StdoutTo: row.StdoutTo, StderrTo: row.StderrTo}
	recorded := false // a staged task's outputs (none, or its files) are in this batch (recordOutputs)
	for i := range b.outputs {
		if b.outJobs[i] == j.row.ID && b.outputs[i].Task == row.Index {
			res.Outputs, recorded = b.outputs[i].Files, true
		}
	}
	if row.State == burst.Succeeded && (!j.row.Spec.Staged() || recorded) {
		parts, _ := json.Marshal(held.own)
		e := &cacheEntry{shared: jc.shared, own: held.own, row: store.CacheEntry{Key: key, Project: j.row.Project, Name: j.row.Name,
			Job: j.row.ID, Task: row.Index, Shared: jc.digest, Parts: parts, Result: res, CostNUSD: t.nusd, CreatedAt: now}}
		c.cacheAdd(e)
		shared, _ := json.Marshal(jc.shared)
		erow := e.row
		b.cacheWrite(func(tx *store.Tx) error { return store.SaveCacheEntry(tx, &erow, shared) })
	}
	c.cacheRelease(key, now, b)
}

// cacheAdd puts e in memory and makes it its families' latest.
func (c *control) cacheAdd(e *cacheEntry) {
	c.cache.init()
	c.cache.entries[e.row.Key] = e
	for _, f := range cacheFamilies(e.row.Project, e.row.Name, e.own, e.row.Task) {
		c.cache.families[f] = e
		delete(c.cache.gone, f)
	}
}

// cacheRelease ends the wait of the tasks parked behind key: each is
// checked again (a hit if a result is there now; else the first to be
// dispatched computes it and the others park again).
func (c *control) cacheRelease(key string, now time.Time, b *batch) {
	ws := c.cache.waiters[key]
	delete(c.cache.waiters, key)
	for _, w := range ws {
		j := c.jobs[w.job]
		if j == nil || j.finished || j.cache == nil || j.cache.parked[w.index] != key {
			continue
		}
		if j.row.CancelRequested {
			c.cacheUnpark(j, w.index, j.row.Reason, now, b)
			continue
		}
		delete(j.cache.parked, w.index)
		if e := c.cache.entries[key]; e != nil {
			c.cacheServe(j, w.index, e, now, b)
			continue
		}
		j.requeueTask(store.TaskRow{Task: burst.Task{JobID: w.job, Index: w.index}})
		b.task(store.TaskRow{Task: burst.Task{JobID: w.job, Index: w.index, State: burst.Queued,
			Reason: "the task computing the same result did not succeed: it runs itself"}})
		b.job(j)
	}
}

// cacheStop drops what j holds in the cache as it is cancelled: its
// parked tasks end cancelled, and keys its waiting tasks held are let go.
func (c *control) cacheStop(j *jobRT, reason string, now time.Time, b *batch) {
	jc := j.cache
	if jc == nil || jc.off {
		return
	}
	for idx := range jc.parked {
		c.cacheUnpark(j, idx, reason, now, b)
	}
	for idx, held := range jc.holds {
		if key := held.key; j.running[idx] == nil && key != "-" {
			delete(jc.holds, idx)
			if c.cache.inflight[key] == (taskKey{j.row.ID, idx}) {
				delete(c.cache.inflight, key)
				c.cacheRelease(key, now, b)
			}
		}
	}
}

// cacheUnpark cancels parked task idx of j; false if it is not parked.
func (c *control) cacheUnpark(j *jobRT, idx int, reason string, now time.Time, b *batch) bool {
	jc := j.cache
	if jc == nil || jc.parked[idx] == "" {
		return false
	}
	delete(jc.parked, idx)
	b.task(store.TaskRow{Task: burst.Task{JobID: j.row.ID, Index: idx, State: burst.Cancelled, Reason: reason, EndedAt: &now}})
	j.row.Tasks.Cancelled++
	c.taskEnded(j, idx, burst.Cancelled)
	b.job(j)
	return true
}

// cacheForget drops the entries holding any of digests (deleted from the
// blob store): their tasks are computed again, and the first miss of each
// says why.
func (c *control) cacheForget(digests []string, b *batch) {
	if len(digests) == 0 || len(c.cache.entries) == 0 {
		return
	}
	gone := map[string]bool{}
	for _, d := range digests {
		gone[d] = true
	}
	var keys []string
	for k, e := range c.cache.entries {
		for _, f := range e.row.Result.Outputs {
			if gone[f.Digest] {
				keys = append(keys, k)
				why := fmt.Sprintf("the earlier result (task %d of job %d) lost its output %s from the store: computed again", e.row.Task, e.row.Job, f.Path)
				for _, fam := range cacheFamilies(e.row.Project, e.row.Name, e.own, e.row.Task) {
					if c.cache.families[fam] == e {
						c.cache.gone[fam] = why
					}
				}
				break
			}
		}
	}
	c.cacheDrop(keys, b)
}

// cacheRemove drops project's entries whose key (with or without its
// "v1:") begins with one of prefixes, or all of them; it returns the keys
// it dropped.
func (c *control) cacheRemove(project string, all bool, prefixes []string, b *batch) []string {
	var keys []string
	for k, e := range c.cache.entries {
		if e.row.Project != project {
			continue
		}
		match := all
		for _, p := range prefixes {
			match = match || strings.HasPrefix(k, p) || strings.HasPrefix(strings.TrimPrefix(k, "v1:"), p)
		}
		if match {
			keys = append(keys, k)
		}
	}
	c.cacheDrop(keys, b)
	return keys
}

// cacheDrop removes the entries of keys, from memory and the store, and
// from the families a miss is compared in: a family whose latest entry
// went falls back to its latest entry left, or to none. A removed result
// is never named as the nearest earlier run.
func (c *control) cacheDrop(keys []string, b *batch) {
	if len(keys) == 0 {
		return
	}
	orphaned := map[string]bool{}
	for _, k := range keys {
		e := c.cache.entries[k]
		if e == nil {
			continue
		}
		delete(c.cache.entries, k)
		for _, f := range cacheFamilies(e.row.Project, e.row.Name, e.own, e.row.Task) {
			if c.cache.families[f] == e {
				delete(c.cache.families, f)
				orphaned[f] = true
			}
		}
	}
	if len(orphaned) > 0 { // one pass over what is left (removals are rare)
		for _, e := range c.cache.entries {
			for _, f := range cacheFamilies(e.row.Project, e.row.Name, e.own, e.row.Task) {
				if cur := c.cache.families[f]; orphaned[f] && (cur == nil || newerEntry(e, cur)) {
					c.cache.families[f] = e
				}
			}
		}
	}
	b.cacheWrite(func(tx *store.Tx) error { return store.DropCacheEntries(tx, keys) })
}

// newerEntry says a was made after b (by key when at the same instant):
// the order the store loads them in, the latest last.
func newerEntry(a, b *cacheEntry) bool {
	if !a.row.CreatedAt.Equal(b.row.CreatedAt) {
		return a.row.CreatedAt.After(b.row.CreatedAt)
	}
	return a.row.Key > b.row.Key
}

// cacheRestore has the tasks that were running or waiting to run again
// before a restart hold their keys again.
func (c *control) cacheRestore() {
	for _, id := range c.order {
		j := c.jobs[id]
		jc := c.cacheOf(j)
		if jc == nil {
			continue
		}
		for idx := range j.running {
			if key, own, _ := c.cacheKey(j, jc, idx); key != "" {
				c.cache.inflight[key] = taskKey{id, idx}
				jc.holds[idx] = heldKey{key, own}
			}
		}
	}
}

// cacheWrite adds a store write to b (the cache's rows).
func (b *batch) cacheWrite(f func(*store.Tx) error) { b.writes = append(b.writes, f) }

// cacheUse is a task's hit or miss, for `burst show`.
type cacheUse struct {
	job int64
	client.CacheUse
}

func (b *batch) cacheUse(job int64, u client.CacheUse) { b.uses = append(b.uses, cacheUse{job, u}) }

// cacheRefs has job's task hold the blobs of the outputs it was given, as
// if it had uploaded them: `burst storage rm` of the job that made them
// leaves them to it.
func (b *batch) cacheRefs(project string, job int64, idx int, files []client.OutputFile, now time.Time) {
	if len(files) == 0 {
		return
	}
	b.cacheWrite(func(tx *store.Tx) error { return store.HoldOutputs(tx, project, job, idx, files, now) })
}
