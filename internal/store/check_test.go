package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// fill writes a job of n ended tasks, as a finished map leaves them.
func fill(t testing.TB, s *Store, n int) int64 {
	t.Helper()
	ctx := context.Background()
	spec := &burst.JobSpec{Argv: []string{"echo", "{}"}, Tasks: n}
	spec.Defaults()
	var id int64
	if err := s.Write(ctx, func(tx *Tx) (err error) { id, err = InsertJob(tx, spec, "", time.Now()); return err }); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	code := 0
	const batch = 5000
	for from := 0; from < n; from += batch {
		if err := s.Write(ctx, func(tx *Tx) error {
			for i := from; i < min(from+batch, n); i++ {
				task := TaskRow{Task: burst.Task{JobID: id, Index: i, State: burst.Succeeded, Attempt: 1, Machine: "local-1",
					ExitCode: &code, StartedAt: &now, EndedAt: &now,
					Stdout: "/home/u/.burst/logs/1/" + strconv.Itoa(i/1000) + "/" + strconv.Itoa(i) + ".out",
					Stderr: "/home/u/.burst/logs/1/" + strconv.Itoa(i/1000) + "/" + strconv.Itoa(i) + ".err"}}
				if err := SaveTask(tx, &task); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// damage writes 4 KiB of garbage in the middle of the file at path.
func damage(t testing.TB, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(i*7 + 13)
	}
	off := fi.Size() / 2 / 4096 * 4096
	if _, err := f.WriteAt(junk, off); err != nil {
		t.Fatal(err)
	}
}

func TestCheckFindsGarbageAndRestoreMendsIt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	id := fill(t, s, 5000)
	snap := filepath.Join(dir, "snap.db")
	if err := s.Backup(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, snap); err == nil {
		t.Fatal("a backup over an existing file succeeded; want it refused")
	}
	if fi, err := os.Stat(snap); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup %v, %v: want a 0600 file", fi, err)
	}
	s.Close()
	// Closed cleanly, its WAL checkpointed: frames left in it would hold
	// newer copies of the pages damaged below, and hide the damage.
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	if err := CheckBackup(ctx, path); err != nil {
		t.Fatalf("a whole store fails its check: %v", err)
	}
	damage(t, path)
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open of a damaged store succeeded; want it refused")
	} else if !errors.Is(err, ErrCorrupt) || !IsCorrupt(err) {
		t.Fatalf("Open of a damaged store = %v; want ErrCorrupt", err)
	}
	t.Logf("damaged store: %v", err)

	// A damaged file is no backup to restore from.
	if _, err := Restore(ctx, path, filepath.Join(dir, "other.db"), time.Now()); err == nil {
		t.Fatal("restore from a damaged file succeeded")
	}
	aside, err := Restore(ctx, snap, path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(aside); err != nil {
		t.Fatalf("the damaged store was not kept aside: %v", err)
	}
	if err := CheckBackup(ctx, path); err != nil {
		t.Fatalf("restored store: %v", err)
	}
	s2 := open(t, path)
	tasks, err := s2.ListTasks(ctx, id, 0, 10000)
	if err != nil || len(tasks) != 5000 {
		t.Fatalf("restored store lists %d tasks (%v); want 5000", len(tasks), err)
	}
}

func TestCheckRefusesForeignFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a database, but long enough to look like one to nobody\n"), 0o600)
	if err := CheckBackup(ctx, text); !IsCorrupt(err) {
		t.Fatalf("CheckBackup(text) = %v; want a not-a-database error", err)
	}
	if err := CheckBackup(ctx, filepath.Join(dir, "missing.db")); err == nil {
		t.Fatal("CheckBackup of a missing file succeeded")
	}
	s, err := Open(filepath.Join(dir, "missing.db"))
	if err != nil {
		t.Fatalf("Open of a store not made yet: %v", err)
	}
	s.Close()
}

// TestCheckTimeOn100kTasks checks a sound store of 100,000 tasks whole and
// reports how long the check took (the figure in docs/guarantees.md;
// a time is measured here, never asserted: a loaded machine or the race
// detector makes it many times slower).
func TestCheckTimeOn100kTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100k-task store")
	}
	defer func(d time.Duration) { checkTimeout = d }(checkTimeout)
	checkTimeout = 10 * time.Minute
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, 100000)
	s.Close()
	fi, _ := os.Stat(path)
	start := time.Now()
	if err := CheckBackup(ctx, path); err != nil {
		t.Fatal(err)
	}
	t.Logf("quick_check of a 100,000-task store (%.1f MB): %s (race detector: %v)", float64(fi.Size())/1e6, time.Since(start), raceEnabled)
}

