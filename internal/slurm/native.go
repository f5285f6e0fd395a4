// Package slurm is how burst reaches Slurm: a Client (client.go) that runs
// Slurm's commands, reads their answers (parse.go) and builds sbatch
// submissions (batch.go), used by the pilot provider and by native mode;
// and the agent of native mode (this file). It holds no policy of the
// server's: which jobs to start or stop is decided elsewhere.
//
// Native mode. A pilot agent runs burst's tasks as processes inside a
// Slurm allocation; in native mode there is no pilot: every task handed to
// this agent becomes one Slurm job of its own, submitted with sbatch, so
// that it lives in Slurm's queue, limits and accounting like any job a user
// submits by hand.
// The agent runs inside the burst server (as a goroutine, with a client
// pointed at the server itself) and speaks the ordinary agent protocol:
// register, lease, report.
//
// Mapping. Attempt A of task I of burst job J is the Slurm job named
// burst-J-I-A (see jobName), submitted with the job's resources (one task,
// --cpus-per-task, --mem, --time, --gpus; --mem=0, --deadline and --time-min
// when its spec has them, as sbatch took them), its directory, its environment and
// the task's log files. The job also carries a comment (the agent's tag,
// "burst:<machine>:<hash of Dir>:<home id>") that tells this agent's jobs
// from those of another agent, or another burst server (a copy of this
// home's store at the same path included), submitting as the same user. The
// Slurm job id is reported as the task's PID. Slurm's final state becomes the
// task's: COMPLETED succeeded, FAILED failed (with the exit status or signal
// of `scontrol show job`'s ExitCode=X:Y), OUT_OF_MEMORY failed, TIMEOUT and
// DEADLINE timed out, CANCELLED cancelled, NODE_FAIL, BOOT_FAIL, PREEMPTED and
// REVOKED lost (the server requeues lost tasks).
//
// Tracking. One squeue per poll (Client.Queue) lists every job of this
// user; the agent keeps those with its tag. A job first seen running (or
// past it) is reported started; a job that reached a final state, or left
// the queue, is read once with `scontrol show job -o ID` (then sacct, where
// there is accounting) and reported ended.
//
// Restarts. The agent keeps no state on disk: Slurm is its memory. When it
// starts it reads its jobs back from squeue by tag and name, announces the
// live ones in Register.Running (PID = Slurm job id; 0 while pending) and
// the finished ones as exit events in Register.Events; what the server no
// longer wants (Registered.Kill) it scancels. Events are reported until the
// server takes them; a re-registration carries those not yet taken.
//
// Slurm does the resource accounting: every assignment is submitted at once
// (Assignment.Queued is ignored) and waits in Slurm's queue.
package slurm

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/session"
	"github.com/burst-sh/burst/internal/backoff"
	"github.com/burst-sh/burst/internal/sbatch"
)

// Config says which server to serve, as which machine, on which partition.
type Config struct {
	Client    *client.Client
	Machine   string          // e.g. "hpc-native"
	Cluster   string          // the name it registers with, e.g. "hpc:native"
	Partition string          // "" = Slurm's default
	Dir       string          // where scripts for sbatch are written
	HomeID    string          // the identity of the server's home: part of the tag (tagFor)
	Res       burst.Resources // what it announces: the Slurm cluster's CPUs, memory and GPUs
	Poll      time.Duration   // how often Slurm is polled (default 1s)
	Log       *slog.Logger
}

// Timings. Variables so that tests can shorten them.
var (
	leaseWait    = 10 * time.Second // how long a lease waits for work at the server
	cancelResend = 10 * time.Second // scancel again while a cancelled job still runs
	forgetAfter  = 15 * time.Minute // how long ended tasks are remembered (a resent task is ignored)
)

// Run serves until ctx ends or the server asks the agent to exit (nil), or
// the server refuses it (an error). Slurm jobs outlive it: the next Run
// (after a server restart) finds them again.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Client == nil {
		return errors.New("slurm native agent: no client")
	}
	return run(ctx, cfg, Client{})
}

