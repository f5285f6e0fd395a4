package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/home"
	"github.com/burst-sh/burst/internal/server"
)

// uploadServer is a real server on a home of its own, and a client of it
// whose $BURST_HOME (its digest cache) is another directory.
func uploadServer(t *testing.T) (home.Home, *client.Client) {
	t.Helper()
	return uploadServerOver(t, "unix")
}

// uploadServerOver is uploadServer with a client over "unix" (the
// server's socket: blobs move as files, blobs_fd.go) or "tcp" (its
// loopback port: blobs move as bytes).
func uploadServerOver(t *testing.T, over string) (home.Home, *client.Client) {
	t.Helper()
	h := home.Home(t.TempDir())
	t.Setenv("BURST_HOME", t.TempDir())
	srv, err := server.Start(context.Background(), server.Config{Home: h, Port: 0, NoLocalAgent: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	tok, err := h.ReadToken()
	if err != nil {
		t.Fatal(err)
	}
	addr := "unix://" + h.Socket()
	if over == "tcp" {
		b, err := os.ReadFile(h.LastAddr())
		if err != nil {
			t.Fatal(err)
		}
		addr = "http://" + strings.TrimSpace(string(b))
	}
	cl, err := client.New(addr, tok)
	if err != nil {
		t.Fatal(err)
	}
	return h, cl
}

func received(t *testing.T, cl *client.Client) int64 {
	t.Helper()
	s, err := cl.Storage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.Received
}

func randomFile(t *testing.T, path string, n int) (client.BlobRef, []byte) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return client.BlobRef{Digest: "sha256:" + hex.EncodeToString(s[:]), Size: int64(n)}, b
}

// A new file is sent once, as it is hashed, and named by the hash the
// server computed, equal to the client's; sent again unchanged it is
// neither sent (the store holds it) nor read (the digest cache names
// it); the same bytes under another name are hashed, found held, and not
// sent: a blob the store holds is never sent again.
//
// Over the server's socket the new files are passed to the server as
// files and the read takes the store's file; over TCP bytes move: the
// same outcomes either way.
func TestUploadStreamsNewFileOnce(t *testing.T) {
	for _, over := range []string{"unix", "tcp"} {
		t.Run(over, func(t *testing.T) { testUploadStreamsNewFileOnce(t, over) })
	}
}

func testUploadStreamsNewFileOnce(t *testing.T, over string) {
	defer client.SetSettleTime(0)()
	_, cl := uploadServerOver(t, over)
	passed, taken := client.FilesPassed(), client.FilesTaken()
	defer func() {
		// Every file sent: the two new at first, the one changed in its
		// middle (by its digest), the one changed at its start.
		wantPassed, wantTaken := int64(4), int64(1)
		if over == "tcp" {
			wantPassed, wantTaken = 0, 0
		}
		if got := client.FilesPassed() - passed; got != wantPassed {
			t.Errorf("over %s, %d uploads passed their file, want %d", over, got, wantPassed)
		}
		if got := client.FilesTaken() - taken; got != wantTaken {
			t.Errorf("over %s, %d reads took the store's file, want %d", over, got, wantTaken)
		}
	}()
	ctx := context.Background()
	dir := t.TempDir()
	const n = 3<<20 + 7
	want, data := randomFile(t, filepath.Join(dir, "a.bin"), n)
	small, _ := randomFile(t, filepath.Join(dir, "small.bin"), 10)

	refs, err := cl.UploadFiles(ctx, []string{filepath.Join(dir, "a.bin"), filepath.Join(dir, "small.bin")}, client.BlobPut{Project: "default", Kind: client.BlobInput})
	if err != nil {
		t.Fatal(err)
	}
	if refs[0] != want || refs[1] != small {
		t.Fatalf("uploaded %+v, want %+v and %+v", refs, want, small)
	}
	if got := received(t, cl); got != n+10 {
		t.Fatalf("the server took %d bytes, want %d (each file once)", got, n+10)
	}
	back := filepath.Join(dir, "back.bin")
	if err := cl.FetchBlob(ctx, want, back); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(back); !bytes.Equal(b, data) {
		t.Fatal("the blob read back differs from the file sent")
	}

	// Unchanged: named from the digest cache, held, so not sent.
	ents, _ := os.ReadDir(filepath.Join(os.Getenv("BURST_HOME"), "digests"))
	if len(ents) != 2 {
		t.Fatalf("the digest cache remembers %d files, want the 2 sent", len(ents))
	}
	read := client.FilesRead()
	if r, err := cl.UploadFile(ctx, filepath.Join(dir, "a.bin"), client.BlobPut{Project: "default", Kind: client.BlobInput}); err != nil || r != want {
		t.Fatalf("second upload of the unchanged file: %+v, %v; want %+v", r, err, want)
	}
	if client.FilesRead() != read {
		t.Fatal("the unchanged file was read again: the digest cache did not name it")
	}
	if got := received(t, cl); got != n+10 {
		t.Fatalf("the unchanged file was sent again: the server took %d bytes, want still %d", got, n+10)
	}

	// The same bytes under another name (not in the cache): hashed,
	// found held, not sent.
	if err := os.WriteFile(filepath.Join(dir, "copy.bin"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if r, err := cl.UploadFile(ctx, filepath.Join(dir, "copy.bin"), client.BlobPut{Project: "default", Kind: client.BlobInput}); err != nil || r != want {
		t.Fatalf("upload of a copy: %+v, %v; want %+v", r, err, want)
	}
	if got := received(t, cl); got != n+10 {
		t.Fatalf("a copy of a held blob was sent: the server took %d bytes, want still %d", got, n+10)
	}

	// Changed in place, same size. In the middle: the cache does not
	// name it, and its sample is the held blob's, so it is read twice,
	// hashed then sent by its digest. At its start: its sample is new, so
	// it is read once, sent as it is hashed.
	for k, c := range []struct {
		at, reads int
	}{{n / 2, 2}, {0, 1}} {
		data[c.at] ^= 1
		if err := os.WriteFile(filepath.Join(dir, "a.bin"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(data)
		changed := client.BlobRef{Digest: "sha256:" + hex.EncodeToString(s[:]), Size: n}
		read := client.FilesRead()
		if r, err := cl.UploadFile(ctx, filepath.Join(dir, "a.bin"), client.BlobPut{Project: "default", Kind: client.BlobInput}); err != nil || r != changed {
			t.Fatalf("upload of the file changed at %d: %+v, %v; want %+v", c.at, r, err, changed)
		}
		if got := client.FilesRead() - read; got != int64(c.reads) {
			t.Errorf("the file changed at %d was read %d times, want %d", c.at, got, c.reads)
		}
		if got, want := received(t, cl), int64(k+2)*n+10; got != want {
			t.Fatalf("after the file changed at %d: the server took %d bytes, want %d", c.at, got, want)
		}
	}
}

// streamPost sends body to POST /v1/blobs over the server's socket,
// claiming size and (as the trailer) digest; the answer's status and body.
func streamPost(t *testing.T, h home.Home, size int, body io.Reader, digest string) (int, string) {
	t.Helper()
	tok, err := h.ReadToken()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", h.Socket())
	}}}
	req, _ := http.NewRequest("POST", "http://unix/v1/blobs?project=default&kind=input&size="+strconv.Itoa(size), body)
	req.ContentLength = -1
	req.Trailer = http.Header{client.BlobDigestTrailer: {digest}}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// held are the blobs the server's embedded store holds, and what its
// temporary directory holds.
func held(t *testing.T, h home.Home) (blobs, tmp []string) {
	t.Helper()
	root := filepath.Join(string(h), "blobs")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if rel, _ := filepath.Rel(root, p); strings.HasPrefix(rel, "tmp"+string(filepath.Separator)) {
				tmp = append(tmp, p)
			} else {
				blobs = append(blobs, p)
			}
		}
		return nil
	})
	return blobs, tmp
}

