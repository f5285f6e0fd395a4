// Package blob is burst's content-addressed store of files: inputs that
// follow a job to its machines, the outputs and logs that come back. A
// blob is named by its digest ("sha256:<64 lowercase hex>") and is never
// visible under that name before its bytes were checked against it.
// Two stores implement Store: FS (files under $BURST_HOME/blobs, the
// embedded default) and S3 (any S3-compatible service, through the AWS SDK).
// The package knows nothing of projects, jobs or who may read what: that
// is the server's (internal/server/blobs.go).
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/burst-sh/burst/internal/blob/hashpipe"
)

// Store holds blobs by digest. Every method may block on I/O and takes a
// context; none keeps a blob's whole bytes in memory.
type Store interface {
	// Stat is what the store holds of digest; ErrNotFound when nothing.
	Stat(ctx context.Context, digest string) (Info, error)
	// Put stores the size bytes of r as digest. The blob exists only once
	// all of them arrived and hashed to digest: a short, long or wrong
	// body is a *MismatchError and leaves nothing behind. A blob the store
	// holds already is written and checked all the same, its bytes then
	// replacing the same bytes: the server grants a reference to what was
	// Put, so a Put proves its sender has the bytes, not just their
	// digest, and it takes as long as a new blob's, so that its time does
	// not tell whether the store held it.
	Put(ctx context.Context, digest string, size int64, r io.Reader) (Info, error)
	// Open reads digest from offset on (offset > 0 resumes a cut
	// transfer). A blob found corrupt is removed and reported as
	// *CorruptError; it is never served.
	Open(ctx context.Context, digest string, offset int64) (io.ReadCloser, Info, error)
	// Delete forgets digest; deleting what is not there is no error.
	Delete(ctx context.Context, digest string) error
	// List calls fn for each blob whose digest starts with prefix ("" for
	// all, "sha256:ab" for a shard), in no fixed order, until fn errs.
	List(ctx context.Context, prefix string, fn func(Info) error) error
	// Location is where the blobs of this store are, for the reference
	// table and people: "embedded" or "s3://bucket/prefix".
	Location() string
	// Describe says in one line, for people, where blobs go.
	Describe() string
}

// Presigner is a Store whose clients may move bytes without the server:
// URLs that let anyone holding them GET or PUT one object until they
// expire. An upload by URL lands under a staging name; Commit checks it
// and makes it the blob.
type Presigner interface {
	PresignGet(ctx context.Context, digest string, ttl time.Duration) (string, error)
	// PresignPut's URL comes with the headers its PUT must carry (signed
	// with it): a store that checks them refuses bytes that are not the
	// blob as they arrive. A blob of size bytes that one PUT cannot carry
	// gets no URL (""): its bytes go through the server, whose Put sends
	// them in parts.
	PresignPut(ctx context.Context, digest string, size int64, ttl time.Duration) (string, http.Header, error)
	// Commit checks the bytes PUT through PresignPut's URL against digest
	// and size and makes them the blob; a mismatch removes them.
	Commit(ctx context.Context, digest string, size int64) (Info, error)
}

// Namer is a Store that takes a blob before anyone knows its digest: the
// bytes are written once, hashed on the way, and named by their hash. A
// client sends a new file in one pass (it hashes what it sends, and the
// server checks the two hashes agree through accept) instead of reading
// it once to name it and again to send it.
type Namer interface {
	// PutNamed stores the size bytes of r as the blob they hash to, once
	// accept(digest) is nil; a short or long body, or accept's error,
	// leaves nothing behind. The blob may be held already: the same bytes
	// replace it.
	PutNamed(ctx context.Context, size int64, r io.Reader, accept func(digest string) error) (Info, error)
}

// FileNamer is a Namer that takes a blob from an open file (one passed
// by a client on the store's host) file to file, without reading it
// through user space; what names the blob is the hash of what it holds.
type FileNamer interface {
	Namer
	// PutFile is PutNamed of the first size bytes of f (read at
	// offsets: f's own offset does not move).
	PutFile(ctx context.Context, size int64, f *os.File, accept func(digest string) error) (Info, error)
}

