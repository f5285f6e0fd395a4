package tasklog

import (
	"io"
	"os"
	"path/filepath"
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
