package server

import (
	"cmp"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
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
	delivered bool                // the agent has it: acknowledged its lease, reported it, or it was running before a restart
	cancel    bool                // a cancel was requested
	started   bool                // its process started (counted in Tasks.Running)
	queued    bool                // prefetched: the agent starts it when its resources allow
	handed    uint64              // its place in its machine's queue: the order the agent took it in (0: not yet leased)
	preempt   string              // non-empty: its machine stops or its project's budget is spent; requeue it when it ends
	requeued  bool                // stopped by scontrol requeue: its agent is told (Leased.Requeue)
	pipe      *client.Plumbing    // a pipe stage's streams
	nusd      int64               // what this attempt was charged so far (nano-dollars)
	out       [2]*outStream       // stdout and stderr as a remote machine ships them (output.go)
	signals   []client.TaskSignal // sent before its start was reported: sent once it is (startSignals)
}

// stopToRequeue stops t to run again once it has ended, why being its
// preempt (a spent budget, scontrol requeue): a task its agent has not
// taken yet ends now; one it holds is told to stop, and is requeued when
// its end is reported (endTask). Its attempt uses none of --retries.
func (c *control) stopToRequeue(t *taskRT, why string, now time.Time, b *batch) {
	t.preempt = why
	if !t.delivered && c.dropFromOutbox(t) {
		c.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Cancelled, Reason: why}, now, b)
		return
	}
	b.stops = append(b.stops, t)
}

// res is what the task asks for: its stage's resources in a pipe.
func (t *taskRT) res() burst.Resources { return t.job.row.Spec.TaskResources(t.row.Index) }

func (t *taskRT) ref() client.TaskRef {
	return client.TaskRef{Job: t.row.JobID, Index: t.row.Index, Attempt: t.row.Attempt}
}

