package server

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/scale"
	"github.com/burst-sh/burst/internal/sched"
)

const (
	// waitTTL is how long computed wait reasons serve reads: they cost a
	// scheduling round, which the many readers of a busy queue share.
	waitTTL = 500 * time.Millisecond
	// maxExplained is how many waiting jobs, from the head of the queue,
	// the scheduler explains; those behind are said to wait behind them.
	maxExplained = 200
)

// waitReasons says why the queued tasks of each active job wait, by job id,
// from one scheduling round over the current snapshot (sched.Explain) and
// the autoscaler's view of the job's cluster (scale.Waiting). It is computed
// when asked, at most every waitTTL, so that placement itself pays nothing
// for it. Called with s.mu held.
func (s *Server) waitReasons(now time.Time) map[int64]string {
	if s.waits != nil && now.Sub(s.waitsAt) < waitTTL {
		return s.waits
	}
	pend, views, _ := s.snapshot(now)
	as, why := sched.Explain(now, pend, views, maxExplained)
	placed := map[int64]int{}
	for _, a := range as {
		placed[a.JobID]++
	}
	cl, ms := s.scaleView(now)
	clusters := make(map[string]scale.Cluster, len(cl))
	for _, c := range cl {
		clusters[c.Name] = c
	}
	out := map[int64]string{}
	ahead := 0 // jobs with waiting tasks ahead in the queue
	for _, id := range s.order {
		j := s.jobs[id]
		if j == nil || j.finished || j.row.CancelRequested {
			continue
		}
		if r := s.jobWait(j, now, why, placed, ahead, clusters, ms); r != "" {
			out[id] = r
			ahead++
		}
	}
	s.waits, s.waitsAt = out, now
	return out
}

// jobWait says why j's queued tasks wait; "" if none waits or they start
// at the scheduler's next round.
func (s *Server) jobWait(j *jobRT, now time.Time, why map[int64]string, placed map[int64]int, ahead int,
	clusters map[string]scale.Cluster, ms []scale.Machine) string {
	queued := j.queued()
	if queued <= 0 {
		if s.short != "" && heldBack(j) {
			return s.short // its tasks wait in an agent's queue for the same room (agent's room.go)
		}
		return ""
	}
	spec := j.row.Spec
	switch n := j.pending(); {
	case j.after != nil:
		return s.afterWait(j)
	case s.held(j):
		return fmt.Sprintf("project %s has spent its budget: raise it with `burst project set %s --budget AMOUNT`", j.row.Project, j.row.Project)
	case spec.Pipe != nil && len(j.running) > 0:
		return "a pipe starts whole: it waits for the stages of its last attempt to end"
	case n == 0 && s.short != "" && heldBack(j):
		return s.short // its tasks handed out wait at their agents for the same room
	case n == 0 && spec.MaxRunning > 0:
		return fmt.Sprintf("--max-running %d: %s", spec.MaxRunning, runningNow(j, " of its tasks"))
	case n == 0 && j.maxRunning() > 0:
		return fmt.Sprintf("its tasks reserve no CPU, and no more than %d run at once (give -j N for another bound): %s", j.maxRunning(), runningNow(j, ""))
	case spec.Map.Delay() > 0 && now.Before(j.nextStart):
		return fmt.Sprintf("--delay %s: its next task starts in %s", spec.Map.Delay(), j.nextStart.Sub(now).Round(time.Millisecond))
	}
	if s.short != "" {
		if r, ok := why[j.row.ID]; ok {
			return s.short + "; and then: " + r // its own reason stays once there is room
		}
		return s.short
	}
	r, ok := why[j.row.ID]
	if !ok {
		if spec.Pipe != nil && placed[j.row.ID] > 0 || spec.Pipe == nil && placed[j.row.ID] >= j.pending() {
			return "" // it starts now
		}
		r = fmt.Sprintf("%d jobs wait ahead of it", ahead)
	}
	name := s.jobCluster(j)
	if spec.Pipe != nil {
		name = "" // its stages may name several clusters
	}
	if c, ok := clusters[name]; ok {
		r += "; " + scale.Waiting(c, ms)
	}
	return r
}

