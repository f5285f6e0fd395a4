package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func newWaitCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "wait JOB...",
		Short: "Wait for jobs to finish; exit with the job's status",
		Long: `Wait until every job named has finished and print how each ended. With one
job, burst exits with that job's status (as burst run does); with several,
0 if all succeeded and 1 otherwise. A job that has not started says why on
stderr, as burst run does (after a second on a terminal, ten elsewhere).`,
		Example: `  id=$(burst run -d -- ./fit.sh); burst wait $id
  burst wait 12 13 14
  burst wait 40_7            # one task of job array 40 (or its own job id)`,
		Args: argsAtLeast(1, "job id"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkJobRefs(args); err != nil { // bad input before anything is done
				return err
			}
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			var jobs []*burst.Job
			for _, a := range args {
				ref, err := resolveJob(c.Context(), cl, a)
				if err != nil {
					return err
				}
				var j *burst.Job
				if ref.Task >= 0 {
					j, err = waitArrayTask(c.Context(), follows(cl), ref)
				} else {
					stop := showWaiting(c.Context(), cl, ref.JobID, c.ErrOrStderr()) // why it has not started, as run says
					j, err = waitJob(c.Context(), cl, ref.JobID)
					stop()
				}
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

// waitArrayTask waits for one task of a job array, named by its own id,
// and gives how it ended as a job of its own (as the script saw it).
func waitArrayTask(ctx context.Context, cl *client.Client, ref *client.IDRef) (*burst.Job, error) {
	for {
		ts, err := cl.Tasks(ctx, ref.JobID, ref.Task, 1)
		if err != nil {
			return nil, err
		}
		if len(ts) == 1 && ts[0].State.Terminal() {
			t := ts[0]
			return &burst.Job{ID: ref.JobID + int64(ref.Task), State: t.State, ExitCode: t.ExitCode, Reason: t.Reason}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func exitSuffix(j *burst.Job) string {
	s := ""
	if j.ExitCode != nil {
		s = fmt.Sprintf(" (exit %d)", *j.ExitCode)
	}
	if j.Reason != "" && j.State != burst.Succeeded {
		s += ": " + localTimes(j.Reason)
	}
	return s
}
