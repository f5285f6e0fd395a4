package client

import (
	"context"
	"net/url"
)

// Users lists every user with their roles (admin only).
func (c *Client) Users(ctx context.Context) ([]User, error) {
	var out []User
	return out, c.do(ctx, "GET", "/v1/users", nil, &out)
}

// AddUser adds a person; admin makes them an admin of everything.
func (c *Client) AddUser(ctx context.Context, name string, admin bool) (*User, error) {
	var out User
	return &out, c.do(ctx, "POST", "/v1/users", &User{Name: name, Admin: admin}, &out)
}

// AddMetricsUser adds a metrics-only user: its credentials (NewUserToken)
// read GET /metrics and nothing else, for a Prometheus server.
func (c *Client) AddMetricsUser(ctx context.Context, name string) (*User, error) {
	var out User
	return &out, c.do(ctx, "POST", "/v1/users", &User{Name: name, Metrics: true}, &out)
}

// RemoveUser forgets a user with their credentials and roles.
func (c *Client) RemoveUser(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", "/v1/users/"+url.PathEscape(name), nil, nil)
}

// NewUserToken makes a new credential for a user, shown once; revokeAll
// cuts their others first.
func (c *Client) NewUserToken(ctx context.Context, name string, revokeAll bool) (*UserToken, error) {
	path := "/v1/users/" + url.PathEscape(name) + "/tokens"
	if revokeAll {
		path += "?revoke_all=1"
	}
	var out UserToken
	return &out, c.do(ctx, "POST", path, nil, &out)
}

// RevokeUserTokens cuts every credential of a user (Revoked says how many).
func (c *Client) RevokeUserTokens(ctx context.Context, name string) (*UserToken, error) {
	var out UserToken
	return &out, c.do(ctx, "POST", "/v1/users/"+url.PathEscape(name)+"/revoke", nil, &out)
}

// Members are a project's users and their roles.
func (c *Client) Members(ctx context.Context, project string) ([]Grant, error) {
	var out []Grant
	return out, c.do(ctx, "GET", "/v1/projects/"+url.PathEscape(project)+"/members", nil, &out)
}

// Grant gives a user a role in a project (replacing the one they had).
func (c *Client) Grant(ctx context.Context, project, user, role string) (*Grant, error) {
	var out Grant
	return &out, c.do(ctx, "PUT", "/v1/projects/"+url.PathEscape(project)+"/members/"+url.PathEscape(user), &Grant{Role: role}, &out)
}

// Ungrant takes a user's role in a project away.
func (c *Client) Ungrant(ctx context.Context, project, user string) error {
	return c.do(ctx, "DELETE", "/v1/projects/"+url.PathEscape(project)+"/members/"+url.PathEscape(user), nil, nil)
}
