package api

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
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
	// held are the bodies that hold a turn now; slow, the users whose
	// body was cut for coming too slowly, and until when they get no
	// turn (cutSlow).
	held map[*heldBody]struct{}
	slow map[string]time.Time
	now  func() time.Time // time.Now; a test's clock
}

// A body that holds a turn while it arrives holds it for everyone: a
// client that sent its headers and then a byte every few seconds (any
// user's credential will do; chunked, it is counted as MaxBody, the whole
// gate) held every other large submit off, answered 503, for as long as
// it went on. Such a body loses its turn once another request waits for
// one: a body that has arrived at less than minBodyRate (after
// slowBodyGrace) is cut, answered 408, and its user gets no turn for
// slowBodyCooldown, so that it cannot take the turn back before the
// waiting client asks again (within a second: client/retry.go).
const (
	minBodyRate      = 256 << 10 // bytes a second
	slowBodyGrace    = 2 * time.Second
	slowBodyCooldown = time.Minute
)

// heldBody is a request body that holds a turn of the gate: it counts
// what has arrived, and cut ends its wait for the rest.
type heldBody struct {
	io.ReadCloser
	n     int64 // its turn: its length, MaxBody when sent in chunks
	user  string
	start time.Time
	read  atomic.Int64
	ended atomic.Bool // all of it came (EOF): it is being decoded, never cut
	cut   atomic.Bool
	// stop makes a read that waits for the client return at once (the
	// connection's read deadline, set in the past).
	stop func()
}

func (b *heldBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read.Add(int64(n))
	if err == io.EOF {
		b.ended.Store(true)
	} else if err != nil && b.cut.Load() {
		return n, &slowBody{read: b.read.Load(), n: b.n}
	}
	return n, err
}

// slowBody is the read error of a body cut for coming too slowly.
type slowBody struct{ read, n int64 }

func (e *slowBody) Error() string {
	of := fmt.Sprintf("%d of its %d bytes", e.read, e.n)
	if e.n == MaxBody {
		of = fmt.Sprintf("%d bytes of it (sent in chunks)", e.read)
	}
	return fmt.Sprintf("the request body came too slowly (%s), while other requests waited for their turn to send theirs: "+
		"a large body must come at %d KiB/s at least; it was not carried out: send it again from a faster link, in a minute", of, minBodyRate>>10)
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
		hb := &heldBody{ReadCloser: r.Body, n: n}
		if p := auth.From(r.Context()); p != nil {
			hb.user = string(p.Kind) + ":" + p.Name
		}
		rc := http.NewResponseController(w)
		hb.stop = func() { rc.SetReadDeadline(time.Unix(1, 0)) }
		if ok, until := g.take(hb); !ok {
			msg := fmt.Sprintf("the server is taking in %d MiB of other large requests, its limit: send this one again in a moment", g.max>>20)
			retry := "1"
			if !until.IsZero() {
				wait := max(until.Sub(g.clock()).Round(time.Second), time.Second)
				retry = strconv.Itoa(int(wait / time.Second))
				msg = fmt.Sprintf("your last large request body came too slowly (under %d KiB/s) while others waited: "+
					"no large body of yours is taken for %s; send it again then, from a faster link", minBodyRate>>10, wait)
			}
			w.Header().Set("Retry-After", retry)
			writeJSON(w, http.StatusServiceUnavailable, client.Error{Message: msg})
			return
		}
		defer g.give(hb)
		r.Body = hb
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

func (g *bodyGate) clock() time.Time {
	if g.now != nil {
		return g.now()
	}
	return time.Now()
}

// take gives b a turn, or says no: with the time until which its user
// gets none (zero when the gate is merely full).
func (g *bodyGate) take(b *heldBody) (bool, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock()
	if until, ok := g.slow[b.user]; ok {
		if now.Before(until) {
			return false, until
		}
		delete(g.slow, b.user)
	}
	if g.inUse+b.n > g.max {
		g.cutSlow(now)
		return false, time.Time{}
	}
	if g.held == nil {
		g.held = map[*heldBody]struct{}{}
	}
	b.start = now
	g.held[b] = struct{}{}
	g.inUse += b.n
	return true, time.Time{}
}

// cutSlow cuts the bodies that hold a turn but arrive at less than
// minBodyRate, while another request waits for one: its next try finds
// their room. Their users get no turn for slowBodyCooldown.
func (g *bodyGate) cutSlow(now time.Time) {
	for b := range g.held {
		late := now.Sub(b.start) - slowBodyGrace
		if late <= 0 || b.ended.Load() || b.cut.Load() || b.read.Load() >= int64(late.Seconds()*minBodyRate) {
			continue
		}
		b.cut.Store(true)
		b.stop()
		if g.slow == nil {
			g.slow = map[string]time.Time{}
		}
		g.slow[b.user] = now.Add(slowBodyCooldown)
	}
}

func (g *bodyGate) give(b *heldBody) {
	g.mu.Lock()
	g.inUse -= b.n
	delete(g.held, b)
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
