package server

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/sched"
	"github.com/burst-sh/burst/internal/store"
)

// maxLost is how often a task may lose its machine before it is given up
// as lost for good: a task that kills every machine it lands on must not
// loop forever.
const maxLost = 3

type taskKey struct {
	job   int64
	index int
}

// taskRT is a dispatched task that has not ended yet.
type taskRT struct {
	row       store.TaskRow
	job       *jobRT
	machine   *machineRT
	delivered bool // the agent has it: acknowledged its lease, reported it, or it was running before a restart
	cancel    bool // a cancel was requested
}

func (t *taskRT) ref() client.TaskRef {
	return client.TaskRef{Job: t.row.JobID, Index: t.row.Index, Attempt: t.row.Attempt}
}

// ends is when the task's time limit runs out; zero if unknown.
func (t *taskRT) ends() time.Time {
	lim := t.job.row.Spec.Resources.TimeLimit
	if lim == 0 {
		return time.Time{}
	}
	start := time.Now()
	if t.row.StartedAt != nil {
		start = *t.row.StartedAt
	}
	return start.Add(time.Duration(lim) * time.Second)
}

// jobRT is an active job: its row as last written plus what only memory
// needs.
type jobRT struct {
	row      store.JobRow
	requeue  []store.TaskRow // tasks to run again, in order
	running  map[int]*taskRT
	changed  chan struct{} // closed and replaced whenever the job changes
	finished bool          // every task ended; removed once that is committed
}

func newJobRT(row store.JobRow) *jobRT {
	return &jobRT{row: row, running: map[int]*taskRT{}, changed: make(chan struct{})}
}

// pending is the number of tasks waiting to be placed.
func (j *jobRT) pending() int {
	if j.row.CancelRequested || j.finished {
		return 0
	}
	return j.row.Tasks.Total - j.row.Dispatched + len(j.requeue)
}

func (j *jobRT) signal() {
	close(j.changed)
	j.changed = make(chan struct{})
}

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
}

func newMachineRT(row store.MachineRow) *machineRT {
	return &machineRT{row: row, tasks: map[taskKey]*taskRT{}}
}

// poke wakes the lease request waiting for this machine, if any.
func (m *machineRT) poke() {
	if m.waiter != nil {
		close(m.waiter)
		m.waiter = nil
	}
}

// unlease puts what an unacknowledged lease held back in line, for an agent
// that registered again without having received it.
func (m *machineRT) unlease() {
	var back []*taskRT
	for _, t := range m.unacked {
		if t.row.State == burst.Running && !t.delivered {
			back = append(back, t)
		}
	}
	m.outbox = append(back, m.outbox...)
	m.cancels = append(m.unackedC, m.cancels...)
	m.unacked, m.unackedC, m.leaseSeq = nil, nil, 0
}

func (m *machineRT) schedView() sched.Machine {
	gpus := make([]int, len(m.row.GPUs))
	for i, g := range m.row.GPUs {
		gpus[i] = g.Index
	}
	sm := sched.Machine{
		ID: m.row.ID, Name: m.row.ID, Cluster: m.row.Cluster,
		Capacity:  m.row.Capacity(),
		GPUs:      gpus,
		Accepting: m.registered && m.row.State == "running",
	}
	for _, t := range m.tasks {
		sm.Running = append(sm.Running, sched.Running{Res: t.job.row.Spec.Resources, GPUIDs: t.row.GPUIDs, Ends: t.ends()})
	}
	return sm
}

