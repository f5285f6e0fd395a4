// Package tasklog reads a task's stdout or stderr where its row places it:
// a file of its own, bytes from an offset of a file it appends to (an
// #SBATCH --open-mode=append file), or a byte range of a pack file shared
// with other tasks (small outputs of a map's tasks:
// internal/agent/runner/pack.go). Every reader of a whole output goes
// through Open (or Files, which reads many tasks' ranges), so that none
// reads another task's bytes.
package tasklog

import (
	"bytes"
	"io"
	"math"
	"os"
)

// Open opens bytes [from, to) of the file at path; to 0 means its end.
func Open(path string, from, to int64) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if to > 0 {
		return reader{io.NewSectionReader(f, from, max(to-from, 0)), f}, nil
	}
	if from > 0 {
		if _, err := f.Seek(from, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// reader reads a range of a file and closes the file.
type reader struct {
	io.Reader
	io.Closer
}

// Files reads many tasks' outputs, one after another, keeping the file it
// read last open for the next: a map's tasks whose small outputs share a
// pack file cost one open for a batch of them, not one each. A range of a
// pack is read with one pread (ReadAt) of up to 64 KiB from its start,
// and the ranges that follow it in the bytes read (the next tasks' in the
// pack, as they ended) are served from them: a batch of small outputs
// costs a read system call per 64 KiB, not one a task.
//
// Its user closes it at the end of a batch, and asks only for the ranges
// of tasks that had ended (their rows read) before the batch began: the
// bytes kept are then theirs whole, and a file removed or made again
// meanwhile is opened afresh for the next batch. Not for use by two
// goroutines at once.
type Files struct {
	path string
	f    *os.File
	buf  []byte // the bytes of f read last: [at, at+len(win))
	win  []byte
	at   int64
}

// window is the most Files reads of a pack at once.
const window = 64 << 10

// Range returns a reader of bytes [from, to) of the file at path (to 0: up
// to its end as it is when read), good until the next call of Range or
// Close.
func (fs *Files) Range(path string, from, to int64) (io.Reader, error) {
	if fs.f == nil || fs.path != path {
		fs.Close()
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		fs.path, fs.f = path, f
	}
	if to <= 0 {
		return io.NewSectionReader(fs.f, from, int64(math.MaxInt64)-max(from, 0)), nil
	}
	if from < 0 || to < from || to-from > window {
		return io.NewSectionReader(fs.f, from, max(to-from, 0)), nil
	}
	if from < fs.at || to > fs.at+int64(len(fs.win)) {
		if fs.buf == nil {
			fs.buf = make([]byte, window)
		}
		n, err := fs.f.ReadAt(fs.buf, from)
		if err != nil && err != io.EOF {
			fs.win = nil
			return nil, err
		}
		fs.win, fs.at = fs.buf[:n], from
	}
	if to > fs.at+int64(len(fs.win)) { // the file ends before the range: what is there
		return bytes.NewReader(fs.win[from-fs.at:]), nil
	}
	return bytes.NewReader(fs.win[from-fs.at : to-fs.at]), nil
}

// Close closes the file kept open, if any; fs can be used again.
func (fs *Files) Close() error {
	if fs.f == nil {
		return nil
	}
	err := fs.f.Close()
	fs.path, fs.f, fs.win = "", nil, nil
	return err
}
