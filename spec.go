package burst

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Resources is what one task asks for. Zero MemBytes means "not declared": the
// task is neither limited nor counted against a machine's memory.
type Resources struct {
	CPUs      int   `json:"cpus"`
	MemBytes  int64 `json:"mem_bytes"`
	GPUs      int   `json:"gpus"`
	TimeLimit int64 `json:"time_limit_s,omitempty"` // seconds; 0 = none
}

// Fits reports whether r fits into free.
func (r Resources) Fits(free Resources) bool {
	return r.CPUs <= free.CPUs && r.MemBytes <= free.MemBytes && r.GPUs <= free.GPUs
}

// Job kinds: one task, N tasks over inputs, K co-scheduled stages.
const (
	KindRun  = "run"
	KindMap  = "map"
	KindPipe = "pipe"
)

// JobSpec is what a user submits. Argv is run directly (never through a
// shell); Script, when set, is the text of a batch script that is written to a
// file and executed with Argv as its arguments.
type JobSpec struct {
	Name      string            `json:"name,omitempty"`
	Project   string            `json:"project,omitempty"`
	Kind      string            `json:"kind,omitempty"`
	Argv      []string          `json:"argv,omitempty"`
	Script    string            `json:"script,omitempty"`
	ScriptRef string            `json:"script_path,omitempty"` // where the script came from, for people
	Env       map[string]string `json:"env,omitempty"`
	Workdir   string            `json:"workdir,omitempty"`
	Resources Resources         `json:"resources"`
	Cluster   string            `json:"cluster,omitempty"`
	// Native submits the job to the cluster's own scheduler (sbatch on a
	// Slurm cluster) rather than to burst's agents there.
	Native  bool `json:"native,omitempty"`
	Retries int  `json:"retries,omitempty"`
	// Stdout and Stderr are output path templates (Slurm's %j %x %A %a %u
	// expanded at dispatch); empty means burst's own per-task log files.
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	Tasks  int    `json:"tasks,omitempty"` // number of tasks; 0 means 1
	// Batch is set for jobs submitted as #SBATCH scripts: the task then gets
	// the SLURM_* variables such scripts read.
	Batch *BatchOptions `json:"batch,omitempty"`
	// SrunStep marks the job that srun run outside any job made for its
	// step, as Slurm's srun makes an allocation and runs step 0 in it:
	// the Slurm commands list that step as N.0, with no batch step.
	SrunStep bool `json:"srun_step,omitempty"`
	// Partition is the Slurm partition srun outside a job was given (-p)
	// for the job it made; an sbatch script's is its Batch.Partition.
	// SlurmPartition gives either.
	Partition string `json:"partition,omitempty"`
	// Map, when set, makes this a map: one task per input tuple.
	Map *MapSpec `json:"map,omitempty"`
	// MaxRunning caps how many of the job's tasks run at once (0 = no cap;
	// #SBATCH --array's %N).
	MaxRunning int `json:"max_running,omitempty"`
	// Nice is the niceness the job's tasks start at (-20 to 19; 0: their
	// agent's), which all they start inherit: GNU parallel's --nice. One
	// below the agent's own is taken only where the agent may raise
	// priority (root); elsewhere they run at the agent's, as nice(1) runs
	// its command when it cannot.
	Nice int `json:"nice,omitempty"`
	// SharedCPUs says a map's tasks reserve no CPU (burst map --cpus 0,
	// or -j above this host's CPUs): each shares the CPUs of the machine
	// it runs on with whatever else runs there, as GNU parallel's jobs
	// do, and MaxRunning bounds how many run at once (0: as many as
	// possible, at most MaxSharedRunning). Resources.CPUs is then 0.
	SharedCPUs bool `json:"shared_cpus,omitempty"`
	// Pipe, when set, makes this a pipe: co-scheduled streaming stages.
	Pipe *PipeSpec `json:"pipe,omitempty"`
	// Local are the arguments of Argv that named existing files or
	// directories on the submitter's host at submit time (relative to
	// Workdir, or absolute), as the CLI found them. A machine that does
	// not share the server's filesystem fails such a task at once, naming
	// the path it lacks, instead of running it into "No such file".
	Local []string `json:"local_paths,omitempty"`
	// Inputs are files staged into each task's private directory before
	// it runs (--in; a map's {} inputs that were local files), and
	// Outputs the globs, relative to that directory, of the files
	// uploaded after it ends (--out). A job with either runs each task in
	// a private directory on every machine (staging.go).
	Inputs  []Input  `json:"inputs,omitempty"`
	Outputs []string `json:"outputs,omitempty"`
	// After holds the job queued until the jobs it names have done what
	// each Dependency asks (burst run --after, sbatch --dependency): all
	// of them, or any one with AfterAnyOf (sbatch's "?"). A job held so
	// asks for no machine and costs nothing.
	After      []Dependency `json:"after,omitempty"`
	AfterAnyOf bool         `json:"after_any_of,omitempty"`
	// KeepUnsatisfiable keeps the job queued when a dependency can never
	// be met (sbatch's default: Reason DependencyNeverSatisfied, until
	// cancelled); by default burst cancels it, naming the job it needed.
	KeepUnsatisfiable bool `json:"keep_unsatisfiable,omitempty"`
	// DropUnknownDeps drops a dependency on a job that does not exist (or
	// that the submitter may not see, the same answer), or on an index
	// its array lacks, rather than refusing the job: Slurm 22.05's sbatch
	// takes it and the job waits for nothing there (one of a "?" list: for
	// nothing at all). burst's own commands refuse it, naming the job. It
	// also takes a job whose dependencies can already never be met: kept
	// (KeepUnsatisfiable) it waits, DependencyNeverSatisfied; else it is
	// cancelled at once, as sbatch --kill-on-invalid-dep=yes's job is.
	// burst's own commands refuse that one too.
	DropUnknownDeps bool `json:"drop_unknown_deps,omitempty"`
	// Held holds the job queued until someone releases it (sbatch -H,
	// scontrol hold; scontrol release, POST /v1/jobs/ID/release), as a
	// job waiting for its dependencies is held: it asks for no machine and
	// costs nothing. Only a job none of whose tasks has started is held.
	Held bool `json:"held,omitempty"`
	// HeldByAdmin says an admin held it (scontrol hold by an admin, as by
	// Slurm's root: Reason JobHeldAdmin): only an admin may release it.
	HeldByAdmin bool `json:"held_by_admin,omitempty"`
	// HeldRequeued says the hold came with a requeue (scontrol
	// requeuehold): Reason "job requeued in held state" until released,
	// as Slurm keeps it through later holds.
	HeldRequeued bool `json:"held_requeued,omitempty"`
	// Begin, when set, defers the job until then (burst run --begin,
	// sbatch --begin), in UTC: until Begin it is held as a job waiting for
	// its dependencies is, asking for no machine and costing nothing. A
	// Begin already past defers nothing. CheckBegin bounds it.
	Begin time.Time `json:"begin,omitzero"`
	// Deadline, when set, is when the job must have ended (sbatch
	// --deadline), in UTC: a task that has not started by the time it
	// could no longer end by then (now plus its time limit, a minute
	// without one, passes Deadline) never starts. The server cancels it,
	// its Reason beginning with ReasonDeadline, once it is free to start
	// (not held, its dependencies met, its begin time come), as Slurm
	// ends such a job as DEADLINE when its scheduler looks at it.
	Deadline time.Time `json:"deadline,omitzero"`
	// TimeMin is sbatch --time-min in seconds (0: none): the least time
	// limit the job will take. With a Deadline, a task is taken to need
	// TimeMin rather than its time limit, and one that starts when its
	// time limit would run past the Deadline has its limit cut to end by
	// then (whole minutes), as Slurm 22.05 starts it; at most the time
	// limit when there is one.
	TimeMin int64 `json:"time_min,omitempty"`
	// Stack, when set, is the software stack every task runs inside
	// (stackref.go): the client names it (Name, and Version or Digest);
	// the server resolves the rest at submit.
	Stack *StackRef `json:"stack,omitempty"`
	// Cache says whether a task whose key (command, environment, inputs,
	// resources: docs/cache.md) matches a finished successful task's is
	// not run but given that task's result: CacheOn, CacheOff, or ""
	// for its project's default (which applies to staged jobs only).
	Cache string `json:"cache,omitempty"`
}

