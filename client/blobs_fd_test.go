package client_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/blob/fdpass"
	"github.com/burst-sh/burst/internal/home"
	"golang.org/x/sys/unix"
)

// A blob the store holds whose file went bad after the server checked it
// (its modification time put back, so the server does not look again) is
// passed as it is, and the client, which hashes what it copies, refuses
// it: nothing is left at the destination, and the error says the bytes
// are not the blob's.
func TestFetchPassedFileChecked(t *testing.T) {
	h, cl := uploadServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	want, data := randomFile(t, filepath.Join(dir, "a.bin"), 1<<20+3)
	if _, err := cl.UploadFile(ctx, filepath.Join(dir, "a.bin"), client.BlobPut{Project: "default", Kind: client.BlobInput}); err != nil {
		t.Fatal(err)
	}
	taken := client.FilesTaken()
	if err := cl.FetchBlob(ctx, want, filepath.Join(dir, "good.bin")); err != nil {
		t.Fatal(err)
	}
	if client.FilesTaken() != taken+1 {
		t.Fatal("the read over the socket did not take the store's file")
	}
	p := filepath.Join(string(h), "blobs", "sha256", want.Digest[7:9], want.Digest[7:])
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o600)
	data[len(data)/2] ^= 1
	if err := os.WriteFile(p, data, 0o400); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	dst := filepath.Join(dir, "bad.bin")
	err = cl.FetchBlob(ctx, want, dst)
	if !errors.Is(err, client.ErrBlobMismatch) {
		t.Fatalf("fetch of a blob whose file went bad: %v, want ErrBlobMismatch", err)
	}
	if client.FilesTaken() == taken+1 {
		t.Fatal("the bad blob's file was not taken: the test checks the bytes path, not the file's")
	}
	if _, serr := os.Stat(dst); !os.IsNotExist(serr) {
		t.Fatalf("the bad blob was left at %s (%v)", dst, serr)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".part-") {
			t.Fatalf("a partial file was left: %s", e.Name())
		}
	}
}

