package api

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

// MaxStreamsPerUser bounds the requests one user holds open at once on
// the routes that wait or stream (streamRoutes): followed logs and
// output, waits for a job, the events' long poll, the dashboard's live
// log and stream of changes. Each holds a connection and polls (a
// follow, ten times a second); with no bound, one user, a viewer even,
// could take every connection the server accepts (its agents' too) and
// a core with them: 2,000 follows cost a third of a core here. 512 holds 512
// `burst run` at once in the foreground (one attach each).
// The home's token (the host's owner) is not bounded.
const MaxStreamsPerUser = 512

// streamRoutes are the routes streamGate counts, as registered.
var streamRoutes = map[string]bool{
	"GET /v1/jobs/{id}/logs":   true,
	"GET /v1/jobs/{id}/attach": true,
	"GET /v1/jobs/{id}/output": true,
	"GET /v1/jobs/{id}/wait":   true,
	"GET /v1/events":           true,
	"GET /ui/jobs/{id}/log":    true,
	"GET /ui/events":           true,
}

// fileGate bounds the files that streams hold open at once, whoever sends
// them: a followed log holds its connection and its file, so 256 follows
// over the TCP port of a server allowed 512 descriptors (its connections'
// cap) took all 512, and the server answered nobody, its agents neither,
// until they ended. A stream past the bound is answered 503 with
// Retry-After, or, once it has begun, waits for a place.
type fileGate chan struct{}

func newFileGate(n int) fileGate { return make(fileGate, n) }

// take holds a place, or says false at once if none is free.
func (g fileGate) take() bool {
	select {
	case g <- struct{}{}:
		return true
	default:
		return false
	}
}

// wait holds a place as soon as one is free; false if done is closed first.
func (g fileGate) wait(done <-chan struct{}) bool {
	select {
	case g <- struct{}{}:
		return true
	case <-done:
		return false
	}
}

func (g fileGate) give() { <-g }

// full answers a stream turned away by the fileGate.
func (g fileGate) full(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	w.Header().Set(client.SlotHeader, "1") // burst's client waits for a place as long as its caller does
	writeJSON(w, http.StatusServiceUnavailable, client.Error{Message: fmt.Sprintf(
		"the server holds %d logs open for streams, all it keeps for them (a quarter of its descriptor limit, `ulimit -n`): send this again once some `burst logs -f` end, or start the server with a higher limit",
		cap(g))})
}

// streamGate counts the streams each user holds open.
type streamGate struct {
	mu   sync.Mutex
	open map[string]int
}

// enter admits a request of p on route pattern, or answers it 503 with
// Retry-After (the client sends it again once one of its streams ended)
// and says false. done is called when the request ends.
func (g *streamGate) enter(w http.ResponseWriter, p *auth.Principal, pattern string) (done func(), ok bool) {
	if !streamRoutes[pattern] || p == nil || p.Kind == auth.Admin {
		return func() {}, true
	}
	key := string(p.Kind) + ":" + p.Name
	g.mu.Lock()
	if g.open[key] >= MaxStreamsPerUser {
		g.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.Header().Set(client.SlotHeader, "1") // burst's client waits for a slot as long as its caller does
		writeJSON(w, http.StatusServiceUnavailable, client.Error{Message: fmt.Sprintf(
			"%s holds %d followed logs and waits open at once, the limit: end some (other `burst logs -f`, `burst run` in the foreground, dashboard tabs) and send this again",
			p.Name, MaxStreamsPerUser)})
		return nil, false
	}
	if g.open == nil {
		g.open = map[string]int{}
	}
	g.open[key]++
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		if g.open[key]--; g.open[key] <= 0 {
			delete(g.open, key)
		}
		g.mu.Unlock()
	}, true
}