// Cache settings of a job (JobSpec.Cache).
const (
	CacheOn  = "on"
	CacheOff = "off"
)

// MapSpec is a command template run once per input tuple: the cartesian
// product of Sources, the last varying fastest (GNU parallel's order).
type MapSpec struct {
	Template []string   `json:"template"`
	Sources  [][]string `json:"sources,omitempty"` // stored apart from the spec; absent when read back
	Shell    bool       `json:"shell,omitempty"`   // run through sh -c with inputs shell-quoted
	// Commands: no command was given, and each task's inputs, joined by
	// spaces, are the shell text it runs, as GNU parallel runs its inputs
	// when given no command (a file of commands, a line each); Template is
	// empty.
	Commands bool `json:"commands,omitempty"`
	// Array marks a Slurm job array: the single source holds the array
	// indices, given to each task as SLURM_ARRAY_TASK_ID, not as arguments.
	Array bool `json:"array,omitempty"`
	// Columns says an input may hold several columns joined by a NUL
	// (GNU parallel's linked groups, :::+ and --link, and --colsep, as the
	// CLI combines them): each column is an input of its own to the
	// command, and {n} beyond an input's columns is empty.
	Columns bool `json:"columns,omitempty"`
	// PerInput says each input of a task's one group (GNU parallel's -N,
	// Columns) is given with the whole of the template's word that holds
	// {}: "pict{}.jpg" over a, b is "picta.jpg" "pictb.jpg" (mapspec.Expand).
	PerInput bool `json:"per_input,omitempty"`
	// Quoted: the command was given with --quote (GNU parallel's -q), and a
	// word that is only replacement strings for values a task lacks ({2} of
	// a last -N 2 task of one input) is an empty argument; without it, no
	// argument, as parallel's shell drops it (mapspec.ExpandWith).
	Quoted bool `json:"quoted,omitempty"`
	// Numbered says the last column of each input (Columns, one source) is
	// the task's number, its {#}, not an input: a map of some of another
	// map's tasks, each keeping its number (GNU parallel's --resume).
	Numbered bool `json:"numbered,omitempty"`
	// Plus: the command was given with GNU parallel's --plus, and its
	// bash-like replacement strings ({%.gz} {/a/b} {:-none} ...) are
	// filled (mapspec); without it they are text, as parallel leaves them.
	Plus bool `json:"plus,omitempty"`
	// MaxFailures stops the map once more tasks than this failed:
	// MaxFailures if > 0, else MaxFailuresPct percent of the tasks if > 0.
	MaxFailures    int     `json:"max_failures,omitempty"`
	MaxFailuresPct float64 `json:"max_failures_pct,omitempty"`
	// HaltSoon: when MaxFailures stops the map, its tasks that have
	// started run to their end (GNU parallel's --halt soon); without it
	// they are cancelled at once (--halt now). Queued ones never start.
	HaltSoon bool `json:"halt_soon,omitempty"`
	// HaltOn, with HaltAfter (a count) or HaltAfterPct (a share of its
	// tasks, in percent), stops the map once that many of its tasks have
	// succeeded (HaltOnSuccess) or ended, whatever their end (HaltOnDone):
	// GNU parallel's --halt success=N and done=N. Tasks not started never
	// start; started ones end as HaltSoon says. A map stopped so ends as
	// parallel exits: succeeded (0) on success=; on done=, by its tasks'
	// ends (the number that failed, as without a halt).
	HaltOn       string  `json:"halt_on,omitempty"`
	HaltAfter    int     `json:"halt_after,omitempty"`
	HaltAfterPct float64 `json:"halt_after_pct,omitempty"`
	// Halt is GNU parallel's --halt as the map was given it (soon,fail=1),
	// kept for the follower of a resume, which says what it counts and
	// exits as parallel does (a --max-failures map has none). At most
	// MaxHaltLen bytes; the server reads the fields above, not this.
	Halt string `json:"halt,omitempty"`
	// HaltBase is how many of its tasks had succeeded when the map was
	// last resumed: its halt counts those that succeed from then on, as
	// parallel --resume-failed counts the jobs it runs.
	HaltBase int `json:"halt_base,omitempty"`
	// DelayMS spaces the starts of the map's tasks: one starts at most
	// every DelayMS milliseconds, on whatever machines (GNU parallel's
	// --delay). 0: as many at once as fit.
	DelayMS int64 `json:"delay_ms,omitempty"`
	// TimeoutPct is GNU parallel's --timeout N%: once a task has
	// succeeded, a task that runs longer than TimeoutPct percent of the
	// median run time of those that succeeded is killed and ends as
	// timeout (MedianTimeLimit). 0: none. The map has no time limit of
	// its own then (Resources.TimeLimit is what the server sets).
	TimeoutPct float64 `json:"timeout_pct,omitempty"`
	// TimeoutSinceUS is when the map was last resumed (Unix
	// microseconds): its --timeout N% median is of the tasks that
	// succeeded since, as a new parallel --resume-failed run knows only
	// its own. 0: all of them.
	TimeoutSinceUS int64 `json:"timeout_since_us,omitempty"`
}

