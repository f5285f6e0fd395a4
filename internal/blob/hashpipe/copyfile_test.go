package hashpipe

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/testfs"
)

// fileOf is a file in dir holding data, open for reading.
func fileOf(t *testing.T, dir string, data []byte) *os.File {
	t.Helper()
	p := filepath.Join(dir, "src")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// tempIn is a new file in dir open for reading and writing.
func tempIn(t *testing.T, dir string) *os.File {
	t.Helper()
	f, err := os.CreateTemp(dir, "dst.*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// checkCopy checks that dst holds exactly want after its first skip
// bytes, and h hashed exactly them.
func checkCopy(t *testing.T, what string, dst *os.File, skip int, want []byte, h []byte) {
	t.Helper()
	got, err := os.ReadFile(dst.Name())
	if err != nil {
		t.Fatal(err)
	}
	got = got[skip:]
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: dst holds %d bytes, not the %d copied", what, len(got), len(want))
	}
	if sum := sha256.Sum256(got); !bytes.Equal(h, sum[:]) {
		t.Fatalf("%s: the hash is not that of dst's bytes", what)
	}
}

// TestCopyFile: for sizes around the kernel copy's chunk, from offsets
// and with limits, dst gets exactly the bytes asked for (at its own
// offset), h their hash, and src's offset does not move.
func TestCopyFile(t *testing.T) {
	ctx := context.Background()
	for _, size := range []int{0, 1, CopyChunk - 1, CopyChunk, CopyChunk + 1, 100 << 20} {
		dir := t.TempDir()
		data := make([]byte, size)
		rand.Read(data)
		src := fileOf(t, dir, data)
		for _, c := range []struct {
			name    string
			off, n  int64
			want    []byte
			dstHead []byte // already in dst, before its offset
		}{
			{name: "whole", n: int64(size), want: data},
			{name: "one more than there is", n: int64(size) + 1, want: data},
			{name: "from 1, one less", off: min(1, int64(size)), n: max(int64(size)-2, 0), want: data[min(1, size) : min(1, size)+max(size-2, 0)]},
			{name: "after what dst holds", n: int64(size), want: data, dstHead: []byte("head")},
		} {
			dst := tempIn(t, dir)
			dst.Write(c.dstHead)
			h := sha256.New()
			before := kernelCopied.Load()
			n, err := CopyFile(ctx, dst, src, c.off, c.n, h)
			if k := kernelCopied.Load() - before; k != n {
				t.Fatalf("size %d, %s: the kernel copied %d of %d bytes (fell back to user space)", size, c.name, k, n)
			}
			if err != nil || n != int64(len(c.want)) {
				t.Fatalf("size %d, %s: copied %d, %v; want %d, nil", size, c.name, n, err, len(c.want))
			}
			if at, _ := dst.Seek(0, io.SeekCurrent); at != int64(len(c.dstHead))+n {
				t.Fatalf("size %d, %s: dst's offset is %d after the copy, want %d", size, c.name, at, int64(len(c.dstHead))+n)
			}
			got, _ := os.ReadFile(dst.Name())
			if !bytes.Equal(got[:len(c.dstHead)], c.dstHead) {
				t.Fatalf("size %d, %s: what dst held before was overwritten", size, c.name)
			}
			checkCopy(t, fmt.Sprintf("size %d, %s", size, c.name), dst, len(c.dstHead), c.want, h.Sum(nil))
			if at, _ := src.Seek(0, io.SeekCurrent); at != 0 {
				t.Fatalf("size %d, %s: src's offset moved to %d", size, c.name, at)
			}
		}
	}
}

// TestCopyFileSourceChanges: a source rewritten and grown while it is
// copied gives a copy whose hash is that of the bytes dst holds (the
// hash is of what was written, read back), never of what src held before
// or after.
func TestCopyFileSourceChanges(t *testing.T) {
	dir := t.TempDir()
	size := 6 * CopyChunk
	data := make([]byte, size)
	rand.Read(data)
	src := fileOf(t, dir, data)
	w, err := os.OpenFile(src.Name(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	writing := make(chan struct{})
	go func() { // owned by the test: it ends when stop is closed
		defer close(writing)
		junk := make([]byte, 64<<10)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			rand.Read(junk)
			w.WriteAt(junk, int64(i*len(junk))%int64(size+CopyChunk)) // rewrites and grows it
		}
	}()
	dst := tempIn(t, dir)
	h := sha256.New()
	n, err := CopyFile(ctx, dst, src, 0, int64(size+CopyChunk), h)
	close(stop)
	<-writing
	if err != nil || n < int64(size) {
		t.Fatalf("copied %d, %v; want at least %d, nil", n, err, size)
	}
	got, _ := os.ReadFile(dst.Name())
	if int64(len(got)) != n {
		t.Fatalf("dst holds %d bytes, %d were copied", len(got), n)
	}
	checkCopy(t, "a source written during the copy", dst, 0, got, h.Sum(nil))
}

// TestCopyFileFallback: from a pipe (which the kernel's copy refuses) the
// bytes go through user space, with the same result.
func TestCopyFileFallback(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3*CopyChunk+17)
	rand.Read(data)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { // owned by the test: it ends when all is written or r is closed
		w.Write(data)
		w.Close()
	}()
	dst := tempIn(t, dir)
	h := sha256.New()
	before := kernelCopied.Load()
	n, err := CopyFile(context.Background(), dst, r, 0, int64(len(data))+1, h)
	if k := kernelCopied.Load() - before; k != 0 {
		t.Fatalf("the kernel copied %d bytes from a pipe", k)
	}
	if err != nil || n != int64(len(data)) {
		t.Fatalf("from a pipe: copied %d, %v; want %d, nil", n, err, len(data))
	}
	checkCopy(t, "from a pipe", dst, 0, data, h.Sum(nil))
}

// TestCopyFileContext: a context ended stops the copy with its error.
func TestCopyFileContext(t *testing.T) {
	dir := t.TempDir()
	src := fileOf(t, dir, make([]byte, 2*CopyChunk))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CopyFile(ctx, tempIn(t, dir), src, 0, int64(2*CopyChunk), sha256.New()); !errors.Is(err, context.Canceled) {
		t.Fatalf("an ended context: %v, want context.Canceled", err)
	}
}

// TestCopyFileNoSpace: a disk that fills during the kernel's copy ends it
// with ENOSPC, and h holds exactly what dst took.
func TestCopyFileNoSpace(t *testing.T) {
	dir := testfs.SmallDisk(t, "", "48m", nil)
	data := make([]byte, 3*CopyChunk)
	rand.Read(data)
	src := fileOf(t, dir, data) // on the same filesystem: the kernel copies
	testfs.Fill(t, filepath.Join(dir, "filler"))
	if err := os.Truncate(filepath.Join(dir, "filler"), 16<<20); err != nil {
		t.Fatal(err) // room for part of the copy
	}
	dst := tempIn(t, dir)
	h := sha256.New()
	before := kernelCopied.Load()
	n, err := CopyFile(context.Background(), dst, src, 0, int64(len(data)), h)
	if kernelCopied.Load() == before {
		t.Fatal("the kernel copied nothing: the test did not reach its copy")
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("copying 24 MiB with less room: copied %d, %v; want ENOSPC", n, err)
	}
	got, _ := os.ReadFile(dst.Name())
	if int64(len(got)) < n || !bytes.Equal(got[:n], data[:n]) {
		t.Fatalf("dst holds %d bytes, %d reported copied, or not the source's", len(got), n)
	}
	checkCopy(t, "cut by a full disk", dst, 0, data[:n], h.Sum(nil))
}

// BenchmarkCopyFile copies a 256 MiB file (in the page cache) to a new
// file and fsyncs it, as a blob's upload does: CopyFile, CopyFile
// without starting writeback per chunk, Copy (user space, hashed beside
// the writes), and cp's way (the kernel's copy, no hash). cpu-s/op is the
// process's user+system time per copy, fsync-s/op the final fsync's wall
// time.
func BenchmarkCopyFile(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 256<<20)
	rand.Read(data)
	src := filepath.Join(dir, "src")
	os.WriteFile(src, data, 0o600)
	run := func(b *testing.B, copy func(dst, src *os.File) error) {
		var ru0, ru1 syscall.Rusage
		var syncs time.Duration
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		for b.Loop() {
			s, _ := os.Open(src)
			d, err := os.Create(filepath.Join(dir, "dst"))
			if err != nil {
				b.Fatal(err)
			}
			if err := copy(d, s); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			if err := d.Sync(); err != nil {
				b.Fatal(err)
			}
			syncs += time.Since(t0)
			d.Close()
			s.Close()
		}
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) + syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		b.ReportMetric(syncs.Seconds()/float64(b.N), "fsync-s/op")
		b.SetBytes(int64(len(data)))
	}
	b.Run("CopyFile", func(b *testing.B) {
		run(b, func(d, s *os.File) error {
			_, err := CopyFile(context.Background(), d, s, 0, 1<<40, sha256.New())
			return err
		})
	})
	b.Run("CopyFile-no-write-behind", func(b *testing.B) {
		writeBehind = false
		defer func() { writeBehind = true }()
		run(b, func(d, s *os.File) error {
			_, err := CopyFile(context.Background(), d, s, 0, 1<<40, sha256.New())
			return err
		})
	})
	b.Run("hashpipe.Copy", func(b *testing.B) {
		run(b, func(d, s *os.File) error { _, err := Copy(d, s, sha256.New()); return err })
	})
	b.Run("kernel-copy-no-hash", func(b *testing.B) {
		run(b, func(d, s *os.File) error { _, err := io.Copy(d, s); return err })
	})
}

