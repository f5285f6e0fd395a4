package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/mapspec"
	"github.com/burst-sh/burst/internal/store"
)

// Submit admits a job: validates it, checks that some machine could ever run
// it, and records it (with a map's inputs) before answering.
func (s *Server) Submit(ctx context.Context, actor string, spec *burst.JobSpec) (*burst.Job, error) {
	sources, ended, err := s.checkSpec(ctx, spec)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	now := time.Now().UTC()
	var refused batch
	if err := s.control.admit(spec, auth.From(ctx), actor, now, &refused); err != nil {
		s.apply(&refused) // unlocks
		return nil, err
	}
	s.mu.Unlock()
	return s.record(ctx, actor, spec, sources, ended, now)
}

// CheckSubmit runs every check of Submit and records nothing: whether spec
// would be admitted now (sbatch --test-only). A refusal is the error Submit
// would return; it is not in the audit trail, as nothing was asked of the
// system.
func (s *Server) CheckSubmit(ctx context.Context, spec *burst.JobSpec) error {
	if _, _, err := s.checkSpec(ctx, spec); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var discard batch
	return s.control.admit(spec, auth.From(ctx), "", time.Now().UTC(), &discard)
}

// checkSpec fills spec's defaults and checks what needs no lock: the spec
// itself, its map's inputs, outputs, stack and dependencies, and that the
// server takes new work. It returns the map's inputs and the jobs spec
// depends on that have ended.
func (s *Server) checkSpec(ctx context.Context, spec *burst.JobSpec) ([][]string, map[int64]jobEnd, error) {
	spec.Defaults()
	if err := spec.Validate(); err != nil {
		return nil, nil, &errBadRequest{Msg: err.Error()}
	}
	if err := spec.CheckBegin(time.Now()); err != nil {
		return nil, nil, &errBadRequest{Msg: err.Error()}
	}
	var sources [][]string
	if m := spec.Map; m != nil {
		sources = m.Sources
		srcs := make([]mapspec.Source, len(sources))
		for i, src := range sources {
			srcs[i] = src
		}
		n, err := mapspec.Count(srcs, burst.MaxTasks)
		if err != nil {
			return nil, nil, badRequest("%v", err)
		}
		if n == 0 {
			return nil, nil, badRequest("a map needs inputs: give them after ::: or :::: (or with --over)")
		}
		if m.Commands && (len(m.Template) > 0 || m.Array) {
			return nil, nil, badRequest("a map whose inputs are its commands (commands) has no template")
		}
		if !m.Array && !m.Commands {
			positions := len(sources)
			if m.Columns {
				positions = math.MaxInt32 // as many as an input has columns: a missing one is empty
			}
			if err := mapspec.Validate(m.Template, positions, m.Plus); err != nil {
				return nil, nil, badRequest("%v", err)
			}
			if m.Shell {
				if err := mapspec.ShellSafe(m.Template, m.Plus); err != nil {
					return nil, nil, badRequest("%v", err)
				}
			}
		}
		spec.Tasks = int(n)
	}
	if err := s.checkOutputs(spec); err != nil {
		return nil, nil, err
	}
	if err := s.resolveStack(ctx, spec); err != nil { // stacks.go
		return nil, nil, err
	}
	if err := s.refuseNoStackMachine(spec); err != nil {
		return nil, nil, err
	}
	ended, err := s.checkAfter(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	if err := s.refuseNewWork(); err != nil {
		return nil, nil, err
	}
	if err := s.roomForInputs(spec, sources); err != nil {
		return nil, nil, err
	}
	if err := s.roomInMemory(spec, sources); err != nil {
		return nil, nil, err
	}
	return sources, ended, nil
}

// record writes an admitted job and queues it.
func (s *Server) record(ctx context.Context, actor string, spec *burst.JobSpec, sources [][]string, ended map[int64]jobEnd, now time.Time) (*burst.Job, error) {
	var id int64
	ev := s.newEvent(actor, "job.submit", spec.Project, "", "")
	// Try: a job that meets a full disk is refused, not held (nothing in
	// memory waits for it yet).
	if err := s.st.Try(ctx, func(tx *store.Tx) (err error) {
		if id, err = store.InsertJob(tx, spec, actor, now); err != nil {
			return err
		}
		ev.Target = "job " + strconv.FormatInt(id, 10)
		ev.Message = fmt.Sprintf("job %d (%s, %s) on %s", id, spec.Name, burst.Plural(spec.Tasks, "task"), clusterName(spec.Cluster))
		if err := store.AppendEvent(tx, &ev); err != nil {
			return err
		}
		if err := store.UseInputs(tx, id, spec.Project, spec.Inputs, now); err != nil {
			return err
		}
		used := map[string]bool{} // its own stack and its pipe stages' (one reference a digest)
		for _, st := range spec.Stacks() {
			if used[st.Digest] {
				continue
			}
			used[st.Digest] = true
			if err := store.UseStack(tx, id, spec.Project, st.Digest, st.Size, now); err != nil {
				return badRequest("%v", err)
			}
		}
		return store.SaveInputs(tx, id, sources)
	}); err != nil {
		if store.IsFull(err) {
			return nil, s.noSpace(err)
		}
		if nh := new(store.NotHeld); errors.As(err, &nh) {
			return nil, badRequest("%v", nh)
		}
		return nil, fmt.Errorf("record job: %w", err)
	}
	// The job is committed: it must reach the queue even if the caller has
	// gone away meanwhile.
	row, err := s.st.GetJob(context.WithoutCancel(ctx), id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	j := s.submit(*row, sources)
	s.ui.bump(row.Project) // a new job: its project's pages show it
	s.learnEndedOf(j, ended)
	late := s.unresolved(j)
	watched := s.unloaded()
	close(s.events)
	s.events = make(chan struct{})
	s.mu.Unlock()
	s.resolveAfter(context.WithoutCancel(ctx), late)
	s.resolveTasks(context.WithoutCancel(ctx), watched)
	s.kickScheduler()
	s.kickScale()
	return &row.Job, nil
}
