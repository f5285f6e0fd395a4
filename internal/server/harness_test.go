package server

import (
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// harness drives a control with scripted events and a fake clock, in the
// spirit of Nomad's scheduler/testing.go: no store, no HTTP, no process.
// What the batches write is kept in memory (rows), which is all a restart
// rebuilds a control from; what they ask done is kept too (effects).
type harness struct {
	t   *testing.T
	now time.Time
	srv *Server // its meter and fleet rules only: pure functions over c
	c   *control

	// The rows the batches wrote, as the store would hold them.
	jobs     map[int64]store.JobRow
	tasks    map[taskKey]store.TaskRow
	machines map[string]store.MachineRow
	projects map[string]store.ProjectRow
	inputs   map[int64][][]string
	nextID   int64

	// The dashboard's change counts, bumped by each batch as
	// Server.commit bumps them.
	ui uiChanges

	// Effects asked for so far.
	kills  []orphan
	halts  []string
	events []burst.Event
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), nextID: 1,
		jobs: map[int64]store.JobRow{}, tasks: map[taskKey]store.TaskRow{}, machines: map[string]store.MachineRow{},
		projects: map[string]store.ProjectRow{}, inputs: map[int64][][]string{}}
	h.fresh()
	return h
}

// fresh gives the harness a new, empty control, as a server starting.
func (h *harness) fresh() {
	s := &Server{catalog: cost.Default(), unflushed: map[store.CostKey]int64{}, newBytes: map[[2]string]int64{},
		log: slog.New(slog.DiscardHandler)}
	s.control = newControl("boot-"+strconv.FormatInt(h.now.UnixNano(), 36), "thishost", "/logs", "/agents", s)
	h.srv, h.c = s, &s.control
	h.c.clusters[localCluster] = &clusterRT{def: burst.Cluster{Name: localCluster, Provider: "local", BuiltIn: true}}
	h.project("default", 0, "")
}

// project adds project name with a budget of usd dollars (0: none) and
// what its guardrail does when it is spent ("" for the default, stop).
func (h *harness) project(name string, usd float64, onExhausted string) *projectRT {
	p := &projectRT{row: store.ProjectRow{Project: burst.Project{Name: name, CreatedAt: h.now.Add(-time.Hour),
		OnExhausted: onExhausted}, BudgetNUSD: int64(usd * 1e9)},
		bytes: map[string]int64{}, recent: recentSpend{}}
	h.c.projects[name] = p
	return p
}

// admit runs the submit event's admission for spec (refusals write to
// the audit trail).
func (h *harness) admit(spec *burst.JobSpec) error {
	h.t.Helper()
	var err error
	h.do(func(b *batch) { err = h.c.admit(spec, nil, "ann", h.now, b) })
	return err
}

func (h *harness) tick(d time.Duration) { h.now = h.now.Add(d) }

// apply "commits" b: its rows are written, then what follows a commit
// runs (hand-overs, cancels, tasks dropped), as Server.apply does.
func (h *harness) apply(b *batch) {
	for {
		h.ui.bump(h.c.batchProjects(b)...)
		for _, r := range b.tasks {
			h.tasks[taskKey{r.JobID, r.Index}] = r
		}
		for j := range b.jobs {
			h.jobs[j.row.ID] = j.row
		}
		for _, m := range b.machines {
			h.machines[m.ID] = m
		}
		for _, p := range b.projects {
			h.projects[p.Name] = p
		}
		h.events = append(h.events, b.events...)
		h.kills = append(h.kills, b.kills...)
		for _, m := range b.halts {
			h.halts = append(h.halts, m.id)
		}
		var next batch
		h.c.committed(b, h.now, &next)
		if next.empty() {
			return
		}
		b = &next
	}
}

// do runs one event on the control, and commits what it wrote.
func (h *harness) do(ev func(b *batch)) {
	h.t.Helper()
	var b batch
	ev(&b)
	h.apply(&b)
}

type jobOpt func(*burst.JobSpec)