// MaxHaltLen bounds MapSpec.Halt: parallel's --halt is a few words.
const MaxHaltLen = 64

// MaxTimeoutPct bounds TimeoutPct: a task may run a million times the
// median.
const MaxTimeoutPct = 1e8

// MedianTimeLimit is the time limit, in whole seconds (rounded up, at
// least 1), that a map's --timeout pct% sets when the median run time of
// its tasks that succeeded is median: pct percent of it.
func MedianTimeLimit(pct float64, median time.Duration) int64 {
	s := math.Ceil(pct*median.Seconds()/100 - 1e-9) // 110% of 100 s is 110, not 111
	return int64(min(max(s, 1), MaxTimeLimitS))
}

// Remedian is the median of a stream of run times as GNU parallel keeps
// it for --timeout N%: Rousseeuw and Bassett's remedian, a median of
// medians of buffers of 999, in bounded memory however long the stream.
// Of an even number of values it is the lower middle one, as parallel's
// (which sorts them as text, not as numbers: 10 s before 9 s; this one
// sorts numbers, as its manual describes). The zero value is empty.
type Remedian struct {
	n      int
	levels [3]remedianLevel
}

// remedianBase is the size of each of Remedian's buffers.
const remedianBase = 999

// remedianLevel is one buffer of a Remedian, and its values sorted, so
// that its median is read at once (one value changes at a time).
type remedianLevel struct {
	vals, sorted []time.Duration
}

// set puts v at at, in place of the value there, if any.
func (l *remedianLevel) set(at int, v time.Duration) {
	if at < len(l.vals) {
		i, _ := slices.BinarySearch(l.sorted, l.vals[at])
		l.sorted = slices.Delete(l.sorted, i, i+1)
		l.vals[at] = v
	} else {
		l.vals = append(l.vals, v)
	}
	i, _ := slices.BinarySearch(l.sorted, v)
	l.sorted = slices.Insert(l.sorted, i, v)
}

// median is the level's middle value, the lower one of an even number.
func (l *remedianLevel) median() time.Duration { return l.sorted[(len(l.sorted)-1)/2] }

// Add adds one run time.
func (r *Remedian) Add(d time.Duration) {
	i := r.n
	r.n++
	r.levels[0].set(i%remedianBase, d)
	r.levels[1].set(i/remedianBase%remedianBase, r.levels[0].median())
	r.levels[2].set(i/remedianBase/remedianBase%remedianBase, r.levels[1].median())
}

// Median is the remedian of what was added; ok is false when nothing was.
func (r *Remedian) Median() (d time.Duration, ok bool) {
	if r.n == 0 {
		return 0, false
	}
	return r.levels[2].median(), true
}

// The conditions of MapSpec.HaltOn.
const (
	HaltOnSuccess = "success"
	HaltOnDone    = "done"
)

// HaltCount is how many of a map of n tasks must have succeeded or ended
// (HaltOn) for it to stop; 0 when it has no such halt.
func (m *MapSpec) HaltCount(n int) int {
	switch {
	case m == nil || m.HaltOn == "":
		return 0
	case m.HaltAfter > 0:
		return m.HaltAfter
	}
	return HaltShare(int64(n), m.HaltAfterPct)
}

// ParallelStatus is the exit status GNU parallel gives for one job that
// ended in state (exit its code, signal what killed it): 0 if it
// succeeded, 255 for one its --timeout killed, 128+N for signal N, else
// its exit code (1 when it has none).
func ParallelStatus(state State, exit *int, signal int) int {
	switch {
	case state == Succeeded:
		return 0
	case state == Timeout:
		return 255
	case signal != 0:
		return 128 + signal
	case exit != nil && *exit > 0:
		return *exit
	}
	return 1
}

// HaltShare is the task that reaches pct% of n, where GNU parallel's
// --halt WHEN,fail=pct% (success=, done=) halts: the ceil(n*pct/100)-th,
// at least the first.
func HaltShare(n int64, pct float64) int {
	return max(int(math.Ceil(float64(n)*pct/100-1e-9)), 1)
}

// MaxDelay bounds --delay: a day between two task starts.
const MaxDelay = 24 * time.Hour

// Delay is the least time between two of the map's task starts (0: none).
func (m *MapSpec) Delay() time.Duration {
	if m == nil {
		return 0
	}
	return time.Duration(m.DelayMS) * time.Millisecond
}

