package agent

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/slurmface"
)

// A batch job's script (sbatch) finds srun, sbatch, squeue, scontrol, ...
// on its PATH as in a Slurm job, whatever the submitter's PATH held: the
// agent puts a directory of links to its own binary (slurmface.Link) first
// on it. srun there runs job steps within the task (as burst slurm srun);
// the others reach the server that runs the job when the task is on its
// host (withSlurmBin sets BURST_HOME). A script run
// inside a stack sees the stack's own PATH: nothing is added there.

// slurmBin is that directory, made at the first batch task ("" when the
// agent has no directory of its own, or the links cannot be made: said
// once in its log, and scripts find what their PATH holds).
func (a *Agent) slurmBin() string {
	a.slurmBinOnce.Do(func() {
		if a.cfg.WorkDir == "" {
			return
		}
		exe, err := os.Executable()
		if err == nil {
			dir := filepath.Join(a.cfg.WorkDir, "slurm-bin")
			if err = slurmface.Link(dir, exe); err == nil {
				a.slurmBinDir = dir
				return
			}
		}
		a.cfg.Log.Warn("batch scripts will find srun and Slurm's other commands only on their own PATH", "err", err)
	})
	return a.slurmBinDir
}

// withSlurmBin is env (a batch task's) with dir first on its PATH, and
// BURST_HOME set to home (the agent's own: on the server's host, the
// server's, so that sbatch, squeue, ... in the script find that server,
// as a Slurm job's find its cluster; elsewhere a home where no server
// answers, and the CLI says so rather than starting one).
func withSlurmBin(env []string, dir, home string) []string {
	if dir == "" || !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "SLURM_JOB_ID=") }) {
		return env
	}
	path, at := runner.DefaultPath, -1
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path, at = v, i
		}
	}
	kv := "PATH=" + dir + ":" + path
	out := slices.Clone(env)
	if at < 0 {
		out = append(out, kv)
	} else {
		out[at] = kv
	}
	if home != "" && !slices.ContainsFunc(out, func(kv string) bool { return strings.HasPrefix(kv, "BURST_HOME=") }) {
		out = append(out, "BURST_HOME="+home)
	}
	return out
}

// jobOwner is a batch task's SLURM_JOB_UID and SLURM_JOB_GID: the user and
// group it runs as, this agent's (a Slurm job's are its owner's, whom it
// runs as). Read once.
var jobOwner = sync.OnceValue(func() []string {
	return []string{"SLURM_JOB_UID=" + strconv.Itoa(os.Getuid()), "SLURM_JOB_GID=" + strconv.Itoa(os.Getgid())}
})