// slurmAPI is how the agent reaches Slurm: a Client, or a fake in tests.
type slurmAPI interface {
	Submit(ctx context.Context, b Batch) (int64, error)
	Queue(ctx context.Context) ([]Job, error)
	Show(ctx context.Context, id int64) (*Job, error)
	Accounting(ctx context.Context, id int64) (*Job, error)
	Cancel(ctx context.Context, id int64) error
}

type phase int

const (
	waiting    phase = iota // in the submit queue
	submitting              // sbatch is running
	submitted               // a Slurm job
)

// task is an assignment this agent holds.
type task struct {
	ref      client.TaskRef
	as       client.Assignment
	jc       *client.JobContext
	phase    phase
	id       int64     // Slurm job id, once submitted
	at       time.Time // when the id became known
	running  bool      // Slurm runs (or ran) it
	started  bool      // its started event is queued
	cancel   bool      // the server asked to stop it
	cancelAt time.Time // when scancel was last sent
}

type agent struct {
	cfg  Config
	sl   slurmAPI
	tag  string
	sess *session.Session // its events are guarded by mu too

	mu    sync.Mutex
	tasks map[client.TaskRef]*task
	byID  map[int64]*task
	queue []*task                      // waiting for sbatch, in order
	ended map[client.TaskRef]time.Time // tasks reported ended: a resent one is ignored
	gone  map[int64]time.Time          // Slurm jobs done with (ended or disowned): when last scancelled

	subWake, pollWake chan struct{}
}

func newAgent(cfg Config, sl slurmAPI) *agent {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(os.TempDir(), "burst-native-"+cfg.Machine)
	}
	part := cfg.Partition
	if part == "" {
		part = "default"
	}
	a := &agent{
		cfg: cfg, sl: sl, tag: tagFor(cfg.Machine, cfg.HomeID, cfg.Dir),
		tasks: map[client.TaskRef]*task{}, byID: map[int64]*task{},
		ended: map[client.TaskRef]time.Time{}, gone: map[int64]time.Time{},
		subWake: make(chan struct{}, 1), pollWake: make(chan struct{}, 1),
	}
	reg := client.Register{Machine: cfg.Machine, Cluster: cfg.Cluster,
		// Not this host's name: the server treats a machine on its own host
		// as a local process (it checks the agent's pid when it restarts,
		// and kills task pids when the machine is lost); ':' is in no
		// hostname.
		Host: "slurm:" + part,
		CPUs: cfg.Res.CPUs, MemBytes: cfg.Res.MemBytes}
	for i := range cfg.Res.GPUs {
		reg.GPUs = append(reg.GPUs, burst.GPU{Index: i, Name: "Slurm GPU"})
	}
	a.sess = session.New(session.Config{Client: cfg.Client, Mu: &a.mu, Register: reg, LeaseWait: leaseWait, Log: cfg.Log,
		GiveUp: func(err error, _ time.Duration) error {
			var ae *client.Error
			if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
				return fmt.Errorf("the server refused the native agent: %w", err) // asking again changes nothing
			}
			return nil
		}}, (*owner)(a))
	return a
}

func run(ctx context.Context, cfg Config, sl slurmAPI) error {
	a := newAgent(cfg, sl)
	if !a.adopt(ctx) {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { a.submitLoop(ctx) })
	wg.Go(func() { a.pollLoop(ctx) })
	err := a.sess.Run(ctx)
	cancel()
	wg.Wait() // an sbatch in flight finishes: the next Run finds its job
	return err
}

// ---------------------------------------------------------------- names

const namePrefix = "burst-"

// jobName is the Slurm job name of a task attempt: burst-J-I-A.
func jobName(ref client.TaskRef) string {
	return fmt.Sprintf("%s%d-%d-%d", namePrefix, ref.Job, ref.Index, ref.Attempt)
}

// parseJobName is jobName's inverse; false for any other name.
func parseJobName(name string) (client.TaskRef, bool) {
	rest, ok := strings.CutPrefix(name, namePrefix)
	parts := strings.Split(rest, "-")
	if !ok || len(parts) != 3 {
		return client.TaskRef{}, false
	}
	var n [3]int64
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || v < 0 || strconv.FormatInt(v, 10) != p {
			return client.TaskRef{}, false
		}
		n[i] = v
	}
	if n[1] > 1<<31-1 || n[2] > 1<<31-1 {
		return client.TaskRef{}, false
	}
	return client.TaskRef{Job: n[0], Index: int(n[1]), Attempt: int(n[2])}, true
}

