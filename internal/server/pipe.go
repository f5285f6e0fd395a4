package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/plumb"
	"github.com/burst-sh/burst/internal/sched"
	"github.com/burst-sh/burst/internal/store"
	"github.com/burst-sh/burst/internal/web"
)

// A pipe goes through the same spine as run and map: one job, one task per
// process (each stage's copies), placed by the scheduler, run by agents,
// metered per task. What is particular to it lives here: its stages are
// placed as a gang (all or none), their streams are planned (plumb.Plan)
// when they are placed, it ends as a shell with pipefail would, and it
// restarts whole when one of its machines is lost.

// pipeFailure is a stage copy that did not succeed.
type pipeFailure struct {
	stage  int
	name   string
	code   int         // the pipe's exit status if this stage decides it
	state  burst.State // failed or timeout
	reason string
	stops  bool // it stopped the pipe (could not start, out of memory or time)
}

// stageCluster is the cluster stage i of j runs on.
func (c *control) stageCluster(j *jobRT, i int) string {
	if cl := j.row.Spec.Pipe.Stages[i].Cluster; cl != "" {
		return cl
	}
	return c.x.jobCluster(j)
}

// pipeParts is the gang of j's stages for the scheduler.
func (c *control) pipeParts(j *jobRT) []sched.Part {
	p := j.row.Spec.Pipe
	parts := make([]sched.Part, len(p.Stages))
	for i, st := range p.Stages {
		parts[i] = sched.Part{Res: st.Resources, Cluster: c.stageCluster(j, i), Count: st.Copies()}
	}
	return parts
}

// dispatchPipe hands every task of pipe j to the machines of as (the
// gang's assignments, Part = stage) and plans their streams. Called with
// s.mu held.
func (c *control) dispatchPipe(j *jobRT, as []sched.Assignment, b *batch) {
	p := j.row.Spec.Pipe
	n := p.Tasks()
	prev := map[int]retry{}
	for _, r := range j.requeue {
		prev[int(r.index)] = r
	}
	j.requeue = nil
	j.row.Dispatched = n
	j.pipeFailed = nil
	next := make([]int, len(p.Stages))
	at := make([]string, n)
	tasks := make([]*taskRT, n)
	for _, a := range as {
		m := c.machines[a.MachineID]
		idx := p.FirstTask(a.Part) + next[a.Part]
		next[a.Part]++
		row := store.TaskRow{Task: burst.Task{JobID: j.row.ID, Index: idx}}
		if r, ok := prev[idx]; ok {
			row.Attempt, row.LostCount = int(r.attempt), int(r.lost)
		}
		at[idx] = m.row.ID
		tasks[idx] = c.dispatchAt(j, m, a, row, b)
	}
	addr := map[string]string{}
	for _, id := range at {
		addr[id] = c.machines[id].streamAddr
	}
	for i, pl := range plumb.Plan(p, j.row.ID, tasks[0].row.Attempt, at, addr, streamKey) {
		st, _ := p.StageOf(i)
		pl.Stack = p.Stages[st].Stack // runs inside it (docs/stacks.md)
		tasks[i].pipe = pl
		b.placed = append(b.placed, tasks[i])
	}
	j.row.State, j.row.Reason = burst.Running, ""
}

// streamKey is a new stream's key: 32 random bytes, hex. It lives only in
// memory and in the assignments of the stream's two ends (never in the
// store, a log line or `burst show`); a restarted pipe gets new ones. It
// is drawn under the server's lock straight from crypto/rand: on Linux
// 6.11 and later with Go 1.24 and later that reads getrandom through the
// vDSO, a function call with no system call and nothing to wait for.
func streamKey() string {
	var b [32]byte
	rand.Read(b[:]) // never fails: crypto/rand panics rather
	return hex.EncodeToString(b[:])
}

