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
	kept := fs.kept[0].f
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("dd\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := read(path, 12, 15); got != "dd\n" || fs.kept[0].f != kept {
		t.Errorf("a range appended after the open: %q (file reopened: %t), want %q from the kept file", got, fs.kept[0].f != kept, "dd\n")
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

// TestFilesPacksAndMissing reads tasks' stdout and stderr in turn from the
// two packs of a folder, each kept open (not reopened at every switch), and
// tasks' own files that were never made: after the first one missing, the
// folder's names are read once and the others are answered from them until
// Close (a file made after that is not seen until then: Files is used for
// tasks that ended, whose files exist by then).
func TestFilesPacksAndMissing(t *testing.T) {
	dir := t.TempDir()
	out, errp := filepath.Join(dir, "pack-m.out"), filepath.Join(dir, "pack-m.err")
	if err := os.WriteFile(out, []byte("o0\no1\no2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(errp, []byte("e0\ne1\ne2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "1.err"), []byte("own\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var fs Files
	defer fs.Close()
	read := func(path string, from, to int64) (string, error) {
		r, err := fs.Range(path, from, to)
		if err != nil {
			return "", err
		}
		b, err := io.ReadAll(r)
		return string(b), err
	}
	files := map[string]*os.File{}
	for i := range int64(3) {
		got, err := read(out, 3*i, 3*i+3)
		if want := "o" + strconv.Itoa(int(i)) + "\n"; got != want || err != nil {
			t.Fatalf("stdout of task %d: %q %v, want %q", i, got, err, want)
		}
		if _, err := read(filepath.Join(dir, strconv.Itoa(int(i))+".out"), 0, 0); !os.IsNotExist(err) {
			t.Fatalf("task %d's own stdout, never made: %v, want not-exist", i, err)
		}
		want := "e" + strconv.Itoa(int(i)) + "\n"
		if i == 1 {
			got, err = read(filepath.Join(dir, "1.err"), 0, 0)
			want = "own\n"
		} else {
			got, err = read(errp, 3*i, 3*i+3)
		}
		if got != want || err != nil {
			t.Fatalf("stderr of task %d: %q %v, want %q", i, got, err, want)
		}
		for _, k := range fs.kept {
			if k != nil && (k.path == out || k.path == errp) {
				if f, ok := files[k.path]; ok && f != k.f {
					t.Fatalf("task %d: %s was opened again", i, k.path)
				}
				files[k.path] = k.f
			}
		}
	}
	if len(files) != 2 {
		t.Fatalf("kept %d packs open, want both", len(files))
	}
	late := filepath.Join(dir, "9.out")
	if err := os.WriteFile(late, []byte("late\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := read(late, 0, 0); !os.IsNotExist(err) {
		t.Fatalf("a file made after its folder was listed: %v, want not-exist until Close (the list answers)", err)
	}
	fs.Close()
	if got, err := read(late, 0, 0); got != "late\n" || err != nil {
		t.Fatalf("after Close: %q %v, want %q", got, err, "late\n")
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
