// Package agent is burst's worker: it announces a machine's resources to a
// server, leases tasks in batches, runs each in its own process group
// (through runner), and reports how they started and ended.
//
// It holds no durable state; the server decides, the agent executes.
package agent

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/agent/session"
	"github.com/burst-sh/burst/internal/mapspec"
	"github.com/burst-sh/burst/internal/sbatch"
	"github.com/burst-sh/burst/internal/slurmface"
)

// Config says which server to serve and as which machine.
type Config struct {
	Client  *client.Client
	Machine string
	Cluster string
	Host    string
	Res     Resources
	WorkDir string // where batch scripts are written
	// Private is burst's own directory ($BURST_HOME): no task may open an
	// output file inside it (the store, the token, other jobs' logs).
	Private  string
	IdleExit time.Duration // exit when the server is unreachable this long with nothing running
	// Gone, when set, is asked after each failed contact with the server:
	// a reason says that server is gone for good (its home removed: the
	// token file it was started with is gone or holds another home's
	// token), and the agent ends its tasks and exits at once rather than
	// run them on for no one until IdleExit.
	Gone func() string
	Log  *slog.Logger
	// Pipe streams from other agents: accepted on StreamListen (HOST:PORT,
	// e.g. 0.0.0.0:0) and announced as StreamHost with the port it got;
	// each stream proves the key the server gave it (stream_pair.go). No
	// StreamListen: no listener (stages of a pipe placed here then join
	// only local ones).
	StreamListen, StreamHost string
	// CacheDir holds the blobs staged tasks use ($BURST_HOME/cache), up
	// to CacheSize bytes (default DefaultCacheSize).
	CacheDir  string
	CacheSize int64
	// SpotNotice, when SpotNoticeAWS, watches the instance metadata for a
	// spot interruption notice (spot.go); "": never asks it.
	SpotNotice string
	// LostWindow is how long a task killed by SIGTERM or SIGKILL that the
	// agent did not send waits for the agent's own stop before its end is
	// reported as the program's (failed) rather than its machine's (lost,
	// run again): whatever takes a machine away (scancel of a pilot, a
	// shutdown) signals every process of it at once, and the agent hears of
	// it a moment after its task dies. 0 = DefaultLostWindow.
	LostWindow time.Duration
}

// DefaultLostWindow is Config.LostWindow's default; PilotLostWindow is a
// Slurm pilot's, where scancel and the end of an allocation are the
// usual reasons a task is signalled, and a loaded node may take longer
// than the default to deliver the agent its own signal.
const (
	DefaultLostWindow = 300 * time.Millisecond
	PilotLostWindow   = 3 * time.Second
)

type running struct {
	ref   client.TaskRef
	task  *runner.Task
	ctx   *client.JobContext
	stage bool // a pipe's stage
	// live: its figures are sent while it runs (sampleStages): a pipe's
	// stage (the dashboard's live figures) or a batch task (sstat).
	live bool
	// steps is a batch task's step counter (sbatch.StepCounterEnv), ""
	// for other tasks; sent holds its srun steps as last sent while it
	// runs (squeue -s and sstat list them), by id (sampleStages' alone).
	steps string
	sent  map[int]burst.Step
	// sampled are its running steps whose processes srun recorded, as the
	// steps file last said (sampleStages' alone).
	sampled []burst.Step
	// seen is the size of its steps file when sampleStages last read it:
	// a step's start or end appends a line, so a file of that size holds
	// nothing new (a batch task that runs no srun is not read each second).
	seen int64
	// resend: the server it reports to registered this agent again (it
	// restarted, and keeps running steps in memory alone): the next
	// sample sends every step again. Set under a.mu, read by sampleStages.
	resend atomic.Bool
}

// queued is a prefetched task waiting for this machine's resources.
type queued struct {
	as  client.Assignment
	ctx *client.JobContext
}

type key struct {
	job   int64
	index int
}

// Agent runs tasks for one machine.
type Agent struct {
	cfg Config

	stacks *stackTrees // unpacked stacks, each made by one task at a time, evicted when unheld (stack_evict.go)

	slurmBinOnce sync.Once // slurmbin.go
	slurmBinDir  string
	slurmBashEnv string

	mu      sync.Mutex
	running map[key]*running
	queue   []queued // prefetched tasks, started in order as resources free up
	used    burst.Resources
	sess    *session.Session // its events are guarded by mu too
	hub     *hub
	opening map[key]*opening // pipe stages waiting for their streams
	stopped <-chan struct{}  // closed when the agent is told to stop (its machine goes away)
	scripts scripts          // the batch scripts of the tasks that run here
	// sampling: the sampler of running pipe stages runs (sampleStages);
	// bg waits for it when the agent stops.
	sampling bool
	bg       sync.WaitGroup
	quit     chan struct{} // closed when Run returns: ends the sampler
	// remote: this machine does not see the server's home (remote.go),
	// learnt before the first registration; runCtx is Run's, which ends
	// the shipping of remote tasks' output.
	remote atomic.Bool
	runCtx context.Context
	cache  *cache // blobs of staged tasks (stage.go)
	// interrupted: a spot interruption notice came (spot.go): the agent
	// takes no more work.
	interrupted atomic.Bool
	// room: whether the logs' filesystem has room to start tasks
	// (room.go); roomWaiting: a pump is due once it may (guarded by mu).
	room        roomGate
	roomWaiting bool
	// pumps is how many goroutines start queued tasks now (pumpUntil),
	// at most maxPumps (guarded by mu).
	pumps int
	// idleAt is when its last task left the running set, or when it
	// started (guarded by mu): told at registration while nothing runs,
	// so that a restarted server learns when the machine went idle.
	idleAt time.Time
}

