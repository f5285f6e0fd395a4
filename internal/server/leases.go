package server

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/store"
)

// unlease puts what an unacknowledged lease held back in line, for an agent
// that registered again without having received it.
func (m *machineRT) unlease() {
	m.outbox = append(m.undelivered(), m.outbox...)
	m.cancels = append(m.unackedC, m.cancels...)
	m.limits = mergeLimits(m.unackedL, m.limits)
	m.unacked, m.unackedC, m.unackedL, m.leaseSeq = nil, nil, nil, 0
}

// dropNews forgets what m's agent was to hear (tasks, cancels, signals):
// its tasks have ended here.
func (m *machineRT) dropNews() {
	m.outbox, m.cancels, m.unacked, m.unackedC, m.signals, m.leaseSeq = nil, nil, nil, nil, nil, 0
	m.limits, m.unackedL = nil, nil
}

// maxSignals bounds the signals waiting for one machine's next lease: an
// agent cut off while a user sends signal after signal holds no more.
const maxSignals = 256

// undelivered are the tasks of the unacknowledged lease that still run and
// that the agent has not yet said it has.
func (m *machineRT) undelivered() []*taskRT {
	var out []*taskRT
	for _, t := range m.unacked {
		if t.row.State == burst.Running && !t.delivered {
			out = append(out, t)
		}
	}
	return out
}

// takeWork builds a lease from what is unacknowledged and what is new;
// nil if there is none, or if all of it is prefetched tasks that the agent
// does not need yet (see urgent) and force is false. Called with s.mu held.
func (c *control) takeWork(m *machineRT, force bool) *client.Leased {
	if !force && !m.urgent() {
		return nil
	}
	m.unacked = append(m.undelivered(), m.outbox...)
	m.unackedC = append(m.unackedC, m.cancels...)
	m.unackedL = mergeLimits(m.unackedL, m.limits)
	m.outbox, m.cancels, m.limits = nil, nil, nil
	if len(m.unacked) == 0 && len(m.unackedC) == 0 && len(m.signals) == 0 && len(m.unackedL) == 0 {
		return nil
	}
	m.leaseSeq++
	out := &client.Leased{Seq: m.leaseSeq, Cancel: m.unackedC, Signals: m.signals, Limits: m.unackedL, Jobs: map[int64]*client.JobContext{}}
	for _, ref := range m.unackedC {
		if j := c.jobs[ref.Job]; j != nil {
			if t := j.running[ref.Index]; t != nil && t.requeued && t.ref() == ref {
				out.Requeue = append(out.Requeue, ref)
			}
		}
	}
	m.signals = nil
	for _, t := range m.unacked {
		if t.handed == 0 {
			m.handed++
			t.handed = m.handed
		}
		out.Tasks = append(out.Tasks, c.assignment(t))
		if out.Jobs[t.row.JobID] == nil {
			out.Jobs[t.row.JobID] = c.jobContext(t.job)
		}
	}
	return out
}

// urgent reports whether m's agent should be handed its news now: a
// cancel, a task to start now, a lease it did not acknowledge, or
// prefetched tasks once the queue it holds runs low. Prefetched tasks
// placed one at a time (one a task that ends) are handed over in bunches
// of about half the queue: a lease a bunch, not a lease a task.
func (m *machineRT) urgent() bool {
	if len(m.cancels) > 0 || len(m.unackedC) > 0 || len(m.signals) > 0 || len(m.limits) > 0 || len(m.unackedL) > 0 {
		return true
	}
	for _, t := range m.unacked {
		if t.row.State == burst.Running && !t.delivered {
			return true
		}
	}
	if len(m.outbox) == 0 {
		return false
	}
	for _, t := range m.outbox {
		if !t.queued {
			return true
		}
	}
	held := -len(m.outbox) // queued tasks the agent holds, not yet started
	for _, t := range m.tasks {
		if t.queued && !t.started {
			held++
		}
	}
	return held < m.prefetch()/2
}

// mergeLimits is a with b's limits added, a later limit of a job in place
// of an earlier one.
func mergeLimits(a, b []client.JobLimit) []client.JobLimit {
	for _, l := range b {
		i := slices.IndexFunc(a, func(x client.JobLimit) bool { return x.Job == l.Job })
		if i < 0 {
			a = append(a, l)
		} else {
			a[i] = l
		}
	}
	return a
}

// sendLimit tells the machines that hold tasks of j (running there, or
// queued there) its time limit, through their next leases.
func (c *control) sendLimit(j *jobRT) {
	l := []client.JobLimit{{Job: j.row.ID, TimeLimitS: j.row.Spec.Resources.TimeLimit}}
	for _, t := range j.running {
		if m := t.machine; m != nil {
			m.limits = mergeLimits(m.limits, l)
			m.poke()
		}
	}
}

