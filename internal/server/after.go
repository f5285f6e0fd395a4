package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/store"
)

// The shell's side of job dependencies (deps.go holds the rules): what the
// store knows of the jobs a job waits for, read outside the lock.

// checkAfter refuses a job that waits for a job the caller cannot see (or
// that does not exist: the same answer, as sbatch's "Job dependency
// problem"), and, unless it asks to be kept (KeepUnsatisfiable) or is
// sbatch's (DropUnknownDeps: cancelled once queued), one whose
// dependencies already can never be met. It returns how the jobs it waits
// for that have ended ended.
func (s *Server) checkAfter(ctx context.Context, spec *burst.JobSpec) (map[int64]jobEnd, error) {
	if len(spec.After) == 0 {
		return nil, nil
	}
	who := auth.From(ctx)
	ended := map[int64]jobEnd{}
	kept := spec.After[:0:0]
	for _, dep := range spec.After {
		if dep.Job == 0 {
			kept = append(kept, dep)
			continue
		}
		row, err := s.st.GetJob(ctx, dep.Job)
		if errors.Is(err, store.ErrNotFound) || err == nil && !auth.Sees(who, row.Project) {
			if spec.DropUnknownDeps {
				continue
			}
			return nil, badRequest("job dependency problem: there is no job %d you can see (a task of an array: give the array's id); see `burst jobs`", dep.Job)
		}
		if err != nil {
			return nil, fmt.Errorf("read job %d: %w", dep.Job, err)
		}
		if dep.Task != nil {
			if err := s.checkTask(ctx, row, *dep.Task); err != nil {
				var bad *apierr.BadRequest
				if spec.DropUnknownDeps && errors.As(err, &bad) {
					continue
				}
				return nil, err
			}
		}
		if row.State.Terminal() {
			ended[dep.Job] = endOf(&row.Job)
		}
		kept = append(kept, dep)
	}
	if len(kept) < len(spec.After) {
		// As Slurm's sbatch: what names nothing is dropped; one of a "?"
		// list counts as met, so the job waits for none.
		if spec.AfterAnyOf {
			kept = nil
		}
		spec.After = kept
		if len(kept) == 0 {
			spec.AfterAnyOf = false
			return nil, nil
		}
	}
	if !spec.KeepUnsatisfiable && !spec.DropUnknownDeps { // sbatch's are taken, then cancelled at once
		if _, never, _ := afterVerdict(spec, time.Time{}, func(dep burst.Dependency) depSeen {
			e, ok := ended[dep.Job]
			// One task, or each (aftercorr of a map), is decided once queued.
			return seen(e.state, false, ok && dep.Kind != burst.Singleton && dep.Task == nil && (dep.Kind != burst.AfterCorr || !gated(spec)))
		}); never != "" {
			return nil, badRequest("job dependency problem: %s, so this job would never start: give another dependency, or run that job again first (of a map, `burst map --resume ID` runs its failed tasks again)", never)
		}
	}
	return ended, nil
}

// checkTask refuses a dependency on task (an array index) of the job of
// row that has no such task.
func (s *Server) checkTask(ctx context.Context, row *store.JobRow, task int) error {
	if !hasTasks(row.Spec) {
		return badRequest("job dependency problem: job %d is not a job array: give %d alone to wait for the whole job", row.ID, row.ID)
	}
	idx, err := s.arrayIndices(ctx, row.ID)
	switch {
	case err != nil:
		return fmt.Errorf("read the indices of job %d: %w", row.ID, err)
	case idx == nil && task >= row.Tasks.Total: // a map: its tasks by position
		return badRequest("job dependency problem: job %d has no task %d (its tasks run from 0 to %d)", row.ID, task, row.Tasks.Total-1)
	case idx != nil && !slices.Contains(idx, task):
		return badRequest("job dependency problem: job array %d has no index %d (its indices run from %d to %d)", row.ID, task, idx[0], idx[len(idx)-1])
	}
	return nil
}

