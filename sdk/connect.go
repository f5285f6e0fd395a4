package sdk

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/burst-sh/burst/client"
)

// Connect returns a client for the burst server, found as the burst CLI
// finds it: BURST_SERVER (with BURST_TOKEN, or the token file of
// $BURST_HOME) if set; else the local server of $BURST_HOME (default
// ~/.burst), through its unix socket and token file. If no local server
// answers, Connect starts `burst server` (the burst found on PATH) in the
// background, as the CLI does, and says so on stderr; the server outlives
// the program. It checks that the server answers before it returns.
func Connect(ctx context.Context) (*client.Client, error) {
	exe, _ := exec.LookPath("burst") // "": Discover says to run `burst server`
	c, err := client.Discover(ctx, exe, os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("burst: %w", err)
	}
	if _, err := c.Health(ctx); err != nil {
		where := "its server"
		if addr := os.Getenv("BURST_SERVER"); addr != "" {
			where = "the server at BURST_SERVER=" + addr
		}
		return nil, fmt.Errorf("burst: %s does not answer: %w", where, err)
	}
	return c, nil
}
