package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst/internal/home"
	"github.com/burst-sh/burst/internal/server"
)

func newServerCmd() *cobra.Command {
	var port int
	c := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane in the foreground",
		Long: `Run burst's control plane: the HTTP API (under /v1/) on a unix socket in
$BURST_HOME and on 127.0.0.1, the durable job queue, the scheduler and an
agent for this machine. Every request needs the bearer token kept (0600) in
$BURST_HOME/token, created on first start.

You rarely need this: any burst command starts a server in the background
when none runs. Stopping the server does not stop running jobs; they go on
and the next server picks them up.`,
		Example: `  burst server
  burst server --port 8080
  BURST_HOME=/scratch/me/burst burst server --port 0   # any free port`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			h, err := home.Resolve()
			if err != nil {
				return usage("%v", err)
			}
			if !c.Flags().Changed("port") {
				port = -1
				if v := os.Getenv("BURST_PORT"); v != "" {
					p, err := strconv.Atoi(v)
					if err != nil || p < 0 || p > 65535 {
						return usage("BURST_PORT=%s: use a port number from 0 to 65535", v)
					}
					port = p
				}
			} else if port < 0 || port > 65535 {
				return usage("--port %d: use a port number from 0 to 65535", port)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			defer startProfile("server")()
			log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), nil))
			s, err := server.Start(ctx, server.Config{Home: h, Port: port, Log: log})
			if err != nil {
				return usage("cannot start the server: %v", err)
			}
			fmt.Fprintf(c.ErrOrStderr(), "burst server on %s and unix://%s (token in %s)\n", s.Addr(), h.Socket(), h.Token())
			<-ctx.Done()
			s.Shutdown()
			return nil
		},
	}
	c.Flags().IntVar(&port, "port", server.DefaultPort, "TCP port on 127.0.0.1 (0: any free port; env BURST_PORT)")
	return c
}
