package server

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/provider"
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
	delivered bool             // the agent has it: acknowledged its lease, reported it, or it was running before a restart
	cancel    bool             // a cancel was requested
	started   bool             // its process started (counted in Tasks.Running)
	queued    bool             // prefetched: the agent starts it when its resources allow
	preempt   string           // non-empty: its machine stops or its project's budget is spent; requeue it when it ends
	pipe      *client.Plumbing // a pipe stage's streams
	nusd      int64            // what this attempt was charged so far (nano-dollars)
}

// res is what the task asks for: its stage's resources in a pipe.
func (t *taskRT) res() burst.Resources { return t.job.row.Spec.TaskResources(t.row.Index) }

func (t *taskRT) ref() client.TaskRef {
	return client.TaskRef{Job: t.row.JobID, Index: t.row.Index, Attempt: t.row.Attempt}
}

// ends is when the task's time limit runs out; zero if unknown.
func (t *taskRT) ends() time.Time {
	lim := t.res().TimeLimit
	if lim == 0 {
		return time.Time{}
	}
	start := time.Now()
	if t.row.StartedAt != nil {
		start = *t.row.StartedAt
	}
	return start.Add(time.Duration(lim) * time.Second)
}

// retry is a task waiting to run again: 12 bytes, so that resuming a map of
// 10^6 tasks costs megabytes, not a row each.
type retry struct {
	index, attempt, lost int32
}

// jobRT is an active job: its row as last written plus what only memory
// needs.
type jobRT struct {
	row      store.JobRow
	sources  [][]string   // a map's inputs
	array    []int        // a job array's indices (arrayIndices), parsed once
	skip     map[int]bool // tasks at or after Dispatched cancelled alone, before they ran (CancelTask)
	requeue  []retry      // tasks to run again, in order
	running  map[int]*taskRT
	changed  chan struct{} // closed and replaced whenever the job changes
	finished bool          // every task ended; removed once that is committed
	// Finished tasks' count and total wall time: a job whose tasks are known
	// to be short has them prefetched by agents.
	nEnded  int
	wallSum time.Duration
	ctx     *client.JobContext // what its tasks share, built once
	// A pipe's stages that did not succeed in its current attempt, and why
	// it restarts whole (a stage's machine was lost or stopped).
	pipeFailed []pipeFailure
	restart    string
	restarts   int
}

func newJobRT(row store.JobRow) *jobRT {
	return &jobRT{row: row, running: map[int]*taskRT{}, changed: make(chan struct{})}
}

// queued is the number of the job's tasks that wait for their turn: never
// dispatched (less those cancelled alone before it) or requeued.
func (j *jobRT) queued() int {
	return j.row.Tasks.Total - j.row.Dispatched + len(j.requeue) - len(j.skip)
}

// pending is the number of tasks waiting to be placed, within the job's cap
// on tasks running at once.
func (j *jobRT) pending() int {
	if j.row.CancelRequested || j.finished {
		return 0
	}
	n := j.queued()
	if c := j.row.Spec.MaxRunning; c > 0 {
		n = min(n, c-len(j.running))
	}
	return max(n, 0)
}

