package server

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/mapspec"
	"github.com/burst-sh/burst/internal/scale"
	"github.com/burst-sh/burst/internal/store"
)

// jobRT is an active job: its row as last written plus what only memory
// needs.
type jobRT struct {
	row     store.JobRow
	lastEnd time.Time    // the latest end of its tasks heard of since the server started
	sources [][]string   // a map's inputs (holdInputs)
	array   []int        // a job array's indices (arrayIndices), parsed once
	skip    map[int]bool // tasks at or after Dispatched cancelled alone, before they ran (CancelTask)
	requeue []retry      // tasks to run again, in order
	running map[int]*taskRT
	slots   slots // a map's job slots held by its running tasks ({%})
	slotted int8  // 0 not known yet, 1 its command asks for no job slot, 2 it does
	// runTimes is the median run time of a map's tasks that succeeded,
	// for its --timeout N% (medianLimit); since the server started.
	runTimes burst.Remedian
	// nextStart is when a map with --delay may start its next task (zero
	// after a restart: the first placement may).
	nextStart time.Time
	changed   chan struct{} // closed and replaced whenever the job changes
	finished  bool          // every task ended; removed once that is committed
	// Finished tasks' count and total wall time: a job whose tasks are known
	// to be short has them prefetched by agents.
	nEnded  int
	wallSum time.Duration
	// inputsSize is what sources take in memory, counted in the server's
	// heldInputs (inputsmem.go).
	inputsSize int64

	ctx *client.JobContext // what its tasks share, built once
	// A staged job's inputs: every task's, and each map task's own
	// (outputs_staged.go), split once.
	shared  []burst.Input
	perTask map[int][]burst.Input
	// A pipe's stages that did not succeed in its current attempt, and why
	// it restarts whole (a stage's machine was lost or stopped).
	pipeFailed []pipeFailure
	restart    string
	restarts   int
	// preempted says, per task index, which of its attempts a spot
	// interruption cut short: its later attempts' reasons say so too, so
	// that `burst show` shows it after the task ended (interrupt.go).
	preempted map[int]string
	// What /metrics counted of it so far: its tasks' ends, and its own end
	// (countBatch, metrics.go).
	counted    burst.TaskCounts
	endCounted bool
	// after is set while the job is held by its dependencies (deps.go).
	after *afterRT
	// tlogs are what the tasks of the jobs it waits on task by task came
	// to, and gate is set on a map whose tasks wait each for its own
	// (aftercorr): corr.go.
	tlogs map[int64]*taskEnds
	gate  *gateRT
	cache *jobCache // its state in the result cache (cache.go)
}

func newJobRT(row store.JobRow) *jobRT {
	return &jobRT{row: row, running: map[int]*taskRT{}, changed: make(chan struct{}),
		counted: row.Tasks, endCounted: row.State.Terminal()}
}

// queued is the number of the job's tasks that wait for their turn: never
// dispatched (less those cancelled alone before it) or requeued.
func (j *jobRT) queued() int {
	return j.row.Tasks.Total - j.row.Dispatched + len(j.requeue) - len(j.skip)
}

// pending is the number of tasks waiting to be placed, within the job's cap
// on tasks running at once.
func (j *jobRT) pending() int {
	if j.row.CancelRequested || j.finished || j.after != nil {
		return 0
	}
	n := j.queued()
	if j.gate != nil {
		n = len(j.requeue) // the others wait behind their gates (corr.go)
	}
	if c := j.maxRunning(); c > 0 {
		n = min(n, c-len(j.running))
	}
	return max(n, 0)
}

// maxRunning is how many of the job's tasks may run at once (0: no cap):
// its -j, at most burst.MaxSharedRunning for tasks that reserve no CPU,
// which no machine's CPUs bound (a -j of 0, "as many as possible", is that
// many).
func (j *jobRT) maxRunning() int {
	spec := j.row.Spec
	if spec.SharedCPUs && (spec.MaxRunning <= 0 || spec.MaxRunning > burst.MaxSharedRunning) {
		return burst.MaxSharedRunning // a -j above it too (one stored before it was refused)
	}
	return spec.MaxRunning
}