// tagFor is the comment on every job of the agent for machine of the home
// homeID that writes to dir (dir is under the server's home). The home id
// tells apart two homes at the same path: a copy of a home's store on
// another login node, under the same path, takes a new home id (see
// store.Claim), and must neither adopt nor scancel the original's jobs.
//
// A job tagged by a burst from before home ids (burst:MACHINE:HASH) is
// not recognised: recognising it would let any copy adopt it again. No
// release of burst tagged jobs that way, so no upgrade finds any.
func tagFor(machine, homeID, dir string) string {
	h := fnv.New32a()
	h.Write([]byte(dir))
	return fmt.Sprintf("burst:%s:%08x:%s", strings.Join(strings.Fields(machine), "_"), h.Sum32(), strings.Join(strings.Fields(homeID), "_"))
}

// ---------------------------------------------------------------- states

// outcome is the task state a finished Slurm job maps to. cancelled: burst
// asked for the cancel (the server's request), rather than someone's scancel.
func outcome(j *Job, cancelled bool) (st burst.State, exit *int, sig int, reason string) {
	code := func(v int) *int { return &v }
	why := ""
	if r := j.Reason; r != "" && r != "None" && r != "NonZeroExitCode" && r != "(null)" {
		why = " (Slurm: " + r + ")"
	}
	switch s := baseState(j.State); s {
	case "COMPLETED":
		return burst.Succeeded, code(0), 0, ""
	case "FAILED":
		switch {
		case j.Signal != 0:
			return burst.Failed, nil, j.Signal, fmt.Sprintf("killed by signal %d", j.Signal) + why
		case j.ExitStatus != 0:
			return burst.Failed, code(j.ExitStatus), 0, strings.TrimPrefix(why, " ")
		}
		return burst.Failed, nil, 0, "failed in Slurm" + why
	case "OUT_OF_MEMORY":
		return burst.Failed, nil, 0, "out of memory (Slurm)"
	case "TIMEOUT":
		return burst.Timeout, nil, 0, "time limit reached (Slurm)"
	case "DEADLINE":
		return burst.Timeout, nil, 0, "deadline reached (Slurm)"
	case "CANCELLED":
		if cancelled {
			return burst.Cancelled, nil, 0, "cancelled"
		}
		return burst.Cancelled, nil, 0, "scancel"
	case "NODE_FAIL", "BOOT_FAIL":
		return burst.Lost, nil, 0, "Slurm " + s + ": the job's node failed"
	case "PREEMPTED":
		return burst.Lost, nil, 0, "preempted by Slurm"
	case "REVOKED":
		return burst.Lost, nil, 0, "revoked by Slurm (it ran on another cluster)"
	}
	return burst.Lost, nil, 0, fmt.Sprintf("Slurm job %d ended in state %q", j.ID, j.State)
}

// ---------------------------------------------------------------- sbatch

// shape is what taskBatch must know of a batch script's own #SBATCH lines
// so that its options agree with them.
type shape struct {
	NTasks    int  // --ntasks (or --ntasks-per-node): the job's CPUs are split among them
	MemPerCPU bool // memory is asked per CPU: --mem would be refused beside it
}

// scriptShape reads the #SBATCH lines of a batch script (zero shape if they
// cannot be read: sbatch will say what is wrong).
func scriptShape(text string) shape {
	s, err := sbatch.Parse("script", []byte(text))
	if err != nil {
		return shape{}
	}
	n := s.NTasks
	if n == 0 && s.Nodes > 1 {
		n = s.Tasks() // a task per node
	}
	return shape{NTasks: n, MemPerCPU: s.MemPerCPU > 0}
}