func (m *machineRT) used() burst.Resources {
	var u burst.Resources
	for _, t := range m.tasks {
		r := t.job.row.Spec.Resources
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
	jobs     map[*jobRT]bool
	machines []store.MachineRow
}

func (b *batch) task(t store.TaskRow) { b.tasks = append(b.tasks, t) }

func (b *batch) job(j *jobRT) {
	if b.jobs == nil {
		b.jobs = map[*jobRT]bool{}
	}
	b.jobs[j] = true
}

func (b *batch) machine(m *machineRT) { b.machines = append(b.machines, m.row) }

func (b *batch) empty() bool { return len(b.tasks) == 0 && len(b.jobs) == 0 && len(b.machines) == 0 }

// logPaths gives a task's stdout and stderr files.
func (s *Server) logPaths(j *jobRT, idx int, host string) (string, string) {
	spec := j.row.Spec
	if spec.Stdout == "" && spec.Stderr == "" {
		dir := filepath.Join(s.home.Logs(), strconv.FormatInt(j.row.ID, 10))
		return filepath.Join(dir, strconv.Itoa(idx)+".out"), filepath.Join(dir, strconv.Itoa(idx)+".err")
	}
	info := s.batchInfo(j, idx, host, nil)
	out, errp := spec.Stdout, spec.Stderr
	if out == "" {
		out = "slurm-%j.out"
	}
	if errp == "" {
		errp = out // as sbatch: stderr goes with stdout unless --error is given
	}
	abs := func(p string) string {
		p = expandPattern(p, info)
		if !filepath.IsAbs(p) {
			p = filepath.Join(spec.Workdir, p)
		}
		return p
	}
	return abs(out), abs(errp)
}

// dispatch takes the next task of j for machine m. Called with s.mu held.
func (s *Server) dispatch(j *jobRT, m *machineRT, gpus []int, now time.Time, b *batch) *taskRT {
	var row store.TaskRow
	if len(j.requeue) > 0 {
		row = j.requeue[0]
		j.requeue = j.requeue[1:]
	} else {
		row = store.TaskRow{Task: burst.Task{JobID: j.row.ID, Index: j.row.Dispatched}}
		j.row.Dispatched++
	}
	row.Attempt++
	row.State = burst.Running
	row.Machine = m.row.ID
	row.GPUIDs = gpus
	row.PID, row.PIDStart = 0, 0
	row.ExitCode, row.Signal = nil, 0
	row.StartedAt, row.EndedAt = nil, nil
	row.UserSeconds, row.SysSeconds, row.MaxRSSBytes = 0, 0, 0
	row.Stdout, row.Stderr = s.logPaths(j, row.Index, m.row.Host)
	t := &taskRT{row: row, job: j, machine: m}
	j.running[row.Index] = t
	j.row.Tasks.Running++
	m.tasks[taskKey{row.JobID, row.Index}] = t
	b.task(t.row)
	b.job(j)
	return t
}

// endTask records how a task ended and decides what follows: a retry, a
// requeue after a lost machine, or a final state. Called with s.mu held.
func (s *Server) endTask(t *taskRT, ev client.TaskEvent, now time.Time, b *batch) {
	j, m := t.job, t.machine
	delete(j.running, t.row.Index)
	delete(m.tasks, taskKey{t.row.JobID, t.row.Index})
	j.row.Tasks.Running--
	row := t.row
	row.State, row.ExitCode, row.Signal, row.Reason = ev.State, ev.ExitCode, ev.Signal, ev.Reason
	if ev.StartedAt != nil && row.StartedAt == nil {
		row.StartedAt = ev.StartedAt
	}
	end := now
	if ev.EndedAt != nil {
		end = *ev.EndedAt
	}
	row.EndedAt = &end
	row.UserSeconds, row.SysSeconds, row.MaxRSSBytes = float64(ev.UserUS)/1e6, float64(ev.SysUS)/1e6, ev.MaxRSS
	j.row.CPUSeconds += row.UserSeconds + row.SysSeconds
	if row.MaxRSSBytes > j.row.MaxRSSBytes {
		j.row.MaxRSSBytes = row.MaxRSSBytes
	}
	spec := j.row.Spec
	switch {
	case ev.State == burst.Lost && !j.row.CancelRequested && (!t.delivered || row.LostCount+1 < maxLost):
		if t.delivered {
			row.LostCount++
		} else {
			row.Attempt-- // it never reached an agent: no machine was lost under it, no attempt used
		}
		row.State = burst.Queued
		row.Reason = fmt.Sprintf("attempt %d lost (%s); requeued", row.Attempt, ev.Reason)
		j.requeue = append(j.requeue, row)
	case ev.State == burst.Lost:
		row.LostCount++
		j.row.Tasks.Lost++
	case (ev.State == burst.Failed || ev.State == burst.Timeout) && !j.row.CancelRequested &&
		row.Attempt-row.LostCount <= spec.Retries:
		row.State = burst.Queued
		row.Reason = fmt.Sprintf("attempt %d %s (%s); retrying", row.Attempt, ev.State, describeEnd(ev))
		j.requeue = append(j.requeue, row)
	default:
		switch ev.State {
		case burst.Succeeded:
			j.row.Tasks.Succeeded++
		case burst.Timeout:
			j.row.Tasks.Timeout++
		case burst.Cancelled:
			j.row.Tasks.Cancelled++
		default:
			row.State = burst.Failed
			j.row.Tasks.Failed++
		}
	}
	t.row = row
	b.task(row)
	b.job(j)
	if row.State != burst.Queued && j.row.Tasks.Done() == j.row.Tasks.Total {
		s.finishJob(j, row, now)
	}
	_ = m
}

func describeEnd(ev client.TaskEvent) string {
	switch {
	case ev.Reason != "":
		return ev.Reason
	case ev.ExitCode != nil:
		return "exit " + strconv.Itoa(*ev.ExitCode)
	case ev.Signal != 0:
		return "signal " + strconv.Itoa(ev.Signal)
	}
	return string(ev.State)
}

// finishJob sets a job's final state once all its tasks ended; last is the
// task that ended last.
func (s *Server) finishJob(j *jobRT, last store.TaskRow, now time.Time) {
	c := j.row.Tasks
	j.finished = true
	j.row.EndedAt = &now
	j.row.ExitCode = nil
	switch {
	case j.row.CancelRequested:
		j.row.State = burst.Cancelled
		if j.row.Reason == "" {
			j.row.Reason = "cancelled"
		}
	case c.Succeeded == c.Total:
		j.row.State = burst.Succeeded
		zero := 0
		j.row.ExitCode = &zero
		j.row.Reason = ""
	case c.Total == 1:
		j.row.State = last.State
		j.row.Reason = last.Reason
		switch {
		case last.ExitCode != nil:
			v := *last.ExitCode
			j.row.ExitCode = &v
		case last.Signal != 0 && last.State == burst.Failed:
			v := 128 + last.Signal
			j.row.ExitCode = &v
		}
	default:
		j.row.State = burst.Failed
		one := 1
		j.row.ExitCode = &one
		j.row.Reason = fmt.Sprintf("%d of %d tasks did not succeed (%d failed, %d timed out, %d lost, %d cancelled)",
			c.Total-c.Succeeded, c.Total, c.Failed, c.Timeout, c.Lost, c.Cancelled)
	}
}

// snapshot builds the scheduler's view. Called with s.mu held.
func (s *Server) snapshot() ([]sched.Pending, []sched.Machine) {
	var pend []sched.Pending
	live := s.order[:0]
	for _, id := range s.order {
		j := s.jobs[id]
		if j == nil {
			continue
		}
		live = append(live, id)
		if n := j.pending(); n > 0 {
			pend = append(pend, sched.Pending{JobID: id, Res: j.row.Spec.Resources, Count: n})
		}
	}
	s.order = live
	return pend, s.machineViews()
}

func (s *Server) machineViews() []sched.Machine {
	ids := make([]string, 0, len(s.machines))
	for id := range s.machines {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]sched.Machine, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.machines[id].schedView())
	}
	return out
}
