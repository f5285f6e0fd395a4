package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/mapspec"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/sched"
	"github.com/burst-sh/burst/internal/store"
)

// errBadRequest marks errors that are the caller's to fix (HTTP 400).
type errBadRequest struct{ msg string }

func (e *errBadRequest) Error() string { return e.msg }

func badRequest(format string, a ...any) error { return &errBadRequest{fmt.Sprintf(format, a...)} }

// errConflict asks an agent to register again (HTTP 409).
var errConflict = errors.New("unknown agent or server restarted: register again")

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
	if len(b.jobs) == 0 && len(b.stops) == 0 && len(b.placed) == 0 && len(b.events) == 0 {
		return
	}
	s.mu.Lock()
	if len(b.events) > 0 {
		close(s.events)
		s.events = make(chan struct{})
	}
	// A task placed while its job was being stopped never reaches an agent:
	// it ends here (its cancel went to an agent that never had it).
	var dropped batch
	now := time.Now().UTC()
	for _, t := range b.placed {
		switch {
		case t.row.State != burst.Running:
		case t.cancel:
			s.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Cancelled, Reason: t.job.row.Reason}, now, &dropped)
		default:
			t.machine.outbox = append(t.machine.outbox, t)
			t.machine.poke()
		}
	}
	// Agents hear of a cancel only once it is durable.
	for _, t := range b.stops {
		if t.row.State == burst.Running {
			t.machine.cancels = append(t.machine.cancels, t.ref())
			t.machine.poke()
		}
	}
	for j := range b.jobs {
		if j.finished {
			delete(s.jobs, j.row.ID)
		}
		j.signal()
	}
	if dropped.empty() {
		s.mu.Unlock()
		return
	}
	s.apply(&dropped) // unlocks
}

