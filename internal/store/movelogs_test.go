package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// TestMoveLogsAbove: the log folders of jobs above the store's highest id
// go aside, into a folder of their own even when one of the name is there
// (two moves in one second); the store's own jobs' logs stay.
func TestMoveLogsAbove(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	s := open(t, path)
	spec := &burst.JobSpec{Argv: []string{"true"}}
	spec.Defaults()
	var id int64
	if err := s.Write(ctx, func(tx *Tx) (err error) { id, err = InsertJob(tx, spec, "", time.Now()); return }); err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(dir, "logs")
	for _, j := range []int64{id, id + 1, id + 2} {
		if err := os.MkdirAll(filepath.Join(logs, itoa(j), "0"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Not a job's log folder: a file named by an id above, a folder whose
	// name only parses as one.
	for _, name := range []string{itoa(id + 3), "0" + itoa(id+4)} {
		if name == itoa(id+3) {
			writeTestFile(t, filepath.Join(logs, name))
		} else if err := os.Mkdir(filepath.Join(logs, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	aside := filepath.Join(dir, "aside")
	if err := os.Mkdir(aside, 0o700); err != nil { // an earlier move's, same second
		t.Fatal(err)
	}
	got, ids, err := MoveLogsAbove(ctx, path, logs, aside)
	slices.Sort(ids)
	if err != nil || got != aside+".2" || !slices.Equal(ids, []int64{id + 1, id + 2}) {
		t.Fatalf("MoveLogsAbove: %q %v %v; want %q and jobs %d, %d", got, ids, err, aside+".2", id+1, id+2)
	}
	for _, p := range []string{filepath.Join(logs, itoa(id)), filepath.Join(got, itoa(id+1)), filepath.Join(got, itoa(id+2)),
		filepath.Join(logs, itoa(id+3)), filepath.Join(logs, "0"+itoa(id+4))} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if got, ids, err := MoveLogsAbove(ctx, path, logs, aside); err != nil || got != "" || len(ids) != 0 {
		t.Errorf("a second MoveLogsAbove: %q %v %v; want nothing moved", got, ids, err)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func writeTestFile(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLogsFolderScan: what a server start spends on the logs folder
// of a home that ran 100,000 jobs, read as namesAbove reads it and as
// os.ReadDir read it before (go test -run - -bench LogsFolderScan
// ./internal/store/).
func BenchmarkLogsFolderScan(b *testing.B) {
	logs := b.TempDir()
	for i := 1; i <= 100_000; i++ {
		if err := os.Mkdir(filepath.Join(logs, itoa(int64(i))), 0o700); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("namesAbove", func(b *testing.B) {
		for b.Loop() {
			if ids, err := namesAbove(logs, 100_000); err != nil || len(ids) != 0 {
				b.Fatal(ids, err)
			}
		}
	})
	b.Run("os.ReadDir", func(b *testing.B) {
		for b.Loop() {
			if ents, err := os.ReadDir(logs); err != nil || len(ents) != 100_000 {
				b.Fatal(len(ents), err)
			}
		}
	})
}