// opening is a pipe stage whose ends are being connected.
type opening struct {
	ref        client.TaskRef
	cancelled  bool
	ctx        context.Context    // ends its waits for streams
	stop       context.CancelFunc // called by a cancel
	remote     *remoteTask        // on a remote machine: its private directory and output shipper
	stage      *stageTask         // a staged task's inputs held and outputs to upload (stage.go)
	stackRoot  string             // the root filesystem it runs inside (stack.go)
	stackHeld  func()             // lets go of that root when the task ends (stack_evict.go)
	stackState string             // a writable root's overlay state, its changes kept (stackexec.go)
	// held is the CPUs and memory it counts in the agent's used from when
	// it opens: a staged task fetches its inputs, a stage waits for its
	// streams, before its process starts, and a queued task must not start
	// on resources that one is about to take.
	held burst.Resources
	// limit is a time limit its job was given while it opened (scontrol
	// update of a running job): its process takes it once started.
	limit *int64
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
	// The home that started this agent: it carries its id, and so does
	// every task it starts (launch); its own kills spare what does not.
	homeID := os.Getenv(runner.HomeIDEnv)
	runner.SetIdentity(homeID, cfg.Log)
	a := &Agent{cfg: cfg, running: map[key]*running{}, opening: map[key]*opening{}, stopped: ctx.Done(), idleAt: time.Now(),
		scripts: scripts{dir: filepath.Join(cfg.WorkDir, "scripts")}, quit: make(chan struct{}), runCtx: ctx}
	// Tasks' logs go under burst's home on a machine that shares it with
	// the server, and to the spool under the work directory on one that
	// does not (remote.go).
	a.room.dir = cfg.Private
	if a.room.dir == "" {
		a.room.dir = cfg.WorkDir
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(cfg.WorkDir, "cache")
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize(cfg.CacheDir)
	}
	a.cfg = cfg
	a.cache = newCache(cfg.CacheDir, cfg.CacheSize, cfg.Log)
	a.stacks = newStackTrees(filepath.Join(cfg.CacheDir, "stacks"), cfg.CacheSize, cfg.Log)
	h, err := newHub(cfg.StreamListen, cfg.StreamHost, cfg.Log)
	if err != nil {
		return err
	}
	defer h.close()
	a.hub = h
	a.sess = session.New(session.Config{
		Client: cfg.Client, Mu: &a.mu, LeaseWait: 10 * time.Second, Log: cfg.Log, HostLoad: true,
		Register: client.Register{Machine: cfg.Machine, Cluster: cfg.Cluster, Host: cfg.Host,
			CPUs: cfg.Res.CPUs, MemBytes: cfg.Res.MemBytes, GPUs: cfg.Res.GPUs, StreamAddr: h.addr, HomeID: homeID,
			Stacks: stacksOK(), OS: KernelOS()},
		Linger: a.linger, StartLinger: reportLinger, Complete: a.complete,
		Adopt: func(id string) {
			// Started by hand (or by a Slurm pilot): it takes the id of
			// the home it serves, so that its tasks carry it and that
			// home's server may stop them if this agent is lost.
			runner.SetIdentity(id, cfg.Log)
			cfg.Log.Info("took the home id of the server it serves", "home_id", id)
		},
		Probe: func(ctx context.Context, r *client.Register) error {
			if err := probeHome(ctx, cfg.Client, r); err != nil {
				return err
			}
			a.remote.Store(r.Remote)
			if r.Remote {
				cfg.Log.Info("this machine does not see the server's home: tasks run in private directories and their output is shipped to the server")
			}
			return nil
		},
		Outage: fmt.Sprintf("an agent with nothing to run exits once the server has been gone %s", cfg.IdleExit),
		GiveUp: func(err error, unreachable time.Duration) error {
			if cfg.Gone != nil {
				if why := cfg.Gone(); why != "" {
					return fmt.Errorf("%s: the server this agent served is gone for good; the agent ends its tasks and exits: %w", why, err)
				}
			}
			if a.idle() && unreachable > cfg.IdleExit {
				return fmt.Errorf("server unreachable for %s with nothing to run: the agent exits (a server starts its agents again when it needs them): %w", cfg.IdleExit, err)
			}
			return nil
		},
	}, (*owner)(a))
	// Probed now, not at the first task: this removes the cgroups of agents that are gone.
	cfg.Log.Info("tasks are contained by", "containment", runner.Containment())
	a.killLeftovers()
	if dir := stepsDir(cfg.WorkDir, cfg.Machine); dir != "" {
		os.RemoveAll(dir) // the step counts of the tasks just killed
	}
	sweepWork(cfg.WorkDir, time.Now(), cfg.Log)
	spotCtx, stopSpot := context.WithCancel(ctx)
	defer stopSpot()
	if cfg.SpotNotice == SpotNoticeAWS {
		a.bg.Add(1)
		go func() {
			defer a.bg.Done()
			a.watchSpot(spotCtx)
		}()
	}
	err = a.sess.Run(ctx)
	stopSpot()
	a.mu.Lock()
	close(a.quit) // under a.mu: no sampler starts after it (launch checks it under a.mu)
	a.mu.Unlock()
	a.stopAll(stopGrace)
	a.bg.Wait()
	runner.Shutdown()
	return err
}

// stopGrace is how long tasks get between SIGTERM and SIGKILL when their
// agent stops: a machine going down waits no longer than that.
const stopGrace = 2 * time.Second

// stopAll ends every task this agent runs, as powering off a machine would:
// SIGTERM to each process group, SIGKILL to what is left after grace. The
// server requeues them (it stopped the machine) or finds them lost.
func (a *Agent) stopAll(grace time.Duration) {
	a.mu.Lock()
	a.queue = nil
	var tasks []*runner.Task
	for _, r := range a.running {
		if r.task != nil {
			tasks = append(tasks, r.task)
		}
	}
	a.mu.Unlock()
	if len(tasks) == 0 {
		return
	}
	a.cfg.Log.Info("stopping: ending the tasks that run here", "tasks", len(tasks))
	for _, t := range tasks {
		t.Stop()
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		n := len(a.running)
		a.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, t := range tasks {
		runner.KillGroup(t.PID(), t.StartTicks())
	}
}

// idle reports whether nothing runs. Events not yet reported do not keep an
// agent alive forever: a server that comes back after the agent gave up
// finds those tasks lost and runs them again.
func (a *Agent) idle() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.running) == 0 && len(a.queue) == 0 && len(a.opening) == 0
}

// owner is the agent as its session sees it.
type owner Agent

// Registration implements session.Owner: what runs, is queued here or
// waits for its streams. The start times of what runs are filled in by
// complete, outside a.mu.
func (o *owner) Registration(r *client.Register) {
	a := (*Agent)(o)
	for _, rt := range a.running {
		r.Running = append(r.Running, client.RunningTask{TaskRef: rt.ref, PID: rt.task.PID()})
		rt.resend.Store(rt.steps != "")
	}
	for _, q := range a.queue {
		r.Running = append(r.Running, client.RunningTask{TaskRef: q.as.TaskRef})
	}
	for _, o := range a.opening {
		r.Running = append(r.Running, client.RunningTask{TaskRef: o.ref})
	}
	if len(r.Running) == 0 {
		at := a.idleAt
		r.IdleSince = &at
	}
}

