// Package slurm is burst's agent for Slurm's native mode.
//
// A pilot agent runs burst's tasks as processes inside a Slurm allocation;
// in native mode there is no pilot: every task handed to this agent becomes
// one Slurm job of its own, submitted with sbatch, so that it lives in
// Slurm's queue, limits and accounting like any job a user submits by hand.
// The agent runs inside the burst server (as a goroutine, with a client
// pointed at the server itself) and speaks the ordinary agent protocol:
// register, lease, report.
//
// Mapping. Attempt A of task I of burst job J is the Slurm job named
// burst-J-I-A (see jobName), submitted with the job's resources (one task,
// --cpus-per-task, --mem, --time, --gpus), its directory, its environment and
// the task's log files. The job also carries a comment (the agent's tag,
// "burst:<machine>:<hash of Dir>") that tells this agent's jobs from those of
// another agent, or another burst server, submitting as the same user. The
// Slurm job id is reported as the task's PID. Slurm's final state becomes the
// task's: COMPLETED succeeded, FAILED failed (with the exit status or signal
// of `scontrol show job`'s ExitCode=X:Y), OUT_OF_MEMORY failed, TIMEOUT and
// DEADLINE timed out, CANCELLED cancelled, NODE_FAIL, BOOT_FAIL, PREEMPTED and
// REVOKED lost (the server requeues lost tasks).
//
// Tracking. One `squeue --me -h -t all` per poll lists every job of this
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
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/session"
	"github.com/burst-sh/burst/internal/sbatch"
	"github.com/burst-sh/burst/internal/shellquote"
)

// Config says which server to serve, as which machine, on which partition.
type Config struct {
	Client    *client.Client
	Machine   string          // e.g. "hpc-native"
	Cluster   string          // the name it registers with, e.g. "hpc:native"
	Partition string          // "" = Slurm's default
	Dir       string          // where scripts for sbatch are written
	Res       burst.Resources // what it announces: the Slurm cluster's CPUs, memory and GPUs
	Poll      time.Duration   // how often Slurm is polled (default 1s)
	Log       *slog.Logger
}

// Timings. Variables so that tests can shorten them.
var (
	leaseWait     = 10 * time.Second // how long a lease waits for work at the server
	cancelResend  = 10 * time.Second // scancel again while a cancelled job still runs
	forgetAfter   = 15 * time.Minute // how long ended tasks are remembered (a resent task is ignored)
	cmdTimeout    = time.Minute      // squeue, scontrol, scancel, sinfo
	submitTimeout = 2 * time.Minute  // sbatch
)

// Run serves until ctx ends or the server asks the agent to exit (nil), or
// the server refuses it (an error). Slurm jobs outlive it: the next Run
// (after a server restart) finds them again.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Client == nil {
		return errors.New("slurm native agent: no client")
	}
	return run(ctx, cfg, cli{})
}

// slurmAPI is how the agent reaches Slurm: cli runs its commands, tests
// replace it.
type slurmAPI interface {
	// submit runs sbatch with args and env and returns the job id; the
	// error's text is sbatch's own message.
	submit(ctx context.Context, args, env []string) (int64, error)
	// queue lists this user's jobs, all states.
	queue(ctx context.Context) ([]qjob, error)
	// show reads one job from slurmctld; nil, nil when it is unknown there.
	show(ctx context.Context, id int64) (*jobInfo, error)
	// acct reads one job from the accounting database; nil, nil when there
	// is none or it does not know the job.
	acct(ctx context.Context, id int64) (*jobInfo, error)
	cancel(ctx context.Context, id int64) error
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
		cfg: cfg, sl: sl, tag: tagFor(cfg.Machine, cfg.Dir),
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

// tagFor is the comment on every job of the agent for machine that writes
// to dir (dir is under the server's home: two servers never share it).
func tagFor(machine, dir string) string {
	h := fnv.New32a()
	h.Write([]byte(dir))
	return fmt.Sprintf("burst:%s:%08x", strings.Join(strings.Fields(machine), "_"), h.Sum32())
}

// ---------------------------------------------------------------- states

// terminalStates are the Slurm job states after which nothing happens.
var terminalStates = map[string]bool{
	"COMPLETED": true, "FAILED": true, "CANCELLED": true, "TIMEOUT": true, "NODE_FAIL": true,
	"OUT_OF_MEMORY": true, "PREEMPTED": true, "BOOT_FAIL": true, "DEADLINE": true, "REVOKED": true,
}

// runningStates are those of a job that runs, or ran and is ending.
var runningStates = map[string]bool{
	"RUNNING": true, "COMPLETING": true, "SUSPENDED": true, "STOPPED": true, "SIGNALING": true,
	"STAGE_OUT": true, "RESIZING": true,
}

// baseState is the state's name alone: sacct writes "CANCELLED by 1000",
// some tools a trailing '+'.
func baseState(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), " ")
	return strings.TrimRight(strings.ToUpper(s), "+")
}

