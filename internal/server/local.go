package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/agent"
	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/sched"
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

// sliceHolders is what the machines of local clusters hold of this host,
// one entry per cluster (sorted by name), for the scheduler's view of the
// built-in machine: it offers what they leave, so that the host's cores,
// memory and GPUs are never handed out twice. Called with s.mu held.
func (s *Server) sliceHolders() []sched.Running {
	by := map[string]burst.Resources{}
	for _, m := range s.machines {
		// Its row's state, not state(): the local provider starts machines
		// with s.mu held (Immediate), and asks this while it starts one,
		// which must not count itself.
		if m.local || m.cluster == nil || m.cluster.def.BuiltIn || m.row.Provider != "local" || !live(m.row.State) {
			continue
		}
		r := m.cluster.res()
		by[m.row.Cluster] = addRes(by[m.row.Cluster], burst.Resources{CPUs: r.CPUs, MemBytes: r.MemBytes, GPUs: r.GPUs})
	}
	var out []sched.Running
	for _, name := range slices.Sorted(maps.Keys(by)) {
		out = append(out, sched.Running{Res: by[name], Holder: "cluster " + name + "'s machines"})
	}
	return out
}

// hostFull says why this host has no room to start another machine of
// local cluster c now; "" if it has. Called with s.mu held.
func (s *Server) hostFull(c *clusterRT) string {
	var slices burst.Resources
	for _, r := range s.sliceHolders() {
		slices = addRes(slices, r.Res)
	}
	var tasks burst.Resources
	if m := s.machines[localMachine]; m != nil {
		tasks = m.used()
	}
	need, host := c.res(), s.hostRes
	free := burst.Resources{CPUs: host.CPUs - slices.CPUs - tasks.CPUs, MemBytes: host.MemBytes - slices.MemBytes - tasks.MemBytes}
	if need.CPUs <= free.CPUs && (need.MemBytes == 0 || need.MemBytes <= free.MemBytes) {
		return ""
	}
	return fmt.Sprintf("this host has %d of its %d cores and %.1f of %.1f GiB free (tasks on %s hold %d cores, local clusters' machines %d), and a machine of %s takes %d and %.1f GiB",
		max(free.CPUs, 0), host.CPUs, gib(max(free.MemBytes, 0)), gib(host.MemBytes), localMachine, tasks.CPUs, slices.CPUs,
		c.def.Name, need.CPUs, gib(need.MemBytes))
}

func gib(b int64) float64 { return float64(b) / (1 << 30) }

// addRes is a+b, without TimeLimit.
func addRes(a, b burst.Resources) burst.Resources {
	return burst.Resources{CPUs: a.CPUs + b.CPUs, MemBytes: a.MemBytes + b.MemBytes, GPUs: a.GPUs + b.GPUs}
}

// minFits refuses a local cluster whose --min machines, with those the
// other local clusters keep by their --min, would need more of this host
// than it has. Called with s.mu held.
func (s *Server) minFits(c *clusterRT) error {
	if c.def.Provider != "local" || c.def.SlurmNodes || c.def.Min == 0 {
		return nil
	}
	var others burst.Resources
	var names []string
	for _, name := range s.clusterNames() {
		o := s.clusters[name]
		if o.def.BuiltIn || o.def.Provider != "local" || o.def.SlurmNodes || o.def.Min == 0 || name == c.def.Name {
			continue
		}
		r := o.res()
		others = addRes(others, burst.Resources{CPUs: o.def.Min * r.CPUs, MemBytes: int64(o.def.Min) * r.MemBytes})
		names = append(names, name)
	}
	r, host := c.res(), s.hostRes
	want := burst.Resources{CPUs: c.def.Min * r.CPUs, MemBytes: int64(c.def.Min) * r.MemBytes}
	if others.CPUs+want.CPUs <= host.CPUs && others.MemBytes+want.MemBytes <= host.MemBytes {
		return nil
	}
	fit := c.def.Min
	for fit > 0 && (others.CPUs+fit*r.CPUs > host.CPUs || others.MemBytes+int64(fit)*r.MemBytes > host.MemBytes) {
		fit--
	}
	kept := ""
	if len(names) > 0 {
		kept = fmt.Sprintf(", of which the --min of %s keeps %d cores and %.1f GiB", strings.Join(names, ", "), others.CPUs, gib(others.MemBytes))
	}
	return badRequest("--min %d machines of %s (%d cores, %.1f GiB each) cannot all run on this host: it has %d cores and %.1f GiB%s; give --min %d or less, or a smaller --type",
		c.def.Min, c.typ.Name, r.CPUs, gib(r.MemBytes), host.CPUs, gib(host.MemBytes), kept, fit)
}
