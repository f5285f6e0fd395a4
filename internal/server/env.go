package server

import (
	"cmp"
	"sort"
	"strconv"
	"strings"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/mapspec"
	"github.com/burst-sh/burst/internal/sbatch"
)

// jobContext is what all tasks of j share: the submitter's environment and
// directory, the script, the limits. Computed once per job.
func (c *control) jobContext(j *jobRT) *client.JobContext {
	if j.ctx != nil {
		return j.ctx
	}
	spec := j.row.Spec
	env := make([]string, 0, len(spec.Env)+4)
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	// BURST_CPUS is at least 1: a program sizes its threads by it, and a
	// task that reserves no CPU still has the one it shares.
	env = append(env, "BURST_JOB_ID="+strconv.FormatInt(j.row.ID, 10), "BURST_CPUS="+strconv.Itoa(max(spec.Resources.CPUs, 1)),
		"BURST_PROJECT="+spec.Project)
	sort.Strings(env)
	j.ctx = &client.JobContext{Env: env, Dir: spec.Workdir, Script: spec.Script, CPUs: spec.Resources.CPUs,
		MemBytes: spec.Resources.MemBytes, TimeLimitS: spec.Resources.TimeLimit, GPUs: spec.Resources.GPUs, Name: spec.Name, Local: spec.Local,
		Project: spec.Project, Inputs: j.stagedInputs(), Outputs: spec.Outputs, Stack: spec.Stack, Nice: spec.Nice}
	if spec.Batch != nil {
		j.ctx.Warn, j.ctx.MemAll = spec.Batch.Warn, spec.Batch.MemAll
	}
	j.ctx.Deadline, j.ctx.TimeMinS = spec.Deadline, spec.TimeMin
	j.ctx.Keep() // written once for all its leases (a failure is json.Marshal's again at each)
	return j.ctx
}

// assignment is what an agent needs to run t, beside its job's context.
// Called with s.mu held.
func (c *control) assignment(t *taskRT) client.Assignment {
	spec := t.job.row.Spec
	argv := spec.Argv
	if m := spec.Map; m != nil && !m.Array {
		argv = t.job.mapArgv(t.row.Index, t.row.Slot)
	}
	a := client.Assignment{
		TaskRef: t.ref(),
		Argv:    argv,
		TaskEnv: c.taskEnv(t),
		Stdout:  t.row.Stdout,
		Stderr:  t.row.Stderr,
		GPUIDs:  t.row.GPUIDs,
		Queued:  t.queued,
		// burst's own log files of a task start afresh at its first
		// attempt (one that runs again after a restore to an older
		// snapshot must not add its lines to those of its first run); a
		// map's results are each input's final attempt, so a retried map
		// task's start afresh too, while a run's logs keep every attempt.
		// Files named by an #SBATCH pattern may be shared: left alone.
		// The agent opens (and truncates) a log once, at its first byte:
		// a server restarted mid-task re-attaches without reopening it.
		Truncate: (t.row.Attempt <= 1 || spec.Map != nil) && spec.Stdout == "" && spec.Stderr == "",
		Inputs:   t.job.taskInputs(t.row.Index),
	}
	// A map's tasks print little, each: their output may share a pack file
	// (internal/agent/runner/pack.go) instead of a file each, whose creation
	// cost more than running them.
	a.Pack = a.Truncate && spec.Map != nil
	if b := spec.Batch; spec.SbatchFiles() {
		// sbatch's files: opened at each start, truncated unless
		// --open-mode=append, a task requeued (scontrol requeue, a lost
		// or preempted machine: LostCount) too: Slurm 22.05 opens a
		// requeued job's files afresh, so only its last run's output is
		// left unless the job asked to append (checked beside the
		// suite's Slurm: scontrol requeue of a running job). A task run
		// again by --retries (burst's, Slurm has none) after it failed
		// adds to its file, as a run's logs keep every attempt: the
		// failed attempt's output says why it failed.
		a.Direct, a.Truncate = true, !b.Append && t.row.Attempt-t.row.LostCount <= 1
		if b.Input != "" { // --input: the script's standard input, relative to its directory
			a.Stdin = expandPattern(b.Input, c.batchInfo(t.job, t.row.Index, t.machine.row.Host, nil))
		}
	}
	if p := spec.Pipe; p != nil {
		st, _ := p.StageOf(t.row.Index)
		res := p.Stages[st].Resources
		a.Argv, a.Res, a.Pipe = p.Stages[st].Argv, &res, t.pipe
		a.Truncate = true // a pipe restarts whole: its logs start afresh
		a.Pack = false
	}
	if t.machine.row.Remote {
		c.remoteAssignment(t, &a)
	}
	return a
}