// ends is when the task's time limit runs out (counted from now if it has
// not started yet); zero if unknown.
func (t *taskRT) ends(now time.Time) time.Time {
	lim := t.res().TimeLimit
	if lim == 0 {
		return time.Time{}
	}
	start := now
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

// logPaths gives a task's stdout and stderr files.
func (c *control) logPaths(j *jobRT, idx int, host string) (string, string) {
	spec := j.row.Spec
	if spec.Stdout == "" && spec.Stderr == "" && !spec.SbatchFiles() {
		// A thousand tasks a directory keeps maps of 10^6 tasks browsable.
		dir := filepath.Join(c.logs, strconv.FormatInt(j.row.ID, 10), strconv.Itoa(idx/1000))
		return filepath.Join(dir, strconv.Itoa(idx)+".out"), filepath.Join(dir, strconv.Itoa(idx)+".err")
	}
	out, errp := c.batchPaths(j, idx, host)
	abs := func(p string) string {
		if !filepath.IsAbs(p) {
			p = filepath.Join(spec.Workdir, p)
		}
		return p
	}
	return abs(out), abs(errp)
}

// batchPaths are a batch job's output files for task idx, their patterns
// expanded, relative to the task's working directory unless absolute.
func (c *control) batchPaths(j *jobRT, idx int, host string) (string, string) {
	spec := j.row.Spec
	info := c.batchInfo(j, idx, host, nil)
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
	return expandPattern(out, info), expandPattern(errp, info)
}

// packOf says whether pack, reported by an agent as where a task's output
// went, is a pack file beside the task's log (internal/agent/runner/pack.go
// names them pack-MACHINE plus the log's extension): an agent points a row
// at nothing else.
func packOf(log, pack string) bool {
	return pack != "" && pack == filepath.Clean(pack) && filepath.Dir(pack) == filepath.Dir(log) && filepath.Ext(pack) == filepath.Ext(log) &&
		strings.HasPrefix(filepath.Base(pack), "pack-")
}

// dispatch takes the next task of j for machine m, nil when none is left
// to run (the result cache ended or parked the rest: cache.go). Called
// with s.mu held.
func (c *control) dispatch(j *jobRT, m *machineRT, a sched.Assignment, now time.Time, b *batch) *taskRT {
	for !j.finished && !j.row.CancelRequested { // a cache hit's --halt may stop it
		row := store.TaskRow{Task: burst.Task{JobID: j.row.ID}}
		if len(j.requeue) > 0 {
			r := j.requeue[0]
			j.requeue = j.requeue[1:]
			row.Index, row.Attempt, row.LostCount = int(r.index), int(r.attempt), int(r.lost)
		} else if j.gate != nil {
			return nil // its tasks come through their gates (corr.go)
		} else {
			for j.skip[j.row.Dispatched] { // cancelled alone before its turn: its row says so
				delete(j.skip, j.row.Dispatched)
				j.row.Dispatched++
			}
			if j.row.Dispatched >= j.row.Tasks.Total {
				return nil
			}
			row.Index = j.row.Dispatched
			j.row.Dispatched++
		}
		outcome, hit := c.cacheCheck(j, row.Index, b)
		if outcome == cacheRun {
			if d := j.row.Spec.Map.Delay(); d > 0 {
				j.nextStart = now.Add(d)                   // a cache hit starts nothing: only a run waits
				b.wakeAt = earliest(b.wakeAt, j.nextStart) // for the next task, if one waits then
			}
			return c.dispatchAt(j, m, a, row, b)
		}
		if outcome == cacheHit {
			c.cacheServe(j, row.Index, hit, now, b)
		}
		b.job(j)
	}
	return nil
}

// dispatchAt hands task row (its index, attempt and lost count set) to m.
func (c *control) dispatchAt(j *jobRT, m *machineRT, a sched.Assignment, row store.TaskRow, b *batch) *taskRT {
	row.Attempt++
	row.State = burst.Running
	row.Reason = j.preempted[row.Index] // an earlier attempt's spot interruption, if any (interrupt.go)
	row.Machine = m.row.ID
	row.GPUIDs = a.GPUIDs
	if j.isMap() {
		row.Slot = j.slots.take()
	}
	row.Stdout, row.Stderr = c.logPaths(j, row.Index, m.row.Host)
	if m.row.Remote {
		row.Stdout, row.Stderr = c.remoteLogPaths(j, row.Index, row.Stdout == row.Stderr)
	}
	t := &taskRT{row: row, job: j, machine: m, queued: a.Queued}
	j.running[row.Index] = t
	m.tasks[taskKey{row.JobID, row.Index}] = t
	b.task(t.row)
	b.job(j)
	return t
}

// machineShort reports whether ev is a task that failed to start because its
// machine was short of descriptors, memory or processes (EMFILE, ENFILE,
// ENOMEM, EAGAIN on pipe2, fork, exec or opening its files), not because of
// the task (a missing command, EACCES, a bad directory): a failure the
// runner reports as "cannot start: ..." with exit 127, or one the agent
// reports before the process existed (no exit code, no signal). Agents
// that know better report such a start as lost themselves.
func machineShort(ev client.TaskEvent) bool {
	if ev.State != burst.Failed || ev.Signal != 0 {
		return false
	}
	if !strings.HasPrefix(ev.Reason, "cannot start: ") && ev.ExitCode != nil {
		return false // it ran, and ended so
	}
	for _, e := range shortReasons {
		if strings.HasSuffix(ev.Reason, e) {
			return true
		}
	}
	return false
}

// shortReasons end the reason of a start that failed for want of
// descriptors, memory or processes: ": " and the error's text, made once
// (machineShort runs under the server's lock).
var shortReasons = func() []string {
	var r []string
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EAGAIN} {
		r = append(r, ": "+e.Error())
	}
	return r
}()