// A streamed blob whose trailer claims another hash than its bytes', or
// none, is refused and nothing of it kept; so is one shorter or longer
// than its size, and one whose connection is cut midway.
func TestUploadStreamRefused(t *testing.T) {
	h, cl := uploadServer(t)
	data := make([]byte, 1<<20)
	rand.Read(data)
	s := sha256.Sum256(data)
	right := "sha256:" + hex.EncodeToString(s[:])
	wrong := "sha256:" + strings.Repeat("0", 64)
	for _, c := range []struct {
		name   string
		size   int
		body   []byte
		digest string
		says   string
	}{
		{"wrong hash claimed", len(data), data, wrong, "the client's to"},
		{"no hash claimed", len(data), data, "", "the client's to"},
		{"short body", len(data) + 1, data, right, "nothing was kept"},
		{"long body", len(data) - 1, data, right, "nothing was kept"},
	} {
		code, msg := streamPost(t, h, c.size, bytes.NewReader(c.body), c.digest)
		if code != 400 || !strings.Contains(msg, c.says) {
			t.Errorf("%s: %d %s; want 400 saying %q", c.name, code, msg, c.says)
		}
		if blobs, tmp := held(t, h); len(blobs) != 0 || len(tmp) != 0 {
			t.Fatalf("%s: the store kept %v (temporaries %v)", c.name, blobs, tmp)
		}
	}
	if got := received(t, cl); got == 0 {
		t.Fatalf("the refused bodies were not read (received %d): the test proves nothing", got)
	}

	// Cut midway: the body fails after half the bytes.
	code, msg := streamPost(t, h, len(data), io.MultiReader(bytes.NewReader(data[:len(data)/2]), failing{}), right)
	if code == 200 {
		t.Fatalf("a cut stream was taken: %s", msg)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		blobs, tmp := held(t, h)
		if len(blobs) != 0 {
			t.Fatalf("a cut stream left a blob: %v", blobs)
		}
		if len(tmp) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a cut stream's temporary is still there after 20 s: %v", tmp)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := cl.OpenBlob(context.Background(), client.BlobRef{Digest: right, Size: int64(len(data))}); err == nil {
		t.Fatal("a refused blob can be read")
	}

	// Sent whole and right, it is taken.
	if code, msg := streamPost(t, h, len(data), bytes.NewReader(data), right); code != 200 || !strings.Contains(msg, right) {
		t.Fatalf("a right stream: %d %s", code, msg)
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("the connection is cut") }