func retries(n int) jobOpt        { return func(s *burst.JobSpec) { s.Retries = n } }
func maxFailures(n int) jobOpt    { return func(s *burst.JobSpec) { s.Map.MaxFailures = n } }
func maxFailPct(p float64) jobOpt { return func(s *burst.JobSpec) { s.Map.MaxFailuresPct = p } }
func maxRunning(n int) jobOpt     { return func(s *burst.JobSpec) { s.MaxRunning = n } }

// asRun makes the job a burst run of one task (place it first: submit's
// other options may set map fields): its exit status is its task's.
func asRun(s *burst.JobSpec) { s.Kind, s.Map, s.Argv = burst.KindRun, nil, []string{"true"} }

// submit queues a map of n tasks (echo {} over 0..n-1) of 1 CPU each.
func (h *harness) submit(n int, opts ...jobOpt) int64 {
	in := make([]string, n)
	for i := range in {
		in[i] = strconv.Itoa(i)
	}
	spec := &burst.JobSpec{Kind: burst.KindMap, Name: "m", Project: "default", Tasks: n,
		Resources: burst.Resources{CPUs: 1}, Map: &burst.MapSpec{Template: []string{"echo", "{}"}}}
	for _, o := range opts {
		o(spec)
	}
	id := h.nextID
	h.nextID++
	row := store.JobRow{Job: burst.Job{ID: id, Name: spec.Name, Project: spec.Project, State: burst.Queued, Spec: spec,
		Tasks: burst.TaskCounts{Total: n}, SubmittedAt: h.now}, IDSpan: 1}
	h.jobs[id] = row
	h.inputs[id] = [][]string{in}
	h.c.submit(row, h.inputs[id])
	h.ui.bump(spec.Project) // as Server.record
	h.learnTasks()
	return id
}

// learnTasks tells the control, as the shell does from the store, what
// the tasks of the jobs it watches task by task came to (corr.go).
func (h *harness) learnTasks() { h.readTasks(h.c.unloaded()) }

// readTasks is readTasks of the jobs ids, from the rows.
func (h *harness) readTasks(ids []int64) {
	reads := map[int64]tasksRead{}
	for _, id := range ids {
		row, ok := h.jobs[id]
		if !ok {
			reads[id] = tasksRead{err: store.ErrNotFound}
			continue
		}
		r := tasksRead{row: row}
		if row.Spec != nil && row.Spec.Map != nil && row.Spec.Map.Array {
			for _, v := range h.inputs[id][0] {
				k, _ := strconv.Atoi(v)
				r.ids = append(r.ids, k)
			}
		}
		for k, t := range h.tasks {
			if k.job == id && t.State != burst.Queued {
				r.tasks = append(r.tasks, store.TaskState{Index: t.Index, State: t.State})
			}
		}
		reads[id] = r
	}
	h.c.learnAllTasks(reads)
}

// register connects an agent on machine id with cpus CPUs, running what
// it says it runs.
func (h *harness) register(id string, cpus int, running ...client.RunningTask) []client.TaskRef {
	h.t.Helper()
	var kill []client.TaskRef
	h.do(func(b *batch) {
		var err error
		kill, err = h.c.register(&client.Register{Machine: id, Host: "thishost", Cluster: localCluster, CPUs: cpus,
			MemBytes: 8 << 30, PID: 100, PIDStart: 1, Running: running}, h.now, b)
		if err != nil {
			h.t.Fatalf("register %s: %v", id, err)
		}
	})
	return kill
}

// place runs the scheduler once, after reading again what the control
// asks read again (as the scheduler's tick does: reread).
func (h *harness) place() {
	h.readTasks(h.c.rereads())
	h.do(func(b *batch) { h.c.place(h.now, b) })
}