// FailureLimit is how many failed tasks a map of n tasks tolerates; -1 means
// no limit.
func (m *MapSpec) FailureLimit(n int) int {
	switch {
	case m == nil:
		return -1
	case m.MaxFailures > 0:
		return m.MaxFailures
	case m.MaxFailuresPct > 0:
		return int(m.MaxFailuresPct * float64(n) / 100)
	}
	return -1
}

// BatchOptions keeps the Slurm-level facts of a batch script that burst
// honours or reports back to the script through SLURM_* variables.
type BatchOptions struct {
	NTasks      int `json:"ntasks,omitempty"`
	CPUsPerTask int `json:"cpus_per_task,omitempty"`
	// NTasksPerNode is --ntasks-per-node (its job's SLURM_NTASKS_PER_NODE:
	// the tasks on its one machine, all nodes' together).
	NTasksPerNode int `json:"ntasks_per_node,omitempty"`
	// Nodes is --nodes above 1 without --ntasks or --ntasks-per-node: a
	// task per node, all on the job's one machine (SLURM_TASKS_PER_NODE;
	// SLURM_NTASKS stays unset, as sbatch leaves it).
	Nodes     int   `json:"nodes,omitempty"`
	MemPerCPU int64 `json:"mem_per_cpu,omitempty"` // --mem-per-cpu in bytes (then no SLURM_MEM_PER_NODE)
	// MemAll is --mem=0: the job holds all the memory of a machine, as
	// Slurm gives it all of its node's. Admission sets Resources.MemBytes
	// to the memory of the largest machine of its cluster that can run it
	// (as Exclusive its CPUs); the job is told no SLURM_MEM_PER_NODE, as
	// sbatch tells it none, and the Slurm commands show its minimum
	// memory as 0 (squeue %m, scontrol's MinMemoryNode) and what it holds
	// in its TRES.
	MemAll bool `json:"mem_all,omitempty"`
	// Input is --input: the file pattern (%j %a ..., relative to the
	// working directory) of the script's standard input; "" is /dev/null.
	Input string `json:"input,omitempty"`
	// ArrayStep is an --array's SLURM_ARRAY_TASK_STEP (sbatch.ArrayStep).
	ArrayStep int    `json:"array_step,omitempty"`
	Partition string `json:"partition,omitempty"`
	// Distribution is --distribution as the job is told it
	// (SLURM_DISTRIBUTION: sbatch.Distribution), PlaneSize its plane=N
	// (SLURM_DIST_PLANESIZE); on one machine they place nothing.
	Distribution string `json:"distribution,omitempty"`
	PlaneSize    int    `json:"plane_size,omitempty"`
	// PrioProcess is the submitter's nice value (SLURM_PRIO_PROCESS, as
	// sbatch records it; the job runs at the agent's).
	PrioProcess int `json:"prio_process,omitempty"`
	// Append keeps what the output files hold (--open-mode=append);
	// otherwise each run of a task truncates them, as sbatch does.
	Append bool `json:"append,omitempty"`
	// Comment is sbatch --comment: squeue's %k and scontrol show job's
	// Comment= show it, as Slurm keeps it with the job.
	Comment string `json:"comment,omitempty"`
	// NoRequeue says the job is never requeued (sbatch --no-requeue):
	// scontrol shows it Requeue=0 and refuses to requeue it, as Slurm's
	// "Requested operation is presently disabled".
	NoRequeue bool `json:"no_requeue,omitempty"`
	// Exclusive is sbatch --exclusive: the job takes a whole machine, all
	// its CPUs and GPUs (the memory it asked for), as Slurm allocates a
	// node that no other job may share. Admission sets Resources to the
	// largest machine of its cluster that can run it.
	Exclusive bool `json:"exclusive,omitempty"`
	// OpenMode is --open-mode as sbatch tells the job (SLURM_OPEN_MODE):
	// "a" or "t", "" when not given.
	OpenMode string `json:"open_mode,omitempty"`
	// Logs keeps the output in burst's task logs, not sbatch's files: the
	// allocation that srun makes outside a job for a step of several
	// tasks (its script runs the step), as srun writes no slurm-%j.out.
	Logs       bool   `json:"logs,omitempty"`
	SubmitDir  string `json:"submit_dir,omitempty"`
	SubmitHost string `json:"submit_host,omitempty"`
	User       string `json:"user,omitempty"`
	// Warn is --signal: a signal sent some time before the time limit.
	Warn *Warning `json:"warn,omitempty"`
	// Export is --export as given, "" when not; UserEnv is --get-user-env.
	// The job is told them as sbatch tells it (SLURM_EXPORT_ENV,
	// SLURM_GET_USER_ENV), and srun in it takes SLURM_EXPORT_ENV as its
	// own --export.
	Export  string `json:"export,omitempty"`
	UserEnv bool   `json:"user_env,omitempty"`
	// Ignored are the script's directives burst could not honour, each
	// with its line (burst show lists them): the Slurm personality's
	// sbatch, as sbatch, says nothing of them unless on a terminal.
	Ignored []string `json:"ignored,omitempty"`
	// Account is the Slurm account the script's #SBATCH --account named,
	// for the CLI alone (never sent): one that is no burst project runs in
	// project default, said as an ignored directive (sbatch's warning).
	Account string `json:"-"`
}

// SlurmPartition is the Slurm partition the job was submitted with
// (sbatch -p, or srun -p outside a job), "" when none.
func (s *JobSpec) SlurmPartition() string {
	if s.Batch != nil && s.Batch.Partition != "" {
		return s.Batch.Partition
	}
	return s.Partition
}

// SbatchFiles says the task's output goes to sbatch's files (its
// --output and --error, slurm-%j.out without), which the task opens
// itself, rather than to burst's logs.
func (s *JobSpec) SbatchFiles() bool { return s.Batch != nil && !s.Native && !s.Batch.Logs }