// short reports whether the job's tasks have proved short enough (under a
// second on average, over a few) to be queued at agents ahead of time.
func (j *jobRT) short() bool {
	return j.nEnded >= 4 && j.wallSum < time.Duration(j.nEnded)*time.Second && j.row.Spec.Resources.GPUs == 0
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
		Accepting: m.registered && m.row.State == burst.MachineRunning && !m.drain,
		Until:     m.until,
	}
	// Every agent keeps a queue of short tasks ready (the native Slurm agent
	// submits queued tasks at once, as it does every task).
	sm.Prefetch = max(32, 8*m.row.CPUs)
	for _, t := range m.tasks {
		sm.Running = append(sm.Running, sched.Running{Res: t.res(), GPUIDs: t.row.GPUIDs, Ends: t.ends(), JobID: t.row.JobID})
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

// logPaths gives a task's stdout and stderr files.
func (s *Server) logPaths(j *jobRT, idx int, host string) (string, string) {
	spec := j.row.Spec
	if spec.Stdout == "" && spec.Stderr == "" && (spec.Batch == nil || spec.Native) {
		// A thousand tasks a directory keeps maps of 10^6 tasks browsable.
		dir := filepath.Join(s.home.Logs(), strconv.FormatInt(j.row.ID, 10), strconv.Itoa(idx/1000))
		return filepath.Join(dir, strconv.Itoa(idx)+".out"), filepath.Join(dir, strconv.Itoa(idx)+".err")
	}
	info := s.batchInfo(j, idx, host, nil)
	out, errp := spec.Stdout, spec.Stderr
	if out == "" { // sbatch's defaults, in the job's working directory
		out = "slurm-%j.out"
		if info.ArrayTaskID >= 0 {
			out = "slurm-%A_%a.out"
		}
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
func (s *Server) dispatch(j *jobRT, m *machineRT, a sched.Assignment, b *batch) *taskRT {
	row := store.TaskRow{Task: burst.Task{JobID: j.row.ID}}
	if len(j.requeue) > 0 {
		r := j.requeue[0]
		j.requeue = j.requeue[1:]
		row.Index, row.Attempt, row.LostCount = int(r.index), int(r.attempt), int(r.lost)
	} else {
		for j.skip[j.row.Dispatched] { // cancelled alone before its turn: its row says so
			delete(j.skip, j.row.Dispatched)
			j.row.Dispatched++
		}
		row.Index = j.row.Dispatched
		j.row.Dispatched++
	}
	return s.dispatchAt(j, m, a, row, b)
}

// dispatchAt hands task row (its index, attempt and lost count set) to m.
func (s *Server) dispatchAt(j *jobRT, m *machineRT, a sched.Assignment, row store.TaskRow, b *batch) *taskRT {
	row.Attempt++
	row.State = burst.Running
	row.Machine = m.row.ID
	row.GPUIDs = a.GPUIDs
	row.Stdout, row.Stderr = s.logPaths(j, row.Index, m.row.Host)
	t := &taskRT{row: row, job: j, machine: m, queued: a.Queued}
	j.running[row.Index] = t
	m.tasks[taskKey{row.JobID, row.Index}] = t
	b.task(t.row)
	b.job(j)
	return t
}

// requeueTask puts a task back in line with its attempt and lost counts.
func (j *jobRT) requeueTask(row store.TaskRow) {
	j.requeue = append(j.requeue, retry{int32(row.Index), int32(row.Attempt), int32(row.LostCount)})
}

// endTask records how a task ended and decides what follows: a retry, a
// requeue after a lost machine, or a final state. Called with s.mu held.
func (s *Server) endTask(t *taskRT, ev client.TaskEvent, now time.Time, b *batch) {
	j, m := t.job, t.machine
	if t.started {
		s.accrue(m, now) // what ran so far is charged to it before it goes
	}
	delete(j.running, t.row.Index)
	delete(m.tasks, taskKey{t.row.JobID, t.row.Index})
	if len(m.tasks) == 0 {
		m.idleSince = now
	}
	if t.started {
		j.row.Tasks.Running--
	}
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
	row.ReadBytes, row.WroteBytes = ev.ReadBytes, ev.WroteBytes
	row.StdoutTo, row.StderrTo = ev.OutTo, ev.ErrTo
	row.CostUSD = float64(t.nusd) / 1e9
	j.row.CPUSeconds += row.UserSeconds + row.SysSeconds
	if row.StartedAt != nil && ev.State != burst.Lost {
		j.nEnded++
		j.wallSum += end.Sub(*row.StartedAt)
	}
	if row.MaxRSSBytes > j.row.MaxRSSBytes {
		j.row.MaxRSSBytes = row.MaxRSSBytes
	}
	spec := j.row.Spec
	if spec.Pipe != nil {
		if s.pipeEnded(t, &ev, &row, now, b) {
			t.row = row
			b.task(row)
			b.job(j)
			return
		}
		row.State, row.Reason = ev.State, ev.Reason
	}
	stopping := j.row.CancelRequested || t.cancel // the whole job, or this task alone
	switch {
	case t.preempt != "" && !stopping && ev.State != burst.Succeeded:
		// Not the program's doing: its attempt does not count against
		// --retries, and its output so far stays until the next attempt.
		row.LostCount++
		row.State = burst.Queued
		row.Reason = fmt.Sprintf("attempt %d stopped (%s); requeued", row.Attempt, t.preempt)
		j.requeueTask(row)
		if j.row.Tasks.Running == 0 && len(j.running) == 0 {
			j.row.State = burst.Queued
			j.row.Reason = "waiting: " + row.Reason
		}
	case ev.State == burst.Lost && !stopping && (!t.started || row.LostCount+1 < maxLost):
		// Only a task known to have started counts a lost machine; one that
		// never reached an agent did not even use an attempt. One an agent
		// held keeps its attempt number: the agent may have started it and
		// died before saying so, and the next attempt must not be mistaken
		// for it (its output file starts afresh).
		if t.started {
			row.LostCount++
		}
		if !t.delivered {
			row.Attempt--
		}
		row.State = burst.Queued
		row.Reason = fmt.Sprintf("attempt %d lost (%s); requeued", row.Attempt, ev.Reason)
		j.requeueTask(row)
	case ev.State == burst.Lost && t.cancel:
		// Its cancel was asked for: that its machine went first changes
		// nothing for the user.
		row.LostCount++
		row.State, row.Reason = burst.Cancelled, "cancelled (its machine went away before it stopped: "+ev.Reason+")"
		j.row.Tasks.Cancelled++
	case ev.State == burst.Lost:
		row.LostCount++
		j.row.Tasks.Lost++
	case (ev.State == burst.Failed || ev.State == burst.Timeout) && !stopping &&
		row.Attempt-row.LostCount <= spec.Retries:
		row.State = burst.Queued
		row.Reason = fmt.Sprintf("attempt %d %s (%s); retrying", row.Attempt, ev.State, describeEnd(ev))
		j.requeueTask(row)
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
	if row.State != burst.Queued {
		s.countStorage(t, ev) // its logs as they stay: the final attempt's
	}
	c := j.row.Tasks
	if lim := j.row.Spec.Map.FailureLimit(c.Total); lim >= 0 && !j.row.CancelRequested && c.Failed+c.Timeout > lim {
		s.stopJob(j, fmt.Sprintf("stopped: %d tasks failed, more than --max-failures allows (%d)", c.Failed+c.Timeout, lim), true, now, b)
	}
	if row.State != burst.Queued && !j.finished && j.row.Tasks.Done() == j.row.Tasks.Total {
		s.finishJob(j, row, now)
	}
}

// stopJob cancels what of j has not ended: tasks never started end now;
// tasks at agents are stopped once this batch is committed. failed marks a
// stop by --max-failures (the job then ends failed, not cancelled). Called
// with s.mu held.
func (s *Server) stopJob(j *jobRT, reason string, failed bool, now time.Time, b *batch) {
	j.row.CancelRequested = true
	j.row.Stopped = failed
	j.row.Reason = reason
	// Tasks never dispatched end here; they keep no row (see handleTasks).
	j.row.Tasks.Cancelled += j.queued()
	j.skip = nil
	for _, r := range j.requeue {
		b.task(store.TaskRow{Task: burst.Task{JobID: j.row.ID, Index: int(r.index), State: burst.Cancelled,
			Attempt: int(r.attempt), Reason: reason}, LostCount: int(r.lost)})
	}
	j.requeue = nil
	b.job(j)
	for _, t := range j.running {
		t.cancel = true
		if !t.delivered && s.dropFromOutbox(t) {
			s.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Cancelled, Reason: reason}, now, b)
			continue
		}
		b.stops = append(b.stops, t)
	}
	if !j.finished && j.row.Tasks.Done() == j.row.Tasks.Total {
		s.finishJob(j, store.TaskRow{}, now)
	}
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
	if finishPipe(j) {
		return
	}
	switch {
	case j.row.CancelRequested && j.row.Stopped:
		j.row.State = burst.Failed
		j.row.ExitCode = failedStatus(j)
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
		j.row.ExitCode = failedStatus(j)
		j.row.Reason = fmt.Sprintf("%d of %d tasks did not succeed (%d failed, %d timed out, %d lost, %d cancelled)",
			c.Total-c.Succeeded, c.Total, c.Failed, c.Timeout, c.Lost, c.Cancelled)
	}
}

// failedStatus is the exit status of a job of several tasks that did not
// all succeed: for a map, GNU parallel's (the number of tasks that failed,
// timed out or were lost, up to 100; 101 for more), which burst map also
// exits with; else 1.
func failedStatus(j *jobRT) *int {
	code := 1
	if m := j.row.Spec.Map; m != nil && !m.Array {
		c := j.row.Tasks
		if n := c.Failed + c.Timeout + c.Lost; n > 0 {
			code = min(n, 101)
		}
	}
	return &code
}

// snapshot builds the scheduler's view. Called with s.mu held.
func (s *Server) snapshot() ([]sched.Pending, []sched.Machine) {
	var pend []sched.Pending
	live := s.order[:0]
	seen := make(map[int64]bool, len(s.order))
	for _, id := range s.order {
		j := s.jobs[id]
		if j == nil || seen[id] { // gone, or resumed before its old place was dropped
			continue
		}
		seen[id] = true
		live = append(live, id)
		if n := j.pending(); n > 0 && !s.held(j) {
			if j.row.Spec.Pipe != nil {
				if len(j.running) == 0 { // a pipe starts whole, once the last attempt has ended
					pend = append(pend, sched.Pending{JobID: id, Count: n, Gang: s.pipeParts(j)})
				}
				continue
			}
			pend = append(pend, sched.Pending{JobID: id, Res: j.row.Spec.Resources, Count: n, Prefetch: j.short(),
				Cluster: s.jobCluster(j)})
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
		m := s.machines[id]
		v := m.schedView()
		if m.local {
			// This host less what local clusters' machines hold of it.
			v.Running = append(v.Running, s.sliceHolders()...)
		}
		out = append(out, v)
	}
	return out
}
