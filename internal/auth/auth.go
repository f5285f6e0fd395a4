// Package auth is who a request comes from and what they may do: the
// Principal a bearer secret stands for (the home's own token: the admin;
// a user's credential; a machine's credential), carried in a request's
// context from the API's token check to every handler and to the server.
// Deciding what a principal may do is pure: functions of the principal,
// the action and the project, no I/O.
package auth

import "context"

// Kind is what sort of credential a principal showed.
type Kind string

const (
	// Admin is the home's own token (its local owner): everything.
	Admin Kind = "admin"
	// User is a person's credential: what their roles allow (an admin user
	// too has every role in every project).
	User Kind = "user"
	// Machine is a machine's credential: the agent protocol only, for that
	// machine only.
	Machine Kind = "machine"
	// Metrics is the credential of a user added with --metrics: GET
	// /metrics and nothing else (a Prometheus server's, docs/metrics.md).
	Metrics Kind = "metrics"
)

// Principal is who a request comes from, as established by its credential;
// never a name the client asserts.
type Principal struct {
	Kind Kind
	// Name is the actor of the audit trail: the user's name, the home's
	// owner for Admin, the machine's name for Machine.
	Name string
	// IsAdmin: every role in every project (Kind Admin, or a user made
	// admin).
	IsAdmin bool
	// Roles are a user's roles by project (client.RoleViewer, ...).
	Roles map[string]string
	// Machine and Cluster are what a Machine credential was issued for.
	Machine, Cluster string
	// Credential is the SHA-256 (hex) of the user's credential it showed:
	// a dashboard session made with it ends when it is revoked.
	Credential string
}

type principalKey struct{}

// With is ctx for a request made by p.
func With(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// From is the principal of ctx; nil for work no request asked for.
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
