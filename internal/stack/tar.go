// Package stack is the format of burst's software stacks (docs/stacks.md):
// a root filesystem kept as one deterministic tar whose SHA-256 is the
// version's digest, the manifest of its files (for diff), the flattening
// of OCI and docker-archive image files into that tar, and the making of
// a next version from a parent and an overlay's upper directory.
//
// It reads and writes files and streams only: it knows nothing of the
// server, the store or the agent.
package stack

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// File is one entry of a stack's manifest: a path inside the root
// filesystem (clean, relative, slash-separated), its mode bits and type,
// its size and, for a regular file, the SHA-256 of its bytes; a symbolic
// link's target is in Link.
type File struct {
	Path   string `json:"path"`
	Mode   uint32 `json:"mode"` // fs.FileMode bits: type and permissions
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Link   string `json:"link,omitempty"`
}

// Packed is what Pack wrote: the tar's digest ("sha256:HEX") and size, and
// the manifest of its entries in path order.
type Packed struct {
	Digest   string
	Size     int64
	Manifest []File
}

// entry is one file to pack: where its bytes are (src, "" for none), and
// its header.
type entry struct {
	hdr *tar.Header
	src string                        // a regular file's bytes on disk
	rd  func() (io.ReadCloser, error) // or from elsewhere (an image layer's entry, kept in a temporary file)
}

// Pack writes the tree under dir to w as a deterministic tar: entries in
// path order, owners mapped to 0, modification times kept (whole
// seconds), no access or change times, no user or group names. Device
// files, sockets and fifos are left out (a sandbox makes its own /dev).
func Pack(dir string, w io.Writer) (*Packed, error) { return packTree(dir, w, false) }

// packTree packs the tree under dir; changes packs it as an overlay's
// upper directory (changes.go): whiteouts and opaque directories kept.
func packTree(dir string, w io.Writer, changes bool) (*Packed, error) {
	var ents []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if changes && whiteout(fi) {
			ents = append(ents, entry{hdr: &tar.Header{Name: name, Typeflag: tar.TypeChar, ModTime: fi.ModTime().Truncate(time.Second)}})
			return nil
		}
		hdr, err := header(name, fi, p)
		if err != nil || hdr == nil {
			return err
		}
		if changes && hdr.Typeflag == tar.TypeDir && opaque(p) {
			hdr.PAXRecords = map[string]string{opaqueRecord: "y"}
		}
		e := entry{hdr: hdr}
		if hdr.Typeflag == tar.TypeReg {
			e.src = p
		}
		ents = append(ents, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	return write(ents, w)
}

// header is the tar header of the file at rel (fi its Lstat), or nil for
// a kind of file a stack does not keep.
func header(rel string, fi fs.FileInfo, full string) (*tar.Header, error) {
	h := &tar.Header{Name: rel, Mode: int64(fi.Mode().Perm() | fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)),
		ModTime: fi.ModTime().Truncate(time.Second), Format: tar.FormatPAX}
	h.Mode = int64(unixMode(fi.Mode()))
	switch {
	case fi.Mode().IsRegular():
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
	case fi.IsDir():
		h.Typeflag = tar.TypeDir
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return nil, err
		}
		h.Typeflag, h.Linkname = tar.TypeSymlink, target
	default:
		return nil, nil
	}
	return h, nil
}