// Handle implements session.Owner.
func (o *owner) Handle(l *client.Leased) { (*Agent)(o).handle(l) }

// Kill implements session.Owner.
func (o *owner) Kill(ref client.TaskRef) { (*Agent)(o).cancel(ref, false) }

// linger is how long to gather events before a report (a.mu held): with
// tasks queued here (a map of short tasks) the server has work in hand,
// and a few milliseconds of events in one report save it a transaction
// per task; a lone task is reported at once.
func (a *Agent) linger() time.Duration {
	if len(a.queue) > 0 {
		return reportLinger
	}
	return 0
}

func (a *Agent) handle(l *client.Leased) {
	for _, ref := range l.Cancel {
		a.cancel(ref, slices.Contains(l.Requeue, ref))
	}
	for _, sig := range l.Signals {
		a.signal(sig)
	}
	for _, lim := range l.Limits {
		a.setLimit(lim)
	}
	if a.interrupted.Load() {
		return // its machine goes: the server requeues what it handed out (spot.go)
	}
	short := ""
	if len(l.Tasks) > 0 {
		short = a.roomShort()
	}
	deadline := time.Now().Add(startBudget)
	front := 0 // tasks of this lease put at the head of the queue, in the lease's order
	hold := func(q queued) {
		at := min(front, len(a.queue))
		a.queue = slices.Insert(a.queue, at, q)
		front = at + 1
	}
	for _, as := range l.Tasks {
		ctx := l.Jobs[as.Job]
		if ctx == nil {
			a.sess.Emit(failedEvent(as.TaskRef, "the server sent no job context for this task"))
			continue
		}
		a.mu.Lock()
		k := key{as.Job, as.Index}
		if rt := a.running[k]; rt != nil && rt.ref.Attempt == as.Attempt || a.queuedAt(as.TaskRef) >= 0 ||
			a.opening[k] != nil && a.opening[k].ref == as.TaskRef {
			a.mu.Unlock()
			continue // handed out again: it is already here
		}
		if as.Queued {
			a.queue = append(a.queue, queued{as, ctx})
			a.mu.Unlock()
			continue
		}
		if as.Pipe == nil && short != "" {
			// The disk filled since the server placed it: it waits here,
			// first in line, until there is room (room.go).
			hold(queued{as, ctx})
			a.mu.Unlock()
			continue
		}
		if as.Pipe == nil && (!a.fitsLocked(ctx) || time.Now().After(deadline)) {
			// The server counted a CPU free that a queued task of this
			// agent took first (its exit and the other's start crossed on
			// the way): this one starts next, as soon as it fits. Or the
			// lease has had its startBudget: the rest start from the
			// queue. A pipe's stage starts at once: its peers wait for
			// its streams.
			hold(queued{as, ctx})
			a.mu.Unlock()
			continue
		}
		o := a.openLocked(as, ctx)
		a.mu.Unlock()
		a.start(as, ctx, o)
	}
	a.pumpUntil(deadline)
}

// startBudget is how long handle starts tasks itself before it leaves the
// rest of a lease to the queue and returns to read the next lease. A lease
// of a thousand tasks of no CPU (burst map -j 0) takes seconds to start,
// one fork at a time; started in handle, they kept the lease loop from
// reading the cancel that came meanwhile, and `burst cancel` was followed
// by hundreds of starts. Queued, each is dropped by the cancel.
const startBudget = 50 * time.Millisecond

// maxPumps bounds the goroutines that start queued tasks at once. Every
// task's end pumps: a thousand ends at once, each looping over the queue,
// fought for a.mu with the lease loop (a cancel of a thousand tasks took
// it a thousand times) and held it off for seconds.
const maxPumps = 2

// cancel stops a running task, or drops a queued one (reporting it
// cancelled); requeue: it is stopped to run again (scontrol requeue), which
// a batch task's error file says.
func (a *Agent) cancel(ref client.TaskRef, requeue bool) {
	a.mu.Lock()
	if i := a.queuedAt(ref); i >= 0 {
		a.queue = append(a.queue[:i], a.queue[i+1:]...)
		a.sess.EmitLocked(cancelledEvent(ref))
		a.mu.Unlock()
		a.sess.Wake()
		return
	}
	if o := a.opening[key{ref.Job, ref.Index}]; o != nil && o.ref == ref {
		o.cancelled = true // it ends as soon as its streams are settled
		if o.stop != nil {
			o.stop()
		}
	}
	rt := a.running[key{ref.Job, ref.Index}]
	a.mu.Unlock()
	switch {
	case rt == nil || rt.ref.Attempt != ref.Attempt:
	case requeue:
		rt.task.Requeue()
	default:
		rt.task.Cancel()
	}
}

// signal sends a signal to a running task's processes (scancel --signal);
// a task not running here (ended meanwhile) gets none.
func (a *Agent) signal(s client.TaskSignal) {
	a.mu.Lock()
	rt := a.running[key{s.Job, s.Index}]
	a.mu.Unlock()
	if rt == nil || rt.ref.Attempt != s.Attempt {
		return
	}
	if s.Signal == 0 { // scontrol notify: a line for a batch job's error file, as slurmstepd writes it
		if s.Message != "" {
			rt.task.Note("slurmstepd: error: " + s.Message)
		}
		return
	}
	scope := map[client.SignalScope]runner.Scope{client.SignalBatch: runner.ScopeLeader, client.SignalAll: runner.ScopeAll}[s.Scope]
	if rt.ctx.Script == "" && scope == runner.ScopeSteps {
		scope = runner.ScopeAll // not a batch script: it has no steps, its program is the job
	}
	rt.task.Signal(syscall.Signal(s.Signal), scope)
}

// setLimit gives the job's tasks here its new time limit (scontrol update
// TimeLimit= of a running job): the running ones count it from their own
// start, the queued ones and those opening (staging their inputs, say)
// start with it.
func (a *Agent) setLimit(l client.JobLimit) {
	var tasks []*runner.Task
	a.mu.Lock()
	for k, rt := range a.running {
		if k.job == l.Job && !rt.stage {
			tasks = append(tasks, rt.task)
		}
	}
	for _, o := range a.opening {
		if o.ref.Job == l.Job {
			lim := l.TimeLimitS
			o.limit = &lim
		}
	}
	for i, q := range a.queue {
		if q.as.Job == l.Job && q.ctx.TimeLimitS != l.TimeLimitS {
			ctx := *q.ctx
			ctx.TimeLimitS = l.TimeLimitS
			a.queue[i].ctx = &ctx
		}
	}
	a.mu.Unlock()
	for _, t := range tasks {
		t.SetTimeLimit(time.Duration(l.TimeLimitS) * time.Second)
	}
}

