package client

import (
	"context"
	"io"
)

// Backup writes a consistent copy of the server's store, a SQLite database,
// to w (GET /v1/backup). A copy cut short returns an error: its length is
// announced.
func (c *Client) Backup(ctx context.Context, w io.Writer) error {
	return c.stream(patiently(ctx), func(int64) string { return "/v1/backup" }, false, w)
}