// withCopyFileRange puts f in copy_file_range's place for the test.
func withCopyFileRange(t *testing.T, f func(rfd int, roff *int64, wfd int, woff *int64, n int, flags int) (int, error)) {
	t.Helper()
	real := copyFileRange
	copyFileRange = f
	t.Cleanup(func() { copyFileRange = real })
}

// TestCopyFilePseudoFile: a procfs file says size 0 and holds bytes.
// Whether the kernel refuses to copy it (EXDEV, as kernels from 5.19 do)
// or copies nothing and says so without an error (as kernels 5.3 to 5.18
// did), CopyFile copies what it holds.
func TestCopyFilePseudoFile(t *testing.T) {
	const path = "/proc/version"
	want, err := os.ReadFile(path)
	if err != nil || len(want) == 0 {
		t.Fatalf("reading %s: %d bytes, %v (this test needs procfs mounted)", path, len(want), err)
	}
	copyFrom := func(what string) {
		t.Helper()
		src, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		dst := tempIn(t, t.TempDir())
		h := sha256.New()
		n, err := CopyFile(context.Background(), dst, src, 0, 1<<20, h)
		if err != nil || n != int64(len(want)) {
			t.Fatalf("%s: copied %d bytes of %s, %v; want %d, nil", what, n, path, err, len(want))
		}
		checkCopy(t, what, dst, 0, want, h.Sum(nil))
	}
	copyFrom("this kernel")
	withCopyFileRange(t, func(int, *int64, int, *int64, int, int) (int, error) { return 0, nil })
	copyFrom("a kernel that copies 0 bytes of a pseudo-file")
}