// endTask records how a task ended and decides what follows: a retry, a
// requeue after a lost machine, or a final state. Called with s.mu held.
func (c *control) endTask(t *taskRT, ev client.TaskEvent, now time.Time, b *batch) {
	j, m := t.job, t.machine
	if t.started {
		c.x.accrueEnd(t, ev, now) // what ran so far is charged to it before it goes, and no more (meter.go)
	}
	delete(j.running, t.row.Index)
	j.slots.put(t.row.Slot)
	delete(m.tasks, taskKey{t.row.JobID, t.row.Index})
	if len(m.tasks) == 0 {
		m.idleSince, m.idleAgent = now, time.Time{}
	}
	if t.started {
		j.row.Tasks.Running--
	}
	if machineShort(ev) {
		// Not the task's doing: its machine could not start it. It runs
		// again as after a lost machine, without using a retry.
		ev.State, ev.ExitCode = burst.Lost, nil
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
	if end.After(j.lastEnd) {
		j.lastEnd = end
	}
	row.UserSeconds, row.SysSeconds, row.MaxRSSBytes = float64(ev.UserUS)/1e6, float64(ev.SysUS)/1e6, ev.MaxRSS
	row.ReadBytes, row.WroteBytes = ev.ReadBytes, ev.WroteBytes
	row.StdoutTo, row.StderrTo = ev.OutTo, ev.ErrTo
	row.Steps = ev.Steps[:min(len(ev.Steps), burst.MaxSteps)] // this attempt's srun steps
	if j.row.Tasks.Total == 1 {
		j.row.Steps = row.Steps // sacct lists a job's steps from its listing
	}
	if !m.row.Remote { // small output kept in a pack file: its range there
		if packOf(row.Stdout, ev.OutPack) {
			row.Stdout, row.StdoutFrom = ev.OutPack, ev.OutFrom
		}
		if packOf(row.Stderr, ev.ErrPack) {
			row.Stderr, row.StderrFrom = ev.ErrPack, ev.ErrFrom
		}
	}
	row.CostUSD = float64(t.nusd) / 1e9
	b.recordOutputs(t, ev)
	b.recordStackChanges(t, ev) // stack_commit.go
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
		if c.pipeEnded(t, &ev, &row, now, b) {
			t.row = row
			b.task(row)
			b.job(j)
			return
		}
		row.State, row.Reason = ev.State, ev.Reason
	}
	stopping := j.row.CancelRequested || t.cancel // the whole job, or this task alone
	// sbatch --no-requeue: a task that ran is never run again, its machine
	// lost or taken back under it (Slurm ends such a job NODE_FAIL).
	noRequeue := spec.Batch != nil && spec.Batch.NoRequeue && t.delivered
	if noRequeue && !stopping && (ev.State == burst.Lost || t.preempt != "" && ev.State != burst.Succeeded) {
		ev.State, ev.Reason = burst.Lost, cmp.Or(ev.Reason, t.preempt)+" (submitted with --no-requeue: not run again)"
		row.State, row.Reason = ev.State, ev.Reason
	}
	switch {
	case t.preempt != "" && !stopping && ev.State != burst.Succeeded && !noRequeue:
		// Not the program's doing: its attempt does not count against
		// --retries, and its output so far stays until the next attempt.
		row.LostCount++
		row.State = burst.Queued
		row.Reason = fmt.Sprintf("attempt %d stopped (%s); requeued", row.Attempt, t.preempt)
		if m.row.Interrupted != nil {
			row.Reason = j.notePreempted(row.Index, fmt.Sprintf("attempt %d preempted (%s)", row.Attempt, t.preempt)) + "; requeued"
		}
		j.requeueTask(row)
		if j.row.Tasks.Running == 0 && len(j.running) == 0 {
			j.row.State = burst.Queued
			j.row.Reason = "waiting: " + row.Reason
		}
	case ev.State == burst.Lost && !stopping && (!t.delivered || row.LostCount+1 < maxLost) && !noRequeue:
		// A task that never reached an agent did not even use an attempt,
		// and counts no lost machine. One an agent held counts one, started
		// or not (a machine short of descriptors reports its failed start
		// with no "started" before it: uncounted, it would be requeued
		// forever), and keeps its attempt number: the agent may have
		// started it and died before saying so, and the next attempt must
		// not be mistaken for it (its output file starts afresh).
		if t.delivered {
			row.LostCount++
		} else {
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
			c.medianLimit(j, row, b)
		case burst.Timeout:
			j.row.Tasks.Timeout++
		case burst.Cancelled:
			j.row.Tasks.Cancelled++
		default:
			row.State = burst.Failed
			j.row.Tasks.Failed++
		}
	}
	if p := j.preempted[row.Index]; p != "" && row.State != burst.Queued {
		row.Reason = strings.TrimPrefix(row.Reason+"; "+p, "; ") // it ended for good: its reason keeps the word
		delete(j.preempted, row.Index)
	}
	t.row = row
	b.task(row)
	b.job(j)
	if row.State != burst.Queued {
		c.taskEnded(j, row.Index, row.State) // for the jobs that wait on it alone (corr.go)
		c.x.countStorage(t, ev)              // its logs as they stay: the final attempt's, written with its end
		c.cacheEnded(t, row, ev, now, b)
	}
	if row.State != burst.Queued {
		c.mapStops(j, row, now, b)
	}
	if row.State != burst.Queued && !j.finished && j.row.Tasks.Done() == j.row.Tasks.Total {
		c.finishJob(j, row, now)
	}
}

