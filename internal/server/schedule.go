package server

import (
	"context"
	"time"
)

func (s *Server) kickScheduler() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// scheduleLoop places waiting tasks whenever something changes.
func (s *Server) scheduleLoop(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second) // time-based backfill windows move
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-tick.C:
		}
		s.scheduleOnce()
	}
}

func (s *Server) scheduleOnce() {
	s.mu.Lock()
	now := time.Now().UTC()
	var b batch
	s.place(now, &b)
	if err := s.apply(&b); err != nil {
		s.log.Error("dispatch", "err", err)
	}
}
