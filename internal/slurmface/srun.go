package slurmface

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/sbatch"
	"github.com/burst-sh/burst/internal/sysuser"
)

// Srun is srun's command line, read by ParseSrun.
type Srun struct {
	NTasks      int   // -n; 0: not given
	CPUsPerTask int   // -c; 0: not given
	MemBytes    int64 // --mem (per node: the step's)
	MemPerCPU   int64 // --mem-per-cpu
	Name        string
	Label       bool // -l: each line prefixed with its task's number
	// Distribution is -m as the step is told it (sbatch.Distribution),
	// "" when not given; PlaneSize its plane=N.
	Distribution  string
	PlaneSize     int
	Unbuffered    bool   // -u
	KillOnBadExit bool   // -K: a task exiting non-zero ends the others
	Export        string // --export, "" when not given (ALL)
	Chdir         string // -D
	Account       string // -A: the burst project (outside a job)
	Partition     string // -p: the burst cluster (outside a job)
	TimeLimit     time.Duration
	GPUs          int
	NodeList      string // -w: the nodes the step must run on (a hostlist)
	// JobID is --jobid: the job the step is to run in, 0 when not given.
	// burst runs a step only in the job srun is started in (SameJob).
	JobID int64
	// Output, Error and Input are -o, -e and -i as given: all (srun's own,
	// the default: ""), none, a task's rank, or a file name pattern
	// (StepIO).
	Output, Error, Input string
	Append               bool // --open-mode=append: -o and -e files are added to, not overwritten
	Pty                  bool // --pty: task 0 on a terminal (PtyRefusal; without one srun disregards it)
	// Exact is --exclusive or --exact: the step holds its own tasks' CPUs,
	// and waits for them while other steps hold them (HeldCPUs).
	Exact   bool
	Overlap bool     // --overlap: the step shares the job's CPUs with any other
	Argv    []string // the command and its arguments
}

// IOKind is where one task of a step sends (or reads) a stream.
type IOKind int

const (
	IOSrun IOKind = iota // srun's own stream (stdin: srun's, for task 0 here)
	IONull               // none: /dev/null
	IOFile               // a file: StepIO's path
)

