package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/burst-sh/burst/internal/blob/hashpipe"
	"github.com/burst-sh/burst/internal/blob/sample"
)

// FS is the embedded store: one file per blob under Dir, at
// sha256/<first two hex digits>/<hex>. A blob is written to Dir/tmp,
// hashed on the way, fsynced and renamed into place, so that a crash or a
// full disk leaves either the whole, checked blob or nothing under its
// name. A blob is hashed again the first time this FS opens it (a disk may
// rot while the server is down); one that no longer matches is removed.
type FS struct {
	dir string

	mu       sync.Mutex
	verified map[string]stamp // digests hashed since this FS was made, as they were then
}

// stamp is what a file looked like when it was last hashed.
type stamp struct {
	size int64
	mod  time.Time
}

// reserve is the free space a Put leaves on the filesystem: 5% of it, at
// most 64 MiB, as the server keeps for the work it accepted.
func reserve(total int64) int64 { return min(64<<20, total/20) }

// NewFS opens (creating) the embedded store in dir, and removes what a
// crash left half-written in dir/tmp.
func NewFS(dir string) (*FS, error) {
	for _, d := range []string{dir, filepath.Join(dir, "sha256"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("blob store %s: %w", dir, err)
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", dir, err)
	}
	for _, e := range ents {
		os.Remove(filepath.Join(dir, "tmp", e.Name()))
	}
	return &FS{dir: dir, verified: map[string]stamp{}}, nil
}

// Dir is where the store keeps its files.
func (f *FS) Dir() string { return f.dir }

// Location is "embedded".
func (f *FS) Location() string { return "embedded" }

// Describe says where blobs go.
func (f *FS) Describe() string { return "embedded: files under " + f.dir }

func (f *FS) path(digest string) string {
	h := hexOf(digest)
	return filepath.Join(f.dir, "sha256", h[:2], h)
}

// Stat is the blob as held; ErrNotFound when it is not.
func (f *FS) Stat(ctx context.Context, digest string) (Info, error) {
	if err := CheckDigest(digest); err != nil {
		return Info{}, err
	}
	fi, err := os.Stat(f.path(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return Info{}, ErrNotFound
	}
	if err != nil {
		return Info{}, err
	}
	return Info{Digest: digest, Size: fi.Size()}, nil
}

// Put writes the blob, checked, or nothing (see Store).
func (f *FS) Put(ctx context.Context, digest string, size int64, r io.Reader) (Info, error) {
	if err := CheckDigest(digest); err != nil {
		return Info{}, err
	}
	v := newVerifier(hashpipe.ContextReader(ctx, r), size)
	return f.put(ctx, digest, hexOf(digest)[:12], v, v.copyTo, func(v *verifier) (string, error) {
		return digest, v.check(digest)
	})
}

// PutNamed writes a blob whose digest is learned from its bytes (see
// Namer): written once, hashed beside the write, named by its hash once
// accept allowed it.
func (f *FS) PutNamed(ctx context.Context, size int64, r io.Reader, accept func(digest string) error) (Info, error) {
	v := newVerifier(hashpipe.ContextReader(ctx, r), size)
	return f.put(ctx, "(streamed)", "stream", v, v.copyTo, streamed(accept))
}

// PutFile is PutNamed for size bytes of an open file (see FileNamer),
// copied by the kernel and hashed as read back from the blob's own file
// (hashpipe.CopyFile): what names the blob is what it holds, even if the
// file changes meanwhile.
func (f *FS) PutFile(ctx context.Context, size int64, src *os.File, accept func(digest string) error) (Info, error) {
	v := newVerifier(nil, size)
	return f.put(ctx, "(file)", "file", v, func(tmp *os.File) error {
		n, err := hashpipe.CopyFile(ctx, tmp, src, 0, size+1, v.h)
		v.n = n
		return err
	}, streamed(accept))
}

// streamed names a blob by the hash of what was written, once accept
// allows it.
func streamed(accept func(digest string) error) func(*verifier) (string, error) {
	return func(v *verifier) (string, error) {
		if v.n != v.size {
			return "", &MismatchError{Digest: "(streamed)", Size: v.size, Got: v.n}
		}
		d := Digest(v.h.Sum(nil))
		return d, accept(d)
	}
}

// put writes v.size bytes to a file in tmp (tmpName.*) by fill, which
// counts and hashes them in v, and renames it to the blob name says once
// name (given what was written) allows it (label names the blob in
// errors); on any error nothing is left. A blob held already is replaced
// by the same bytes.
func (f *FS) put(ctx context.Context, label, tmpName string, v *verifier, fill func(tmp *os.File) error, name func(*verifier) (string, error)) (Info, error) {
	size := v.size
	if size < 0 {
		return Info{}, fmt.Errorf("blob %s: size %d: a size is a number of bytes, 0 or more", label, size)
	}
	var st syscall.Statfs_t
	if syscall.Statfs(f.dir, &st) == nil {
		free, total := int64(st.Bavail)*st.Bsize, int64(st.Blocks)*st.Bsize
		if need := size + reserve(total); free < need {
			return Info{}, &NoSpaceError{Dir: f.dir, Need: need, Free: free}
		}
	}
	tmp, err := os.CreateTemp(filepath.Join(f.dir, "tmp"), tmpName+".*")
	if err != nil {
		return Info{}, f.full(err, size)
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := fill(tmp); err != nil {
		if v.n < size && !isNoSpace(err) {
			return Info{}, fmt.Errorf("%w (%v)", &MismatchError{Digest: label, Size: size, Got: v.n}, err)
		}
		return Info{}, f.full(err, size)
	}
	digest, err := name(v)
	if err != nil {
		return Info{}, err
	}
	// One fsync, of the whole file, before it takes its name: the blob
	// is never visible under a name its bytes might not yet hold.
	if err := tmp.Sync(); err != nil {
		return Info{}, f.full(err, size)
	}
	if err := tmp.Close(); err != nil {
		return Info{}, f.full(err, size)
	}
	dst := f.path(digest)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return Info{}, f.full(err, size)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Info{}, f.full(err, size)
	}
	keep = true
	syncDir(filepath.Dir(dst))
	if fi, err := os.Stat(dst); err == nil {
		f.mu.Lock()
		f.verified[digest] = stamp{fi.Size(), fi.ModTime()}
		f.mu.Unlock()
	}
	return Info{Digest: digest, Size: size}, nil
}

// full is err as a *NoSpaceError when the filesystem is full.
func (f *FS) full(err error, size int64) error {
	if !isNoSpace(err) {
		return fmt.Errorf("blob store %s: %w", f.dir, err)
	}
	var st syscall.Statfs_t
	free := int64(0)
	if syscall.Statfs(f.dir, &st) == nil {
		free = int64(st.Bavail) * st.Bsize
	}
	return &NoSpaceError{Dir: f.dir, Need: size, Free: free}
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// Open reads the blob from offset, once it was found whole (see FS).
func (f *FS) Open(ctx context.Context, digest string, offset int64) (io.ReadCloser, Info, error) {
	if err := CheckDigest(digest); err != nil {
		return nil, Info{}, err
	}
	p := f.path(digest)
	file, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Info{}, ErrNotFound
	}
	if err != nil {
		return nil, Info{}, err
	}
	fi, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, Info{}, err
	}
	in := Info{Digest: digest, Size: fi.Size()}
	f.mu.Lock()
	s, ok := f.verified[digest]
	f.mu.Unlock()
	if !ok || s.size != fi.Size() || !s.mod.Equal(fi.ModTime()) {
		got, _, err := Sum(hashpipe.ContextReader(ctx, file))
		if err != nil {
			file.Close()
			return nil, Info{}, fmt.Errorf("blob %s: reading %s: %w", digest, p, err)
		}
		if got != digest {
			file.Close()
			os.Remove(p)
			f.mu.Lock()
			delete(f.verified, digest)
			f.mu.Unlock()
			return nil, Info{}, &CorruptError{Digest: digest, Where: p, Why: "its bytes hash to " + got}
		}
		f.mu.Lock()
		f.verified[digest] = stamp{fi.Size(), fi.ModTime()}
		f.mu.Unlock()
	}
	if offset < 0 || offset > in.Size {
		file.Close()
		return nil, Info{}, fmt.Errorf("blob %s: offset %d is outside its %d bytes", digest, offset, in.Size)
	}
	if _, err := file.Seek(offset, io.SeekStart); err != nil {
		file.Close()
		return nil, Info{}, err
	}
	return file, in, nil
}

// Sample is the sample (package sample) of the blob as held: its size and
// both ends, read from its file; ErrNotFound when it is not held.
func (f *FS) Sample(ctx context.Context, digest string) (string, error) {
	if err := CheckDigest(digest); err != nil {
		return "", err
	}
	file, err := os.Open(f.path(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return "", err
	}
	return sample.Of(file, fi.Size())
}

// Delete removes the blob's file.
func (f *FS) Delete(ctx context.Context, digest string) error {
	if err := CheckDigest(digest); err != nil {
		return err
	}
	err := os.Remove(f.path(digest))
	f.mu.Lock()
	delete(f.verified, digest)
	f.mu.Unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// List walks the shards.
func (f *FS) List(ctx context.Context, prefix string, fn func(Info) error) error {
	root := filepath.Join(f.dir, "sha256")
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		dg := "sha256:" + d.Name()
		if CheckDigest(dg) != nil || !strings.HasPrefix(dg, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		return fn(Info{Digest: dg, Size: fi.Size()})
	})
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
