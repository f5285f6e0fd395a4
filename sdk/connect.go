package sdk

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/discover"
)

// Connect returns a client for the burst server, found as the burst CLI
// finds it: BURST_SERVER (with BURST_TOKEN, or the credential `burst login`
// kept for it, or the token file of $BURST_HOME) if set; else the server of
// the last `burst login`; else the local server of $BURST_HOME (default
// ~/.burst), through its unix socket and token file. If no local server
// answers, Connect starts `burst server` (the burst found on PATH) in the
// background, as the CLI does, and says so on stderr; the server outlives
// the program. It checks that the server answers before it returns.
//
// The client rides out a server that goes away later (client.DefaultRetry):
// it finds it again as Connect did, starting the local server anew if none
// answers, and asks again (a read always, a change such as a submit only
// if it was never sent: see the client package).
func Connect(ctx context.Context) (*client.Client, error) {
	exe, _ := exec.LookPath("burst") // "": Find says to run `burst server`
	c, err := discover.Connect(ctx, exe, os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("burst: %w", err)
	}
	// Asked once: a server that does not answer now is a setup problem,
	// said at once.
	if _, err := c.WithRetry(client.Retry{}).Health(ctx); err != nil {
		where := "its server"
		if addr := os.Getenv("BURST_SERVER"); addr != "" {
			where = "the server at BURST_SERVER=" + addr
		}
		return nil, fmt.Errorf("burst: %s does not answer: %w", where, err)
	}
	return c, nil
}
