// Package writeback writes a file sequentially while the kernel writes
// what was written to disk behind it: every Window bytes, the window just
// written is handed to writeback (sync_file_range(2),
// SYNC_FILE_RANGE_WRITE on Linux) instead of all of it waiting, dirty in
// memory, for the fsync at the end. The fsync that makes a fetched blob
// durable then waits for the last window or two, not for the whole file:
// the disk works while the bytes are still arriving (docs/benchmarks.md,
// the Staging section).
//
// Nothing here replaces the fsync: writeback started is not writeback
// done. An I/O error of a window the Writer waited for is reported to it,
// not to the fsync (the kernel reports a writeback error once to each open
// file): Write returns it, as an *Error, from then on. The bytes of that
// window may be lost from the file while the ones after it are written, so
// the caller must not go on from where it was (resume a transfer into the
// same file) but write the file again from its start, or give up. Where
// the call does not exist (another system, a filesystem that refuses it) a
// Writer is a plain sequential writer.
package writeback

import (
	"fmt"
	"io"
	"os"
)

// Error is an I/O error of the writeback of a file: bytes the Writer was
// given and took may not be on disk.
type Error struct {
	Off, N int64 // the range whose writeback failed
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("writing bytes %d to %d to disk: %v", e.Off, e.Off+e.N, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Window is how many bytes are written before they are handed to
// writeback: large enough that the calls are few (one per 8 MiB), small
// enough that the disk starts early and that little is left for the
// fsync.
const Window = 8 << 20

// Writer writes to a file from an offset on, sequentially, starting the
// writeback of each Window as it is complete.
type Writer struct {
	f *os.File
	// off is where the next byte goes; started is where the part not
	// yet handed to writeback begins.
	off, started int64
	// waited is where the part not yet waited for begins (see flush).
	waited int64
	err    *Error // the writeback's error, once met: every Write's after
}

// New is a Writer to f, whose next write lands at off (the file's offset:
// 0 for a new file, the size written so far for one resumed).
func New(f *os.File, off int64) *Writer {
	return &Writer{f: f, off: off, started: off, waited: off}
}

var _ io.Writer = (*Writer)(nil)

// Write writes p at the file's offset, then starts the writeback of every
// Window completed. Once a writeback failed, Write writes nothing and
// returns that *Error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.started >= Window {
		w.flush()
	}
	if err == nil && w.err != nil {
		err = w.err
	}
	return n, err
}

// Wrote says that n bytes were written to the file at w's offset by
// other means (a kernel copy that starts its own writeback): w's next
// write lands after them, and its windows start there.
func (w *Writer) Wrote(n int64) {
	w.off += n
	w.started, w.waited = w.off, w.off
}

// flush starts writeback of [started, off) and then waits for the
// window before it, whose writeback was started one flush ago: at most
// two windows' worth of this file is dirty or being written at once,
// and the writer is held back only when the disk falls behind.
func (w *Writer) flush() {
	if w.started > w.waited {
		if err := waitWritten(w.f, w.waited, w.started-w.waited); err != nil {
			w.err = &Error{Off: w.waited, N: w.started - w.waited, Err: err}
		}
		w.waited = w.started
	}
	startWriteback(w.f, w.started, w.off-w.started)
	w.started = w.off
}
