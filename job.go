package burst

import (
	"cmp"
	"slices"
	"time"
)

// Job is a submitted spec and its aggregate state, as the API and `-o json`
// show it. Field names are stable.
type Job struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Project  string `json:"project"`
	Kind     string `json:"kind"`
	User     string `json:"user"`
	State    State  `json:"state"`
	ExitCode *int   `json:"exit_code"`
	Reason   string `json:"reason"`
	// Cluster is the cluster it was submitted to (its spec's --on): ""
	// when none was named (the default, local).
	Cluster string `json:"cluster,omitempty"`
	// Partition is the Slurm partition it was submitted with (sbatch -p:
	// its spec's Batch.Partition), which the Slurm commands show and
	// filter on; "" when none was named. One no cluster is named after
	// (-p defq) runs on the default cluster and stays a job of it.
	Partition string `json:"partition,omitempty"`
	// Waiting says why its queued tasks wait, live from the server's
	// scheduler and autoscaler, e.g. "needs 2 CPUs: local-1 has 0 of 2 CPUs
	// free, held by job 11"; empty when none waits.
	Waiting string `json:"waiting,omitempty"`
	// Dependency is what a job held by its dependencies (JobSpec.After)
	// still waits for, in sbatch's syntax with each one's status as
	// squeue's %E shows it: "afterok:12(unfulfilled)", "(failed)" for one
	// that can never be met; empty once it is released.
	Dependency string `json:"dependency,omitempty"`
	// TaskDependencies says its queued tasks wait each for something of
	// its own (aftercorr: the task of the same index of another job):
	// each task's Dependency says what, as squeue shows it task by task.
	TaskDependencies bool `json:"task_dependencies,omitempty"`
	// Begin is when a job deferred by --begin may start (its spec's
	// Begin), set on active jobs in listings (as Waiting is).
	Begin time.Time `json:"begin,omitzero"`
	// Deferred says the server holds the job for its Begin now (by the
	// server's clock, not the reader's): squeue's Reason BeginTime.
	Deferred bool `json:"deferred,omitempty"`
	// Held says the job is held until someone releases it (its spec's
	// Held, on active jobs in listings): squeue's Reason JobHeldUser.
	Held bool `json:"held,omitempty"`
	// HeldByAdmin says an admin held it, and only an admin may release
	// it: squeue's Reason JobHeldAdmin.
	HeldByAdmin bool `json:"held_by_admin,omitempty"`
	// HeldRequeued says it was held as it was requeued (scontrol
	// requeuehold): squeue's Reason "job requeued in held state".
	HeldRequeued bool       `json:"held_requeued,omitempty"`
	CPUs         int        `json:"cpus"`
	MemBytes     int64      `json:"mem_bytes"`
	GPUs         int        `json:"gpus"`
	TimeLimitS   int64      `json:"time_limit_s"`
	SubmittedAt  time.Time  `json:"submitted_at"`
	StartedAt    *time.Time `json:"started_at"`
	EndedAt      *time.Time `json:"ended_at"`
	CPUSeconds   float64    `json:"cpu_seconds"`
	MaxRSSBytes  int64      `json:"max_rss_bytes"`
	Tasks        TaskCounts `json:"tasks"`
	CostUSD      float64    `json:"cost_usd"` // its tasks' share of the machines they ran on, so far
	Spec         *JobSpec   `json:"spec,omitempty"`
	// Steps are the srun steps its batch script ran, for a job of one
	// task (its task's, as they ended): sacct's N.0, N.1 lines.
	Steps []Step `json:"steps,omitempty"`
	// SrunStep is its spec's SrunStep, in listings too: a job srun made
	// outside any job, listed by the Slurm commands as its step N.0.
	SrunStep bool `json:"srun_step,omitempty"`
}

// HostLoad is a machine's load as slurmd reports a node's: the 5-minute
// load average (sysinfo's loads[1]) and the free memory (its freeram,
// /proc/meminfo's MemFree), as its agent read them at most a few seconds
// before it last asked for work.
type HostLoad struct {
	CPULoad      float64 `json:"cpu_load"`
	FreeMemBytes int64   `json:"free_mem_bytes"`
}

