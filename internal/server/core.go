package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/mapspec"
	"github.com/burst-sh/burst/internal/sched"
	"github.com/burst-sh/burst/internal/store"
)

// commit enqueues b under s.mu (which the caller holds) and returns a
// handle to wait on after unlocking.
func (s *Server) commit(b *batch) store.Pending {
	s.uiVersion.Add(1)
	if b.empty() {
		return nil
	}
	tasks := b.tasks
	jobs := make([]store.JobRow, 0, len(b.jobs))
	for j := range b.jobs {
		jobs = append(jobs, j.row)
	}
	machines, projects, events := b.machines, b.projects, b.events
	var flush func(*store.Tx) error
	if len(machines) > 0 {
		// A machine changed state: what the meter charged it so far is
		// written with it (a stop's last charges are not left to a tick).
		flush = s.takeFlush()
	}
	return s.st.Enqueue(func(tx *store.Tx) error {
		for i := range projects {
			if err := store.SaveProject(tx, &projects[i]); err != nil {
				return err
			}
		}
		for i := range events {
			if err := store.AppendEvent(tx, &events[i]); err != nil {
				return err
			}
		}
		for i := range machines {
			if err := store.SaveMachine(tx, &machines[i]); err != nil {
				return err
			}
		}
		for i := range tasks {
			if err := store.SaveTask(tx, &tasks[i]); err != nil {
				return err
			}
		}
		for i := range jobs {
			if err := store.SaveJob(tx, &jobs[i]); err != nil {
				return err
			}
		}
		if flush != nil {
			return flush(tx) // after the machines: its marks are the latest
		}
		return nil
	})
}

// afterCommit tells waiters about the jobs in b and forgets finished ones.
// It takes s.mu.
func (s *Server) afterCommit(b *batch) {
	if len(b.jobs) == 0 && len(b.stops) == 0 && len(b.placed) == 0 && len(b.events) == 0 && len(b.wakes) == 0 {
		return
	}
	now := time.Now().UTC()
	s.mu.Lock()
	if len(b.events) > 0 {
		close(s.events)
		s.events = make(chan struct{})
	}
	var dropped batch
	s.committed(b, now, &dropped)
	if dropped.empty() {
		s.mu.Unlock()
		return
	}
	s.apply(&dropped) // unlocks
}

// apply commits b (s.mu held on entry, released on return) and runs its
// effects: those that need no commit (kills, halts, logs) as soon as the
// lock is released, the others (hand-overs, cancels, wakes, watchers) once
// b is durable.
func (s *Server) apply(b *batch) error {
	p := s.commit(b)
	s.mu.Unlock()
	s.outsideEffects(b)
	if p != nil {
		if err := p.Wait(); err != nil {
			s.storeFailed(err)
		}
	}
	s.afterCommit(b)
	return nil
}

// outsideEffects runs what b asks of the world outside memory. It runs
// without s.mu.
func (s *Server) outsideEffects(b *batch) {
	for _, o := range b.kills {
		if err := runner.KillGroup(o.pid, o.pidStart); err == nil {
			s.log.Info("killed orphaned task", "job", o.ref.Job, "task", o.ref.Index, "pid", o.pid)
		}
	}
	for _, m := range b.halts {
		s.mu.Lock()
		prov, h := s.machineProvider(m), m.handle
		s.mu.Unlock()
		if prov != nil {
			// Whatever is left of it (a hung agent, an allocation, a VM)
			// must not go on holding resources or costing money unmetered.
			s.background(func(ctx context.Context) { prov.Stop(ctx, h) })
		}
	}
	for _, l := range b.logs {
		s.log.Log(context.Background(), l.level, l.msg, l.args...)
	}
}

// machineLost is control's loseMachine now. Called with s.mu held.
func (s *Server) machineLost(m *machineRT, why string, b *batch) {
	s.loseMachine(m, why, time.Now().UTC(), b)
}

