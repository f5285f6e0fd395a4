package writeback

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

// A Writer writes what it is given, in order, across several windows, and
// a resumed one (a file written in part before) goes on from its offset.
func TestWriterWritesInOrderAndResumes(t *testing.T) {
	data := make([]byte, 3*Window+12345)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	half := int64(Window + Window/2)
	w := New(f, 0)
	for off := int64(0); off < half; off += 100 << 10 {
		end := min(off+100<<10, half)
		if n, err := w.Write(data[off:end]); err != nil || n != int(end-off) {
			t.Fatalf("write at %d: %d, %v", off, n, err)
		}
	}
	// Writeback starts with the write that completes the first window.
	if w.off != half || w.started < Window || w.started >= Window+100<<10 || w.waited != 0 {
		t.Fatalf("after %d bytes: off %d, writeback started to %d, waited to %d; want %d, the first window's end, 0", half, w.off, w.started, w.waited, half)
	}
	w = New(f, half) // resumed: the same file, its offset where it was
	if n, err := w.Write(data[half:]); err != nil || n != len(data)-int(half) {
		t.Fatalf("resumed write: %d, %v", n, err)
	}
	if w.started != int64(len(data)) {
		t.Fatalf("writeback started to %d of %d: a write of more than a window hands all of it over", w.started, len(data))
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("the file holds %d bytes that differ from the %d written", len(got), len(data))
	}
}

// A write error is the caller's, and what was not written is not counted.
func TestWriterReportsWriteErrors(t *testing.T) {
	f, err := os.Open(filepath.Join(t.TempDir())) // a directory: writes fail
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := New(f, 0)
	if n, err := w.Write(make([]byte, 10)); err == nil || n != 0 || w.off != 0 {
		t.Fatalf("write to a directory: %d, %v (offset %d), want an error and nothing counted", n, err, w.off)
	}
}