// begun says whether some of j's tasks were handed out: it is no longer
// only waiting. A gated map's cursor stays at 0 (corr.go): its tasks let
// through their gates (in line, or with a row and not cancelled before
// they ran) say it.
func (j *jobRT) begun() bool {
	r := &j.row
	return r.State != burst.Queued || r.Dispatched > 0 || len(j.running) > 0 ||
		gated(r.Spec) && (len(j.requeue) > 0 || len(j.skip) > r.Tasks.Cancelled)
}

// short reports whether the job's tasks have proved short enough (under a
// second on average, over a few) to be queued at agents ahead of time.
func (j *jobRT) short() bool {
	return j.nEnded >= 4 && j.wallSum < time.Duration(j.nEnded)*time.Second && j.row.Spec.Resources.GPUs == 0
}

// prefetch says whether agents may queue j's tasks ahead of their start:
// short ones, unless their command asks for its job slot ({%}): a slot is
// taken when a task is handed out, and one queued at an agent would hold
// it while it waits, so that slots ran past the tasks running at once.
func (j *jobRT) prefetch() bool {
	if !j.short() || j.row.Spec.Map.Delay() > 0 { // --delay: each start is the server's to time
		return false
	}
	if j.isMap() {
		if j.slotted == 0 {
			j.slotted = 1
			if j.usesSlot() {
				j.slotted = 2
			}
		}
		return j.slotted == 1
	}
	return true
}

// usesSlot says whether a map's command asks for its job slot: its
// template, or, for a map whose inputs are its commands, any input.
func (j *jobRT) usesSlot() bool {
	m := j.row.Spec.Map
	if !m.Commands {
		return mapspec.UsesSlot(m.Template)
	}
	for _, src := range j.sources {
		if mapspec.UsesSlot(src) {
			return true
		}
	}
	return false
}

func (j *jobRT) signal() {
	close(j.changed)
	j.changed = make(chan struct{})
}

// requeueTask puts a task back in line with its attempt and lost counts.
func (j *jobRT) requeueTask(row store.TaskRow) {
	j.requeue = append(j.requeue, retry{int32(row.Index), int32(row.Attempt), int32(row.LostCount)})
}

// stopJob cancels what of j has not ended: tasks never started end now;
// tasks at agents are stopped once this batch is committed. failed marks a
// stop by --max-failures (the job then ends failed, not cancelled). Called
// with s.mu held.
func (c *control) stopJob(j *jobRT, reason string, failed bool, now time.Time, b *batch) {
	c.stopJobAs(j, reason, failed, false, now, b)
}

