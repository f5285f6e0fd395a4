package tasklog

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestOpenRanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pack-m.out")
	if err := os.WriteFile(path, []byte("aaa\nbb\ncccc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from, to int64
		want     string
	}{
		{0, 0, "aaa\nbb\ncccc\n"}, // a file of its own
		{4, 0, "bb\ncccc\n"},      // appended from an offset, to the end
		{4, 7, "bb\n"},            // a range of a pack
		{7, 12, "cccc\n"},
		{0, 4, "aaa\n"},
	} {
		r, err := Open(path, c.from, c.to)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(b) != c.want {
			t.Errorf("Open(%d, %d): %q (%v), want %q", c.from, c.to, b, err, c.want)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none"), 0, 0); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v, want not-exist (a task that wrote nothing)", err)
	}
}

// TestFilesRanges reads the same ranges as TestOpenRanges through one Files,
// the pack kept open between them, then reads bytes appended to the pack
// after it was opened, another file, and a missing one.
func TestFilesRanges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pack-m.out")
	if err := os.WriteFile(path, []byte("aaa\nbb\ncccc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var fs Files
	defer fs.Close()
	read := func(path string, from, to int64) string {
		t.Helper()
		r, err := fs.Range(path, from, to)
		if err != nil {
			t.Fatalf("Range(%s, %d, %d): %v", path, from, to, err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("Range(%s, %d, %d): %v", path, from, to, err)
		}
		return string(b)
	}
	for _, c := range []struct {
		from, to int64
		want     string
	}{
		{4, 7, "bb\n"}, {0, 0, "aaa\nbb\ncccc\n"}, {4, 0, "bb\ncccc\n"}, {7, 12, "cccc\n"}, {0, 4, "aaa\n"}, {12, 12, ""},
	} {
		if got := read(path, c.from, c.to); got != c.want {
			t.Errorf("Range(%d, %d): %q, want %q", c.from, c.to, got, c.want)
		}
	}
	kept := fs.f
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("dd\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := read(path, 12, 15); got != "dd\n" || fs.f != kept {
		t.Errorf("a range appended after the open: %q (file reopened: %t), want %q from the kept file", got, fs.f != kept, "dd\n")
	}
	other := filepath.Join(dir, "7.out")
	if err := os.WriteFile(other, []byte("own\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := read(other, 0, 0); got != "own\n" {
		t.Errorf("another file: %q, want %q", got, "own\n")
	}
	if _, err := fs.Range(filepath.Join(dir, "none"), 0, 0); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v, want not-exist", err)
	}
	if got := read(path, 0, 4); got != "aaa\n" {
		t.Errorf("back to the pack after a missing file: %q", got)
	}
}

// TestFilesWindow reads many small ranges from one window, a range larger
// than the window, a range the file is shorter than, and after Close a
// pack made again under the same name: its new bytes, not the window's.
func TestFilesWindow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pack-m.out")
	var want []string
	var pack []byte
	for i := range 3000 {
		s := strconv.Itoa(i) + "\n"
		want, pack = append(want, s), append(pack, s...)
	}
	big := strings.Repeat("z", window+10)
	pack = append(pack, big...)
	if err := os.WriteFile(path, pack, 0o600); err != nil {
		t.Fatal(err)
	}
	var fs Files
	defer fs.Close()
	read := func(from, to int64) string {
		t.Helper()
		r, err := fs.Range(path, from, to)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var at int64
	for i, s := range want {
		if got := read(at, at+int64(len(s))); got != s {
			t.Fatalf("range of task %d: %q, want %q", i, got, s)
		}
		at += int64(len(s))
	}
	if got := read(at, at+int64(len(big))); got != big {
		t.Errorf("a range larger than the window: %d bytes, want %d", len(got), len(big))
	}
	if got := read(at-2, at+int64(len(big))+100); got != want[2999][len(want[2999])-2:]+big {
		t.Errorf("a range past the file's end: %d bytes, want what is there (%d)", len(got), 2+len(big))
	}
	fs.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := read(0, 4); got != "new\n" {
		t.Errorf("after Close, a pack made again: %q, want %q", got, "new\n")
	}
}