// Step is a job step srun ran inside a batch task (srun in an #SBATCH
// script), as sacct lists it (N.0, N.1, ...): recorded by srun when it
// ends, sent with its task's end.
type Step struct {
	ID        int       `json:"id"`   // SLURM_STEP_ID: 0 first
	Name      string    `json:"name"` // the program it ran, as sacct's JobName of a step
	State     State     `json:"state"`
	ExitCode  int       `json:"exit_code"`        // the highest of its tasks'
	Signal    int       `json:"signal,omitempty"` // what killed one of its tasks, 0 if none
	Tasks     int       `json:"tasks"`
	CPUs      int       `json:"cpus"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	// What its tasks used, once it ended (their rusage as srun reaped
	// them): the largest resident set of one of them, and their CPU time
	// together, as sacct's MaxRSS and TotalCPU of a step.
	MaxRSS int64 `json:"max_rss,omitempty"`
	UserUS int64 `json:"user_us,omitempty"`
	SysUS  int64 `json:"sys_us,omitempty"`
	// PIDs are its tasks' processes while it runs, as srun records them in
	// its batch task's steps file, for its agent to read what they use so
	// far (sstat of a running step: the figures above). The agent sends no
	// PIDs on.
	PIDs []int `json:"pids,omitempty"`
}

// MergeSteps is steps with the steps of news in place of those of the same
// id and the others added, by id, at most MaxSteps: the steps of a running
// task so far, from what its progress reports said changed (news). steps
// is not changed.
func MergeSteps(steps, news []Step) []Step {
	if len(news) == 0 {
		return steps
	}
	out := slices.Clone(steps)
	for _, n := range news {
		i, found := slices.BinarySearchFunc(out, n.ID, func(s Step, id int) int { return cmp.Compare(s.ID, id) })
		switch {
		case found:
			out[i] = n
		case len(out) < MaxSteps:
			out = slices.Insert(out, i, n)
		}
	}
	return out
}

// MaxSteps bounds the steps kept of one task: a script looping over
// thousands of srun calls keeps its first MaxSteps (sacct lists those).
const MaxSteps = 1000

// TaskCounts tallies a job's tasks by state.
type TaskCounts struct {
	Total     int `json:"total"`
	Queued    int `json:"queued"`
	Running   int `json:"running"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
	Timeout   int `json:"timeout"`
	Lost      int `json:"lost"`
}

// ReasonOOM begins the Reason of a task (and of a job of one task) that
// burst killed for going over its memory: Slurm's personality reports it
// as OUT_OF_MEMORY.
const ReasonOOM = "out of memory"

// ReasonCancelledBy begins the Reason of a job its cancel ended, and of
// its tasks, then who cancelled it.
const ReasonCancelledBy = "cancelled by "

// ReasonCancelledAlone begins the Reason of a task cancelled by itself
// (burst cancel JOB --task N, scancel ARRAY_N), then who cancelled it.
// Slurm keeps no record of an array task cancelled alone before it
// started, and burst's Slurm listings show none (slurmface.cancelledAlone).
const ReasonCancelledAlone = "task " + ReasonCancelledBy

// ReasonDeadline begins the Reason of a job (or task) the server cancelled
// before it started because it could no longer end by its spec's
// Deadline: Slurm's personality reports it as DEADLINE.
const ReasonDeadline = "deadline: "

// Done is the number of tasks in a terminal state.
func (c TaskCounts) Done() int { return c.Succeeded + c.Failed + c.Cancelled + c.Timeout + c.Lost }

// Task is one unit of execution of a job, as last attempted.
type Task struct {
	JobID    int64  `json:"job_id"`
	Index    int    `json:"index"`
	State    State  `json:"state"`
	Attempt  int    `json:"attempt"`
	Machine  string `json:"machine,omitempty"`
	PID      int    `json:"pid,omitempty"`
	ExitCode *int   `json:"exit_code"`
	Signal   int    `json:"signal"`
	Reason   string `json:"reason"`
	// Dependency is what a queued task of a map gated task by task
	// (Job.TaskDependencies) still waits for, as squeue's %E shows it:
	// "aftercorr:12_*(unfulfilled)"; empty once let through. Live, not
	// stored.
	Dependency string `json:"dependency,omitempty"`
	GPUIDs     []int  `json:"gpu_ids,omitempty"`
	// A map task's job slot, GNU parallel's {%} and $PARALLEL_JOBSLOT: the
	// lowest number, from 1, that no other running task of its map held
	// when its attempt was handed out (0 for other jobs, and for a map task
	// never handed out; one waiting to run again shows its last attempt's).
	Slot        int        `json:"slot,omitempty"`
	StartedAt   *time.Time `json:"started_at"`
	EndedAt     *time.Time `json:"ended_at"`
	UserSeconds float64    `json:"user_seconds"`
	SysSeconds  float64    `json:"sys_seconds"`
	MaxRSSBytes int64      `json:"max_rss_bytes"`
	// A pipe stage's bytes through the streams burst can count: its `<`
	// input file, its `>` output file, the last stage's output log (0 for
	// OS pipes and sockets between stages, which burst does not relay).
	// While it runs, the figures of its last progress report.
	ReadBytes  int64   `json:"read_bytes,omitempty"`
	WroteBytes int64   `json:"wrote_bytes,omitempty"`
	CostUSD    float64 `json:"cost_usd"` // its last attempt's share of its machine, as metered (set when it ends)
	Stdout     string  `json:"stdout_path,omitempty"`
	Stderr     string  `json:"stderr_path,omitempty"`
	// Where in those files this task's output begins: above 0 when it
	// appends to a file that held output before (--open-mode=append).
	StdoutFrom int64 `json:"stdout_from,omitempty"`
	StderrFrom int64 `json:"stderr_from,omitempty"`
	// ...and where it ends, once the task has (0: the end of the file).
	StdoutTo int64 `json:"stdout_to,omitempty"`
	StderrTo int64 `json:"stderr_to,omitempty"`
	// Steps are the srun steps its batch script ran, in its last attempt.
	Steps []Step `json:"steps,omitempty"`
}

