package store

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// What the cache saved is a sum of what its hits' runs cost, which grows
// with every hit: past what an int64 of nano-dollars holds (about $9.2
// billion, reached by an absurd price or a great many hits) it stays at
// that limit. It must never wrap, turn into a float the store cannot read
// back, or make SQLite's SUM fail: the server reads these sums at start,
// and one that failed would keep it from starting.
func TestCacheSavedSaturates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	spec := &burst.JobSpec{Argv: []string{"true"}}
	spec.Defaults()
	now := time.Now()
	big := int64(math.MaxInt64 - 5)
	var jobs []int64
	if err := s.Write(ctx, func(tx *Tx) error {
		for range 2 {
			id, err := InsertJob(tx, spec, "ann", now)
			if err != nil {
				return err
			}
			jobs = append(jobs, id)
		}
		e := &CacheEntry{Key: "k", Project: "default", Job: jobs[0], Parts: []byte("{}"), CostNUSD: big, CreatedAt: now}
		if err := SaveCacheEntry(tx, e, []byte("{}")); err != nil {
			return err
		}
		for _, j := range jobs {
			if err := CacheHit(tx, "k", big); err != nil {
				return err
			}
			if err := SaveCacheUse(tx, j, client.CacheUse{Task: 0, Hit: true, SavedNUSD: big}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st, err := s.LoadCache(ctx)
	if err != nil {
		t.Fatalf("loading the cache after its saved sum passed the limit: %v", err)
	}
	if len(st.Entries) != 1 || st.Entries[0].SavedNUSD != math.MaxInt64 || st.Entries[0].Hits != 2 {
		t.Fatalf("entries %+v, want one with 2 hits that saved %d", st.Entries, int64(math.MaxInt64))
	}
	tally, err := s.CacheTally(ctx)
	if err != nil {
		t.Fatalf("tally: %v", err)
	}
	if d := tally["default"]; d == nil || d.Hits != 2 || d.SavedNUSD != math.MaxInt64 {
		t.Fatalf("tally %+v, want 2 hits that saved %d", d, int64(math.MaxInt64))
	}
	for _, by := range []string{"project", "user", "machine"} {
		saved, err := s.CacheSavedBy(ctx, by, "")
		if err != nil {
			t.Fatalf("saved by %s: %v", by, err)
		}
		if len(saved) != 1 || saved[0].Hits != 2 || saved[0].NUSD != math.MaxInt64 {
			t.Fatalf("saved by %s: %+v, want one group of 2 hits that saved %d", by, saved, int64(math.MaxInt64))
		}
	}
	// Below the limit the sums stay exact to the nano-dollar.
	if err := s.Write(ctx, func(tx *Tx) error {
		for i, j := range jobs {
			if err := SaveCacheUse(tx, j, client.CacheUse{Task: 0, Hit: true, SavedNUSD: 1_234_567_891 + int64(i)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	saved, err := s.CacheSavedBy(ctx, "job", "")
	if err != nil || len(saved) != 2 || saved[0].NUSD != 1_234_567_891 || saved[1].NUSD != 1_234_567_892 {
		t.Fatalf("saved by job: %+v, %v; want 1234567891 and 1234567892", saved, err)
	}
	if tally, err := s.CacheTally(ctx); err != nil || tally["default"].SavedNUSD != 2_469_135_783 {
		t.Fatalf("tally: %+v, %v; want 2469135783 saved", tally["default"], err)
	}
}