// queuedAt is the position of ref in the queue, or -1; a.mu must be held.
func (a *Agent) queuedAt(ref client.TaskRef) int {
	for i, q := range a.queue {
		if q.as.TaskRef == ref {
			return i
		}
	}
	return -1
}

// pump starts queued tasks, in order, while they fit in what is free.
func (a *Agent) pump() { a.pumpUntil(time.Time{}) }

// pumpUntil is pump, by at most maxPumps goroutines at once: a call while
// they run returns at once, what it would start being theirs to start
// (each gives up only under a.mu, having seen nothing more to start, after
// the change that called it). Past deadline (zero: none) the caller hands
// its pumping over to a goroutine of its own (a.bg) and returns.
func (a *Agent) pumpUntil(deadline time.Time) {
	a.mu.Lock()
	if a.pumps >= maxPumps {
		a.mu.Unlock()
		return
	}
	a.pumps++
	a.mu.Unlock()
	a.pumpLoop(deadline)
}

// pumpLoop starts queued tasks for a pump counted in a.pumps, until there is
// none that may start, or until deadline.
func (a *Agent) pumpLoop(deadline time.Time) {
	for {
		short := a.roomShort()
		a.mu.Lock()
		if len(a.queue) == 0 || !a.fitsLocked(a.queue[0].ctx) {
			a.pumps--
			a.mu.Unlock()
			return
		}
		q := a.queue[0]
		if short != "" && q.as.Pipe == nil {
			a.waitRoomLocked() // tried again in a second (room.go)
			a.pumps--
			a.mu.Unlock()
			return
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			if isClosed(a.quit) {
				a.pumps--
			} else {
				a.bg.Go(func() { a.pumpLoop(time.Time{}) })
			}
			a.mu.Unlock()
			return
		}
		a.queue = a.queue[1:]
		o := a.openLocked(q.as, q.ctx)
		a.mu.Unlock()
		a.start(q.as, q.ctx, o)
	}
}

// fitsLocked says whether a task of ctx fits in what this agent's running
// and opening tasks leave free (a.mu held); anything fits an idle agent.
func (a *Agent) fitsLocked(ctx *client.JobContext) bool {
	need := burst.Resources{CPUs: ctx.CPUs, MemBytes: ctx.MemBytes}
	free := burst.Resources{CPUs: a.cfg.Res.CPUs - a.used.CPUs, MemBytes: a.cfg.Res.MemBytes - a.used.MemBytes}
	return a.used.CPUs <= 0 || need.Fits(free)
}

// openLocked records a task as being started (a.mu held): from when it
// leaves the queue or the lease until it runs or its exit is queued, a
// registration lists it, so that a restarted server never finds it in
// neither and runs it again. A pipe's stage also gets a context that a
// cancel ends, for its waits for streams.
func (a *Agent) openLocked(as client.Assignment, ctx *client.JobContext) *opening {
	res := taskRes(as, ctx)
	o := &opening{ref: as.TaskRef, held: burst.Resources{CPUs: res.CPUs, MemBytes: res.MemBytes}}
	a.used.CPUs += o.held.CPUs
	a.used.MemBytes += o.held.MemBytes
	if as.Pipe != nil {
		o.ctx, o.stop = context.WithCancel(context.Background())
	}
	a.opening[key{as.Job, as.Index}] = o
	return o
}

// lostNote is what the reason of a task that never ran, and ends lost by
// err, adds to say whose fault it was: a shortage of descriptors, memory or
// processes is said as such; any other loss is a staging failure of the
// machine (its cache, the blob store or the server out of its reach), never
// a shortage.
func lostNote(err error) string {
	if runner.MachineShort(err) {
		return " (this machine is short of resources, not the task's fault)"
	}
	return " (this machine could not stage it, not the task's fault)"
}

// endOpening ends a task that never ran: it leaves opening and its exit
// (failed for why, lost if err is its machine's shortage rather than the
// task's fault, or cancelled if a cancel came meanwhile) is queued in one
// critical section.
func (a *Agent) endOpening(as client.Assignment, o *opening, why string, err error) {
	a.mu.Lock()
	if k := (key{as.Job, as.Index}); a.opening[k] == o {
		delete(a.opening, k)
	}
	a.used.CPUs -= o.held.CPUs
	a.used.MemBytes -= o.held.MemBytes
	ev := failedEvent(as.TaskRef, why)
	if runner.MachineShort(err) || errors.As(err, new(errStageLost)) {
		// Out of descriptors, memory or processes (EMFILE opening its log
		// or /dev/null, pipe2, writing its script): it runs again, on a
		// lost machine's terms, without using a retry.
		ev.State = burst.Lost
		ev.Reason += lostNote(err)
	}
	if o.cancelled {
		ev = cancelledEvent(as.TaskRef)
	}
	if o.remote != nil {
		defer o.remote.cleanup(nil)
	}
	if o.stage != nil {
		defer a.unstage(o.stage)
	}
	if o.stackHeld != nil {
		defer o.stackHeld()
	}
	a.sess.EmitLocked(ev)
	a.mu.Unlock()
	a.sess.Wake()
}

// taskRes is what a task asks for: its own resources (a pipe's stage) or
// its job's.
func taskRes(as client.Assignment, ctx *client.JobContext) burst.Resources {
	if as.Res != nil {
		return *as.Res
	}
	return burst.Resources{CPUs: ctx.CPUs, MemBytes: ctx.MemBytes, GPUs: ctx.GPUs, TimeLimit: ctx.TimeLimitS}
}

// start starts a task recorded in opening (o): a pipe's stage once its
// streams are connected, anything else at once.
func (a *Agent) start(as client.Assignment, ctx *client.JobContext, o *opening) {
	if a.remote.Load() {
		var err error
		if as, ctx, o.remote, err = a.prepareRemote(as, ctx); err != nil {
			a.endOpening(as, o, err.Error(), err)
			return
		}
	}
	if as.Pipe != nil {
		go a.startStage(as, ctx, o)
		return
	}
	if staged(as, ctx) {
		go a.startStaged(as, ctx, o)
		return
	}
	a.launch(as, ctx, nil, nil, o, nil)
}

