// Package netlimit bounds what strangers can take from a TCP listener: a
// cap on all connections open at once, a smaller cap on those that have not
// yet proven who they are (pending), and a cap per source address on those.
// Over a cap, a connection is closed at once: the oldest pending one of the
// address that holds the most (a flood's), so that a newcomer from a quiet
// address always gets its turn to show its token, or the newcomer itself
// when every connection has authenticated. A flood costs the process a few
// descriptors for microseconds instead of queueing until the process has
// none left for its store, its logs and its tasks' pipes.
//
// It reads no bytes and knows no tokens: its user says when a connection has
// authenticated (Authenticated, or Listener.HTTP for an http.Server).
package netlimit

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Limits are a listener's caps. A zero cap is derived from the process's
// soft RLIMIT_NOFILE (see ForFiles).
type Limits struct {
	// MaxConns caps the connections open at once, authenticated or not.
	MaxConns int
	// MaxPending caps the connections that have not authenticated yet.
	MaxPending int
	// MaxPendingPerSource caps those from one address (IP).
	MaxPendingPerSource int
	// Settle, when set, is how long after it was accepted a connection that
	// is still open stops counting as pending: for protocols whose
	// handshake closes a connection that fails it within that time (a
	// connection still open then has passed it). Zero: a connection is
	// pending until Authenticated.
	Settle time.Duration
}

// ForFiles returns the caps for a process allowed nofile descriptors: half of
// them at most for connections (the other half stays for the store, the logs
// and the pipes of tasks), a quarter of those at most pending, a quarter of
// the pending from one address. Large limits are capped (16,384 connections,
// 1,024 pending): past that a process runs out of memory or patience first.
func ForFiles(nofile uint64) Limits {
	conns := clamp(nofile/2, 8, 16384)
	pending := clamp(uint64(conns)/4, 4, 1024)
	return Limits{MaxConns: conns, MaxPending: pending, MaxPendingPerSource: clamp(uint64(pending)/4, 2, 256)}
}

func clamp(n, lo, hi uint64) int {
	return int(min(max(n, lo), hi))
}

// withDefaults fills in the zero caps from the soft RLIMIT_NOFILE.
func (lim Limits) withDefaults() Limits {
	var rl syscall.Rlimit
	nofile := uint64(1024)
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 {
		nofile = rl.Cur
	}
	d := ForFiles(nofile)
	if lim.MaxConns <= 0 {
		lim.MaxConns = d.MaxConns
	}
	if lim.MaxPending <= 0 {
		lim.MaxPending = min(d.MaxPending, lim.MaxConns)
	}
	if lim.MaxPendingPerSource <= 0 {
		lim.MaxPendingPerSource = min(d.MaxPendingPerSource, lim.MaxPending)
	}
	return lim
}

// Counts is what a listener holds at one moment.
type Counts struct {
	Open      int   // connections accepted and not yet closed
	Pending   int   // of those, not yet authenticated
	Refused   int64 // connections closed at once since it started, over a cap (newcomers or evicted)
	PerSource int   // the most pending from one address
}

// Admit decides what becomes of a new connection from src, given what the
// listener holds (c) and how many pending connections each address has
// (pending): refused (ok false), admitted (evict ""), or admitted in place
// of the oldest pending connection of address evict. An address at its own
// cap makes room among its own connections; over the caps on all, the
// address with the most pending ones makes room (the smallest such address,
// so that the answer is one); when none is pending, the newcomer is
// refused. It is pure: the listener applies its answer.
func Admit(lim Limits, c Counts, pending map[string]int, src string) (ok bool, evict string) {
	if pending[src] >= lim.MaxPendingPerSource {
		return true, src
	}
	if c.Pending < lim.MaxPending && c.Open < lim.MaxConns {
		return true, ""
	}
	most := 0
	for a, n := range pending {
		if n > most || n == most && a < evict {
			most, evict = n, a
		}
	}
	return most > 0, evict
}

// Listener is a net.Listener that applies Limits. Accept returns the
// connections of the listener it wraps as they are (a *net.TCPConn stays
// one); it notices their close by itself, within sweepEvery.
type Listener struct {
	net.Listener
	lim Limits

	mu      sync.Mutex
	conns   map[net.Conn]*entry
	pending int
	sources map[string][]*entry // pending connections per address, oldest first
	refused atomic.Int64

	done      chan struct{}
	closeOnce sync.Once
	sweepOnce sync.Once
	sweeper   sync.WaitGroup
}

type entry struct {
	c       net.Conn
	src     string
	since   time.Time
	pending bool
}

// sweepEvery is how often a listener looks for connections closed by their
// users and for those that settled.
const sweepEvery = 100 * time.Millisecond

// Listen listens on network and address (as net.Listen) and applies lim.
func Listen(network, address string, lim Limits) (*Listener, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return Wrap(ln, lim), nil
}

// Wrap applies lim to the connections ln accepts; closing the Listener
// closes ln.
func Wrap(ln net.Listener, lim Limits) *Listener {
	return &Listener{Listener: ln, lim: lim.withDefaults(), conns: map[net.Conn]*entry{},
		sources: map[string][]*entry{}, done: make(chan struct{})}
}

// Limits are the caps the listener applies, zero ones filled in.
func (l *Listener) Limits() Limits { return l.lim }

