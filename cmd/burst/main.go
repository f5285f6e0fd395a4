// Command burst runs research jobs: on this machine by default, on Slurm
// clusters and in the cloud as they are added. See `burst help`.
//
// Started as sbatch, srun, squeue, scancel, sacct, scontrol, sinfo or
// sacctmgr (a symlink made by `burst slurm link DIR`), it runs that command
// of its Slurm personality: `sbatch ARGS` is `burst slurm sbatch ARGS`.
package main

import (
	"os"
	"path/filepath"
	"slices"

	"github.com/burst-sh/burst/internal/agent"
	"github.com/burst-sh/burst/internal/cli"
)

// The descriptor limit: every burst process (CLI, server, agent: the agent
// is this binary too) runs with its soft RLIMIT_NOFILE raised to the hard
// one, which Go's runtime does at start (to hard-1, since Go 1.19), and
// starts its children, tasks included, with the soft limit it was given:
// programs that use select(2) keep the limit they expect. Calling
// syscall.Setrlimit here would end that restoring for every task; so
// nothing is done here, and e2e's TestFileLimitRaised checks both.
func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == agent.StackExecCmd { // a writable stack's task (agent/stackexec.go): no CLI to start
		err := agent.StackExec(args[1:])
		os.Stderr.WriteString("burst: " + err.Error() + "\n")
		os.Exit(127)
	}
	if name := filepath.Base(os.Args[0]); slices.Contains(cli.SlurmNames, name) {
		args = append([]string{"slurm", name}, args...)
	}
	os.Exit(cli.Main(args, os.Stdout, os.Stderr))
}
