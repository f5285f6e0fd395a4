package client

import (
	"context"
	"errors"
	"net/http"
)

// ErrReregister means the server restarted or forgot this agent: register
// again before leasing or reporting.
var ErrReregister = errors.New("agent must register again")

// Register announces an agent and reconciles what it runs.
func (c *Client) Register(ctx context.Context, r *Register) (*Registered, error) {
	var out Registered
	return &out, c.do(ctx, "POST", "/v1/agent/register", r, &out)
}

// Lease waits for work for an agent.
func (c *Client) Lease(ctx context.Context, l *Lease) (*Leased, error) {
	var out Leased
	return &out, agentErr(c.do(ctx, "POST", "/v1/agent/lease", l, &out))
}

// ReportEvents sends task events; they are committed when it returns nil.
func (c *Client) ReportEvents(ctx context.Context, r *Report) error {
	return agentErr(c.do(ctx, "POST", "/v1/agent/report", r, nil))
}

func agentErr(err error) error {
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusConflict {
		return ErrReregister
	}
	return err
}
