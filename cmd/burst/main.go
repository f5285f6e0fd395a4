// Command burst runs research jobs: on this machine by default, on Slurm
// clusters and in the cloud as they are added. See `burst help`.
package main

import (
	"os"

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
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
