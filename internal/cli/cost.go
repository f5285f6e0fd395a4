package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/cost"
)

func newCostCmd() *cobra.Command {
	var (
		out     string
		project string
		by      string
	)
	c := &cobra.Command{
		Use:   "cost",
		Short: "Where the money went: cost by job, machine, user, day, project or kind (storage per tier)",
		Long: `Total what was spent, grouped one way (--by, default job), for one project or
all. The lines add up exactly to the total: every charge is kept in
nano-dollars, so nothing is lost to rounding (the total is shown exactly
too). By job, jobs come in the order of their ids, with their names. Beside
jobs (or users, ...) three keys hold what no job used: "idle" is machine time
no task used, charged to the cluster's project, "storage" is what keeping
logs and outputs costs, and "preemption" is what attempts cut short by a
spot interruption had cost: the machine's time is charged once, and the
share of it that bought nothing is booked as lost to preemption, to the
project of the job that lost it. --by kind splits storage per tier:
task, idle, preemption, "storage:ssd", "storage:cold_hdd", ... (--by tier
is the same). -o json gives every line and the total also in
nano-dollars (nusd, total_nusd): they add up exactly.`,
		Example: `  burst cost
  burst cost --project mars --by machine
  burst cost --project mars --by kind
  burst cost --by day -o json | jq .total_nusd`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOut(c, out); err != nil {
				return err
			}
			switch by {
			case "job", "machine", "user", "day", "project", "kind", "tier":
			default:
				return usage("--by %s: use job, machine, user, day, project, kind or tier", by)
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*burst.CostReport, error) {
				r, err := cl.Cost(ctx, by, project)
				if err == nil && r.Lines == nil {
					r.Lines = []burst.CostLine{}
				}
				return r, err
			}, func(w io.Writer, r *burst.CostReport) error {
				tw := table(w)
				if by == "job" { // in the order of their ids, with their names
					fmt.Fprintln(tw, "JOB\tNAME\tCOST")
					for _, l := range r.Lines {
						fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Key, dash(l.Name), usd(l.USD))
					}
					if plainOut(w) {
						return costTotalNote(w, tw, r)
					}
					fmt.Fprintf(tw, "TOTAL\t\t%s\t(exactly %s)\n", usd(r.TotalUSD), exactUSD(r.TotalNUSD))
					return tw.Flush()
				}
				fmt.Fprintf(tw, "%s\tCOST\n", strings.ToUpper(by))
				for _, l := range r.Lines {
					fmt.Fprintf(tw, "%s\t%s\n", l.Key, usd(l.USD))
				}
				if plainOut(w) {
					return costTotalNote(w, tw, r)
				}
				fmt.Fprintf(tw, "TOTAL\t%s\t(exactly %s)\n", usd(r.TotalUSD), exactUSD(r.TotalNUSD))
				return tw.Flush()
			})
		},
	}
	listFlags(c, &out)
	c.Flags().StringVar(&project, "project", "", "only this project's costs")
	c.Flags().StringVar(&by, "by", "job", "group by job, machine, user, day, project or kind (task, idle, preemption, storage:TIER)")
	return c
}

// exactUSD writes nano-dollars with every digit: $0.004213576.
func exactUSD(n int64) string { return cost.NUSD(n).Exact() }

// costTotalNote ends a cost table whose rows alone are asked for
// (--no-headers, -q): the total is a note, on standard error.
func costTotalNote(w io.Writer, tw *tableWriter, r *burst.CostReport) error {
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "total %s (exactly %s)\n", usd(r.TotalUSD), exactUSD(r.TotalNUSD))
	return err
}
