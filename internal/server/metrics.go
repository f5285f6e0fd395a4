package server

import (
	"net/http"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/metrics"
)

// The server's side of /metrics (internal/metrics, docs/metrics.md): the
// snapshot the gauges read, taken under s.mu once per scrape, and what
// the edges count as changes are committed (apply), agents lease and
// report.

// Metrics serves GET /metrics (api.Metrics).
func (s *Server) Metrics() http.Handler { return s.metrics.Handler() }

// metricsSnapshot is the state as the gauges show it, read in one pass
// under s.mu: counts of active jobs, tasks and machines, each project's
// money. It reads memory only: no store, no clock but one reading before
// the lock.
func (s *Server) metricsSnapshot() metrics.Snapshot {
	now := time.Now()
	out := metrics.Snapshot{Jobs: map[metrics.Key]int{}, Tasks: map[metrics.Key]int{},
		Machines: map[metrics.Key]int{}, Silent: map[string]time.Duration{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	// One lookup per job (a server may hold 10^5 active jobs), by project;
	// the labelled maps are filled once per project below.
	type tally struct{ queuedJobs, runningJobs, queued, dispatched, running int }
	by := map[string]*tally{}
	var last *tally
	lastProject := ""
	for _, j := range s.jobs {
		if j.finished || j.row.State.Terminal() { // ending: counted by burst_jobs_ended_total
			continue
		}
		if last == nil || j.row.Project != lastProject {
			if last = by[j.row.Project]; last == nil {
				last = &tally{}
				by[j.row.Project] = last
			}
			lastProject = j.row.Project
		}
		if j.row.State == burst.Running {
			last.runningJobs++
		} else {
			last.queuedJobs++
		}
		running := j.row.Tasks.Running
		last.queued += max(j.queued(), 0)
		last.dispatched += max(len(j.running)-running, 0)
		last.running += running
	}
	for p, n := range by {
		for state, v := range map[string]int{"queued": n.queuedJobs, "running": n.runningJobs} {
			if v > 0 {
				out.Jobs[metrics.Key{Of: p, State: state}] = v
			}
		}
		out.Tasks[metrics.Key{Of: p, State: "queued"}] = n.queued
		out.Tasks[metrics.Key{Of: p, State: "dispatched"}] = n.dispatched
		out.Tasks[metrics.Key{Of: p, State: "running"}] = n.running
	}
	for _, m := range s.machines {
		out.Machines[metrics.Key{Of: m.row.Cluster, State: m.state()}]++
		if m.registered && live(m.row.State) {
			quiet := time.Duration(0)
			if m.leasing == 0 {
				quiet = max(now.Sub(m.lastSeen), 0)
			}
			out.Silent[m.row.Cluster] = max(out.Silent[m.row.Cluster], quiet)
		}
	}
	uses := s.machineUses() // once: every project's burn reads them
	for _, p := range s.projects {
		burn := cost.Burn(p.row.Name, uses, s.storagePerHour(p))
		st := cost.Assess(p.budget(), p.spent, burn, now)
		guard := string(st.Level)
		if p.row.Exhausted {
			guard = string(cost.LevelExhausted)
		}
		out.Projects = append(out.Projects, metrics.Project{Name: p.row.Name, Spent: st.Spent.Dollars(),
			Budget: st.Budget.Dollars(), Remaining: st.Remaining.Dollars(), BurnPerHour: burn,
			Fraction: st.Fraction, Guard: guard})
	}
	return out
}

// counted is what one batch adds to the counters, copied from memory
// under s.mu (countBatch) and added once the batch is durable (add).
type counted struct {
	ended    []endedTasks
	jobs     [][2]string // project, state
	placed   []placedTask
	durable  time.Duration
	hasStore bool
}

type endedTasks struct {
	project string
	counts  burst.TaskCounts
}

type placedTask struct {
	project   string
	submitted time.Time // zero: a later attempt, whose wait is not the job's
}

// countBatch notes what b changes in the counters: each written job's
// tasks that ended since its last write (what the job counts now less what
// was counted), a job that ended, the tasks placed. Called with s.mu held:
// it reads and marks memory only.
func (s *Server) countBatch(b *batch) counted {
	var c counted
	for j := range b.jobs {
		now, was := j.row.Tasks, j.counted
		d := burst.TaskCounts{Succeeded: now.Succeeded - was.Succeeded, Failed: now.Failed - was.Failed,
			Cancelled: now.Cancelled - was.Cancelled, Timeout: now.Timeout - was.Timeout, Lost: now.Lost - was.Lost}
		if d != (burst.TaskCounts{}) {
			c.ended = append(c.ended, endedTasks{j.row.Project, d})
		}
		j.counted = now
		if j.row.State.Terminal() && !j.endCounted {
			j.endCounted = true
			c.jobs = append(c.jobs, [2]string{j.row.Project, string(j.row.State)})
		}
	}
	for _, t := range b.placed {
		p := placedTask{project: t.job.row.Project}
		if t.row.Attempt <= 1 {
			p.submitted = t.job.row.SubmittedAt
		}
		c.placed = append(c.placed, p)
	}
	return c
}

// add counts c, once its batch is durable (now); commit is how long that
// took since it was enqueued, with hasStore (an empty batch writes
// nothing).
func (c *counted) add(m *metrics.Metrics, now time.Time) {
	if c.hasStore {
		m.Committed(c.durable)
	}
	for _, e := range c.ended {
		for state, n := range map[burst.State]int{burst.Succeeded: e.counts.Succeeded, burst.Failed: e.counts.Failed,
			burst.Cancelled: e.counts.Cancelled, burst.Timeout: e.counts.Timeout, burst.Lost: e.counts.Lost} {
			m.TasksEnded(e.project, string(state), n)
		}
	}
	for _, j := range c.jobs {
		m.JobEnded(j[0], j[1])
	}
	for _, p := range c.placed {
		var waited time.Duration
		if !p.submitted.IsZero() {
			waited = max(now.Sub(p.submitted), time.Nanosecond)
		}
		m.Dispatched(p.project, waited)
	}
}
