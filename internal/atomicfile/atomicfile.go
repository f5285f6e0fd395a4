// Package atomicfile writes files that hold secrets (keys, tokens,
// credentials) whole or not at all, 0600: a temporary file made anew
// (O_EXCL) in the target's directory, synced, then renamed or linked into
// place. A leftover temporary file or a symlink planted beside the target
// is never opened, so it can neither widen the mode nor redirect the write.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Write replaces path with b, mode 0600.
func Write(path string, b []byte) error {
	tmp, err := temp(path, b)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // nothing there after the rename
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// Create puts b at path, mode 0600, only if nothing is there: of two
// processes creating path at once one wins, and the other gets an error
// that wraps fs.ErrExist.
func Create(path string, b []byte) error {
	tmp, err := temp(path, b)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, path) // a link, unlike a rename, never replaces
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EOPNOTSUPP) {
		// A filesystem without hard links: a rename, whole all the same,
		// when nothing is there yet.
		if _, serr := os.Lstat(path); serr == nil {
			return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
		}
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// temp writes b to a new temporary file beside path, 0600 and synced, and
// returns its name.
func temp(path string, b []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return "", err
	}
	name := f.Name()
	err = f.Chmod(0o600) // CreateTemp's mode already; said for the reader
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// syncDir makes a rename or link in dir durable; a failure is not one of
// the write's (the file is whole either way).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