// snapshot builds the scheduler's view, and says when a map's --delay
// lets it start its next task (wake; zero: none waits so). Called with
// s.mu held.
func (c *control) snapshot(now time.Time) (pend []sched.Pending, views []sched.Machine, wake time.Time) {
	live := c.order[:0]
	seen := make(map[int64]bool, len(c.order))
	for _, id := range c.order {
		j := c.jobs[id]
		if j == nil || seen[id] { // gone, or resumed before its old place was dropped
			continue
		}
		seen[id] = true
		live = append(live, id)
		if n := j.pending(); (n > 0 || j.row.Spec.MaxRunning > 0) && !c.x.held(j) {
			if j.row.Spec.Pipe != nil {
				if n > 0 && len(j.running) == 0 { // a pipe starts whole, once the last attempt has ended
					pend = append(pend, sched.Pending{JobID: id, Count: n, Gang: c.pipeParts(j), Project: j.row.Spec.Project, Untrusted: c.untrustedUser(j.row.User), Stack: len(j.row.Spec.Stacks()) > 0})
				}
				continue
			}
			cl := c.x.jobCluster(j)
			if m := c.capFree(j); m != nil {
				// Its -j cap cannot bind where it runs: its tasks are
				// prefetched there as an uncapped job's are.
				n, cl = j.queued(), m.row.Cluster
			}
			if d := j.row.Spec.Map.Delay(); d > 0 && n > 0 {
				// --delay: one task a placement, once its time came; until
				// then, the shell wakes placement when it comes.
				if now.Before(j.nextStart) {
					wake = earliest(wake, j.nextStart)
					n = 0
				} else {
					n = 1
				}
			}
			if n > 0 {
				pend = append(pend, sched.Pending{JobID: id, Res: j.row.Spec.Resources, Count: n, Prefetch: j.prefetch(),
					Cluster: cl, Project: j.row.Spec.Project, Untrusted: c.untrustedUser(j.row.User), Stack: len(j.row.Spec.Stacks()) > 0})
			}
		}
	}
	c.order = live
	if len(pend) == 0 {
		return nil, nil, wake // nothing waits: no view to build
	}
	return pend, c.machineViews(now), wake
}

// capFree is, for a job capped by -j whose tasks are short, the machine
// where its cap cannot bind, or nil: the one machine of its cluster, where
// all its tasks run and nothing else does, and which could not run more of
// them at once than the cap allows (-j 2 on 2 CPUs). The cap of tasks that
// reserve no CPU always binds: no machine's CPUs hold them back. The agent there starts
// prefetched tasks only as its CPUs free, so queueing the job's tasks there
// ahead of time keeps the cap, and spares each task a round trip between
// its predecessor's end and its start.
func (c *control) capFree(j *jobRT) *machineRT {
	spec := j.row.Spec
	if spec.MaxRunning <= 0 || spec.SharedCPUs || spec.Pipe != nil || len(j.running) == 0 || !j.prefetch() || j.row.CancelRequested || j.finished {
		return nil
	}
	var m *machineRT
	for _, t := range j.running {
		if m == nil {
			m = t.machine
		} else if t.machine != m {
			return nil
		}
	}
	if !m.registered || strings.HasSuffix(m.row.Cluster, ":native") || // Slurm's own queue runs what it is given
		max(spec.Resources.CPUs, 1)*spec.MaxRunning < m.row.CPUs || len(m.tasks) != len(j.running) {
		return nil
	}
	if cl := c.x.jobCluster(j); cl != "" && cl != m.row.Cluster {
		return nil
	}
	for _, o := range c.machines {
		if o != m && o.row.Cluster == m.row.Cluster && live(o.row.State) {
			return nil // the cluster names more than this machine
		}
	}
	return m
}

func (c *control) machineViews(now time.Time) []sched.Machine {
	ids := make([]string, 0, len(c.machines))
	for id := range c.machines {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]sched.Machine, 0, len(ids))
	for _, id := range ids {
		m := c.machines[id]
		v := m.schedView(now)
		// A task there can read the server's home unless its agent said
		// it shares no filesystem with the server; members' work goes
		// there only if the admin trusts members on its cluster.
		v.Stacks = m.stacks
		v.SeesHome = !m.row.Remote && !c.trustMembers[m.row.Cluster] && (m.cluster == nil || !c.trustMembers[m.cluster.def.Name])
		if m.local {
			// This host less what local clusters' machines hold of it.
			v.Running = append(v.Running, c.x.sliceHolders()...)
		}
		out = append(out, v)
	}
	return out
}

