package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// Sessions outlive a reopen; saving one forgets the expired; deleting ends
// one.
func TestSessions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	now := time.Now()
	save := func(r SessionRow) {
		t.Helper()
		if err := s.Write(ctx, func(tx *Tx) error { return tx.SaveSession(r, now) }); err != nil {
			t.Fatal(err)
		}
	}
	save(SessionRow{IDHash: "old", User: "ui-a", CSRF: "c0", TokenHash: "t", Expires: now.Add(-time.Second)})
	save(SessionRow{IDHash: "live", User: "ui-a", CSRF: "c1", TokenHash: "t", Expires: now.Add(time.Hour)})
	s.Close()
	s = open(t, path)
	got, err := s.GetSession(ctx, "live")
	if err != nil || got == nil || got.User != "ui-a" || got.CSRF != "c1" || got.TokenHash != "t" ||
		got.Expires.UnixMicro() != now.Add(time.Hour).UnixMicro() {
		t.Fatalf("live session after reopening: %+v, %v", got, err)
	}
	save(SessionRow{IDHash: "new", User: "ui-b", CSRF: "c2", TokenHash: "t", Expires: now.Add(time.Hour)})
	if got, err := s.GetSession(ctx, "old"); err != nil || got != nil {
		t.Fatalf("an expired session should be forgotten when another is saved: %+v, %v", got, err)
	}
	if err := s.Write(ctx, func(tx *Tx) error { return tx.DeleteSession("live") }); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetSession(ctx, "live"); err != nil || got != nil {
		t.Fatalf("a deleted session: %+v, %v", got, err)
	}
	if got, err := s.GetSession(ctx, "new"); err != nil || got == nil {
		t.Fatalf("the other session should remain: %+v, %v", got, err)
	}
}
