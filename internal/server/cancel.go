package server

import (
	"context"
	"time"

	"github.com/burst-sh/burst/client"
)

// Cancel cancels a job's waiting tasks and asks agents to stop its running
// ones. Cancelling a finished job is not an error.
func (s *Server) Cancel(ctx context.Context, id int64) (*client.CancelResult, error) {
	if err := s.refuseWrite(); err != nil {
		return nil, err // a full disk holds the store's writes: say so now, not when there is room
	}
	s.mu.Lock()
	now := time.Now().UTC()
	var b batch
	state, ok := s.cancelJob(id, actorFrom(ctx), now, &b)
	if !ok {
		s.mu.Unlock()
		row, err := s.readJob(ctx, id)
		if err != nil {
			return nil, err
		}
		return &client.CancelResult{ID: id, State: row.State, AlreadyFinished: row.State.Terminal()}, nil
	}
	if err := s.apply(&b); err != nil {
		return nil, err
	}
	return &client.CancelResult{ID: id, State: state}, nil
}

// CancelTask cancels one task of a job (one task of a job array, named by
// its own id, as scancel does): a running one is stopped, a waiting one never
// starts; the rest of the job goes on.
func (s *Server) CancelTask(ctx context.Context, id int64, idx int) (*client.CancelResult, error) {
	if err := s.refuseWrite(); err != nil {
		return nil, err // a full disk holds the store's writes: say so now, not when there is room
	}
	s.mu.Lock()
	now := time.Now().UTC()
	var b batch
	res, err := s.cancelTask(id, idx, actorFrom(ctx), now, &b)
	switch {
	case err != nil:
		s.mu.Unlock()
		return nil, err
	case res == nil: // the job as a whole has ended or is ending
		s.mu.Unlock()
		return s.Cancel(ctx, id)
	case res.AlreadyFinished:
		s.mu.Unlock()
		if res.State == "" { // it has ended: its row says how
			res.State = "ended"
			if row, err := s.st.GetTask(ctx, id, idx); err == nil {
				res.State = row.State
			}
		}
		return res, nil
	}
	if err := s.apply(&b); err != nil {
		return nil, err
	}
	return res, nil
}