// Warning is a signal sent some time before a task's time limit (sbatch's
// --signal=[B:]SIG@TIME): to the batch shell alone (Shell), or else to
// every other process of the task (the job's steps).
type Warning struct {
	Signal  int  `json:"signal"`
	BeforeS int  `json:"before_s"`
	Shell   bool `json:"shell,omitempty"`
}

// Defaults fills what the user left out.
func (s *JobSpec) Defaults() {
	if !s.Begin.IsZero() {
		s.Begin = s.Begin.UTC().Truncate(time.Second) // Slurm counts in seconds
	}
	if !s.Deadline.IsZero() {
		s.Deadline = s.Deadline.UTC().Truncate(time.Second)
	}
	if s.Project == "" {
		s.Project = "default"
	}
	if s.Kind == "" {
		s.Kind = KindRun
	}
	if s.Resources.CPUs == 0 && !s.SharedCPUs {
		s.Resources.CPUs = 1
	}
	if s.Tasks == 0 {
		s.Tasks = 1
	}
	if s.Map != nil {
		s.Kind = KindMap
	}
	if s.Pipe != nil {
		s.Kind = KindPipe
		s.Tasks = s.Pipe.Tasks()
		// A stage that names no --cpus reserves none: it shares the CPUs
		// of the machine it lands on, as the commands of a shell pipeline
		// do. A pipe reserves at least one CPU: its first stage's, if no
		// stage names any.
		reserved := false
		for _, st := range s.Pipe.Stages {
			reserved = reserved || st.Resources.CPUs > 0
		}
		if !reserved && len(s.Pipe.Stages) > 0 {
			s.Pipe.Stages[0].Resources.CPUs = 1
		}
		// The job's resources are what its stages reserve together (what
		// burst jobs and show print, and what the forecast guard prices).
		// The sums saturate: the stages are checked after, and a sum
		// that wrapped (8 stages of 1024 copies of 1 PiB is 2^63) would
		// read as a small or negative ask.
		var all Resources
		var cpus, gpus int64
		for _, st := range s.Pipe.Stages {
			n := int64(st.Copies())
			cpus = satAdd(cpus, satMul(n, int64(st.Resources.CPUs)))
			all.MemBytes = satAdd(all.MemBytes, satMul(n, st.Resources.MemBytes))
			gpus = satAdd(gpus, satMul(n, int64(st.Resources.GPUs)))
			all.TimeLimit = max(all.TimeLimit, st.Resources.TimeLimit)
		}
		all.CPUs, all.GPUs = int(cpus), int(gpus)
		s.Resources = all
		if s.Name == "" && len(s.Pipe.Stages) > 0 {
			s.Name = "pipe-" + s.Pipe.Stages[0].Name
		}
	}
	if s.Name == "" {
		switch {
		case s.ScriptRef != "":
			s.Name = baseName(s.ScriptRef)
		case len(s.Argv) > 0:
			s.Name = baseName(s.Argv[0])
		case s.Map != nil && len(s.Map.Template) > 0:
			s.Name = baseName(s.Map.Template[0])
		case s.Map != nil && s.Map.Commands:
			s.Name = "commands"
		}
	}
}

// Validate checks a spec after Defaults. Errors are written for people and
// name the fix; a field over its limit (limits.go) is named with the limit.
func (s *JobSpec) Validate() error {
	if err := s.validate(); err != nil {
		return err
	}
	return s.checkEncoded()
}

// CheckBegin checks that Begin, if set, is at most MaxBeginAhead after
// now (the server checks it at submit, with its clock).
func (s *JobSpec) CheckBegin(now time.Time) error {
	if !s.Begin.IsZero() && s.Begin.Sub(now) > MaxBeginAhead {
		return fmt.Errorf("--begin %s is more than a year (366 days) from now: give a time before %s",
			s.Begin.UTC().Format(time.RFC3339), now.Add(MaxBeginAhead).UTC().Format(time.RFC3339))
	}
	return nil
}

// checkEncoded bounds the spec as the store keeps it (JSON, a map's inputs
// apart): each field is bounded, but JSON writes a control byte as six, so
// a spec of fields within their limits could still be stored at 35 MiB a
// job and read back by every look at the job.
func (s *JobSpec) checkEncoded() error {
	stored := *s
	if s.Map != nil {
		m := *s.Map
		m.Sources = nil
		stored.Map = &m
	}
	b, err := json.Marshal(&stored)
	if err != nil {
		return fmt.Errorf("the job cannot be encoded: %w", err)
	}
	if len(b) > MaxSpecBytes {
		return fmt.Errorf("the job is %d bytes as stored; the limit is %d (8 MiB): keep the script, arguments and environment smaller, or in files the job reads", len(b), MaxSpecBytes)
	}
	return nil
}

func (s *JobSpec) validate() error {
	// Sizes first: a message may quote a field only once it is known to
	// be short.
	if err := s.validateFields(); err != nil {
		return err
	}
	if err := s.validateKind(); err != nil {
		return err
	}
	if err := s.validateCache(); err != nil {
		return err
	}
	if s.Map != nil {
		if len(s.Map.Template) == 0 && s.Script == "" && !s.Map.Commands {
			return errors.New("no command given: put it after --, e.g. `burst map -- ./simulate {} ::: 1 2 3`")
		}
		if err := s.Map.validate(s.Script == ""); err != nil {
			return err
		}
		if err := s.validateShared(); err != nil {
			return err
		}
		return s.validateCommon()
	}
	if s.Pipe != nil {
		if s.Map != nil || s.Script != "" || len(s.Argv) > 0 || s.Native {
			return errors.New("a pipe is given by its stages alone (no argv, script, map or --native)")
		}
		if s.SharedCPUs {
			return errors.New("a pipe's stages say their own CPUs: a stage without --cpus reserves none (leave shared_cpus out)")
		}
		if err := s.Pipe.validate(); err != nil {
			return err
		}
		if r := s.Resources; r.CPUs > MaxParallel*MaxCPUs || r.MemBytes > MaxParallel*MaxMemBytes || r.GPUs > MaxParallel*MaxGPUs {
			return fmt.Errorf("the pipe's stages ask for %d CPUs, %d GPUs and %d bytes of memory in all; the limits are %d CPUs, %d GPUs and %d bytes (1024 tasks at their limits): ask for less per stage",
				r.CPUs, r.GPUs, r.MemBytes, MaxParallel*MaxCPUs, MaxParallel*MaxGPUs, int64(MaxParallel*MaxMemBytes))
		}
		if s.Tasks != s.Pipe.Tasks() {
			return fmt.Errorf("a pipe of %d processes cannot have %d tasks", s.Pipe.Tasks(), s.Tasks)
		}
		return s.validateCommon()
	}
	if len(s.Argv) == 0 && s.Script == "" {
		return errors.New("no command given: put it after --, e.g. `burst run -- python3 fit.py`")
	}
	if s.SharedCPUs {
		return errors.New("--cpus 0 (tasks that reserve no CPU) is for burst map, whose -j bounds how many run at once: give a run 1 CPU or more")
	}
	if err := checkResources("", s.Resources, 1); err != nil {
		return err
	}
	return s.validateCommon()
}

