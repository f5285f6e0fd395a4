package home

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// ErrNotYours is returned (wrapped) by Private when another user owns the
// home: its files would be theirs to read, and ours to overwrite.
var ErrNotYours = errors.New("belongs to another user")

// Private makes the home readable by its owner alone: the store holds every
// job's environment (secrets included), and logs hold what tasks printed.
// The directory and every directory under it lose their group and other
// permissions (0755 becomes 0700), and so does every file (0644 becomes
// 0600; an owner's execute bit stays). Links are left alone, not followed.
// A directory below the home that is private already is not entered:
// nobody else can reach what it holds.
//
// A home that another user owns is refused, with the fix named: burst would
// otherwise write files there that its owner cannot read, or read theirs.
// Files are created 0600 and directories 0700 from then on, whatever the
// umask, so Private finds nothing to do on a home burst made itself.
func (h Home) Private() error {
	fi, err := os.Stat(string(h))
	if err != nil {
		return fmt.Errorf("cannot read %s (%v): set BURST_HOME to a directory of your own", h, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("BURST_HOME %s is not a directory: set BURST_HOME to a directory of your own", h)
	}
	if uid, ok := owner(fi); ok && uid != os.Getuid() {
		return fmt.Errorf("%s %w (%s), not to you (%s): run `sudo chown -R %s %s`, or set BURST_HOME to a directory of your own",
			h, ErrNotYours, userName(uid), userName(os.Getuid()), userName(os.Getuid()), h)
	}
	// A home that is a link (BURST_HOME=/scratch/me/burst, itself a link)
	// is walked where it leads: WalkDir does not follow its root.
	root, err := filepath.EvalSymlinks(string(h))
	if err != nil {
		return fmt.Errorf("cannot read %s (%v): set BURST_HOME to a directory of your own", h, err)
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked (a task's log, a socket)
			}
			return fmt.Errorf("cannot make %s private (%v): fix its permissions (chmod -R go-rwx %s)", p, err, h)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil // a link's own mode means nothing; its target is not ours to change
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot make %s private (%v): fix its permissions (chmod -R go-rwx %s)", p, err, h)
		}
		mode := info.Mode().Perm()
		if mode&0o077 == 0 {
			if d.IsDir() && p != root {
				// Nobody else can enter it, whatever lies below: a home
				// burst keeps costs a stat per entry of its top level,
				// not one per task log.
				return fs.SkipDir
			}
			return nil
		}
		if err := os.Chmod(p, mode&^0o077); err != nil && !errors.Is(err, fs.ErrNotExist) {
			uid, _ := owner(info)
			return fmt.Errorf("cannot make %s private: %v (it belongs to %s): run `sudo chown -R %s %s`, or set BURST_HOME to a directory of your own",
				p, errors.Unwrap(err), userName(uid), userName(os.Getuid()), h)
		}
		return nil
	})
}

// CreatePrivate creates the file at path empty and 0600 if it does not
// exist, for files that a library would otherwise create with the umask's
// leave (SQLite creates a store 0644, and its -wal and -shm files with the
// store's mode).
func CreatePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

func owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// userName is the name of uid, or uid as a number when it has none.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}
