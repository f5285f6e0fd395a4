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
	"github.com/burst-sh/burst/internal/cost"
)

func newBudgetCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "budget PROJECT",
		Short: "Show a project's money: spent, forecast, burn rate, guardrail, machines, storage",
		Long: `Show a project's budget at a glance: what it spent, split into compute
(its tasks' share of their machines), idle machines, what spot
interruptions cut short (lost to preemption) and storage per tier, which
add up to it exactly; the forecast to its end date, what
remains, the burn rate (the cost per hour of what runs now), the
guardrail's state, when the budget runs out at this rate, the machines that
run or are stopped, and the storage its logs and outputs take.

The forecast is spent + running work + trend, and says so in one line:
running work is what the machines and tasks running now will cost until
they are expected to stop (a task at its --time limit, or after running as
long again as it has so far; a machine its idle-stop after its last task,
or at the end when its cluster keeps it; this host only while tasks run),
plus storage kept to the end; the trend is the average daily spend of new
work over the last 14 complete days (UTC; today and the days before the
project began left out, divided by at least 7), times the days left. An
open-ended project is forecast 30 days ahead. Days left count calendar
days (UTC) to the end date, today included; below two days, hours.

Every figure is kept in nano-dollars: -o json gives each also as an
integer (spent_nusd, tasks_nusd, idle_nusd, preemption_nusd, storage_nusd,
storage[].spent_nusd, ...), and "ledger", the ledger by kind (as burst cost
--by kind) read at the same instant: storage accrues every moment, yet
the parts and the ledger agree to the nano-dollar. "Exactly:" says so.`,
		Example: `  burst budget mars
  burst budget mars -o json | jq .forecast_usd
  burst budget mars -o json | jq '[.tasks_nusd, .idle_nusd, .preemption_nusd, .storage_nusd] | add == .spent_nusd'
  burst budget mars -o json | jq '.storage[] | {tier, spent_nusd}'`,
		Args: argsAtLeast(1, "project name"),
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*burst.BudgetReport, error) {
				return cl.Budget(ctx, args[0])
			}, func(w io.Writer, r *burst.BudgetReport) error {
				tw := table(w)
				fmt.Fprintf(tw, "Project:\t%s\n", r.Project)
				return budgetReport(w, tw, r)
			})
		},
	}
	outFlag(c, &out)
	return c
}

// budgetReport ends a table of "Key:\tvalue" rows with a budget report's
// figures, then writes its machines and storage.
func budgetReport(w io.Writer, tw *tableWriter, r *burst.BudgetReport) error {
	budgetRows(tw, r)
	tw.Flush()
	return budgetTables(w, r)
}

// budgetRows writes a budget report's figures as "Key:\tvalue" rows.
func budgetRows(tw *tableWriter, r *burst.BudgetReport) {
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	ends := ""
	if r.Ends != nil {
		ends = r.Ends.UTC().Format("2006-01-02")
	}
	left := ""
	if r.DaysRemaining >= 0 {
		left = " (" + cost.DaysLeftText(r.DaysRemaining) + " left)"
		if r.DaysRemaining == 0 {
			left = " (ended)"
		}
	}
	if r.BudgetUSD > 0 {
		b := usd(r.BudgetUSD)
		if ends != "" {
			b += " until " + ends + left
		} else {
			b += ", open-ended"
		}
		row("Budget:", b)
	} else {
		b := "none (set one with `burst project set " + r.Project + " --budget AMOUNT`)"
		if ends != "" {
			b += "; ends " + ends + left
		}
		row("Budget:", b)
	}
	spent := usd(r.SpentUSD)
	if r.BudgetUSD > 0 {
		spent += fmt.Sprintf(" (%.1f%%)", r.Fraction*100)
	}
	row("Spent:", spent+" = "+spentParts(r))
	if r.SpentNUSD != 0 || r.Ledger != nil {
		row("Exactly:", exactText(r))
	}
	if r.CacheHits > 0 {
		row("Saved:", fmt.Sprintf("%s by the cache (%s; not spent)", usd(r.SavedUSD), burst.Plural(int(r.CacheHits), "hit")))
	}
	if r.ForecastMethod != "" {
		row("Forecast:", r.ForecastMethod)
	} else { // a server from before the forecast said how
		row("Forecast:", usd(r.ForecastUSD))
	}
	if r.BudgetUSD > 0 {
		row("Remaining:", usd(r.RemainingUSD))
	}
	row("Burn:", rate(r.BurnUSDPerHour)+"/h (cost per hour of what runs now)")
	row("Guardrail:", dash(r.Guard))
	if r.BudgetUSD > 0 {
		row("Runs out:", runsOutText(r))
	}
}