// taskBatch is the sbatch submission of one task attempt. script is the
// path of the job's batch script (sh its shape), "" to run the task's argv
// with --wrap. The script's #SBATCH lines keep what burst does not set; the
// job's CPUs and memory are totals, given per task (and per CPU) where the
// script asks that way.
func taskBatch(as client.Assignment, jc *client.JobContext, partition, tag, script string, sh shape) (Batch, error) {
	if script == "" && len(as.Argv) == 0 {
		return Batch{}, errors.New("nothing to run: no command and no batch script")
	}
	b := Batch{Name: jobName(as.TaskRef), Comment: tag, Output: as.Stdout, Error: as.Stderr,
		// An attempt's output goes after the earlier ones' (Slurm would
		// truncate); Truncate removes the files before submitting.
		Append: true, Dir: jc.Dir, Time: time.Duration(jc.TimeLimitS) * time.Second, GPUs: jc.GPUs,
		Partition: partition, Export: "ALL", MemAll: jc.MemAll, Deadline: jc.Deadline,
		TimeMin: time.Duration(jc.TimeMinS) * time.Second}
	cpus, ntasks := max(jc.CPUs, 1), 1
	if script != "" && sh.NTasks > 1 {
		ntasks = sh.NTasks
		b.NTasks = ntasks
	}
	b.CPUsPerTask = (cpus + ntasks - 1) / ntasks
	if script != "" && sh.MemPerCPU && !jc.MemAll {
		b.MemPerCPU = (jc.MemBytes + int64(cpus) - 1) / int64(cpus)
	} else {
		b.MemBytes = jc.MemBytes
	}
	if script != "" {
		b.Script, b.ScriptArgs = script, as.Argv
	} else {
		b.Wrap = as.Argv
	}
	return b, nil
}

// sbatchEnv is sbatch's environment (exported to the job with
// --export=ALL): base (the server's), then the job's, then the task's, later
// winning. SLURM_* variables of the job and task are left out: burst's own
// emulation of them (and a submitter's from another allocation) would be
// wrong in a real Slurm job, and sbatch reads some as options (e.g.
// SLURM_MEM_PER_NODE); Slurm sets the real ones. So is the task's
// CUDA_VISIBLE_DEVICES: Slurm assigns the GPUs.
func sbatchEnv(base, jobEnv, taskEnv []string) []string {
	var m mergedEnv
	for _, kv := range base {
		m.set(kv)
	}
	for _, kv := range jobEnv {
		if !strings.HasPrefix(kv, "SLURM_") {
			m.set(kv)
		}
	}
	for _, kv := range taskEnv {
		if !strings.HasPrefix(kv, "SLURM_") && !strings.HasPrefix(kv, "CUDA_VISIBLE_DEVICES=") {
			m.set(kv)
		}
	}
	return m.list
}

type mergedEnv struct {
	list []string
	at   map[string]int
}

func (m *mergedEnv) set(kv string) {
	k, _, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return
	}
	if m.at == nil {
		m.at = map[string]int{}
	}
	if i, dup := m.at[k]; dup {
		m.list[i] = kv
		return
	}
	m.at[k] = len(m.list)
	m.list = append(m.list, kv)
}

// ---------------------------------------------------------------- protocol

// owner is the agent as its session sees it.
type owner agent

// Registration implements session.Owner: the jobs this agent tracks (PID
// = Slurm job id once it runs; 0 before).
func (o *owner) Registration(r *client.Register) {
	for _, t := range o.tasks {
		rt := client.RunningTask{TaskRef: t.ref}
		if t.phase == submitted && t.running {
			rt.PID = int(t.id)
		}
		r.Running = append(r.Running, rt)
	}
}

// Handle implements session.Owner.
func (o *owner) Handle(l *client.Leased) { (*agent)(o).handle(l) }

// Kill implements session.Owner.
func (o *owner) Kill(ref client.TaskRef) { (*agent)(o).cancel(ref, "the server does not want it") }

func (a *agent) handle(l *client.Leased) {
	for _, ref := range l.Cancel {
		a.cancel(ref, "cancelled by the server")
	}
	added := false
	for _, as := range l.Tasks {
		jc := l.Jobs[as.Job]
		a.mu.Lock()
		_, known := a.tasks[as.TaskRef]
		_, done := a.ended[as.TaskRef]
		if known || done {
			a.mu.Unlock()
			continue // handed out again: it is here already
		}
		if jc == nil {
			a.failLocked(as.TaskRef, "the server sent no job context for this task")
			a.mu.Unlock()
			continue
		}
		t := &task{ref: as.TaskRef, as: as, jc: jc}
		a.tasks[t.ref] = t
		a.queue = append(a.queue, t)
		a.mu.Unlock()
		added = true
	}
	if added {
		wake(a.subWake)
	}
}

