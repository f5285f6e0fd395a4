package server

import (
	"context"
	"syscall"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/agent"
	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/store"
)

// The embedded default: one machine that is this host, served by an agent
// process the server starts (and restarts). The agent is a separate process
// so that killing the server loses no running task.
const (
	localMachine = "local-1"
	localCluster = "local"
	// pendingLimit is how long a started machine may take to register.
	pendingLimit = 2 * time.Minute
)

// priceOwned prices a machine burst did not rent (this host, an agent that
// joined by itself): configured local rates, else the shadow price of the
// cheapest catalog type that fits it; charged per use. Called with s.mu
// held.
func (s *Server) priceOwned(m *machineRT) {
	res := m.row.Capacity()
	m.row.PriceUSDPerHour, m.row.PriceBasis = s.catalog.LocalPrice(res, false)
	m.row.PerUse = true
	m.gpuShare = s.catalog.GPUShare(res.CPUs, res.GPUs)
}

// ensureLocalMachine registers this host's resources so that admission can
// judge requests before the agent has connected.
func (s *Server) ensureLocalMachine() {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := agent.Detect(context.Background())
	m := s.machines[localMachine]
	if m == nil {
		now := time.Now().UTC()
		m = newMachineRT(store.MachineRow{Machine: burst.Machine{ID: localMachine, StartedAt: &now}})
		s.machines[localMachine] = m
	}
	m.local = true
	m.cluster = s.clusters[localCluster]
	m.row.Cluster, m.row.Host, m.row.Provider, m.row.Project = localCluster, s.host, "local", "default"
	m.row.CPUs, m.row.MemBytes, m.row.GPUs = res.CPUs, res.MemBytes, res.GPUs
	s.priceOwned(m)
	if m.row.State == "" {
		m.row.State = burst.MachinePending
	}
}

// superviseLocal keeps the local agent alive: it starts one when none runs,
// and notices within a quarter of a second when it dies (at once when this
// server started it: it is our child).
func (s *Server) superviseLocal(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		s.checkMachines()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.agentExited:
		}
	}
}

func (s *Server) checkMachines() {
	s.mu.Lock()
	now := time.Now()
	var b batch
	startLocal := false
	for _, m := range s.machines {
		alive := true
		prov := s.machineProvider(m)
		switch {
		case m.local:
			alive = m.row.AgentPID > 0 && runner.Alive(m.row.AgentPID, m.row.AgentStart)
		case !live(m.row.State) || m.row.State == burst.MachineStopping:
			continue // the stop in progress (or done) settles it
		case prov != nil && m.handle != (provider.Handle{}):
			alive = prov.Alive(m.handle)
			limit := pendingLimit
			if p, ok := prov.(provider.Patient); ok {
				limit = p.PendingLimit()
			}
			if m.row.State == burst.MachinePending && !m.registered && alive && now.Sub(m.startedBy) > limit {
				s.stopMachine(m, "its agent did not register within "+limit.String(), "server", false, &b)
				continue
			}
		case m.registered:
			alive = m.leasing > 0 || now.Sub(m.lastSeen) < 30*time.Second
		}
		switch {
		case !m.registered && !m.waitUntil.IsZero() && now.After(m.waitUntil):
			if m.local && alive {
				syscall.Kill(m.row.AgentPID, syscall.SIGKILL)
			}
			m.waitUntil = time.Time{}
			s.machineLost(m, "agent on "+m.row.ID+" did not come back after the server restarted", &b)
			startLocal = startLocal || m.local
		case !alive && (m.registered || m.row.State == burst.MachineRunning || (m.row.State == burst.MachinePending && !m.local)):
			s.machineLost(m, "agent on "+m.row.ID+" exited", &b)
			startLocal = startLocal || m.local
		case m.local && !alive && m.waitUntil.IsZero():
			startLocal = true
		}
	}
	var m *machineRT
	if startLocal && !s.noLocalAgent {
		m = s.machines[localMachine]
		if err := s.startLocalAgent(m); err != nil {
			s.log.Error("cannot start the local agent", "err", err)
		} else {
			m.row.State = burst.MachinePending
			b.machine(m)
		}
	}
	if err := s.apply(&b); err != nil {
		s.log.Error("record machine state", "err", err)
	}
}

// startLocalAgent runs `burst agent` for the local machine in its own
// session, so that it outlives the server. Called with s.mu held.
func (s *Server) startLocalAgent(m *machineRT) error {
	c := s.connect()
	h, err := provider.Spawn(c, m.row.ID, []string{"agent", "--server", c.Server, "--token-file", c.TokenFile,
		"--machine", m.row.ID, "--cluster", m.row.Cluster})
	if err != nil {
		return err
	}
	m.handle = h
	m.row.AgentPID, m.row.AgentStart = h.PID, h.PIDStart
	s.log.Info("started local agent", "machine", m.row.ID, "pid", h.PID)
	go func() {
		// Notice its death at once: poll its pid quickly (it is our child,
		// reaped by Spawn).
		for runner.Alive(h.PID, h.PIDStart) {
			time.Sleep(50 * time.Millisecond)
		}
		select {
		case s.agentExited <- struct{}{}:
		default:
		}
	}()
	return nil
}
