package server

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/burst-sh/burst/client"
)

// The offset-append protocol of shipped output (POST /v1/agent/output):
// each chunk lands exactly at its offset, once.
func TestOutStreamAppendsExactlyOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "1", "0", "0.out")
	o := &outStream{path: path, fresh: true}
	must := func(off int64, data string, want int64) {
		t.Helper()
		next, err := o.write(off, []byte(data))
		if err != nil || next != want {
			t.Fatalf("write at %d of %q: next %d, %v; want %d", off, data, next, err, want)
		}
	}
	must(0, "caf\xe9 ", 5)
	must(0, "caf\xe9 ", 5)     // a retry of a chunk held already: written once
	must(5, "\xff\x00mid", 10) // non-UTF-8 and NUL bytes, as they are
	must(8, "id-tail", 15)     // overlaps what it holds: only the new tail
	if _, err := o.write(20, []byte("x")); !errors.As(err, new(*client.OutputGap)) {
		t.Fatalf("a chunk past the end was taken (%v); want an OutputGap", err)
	} else if gap := err.(*client.OutputGap); gap.Next != 15 {
		t.Errorf("the gap says ship from %d, want 15", gap.Next)
	}
	if got, _ := os.ReadFile(path); string(got) != "caf\xe9 \xff\x00mid-tail" {
		t.Errorf("file holds %q", got)
	}
}

// A 5 MB output shipped in chunks of the largest size arrives byte for
// byte, every chunk sent twice as a retry would.
func TestOutStreamFiveMegabytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.out")
	o := &outStream{path: path, fresh: true}
	want := make([]byte, 5<<20)
	for i := range want {
		want[i] = byte(i * 7 % 251)
	}
	for off := 0; off < len(want); off += client.MaxOutputChunk {
		chunk := want[off:min(off+client.MaxOutputChunk, len(want))]
		for range 2 {
			if _, err := o.write(int64(off), chunk); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Errorf("file holds %d bytes, not the %d shipped", len(got), len(want))
	}
}

// The first chunk of an attempt that starts afresh truncates an earlier
// attempt's log; one that appends (a run's retry) keeps it. After a
// server restart (no state), a chunk past 0 resumes from what the file
// holds.
func TestOutStreamFreshAppendRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.out")
	os.WriteFile(path, []byte("old attempt\n"), 0o600)
	if _, err := (&outStream{path: path, fresh: true}).write(0, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new\n" {
		t.Errorf("fresh attempt: file holds %q, want %q", got, "new\n")
	}
	app := &outStream{path: path}
	if next, err := app.write(0, []byte("second\n")); err != nil || next != 7 {
		t.Fatalf("append: next %d, %v", next, err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new\nsecond\n" {
		t.Errorf("appending attempt: file holds %q", got)
	}
	// The server restarted: its state is gone; the agent ships from 7.
	again := &outStream{path: path}
	if next, err := again.write(7, []byte("more\n")); err != nil || next != 12 {
		t.Fatalf("after a restart: next %d, %v; want 12", next, err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new\nsecond\nmore\n" {
		t.Errorf("after a restart: file holds %q", got)
	}
}
