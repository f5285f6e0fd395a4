package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/api"
	"github.com/burst-sh/burst/internal/store"
)

// A stranger's join is refused on a read: with the store's one writer
// held busy (as a burst of agents' reports would hold it), a join with an
// unknown, used or expired token is still answered 401 at once. It used to
// open a write transaction first (and look for a free machine name there),
// so it waited for the writer, and took it, before the token was checked.
func TestJoinRefusesBadTokensWithoutWriting(t *testing.T) {
	s := fleetServer(t)
	s.addr = "http://127.0.0.1:7780"
	ctx := api.WithActor(context.Background(), "ada")

	used, err := s.CreateJoinToken(ctx, &client.JoinTokenSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join(context.Background(), &client.JoinRequest{Token: used.Token, Machine: "m1"}); err != nil {
		t.Fatal(err)
	}
	expired, err := s.CreateJoinToken(ctx, &client.JoinTokenSpec{TTL: "1ms"})
	if err != nil {
		t.Fatal(err)
	}
	for time.Now().Before(expired.Expires) { // wait for the expiry itself
		time.Sleep(time.Millisecond)
	}

	release := make(chan struct{})
	held := s.st.Enqueue(func(*store.Tx) error { <-release; return nil })
	defer func() { close(release); held.Wait() }()
	for _, tc := range []struct{ name, token, msg string }{
		{"unknown", client.JoinTokenPrefix + "0123", "unknown or revoked"},
		{"used", used.Token, "already used"},
		{"expired", expired.Token, "expired at"},
	} {
		done := make(chan error, 1)
		go func() {
			_, err := s.Join(context.Background(), &client.JoinRequest{Token: tc.token, Machine: "m2"})
			done <- err
		}()
		select {
		case err := <-done:
			var r *api.Refused
			if !errors.As(err, &r) || r.Status != http.StatusUnauthorized || !strings.Contains(r.Msg, tc.msg) {
				t.Errorf("join with a %s token: %v, want 401 %q", tc.name, err, tc.msg)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("join with a %s token waited for the store's writer: it must be refused on a read", tc.name)
		}
	}
}

// Join tokens made and revoked, a machine joining and a joined machine
// revoked (one the server holds no agent of) each leave an audit event
// naming who did it.
func TestJoinAuditEvents(t *testing.T) {
	s := fleetServer(t)
	s.addr = "http://127.0.0.1:7780"
	ctx := api.WithActor(context.Background(), "ada")
	tok, err := s.CreateJoinToken(ctx, &client.JoinTokenSpec{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateJoinToken(ctx, &client.JoinTokenSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join(context.Background(), &client.JoinRequest{Token: tok.Token, Machine: "m1"}); err != nil {
		t.Fatal(err)
	}
	infos, err := s.JoinTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var spareID int64
	for _, i := range infos {
		if i.Used == nil {
			spareID = i.ID
		}
	}
	if err := s.RevokeJoinToken(api.WithActor(context.Background(), "bob"), spareID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeMachine(api.WithActor(context.Background(), "bob"), "m1"); err != nil {
		t.Fatal(err)
	}
	evs, err := s.st.ListEvents(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Actor+" "+e.Kind+" "+e.Target)
	}
	// The first token without --cluster makes the default cluster of
	// joined machines, which is audited too.
	want := []string{"ada cluster.create joined", "ada join-token.create 1", "ada join-token.create 2", "machine m1 machine.join m1",
		"bob join-token.revoke 2", "bob machine.revoke m1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRevokeUnknownMachine: revoking a machine the server does not know
// says there is no such machine (404), not that it lacks a credential.
func TestRevokeUnknownMachine(t *testing.T) {
	s := fleetServer(t)
	_, err := s.RevokeMachine(api.WithActor(context.Background(), "ada"), "laptop-7")
	var nf *errNotFoundMsg
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "there is no machine laptop-7") {
		t.Fatalf("revoke of an unknown machine: %v, want a 404 saying there is no such machine", err)
	}
}

// A join token that cannot be revoked says why: used (by which machine,
// and how to turn that one away), revoked already, or none such. Before,
// each read "is not an unused join token".
func TestRevokeJoinTokenSaysWhyNot(t *testing.T) {
	s := fleetServer(t)
	s.addr = "http://127.0.0.1:7780"
	ctx := api.WithActor(context.Background(), "ada")
	used, err := s.CreateJoinToken(ctx, &client.JoinTokenSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join(context.Background(), &client.JoinRequest{Token: used.Token, Machine: "m1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateJoinToken(ctx, &client.JoinTokenSpec{}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeJoinToken(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   int64
		want string
	}{
		{1, "join token 1 was used by machine m1: a used token joins nothing more; to turn that machine away, revoke its credential: burst machine revoke m1"},
		{2, "join token 2 is revoked already: nothing to do"},
		{99, "no join token 99: see `burst join-token list`"},
	} {
		err := s.RevokeJoinToken(ctx, tc.id)
		var nf *errNotFoundMsg
		if !errors.As(err, &nf) || err.Error() != tc.want {
			t.Errorf("revoke of join token %d: %v, want a 404 saying %q", tc.id, err, tc.want)
		}
	}
}