func terminal(s string) bool { return terminalStates[baseState(s)] }

// runningOrPast: Slurm started the job (it may have ended since).
func runningOrPast(s string) bool { return runningStates[baseState(s)] || terminal(s) }

// outcome is the task state a finished Slurm job maps to. cancelled: burst
// asked for the cancel (the server's request), rather than someone's scancel.
func outcome(j *jobInfo, cancelled bool) (st burst.State, exit *int, sig int, reason string) {
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

// ---------------------------------------------------------------- parsing

// qjob is one line of squeue.
type qjob struct {
	ID      int64
	State   string
	Start   time.Time
	Name    string
	Comment string
}

// squeueFormat: the comment last, since it may hold anything.
const squeueFormat = "%i|%T|%S|%j|%k"

// parseSqueue reads squeue -h -o squeueFormat; lines it cannot read (array
// elements "12_3", other users' odd names) are skipped.
func parseSqueue(out string) []qjob {
	var qs []qjob
	for line := range strings.Lines(out) {
		f := strings.SplitN(strings.TrimRight(line, "\r\n"), "|", 5)
		if len(f) != 5 {
			continue
		}
		id, err := strconv.ParseInt(strings.TrimSpace(f[0]), 10, 64)
		if err != nil {
			continue
		}
		qs = append(qs, qjob{ID: id, State: strings.TrimSpace(f[1]), Start: parseTime(f[2]), Name: f[3], Comment: f[4]})
	}
	return qs
}

// jobInfo is what the agent reads about a finished job.
type jobInfo struct {
	ID         int64
	Name       string
	State      string
	Reason     string
	ExitStatus int // X of ExitCode=X:Y
	Signal     int // Y
	Start, End time.Time
	NodeList   string
}

// ran reports whether Slurm gave the job a node (a job cancelled while
// pending never ran).
func (j *jobInfo) ran() bool {
	return j.NodeList != "" && j.NodeList != "(null)" && j.NodeList != "None"
}

// parseScontrol reads one line of `scontrol show job -o`: Key=Value fields
// separated by blanks (a value with blanks, such as Command or Comment, goes
// on until the next Key=).
func parseScontrol(line string) (*jobInfo, error) {
	kv := scontrolFields(line)
	id, err := strconv.ParseInt(kv["JobId"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("scontrol: no JobId in %q", truncate(line, 200))
	}
	j := &jobInfo{ID: id, Name: kv["JobName"], State: baseState(kv["JobState"]), Reason: kv["Reason"],
		Start: parseTime(kv["StartTime"]), End: parseTime(kv["EndTime"]), NodeList: kv["NodeList"]}
	j.ExitStatus, j.Signal = parseExitCode(kv["ExitCode"])
	return j, nil
}

func scontrolFields(line string) map[string]string {
	kv := map[string]string{}
	key := ""
	for tok := range strings.FieldsSeq(line) {
		k, v, ok := strings.Cut(tok, "=")
		if ok && isKey(k) {
			key = k
			if _, dup := kv[k]; !dup {
				kv[k] = v
			} else {
				key = "" // the first one counts
			}
			continue
		}
		if key != "" {
			kv[key] += " " + tok
		}
	}
	return kv
}

// isKey: scontrol's keys are words such as JobId, CPUs/Task, ReqB:S:C:T.
func isKey(k string) bool {
	if k == "" || !(k[0] >= 'A' && k[0] <= 'Z' || k[0] >= 'a' && k[0] <= 'z') {
		return false
	}
	return !strings.ContainsFunc(k, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("_/:", r))
	})
}

