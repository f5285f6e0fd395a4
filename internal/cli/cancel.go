package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newCancelCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "cancel JOB...",
		Short: "Cancel jobs: queued tasks never start, running ones are stopped",
		Long: `Cancel jobs. Running tasks get SIGTERM to their whole process group and
SIGKILL after a grace period, so nothing they started is left behind.
Cancelling a job that already finished is not an error: burst says so.`,
		Example: `  burst cancel 12
  burst cancel 12 13 14`,
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
			var failed error
			for _, id := range ids {
				r, err := cl.Cancel(c.Context(), id)
				if err != nil {
					fmt.Fprintf(c.ErrOrStderr(), "burst: %v\n", err)
					failed = &ExitError{Code: 2}
					continue
				}
				if r.AlreadyFinished {
					fmt.Fprintf(c.OutOrStdout(), "job %d had already finished (%s)\n", id, r.State)
				} else {
					fmt.Fprintf(c.OutOrStdout(), "job %d cancelled\n", id)
				}
			}
			return failed
		},
	}
	return c
}