// apply commits b (s.mu held on entry, released on return) and signals.
func (s *Server) apply(b *batch) error {
	p := s.commit(b)
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	if err := p.Wait(); err != nil {
		s.storeFailed(err)
	}
	s.afterCommit(b)
	return nil
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
		return nil, &errBadRequest{err.Error()}
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
	if err := s.admit(actor, spec); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
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
	j := newJobRT(*row)
	j.sources = sources
	s.mu.Lock()
	s.jobs[id] = j
	s.order = append(s.order, id)
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
func (s *Server) admit(actor string, spec *burst.JobSpec) error {
	s.mu.Lock()
	err := s.admitLocked(spec)
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

func (s *Server) admitLocked(spec *burst.JobSpec) error {
	p := s.projects[spec.Project]
	if p == nil {
		s.mu.Unlock()
		err := s.noProject(spec.Project)
		s.mu.Lock()
		return &errBadRequest{err.Error()}
	}
	name := clusterName(spec.Cluster)
	c := s.clusters[name]
	views := s.admissionViews()
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
				return &errBadRequest{err.Error()}
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
		if err := s.gangFeasible(spec, views); err != nil {
			return err
		}
		return s.forecastJob(p, spec)
	}
	if err := s.feasibleOn(spec.Resources, name, views); err != nil {
		return &errBadRequest{err.Error()}
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
func (s *Server) admissionViews() []sched.Machine {
	var out []sched.Machine
	for _, v := range s.machineViews() {
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
	s.mu.Lock()
	var b batch
	s.place(time.Now().UTC(), &b)
	if err := s.apply(&b); err != nil {
		s.log.Error("dispatch", "err", err)
	}
}

// place puts waiting tasks on machines, into b: they reach their agents once
// b is committed. Called with s.mu held, by the scheduler and by every
// report of ended tasks, so that the tasks that follow are dispatched in the
// same transaction.
func (s *Server) place(now time.Time, b *batch) {
	pend, views := s.snapshot()
	if len(pend) == 0 {
		return
	}
	as := sched.Place(now, pend, views)
	for i := 0; i < len(as); i++ {
		a := as[i]
		j, m := s.jobs[a.JobID], s.machines[a.MachineID]
		if j == nil || m == nil {
			continue
		}
		if j.row.Spec.Pipe != nil {
			n := j.row.Spec.Pipe.Tasks() // a gang's assignments come together
			s.dispatchPipe(j, as[i:i+n], b)
			i += n - 1
			continue
		}
		b.placed = append(b.placed, s.dispatch(j, m, a, b))
	}
}

// Cancel cancels a job's waiting tasks and asks agents to stop its running
// ones. Cancelling a finished job is not an error.
func (s *Server) Cancel(ctx context.Context, id int64) (*client.CancelResult, error) {
	s.mu.Lock()
	j := s.jobs[id]
	if j == nil || j.finished {
		s.mu.Unlock()
		row, err := s.readJob(ctx, id)
		if err != nil {
			return nil, err
		}
		return &client.CancelResult{ID: id, State: row.State, AlreadyFinished: row.State.Terminal()}, nil
	}
	var b batch
	if !j.row.CancelRequested {
		actor := actorFrom(ctx)
		s.stopJob(j, "cancelled by "+actor, false, time.Now().UTC(), &b)
		b.event(s.newEvent(actor, "job.cancel", j.row.Project, "job "+strconv.FormatInt(id, 10),
			fmt.Sprintf("job %d (%s) cancelled", id, j.row.Name)))
	}
	state := j.row.State
	if err := s.apply(&b); err != nil {
		return nil, err
	}
	return &client.CancelResult{ID: id, State: state}, nil
}

// dropFromOutbox takes t out of its machine's outbox; false if it was not
// there (already leased, or not yet placed in it).
func (s *Server) dropFromOutbox(t *taskRT) bool {
	ob := t.machine.outbox[:0]
	found := false
	for _, o := range t.machine.outbox {
		if o != t {
			ob = append(ob, o)
		} else {
			found = true
		}
	}
	t.machine.outbox = ob
	return found
}

// applyEvents applies agent events for machine m. Called with s.mu held.
func (s *Server) applyEvents(m *machineRT, events []client.TaskEvent, now time.Time, b *batch) {
	for _, ev := range events {
		j := s.jobs[ev.Job]
		var t *taskRT
		if j != nil {
			t = j.running[ev.Index]
		}
		if t == nil || t.row.Attempt != ev.Attempt || t.machine != m {
			if ev.Kind == client.EventStarted {
				// A task the server no longer wants (cancelled, or moved on).
				m.cancels = append(m.cancels, ev.TaskRef)
				m.poke()
			}
			continue
		}
		t.delivered = true
		switch ev.Kind {
		case client.EventStarted:
			t.row.PID, t.row.PIDStart = ev.PID, ev.PIDStart
			t.row.StartedAt = ev.StartedAt
			t.row.StdoutFrom, t.row.StderrFrom = ev.OutFrom, ev.ErrFrom
			if !t.started {
				s.accrue(m, now) // what ran before it is not its to pay
				t.started = true
				j.row.Tasks.Running++
			}
			if j.row.StartedAt == nil {
				j.row.StartedAt = ev.StartedAt
			}
			if j.row.State == burst.Queued {
				j.row.State = burst.Running
				if strings.HasPrefix(j.row.Reason, "waiting: ") {
					j.row.Reason = ""
				}
			}
			b.task(t.row)
			b.job(j)
		case client.EventProgress:
			applyProgress(t, ev)
		case client.EventExited:
			if j.row.StartedAt == nil && ev.StartedAt != nil {
				j.row.StartedAt = ev.StartedAt
			}
			if j.row.State == burst.Queued {
				j.row.State = burst.Running
			}
			s.endTask(t, ev, now, b)
		}
	}
}

// applyProgress raises a running task's figures to what its agent sampled
// (s.mu held). They stay in memory: a store write a second per stage would
// cost a transaction each for figures that the task's exit replaces. The
// figures only grow (a descendant that left the task's tree takes its CPU
// time with it): a sample never lowers them. A task whose process has not
// started (its started event was lost) takes none.
func applyProgress(t *taskRT, ev client.TaskEvent) {
	if !t.started || t.row.State != burst.Running {
		return
	}
	r := &t.row
	r.UserSeconds = max(r.UserSeconds, float64(ev.UserUS)/1e6)
	r.SysSeconds = max(r.SysSeconds, float64(ev.SysUS)/1e6)
	r.MaxRSSBytes = max(r.MaxRSSBytes, ev.MaxRSS)
	r.ReadBytes = max(r.ReadBytes, ev.ReadBytes)
	r.WroteBytes = max(r.WroteBytes, ev.WroteBytes)
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
	if r.Machine == "" {
		return nil, badRequest("register: machine name missing")
	}
	s.mu.Lock()
	now := time.Now().UTC()
	m := s.machines[r.Machine]
	if m != nil && m.starting {
		s.mu.Unlock()
		return nil, fmt.Errorf("machine %s is still being started by its provider: register again in a moment", r.Machine)
	}
	if m != nil && !m.local && m.row.Provider != "" && !live(m.row.State) {
		s.mu.Unlock()
		return nil, badRequest("machine %s is %s: its agent should exit (start it with `burst machine start %s`)", r.Machine, m.row.State, r.Machine)
	}
	if m != nil && m.row.State == burst.MachineStopping {
		s.mu.Unlock()
		return nil, badRequest("machine %s is stopping: its agent should exit", r.Machine)
	}
	if m == nil {
		m = newMachineRT(store.MachineRow{Machine: burst.Machine{ID: r.Machine, StartedAt: &now}})
		s.machines[r.Machine] = m
	}
	m.streamAddr = r.StreamAddr
	if m.row.State != burst.MachineRunning {
		// The meter starts when the machine is up.
		s.accrue(m, now)
		m.row.StartedAt = &now
		m.row.StoppedAt = nil
		m.meterAt, m.flushedAt = now, now
		m.idleSince = now
	}
	m.row.Cluster, m.row.Host, m.row.State = r.Cluster, r.Host, burst.MachineRunning
	m.row.CPUs, m.row.MemBytes, m.row.GPUs = r.CPUs, r.MemBytes, r.GPUs
	if m.cluster == nil {
		m.cluster = s.clusters[r.Cluster]
	}
	if m.row.Provider == "" || m.local {
		// This host, or an agent that joined by itself: owned, priced per use.
		s.priceOwned(m)
		if strings.HasSuffix(r.Cluster, ":native") {
			m.row.Type = "Slurm's own jobs"
		}
		if m.row.Project == "" {
			m.row.Project = "default"
			if m.cluster != nil {
				m.row.Project = m.cluster.def.Project
			}
		}
	}
	// The same agent process registering again (the server restarted) had
	// every task it does not report never handed to it.
	sameAgent := m.row.AgentPID == r.PID && m.row.AgentStart == r.PIDStart && r.PID > 0
	m.row.AgentPID, m.row.AgentStart = r.PID, r.PIDStart
	m.row.SeenAt = &now
	m.lastSeen = now
	m.unlease() // a lease the agent did not acknowledge is handed out again
	var b batch
	s.applyEvents(m, r.Events, now, &b)
	reported := map[taskKey]client.RunningTask{}
	for _, rt := range r.Running {
		reported[taskKey{rt.Job, rt.Index}] = rt
	}
	var kill []client.TaskRef
	for k, t := range m.tasks {
		rt, ok := reported[k]
		switch {
		case ok && rt.Attempt == t.row.Attempt:
			delete(reported, k)
			t.delivered = true
			if !t.started && rt.PID > 0 {
				s.accrue(m, now)
				t.started = true
				t.job.row.Tasks.Running++
				b.job(t.job)
			}
			if t.row.PID == 0 || t.row.PID != rt.PID {
				t.row.PID, t.row.PIDStart = rt.PID, rt.PIDStart
				b.task(t.row)
			}
			if t.cancel {
				m.cancels = append(m.cancels, t.ref())
			}
		case !t.delivered:
			// still in the outbox: it will be leased.
		case sameAgent && !t.started:
			// Dispatched, but the server died before handing it over:
			// hand it over now, on the same attempt.
			t.delivered = false
			m.outbox = append(m.outbox, t)
		default:
			s.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Lost,
				Reason: "agent on " + m.row.ID + " restarted without it"}, now, &b)
		}
	}
	for _, rt := range reported {
		kill = append(kill, rt.TaskRef)
	}
	m.registered = true
	m.waitUntil = time.Time{}
	if m.cluster != nil {
		m.cluster.failures = 0
		if lim := time.Duration(m.cluster.def.TimeLimitS) * time.Second; lim > 0 && m.cluster.caps().TimeLimit && m.row.StartedAt != nil {
			m.until = m.row.StartedAt.Add(lim - provider.PilotMargin(lim))
		}
	}
	b.machine(m)
	s.log.Info("agent registered", "machine", m.row.ID, "pid", r.PID, "running", len(r.Running), "kill", len(kill))
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
	s.mu.Lock()
	m := s.machines[l.Machine]
	if m == nil || !m.registered || l.BootID != s.bootID {
		s.mu.Unlock()
		return nil, errConflict
	}
	m.leaseGen++
	gen := m.leaseGen
	m.poke() // retire an older waiter
	if l.Ack >= m.leaseSeq && m.leaseSeq > 0 {
		for _, t := range m.unacked {
			t.delivered = true
		}
		m.unacked, m.unackedC = nil, nil
	}
	m.leasing++
	// One way out, whether it returns or panics: the lock is released
	// exactly once, so a bug in here cannot wedge every later request.
	locked := true
	defer func() {
		if !locked {
			s.mu.Lock()
		}
		m.leasing--
		m.lastSeen = time.Now()
		s.mu.Unlock()
	}()
	for {
		m.lastSeen = time.Now()
		if !m.registered {
			return nil, errConflict
		}
		if m.leaseGen != gen {
			return &client.Leased{}, nil
		}
		if out := s.takeWork(m); out != nil {
			return out, nil
		}
		ch := make(chan struct{})
		m.waiter = ch
		s.mu.Unlock()
		locked = false
		select {
		case <-ch:
		case <-timer.C:
			return &client.Leased{}, nil
		case <-ctx.Done():
			return &client.Leased{}, nil
		}
		s.mu.Lock()
		locked = true
	}
}

// takeWork builds a lease from what is unacknowledged and what is new.
// Called with s.mu held.
func (s *Server) takeWork(m *machineRT) *client.Leased {
	var live []*taskRT
	for _, t := range m.unacked {
		if t.row.State == burst.Running && !t.delivered {
			live = append(live, t)
		}
	}
	m.unacked = append(live, m.outbox...)
	m.unackedC = append(m.unackedC, m.cancels...)
	m.outbox, m.cancels = nil, nil
	if len(m.unacked) == 0 && len(m.unackedC) == 0 {
		return nil
	}
	m.leaseSeq++
	out := &client.Leased{Seq: m.leaseSeq, Cancel: m.unackedC, Jobs: map[int64]*client.JobContext{}}
	for _, t := range m.unacked {
		out.Tasks = append(out.Tasks, s.assignment(t))
		if out.Jobs[t.row.JobID] == nil {
			out.Jobs[t.row.JobID] = s.jobContext(t.job)
		}
	}
	return out
}

// Report applies task events from an agent; they are committed when it
// returns nil.
func (s *Server) Report(ctx context.Context, r *client.Report) error {
	s.mu.Lock()
	m := s.machines[r.Machine]
	if m == nil || !m.registered || r.BootID != s.bootID {
		s.mu.Unlock()
		return errConflict
	}
	now := time.Now().UTC()
	m.lastSeen = now
	var b batch
	s.applyEvents(m, r.Events, now, &b)
	s.place(now, &b)
	return s.apply(&b)
}

// machineLost marks every task of m lost (requeuing what may run again),
// killing their processes first when they run on this host and are still
// identifiable by pid and start time. Called with s.mu held.
func (s *Server) machineLost(m *machineRT, why string, b *batch) {
	now := time.Now().UTC()
	s.accrue(m, now)
	host, _ := os.Hostname()
	for _, t := range m.tasks {
		if m.row.Host == host && t.row.PID > 0 {
			if err := runner.KillGroup(t.row.PID, t.row.PIDStart); err == nil {
				s.log.Info("killed orphaned task", "job", t.row.JobID, "task", t.row.Index, "pid", t.row.PID)
			}
		}
		s.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Lost, Reason: why}, now, b)
	}
	m.outbox, m.cancels, m.unacked, m.unackedC, m.leaseSeq = nil, nil, nil, nil, 0
	if m.row.State == burst.MachinePending && m.cluster != nil && !m.local {
		d := m.cluster.startFailed(now)
		why += fmt.Sprintf(" before it registered (see %s/%s.log); the cluster waits %s before starting another", s.home.Agents(), m.row.ID, d)
	}
	if prov := s.machineProvider(m); prov != nil && !m.local && m.handle != (provider.Handle{}) {
		// Whatever is left of it (a hung agent, an allocation, a VM) must
		// not go on holding resources or costing money unmetered.
		h := m.handle
		s.background(func(ctx context.Context) { prov.Stop(ctx, h) })
	}
	m.registered = false
	m.row.State = burst.MachineLost
	m.row.StoppedAt = &now
	b.machine(m)
	if !m.local {
		b.event(s.newEvent("server", "machine.lost", m.row.Project, m.row.ID, m.row.ID+" lost: "+why))
	}
	m.poke()
	s.log.Warn("machine lost", "machine", m.row.ID, "why", why)
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
	for _, t := range reopened {
		if t.Index < j.row.Dispatched {
			j.requeueTask(*t)
		}
	}
	s.jobs[id] = j
	s.order = append(s.order, id) // it waits behind what was queued meanwhile
	s.kickScheduler()
	out := j.row.Job
	out.Tasks.Queued = out.Tasks.Total - out.Tasks.Done() - out.Tasks.Running
	return &out, nil
}