// cancel stops a task: one not submitted yet ends at once; a Slurm job is
// scancelled by the poller (again every cancelResend while it runs).
func (a *agent) cancel(ref client.TaskRef, why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tasks[ref]
	if t == nil {
		return
	}
	t.cancel = true
	if t.phase == waiting {
		a.queue = slices.DeleteFunc(a.queue, func(q *task) bool { return q == t })
		delete(a.tasks, ref)
		a.ended[ref] = time.Now()
		now := time.Now().UTC()
		a.emitLocked(client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Cancelled,
			Reason: "cancelled before it was submitted to Slurm", EndedAt: &now})
		return
	}
	a.cfg.Log.Info("cancelling", "job", ref.Job, "task", ref.Index, "attempt", ref.Attempt, "slurm_job", t.id, "why", why)
	wake(a.pollWake)
}

func (a *agent) failLocked(ref client.TaskRef, reason string) {
	now := time.Now().UTC()
	a.ended[ref] = time.Now()
	a.emitLocked(client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Failed, Reason: reason,
		StartedAt: &now, EndedAt: &now})
}

// emitLocked queues an event; a.mu must be held.
func (a *agent) emitLocked(ev client.TaskEvent) {
	a.sess.EmitLocked(ev)
	a.sess.Wake() // a wake-up only: the reporter waits for the lock
}

// ---------------------------------------------------------------- Slurm side

// adopt reads back the jobs a previous run of this agent left in Slurm:
// live ones are tracked again, finished ones reported. It retries until
// squeue answers (false: ctx ended first).
func (a *agent) adopt(ctx context.Context) bool {
	wait := backoff.New(500*time.Millisecond, 10*time.Second)
	for {
		qs, err := a.sl.Queue(ctx)
		if err == nil {
			a.adoptJobs(ctx, qs)
			return true
		}
		a.cfg.Log.Warn("squeue failed; retrying before registering", "err", err)
		if wait.Wait(ctx) != nil {
			return false
		}
	}
}

func (a *agent) adoptJobs(ctx context.Context, qs []Job) {
	var finished []*task
	finishedQ := map[int64]Job{}
	var dups []int64
	a.mu.Lock()
	for _, q := range qs {
		ref, ok := parseJobName(q.Name)
		if !ok || q.Comment != a.tag || a.byID[q.ID] != nil {
			continue
		}
		if t := a.tasks[ref]; t != nil {
			if !Terminal(q.State) {
				dups = append(dups, q.ID) // the same attempt twice: keep one
			}
			continue
		}
		t := &task{ref: ref, phase: submitted, id: q.ID, at: time.Now(), running: Started(q.State)}
		a.tasks[ref], a.byID[q.ID] = t, t
		if Terminal(q.State) {
			// Most were reported before the restart: the exit event
			// alone (with its start time) settles any the server still
			// runs, and a started event for a task the server has moved
			// on from would only earn a cancel.
			t.started = true
			finished = append(finished, t)
			finishedQ[q.ID] = q
		}
	}
	a.mu.Unlock()
	for _, id := range dups {
		a.scancel(ctx, id)
	}
	for _, t := range finished {
		a.finish(ctx, t, finishedQ[t.id], false)
	}
	a.mu.Lock()
	n := len(a.tasks)
	a.mu.Unlock()
	a.cfg.Log.Info("native agent found its Slurm jobs", "live", n, "finished", len(finished))
}

func (a *agent) submitLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.subWake:
		}
		for ctx.Err() == nil {
			a.mu.Lock()
			if len(a.queue) == 0 {
				a.mu.Unlock()
				break
			}
			t := a.queue[0]
			a.queue = a.queue[1:]
			t.phase = submitting
			a.mu.Unlock()
			a.submit(t)
		}
	}
}

