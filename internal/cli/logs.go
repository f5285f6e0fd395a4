package cli

import (
	"github.com/spf13/cobra"

	"github.com/burst-sh/burst/client"
)

func newLogsCmd() *cobra.Command {
	var (
		followF bool
		stderrF bool
		task    int
	)
	c := &cobra.Command{
		Use:   "logs JOB",
		Short: "Print a job's output (stdout, or stderr with --stderr)",
		Long: `Print what a task of a job wrote. Output is kept in files under
$BURST_HOME/logs (or where an #SBATCH --output said), so it can be read
while the job runs and after it ended. With -f, keep printing new output
until the task ends.`,
		Example: `  burst logs 12
  burst logs 12 -f
  burst logs 12 --stderr`,
		Args: argsAtLeast(1, "job id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			if task < 0 {
				return usage("--task %d: tasks are numbered from 0", task)
			}
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			stream, w := "stdout", c.OutOrStdout()
			if stderrF {
				stream = "stderr"
			}
			if followF {
				if _, err := cl.Job(c.Context(), id); err != nil {
					return err
				}
				return streamLogs(c.Context(), &conn{c: cl, stderr: c.ErrOrStderr()}, id, task, stream, w)
			}
			return cl.Logs(c.Context(), id, client.LogsQuery{Task: task, Stream: stream}, w)
		},
	}
	c.Flags().BoolVarP(&followF, "follow", "f", false, "keep printing output until the task ends")
	c.Flags().BoolVar(&stderrF, "stderr", false, "print stderr instead of stdout")
	c.Flags().IntVar(&task, "task", 0, "which task of the job (from 0)")
	return c
}
