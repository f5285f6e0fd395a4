package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func newEventsCmd() *cobra.Command {
	var (
		out     string
		project string
		follow  bool
		limit   int
	)
	c := &cobra.Command{
		Use:   "events",
		Short: "Show the audit trail: who did what, when, and how it ended",
		Long: `Show the audit trail, oldest first: every project and cluster change, every
machine started or stopped (by a user, the autoscaler or the guardrail),
every budget warning, and every submission refused. Events are never
edited. -f keeps following new events until Ctrl-C.

With -o json: a JSON array, or with -f one JSON object per line (-o yaml:
one YAML document each). -q prints the events' ids; -o wide adds them as a
column.`,
		Example: `  burst events
  burst events --project mars --limit 20
  burst events -f
  burst events -f -o json | jq -r 'select(.result != "ok") | .message'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOut(c, out); err != nil {
				return err
			}
			if limit < 1 {
				return usage("--limit %d: use 1 or more", limit)
			}
			q := client.EventsQuery{Project: project, Limit: limit}
			if !follow {
				return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]burst.Event, error) {
					return cl.Events(ctx, q)
				}, eventsTable)
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cl, err := connect(ctx, c.ErrOrStderr())
			if err != nil {
				return err
			}
			evs, err := cl.Events(ctx, q)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			return followEvents(ctx, follows(cl), c.OutOrStdout(), project, optsOf(c, out), evs)
		},
	}
	listFlags(c, &out)
	c.Flags().StringVar(&project, "project", "", "only this project's events")
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until Ctrl-C")
	c.Flags().IntVar(&limit, "limit", 50, "show at most the newest this many (then follow from there with -f)")
	return c
}

func eventsTable(w io.Writer, evs []burst.Event) error {
	tw := table(w)
	ids := wide(w) || quiet(w) // -q: the events' ids, a wide column
	tw.key = 6
	fmt.Fprintln(tw, "TIME\tACTOR\tKIND\tTARGET\tRESULT\tMESSAGE"+cellsIf(ids, "ID"))
	for _, e := range evs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s%s\n", e.At.Local().Format("2006-01-02 15:04:05"), e.Actor, e.Kind,
			dash(e.Target), e.Result, e.Message, cellsIf(ids, strconv.FormatInt(e.ID, 10)))
	}
	return tw.Flush()
}

// followEvents prints first, then every newer event as it comes, until ctx
// ends (Ctrl-C: not an error). Columns have fixed widths, as the lines come
// one by one.
func followEvents(ctx context.Context, cl *client.Client, w io.Writer, project string, o outOpts, first []burst.Event) error {
	enc := json.NewEncoder(w)
	print := func(e burst.Event) {
		switch {
		case o.format == fmtJSON:
			enc.Encode(e)
			return
		case o.format == fmtYAML: // a stream of YAML documents
			fmt.Fprintln(w, "---")
			writeYAML(w, e)
			return
		case o.quiet:
			fmt.Fprintln(w, e.ID)
			return
		}
		fmt.Fprintf(w, "%-19s  %-10s  %-20s  %-14s  %-7s  %s\n", e.At.Local().Format("2006-01-02 15:04:05"), e.Actor,
			e.Kind, dash(e.Target), e.Result, e.Message)
	}
	if (o.format == fmtTable || o.format == fmtWide) && !o.plain() {
		fmt.Fprintf(w, "%-19s  %-10s  %-20s  %-14s  %-7s  %s\n", "TIME", "ACTOR", "KIND", "TARGET", "RESULT", "MESSAGE")
	}
	var last int64
	for _, e := range first {
		print(e)
		last = e.ID
	}
	for ctx.Err() == nil {
		evs, err := cl.Events(ctx, client.EventsQuery{Project: project, After: last, Limit: 10000, WaitMS: 25000})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, e := range evs {
			print(e)
			last = e.ID
		}
	}
	return nil
}
