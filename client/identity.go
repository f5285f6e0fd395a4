package client

import (
	"strings"
	"time"
)

// Credentials beyond the home's own token (docs/security.md). Each is a
// random secret shown once and kept by the server only as its SHA-256; the
// prefix says its kind, so that a secret pasted in the wrong place is
// named, not merely refused.
const (
	// UserCredentialPrefix starts a person's credential (burst user token).
	UserCredentialPrefix = "burst_u_"
	// MachineCredentialPrefix starts a machine's credential: the agent
	// protocol only, for that machine only, revocable.
	MachineCredentialPrefix = "burst_m_"
	// JoinTokenPrefix starts a join token: used once, before it expires,
	// to get a machine credential (POST /v1/join).
	JoinTokenPrefix = "burst_j_"
	// StackLinkPrefix starts the secret of a link that shares a stack
	// (burst stack share): it reads that stack and nothing else.
	StackLinkPrefix = "burst_s_"
)

// JoinURLEnv names the variable `burst agent` reads a join URL from when
// neither --join nor --join-file gives one: the command a join token
// prints (JoinCommand) sets it for the agent alone, so that the token is
// not on the agent's command line, which ps shows every user of the
// machine. The agent drops it before it starts any task.
const JoinURLEnv = "BURST_JOIN_URL"

// JoinCommand is the shell command that joins the server of join URL u.
func JoinCommand(u string) string {
	return JoinURLEnv + "='" + strings.ReplaceAll(u, "'", `'"'"'`) + "' burst agent"
}

// Roles a user holds in a project, weakest first. An admin holds every
// role in every project.
const (
	RoleViewer = "viewer" // sees the project: jobs, logs, costs, budget
	RoleMember = "member" // and submits and cancels their own work
	RoleOwner  = "owner"  // and sets budgets, cancels anyone's work, manages the project's clusters
)

// JoinRequest exchanges a join token for a machine credential (POST
// /v1/join, the only route that takes no bearer token).
type JoinRequest struct {
	Token string `json:"token"`
	// Machine is the name the machine asks for (its hostname); the server
	// may give another one, unique.
	Machine string `json:"machine,omitempty"`
}

// Joined is what a machine gets for its join token: the name it registers
// as, the cluster it belongs to, the credential its agent presents from now
// on, and the server's CA (PEM), which it pinned by hash to get here.
type Joined struct {
	Machine    string `json:"machine"`
	Cluster    string `json:"cluster"`
	Credential string `json:"credential"`
	CA         string `json:"ca,omitempty"`
}

// JoinTokenSpec asks for a join token (POST /v1/join-tokens).
type JoinTokenSpec struct {
	Cluster string `json:"cluster,omitempty"`
	TTL     string `json:"ttl,omitempty"` // a Go duration, e.g. "1h"; default 1h
}

// JoinToken is a join token as created: the secret (shown once), and the
// URL a machine joins with: https://HOST:PORT/TOKEN#sha256:CAHASH.
type JoinToken struct {
	Token   string    `json:"token"`
	Cluster string    `json:"cluster"`
	Project string    `json:"project"` // the cluster's: whose work the machine will run
	Expires time.Time `json:"expires"`
	URL     string    `json:"url"`
	Command string    `json:"command"` // burst agent --join URL
}

// User is a person known to the server, with their roles.
type User struct {
	Name  string `json:"name"`
	Admin bool   `json:"admin"`
	// Metrics: a metrics-only user, whose credentials read GET /metrics
	// and nothing else (docs/metrics.md).
	Metrics bool      `json:"metrics,omitempty"`
	Created time.Time `json:"created"`
	Grants  []Grant   `json:"grants,omitempty"`
}

// Grant is one user's role in one project.
type Grant struct {
	Project string `json:"project"`
	User    string `json:"user"`
	Role    string `json:"role"`
}

// UserToken is a new credential for a user, shown once.
type UserToken struct {
	User  string `json:"user"`
	Token string `json:"token"`
	// Revoked is how many of the user's other credentials were cut with
	// it (--revoke-all), or by POST /v1/users/{name}/revoke.
	Revoked int `json:"revoked,omitempty"`
}

// Whoami is who the server takes the caller for (GET /v1/whoami).
type Whoami struct {
	Name   string  `json:"name"`
	Kind   string  `json:"kind"` // "admin" (the home's token), "user", "machine"
	Admin  bool    `json:"admin"`
	Grants []Grant `json:"grants,omitempty"`
}
