// Package client is the Go client of burst's HTTP API: submit and follow
// jobs, read logs, cancel; and the agent protocol (register, lease, report)
// that every burst agent speaks to the server.
//
// It only speaks HTTP; it starts no servers and reads no configuration files.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	osuser "os/user"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// user is who this process acts for, as the audit trail records it.
var user = func() string {
	if u, err := osuser.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}()

// Client talks to one burst server.
type Client struct {
	base  string // http://host:port or http://unix
	token string
	hc    *http.Client
}

// Error is an error answer from the server.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
}

func (e *Error) Error() string { return e.Message }

// IsNotFound reports whether err is the server's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// New returns a client for addr, which is "unix:///path/to/socket" or
// "http://host:port", authenticating with token.
func New(addr, token string) (*Client, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	c := &Client{token: token, hc: &http.Client{Transport: tr}}
	switch {
	case strings.HasPrefix(addr, "unix://"):
		path := strings.TrimPrefix(addr, "unix://")
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		c.base = "http://unix"
	case strings.HasPrefix(addr, "http://"), strings.HasPrefix(addr, "https://"):
		c.base = strings.TrimRight(addr, "/")
	default:
		return nil, fmt.Errorf("server address %q: use unix:///path/to/burst.sock or http://host:port", addr)
	}
	return c, nil
}

func (c *Client) request(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if user != "" {
		req.Header.Set("X-Burst-User", user)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		e := &Error{Status: resp.StatusCode}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if json.Unmarshal(b, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("server answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
		}
		return nil, e
	}
	return resp, nil
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}

// Health returns the server's identity; it fails if the server is not
// reachable or the token is wrong.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	return &h, c.do(ctx, "GET", "/v1/health", nil, &h)
}

// Submit admits a job and returns it with its id.
func (c *Client) Submit(ctx context.Context, spec *burst.JobSpec) (*burst.Job, error) {
	var j burst.Job
	return &j, c.do(ctx, "POST", "/v1/jobs", spec, &j)
}

// Job returns one job, with its spec.
func (c *Client) Job(ctx context.Context, id int64) (*burst.Job, error) {
	var j burst.Job
	return &j, c.do(ctx, "GET", "/v1/jobs/"+strconv.FormatInt(id, 10), nil, &j)
}

// JobsQuery filters Jobs.
type JobsQuery struct {
	Project string
	States  []burst.State
	Limit   int
}

// Jobs lists jobs, newest first.
func (c *Client) Jobs(ctx context.Context, q JobsQuery) ([]burst.Job, error) {
	v := url.Values{}
	if q.Project != "" {
		v.Set("project", q.Project)
	}
	for _, s := range q.States {
		v.Add("state", string(s))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out []burst.Job
	return out, c.do(ctx, "GET", "/v1/jobs?"+v.Encode(), nil, &out)
}

// Tasks lists a job's tasks from index from (at most limit); with states,
// only the tasks in those states.
func (c *Client) Tasks(ctx context.Context, id int64, from, limit int, states ...burst.State) ([]burst.Task, error) {
	var out []burst.Task
	p := fmt.Sprintf("/v1/jobs/%d/tasks?from=%d&limit=%d", id, from, limit)
	for _, s := range states {
		p += "&state=" + url.QueryEscape(string(s))
	}
	return out, c.do(ctx, "GET", p, nil, &out)
}

// Cancel cancels a job; cancelling a finished job is not an error (see
// CancelResult.AlreadyFinished).
func (c *Client) Cancel(ctx context.Context, id int64) (*CancelResult, error) {
	var r CancelResult
	return &r, c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/cancel", id), nil, &r)
}

// CancelTask cancels one task of job id (one task of a job array).
func (c *Client) CancelTask(ctx context.Context, id int64, task int) (*CancelResult, error) {
	var r CancelResult
	return &r, c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/cancel?task=%d", id, task), nil, &r)
}

// ResolveID says which job (and which task of a job array) ref names: a
// job id, an array task's own id, or ARRAYID_INDEX.
func (c *Client) ResolveID(ctx context.Context, ref string) (*IDRef, error) {
	var r IDRef
	return &r, c.do(ctx, "GET", "/v1/ids/"+url.PathEscape(ref), nil, &r)
}

// Wait blocks until the job is finished or ctx ends.
func (c *Client) Wait(ctx context.Context, id int64) (*burst.Job, error) {
	for {
		var j burst.Job
		if err := c.do(ctx, "GET", fmt.Sprintf("/v1/jobs/%d/wait?timeout_ms=25000", id), nil, &j); err != nil {
			return nil, err
		}
		if j.State.Terminal() {
			return &j, nil
		}
	}
}

// LogsQuery selects a task's output stream.
type LogsQuery struct {
	Task   int
	Stream string // "stdout" (default) or "stderr"
	Follow bool   // keep streaming until the task ends
	Offset int64
}

// Logs copies a task's output to w; with Follow it returns when the task has
// ended and all its output was copied.
func (c *Client) Logs(ctx context.Context, id int64, q LogsQuery, w io.Writer) error {
	if q.Stream == "" {
		q.Stream = "stdout"
	}
	p := fmt.Sprintf("/v1/jobs/%d/logs?task=%d&stream=%s&offset=%d&follow=%t", id, q.Task, url.QueryEscape(q.Stream), q.Offset, q.Follow)
	resp, err := c.request(ctx, "GET", p, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// Machines lists the machines the server knows.
func (c *Client) Machines(ctx context.Context) ([]burst.Machine, error) {
	var out []burst.Machine
	return out, c.do(ctx, "GET", "/v1/machines", nil, &out)
}

// Results lists a job's tasks in input order from index from (at most
// limit), with their inputs; inline adds each task's stdout (up to 1 MiB).
func (c *Client) Results(ctx context.Context, id int64, from, limit int, inline bool) ([]Result, error) {
	var out []Result
	p := fmt.Sprintf("/v1/jobs/%d/results?from=%d&limit=%d&inline=%t", id, from, limit, inline)
	return out, c.do(ctx, "GET", p, nil, &out)
}

// Output copies the stdout of a job's tasks to w in input order from task
// from; with follow it waits for each task to end, up to the last.
func (c *Client) Output(ctx context.Context, id int64, from int, follow bool, w io.Writer) error {
	resp, err := c.request(ctx, "GET", fmt.Sprintf("/v1/jobs/%d/output?from=%d&follow=%t", id, from, follow), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// Resume queues again every task of a finished job that did not succeed.
func (c *Client) Resume(ctx context.Context, id int64) (*burst.Job, error) {
	var j burst.Job
	return &j, c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/resume", id), nil, &j)
}

// UICode asks for a one-time sign-in link to the dashboard.
func (c *Client) UICode(ctx context.Context) (*UICode, error) {
	var u UICode
	return &u, c.do(ctx, "POST", "/v1/ui/code", struct{}{}, &u)
}

// ResumeWith is Resume with some of the map's settings changed for the
// tasks it runs again: nil fields keep the job's own.
func (c *Client) ResumeWith(ctx context.Context, id int64, o ResumeOptions) (*burst.Job, error) {
	var j burst.Job
	return &j, c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/resume", id), o, &j)
}
