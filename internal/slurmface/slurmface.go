// Package slurmface renders burst jobs as Slurm's commands print them:
// squeue's and sacct's format strings, scontrol's key=value lines, state
// codes and names, exit codes as "status:signal", Slurm's time formats,
// sinfo's partitions and srun's labels and task errors; and it reads their
// command lines as getopt_long does (Getopt: abbreviated long options), and
// srun's (ParseSrun). burst's `slurm sbatch|srun|squeue|scancel|sacct|
// scontrol|sinfo|sacctmgr` commands (and the same names as argv[0]) go
// through it, so that workflow engines written for Slurm drive burst
// unchanged.
//
// It is pure: functions from a snapshot of jobs (and a clock passed in) to
// text. It must not do I/O beyond writing to the io.Writer it is given.
package slurmface

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// Job is one Slurm job as the commands print it, read from a burst job (an
// array's task is a job of its own, as in Slurm).
type Job struct {
	RawID       int64 // JobIDRaw, %A for a job that is no array's task
	ArrayJobID  int64 // the array's id, 0 for a job that is no array's task
	ArrayTaskID int   // its index in the array; meaningful when ArrayJobID > 0
	// ArrayPending, set on the one line of an array's pending tasks
	// (CollapsePending), is their indices: "4-9", "4-9%2".
	ArrayPending string
	// ArrayThrottle is how many of its array's tasks may run at once
	// (--array's %N; 0: no cap).
	ArrayThrottle int
	// AtArrayLimit: a pending task of an array that runs as many tasks as
	// its throttle allows (Reason JobArrayTaskLimit).
	AtArrayLimit bool
	Name         string // job name
	User         string
	UID, GID     int
	Account      string // the burst project
	Partition    string // the partition it was submitted with (sbatch -p), else its burst cluster
	State        burst.State
	Reason       string // why it ended or waits, burst's words
	Waiting      bool   // queued and held by resources (not merely its turn)
	// Dependency is what it still waits for, as squeue's %E prints it:
	// "afterok:12(unfulfilled)"; "(failed)" marks one never to be met
	// (of a job cancelled for it too).
	Dependency string
	// TaskDeps says its pending tasks wait each for something of its own
	// (aftercorr): each task's Dependency is its own, and each is listed
	// on a line of its own, as Slurm splits them off the array's record
	// once it has looked at their dependencies.
	TaskDeps bool
	// HasSpec says the job's spec was read (WorkDir, Command, Begin and
	// Partition are its): a listing of ended jobs carries none.
	HasSpec bool
	OOM     bool // ended killed for going over its memory
	// MissedDeadline says it was cancelled before it started because it
	// could no longer end by its --deadline: Slurm's DEADLINE.
	MissedDeadline bool
	// Deadline is its --deadline (from its spec), zero without one;
	// TimeMin its --time-min (0 without one).
	Deadline time.Time
	TimeMin  time.Duration
	ExitCode *int // its exit status when it exited
	Signal   int  // the signal that killed it, 0 if none
	Submit   time.Time
	// Begin is when it may start (sbatch --begin), zero if not deferred;
	// Deferred says it is pending for it now (Reason BeginTime).
	Begin    time.Time
	Deferred bool
	// Held says it is held until released (sbatch -H, scontrol hold):
	// Reason JobHeldUser, priority 0.
	Held bool
	// HeldByAdmin says an admin held it: Reason JobHeldAdmin.
	HeldByAdmin bool
	// HeldRequeued says it was held as it was requeued (scontrol
	// requeuehold): Reason "job requeued in held state".
	HeldRequeued bool
	Start        time.Time // zero until it starts
	End          time.Time // zero until it ends
	TimeLimit    time.Duration
	CPUs         int
	// Shared says the job's tasks reserve no CPU (burst map --cpus 0):
	// as a job of sbatch --oversubscribe, it shows OverSubscribe=YES and
	// 1 CPU (Slurm allocates no job fewer).
	Shared   bool
	MemBytes int64
	GPUs     int
	Node     string // the machine it runs or ran on
	WorkDir  string
	Command  string
	Comment  string // sbatch --comment ("": none)
	StdOut   string
	StdErr   string
	StdIn    string
	NTasks   int // the Slurm tasks it asked for (sbatch -n), from its spec; 0 is 1
	// Batch holds the layout an sbatch script asked for, from its spec
	// (nil for a job burst run started with --cpus and --mem alone):
	// scontrol shows its tasks, CPUs per task and memory per CPU.
	Batch *BatchLayout
	// CancelledBy is the uid Slurm names in sacct's "CANCELLED by UID".
	CancelledBy int
	// What it used: CPU time (user and system), split into the two when
	// CPUSplit, and its largest resident set, in bytes.
	CPUTime, UserCPU, SysCPU time.Duration
	CPUSplit                 bool
	MaxRSS                   int64
	// OneTask says the job is one task, whose usage is the job's.
	OneTask bool
	// Step is "batch" on the line of a job's batch step (sacct without
	// -X), the step's id ("0") on the line of a step srun ran in it, ""
	// on the job's own.
	Step string
	// StepName is an srun step's program, sacct's JobName of its line.
	StepName string
	// Steps are the srun steps its batch script ran (sacct's N.0 ...).
	Steps []burst.Step
	// SrunStep says srun made the job outside any job (burst.Job's
	// SrunStep): its step is N.0, and it has no batch step.
	SrunStep bool
	// NoRequeue: sbatch --no-requeue (scontrol's Requeue=0); Restarts is
	// how many times it was started again (requeued, or its machine lost).
	NoRequeue bool
	Restarts  int
	// Exclusive: sbatch --exclusive, a whole machine (OverSubscribe=NO).
	Exclusive bool
}

