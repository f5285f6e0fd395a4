package client

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
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
	shown := redactSecrets(strconv.Quote(s)) // what was pasted may be a secret: name it by its kind only
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("join URL %s: %s", shown, form)
	}
	tok := strings.Trim(u.Path, "/")
	switch {
	case tok == "":
		return nil, fmt.Errorf("join URL %s has no join token: %s", shown, form)
	case strings.HasPrefix(tok, MachineCredentialPrefix) || strings.HasPrefix(tok, UserCredentialPrefix):
		return nil, fmt.Errorf("join URL %s holds a credential, not a join token (%s...): make one with `burst join-token create`", shown, JoinTokenPrefix)
	case !strings.HasPrefix(tok, JoinTokenPrefix) || strings.Contains(tok, "/"):
		return nil, fmt.Errorf("join URL %s: %s is not a join token (they start %s): %s", shown, redactSecrets(strconv.Quote(tok)), JoinTokenPrefix, form)
	}
	j := &JoinURL{Server: u.Scheme + "://" + u.Host, Token: tok}
	if u.Scheme == "http" {
		if !Loopback(u.Hostname()) {
			return nil, fmt.Errorf("join URL %s: plain http beyond loopback would send the token in clear: %s", shown, form)
		}
		if u.Fragment != "" {
			return nil, fmt.Errorf("join URL %s: a CA hash pins an https:// server; plain http:// (loopback) has none to pin", shown)
		}
		return j, nil
	}
	if u.Fragment == "" {
		return nil, fmt.Errorf("join URL %s has no CA hash (#sha256:...): %s", shown, form)
	}
	if !strings.HasPrefix(u.Fragment, "sha256:") || len(strings.TrimPrefix(u.Fragment, "sha256:")) != 64 {
		return nil, fmt.Errorf("join URL %s: CA hash %q is malformed: want #sha256: and 64 hex digits", shown, u.Fragment)
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

// secretRE matches the secrets burst makes: a prefix (burst_u_, burst_m_,
// burst_j_) and the random part.
var secretRE = regexp.MustCompile(`burst_[a-z]_[0-9A-Za-z]+`)

// redactSecrets is s with each burst secret cut to its prefix and "...":
// an error message may be pasted into a chat or an issue.
func redactSecrets(s string) string {
	return secretRE.ReplaceAllStringFunc(s, func(m string) string { return m[:len("burst_x_")] + "..." })
}
