package cli

import (
	"fmt"

	"github.com/burst-sh/burst/client"

	"github.com/spf13/cobra"
)

func newCancelCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "cancel JOB...",
		Short: "Cancel jobs: queued tasks never start, running ones are stopped",
		Long: `Cancel jobs. Running tasks get SIGTERM to their whole process group and
SIGKILL after a grace period, so nothing they started is left behind.
Cancelling a job that already finished is not an error: burst says so.
The id of one task of a job array (each has its own, as in Slurm: the
SLURM_JOB_ID it saw), or ARRAYID_INDEX, cancels that task alone.
While the server's disk is full (it takes no new work), a cancel still
stops the running tasks at once; it is recorded once there is room, and
burst says so.`,
		Example: `  burst cancel 12
  burst cancel 12 13 14
  burst cancel 40_7          # index 7 of job array 40 alone`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 { // as from an empty $(burst jobs -q ...)
				return usage("cancel: no job id given, so nothing to cancel: name jobs, e.g. burst cancel 12 13 (an empty $(burst jobs -q ...) names none)")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkJobRefs(args); err != nil { // bad input before anything is done
				return err
			}
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			var failed error
			for _, a := range args {
				ref, err := resolveJob(c.Context(), cl, a)
				var r *client.CancelResult
				if err == nil && ref.Task >= 0 {
					r, err = cl.CancelTask(c.Context(), ref.JobID, ref.Task)
				} else if err == nil {
					r, err = cl.Cancel(c.Context(), ref.JobID)
				}
				if err != nil {
					fmt.Fprintf(c.ErrOrStderr(), "burst: %v\n", err)
					failed = &ExitError{Code: 2}
					continue
				}
				what := fmt.Sprintf("job %s", a)
				if ref.Task >= 0 {
					what = fmt.Sprintf("job %s (task %d of array job %d, index %d)", a, ref.Task, ref.JobID, ref.ArrayIndex)
				}
				switch {
				case r.AlreadyFinished:
					fmt.Fprintf(c.OutOrStdout(), "%s had already finished (%s)\n", what, r.State)
				case r.Held != "":
					fmt.Fprintf(c.OutOrStdout(), "%s cancelled: %s\n", what, r.Held) // the disk is full
				default:
					fmt.Fprintf(c.OutOrStdout(), "%s cancelled\n", what)
				}
			}
			return failed
		},
	}
	return c
}