// RestartsOf is how many times task t was started again (requeued, its
// machine lost, or run again by --retries), as scontrol's Restarts= counts
// them: one waiting to run again after a requeue counts it already, as
// Slurm 22.05 counts it from the requeue (checked: Restarts=1 while the
// requeued job is pending).
func RestartsOf(t burst.Task) int {
	if t.State == burst.Queued {
		return max(t.Attempt, 0) // its next attempt is Attempt+1
	}
	return max(t.Attempt-1, 0)
}

// BatchStep is the job's batch step, as sacct lists it under the job: the
// script, what it ran and used. A step is cancelled, not timed out, when
// its job reached its time limit.
func (j Job) BatchStep() Job {
	s := j
	s.Step = "batch"
	// A step that ran out of time, or that a signal ended (not for its
	// memory), reads CANCELLED in sacct, as Slurm 22.05 records it.
	if s.State == burst.Timeout || s.State == burst.Failed && s.Signal != 0 && !s.OOM {
		s.State = burst.Cancelled
	}
	return s
}

// StepLines are the lines of j's steps as sacct lists them under it: its
// batch step (once it started) and the srun steps its script ran. A job
// srun made outside any job (SrunStep) has its step 0 alone, as Slurm's
// srun runs its command as step 0 of the allocation it made: the step its
// task's srun recorded, or the task itself until one did (a step of one
// task runs as the job's task, and records none).
func (j Job) StepLines() []Job {
	steps := j.SrunSteps()
	if j.Start.IsZero() || j.ArrayPending != "" || j.SrunStep && len(steps) > 0 {
		return steps
	}
	return append([]Job{j.BatchStep().asSrunStep()}, steps...)
}

// asSrunStep is the batch step line b of a job srun made outside any job
// as the line of its step 0, named as the job (srun's -J, else the
// program's); any other line as it is.
func (b Job) asSrunStep() Job {
	if b.SrunStep && len(b.Steps) == 0 {
		b.Step, b.StepName = "0", b.Name
	}
	return b
}

// SrunSteps are the lines of the srun steps j's batch script ran, as sacct
// lists them after its batch step: N.0, N.1, ... with each step's program,
// tasks, CPUs, times, state and exit code.
func (j Job) SrunSteps() []Job {
	out := make([]Job, 0, len(j.Steps))
	for _, st := range j.Steps {
		s := j
		s.Steps = nil
		s.Step, s.StepName = strconv.Itoa(st.ID), st.Name
		s.State, s.Signal, s.OOM = st.State, st.Signal, false
		code := st.ExitCode
		s.ExitCode = &code
		s.Start, s.End = st.StartedAt, st.EndedAt
		s.CPUs, s.NTasks = max(st.CPUs, 1), max(st.Tasks, 1)
		// What its tasks used, recorded by srun when it reaped them (0
		// while it runs, and for a step recorded before srun measured it).
		s.UserCPU, s.SysCPU = time.Duration(st.UserUS)*time.Microsecond, time.Duration(st.SysUS)*time.Microsecond
		s.CPUTime, s.CPUSplit, s.MaxRSS = s.UserCPU+s.SysCPU, true, st.MaxRSS
		out = append(out, s)
	}
	return out
}

