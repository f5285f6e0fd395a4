package server

import (
	"sort"
	"strconv"
	"strings"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/sbatch"
)

// assignment is what an agent needs to run t. Called with s.mu held.
func (s *Server) assignment(t *taskRT) client.Assignment {
	spec := t.job.row.Spec
	return client.Assignment{
		TaskRef:    t.ref(),
		Argv:       spec.Argv,
		Script:     spec.Script,
		Env:        s.taskEnv(t),
		Dir:        spec.Workdir,
		Stdout:     t.row.Stdout,
		Stderr:     t.row.Stderr,
		MemBytes:   spec.Resources.MemBytes,
		TimeLimitS: spec.Resources.TimeLimit,
		GPUIDs:     t.row.GPUIDs,
	}
}

// taskEnv is the submitter's environment plus what burst tells every task:
// BURST_JOB_ID, BURST_TASK_ID, BURST_CPUS, CUDA_VISIBLE_DEVICES (empty when
// no GPU was given, so a task never grabs a GPU it was not given), and for
// batch scripts the SLURM_* variables they read.
func (s *Server) taskEnv(t *taskRT) []string {
	spec := t.job.row.Spec
	env := make(map[string]string, len(spec.Env)+24)
	for k, v := range spec.Env {
		env[k] = v
	}
	gpus := joinInts(t.row.GPUIDs)
	env["BURST_JOB_ID"] = strconv.FormatInt(t.row.JobID, 10)
	env["BURST_TASK_ID"] = strconv.Itoa(t.row.Index)
	env["BURST_ATTEMPT"] = strconv.Itoa(t.row.Attempt)
	env["BURST_CPUS"] = strconv.Itoa(spec.Resources.CPUs)
	env["BURST_PROJECT"] = spec.Project
	env["CUDA_VISIBLE_DEVICES"] = gpus
	if spec.Batch != nil {
		for _, kv := range sbatch.Env(s.batchInfo(t.job, t.row.Index, t.machine.row.Host, t.row.GPUIDs)) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func (s *Server) batchInfo(j *jobRT, idx int, host string, gpus []int) sbatch.TaskInfo {
	spec := j.row.Spec
	info := sbatch.TaskInfo{
		JobID: j.row.ID, JobName: spec.Name, ArrayTaskID: -1,
		NTasks: 1, CPUsPerTask: spec.Resources.CPUs, MemBytes: spec.Resources.MemBytes,
		SubmitDir: spec.Workdir, NodeName: host, GPUIDs: gpus,
	}
	if b := spec.Batch; b != nil {
		if b.NTasks > 0 {
			info.NTasks = b.NTasks
		}
		if b.CPUsPerTask > 0 {
			info.CPUsPerTask = b.CPUsPerTask
		} else {
			info.CPUsPerTask = max(1, spec.Resources.CPUs/info.NTasks)
		}
		info.Partition, info.SubmitHost, info.User = b.Partition, b.SubmitHost, b.User
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
