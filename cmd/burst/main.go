// Command burst runs research jobs: on this machine by default, on Slurm
// clusters and in the cloud as they are added. See `burst help`.
package main

import (
	"os"

	"github.com/burst-sh/burst/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
