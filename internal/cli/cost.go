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
nano-dollars (nusd, total_nusd): they add up exactly.

Results the cache served (--cache) cost nothing: what they saved, the
cost of the runs whose results they reused, is a line below the total
and, by job, project or user, a SAVED column (-o json: saved_nusd and
cache_hits, and saved_nusd per line). It is not part of the total.`,
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
				// A SAVED column where the cache saved something and
				// the groups are ones a hit belongs to.
				saved := r.SavedNUSD != 0 && (by == "job" || by == "project" || by == "user")
				savedCell := func(l burst.CostLine) string {
					if !saved {
						return ""
					}
					return "\t" + usdOrDash(l.SavedUSD)
				}
				head, pad := strings.ToUpper(by)+"\tCOST", ""
				if by == "tier" { // --by kind by another name: its lines are kinds (task, idle, storage:TIER)
					head = "KIND\tCOST"
				}
				if by == "job" { // in the order of their ids, with their names
					head, pad = "JOB\tNAME\tCOST", "\t"
				}
				if saved {
					head += "\tSAVED"
				}
				fmt.Fprintln(tw, head)
				for _, l := range r.Lines {
					name := ""
					if by == "job" {
						name = dash(l.Name) + "\t"
					}
					fmt.Fprintf(tw, "%s\t%s%s%s\n", l.Key, name, usd(l.USD), savedCell(l))
				}
				if plainOut(w) {
					return costTotalNote(w, tw, r)
				}
				total := fmt.Sprintf("TOTAL\t%s%s\t", pad, usd(r.TotalUSD))
				if saved {
					total += usd(r.SavedUSD) + "\t"
				}
				fmt.Fprintf(tw, "%s(exactly %s)\n", total, exactUSD(r.TotalNUSD))
				if err := tw.Flush(); err != nil {
					return err
				}
				return costSavedNote(w, r)
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
	if _, err := fmt.Fprintf(w, "total %s (exactly %s)\n", usd(r.TotalUSD), exactUSD(r.TotalNUSD)); err != nil {
		return err
	}
	return costSavedNote(w, r)
}

// costSavedNote says what the cache saved, when it saved anything: not
// part of the total.
func costSavedNote(w io.Writer, r *burst.CostReport) error {
	if r.CacheHits == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "saved by the cache: %s (exactly %s) in %s, what the runs they reused cost; not part of the total\n",
		usd(r.SavedUSD), exactUSD(r.SavedNUSD), burst.Plural(int(r.CacheHits), "hit"))
	return err
}
