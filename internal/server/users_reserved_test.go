package server

import (
	"context"
	"testing"
)

// A user may not take a name the server already acts under: the home's
// owner (its token's actor), "server" and burst's other automatic actors,
// or a dashboard session's ui-NAME.
func TestAddUserRefusesReservedNames(t *testing.T) {
	s := fleetServer(t)
	s.user = "ada"
	if err := s.loadUsers(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ada", "server", "ui-ada", "autoscaler", "guardrail", "lifecycle"} {
		if _, err := s.AddUser(context.Background(), "ada", name, false, false); err == nil {
			t.Errorf("user %s was added: it is the server's own name", name)
		}
	}
	if _, err := s.AddUser(context.Background(), "ada", "alice", false, false); err != nil {
		t.Fatalf("alice: %v", err)
	}
}
