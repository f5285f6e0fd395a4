package writeback

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
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

// A window whose writeback fails (the wait reports EIO, as the kernel
// does for a disk that fails under it, here put in sync_file_range's
// place) is reported by Write, as an *Error, and by every Write after: the
// kernel reports it to that wait alone, so the fsync after would say
// nothing and a file missing those bytes would be taken for whole.
func TestWriterReportsWritebackErrors(t *testing.T) {
	real := syncFileRange
	t.Cleanup(func() { syncFileRange = real })
	syncFileRange = func(fd int, off, n int64, flags int) error {
		if flags&unix.SYNC_FILE_RANGE_WAIT_AFTER != 0 {
			return unix.EIO
		}
		return real(fd, off, n, flags)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := New(f, 0)
	chunk := make([]byte, 1<<20)
	var werr error
	for written := 0; written < 3*Window && werr == nil; written += len(chunk) {
		_, werr = w.Write(chunk)
	}
	var we *Error
	if !errors.As(werr, &we) || !errors.Is(werr, unix.EIO) || we.Off != 0 || we.N != Window {
		t.Fatalf("3 windows written with every wait failing: %v; want an *Error of EIO for bytes 0 to %d", werr, Window)
	}
	if n, err := w.Write(chunk); n != 0 || !errors.As(err, &we) {
		t.Fatalf("a write after the writeback failed: %d, %v; want 0 and the *Error", n, err)
	}
	// A filesystem that refuses the call loses only the head start.
	syncFileRange = func(int, int64, int64, int) error { return unix.EINVAL }
	w = New(f, 0)
	for written := 0; written < 3*Window; written += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			t.Fatalf("a filesystem that refuses sync_file_range: %v, want no error", err)
		}
	}
}

// Bytes written past w by other means (a kernel copy, which starts its
// own writeback) move its offset: the next window w starts is the one
// after them, not the range the copy already wrote.
func TestWriterWroteMovesItsWindows(t *testing.T) {
	real := syncFileRange
	t.Cleanup(func() { syncFileRange = real })
	var starts []int64
	syncFileRange = func(fd int, off, n int64, flags int) error {
		if flags == unix.SYNC_FILE_RANGE_WRITE {
			starts = append(starts, off)
		}
		return real(fd, off, n, flags)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := New(f, 0)
	copied := int64(3 * Window)
	if _, err := f.Write(make([]byte, copied)); err != nil { // as the kernel copy would
		t.Fatal(err)
	}
	w.Wrote(copied)
	if _, err := w.Write(make([]byte, Window)); err != nil {
		t.Fatal(err)
	}
	if len(starts) != 1 || starts[0] != copied {
		t.Fatalf("after %d bytes written by other means and one window through w, writeback started at %v; want once, at %d", copied, starts, copied)
	}
}
