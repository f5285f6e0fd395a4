package server

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/store"
)

// Resume reopens a finished job: every task that did not succeed (failed,
// timed out, cancelled, lost, or never ran) is queued again; a task that
// succeeded never runs again.
func (s *Server) Resume(ctx context.Context, id int64) (*burst.Job, error) {
	return s.ResumeWith(ctx, id, client.ResumeOptions{})
}

// resumeHalt has a resumed map's --halt success= or done= count what
// succeeds from now on (HaltBase: the succeeded tasks it had), as parallel
// --resume-failed counts the jobs it runs: those that succeeded before
// would halt it at its first end. It says whether spec changed.
func resumeHalt(spec *burst.JobSpec, succeeded int) bool {
	m := spec.Map
	if m == nil || m.HaltOn == "" || m.HaltBase == succeeded {
		return false
	}
	cp := *m
	cp.HaltBase = succeeded
	spec.Map = &cp
	return true
}

// resumeTimeout has a resumed --timeout N% map start its median afresh, as
// parallel --resume-failed, a new run, does: kept, the limit the last
// median set would time out at once the very tasks that ran past it. The
// median counts the tasks that succeed from now on, after a restart too
// (TimeoutSinceUS). It says whether row's spec changed.
func resumeTimeout(row *store.JobRow, now time.Time) bool {
	m := row.Spec.Map
	if m == nil || m.TimeoutPct <= 0 {
		return false
	}
	cp := *m
	cp.TimeoutSinceUS = now.UnixMicro()
	row.Spec.Map = &cp
	row.Spec.Resources.TimeLimit, row.TimeLimitS = 0, 0
	return true
}

// resumeSpec puts o's settings into spec, and says whether any changed.
func resumeSpec(spec *burst.JobSpec, o client.ResumeOptions) (bool, error) {
	changed := false
	if o.MaxFailures != nil || o.MaxFailuresPct != nil {
		if spec.Map == nil {
			return false, badRequest("--max-failures is for maps; this job is not one")
		}
		m := *spec.Map
		if o.MaxFailures != nil {
			m.MaxFailures = *o.MaxFailures
		}
		if o.MaxFailuresPct != nil {
			m.MaxFailuresPct = *o.MaxFailuresPct
		}
		if m.MaxFailures > burst.MaxTasks {
			return false, badRequest("--max-failures %d: the limit is %d", m.MaxFailures, burst.MaxTasks)
		}
		if m.MaxFailures < 0 || !(m.MaxFailuresPct >= 0 && m.MaxFailuresPct <= 100) {
			return false, badRequest("--max-failures: give a count (5) or a share of the tasks (5%%)")
		}
		spec.Map, changed = &m, true
	}
	if o.MaxRunning != nil {
		if *o.MaxRunning < 0 {
			return false, badRequest("--jobs %d: use 0 (no cap) or more", *o.MaxRunning)
		}
		if *o.MaxRunning > burst.MaxTasks {
			return false, badRequest("-j %d: the limit is %d", *o.MaxRunning, burst.MaxTasks)
		}
		if err := sharedCap(spec, *o.MaxRunning, "-j"); err != nil {
			return false, err
		}
		spec.MaxRunning, changed = *o.MaxRunning, true
	}
	if spec.Held { // cancelled while held: a resume is the word to run it
		spec.Held, spec.HeldByAdmin, changed = false, false, true
	}
	return changed, nil
}

