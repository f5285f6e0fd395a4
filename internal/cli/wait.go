package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
)

func newWaitCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "wait JOB...",
		Short: "Wait for jobs to finish; exit with the job's status",
		Long: `Wait until every job named has finished and print how each ended. With one
job, burst exits with that job's status (as burst run does); with several,
0 if all succeeded and 1 otherwise.`,
		Example: `  id=$(burst run -d -- ./fit.sh); burst wait $id
  burst wait 12 13 14`,
		Args: argsAtLeast(1, "job id"),
		RunE: func(c *cobra.Command, args []string) error {
			ids, err := parseJobIDs(args)
			if err != nil {
				return err
			}
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			var jobs []*burst.Job
			for _, id := range ids {
				j, err := waitJob(c.Context(), &conn{c: cl, stderr: c.ErrOrStderr()}, id)
				if err != nil {
					return err
				}
				jobs = append(jobs, j)
				fmt.Fprintf(c.OutOrStdout(), "job %d %s%s\n", j.ID, j.State, exitSuffix(j))
			}
			if len(jobs) == 1 {
				if err := jobExit(jobs[0]); err != nil {
					return &ExitError{Code: err.(*ExitError).Code}
				}
				return nil
			}
			for _, j := range jobs {
				if j.State != burst.Succeeded {
					return &ExitError{Code: 1}
				}
			}
			return nil
		},
	}
	return c
}

func exitSuffix(j *burst.Job) string {
	s := ""
	if j.ExitCode != nil {
		s = fmt.Sprintf(" (exit %d)", *j.ExitCode)
	}
	if j.Reason != "" && j.State != burst.Succeeded {
		s += ": " + j.Reason
	}
	return s
}