// storeFailed ends the server when the store refuses a write: memory has
// moved on and can no longer be trusted to match what is durable, and the
// only safe state to go on from is the store's. The next server (any CLI
// command starts one) recovers from it; agents keep running their tasks.
func (s *Server) storeFailed(err error) {
	if s.closing.Load() && errors.Is(err, store.ErrClosed) {
		// Stopping: the store was closed under a request whose answer
		// cannot reach anyone any more (see close). Any other failure
		// still ends the server at once, answering nobody.
		s.log.Info("a write came after the store closed; the server is stopping", "err", err)
		return
	}
	s.log.Error("the store refused a write; exiting so that the next server recovers from the store", "err", err)
	os.Exit(3)
}

// maxTasks bounds one job's tasks.
const maxTasks = 10_000_000

// Submit admits a job: validates it, checks that some machine could ever run
// it, and records it (with a map's inputs) before answering.
func (s *Server) Submit(ctx context.Context, actor string, spec *burst.JobSpec) (*burst.Job, error) {
	spec.Defaults()
	if err := spec.Validate(); err != nil {
		return nil, &errBadRequest{Msg: err.Error()}
	}
	var sources [][]string
	if m := spec.Map; m != nil {
		sources = m.Sources
		srcs := make([]mapspec.Source, len(sources))
		for i, src := range sources {
			srcs[i] = src
		}
		n, err := mapspec.Count(srcs, maxTasks)
		if err != nil {
			return nil, badRequest("%v", err)
		}
		if n == 0 {
			return nil, badRequest("a map needs inputs: give them after ::: or :::: (or with --over)")
		}
		if !m.Array {
			if err := mapspec.Validate(m.Template, len(sources)); err != nil {
				return nil, badRequest("%v", err)
			}
		}
		spec.Tasks = int(n)
	}
	if err := s.checkOutputs(spec); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	if err := s.admit(actor, spec, now); err != nil {
		return nil, err
	}
	var id int64
	ev := s.newEvent(actor, "job.submit", spec.Project, "", "")
	if err := s.st.Write(ctx, func(tx *store.Tx) (err error) {
		if id, err = store.InsertJob(tx, spec, actor, now); err != nil {
			return err
		}
		ev.Target = "job " + strconv.FormatInt(id, 10)
		ev.Message = fmt.Sprintf("job %d (%s, %s) on %s", id, spec.Name, burst.Plural(spec.Tasks, "task"), clusterName(spec.Cluster))
		if err := store.AppendEvent(tx, &ev); err != nil {
			return err
		}
		return store.SaveInputs(tx, id, sources)
	}); err != nil {
		return nil, fmt.Errorf("record job: %w", err)
	}
	// The job is committed: it must reach the queue even if the caller has
	// gone away meanwhile.
	row, err := s.st.GetJob(context.WithoutCancel(ctx), id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.submit(*row, sources)
	close(s.events)
	s.events = make(chan struct{})
	s.mu.Unlock()
	s.kickScheduler()
	s.kickScale()
	return &row.Job, nil
}

func clusterName(c string) string {
	if c == "" {
		return localCluster
	}
	return c
}

// admit checks that the job's project exists and may spend, and that its
// cluster could ever run it. A refusal is recorded in the audit trail.
func (s *Server) admit(actor string, spec *burst.JobSpec, now time.Time) error {
	s.mu.Lock()
	err := s.admitLocked(spec, now)
	if err != nil {
		var b batch
		ev := s.newEvent(actor, "job.submit", spec.Project, "", err.Error())
		ev.Result = "refused"
		b.event(ev)
		s.apply(&b) // unlocks
		return err
	}
	s.mu.Unlock()
	return nil
}

func (s *Server) admitLocked(spec *burst.JobSpec, now time.Time) error {
	p := s.projects[spec.Project]
	if p == nil {
		s.mu.Unlock()
		err := s.noProject(spec.Project)
		s.mu.Lock()
		return &errBadRequest{Msg: err.Error()}
	}
	name := clusterName(spec.Cluster)
	c := s.clusters[name]
	views := s.admissionViews(now)
	if spec.Native {
		if c == nil || !c.caps().Native {
			return badRequest("--native runs a job with sbatch on a cluster of the slurm provider; %s is not one (see `burst cluster list`)", name)
		}
		if spec.Kind == burst.KindMap {
			return badRequest("--native runs single jobs: run maps and #SBATCH --array scripts on the cluster's pilots (drop --native)")
		}
		nat := nativeCluster(name)
		if slices.ContainsFunc(views, func(m sched.Machine) bool { return m.Cluster == nat && m.Accepting }) {
			if err := sched.Feasible(spec.Resources, nat, views); err != nil {
				return &errBadRequest{Msg: err.Error()}
			}
		}
		return s.forecastJob(p, spec)
	}
	if spec.Pipe != nil {
		if err := s.admitPipe(spec, func(res burst.Resources, cluster string) error {
			return s.feasibleOn(res, clusterName(cluster), views)
		}); err != nil {
			return err
		}
		if err := s.gangFeasible(spec, views, now); err != nil {
			return err
		}
		return s.forecastJob(p, spec)
	}
	if err := s.feasibleOn(spec.Resources, name, views); err != nil {
		return &errBadRequest{Msg: err.Error()}
	}
	return s.forecastJob(p, spec)
}

// feasibleOn says whether some machine of cluster name, running or one the
// cluster could start, could ever run a task of res. Called with s.mu held
// (which it releases for a moment when the cluster does not exist).
func (s *Server) feasibleOn(res burst.Resources, name string, views []sched.Machine) error {
	c := s.clusters[name]
	if c == nil && !slices.ContainsFunc(views, func(m sched.Machine) bool { return m.Cluster == name && m.Accepting }) {
		// Agents that joined by themselves with --cluster NAME make a
		// cluster of that name too.
		s.mu.Unlock()
		err := s.noCluster(name)
		s.mu.Lock()
		return err
	}
	if c != nil && !c.def.BuiltIn && c.def.Max > 0 {
		// The cluster can grow: a machine of its type counts, running or not.
		views = append(views, sched.Machine{ID: name + " (a new machine)", Name: c.typ.Name, Cluster: name, Capacity: c.res()})
	}
	return sched.Feasible(res, name, views)
}

// admissionViews are the machines a new job may count on: all but lost
// remote ones (the local machine comes back by itself). Called with s.mu
// held.
func (s *Server) admissionViews(now time.Time) []sched.Machine {
	var out []sched.Machine
	for _, v := range s.machineViews(now) {
		if m := s.machines[v.ID]; m.local || m.row.State != "lost" {
			out = append(out, v)
		}
	}
	return out
}

func (s *Server) kickScheduler() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// scheduleLoop places waiting tasks whenever something changes.
func (s *Server) scheduleLoop(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second) // time-based backfill windows move
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-tick.C:
		}
		s.scheduleOnce()
	}
}

