package cli

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/spf13/cobra"
)

func newUICmd() *cobra.Command {
	var noOpen bool
	c := &cobra.Command{
		Use:   "ui",
		Short: "Open the dashboard: projects, budgets, machines and jobs, live",
		Long: `Print the address of the dashboard that the burst server serves, with a
one-time sign-in code (valid for 2 minutes, usable once; the address bar
loses it as soon as it is used), and open it in a browser when one is
available. Without the link, sign in at /ui/login with the server's token
(the contents of $BURST_HOME/token).

The dashboard shows each project's budget bar (spent, forecast, budget),
days remaining, running machines and their cost per hour, the guardrail's
state; a project's spending over time with its forecast; its machines (stop
and start them there), storage and jobs; the clusters; and any job with its
output as it runs. Every figure updates live. A server on another machine
serves it on its --listen address.`,
		Example: `  burst ui
  burst ui --no-open      # print the link only`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			code, err := cl.UICode(c.Context())
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), code.URL)
			if noOpen || (os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "") {
				return nil
			}
			for _, opener := range []string{"xdg-open", "sensible-browser"} {
				if p, err := exec.LookPath(opener); err == nil {
					cmd := exec.Command(p, code.URL)
					if cmd.Start() == nil {
						fmt.Fprintln(c.ErrOrStderr(), "burst: opened the dashboard in your browser")
						go cmd.Wait()
						return nil
					}
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&noOpen, "no-open", false, "print the sign-in link without opening a browser")
	return c
}
