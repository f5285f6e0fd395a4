package cli

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestStdinWaiting: bytes a job would never read are seen in a file or a
// pipe that holds them; an empty file, a pipe with nothing written and
// /dev/null are not.
func TestStdinWaiting(t *testing.T) {
	dir := t.TempDir()
	full, empty := filepath.Join(dir, "full"), filepath.Join(dir, "empty")
	if err := os.WriteFile(full, []byte("3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	open := func(p string) *os.File {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	for p, want := range map[string]bool{full: true, empty: false, os.DevNull: false} {
		if got := stdinWaiting(open(p)); got != want {
			t.Errorf("%s: %v, want %v", p, got, want)
		}
	}
	read := open(full)
	if _, err := read.Read(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	if stdinWaiting(read) {
		t.Error("a file read to its end: nothing waits")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if stdinWaiting(r) {
		t.Error("an empty pipe: nothing waits")
	}
	if _, err := w.WriteString("x\n"); err != nil {
		t.Fatal(err)
	}
	if !stdinWaiting(r) {
		t.Error("a pipe holding a line: it waits")
	}
	w.Close()
	if !stdinWaiting(r) {
		t.Error("a pipe holding a line, its writer gone: it still waits")
	}
	// A socket whose writer is gone with nothing sent holds nothing.
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	sr, sw := os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w")
	defer sr.Close()
	sw.Close()
	if stdinWaiting(sr) {
		t.Error("a socket at its end, nothing sent: nothing waits")
	}
}
