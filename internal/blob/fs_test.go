package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/quick"

	"github.com/burst-sh/burst/internal/testfs"
)

func digestOf(b []byte) string { s := sha256.Sum256(b); return Digest(s[:]) }

// files are the files under dir (temporaries included).
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// readBlob is the whole blob as st reads it.
func readBlob(t *testing.T, st *FS, digest string) []byte {
	t.Helper()
	rc, _, err := st.Open(context.Background(), digest, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	back, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// Property: whatever bytes are Put under their digest, Open from any
// offset returns exactly the rest of them.
func TestFSPutThenOpen(t *testing.T) {
	st, err := NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	prop := func(data []byte, off uint32) bool {
		d := digestOf(data)
		if _, err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Log(err)
			return false
		}
		o := int64(0)
		if len(data) > 0 {
			o = int64(off) % int64(len(data)+1)
		}
		rc, in, err := st.Open(ctx, d, o)
		if err != nil {
			t.Log(err)
			return false
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		return err == nil && in.Size == int64(len(data)) && bytes.Equal(got, data[o:])
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 200}); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 3<<20+17)
	for i := range big {
		big[i] = byte(rand.Uint32())
	}
	if !prop(big, 1<<20) || !prop(nil, 0) {
		t.Fatal("a 3 MiB or an empty blob did not come back whole")
	}
}