// startStage connects a pipe stage's stdin and stdout (waiting, if need
// be, for a stage on another machine to connect), starts the junctions it
// hosts, and then its process.
func (a *Agent) startStage(as client.Assignment, ctx *client.JobContext, o *opening) {
	defer o.stop()
	// Its producers are parked only from now (stream.go's errUnexpected).
	var accepts []string
	for _, e := range append([]client.End{as.Pipe.Stdin}, junctionIns(as.Pipe.Junctions)...) {
		if e.Accept && e.Stream != "" {
			accepts = append(accepts, e.Stream)
		}
	}
	defer a.hub.expect(accepts)()
	cctx := o.ctx // a cancel while it waits for a stream ends the wait
	// Its stack, fetched before its streams connect (stack.go).
	if as.Pipe.Stack != nil {
		root, held, err := a.stackRoot(cctx, as.Pipe.Stack)
		if err != nil {
			a.endOpening(as, o, "stage "+as.Pipe.Stage+": "+err.Error(), err)
			return
		}
		o.stackRoot, o.stackHeld = root, held
		if as.Pipe.Stack.Keep { // a writable root whose changes are kept (stackexec.go)
			st, err := a.keepStageChanges(as, ctx)
			if err != nil {
				a.endOpening(as, o, "stage "+as.Pipe.Stage+": "+err.Error(), errStageLost{err})
				return
			}
			a.mu.Lock()
			o.stage = st // packed and uploaded at its end, as a staged task's
			a.mu.Unlock()
			o.stackState = st.changes
		}
	}
	var files []*os.File
	rs := &relays{} // the relays of its encrypted streams
	fail := func(err error) {
		for _, f := range files {
			f.Close()
		}
		rs.abort()
		a.endOpening(as, o, "stage "+as.Pipe.Stage+": "+err.Error(), err)
	}
	if a.hub.ln == nil && (needsNet(as.Pipe.Stdin) || needsNet(as.Pipe.Stdout)) {
		fail(errors.New("this agent takes no streams from other machines (it has no stream listener)"))
		return
	}
	open := func(e client.End, write bool) (*os.File, error) { return a.hub.open(cctx, e, write, as.Stdout, rs) }
	var juncs []*junction
	for _, jn := range as.Pipe.Junctions {
		j := &junction{}
		for _, e := range jn.In {
			f, err := open(e, false)
			if err != nil {
				fail(err)
				return
			}
			files = append(files, f)
			j.in = append(j.in, f)
		}
		for _, e := range jn.Out {
			f, err := open(e, true)
			if err != nil {
				fail(err)
				return
			}
			files = append(files, f)
			j.out = append(j.out, f)
		}
		juncs = append(juncs, j)
	}
	in, err := open(as.Pipe.Stdin, false)
	if err != nil {
		fail(err)
		return
	}
	files = append(files, in)
	var out *os.File
	if as.Pipe.Stdout != (client.End{}) {
		if out, err = open(as.Pipe.Stdout, true); err != nil {
			fail(err)
			return
		}
		files = append(files, out)
	}
	// The task ends when its process and the junctions it hosts have: a
	// merge junction may still be writing the pipe's output.
	var jw sync.WaitGroup
	for _, j := range juncs {
		jw.Add(1)
		go func() {
			defer jw.Done()
			j.run()
		}()
	}
	a.launch(as, ctx, in, out, o, func() error {
		jw.Wait()
		return rs.wait() // a stream that broke fails the stage
	})
}