// unixMode is the permission and special bits of m as a tar header
// keeps them (0o7777).
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// write writes ents, sorted by path, as the deterministic tar.
func write(ents []entry, w io.Writer) (*Packed, error) {
	sort.Slice(ents, func(i, j int) bool { return ents[i].hdr.Name < ents[j].hdr.Name })
	h := sha256.New()
	cw := &counter{w: io.MultiWriter(w, h)}
	tw := tar.NewWriter(cw)
	out := &Packed{Manifest: make([]File, 0, len(ents))}
	for _, e := range ents {
		hdr := *e.hdr
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		hdr.AccessTime, hdr.ChangeTime, hdr.Xattrs = time.Time{}, time.Time{}, nil
		if hdr.PAXRecords[opaqueRecord] != "y" { // a changes tar's opaque directory (changes.go) keeps its mark
			hdr.PAXRecords = nil
		}
		hdr.ModTime = hdr.ModTime.Truncate(time.Second)
		hdr.Format = tar.FormatPAX
		name := hdr.Name
		if hdr.Typeflag == tar.TypeDir {
			hdr.Name += "/"
		}
		f := File{Path: name, Mode: uint32(hdr.FileInfo().Mode()), Link: hdr.Linkname}
		if err := tw.WriteHeader(&hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			sum, err := copyBody(tw, e, hdr.Size)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			f.Size, f.SHA256 = hdr.Size, sum
		}
		out.Manifest = append(out.Manifest, f)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	out.Digest, out.Size = "sha256:"+hex.EncodeToString(h.Sum(nil)), cw.n
	return out, nil
}

// copyBody copies an entry's bytes into tw and returns their SHA-256.
func copyBody(tw io.Writer, e entry, size int64) (string, error) {
	var rc io.ReadCloser
	var err error
	if e.rd != nil {
		rc, err = e.rd()
	} else {
		rc, err = os.Open(e.src)
	}
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), io.LimitReader(rc, size))
	if err != nil {
		return "", err
	}
	if n != size {
		return "", fmt.Errorf("changed while it was packed (%d bytes, then %d)", size, n)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ErrNotStack is an archive that is not a stack's tar.
var ErrNotStack = errors.New("not a stack's root filesystem (a tar of its files)")

// Unpack writes the stack tar r into dir (made if need be). No entry may
// leave dir (a name with .. is refused; an absolute one is read as
// relative); symbolic links are made as they are, pointing wherever they
// point (inside the sandbox, / is dir), and are never followed here: an
// entry below one, or a hard link through one, is refused, and an entry
// at a link's own name replaces the link. A stack's tar may be anyone's,
// and agents and the server unpack it outside any sandbox.
func Unpack(r io.Reader, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	type dirTime struct {
		p string
		t time.Time
	}
	var dirs []dirTime
	for {
		hdr, name, err := nextEntry(tr)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		if err := noLinkAbove(dir, name); err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		mode := fs.FileMode(hdr.Mode & 0o777)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := notDirGone(dst); err != nil {
				return err
			}
			if err := os.Mkdir(dst, mode|0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			os.Chmod(dst, mode|0o700) // kept writable until the end, for the files below it
			dirs = append(dirs, dirTime{dst, hdr.ModTime})
		case tar.TypeReg:
			if err := notDirGone(dst); err != nil {
				return err
			}
			// O_EXCL: made here, never a file (or a link's target) that
			// was there, nor one an earlier hard link shares.
			f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, mode)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			os.Chmod(dst, fileMode(hdr))
			os.Chtimes(dst, hdr.ModTime, hdr.ModTime)
		case tar.TypeSymlink:
			os.Remove(dst)
			if err := os.Symlink(hdr.Linkname, dst); err != nil {
				return err
			}
			// The link's own time, as packed: without it an unpacked tree
			// packs to another digest whenever a second has passed.
			if ts, err := unix.TimeToTimespec(hdr.ModTime); err == nil { // out of range: left as made
				unix.UtimesNanoAt(unix.AT_FDCWD, dst, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
			}
		case tar.TypeLink:
			target, err := cleanName(hdr.Linkname)
			if err != nil {
				return err
			}
			if err := noLinkAbove(dir, target); err != nil {
				return err
			}
			os.Remove(dst)
			if err := os.Link(filepath.Join(dir, filepath.FromSlash(target)), dst); err != nil {
				return err
			}
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if fi, err := os.Lstat(dirs[i].p); err == nil && fi.IsDir() { // not a link a later entry put there
			os.Chtimes(dirs[i].p, dirs[i].t, dirs[i].t)
		}
	}
	return nil
}

// notDirGone removes what lies at p unless it is a directory (or
// nothing): a file or link an earlier entry of the same name made, which
// the entry at hand replaces, as tar(1) does.
func notDirGone(p string) error {
	fi, err := os.Lstat(p)
	if err != nil || fi.IsDir() {
		return nil
	}
	return os.Remove(p)
}

// fileMode is a regular file's permission and special bits from hdr.
func fileMode(hdr *tar.Header) fs.FileMode {
	m := fs.FileMode(hdr.Mode & 0o777)
	if hdr.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if hdr.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if hdr.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// nextEntry reads tr's next header and its name made clean (cleanName):
// io.EOF itself at the end, an error wrapping ErrNotStack where the tar is
// broken, cleanName's where a name leaves the root.
func nextEntry(tr *tar.Reader) (*tar.Header, string, error) {
	hdr, err := tr.Next()
	if err == io.EOF {
		return nil, "", err
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrNotStack, err)
	}
	name, err := cleanName(hdr.Name)
	return hdr, name, err
}

// cleanName is a tar entry's name as a clean relative path ("" for the
// root itself); one that leaves the root is an error.
func cleanName(n string) (string, error) {
	c := path.Clean("/" + n)
	if strings.Contains(n, "..") {
		for _, part := range strings.Split(n, "/") {
			if part == ".." {
				return "", fmt.Errorf("%w: entry %q leaves the root", ErrNotStack, n)
			}
		}
	}
	return strings.TrimPrefix(c, "/"), nil
}

// Manifest reads the manifest of a stack tar.
func Manifest(r io.Reader) ([]File, error) {
	tr := tar.NewReader(r)
	var out []File
	for {
		hdr, name, err := nextEntry(tr)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		f := File{Path: name, Mode: uint32(hdr.FileInfo().Mode()), Link: hdr.Linkname}
		if hdr.Typeflag == tar.TypeReg {
			h := sha256.New()
			n, err := io.Copy(h, tr)
			if err != nil {
				return nil, err
			}
			f.Size, f.SHA256 = n, hex.EncodeToString(h.Sum(nil))
		}
		out = append(out, f)
	}
}
