package slurmface

import (
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// Job arrays, as Slurm 22.05 shows them: every task of an array is a job of
// its own (JobID ARRAY_INDEX, e.g. 12_3; JobIDRaw its own id, which in
// burst is the array's id plus the task's position), listed one per line
// once it started or ended; the tasks still pending share one line,
// ARRAY_[4-9] (with %N when the array runs at most N at once), unless
// squeue -r asks for one line each. A task cancelled alone before it
// started has no line (Slurm 22.05 takes it out of the pending tasks'
// record and keeps none of it); those the array's cancel ended before they
// started share one line, ARRAY_[4-9] CANCELLED, as its pending tasks did.

// Elements expands array job a (read as a plain job) into its tasks, each a
// Job: tasks are the array's tasks in order and indices their array
// indices; throttle is how many may run at once (0: no cap).
func Elements(a Job, tasks []burst.Task, indices []int, throttle int) []Job {
	out := make([]Job, 0, len(tasks))
	running := 0
	for _, t := range tasks {
		if t.State == burst.Running {
			running++
		}
	}
	for _, t := range tasks {
		if t.Index < 0 || t.Index >= len(indices) || cancelledAlone(t) {
			continue
		}
		e := a
		e.RawID, e.ArrayJobID, e.ArrayTaskID, e.ArrayThrottle = a.RawID+int64(t.Index), a.RawID, indices[t.Index], throttle
		e.State, e.Reason, e.ExitCode, e.Signal = t.State, t.Reason, t.ExitCode, t.Signal
		e.OOM, e.MissedDeadline = EndedBy(t.State, t.Reason)
		e.Start, e.End = timeOf(t.StartedAt), timeOf(t.EndedAt)
		if t.Machine != "" {
			e.Node = t.Machine
		} else if t.StartedAt == nil {
			e.Node = ""
		}
		e.StdOut, e.StdErr = t.Stdout, t.Stderr
		e.Restarts = RestartsOf(t) // each task's own, not its array's first task's
		e.Usage(t)
		e.Steps = t.Steps
		switch {
		case t.State == burst.Cancelled && t.Reason != "":
			e.Dependency = NeverMetText(t.Reason) // cancelled alone for it: Slurm keeps saying which
			e.Waiting = false
		case t.State != burst.Queued:
			e.Waiting, e.Dependency = false, ""
		case a.TaskDeps:
			e.Dependency = t.Dependency
		}
		e.AtArrayLimit = t.State == burst.Queued && throttle > 0 && running >= throttle
		out = append(out, e)
	}
	return out
}

// cancelledAlone says whether t was cancelled by itself (scancel
// ARRAY_4) before it started: Slurm 22.05 shows no record of it (checked
// beside it: squeue -t all and scontrol show job list the array's other
// tasks alone).
func cancelledAlone(t burst.Task) bool {
	return t.State == burst.Cancelled && t.StartedAt == nil && strings.HasPrefix(t.Reason, burst.ReasonCancelledAlone)
}

// cancelledWithArray says whether j, a task of an array, was ended before
// it started by its array's cancel: never handed out (no reason), or
// handed out or requeued before that cancel ("cancelled by ACTOR", where
// one cancelled alone says burst.ReasonCancelledAlone).
func cancelledWithArray(j Job) bool {
	return j.State == burst.Cancelled && j.Start.IsZero() && (j.Reason == "" || strings.HasPrefix(j.Reason, burst.ReasonCancelledBy))
}

// CollapsePending puts the pending tasks of each array in jobs (as
// Elements made them) on one line, where the first of them was, as squeue
// (without -r) and sacct show them: ARRAY_[4-9], or ARRAY_[4-9%2] when
// the array runs at most 2 at once; and so the tasks that the array's
// cancel ended before they started, a line in state CANCELLED (Slurm
// 22.05 printed "80_[2-4%1] CA" for scancel 80 of an array whose task 1
// ran). A lone task keeps its own line.
func CollapsePending(jobs []Job) []Job {
	type key struct {
		id    int64
		state burst.State
	}
	type group struct {
		at      int
		indices []int
	}
	groups := map[key]*group{}
	var out []Job
	for _, j := range jobs {
		if j.ArrayJobID == 0 || j.TaskDeps || !(j.State == burst.Queued || cancelledWithArray(j)) {
			out = append(out, j)
			continue
		}
		k := key{j.ArrayJobID, j.State}
		g := groups[k]
		if g == nil {
			g = &group{at: len(out)}
			groups[k] = g
			out = append(out, j)
		}
		g.indices = append(g.indices, j.ArrayTaskID)
	}
	for k, g := range groups {
		n := out[g.at].ArrayThrottle
		if len(g.indices) == 1 && n == 0 {
			continue // a lone task keeps its own line
		}
		r := Ranges(g.indices)
		if n > 0 {
			r += "%" + strconv.Itoa(n)
		}
		out[g.at].ArrayPending = r
		out[g.at].RawID = k.id // the pending tasks' record is the array's own
	}
	return out
}

// NeverMetText is, for a job or task cancelled because a dependency could
// never be met (its reason says which), that dependency as squeue's %E
// and scontrol's Dependency= go on showing it: "afterok:12(failed)"; ""
// for any other reason.
func NeverMetText(reason string) string {
	if !strings.HasPrefix(reason, "cancelled: ") {
		return ""
	}
	var failed []string
	for _, d := range burst.ParseNeverMet(reason) {
		failed = append(failed, burst.FormatDependencies([]burst.Dependency{d}, false)+"(failed)")
	}
	return strings.Join(failed, ",")
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// Ranges writes ascending indices as Slurm writes an array's: 1,3,5-7.
func Ranges(indices []int) string {
	var b strings.Builder
	for i := 0; i < len(indices); {
		k := i
		for k+1 < len(indices) && indices[k+1] == indices[k]+1 {
			k++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(indices[i]))
		if k > i {
			b.WriteString("-" + strconv.Itoa(indices[k]))
		}
		i = k + 1
	}
	return b.String()
}

// Usage sets what j used from its one task t: CPU time, user and system,
// and its largest resident set.
func (j *Job) Usage(t burst.Task) {
	j.UserCPU = time.Duration(t.UserSeconds * float64(time.Second))
	j.SysCPU = time.Duration(t.SysSeconds * float64(time.Second))
	j.CPUTime, j.CPUSplit, j.MaxRSS, j.OneTask = j.UserCPU+j.SysCPU, true, t.MaxRSSBytes, true
}
