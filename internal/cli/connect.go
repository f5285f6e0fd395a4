package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/discover"
)

// connect returns a client for the configured server. Without BURST_SERVER
// it uses the local server of $BURST_HOME, starting one (this very binary)
// in the background if none runs. Setup problems are bad input (exit 2).
//
// The client rides out a server that goes away (killed, restarting): it
// finds it again, starting the local server anew if it has to, and asks
// again as readRetry says (client's package comment: reads whenever their
// answer broke, anything else only if it was never sent). A follow rides
// out longer: follows(cl).
func connect(ctx context.Context, stderr io.Writer) (*client.Client, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c, err := discover.Connect(ctx, exe, stderr, client.WithRetry(readRetry))
	var se *discover.SetupError
	if errors.As(err, &se) {
		return nil, usage("%s", se.Msg)
	}
	return c, err
}

// readRetry is how long a command's request rides out a server it cannot
// reach once it found it again (a local server restarted by the reconnect
// answers at once): a dead BURST_SERVER fails in seconds, not minutes.
var readRetry = client.Retry{Patience: 2 * time.Second, First: 100 * time.Millisecond, Max: 500 * time.Millisecond}

// followRetry is how long a follow (run's output, wait, a map's progress,
// events -f) rides out a server that does not answer: a restart that
// recovers its jobs takes seconds.
var followRetry = client.Retry{Patience: 30 * time.Second, First: 100 * time.Millisecond, Max: time.Second}

// follows is cl for a follow: it shares cl's connection and rides out a
// server restart for followRetry.
func follows(cl *client.Client) *client.Client { return cl.WithRetry(followRetry) }
