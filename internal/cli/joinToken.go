package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst/client"
)

func newJoinTokenCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "join-token",
		Short: "Make, list and revoke the one-time tokens machines join with",
		Long: `A join token lets one machine join this server: on the new machine, run the
command ` + "`burst join-token create`" + ` prints,

    BURST_JOIN_URL='https://HOST:PORT/TOKEN#sha256:CAHASH' burst agent

(the URL in the agent's environment, not on its command line, where ps
would show it to every user of the machine), which checks the server's CA by its hash, exchanges the token (once, before
it expires) for the machine's own credential, and serves the server from
then on. The credential serves the agent protocol only; ` + "`burst machine\nrevoke MACHINE`" + ` ends it (docs/security-join.md).`,
		Example: `  burst join-token create --cluster lab --ttl 30m
  burst join-token list
  burst join-token revoke 3`,
		RunE: parentRun,
	}
	c.AddCommand(newJoinTokenCreateCmd(), newJoinTokenListCmd(), newJoinTokenRevokeCmd())
	return c
}

func newJoinTokenCreateCmd() *cobra.Command {
	var out, cluster string
	var ttl time.Duration
	c := &cobra.Command{
		Use:   "create",
		Short: "Make a join token and print the command a new machine runs",
		Long: `Make a join token: random, used once, expiring after --ttl (at most 24h).
It prints the command to run on the machine that should join. The server
keeps only the token's hash; the token is shown once.

The cluster must be one of the joined provider, whose machines burst does
not start (` + "`burst cluster create lab --provider joined --project mars`" + `);
the machine is then a machine of that cluster and its project. Without
--cluster the token is for the cluster "joined" of project default, made
on first use.

A server that listens on loopback only gives a plain http:// URL, for
agents on this host (and Slurm pilots on nodes that reach its 127.0.0.1);
to join other machines, start it with ` + "`burst server --listen HOST:PORT`" + `.`,
		Example: `  burst join-token create
  burst cluster create lab --provider joined --project mars
  burst join-token create --cluster lab --ttl 30m`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if ttl <= 0 || ttl > 24*time.Hour {
				return usage("--ttl %s: give a duration above 0 and at most 24h, such as 1h or 30m", ttl)
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.JoinToken, error) {
				return cl.CreateJoinToken(ctx, &client.JoinTokenSpec{Cluster: cluster, TTL: ttl.String()})
			}, func(w io.Writer, t *client.JoinToken) error {
				fmt.Fprintf(w, "On the machine to join cluster %s (project %s: it will run that project's work), run (once, before %s):\n\n    %s\n\n",
					t.Cluster, t.Project, t.Expires.Local().Format("2006-01-02 15:04 MST"), t.Command)
				if strings.HasPrefix(t.URL, "http://") {
					fmt.Fprintln(w, "The server listens on loopback only: this URL serves agents on this host (and Slurm pilots that reach its 127.0.0.1).\n"+
						"To join machines elsewhere, restart it with `burst server --listen HOST:PORT` and make a new token.")
				}
				return nil
			})
		},
	}
	outFlag(c, &out)
	c.Flags().StringVar(&cluster, "cluster", "", "cluster the machine joins, of the joined provider (burst cluster create NAME --provider joined --project P); default: the cluster joined of project default, created on first use")
	c.Flags().DurationVar(&ttl, "ttl", time.Hour, "how long the token may be used (at most 24h)")
	return c
}

func newJoinTokenListCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List join tokens (never their secrets)",
		Example: `  burst join-token list`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]client.JoinTokenInfo, error) {
				return cl.JoinTokens(ctx)
			}, func(w io.Writer, ts []client.JoinTokenInfo) error {
				tw := table(w)
				fmt.Fprintln(tw, "ID\tCLUSTER\tSTATE\tEXPIRES\tMACHINE\tBY"+wideCells(w, "CREATED", "USED"))
				now := time.Now()
				for _, t := range ts {
					used := "-"
					if t.Used != nil {
						used = timeOrDash(*t.Used)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s%s\n", t.ID, t.Cluster, t.State(now),
						t.Expires.Local().Format("2006-01-02 15:04"), dash(t.UsedBy), t.CreatedBy,
						wideCells(w, timeOrDash(t.Created), used))
				}
				return tw.Flush()
			})
		},
	}
	listFlags(c, &out)
	return c
}

func newJoinTokenRevokeCmd() *cobra.Command {
	c := &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke a join token not used yet",
		Example: `  burst join-token revoke 3`,
		Args:    argsAtLeast(1, "join token id (see `burst join-token list`)"),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 || len(args) > 1 {
				return usage("join-token revoke %s: give one token id, a number from `burst join-token list`", strings.Join(args, " "))
			}
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := cl.RevokeJoinToken(c.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "join token %d revoked: no machine can join with it\n", id)
			return nil
		},
	}
	return c
}
