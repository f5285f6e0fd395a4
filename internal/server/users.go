package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/store"
)

// Users, their credentials and roles (docs/security-users.md). The store
// holds them; userDir keeps them in memory, read once at start and changed
// after every write, so that a request's credential is resolved without
// reading the store, and a removed user or revoked credential is refused
// from the next request on.
type userDir struct {
	// write orders changes: one store write and its memory update at a
	// time, so that memory never holds an older change than the store.
	write sync.Mutex

	mu    sync.RWMutex
	users map[string]*userRT
	creds map[string]string // credential hash → user
}

type userRT struct {
	row    store.UserRow
	grants map[string]string // project → role
	// p is what a credential of this user stands for, rebuilt on every
	// change and never changed after: requests share it.
	p *auth.Principal
}

func (u *userRT) rebuild() {
	roles := make(map[string]string, len(u.grants))
	for k, v := range u.grants {
		roles[k] = v
	}
	u.p = &auth.Principal{Kind: auth.User, Name: u.row.Name, IsAdmin: u.row.Admin, Roles: roles}
	if u.row.Metrics { // GET /metrics and nothing else (auth.Allow); it holds no role
		u.p = &auth.Principal{Kind: auth.Metrics, Name: u.row.Name}
	}
}

// loadUsers fills the directory from the store, at start.
func (s *Server) loadUsers(ctx context.Context) error {
	all, err := s.st.LoadUsers(ctx)
	if err != nil {
		return fmt.Errorf("load users: %w", err)
	}
	d := &s.users
	d.users, d.creds = map[string]*userRT{}, map[string]string{}
	for _, u := range all.Users {
		d.users[u.Name] = &userRT{row: u, grants: map[string]string{}}
	}
	for _, g := range all.Grants {
		if u := d.users[g.User]; u != nil {
			u.grants[g.Project] = g.Role
		}
	}
	for _, c := range all.Credentials {
		d.creds[c.Hash] = c.User
	}
	for _, u := range d.users {
		u.rebuild()
	}
	return nil
}

// credentialHash is how the store knows a credential.
func credentialHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// PrincipalOfCredential is the user whose credential has that hash (a
// dashboard session made with it), or nil.
func (s *Server) PrincipalOfCredential(hash string) *auth.Principal {
	d := &s.users
	d.mu.RLock()
	defer d.mu.RUnlock()
	u := d.users[d.creds[hash]]
	if u == nil {
		return nil
	}
	p := *u.p
	p.Credential = hash
	return &p
}

// untrustedUser says whether name is a user who is not an admin (the
// home's token acts under the server's Unix user, which is none). It
// reads the directory under its own lock, which is taken last.
func (s *Server) untrustedUser(name string) bool {
	d := &s.users
	d.mu.RLock()
	defer d.mu.RUnlock()
	u := d.users[name]
	return u != nil && !u.row.Admin
}