// A store whose check at open runs out of time is served, not refused: a
// sound store of 1.5 GB on a cold cache takes longer than CheckTimeout.
// FinishCheck then checks it whole, and finds damage the cut check missed.
// (Before: the check's timeout refused the store, and the server with it.)
func TestOpenServesAStoreWhoseCheckRunsOutOfTime(t *testing.T) {
	defer func(d time.Duration) { checkTimeout = d }(checkTimeout)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	s := open(t, path)
	fill(t, s, 5000)
	s.Close()
	// Closed cleanly: its WAL is checkpointed, and frames left in it would
	// hide the damage made below.
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")

	checkTimeout = time.Nanosecond
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open of a whole store whose check ran out of time: %v; want it opened", err)
	}
	if !s.Unchecked() {
		t.Fatal("Unchecked() = false after a check that ran out of time")
	}
	if err := s.FinishCheck(ctx); err != nil {
		t.Fatalf("FinishCheck of a whole store: %v", err)
	}
	s.Close()

	damage(t, path)
	s, err = Open(path)
	if err != nil {
		t.Fatalf("Open of a store whose check ran out of time: %v; want it opened", err)
	}
	defer s.Close()
	if err := s.FinishCheck(ctx); !IsCorrupt(err) {
		t.Fatalf("FinishCheck of a damaged store = %v; want it found damaged", err)
	}

	checkTimeout = CheckTimeout
	s2, err := Open(filepath.Join(dir, "new.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Unchecked() {
		t.Fatal("a store checked within CheckTimeout says it is unchecked")
	}
}

// CheckBackup and Restore read their source and change nothing in it: a
// store copied with its -wal file (cp state.db state.db-wal elsewhere)
// keeps its WAL, byte for byte, and the restored copy holds what the WAL
// held. (Before: the check's close, as the last connection, checkpointed
// the WAL into the source and deleted it, and the restore copied only the
// main file.)
func TestCheckAndRestoreLeaveTheSourceAlone(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	s := open(t, live)
	id := fill(t, s, 300)
	// Copy the store and its WAL while it is open: the copy's newest
	// rows are in its -wal alone.
	src := filepath.Join(dir, "copy.db")
	for _, sfx := range []string{"", "-wal"} {
		b, err := os.ReadFile(live + sfx)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(src+sfx, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	before := map[string][]byte{}
	for _, sfx := range []string{"", "-wal"} {
		b, _ := os.ReadFile(src + sfx)
		before[sfx] = b
	}
	if len(before["-wal"]) == 0 {
		t.Fatal("the copy has no WAL to keep: the test shows nothing")
	}
	same := func(when string) {
		t.Helper()
		for sfx, want := range before {
			got, err := os.ReadFile(src + sfx)
			if err != nil || string(got) != string(want) {
				t.Fatalf("%s: %s changed (%d bytes, was %d; %v)", when, src+sfx, len(got), len(want), err)
			}
		}
	}
	if err := CheckBackup(ctx, src); err != nil {
		t.Fatal(err)
	}
	same("after CheckBackup")
	dst := filepath.Join(dir, "state.db")
	if _, err := Restore(ctx, src, dst, time.Now()); err != nil {
		t.Fatal(err)
	}
	same("after Restore")
	s2 := open(t, dst)
	tasks, err := s2.ListTasks(ctx, id, 0, 10000)
	if err != nil || len(tasks) != 300 {
		t.Fatalf("restored store lists %d tasks (%v); want 300, the WAL's rows included", len(tasks), err)
	}
}

// A store keeps its WAL and WAL index when it closes (persistWAL, through
// the checked connection of corrupt.go), so that a server starts again on
// a full disk; and Open's check, made on the writer's own connection,
// opens no connection whose close could delete them. (Before: the checked
// connection hid the driver's FileControl, persistWAL did nothing, and the
// next start on a full disk failed with SQLITE_IOERR_SHMSIZE.)
func TestCloseKeepsTheWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	for range 2 {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		fill(t, s, 10)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for _, sfx := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(path + sfx); err != nil {
				t.Fatalf("after Close: %v; want the store's %s kept", err, sfx)
			}
		}
	}
}