// pipeEnded decides what a pipe's task's end means, before endTask counts
// it: true when the pipe restarts (the task is then requeued with the rest
// and not counted). Called with s.mu held.
func (c *control) pipeEnded(t *taskRT, ev *client.TaskEvent, row *store.TaskRow, now time.Time, b *batch) bool {
	j := t.job
	p := j.row.Spec.Pipe
	st, _ := p.StageOf(t.row.Index)
	name := p.Stages[st].Name
	if j.row.CancelRequested && j.restart == "" {
		return false
	}
	why := j.restart
	if why == "" && (t.preempt != "" || ev.State == burst.Lost) {
		cause := t.preempt
		if cause == "" {
			cause = ev.Reason
		}
		why = fmt.Sprintf("stage %s stopped (%s)", name, cause)
		j.restart = why
		for _, o := range j.running {
			o.preempt = j.restart
			if !o.delivered && c.dropFromOutbox(o) {
				// Never reached its agent: it ends here, not by a cancel
				// that would arrive with it and be ignored.
				c.endTask(o, client.TaskEvent{TaskRef: o.ref(), State: burst.Cancelled, Reason: j.restart}, now, b)
				continue
			}
			b.stops = append(b.stops, o)
		}
	}
	if why != "" {
		row.State = burst.Queued
		row.Reason = "the pipe restarts: " + why
		// The last of this attempt starts it again, whole (unless one that
		// ended just above, never delivered, already did).
		if len(j.running) == 0 && j.restart != "" {
			c.restartPipe(j, row, now, b)
		}
		return true
	}
	switch {
	case ev.State == burst.Failed && st < len(p.Stages)-1 &&
		(ev.Signal == int(syscall.SIGPIPE) || ev.ExitCode != nil && *ev.ExitCode == 128+int(syscall.SIGPIPE)):
		// A later stage stopped reading: as in a shell, this one stops
		// too, and that is not a failure of the pipe.
		ev.State = burst.Succeeded
		ev.Reason = "stopped by SIGPIPE: a later stage stopped reading"
	case ev.State != burst.Succeeded:
		f := pipeFailure{stage: st, name: name, code: 1, state: burst.Failed, reason: describeEnd(*ev)}
		switch {
		case ev.State == burst.Timeout:
			f.code, f.state = 124, burst.Timeout
		case ev.ExitCode != nil:
			f.code = *ev.ExitCode
		case ev.Signal != 0:
			f.code = 128 + ev.Signal
		}
		// A stage that never ran or was killed from outside (out of memory,
		// time limit) stops the pipe at once, naming it, and gives the
		// pipe its status (127, 137, 124); a stage that exits non-zero
		// lets the others end as they would in a shell.
		f.stops = !j.row.CancelRequested && (ev.ExitCode == nil || strings.HasPrefix(ev.Reason, "cannot start") ||
			strings.HasPrefix(ev.Reason, "stage ") || ev.State == burst.Timeout)
		j.pipeFailed = append(j.pipeFailed, f)
		if f.stops {
			why := describeEnd(*ev)
			if !strings.HasPrefix(why, "stage "+name+":") {
				why = "stage " + name + ": " + why
			}
			c.stopJob(j, why+"; the pipe was stopped", true, now, b)
		}
	}
	return false
}

// restartPipe requeues every task of pipe j for a new attempt of the whole
// pipe; or, when the pipe was cancelled meanwhile or lost too often, ends
// it with every stage's row saying so.
func (c *control) restartPipe(j *jobRT, last *store.TaskRow, now time.Time, b *batch) {
	why := j.restart
	j.restart = ""
	j.restarts++
	n := &j.row.Tasks
	n.Succeeded, n.Failed, n.Timeout, n.Cancelled, n.Lost = 0, 0, 0, 0, 0
	if j.row.CancelRequested || j.restarts >= maxLost {
		state, reason := burst.Lost, fmt.Sprintf("%s; the pipe was restarted %d times and is given up", why, j.restarts-1)
		if j.row.CancelRequested {
			state, reason = burst.Cancelled, "cancelled while the pipe waited to restart"
			if j.row.Reason != "" {
				reason = j.row.Reason
			}
			n.Cancelled = n.Total
		} else {
			n.Lost = n.Total
		}
		for i := 0; i < n.Total; i++ {
			if i == last.Index {
				continue
			}
			b.task(store.TaskRow{Task: burst.Task{JobID: j.row.ID, Index: i, State: state, Attempt: last.Attempt, Reason: reason},
				LostCount: j.restarts})
		}
		last.State, last.Reason = state, reason
		j.requeue = nil
		c.finishJob(j, *last, now)
		if !j.row.CancelRequested {
			j.row.State, j.row.Reason = burst.Failed, reason
		}
		b.job(j)
		return
	}
	for i := 0; i < n.Total; i++ {
		att := last.Attempt
		j.requeue = append(j.requeue, retry{int32(i), int32(att), int32(j.restarts)})
	}
	j.row.State = burst.Queued
	j.row.Reason = "waiting to restart whole: " + why
	b.job(j)
}