// Info is a blob as a store holds it.
type Info struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// ErrNotFound: the store holds no such blob.
var ErrNotFound = errors.New("no such blob")

// MismatchError is a body refused: its length or hash is not what its
// digest and size said.
type MismatchError struct {
	Digest string
	Size   int64  // the size announced
	Got    int64  // bytes received (up to Size+1)
	GotSum string // their digest when all arrived, else ""
}

func (e *MismatchError) Error() string {
	switch {
	case e.Got < e.Size:
		return fmt.Sprintf("blob %s: the body ended after %d of %d bytes: nothing was kept; send it again", e.Digest, e.Got, e.Size)
	case e.Got > e.Size:
		return fmt.Sprintf("blob %s: the body is longer than the %d bytes announced: nothing was kept; announce its real size", e.Digest, e.Size)
	}
	return fmt.Sprintf("blob %s: the bytes sent hash to %s: nothing was kept; the file changed while it was sent, or its digest is wrong", e.Digest, e.GotSum)
}

// CorruptError is a blob whose stored bytes no longer match its digest
// (a disk error, a hand edit). The store removed it.
type CorruptError struct {
	Digest, Where, Why string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("blob %s was corrupt in %s (%s) and has been removed: upload it again", e.Digest, e.Where, e.Why)
}

// NoSpaceError is a Put refused or cut short by a full filesystem; nothing
// of the blob is left.
type NoSpaceError struct {
	Dir        string
	Need, Free int64
}

func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("the filesystem of %s has %d bytes free, the blob needs %d: nothing was kept; free space there (or `burst storage set s3://...`)", e.Dir, e.Free, e.Need)
}

// CheckDigest is nil when d is a digest this package takes:
// "sha256:" and 64 lowercase hex digits.
func CheckDigest(d string) error {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		return fmt.Errorf("bad digest %q: a blob is named sha256:<64 lowercase hex digits> (e.g. the output of `sha256sum FILE` after sha256:)", d)
	}
	return nil
}

// hexOf is the hex of a digest checked by CheckDigest.
func hexOf(d string) string { return d[len("sha256:"):] }

// Sum is the digest of what r yields, and how many bytes it yielded.
func Sum(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, err
	}
	return Digest(h.Sum(nil)), n, nil
}

// Digest names a SHA-256 sum as a blob's digest.
func Digest(sum []byte) string { return "sha256:" + hex.EncodeToString(sum) }

// verifier counts and hashes what is read through it, refusing to read
// past size+1 bytes so that an over-long body is seen without taking it all.
type verifier struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	size int64
	// ended is whether r returned an error or its end: a body shorter
	// than size was cut by its sender, not by the store it was sent to.
	ended bool
}

func newVerifier(r io.Reader, size int64) *verifier {
	return &verifier{r: io.LimitReader(r, size+1), h: sha256.New(), size: size}
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.h.Write(p[:n])
	v.ended = v.ended || err != nil
	return n, err
}

// copyTo writes what v reads to dst in large writes, hashing beside them
// (hashpipe) rather than in turn with them: a Put's write to disk and its
// hash each take a core. It ends at the end of v (size+1 bytes at most).
func (v *verifier) copyTo(dst *os.File) error {
	_, err := hashpipe.Copy(dst, counting{v}, v.h)
	return err
}

// counting reads through v, counting but not hashing (copyTo hashes).
type counting struct{ v *verifier }

func (c counting) Read(p []byte) (int, error) {
	n, err := c.v.r.Read(p)
	c.v.n += int64(n)
	c.v.ended = c.v.ended || err != nil
	return n, err
}

// check is nil when exactly size bytes hashing to digest went through.
func (v *verifier) check(digest string) error {
	if v.n != v.size {
		return &MismatchError{Digest: digest, Size: v.size, Got: v.n}
	}
	if got := Digest(v.h.Sum(nil)); got != digest {
		return &MismatchError{Digest: digest, Size: v.size, Got: v.n, GotSum: got}
	}
	return nil
}
