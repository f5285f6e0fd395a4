package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
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
// tar already uploaded to Project's blob store (Digest, Size). The server
// reads the version's manifest from the tar itself.
type StackCreate struct {
	Name        string `json:"name"`
	Project     string `json:"project"`
	Description string `json:"description,omitempty"`
	Digest      string `json:"digest"`
	Size        int64  `json:"size"`
	// Manifest is taken and ignored, for clients that send one: the
	// server reads the manifest from the tar.
	Manifest []stack.File `json:"manifest,omitempty"`
	// Of a version pulled from a link (burst stack pull): its parent's
	// version here, and where it came from (said in the audit event).
	Parent int    `json:"parent,omitempty"`
	Origin string `json:"origin,omitempty"`
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
	// Task is the job's task whose changes to take; with Stage (a pipe's
	// stage, by name or index), the copy of that stage.
	Task        int    `json:"task"`
	Stage       string `json:"stage,omitempty"`
	As          string `json:"as"`
	Description string `json:"description,omitempty"`
}

// CommitStack makes the changes task req.Task of job id made in its
// stack (a job run with --keep-changes) the next version of req.As.
func (c *Client) CommitStack(ctx context.Context, id int64, req *StackCommit) (*Stack, error) {
	var s Stack
	return &s, c.do(ctx, "POST", fmt.Sprintf("/v1/jobs/%d/stack-commit", id), req, &s)
}

// StackShare asks for a link to a stack (POST /v1/stacks/{ref}/share):
// TTL is a duration ("" for the default, 7 days; at most 30 days).
type StackShare struct {
	TTL string `json:"ttl,omitempty"`
}

// StackLink is a link that shares a stack, read only: Version 0 shares
// every version. Link, the secret, is given once, when it is made.
type StackLink struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Version   int        `json:"version,omitempty"`
	Link      string     `json:"link,omitempty"`
	Note      string     `json:"note,omitempty"` // where the link works, when not everywhere
	CreatedBy string     `json:"created_by"`
	Created   time.Time  `json:"created"`
	Expires   time.Time  `json:"expires"`
	Revoked   *time.Time `json:"revoked,omitempty"`
}

// StackPulled is what a stack link gives (GET /v1/stack-pull): the
// versions it shares, oldest first, each with its manifest.
type StackPulled struct {
	Name     string               `json:"name"`
	Versions []StackPulledVersion `json:"versions"`
}

// StackPulledVersion is one version a link shares.
type StackPulledVersion struct {
	Stack
	Manifest []stack.File `json:"manifest"`
}

// ShareStack makes a link to ref (NAME: every version; NAME:V: versions
// 1 to V).
func (c *Client) ShareStack(ctx context.Context, ref string, req *StackShare) (*StackLink, error) {
	var l StackLink
	return &l, c.do(ctx, "POST", "/v1/stacks/"+url.PathEscape(ref)+"/share", req, &l)
}

// StackLinks lists the links made, never their secrets.
func (c *Client) StackLinks(ctx context.Context) ([]StackLink, error) {
	var out []StackLink
	return out, c.do(ctx, "GET", "/v1/stack-links", nil, &out)
}

// UnshareStack revokes link id.
func (c *Client) UnshareStack(ctx context.Context, id int64) (*StackLink, error) {
	var l StackLink
	return &l, c.do(ctx, "DELETE", "/v1/stack-links/"+strconv.FormatInt(id, 10), nil, &l)
}

// NewStackPuller is a client of the server a stack link (from `burst
// stack share`: https://HOST:PORT/burst_s_...#sha256:CAHASH) points at,
// with the link's secret as its credential: it reads the stack's versions
// (PulledStack) and their blobs (FetchBlob, verified by digest). A pinned
// link's server is verified by its CA hash.
func NewStackPuller(link string, opts ...Option) (*Client, error) {
	addr, pin, err := SplitPin(link)
	if err != nil {
		return nil, err
	}
	i := strings.LastIndex(addr, "/")
	tok := addr[i+1:]
	if i < 0 || !strings.HasPrefix(tok, StackLinkPrefix) || !strings.Contains(addr, "://") {
		return nil, fmt.Errorf("%q is not a stack link: `burst stack share NAME` prints one (https://HOST:PORT/%s...#sha256:HASH)", link, StackLinkPrefix)
	}
	base := addr[:i]
	if pin != "" {
		base += "#" + pin
	}
	c, err := New(base, tok, opts...)
	if err != nil {
		return nil, err
	}
	c.blobs = "/v1/stack-pull/blobs/"
	return c, nil
}

// PulledStack reads what the link of a NewStackPuller shares.
func (c *Client) PulledStack(ctx context.Context) (*StackPulled, error) {
	var p StackPulled
	return &p, c.do(ctx, "GET", "/v1/stack-pull", nil, &p)
}