// ResumeWith is Resume with the settings of o (a map's --max-failures, its
// -j) replacing the job's own from now on.
func (s *Server) ResumeWith(ctx context.Context, id int64, o client.ResumeOptions) (*burst.Job, error) {
	if err := s.refuseNewWork(); err != nil {
		return nil, err // a full disk (disk.go)
	}
	s.mu.Lock()
	if j := s.jobs[id]; j != nil {
		s.mu.Unlock()
		return nil, badRequest("job %d has not finished: wait for it, or cancel it first, then resume", id)
	}
	s.mu.Unlock()
	row, err := s.readJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if row.Spec != nil && row.Spec.Pipe != nil {
		return nil, badRequest("job %d is a pipe: its stages stream into each other and run only together; run it again with `burst pipe '%s'`", id, row.Spec.Pipe.Text)
	}
	if row.Tasks.Succeeded == row.Tasks.Total {
		return nil, badRequest("job %d: all %d tasks succeeded; there is nothing to resume", id, row.Tasks.Total)
	}
	changed, err := resumeSpec(row.Spec, o)
	if err != nil {
		return nil, err
	}
	if resumeHalt(row.Spec, row.Tasks.Succeeded) {
		changed = true
	}
	if resumeTimeout(row, time.Now()) {
		changed = true
	}
	var sources [][]string
	if row.Spec.Map != nil {
		if sources, err = s.st.Inputs(ctx, id); err != nil {
			return nil, err
		}
		if err := s.roomInMemory(row.Spec, sources); err != nil { // its inputs come back into memory
			return nil, err
		}
	}
	j := newJobRT(*row)
	gate := gated(row.Spec)
	var reopened []*store.TaskRow
	s.mu.Lock()
	if s.jobs[id] != nil || s.resuming[id] { // resumed twice at once
		s.mu.Unlock()
		return nil, badRequest("job %d is being resumed already", id)
	}
	if s.resuming == nil {
		s.resuming = map[int64]bool{}
	}
	s.resuming[id] = true // the write below runs without the lock
	s.mu.Unlock()
	err = s.st.Write(ctx, func(tx *store.Tx) error {
		var err error
		if reopened, err = store.ReopenTasks(tx, id, gate); err != nil {
			return err
		}
		c := &j.row.Tasks
		c.Failed, c.Timeout, c.Cancelled, c.Lost, c.Running = 0, 0, 0, 0, 0
		j.row.State, j.row.ExitCode, j.row.Reason, j.row.EndedAt = burst.Queued, nil, "", nil
		j.row.CancelRequested, j.row.Stopped, j.row.LetRun, j.row.Halted = false, false, false, false
		if err := store.SaveJob(tx, &j.row); err != nil {
			return err
		}
		if changed {
			if err := store.SaveSpec(tx, id, j.row.Spec); err != nil {
				return err
			}
		}
		ev := s.newEvent(actorFrom(ctx), "job.resume", j.row.Project, "job "+strconv.FormatInt(id, 10),
			fmt.Sprintf("job %d (%s) resumed: %d tasks run again", id, j.row.Name, j.row.Tasks.Total-j.row.Tasks.Succeeded))
		return store.AppendEvent(tx, &ev)
	})
	var ahead []int
	if err == nil && gate {
		// Every task with a row is past its gate (as for a restart); the
		// others wait behind theirs again.
		ahead, err = s.st.TasksAhead(ctx, id, 0)
	}
	s.mu.Lock()
	delete(s.resuming, id)
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("resume job %d: %w", id, err)
	}
	close(s.events) // the resume event is recorded
	s.events = make(chan struct{})
	s.resumed(j, sources, reopened, ahead)
	watched := s.unloaded()
	out := j.row.Job
	s.mu.Unlock()
	s.resolveTasks(context.WithoutCancel(ctx), watched)
	s.kickScheduler()
	out.Tasks.Queued = out.Tasks.Total - out.Tasks.Done() - out.Tasks.Running
	return &out, nil
}

// sharedCap refuses a cap (flag: how the caller names it) on the tasks of
// spec's job running at once above burst.MaxSharedRunning for tasks that
// reserve no CPU: no machine's CPUs bound them.
func sharedCap(spec *burst.JobSpec, n int, flag string) error {
	if spec.SharedCPUs && n > burst.MaxSharedRunning {
		return badRequest("%s %d: tasks that reserve no CPU run at most %d at once: give %d or less (0: that many)", flag, n, burst.MaxSharedRunning, burst.MaxSharedRunning)
	}
	return nil
}
