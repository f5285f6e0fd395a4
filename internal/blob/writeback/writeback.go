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
// done, and an I/O error is reported by the fsync. Where the call does not
// exist (another system, a filesystem that refuses it) a Writer is a plain
// sequential writer.
package writeback

import (
	"io"
	"os"
)

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
}

// New is a Writer to f, whose next write lands at off (the file's offset:
// 0 for a new file, the size written so far for one resumed).
func New(f *os.File, off int64) *Writer {
	return &Writer{f: f, off: off, started: off, waited: off}
}

var _ io.Writer = (*Writer)(nil)

// Write writes p at the file's offset, then starts the writeback of every
// Window completed.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.started >= Window {
		w.flush()
	}
	return n, err
}

// flush starts writeback of [started, off) and then waits for the
// window before it, whose writeback was started one flush ago: at most
// two windows' worth of this file is dirty or being written at once,
// and the writer is held back only when the disk falls behind.
func (w *Writer) flush() {
	if w.started > w.waited {
		waitWritten(w.f, w.waited, w.started-w.waited)
		w.waited = w.started
	}
	startWriteback(w.f, w.started, w.off-w.started)
	w.started = w.off
}
