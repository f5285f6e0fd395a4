package stack

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// A task's changes to its stack (burst stack commit, docs/stacks.md) are
// the upper directory of the overlay it ran on, packed as a tar in the
// stack's own format (PackChanges) with two more kinds of entry: a
// whiteout (the overlay's 0:0 character device: the path was deleted)
// is kept as a 0:0 character device entry, and an opaque directory (one
// that replaced the parent's whole) carries the PAX record
// BURST.opaque=y. ApplyChanges turns a parent's tree and such a tar into
// the next version's tree.

// opaqueRecord is the PAX record of an opaque directory.
const opaqueRecord = "BURST.opaque"

// PackChanges writes the overlay upper directory upper to w as a changes
// tar (above).
func PackChanges(upper string, w io.Writer) (*Packed, error) { return packTree(upper, w, true) }

// ApplyChanges applies the changes tar r to the tree root: a file or
// link replaces root's at its path, a directory is made (an opaque one
// replaces root's whole), a whiteout deletes what root holds at its
// path. No entry may reach out of root, by its name or through a
// symbolic link in root.
func ApplyChanges(root string, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, name, err := nextEntry(tr)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		if err := noLinkAbove(root, name); err != nil {
			return err
		}
		dst := filepath.Join(root, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeChar:
			if hdr.Devmajor != 0 || hdr.Devminor != 0 {
				return fmt.Errorf("%w: %s is a device, not a whiteout", ErrNotStack, name)
			}
			if err := os.RemoveAll(dst); err != nil {
				return err
			}
		case tar.TypeDir:
			old, err := os.Lstat(dst)
			if err == nil && (!old.IsDir() || hdr.PAXRecords[opaqueRecord] == "y") {
				if err := os.RemoveAll(dst); err != nil {
					return err
				}
			}
			mode := fs.FileMode(hdr.Mode & 0o777)
			if err := os.MkdirAll(dst, mode|0o700); err != nil {
				return err
			}
			if err := os.Chmod(dst, mode); err != nil {
				return err
			}
			os.Chtimes(dst, hdr.ModTime, hdr.ModTime)
		case tar.TypeSymlink:
			if err := os.RemoveAll(dst); err != nil {
				return err
			}
			if err := os.Symlink(hdr.Linkname, dst); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.RemoveAll(dst); err != nil {
				return err
			}
			f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if err := os.Chmod(dst, fileMode(hdr)); err != nil {
				return err
			}
			os.Chtimes(dst, hdr.ModTime, hdr.ModTime)
		default:
			return fmt.Errorf("%w: %s is of a kind a stack does not keep (%c)", ErrNotStack, name, hdr.Typeflag)
		}
	}
}

// noLinkAbove refuses a name whose parent directories in root are not
// all directories: one that is a symbolic link would lead out of root.
func noLinkAbove(root, name string) error {
	dir := root
	parts := strings.Split(name, "/")
	for _, part := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, part)
		fi, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // made below as a directory
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s lies below %s, which is not a directory", ErrNotStack, name, strings.TrimPrefix(dir, root+"/"))
		}
	}
	return nil
}

// whiteout reports whether fi is an overlay whiteout (a 0:0 character device).
func whiteout(fi fs.FileInfo) bool {
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

// opaque reports whether the directory p is an overlay's opaque one.
func opaque(p string) bool {
	buf := make([]byte, 8)
	for _, name := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		n, err := syscall.Getxattr(p, name, buf)
		if err == nil && strings.HasPrefix(string(buf[:n]), "y") {
			return true
		}
	}
	return false
}
