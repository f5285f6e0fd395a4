package api

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/burst-sh/burst/client"
)

// MaxBodiesInFlight bounds the bytes of the large request bodies the server
// takes in at once: one submit at the limit (MaxBody). Each costs the
// server three to four times its size while it is decoded and checked (the
// JSON decoder's buffer grows by doubling to hold the whole value, and its
// strings are copied out of it), so two at once peaked at 460-550 MiB with
// the collector's lag; one at a time holds a burst of large submits to a
// few hundred megabytes. Eight at once reached 1.5 GB before there was a
// gate. Large bodies are rare (a script is at most 4 MiB; it takes a map
// of tens of thousands of inputs), and the one turned away is sent again
// by the client.
const MaxBodiesInFlight = MaxBody

// smallBody is the size below which a body passes without a turn: agents'
// reports, leases and most submits, which must never wait on a large one.
const smallBody = 1 << 20

// bodyGate admits large request bodies while the bytes of those in flight
// stay within max. A body past MaxBody is refused (413) before a byte of it
// is read; one that does not fit now is answered 503 with Retry-After,
// unread, which the client may safely send again (client/retry.go).
type bodyGate struct {
	mu    sync.Mutex
	max   int64
	inUse int64
}

func (g *bodyGate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := r.ContentLength
		if streamed(r) {
			next.ServeHTTP(w, r) // copied to the blob store as it comes, whatever its size
			return
		}
		if n > MaxBody {
			tooLarge(w)
			return
		}
		if n >= 0 && n <= smallBody {
			next.ServeHTTP(w, r)
			return
		}
		if n < 0 { // sent in chunks: it may be as large as the limit
			n = MaxBody
		}
		if !g.take(n) {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, client.Error{Message: fmt.Sprintf(
				"the server is taking in %d MiB of other large requests, its limit: send this one again in a moment", g.max>>20)})
			return
		}
		defer g.give(n)
		next.ServeHTTP(w, r)
	})
}

// streamed says whether r's body is streamed to its end rather than held
// in memory: a blob's bytes (blobs.go), named (PUT /v1/blobs/{digest}) or
// sent before they are named (POST /v1/blobs, chunked, its digest in the
// trailer), which take no turn and have no limit but the disk's.
func streamed(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v1/blobs/") ||
		r.Method == http.MethodPost && r.URL.Path == "/v1/blobs"
}

func (g *bodyGate) take(n int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inUse+n > g.max {
		return false
	}
	g.inUse += n
	return true
}

func (g *bodyGate) give(n int64) {
	g.mu.Lock()
	g.inUse -= n
	g.mu.Unlock()
}

// tooLarge answers a body past MaxBody.
func tooLarge(w http.ResponseWriter) { tooLargeFor(w, MaxBody) }

// tooLargeFor answers a body past limit, which a route may set below
// MaxBody (http.MaxBytesError.Limit says which tripped).
func tooLargeFor(w http.ResponseWriter, limit int64) {
	if limit != MaxBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, client.Error{Message: fmt.Sprintf(
			"the request body is more than %d bytes (%s), the limit of this request: send only the fields it takes", limit, humanBytes(limit))})
		return
	}
	writeJSON(w, http.StatusRequestEntityTooLarge, client.Error{Message: fmt.Sprintf(
		"the request body is more than %d bytes (64 MiB), the limit: split a map's inputs over several `burst map` runs, or pass large data in files", MaxBody)})
}

// humanBytes writes n as KiB or MiB when it is a whole number of them.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