// A body that is not what its digest and size say is refused and leaves
// no file: wrong bytes, too few (a cut connection), too many.
func TestFSRefusesWrongBodies(t *testing.T) {
	dir := t.TempDir()
	st, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := bytes.Repeat([]byte("burst "), 10000)
	d := digestOf(data)
	cases := []struct {
		name string
		size int64
		body io.Reader
	}{
		{"wrong bytes", int64(len(data)), bytes.NewReader(append(append([]byte{}, data[:100]...), bytes.Repeat([]byte("x"), len(data)-100)...))},
		{"truncated", int64(len(data)), bytes.NewReader(data[:len(data)/2])},
		{"cut with an error", int64(len(data)), io.MultiReader(bytes.NewReader(data[:1000]), errReader{})},
		{"too long", int64(len(data)) - 1, bytes.NewReader(data)},
	}
	for _, c := range cases {
		_, err := st.Put(ctx, d, c.size, c.body)
		var mm *MismatchError
		if !errors.As(err, &mm) {
			t.Errorf("%s: %v, want a MismatchError", c.name, err)
		}
		if fs := files(t, dir); len(fs) != 0 {
			t.Errorf("%s: left %v", c.name, fs)
		}
		if _, err := st.Stat(ctx, d); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Stat after a refused Put: %v", c.name, err)
		}
	}
	if _, err := st.Put(ctx, "sha256:XYZ", 1, bytes.NewReader([]byte("x"))); err == nil {
		t.Error("a malformed digest was taken")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// A blob whose file rotted is found on its first read by a new FS (a
// restarted server), reported, removed, and never served.
func TestFSCorruptRemoved(t *testing.T) {
	dir := t.TempDir()
	st, _ := NewFS(dir)
	ctx := context.Background()
	data := []byte("the reference genome, more or less")
	d := digestOf(data)
	if _, err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	p := st.path(d)
	if err := os.WriteFile(p, []byte("the reference genome, more or LESS"), 0o600); err != nil {
		t.Fatal(err)
	}
	st2, _ := NewFS(dir)
	_, _, err := st2.Open(ctx, d, 0)
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("Open of a corrupt blob: %v, want a CorruptError", err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("the corrupt file is still there: %v", err)
	}
}

// What a crash left in tmp/ is removed when the store is opened again.
func TestFSCleansTemporaries(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewFS(dir); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(dir, "tmp", "abc.123")
	os.WriteFile(left, []byte("half"), 0o600)
	if _, err := NewFS(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("a temporary outlived a reopen: %v", err)
	}
}

// A blob larger than the room left is refused before a byte is written;
// a disk that fills during the write (another writer) ends it with a
// NoSpaceError that names the directory, and no half-written file.
func TestFSDiskFull(t *testing.T) {
	dir := testfs.SmallDisk(t, "", "16m", nil)
	st, err := NewFS(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	big := bytes.Repeat([]byte{7}, 20<<20)
	_, err = st.Put(ctx, digestOf(big), int64(len(big)), bytes.NewReader(big))
	var ns *NoSpaceError
	if !errors.As(err, &ns) || !strings.Contains(err.Error(), st.Dir()) {
		t.Fatalf("a 20 MiB blob on a 16 MiB disk: %v, want a NoSpaceError naming %s", err, st.Dir())
	}
	if fs := files(t, st.Dir()); len(fs) != 0 {
		t.Fatalf("a refused blob left %v", fs)
	}
	data := bytes.Repeat([]byte{9}, 4<<20)
	filler := filepath.Join(dir, "filler")
	body := &onFirstRead{r: bytes.NewReader(data), fn: func() { testfs.Fill(t, filler) }}
	_, err = st.Put(ctx, digestOf(data), int64(len(data)), body)
	if !errors.As(err, &ns) {
		t.Fatalf("a disk that filled during the write: %v, want a NoSpaceError", err)
	}
	if fs := files(t, st.Dir()); len(fs) != 0 {
		t.Fatalf("a write cut by a full disk left %v", fs)
	}
	os.Remove(filler)
	if _, err := st.Put(ctx, digestOf(data), int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("once there is room again: %v", err)
	}
}

// onFirstRead calls fn before its first read.
type onFirstRead struct {
	r    io.Reader
	fn   func()
	done bool
}

func (o *onFirstRead) Read(p []byte) (int, error) {
	if !o.done {
		o.done = true
		o.fn()
	}
	return o.r.Read(p)
}

// Putting a blob held already checks the bytes sent as a new one's are
// (the server grants a reference on the strength of a Put): other bytes,
// fewer or more are a *MismatchError, and the blob held stays whole. The
// right bytes are written anew, as a new blob's, so that the Put's time
// does not tell whether the store held it.
func TestFSPutHeldChecksBytes(t *testing.T) {
	ctx := context.Background()
	st, err := NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("pin=4711\n")
	d := digestOf(data)
	if _, err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"pin=0000\n", "pin=4711", "pin=4711\nx"} {
		var mm *MismatchError
		if in, err := st.Put(ctx, d, int64(len(data)), strings.NewReader(body)); !errors.As(err, &mm) {
			t.Errorf("Put %q for a blob held: %+v, %v; want a MismatchError", body, in, err)
		}
	}
	inode := func() uint64 {
		fi, err := os.Stat(st.path(d))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	before := inode()
	if in, err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil || in.Digest != d {
		t.Fatalf("Put of the blob's own bytes again: %+v, %v", in, err)
	}
	if inode() == before {
		t.Error("a Put of a blob held was not written: its time tells that the store held it")
	}
	if got := readBlob(t, st, d); !bytes.Equal(got, data) {
		t.Fatalf("the blob held reads %q, want %q", got, data)
	}
}

// A blob streamed without its digest is named by its hash once accept
// allows it; a refused claim, a short body or a long one keeps nothing,
// and one held already stays whole.
func TestFSPutNamed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("named by its hash "), 100000)
	want := digestOf(data)
	wrongClaim := errors.New("the client's hash differs")
	refuse := func(string) error { return wrongClaim }
	if _, err := st.PutNamed(ctx, int64(len(data)), bytes.NewReader(data), refuse); !errors.Is(err, wrongClaim) {
		t.Fatalf("refused claim: got %v", err)
	}
	for _, body := range [][]byte{data[:len(data)-1], append(append([]byte{}, data...), 'x')} {
		var mm *MismatchError
		accept := func(string) error { t.Fatal("accept called for a body of the wrong length"); return nil }
		if _, err := st.PutNamed(ctx, int64(len(data)), bytes.NewReader(body), accept); !errors.As(err, &mm) {
			t.Fatalf("body of %d bytes for %d: got %v, want a MismatchError", len(body), len(data), err)
		}
	}
	if fs := files(t, dir); len(fs) != 0 {
		t.Fatalf("refused puts left %v", fs)
	}
	var got string
	for range 2 { // the second is a blob held already
		in, err := st.PutNamed(ctx, int64(len(data)), bytes.NewReader(data), func(d string) error { got = d; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if in.Digest != want || got != want || in.Size != int64(len(data)) {
			t.Fatalf("put %+v, accept saw %s; want %s", in, got, want)
		}
	}
	if !bytes.Equal(readBlob(t, st, want), data) {
		t.Fatal("the blob read back differs from what was put")
	}
	if fs := files(t, dir); len(fs) != 1 {
		t.Fatalf("want the one blob, have %v", fs)
	}
}

// A blob taken from an open file (PutFile, file to file) is named by the
// hash of what the store holds, and reads back as the file's bytes; a
// file shorter or longer than the size claimed, or a refused claim,
// keeps nothing, and the file's own offset does not move.
func TestFSPutFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := NewFS(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 20<<20+3)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	p := filepath.Join(dir, "in")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want := digestOf(data)
	wrongClaim := errors.New("the client's hash differs")
	if _, err := st.PutFile(ctx, int64(len(data)), src, func(string) error { return wrongClaim }); !errors.Is(err, wrongClaim) {
		t.Fatalf("refused claim: got %v", err)
	}
	for _, size := range []int64{int64(len(data)) - 1, int64(len(data)) + 1} {
		var mm *MismatchError
		accept := func(string) error { t.Fatal("accept called for a file of the wrong length"); return nil }
		if _, err := st.PutFile(ctx, size, src, accept); !errors.As(err, &mm) {
			t.Fatalf("a file of %d bytes put as %d: got %v, want a MismatchError", len(data), size, err)
		}
	}
	if fs := files(t, st.Dir()); len(fs) != 0 {
		t.Fatalf("refused puts left %v", fs)
	}
	var got string
	in, err := st.PutFile(ctx, int64(len(data)), src, func(d string) error { got = d; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if in.Digest != want || got != want || in.Size != int64(len(data)) {
		t.Fatalf("put %+v, accept saw %s; want %s", in, got, want)
	}
	if at, _ := src.Seek(0, io.SeekCurrent); at != 0 {
		t.Fatalf("the file's offset moved to %d", at)
	}
	if !bytes.Equal(readBlob(t, st, want), data) {
		t.Fatal("the blob read back differs from the file")
	}
	if fs := files(t, st.Dir()); len(fs) != 1 {
		t.Fatalf("want the one blob, have %v", fs)
	}
}
