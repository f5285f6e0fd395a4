package home

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/burst-sh/burst/internal/sysuser"
)

// ErrNotYours is returned (wrapped) by Private when another user owns the
// home: its files would be theirs to read, and ours to overwrite.
var ErrNotYours = errors.New("belongs to another user")

// ErrForeignLink is returned (wrapped) by Private for a link in the home
// that another user made, or that leads to another user's file: the store
// or the logs would be written where they can read them.
var ErrForeignLink = errors.New("is a link that is not yours")

// Private makes the home readable by its owner alone: the store holds every
// job's environment (secrets included), and logs hold what tasks printed.
// The directory and every directory under it lose their group and other
// permissions (0755 becomes 0700), and so does every file (0644 becomes
// 0600; an owner's execute bit stays). Links are not followed, and one that
// another user made, or that leads to a file or directory of another user,
// is refused with the fix (`rm LINK`): planted in a home that was open to
// others (state.db or logs pointing into their directory), it would have
// burst write the store and task logs where they can read them. A directory
// below the home that is private already is not entered: nobody else can
// reach what it holds, nor plant a link there.
//
// A home that another user owns is refused, with the fix named: burst would
// otherwise write files there that its owner cannot read, or read theirs.
// Files are created 0600 and directories 0700 from then on, whatever the
// umask, so Private finds nothing to do on a home burst made itself.
func (h Home) Private() error {
	// A home that is a link (BURST_HOME=/scratch/me/burst, itself a link)
	// is resolved once, and what it resolved to is examined without
	// following any link again: it cannot be swapped between two looks.
	root, err := filepath.EvalSymlinks(string(h))
	if err != nil {
		return fmt.Errorf("cannot read %s (%v): set BURST_HOME to a directory of your own", h, err)
	}
	fi, err := os.Lstat(root)
	if err != nil {
		return fmt.Errorf("cannot read %s (%v): set BURST_HOME to a directory of your own", h, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("BURST_HOME %s is not a directory: set BURST_HOME to a directory of your own", h)
	}
	me := os.Getuid()
	if uid, ok := owner(fi); ok && uid != me {
		return fmt.Errorf("%s %w (%s), not to you (%s): run `sudo chown -R %s %s`, or set BURST_HOME to a directory of your own",
			h, ErrNotYours, userName(uid), userName(me), userName(me), h)
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked (a task's log, a socket)
			}
			return fmt.Errorf("cannot make %s private (%v): fix its permissions (chmod -R go-rwx %s)", p, err, h)
		}
		info, err := d.Info() // Lstat: a link's own owner
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot make %s private (%v): fix its permissions (chmod -R go-rwx %s)", p, err, h)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return checkLink(p, info, me)
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
				p, errors.Unwrap(err), userName(uid), userName(me), h)
		}
		return nil
	})
}

// checkLink refuses a link in the home that user me did not make, or that
// leads to what another user owns. A link's own mode means nothing and its
// target is not burst's to change; a link of me's own to a file of me's own
// (or to nothing yet) is left as it is.
func checkLink(p string, info fs.FileInfo, me int) error {
	if uid, ok := owner(info); ok && uid != me {
		return fmt.Errorf("%s %w: %s made it, and burst would write through it where they can read: remove it (`rm %s`)", p, ErrForeignLink, userName(uid), p)
	}
	ti, err := os.Stat(p)
	if err != nil {
		return nil // leads nowhere (yet): burst creates what it needs in its place
	}
	if uid, ok := owner(ti); ok && uid != me {
		target, _ := os.Readlink(p)
		return fmt.Errorf("%s %w: it leads to %s, which belongs to %s, and burst would write there: remove it (`rm %s`)", p, ErrForeignLink, target, userName(uid), p)
	}
	return nil
}

// CreatePrivate creates the file at path empty and 0600 if it does not
// exist, for files that a library would otherwise create with the umask's
// leave (SQLite creates a store 0644, and its -wal and -shm files with the
// store's mode). It follows no link (O_NOFOLLOW): a link at path is
// refused, with the fix, so that the store is never written through one
// into a place another user reads.
func CreatePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return fmt.Errorf("%s is a link: burst keeps its files in BURST_HOME itself: remove it (`rm %s`)", path, path)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a file: remove it (`rm %s`)", path, path)
	}
	return nil
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
	if u, err := sysuser.LookupID(context.Background(), uid); err == nil {
		return u.Name
	}
	return strconv.Itoa(uid)
}