// stopJobAs is stopJob; with letRun, its tasks that have started run to
// their end (a map's --halt soon) and only the others are cancelled.
func (c *control) stopJobAs(j *jobRT, reason string, failed, letRun bool, now time.Time, b *batch) {
	j.row.CancelRequested = true
	j.row.Stopped = failed
	j.row.LetRun = letRun && !failed && !j.row.Halted // a halt-soon stop is known by its spec (restore)
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
		if letRun && t.started {
			continue // ends by itself; its end is counted as any
		}
		if !t.delivered && c.dropFromOutbox(t) {
			t.cancel = true
			c.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Cancelled, Reason: reason}, now, b)
			continue
		}
		if letRun && !t.queued && t.handed > 0 && !j.row.Spec.Native {
			// Handed to its machine to start at once, not queued there:
			// it has started, or is starting, and its start is reported a
			// moment late (with other events, after exits that came
			// first). It runs to its end as a started one: cancelled, a
			// map's --halt soon dropped the output of a task that had run
			// before one after it, whose output was kept. Not one a
			// restart left without its queued mark (handed 0), nor a
			// native one (an sbatch job waiting in Slurm's queue).
			continue
		}
		t.cancel = true
		if letRun {
			// Kept: a restart lets run what this stop let run, and
			// this one alone not (restore).
			t.row.CancelRequested = true
			b.task(t.row)
		}
		b.stops = append(b.stops, t)
	}
	c.cacheStop(j, reason, now, b)
	if !j.finished && j.row.Tasks.Done() == j.row.Tasks.Total {
		c.finishJob(j, store.TaskRow{}, now)
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
func (c *control) finishJob(j *jobRT, last store.TaskRow, now time.Time) {
	n := j.row.Tasks
	j.finished = true
	c.deps.touch(j) // jobs waiting for it may go (deps.go)
	// Ended by a task's end: when the latest of its tasks ended, not when
	// the server heard of it (an agent reporting after a restart of the
	// server, a store that held its writes), so that its duration and
	// sacct's Elapsed are its tasks'. Ended by a cancel (no last task): now.
	end := now
	if last.EndedAt != nil {
		latest := *last.EndedAt
		if j.lastEnd.After(latest) {
			latest = j.lastEnd
		}
		if latest.Before(now) && (j.row.StartedAt == nil || !latest.Before(*j.row.StartedAt)) {
			end = latest
		}
	}
	j.row.EndedAt = &end
	halted := 0 // the status a --halt success= or done= fixed when it halted (mapStops)
	if j.row.Halted && j.row.ExitCode != nil {
		halted = *j.row.ExitCode
	}
	j.row.ExitCode = nil
	if finishPipe(j) {
		return
	}
	switch {
	case j.row.Halted && halted == 0: // GNU parallel exits 0 once success= (or a done= with no failure) halts it
		j.row.State = burst.Succeeded
		j.row.ExitCode = &halted
	case j.row.Halted:
		j.row.State = burst.Failed
		j.row.ExitCode = &halted
	case j.row.CancelRequested && j.row.Stopped:
		j.row.State = burst.Failed
		j.row.ExitCode = failedStatus(j)
	case j.row.CancelRequested:
		j.row.State = burst.Cancelled
		if j.row.Reason == "" {
			j.row.Reason = "cancelled"
		}
	case n.Succeeded == n.Total:
		j.row.State = burst.Succeeded
		zero := 0
		j.row.ExitCode = &zero
		j.row.Reason = ""
	case n.Total == 1:
		j.row.State = last.State
		j.row.Reason = last.Reason
		switch {
		case j.isMap(): // a map of one task exits as one of several: GNU parallel's count
			j.row.ExitCode = failedStatus(j)
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
			n.Total-n.Succeeded, n.Total, n.Failed, n.Timeout, n.Lost, n.Cancelled)
	}
}

// isMap says whether j is a map (GNU parallel's exit statuses), not a job
// array or any other kind.
func (j *jobRT) isMap() bool { m := j.row.Spec.Map; return m != nil && !m.Array }

// failedStatus is the exit status of a job whose tasks did not all
// succeed: for a map, GNU parallel's (the number of tasks that failed,
// timed out or were lost, up to 100; 101 for more), which burst map also
// exits with; else 1.
func failedStatus(j *jobRT) *int {
	code := 1
	if j.isMap() {
		c := j.row.Tasks
		if n := c.Failed + c.Timeout + c.Lost; n > 0 {
			code = min(n, 101)
		}
	}
	return &code
}

// submit queues a job the store has recorded (row, with a map's inputs).
func (c *control) submit(row store.JobRow, sources [][]string) *jobRT {
	j := newJobRT(row)
	c.holdInputs(j, sources)
	c.jobs[row.ID] = j
	c.order = append(c.order, row.ID)
	c.hold(j)
	c.watchTasks(j)
	return j
}

// inputsSize is what a map's inputs take in memory: each value's bytes and
// its string header, and each source's slice header.
func inputsSize(sources [][]string) int64 {
	n := int64(0)
	for _, src := range sources {
		n += 24
		for _, v := range src {
			n += int64(len(v)) + 16
		}
	}
	return n
}

// holdInputs gives j its inputs and counts them as held. Called with s.mu
// held.
func (c *control) holdInputs(j *jobRT, sources [][]string) {
	j.sources = sources
	j.inputsSize = inputsSize(sources)
	c.heldInputs += j.inputsSize
}

// dropInputs forgets j's inputs as it leaves memory. Called with s.mu held.
func (c *control) dropInputs(j *jobRT) {
	c.heldInputs -= j.inputsSize
	j.sources, j.inputsSize = nil, 0
}

// cancelJob cancels job id's waiting tasks and has its running ones stopped,
// for actor. It returns the job's state, or false when the job is not
// active (finished, or unknown: the store knows).
func (c *control) cancelJob(id int64, actor string, now time.Time, b *batch) (burst.State, bool) {
	j := c.jobs[id]
	if j == nil || j.finished {
		return "", false
	}
	switch {
	case !j.row.CancelRequested:
		c.stopJob(j, burst.ReasonCancelledBy+actor, false, now, b)
		b.event(eventAt(now, actor, "job.cancel", j.row.Project, "job "+strconv.FormatInt(id, 10),
			fmt.Sprintf("job %d (%s) cancelled", id, j.row.Name)))
		if cl := c.clusters[c.x.jobCluster(j)]; cl != nil {
			// The need it made will not come back: pending machines beyond
			// what still waits are withdrawn now, not after the grace.
			cl.recent = scale.RecentNeed{}
		}
	case c.stopLeft(j, burst.ReasonCancelledBy+actor, b):
		b.event(eventAt(now, actor, "job.cancel", j.row.Project, "job "+strconv.FormatInt(id, 10),
			fmt.Sprintf("job %d (%s): the tasks its --halt soon left running cancelled", id, j.row.Name)))
	}
	return j.row.State, true
}

// cancelWaiting cancels job id's tasks that have not started, for actor,
// and lets those that have run to their end (scancel -t PENDING of a job
// array some of whose tasks run). It returns the job's state, or false
// when the job is not active.
func (c *control) cancelWaiting(id int64, actor string, now time.Time, b *batch) (burst.State, bool) {
	j := c.jobs[id]
	if j == nil || j.finished {
		return "", false
	}
	if !j.row.CancelRequested {
		c.stopJobAs(j, burst.ReasonCancelledBy+actor, false, true, now, b)
		b.event(eventAt(now, actor, "job.cancel", j.row.Project, "job "+strconv.FormatInt(id, 10),
			fmt.Sprintf("job %d (%s): its tasks not yet started cancelled", id, j.row.Name)))
	}
	return j.row.State, true
}

// requeueTask stops task idx of job id, running, and puts it back in line
// to run again from the start (scontrol requeue: a batch script that
// checkpoints when told its time is nearly up, then requeues itself). As a
// task its machine's stop requeues, its attempt does not count against
// --retries (LostCount). A task not handed out is refused, as scontrol
// refuses a pending job; one already being stopped is left so.
func (c *control) requeueTask(id int64, idx int, actor string, now time.Time, b *batch) error {
	j := c.jobs[id]
	if j == nil || j.finished {
		return badRequest("job %d has ended: only a running job can be requeued (submit it again)", id)
	}
	t := j.running[idx]
	switch {
	case t == nil && (idx < 0 || idx >= j.row.Tasks.Total):
		return badRequest("job %d has no task %d", id, idx)
	case t == nil:
		return badRequest("task %d of job %d is not running: only a running job can be requeued", idx, id)
	case j.row.CancelRequested || t.cancel || t.preempt != "":
		return nil // being stopped already
	case j.row.Spec.Batch != nil && j.row.Spec.Batch.NoRequeue:
		return badRequest("job %d was submitted with --no-requeue: it is never requeued (scontrol update JobId=%d Requeue=1 allows it)", id, id)
	}
	t.requeued = true
	c.stopToRequeue(t, "requeued by "+actor, now, b)
	b.event(eventAt(now, actor, "job.requeue", j.row.Project, "job "+strconv.FormatInt(id, 10),
		fmt.Sprintf("task %d of job %d (%s) requeued", idx, id, j.row.Name)))
	return nil
}

// leftRunning reports whether a stop left some of j's tasks running (a
// map's --halt soon): they can still be cancelled.
func (j *jobRT) leftRunning() bool {
	for _, t := range j.running {
		if !t.cancel {
			return true
		}
	}
	return false
}

// stopLeft cancels the tasks of j a stop left running (--halt soon), for
// reason, and says whether there were any.
func (c *control) stopLeft(j *jobRT, reason string, b *batch) bool {
	any := false
	for _, t := range j.running {
		if t.cancel {
			continue
		}
		t.cancel, t.row.CancelRequested = true, true
		t.row.Reason = reason
		b.task(t.row) // a restarted server still stops it
		b.stops = append(b.stops, t)
		any = true
	}
	return any
}

// stopsNow tells the agents of b's stops at once, rather than once b is
// durable (committed): for a user's cancel while the store holds writes
// for a full disk, whose task may be the one that fills it. b then stops
// nothing more when it commits. An agent that stopped a task whose cancel
// a restarted server never recorded reports it cancelled, which is what
// its user asked.
func (c *control) stopsNow(b *batch) {
	for _, t := range b.stops {
		if t.row.State == burst.Running {
			t.machine.cancels = append(t.machine.cancels, t.ref())
			t.machine.poke()
		}
	}
	b.stops = nil
}

// cancelTask cancels task idx of job id alone, for actor. It returns nil
// when the job as a whole has ended or is being cancelled (cancel the job
// instead), and AlreadyFinished with no state when the task has ended (its
// row says how).
func (c *control) cancelTask(id int64, idx int, actor string, now time.Time, b *batch) (*client.CancelResult, error) {
	j := c.jobs[id]
	if j != nil && (idx < 0 || idx >= j.row.Tasks.Total) {
		return nil, badRequest("job %d has no task %d", id, idx)
	}
	if j == nil || j.finished || j.row.CancelRequested {
		return nil, nil
	}
	reason := burst.ReasonCancelledAlone + actor
	switch t := j.running[idx]; {
	case t != nil:
		t.cancel, t.row.CancelRequested = true, true
		if !t.delivered && c.dropFromOutbox(t) {
			c.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Cancelled, Reason: reason}, now, b)
		} else {
			b.task(t.row) // a restarted server still stops it
			b.stops = append(b.stops, t)
		}
	case idx >= j.row.Dispatched && !slices.ContainsFunc(j.requeue, func(r retry) bool { return int(r.index) == idx }):
		// Never dispatched (of a gated map, not yet let through its gate):
		// its row says it was cancelled, and the dispatcher skips it (a
		// restarted server finds it again).
		switch {
		case c.cacheUnpark(j, idx, reason, now, b): // of a gated map, parked behind the same result
		case j.skip[idx] && j.gate != nil: // past its gate, ended: its row says how
			return &client.CancelResult{ID: id, AlreadyFinished: true}, nil
		case j.skip[idx]:
			return &client.CancelResult{ID: id, State: burst.Cancelled, AlreadyFinished: true}, nil
		default:
			c.cancelAhead(j, idx, reason, now, b)
		}
	case c.cacheUnpark(j, idx, reason, now, b): // parked behind the same result computed elsewhere
	default:
		at := slices.IndexFunc(j.requeue, func(r retry) bool { return int(r.index) == idx })
		if at < 0 {
			return &client.CancelResult{ID: id, AlreadyFinished: true}, nil
		}
		r := j.requeue[at]
		j.requeue = slices.Delete(j.requeue, at, at+1)
		b.task(store.TaskRow{Task: burst.Task{JobID: id, Index: idx, State: burst.Cancelled, Attempt: int(r.attempt),
			Reason: reason, EndedAt: &now}, LostCount: int(r.lost)})
		j.row.Tasks.Cancelled++
		c.taskEnded(j, idx, burst.Cancelled)
	}
	b.job(j)
	if !j.finished && j.row.Tasks.Done() == j.row.Tasks.Total {
		c.finishJob(j, store.TaskRow{}, now)
	}
	b.event(eventAt(now, actor, "job.cancel", j.row.Project, "job "+strconv.FormatInt(id, 10),
		fmt.Sprintf("task %d of job %d (%s) cancelled", idx, id, j.row.Name)))
	return &client.CancelResult{ID: id, State: j.row.State}, nil
}

