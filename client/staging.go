package client

import (
	"context"
	"fmt"
)

// Outputs lists the outputs staged tasks uploaded, for tasks from to
// from+limit-1 of job id (tasks without outputs are absent).
func (c *Client) Outputs(ctx context.Context, id int64, from, limit int) ([]TaskOutputs, error) {
	var out []TaskOutputs
	return out, c.do(ctx, "GET", fmt.Sprintf("/v1/jobs/%d/outputs?from=%d&limit=%d", id, from, limit), nil, &out)
}
