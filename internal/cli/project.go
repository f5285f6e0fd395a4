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

func newProjectCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "project",
		Short: "Create, change and list projects: budgets, end dates, guardrails",
		Long: `A project owns jobs, clusters and their machines, and the storage their
output takes; it has a budget in US dollars, an end date, tags and a
description. Every job belongs to one (--project; default: default).

Spending is metered as it happens. Warnings go to the audit trail when it
crosses the --warn thresholds (default 50% and 80%); at 100% the guardrail
stops new work, holds what waits and stops the project's machines (their
tasks are requeued), and with --on-exhausted cancel also cancels its jobs.
Raising the budget lifts the guardrail: held work runs again.`,
		Example: `  burst project create mars --budget 100 --ends 2027-05-10 --tag nasa
  burst project set mars --budget 150
  burst project list
  burst project show mars
  burst project grant mars alice --role member`,
		RunE: parentRun,
	}
	c.AddCommand(newProjectCreateCmd(), newProjectSetCmd(), newProjectListCmd(), newProjectShowCmd(),
		newProjectGrantCmd(), newProjectRevokeCmd())
	return c
}

// projectFlags are the flags that create or change a project.
type projectFlags struct {
	budget      string
	ends        string
	tags        []string
	description string
	warn        string
	onExhausted string
	out         string
}

// projectCmd makes c, the command that creates a project (set false) or
// changes one (set true), with the flags that say how.
func projectCmd(c *cobra.Command, set bool) *cobra.Command {
	var f projectFlags
	c.Args = argsAtLeast(1, "project name")
	c.RunE = func(c *cobra.Command, args []string) error {
		if err := checkOut(c, f.out); err != nil {
			return err
		}
		spec, err := f.spec(c, args[0])
		if err != nil {
			return err
		}
		done := " created"
		if set {
			if spec.BudgetUSD == nil && spec.Ends == nil && spec.Tags == nil && spec.Description == nil &&
				spec.Warn == nil && spec.OnExhausted == nil {
				return usage("nothing to change: give --budget, --ends, --tag, --description, --warn or --on-exhausted (see `burst project set --help`)")
			}
			done = ""
		}
		return fetch(c, f.out, func(ctx context.Context, cl *client.Client) (*burst.Project, error) {
			if set {
				return cl.UpdateProject(ctx, spec)
			}
			return cl.CreateProject(ctx, spec)
		}, func(w io.Writer, p *burst.Project) error {
			fmt.Fprintf(w, "project %s%s: %s\n", p.Name, done, projectSummary(p))
			return nil
		})
	}
	fl := c.Flags()
	fl.StringVar(&f.budget, "budget", "", "budget in US dollars, e.g. 100 or 2500.50 (0: no budget)")
	if set {
		fl.StringVar(&f.ends, "ends", "", "end date, YYYY-MM-DD ('' clears it)")
		fl.StringArrayVar(&f.tags, "tag", nil, "tag (repeatable; the tags given replace the project's, --tag '' clears them)")
	} else {
		fl.StringVar(&f.ends, "ends", "", "end date, YYYY-MM-DD (default: open-ended)")
		fl.StringArrayVar(&f.tags, "tag", nil, "tag (repeatable)")
	}
	fl.StringVar(&f.description, "description", "", "what the project is, in a few words")
	fl.StringVar(&f.warn, "warn", "", "warning thresholds, e.g. 50%,80%,95% (default 50%,80%)")
	fl.StringVar(&f.onExhausted, "on-exhausted", "", "what happens when the budget is spent: stop (hold work, stop machines; default) or cancel (also cancel the project's jobs)")
	outFlag(c, &f.out)
	return c
}

