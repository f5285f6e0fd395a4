package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func newJobsCmd() *cobra.Command {
	var (
		out     string
		project string
		states  []string
		limit   int
	)
	c := &cobra.Command{
		Use:   "jobs",
		Short: "List jobs, newest first",
		Example: `  burst jobs
  burst jobs --state running --state queued
  burst jobs --project mars -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOut(out); err != nil {
				return err
			}
			q := client.JobsQuery{Project: project, Limit: limit}
			for _, s := range states {
				st := burst.State(s)
				if !validState(st) {
					return usage("--state %s: use queued, running, succeeded, failed, cancelled, timeout or lost", s)
				}
				q.States = append(q.States, st)
			}
			return fetchRead(c, out, func(ctx context.Context, cl *client.Client) ([]burst.Job, error) {
				return cl.Jobs(ctx, q)
			}, jobsTable)
		},
	}
	outFlag(c, &out)
	c.Flags().StringVar(&project, "project", "", "only jobs of this project")
	c.Flags().StringArrayVar(&states, "state", nil, "only jobs in this state (repeatable)")
	c.Flags().IntVar(&limit, "limit", 50, "at most this many jobs")
	return c
}

func jobsTable(w io.Writer, jobs []burst.Job) error {
	tw := table(w)
	fmt.Fprintln(tw, "ID\tNAME\tPROJECT\tSTATE\tTASKS\tCPUS\tMEM\tGPUS\tSUBMITTED\tDURATION\tCOST\tEXIT")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\n", j.ID, truncate(j.Name, 24),
			truncate(j.Project, 16), j.State, taskSummary(j.Tasks), j.CPUs, bytesHuman(j.MemBytes), j.GPUs,
			ago(j.SubmittedAt), jobDuration(j), usd(j.CostUSD), exitText(j.ExitCode))
	}
	return tw.Flush()
}

func validState(s burst.State) bool {
	switch s {
	case burst.Queued, burst.Running, burst.Succeeded, burst.Failed, burst.Cancelled, burst.Timeout, burst.Lost:
		return true
	}
	return false
}

func taskSummary(c burst.TaskCounts) string {
	return fmt.Sprintf("%d/%d", c.Done(), c.Total)
}

func jobDuration(j burst.Job) string {
	if j.StartedAt == nil {
		return "-"
	}
	end := time.Now()
	if j.EndedAt != nil {
		end = *j.EndedAt
	}
	return durHuman(end.Sub(*j.StartedAt))
}

func exitText(p *int) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(*p)
}

// resolveJob asks the server what a job id argument names: a job, or one
// task of a job array (its own id, or ARRAYID_INDEX as in Slurm).
func resolveJob(ctx context.Context, cl *client.Client, arg string) (*client.IDRef, error) {
	if strings.Contains(arg, "_") {
		return cl.ResolveID(ctx, arg)
	}
	id, err := parseJobID(arg)
	if err != nil {
		return nil, err
	}
	return cl.ResolveID(ctx, strconv.FormatInt(id, 10))
}

// parseJobID reads a job id argument.
func parseJobID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usage("%q is not a job id: job ids are numbers, see `burst jobs`", s)
	}
	return id, nil
}