// StepIO reads one of srun's -o/-e/-i values for task rank of a step, as
// srun(1)'s IO Redirection has them: "" or all, srun's own; none,
// /dev/null; a number, srun's own for the task of that rank and none for
// the others; anything else a file name pattern, expanded for the task
// (%t its rank, %s the step, %J JOBID.STEP, %j %A %a %x %u %N %n %%, a
// width zero-padding numbers, as sbatch's), one file per distinct name.
func StepIO(v string, info sbatch.TaskInfo) (IOKind, string) {
	switch {
	case v == "" || strings.EqualFold(v, "all"):
		return IOSrun, ""
	case strings.EqualFold(v, "none"):
		return IONull, ""
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && strconv.Itoa(n) == v {
		if n == info.Rank {
			return IOSrun, ""
		}
		return IONull, ""
	}
	return IOFile, sbatch.Expand(v, info)
}

// srunOpts are srun's options burst knows: honoured, accepted (they change
// nothing on one machine: binding, distribution, verbosity) or refused
// with the reason (srunRefused).
var srunOpts = []Opt{
	{Long: "ntasks", Short: 'n', Arg: RequiredArg},
	{Long: "ntasks-per-node", Arg: RequiredArg},
	{Long: "cpus-per-task", Short: 'c', Arg: RequiredArg},
	{Long: "mem", Arg: RequiredArg},
	{Long: "mem-per-cpu", Arg: RequiredArg},
	{Long: "job-name", Short: 'J', Arg: RequiredArg},
	{Long: "label", Short: 'l'},
	{Long: "unbuffered", Short: 'u'},
	{Long: "kill-on-bad-exit", Short: 'K', Arg: OptionalArg},
	{Long: "export", Arg: RequiredArg},
	{Long: "chdir", Short: 'D', Arg: RequiredArg},
	{Long: "account", Short: 'A', Arg: RequiredArg},
	{Long: "partition", Short: 'p', Arg: RequiredArg},
	{Long: "time", Short: 't', Arg: RequiredArg},
	{Long: "gpus", Short: 'G', Arg: RequiredArg},
	{Long: "gres", Arg: RequiredArg},
	{Long: "nodes", Short: 'N', Arg: RequiredArg},
	{Long: "mpi", Arg: RequiredArg},
	{Long: "nodelist", Short: 'w', Arg: RequiredArg},
	{Long: "help", Short: 'h'},
	{Long: "usage"},
	{Long: "version", Short: 'V'},
	// accepted and ignored
	{Long: "cpu-bind", Arg: RequiredArg},
	{Long: "cpu_bind", Arg: RequiredArg},
	{Long: "mem-bind", Arg: RequiredArg},
	{Long: "distribution", Short: 'm', Arg: RequiredArg},
	{Long: "hint", Arg: RequiredArg},
	{Long: "exclusive", Arg: OptionalArg},
	{Long: "overlap"},
	{Long: "exact"},
	{Long: "quiet", Short: 'Q'},
	{Long: "verbose", Short: 'v'},
	{Long: "wait", Short: 'W', Arg: RequiredArg},
	{Long: "comment", Arg: RequiredArg},
	{Long: "constraint", Short: 'C', Arg: RequiredArg},
	{Long: "qos", Short: 'q', Arg: RequiredArg},
	{Long: "threads-per-core", Arg: RequiredArg},
	{Long: "ntasks-per-core", Arg: RequiredArg},
	{Long: "propagate", Arg: OptionalArg},
	{Long: "signal", Arg: RequiredArg},
	{Long: "output", Short: 'o', Arg: RequiredArg},
	{Long: "error", Short: 'e', Arg: RequiredArg},
	{Long: "input", Short: 'i', Arg: RequiredArg},
	{Long: "open-mode", Arg: RequiredArg},
	{Long: "pty"},
	{Long: "jobid", Arg: RequiredArg}, // the job srun runs in only (SameJob)
	// Accepted and ignored as well: what 22.05's srun takes that changes
	// nothing for a step on one machine (frequency, binding, status and
	// kill handling, node layout, scheduling hints); checked side by side,
	// a public script's `srun --cpu-freq=high ./a.out` or `srun -X ...`
	// was refused as an unrecognized option.
	{Long: "cpu-freq", Arg: RequiredArg},
	{Long: "disable-status", Short: 'X'},
	{Long: "no-kill", Short: 'k', Arg: OptionalArg},
	{Long: "gpu-bind", Arg: RequiredArg},
	{Long: "accel-bind", Arg: RequiredArg},
	{Long: "gres-flags", Arg: RequiredArg},
	{Long: "mincpus", Arg: RequiredArg},
	{Long: "tmp", Arg: RequiredArg},
	{Long: "contiguous"},
	{Long: "cores-per-socket", Arg: RequiredArg},
	{Long: "sockets-per-node", Arg: RequiredArg},
	{Long: "ntasks-per-socket", Arg: RequiredArg},
	{Long: "thread-spec", Arg: RequiredArg},
	{Long: "core-spec", Short: 'S', Arg: RequiredArg},
	{Long: "spread-job"},
	{Long: "use-min-nodes"},
	{Long: "switches", Arg: RequiredArg},
	{Long: "network", Arg: RequiredArg},
	{Long: "nice", Arg: OptionalArg},
	{Long: "reservation", Arg: RequiredArg},
	{Long: "wckey", Arg: RequiredArg},
	{Long: "licenses", Short: 'L', Arg: RequiredArg},
	{Long: "immediate", Short: 'I', Arg: OptionalArg},
	{Long: "time-min", Arg: RequiredArg},
	{Long: "deadline", Arg: RequiredArg},
	{Long: "delay-boot", Arg: RequiredArg},
	{Long: "profile", Arg: RequiredArg},
	{Long: "slurmd-debug", Arg: RequiredArg},
	{Long: "tasks-per-node", Arg: RequiredArg}, // --ntasks-per-node's other name
	// refused
	{Long: "prolog", Arg: RequiredArg},
	{Long: "epilog", Arg: RequiredArg},
	{Long: "task-prolog", Arg: RequiredArg},
	{Long: "task-epilog", Arg: RequiredArg},
	{Long: "multi-prog"},
	{Long: "het-group", Arg: RequiredArg},
	{Long: "dependency", Short: 'd', Arg: RequiredArg},
}

// srunRefused says why burst refuses an option srun has.
var srunRefused = map[string]string{
	"multi-prog":  "burst runs one program per step: start each with its own srun",
	"het-group":   "burst has no heterogeneous jobs",
	"dependency":  "burst jobs have no dependencies: run srun once the job it needs has ended",
	"prolog":      "burst runs no step prolog: run it before srun in the script (PROG && srun ...)",
	"epilog":      "burst runs no step epilog: run it after srun in the script (srun ...; PROG)",
	"task-prolog": "burst runs no task prolog: have each task run it first (srun sh -c 'PROG; exec CMD')",
	"task-epilog": "burst runs no task epilog: have each task run it last (srun sh -c 'CMD; PROG')",
}

// ErrSrunHelp is ParseSrun's answer to -h/--help/--usage.
var ErrSrunHelp = fmt.Errorf("srun: help asked")

// ParseSrun reads srun's command line: options, then the command and its
// arguments. Options that cannot hold on burst (more than one node, an MPI
// plugin, files for a step's output) are errors naming the fix.
func ParseSrun(args []string) (*Srun, error) {
	got, rest, err := Getopt("srun", srunOpts, args, true)
	if err != nil {
		return nil, err
	}
	s := &Srun{}
	asWritten := map[string]*string{"job-name": &s.Name, "export": &s.Export, "chdir": &s.Chdir, "account": &s.Account,
		"partition": &s.Partition, "output": &s.Output, "error": &s.Error, "input": &s.Input}
	ntasksPerNode := 0
	for _, g := range got {
		v := g.Value
		if p := asWritten[g.Opt.Long]; p != nil { // options taken as they are written
			*p = v
			continue
		}
		var err error
		switch g.Opt.Long {
		case "ntasks":
			s.NTasks, err = positive(v)
		case "ntasks-per-node", "tasks-per-node":
			ntasksPerNode, err = positive(v)
		case "cpus-per-task":
			s.CPUsPerTask, err = positive(v)
		case "mem":
			s.MemBytes, err = burst.ParseMem(v)
			s.MemPerCPU = 0
		case "mem-per-cpu":
			s.MemPerCPU, err = burst.ParseMem(v)
			s.MemBytes = 0
		case "distribution":
			var derr error
			if s.Distribution, s.PlaneSize, derr = sbatch.Distribution(v); derr != nil {
				lines := ""
				if errors.Is(derr, sbatch.ErrPlaneSize) {
					lines = "srun: error: " + sbatch.ErrPlaneSize.Error() + "\n"
				}
				return nil, fmt.Errorf("%ssrun: error: %w (-m %s: %s)", lines, sbatch.ErrDistribution, v, sbatch.DistributionFix)
			}
		case "label":
			s.Label = true
		case "exclusive", "exact":
			s.Exact = true
		case "overlap":
			s.Overlap = true
		case "pty":
			s.Pty = true
		case "unbuffered":
			s.Unbuffered = true
		case "kill-on-bad-exit":
			s.KillOnBadExit = v == "" || v != "0"
		case "time":
			var terr error
			if s.TimeLimit, terr = burst.ParseTimeLimit(v); terr != nil {
				return nil, fmt.Errorf("srun: error: %w (--time=%s: %v)", sbatch.ErrTimeSpec, v, terr)
			}
		case "gpus", "gres":
			s.GPUs, _, err = sbatch.GPURequest(g.Opt.Long, v)
		case "nodes":
			if v != "1" && v != "1-1" {
				return nil, fmt.Errorf("srun: --nodes=%s: a burst job runs on one machine: ask for -N 1 (or leave it out) and more tasks with -n", v)
			}
		case "mpi":
			if !strings.EqualFold(v, "none") {
				return nil, fmt.Errorf("srun: --mpi=%s: burst starts no MPI plugin: use --mpi=none and start MPI programs with the MPI's own launcher (mpirun -np N)", v)
			}
		case "open-mode":
			if !strings.EqualFold(v, "append") && !strings.EqualFold(v, "truncate") {
				return nil, fmt.Errorf("srun: --open-mode=%s: give append or truncate", v)
			}
			s.Append = strings.EqualFold(v, "append")
		case "nodelist":
			if _, err := ExpandHostlist(v); err != nil {
				return nil, fmt.Errorf("srun: --nodelist=%s: %v", v, err)
			}
			s.NodeList = v
		case "jobid":
			id, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil || id < 1 {
				return nil, fmt.Errorf("srun: error: Invalid numeric value %q for --jobid.", v)
			}
			s.JobID = id
		case "help", "usage":
			return nil, ErrSrunHelp
		default:
			if why, ok := srunRefused[g.Opt.Long]; ok {
				return nil, fmt.Errorf("srun: --%s is not supported by burst: %s", g.Opt.Long, why)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("srun: --%s=%s: %v", g.Opt.Long, v, err)
		}
	}
	if s.NTasks == 0 {
		s.NTasks = ntasksPerNode
	}
	if slices.ContainsFunc(got, func(g Opted) bool { return g.Opt.Long == "version" }) {
		s.Argv = nil
		return s, nil
	}
	if len(rest) == 0 {
		return nil, fmt.Errorf("srun: no command given: write e.g. srun -n 2 hostname")
	}
	s.Argv = rest
	return s, nil
}

// PtyRefusal is what srun --pty run from a terminal is told: burst gives
// a step no terminal of its own.
const PtyRefusal = "srun: --pty is not supported by burst: burst runs no terminal for a step: run the command without --pty"

// PtyDisregarded are the lines srun --pty writes when its standard input
// is no terminal, before it runs the step without one (Slurm 22.05).
const PtyDisregarded = "srun: error: ioctl(TIOCGWINSZ): Inappropriate ioctl for device\n" +
	"srun: error: Not using a pseudo-terminal, disregarding --pty option\n"

// SameJob checks --jobid inside a job whose id is own (SLURM_JOB_ID): a
// script's `srun --jobid $SLURM_JOB_ID CMD` (SkyPilot's example) runs its
// step there, as Slurm's does; another job's id is refused, as burst runs
// a step only in the job srun is started in.
func (s *Srun) SameJob(own string) error {
	if s.JobID == 0 || strconv.FormatInt(s.JobID, 10) == own {
		return nil
	}
	return fmt.Errorf("srun: error: Unable to create step for job %d: burst runs a step only in the job srun is started in (job %s): drop --jobid, or run srun in job %d's own script", s.JobID, own, s.JobID)
}

// WantsVersion reports a `srun --version` (no command to run).
func (s *Srun) WantsVersion() bool { return s.Argv == nil }

func positive(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, fmt.Errorf("give a number from 1, e.g. 4")
	}
	return n, nil
}

// Tasks is the step's number of tasks: -n, else the job's (SLURM_NTASKS,
// as srun inherits it inside an allocation), else as many as the job's
// jobCPUs hold when -c is given (Slurm 22.05: `srun -c 1` in a job of
// `sbatch -c 2` starts 2 tasks, `srun -c 2` one; SLURM_CPUS_PER_TASK
// inherited from the job does not count), else the job's tasks per node
// (perNode), else 1.
func (s *Srun) Tasks(jobNTasks, jobCPUs, perNode int) int {
	switch {
	case s.NTasks > 0:
		return s.NTasks
	case jobNTasks > 0:
		return jobNTasks
	case s.CPUsPerTask > 0 && jobCPUs > 0:
		return max(1, jobCPUs/s.CPUsPerTask)
	}
	return max(1, perNode)
}

// StepCPUs is the CPUs a step of n tasks asks for.
func (s *Srun) StepCPUs(n int) int { return n * max(1, s.CPUsPerTask) }

// HeldCPUs is how many of the job's CPUs a step of n tasks holds while it
// runs, so that other steps wait for them: as Slurm 22.05 gives a step
// started with --exclusive, --exact or -c its tasks' CPUs (the pattern
// `srun -n1 --exclusive TASK &` in a loop, then `wait`, runs as many at once
// as the job has CPUs); 0 for a step that holds none (--overlap, or one
// that names no CPUs: Slurm gives it all the job's CPUs and runs such
// steps one at a time, burst lets them overlap).
func (s *Srun) HeldCPUs(n int) int {
	if s.Overlap || !s.Exact && s.CPUsPerTask == 0 {
		return 0
	}
	return s.StepCPUs(n)
}

// StepMem is the memory a step of n tasks asks for, 0 if it names none.
func (s *Srun) StepMem(n int) int64 {
	if s.MemPerCPU > 0 {
		return s.MemPerCPU * int64(s.StepCPUs(n))
	}
	return s.MemBytes
}

// TaskEnv is what srun adds to a task's environment: its rank among the
// step's n tasks, and the step's shape.
//
// step is the step's id (SLURM_STEP_ID, SLURM_STEPID), host the machine
// (SLURM_STEP_NODELIST); job is the environment srun runs in, whose
// SLURM_DISTRIBUTION (sbatch -m) is the step's unless -m says otherwise,
// as srun reads it. srun's own umask and nice go with the step
// (SLURM_UMASK, SLURM_PRIO_PROCESS). Each checked with Slurm 22.05.
func (s *Srun) TaskEnv(task, n, step int, host string, job map[string]string) map[string]string {
	gtids := make([]string, n)
	for i := range gtids {
		gtids[i] = strconv.Itoa(i)
	}
	env := map[string]string{
		"SLURM_GTIDS":               strings.Join(gtids, ","), // every task of the step is on this node
		"SLURM_TASKS_PER_NODE":      strconv.Itoa(n),
		"SLURM_PRIO_PROCESS":        strconv.Itoa(sysuser.Nice()),
		"SLURM_STEP_ID":             strconv.Itoa(step),
		"SLURM_STEPID":              strconv.Itoa(step),
		"SLURM_STEP_NODELIST":       host,
		"SLURM_PROCID":              strconv.Itoa(task),
		"SLURM_LOCALID":             strconv.Itoa(task),
		"SLURM_NODEID":              "0",
		"SLURM_NTASKS":              strconv.Itoa(n),
		"SLURM_NPROCS":              strconv.Itoa(n),
		"SLURM_STEP_NUM_TASKS":      strconv.Itoa(n),
		"SLURM_STEP_NUM_NODES":      "1",
		"SLURM_STEP_TASKS_PER_NODE": strconv.Itoa(n),
	}
	switch {
	case s.Distribution != "":
		env["SLURM_DISTRIBUTION"] = s.Distribution
		if s.PlaneSize > 0 {
			env["SLURM_DIST_PLANESIZE"] = strconv.Itoa(s.PlaneSize)
		}
	case job["SLURM_DISTRIBUTION"] == "":
		env["SLURM_DISTRIBUTION"] = sbatch.DefaultDistribution(n)
	}
	if u := Umask(); u != "" {
		env["SLURM_UMASK"] = u
	}
	if cpus := job["SLURM_JOB_CPUS_PER_NODE"]; cpus != "" {
		env["SLURM_JOB_CPUS_PER_NODE_PACK_GROUP_0"] = cpus // what 22.05's srun still tells a step
	}
	if s.CPUsPerTask > 0 {
		env["SLURM_CPUS_PER_TASK"] = strconv.Itoa(s.CPUsPerTask)
	}
	if held := s.HeldCPUs(n); held > 0 { // the step's CPUs, as srun tells a step that holds its own
		env["SLURM_CPUS_ON_NODE"] = strconv.Itoa(held)
	}
	return env
}

// AllocEnv is what srun outside a job tells its one task, as Slurm
// 22.05's srun does for the allocation it makes and the step it runs there
// (TaskEnv's, and the job's name, CPUs, submitter and submit directory
// and host), less what names the job's id or machine, which the server
// adds once the job is submitted and placed (sbatch.AllocEnv).
func (s *Srun) AllocEnv(name, user, submitDir, submitHost string) map[string]string {
	env := s.TaskEnv(0, 1, 0, "", nil)
	delete(env, "SLURM_STEP_NODELIST")
	if s.Distribution == "" {
		delete(env, "SLURM_DISTRIBUTION") // a step outside a job is told none unless -m gives it
	}
	cpus := strconv.Itoa(s.StepCPUs(1))
	for k, v := range map[string]string{
		"SLURM_JOB_NAME": name, "SLURM_NNODES": "1", "SLURM_JOB_NUM_NODES": "1", "SLURM_TASKS_PER_NODE": "1",
		"SLURM_CPUS_ON_NODE": cpus, "SLURM_JOB_CPUS_PER_NODE": cpus, "SLURM_GTIDS": "0",
		"SLURM_SUBMIT_DIR": submitDir, "SLURM_SUBMIT_HOST": submitHost, "SLURM_JOB_USER": user,
	} {
		if v != "" {
			env[k] = v
		}
	}
	return env
}

// Label is the prefix srun -l puts before each line of a task's output:
// the task's number, right-aligned to the width of the step's largest.
func Label(task, n int) string {
	w := len(strconv.Itoa(max(0, n-1)))
	return fmt.Sprintf("%*d: ", w, task)
}

// TaskStatus is how one task of a step ended: its exit code, or the
// signal that killed it.
type TaskStatus struct {
	Task, Code, Signal int
	// What the task used, from its rusage when it was reaped: its
	// largest resident set (bytes) and its CPU time (microseconds).
	MaxRSS, UserUS, SysUS int64
}

// TaskExits is what srun says on stderr of a step's tasks that did not
// exit 0, as Slurm 22.05 groups them: one line per way of ending, naming
// its tasks as a range list ("srun: error: n1: tasks 0-3,5: Exited with
// exit code 1"; "task 2" for one), in the order of the first task; and
// srun's own exit status: the highest exit code, 128+N for a task killed
// by signal N.
func TaskExits(host string, exits []TaskStatus) ([]string, int) {
	type how struct{ code, signal int }
	var order []how
	tasks := map[how][]int{}
	for _, e := range slices.SortedFunc(slices.Values(exits), func(a, b TaskStatus) int { return a.Task - b.Task }) {
		h := how{e.Code, e.Signal}
		if h == (how{}) {
			continue
		}
		if tasks[h] == nil {
			order = append(order, h)
		}
		tasks[h] = append(tasks[h], e.Task)
	}
	var lines []string
	worst := 0
	for _, h := range order {
		word := "task"
		if len(tasks[h]) > 1 {
			word = "tasks"
		}
		what, status := fmt.Sprintf("Exited with exit code %d", h.code), h.code
		if h.signal > 0 {
			what, status = signalName(h.signal), 128+h.signal
		}
		lines = append(lines, fmt.Sprintf("srun: error: %s: %s %s: %s", host, word, ranges(tasks[h]), what))
		worst = max(worst, status)
	}
	return lines, worst
}

// ranges writes sorted task numbers as Slurm's bit_fmt does: "0-3,5".
func ranges(ns []int) string {
	var b strings.Builder
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", ns[i], ns[j])
		} else {
			fmt.Fprintf(&b, "%d", ns[i])
		}
		i = j + 1
	}
	return b.String()
}

// signalName is srun's word for a task a signal ended: strsignal's, as
// glibc has it ("Killed", "Segmentation fault", "User defined signal 1").
func signalName(sig int) string {
	words := syscall.Signal(sig).String() // Go's table is glibc's, lower-cased
	if words == "" || strings.HasPrefix(words, "signal ") {
		return "Killed by signal " + strconv.Itoa(sig)
	}
	return strings.ToUpper(words[:1]) + words[1:]
}
