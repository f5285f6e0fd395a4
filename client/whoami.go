package client

import "context"

// Whoami says who the server takes this client's credential for: its
// name, kind (admin, user, machine) and roles.
func (c *Client) Whoami(ctx context.Context) (*Whoami, error) {
	var w Whoami
	return &w, c.do(ctx, "GET", "/v1/whoami", nil, &w)
}