// Users lists every user with their grants.
func (s *Server) Users() []client.User {
	d := &s.users
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := []client.User{}
	for _, u := range d.users {
		out = append(out, u.view())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (u *userRT) view() client.User {
	out := client.User{Name: u.row.Name, Admin: u.row.Admin, Metrics: u.row.Metrics, Created: u.row.Created}
	for p, r := range u.grants {
		out.Grants = append(out.Grants, client.Grant{Project: p, User: u.row.Name, Role: r})
	}
	sort.Slice(out.Grants, func(i, j int) bool { return out.Grants[i].Project < out.Grants[j].Project })
	return out
}

// Members are the grants of a project, by user.
func (s *Server) Members(name string) ([]client.Grant, error) {
	if err := s.hasProject(name); err != nil {
		return nil, err
	}
	d := &s.users
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := []client.Grant{}
	for _, u := range d.users {
		if r := u.grants[name]; r != "" {
			out = append(out, client.Grant{Project: name, User: u.row.Name, Role: r})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out, nil
}

// reservedUser refuses the names the server already acts under: the
// home's owner (whom the home's token names in the audit trail and as the
// submitter of its jobs), the server itself, its automatic actors and the
// dashboard's sessions. A user of one of these names would look, in the
// audit trail and to cancel-own, like the admin or the server, and one
// named as an automatic actor would pass where burst itself does (a
// machine started outside its cluster's schedule); a machine acts as
// "machine M": no user name holds a space.
func (s *Server) reservedUser(name string) error {
	if name == s.user || slices.Contains(systemActors, name) || strings.HasPrefix(name, "ui-") {
		return badRequest("user name %s is taken by the server (the home's owner, the server or the dashboard): choose another", name)
	}
	return nil
}

// AddUser adds a person; admin makes them an admin of everything; metrics
// makes a metrics-only user (a Prometheus server: GET /metrics only).
func (s *Server) AddUser(ctx context.Context, actor, name string, admin, metrics bool) (*client.User, error) {
	if admin && metrics {
		return nil, badRequest("user %s: --admin and --metrics exclude each other (a metrics user reads /metrics only; an admin may read it too)", name)
	}
	if !burst.ValidName(name) {
		return nil, badRequest("user name %.80q: use letters, digits, '-', '_' or '.' (at most 64)", name)
	}
	if err := s.reservedUser(name); err != nil {
		return nil, err
	}
	d := &s.users
	d.write.Lock()
	defer d.write.Unlock()
	if d.get(name) != nil {
		return nil, badRequest("user %s exists already: see `burst user list`", name)
	}
	u := &userRT{row: store.UserRow{Name: name, Admin: admin, Metrics: metrics, Created: time.Now().UTC()}, grants: map[string]string{}}
	msg := "user " + name + " added"
	if admin {
		msg += " as an admin"
	} else if metrics {
		msg += " for metrics only"
	}
	if err := s.userWrite(ctx, actor, "user.add", "", name, msg, func(tx *store.Tx) error { return store.SaveUser(tx, u.row) }); err != nil {
		return nil, err
	}
	u.rebuild()
	d.mu.Lock()
	d.users[name] = u
	d.mu.Unlock()
	v := u.view()
	return &v, nil
}

// RemoveUser forgets a user, their credentials and their roles: their
// next request is refused.
func (s *Server) RemoveUser(ctx context.Context, actor, name string) error {
	d := &s.users
	d.write.Lock()
	defer d.write.Unlock()
	if d.get(name) == nil {
		return s.noUser(name)
	}
	if err := s.userWrite(ctx, actor, "user.remove", "", name, "user "+name+" removed with their credentials and roles",
		func(tx *store.Tx) error { return store.DeleteUser(tx, name) }); err != nil {
		return err
	}
	d.mu.Lock()
	delete(d.users, name)
	for h, u := range d.creds {
		if u == name {
			delete(d.creds, h)
		}
	}
	d.mu.Unlock()
	return nil
}

// NewUserToken makes a new credential for a user, shown once; with
// revokeAll, their others stop working first.
func (s *Server) NewUserToken(ctx context.Context, actor, name string, revokeAll bool) (*client.UserToken, error) {
	d := &s.users
	d.write.Lock()
	defer d.write.Unlock()
	if d.get(name) == nil {
		return nil, s.noUser(name)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	secret := client.UserCredentialPrefix + base64.RawURLEncoding.EncodeToString(b)
	c := store.CredentialRow{Hash: credentialHash(secret), User: name, Created: time.Now().UTC()}
	var revoked int64
	msg := "new credential for " + name
	if err := s.userWrite(ctx, actor, "user.token", "", name, msg, func(tx *store.Tx) (err error) {
		if revokeAll {
			if revoked, err = store.RevokeCredentials(tx, name); err != nil {
				return err
			}
		}
		return store.AddCredential(tx, c)
	}); err != nil {
		return nil, err
	}
	d.mu.Lock()
	if revokeAll {
		d.dropCredsLocked(name)
	}
	d.creds[c.Hash] = name
	d.mu.Unlock()
	return &client.UserToken{User: name, Token: secret, Revoked: int(revoked)}, nil
}

// RevokeUserTokens cuts every credential of a user; n is how many.
func (s *Server) RevokeUserTokens(ctx context.Context, actor, name string) (n int, err error) {
	d := &s.users
	d.write.Lock()
	defer d.write.Unlock()
	if d.get(name) == nil {
		return 0, s.noUser(name)
	}
	var revoked int64
	if err := s.userWrite(ctx, actor, "user.revoke", "", name, "every credential of "+name+" revoked",
		func(tx *store.Tx) (err error) { revoked, err = store.RevokeCredentials(tx, name); return err }); err != nil {
		return 0, err
	}
	d.mu.Lock()
	d.dropCredsLocked(name)
	d.mu.Unlock()
	return int(revoked), nil
}

// Grant gives a user a role in a project (replacing the one they had).
func (s *Server) Grant(ctx context.Context, actor string, g client.Grant) (*client.Grant, error) {
	if !auth.ValidRole(g.Role) {
		return nil, badRequest("role %.40q: use --role viewer, member or owner", g.Role)
	}
	if err := s.hasProject(g.Project); err != nil {
		return nil, err
	}
	d := &s.users
	d.write.Lock()
	defer d.write.Unlock()
	u := d.get(g.User)
	if u == nil {
		return nil, s.noUser(g.User)
	}
	if u.row.Metrics {
		return nil, badRequest("%s is a metrics user: it reads /metrics only and holds no role; grant roles to a person's user (`burst user add NAME`)", g.User)
	}
	if err := s.userWrite(ctx, actor, "project.grant", g.Project, g.User, g.User+" is now "+g.Role+" of "+g.Project,
		func(tx *store.Tx) error {
			return store.SaveGrant(tx, store.GrantRow{Project: g.Project, User: g.User, Role: g.Role})
		}); err != nil {
		return nil, err
	}
	d.mu.Lock()
	u.grants[g.Project] = g.Role
	u.rebuild()
	d.mu.Unlock()
	return &g, nil
}

// Ungrant takes a user's role in a project away.
func (s *Server) Ungrant(ctx context.Context, actor, project, user string) error {
	d := &s.users
	d.write.Lock()
	defer d.write.Unlock()
	u := d.get(user)
	if u == nil {
		return s.noUser(user)
	}
	if u.grants[project] == "" {
		return &apierr.NotFound{Msg: fmt.Sprintf("%s holds no role in project %s: `burst project show %s` lists its members", user, project, project)}
	}
	if err := s.userWrite(ctx, actor, "project.revoke", project, user, user+" holds no role in "+project+" any more",
		func(tx *store.Tx) error { return store.DeleteGrant(tx, project, user) }); err != nil {
		return err
	}
	d.mu.Lock()
	delete(u.grants, project)
	u.rebuild()
	d.mu.Unlock()
	return nil
}

// userWrite writes a change with its audit event, and tells the event's
// followers.
func (s *Server) userWrite(ctx context.Context, actor, kind, project, target, msg string, fn func(*store.Tx) error) error {
	if err := s.refuseWrite(); err != nil {
		return err
	}
	ev := s.newEvent(actor, kind, project, target, msg)
	if err := s.st.Write(ctx, func(tx *store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return store.AppendEvent(tx, &ev)
	}); err != nil {
		return err
	}
	s.ui.bump(ev.Project)
	s.signalEvents()
	return nil
}

func (d *userDir) get(name string) *userRT {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.users[name]
}

// dropCredsLocked forgets every credential of user; d.mu is held.
func (d *userDir) dropCredsLocked(user string) {
	for h, u := range d.creds {
		if u == user {
			delete(d.creds, h)
		}
	}
}

func (s *Server) noUser(name string) error {
	names := []string{}
	for _, u := range s.Users() {
		names = append(names, u.Name)
	}
	known := "none yet: add one with `burst user add NAME`"
	if len(names) > 0 {
		known = strings.Join(names, ", ")
	}
	return &apierr.NotFound{Msg: fmt.Sprintf("no user %s (users: %s)", name, known)}
}
