package client

import (
	"time"

	"github.com/burst-sh/burst"
)

// Health is the server's identity.
type Health struct {
	Version string    `json:"version"`
	PID     int       `json:"pid"`
	BootID  string    `json:"boot_id"`
	Home    string    `json:"home"`
	Addr    string    `json:"addr"`   // http://127.0.0.1:PORT, or https://HOST:PORT for a --listen with TLS
	Socket  string    `json:"socket"` // unix socket path
	Started time.Time `json:"started_at"`
	// CopyOf is where this home's store was copied from (HOST:PATH, or
	// PATH on this host) when this server found it a copy at its start:
	// that home's jobs in flight were let go, not rerun. "" otherwise.
	CopyOf string `json:"copy_of,omitempty"`
	// CA is the file of the CA that signed the certificate Addr serves
	// (on the server's host), and CAHash its pin (pki.Hash): what
	// `burst login https://HOST:PORT#sha256:...` pins. Empty without TLS.
	CA     string `json:"ca,omitempty"`
	CAHash string `json:"ca_hash,omitempty"`
}

// CancelResult says what a cancel did.
type CancelResult struct {
	ID              int64       `json:"id"`
	State           burst.State `json:"state"`
	AlreadyFinished bool        `json:"already_finished"`
	// Held is set when the server's disk is full and its store holds
	// writes: the running tasks were told to stop at once, and the cancel
	// is recorded once the store can write again. It says so, for people.
	Held string `json:"held,omitempty"`
}

// SignalResult answers a signal: how many running tasks of the job were
// signalled (none when it runs none now: ended, AlreadyFinished, or waiting).
type SignalResult struct {
	ID              int64       `json:"id"`
	State           burst.State `json:"state"`
	Signalled       int         `json:"signalled"`
	AlreadyFinished bool        `json:"already_finished"`
}

// IDRef is what a job id names: a job (Task -1) or one task of a job array
// (every array task has an id of its own, as in Slurm), with its array index
// (-1 when not an array task).
type IDRef struct {
	JobID      int64 `json:"job_id"`
	Task       int   `json:"task"`
	ArrayIndex int   `json:"array_index"`
}

// TaskSignal is a signal for one running task and which of its processes
// get it (scancel's: the job's steps by default, -b the batch shell, -f all).
type TaskSignal struct {
	TaskRef
	Signal int         `json:"signal"`
	Scope  SignalScope `json:"scope"`
	// Message, with Signal 0, is no signal but a line for the running
	// batch job's error file, as slurmstepd writes what `scontrol notify`
	// sends ("slurmstepd: error: MESSAGE").
	Message string `json:"message,omitempty"`
}

// SignalScope says which of a task's processes a signal reaches.
type SignalScope string

const (
	SignalSteps SignalScope = "steps" // every process but the task's own (the batch shell) and burst's own commands
	SignalBatch SignalScope = "batch" // the task's own process alone
	SignalAll   SignalScope = "all"   // every process of the task
)

// TaskRef names one attempt of one task.
type TaskRef struct {
	Job     int64 `json:"job"`
	Index   int   `json:"index"`
	Attempt int   `json:"attempt"`
}