// runningNow says how many of j's tasks run ("2 of its tasks run" with
// what " of its tasks"), and how many more its agents hold queued, not yet
// started: those count in j's cap, but `burst show` said "32 of its tasks
// run" of a -j 2 map whose short tasks were queued at their machine.
func runningNow(j *jobRT, what string) string {
	started := 0
	for _, t := range j.running {
		if t.started {
			started++
		}
	}
	out := fmt.Sprintf("%d%s run", started, what)
	if held := len(j.running) - started; held > 0 {
		out += fmt.Sprintf(", %d more queued at their machine", held)
	}
	return out
}

// heldBack says whether some task of j was handed to an agent and has not
// started there.
func heldBack(j *jobRT) bool {
	for _, t := range j.running {
		if !t.started {
			return true
		}
	}
	return false
}

// waitingFor is why job id's queued tasks wait ("" when none does).
func (s *Server) waitingFor(id int64) string {
	s.mu.Lock()
	now := time.Now().UTC()
	defer s.mu.Unlock()
	if s.jobs[id] == nil {
		return ""
	}
	return s.waitReasons(now)[id]
}

// gatedTasks sets on the queued tasks of job id, if it is a gated map, what
// each still waits for (its Dependency, and its reason): false if it is
// none.
func (s *Server) gatedTasks(id int64, ts []burst.Task) bool {
	s.mu.Lock()
	isGated := s.jobs[id] != nil && s.jobs[id].gate != nil
	s.mu.Unlock()
	if !isGated {
		return false
	}
	machine := cmp.Or(s.waitingFor(id), "waiting for a machine") // why those let through wait
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil || j.gate == nil {
		return true // let through, or ended, meanwhile: as they were read
	}
	for i := range ts {
		t := &ts[i]
		if t.State != burst.Queued {
			continue
		}
		var why string
		t.Dependency, why = s.taskDependency(j, t.Index)
		t.Reason = strings.TrimPrefix(t.Reason+"; waits: "+cmp.Or(why, machine), "; waits: ")
	}
	return true
}

// fillWaiting sets Waiting on the active jobs of js, and the srun steps
// so far of a running batch job of one task (applyEvents keeps them).
func (s *Server) fillWaiting(js []*burst.Job) {
	s.mu.Lock()
	now := time.Now().UTC()
	defer s.mu.Unlock()
	var w map[int64]string
	for _, j := range js {
		if j.State.Terminal() || s.jobs[j.ID] == nil {
			continue
		}
		rt := s.jobs[j.ID]
		if len(j.Steps) == 0 {
			j.Steps = rt.row.Steps // a running batch task's srun steps so far: the store has them once it ends
		}
		j.Dependency = s.afterText(rt)
		j.Begin = rt.row.Spec.Begin
		j.Deferred = s.deferred(rt)
		j.Held, j.HeldByAdmin = rt.row.Spec.Held, rt.row.Spec.Held && rt.row.Spec.HeldByAdmin
		j.HeldRequeued = rt.row.Spec.Held && rt.row.Spec.HeldRequeued
		if rt.after != nil && rt.queued() > 0 {
			j.Waiting = s.afterWait(rt) // held: known now, not from a round up to waitTTL old
			continue
		}
		if rt.gate != nil {
			j.TaskDependencies = true
			if len(rt.requeue) == 0 {
				j.Waiting = s.gateWait(rt) // none let through its gate: nothing else to wait for
				continue
			}
		}
		if w == nil {
			w = s.waitReasons(now)
		}
		j.Waiting = w[j.ID]
	}
}

// queuedWhy adds to the reason of each queued task of job id why it waits.
func (s *Server) queuedWhy(id int64, ts []burst.Task) []burst.Task {
	if s.gatedTasks(id, ts) {
		return ts
	}
	why := ""
	for i := range ts {
		if ts[i].State != burst.Queued {
			continue
		}
		if why == "" {
			if why = s.waitingFor(id); why == "" {
				return ts
			}
		}
		if ts[i].Reason == "" {
			ts[i].Reason = why
		} else {
			ts[i].Reason += "; waits: " + why
		}
	}
	return ts
}
