package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/store"
)

// The shell's side of job dependencies (deps.go holds the rules): what the
// store knows of the jobs a job waits for, read outside the lock.

// checkAfter refuses a job that waits for a job the caller cannot see (or
// that does not exist: the same answer, as sbatch's "Job dependency
// problem"), and, unless it asks to be kept (KeepUnsatisfiable), one whose
// dependencies already can never be met. It returns how the jobs it waits
// for that have ended ended.
func (s *Server) checkAfter(ctx context.Context, spec *burst.JobSpec) (map[int64]burst.State, error) {
	if len(spec.After) == 0 {
		return nil, nil
	}
	who := auth.From(ctx)
	ended := map[int64]burst.State{}
	for _, dep := range spec.After {
		if dep.Job == 0 {
			continue
		}
		row, err := s.st.GetJob(ctx, dep.Job)
		if errors.Is(err, store.ErrNotFound) || err == nil && !auth.Sees(who, row.Project) {
			return nil, badRequest("job dependency problem: there is no job %d you can see (a task of an array: give the array's id); see `burst jobs`", dep.Job)
		}
		if err != nil {
			return nil, fmt.Errorf("read job %d: %w", dep.Job, err)
		}
		if row.State.Terminal() {
			ended[dep.Job] = row.State
		}
	}
	if !spec.KeepUnsatisfiable {
		if _, never := afterVerdict(spec, func(dep burst.Dependency) (burst.State, bool, bool) {
			st, ok := ended[dep.Job]
			return st, false, ok && dep.Kind != burst.Singleton
		}); never != "" {
			return nil, badRequest("job dependency problem: %s, so this job would never start: give another dependency (`burst map --resume JOB` runs the failed tasks of job JOB again)", never)
		}
	}
	return ended, nil
}

// endedStates reads how the jobs ids ended from the store: jobs a held job
// waits for that left memory before it learnt of their end.
func (s *Server) endedStates(ctx context.Context, ids []int64) map[int64]burst.State {
	out := map[int64]burst.State{}
	for _, id := range ids {
		row, err := s.st.GetJob(ctx, id)
		if err != nil {
			s.log.Warn("a job waited for cannot be read: the jobs waiting for it stay queued", "job", id, "err", err)
			continue
		}
		if row.State.Terminal() {
			out[id] = row.State
		}
	}
	return out
}

// resolveAfter tells held jobs how the jobs ids ended: jobs that ended and
// left memory between checkAfter's read and the submit.
func (s *Server) resolveAfter(ctx context.Context, ids []int64) {
	if len(ids) == 0 {
		return
	}
	ended := s.endedStates(ctx, ids)
	s.mu.Lock()
	s.learnEnded(ended)
	s.mu.Unlock()
	s.kickScheduler()
}