// JobContext is what all tasks of a job share; a lease carries it once per
// job rather than once per task.
type JobContext struct {
	Env        []string `json:"env"`
	Dir        string   `json:"dir"`
	Script     string   `json:"script,omitempty"` // batch script text: written to a file and run with the task's argv as arguments
	CPUs       int      `json:"cpus"`
	MemBytes   int64    `json:"mem_bytes,omitempty"`
	TimeLimitS int64    `json:"time_limit_s,omitempty"`
	// Warn is a signal sent some time before the time limit (a batch
	// script's --signal).
	Warn *burst.Warning `json:"warn,omitempty"`
	GPUs int            `json:"gpus,omitempty"`
	Name string         `json:"name,omitempty"` // the job's name
	// Local are the arguments of the job's command that named files on the
	// submitter's host when it was submitted (burst.JobSpec.Local): an
	// agent that does not see the server's home checks that they exist
	// on its machine before it starts a task.
	Local []string `json:"local,omitempty"`
	// Project is the job's project: what its outputs are uploaded to.
	Project string `json:"project,omitempty"`
	// Inputs are the files every task of the job gets in its private
	// directory, and Outputs the globs of the files uploaded after each
	// ends (burst.JobSpec's): with either, a task runs in a private
	// directory on every machine.
	Inputs  []burst.Input `json:"inputs,omitempty"`
	Outputs []string      `json:"outputs,omitempty"`
	// Stack is the software stack the job's tasks run inside (each in a
	// private directory, bound at /work).
	Stack *burst.StackRef `json:"stack,omitempty"`
	// Nice is the niceness the tasks start at (burst.JobSpec's).
	Nice int `json:"nice,omitempty"`
	// MemAll (sbatch --mem=0: MemBytes is all of the machine's), Deadline
	// and TimeMinS (sbatch --deadline, --time-min) are the job's spec's,
	// for an agent that submits its tasks to a real Slurm (native mode),
	// which takes them as sbatch's own.
	MemAll   bool      `json:"mem_all,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
	TimeMinS int64     `json:"time_min_s,omitempty"`

	wire []byte // its JSON, once Keep was called (wirefast.go)
}

// Staged reports whether the job's tasks run in private directories.
func (jc *JobContext) Staged() bool {
	return len(jc.Inputs) > 0 || len(jc.Outputs) > 0 || jc.Stack != nil
}

// Assignment is a task handed to an agent to run.
type Assignment struct {
	TaskRef
	Argv    []string `json:"argv"`
	TaskEnv []string `json:"task_env"` // added to (and overriding) the job's Env
	Stdout  string   `json:"stdout"`
	Stderr  string   `json:"stderr"`
	// Stdin, when set, is the file the task reads as its standard input
	// (sbatch's --input, relative to the task's directory); else /dev/null.
	Stdin  string `json:"stdin,omitempty"`
	GPUIDs []int  `json:"gpu_ids,omitempty"`
	// Queued (prefetched) tasks start when the agent's free resources allow,
	// in the order given; the others start at once.
	Queued bool `json:"queued,omitempty"`
	// Truncate: the log files hold an earlier attempt's output; replace it.
	Truncate bool `json:"truncate,omitempty"`
	// Pack: output that is small and ends quickly may go to a pack file
	// next to Stdout (Stderr) shared with other tasks, instead of a file of
	// its own; the exit event then says where (TaskEvent.OutPack).
	Pack bool `json:"pack,omitempty"`
	// Direct: open Stdout and Stderr at the start and give them to the
	// process itself, failing if their directory is missing (sbatch's files).
	Direct bool `json:"direct,omitempty"`
	// Res, when set, is what this task asks for instead of the job's (a
	// pipe's stages differ).
	Res *burst.Resources `json:"res,omitempty"`
	// Pipe says how a pipe's task connects to the stages beside it.
	Pipe *Plumbing `json:"pipe,omitempty"`
	// Inputs are the files staged for this task alone (a map's {} inputs
	// that were local files), beside its job's.
	Inputs []burst.Input `json:"inputs,omitempty"`
}

// Plumbing connects one task of a pipe: where its stdin comes from, where
// its stdout goes, and the line junctions its agent runs for the pipe.
type Plumbing struct {
	Stage string `json:"stage"`
	// Stack is the software stack the stage runs inside (burst pipe's
	// per-stage --stack), with the job's directory at /work.
	Stack     *burst.StackRef `json:"stack,omitempty"`
	Stdin     End             `json:"stdin"`
	Stdout    End             `json:"stdout"`
	Junctions []Junction      `json:"junctions,omitempty"`
}

// End is one end of a stream. Zero: /dev/null for stdin, the task's own
// stdout log for stdout.
//
// A Stream with neither Dial nor Accept is an OS pipe on this machine,
// shared by the two tasks (or junctions) that name its key; Dial connects
// the producing side to the consuming agent's stream listener; Accept waits
// there for the producer's connection. Key (Dial and Accept only) is the
// stream's own secret, given by the server to its two ends alone: each
// side proves it to the other (internal/agent/stream_pair.go).
type End struct {
	File   string `json:"file,omitempty"`
	Append bool   `json:"append,omitempty"`
	Log    bool   `json:"log,omitempty"` // a junction's output: the hosting task's stdout log
	Stream string `json:"stream,omitempty"`
	Dial   string `json:"dial,omitempty"`
	Accept bool   `json:"accept,omitempty"`
	Key    string `json:"key,omitempty"` // 32 random bytes, hex
}

// Junction deals the lines read from its inputs, in blocks of whole lines,
// to whichever of its outputs is ready: the splitter and merger of stages
// run with --parallel.
type Junction struct {
	In  []End `json:"in"`
	Out []End `json:"out"`
}

// TaskEvent is what an agent reports about a task: that it started, what it
// used so far while it runs (progress), or how it ended.
type TaskEvent struct {
	TaskRef
	Kind      string      `json:"kind"` // "started", "progress" or "exited""
	PID       int         `json:"pid,omitempty"`
	PIDStart  uint64      `json:"pid_start,omitempty"`
	State     burst.State `json:"state,omitempty"`
	ExitCode  *int        `json:"exit_code,omitempty"`
	Signal    int         `json:"signal,omitempty"`
	Reason    string      `json:"reason,omitempty"`
	StartedAt *time.Time  `json:"started_at,omitempty"`
	EndedAt   *time.Time  `json:"ended_at,omitempty"`
	UserUS    int64       `json:"user_us,omitempty"`
	SysUS     int64       `json:"sys_us,omitempty"`
	MaxRSS    int64       `json:"max_rss,omitempty"`
	OutBytes  int64       `json:"out_bytes,omitempty"` // written to its log files: the storage its logs take
	// With "started": where its output begins in files it appends to.
	OutFrom int64 `json:"out_from,omitempty"`
	ErrFrom int64 `json:"err_from,omitempty"`
	// With "exited": where its output ends in those files.
	OutTo int64 `json:"out_to,omitempty"`
	ErrTo int64 `json:"err_to,omitempty"`
	// With "exited", of a task assigned Pack: the pack file its stdout
	// (stderr) went to instead of its own log, bytes [OutFrom, OutTo)
	// ([ErrFrom, ErrTo)) of it, written before this event was sent; ""
	// when its output is in its own log.
	OutPack string `json:"out_pack,omitempty"`
	ErrPack string `json:"err_pack,omitempty"`
	// A pipe stage's own reads and writes, in bytes (its pipes included).
	ReadBytes  int64 `json:"read_bytes,omitempty"`
	WroteBytes int64 `json:"wrote_bytes,omitempty"`
	// With "exited", of a staged task: the files its --out globs matched,
	// uploaded before this event was sent.
	Outputs []OutputFile `json:"outputs,omitempty"`
	// With "exited", of a task whose job keeps its stack changes
	// (StackRef.Keep): the tar of what it changed, uploaded as an output
	// blob; nil when it changed nothing.
	StackChanges *OutputFile `json:"stack_changes,omitempty"`
	// With "exited", of a batch task: the srun steps it ran (at most
	// burst.MaxSteps).
	Steps []burst.Step `json:"steps,omitempty"`
}

// OutputFile is a file a task left in its private directory that matched
// one of its job's --out globs, as uploaded to the blob store.
type OutputFile struct {
	Path   string `json:"path"` // relative to the task's directory
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Mode   uint32 `json:"mode"` // permission bits
}

// TaskOutputs are the outputs of one task's last attempt that ended
// (GET /v1/jobs/{id}/outputs).
type TaskOutputs struct {
	Task    int          `json:"task"`
	Attempt int          `json:"attempt"`
	Files   []OutputFile `json:"files"`
}

// Event kinds.
const (
	EventStarted = "started"
	EventExited  = "exited"
	// EventProgress carries a running task's figures so far (UserUS, SysUS,
	// MaxRSS, ReadBytes, WroteBytes): the agent samples a pipe's stages
	// about once a second. The server keeps them in memory only; the
	// exited event's figures are the ones stored.
	EventProgress = "progress"
)

// RunningTask is a task an agent holds, with the identity of its process
// (PID 0: queued at the agent, not started yet).
type RunningTask struct {
	TaskRef
	PID      int    `json:"pid"`
	PIDStart uint64 `json:"pid_start"`
}

// Register is an agent announcing itself (again, after a server restart).
type Register struct {
	Machine  string        `json:"machine"`
	Cluster  string        `json:"cluster"`
	Host     string        `json:"host"`
	PID      int           `json:"pid"`
	PIDStart uint64        `json:"pid_start"`
	CPUs     int           `json:"cpus"`
	MemBytes int64         `json:"mem_bytes"`
	GPUs     []burst.GPU   `json:"gpus"`
	Running  []RunningTask `json:"running"`
	Events   []TaskEvent   `json:"events"` // not yet reported, applied before Running is reconciled
	// OS is the machine's kernel, uname's system, release and version
	// (agent.KernelOS): scontrol show node's OS=.
	OS string `json:"os,omitempty"`
	// IdleSince is, while nothing runs or waits there, when its last task
	// ended (or the agent started), on the agent's clock (SentAt): a
	// server that restarted keeps the machine's idle time (scontrol show
	// node's LastBusyTime, idle-stop) rather than start it again. Nil
	// while it runs something, and from agents that predate it.
	IdleSince *time.Time `json:"idle_since,omitempty"`
	// StreamAddr is where the agent accepts pipe streams from other agents
	// (HOST:PORT); "" when it takes none.
	StreamAddr string `json:"stream_addr,omitempty"`
	// HomeID is the identity of the home whose server started the agent
	// (BURST_HOME_ID); "" for an agent started by hand. A server refuses
	// an agent of another home.
	HomeID string `json:"home_id,omitempty"`
	// Remote says that the agent does not see the server's home (it could
	// not read, at the path GET /v1/health names, the server.json of the
	// server that answered): its tasks' output travels back over
	// POST /v1/agent/output and each task runs in a private directory.
	// false (as from agents that predate it): the home is shared.
	Remote bool `json:"remote,omitempty"`
	// Stacks says the machine runs tasks inside software stacks: bwrap
	// is there and a user namespace can be made (probed at the agent's
	// start).
	Stacks bool `json:"stacks,omitempty"`
	// SentAt is the agent's clock when it sent this: the server reads
	// the times of Events against it, so that an agent whose clock is
	// off by minutes reports times the server's clock agrees with.
	SentAt *time.Time `json:"sent_at,omitempty"`
}

// UICode is a one-time sign-in link to the dashboard (`burst ui`).
type UICode struct {
	Code string `json:"code"`
	URL  string `json:"url"`
}

// Registered is the server's answer to Register.
type Registered struct {
	BootID string    `json:"boot_id"`
	Kill   []TaskRef `json:"kill"` // tasks the agent runs that the server does not want: stop them
	// HomeID is the identity of the server's home. An agent that came
	// with none (started by hand, or by a Slurm pilot) takes it before it
	// leases a task, and gives it to every task it starts, so that the
	// server may stop them when the agent is lost.
	HomeID string `json:"home_id,omitempty"`
	// Steps says the server keeps a batch task's srun steps
	// (TaskEvent.Steps). A server that predates them refuses a report or a
	// registration whose events carry any (an unknown field), so an agent
	// sends them only to a server that says so.
	Steps bool `json:"steps,omitempty"`
}

// Lease asks for work; the server holds the request up to WaitMS when it has
// nothing to give.
//
// Ack is the Seq of the last lease the agent received and acted on: the
// server hands out again whatever a lease the agent never received held, so
// a response lost on the wire loses no task.
type Lease struct {
	Machine string `json:"machine"`
	BootID  string `json:"boot_id"`
	WaitMS  int    `json:"wait_ms"`
	Ack     uint64 `json:"ack"`
	// Load is the machine's load (an agent's, not a native agent's: that
	// machine is a Slurm cluster), read at most every few seconds.
	Load *burst.HostLoad `json:"load,omitempty"`
}

// Leased is work for an agent.
type Leased struct {
	Seq    uint64                `json:"seq,omitempty"` // acknowledge it in the next Lease
	Jobs   map[int64]*JobContext `json:"jobs,omitempty"`
	Tasks  []Assignment          `json:"tasks"`
	Cancel []TaskRef             `json:"cancel"`
	// Requeue are those of Cancel stopped to run again (scontrol
	// requeue): a batch task's error file says so, as slurmstepd's.
	Requeue []TaskRef `json:"requeue,omitempty"`
	// Signals are signals for running tasks (scancel --signal): sent
	// once, not again if this lease is lost, as Slurm's.
	Signals []TaskSignal `json:"signals,omitempty"`
	// Limits are new time limits of jobs whose tasks the agent holds
	// (scontrol update TimeLimit= of a running job): sent until
	// acknowledged, and again after the agent registers.
	Limits []JobLimit `json:"limits,omitempty"`
	Exit   bool       `json:"exit,omitempty"` // the server wants this agent to stop
}

// JobLimit is a job's time limit changed while its tasks run or wait on a
// machine: each of them takes it, counted from its own start, as its
// first was (0: none).
type JobLimit struct {
	Job        int64 `json:"job"`
	TimeLimitS int64 `json:"time_limit_s"`
}

// Report carries task events from an agent.
type Report struct {
	Machine string      `json:"machine"`
	BootID  string      `json:"boot_id"`
	Events  []TaskEvent `json:"events"`
	// SentAt is the agent's clock when it sent this (see Register).
	SentAt *time.Time `json:"sent_at,omitempty"`
}

// Result is one task of a job in input order: its inputs and how it ended.
type Result struct {
	Index    int         `json:"index"`
	Input    []string    `json:"input"`
	State    burst.State `json:"state"`
	Attempt  int         `json:"attempt"`
	ExitCode *int        `json:"exit_code"`
	Reason   string      `json:"reason"`
	Stdout   string      `json:"stdout_path"`
	Stderr   string      `json:"stderr_path"`
	// The byte range of those files that is the task's own, when not the
	// whole file: a file it appended to (from), or a pack file of the
	// small outputs of a map's tasks (from and to). To 0: the file's end.
	StdoutFrom int64   `json:"stdout_from,omitempty"`
	StdoutTo   int64   `json:"stdout_to,omitempty"`
	StderrFrom int64   `json:"stderr_from,omitempty"`
	StderrTo   int64   `json:"stderr_to,omitempty"`
	Output     *string `json:"stdout,omitempty"` // with inline=true: the task's stdout (up to 1 MiB)
}

// UpdateOptions change a job that has not ended (scontrol update); a nil
// field keeps the job's own. TimeLimit (seconds, 0: none) and After (in
// sbatch's --dependency syntax, "" for none) only while none of its tasks
// has started; MaxRunning (an array's throttle, 0: none) only for a map.
type UpdateOptions struct {
	Name       *string `json:"name,omitempty"`
	TimeLimit  *int64  `json:"time_limit_s,omitempty"`
	After      *string `json:"after,omitempty"`
	MaxRunning *int    `json:"max_running,omitempty"`
	// Requeue: whether scontrol requeue may requeue a batch job (false:
	// as sbatch --no-requeue).
	Requeue *bool `json:"requeue,omitempty"`
}

// ResumeOptions change a resumed job's settings; a nil field keeps the
// job's own. MaxFailures and MaxFailuresPct are set together, as
// burst.MapSpec holds them.
type ResumeOptions struct {
	MaxFailures    *int     `json:"max_failures,omitempty"`
	MaxFailuresPct *float64 `json:"max_failures_pct,omitempty"`
	MaxRunning     *int     `json:"max_running,omitempty"`
}
