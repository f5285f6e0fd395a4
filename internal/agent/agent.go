// Package agent is burst's worker: it announces a machine's resources to a
// server, leases tasks in batches, runs each in its own process group
// (through runner), and reports how they started and ended.
//
// It holds no durable state; the server decides, the agent executes.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/runner"
)

// Config says which server to serve and as which machine.
type Config struct {
	Client   *client.Client
	Machine  string
	Cluster  string
	Host     string
	Res      Resources
	WorkDir  string        // where batch scripts are written
	IdleExit time.Duration // exit when the server is unreachable this long with nothing running
	Log      *slog.Logger
}

type running struct {
	ref  client.TaskRef
	task *runner.Task
}

type key struct {
	job   int64
	index int
}

// Agent runs tasks for one machine.
type Agent struct {
	cfg Config

	mu      sync.Mutex
	running map[key]*running
	events  []seqEvent
	seq     uint64
	bootID  string
	evWake  chan struct{}
	pid     int
	pidTick uint64
}

type seqEvent struct {
	seq uint64
	ev  client.TaskEvent
}

// Run serves until ctx ends, the server asks the agent to exit, or the
// server stays unreachable for IdleExit while nothing runs.
func Run(ctx context.Context, cfg Config) error {
	if cfg.IdleExit == 0 {
		cfg.IdleExit = 2 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	a := &Agent{cfg: cfg, running: map[key]*running{}, evWake: make(chan struct{}, 1), pid: os.Getpid()}
	a.pidTick, _ = runner.ProcStartTicks(a.pid)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.reportLoop(ctx)
	return a.leaseLoop(ctx)
}

func (a *Agent) leaseLoop(ctx context.Context) error {
	lastContact := time.Now()
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		boot := a.boot()
		var err error
		if boot == "" {
			err = a.register(ctx)
		} else {
			var l *client.Leased
			l, err = a.cfg.Client.Lease(ctx, &client.Lease{Machine: a.cfg.Machine, BootID: boot, WaitMS: 10000})
			if err == nil {
				if l.Exit {
					a.cfg.Log.Info("server asked the agent to exit")
					return nil
				}
				a.handle(l)
			}
		}
		switch {
		case err == nil:
			lastContact, backoff = time.Now(), 50*time.Millisecond
			continue
		case errors.Is(err, client.ErrReregister):
			a.setBoot("")
			continue
		case ctx.Err() != nil:
			return nil
		}
		if a.idle() && time.Since(lastContact) > a.cfg.IdleExit {
			return fmt.Errorf("server unreachable for %s with nothing to run: %w", a.cfg.IdleExit, err)
		}
		a.cfg.Log.Warn("server unreachable; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
	return nil
}

func (a *Agent) boot() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bootID
}

func (a *Agent) setBoot(b string) {
	a.mu.Lock()
	a.bootID = b
	a.mu.Unlock()
	if b != "" {
		a.wakeReporter()
	}
}

func (a *Agent) idle() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.running) == 0 && len(a.events) == 0
}

func (a *Agent) register(ctx context.Context) error {
	a.mu.Lock()
	r := &client.Register{
		Machine: a.cfg.Machine, Cluster: a.cfg.Cluster, Host: a.cfg.Host, PID: a.pid, PIDStart: a.pidTick,
		CPUs: a.cfg.Res.CPUs, MemBytes: a.cfg.Res.MemBytes, GPUs: a.cfg.Res.GPUs,
	}
	for _, rt := range a.running {
		r.Running = append(r.Running, client.RunningTask{TaskRef: rt.ref, PID: rt.task.PID(), PIDStart: rt.task.StartTicks()})
	}
	var upTo uint64
	for _, e := range a.events {
		r.Events = append(r.Events, e.ev)
		upTo = e.seq
	}
	a.mu.Unlock()
	reg, err := a.cfg.Client.Register(ctx, r)
	if err != nil {
		return err
	}
	a.dropEvents(upTo)
	a.mu.Lock()
	for _, ref := range reg.Kill {
		if rt := a.running[key{ref.Job, ref.Index}]; rt != nil && rt.ref.Attempt == ref.Attempt {
			rt.task.Cancel()
		}
	}
	a.mu.Unlock()
	a.cfg.Log.Info("registered", "machine", a.cfg.Machine, "running", len(r.Running), "reported", len(r.Events))
	a.setBoot(reg.BootID)
	return nil
}

