package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func newUserCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "user",
		Short: "Add, list and remove the people who use this server, and give them credentials",
		Long: `A server shared by a lab knows its users: each has credentials of their own
(burst user token) and a role in each project they work on (burst project
grant). The audit trail names the user a credential belongs to. Only an
admin (the server's own token, or a user added with --admin) manages users.

With no user added, nothing changes: whoever holds the server's token is
the admin (docs/security-users.md).`,
		Example: `  burst user add alice
  burst user token alice          # prints her credential once: give it to her
  burst project grant mars alice --role member
  burst user list
  burst user token alice --revoke-all   # a new one; her old ones stop working
  burst user token revoke alice         # cut all of hers, give no new one
  burst user rm alice`,
		RunE: parentRun,
	}
	c.AddCommand(newUserAddCmd(), newUserListCmd(), newUserRmCmd(), newUserTokenCmd())
	return c
}

func newUserAddCmd() *cobra.Command {
	var admin, metrics bool
	var out string
	c := &cobra.Command{
		Use:   "add NAME [--admin | --metrics]",
		Short: "Add a user (then give them a credential: burst user token NAME)",
		Long: `Add a user. --admin makes them an admin of everything. --metrics adds a
metrics-only user, for a Prometheus server: its credentials read GET
/metrics and nothing else, and it holds no role (docs/metrics.md).`,
		Example: "  burst user add alice\n  burst user add carol --admin\n" +
			"  burst user add prom --metrics && burst user token prom > /etc/prometheus/burst.token",
		Args: argsAtLeast(1, "user name"),
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.User, error) {
				if metrics && !admin {
					return cl.AddMetricsUser(ctx, args[0])
				}
				if metrics {
					return nil, fmt.Errorf("--admin and --metrics exclude each other: a metrics user reads /metrics only (an admin may read it too)")
				}
				return cl.AddUser(ctx, args[0], admin)
			}, func(w io.Writer, u *client.User) error {
				what := "user"
				if u.Admin {
					what = "admin"
				} else if u.Metrics {
					what = "metrics user"
				}
				_, err := fmt.Fprintf(w, "%s %s added: give them a credential with `burst user token %s`\n", what, u.Name, u.Name)
				return err
			})
		},
	}
	c.Flags().BoolVar(&admin, "admin", false, "make them an admin: every role in every project, and users")
	c.Flags().BoolVar(&metrics, "metrics", false, "a metrics-only user (a Prometheus server): reads GET /metrics and nothing else")
	outFlag(c, &out)
	return c
}

func newUserListCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List users and their roles",
		Example: "  burst user list\n  burst user list -o json",
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]client.User, error) {
				return cl.Users(ctx)
			}, func(w io.Writer, us []client.User) error {
				tw := table(w)
				fmt.Fprintln(tw, "NAME\tADMIN\tROLES\tADDED")
				for _, u := range us {
					var roles []string
					for _, g := range u.Grants {
						roles = append(roles, g.Project+":"+g.Role)
					}
					admin := "-"
					if u.Admin {
						admin = "yes"
					} else if u.Metrics {
						admin = "metrics only"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, admin, dash(strings.Join(roles, ", ")), u.Created.Local().Format("2006-01-02 15:04"))
				}
				return tw.Flush()
			})
		},
	}
	listFlags(c, &out)
	return c
}

func newUserRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME",
		Short:   "Remove a user: their credentials stop working at once, their roles go",
		Example: "  burst user rm alice",
		Args:    argsAtLeast(1, "user name"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := cl.RemoveUser(c.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "user %s removed: their credentials no longer work\n", args[0])
			return nil
		},
	}
}

func newUserTokenCmd() *cobra.Command {
	var revokeAll bool
	var out string
	c := &cobra.Command{
		Use:   "token NAME [--revoke-all] | token revoke NAME",
		Short: "Print a new credential for a user (shown once), or revoke theirs",
		Long: `burst user token NAME prints a new credential for NAME, once: the server keeps
only its SHA-256. Give it to them; they use it with BURST_SERVER and
BURST_TOKEN (or burst login), and to sign in to the dashboard. Their other
credentials keep working unless --revoke-all is given.

burst user token revoke NAME cuts every credential of NAME at once and
makes no new one.`,
		Example: `  burst user token alice
  burst user token alice --revoke-all
  burst user token revoke alice`,
		Args: argsAtLeast(1, "user name (or: revoke NAME)"),
		RunE: func(c *cobra.Command, args []string) error {
			if args[0] == "revoke" {
				if len(args) < 2 {
					return usage("burst user token revoke: missing the user's name (burst user token revoke NAME)")
				}
				return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.UserToken, error) {
					return cl.RevokeUserTokens(ctx, args[1])
				}, func(w io.Writer, t *client.UserToken) error {
					var err error
					switch t.Revoked {
					case 0:
						_, err = fmt.Fprintf(w, "%s had no credential: nothing to revoke\n", t.User)
					case 1:
						_, err = fmt.Fprintf(w, "revoked 1 credential of %s: it stops working now\n", t.User)
					default:
						_, err = fmt.Fprintf(w, "revoked %d credentials of %s: they stop working now\n", t.Revoked, t.User)
					}
					return err
				})
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.UserToken, error) {
				return cl.NewUserToken(ctx, args[0], revokeAll)
			}, func(w io.Writer, t *client.UserToken) error {
				fmt.Fprintln(w, t.Token)
				if revokeAll {
					fmt.Fprintf(c.ErrOrStderr(), "a new credential for %s, shown once; revoked %s\n", t.User, burst.Plural(t.Revoked, "older credential"))
				} else {
					fmt.Fprintf(c.ErrOrStderr(), "a new credential for %s, shown once; their others still work (cut them: burst user token revoke %s)\n", t.User, t.User)
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&revokeAll, "revoke-all", false, "cut every other credential of the user first")
	outFlag(c, &out)
	return c
}
