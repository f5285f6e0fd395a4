package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// MachineRevoked starts the server's answer (401) to a machine credential
// that was revoked (`burst machine revoke`): its agent exits on it rather
// than asking again.
const MachineRevoked = "machine credential revoked"

// JoinTokenInfo is a join token as `burst join-token list` shows it: never
// its secret.
type JoinTokenInfo struct {
	ID        int64      `json:"id"`
	Cluster   string     `json:"cluster"`
	CreatedBy string     `json:"created_by"`
	Created   time.Time  `json:"created"`
	Expires   time.Time  `json:"expires"`
	Used      *time.Time `json:"used,omitempty"`
	UsedBy    string     `json:"used_by,omitempty"` // the machine that joined with it
	Revoked   *time.Time `json:"revoked,omitempty"`
}

// State is "unused", "used", "expired" or "revoked" at now.
func (t JoinTokenInfo) State(now time.Time) string {
	switch {
	case t.Revoked != nil:
		return "revoked"
	case t.Used != nil:
		return "used"
	case !now.Before(t.Expires):
		return "expired"
	}
	return "unused"
}

// CreateJoinToken makes a join token (POST /v1/join-tokens).
func (c *Client) CreateJoinToken(ctx context.Context, spec *JoinTokenSpec) (*JoinToken, error) {
	var out JoinToken
	return &out, c.do(ctx, "POST", "/v1/join-tokens", spec, &out)
}

// JoinTokens lists the join tokens (GET /v1/join-tokens).
func (c *Client) JoinTokens(ctx context.Context) ([]JoinTokenInfo, error) {
	var out []JoinTokenInfo
	return out, c.do(ctx, "GET", "/v1/join-tokens", nil, &out)
}

// RevokeJoinToken revokes an unused join token (DELETE /v1/join-tokens/ID).
func (c *Client) RevokeJoinToken(ctx context.Context, id int64) error {
	return c.do(ctx, "DELETE", "/v1/join-tokens/"+strconv.FormatInt(id, 10), nil, nil)
}

// RevokeMachine revokes a joined machine's credential (POST
// /v1/machines/ID/revoke): its agent is refused from now on, the machine
// is lost and its tasks requeued.
func (c *Client) RevokeMachine(ctx context.Context, id string) (*burst.Machine, error) {
	var out burst.Machine
	return &out, c.do(ctx, "POST", "/v1/machines/"+url.PathEscape(id)+"/revoke", nil, &out)
}

// Join exchanges a join token for a machine credential (POST /v1/join):
// the one request that carries no credential, so c may have none.
func (c *Client) Join(ctx context.Context, r *JoinRequest) (*Joined, error) {
	var out Joined
	return &out, c.do(ctx, "POST", "/v1/join", r, &out)
}

// JoinURL is a parsed join URL: https://HOST:PORT/TOKEN#sha256:CAHASH, or
// http://127.0.0.1:PORT/TOKEN for a server that listens on loopback only.
type JoinURL struct {
	Server string // https://HOST:PORT (or http:// on loopback)
	Token  string
	Pin    string // sha256:...; "" for http://
}

// ParseJoinURL parses a join URL, naming what is wrong with one that is
// not: a token missing or of another kind, a pin missing or malformed, or
// plain http beyond loopback (where the token would travel in clear).
func ParseJoinURL(s string) (*JoinURL, error) {
	const form = "want https://HOST:PORT/TOKEN#sha256:CAHASH, as `burst join-token create` prints it"
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("join URL %q: %s", s, form)
	}
	tok := strings.Trim(u.Path, "/")
	switch {
	case tok == "":
		return nil, fmt.Errorf("join URL %q has no join token: %s", s, form)
	case strings.HasPrefix(tok, MachineCredentialPrefix) || strings.HasPrefix(tok, UserCredentialPrefix):
		return nil, fmt.Errorf("join URL %q holds a credential, not a join token (%s...): make one with `burst join-token create`", s, JoinTokenPrefix)
	case !strings.HasPrefix(tok, JoinTokenPrefix) || strings.Contains(tok, "/"):
		return nil, fmt.Errorf("join URL %q: %q is not a join token (they start %s): %s", s, tok, JoinTokenPrefix, form)
	}
	j := &JoinURL{Server: u.Scheme + "://" + u.Host, Token: tok}
	if u.Scheme == "http" {
		if !Loopback(u.Hostname()) {
			return nil, fmt.Errorf("join URL %q: plain http beyond loopback would send the token in clear: %s", s, form)
		}
		if u.Fragment != "" {
			return nil, fmt.Errorf("join URL %q: a CA hash pins an https:// server; plain http:// (loopback) has none to pin", s)
		}
		return j, nil
	}
	if u.Fragment == "" {
		return nil, fmt.Errorf("join URL %q has no CA hash (#sha256:...): %s", s, form)
	}
	if !strings.HasPrefix(u.Fragment, "sha256:") || len(strings.TrimPrefix(u.Fragment, "sha256:")) != 64 {
		return nil, fmt.Errorf("join URL %q: CA hash %q is malformed: want #sha256: and 64 hex digits", s, u.Fragment)
	}
	j.Pin = u.Fragment
	return j, nil
}

// Identity is the machine and cluster a registration speaks for.
func (r *Register) Identity() (machine, cluster string) { return r.Machine, r.Cluster }

// Identity is the machine a lease request speaks for.
func (l *Lease) Identity() (machine, cluster string) { return l.Machine, "" }

// Identity is the machine a report speaks for.
func (r *Report) Identity() (machine, cluster string) { return r.Machine, "" }