// DerivedExitCode is sacct's DerivedExitCode of a job: the highest exit
// code of the steps srun ran in it ("STATUS:SIGNAL"), the batch step left
// out; 0:0 when it ran none.
func (j Job) DerivedExitCode() string {
	if j.SrunStep && len(j.Steps) == 0 && j.ExitCode != nil { // its one step ran as its task
		return j.AcctExitCode()
	}
	code, sig := 0, 0
	for _, st := range j.Steps {
		if st.ExitCode > code || st.ExitCode == code && sig == 0 {
			code, sig = st.ExitCode, st.Signal
		}
	}
	return strconv.Itoa(code) + ":" + strconv.Itoa(sig)
}

// shownStart is the StartTime scontrol and sacct give: when it started, or
// for a job cancelled before it started the time it ended, as Slurm 22.05
// gives it (zero: Unknown).
func (j Job) shownStart() time.Time {
	if j.Start.IsZero() && j.State == burst.Cancelled {
		return j.End
	}
	return j.Start
}

// JobID is Slurm's JobID: "N", or "ARRAY_INDEX" for an array's task.
func (j Job) JobID() string {
	switch {
	case j.ArrayPending != "":
		return fmt.Sprintf("%d_[%s]", j.ArrayJobID, j.ArrayPending)
	case j.ArrayJobID > 0:
		return fmt.Sprintf("%d_%d", j.ArrayJobID, j.ArrayTaskID)
	}
	return strconv.FormatInt(j.RawID, 10)
}

// arrayID is %A: the array's id, or the job's own.
func (j Job) arrayID() int64 {
	if j.ArrayJobID > 0 {
		return j.ArrayJobID
	}
	return j.RawID
}

// EndedBy says what ended a job (or task) in state st for reason, where
// Slurm names it by a state of its own: its memory (OUT_OF_MEMORY), or its
// --deadline, which it could no longer meet before it started (DEADLINE).
func EndedBy(st burst.State, reason string) (oom, missedDeadline bool) {
	return st == burst.Failed && strings.HasPrefix(reason, burst.ReasonOOM),
		st == burst.Cancelled && strings.HasPrefix(reason, burst.ReasonDeadline)
}

// Slurm's job states, long and compact.
const (
	Pending     = "PENDING"
	RunningS    = "RUNNING"
	Completed   = "COMPLETED"
	FailedS     = "FAILED"
	CancelledS  = "CANCELLED"
	TimeoutS    = "TIMEOUT"
	OutOfMemory = "OUT_OF_MEMORY"
	NodeFail    = "NODE_FAIL"
	DeadlineS   = "DEADLINE"
)

var codes = map[string]string{
	Pending: "PD", RunningS: "R", Completed: "CD", FailedS: "F", CancelledS: "CA",
	TimeoutS: "TO", OutOfMemory: "OOM", NodeFail: "NF", DeadlineS: "DL",
}

// StateName is the job's state as Slurm names it: burst's queued is PENDING,
// running RUNNING, succeeded COMPLETED, failed FAILED (OUT_OF_MEMORY when
// burst killed it for its memory), cancelled CANCELLED (DEADLINE when
// cancelled for its --deadline), timeout TIMEOUT, lost (its machine
// vanished, too often to requeue) NODE_FAIL.
func (j Job) StateName() string {
	switch j.State {
	case burst.Queued:
		return Pending
	case burst.Running:
		return RunningS
	case burst.Succeeded:
		return Completed
	case burst.Failed:
		if j.OOM {
			return OutOfMemory
		}
		return FailedS
	case burst.Cancelled:
		if j.MissedDeadline {
			return DeadlineS
		}
		return CancelledS
	case burst.Timeout:
		return TimeoutS
	case burst.Lost:
		return NodeFail
	}
	return strings.ToUpper(string(j.State))
}