func (s *Server) scheduleOnce() {
	now := time.Now().UTC()
	s.mu.Lock()
	var b batch
	s.place(now, &b)
	if err := s.apply(&b); err != nil {
		s.log.Error("dispatch", "err", err)
	}
}

// Cancel cancels a job's waiting tasks and asks agents to stop its running
// ones. Cancelling a finished job is not an error.
func (s *Server) Cancel(ctx context.Context, id int64) (*client.CancelResult, error) {
	now := time.Now().UTC()
	s.mu.Lock()
	var b batch
	state, ok := s.cancelJob(id, actorFrom(ctx), now, &b)
	if !ok {
		s.mu.Unlock()
		row, err := s.readJob(ctx, id)
		if err != nil {
			return nil, err
		}
		return &client.CancelResult{ID: id, State: row.State, AlreadyFinished: row.State.Terminal()}, nil
	}
	if err := s.apply(&b); err != nil {
		return nil, err
	}
	return &client.CancelResult{ID: id, State: state}, nil
}

// liveFigures fills in, for the tasks of job id that run, the figures their
// agents sent so far (progress events), which the store does not hold:
// ts are rows read from the store. It takes s.mu.
func (s *Server) liveFigures(id int64, ts []burst.Task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil || j.row.Spec.Pipe == nil { // only a pipe's stages send progress
		return
	}
	for i := range ts {
		x := &ts[i]
		if x.State != burst.Running {
			continue
		}
		t := j.running[x.Index]
		if t == nil || t.row.Attempt != x.Attempt || !t.started {
			continue
		}
		x.UserSeconds, x.SysSeconds, x.MaxRSSBytes = t.row.UserSeconds, t.row.SysSeconds, t.row.MaxRSSBytes
		x.ReadBytes, x.WroteBytes = t.row.ReadBytes, t.row.WroteBytes
	}
}