// submit runs sbatch for t. It does not use the agent's context: once
// started, a submission completes (the job must be known by its id, or be
// found by name by the next run).
func (a *agent) submit(t *task) {
	as, jc := t.as, t.jc
	script := ""
	fail := func(reason string) {
		a.mu.Lock()
		defer a.mu.Unlock()
		delete(a.tasks, t.ref)
		if t.cancel {
			a.ended[t.ref] = time.Now()
			now := time.Now().UTC()
			a.emitLocked(client.TaskEvent{TaskRef: t.ref, Kind: client.EventExited, State: burst.Cancelled,
				Reason: "cancelled before it was submitted to Slurm", EndedAt: &now})
			return
		}
		a.failLocked(t.ref, reason)
	}
	if jc.Script != "" {
		if err := os.MkdirAll(a.cfg.Dir, 0o700); err != nil {
			fail("cannot write the batch script: " + err.Error())
			return
		}
		script = filepath.Join(a.cfg.Dir, fmt.Sprintf("job-%d.sh", as.Job))
		if err := os.WriteFile(script, []byte(jc.Script), 0o700); err != nil {
			fail("cannot write the batch script: " + err.Error())
			return
		}
		// sbatch sends the script's text to slurmctld: the file is not
		// needed once it returns.
		defer os.Remove(script)
	}
	for _, p := range []string{as.Stdout, as.Stderr} {
		if p == "" {
			continue
		}
		if !filepath.IsAbs(p) { // Slurm takes it from the job's directory
			p = filepath.Join(jc.Dir, p)
		}
		if as.Truncate {
			os.Remove(p)
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
	}
	b, err := taskBatch(as, jc, a.cfg.Partition, a.tag, script, scriptShape(jc.Script))
	if err != nil {
		fail(err.Error())
		return
	}
	b.Env = sbatchEnv(os.Environ(), jc.Env, as.TaskEnv)
	id, err := a.sl.Submit(context.Background(), b) // bounded by the client's submit timeout
	if err != nil {
		a.cfg.Log.Warn("sbatch failed", "job", as.Job, "task", as.Index, "attempt", as.Attempt, "err", err)
		fail(sbatchReason(err))
		return
	}
	a.mu.Lock()
	t.phase, t.id, t.at = submitted, id, time.Now()
	a.byID[id] = t
	cancelNow := t.cancel
	a.mu.Unlock()
	a.cfg.Log.Debug("submitted", "job", as.Job, "task", as.Index, "attempt", as.Attempt, "slurm_job", id)
	if cancelNow {
		wake(a.pollWake)
	}
}

// sbatchReason is a task's failure reason from sbatch's error: "sbatch: "
// and sbatch's message, on one line.
func sbatchReason(err error) string {
	var lines []string
	for l := range strings.Lines(err.Error()) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, strings.TrimPrefix(l, "sbatch: "))
		}
	}
	return "sbatch: " + strings.Join(lines, "; ")
}

func (a *agent) pollLoop(ctx context.Context) {
	tick := time.NewTicker(a.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-a.pollWake:
		}
		a.poll(ctx)
	}
}