// Machine is something with resources that runs a burst agent.
type Machine struct {
	ID        string     `json:"id"`
	Cluster   string     `json:"cluster"`
	Host      string     `json:"host"`
	State     string     `json:"state"` // pending, running, stopping, stopped, terminated; lost
	Provider  string     `json:"provider"`
	Type      string     `json:"type,omitempty"`
	Project   string     `json:"project"` // the project its idle time is charged to
	Spot      bool       `json:"spot,omitempty"`
	CPUs      int        `json:"cpus"`
	MemBytes  int64      `json:"mem_bytes"`
	GPUs      []GPU      `json:"gpus"`
	Used      Resources  `json:"used"`
	AgentPID  int        `json:"agent_pid,omitempty"`
	StartedAt *time.Time `json:"started_at"`
	SeenAt    *time.Time `json:"seen_at"`
	StoppedAt *time.Time `json:"stopped_at,omitempty"`
	// StoppedBy is the person who stopped it (a stop by hand, or the end of
	// a drain they asked for): the autoscaler does not start it again, across
	// server restarts too, until someone starts it. Empty when burst stopped
	// it (idle, schedule, budget) or once it is started again.
	StoppedBy string `json:"stopped_by,omitempty"`
	// Price per hour while it runs, and how it was set (catalog, configured
	// rates, or the shadow price of the cheapest cloud type that fits).
	PriceUSDPerHour float64 `json:"price_usd_per_hour"`
	PriceBasis      string  `json:"price_basis,omitempty"`
	// PerUse machines (this host, owned) charge only what tasks use; others
	// charge every hour they run, idle time to their project.
	PerUse  bool    `json:"per_use,omitempty"`
	CostUSD float64 `json:"cost_usd"`         // metered so far
	Tasks   int     `json:"tasks"`            // tasks it holds now
	Handle  string  `json:"handle,omitempty"` // the provider's name for it (pid, Slurm job id)
	// Remote: its agent does not see the server's home (it shares no
	// filesystem with it): its tasks run in private directories there and
	// their output travels back over the agent protocol.
	Remote bool `json:"remote,omitempty"`
	// OS is its kernel as its agent read it at its start, uname's system,
	// release and version ("Linux 6.1.0 #1 SMP ..."; "" when not told):
	// scontrol show node's OS=.
	OS string `json:"os,omitempty"`
	// IdleSince is when its last task ended (or it came up with none):
	// scontrol show node's LastBusyTime, which Slurm keeps at the moment a
	// node last went idle, busy since or not. Nil when not known.
	IdleSince *time.Time `json:"idle_since,omitempty"`
	// Load is what its agent last read of the machine's load (nil when
	// not told): scontrol show node's CPULoad and FreeMem.
	Load *HostLoad `json:"load,omitempty"`
	// Waiting says why a pending machine is not up yet, as its provider
	// tells (a Slurm pilot's pending reason).
	Waiting string `json:"waiting,omitempty"`
	// Actions is what a person may ask of it now (ActionStop, ActionStart):
	// the API refuses the others, or they would change nothing.
	Actions []string `json:"actions,omitempty"`
	// Interrupted is when its spot interruption notice says it goes
	// away: its tasks were requeued as preempted when the notice came, and
	// it takes no more (shown as interrupted by burst machine list).
	Interrupted *time.Time `json:"interrupted,omitempty"`
	// Revoked: a lost machine that is lost because its credential was
	// revoked (burst machine revoke), and that holds no other.
	Revoked bool `json:"revoked,omitempty"`
}

// Actions on a machine (Machine.Actions).
const (
	ActionStop  = "stop"
	ActionStart = "start"
)

// Can reports whether action is one of m's Actions.
func (m Machine) Can(action string) bool { return slices.Contains(m.Actions, action) }

// Machine states.
const (
	MachinePending    = "pending"
	MachineRunning    = "running"
	MachineStopping   = "stopping"
	MachineStopped    = "stopped"
	MachineTerminated = "terminated"
	MachineLost       = "lost"
)

// GPU is one accelerator of a machine, as nvidia-smi names it.
type GPU struct {
	Index    int    `json:"index"`
	Name     string `json:"name"`
	UUID     string `json:"uuid,omitempty"`
	MemBytes int64  `json:"mem_bytes,omitempty"`
}

// Capacity is a machine's whole resources.
func (m Machine) Capacity() Resources {
	return Resources{CPUs: m.CPUs, MemBytes: m.MemBytes, GPUs: len(m.GPUs)}
}
