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
	"github.com/burst-sh/burst/internal/scale"
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
	res := agent.Detect(context.Background()) // nvidia-smi: not under s.mu
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.machines[localMachine]
	if m == nil {
		now := time.Now().UTC()
		m = newMachineRT(store.MachineRow{Machine: burst.Machine{ID: localMachine, StartedAt: &now}})
		s.machines[localMachine] = m
	}
	m.local = true
	m.setCluster(s.clusters[localCluster])
	m.row.Cluster, m.row.Host, m.row.Provider, m.row.Project = localCluster, s.host, provider.LocalName, "default"
	m.row.CPUs, m.row.MemBytes, m.row.GPUs = res.CPUs, res.MemBytes, res.GPUs
	s.priceOwned(m)
	if m.row.State == "" {
		m.row.State = burst.MachinePending
	}
}

// superviseLocal keeps the local agent alive: it starts one when none runs,
// and notices within a quarter of a second when it dies (at once when this
// server started it: it is our child). Beside it runs watchMachines, for the
// machines of providers.
func (s *Server) superviseLocal(ctx context.Context) {
	s.loops.Go(func() { s.watchMachines(ctx) })
	every(ctx, 250*time.Millisecond, true, s.agentExited, func() { s.checkLocal(ctx) })
}

// watchMachines asks the providers, four times a second, whether their
// machines still exist. It runs apart from superviseLocal so that a
// provider slow to answer (a hung slurmctld makes squeue wait 9 s) delays
// no restart of the local agent.
func (s *Server) watchMachines(ctx context.Context) {
	every(ctx, 250*time.Millisecond, true, nil, func() { s.checkMachines(ctx) })
}

// checkLocal looks at the local agent's process and starts one when none
// runs. The process is looked at, killed and started without s.mu: what
// is seen is applied under it only if the machine's agent is still the one
// looked at.
func (s *Server) checkLocal(ctx context.Context) {
	s.mu.Lock()
	m := s.machines[localMachine]
	if m == nil {
		s.mu.Unlock()
		return
	}
	pid, start := m.row.AgentPID, m.row.AgentStart
	s.mu.Unlock()

	alive := pid > 0 && runner.Alive(pid, start)

	s.mu.Lock()
	if m.row.AgentPID != pid || m.row.AgentStart != start {
		s.mu.Unlock() // another agent registered meanwhile: the next round looks at it
		return
	}
	now := time.Now()
	var b batch
	startLocal, kill := false, false
	switch {
	case !m.registered && !m.waitUntil.IsZero() && now.After(m.waitUntil):
		kill = alive
		if kill {
			m.doomed = pid // should it register before it is killed, it is refused
		}
		m.waitUntil = time.Time{}
		s.machineLost(m, "agent on "+m.row.ID+" did not come back after the server restarted", &b)
		startLocal = true
	case !alive && (m.registered || m.row.State == burst.MachineRunning):
		s.machineLost(m, "agent on "+m.row.ID+" exited", &b)
		startLocal = true
	case !alive && m.waitUntil.IsZero():
		startLocal = true
	}
	if err := s.apply(&b); err != nil {
		s.log.Error("record machine state", "err", err)
	}
	if kill {
		runner.KillGroup(pid, start)
	}
	if startLocal && !s.noLocalAgent && ctx.Err() == nil {
		s.startLocalAgent(ctx, m)
	}
}

// checkMachines asks each live machine's provider whether it still exists:
// a snapshot under s.mu, the questions without it (a provider may take
// seconds), and the answers applied under it to the machines that did not
// change meanwhile (the next round asks again about those that did).
func (s *Server) checkMachines(ctx context.Context) {
	type probe struct {
		m          *machineRT
		prov       provider.Provider
		h          provider.Handle
		state      string
		registered bool
	}
	var probes []probe
	s.mu.Lock()
	now := time.Now()
	var b batch
	for _, m := range s.machines {
		if m.local || m.starting || !scale.State(m.row.State).Serving() {
			continue // the stop in progress (or done) settles it
		}
		if prov := s.machineProvider(m); prov != nil && m.handle != (provider.Handle{}) {
			probes = append(probes, probe{m, prov, m.handle, m.row.State, m.registered})
			continue
		}
		// An agent that joined by itself: alive while it asks for work,
		// and for its lease after it last did (silence.go).
		if why := s.silent(m, now); why != "" {
			s.machineLost(m, "agent on "+m.row.ID+" is gone: "+why, &b)
			continue
		}
		s.judgeMachine(m, true, now, &b)
	}
	if err := s.apply(&b); err != nil {
		s.log.Error("record machine state", "err", err)
	}
	if len(probes) == 0 {
		return
	}
	alive := make([]bool, len(probes))
	for i, p := range probes {
		alive[i] = p.prov.Alive(ctx, p.h)
	}
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	now = time.Now()
	b = batch{}
	for i, p := range probes {
		m := p.m
		if s.machines[m.row.ID] != m || m.handle != p.h || m.row.State != p.state || m.registered != p.registered || m.starting {
			continue // it changed meanwhile: the next round asks again
		}
		limit := pendingLimit
		if pl := p.prov.Caps().Patient; pl > 0 {
			limit = pl
		}
		if m.row.State == burst.MachinePending && !m.registered && alive[i] && now.Sub(m.startedBy) > limit {
			s.stopMachine(m, "its agent did not register within "+limit.String(), "server", false, &b)
			continue
		}
		if why := s.silent(m, now); alive[i] && why != "" {
			// Its provider still has it, but its agent no longer speaks
			// (its network dropped, or it hangs): given up as any agent.
			s.machineLost(m, "agent on "+m.row.ID+" is gone: "+why, &b)
			continue
		}
		s.judgeMachine(m, alive[i], now, &b)
	}
	if err := s.apply(&b); err != nil {
		s.log.Error("record machine state", "err", err)
	}
}