// passFile asks POST /v1/blobs upgraded over the socket, claiming size
// (and digest, unless ""), and passes f: the answer's status and body.
func passFile(t *testing.T, h home.Home, size int64, digest string, f *os.File) (int, string) {
	t.Helper()
	tok, err := h.ReadToken()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", h.Socket())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	uc := c.(*net.UnixConn)
	uc.SetDeadline(time.Now().Add(30 * time.Second))
	q := "project=default&kind=input&size=" + strconv.FormatInt(size, 10)
	if digest != "" {
		q += "&digest=" + digest
	}
	req, _ := http.NewRequest("POST", "http://unix/v1/blobs?"+q, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", fdpass.Upgrade)
	if err := req.Write(uc); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(uc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("the server answered %s to the upgrade, want 101", resp.Status)
	}
	if err := fdpass.Send(uc, f); err != nil {
		t.Fatal(err)
	}
	ans, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ans.Body.Close()
	var b strings.Builder
	bufio.NewReader(ans.Body).WriteTo(&b)
	return ans.StatusCode, b.String()
}

// A passed file that is not a regular file (a pipe), not of the size
// claimed, or not of the digest claimed, is refused with what to do, and
// nothing of it is kept; a good one is stored under the hash of its bytes.
func TestPassFileRefused(t *testing.T) {
	h, _ := uploadServer(t)
	dir := t.TempDir()
	want, _ := randomFile(t, filepath.Join(dir, "a.bin"), 70000)
	f, err := os.Open(filepath.Join(dir, "a.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	other := "sha256:" + strings.Repeat("0", 64)
	for _, c := range []struct {
		name   string
		size   int64
		digest string
		f      *os.File
		want   string
	}{
		{"a pipe", 5, "", pr, "not a regular file"},
		{"a short claim", want.Size - 1, "", f, "changed"},
		{"a long claim", want.Size + 1, "", f, "changed"},
		{"another digest", want.Size, other, f, "changed since it was hashed"},
	} {
		status, body := passFile(t, h, c.size, c.digest, c.f)
		if status != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s; want 400 saying %q", c.name, status, body, c.want)
		}
		if blobs, tmp := held(t, h); len(blobs)+len(tmp) != 0 {
			t.Fatalf("%s: kept %v %v", c.name, blobs, tmp)
		}
	}
	status, body := passFile(t, h, want.Size, want.Digest, f)
	if status != 200 || !strings.Contains(body, want.Digest) {
		t.Fatalf("a good file: %d %s; want 200 naming %s", status, body, want.Digest)
	}
	if blobs, _ := held(t, h); len(blobs) != 1 || filepath.Base(blobs[0]) != want.Digest[7:] {
		t.Fatalf("held %v, want the one blob %s", blobs, want.Digest)
	}
}

// A server that does not switch (a version before the upgrade: it takes
// the upgraded request for an empty body and refuses it) gets the file's
// bytes streamed instead, and the upload succeeds.
func TestPassFileFallsBackToBytes(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	sock := filepath.Join(t.TempDir(), "old.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var upgrades, streamed atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/blobs/uploads", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"blobs":[{"stream":true}]}`))
	})
	mux.HandleFunc("POST /v1/blobs", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			upgrades.Add(1)
		}
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		size, _ := strconv.ParseInt(r.URL.Query().Get("size"), 10, 64)
		d := "sha256:" + hex.EncodeToString(h.Sum(nil))
		if n != size || r.Trailer.Get(client.BlobDigestTrailer) != d {
			w.WriteHeader(400)
			w.Write([]byte(`{"error":"short or wrong body"}`))
			return
		}
		streamed.Add(1)
		fmt.Fprintf(w, `{"digest":%q,"size":%d}`, d, n)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	cl, err := client.New("unix://"+sock, "tok")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	want, _ := randomFile(t, filepath.Join(dir, "a.bin"), 300000)
	got, err := cl.UploadFile(context.Background(), filepath.Join(dir, "a.bin"), client.BlobPut{Project: "default", Kind: client.BlobInput})
	if err != nil || got != want {
		t.Fatalf("upload to a server that does not switch: %+v, %v; want %+v", got, err, want)
	}
	if upgrades.Load() != 1 || streamed.Load() != 1 {
		t.Fatalf("the server saw %d upgrade requests and %d whole streams, want 1 and 1", upgrades.Load(), streamed.Load())
	}
}

// ownDone is a context with a Done channel of its own (as a caller's own
// context type may have): what the context package ties to it
// (context.AfterFunc) it watches from a goroutine until the tie is
// stopped or the context ends.
type ownDone struct {
	context.Context
	done chan struct{}
}

func (c ownDone) Done() <-chan struct{} { return c.done }

func (c ownDone) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// watchers counts the goroutines the context package runs to watch a
// context of a type of its own.
func watchers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "propagateCancel.func")
}

// A blob moved as a file ties its connection to the caller's context only
// while it moves: a long-lived context (an agent's, for its life) that
// fetched a blob many times holds nothing of those fetches once they
// returned.
func TestPassFileLeavesNothingOnTheContext(t *testing.T) {
	_, cl := uploadServer(t)
	dir := t.TempDir()
	want, _ := randomFile(t, filepath.Join(dir, "a.bin"), 5000)
	if _, err := cl.UploadFile(context.Background(), filepath.Join(dir, "a.bin"), client.BlobPut{Project: "default", Kind: client.BlobInput}); err != nil {
		t.Fatal(err)
	}
	ctx := ownDone{context.Background(), make(chan struct{})}
	defer close(ctx.done)
	base := watchers()
	taken := client.FilesTaken()
	const n = 20
	for i := range n {
		if err := cl.FetchBlob(ctx, want, filepath.Join(dir, fmt.Sprintf("got-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := client.FilesTaken() - taken; got != n {
		t.Fatalf("%d of %d fetches took the store's file: the test checks the file path", got, n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for watchers() > base {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still watch the caller's context after %d fetches returned (%d before): each fetch left its tie", watchers(), n, base)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Descriptors a hostile or careless client might pass instead of a
// regular file it opened for reading: a directory, an O_PATH descriptor
// (fstat works, read does not), a file opened for writing only, a
// /proc file (size 0 whatever it holds) claimed as more, and /dev/zero.
// Each is refused with a 400 and nothing of it is kept: the server reads
// only a regular file, only as much as it claims, through the right to
// read the client passed.
func TestPassFileHostile(t *testing.T) {
	h, _ := uploadServer(t)
	dir := t.TempDir()
	randomFile(t, filepath.Join(dir, "a.bin"), 4096)
	open := func(path string, flag int) *os.File {
		t.Helper()
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, 0)
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		f := os.NewFile(uintptr(fd), path)
		t.Cleanup(func() { f.Close() })
		return f
	}
	for _, c := range []struct {
		name string
		f    *os.File
		size int64
		want string // what the refusal says
	}{
		{"a directory", open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY), 0, "not a regular file"},
		{"an O_PATH descriptor", open(filepath.Join(dir, "a.bin"), unix.O_PATH), 4096, "not open for reading"},
		{"a file open for writing only", open(filepath.Join(dir, "a.bin"), syscall.O_WRONLY), 4096, "not open for reading"},
		{"a /proc file claimed longer", open("/proc/self/status", syscall.O_RDONLY), 100, "is 0 bytes, not 100"},
		{"a device", open("/dev/zero", syscall.O_RDONLY), 4096, "not a regular file"},
	} {
		status, body := passFile(t, h, c.size, "", c.f)
		if status != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s; want 400 saying %q", c.name, status, body, c.want)
		}
		if blobs, tmp := held(t, h); len(blobs)+len(tmp) != 0 {
			t.Fatalf("%s: kept %v %v", c.name, blobs, tmp)
		}
	}
}
