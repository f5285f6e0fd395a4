package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/stallconn"
	"github.com/burst-sh/burst/internal/stallconn/stalltest"
)

// A presigned PUT whose connection breaks is sent again (it is
// idempotent); one that keeps breaking fails saying what to do, and
// never prints the URL's signature, a credential for minutes.
func TestPutDirectRetriesAndHidesSignature(t *testing.T) {
	var tries atomic.Int32
	breakAll := atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := tries.Add(1)
		if n == 1 || breakAll.Load() {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close() // cut before any answer
			}
			return
		}
		b, _ := io.ReadAll(r.Body)
		if string(b) != "blob bytes" || r.Header.Get("X-Amz-Checksum-Sha256") != "sum" {
			http.Error(w, "wrong body or header", http.StatusBadRequest)
			return
		}
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("blob bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := BlobRef{Digest: "sha256:x", Size: 10}
	offer := BlobOffer{URL: srv.URL + "/b/k?X-Amz-Signature=SECRET&X-Amz-Credential=KEY", Header: map[string]string{"X-Amz-Checksum-Sha256": "sum"}}
	if err := putDirect(context.Background(), path, ref, offer); err != nil || tries.Load() != 2 {
		t.Fatalf("a PUT cut once: %v after %d sends; want it sent again, and done", err, tries.Load())
	}
	breakAll.Store(true)
	tries.Store(0)
	err := putDirect(context.Background(), path, ref, offer)
	if err == nil || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "X-Amz") ||
		!strings.Contains(err.Error(), "run it again") || tries.Load() != directTries {
		t.Fatalf("a PUT cut every time: %v after %d sends; want %d sends, no signature in the message, and what to do", err, tries.Load(), directTries)
	}
}

// A presigned PUT to a store that takes the connection and then reads
// nothing fails once no byte was taken for directIdle, and is sent again
// (directTries in all), rather than wait as long as TCP does (for ever:
// the peer's kernel answers zero-window probes). Loopback only.
func TestPutDirectToFrozenStore(t *testing.T) {
	defer func(d time.Duration) { directIdle = d }(directIdle)
	directIdle = 300 * time.Millisecond
	addr, accepted := stalltest.Frozen(t)
	// Larger than what the two kernels' buffers take without a read.
	path := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(path)
	if err == nil {
		err = f.Truncate(256 << 20)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a guard: without the bound it never ends
	defer cancel()
	err = putDirect(ctx, path, BlobRef{Digest: "sha256:x", Size: 256 << 20}, BlobOffer{URL: "http://" + addr + "/b/k"})
	var se *stallconn.StallError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "took no byte") || accepted() != directTries {
		t.Fatalf("a PUT to a store that reads nothing: %v after %d connections; want the stall said, after %d sends", err, accepted(), directTries)
	}
}

// A download from the store that falls silent mid-answer fails once no
// byte came for the idle bound, rather than hold its reader for good.
func TestIdleBodyGivesUp(t *testing.T) {
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Write([]byte("first bytes"))
		w.(http.Flusher).Flush()
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stall) // before srv.Close: its handler ends
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := newIdleBody(resp.Body, cancel, 200*time.Millisecond)
	defer body.Close()
	b, err := io.ReadAll(body)
	if string(b) != "first bytes" || err == nil || !strings.Contains(err.Error(), "sent nothing for 200ms") {
		t.Fatalf("read %q, %v; want the first bytes, then the silence named", b, err)
	}
}
