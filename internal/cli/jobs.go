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
		Long: `List jobs, newest first, with what each cost so far.

TASKS is how many of the job's tasks have ended, however they ended, of
all of them: a map of 2 cancelled before either ran reads 2/2. burst show
JOB says how many succeeded, failed, were cancelled or wait.`,
		Example: `  burst jobs
  burst jobs --state running --state queued
  burst jobs --project mars -o json
  burst jobs -o wide                          # also USER, KIND, REASON; names uncut
  burst jobs -q --state queued | xargs -r burst cancel   # -q: only the ids, one a line (-r: none, no cancel)`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOut(c, out); err != nil {
				return err
			}
			q := client.JobsQuery{Project: project, Limit: limit}
			for _, s := range states {
				st := burst.State(s)
				if !st.Valid() {
					return usage("--state %s: use queued, running, succeeded, failed, cancelled, timeout or lost", s)
				}
				q.States = append(q.States, st)
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]burst.Job, error) {
				jobs, err := cl.Jobs(ctx, q)
				if err == nil && len(jobs) == 0 && project != "" {
					// None listed: a project that does not exist (or that
					// this user may not see) is said, not shown as empty.
					if _, perr := cl.Project(ctx, project); perr != nil {
						return nil, perr
					}
				}
				return jobs, err
			}, func(w io.Writer, jobs []burst.Job) error {
				if err := jobsTable(w, jobs); err != nil || len(jobs) > 0 {
					return err
				}
				if project != "" || len(states) > 0 {
					emptyNote(w, "burst: no jobs match --project/--state (burst jobs lists them all)")
				} else {
					emptyNote(w, "burst: no jobs yet: burst run -- echo hello runs one (burst help run)")
				}
				return nil
			})
		},
	}
	listFlags(c, &out)
	c.Flags().StringVar(&project, "project", "", "only jobs of this project")
	c.Flags().StringArrayVar(&states, "state", nil, "only jobs in this state (repeatable)")
	c.Flags().IntVar(&limit, "limit", 50, "at most this many jobs")
	return c
}

func jobsTable(w io.Writer, jobs []burst.Job) error {
	tw := table(w)
	fmt.Fprintln(tw, "ID\tNAME\tPROJECT\tSTATE\tTASKS\tCPUS\tMEM\tGPUS\tSUBMITTED\tDURATION\tCOST\tEXIT"+
		wideCells(w, "USER", "KIND", "REASON"))
	for _, j := range jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s%s\n", j.ID, cutUnlessWide(w, j.Name, 24),
			cutUnlessWide(w, j.Project, 16), j.State, taskSummary(j.Tasks), j.CPUs, bytesHuman(j.MemBytes), j.GPUs,
			ago(j.SubmittedAt), jobDuration(j), usd(j.CostUSD), exitText(j.ExitCode),
			wideCells(w, dash(clean(j.User)), dash(j.Kind), dash(clean(jobReason(j)))))
	}
	return tw.Flush()
}

// jobReason is why a job ended, or what a job held by its dependencies
// or its begin time waits for.
func jobReason(j burst.Job) string {
	if j.Reason == "" && (j.Dependency != "" || !j.Begin.IsZero() && j.State == burst.Queued) {
		return localTimes(j.Waiting)
	}
	return localTimes(j.Reason)
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

// checkJobRefs refuses, before anything is asked of the server, an argument
// that is neither a job id nor Slurm's ARRAYID_INDEX.
func checkJobRefs(args []string) error {
	for _, a := range args {
		id, index, isArray := strings.Cut(a, "_")
		if _, err := parseJobID(id); err != nil {
			return err
		}
		if n, err := strconv.Atoi(index); isArray && (err != nil || n < 0) {
			return usage("%q is not a job id: write a job's id (12), or a job array's id and index (12_3)", a)
		}
	}
	return nil
}

// resolveJob asks the server what a job id argument (checked by
// checkJobRefs) names: a job, or one task of a job array (its own id, or
// ARRAYID_INDEX as in Slurm).
func resolveJob(ctx context.Context, cl *client.Client, arg string) (*client.IDRef, error) {
	return cl.ResolveID(ctx, arg)
}

// parseJobID reads a job id argument.
func parseJobID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usage("%q is not a job id: job ids are numbers, see `burst jobs`", s)
	}
	return id, nil
}