// StateCode is the compact state squeue's %t prints: PD, R, CD, F, CA, TO,
// OOM, NF, DL.
func (j Job) StateCode() string {
	if c, ok := codes[j.StateName()]; ok {
		return c
	}
	return j.StateName()
}

// AcctState is the state as sacct prints it: "CANCELLED by UID" for a
// cancelled job, else StateName.
func (j Job) AcctState() string {
	if j.State == burst.Cancelled && j.Step == "" && !j.MissedDeadline {
		return fmt.Sprintf("%s by %d", CancelledS, j.CancelledBy)
	}
	return j.StateName()
}

// ExitCodeText is Slurm's ExitCode, "STATUS:SIGNAL": "0:0" for a job that
// succeeded or has not ended, "3:0" for exit 3, "0:9" for a job SIGKILLed,
// "0:125" for one killed for its memory (as Slurm 22.05 reports it), "0:15"
// for a job cancelled or timed out while it ran (Slurm's SIGTERM).
func (j Job) ExitCodeText() string {
	status, sig := j.exitStatus()
	return fmt.Sprintf("%d:%d", status, sig)
}

// exitStatus is the job's exit status and the signal that ended it, as
// ExitCodeText writes them (squeue -O exit_code: the two as one wait
// status, status<<8 | signal).
func (j Job) exitStatus() (status, sig int) {
	switch {
	case j.OOM && j.State == burst.Failed:
		sig = 125
	case j.MissedDeadline && j.State == burst.Cancelled:
		sig = 1 // as Slurm 22.05's scontrol shows a job it ended as DEADLINE (ExitCode=0:1)
	case j.launchFailed():
		sig = 53 // as Slurm 22.05 records a job launch failure (its output or input file could not be opened)
	case j.Signal != 0:
		sig = j.Signal
	case j.State == burst.Failed && j.ExitCode != nil:
		status = *j.ExitCode
	case (j.State == burst.Cancelled || j.State == burst.Timeout) && j.ExitCode != nil && *j.ExitCode != 0:
		// It exited by itself when told to stop (a trap on TERM that
		// saves and exits 143): Slurm keeps that status (143:0).
		status = *j.ExitCode
	case (j.State == burst.Cancelled || j.State == burst.Timeout) && !j.Start.IsZero():
		sig = 15
	}
	return status, sig
}

// AcctExitCode is the ExitCode sacct prints on j's line: its batch step's
// is ExitCodeText, but the job's own line of a job cancelled or timed out
// reads 0:0, as Slurm 22.05 records it (its scontrol reads 0:15, and the
// batch step's line 0:15: checked with the suite's Slurm and slurmdbd).
func (j Job) AcctExitCode() string {
	if j.Step == "" && (j.State == burst.Cancelled && !j.MissedDeadline || j.State == burst.Timeout) {
		return "0:0"
	}
	return j.ExitCodeText()
}

// Duration formats d as squeue's TIME and TIME_LIMIT columns do:
// M:SS, H:MM:SS, or D-HH:MM:SS.
func Duration(d time.Duration) string { return burst.FormatTimeLimit(d) }

// LongDuration formats d as scontrol and sacct do: HH:MM:SS, or
// D-HH:MM:SS.
func LongDuration(d time.Duration) string {
	s := int64(d / time.Second)
	days, h, m, sec := s/86400, s/3600%24, s/60%60, s%60
	if days > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", days, h, m, sec)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, sec)
}

// Limit formats a time limit in format, UNLIMITED when there is none.
func Limit(d time.Duration, format func(time.Duration) string) string {
	if d <= 0 {
		return "UNLIMITED"
	}
	return format(d)
}

// Elapsed is how long the job ran (so far, at now).
func (j Job) Elapsed(now time.Time) time.Duration {
	switch {
	case j.Start.IsZero():
		return 0
	case j.End.IsZero():
		return max(0, now.Sub(j.Start))
	}
	return max(0, j.End.Sub(j.Start))
}