// lease asks for machine id's work, acknowledging lease ack; nil if none.
func (h *harness) lease(id string, ack uint64) *client.Leased {
	h.t.Helper()
	m, gen, err := h.c.beginLease(&client.Lease{Machine: id, BootID: h.c.bootID, Ack: ack}, h.now)
	if err != nil {
		h.t.Fatalf("lease %s: %v", id, err)
	}
	defer h.c.endLease(m, h.now)
	out, _, err := h.c.leaseWork(m, gen, h.now, true) // all there is, as at the end of a lease's wait
	if err != nil {
		h.t.Fatalf("lease %s: %v", id, err)
	}
	return out
}

// leaseN is lease, failing the test unless it hands out n tasks.
// shortRuns runs two rounds of 0.1 s tasks of the map on machine id,
// acknowledging from seq: the map is short from then on, and its tasks are
// prefetched (queued ahead at the agent). It returns the next seq.
func (h *harness) shortRuns(id string, seq uint64) uint64 {
	for range 2 {
		h.place()
		var refs []client.TaskRef
		seq, refs = h.startAll(id, seq)
		h.tick(100 * time.Millisecond)
		h.finish(id, refs, always(0))
	}
	return seq
}

// byQueue splits what a lease handed out into the tasks to start now and
// those queued (prefetched) behind them.
func byQueue(l *client.Leased) (now, queued []client.TaskRef) {
	for _, a := range l.Tasks {
		if a.Queued {
			queued = append(queued, a.TaskRef)
		} else {
			now = append(now, a.TaskRef)
		}
	}
	return now, queued
}

func (h *harness) leaseN(id string, ack uint64, n int) *client.Leased {
	h.t.Helper()
	l := h.lease(id, ack)
	if l == nil || len(l.Tasks) != n {
		h.t.Fatalf("machine %s leased %+v; want %d tasks", id, l, n)
	}
	return l
}

func (h *harness) report(id string, evs ...client.TaskEvent) {
	h.t.Helper()
	h.do(func(b *batch) {
		if err := h.c.report(&client.Report{Machine: id, BootID: h.c.bootID, Events: evs}, h.now, b); err != nil {
			h.t.Fatalf("report %s: %v", id, err)
		}
	})
}

func started(ref client.TaskRef, at time.Time) client.TaskEvent {
	return client.TaskEvent{TaskRef: ref, Kind: client.EventStarted, PID: 1000 + ref.Index, PIDStart: 7, StartedAt: &at}
}

// exited is ref's end with exit code code (0: succeeded).
func exited(ref client.TaskRef, code int, at time.Time) client.TaskEvent {
	st := burst.Succeeded
	if code != 0 {
		st = burst.Failed
	}
	return client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: st, ExitCode: &code, EndedAt: &at}
}

// runAll has machine id's agent take a lease and start every task in it;
// it returns what it started.
func (h *harness) startAll(id string, ack uint64) (uint64, []client.TaskRef) {
	h.t.Helper()
	l := h.lease(id, ack)
	if l == nil {
		return ack, nil
	}
	var refs []client.TaskRef
	var evs []client.TaskEvent
	for _, a := range l.Tasks {
		refs = append(refs, a.TaskRef)
		evs = append(evs, started(a.TaskRef, h.now))
	}
	h.report(id, evs...)
	return l.Seq, refs
}

// finish reports that refs exited, with codes from code.
func (h *harness) finish(id string, refs []client.TaskRef, code func(client.TaskRef) int) {
	h.t.Helper()
	var evs []client.TaskEvent
	for _, r := range refs {
		evs = append(evs, exited(r, code(r), h.now))
	}
	h.report(id, evs...)
}

// drive runs job work on machine id until nothing is left to lease (at
// most rounds leases), the agent exiting each task with code's status.
func (h *harness) drive(id string, rounds int, code func(client.TaskRef) int) {
	h.t.Helper()
	var seq uint64
	for range rounds {
		h.place()
		var refs []client.TaskRef
		seq, refs = h.startAll(id, seq)
		if len(refs) == 0 {
			return
		}
		h.tick(time.Second)
		h.finish(id, refs, code)
	}
	h.t.Fatalf("work left after %d rounds", rounds)
}

