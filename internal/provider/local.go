package provider

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
	"github.com/burst-sh/burst/internal/agent/runner"
)

// Local runs machines as agents on this host, each announcing a slice of
// the host's cores and memory. Slices are not fenced from each other (no VM,
// no cgroup per machine): the scheduler keeps each within its size, and
// Local refuses to start more slices than the host holds.
type Local struct {
	Host burst.Resources // this host's cores and memory
	// Used returns the resources held by this provider's live machines.
	Used func() burst.Resources
}

// Name implements Provider.
func (l *Local) Name() string { return "local" }

// Immediate implements Immediate: Start forks an agent and reads Used.
func (l *Local) Immediate() {}

// Check implements Provider: one machine must fit the host.
func (l *Local) Check(s Spec) error {
	res := s.Res
	switch {
	case res.CPUs > l.Host.CPUs:
		return fmt.Errorf("a machine of %d vCPUs does not fit this host (%d cores): choose a type with at most %d vCPUs (burst types), or another provider",
			res.CPUs, l.Host.CPUs, l.Host.CPUs)
	case res.MemBytes > l.Host.MemBytes:
		return fmt.Errorf("a machine of %.1f GiB does not fit this host (%.1f GiB of memory): choose a type with less memory (burst types), or another provider",
			gib(res.MemBytes), gib(l.Host.MemBytes))
	case res.GPUs > l.Host.GPUs:
		return fmt.Errorf("a machine with %d GPUs does not fit this host (%d GPUs): choose a type without GPUs, or another provider", res.GPUs, l.Host.GPUs)
	}
	return nil
}

func gib(b int64) float64 { return float64(b) / (1 << 30) }

// Start implements Provider: it runs `burst agent` for the machine in its
// own session, so that it outlives the server.
func (l *Local) Start(ctx context.Context, s Spec, c Connect) (Handle, error) {
	if l.Used != nil {
		u := l.Used()
		if u.CPUs+s.Res.CPUs > l.Host.CPUs || u.MemBytes+s.Res.MemBytes > l.Host.MemBytes {
			return Handle{}, fmt.Errorf("this host is full: its machines hold %d of %d cores and %.1f of %.1f GiB, and %s needs %d cores and %.1f GiB more",
				u.CPUs, l.Host.CPUs, gib(u.MemBytes), gib(l.Host.MemBytes), s.ID, s.Res.CPUs, gib(s.Res.MemBytes))
		}
	}
	if len(s.Command) > 0 {
		return spawn(c, s.ID, s.Command[0], s.Command[1:])
	}
	args := []string{"agent", "--server", c.Server, "--token-file", c.TokenFile, "--machine", s.ID, "--cluster", s.Cluster}
	if s.Res.CPUs > 0 {
		args = append(args, "--cpus", strconv.Itoa(s.Res.CPUs))
	}
	if s.Res.MemBytes > 0 {
		args = append(args, "--mem", strconv.FormatInt(s.Res.MemBytes>>10, 10)+"K")
	}
	return Spawn(c, s.ID, args)
}

// Spawn starts a burst agent process with args, logging to LogDir/ID.log,
// in its own session. Shared by every provider that runs agents here.
func Spawn(c Connect, id string, args []string) (Handle, error) { return spawn(c, id, c.Exe, args) }

func spawn(c Connect, id, exe string, args []string) (Handle, error) {
	if err := os.MkdirAll(c.LogDir, 0o700); err != nil {
		return Handle{}, err
	}
	logPath := filepath.Join(c.LogDir, id+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return Handle{}, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "BURST_HOME="+c.Home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return Handle{}, fmt.Errorf("start agent: %w", err)
	}
	pid := cmd.Process.Pid
	start, err := runner.ProcStartTicks(pid)
	if err != nil {
		return Handle{}, fmt.Errorf("identify agent %d: %w", pid, err)
	}
	go cmd.Wait() // reap it
	return Handle{PID: pid, PIDStart: start}, nil
}

// Stop implements Provider: SIGTERM to the agent, which ends its tasks
// (SIGTERM, then SIGKILL after its grace) and exits; SIGKILL if it is
// still there after 5 s.
func (l *Local) Stop(ctx context.Context, h Handle) error {
	if h.PID <= 0 || !runner.Alive(h.PID, h.PIDStart) {
		return nil
	}
	syscall.Kill(h.PID, syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if !runner.Alive(h.PID, h.PIDStart) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return runner.KillGroup(h.PID, h.PIDStart)
}

// Alive implements Provider.
func (l *Local) Alive(h Handle) bool { return h.PID > 0 && runner.Alive(h.PID, h.PIDStart) }
