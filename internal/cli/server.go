package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/home"
	"github.com/burst-sh/burst/internal/server"
)

func newServerCmd() *cobra.Command {
	var (
		port   int
		listen string
	)
	c := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane in the foreground",
		Long: `Run burst's control plane: the HTTP API (under /v1/) on a unix socket in
$BURST_HOME and on 127.0.0.1, the durable job queue, the scheduler and an
agent for this machine. Every request needs the bearer token kept (0600) in
$BURST_HOME/token, created on first start.

You rarely need this: any burst command starts a server in the background
when none runs. Stopping the server does not stop running jobs; they go on
and the next server picks them up. One server serves a $BURST_HOME: a
second one exits with status 10.`,
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
			if listen != "" {
				if _, _, err := net.SplitHostPort(listen); err != nil {
					return usage("--listen %s: give HOST:PORT, e.g. 0.0.0.0:7780 or 10.0.0.5:7780", listen)
				}
			}
			s, err := server.Start(ctx, server.Config{Home: h, Port: port, Listen: listen, Log: log})
			if errors.Is(err, server.ErrRunning) {
				// A CLI that started this one in a race with another sees
				// the code and uses the server that won.
				return &ExitError{Code: client.ExitServerRunning, Msg: "cannot start the server: " + err.Error()}
			}
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
	c.Flags().StringVar(&listen, "listen", "", "listen on this HOST:PORT instead of 127.0.0.1 (e.g. 0.0.0.0:7780), so that agents on other machines (Slurm pilots on compute nodes) reach the server; every request still needs the token")
	c.AddCommand(newServerStopCmd())
	return c
}

func newServerStopCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "stop",
		Short: "Stop the local server of $BURST_HOME",
		Long: `Stop the server of $BURST_HOME (the one the CLI starts by itself) and wait
until it has exited. Running jobs go on: their agents keep running them,
and the next burst command starts a server again, which picks them up.`,
		Example: `  burst server stop
  BURST_HOME=/scratch/me/burst burst server stop`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if os.Getenv("BURST_SERVER") != "" {
				return usage("BURST_SERVER is set: burst server stop stops only the local server of $BURST_HOME; stop that one where it runs, or unset BURST_SERVER")
			}
			h, err := home.Resolve()
			if err != nil {
				return usage("%v", err)
			}
			token, _ := h.ReadToken()
			cl, err := client.New("unix://"+h.Socket(), token)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), 5*time.Second)
			defer cancel()
			info, err := cl.Health(ctx)
			if err != nil || info.PID <= 0 {
				fmt.Fprintf(c.OutOrStdout(), "no burst server runs for %s\n", h)
				return nil
			}
			if err := syscall.Kill(info.PID, syscall.SIGTERM); err != nil {
				return fmt.Errorf("stop the server (pid %d): %w", info.PID, err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for syscall.Kill(info.PID, 0) == nil {
				if time.Now().After(deadline) {
					return fmt.Errorf("the server (pid %d) did not exit within 20 s: see %s", info.PID, h.ServerLog())
				}
				time.Sleep(20 * time.Millisecond)
			}
			fmt.Fprintf(c.OutOrStdout(), "burst server (pid %d) stopped; running jobs go on\n", info.PID)
			return nil
		},
	}
}