// openInput opens a batch script's --input file (path, relative to dir) for
// it to read as its standard input. A FIFO does not hold the task's start
// until a writer comes: it is opened without blocking, then given to the
// task blocking, as a file given with < would be.
func openInput(path, dir string) (*os.File, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(int(f.Fd()), false); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// stepCounter is the file a batch task's srun steps count in
// (sbatch.StepCounterEnv): under stepsDir (0700), named for the task's
// run; "" for a task that is no batch script, or where the directory
// cannot be made (its steps are then all 0).
func (a *Agent) stepCounter(as client.Assignment, batch bool) string {
	dir := stepsDir(a.cfg.WorkDir, a.cfg.Machine)
	if !batch || dir == "" {
		return ""
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return ""
	}
	return filepath.Join(dir, fmt.Sprintf("%d.%d.%d", as.Job, as.Index, as.Attempt))
}

// stepsDir holds the step counts of this machine's running batch tasks,
// in the agent's work directory (machines may share one): emptied when
// the agent starts, as the tasks of the agent before are gone.
func stepsDir(workDir, machine string) string {
	if workDir == "" || machine == "" {
		return ""
	}
	return filepath.Join(workDir, "steps", machine)
}

// packAs is the name under which a task's small output may go to its
// machine's pack files (runner.Spec.PackAs): the server allows it for its
// own logs of a map's tasks (Assignment.Pack); a remote task's output is
// shipped, kept in the server's files.
func packAs(as client.Assignment, o *opening, machine string) string {
	if !as.Pack || as.Direct || !as.Truncate || o.remote != nil {
		return ""
	}
	return machine
}

func needsNet(e client.End) bool { return e.Dial != "" || e.Accept }

// warning is a batch script's --signal for the runner.
func warning(w *burst.Warning) *runner.Warning {
	if w == nil {
		return nil
	}
	return &runner.Warning{Signal: syscall.Signal(w.Signal), Before: time.Duration(w.BeforeS) * time.Second, Leader: w.Shell}
}

// stepdNotice gives a batch job's task the lines Slurm's slurmstepd writes
// into its error file: "slurmstepd: error: *** JOB 12 ON node CANCELLED AT
// 2026-12-05T14:50:01 DUE TO TIME LIMIT ***" (the time is local, as
// Slurm's), and the count of out-of-memory kills. Scripts and tools look
// for them. Other jobs get none (nil).
func stepdNotice(batch bool, env []string) func(runner.Notice, time.Time) string {
	if !batch {
		return nil
	}
	id, _ := envValue(env, "SLURM_JOB_ID")
	node, _ := envValue(env, "SLURMD_NODENAME")
	if id == "" {
		return nil
	}
	return func(n runner.Notice, at time.Time) string {
		when := at.Local().Format("2006-01-02T15:04:05")
		switch n {
		case runner.NoticeTimeLimit:
			return fmt.Sprintf("slurmstepd: error: *** JOB %s ON %s CANCELLED AT %s DUE TO TIME LIMIT ***", id, node, when)
		case runner.NoticeCancelled:
			return fmt.Sprintf("slurmstepd: error: *** JOB %s ON %s CANCELLED AT %s ***", id, node, when)
		case runner.NoticeRequeued:
			return fmt.Sprintf("slurmstepd: error: *** JOB %s ON %s CANCELLED AT %s DUE TO JOB REQUEUE ***", id, node, when)
		case runner.NoticeOOM:
			return fmt.Sprintf("slurmstepd: error: Detected 1 oom-kill event(s) in StepId=%s.batch. Some of your processes may have been killed by the cgroup out-of-memory handler.", id)
		}
		return ""
	}
}

// stepdExecFailed is how slurmstepd ends a batch job whose script cannot
// be executed: the errno of its execve as the exit code, and a line in the
// job's error file. 2 for a #! interpreter this machine lacks, said
// "slurmstepd-NODE: error: execve(): bad interpreter(/bin/tcsh): No such
// file or directory" with the rest of the #! line as slurmstepd reads it
// (its first 255 bytes); otherwise "execve(): SCRIPT: " and the errno's
// words: "Permission denied", 13, or for a #! naming a file that is no
// program "Exec format error", 8, which the runner then runs in no shell
// (checked beside Slurm 22.05). Other tasks get nil: burst's own line,
// and 127 or 126 as a shell gives them.
func stepdExecFailed(batch bool, env []string, script, text string) func(error) (string, int, bool) {
	id, _ := envValue(env, "SLURM_JOB_ID")
	if !batch || id == "" {
		return nil
	}
	node, _ := envValue(env, "SLURMD_NODENAME")
	return func(err error) (string, int, bool) {
		var errno syscall.Errno
		if !errors.As(err, &errno) || errno == 0 {
			return "", 0, false // not execve's (a working directory that is missing)
		}
		what := script
		if errno == syscall.ENOENT { // the script is there: its interpreter is not
			line, _, _ := strings.Cut(text, "\n")
			what = "bad interpreter(" + strings.TrimPrefix(line[:min(len(line), 255)], "#!") + ")"
		}
		return slurmface.StepdExecve(node, what, errno), int(errno), true
	}
}

// launch starts a task's process: with in and out (a pipe's stage) as its
// stdin and stdout when given. The task stays in opening (o) until it is
// running, so that a cancel meanwhile is never lost.
func (a *Agent) launch(as client.Assignment, ctx *client.JobContext, in, out *os.File, o *opening, after func() error) {
	res := taskRes(as, ctx)
	argv := as.Argv
	script := ""
	if ctx.Script != "" {
		path, sargv, err := a.scripts.acquire(ctx.Script, as.Argv)
		if err != nil {
			for _, f := range []*os.File{in, out} {
				if f != nil {
					f.Close()
				}
			}
			a.endOpening(as, o, "cannot write the batch script: "+err.Error(), err)
			return
		}
		script, argv = path, sargv
	}
	if o.stackRoot != "" {
		argv = sandboxArgv(o.stackRoot, ctx.Dir, script, as.GPUIDs, argv)
		if o.stackState != "" {
			argv = writableArgv(o.stackRoot, o.stackState, argv)
		}
	}
	if in == nil && as.Stdin != "" {
		f, err := openInput(as.Stdin, ctx.Dir)
		if err != nil {
			if out != nil {
				out.Close()
			}
			if script != "" {
				a.scripts.release(script)
			}
			a.endOpening(as, o, "cannot open the script's --input file: "+err.Error(), err)
			return
		}
		in = f
	}
	extra := append(slices.Clip(as.TaskEnv), "BURST_AGENT="+agentMark(a.cfg.WorkDir), runner.HomeIDEnv+"="+runner.Identity())
	if script != "" || slices.ContainsFunc(as.TaskEnv, func(kv string) bool { return strings.HasPrefix(kv, "SLURM_JOB_ID=") }) {
		// A Slurm job's (a batch script, or the one task of a job srun
		// made outside any job), over what a job submitted from a job
		// inherited.
		extra = append(extra, jobOwner()...)
	}
	// A batch task's srun steps count in a file of its own, in a directory
	// only the agent writes; any other task has none (not one inherited
	// from a job that submitted it).
	steps := a.stepCounter(as, script != "")
	extra = append(extra, sbatch.StepCounterEnv+"="+steps)
	env := mergeEnv(ctx.Env, extra)
	preface, workDir := "", ctx.Dir
	if script != "" && o.stackRoot == "" {
		dir, bashEnv := a.slurmBin()
		env = withSlurmBin(env, dir, bashEnv, a.cfg.Private)
		node, _ := envValue(env, "SLURMD_NODENAME")
		env, preface = withTmpdir(env, node)
		// A working directory this machine lacks: /tmp, as slurmstepd
		// goes there (a command burst runs is refused instead).
		var chdir string
		workDir, chdir = chdirOrTmp(ctx.Dir, node)
		preface += chdir
	}
	if o.stackRoot == "" { // inside a stack, its own shells are the ones to choose from
		argv = mapspec.Launch(argv, env, func(p string) bool { return runner.Executable(p, env, workDir) })
	}
	t, err := runner.Start(runner.Spec{
		Argv: argv, Env: env, Dir: workDir, Stdout: as.Stdout, Stderr: as.Stderr,
		Truncate: as.Truncate, Direct: as.Direct, Private: o.private(a.cfg.Private), PackAs: packAs(as, o, a.cfg.Machine),
		MemBytes: res.MemBytes, TimeLimit: time.Duration(res.TimeLimit) * time.Second,
		Name: fmt.Sprintf("%d.%d.%d", as.Job, as.Index, as.Attempt),
		In:   in, Out: out, IOStats: as.Pipe != nil, UserNS: o.stackState != "",
		Warn: warning(ctx.Warn), Notice: stepdNotice(script != "", env), Preface: preface, Nice: ctx.Nice,
		ExecFailed: stepdExecFailed(script != "" && o.stackRoot == "", env, script, ctx.Script),
	})
	if err != nil {
		if script != "" {
			a.scripts.release(script)
		}
		a.endOpening(as, o, err.Error(), err)
		return
	}
	now := time.Now().UTC()
	rt := &running{ref: as.TaskRef, task: t, ctx: ctx, stage: as.Pipe != nil, live: as.Pipe != nil || steps != "", steps: steps}
	a.mu.Lock()
	delete(a.opening, key{as.Job, as.Index})
	if o.cancelled {
		defer t.Cancel()
	}
	if o.limit != nil && *o.limit != res.TimeLimit {
		defer t.SetTimeLimit(time.Duration(*o.limit) * time.Second)
	}
	a.running[key{as.Job, as.Index}] = rt
	a.used.CPUs += res.CPUs - o.held.CPUs // held since it opened
	a.used.MemBytes += res.MemBytes - o.held.MemBytes
	outFrom, errFrom := t.OutputStarts()
	if o.remote != nil { // the server's copy of its output is the server's own log
		outFrom, errFrom = 0, 0
		o.remote.ship.start()
	}
	// Its start time (PIDStart) is read when the event is sent, if it
	// still runs then (complete): most tasks of a map have ended by then.
	a.sess.EmitLocked(client.TaskEvent{TaskRef: as.TaskRef, Kind: client.EventStarted, PID: t.PID(), StartedAt: &now,
		OutFrom: outFrom, ErrFrom: errFrom})
	if rt.live && !a.sampling && !isClosed(a.quit) {
		a.sampling = true
		a.bg.Go(a.sampleStages)
	}
	a.mu.Unlock()
	a.sess.Wake()
	go func() {
		r := t.Wait()
		var ran []burst.Step
		if steps != "" { // the count of its srun steps, their CPUs and records, if it ran any
			ran = sbatch.ReadSteps(sbatch.StepsFile(steps))
			sbatch.EndSteps(ran, time.Now().UTC())
			os.Remove(steps)
			os.Remove(sbatch.StepCPUsFile(steps))
			os.Remove(sbatch.StepsFile(steps))
		}
		if after != nil {
			if err := after(); err != nil && r.State == burst.Succeeded {
				r.State, r.ExitCode, r.Reason = burst.Failed, nil, "stage "+as.Pipe.Stage+": "+err.Error()
			}
		}
		var outs []client.OutputFile
		if o.stage != nil { // its outputs are uploaded before its end is reported
			r.Reason = stagedStartHint(r.Reason, o.stage.dir, as.Argv)
			var note string
			var err error
			outs, note, err = a.finishStage(o.stage)
			switch {
			case errors.As(err, new(errStageLost)):
				r.State, r.ExitCode, r.Reason = burst.Lost, nil, err.Error()
			case err != nil:
				r.State, r.ExitCode, r.Reason = burst.Failed, nil, err.Error()
			case note != "" && r.Reason != "":
				r.Reason += "; " + note
			case note != "":
				r.Reason = note
			}
		}
		if o.stackHeld != nil { // its stack may be evicted from now
			o.stackHeld()
		}
		if o.remote != nil { // its end waits for its output to reach the server
			shipped := o.remote.ship.finish()
			r.StdoutTo, r.StderrTo = 0, 0
			if shipped { // else the agent stops: what is unshipped stays (swept at the next start)
				o.remote.cleanup(o.remote.ship)
			}
		}
		if r.State == burst.Failed && (r.Signal == int(syscall.SIGTERM) || r.Signal == int(syscall.SIGKILL)) {
			// The machine going away (scancel of a pilot, a shutdown)
			// signals every process at once: the task's death is its
			// machine's, not the program's, and it runs again elsewhere.
			select {
			case <-a.stopped:
				r.State, r.Reason = burst.Lost, "its machine went away ("+r.Reason+")"
			case <-time.After(cmp.Or(a.cfg.LostWindow, DefaultLostWindow)):
			}
		}
		// Leaving the running set and queuing the exit happen together, so
		// that a registration never sees the task in neither.
		a.mu.Lock()
		if cur := a.running[key{as.Job, as.Index}]; cur == rt {
			delete(a.running, key{as.Job, as.Index})
		}
		a.idleAt = time.Now() // the last task to end is when it went idle
		a.used.CPUs -= res.CPUs
		a.used.MemBytes -= res.MemBytes
		ev := exitEvent(as.TaskRef, r)
		ev.Outputs, ev.Steps = outs, ran
		if o.stage != nil {
			ev.StackChanges = o.stage.changed
		}
		a.sess.EmitLocked(ev)
		a.mu.Unlock()
		a.sess.Wake()
		a.pump()
		if script != "" {
			a.scripts.release(script)
		}
	}()
}

// complete fills in the start times of the started events and running
// tasks about to be sent (the session calls it without a.mu): read now,
// from /proc outside the lock, for the tasks that still run. A task that
// has ended needs none: its pid is about to be anyone's, and its exit
// says the rest.
func (a *Agent) complete(evs []client.TaskEvent, running []client.RunningTask) {
	var starts []*uint64
	var tasks []*runner.Task
	a.mu.Lock()
	find := func(ref client.TaskRef, pid int, start *uint64) {
		if *start != 0 || pid <= 0 {
			return
		}
		if rt := a.running[key{ref.Job, ref.Index}]; rt != nil && rt.ref == ref {
			starts, tasks = append(starts, start), append(tasks, rt.task)
		}
	}
	for i := range evs {
		if evs[i].Kind == client.EventStarted {
			find(evs[i].TaskRef, evs[i].PID, &evs[i].PIDStart)
		}
	}
	for i := range running {
		find(running[i].TaskRef, running[i].PID, &running[i].PIDStart)
	}
	a.mu.Unlock()
	for k, t := range tasks {
		*starts[k] = t.StartTicks()
	}
}

// progressInterval is how often the figures of running pipe stages and
// batch tasks are sampled and sent.
const progressInterval = time.Second

// sampleStages sends, every progressInterval, what each running pipe stage
// and batch task has used so far (CPU time, peak RSS, bytes through its
// stdin and stdout), as a progress event that replaces the task's last one
// not yet reported: a stage that runs for hours shows live figures instead
// of zeros, and sstat reads a batch job's. It runs only while some such
// task runs here (the tasks of run and map are not sampled: they are many
// and short, and their figures come at their end) and until the agent
// stops.
func (a *Agent) sampleStages() {
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	var stages []*running
	var figs []runner.Progress
	var live []bool
	var news [][]burst.Step
	for {
		select {
		case <-a.quit:
			a.mu.Lock()
			a.sampling = false
			a.mu.Unlock()
			return
		case <-tick.C:
		}
		a.mu.Lock()
		stages = stages[:0]
		for _, rt := range a.running {
			if rt.live {
				stages = append(stages, rt)
			}
		}
		if len(stages) == 0 {
			a.sampling = false
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
		figs, live = figs[:0], live[:0]
		news = news[:0]
		for _, rt := range stages { // reading /proc and files: not under a.mu
			p, ok := rt.task.Progress()
			figs, live = append(figs, p), append(live, ok)
			news = append(news, newSteps(rt))
		}
		sent := false
		a.mu.Lock()
		for i, rt := range stages {
			// A stage whose exit is queued (it left running) sends no more:
			// its exit's figures are the last word.
			if live[i] && a.running[key{rt.ref.Job, rt.ref.Index}] == rt {
				ev := progressEvent(rt.ref, figs[i])
				ev.Steps = news[i]
				a.sess.ReplaceLocked(ev)
				sent = true
			}
		}
		a.mu.Unlock()
		if sent {
			a.sess.Wake()
		}
	}
}

// newSteps are the srun steps of batch task rt that started, ended or
// changed since sampleStages last sent them: a progress event carries
// those alone (the server merges them by id), not every step of a script
// that ran thousands; all of them once the agent registered again. A
// running step whose tasks' processes srun recorded goes with what they
// used so far (sstat), read at each sample.
func newSteps(rt *running) []burst.Step {
	if rt.steps == "" {
		return nil
	}
	if rt.resend.Swap(false) {
		rt.seen, rt.sent = -1, nil // a server that restarted knows none of them
	}
	var out []burst.Step
	file := sbatch.StepsFile(rt.steps)
	if fi, err := os.Stat(file); err == nil && fi.Size() != rt.seen {
		rt.seen = fi.Size()
		rt.sampled = rt.sampled[:0]
		for _, st := range sbatch.ReadStepsPIDs(file) {
			if st.State == burst.Running && len(st.PIDs) > 0 {
				rt.sampled = append(rt.sampled, st) // sent below, with what it used so far
			} else if rt.note(st) {
				out = append(out, st)
			}
		}
	}
	for _, st := range rt.sampled {
		user, sys, rss := runner.StepUsage(st.PIDs)
		st.PIDs = nil // the processes' ids stay on their machine
		// The largest so far: a process that left its step's tree
		// (reparented, or ended and not yet waited for) takes its time.
		was := rt.sent[st.ID]
		st.UserUS, st.SysUS, st.MaxRSS = max(was.UserUS, user.Microseconds()), max(was.SysUS, sys.Microseconds()), max(was.MaxRSS, rss)
		if rt.note(st) {
			out = append(out, st)
		}
	}
	return out
}

// note keeps st as the last sent of its step, and says whether it is news.
func (rt *running) note(st burst.Step) bool {
	st.PIDs = nil
	if was, ok := rt.sent[st.ID]; ok && reflect.DeepEqual(was, st) {
		return false
	}
	if rt.sent == nil {
		rt.sent = map[int]burst.Step{}
	}
	rt.sent[st.ID] = st
	return true
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func progressEvent(ref client.TaskRef, p runner.Progress) client.TaskEvent {
	return client.TaskEvent{TaskRef: ref, Kind: client.EventProgress, UserUS: p.UserCPU.Microseconds(),
		SysUS: p.SysCPU.Microseconds(), MaxRSS: p.MaxRSS, ReadBytes: p.ReadBytes, WroteBytes: p.WroteBytes}
}

// mergeEnv is base with extra's variables added or replacing base's. It
// runs for every task a map starts, over the submitter's whole
// environment: extra's names are cut once, not once per variable of base.
func mergeEnv(base, extra []string) []string {
	var keys [8]string
	ks := keys[:0]
	for _, e := range extra {
		if k, _, ok := strings.Cut(e, "="); ok {
			ks = append(ks, k)
		}
	}
	out := make([]string, 0, len(base)+len(extra))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(ks, k) {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

func exitEvent(ref client.TaskRef, r runner.Result) client.TaskEvent {
	ev := client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: r.State, ExitCode: r.ExitCode,
		Signal: r.Signal, Reason: r.Reason, UserUS: r.UserCPU.Microseconds(), SysUS: r.SysCPU.Microseconds(),
		MaxRSS: r.MaxRSS, OutBytes: r.OutBytes, ReadBytes: r.ReadBytes, WroteBytes: r.WroteBytes,
		OutTo: r.StdoutTo, ErrTo: r.StderrTo}
	if p := r.StdoutPacked; p.Path != "" {
		ev.OutPack, ev.OutFrom, ev.OutTo = p.Path, p.From, p.To
	}
	if p := r.StderrPacked; p.Path != "" {
		ev.ErrPack, ev.ErrFrom, ev.ErrTo = p.Path, p.From, p.To
	}
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

// failedEvent is the end of a task that failed before its process ran.
func failedEvent(ref client.TaskRef, reason string) client.TaskEvent {
	now := time.Now().UTC()
	return client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Failed, Reason: reason, StartedAt: &now, EndedAt: &now}
}

// cancelledEvent is the end of a task cancelled before its process ran.
func cancelledEvent(ref client.TaskRef) client.TaskEvent {
	now := time.Now().UTC()
	return client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Cancelled, Reason: "cancelled before it started", EndedAt: &now}
}

// agentMark is what tells this agent's tasks apart from others' in /proc:
// a digest of its work directory, not the path itself, so that a task is
// not handed where the agent keeps its machine credential (joined.json)
// and spool (docs/security-join.md says what a task can still reach).
func agentMark(workDir string) string {
	sum := sha256.Sum256([]byte(workDir))
	return hex.EncodeToString(sum[:12])
}

// reportLinger is how long a busy agent gathers events into one report.
const reportLinger = 5 * time.Millisecond

// killLeftovers kills what tasks of a previous agent for this machine left
// running (that agent died: nobody waits for them, and their server runs
// them again). Every task carries BURST_AGENT=<agentMark of this agent's
// work dir> in its environment, so they are found in /proc at no cost per
// task.
func (a *Agent) killLeftovers() {
	marker := []byte("\x00BURST_AGENT=" + agentMark(a.cfg.WorkDir) + "\x00")
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(append([]byte{0}, env...), marker) {
			continue
		}
		pgid, err := syscall.Getpgid(pid)
		if err != nil || pgid == syscall.Getpgrp() {
			continue
		}
		if syscall.Kill(-pgid, syscall.SIGKILL) == nil {
			a.cfg.Log.Info("killed a task left behind by a previous agent", "pid", pid, "pgid", pgid)
		}
	}
}
