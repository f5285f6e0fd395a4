package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/agent"
	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/store"
)

// The embedded default: one machine that is this host, served by an agent
// process the server starts (and restarts). The agent is a separate process
// so that killing the server loses no running task.
const (
	localMachine = "local-1"
	localCluster = "local"
)

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
	m.row.Cluster, m.row.Host = localCluster, s.host
	m.row.CPUs, m.row.MemBytes, m.row.GPUs = res.CPUs, res.MemBytes, res.GPUs
	if m.row.State == "" {
		m.row.State = "pending"
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
		switch {
		case m.local:
			alive = m.row.AgentPID > 0 && runner.Alive(m.row.AgentPID, m.row.AgentStart)
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
		case !alive && (m.registered || m.row.State == "running"):
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
			m.row.State = "pending"
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
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.home.Agents(), 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(s.home.Agents(), m.row.ID+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(exe, "agent", "--server", "unix://"+s.home.Socket(), "--token-file", s.home.Token(),
		"--machine", m.row.ID, "--cluster", m.row.Cluster)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "BURST_HOME="+string(s.home))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	pid := cmd.Process.Pid
	start, err := runner.ProcStartTicks(pid)
	if err != nil {
		return fmt.Errorf("identify agent %d: %w", pid, err)
	}
	m.row.AgentPID, m.row.AgentStart = pid, start
	os.WriteFile(filepath.Join(s.home.Agents(), m.row.ID+".pid"), []byte(strconv.Itoa(pid)+"\n"), 0o600)
	s.log.Info("started local agent", "machine", m.row.ID, "pid", pid, "log", logPath)
	go func() {
		cmd.Wait() // reap it; a dead agent is noticed at once
		select {
		case s.agentExited <- struct{}{}:
		default:
		}
	}()
	return nil
}