// finishPipe sets a finished pipe's state as `set -o pipefail` would: the
// status of the last stage that failed, naming every failed stage.
func finishPipe(j *jobRT) bool {
	if j.row.Spec.Pipe == nil || len(j.pipeFailed) == 0 || j.row.CancelRequested && !j.row.Stopped {
		return false
	}
	for _, f := range j.pipeFailed {
		if f.stops { // the stage that stopped the pipe decides its status
			code := f.code
			j.row.State, j.row.ExitCode = f.state, &code
			return true // j.row.Reason says which stage and why
		}
	}
	lastF := j.pipeFailed[0]
	var names []string
	for _, f := range j.pipeFailed {
		if f.stage >= lastF.stage {
			lastF = f
		}
		names = append(names, fmt.Sprintf("%s (%s)", f.name, f.reason))
	}
	code := lastF.code
	j.row.State = burst.Failed
	j.row.ExitCode = &code
	j.row.Reason = fmt.Sprintf("failed stages: %s; the pipe's status is %d, that of %s (pipefail)",
		strings.Join(names, ", "), code, lastF.name)
	return true
}

// gangFeasible checks that all stages of a pipe could run at once on the
// machines that exist and those their clusters could start, all idle: a
// pipe that could never start whole is refused rather than left waiting.
// Called with s.mu held.
func (c *control) gangFeasible(spec *burst.JobSpec, views []sched.Machine, now time.Time) error {
	var world []sched.Machine
	live := map[string]int{}
	for _, v := range views {
		v.Running, v.Accepting, v.Until, v.Prefetch, v.Queued = nil, true, time.Time{}, 0, 0
		world = append(world, v)
		live[v.Cluster]++
	}
	for name, cl := range c.clusters {
		if cl.def.BuiltIn || cl.caps().ScaledOutside {
			continue
		}
		for i := live[name]; i < cl.def.Max; i++ {
			world = append(world, sched.Machine{ID: fmt.Sprintf("%s (new %d)", name, i), Cluster: name, Capacity: cl.res(), Accepting: true})
		}
	}
	j := &jobRT{row: store.JobRow{Job: burst.Job{Spec: spec}}}
	parts := c.pipeParts(j)
	n := 0
	var need, asks []string
	mem, gpus := false, false
	for i, p := range parts {
		n += p.Count
		var r []string
		if p.Res.CPUs > 0 {
			r = append(r, fmt.Sprintf("%d CPU", p.Res.CPUs))
		}
		if p.Res.MemBytes > 0 {
			r, mem = append(r, web.Bytes(p.Res.MemBytes)), true
		}
		if p.Res.GPUs > 0 {
			r, gpus = append(r, fmt.Sprintf("%d GPU", p.Res.GPUs)), true
		}
		if len(r) > 0 {
			need = append(need, fmt.Sprintf("%s: %d x %s on %s", spec.Pipe.Stages[i].Name, p.Count, strings.Join(r, " + "), p.Cluster))
		}
	}
	if len(sched.Place(now, []sched.Pending{{JobID: 1, Count: n, Gang: parts, Project: spec.Project}}, world)) > 0 {
		return nil
	}
	asks = append(asks, "fewer CPUs (a stage without --cpus reserves none)")
	if mem {
		asks = append(asks, "less --mem")
	}
	if gpus {
		asks = append(asks, "fewer --gpus")
	}
	return badRequest("the pipe's stages cannot all run at once on the machines there are or could be (they reserve %s): ask for %s, fewer --parallel copies, or put stages --on a larger cluster (`burst cluster list`)",
		strings.Join(need, ", "), strings.Join(asks, ", "))
}

// admitPipe checks that some cluster could run each stage, naming the
// stage and what exists when none can. Called with s.mu held.
func (c *control) admitPipe(spec *burst.JobSpec, feasible func(res burst.Resources, cluster string) error) error {
	for _, st := range spec.Pipe.Stages {
		cl := st.Cluster
		if cl == "" {
			cl = spec.Cluster
		}
		if err := feasible(st.Resources, cl); err != nil {
			return badRequest("stage %s cannot run: %v", st.Name, err)
		}
	}
	return nil
}
