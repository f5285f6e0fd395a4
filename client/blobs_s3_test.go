package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/blob/miniotest"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The fetch from an S3 store, against a real MinIO: the server's answer is
// a redirect to a presigned GET, as burst's server gives for a blob in S3
// (the handler below does only that), and the bytes come from MinIO
// through a TCP relay that can cut or damage them on the way, the way a
// network does.

// relay passes TCP connections to MinIO. The first connection's answer
// is cut after cutAt bytes, or has its byte at flipAt inverted (0: not).
type relay struct {
	ln            net.Listener
	to            string
	cutAt, flipAt int64
	mu            sync.Mutex
	conns         int
	open          map[net.Conn]bool
	closed        bool
}

func startRelay(t *testing.T, to string) *relay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln, to: to, open: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		r.mu.Lock()
		r.closed = true
		for c := range r.open {
			c.Close() // the client's idle connections: their relays end
		}
		r.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() { // owned by the test: ends when ln is closed
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			if r.closed {
				r.mu.Unlock()
				c.Close()
				continue
			}
			r.conns++
			r.open[c] = true
			first := r.conns == 1
			r.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.serve(c, first)
			}()
		}
	}()
	return r
}

func (r *relay) serve(c net.Conn, first bool) {
	defer func() {
		c.Close()
		r.mu.Lock()
		delete(r.open, c)
		r.mu.Unlock()
	}()
	up, err := net.Dial("tcp", r.to)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { io.Copy(up, c); up.Close() }() // ends when either side closes
	var n int64
	buf := make([]byte, 32<<10)
	for {
		k, err := up.Read(buf)
		b := buf[:k]
		if first && r.cutAt > 0 && n+int64(k) > r.cutAt {
			c.Write(b[:r.cutAt-n])
			return // the connection is cut mid-body
		}
		if first && r.flipAt > 0 && n <= r.flipAt && r.flipAt < n+int64(k) {
			b[r.flipAt-n] ^= 0xff
		}
		n += int64(k)
		if _, werr := c.Write(b); werr != nil || err != nil {
			return
		}
	}
}

func (r *relay) connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

// s3Fetch is a MinIO holding data at its digest's key, a relay to it, and
// a client whose server redirects GET /v1/blobs/{digest} to a presigned
// URL through the relay; ranges records the Range of each GET the server
// was asked.
type s3Fetch struct {
	mn     *miniotest.Server
	relay  *relay
	c      *Client
	ref    BlobRef
	key    string
	mu     sync.Mutex
	ranges []string
}

func newS3Fetch(t *testing.T, data []byte) *s3Fetch {
	mn := miniotest.Start(t, "")
	f := &s3Fetch{mn: mn, relay: startRelay(t, strings.TrimPrefix(mn.Endpoint, "http://")), ref: refOf(data)}
	f.key = "blobs/" + f.ref.Digest
	f.put(t, data)
	// Presigned for the relay's address: the signature covers the host
	// the client connects to, and the relay passes the bytes unchanged.
	signer, err := minio.New(f.relay.ln.Addr().String(), &minio.Options{Creds: credentials.NewStaticV4(mn.AccessKey, mn.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.ranges = append(f.ranges, r.Header.Get("Range"))
		f.mu.Unlock()
		u, err := signer.PresignedGetObject(r.Context(), mn.Bucket, f.key, time.Minute, nil)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	if f.c, err = New(srv.URL, "t", WithRetry(Retry{Patience: 10 * time.Second, First: time.Millisecond})); err != nil {
		t.Fatal(err)
	}
	return f
}

// put stores data at the blob's key (right bytes or wrong).
func (f *s3Fetch) put(t *testing.T, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := f.mn.Client(t).PutObject(ctx, f.mn.Bucket, f.key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

func randomBlob(t *testing.T, n int) []byte {
	data := make([]byte, n)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	return data
}

// A body cut short mid-stream is taken up again from where it was cut,
// by a Range GET of the store, and the file is whole and right.
func TestFetchBlobFromS3ResumesACutBody(t *testing.T) {
	data := randomBlob(t, 20<<20+12345) // more than two writeback windows
	f := newS3Fetch(t, data)
	f.relay.cutAt = 7 << 20
	dst := filepath.Join(t.TempDir(), "out")
	if err := f.c.FetchBlob(context.Background(), f.ref, dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Fatalf("fetched %d bytes that differ from the blob's %d", len(got), len(data))
	}
	if f.relay.connections() < 2 || len(f.ranges) != 2 || f.ranges[0] != "" || !strings.HasPrefix(f.ranges[1], "bytes=") {
		t.Fatalf("relay connections %d, ranges asked %q: want a first GET cut, then one from where it was cut", f.relay.connections(), f.ranges)
	}
	if !strings.HasPrefix(f.ranges[1], "bytes=7") && !strings.HasPrefix(f.ranges[1], "bytes=6") {
		t.Fatalf("the second GET asked %q: want it to go on from about 7 MiB, not from the start", f.ranges[1])
	}
}

// A byte damaged on the way is caught by the hash: the blob is fetched
// again from the start, and only right bytes are kept.
func TestFetchBlobFromS3RefetchesADamagedBody(t *testing.T) {
	data := randomBlob(t, 10<<20)
	f := newS3Fetch(t, data)
	f.relay.flipAt = 5 << 20
	dst := filepath.Join(t.TempDir(), "out")
	if err := f.c.FetchBlob(context.Background(), f.ref, dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Fatalf("kept %d bytes that differ from the blob's %d", len(got), len(data))
	}
	if len(f.ranges) != 2 || f.ranges[0] != "" || f.ranges[1] != "" {
		t.Fatalf("ranges asked %q: want two whole GETs (the damaged one, then a good one)", f.ranges)
	}
}

// An object whose bytes are not the blob's is refused on every try, and
// nothing is left behind: no file at the destination, no temporary.
func TestFetchBlobFromS3RefusesWrongBytes(t *testing.T) {
	data := randomBlob(t, 3<<20)
	f := newS3Fetch(t, data)
	bad := append([]byte{}, data...)
	bad[len(bad)-1] ^= 0x01
	f.put(t, bad)
	dir := t.TempDir()
	err := f.c.FetchBlob(context.Background(), f.ref, filepath.Join(dir, "out"))
	if !errors.Is(err, ErrBlobMismatch) {
		t.Fatalf("fetch of wrong bytes: %v, want ErrBlobMismatch", err)
	}
	if len(f.ranges) != 3 {
		t.Fatalf("asked %d times (%q), want 3", len(f.ranges), f.ranges)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
	f.put(t, data) // the store mended: the same fetch now succeeds
	if err := f.c.FetchBlob(context.Background(), f.ref, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "out")); !bytes.Equal(got, data) {
		t.Fatal("the mended blob was not fetched right")
	}
}
