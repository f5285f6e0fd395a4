package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/api"
	"github.com/burst-sh/burst/internal/auth"
)

// Register (re)connects an agent: applies the events it could not report,
// keeps the tasks it still runs, and marks lost those it does not.
func (s *Server) Register(ctx context.Context, r *client.Register) (*client.Registered, error) {
	if err := r.Validate(); err != nil {
		return nil, badRequest("%v", err)
	}
	if r.HomeID != "" && r.HomeID != s.homeID {
		// Started by the server of another home (this store may be a copy
		// of its store, or it knocks on a port this server took over).
		return nil, badRequest("agent %d on %s belongs to another home (id %s; this home is %s): it should exit, or be started by this home's server",
			r.PID, r.Machine, r.HomeID, s.homeID)
	}
	if err := s.refuseAgent(r.Machine); err != nil {
		return nil, err // the agent keeps its events and registers again
	}
	s.metrics.Heartbeat()
	s.mu.Lock()
	if p := auth.From(ctx); p != nil && p.Kind == auth.Machine && s.clusters[r.Cluster] == nil {
		// Its cluster was deleted (DeleteCluster revokes its machines'
		// credentials; this is the check that does not rely on that): a
		// joined machine never lands in another cluster, nor in a later
		// one of the same name.
		s.mu.Unlock()
		return nil, &api.Refused{Status: http.StatusForbidden,
			Msg: fmt.Sprintf("machine %s joined cluster %s, which no longer exists: join it again with a new token (`burst join-token create --cluster NAME`)", r.Machine, r.Cluster)}
	}
	now := time.Now().UTC()
	var b batch
	kill, err := s.register(r, now, &b)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if err := s.apply(&b); err != nil {
		return nil, err
	}
	s.kickScheduler()
	return &client.Registered{BootID: s.bootID, Kill: kill, HomeID: s.homeID, Steps: true}, nil
}

// Lease hands an agent its tasks and cancels, waiting up to l.WaitMS for
// some. Work stays unacknowledged until the agent's next Lease carries this
// lease's Seq; until then it is handed out again, so a response lost on the
// wire loses nothing. A newer Lease from the same machine retires an older
// one still waiting (e.g. on a half-open connection).
//
// It is answered while the store holds writes for a full disk too: it
// writes nothing, and what it hands out was committed before (work reaches
// an outbox only in committed), so during a hold it mostly waits and
// answers empty. Refusing it would have the agent, with nothing to run and
// no answer, give its server up and exit with its results unreported.
func (s *Server) Lease(ctx context.Context, l *client.Lease) (*client.Leased, error) {
	if err := l.Validate(); err != nil {
		return nil, badRequest("%v", err)
	}
	s.metrics.Heartbeat()
	wait := min(time.Duration(l.WaitMS)*time.Millisecond, 30*time.Second)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	s.mu.Lock()
	now := time.Now()
	m, gen, err := s.beginLease(l, now)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	// One way out, whether it returns or panics: the lock is released
	// exactly once, so a bug in here cannot wedge every later request.
	locked := true
	defer func() {
		if !locked {
			s.mu.Lock()
			now = time.Now()
		}
		s.endLease(m, now)
		s.mu.Unlock()
	}()
	last := false
	for {
		out, ch, err := s.leaseWork(m, gen, now, last)
		if out != nil || err != nil {
			return out, err
		}
		if last {
			return &client.Leased{}, nil
		}
		s.mu.Unlock()
		locked = false
		select {
		case <-ch:
		case <-timer.C:
			last = true // what was held back goes now
		case <-ctx.Done():
			return &client.Leased{}, nil
		}
		s.mu.Lock()
		now = time.Now()
		locked = true
	}
}

// Report applies task events from an agent; they are committed when it
// returns nil. While the store holds writes for a full disk it refuses
// them (507) before they touch memory: the agent keeps them and sends them
// again, so an answer never runs ahead of the store.
func (s *Server) Report(ctx context.Context, r *client.Report) error {
	if err := r.Validate(); err != nil {
		return badRequest("%v", err)
	}
	if err := s.refuseAgent(r.Machine); err != nil {
		return err
	}
	s.metrics.Reported(len(r.Events))
	short := s.roomToStart()
	s.mu.Lock()
	now := time.Now().UTC()
	var b batch
	s.short = short
	if err := s.report(r, now, &b); err != nil {
		s.mu.Unlock()
		return err
	}
	return s.apply(&b)
}