// spentParts is what a report's spending went to: compute (the tasks),
// idle machines, preemption and storage per tier, which add up to spent.
func spentParts(r *burst.BudgetReport) string {
	tasks := r.TasksUSD
	if r.SpentNUSD == 0 && r.SpentUSD != 0 { // a server from before the parts were sent
		tasks = r.SpentUSD - r.IdleUSD - r.StorageUSD - r.PreemptionUSD
	}
	out := fmt.Sprintf("compute %s + idle machines %s + lost to preemption %s + storage %s", usd(tasks), usd(r.IdleUSD), usd(r.PreemptionUSD), usd(r.StorageUSD))
	var tiers []string
	for _, l := range r.Storage {
		if l.SpentNUSD != 0 {
			tiers = append(tiers, l.Tier+" "+usd(l.SpentUSD))
		}
	}
	if len(tiers) > 0 {
		out += " (" + strings.Join(tiers, ", ") + ")"
	}
	return out
}

// exactText is spent to the nano-dollar, and whether the ledger, read at
// the same instant, says the same.
func exactText(r *burst.BudgetReport) string {
	out := exactUSD(r.SpentNUSD)
	switch {
	case r.Ledger == nil:
	case r.Ledger.TotalNUSD == r.SpentNUSD:
		out += ", as the ledger (burst cost) at the same instant"
	default:
		out += ", but the ledger holds " + exactUSD(r.Ledger.TotalNUSD) + " (a charge was lost or doubled: restart the server, which reloads the ledger)"
	}
	return out
}

// runsOutText says when the budget is spent at the current burn.
func runsOutText(r *burst.BudgetReport) string {
	switch {
	case r.Level == "exhausted" || r.RemainingUSD <= 0:
		return "already spent"
	case r.ExhaustedAt == nil && r.BurnUSDPerHour <= 0:
		return "not at this rate (nothing that costs runs now)"
	case r.ExhaustedAt == nil:
		return "not at this rate"
	}
	at := r.ExhaustedAt
	s := at.Local().Format("2006-01-02 15:04:05") + " (in " + durHuman(time.Until(*at).Round(time.Second)) + ") at this rate"
	if r.Ends != nil && at.After(*r.Ends) {
		s += ", after the end date"
	}
	return s
}

// budgetTables writes a report's machines and storage.
func budgetTables(w io.Writer, r *burst.BudgetReport) error {
	fmt.Fprintln(w)
	if len(r.Running) == 0 {
		fmt.Fprintln(w, "Running machines: none")
	} else {
		fmt.Fprintln(w, "Running machines:")
		tw := table(w)
		fmt.Fprintln(tw, "  ID\tTYPE\tSTATE\t$/H\tUPTIME\tTASKS")
		for _, m := range r.Running {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\n", m.ID, dash(m.Type), m.State, rate(m.PriceUSDPerHour), uptime(m), m.Tasks)
		}
		tw.Flush()
	}
	if len(r.Stopped) == 0 {
		fmt.Fprintln(w, "Stopped machines: none")
	} else {
		fmt.Fprintln(w, "Stopped machines (they cost nothing until started again):")
		tw := table(w)
		fmt.Fprintln(tw, "  ID\tTYPE\t$/H\tSTOPPED")
		for _, m := range r.Stopped {
			stopped := "-"
			if m.StoppedAt != nil {
				stopped = ago(*m.StoppedAt)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.ID, dash(m.Type), rate(m.PriceUSDPerHour), stopped)
		}
		tw.Flush()
	}
	if len(r.Storage) == 0 {
		fmt.Fprintln(w, "Storage: none")
		return nil
	}
	fmt.Fprintln(w, "Storage:")
	tw := table(w)
	fmt.Fprintln(tw, "  TIER\tSIZE\t$/GB-MONTH\t$/MONTH\tSPENT")
	for _, s := range r.Storage {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.Tier, bytesHuman(s.Bytes), rate(s.USDPerGBMonth), usd(s.USDPerMonth), usd(s.SpentUSD))
	}
	return tw.Flush()
}

// uptime is how long a machine has run: until now if it runs, else until
// it stopped.
func uptime(m burst.Machine) string {
	if m.StartedAt == nil {
		return "-"
	}
	end := time.Now()
	if m.StoppedAt != nil && (m.State == burst.MachineStopped || m.State == burst.MachineTerminated || m.State == burst.MachineLost) {
		end = *m.StoppedAt
	}
	d := end.Sub(*m.StartedAt).Round(time.Second)
	if d >= 0 && d < time.Minute {
		return strconv.Itoa(int(d.Seconds())) + "s" // whole seconds: "0s", not durHuman's "0ms" or "2.0s"
	}
	return durHuman(d)
}