// TestCopyFileReadBackThenRefused: when reading back what was copied
// fails and the kernel then refuses the rest of the copy, CopyFile says
// so rather than finish the copy through user space with h lacking the
// bytes it could not read back.
func TestCopyFileReadBackThenRefused(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3*CopyChunk)
	rand.Read(data)
	src := fileOf(t, dir, data)
	// dst open for writing only: every read-back fails (EBADF).
	dst, err := os.OpenFile(filepath.Join(dir, "dst"), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	calls, kernel := 0, copyFileRange
	withCopyFileRange(t, func(rfd int, roff *int64, wfd int, woff *int64, n int, flags int) (int, error) {
		if calls++; calls > 1 {
			return 0, syscall.EXDEV
		}
		return kernel(rfd, roff, wfd, woff, n, flags)
	})
	h := sha256.New()
	n, err := CopyFile(context.Background(), dst, src, 0, int64(len(data)), h)
	if err == nil {
		sum := sha256.Sum256(data)
		t.Fatalf("copied %d bytes with no error, though the first chunk could not be read back (hash right: %v)",
			n, bytes.Equal(h.Sum(nil), sum[:]))
	}
	if !errors.Is(err, syscall.EBADF) {
		t.Fatalf("error %v, want the read-back's EBADF", err)
	}
}