// Date formats t as Slurm does (local time, 2006-01-02T15:04:05, or as
// SLURM_TIME_FORMAT says: SetTimeFormat), or "Unknown" when t is zero.
func Date(t time.Time) string {
	if t.IsZero() {
		return "Unknown"
	}
	return formatTime(t, time.Now())
}

// Mem formats bytes as Slurm's memory figures: 256M, 4G (whole MiB, or
// whole GiB when exact).
func Mem(b int64) string {
	mib := (b + 1<<20 - 1) >> 20
	switch {
	case mib == 0:
		return "0"
	case mib%1024 == 0:
		return fmt.Sprintf("%dG", mib/1024)
	}
	return fmt.Sprintf("%dM", mib)
}

// Eligible is when it became (or becomes) eligible to run, as scontrol's
// EligibleTime and sacct's Eligible show it: its begin time if it was
// deferred past its submission, else its submission; zero (Unknown) for a
// job pending on a hold, a dependency or its array's throttle (%N), as
// Slurm 22.05 shows it until it is released, the dependency met or a
// place in its array's throttle free.
func (j Job) Eligible() time.Time {
	if j.State == burst.Queued && (j.Held || j.Dependency != "" || j.AtArrayLimit) {
		return time.Time{}
	}
	if j.Begin.After(j.Submit) {
		return j.Begin
	}
	return j.Submit
}

// accrues says whether j has begun to accrue age, from its submission
// (scontrol's AccrueTime, squeue -O AccrueTime): not while held, waiting
// on a dependency or an array's limit, nor while pending for its begin time.
func (j Job) accrues() bool {
	return !j.Eligible().IsZero() && !(j.shownStart().IsZero() && j.Deferred)
}

// ReasonOf is the reason squeue, scontrol and sacct show for j.
func ReasonOf(j Job) string { return j.pendingReason() }

// launchFailed says j failed without running: its output file or input
// file could not be opened (Slurm's JobLaunchFailure).
func (j Job) launchFailed() bool {
	return j.State == burst.Failed && !j.OOM && j.ExitCode == nil && j.Signal == 0
}

// pendingReason is the reason squeue and scontrol show for a job that does
// not run: Slurm's words for burst's.
func (j Job) pendingReason() string {
	switch {
	case strings.Contains(j.Dependency, "(failed)") && (j.State == burst.Queued || j.State == burst.Cancelled):
		return "DependencyNeverSatisfied" // also once cancelled for it, as Slurm keeps it
	case j.Held && j.State == burst.Running:
		// A task of an array held while it ran runs on, its reason its
		// hold's, as Slurm 22.05 shows it (R JobHeldAdmin).
		return heldReason(j.HeldByAdmin)
	case j.State != burst.Queued:
		if j.State == burst.Failed {
			if j.OOM {
				return "OutOfMemory"
			}
			if j.launchFailed() {
				return "JobLaunchFailure"
			}
			return "NonZeroExitCode"
		}
		if j.State == burst.Timeout {
			return "TimeLimit"
		}
		if j.MissedDeadline && j.State == burst.Cancelled {
			return "DeadLine" // as Slurm 22.05 spells it
		}
		return "None"
	case j.Held && j.HeldRequeued:
		return requeuedHeld
	case j.Held:
		return heldReason(j.HeldByAdmin) // a hold comes before all else, as its priority 0 does
	case j.Dependency != "":
		return "Dependency" // dependencies are tested first, as slurmctld does
	case j.Deferred:
		return "BeginTime"
	case j.AtArrayLimit:
		return "JobArrayTaskLimit" // its array runs as many as its %N lets it
	case j.Waiting:
		return "Resources"
	}
	return "None"
}

// requeuedHeld is the Reason of a job scontrol requeuehold held, as
// squeue shows it; scontrol writes its spaces as underscores (reasonWord).
const requeuedHeld = "job requeued in held state"

// reasonWord is a Reason as scontrol show job writes it: one word, its
// spaces underscores (Reason=job_requeued_in_held_state).
func reasonWord(r string) string { return strings.ReplaceAll(r, " ", "_") }

// heldReason is a held job's Reason: JobHeldAdmin when an admin held it (as
// Slurm's root holds it), else JobHeldUser.
func heldReason(admin bool) string {
	if admin {
		return "JobHeldAdmin"
	}
	return "JobHeldUser"
}
