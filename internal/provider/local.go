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
// no cgroup per machine): the scheduler keeps each within its size, and the
// server, which counts the slices (Caps.SharesHost), starts no more than the
// host holds.
type Local struct {
	Host burst.Resources // this host's cores and memory
}

// Name implements Provider.
func (l *Local) Name() string { return LocalName }

// Caps implements Provider: slices of this host, each running an agent.
func (l *Local) Caps() Caps { return Caps{SharesHost: true, Agent: true} }

// Check implements Provider: one machine must fit the host, and the
// options of providers that place machines elsewhere are refused.
func (l *Local) Check(ctx context.Context, s Spec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := RefuseOptions(l.Name(), s.Options); err != nil {
		return err
	}
	if s.Partition != "" || s.TimeLimit > 0 {
		return fmt.Errorf("--partition and --time-limit are for the slurm provider: the %s provider's machines are slices of this host (drop them, or give --provider slurm)", l.Name())
	}
	return fitsHost(l.Host, s.Res)
}

func fitsHost(host, res burst.Resources) error {
	switch {
	case res.CPUs > host.CPUs:
		return fmt.Errorf("a machine of %d vCPUs does not fit this host (%d cores): choose a type with at most %d vCPUs (burst types), or another provider",
			res.CPUs, host.CPUs, host.CPUs)
	case res.MemBytes > host.MemBytes:
		return fmt.Errorf("a machine of %.1f GiB does not fit this host (%.1f GiB of memory): choose a type with less memory (burst types), or another provider",
			gib(res.MemBytes), gib(host.MemBytes))
	case res.GPUs > host.GPUs:
		return fmt.Errorf("a machine with %d GPUs does not fit this host (%d GPUs): choose a type without GPUs, or another provider", res.GPUs, host.GPUs)
	}
	return nil
}

func gib(b int64) float64 { return float64(b) / (1 << 30) }

// Start implements Provider: it runs `burst agent` for the machine in its
// own session, so that it outlives the server.
func (l *Local) Start(ctx context.Context, s Spec, c Connect) (Handle, error) {
	if err := ctx.Err(); err != nil {
		return Handle{}, err
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
	// Its home id last: the one this server inherited (it was started
	// from a task of another home) must not stand.
	cmd.Env = append(os.Environ(), "BURST_HOME="+c.Home, runner.HomeIDEnv+"="+c.HomeID)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return Handle{}, fmt.Errorf("start agent: %w", err)
	}
	pid := cmd.Process.Pid
	start, err := runner.ProcStartTicks(pid)
	if err != nil {
		return Handle{}, fmt.Errorf("identify agent %d: %w", pid, err)
	}
	// Reap it when it exits. This goroutine lives as long as the agent,
	// which outlives the server by design (a server restart loses no task),
	// so nothing of the server's can stop it: it ends with the process.
	go cmd.Wait()
	return Handle{PID: pid, PIDStart: start}, nil
}

// Stop implements Provider: SIGTERM to the agent, which ends its tasks
// (SIGTERM, then SIGKILL after its grace) and exits; SIGKILL if it is
// still there after 5 s. When ctx ends first it returns without killing.
func (l *Local) Stop(ctx context.Context, h Handle) error { return stopProcess(ctx, h) }

func stopProcess(ctx context.Context, h Handle) error {
	if h.PID <= 0 {
		return nil
	}
	// Checked once: another home's agent (a copied store) is left alone,
	// and logged, here; SIGTERM and SIGKILL then go to what was checked.
	p, err := runner.Own(h.PID, h.PIDStart)
	if p == nil {
		return err
	}
	p.Signal(syscall.SIGTERM)
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for p.Alive() {
		select {
		case <-tick.C:
			continue
		case <-deadline.C:
			p.KillGroup()
			return nil
		case <-ctx.Done():
			// The server is stopping: leave the agent its grace, in which
			// it ends its tasks' own process groups; the next server
			// finishes the stop. Killing it now would orphan them.
			return ctx.Err()
		}
	}
	return nil
}

// Alive implements Provider.
func (l *Local) Alive(ctx context.Context, h Handle) bool {
	return h.PID > 0 && runner.Alive(h.PID, h.PIDStart)
}