// silent says why m's agent is given up for its silence (silence.go); ""
// while it is within its lease. Called with s.mu held.
func (s *Server) silent(m *machineRT, now time.Time) string {
	return silence(m.registered, m.leasing, m.lastSeen, now, agentTimeout(m.row.Remote, s.agentTimeout))
}

// judgeMachine marks m lost when its agent is gone (alive: whether it
// still exists), or did not come back in time after a server restart.
// Called with s.mu held.
func (s *Server) judgeMachine(m *machineRT, alive bool, now time.Time, b *batch) {
	switch {
	case !m.registered && !m.waitUntil.IsZero() && now.After(m.waitUntil):
		m.waitUntil = time.Time{}
		s.machineLost(m, "agent on "+m.row.ID+" did not come back after the server restarted", b)
	case !alive && (m.registered || m.row.State == burst.MachineRunning || m.row.State == burst.MachinePending):
		s.machineLost(m, "agent on "+m.row.ID+" exited", b)
	}
}

// startLocalAgent runs `burst agent` for the local machine in its own
// session, so that it outlives the server, and watches its process. Called
// without s.mu: the fork happens outside it.
func (s *Server) startLocalAgent(ctx context.Context, m *machineRT) {
	c := s.connect()
	h, err := provider.Spawn(c, m.row.ID, []string{"agent", "--server", c.Server, "--token-file", c.TokenFile,
		"--machine", m.row.ID, "--cluster", localCluster})
	if err != nil {
		s.log.Error("cannot start the local agent", "err", err)
		return
	}
	s.mu.Lock()
	if m.registered && m.row.AgentPID != h.PID {
		// Another agent registered for this host meanwhile: it serves.
		s.mu.Unlock()
		syscall.Kill(h.PID, syscall.SIGTERM)
		return
	}
	m.handle = h
	m.doomed = 0 // killed before this one was started
	m.row.AgentPID, m.row.AgentStart = h.PID, h.PIDStart
	var b batch
	if !m.registered {
		m.row.State = burst.MachinePending
		b.machine(m)
	}
	s.loops.Go(func() {
		// Notice its death at once: poll its pid quickly (it is our child,
		// reaped by Spawn), until it dies or the server stops.
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for runner.Alive(h.PID, h.PIDStart) {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		select {
		case s.agentExited <- struct{}{}:
		default:
		}
	})
	if err := s.apply(&b); err != nil {
		s.log.Error("record machine state", "err", err)
	}
	s.log.Info("started local agent", "machine", m.row.ID, "pid", h.PID)
}

// sliceHolders is what the machines of local clusters hold of this host,
// one entry per cluster (sorted by name), for the scheduler's view of the
// built-in machine: it offers what they leave, so that the host's cores,
// memory and GPUs are never handed out twice. Called with s.mu held.
func (s *Server) sliceHolders() []sched.Running {
	by := map[string]burst.Resources{}
	for _, m := range s.machines {
		// state(), not the row's: a machine its provider is starting holds
		// its slice already.
		if m.local || m.cluster == nil || m.cluster.def.BuiltIn || !m.cluster.caps().SharesHost || !live(m.state()) {
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
	msg := fmt.Sprintf("this host has %d of its %d cores and %.1f of %.1f GiB free (tasks on %s hold %d cores, local clusters' machines %d), and a machine of %s takes %d and %.1f GiB",
		max(free.CPUs, 0), host.CPUs, gib(max(free.MemBytes, 0)), gib(host.MemBytes), localMachine, tasks.CPUs, slices.CPUs,
		c.def.Name, need.CPUs, gib(need.MemBytes))
	switch {
	case slices.CPUs > 0 || slices.MemBytes > 0:
		// What a person can do about it: the machines of local clusters
		// give their slices back when they stop.
		msg += ": stopping one of the local clusters' machines (burst machine list; burst machine stop ID) gives its share back"
	case tasks.CPUs > 0 || tasks.MemBytes > 0:
		msg += ": there is room once " + localMachine + "'s tasks end"
	}
	return msg
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
	if caps := c.caps(); !caps.SharesHost || caps.ScaledOutside || c.def.Min == 0 {
		return nil
	}
	var others burst.Resources
	var names []string
	for _, name := range s.clusterNames() {
		o := s.clusters[name]
		if caps := o.caps(); o.def.BuiltIn || !caps.SharesHost || caps.ScaledOutside || o.def.Min == 0 || name == c.def.Name {
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
