package server

import (
	"context"
	"strings"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

// Principal is who a credential other than the home's token stands for
// (api.Identities): a user's credential (principalOfUser) or a machine's
// (principalOfMachine), told apart by their prefixes; nil, nil for
// anything else.
func (b backend) Principal(ctx context.Context, secret string) (*auth.Principal, error) {
	switch {
	case strings.HasPrefix(secret, client.UserCredentialPrefix):
		return b.principalOfUser(ctx, secret)
	case strings.HasPrefix(secret, client.MachineCredentialPrefix):
		return b.principalOfMachine(ctx, secret)
	}
	return nil, nil
}

// principalOfUser is who a user's credential stands for (users.go); nil
// when no user holds it: never issued, revoked, or its user removed.
func (s *Server) principalOfUser(_ context.Context, secret string) (*auth.Principal, error) {
	return s.PrincipalOfCredential(credentialHash(secret)), nil
}

// principalOfMachine is in joins.go.