// place puts waiting tasks on machines, into b: they reach their agents once
// b is committed. Called with s.mu held, by the scheduler and by every
// report of ended tasks, so that the tasks that follow are dispatched in the
// same transaction.
func (c *control) place(now time.Time, b *batch) {
	c.release(now, b)
	c.endMissedDeadlines(now, b) // of the jobs free to start, those just released too
	for _, id := range c.order {
		if j := c.jobs[id]; j != nil && j.after == nil { // a held job's tasks wait, cached or not (deps.go)
			c.cacheFront(j, now, b)
		}
	}
	if c.short != "" {
		return // the logs' filesystem is nearly full: nothing starts that could only fail (the scheduler's tick tries again)
	}
	pend, views, wake := c.snapshot(now)
	b.wakeAt = earliest(b.wakeAt, wake)
	if len(pend) == 0 {
		return
	}
	as := sched.Place(now, pend, views)
	for i := 0; i < len(as); i++ {
		a := as[i]
		j, m := c.jobs[a.JobID], c.machines[a.MachineID]
		if j == nil || m == nil {
			continue
		}
		if j.row.Spec.Pipe != nil {
			n := j.row.Spec.Pipe.Tasks() // a gang's assignments come together
			c.dispatchPipe(j, as[i:i+n], b)
			i += n - 1
			continue
		}
		c.cutToDeadline(j, now, b)
		if t := c.dispatch(j, m, a, now, b); t != nil {
			b.placed = append(b.placed, t)
		}
	}
}

// applyEvents applies agent events for machine m. Called with s.mu held.
func (c *control) applyEvents(m *machineRT, events []client.TaskEvent, now time.Time, b *batch) {
	for _, ev := range events {
		j := c.jobs[ev.Job]
		var t *taskRT
		if j != nil {
			t = j.running[ev.Index]
		}
		if t == nil || t.row.Attempt != ev.Attempt || t.machine != m {
			if ev.Kind == client.EventStarted {
				// A task the server no longer wants (cancelled, or moved on;
				// on an interrupted machine, requeued when the notice came).
				m.cancels = append(m.cancels, ev.TaskRef)
				m.poke()
			} else if ev.Kind == client.EventExited && (j == nil || t == nil && !j.row.State.Terminal()) && m.row.Interrupted == nil {
				// An exit of a task no active job holds: its job ended
				// (a report sent again after a restart), or the store was
				// restored to a snapshot older than the task. Said, not
				// dropped silently; the task runs again if the store has
				// it queued.
				b.log(slog.LevelWarn, "exit report of a task no active job holds (its job ended, or the store was restored to an older snapshot): ignored", "job", ev.Job, "task", ev.Index, "attempt", ev.Attempt, "machine", m.row.ID)
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
				c.x.accrue(m, now) // what ran before it is not its to pay
				t.started = true
				j.row.Tasks.Running++
				c.taskStarted(j, t.row.Index)
				c.startSignals(t)
			}
			if j.row.StartedAt == nil {
				j.row.StartedAt = ev.StartedAt
			}
			if j.row.State == burst.Queued {
				j.row.State = burst.Running
				c.deps.touch(j) // jobs waiting for it to start may go (deps.go)
				if strings.HasPrefix(j.row.Reason, "waiting: ") {
					j.row.Reason = ""
				}
			}
			b.task(t.row)
			b.job(j)
		case client.EventProgress:
			applyProgress(t, ev)
			if len(ev.Steps) > 0 && t.started && t.row.State == burst.Running && j.row.Tasks.Total == 1 {
				j.row.Steps = t.row.Steps // squeue -s and sstat list a running job's steps from its listing
			}
			b.show(j.row.Project)
		case client.EventExited:
			if j.row.StartedAt == nil && ev.StartedAt != nil {
				j.row.StartedAt = ev.StartedAt
			}
			if j.row.State == burst.Queued {
				j.row.State = burst.Running
			}
			c.endTask(t, ev, now, b)
		}
	}
}

