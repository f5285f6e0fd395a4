// Package tasklog reads a task's stdout or stderr where its row places it:
// a file of its own, bytes from an offset of a file it appends to (an
// #SBATCH --open-mode=append file), or a byte range of a pack file shared
// with other tasks (small outputs of a map's tasks:
// internal/agent/runner/pack.go). Every reader of a whole output goes
// through Open, so that none reads another task's bytes.
package tasklog

import (
	"io"
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
