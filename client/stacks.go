package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/burst-sh/burst/internal/stack"
)

// Stack is one version of a software stack (docs/stacks.md).
type Stack struct {
	Name        string    `json:"name"`
	Version     int       `json:"version"`
	Digest      string    `json:"digest"`
	Size        int64     `json:"size"`
	Parent      int       `json:"parent,omitempty"`
	Project     string    `json:"project"`
	Author      string    `json:"author"`
	Description string    `json:"description,omitempty"`
	Job         int64     `json:"job,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// StackCreate makes the next version of a stack from a root filesystem
// tar already uploaded to Project's blob store (Digest, Size), with its
// manifest.
type StackCreate struct {
	Name        string       `json:"name"`
	Project     string       `json:"project"`
	Description string       `json:"description,omitempty"`
	Digest      string       `json:"digest"`
	Size        int64        `json:"size"`
	Manifest    []stack.File `json:"manifest"`
}

// StackDiff is what changed from one version to another.
type StackDiff struct {
	From    Stack          `json:"from"`
	To      Stack          `json:"to"`
	Changes []stack.Change `json:"changes"`
}

// CreateStack stores a new version of a stack.
func (c *Client) CreateStack(ctx context.Context, req *StackCreate) (*Stack, error) {
	var s Stack
	return &s, c.do(ctx, "POST", "/v1/stacks", req, &s)
}

// Stacks lists the versions of name ("": every stack's).
func (c *Client) Stacks(ctx context.Context, name string) ([]Stack, error) {
	var out []Stack
	q := ""
	if name != "" {
		q = "?name=" + url.QueryEscape(name)
	}
	return out, c.do(ctx, "GET", "/v1/stacks"+q, nil, &out)
}

// Stack resolves a reference: NAME (its latest version), NAME:V or
// NAME@sha256:HEX.
func (c *Client) Stack(ctx context.Context, ref string) (*Stack, error) {
	var s Stack
	return &s, c.do(ctx, "GET", "/v1/stacks/"+url.PathEscape(ref), nil, &s)
}

// RemoveStack deletes a stack's versions (ref NAME) or one (NAME:V).
func (c *Client) RemoveStack(ctx context.Context, ref string) (*StackRemoved, error) {
	var r StackRemoved
	return &r, c.do(ctx, "DELETE", "/v1/stacks/"+url.PathEscape(ref), nil, &r)
}

// StackRemoved says how many versions a removal deleted.
type StackRemoved struct {
	Name     string `json:"name"`
	Versions int64  `json:"versions"`
}

// DiffStacks lists what changed from version a to version b (references
// as Stack takes them).
func (c *Client) DiffStacks(ctx context.Context, a, b string) (*StackDiff, error) {
	var d StackDiff
	return &d, c.do(ctx, "GET", "/v1/stacks/"+url.PathEscape(a)+"/diff?to="+url.QueryEscape(b), nil, &d)
}

// StackVersion is NAME:V.
func StackVersion(name string, v int) string { return name + ":" + strconv.Itoa(v) }

// StackCommit asks for the changes a task made in its stack as the next
// version of stack As (POST /v1/jobs/{id}/stack-commit).
type StackCommit struct {
	Task        int    `json:"task"`
	As          string `json:"as"`
	Description string `json:"description,omitempty"`
}

// CommitStack makes the changes task req.Task of job id made in its
// stack (a job run with --keep-changes) the next version of req.As.
func (c *Client) CommitStack(ctx context.Context, id int64, req *StackCommit) (*Stack, error) {
	var s Stack
	return &s, c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/stack-commit", id), req, &s)
}
