package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// MaxOutputChunk is the most bytes of output one POST /v1/agent/output
// carries: an agent ships a task's output in chunks of at most this, and
// the server refuses a larger body.
const MaxOutputChunk = 256 << 10

// Output streams a chunk names.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
)

// OutputChunk is bytes of one stream of one task attempt, shipped by an
// agent that does not see the server's home (Register.Remote). Offset
// counts from the start of this attempt's output on that stream: the
// server appends Data exactly there. A chunk it already holds (a retry) is
// acknowledged again and written once; one that begins past what it holds
// is refused (ErrOutputGap).
type OutputChunk struct {
	Machine string
	BootID  string
	TaskRef
	Stream string // StreamStdout or StreamStderr
	Offset int64
	Data   []byte
}

// Identity is the machine a chunk is shipped for.
func (c *OutputChunk) Identity() (machine, cluster string) { return c.Machine, "" }

// OutputAck is the server's answer to a chunk: how many bytes of the
// stream it holds now (the offset of the next chunk).
type OutputAck struct {
	Next int64 `json:"next"`
}

// OutputGap is the server's refusal of a chunk that begins past what it
// holds: Next is where the agent must ship from.
type OutputGap struct {
	Next    int64  `json:"next"`
	Message string `json:"message"`
}

func (g *OutputGap) Error() string { return g.Message }

// ErrOutputGone means the server no longer expects output of that task
// attempt (it ended, was requeued, or runs elsewhere): stop shipping it.
var ErrOutputGone = errors.New("the server no longer takes output of this task attempt")

// OutputQuery is the query string of POST /v1/agent/output for c.
func OutputQuery(c *OutputChunk) string {
	q := url.Values{}
	q.Set("machine", c.Machine)
	q.Set("boot", c.BootID)
	q.Set("job", strconv.FormatInt(c.Job, 10))
	q.Set("task", strconv.Itoa(c.Index))
	q.Set("attempt", strconv.Itoa(c.Attempt))
	q.Set("stream", c.Stream)
	q.Set("offset", strconv.FormatInt(c.Offset, 10))
	return q.Encode()
}

// SendOutput ships one chunk: POST /v1/agent/output with the chunk's bytes
// as the body (application/octet-stream) and where they go in the query.
// It is asked once (the shipper retries, and a retry is harmless): an
// *OutputGap when the server holds fewer bytes than c.Offset,
// ErrOutputGone when it takes no more of that attempt, ErrReregister when
// it forgot this agent.
func (c *Client) SendOutput(ctx context.Context, ch *OutputChunk) (*OutputAck, error) {
	if len(ch.Data) > MaxOutputChunk {
		return nil, fmt.Errorf("output chunk of %d bytes: at most %d", len(ch.Data), MaxOutputChunk)
	}
	const path = "/v1/agent/output"
	resp, err := c.conn.ep.Load().request(ctx, "POST", path+"?"+OutputQuery(ch), bytes.NewReader(ch.Data), "application/octet-stream")
	var e *Error
	switch {
	case errors.As(err, &e) && e.Status == http.StatusRequestedRangeNotSatisfiable:
		gap := &OutputGap{}
		if json.Unmarshal(e.body, gap) != nil || gap.Message == "" {
			gap.Message = "the server refused an output chunk that leaves a gap"
		}
		return nil, gap
	case errors.As(err, &e) && e.Status == http.StatusGone:
		return nil, ErrOutputGone
	case errors.As(err, &e) && e.Status == http.StatusConflict:
		return nil, ErrReregister
	case err != nil:
		return nil, err
	}
	defer resp.Body.Close()
	var ack OutputAck
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&ack); err != nil {
		return nil, fmt.Errorf("decode POST %s: %w", path, err)
	}
	return &ack, nil
}
