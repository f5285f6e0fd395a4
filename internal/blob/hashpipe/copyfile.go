package hashpipe

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// CopyChunk is how much CopyFile asks the kernel to copy at a time: the
// unit that is hashed (read back) beside the next copy and whose writeback
// starts as soon as it is written. Larger chunks make fewer system calls;
// smaller ones start the hash and the writeback sooner. 4, 8 and 16 MiB
// cost the same CPU within the noise (BenchmarkCopyFile; docs/benchmarks.md,
// the Staging section).
const CopyChunk = 8 << 20

// inFlight is how many copied chunks may wait to be hashed: the hasher
// reads them back from the page cache, so the copy must not run so far
// ahead that they are written back and dropped first.
const inFlight = 4

// CopyFile copies up to n bytes of src, from offset off on, to dst at its
// current offset, and writes into h exactly the bytes dst then holds, in
// order, by reading them back from dst: the hash names what was stored,
// even if src changes during the copy. It ends at n bytes or at the end
// of src, and leaves dst's offset after what it wrote; src's offset is
// not moved (the copy reads at offsets).
//
// The copy is the kernel's (copy_file_range(2): no bytes through user
// space), in chunks of CopyChunk, each hashed by another goroutine while
// the next is copied, and each handed to writeback as soon as it is
// written (sync_file_range(2)), so that the caller's fsync has little
// left to do. Where the kernel refuses the copy (another filesystem on an
// old kernel, a special file, a pipe), the rest is copied by Copy, through
// user space, with the same result. A src that is not a regular file is
// read as a stream from where it is (off is not used). dst must be a
// regular file open for reading and writing. ctx ends the copy between
// chunks.
//
// As for Copy, h has hashed exactly the bytes written when CopyFile
// returns, whatever the error.
func CopyFile(ctx context.Context, dst, src *os.File, off, n int64, h hash.Hash) (int64, error) {
	if n <= 0 {
		return 0, nil
	}
	start, err := dst.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	fi, err := src.Stat()
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return Copy(dst, ContextReader(ctx, io.LimitReader(src, n)), h)
	}
	done, err := copyRange(ctx, dst, src, start, off, n, fi.Size(), h)
	if _, serr := dst.Seek(start+done, io.SeekStart); err == nil && serr != nil {
		err = serr
	}
	var fb fallback
	if !errors.As(err, &fb) {
		return done, err
	}
	more, err := Copy(dst, ContextReader(ctx, io.NewSectionReader(src, off+done, n-done)), h)
	return done + more, err
}

// kernelCopied counts the bytes copied by the kernel (tests: the fast
// path was taken, or not).
var kernelCopied atomic.Int64

// copyFileRange is copy_file_range(2) (tests put in its place what some
// kernels and filesystems do).
var copyFileRange = unix.CopyFileRange

// fallback is a copy the kernel refused: the rest goes through user space.
type fallback struct{ err error }

func (f fallback) Error() string { return "copy_file_range: " + f.err.Error() }

// span is a part of dst copied and not yet hashed.
type span struct{ off, n int64 }

// copyRange is CopyFile's kernel copy: it returns how many bytes it
// copied (all hashed into h), and a fallback error when the kernel refused
// before the end; size is src's size when the copy began.
func copyRange(ctx context.Context, dst, src *os.File, dstOff, srcOff, n, size int64, h hash.Hash) (done int64, err error) {
	todo := make(chan span, inFlight)
	hashed := make(chan error, 1)
	go func() { // owned by copyRange: it ends when todo is closed, and copyRange waits for it
		hashed <- hashBack(dst, todo, h)
	}()
	defer func() {
		close(todo)
		// A read-back error wins over a fallback: h lacks bytes dst
		// holds, so the copy must not go on as if h were whole.
		var fb fallback
		if herr := <-hashed; herr != nil && (err == nil || errors.As(err, &fb)) {
			err = fmt.Errorf("reading back what was written: %w", herr)
		}
	}()
	sfd, dfd := int(src.Fd()), int(dst.Fd())
	for done < n {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		at := dstOff + done
		k, err := copyFileRange(sfd, &srcOff, dfd, &at, int(min(CopyChunk, n-done)), 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			if refused(err) {
				return done, fallback{err}
			}
			return done, err
		}
		if k == 0 {
			if done == 0 || srcOff < size {
				// Nothing copied at all, or the end before the
				// file's size: a filesystem whose copy silently
				// copies nothing (procfs and sysfs files say size 0
				// and, on kernels 5.3 to 5.18, copy 0 bytes), or a
				// file cut short meanwhile. Reading it says which.
				return done, fallback{errors.New("no bytes copied before the file's end")}
			}
			return done, nil
		}
		kernelCopied.Add(int64(k))
		todo <- span{dstOff + done, int64(k)}
		if writeBehind {
			// Writeback of this chunk starts now, while it is hashed;
			// the final fsync waits for what is left. An error here is
			// the fsync's to report.
			unix.SyncFileRange(dfd, dstOff+done, int64(k), unix.SYNC_FILE_RANGE_WRITE)
		}
		done += int64(k)
	}
	return done, nil
}

// refused says whether copy_file_range's err means it does not copy
// between these two files, rather than that the copy failed.
func refused(err error) bool {
	for _, e := range []error{unix.ENOSYS, unix.EXDEV, unix.EINVAL, unix.EOPNOTSUPP, unix.EPERM, unix.EBADF, unix.EIO} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// writeBehind is whether copyRange starts each chunk's writeback as soon
// as it is written (benchmarks turn it off to measure what it gains).
var writeBehind = true

// hashBack writes each span of f named on todo into h, in order, as f
// holds it: read back from the page cache ChunkSize at a time (the piece
// read stays in the CPU's cache for the hash; hashing from a mapping of f
// instead cost as much CPU and was no faster). After an error it takes
// the rest of todo unhashed.
func hashBack(f *os.File, todo <-chan span, h hash.Hash) error {
	buf := make([]byte, ChunkSize)
	var err error
	for s := range todo {
		if err == nil {
			err = hashRead(f, s, h, buf)
		}
	}
	return err
}

// hashRead writes span s of f into h, read back through buf.
func hashRead(f *os.File, s span, h hash.Hash, buf []byte) error {
	for at, end := s.off, s.off+s.n; at < end; {
		k, err := f.ReadAt(buf[:min(int64(len(buf)), end-at)], at)
		h.Write(buf[:k])
		at += int64(k)
		if err == io.EOF && at < end {
			return io.ErrUnexpectedEOF // f is shorter than what was copied to it
		}
		if err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// ContextReader is r, whose reads end with ctx's error once ctx is done.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

// ctxReader ends a read once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
