package stack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Change is one difference between two versions' manifests.
type Change struct {
	Op   string `json:"op"` // "added", "removed" or "changed"
	Path string `json:"path"`
	Size int64  `json:"size"`          // its size in the newer version (removed: in the older)
	Was  int64  `json:"was,omitempty"` // changed: its size in the older version
}

// Diff lists what differs from a to b, in path order: a file is changed
// when its type, mode, bytes or link target differ.
func Diff(a, b []File) []Change {
	old := make(map[string]File, len(a))
	for _, f := range a {
		old[f.Path] = f
	}
	var out []Change
	seen := make(map[string]bool, len(b))
	for _, f := range b {
		seen[f.Path] = true
		o, ok := old[f.Path]
		switch {
		case !ok:
			out = append(out, Change{Op: "added", Path: f.Path, Size: f.Size})
		case o != f:
			out = append(out, Change{Op: "changed", Path: f.Path, Size: f.Size, Was: o.Size})
		}
	}
	for _, f := range a {
		if !seen[f.Path] {
			out = append(out, Change{Op: "removed", Path: f.Path, Size: f.Size})
		}
	}
	sortChanges(out)
	return out
}

func sortChanges(cs []Change) {
	// insertion of removals at their place: a plain sort by path
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].Path < cs[j-1].Path; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// ApplyUpper changes the tree root (a parent version, unpacked) as an
// overlay's upper directory upper says: its files replace or add to
// root's, a whiteout (a character device 0:0) deletes what root holds at
// its path, and an opaque directory (xattr trusted.overlay.opaque or
// user.overlay.opaque "y") replaces root's directory whole.
func ApplyUpper(root, upper string) error {
	return filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil || rel == "." {
			return err
		}
		dst := filepath.Join(root, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case whiteout(fi):
			return os.RemoveAll(dst)
		case fi.IsDir():
			if opaque(p) {
				os.RemoveAll(dst)
			}
			if old, err := os.Lstat(dst); err == nil && !old.IsDir() {
				os.Remove(dst)
			}
			if err := os.MkdirAll(dst, fi.Mode().Perm()|0o700); err != nil {
				return err
			}
			return os.Chmod(dst, fi.Mode().Perm())
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			os.RemoveAll(dst)
			return os.Symlink(target, dst)
		case fi.Mode().IsRegular():
			os.RemoveAll(dst)
			return copyFile(p, dst, fi)
		}
		return nil // other kinds are not kept in a stack
	})
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

func copyFile(src, dst string, fi fs.FileInfo) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := out.ReadFrom(in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

// ErrEmpty is a commit with nothing changed.
var ErrEmpty = errors.New("the task changed nothing in its stack")

// Describe is a change for people: "+ path (12 B)".
func (c Change) String() string {
	switch c.Op {
	case "added":
		return fmt.Sprintf("+ %s (%d B)", c.Path, c.Size)
	case "removed":
		return fmt.Sprintf("- %s (%d B)", c.Path, c.Size)
	}
	return fmt.Sprintf("~ %s (%d B -> %d B)", c.Path, c.Was, c.Size)
}