// cancelAhead cancels task idx of j, never dispatched, alone: its row says
// why, and the dispatcher skips it.
func (c *control) cancelAhead(j *jobRT, idx int, reason string, now time.Time, b *batch) {
	if j.skip == nil {
		j.skip = map[int]bool{}
	}
	j.skip[idx] = true
	if j.gate != nil {
		delete(j.gate.never, idx) // it waits no more (gateWaits)
	}
	b.task(store.TaskRow{Task: burst.Task{JobID: j.row.ID, Index: idx, State: burst.Cancelled, Reason: reason, EndedAt: &now}})
	j.row.Tasks.Cancelled++
	c.taskEnded(j, idx, burst.Cancelled)
	b.job(j)
	if !j.finished && j.row.Tasks.Done() == j.row.Tasks.Total {
		c.finishJob(j, store.TaskRow{}, now)
	}
}

// restore rebuilds the active jobs and their tasks from the store's rows,
// after a restart: jobs (queued or running), a map's inputs and an array's
// tasks cancelled before their turn by job, and the tasks queued or
// running. The machines must be restored first. A task recorded as
// running stays running on its machine, whose agent, if it still lives,
// registers again and keeps it; one whose machine is unknown is lost.
func (c *control) restore(jobs []*store.JobRow, inputs map[int64][][]string, ahead map[int64][]int,
	tasks []*store.TaskRow, now time.Time, b *batch) {
	for _, row := range jobs {
		j := newJobRT(*row)
		c.holdInputs(j, inputs[row.ID])
		for _, i := range ahead[row.ID] {
			if j.skip == nil {
				j.skip = map[int]bool{}
			}
			j.skip[i] = true
		}
		c.jobs[row.ID] = j
		c.order = append(c.order, row.ID)
	}
	for _, id := range c.order {
		c.hold(c.jobs[id]) // once every active job is known: those it waits for that ended are read by the shell
		c.watchTasks(c.jobs[id])
	}
	var orphans []*taskRT
	for _, row := range tasks {
		j := c.jobs[row.JobID]
		if j == nil {
			continue // job already final: a stale row
		}
		if row.State == burst.Queued {
			j.requeueTask(*row)
			if p := preemptedIn(row.Reason); p != "" {
				j.notePreempted(row.Index, p)
			}
			continue
		}
		m := c.machines[row.Machine]
		// A stop cancels the job's tasks, but those a --halt soon stop let
		// run to their end (started by then, or handed out to start at
		// once) stay running: the stop marked the others (stopJobAs).
		letRun := j.row.LetRun || (j.row.Stopped || j.row.Halted) && j.row.Spec.Map != nil && j.row.Spec.Map.HaltSoon
		t := &taskRT{row: *row, job: j, delivered: true, cancel: j.row.CancelRequested && !letRun || row.CancelRequested, started: row.StartedAt != nil}
		j.running[row.Index] = t
		j.slots.hold(row.Slot) // no new task takes the slot of one still running
		if m == nil {
			m = newMachineRT(store.MachineRow{Machine: burst.Machine{ID: row.Machine, State: "lost"}})
			t.machine = m
			orphans = append(orphans, t)
			continue
		}
		t.machine = m
		m.tasks[taskKey{row.JobID, row.Index}] = t
		if p := c.projects[j.row.Project]; p != nil && p.row.Exhausted && !j.row.CancelRequested {
			t.preempt = "budget of project " + p.row.Name + " spent" // it was being stopped: requeue it when it ends
		}
	}
	// Running counts are recomputed from what memory holds.
	for _, id := range c.order {
		j := c.jobs[id]
		n := 0
		for _, t := range j.running {
			if t.started {
				n++
			}
		}
		if j.row.Tasks.Running != n {
			j.row.Tasks.Running = n
			b.job(j)
		}
	}
	c.cacheRestore()
	for _, t := range orphans {
		c.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Lost, Reason: "its machine is gone"}, now, b)
	}
}