// liveJobFigures adds to a running pipe's CPU time and peak memory (job,
// as read from the store: its ended tasks') what its running stages used
// so far. It takes s.mu.
func (s *Server) liveJobFigures(job *burst.Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[job.ID]
	if j == nil || j.row.Spec.Pipe == nil {
		return
	}
	for _, t := range j.running {
		if t.started {
			job.CPUSeconds += t.row.UserSeconds + t.row.SysSeconds
			job.MaxRSSBytes = max(job.MaxRSSBytes, t.row.MaxRSSBytes)
		}
	}
}

// Register (re)connects an agent: applies the events it could not report,
// keeps the tasks it still runs, and marks lost those it does not.
func (s *Server) Register(ctx context.Context, r *client.Register) (*client.Registered, error) {
	now := time.Now().UTC()
	s.mu.Lock()
	var b batch
	kill, err := s.register(r, now, &b)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if err := s.apply(&b); err != nil {
		return nil, err
	}
	s.kickScheduler()
	return &client.Registered{BootID: s.bootID, Kill: kill}, nil
}

// Lease hands an agent its tasks and cancels, waiting up to l.WaitMS for
// some. Work stays unacknowledged until the agent's next Lease carries this
// lease's Seq; until then it is handed out again, so a response lost on the
// wire loses nothing. A newer Lease from the same machine retires an older
// one still waiting (e.g. on a half-open connection).
func (s *Server) Lease(ctx context.Context, l *client.Lease) (*client.Leased, error) {
	wait := min(time.Duration(l.WaitMS)*time.Millisecond, 30*time.Second)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	now := time.Now()
	s.mu.Lock()
	m, gen, err := s.beginLease(l, now)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	// One way out, whether it returns or panics: the lock is released
	// exactly once, so a bug in here cannot wedge every later request.
	locked := true
	defer func() {
		if !locked {
			now = time.Now()
			s.mu.Lock()
		}
		s.endLease(m, now)
		s.mu.Unlock()
	}()
	for {
		out, ch, err := s.leaseWork(m, gen, now)
		if out != nil || err != nil {
			return out, err
		}
		s.mu.Unlock()
		locked = false
		select {
		case <-ch:
		case <-timer.C:
			return &client.Leased{}, nil
		case <-ctx.Done():
			return &client.Leased{}, nil
		}
		now = time.Now()
		s.mu.Lock()
		locked = true
	}
}

// Report applies task events from an agent; they are committed when it
// returns nil.
func (s *Server) Report(ctx context.Context, r *client.Report) error {
	now := time.Now().UTC()
	s.mu.Lock()
	var b batch
	if err := s.report(r, now, &b); err != nil {
		s.mu.Unlock()
		return err
	}
	return s.apply(&b)
}

// watch returns a channel closed when job id next changes, or nil if the job
// is not active (its stored state is final).
func (s *Server) watch(id int64) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.jobs[id]; j != nil {
		return j.changed
	}
	return nil
}

// taskActive reports whether task idx of job id may still run or write
// output, and a channel closed when the job next changes.
func (s *Server) taskActive(id int64, idx int) (bool, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		return false, nil
	}
	if j.finished {
		return false, j.changed
	}
	if _, ok := j.running[idx]; ok {
		return true, j.changed
	}
	if j.row.CancelRequested {
		return false, j.changed
	}
	if idx >= j.row.Dispatched {
		return true, j.changed
	}
	for _, r := range j.requeue {
		if int(r.index) == idx {
			return true, j.changed
		}
	}
	return false, j.changed
}

// Resume reopens a finished job: every task that did not succeed (failed,
// timed out, cancelled, lost, or never ran) is queued again; a task that
// succeeded never runs again.
func (s *Server) Resume(ctx context.Context, id int64) (*burst.Job, error) {
	return s.ResumeWith(ctx, id, client.ResumeOptions{})
}