// validateFields checks the size and the characters of every field a job
// of any kind may carry.
func (s *JobSpec) validateFields() error {
	if s.Name != "" {
		if err := checkName("job name", s.Name); err != nil {
			return err
		}
	}
	if err := checkArgv("the command", s.Argv, s.Script == ""); err != nil {
		return err
	}
	if err := checkEnv(s.Env); err != nil {
		return err
	}
	if len(s.Script) > MaxScriptBytes {
		return fmt.Errorf("the batch script is %d bytes; the limit is %d: keep data in files the script reads", len(s.Script), MaxScriptBytes)
	}
	if strings.IndexByte(s.Script, 0) >= 0 {
		return errors.New("the batch script holds a NUL byte: it is not a text file; give a shell script")
	}
	for _, p := range []struct{ what, v string }{
		{"the script's path", s.ScriptRef}, {"the working directory", s.Workdir},
		{"--output", s.Stdout}, {"--error", s.Stderr},
	} {
		if err := checkPath(p.what, p.v); err != nil {
			return err
		}
	}
	if s.Workdir != "" && !strings.HasPrefix(s.Workdir, "/") {
		return fmt.Errorf("the working directory %s is not an absolute path: give one that starts with /", quoteShort(s.Workdir))
	}
	if err := s.validateStaging(); err != nil {
		return err
	}
	if err := s.validateAfter(); err != nil {
		return err
	}
	if err := s.validateStack(); err != nil {
		return err
	}
	if s.Cluster != "" {
		if err := checkText("cluster name", s.Cluster, MaxNameBytes, "see `burst cluster list`"); err != nil {
			return err
		}
	}
	if err := checkText("--partition", s.Partition, MaxNameBytes, "give a shorter one"); err != nil {
		return err
	}
	if err := checkCount("--retries", s.Retries, MaxRetries); err != nil {
		return err
	}
	if err := checkCount("the number of tasks", s.Tasks, MaxTasks); err != nil {
		return err
	}
	if err := checkCount("max running", s.MaxRunning, MaxTasks); err != nil {
		return err
	}
	switch {
	case s.TimeMin < 0 || s.TimeMin > MaxTimeLimitS:
		return fmt.Errorf("--time-min %d s: give 0 (none) to %d s", s.TimeMin, int64(MaxTimeLimitS))
	case s.Resources.TimeLimit > 0 && s.TimeMin > s.Resources.TimeLimit:
		return fmt.Errorf("--time-min %s exceeds the job's time limit %s: give one no longer", FormatTimeLimit(time.Duration(s.TimeMin)*time.Second), FormatTimeLimit(time.Duration(s.Resources.TimeLimit)*time.Second))
	}
	if s.Nice < -20 || s.Nice > 19 {
		return fmt.Errorf("--nice %d: give a niceness from -20 to 19, as nice(1) takes", s.Nice)
	}
	if b := s.Batch; b != nil {
		for _, f := range []struct{ what, v string }{
			{"--partition", b.Partition}, {"the submit host", b.SubmitHost}, {"the user", b.User},
		} {
			if err := checkText(f.what, f.v, MaxNameBytes, "give a shorter one"); err != nil {
				return err
			}
		}
		if err := checkPath("the submit directory", b.SubmitDir); err != nil {
			return err
		}
		if err := checkCount("--ntasks", b.NTasks, MaxTasks); err != nil {
			return err
		}
		if err := checkCount("--cpus-per-task", b.CPUsPerTask, MaxCPUs); err != nil {
			return err
		}
		if b.MemPerCPU < 0 || b.MemPerCPU > MaxMemBytes {
			return fmt.Errorf("--mem-per-cpu is %d bytes: give 0 to %d (1 PiB)", b.MemPerCPU, int64(MaxMemBytes))
		}
	}
	return nil
}

// validateKind checks that the kind is one burst knows and says what the
// spec holds: a map's kind is map, a pipe's pipe, anything else's run
// (Defaults sets it so; a spec sent over the API may say otherwise).
func (s *JobSpec) validateKind() error {
	want := KindRun
	switch {
	case s.Pipe != nil:
		want = KindPipe
	case s.Map != nil:
		want = KindMap
	}
	switch s.Kind {
	case "", want:
		return nil
	case KindRun, KindMap, KindPipe:
		return fmt.Errorf("kind %q does not match the spec, which is a %s: leave kind out, it follows from the spec", s.Kind, want)
	}
	return fmt.Errorf("kind %.64q: give run, map or pipe, or leave it out", s.Kind)
}

// validateShared checks a map's CPUs: 1 or more, or none with SharedCPUs.
func (s *JobSpec) validateShared() error {
	if !s.SharedCPUs {
		return checkResources("", s.Resources, 1)
	}
	switch {
	case s.Resources.CPUs != 0:
		return fmt.Errorf("--cpus %d with tasks that reserve no CPU (shared_cpus): give --cpus 0, or leave shared_cpus out", s.Resources.CPUs)
	case s.Batch != nil || s.Native:
		return errors.New("--cpus 0 is for burst map's own tasks: a batch script's tasks reserve their CPUs, as Slurm's do; give --cpus 1 or more")
	}
	return checkResources("", s.Resources, 0)
}