// resumed queues again job j, reopened in the store: its tasks whose rows
// were reopened run again (those never dispatched come in their turn). It
// waits behind what was queued meanwhile, its inputs (sources) held again. Of a gated map (corr.go), ahead
// are the tasks with a row, past their gates, as for a restart: the
// reopened ones run again at once (their gates had opened), the others
// wait behind their gates.
func (c *control) resumed(j *jobRT, sources [][]string, reopened []*store.TaskRow, ahead []int) {
	c.holdInputs(j, sources)
	gate := gated(j.row.Spec)
	if gate {
		j.skip = make(map[int]bool, len(ahead))
		for _, i := range ahead {
			j.skip[i] = true
		}
	}
	for _, t := range reopened {
		if t.Index < j.row.Dispatched || gate {
			j.requeueTask(*t)
		}
	}
	c.jobs[j.row.ID] = j
	c.order = append(c.order, j.row.ID)
	c.rewait(j)
	c.tasksReopened(j)
	if gate {
		c.watchTasks(j)
	}
}

// signalJob queues sig for the running tasks of job id (task idx alone when
// idx >= 0) on their machines (at most maxSignals waiting for each) and
// wakes their lease requests. A task handed to its agent to start now (not
// prefetched) whose start has not been reported yet (an agent reports
// starts a moment late, in batches) keeps the signal until it is
// (startSignals): its process may well be
// running, printing already, and a scancel -s then was refused as if the
// job were pending. It returns how many and the job's state (running when
// it signalled one), and false when the job is not active here.
func (c *control) signalJob(id int64, idx int, sig client.TaskSignal) (int, burst.State, bool) {
	j := c.jobs[id]
	if j == nil {
		return 0, "", false
	}
	n := 0
	for _, t := range j.running {
		if idx >= 0 && t.row.Index != idx || t.cancel || t.machine == nil || sig.Message != "" && !t.started {
			continue // a notify reaches a started task alone: Slurm refuses one to a job pending
		}
		ts := sig
		ts.TaskRef = t.ref()
		switch {
		case !t.started && !t.queued && len(t.signals) < maxSignals: // a prefetched one waits its turn: pending
			t.signals = append(t.signals, ts)
		case t.started && len(t.machine.signals) < maxSignals:
			t.machine.signals = append(t.machine.signals, ts)
			t.machine.poke()
		default:
			continue
		}
		n++
	}
	state := j.row.State
	if n > 0 && state == burst.Queued {
		state = burst.Running
	}
	return n, state, true
}

// startSignals sends, once t's start is known, the signals it was sent
// before (signalJob).
func (c *control) startSignals(t *taskRT) {
	if len(t.signals) == 0 || t.machine == nil {
		return
	}
	room := max(maxSignals-len(t.machine.signals), 0)
	t.machine.signals = append(t.machine.signals, t.signals[:min(len(t.signals), room)]...)
	t.signals = nil
	t.machine.poke()
}