func (a *Agent) handle(l *client.Leased) {
	for _, ref := range l.Cancel {
		a.mu.Lock()
		rt := a.running[key{ref.Job, ref.Index}]
		a.mu.Unlock()
		if rt != nil && rt.ref.Attempt == ref.Attempt {
			rt.task.Cancel()
		}
	}
	for _, as := range l.Tasks {
		a.start(as)
	}
}

func (a *Agent) start(as client.Assignment) {
	argv := as.Argv
	if as.Script != "" {
		path, err := a.writeScript(as)
		if err != nil {
			a.failed(as.TaskRef, "cannot write the batch script: "+err.Error())
			return
		}
		argv = append([]string{path}, as.Argv...)
	}
	t, err := runner.Start(runner.Spec{
		Argv: argv, Env: as.Env, Dir: as.Dir, Stdout: as.Stdout, Stderr: as.Stderr,
		MemBytes: as.MemBytes, TimeLimit: time.Duration(as.TimeLimitS) * time.Second,
		Name: fmt.Sprintf("%d.%d.%d", as.Job, as.Index, as.Attempt),
	})
	if err != nil {
		a.failed(as.TaskRef, err.Error())
		return
	}
	now := time.Now().UTC()
	rt := &running{ref: as.TaskRef, task: t}
	a.mu.Lock()
	a.running[key{as.Job, as.Index}] = rt
	a.mu.Unlock()
	a.emit(client.TaskEvent{TaskRef: as.TaskRef, Kind: client.EventStarted, PID: t.PID(), PIDStart: t.StartTicks(), StartedAt: &now})
	go func() {
		res := t.Wait()
		a.mu.Lock()
		if cur := a.running[key{as.Job, as.Index}]; cur == rt {
			delete(a.running, key{as.Job, as.Index})
		}
		a.mu.Unlock()
		a.emit(exitEvent(as.TaskRef, res))
	}()
}

func exitEvent(ref client.TaskRef, r runner.Result) client.TaskEvent {
	ev := client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: r.State, ExitCode: r.ExitCode,
		Signal: r.Signal, Reason: r.Reason, UserUS: r.UserCPU.Microseconds(), SysUS: r.SysCPU.Microseconds(),
		MaxRSS: r.MaxRSS}
	if !r.StartedAt.IsZero() {
		s := r.StartedAt.UTC()
		ev.StartedAt = &s
	}
	if !r.EndedAt.IsZero() {
		e := r.EndedAt.UTC()
		ev.EndedAt = &e
	}
	return ev
}

func (a *Agent) failed(ref client.TaskRef, reason string) {
	now := time.Now().UTC()
	a.emit(client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Failed, Reason: reason, StartedAt: &now, EndedAt: &now})
}

func (a *Agent) writeScript(as client.Assignment) (string, error) {
	dir := filepath.Join(a.cfg.WorkDir, "scripts")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%d.%d.%d.sh", as.Job, as.Index, as.Attempt))
	return path, os.WriteFile(path, []byte(as.Script), 0o700)
}

func (a *Agent) emit(ev client.TaskEvent) {
	a.mu.Lock()
	a.seq++
	a.events = append(a.events, seqEvent{a.seq, ev})
	a.mu.Unlock()
	a.wakeReporter()
}

func (a *Agent) wakeReporter() {
	select {
	case a.evWake <- struct{}{}:
	default:
	}
}

func (a *Agent) dropEvents(upTo uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := 0
	for i < len(a.events) && a.events[i].seq <= upTo {
		i++
	}
	a.events = append(a.events[:0:0], a.events[i:]...)
}

// reportLoop sends events as they come; events that pile up while a report
// is in flight go together in the next one.
func (a *Agent) reportLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.evWake:
		}
		for {
			a.mu.Lock()
			boot := a.bootID
			n := len(a.events)
			if n == 0 || boot == "" {
				a.mu.Unlock()
				break
			}
			evs := make([]client.TaskEvent, n)
			for i, e := range a.events {
				evs[i] = e.ev
			}
			upTo := a.events[n-1].seq
			a.mu.Unlock()
			err := a.cfg.Client.ReportEvents(ctx, &client.Report{Machine: a.cfg.Machine, BootID: boot, Events: evs})
			if err == nil {
				a.dropEvents(upTo)
				continue
			}
			if errors.Is(err, client.ErrReregister) {
				a.mu.Lock()
				if a.bootID == boot {
					a.bootID = ""
				}
				a.mu.Unlock()
				break // register carries the events
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}