// applyProgress raises a running task's figures to what its agent sampled
// (s.mu held), and keeps the srun steps it reported. They stay in memory: a store write a second per stage would
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
	// A batch task's srun steps that started or ended since its last
	// report: in memory too, until its end sends them all.
	r.Steps = burst.MergeSteps(r.Steps, ev.Steps)
}

// medianLimit is a map's GNU parallel --timeout N%: each task that
// succeeds adds its run time to the map's median (a remedian, as
// parallel keeps it), and the map's time limit becomes N% of that median
// (burst.MedianTimeLimit): its tasks that run count it from their own
// start, those to come start with it (sendLimit, as scontrol update
// TimeLimit= does), and one that runs past it ends as timeout. Until a
// task has succeeded, the map has no limit.
func (c *control) medianLimit(j *jobRT, row store.TaskRow, b *batch) {
	m := j.row.Spec.Map
	if m == nil || m.TimeoutPct <= 0 || row.StartedAt == nil || row.EndedAt == nil {
		return
	}
	j.runTimes.Add(max(row.EndedAt.Sub(*row.StartedAt), 0))
	median, _ := j.runTimes.Median()
	lim := burst.MedianTimeLimit(m.TimeoutPct, median)
	if lim == j.row.Spec.Resources.TimeLimit {
		return
	}
	spec := *j.row.Spec // a new spec: readers outside the lock keep the one they have
	spec.Resources.TimeLimit = lim
	j.row.Spec = &spec
	c.respec(j, true, b)
}

// mapStops stops map j once, with row's end (a task's, or a cache hit's),
// more of its tasks failed than its --max-failures (--halt fail=) allows,
// or its --halt success= or done= is met. A halt fixes the map's exit
// status then, as GNU parallel does (haltReason); one met by its last
// task leaves its end to finishJob.
func (c *control) mapStops(j *jobRT, row store.TaskRow, now time.Time, b *batch) {
	m, n := j.row.Spec.Map, j.row.Tasks
	if m == nil || j.row.CancelRequested || j.row.Halted {
		return
	}
	if lim := m.FailureLimit(n.Total); lim >= 0 && n.Failed+n.Timeout > lim {
		c.stopJobAs(j, fmt.Sprintf("stopped: %s failed, more than the map allows (%d: --max-failures, or --halt fail=)", burst.Plural(n.Failed+n.Timeout, "task"), lim), true, m.HaltSoon, now, b)
		return
	}
	reason, code := haltReason(m, n, row)
	if reason == "" {
		return
	}
	j.row.Halted, j.row.Reason, j.row.ExitCode = true, reason, &code
	b.job(j)
	if n.Done() < n.Total {
		c.stopJobAs(j, reason, false, m.HaltSoon, now, b)
	}
}

// haltReason says why a map with --halt success= or done= (m.HaltOn)
// stops, given its tasks' counts once row ended, and the exit status
// GNU parallel fixes then: 0 on success=; on done=, the number that had
// failed (their share of the tasks, in percent and rounded up, with
// done=P%), or row's own status where the halt counts one task. ""
// while it goes on. A task requeued to run again does not count yet; nor
// do the successes before its last resume (HaltBase).
func haltReason(m *burst.MapSpec, n burst.TaskCounts, row store.TaskRow) (string, int) {
	k := m.HaltCount(n.Total)
	if k == 0 {
		return "", 0
	}
	failed := n.Failed + n.Timeout + n.Lost
	ended, what := n.Succeeded-m.HaltBase, "succeeded"
	if m.HaltOn == burst.HaltOnDone {
		ended, what = ended+failed, "ended"
	}
	if ended < k {
		return "", 0
	}
	code := 0
	switch {
	case m.HaltOn == burst.HaltOnSuccess:
	case k == 1:
		code = burst.ParallelStatus(row.State, row.ExitCode, row.Signal)
	case m.HaltAfterPct > 0:
		code = (100*failed + n.Total - 1) / n.Total
	default:
		code = min(failed, 101)
	}
	return fmt.Sprintf("halted: %s %s (--halt %s=%s)", burst.Plural(ended, "task"), what, m.HaltOn, haltArg(m)), code
}

// haltArg is the N of a map's --halt success=N or done=N as it was given.
func haltArg(m *burst.MapSpec) string {
	if m.HaltAfter > 0 {
		return strconv.Itoa(m.HaltAfter)
	}
	return strconv.FormatFloat(m.HaltAfterPct, 'f', -1, 64) + "%"
}
