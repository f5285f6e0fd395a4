package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// A join token is taken once, by one of two machines racing for it, and
// not after it expired (the clock is passed in) or was revoked; a machine
// credential is revoked once, and stays revoked after a reopen.
func TestJoinTokens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	now := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	add := func(hash string, ttl time.Duration) int64 {
		t.Helper()
		var id int64
		if err := s.Write(ctx, func(tx *Tx) (err error) {
			id, err = tx.AddJoinToken(JoinTokenRow{Hash: hash, Cluster: "lab", CreatedBy: "ada", Created: now, Expires: now.Add(ttl)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	redeem := func(hash, machine string, at time.Time) error {
		return s.Write(ctx, func(tx *Tx) error {
			r, err := tx.RedeemJoinToken(hash, machine, at)
			if err != nil {
				return err
			}
			return tx.AddMachineCredential(MachineCredentialRow{Hash: "cred-" + machine, Machine: machine, Cluster: r.Cluster, TokenID: r.ID, Created: at})
		})
	}
	why := func(err error) JoinRefusal {
		var jr *JoinRefused
		if errors.As(err, &jr) {
			return jr.Why
		}
		return 0
	}

	// The race: many machines, one token, one winner.
	add("race", time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = redeem("race", "m"+string(rune('a'+i)), now.Add(time.Minute)) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case why(err) != TokenUsed:
			t.Fatalf("a machine that lost the race: %v, want %q", err, "join token already used")
		}
	}
	if won != 1 {
		t.Fatalf("%d machines joined with one token, want 1", won)
	}
	creds, err := s.MachineCredentials(ctx)
	if err != nil || len(creds) != 1 || creds[0].Cluster != "lab" {
		t.Fatalf("credentials after the race: %+v, %v", creds, err)
	}

	// Expiry, with the clock passed in: a second before it joins, at it
	// is refused, naming when.
	add("short", time.Minute)
	if err := redeem("short", "late", now.Add(time.Minute)); why(err) != TokenExpired || err.Error() != "join token expired at 2027-01-02T03:05:05Z" {
		t.Fatalf("an expired token: %v", err)
	}
	if err := redeem("short", "early", now.Add(59*time.Second)); err != nil {
		t.Fatalf("a token a second before it expires: %v", err)
	}
	if err := redeem("nosuch", "x", now); why(err) != TokenUnknown || err.Error() != "not a join token of this server" {
		t.Fatalf("an unknown token: %v", err)
	}

	// A revoked token is unknown; revoking it twice, or a used one, is
	// not found.
	id := add("rev", time.Hour)
	if err := s.Write(ctx, func(tx *Tx) error { return tx.RevokeJoinToken(id, now) }); err != nil {
		t.Fatal(err)
	}
	if err := redeem("rev", "x", now); why(err) != TokenUnknown {
		t.Fatalf("a revoked token: %v", err)
	}
	if err := s.Write(ctx, func(tx *Tx) error { return tx.RevokeJoinToken(id, now) }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking a revoked token: %v", err)
	}

	// Names: taken by a credential's machine, revoked or not.
	var taken bool
	s.Write(ctx, func(tx *Tx) (err error) { taken, err = tx.MachineNameTaken("early"); return err })
	if !taken {
		t.Fatal("the name of a joined machine should be taken")
	}

	// Revoking a machine's credentials: once, durably.
	var hashes []string
	if err := s.Write(ctx, func(tx *Tx) (err error) { hashes, err = tx.RevokeMachineCredentials("early", now); return err }); err != nil || len(hashes) != 1 || hashes[0] != "cred-early" {
		t.Fatalf("revoke: %v, %v", hashes, err)
	}
	if err := s.Write(ctx, func(tx *Tx) (err error) { _, err = tx.RevokeMachineCredentials("early", now); return err }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking again: %v", err)
	}
	s.Close()
	s = open(t, path)
	creds, _ = s.MachineCredentials(ctx)
	revoked := 0
	for _, c := range creds {
		if c.Revoked != nil {
			revoked++
			if c.Machine != "early" {
				t.Fatalf("revoked the wrong machine: %+v", c)
			}
		}
	}
	toks, err := s.JoinTokens(ctx)
	if err != nil || len(toks) != 3 || toks[0].Revoked == nil || toks[1].UsedBy != "early" {
		t.Fatalf("after a reopen: %d revoked credentials, tokens %+v, %v", revoked, toks, err)
	}
	if revoked != 1 {
		t.Fatalf("%d revoked credentials after a reopen, want 1", revoked)
	}
}

// A join token minted for a named machine (a Slurm pilot: burst names it,
// and its pending machine holds the name) says that name, redeems to that
// name only, and only once; a token for any machine names none.
func TestNamedJoinToken(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	now := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.Write(ctx, func(tx *Tx) error {
		if _, err := tx.AddJoinToken(JoinTokenRow{Hash: "pilot", Cluster: "hpc", Machine: "hpc-3", CreatedBy: "server", Created: now, Expires: now.Add(time.Hour)}); err != nil {
			return err
		}
		_, err := tx.AddJoinToken(JoinTokenRow{Hash: "any", Cluster: "lab", CreatedBy: "ada", Created: now, Expires: now.Add(time.Hour)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	named := func(hash string) string {
		t.Helper()
		var m string
		if err := s.Write(ctx, func(tx *Tx) (err error) { m, err = tx.JoinTokenMachine(hash); return err }); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := named("pilot"); m != "hpc-3" {
		t.Errorf("the pilot's token names %q, want hpc-3", m)
	}
	if m := named("any"); m != "" {
		t.Errorf("a token for any machine names %q", m)
	}
	if m := named("unknown"); m != "" {
		t.Errorf("an unknown token names %q", m)
	}
	redeem := func(machine string) (*JoinTokenRow, error) {
		var r *JoinTokenRow
		err := s.Write(ctx, func(tx *Tx) (err error) {
			r, err = tx.RedeemJoinToken("pilot", machine, now.Add(time.Minute))
			return err
		})
		return r, err
	}
	var jr *JoinRefused
	if _, err := redeem("hpc-3-2"); !errors.As(err, &jr) || jr.Why != TokenOtherMachine || jr.Machine != "hpc-3" {
		t.Fatalf("redeemed for another name: %v", err)
	}
	r, err := redeem("hpc-3")
	if err != nil {
		t.Fatalf("the named machine could not redeem its token: %v", err)
	}
	if r.Machine != "hpc-3" || r.Cluster != "hpc" || r.UsedBy != "hpc-3" {
		t.Errorf("redeemed %+v", r)
	}
	if _, err := redeem("hpc-3"); !errors.As(err, &jr) || jr.Why != TokenUsed {
		t.Fatalf("redeemed twice: %v", err)
	}
	rows, err := s.JoinTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if want := map[string]string{"pilot": "hpc-3", "any": ""}[r.Hash]; r.Machine != want {
			t.Errorf("token %s lists machine %q, want %q", r.Hash, r.Machine, want)
		}
	}
}