// endedStates reads how the jobs ids ended from the store: jobs a held job
// waits for that left memory before it learnt of their end.
func (s *Server) endedStates(ctx context.Context, ids []int64) map[int64]jobEnd {
	out := map[int64]jobEnd{}
	for _, id := range ids {
		row, err := s.st.GetJob(ctx, id)
		if err != nil {
			if s.warned.due("ended "+strconv.FormatInt(id, 10), time.Now()) {
				s.log.Warn("a job waited for cannot be read: the jobs waiting for it stay queued, and it is read again (said again each minute it fails)", "job", id, "err", err)
			}
			continue
		}
		if row.State.Terminal() {
			out[id] = endOf(&row.Job)
		}
	}
	return out
}

// resolveAfter tells held jobs how the jobs ids ended: jobs that ended and
// left memory between checkAfter's read and the submit.
func (s *Server) resolveAfter(ctx context.Context, ids []int64) {
	resolve(s, ctx, ids, s.endedStates, s.learnEnded)
}

// resolve reads from the store what the jobs ids came to, with read,
// outside the lock, and tells the jobs that wait on them, with learn,
// under it.
func resolve[T any](s *Server, ctx context.Context, ids []int64, read func(context.Context, []int64) T, learn func(T)) {
	if len(ids) == 0 {
		return
	}
	v := read(ctx, ids)
	s.mu.Lock()
	learn(v)
	s.mu.Unlock()
	s.kickScheduler()
}

// readTasks reads from the store what the jobs ids' tasks came to: jobs
// whose single tasks held or gated jobs wait on (corr.go). It first waits
// for every write queued before it: an end the control recorded before
// the jobs that wait watched it is enqueued, not yet durable, and a read
// of the store alone would miss it for good (writes apply in the order
// they are queued, so an empty one is a barrier). What could not be read
// says why (err), for learnTasks.
func (s *Server) readTasks(ctx context.Context, ids []int64) map[int64]tasksRead {
	out := make(map[int64]tasksRead, len(ids))
	if len(ids) == 0 {
		return out
	}
	if err := s.st.Write(ctx, func(*store.Tx) error { return nil }); err != nil {
		for _, id := range ids {
			out[id] = tasksRead{err: err}
		}
		return out
	}
	for _, id := range ids {
		r, err := s.readTasksOf(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) && s.warned.due("tasks "+strconv.FormatInt(id, 10), time.Now()) {
			s.log.Warn("the tasks of a job waited for cannot be read: the tasks waiting for them stay queued, and it is read again (said again each minute it fails)", "job", id, "err", err)
		}
		r.err = err
		out[id] = r
	}
	return out
}

// readTasksOf is readTasks of job id.
func (s *Server) readTasksOf(ctx context.Context, id int64) (tasksRead, error) {
	row, err := s.st.GetJob(ctx, id)
	if err != nil {
		return tasksRead{}, err
	}
	r := tasksRead{row: *row}
	if (row.Spec == nil || row.Spec.Map == nil) && row.State.Terminal() {
		return r, nil // a job of one task: its state is the task's
	}
	if r.tasks, err = s.st.TaskStates(ctx, id); err != nil {
		return r, err
	}
	r.ids, err = s.arrayIndices(ctx, id)
	return r, err
}

// reread reads again, on the scheduler's tick, the watched jobs whose last
// read failed or was stale (rereads), and the jobs held ones wait for whose
// read failed (unresolvedHeld).
func (s *Server) reread(ctx context.Context) {
	s.mu.Lock()
	ids, ended := s.rereads(), s.unresolvedHeld()
	s.mu.Unlock()
	s.resolveTasks(ctx, ids)
	s.resolveAfter(ctx, ended)
}

// resolveTasks tells the jobs that wait on single tasks of the jobs ids
// what those came to before they watched them.
func (s *Server) resolveTasks(ctx context.Context, ids []int64) {
	resolve(s, ctx, ids, s.readTasks, s.learnAllTasks)
}