// taskEnv is what burst tells each task beyond its job's environment:
// BURST_TASK_ID, BURST_ATTEMPT, CUDA_VISIBLE_DEVICES (empty when no GPU was
// given, so that a task never grabs a GPU it was not given), a map task's
// PARALLEL_SEQ and PARALLEL_JOBSLOT (its {#} and {%}, as GNU parallel sets
// them), and for batch scripts the SLURM_* variables they read.
func (c *control) taskEnv(t *taskRT) []string {
	env := []string{
		"BURST_TASK_ID=" + strconv.Itoa(t.row.Index),
		"BURST_ATTEMPT=" + strconv.Itoa(t.row.Attempt),
		"CUDA_VISIBLE_DEVICES=" + joinInts(t.row.GPUIDs),
	}
	switch spec := t.job.row.Spec; {
	case spec.Batch != nil:
		info := c.batchInfo(t.job, t.row.Index, t.machine.row.Host, t.row.GPUIDs)
		info.Restarts = max(t.row.Attempt-1, 0)
		env = append(env, sbatch.Env(info)...)
	case spec.SrunStep: // srun outside a job, one task: the job it made, which srun could not know
		env = append(env, sbatch.AllocEnv(c.batchInfo(t.job, t.row.Index, t.machine.row.Host, t.row.GPUIDs))...)
	}
	if m := t.job.row.Spec.Map; t.job.isMap() {
		// GNU parallel's name for {#}: scripts written for it read it.
		seq := int64(t.row.Index) + 1
		if m.Numbered {
			_, seq = mapspec.Task(t.job.sourceList(), int64(t.row.Index), m.Columns, true)
		}
		env = append(env, "PARALLEL_SEQ="+strconv.FormatInt(seq, 10), "PARALLEL_JOBSLOT="+strconv.Itoa(t.row.Slot))
	}
	if t.job.row.Spec.Pipe != nil { // a stage's own CPUs (one for a stage that reserves none)
		env = append(env, "BURST_CPUS="+strconv.Itoa(max(t.res().CPUs, 1)))
	}
	return env
}

// mapArgv is the command of task idx of map j run in job slot slot (0:
// not known, {%} left as written, as in the result cache's key).
func (j *jobRT) mapArgv(idx, slot int) []string {
	m := j.row.Spec.Map
	srcs := j.sourceList()
	in, seq := mapspec.Task(srcs, int64(idx), m.Columns, m.Numbered)
	if m.Commands {
		return mapspec.AsCommand(in)
	}
	total, _ := mapspec.Count(srcs, 0) // {##}, and the width of {0#} and {0%}
	return mapspec.ExpandWith(m.Template, in, mapspec.Numbers{Seq: seq, Slot: slot, Total: total, Slots: j.row.Spec.MaxRunning, Plus: m.Plus}, m.Shell, m.PerInput, m.Quoted)
}

// sourceList gives the job's inputs in mapspec's type.
func (j *jobRT) sourceList() []mapspec.Source {
	out := make([]mapspec.Source, len(j.sources))
	for i, s := range j.sources {
		out[i] = s
	}
	return out
}

