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
	"errors"
	"io"
	iofs "io/fs"
	"math"
	"os"
	"path/filepath"
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

// Files reads many tasks' outputs, one after another, keeping the files
// it read last open for the next (three: a pack's stdout and stderr, and a
// task's own file between them): a
// map's tasks whose small outputs share a pack file cost one open for a
// batch of them, not one each. A range of a pack is read with one pread
// (ReadAt) of up to 64 KiB from its start, and the ranges that follow it
// in the bytes read (the next tasks' in the pack, as they ended) are
// served from them: a batch of small outputs costs a read system call per
// 64 KiB, not one a task.
//
// A task that wrote nothing to a stream has no file for it (its row names
// the path it would have had), and most tasks of a map write nothing to
// stderr. Once a path is found missing, Files lists its folder (one read
// of its names) and answers for the other paths in it from that list,
// with fs.ErrNotExist and no open, until Close.
//
// Its user closes it at the end of a batch, and asks only for the ranges
// of tasks that had ended (their rows read) before the batch began: the
// bytes kept are then theirs whole, a task's file exists by then if it
// ever will (it is made at the task's first byte, before its end is
// reported), and a file removed or made again meanwhile is opened afresh
// for the next batch. Not for use by two goroutines at once.
type Files struct {
	kept [3]*kept                   // the files used last, the latest first
	dirs map[string]map[string]bool // folders listed: the names they held
}

// kept is a file Files keeps open, with the bytes of it read last.
type kept struct {
	path string
	f    *os.File
	buf  []byte
	win  []byte // the bytes read last: [at, at+len(win))
	at   int64
}

// window is the most Files reads of a pack at once.
const window = 64 << 10

// Range returns a reader of bytes [from, to) of the file at path (to 0: up
// to its end as it is when read), good until the next call of Range or
// Close.
func (fs *Files) Range(path string, from, to int64) (io.Reader, error) {
	k, err := fs.file(path)
	if err != nil {
		return nil, err
	}
	if to <= 0 {
		return io.NewSectionReader(k.f, from, int64(math.MaxInt64)-max(from, 0)), nil
	}
	if from < 0 || to < from || to-from > window {
		return io.NewSectionReader(k.f, from, max(to-from, 0)), nil
	}
	if from < k.at || to > k.at+int64(len(k.win)) {
		if k.buf == nil {
			k.buf = make([]byte, window)
		}
		n, err := k.f.ReadAt(k.buf, from)
		if err != nil && err != io.EOF {
			k.win = nil
			return nil, err
		}
		k.win, k.at = k.buf[:n], from
	}
	if to > k.at+int64(len(k.win)) { // the file ends before the range: what is there
		return bytes.NewReader(k.win[from-k.at:]), nil
	}
	return bytes.NewReader(k.win[from-k.at : to-k.at]), nil
}

// file is the file at path, kept open: one of those kept, or opened in
// place of the one used least recently.
func (fs *Files) file(path string) (*kept, error) {
	for i, k := range fs.kept {
		if k != nil && k.path == path {
			copy(fs.kept[1:i+1], fs.kept[:i])
			fs.kept[0] = k
			return k, nil
		}
	}
	dir, name := filepath.Split(path)
	if names, listed := fs.dirs[dir]; listed && !names[name] {
		return nil, &iofs.PathError{Op: "open", Path: path, Err: iofs.ErrNotExist}
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			fs.list(dir)
		}
		return nil, err
	}
	k := fs.kept[len(fs.kept)-1]
	if k != nil {
		k.f.Close()
		k.path, k.f, k.win, k.at = path, f, nil, 0 // its buffer serves the new one
	} else {
		k = &kept{path: path, f: f}
	}
	copy(fs.kept[1:], fs.kept[:len(fs.kept)-1])
	fs.kept[0] = k
	return k, nil
}

// list reads the names in dir (a task's log folder, where a file was
// missing), if it can.
func (fs *Files) list(dir string) {
	if _, done := fs.dirs[dir]; done {
		return
	}
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	if fs.dirs == nil {
		fs.dirs = map[string]map[string]bool{}
	}
	fs.dirs[dir] = set
}

// Close closes the files kept open and forgets the folders listed; fs can
// be used again.
func (fs *Files) Close() error {
	var err error
	for i, k := range fs.kept {
		if k != nil {
			if cerr := k.f.Close(); err == nil {
				err = cerr
			}
			fs.kept[i] = nil
		}
	}
	fs.dirs = nil
	return err
}