// dropFromOutbox takes t out of its machine's outbox; false if it was not
// there (already leased, or not yet placed in it).
func (c *control) dropFromOutbox(t *taskRT) bool {
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

// neverStarted is the set of m's tasks that its agent held queued
// (prefetched) and cannot have started when it went away. Such a task
// counts no lost machine: counted, a map's queue of 32 prefetched tasks
// used a loss at every agent killed under it, and after 3 kills tasks that
// never ran ended lost for good. The agent starts its queue in the order
// it was handed (taskRT.handed), each as a place frees; a start is
// reported within milliseconds but may die with the agent. So of a job's
// queued tasks not reported started, the first ones count, as many as the
// job had places free on m by what the server was told, and at least one
// (a place freed by an end not yet reported): a task that kills every
// agent it starts on is still given up after maxLost. The rest (the
// queue's tail) cannot have started.
func (m *machineRT) neverStarted() map[*taskRT]bool {
	held := map[int64][]*taskRT{} // a job's tasks queued at m, not reported started
	busy := map[int64]int{}       // a job's tasks that hold a place on m: started, or handed to start at once
	for _, t := range m.tasks {
		switch {
		case t.queued && !t.started && t.delivered:
			held[t.row.JobID] = append(held[t.row.JobID], t)
		case t.started || !t.queued:
			busy[t.row.JobID]++
		}
	}
	var never map[*taskRT]bool
	for id, q := range held {
		slices.SortFunc(q, func(a, b *taskRT) int { return cmp.Compare(a.handed, b.handed) })
		mayStart := max(1, m.places(q[0])-busy[id])
		for _, t := range q[min(mayStart, len(q)):] {
			if never == nil {
				never = map[*taskRT]bool{}
			}
			never[t] = true
		}
	}
	return never
}

// places is how many tasks like t may run at once on m: as many as its
// CPUs hold (MaxSharedRunning of tasks that reserve none), at most the
// job's -j.
func (m *machineRT) places(t *taskRT) int {
	n := burst.MaxSharedRunning
	if cpus := t.res().CPUs; cpus > 0 {
		n = max(1, m.row.CPUs/cpus)
	}
	if r := t.job.row.Spec.MaxRunning; r > 0 {
		n = min(n, r)
	}
	return n
}

// loseMachine marks every task of m lost (requeuing what may run again).
// Their processes, when they run on this host and are still identifiable
// by pid and start time, are killed (an effect, before the commit is
// waited for), and whatever is left of m is stopped by its provider.
func (c *control) loseMachine(m *machineRT, why string, now time.Time, b *batch) {
	c.x.accrue(m, now)
	never := m.neverStarted()
	for _, t := range m.sortedTasks() {
		if m.row.Host == c.host && t.row.PID > 0 {
			b.kills = append(b.kills, orphan{t.ref(), t.row.PID, t.row.PIDStart})
		}
		if never[t] {
			t.delivered = false // as if it never left the server: no attempt used, no loss counted
		}
		c.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Lost, Reason: why}, now, b)
	}
	m.dropNews()
	if m.row.State == burst.MachinePending && m.cluster != nil && !m.local {
		d := m.cluster.lostUnjoined(now)
		why += fmt.Sprintf(" before it registered (see %s/%s.log); the cluster waits %s before starting another", c.agents, m.row.ID, d)
	}
	if !m.local && m.handle != (provider.Handle{}) {
		// Whatever is left of it (a hung agent, an allocation, a VM) must
		// not go on holding resources or costing money unmetered.
		b.halts = append(b.halts, halt{id: m.row.ID, provider: m.row.Provider, h: m.handle})
	}
	m.registered = false
	m.row.State = burst.MachineLost
	m.row.StoppedAt = &now
	b.machine(m)
	if !m.local {
		b.event(eventAt(now, "server", "machine.lost", m.row.Project, m.row.ID, m.row.ID+" lost: "+why))
	}
	b.wake(m)
	b.log(slog.LevelWarn, "machine lost", "machine", m.row.ID, "why", why)
}