func (s *JobSpec) validateCommon() error {
	if !ValidName(s.Project) {
		return fmt.Errorf("project %s: use letters, digits, '-', '_' or '.' (at most 64; not . or ..)", quoteShort(s.Project))
	}
	if s.Tasks < 1 {
		return fmt.Errorf("a job needs at least one task")
	}
	if s.Map != nil && s.Map.TimeoutPct > 0 && s.Resources.TimeLimit > 0 {
		return errors.New("--timeout N% sets each task's time limit from the median run time: give no time limit of your own with it (--time)")
	}
	return nil
}

// validateCache checks Cache: results are reused for run and map jobs
// that burst's agents run.
func (s *JobSpec) validateCache() error {
	switch {
	case s.Cache != "" && s.Cache != CacheOn && s.Cache != CacheOff:
		return fmt.Errorf("cache %s: give on or off", quoteShort(s.Cache))
	case s.Cache == CacheOn && s.Pipe != nil:
		return errors.New("--cache applies to run and map: a pipe's stages stream into each other and are always run")
	case s.Cache == CacheOn && s.Native:
		return errors.New("--cache needs burst's agents: drop --native")
	}
	return nil
}

// validate checks a map's template, inputs and failure limit. command says
// the template must name a program (no script runs it).
func (m *MapSpec) validate(command bool) error {
	if err := checkArgv("the command", m.Template, command); err != nil {
		return err
	}
	if len(m.Sources) > MaxInputGroups {
		return fmt.Errorf("the map has %d input groups (::: or ::::); the limit is %d", len(m.Sources), MaxInputGroups)
	}
	n := 0
	for g, src := range m.Sources {
		n += len(src)
		if n > MaxTasks {
			return fmt.Errorf("the map has more than %d inputs; the limit is %d: split them over several `burst map` runs", MaxTasks, MaxTasks)
		}
		for i, v := range src {
			if !m.Columns {
				if err := checkInput(v, i, g); err != nil {
					return err
				}
				continue
			}
			// Columns joined by NUL: each is an argument of its own.
			if n := strings.Count(v, "\x00") + 1; n > MaxColumns {
				return fmt.Errorf("input %d of group %d has %d columns; the limit is %d", i+1, g+1, n, MaxColumns)
			}
			for col := range strings.SplitSeq(v, "\x00") {
				if err := checkInput(col, i, g); err != nil {
					return err
				}
			}
		}
	}
	if m.Array {
		if err := checkArrayIndices(m.Sources); err != nil {
			return err
		}
	}
	if m.Numbered {
		if err := checkNumbered(m); err != nil {
			return err
		}
	}
	if m.MaxFailures < 0 || m.MaxFailures > MaxTasks || !(m.MaxFailuresPct >= 0 && m.MaxFailuresPct <= 100) {
		return errors.New("--max-failures: give a count (5) or a percentage (5%) between 0 and 100")
	}
	switch {
	case m.HaltOn != "" && m.HaltOn != HaltOnSuccess && m.HaltOn != HaltOnDone:
		return fmt.Errorf("halt_on %.20q: give %q or %q (GNU parallel's --halt success=N, done=N)", m.HaltOn, HaltOnSuccess, HaltOnDone)
	case m.HaltOn != "" && (m.HaltAfter > 0) == (m.HaltAfterPct > 0),
		m.HaltAfter < 0 || m.HaltAfter > MaxTasks || !(m.HaltAfterPct >= 0 && m.HaltAfterPct <= 100),
		m.HaltOn == "" && (m.HaltAfter != 0 || m.HaltAfterPct != 0),
		m.HaltBase < 0 || m.HaltBase > MaxTasks:
		return errors.New("--halt success=N or done=N: give N a count of 1 or more (3) or a share above 0% and at most 100% (3%), one of them")
	}
	if len(m.Halt) > MaxHaltLen {
		return fmt.Errorf("halt: %d bytes; give GNU parallel's --halt (soon,fail=1) in at most %d", len(m.Halt), MaxHaltLen)
	}
	if !(m.TimeoutPct >= 0 && m.TimeoutPct <= MaxTimeoutPct) {
		return fmt.Errorf("--timeout N%%: give N from 0 (none) to %g, a share of the median run time of the tasks that succeeded (200%% kills a task that runs twice as long)", float64(MaxTimeoutPct))
	}
	if m.DelayMS < 0 || m.Delay() > MaxDelay {
		return fmt.Errorf("--delay: give a time between 0 and %s between two task starts, such as --delay 0.5 or --delay 2s", MaxDelay)
	}
	return nil
}

// checkNumbered checks a Numbered map: one source of columns, each input's
// last a task number of 1 or more.
func checkNumbered(m *MapSpec) error {
	if !m.Columns || len(m.Sources) != 1 || m.Array {
		return errors.New("a numbered map has one source of columns, and is no array")
	}
	for i, v := range m.Sources[0] {
		k := strings.LastIndexByte(v, 0)
		if n, err := strconv.ParseInt(v[k+1:], 10, 64); k < 0 || err != nil || n < 1 {
			return fmt.Errorf("input %d of a numbered map does not end in its task number", i+1)
		}
	}
	return nil
}

// checkInput checks input i of group g, one argument.
func checkInput(v string, i, g int) error {
	if len(v) > MaxArgBytes {
		return fmt.Errorf("input %d of group %d is %d bytes; the limit is %d (exec refuses longer arguments): pass a file name instead", i+1, g+1, len(v), MaxArgBytes)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return fmt.Errorf("input %d of group %d holds a NUL byte, which no program can receive: remove it from the inputs", i+1, g+1)
	}
	return nil
}