// poll sends the scancels due, then reads squeue once and acts on what
// changed.
func (a *agent) poll(ctx context.Context) {
	now := time.Now()
	var cancels []int64
	a.mu.Lock()
	for _, t := range a.tasks {
		if t.phase == submitted && t.cancel && now.Sub(t.cancelAt) > cancelResend {
			t.cancelAt = now
			cancels = append(cancels, t.id)
		}
	}
	a.mu.Unlock()
	for _, id := range cancels {
		a.scancel(ctx, id)
	}

	snap := time.Now()
	qs, err := a.sl.Queue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.cfg.Log.Warn("squeue failed", "err", err)
		}
		return
	}
	seen := map[int64]Job{}
	for _, q := range qs {
		if q.Comment == a.tag {
			if _, ok := parseJobName(q.Name); ok {
				seen[q.ID] = q
			}
		}
	}
	type end struct {
		t    *task
		q    Job
		gone bool
	}
	var ends []end
	var disown []int64
	a.mu.Lock()
	for _, t := range a.tasks {
		if t.phase != submitted {
			continue
		}
		q, ok := seen[t.id]
		switch {
		case !ok:
			if t.at.Before(snap) { // not a job squeue could not have listed yet
				ends = append(ends, end{t, q, true})
			}
		case Terminal(q.State):
			ends = append(ends, end{t, q, false})
		case Started(q.State):
			t.running = true
			if !t.started {
				t.started = true
				start := q.Start
				if start.IsZero() {
					start = now
				}
				a.startedLocked(t, start)
			}
		}
	}
	// Jobs with this agent's tag that it does not track: a duplicate of a
	// task (an sbatch that failed late), one it reported failed, or one
	// Slurm requeued after it ended. The server does not count on them.
	for id, q := range seen {
		if a.byID[id] != nil || Terminal(q.State) {
			continue
		}
		ref, _ := parseJobName(q.Name)
		if t := a.tasks[ref]; t != nil && t.phase == submitting {
			continue // sbatch has not answered yet: this is probably it
		}
		if last, ok := a.gone[id]; !ok || now.Sub(last) > cancelResend {
			a.gone[id] = now
			disown = append(disown, id)
		}
	}
	for id, at := range a.gone {
		if _, ok := seen[id]; !ok && now.Sub(at) > time.Minute {
			delete(a.gone, id)
		}
	}
	for ref, at := range a.ended {
		if now.Sub(at) > forgetAfter {
			delete(a.ended, ref)
		}
	}
	a.mu.Unlock()
	for _, id := range disown {
		a.cfg.Log.Warn("cancelling a Slurm job of this agent that burst does not run", "slurm_job", id, "name", seen[id].Name)
		a.scancel(ctx, id)
	}
	for _, e := range ends {
		a.finish(ctx, e.t, e.q, e.gone)
	}
}

// startedLocked queues t's started event; a.mu must be held.
func (a *agent) startedLocked(t *task, at time.Time) {
	at = at.UTC()
	a.emitLocked(client.TaskEvent{TaskRef: t.ref, Kind: client.EventStarted, PID: int(t.id), StartedAt: &at})
}

// finish reports how t's Slurm job ended. q is its last squeue line; gone:
// it is no longer in squeue. Read errors leave it for the next poll.
func (a *agent) finish(ctx context.Context, t *task, q Job, gone bool) {
	info, err := a.sl.Show(ctx, t.id)
	if err != nil {
		if ctx.Err() == nil {
			a.cfg.Log.Warn("scontrol failed", "slurm_job", t.id, "err", err)
		}
		return
	}
	if info != nil && !Terminal(info.State) {
		if gone {
			return // squeue missed it, slurmctld has it: look again next time
		}
		info = nil // squeue saw the end first
	}
	if info == nil && gone {
		info, err = a.sl.Accounting(ctx, t.id)
		if err != nil || info != nil && !Terminal(info.State) {
			info = nil
		}
	}
	if info == nil && !gone {
		info = &Job{ID: t.id, State: baseState(q.State), Start: q.Start}
	}
	now := time.Now().UTC()
	ev := client.TaskEvent{TaskRef: t.ref, Kind: client.EventExited, EndedAt: &now}
	if info == nil {
		ev.State = burst.Lost
		ev.Reason = fmt.Sprintf("Slurm job %d is gone: squeue, scontrol and sacct do not know it", t.id)
	} else {
		ev.State, ev.ExitCode, ev.Signal, ev.Reason = outcome(info, t.cancel)
		if !info.Start.IsZero() && (info.Ran() || t.started) {
			s := info.Start.UTC()
			ev.StartedAt = &s
		}
		if !info.End.IsZero() {
			e := info.End.UTC()
			ev.EndedAt = &e
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tasks[t.ref] != t {
		return
	}
	delete(a.tasks, t.ref)
	delete(a.byID, t.id)
	a.ended[t.ref] = time.Now()
	a.gone[t.id] = time.Now()
	if !t.started && ev.StartedAt != nil {
		t.started = true
		a.startedLocked(t, *ev.StartedAt)
	}
	a.emitLocked(ev)
}

func (a *agent) scancel(ctx context.Context, id int64) {
	if err := a.sl.Cancel(ctx, id); err != nil && ctx.Err() == nil {
		a.cfg.Log.Warn("scancel failed", "slurm_job", id, "err", err)
	}
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
