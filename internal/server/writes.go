package server

import (
	"log/slog"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/store"
)

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
	outputs  []client.TaskOutputs // staged tasks' outputs, each of job outJobs[i]
	outJobs  []int64
	writes   []func(*store.Tx) error // other rows (the result cache's), written after the tasks
	uses     []cacheUse              // tasks' hits and misses in the result cache (cache.go)
	stops    []*taskRT               // tasks to cancel at their agents once this is committed
	placed   []*taskRT               // tasks to hand to their agents once this is committed

	// Effects: what the server does once the lock is released (kills,
	// halts, logs: before waiting for the commit) or once the batch is
	// committed (wakes, with stops and placed).
	wakes []*machineRT // lease requests to wake: their machine has news
	kills []orphan     // processes on this host that must not outlive a lost machine
	halts []halt       // machines whose provider must stop what is left of them
	logs  []logLine
	// durable is shell work to start once the batch is committed (a
	// machine's provider stop, once the stop and who asked are saved).
	durable []func()
	// wakeAt is when placement must run again though nothing else happens
	// (a map's --delay ends then); zero: no such time.
	wakeAt time.Time
	// shown are projects a change of which, held in memory alone (a
	// running task's progress), a dashboard page may show.
	shown []string
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

// show records a change of project held in memory alone, for the
// dashboard's live pages (uichanges.go).
func (b *batch) show(project string) { b.shown = append(b.shown, project) }

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
		len(b.projects) == 0 && len(b.events) == 0 && len(b.outputs) == 0 && len(b.writes) == 0 && len(b.uses) == 0
}

// halt is a machine whose provider must stop what is left of it, by the
// handle it had when the batch was made: the same machine may be started
// again before the effect runs, and that new one must not be stopped.
type halt struct {
	id       string
	provider string
	h        provider.Handle
}