// register (re)connects an agent: applies the events it could not report,
// keeps the tasks it still runs, and marks lost those it does not. It
// returns the tasks the agent runs that the server no longer wants.
func (c *control) register(r *client.Register, now time.Time, b *batch) ([]client.TaskRef, error) {
	if r.Machine == "" {
		return nil, badRequest("register: machine name missing")
	}
	m := c.machines[r.Machine]
	if m != nil && m.starting {
		return nil, fmt.Errorf("machine %s is still being started by its provider: register again in a moment", r.Machine)
	}
	if m != nil && !m.local && m.row.Provider != "" && !live(m.row.State) {
		return nil, badRequest("machine %s is %s: its agent should exit (start it with `burst machine start %s`)", r.Machine, m.row.State, r.Machine)
	}
	if m != nil && m.doomed != 0 && r.PID == m.doomed {
		return nil, badRequest("agent %d on %s came back too late and is being stopped: a new agent serves this host", r.PID, r.Machine)
	}
	if m != nil && m.cluster != nil && m.cluster.caps().Joins && (m.row.State == burst.MachineTerminated || m.row.State == burst.MachineStopped && !m.mayReturn) {
		// burst never starts it: a person or a guardrail stopped it, and
		// `burst machine start` lets its agent back.
		if m.row.State == burst.MachineStopped {
			return nil, badRequest("machine %s is stopped: its agent should exit (let it back with `burst machine start %s`, then restart its agent)", r.Machine, r.Machine)
		}
		return nil, badRequest("machine %s is %s: its agent should exit (join it again with a new token: burst join-token create --cluster %s)", r.Machine, m.row.State, m.row.Cluster)
	}
	if m != nil {
		m.mayReturn = false
	}
	if m != nil && m.row.State == burst.MachineStopping {
		if m.cluster != nil && m.cluster.caps().Joins {
			return nil, badRequest("machine %s is stopping: its agent should exit (let it back with `burst machine start %s`, then restart its agent)", r.Machine, r.Machine)
		}
		return nil, badRequest("machine %s is stopping: its agent should exit", r.Machine)
	}
	if m == nil {
		m = newMachineRT(store.MachineRow{Machine: burst.Machine{ID: r.Machine, StartedAt: &now}})
		c.machines[r.Machine] = m
	}
	m.streamAddr = r.StreamAddr
	m.row.Remote = r.Remote // it shares no filesystem with this server (output.go)
	m.row.OS = r.OS
	m.stacks = r.Stacks // it runs tasks inside stacks (stacks.go)
	if m.row.State != burst.MachineRunning {
		// The meter starts when the machine is up.
		c.x.accrue(m, now)
		m.row.StartedAt = &now
		m.row.StoppedAt = nil
		m.meterAt, m.flushedAt = now, now
		m.idleSince = now
	}
	m.row.Cluster, m.row.Host, m.row.State = r.Cluster, r.Host, burst.MachineRunning
	m.row.CPUs, m.row.MemBytes, m.row.GPUs = r.CPUs, r.MemBytes, r.GPUs
	if m.cluster == nil {
		m.setCluster(c.clusters[r.Cluster])
	}
	if m.row.Provider == "" || m.local {
		// This host, or an agent that joined by itself: owned, priced per use.
		c.x.priceOwned(m)
		if strings.HasSuffix(r.Cluster, ":native") {
			m.row.Type = "Slurm's own jobs"
		}
		if m.cluster != nil && m.cluster.caps().Joins {
			m.row.Type = "joined" // of its own size, not this host
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
	agentTimes(r.Events, r.SentAt, now)
	c.applyEvents(m, r.Events, now, b)
	reported := map[taskKey]client.RunningTask{}
	for _, rt := range r.Running {
		reported[taskKey{rt.Job, rt.Index}] = rt
	}
	var kill []client.TaskRef
	never := m.neverStarted()
	for k, t := range m.tasks {
		rt, ok := reported[k]
		switch {
		case ok && rt.Attempt == t.row.Attempt:
			delete(reported, k)
			t.delivered = true
			if !t.started && rt.PID > 0 {
				c.x.accrue(m, now)
				t.started = true
				t.job.row.Tasks.Running++
				c.taskStarted(t.job, t.row.Index)
				c.startSignals(t)
				b.job(t.job)
			}
			if t.row.PID == 0 || t.row.PID != rt.PID {
				t.row.PID, t.row.PIDStart = rt.PID, rt.PIDStart
				b.task(t.row)
			}
			if t.cancel {
				m.cancels = append(m.cancels, t.ref())
			}
			if spec := t.job.row.Spec; spec.Pipe == nil && !cutPerTask(spec) {
				// A limit changed while the server was away, or whose
				// lease was lost: the agent has it again (the same one
				// changes nothing). Not the limit of an array cut to
				// its deadline task by task: each of its tasks keeps
				// the one it started with (deadline.go).
				m.limits = mergeLimits(m.limits, []client.JobLimit{{Job: t.row.JobID, TimeLimitS: t.job.row.Spec.Resources.TimeLimit}})
			}
		case !t.delivered:
			// still in the outbox: it will be leased.
		case sameAgent && !t.started:
			// Dispatched, but the server died before handing it over:
			// hand it over now, on the same attempt.
			t.delivered = false
			m.outbox = append(m.outbox, t)
		default:
			if never[t] {
				t.delivered = false // it never left the old agent's queue: no attempt used, no loss counted
			}
			c.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Lost,
				Reason: "agent on " + m.row.ID + " restarted without it"}, now, b)
		}
	}
	for _, rt := range reported {
		kill = append(kill, rt.TaskRef)
	}
	if idle := serverClock(r.SentAt, now)(r.IdleSince); idle != nil && len(m.tasks) == 0 && idle.Before(m.idleSince) {
		// A restarted server set its idle time to its own start
		// (recover): the agent kept when its last task ended, which
		// the machine shows. Idle-stop still counts from the restart:
		// work the restart has not placed yet may be for it.
		m.idleAgent = *idle
	}
	m.registered = true
	m.waitUntil = time.Time{}
	if m.cluster != nil {
		m.cluster.backoff.Clear()
		if lim := time.Duration(m.cluster.def.TimeLimitS) * time.Second; lim > 0 && m.row.Provider != "" && m.cluster.caps().TimeLimit && m.row.StartedAt != nil {
			m.until = m.row.StartedAt.Add(lim - provider.PilotMargin(lim))
		}
	}
	b.machine(m)
	b.log(slog.LevelInfo, "agent registered", "machine", m.row.ID, "pid", r.PID, "running", len(r.Running), "kill", len(kill))
	return kill, nil
}

