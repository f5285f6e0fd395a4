package cli

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/burst-sh/burst/client"
)

// connect returns a client for the configured server. Without BURST_SERVER
// it uses the local server of $BURST_HOME, starting one (this very binary)
// in the background if none runs. Setup problems are bad input (exit 2).
func connect(ctx context.Context, stderr io.Writer) (*client.Client, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c, err := client.Discover(ctx, exe, stderr)
	var se *client.SetupError
	if errors.As(err, &se) {
		return nil, usage("%s", se.Msg)
	}
	return c, err
}