// parseExitCode reads Slurm's "X:Y" (exit status X, signal Y).
func parseExitCode(s string) (exit, sig int) {
	x, y, _ := strings.Cut(strings.TrimSpace(s), ":")
	exit, _ = strconv.Atoi(x)
	sig, _ = strconv.Atoi(y)
	return exit, sig
}

// parseTime reads Slurm's local timestamps (2024-05-01T10:00:00); "Unknown",
// "None", "N/A" and the like are the zero time.
func parseTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", strings.TrimSpace(s), time.Local)
	if err != nil {
		return time.Time{}
	}
	return t
}

// parseSacct reads `sacct -n -P -X -o JobIDRaw,JobName,State,ExitCode,Start,End,NodeList`.
func parseSacct(out string, id int64) *jobInfo {
	for line := range strings.Lines(out) {
		f := strings.Split(strings.TrimRight(line, "\r\n"), "|")
		if len(f) < 7 || f[0] != strconv.FormatInt(id, 10) {
			continue
		}
		j := &jobInfo{ID: id, Name: f[1], State: baseState(f[2]), Start: parseTime(f[4]), End: parseTime(f[5]), NodeList: f[6]}
		j.ExitStatus, j.Signal = parseExitCode(f[3])
		return j
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ---------------------------------------------------------------- sbatch

// shape is what sbatchArgs must know of a batch script's own #SBATCH lines
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
	return shape{NTasks: s.NTasks, MemPerCPU: s.MemPerCPU > 0}
}

// sbatchArgs are the arguments of sbatch (after "sbatch") for one task
// attempt. script is the path of the job's batch script (sh its shape), ""
// to run the task's argv with --wrap. Command-line options override the
// script's #SBATCH lines, as sbatch does; the job's CPUs and memory are
// totals, given per task (and per CPU) where the script asks that way.
func sbatchArgs(as client.Assignment, jc *client.JobContext, partition, tag, script string, sh shape) ([]string, error) {
	if script == "" && len(as.Argv) == 0 {
		return nil, errors.New("nothing to run: no command and no batch script")
	}
	args := []string{"--parsable", "--job-name=" + jobName(as.TaskRef)}
	if tag != "" {
		args = append(args, "--comment="+tag)
	}
	if as.Stdout != "" {
		args = append(args, "--output="+slurmPath(as.Stdout))
	}
	if as.Stderr != "" {
		args = append(args, "--error="+slurmPath(as.Stderr))
	}
	// An attempt's output goes after the earlier ones' (Slurm would
	// truncate); Truncate removes the files before submitting.
	args = append(args, "--open-mode=append")
	if jc.Dir != "" {
		args = append(args, "--chdir="+jc.Dir)
	}
	cpus, ntasks := max(jc.CPUs, 1), 1
	if script != "" && sh.NTasks > 1 {
		ntasks = sh.NTasks
		args = append(args, "--ntasks="+strconv.Itoa(ntasks))
	}
	args = append(args, "--cpus-per-task="+strconv.Itoa((cpus+ntasks-1)/ntasks))
	if jc.MemBytes > 0 {
		if script != "" && sh.MemPerCPU {
			args = append(args, fmt.Sprintf("--mem-per-cpu=%dM", mib((jc.MemBytes+int64(cpus)-1)/int64(cpus))))
		} else {
			args = append(args, fmt.Sprintf("--mem=%dM", mib(jc.MemBytes)))
		}
	}
	if jc.TimeLimitS > 0 {
		args = append(args, fmt.Sprintf("--time=%d", (jc.TimeLimitS+59)/60))
	}
	if jc.GPUs > 0 {
		args = append(args, "--gpus="+strconv.Itoa(jc.GPUs))
	}
	if partition != "" {
		args = append(args, "--partition="+partition)
	}
	args = append(args, "--export=ALL")
	if script != "" {
		return append(append(args, script), as.Argv...), nil
	}
	return append(args, "--wrap="+shellJoin(as.Argv)), nil
}

// mib is n bytes in MiB, rounded up.
func mib(n int64) int64 { return (n + (1 << 20) - 1) >> 20 }

// slurmPath escapes '%' in a path for --output/--error, where Slurm expands
// %j and the like (burst expanded them already).
func slurmPath(p string) string { return strings.ReplaceAll(p, "%", "%%") }

// shellJoin quotes argv for sh: each word as itself when it is plain,
// otherwise in single quotes.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = ShellQuote(a)
	}
	return strings.Join(out, " ")
}