// batchInfo is what task idx of a batch job is told through SLURM_* and
// its %-patterns. Each task of an array is a job of its own to the script,
// as in Slurm: its SLURM_JOB_ID (and %j) is the array's id plus its index,
// ids the array holds (store.IDSpan) and that show, logs and cancel accept.
func (c *control) batchInfo(j *jobRT, idx int, host string, gpus []int) sbatch.TaskInfo {
	spec := j.row.Spec
	info := sbatch.TaskInfo{
		JobID: j.row.ID, JobName: spec.Name, ArrayTaskID: -1,
		NTasks: 1, CPUsPerTask: spec.Resources.CPUs, MemBytes: spec.Resources.MemBytes,
		SubmitDir: spec.Workdir, NodeName: host, GPUIDs: gpus,
		Partition: cmp.Or(spec.SlurmPartition(), clusterName(spec.Cluster)), Account: spec.Project,
	}
	if len(spec.After) > 0 {
		info.Dependency = burst.FormatDependencies(spec.After, spec.AfterAnyOf)
	}
	if idx := j.arrayIndices(); idx != nil {
		info.Array = idx
	}
	if info.Array != nil && idx < len(info.Array) {
		if j.row.IDSpan > idx { // it holds its tasks' ids (not so for arrays submitted before ids were spanned)
			info.JobID = j.row.ID + int64(idx)
		}
		info.ArrayJobID = j.row.ID
		info.ArrayTaskID = info.Array[idx]
	}
	if b := spec.Batch; b != nil {
		info.OpenMode = b.OpenMode
		info.NTasksGiven, info.CPUsPerTaskGiven, info.NTasksPerNode = b.NTasks > 0, b.CPUsPerTask > 0, b.NTasksPerNode
		if b.NTasks > 0 {
			info.NTasks = b.NTasks
		} else if b.Nodes > 1 {
			info.NTasks = b.Nodes // a task per node, on the one machine: SLURM_TASKS_PER_NODE
		}
		switch {
		case b.CPUsPerTask > 0:
			info.CPUsPerTask = b.CPUsPerTask
		case b.Exclusive:
			info.CPUsPerTask = 1 // as Slurm: the machine's CPUs are the job's, a task's one unless -c
		default:
			info.CPUsPerTask = max(1, spec.Resources.CPUs/info.NTasks)
		}
		if b.Exclusive {
			// The whole machine (checked with Slurm 22.05: --exclusive on a
			// node of 2 CPUs is SLURM_CPUS_ON_NODE=2). Its
			// SLURM_TASKS_PER_NODE stays the job's tasks (Slurm's says 2
			// without -n, a task per CPU), which srun in the script runs by
			// default: one there, as Slurm's srun runs one.
			info.CPUsOnNode = spec.Resources.CPUs
		}
		if b.MemAll {
			info.MemBytes = 0 // --mem=0: no SLURM_MEM_PER_NODE, as sbatch tells none (Slurm 22.05)
		}
		info.SubmitHost, info.User, info.MemPerCPU, info.ArrayStep = b.SubmitHost, b.User, b.MemPerCPU, b.ArrayStep
		info.Distribution, info.PlaneSize, info.PrioProcess = b.Distribution, b.PlaneSize, b.PrioProcess
		info.Export, info.UserEnv = b.Export, b.UserEnv
		if b.SubmitDir != "" {
			info.SubmitDir = b.SubmitDir
		}
	}
	return info
}

func expandPattern(p string, info sbatch.TaskInfo) string { return sbatch.Expand(p, info) }

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// arrayIndices are a job array's indices, ascending (nil for other jobs),
// read from its inputs once.
func (j *jobRT) arrayIndices() []int {
	m := j.row.Spec.Map
	if m == nil || !m.Array || len(j.sources) != 1 {
		return nil
	}
	if j.array == nil {
		idx := make([]int, len(j.sources[0]))
		for i, v := range j.sources[0] {
			idx[i], _ = strconv.Atoi(v)
		}
		j.array = idx
	}
	return j.array
}
