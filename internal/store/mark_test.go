package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// damageIndex makes the index jobs_project of the closed store at path
// disagree with its table while every page stays well formed: its schema
// entry is rewritten (PRAGMA writable_schema) to index other columns than
// the entries it holds. quick_check does not compare an index with its
// table; integrity_check does ("row N missing from index"). Such damage is
// what a server can meet while serving (a lookup through the index) and
// the next start's quick_check passes.
func damageIndex(t testing.TB, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		"PRAGMA writable_schema = ON",
		"UPDATE sqlite_schema SET sql = 'CREATE INDEX jobs_project ON jobs(state, id)' WHERE name = 'jobs_project'",
		"PRAGMA writable_schema = OFF",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// A store a server marked damaged is served again only once the full
// integrity_check passes: damage quick_check does not see (an index's
// content) is refused with what both found, and the mark stays; a store
// found whole loses its mark. Before, the next start's quick_check passed,
// the server served, met the damage again and exited: a restart per
// command.
func TestMarkedStoreGetsIntegrityCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	fill(t, s, 50)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	damageIndex(t, path)

	// Unmarked, quick_check alone passes it: this is the damage the mark is for.
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("unmarked store with a damaged index: %v; want quick_check to pass it (the case the mark covers)", err)
	}
	s2.Close()

	if err := MarkDamaged(path, errors.New("database disk image is malformed")); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	var ce *CorruptError
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, "integrity_check") || !strings.Contains(ce.Detail, "jobs_project") ||
		!strings.Contains(ce.Detail, "malformed") {
		t.Fatalf("marked store with a damaged index: %v; want a CorruptError naming integrity_check's finding and the mark", err)
	}
	if _, err := os.Stat(DamagedMark(path)); err != nil {
		t.Fatalf("the mark of a store still damaged: %v; want it kept", err)
	}

	// A restore replaces the store, and its mark goes with it.
	whole := filepath.Join(t.TempDir(), "whole.db")
	w := open(t, whole)
	fill(t, w, 5)
	w.Close()
	if _, err := Restore(context.Background(), whole, path, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(DamagedMark(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after a restore the mark is still there (%v)", err)
	}

	// A whole store marked (the damage was elsewhere, or passing) is served, and unmarked.
	if err := MarkDamaged(path, errors.New("a read failed")); err != nil {
		t.Fatal(err)
	}
	s3, err := Open(path)
	if err != nil {
		t.Fatalf("a whole store marked damaged: %v; want it served once integrity_check passes", err)
	}
	s3.Close()
	if _, err := os.Stat(DamagedMark(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a whole store's mark after its start: %v; want it removed", err)
	}
}

// A marked store whose integrity_check does not finish in time is refused:
// the damage is known, and serving it is what the mark is against.
func TestMarkedStoreCheckOutOfTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	fill(t, s, 100)
	s.Close()
	if err := MarkDamaged(path, errors.New("a read failed")); err != nil {
		t.Fatal(err)
	}
	old := checkTimeout
	checkTimeout = 0
	defer func() { checkTimeout = old }()
	_, err := Open(path)
	var ce *CorruptError
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, "did not finish") {
		t.Fatalf("marked store checked out of time: %v; want it refused as damaged, the check named", err)
	}
}
