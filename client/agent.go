package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
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

// Interruption is a spot interruption notice an agent read from its
// machine's instance metadata (burst agent --spot-notice aws): the machine
// goes away at Time. The server requeues the machine's tasks as preempted
// at once (POST /v1/agent/interrupted).
type Interruption struct {
	Machine string    `json:"machine"`
	Action  string    `json:"action"` // the notice's: terminate, stop or hibernate
	Time    time.Time `json:"time"`   // when the machine goes
}

// Identity is the machine an interruption notice speaks for.
func (n *Interruption) Identity() (machine, cluster string) { return n.Machine, "" }

// Validate checks a notice before the server looks at it.
func (n *Interruption) Validate() error {
	switch {
	case n.Machine == "":
		return errors.New("interruption: machine name missing")
	case n.Time.IsZero():
		return errors.New("interruption: the notice's time is missing")
	case len(n.Action) > 64:
		return fmt.Errorf("interruption: action of %d bytes: give the notice's action (terminate, stop or hibernate)", len(n.Action))
	}
	return nil
}

// Interrupted is the server's answer to an Interruption.
type Interrupted struct {
	Machine  string    `json:"machine"`
	Until    time.Time `json:"until"`    // when the server stops the machine
	Requeued int       `json:"requeued"` // its tasks requeued as preempted (0 when told again)
}

// ReportInterruption tells the server that this agent's spot machine is
// being taken away.
func (c *Client) ReportInterruption(ctx context.Context, n *Interruption) (*Interrupted, error) {
	var out Interrupted
	return &out, c.do(ctx, "POST", "/v1/agent/interrupted", n, &out)
}

func agentErr(err error) error {
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusConflict {
		return ErrReregister
	}
	return err
}