// spec is a ProjectSpec with the fields of the flags given set, and only
// those.
func (f *projectFlags) spec(c *cobra.Command, name string) (*burst.ProjectSpec, error) {
	ch := c.Flags().Changed
	spec := &burst.ProjectSpec{Name: name}
	if ch("budget") {
		n, err := cost.ParseUSD(f.budget)
		if err != nil {
			msg := err.Error()
			if q := fmt.Sprintf("budget %q", f.budget); strings.HasPrefix(msg, q) {
				msg = "--budget " + f.budget + strings.TrimPrefix(msg, q)
			} else {
				msg = "--budget: " + msg
			}
			return nil, usage("%s", msg)
		}
		v := n.Dollars()
		spec.BudgetUSD = &v
	}
	if ch("ends") {
		spec.Ends = &f.ends
	}
	if ch("tag") {
		tags := append([]string{}, f.tags...)
		spec.Tags = &tags
	}
	if ch("description") {
		spec.Description = &f.description
	}
	if ch("warn") {
		spec.Warn = &f.warn
	}
	if ch("on-exhausted") {
		spec.OnExhausted = &f.onExhausted
	}
	return spec, nil
}

func newProjectCreateCmd() *cobra.Command {
	return projectCmd(&cobra.Command{
		Use:   "create NAME",
		Short: "Create a project, with a budget and an end date if it has them",
		Example: `  burst project create mars --budget 100 --ends 2027-05-10 --tag nasa --tag decades --description "Life on Mars"
  burst project create thesis --budget 250 --warn 50%,80%,95% --on-exhausted cancel
  burst project create scratch                  # no budget, open-ended`,
	}, false)
}

func newProjectSetCmd() *cobra.Command {
	return projectCmd(&cobra.Command{
		Use:   "set NAME",
		Short: "Change a project: only the flags given change",
		Long: `Change a project's budget, end date, tags, description or guardrail. Only
the flags given change. Raising the budget of a project that spent it
lifts the guardrail: its held work runs again.`,
		Example: `  burst project set mars --budget 150
  burst project set mars --ends 2028-01-31 --warn 50%,90%
  burst project set mars --ends ''              # open-ended again
  burst project set mars --tag nasa --tag rovers # replaces the tags`,
	}, true)
}

func newProjectListCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List projects with their budget, spending and forecast",
		Example: `  burst project list
  burst project list -o json | jq '.[] | {name, spent: .budget.spent_usd}'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]burst.Project, error) {
				return cl.Projects(ctx)
			}, projectTable)
		},
	}
	listFlags(c, &out)
	return c
}

func newProjectShowCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a project: its settings and its budget report",
		Example: `  burst project show mars
  burst project show mars -o json | jq .budget.forecast_usd`,
		Args: argsAtLeast(1, "project name"),
		RunE: func(c *cobra.Command, args []string) error {
			var members []client.Grant
			var rules []client.StorageRule
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*burst.Project, error) {
				p, err := cl.Project(ctx, args[0])
				if err == nil && out == fmtTable {
					members, err = cl.Members(ctx, args[0])
				}
				if err == nil && out == fmtTable {
					rules, err = projectRules(ctx, cl, args[0]) // storage_refs.go
				}
				return p, err
			}, func(w io.Writer, p *burst.Project) error {
				tw := table(w)
				row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
				row("Project:", p.Name)
				if p.Description != "" {
					row("Description:", p.Description)
				}
				row("Tags:", dash(strings.Join(p.Tags, ", ")))
				row("Created:", p.CreatedAt.Local().Format("2006-01-02 15:04:05"))
				row("Warnings at:", warnText(p.Warn))
				row("When spent:", onExhaustedText(p.OnExhausted))
				var ms []string
				for _, m := range members {
					ms = append(ms, m.User+" ("+m.Role+")")
				}
				row("Members:", dash(strings.Join(ms, ", ")))
				row("Storage rules:", rulesText(rules))
				if p.Budget == nil {
					return tw.Flush()
				}
				return budgetReport(w, tw, p.Budget)
			})
		},
	}
	outFlag(c, &out)
	return c
}

func projectTable(w io.Writer, ps []burst.Project) error {
	tw := table(w)
	fmt.Fprintln(tw, "NAME\tBUDGET\tSPENT\tFORECAST\tENDS\tGUARDRAIL\tTAGS\tDESCRIPTION"+wideCells(w, "CREATED"))
	for _, p := range ps {
		r := p.Budget
		if r == nil {
			r = &burst.BudgetReport{}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\n", p.Name, usdOrDash(p.BudgetUSD), usd(r.SpentUSD),
			usd(r.ForecastUSD), dateOrDash(p), levelText(r), dash(strings.Join(p.Tags, ",")),
			dash(cutUnlessWide(w, p.Description, 32)), wideCells(w, timeOrDash(p.CreatedAt)))
	}
	return tw.Flush()
}

// projectSummary is a project's settings in one line.
func projectSummary(p *burst.Project) string {
	var parts []string
	if p.BudgetUSD > 0 {
		b := "budget " + usd(p.BudgetUSD)
		if p.Ends != nil {
			b += " until " + p.Ends.UTC().Format("2006-01-02")
		}
		parts = append(parts, b)
	} else {
		parts = append(parts, "no budget")
		if p.Ends != nil {
			parts = append(parts, "ends "+p.Ends.UTC().Format("2006-01-02"))
		}
	}
	if p.BudgetUSD > 0 {
		parts = append(parts, "warnings at "+warnText(p.Warn), "when spent: "+p.OnExhausted)
	}
	if len(p.Tags) > 0 {
		parts = append(parts, "tags "+strings.Join(p.Tags, ", "))
	}
	return strings.Join(parts, "; ")
}

func dateOrDash(p burst.Project) string {
	if p.Ends == nil {
		return "-"
	}
	return p.Ends.UTC().Format("2006-01-02")
}

// warnText writes thresholds as percentages: 50%, 80%.
func warnText(w []float64) string {
	if len(w) == 0 {
		return "-"
	}
	out := make([]string, len(w))
	for i, x := range w {
		out[i] = fmt.Sprintf("%.4g%%", x*100)
	}
	return strings.Join(out, ", ")
}

func onExhaustedText(s string) string {
	switch s {
	case burst.OnExhaustedStop:
		return "stop: no new work, held work waits, machines stop (their tasks are requeued)"
	case burst.OnExhaustedCancel:
		return "cancel: no new work, machines stop, the project's jobs are cancelled"
	}
	return dash(s)
}

// levelText is where spending stands, in a word or two.
func levelText(r *burst.BudgetReport) string {
	switch r.Level {
	case "warn":
		return fmt.Sprintf("warn (%.4g%%)", r.Threshold*100)
	case "none", "":
		return "no budget"
	}
	return r.Level
}

func newProjectGrantCmd() *cobra.Command {
	var role string
	c := &cobra.Command{
		Use:   "grant PROJECT USER --role viewer|member|owner",
		Short: "Give a user a role in a project (an owner or admin grants)",
		Long: `Viewers see the project (jobs, logs, costs, budget); members also submit work
and cancel their own; owners also set the budget, cancel anyone's work,
manage the project's clusters and grant roles. Granting again replaces the
role (docs/security-users.md).`,
		Example: "  burst project grant mars alice --role member\n  burst project grant mars bob --role viewer",
		Args:    argsAtLeast(2, "project and user (burst project grant PROJECT USER --role ROLE)"),
		RunE: func(c *cobra.Command, args []string) error {
			if role == "" {
				return usage("burst project grant: give --role viewer, member or owner")
			}
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			g, err := cl.Grant(c.Context(), args[0], args[1], role)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s is now %s of %s\n", g.User, g.Role, g.Project)
			return nil
		},
	}
	c.Flags().StringVar(&role, "role", "", "viewer, member or owner")
	return c
}

func newProjectRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "revoke PROJECT USER",
		Short:   "Take a user's role in a project away",
		Example: "  burst project revoke mars alice",
		Args:    argsAtLeast(2, "project and user (burst project revoke PROJECT USER)"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := cl.Ungrant(c.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s holds no role in %s any more\n", args[1], args[0])
			return nil
		},
	}
}
