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

// wakeSchedulerAt has placement run at t at the latest (a batch's
// wakeAt): a map's --delay ends then.
func (s *Server) wakeSchedulerAt(t time.Time) {
	s.wakeMu.Lock()
	s.wake = earliest(s.wake, t)
	s.wakeMu.Unlock()
	select {
	case s.wakeSet <- struct{}{}:
	default:
	}
}

// scheduleLoop places waiting tasks whenever something changes, and at
// the times batches ask for (wakeSchedulerAt).
func (s *Server) scheduleLoop(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second) // time-based backfill windows move
	defer tick.Stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var armed time.Time // when timer fires; zero: it is stopped
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-tick.C:
			s.reread(ctx) // what a failed or stale read left unknown (corr.go, deps.go)
		case <-timer.C:
			armed = time.Time{}
		case <-s.wakeSet:
			s.wakeMu.Lock()
			t := s.wake
			s.wake = time.Time{}
			s.wakeMu.Unlock()
			if !t.IsZero() && (armed.IsZero() || t.Before(armed)) {
				// An earlier time replaces a later one: the placement
				// then asks again for what still waits.
				armed = t
				timer.Reset(time.Until(t))
			}
			continue
		}
		s.scheduleOnce()
	}
}

func (s *Server) scheduleOnce() {
	short := s.roomToStart()
	s.mu.Lock()
	now := time.Now().UTC()
	var b batch
	s.short = short
	s.place(now, &b)
	if err := s.apply(&b); err != nil {
		s.log.Error("dispatch", "err", err)
	}
	s.metrics.SchedulerPass()
}
