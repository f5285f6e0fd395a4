package server

import (
	"log/slog"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/sched"
	"github.com/burst-sh/burst/internal/store"
)

// machineRT is a machine and the agent that serves it.
type machineRT struct {
	row        store.MachineRow
	local      bool
	tasks      map[taskKey]*taskRT
	outbox     []*taskRT
	cancels    []client.TaskRef
	unacked    []*taskRT        // tasks of lease leaseSeq, not yet acknowledged
	unackedC   []client.TaskRef // cancels of lease leaseSeq
	leaseSeq   uint64
	waiter     chan struct{} // closed to wake the one lease request that waits
	leaseGen   uint64        // a newer lease request retires older ones
	registered bool
	lastSeen   time.Time
	leasing    int
	waitUntil  time.Time // an agent that survived a server restart gets until then to register

	cluster    *clusterRT      // nil for an agent that joined by itself with an unknown cluster name
	handle     provider.Handle // how its provider knows it
	meterAt    time.Time       // charged up to here
	flushedAt  time.Time       // the ledger holds its charges up to here
	gpuShare   float64         // fraction of its price due to GPUs
	idleSince  time.Time       // when it last had no task
	drain      bool            // takes no new task; stops once idle
	drainBy    string          // who asked for the drain: the stop is theirs
	startedBy  time.Time       // when it was asked to start (pending since)
	streamAddr string          // where its agent accepts pipe streams
	stopWhy    string          // why it is stopping: its tasks are requeued with this once it is gone
	manual     bool            // a person started or stopped it last (row.StoppedBy: who stopped it)
	until      time.Time       // it goes away then (a pilot's allocation ends); zero: not known
	starting   bool            // its provider is starting it (see startMachine)
}

func newMachineRT(row store.MachineRow) *machineRT {
	return &machineRT{row: row, tasks: map[taskKey]*taskRT{}}
}

// state is the machine's state as seen from outside: pending while its
// provider starts it (its row says stopped until the provider answers).
func (m *machineRT) state() string {
	if m.starting {
		return burst.MachinePending
	}
	return m.row.State
}

// poke wakes the lease request waiting for this machine, if any.
func (m *machineRT) poke() {
	if m.waiter != nil {
		close(m.waiter)
		m.waiter = nil
	}
}

func (m *machineRT) schedView(now time.Time) sched.Machine {
	gpus := make([]int, len(m.row.GPUs))
	for i, g := range m.row.GPUs {
		gpus[i] = g.Index
	}
	sm := sched.Machine{
		ID: m.row.ID, Name: m.row.ID, Cluster: m.row.Cluster,
		Capacity:  m.row.Capacity(),
		GPUs:      gpus,
		Accepting: m.registered && m.row.State == burst.MachineRunning && !m.drain,
		Until:     m.until,
	}
	// Every agent keeps a queue of short tasks ready (the native Slurm agent
	// submits queued tasks at once, as it does every task).
	sm.Prefetch = max(32, 8*m.row.CPUs)
	for _, t := range m.tasks {
		sm.Running = append(sm.Running, sched.Running{Res: t.res(), GPUIDs: t.row.GPUIDs, Ends: t.ends(now), JobID: t.row.JobID})
		if t.queued && !t.started {
			sm.Queued++
		}
	}
	return sm
}

func (m *machineRT) used() burst.Resources {
	var u burst.Resources
	for _, t := range m.tasks {
		r := t.res()
		u.CPUs += r.CPUs
		u.MemBytes += r.MemBytes
		u.GPUs += r.GPUs
	}
	return u
}

// batch collects what one change writes, so that it is enqueued as one
// store operation under the server's lock (keeping memory and store in the
// same order) and committed before anyone is told.
type batch struct {
	tasks    []store.TaskRow
	taskAt   map[taskKey]int // index in tasks: a task written twice in one batch is written once
	jobs     map[*jobRT]bool
	machines []store.MachineRow
	projects []store.ProjectRow
	events   []burst.Event
	stops    []*taskRT // tasks to cancel at their agents once this is committed
	placed   []*taskRT // tasks to hand to their agents once this is committed

	// Effects: what the server does once the lock is released (kills,
	// halts, logs: before waiting for the commit) or once the batch is
	// committed (wakes, with stops and placed).
	wakes []*machineRT // lease requests to wake: their machine has news
	kills []orphan     // processes on this host that must not outlive a lost machine
	halts []*machineRT // machines whose provider must stop what is left of them
	logs  []logLine
}

// orphan is a task's process left by a lost agent on this host.
type orphan struct {
	ref      client.TaskRef
	pid      int
	pidStart uint64
}

// logLine is a line for the server's log.
type logLine struct {
	level slog.Level
	msg   string
	args  []any
}

func (b *batch) wake(m *machineRT) { b.wakes = append(b.wakes, m) }

func (b *batch) log(level slog.Level, msg string, args ...any) {
	b.logs = append(b.logs, logLine{level, msg, args})
}

func (b *batch) task(t store.TaskRow) {
	k := taskKey{t.JobID, t.Index}
	if i, ok := b.taskAt[k]; ok {
		b.tasks[i] = t
		return
	}
	if b.taskAt == nil {
		b.taskAt = map[taskKey]int{}
	}
	b.taskAt[k] = len(b.tasks)
	b.tasks = append(b.tasks, t)
}

func (b *batch) job(j *jobRT) {
	if b.jobs == nil {
		b.jobs = map[*jobRT]bool{}
	}
	b.jobs[j] = true
}

func (b *batch) machine(m *machineRT) {
	row := m.row
	if !m.flushedAt.IsZero() {
		// The mark the ledger holds charges up to, not the meter's latest:
		// charges not yet flushed would be lost with a crash otherwise.
		at := m.flushedAt
		row.MeteredUntil = &at
	}
	b.machines = append(b.machines, row)
}

func (b *batch) event(e burst.Event) { b.events = append(b.events, e) }

func (b *batch) empty() bool {
	return len(b.tasks) == 0 && len(b.jobs) == 0 && len(b.machines) == 0 && len(b.placed) == 0 &&
		len(b.projects) == 0 && len(b.events) == 0
}
