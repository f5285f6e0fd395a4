package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// Users, credentials and grants outlive a reopen; removing a user takes
// their credentials and grants with them; revoking counts what it cut.
func TestUsers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	now := time.Now().UTC().Truncate(time.Microsecond)
	write := func(fn func(*Tx) error) {
		t.Helper()
		if err := s.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	write(func(tx *Tx) error {
		for _, u := range []UserRow{{Name: "alice", Created: now}, {Name: "bob", Admin: true, Created: now}} {
			if err := SaveUser(tx, u); err != nil {
				return err
			}
		}
		for _, c := range []CredentialRow{{Hash: "h1", User: "alice", Created: now}, {Hash: "h2", User: "alice", Created: now},
			{Hash: "h3", User: "bob", Created: now}} {
			if err := AddCredential(tx, c); err != nil {
				return err
			}
		}
		for _, g := range []GrantRow{{"mars", "alice", "member"}, {"mars", "bob", "owner"}, {"venus", "alice", "viewer"}} {
			if err := SaveGrant(tx, g); err != nil {
				return err
			}
		}
		return SaveGrant(tx, GrantRow{"mars", "alice", "owner"}) // replaces her member role
	})
	s.Close()
	s = open(t, path)
	got, err := s.LoadUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []UserRow{{"alice", false, false, now}, {"bob", true, false, now}}; !reflect.DeepEqual(got.Users, want) {
		t.Fatalf("users after reopening: %+v, want %+v", got.Users, want)
	}
	if want := []GrantRow{{"mars", "alice", "owner"}, {"mars", "bob", "owner"}, {"venus", "alice", "viewer"}}; !reflect.DeepEqual(got.Grants, want) {
		t.Fatalf("grants: %+v, want %+v", got.Grants, want)
	}
	if len(got.Credentials) != 3 {
		t.Fatalf("credentials: %+v", got.Credentials)
	}
	// A metrics-only user keeps that across a restart (migration 20).
	write(func(tx *Tx) error { return SaveUser(tx, UserRow{Name: "prom", Metrics: true, Created: now}) })
	if got, err := s.LoadUsers(ctx); err != nil || len(got.Users) != 3 || !got.Users[2].Metrics || got.Users[1].Metrics {
		t.Fatalf("users with a metrics user: %+v (%v)", got, err)
	}
	write(func(tx *Tx) error { return DeleteUser(tx, "prom") })
	var n int64
	write(func(tx *Tx) (err error) { n, err = RevokeCredentials(tx, "alice"); return err })
	if n != 2 {
		t.Fatalf("revoked %d of alice's credentials, want 2", n)
	}
	write(func(tx *Tx) error { return DeleteGrant(tx, "venus", "alice") })
	write(func(tx *Tx) error { return DeleteUser(tx, "bob") })
	got, err = s.LoadUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Users) != 1 || got.Users[0].Name != "alice" || len(got.Credentials) != 0 ||
		!reflect.DeepEqual(got.Grants, []GrantRow{{"mars", "alice", "owner"}}) {
		t.Fatalf("after revoke, ungrant and removing bob: %+v", got)
	}
}

// JobFilter.Projects and EventFilter.Projects keep only those projects;
// an empty (not nil) list keeps none.
func TestFilterByProjects(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	now := time.Now().UTC()
	for _, p := range []string{"mars", "venus"} {
		p := p
		if err := s.Write(ctx, func(tx *Tx) error {
			if err := SaveProject(tx, &ProjectRow{Project: burst.Project{Name: p, CreatedAt: now}}); err != nil {
				return err
			}
			e := burst.Event{At: now, Actor: "a", Kind: "k", Project: p}
			return AppendEvent(tx, &e)
		}); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := s.ListEvents(ctx, EventFilter{Projects: []string{"venus"}})
	if err != nil || len(evs) != 1 || evs[0].Project != "venus" {
		t.Fatalf("events of venus: %+v, %v", evs, err)
	}
	evs, err = s.ListEvents(ctx, EventFilter{Projects: []string{}})
	if err != nil || len(evs) != 0 {
		t.Fatalf("events of no project: %+v, %v", evs, err)
	}
	jobs, err := s.ListJobs(ctx, JobFilter{Projects: []string{}})
	if err != nil || len(jobs) != 0 {
		t.Fatalf("jobs of no project: %+v, %v", jobs, err)
	}
}