// ShellQuote quotes s as one word for sh: burst's one quoter, shellquote.Quote
// (a plain word as itself, else in single quotes).
func ShellQuote(s string) string { return shellquote.Quote(s) }

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
	backoff := 500 * time.Millisecond
	for {
		qs, err := a.sl.queue(ctx)
		if err == nil {
			a.adoptJobs(ctx, qs)
			return true
		}
		a.cfg.Log.Warn("squeue failed; retrying before registering", "err", err)
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (a *agent) adoptJobs(ctx context.Context, qs []qjob) {
	var finished []*task
	finishedQ := map[int64]qjob{}
	var dups []int64
	a.mu.Lock()
	for _, q := range qs {
		ref, ok := parseJobName(q.Name)
		if !ok || q.Comment != a.tag || a.byID[q.ID] != nil {
			continue
		}
		if t := a.tasks[ref]; t != nil {
			if !terminal(q.State) {
				dups = append(dups, q.ID) // the same attempt twice: keep one
			}
			continue
		}
		t := &task{ref: ref, phase: submitted, id: q.ID, at: time.Now(), running: runningOrPast(q.State)}
		a.tasks[ref], a.byID[q.ID] = t, t
		if terminal(q.State) {
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
	args, err := sbatchArgs(as, jc, a.cfg.Partition, a.tag, script, scriptShape(jc.Script))
	if err != nil {
		fail(err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), submitTimeout)
	id, err := a.sl.submit(ctx, args, sbatchEnv(os.Environ(), jc.Env, as.TaskEnv))
	cancel()
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
	qs, err := a.sl.queue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.cfg.Log.Warn("squeue failed", "err", err)
		}
		return
	}
	seen := map[int64]qjob{}
	for _, q := range qs {
		if q.Comment == a.tag {
			if _, ok := parseJobName(q.Name); ok {
				seen[q.ID] = q
			}
		}
	}
	type end struct {
		t    *task
		q    qjob
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
		case terminal(q.State):
			ends = append(ends, end{t, q, false})
		case runningOrPast(q.State):
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
		if a.byID[id] != nil || terminal(q.State) {
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
func (a *agent) finish(ctx context.Context, t *task, q qjob, gone bool) {
	info, err := a.sl.show(ctx, t.id)
	if err != nil {
		if ctx.Err() == nil {
			a.cfg.Log.Warn("scontrol failed", "slurm_job", t.id, "err", err)
		}
		return
	}
	if info != nil && !terminal(info.State) {
		if gone {
			return // squeue missed it, slurmctld has it: look again next time
		}
		info = nil // squeue saw the end first
	}
	if info == nil && gone {
		info, err = a.sl.acct(ctx, t.id)
		if err != nil || info != nil && !terminal(info.State) {
			info = nil
		}
	}
	if info == nil && !gone {
		info = &jobInfo{ID: t.id, State: baseState(q.State), Start: q.Start}
	}
	now := time.Now().UTC()
	ev := client.TaskEvent{TaskRef: t.ref, Kind: client.EventExited, EndedAt: &now}
	if info == nil {
		ev.State = burst.Lost
		ev.Reason = fmt.Sprintf("Slurm job %d is gone: squeue, scontrol and sacct do not know it", t.id)
	} else {
		ev.State, ev.ExitCode, ev.Signal, ev.Reason = outcome(info, t.cancel)
		if !info.Start.IsZero() && (info.ran() || t.started) {
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
	if err := a.sl.cancel(ctx, id); err != nil && ctx.Err() == nil {
		a.cfg.Log.Warn("scancel failed", "slurm_job", id, "err", err)
	}
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ---------------------------------------------------------------- commands

// cli is slurmAPI over Slurm's commands (sbatch, squeue, scontrol, sacct,
// scancel), as this process's environment (SLURM_CONF) finds the cluster.
type cli struct{}

// slurmCmd runs a Slurm command; its error carries the command's stderr.
func slurmCmd(ctx context.Context, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if msg == "" {
			return stdout.String(), fmt.Errorf("%s: %w", name, err)
		}
		return stdout.String(), errors.New(msg)
	}
	return stdout.String(), nil
}

func (cli) submit(ctx context.Context, args, env []string) (int64, error) {
	out, err := slurmCmd(ctx, submitTimeout, env, "sbatch", args...)
	if err != nil {
		return 0, err
	}
	return parseSbatchID(out)
}

// parseSbatchID reads sbatch --parsable: "ID" or "ID;CLUSTER".
func parseSbatchID(out string) (int64, error) {
	s := strings.TrimSpace(out)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	s, _, _ = strings.Cut(s, ";")
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("answered %q, not a job id", strings.TrimSpace(out))
	}
	return id, nil
}

func (cli) queue(ctx context.Context) ([]qjob, error) {
	// Plain squeue honours -t and --me (squeue --json ignores its filters).
	out, err := slurmCmd(ctx, cmdTimeout, nil, "squeue", "--me", "-h", "-t", "all", "-o", squeueFormat)
	if err != nil {
		return nil, fmt.Errorf("squeue: %w", err)
	}
	return parseSqueue(out), nil
}

func (cli) show(ctx context.Context, id int64) (*jobInfo, error) {
	out, err := slurmCmd(ctx, cmdTimeout, nil, "scontrol", "show", "job", "-o", strconv.FormatInt(id, 10))
	if err != nil {
		if strings.Contains(err.Error(), "Invalid job id") {
			return nil, nil
		}
		return nil, fmt.Errorf("scontrol show job %d: %w", id, err)
	}
	for line := range strings.Lines(out) {
		if j, err := parseScontrol(line); err == nil && j.ID == id {
			return j, nil
		}
	}
	return nil, nil
}

func (cli) acct(ctx context.Context, id int64) (*jobInfo, error) {
	out, err := slurmCmd(ctx, cmdTimeout, nil, "sacct", "-n", "-P", "-X", "-j", strconv.FormatInt(id, 10),
		"-o", "JobIDRaw,JobName,State,ExitCode,Start,End,NodeList")
	if err != nil {
		return nil, nil // no accounting (or no sacct): nothing more to learn
	}
	return parseSacct(out, id), nil
}

func (cli) cancel(ctx context.Context, id int64) error {
	_, err := slurmCmd(ctx, cmdTimeout, nil, "scancel", strconv.FormatInt(id, 10))
	return err
}

// ---------------------------------------------------------------- capacity

// Node is one Slurm node as sinfo lists it.
type Node struct {
	Name     string
	CPUs     int
	MemBytes int64
	GPUs     int
}

// Nodes lists the nodes of partition ("" = Slurm's default partition, or
// every node when none is the default), each once, from
// `sinfo -h -N -o "%N %c %m %G %P"`: CPUs, memory (MB → bytes) and GPUs
// (gres "gpu:N" or "gpu:TYPE:N").
func Nodes(ctx context.Context, partition string) ([]Node, error) {
	args := []string{"-h", "-N", "-o", "%N %c %m %G %P"}
	if partition != "" {
		args = append(args, "-p", partition)
	}
	out, err := Command(ctx, "sinfo", args...)
	if err != nil {
		return nil, err
	}
	return parseNodes(out, partition), nil
}

// Capacity is what the nodes of partition (as Nodes) hold together.
func Capacity(ctx context.Context, partition string) (burst.Resources, error) {
	nodes, err := Nodes(ctx, partition)
	if err != nil {
		return burst.Resources{}, err
	}
	r := sum(nodes)
	if r.CPUs == 0 {
		where := "the default partition"
		if partition != "" {
			where = "partition " + partition
		}
		return r, fmt.Errorf("sinfo lists no nodes with CPUs in %s", where)
	}
	return r, nil
}

// Command runs a Slurm command (sinfo, sbatch, ...) as this process's
// environment finds the cluster; its error names a missing command's fix,
// or carries the command's stderr.
func Command(ctx context.Context, name string, args ...string) (string, error) {
	if _, err := exec.LookPath(name); err != nil {
		return "", fmt.Errorf("%s not found: install Slurm's client commands (Debian: slurm-client) and set SLURM_CONF, or use another provider", name)
	}
	out, err := slurmCmd(ctx, cmdTimeout, nil, name, args...)
	if err != nil {
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

func sum(nodes []Node) burst.Resources {
	var r burst.Resources
	for _, n := range nodes {
		r.CPUs += n.CPUs
		r.MemBytes += n.MemBytes
		r.GPUs += n.GPUs
	}
	return r
}

// parseSinfo sums parseNodes.
func parseSinfo(out, partition string) burst.Resources { return sum(parseNodes(out, partition)) }

// parseNodes reads sinfo -h -N -o "%N %c %m %G %P". With partition "",
// only the default partition's nodes (marked '*') count, or every node when
// there is no default. A node listed twice counts once.
func parseNodes(out, partition string) []Node {
	type line struct {
		Node
		part       string
		defaultPar bool
	}
	var lines []line
	hasDefault := false
	for l := range strings.Lines(out) {
		f := strings.Fields(l)
		if len(f) < 4 {
			continue
		}
		n := line{Node: Node{Name: f[0]}}
		n.CPUs, _ = strconv.Atoi(strings.TrimRight(f[1], "+"))
		mb, _ := strconv.ParseInt(strings.TrimRight(f[2], "+"), 10, 64)
		n.MemBytes = mb << 20
		n.GPUs = gresGPUs(f[3])
		if len(f) >= 5 {
			n.part = f[4]
			if strings.HasSuffix(n.part, "*") {
				n.defaultPar, hasDefault = true, true
				n.part = strings.TrimSuffix(n.part, "*")
			}
		}
		lines = append(lines, n)
	}
	var out2 []Node
	seen := map[string]bool{}
	for _, n := range lines {
		switch {
		case partition != "" && n.part != "" && n.part != partition:
			continue
		case partition == "" && hasDefault && !n.defaultPar:
			continue
		case seen[n.Name]:
			continue
		}
		seen[n.Name] = true
		out2 = append(out2, n.Node)
	}
	return out2
}

// gresGPUs counts the GPUs of a node's gres ("gpu:2", "gpu:a100:4(S:0-1)",
// "gpu:a100:2,gpu:v100:1", "(null)").
func gresGPUs(s string) int {
	// Drop the socket lists in parentheses, which may hold commas.
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth = max(depth-1, 0)
		case depth == 0:
			b.WriteRune(r)
		}
	}
	n := 0
	for item := range strings.SplitSeq(b.String(), ",") {
		f := strings.Split(item, ":")
		if len(f) < 2 || f[0] != "gpu" {
			continue
		}
		if c, err := strconv.Atoi(f[len(f)-1]); err == nil {
			n += c
		}
	}
	return n
}