// Accept waits for a connection that fits within the caps, closing at once
// those that do not. Running out of descriptors or memory (EMFILE, ENFILE,
// ENOBUFS, ENOMEM) is waited out, not returned: the connection waits in the
// kernel's backlog, and the accept loop of the caller lives on.
func (l *Listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !transient(err) {
				return nil, err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t := time.NewTimer(delay)
			select {
			case <-l.done:
				t.Stop()
				return nil, net.ErrClosed
			case <-t.C:
			}
			continue
		}
		delay = 0
		l.sweepOnce.Do(func() { l.sweeper.Go(l.sweep) })
		src := source(c.RemoteAddr())
		l.mu.Lock()
		counts := make(map[string]int, len(l.sources))
		for a, es := range l.sources {
			counts[a] = len(es)
		}
		ok, evict := Admit(l.lim, Counts{Open: len(l.conns), Pending: l.pending}, counts, src)
		var victim net.Conn
		if ok && evict != "" {
			victim = l.sources[evict][0].c
			l.forgetLocked(victim)
		}
		if ok {
			e := &entry{c: c, src: src, since: time.Now(), pending: true}
			l.conns[c] = e
			l.pending++
			l.sources[src] = append(l.sources[src], e)
		}
		l.mu.Unlock()
		if victim != nil {
			l.refused.Add(1)
			refuse(victim)
		}
		if ok {
			return c, nil
		}
		l.refused.Add(1)
		refuse(c)
	}
}

// Authenticated says that c has proven who it is: it no longer counts as
// pending (it still counts as open).
func (l *Listener) Authenticated(c net.Conn) {
	l.mu.Lock()
	if e := l.conns[c]; e != nil && e.pending {
		l.unpendLocked(e)
	}
	l.mu.Unlock()
}

// Forget says that c is closed. (A closed connection is noticed anyway, a
// little later.)
func (l *Listener) Forget(c net.Conn) {
	l.mu.Lock()
	l.forgetLocked(c)
	l.mu.Unlock()
}

// Counts are the connections the listener holds now.
func (l *Listener) Counts() Counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := Counts{Open: len(l.conns), Pending: l.pending, Refused: l.refused.Load()}
	for _, es := range l.sources {
		c.PerSource = max(c.PerSource, len(es))
	}
	return c
}

// Close closes the listener it wraps (not the connections it accepted) and
// stops its sweeper.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	l.sweeper.Wait()
	return err
}

func (l *Listener) forgetLocked(c net.Conn) {
	e := l.conns[c]
	if e == nil {
		return
	}
	if e.pending {
		l.unpendLocked(e)
	}
	delete(l.conns, c)
}

func (l *Listener) unpendLocked(e *entry) {
	e.pending = false
	l.pending--
	es := l.sources[e.src]
	for i, x := range es {
		if x == e {
			es = append(es[:i], es[i+1:]...)
			break
		}
	}
	if len(es) == 0 {
		delete(l.sources, e.src)
	} else {
		l.sources[e.src] = es
	}
}

// sweep forgets, every sweepEvery, the connections their users closed, and
// settles those past Settle, until the listener closes.
func (l *Listener) sweep() {
	tick := time.NewTicker(sweepEvery)
	defer tick.Stop()
	var all []net.Conn
	var gone []net.Conn
	for {
		select {
		case <-l.done:
			return
		case <-tick.C:
		}
		all = all[:0]
		l.mu.Lock()
		for c := range l.conns {
			all = append(all, c)
		}
		l.mu.Unlock()
		gone = gone[:0]
		for _, c := range all {
			if closed(c) {
				gone = append(gone, c)
			}
		}
		now := time.Now()
		l.mu.Lock()
		for _, c := range gone {
			l.forgetLocked(c)
		}
		if l.lim.Settle > 0 {
			for _, e := range l.conns {
				if e.pending && now.Sub(e.since) >= l.lim.Settle {
					l.unpendLocked(e)
				}
			}
		}
		l.mu.Unlock()
	}
}

// closed reports whether c was closed by its user: its descriptor can no
// longer be reached (no system call is made).
func closed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false // such a connection is forgotten only by Forget
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	return rc.Control(func(uintptr) {}) != nil
}

// refuse closes c at once, with a reset rather than an orderly close, so that
// no state lingers for it on this side.
func refuse(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// source is the address a connection comes from, without its port.
func source(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// transient reports whether an accept failed for want of descriptors or
// memory, or for a connection that went away before it was taken: worth
// waiting out, not a reason to stop serving.
func transient(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

type connKey struct{}

// HTTP sets srv up to report to l: the close of each connection, and each
// request for which authed says yes (it holds the right token), whose
// connection then no longer counts as pending. Call it before srv.Serve(l).
// Keep srv's own timeouts short for what comes before a request
// (ReadHeaderTimeout, IdleTimeout): they are what closes a pending
// connection that sends nothing.
func (l *Listener) HTTP(srv *http.Server, authed func(*http.Request) bool) {
	connCtx, connState, next := srv.ConnContext, srv.ConnState, srv.Handler
	if next == nil {
		next = http.DefaultServeMux
	}
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if connCtx != nil {
			ctx = connCtx(ctx, c)
		}
		return context.WithValue(ctx, connKey{}, c)
	}
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			l.Forget(c)
		}
		if connState != nil {
			connState(c, st)
		}
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(net.Conn); ok && authed(r) {
			l.Authenticated(c)
		}
		next.ServeHTTP(w, r)
	})
}