// beginLease starts a lease request of an agent: it retires an older
// request of the same machine still waiting, and takes the
// acknowledgement of the last lease (l.Ack). It returns the machine and
// the request's generation, for leaseWork.
func (c *control) beginLease(l *client.Lease, now time.Time) (*machineRT, uint64, error) {
	m := c.machines[l.Machine]
	if m == nil || !m.registered || l.BootID != c.bootID {
		return nil, 0, errConflict
	}
	m.leaseGen++
	m.poke() // retire an older waiter
	if l.Ack >= m.leaseSeq && m.leaseSeq > 0 {
		for _, t := range m.unacked {
			t.delivered = true
		}
		m.unacked, m.unackedC, m.unackedL = nil, nil, nil
	}
	m.leasing++
	m.lastSeen = now
	if l.Load != nil {
		m.row.Load = l.Load
	}
	return m, m.leaseGen, nil
}

// leaseWork is what lease request gen of m gets now: a lease, an empty
// answer (a newer request retired it), an error (its agent must register
// again), or nothing yet and a channel closed when there may be some.
// last is the request's last look before it answers empty: it takes the
// prefetched tasks held back too.
func (c *control) leaseWork(m *machineRT, gen uint64, now time.Time, last bool) (*client.Leased, <-chan struct{}, error) {
	m.lastSeen = now
	switch {
	case !m.registered:
		return nil, nil, errConflict
	case m.leaseGen != gen:
		return &client.Leased{}, nil, nil
	}
	if out := c.takeWork(m, last); out != nil {
		return out, nil, nil
	}
	ch := make(chan struct{})
	m.waiter = ch
	return nil, ch, nil
}

// endLease ends a lease request of m.
func (c *control) endLease(m *machineRT, now time.Time) {
	m.leasing--
	m.lastSeen = now
}

// report applies task events from an agent and places the tasks that may
// follow, in the same batch.
func (c *control) report(r *client.Report, now time.Time, b *batch) error {
	m := c.machines[r.Machine]
	if m == nil || !m.registered || r.BootID != c.bootID {
		return errConflict
	}
	m.lastSeen = now
	agentTimes(r.Events, r.SentAt, now)
	c.applyEvents(m, r.Events, now, b)
	// Only an ended task frees room; the tasks that follow it are placed in
	// the same batch. Reports of starts and progress alone place nothing
	// (a start frees a prefetch slot at most: the next end refills it).
	for _, ev := range r.Events {
		if ev.Kind == client.EventExited {
			c.place(now, b)
			break
		}
	}
	if m.waiter != nil && len(m.outbox) > 0 && m.urgent() {
		m.poke() // the queue the agent holds ran low: hand over what was held back
	}
	return nil
}

// committed is what follows once b is durable: placed tasks go to their
// machines' outboxes and cancels to their agents, lease requests wake,
// finished jobs are forgotten and their watchers told. A task placed while
// its job was being stopped never reaches an agent: it ends here, into
// next (its cancel went to an agent that never had it).
func (c *control) committed(b *batch, now time.Time, next *batch) {
	for _, m := range b.wakes {
		m.poke()
	}
	for _, t := range b.placed {
		switch {
		case t.row.State != burst.Running:
		case t.cancel:
			c.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Cancelled, Reason: t.job.row.Reason}, now, next)
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
			delete(c.jobs, j.row.ID)
			c.forgetJob(j)
			c.dropInputs(j)
		}
		j.signal()
	}
}