// ResumeWith is Resume with the settings of o (a map's --max-failures, its
// -j) replacing the job's own from now on.
// resumeSpec puts o's settings into spec, and says whether any changed.
func resumeSpec(spec *burst.JobSpec, o client.ResumeOptions) (bool, error) {
	changed := false
	if o.MaxFailures != nil || o.MaxFailuresPct != nil {
		if spec.Map == nil {
			return false, badRequest("--max-failures is for maps; this job is not one")
		}
		m := *spec.Map
		if o.MaxFailures != nil {
			m.MaxFailures = *o.MaxFailures
		}
		if o.MaxFailuresPct != nil {
			m.MaxFailuresPct = *o.MaxFailuresPct
		}
		if m.MaxFailures < 0 || m.MaxFailuresPct < 0 || m.MaxFailuresPct > 100 {
			return false, badRequest("--max-failures: give a count (5) or a share of the tasks (5%%)")
		}
		spec.Map, changed = &m, true
	}
	if o.MaxRunning != nil {
		if *o.MaxRunning < 0 {
			return false, badRequest("--jobs %d: use 0 (no cap) or more", *o.MaxRunning)
		}
		spec.MaxRunning, changed = *o.MaxRunning, true
	}
	return changed, nil
}

func (s *Server) ResumeWith(ctx context.Context, id int64, o client.ResumeOptions) (*burst.Job, error) {
	s.mu.Lock()
	if j := s.jobs[id]; j != nil {
		s.mu.Unlock()
		return nil, badRequest("job %d has not finished: wait for it, or cancel it first, then resume", id)
	}
	s.mu.Unlock()
	row, err := s.readJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if row.Spec != nil && row.Spec.Pipe != nil {
		return nil, badRequest("job %d is a pipe: its stages stream into each other and run only together; run it again with `burst pipe '%s'`", id, row.Spec.Pipe.Text)
	}
	if row.Tasks.Succeeded == row.Tasks.Total {
		return nil, badRequest("job %d: all %d tasks succeeded; there is nothing to resume", id, row.Tasks.Total)
	}
	changed, err := resumeSpec(row.Spec, o)
	if err != nil {
		return nil, err
	}
	var sources [][]string
	if row.Spec.Map != nil {
		if sources, err = s.st.Inputs(ctx, id); err != nil {
			return nil, err
		}
	}
	j := newJobRT(*row)
	j.sources = sources
	var reopened []*store.TaskRow
	s.mu.Lock()
	if s.jobs[id] != nil || s.resuming[id] { // resumed twice at once
		s.mu.Unlock()
		return nil, badRequest("job %d is being resumed already", id)
	}
	if s.resuming == nil {
		s.resuming = map[int64]bool{}
	}
	s.resuming[id] = true // the write below runs without the lock
	s.mu.Unlock()
	err = s.st.Write(ctx, func(tx *store.Tx) error {
		var err error
		if reopened, err = store.ReopenTasks(tx, id); err != nil {
			return err
		}
		c := &j.row.Tasks
		c.Failed, c.Timeout, c.Cancelled, c.Lost, c.Running = 0, 0, 0, 0, 0
		j.row.State, j.row.ExitCode, j.row.Reason, j.row.EndedAt = burst.Queued, nil, "", nil
		j.row.CancelRequested, j.row.Stopped = false, false
		if err := store.SaveJob(tx, &j.row); err != nil {
			return err
		}
		if changed {
			if err := store.SaveSpec(tx, id, j.row.Spec); err != nil {
				return err
			}
		}
		ahead := 0 // tasks cancelled before their turn: the dispatcher reaches them in order
		for _, t := range reopened {
			if t.Index >= j.row.Dispatched {
				ahead++
			}
		}
		ev := s.newEvent(actorFrom(ctx), "job.resume", j.row.Project, "job "+strconv.FormatInt(id, 10),
			fmt.Sprintf("job %d (%s) resumed: %d tasks run again", id, j.row.Name, len(reopened)-ahead+j.row.Tasks.Total-j.row.Dispatched))
		return store.AppendEvent(tx, &ev)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.resuming, id)
	if err != nil {
		return nil, fmt.Errorf("resume job %d: %w", id, err)
	}
	close(s.events) // the resume event is recorded
	s.events = make(chan struct{})
	s.resumed(j, reopened)
	s.kickScheduler()
	out := j.row.Job
	out.Tasks.Queued = out.Tasks.Total - out.Tasks.Done() - out.Tasks.Running
	return &out, nil
}