// restart rebuilds a control from the rows the batches wrote, as a server
// starting over the same store does (machines first, then jobs and tasks).
func (h *harness) restart() {
	h.fresh()
	for _, row := range h.machines {
		m := newMachineRT(row)
		if row.MeteredUntil != nil {
			m.meterAt, m.flushedAt = *row.MeteredUntil, *row.MeteredUntil
		}
		h.c.machines[row.ID] = m
	}
	var jobs []*store.JobRow
	ahead := map[int64][]int{}
	for _, id := range sortedKeys(h.jobs) {
		row := h.jobs[id]
		if row.State != burst.Queued && row.State != burst.Running {
			continue
		}
		jobs = append(jobs, &row)
		for k, t := range h.tasks {
			if k.job == id && t.Index >= row.Dispatched && (t.State == burst.Cancelled || gated(row.Spec)) && !row.CancelRequested {
				ahead[id] = append(ahead[id], t.Index)
			}
		}
		sort.Ints(ahead[id])
	}
	var tasks []*store.TaskRow
	for _, t := range h.tasks {
		if t.State == burst.Queued || t.State == burst.Running {
			tasks = append(tasks, &t)
		}
	}
	sort.Slice(tasks, func(i, k int) bool {
		if tasks[i].JobID != tasks[k].JobID {
			return tasks[i].JobID < tasks[k].JobID
		}
		return tasks[i].Index < tasks[k].Index
	})
	h.do(func(b *batch) { h.c.restore(jobs, h.inputs, ahead, tasks, h.now, b) })
	// As recover: how the jobs held ones wait for ended, from the rows.
	ended := map[int64]jobEnd{}
	for _, j := range h.c.deps.held {
		for _, id := range h.c.unresolved(j) {
			if row, ok := h.jobs[id]; ok && row.State.Terminal() {
				ended[id] = endOf(&row.Job)
			}
		}
	}
	h.c.learnEnded(ended)
	h.learnTasks()
}

func sortedKeys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, k int) bool { return out[i] < out[k] })
	return out
}

// job is job id's row as last written.
func (h *harness) job(id int64) store.JobRow {
	h.t.Helper()
	row, ok := h.jobs[id]
	if !ok {
		h.t.Fatalf("job %d has no row", id)
	}
	return row
}

// task is task idx of job id's row as last written.
func (h *harness) task(id int64, idx int) store.TaskRow {
	h.t.Helper()
	row, ok := h.tasks[taskKey{id, idx}]
	if !ok {
		h.t.Fatalf("task %d of job %d has no row", idx, id)
	}
	return row
}

func (h *harness) wantJob(id int64, state burst.State, exit int) {
	h.t.Helper()
	row := h.job(id)
	got := -1
	if row.ExitCode != nil {
		got = *row.ExitCode
	}
	if row.State != state || got != exit {
		h.t.Fatalf("job %d: %s exit %d (%s), want %s exit %d", id, row.State, got, row.Reason, state, exit)
	}
}

func (h *harness) wantTask(id int64, idx int, state burst.State, attempt, lost int) {
	h.t.Helper()
	row := h.task(id, idx)
	if row.State != state || row.Attempt != attempt || row.LostCount != lost {
		h.t.Fatalf("task %d of job %d: %s attempt %d lost %d (%s), want %s attempt %d lost %d",
			idx, id, row.State, row.Attempt, row.LostCount, row.Reason, state, attempt, lost)
	}
}

func (r retry) String() string { return fmt.Sprintf("%d@%d/%d", r.index, r.attempt, r.lost) }

// submitSpec queues job id as spec says (no inputs).
func (h *harness) submitSpec(id int64, spec *burst.JobSpec) store.JobRow {
	row := store.JobRow{Job: burst.Job{ID: id, Name: spec.Name, Project: spec.Project, State: burst.Queued, Spec: spec,
		Tasks: burst.TaskCounts{Total: spec.Tasks}, SubmittedAt: h.now}, IDSpan: 1}
	h.jobs[id] = row
	h.c.submit(row, nil)
	return row
}
