// Package tasklog reads a task's stdout or stderr where its row places it:
// a file of its own, bytes from an offset of a file it appends to (an
// #SBATCH --open-mode=append file), or a byte range of a pack file shared
// with other tasks (small outputs of a map's tasks:
// internal/agent/runner/pack.go). Every reader of a whole output goes
// through Open (or Files, which reads many tasks' ranges), so that none
// reads another task's bytes.
package tasklog

import (
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
// pack file cost one open for a batch of them, not one each, and each
// range is read with pread (ReadAt) from that open file. Its user closes
// it at the end of a batch, so that a file removed or made again meanwhile
// is opened afresh for the next one. Not for use by two goroutines at once.
type Files struct {
	path string
	f    *os.File
}

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
	n := int64(math.MaxInt64) - max(from, 0)
	if to > 0 {
		n = max(to-from, 0)
	}
	return io.NewSectionReader(fs.f, from, n), nil
}

// Close closes the file kept open, if any; fs can be used again.
func (fs *Files) Close() error {
	if fs.f == nil {
		return nil
	}
	err := fs.f.Close()
	fs.path, fs.f = "", nil
	return err
}