// checkArrayIndices checks a job array's inputs, its indices: one group
// of numbers from 0 to MaxArrayIndex, ascending, none twice, as
// #SBATCH --array gives them (the server reads them as numbers: before,
// "abc" became index 0).
func checkArrayIndices(sources [][]string) error {
	if len(sources) != 1 {
		return fmt.Errorf("a job array has one group of inputs, its indices; this one has %d", len(sources))
	}
	prev := -1
	for i, v := range sources[0] {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxArrayIndex || strconv.Itoa(n) != v {
			return fmt.Errorf("array index %d, %s, is not a number from 0 to %d: give them as #SBATCH --array does (0-99, 1,3,5)", i+1, quoteShort(v), MaxArrayIndex)
		}
		if n <= prev {
			return fmt.Errorf("array index %d, %d, does not come after %d: give the indices ascending, each once", i+1, n, prev)
		}
		prev = n
	}
	return nil
}

// ValidName reports whether n may name a project, cluster, machine or pipe
// stage: letters, digits, '-', '_' or '.', at most 64, and neither "." nor
// "..", which a URL path cannot carry (it would be cleaned away).
func ValidName(n string) bool {
	if n == "" || len(n) > 64 || n == "." || n == ".." {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// satAdd and satMul are a+b and a*b for counts that are not negative,
// held at math.MaxInt64 rather than wrapping.
func satAdd(a, b int64) int64 {
	if a > 0 && b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a > 0 && b > 0 && a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// baseName is the name a job gets from a path: its last element, at most
// 64 bytes, with what checkName refuses replaced by '_' ("" for . and ..).
// BaseName is the name a job takes from a program's path when given none:
// its last element, printable, at most 64 bytes; "" for "." and "..".
func BaseName(p string) string { return baseName(p) }

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	if p == "." || p == ".." {
		return ""
	}
	var b strings.Builder
	for _, r := range p {
		if r == utf8.RuneError || unicode.IsControl(r) || isBidi(r) {
			r = '_'
		}
		if b.Len()+utf8.RuneLen(r) > 64 {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ParseMem parses a memory size as Slurm and people write it: a number with
// an optional unit K, M, G, T (powers of 1024, optional trailing B or iB,
// any case). A bare number means megabytes, as in Slurm.
func ParseMem(s string) (int64, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("memory size is empty: write e.g. 512M or 8G")
	}
	t := strings.ToUpper(in)
	t = strings.TrimSuffix(t, "IB")
	t = strings.TrimSuffix(t, "B")
	mult := float64(1 << 20)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult, t = 1<<10, t[:n-1]
		case 'M':
			mult, t = 1<<20, t[:n-1]
		case 'G':
			mult, t = 1<<30, t[:n-1]
		case 'T':
			mult, t = 1<<40, t[:n-1]
		}
	}
	if t == "" && strings.HasSuffix(strings.ToUpper(in), "B") && !strings.ContainsAny(strings.ToUpper(in), "KMGT") {
		return 0, fmt.Errorf("memory size %q: write e.g. 512M or 8G", s)
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("memory size %q: write a number with a unit K, M, G or T, e.g. 512M or 8G", s)
	}
	b := v * mult
	if b > float64(math.MaxInt64/2) {
		return 0, fmt.Errorf("memory size %q is too large", s)
	}
	return int64(b), nil
}

// ParseTimeLimit parses a time limit in any of Slurm's formats ("minutes",
// "minutes:seconds", "hours:minutes:seconds", "days-hours",
// "days-hours:minutes", "days-hours:minutes:seconds") or as a Go duration
// ("90s", "10m", "1h30m"). "0", "-1", "infinite" and "unlimited" mean no
// limit, as Slurm's time_str2mins reads them.
func ParseTimeLimit(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("time limit %q: write e.g. 10m, 2h, 90 (minutes), 1:30:00 or 2-00:00:00", s)
	}
	switch strings.ToLower(in) {
	case "":
		return bad()
	case "infinite", "unlimited", "-1":
		return 0, nil
	}
	if d, err := time.ParseDuration(in); err == nil {
		if d < 0 {
			return bad()
		}
		return d, nil
	}
	days := int64(0)
	rest := in
	hasDays := false
	if i := strings.IndexByte(in, '-'); i >= 0 {
		v, err := strconv.ParseInt(in[:i], 10, 64)
		if err != nil || v < 0 {
			return bad()
		}
		days, rest, hasDays = v, in[i+1:], true
	}
	parts := strings.Split(rest, ":")
	if len(parts) > 3 {
		return bad()
	}
	nums := make([]int64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || v < 0 || p == "" || p[0] == '+' {
			return bad()
		}
		nums[i] = v
	}
	var h, m, sec int64
	if hasDays {
		// days-hours[:minutes[:seconds]]
		h = nums[0]
		if len(nums) > 1 {
			m = nums[1]
		}
		if len(nums) > 2 {
			sec = nums[2]
		}
	} else {
		switch len(nums) {
		case 1:
			m = nums[0]
		case 2:
			m, sec = nums[0], nums[1]
		case 3:
			h, m, sec = nums[0], nums[1], nums[2]
		}
	}
	total := ((days*24+h)*60+m)*60 + sec
	if total < 0 || total > 100*365*24*3600 {
		return bad()
	}
	// Fields past their unit carry over, as Slurm's time_str2secs adds
	// them up without a range check: "0:90:00" is 90 minutes, "25:99" is
	// 26:39, and real batch scripts are written that way.
	return time.Duration(total) * time.Second, nil
}

// FormatTimeLimit writes d in Slurm's time format, as squeue's TIME and
// TIME_LIMIT columns do: M:SS, H:MM:SS or D-HH:MM:SS, whichever is
// shortest. ParseTimeLimit reads it back.
func FormatTimeLimit(d time.Duration) string {
	secs := int64(d / time.Second)
	days, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	switch {
	case days > 0:
		return fmt.Sprintf("%d-%02d:%02d:%02d", days, h, m, s)
	case h > 0:
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
