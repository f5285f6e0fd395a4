// Package netlimit bounds what strangers can take from a TCP listener: a
// cap on all connections open at once, a smaller cap on those that have not
// yet proven who they are (pending), and a cap per source address on those.
// Over a cap, a connection is closed at once: the oldest pending one of the
// source that holds the most (a flood's; among sources that hold as many,
// the one whose oldest pending connection is oldest), so that a newcomer
// always gets its turn to show its token, or the newcomer itself when every
// connection has authenticated. A flood costs the process a few descriptors
// for microseconds instead of queueing until the process has none left for
// its store, its logs and its tasks' pipes.
//
// A source is one host as far as an address tells: an IPv4 address, or an
// IPv6 /64 (what one host is given: one host may use any address in it).
// Loopback addresses (127/8) stay apart, each its own source: merged, the
// clients that reach the port over loopback with the token (an ssh tunnel,
// BURST_SERVER on this host) would share one source's quarter of the
// pending places with any local flood, and a flood's newcomers would push
// their connections out four times sooner; a user of this host has surer
// ways to hurt it than taking the pending places.
//
// It reads no bytes and knows no tokens: its user says when a connection has
// authenticated (Authenticated, Authenticate for an http.Server set up with
// Listener.HTTP) or failed its check (Failed). It counts the connections it
// turned away and reports them to its owner at most once a period
// (Report), never one log line per connection.
package netlimit

import (
	"context"
	"errors"
	"iter"
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
	// MaxPendingPerSource caps those from one source (see the package
	// comment).
	MaxPendingPerSource int
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

// Nofile is the process's soft RLIMIT_NOFILE (1,024 if it cannot be read).
func Nofile() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 {
		return rl.Cur
	}
	return 1024
}

// MaxStreamFiles is how many files the requests that stream them (a
// followed log) may hold open at once in a process allowed nofile
// descriptors: half of what ForFiles leaves beside the connections, so
// that connections that each hold a file cannot take the descriptors of
// the store, the agents and the tasks' pipes.
func MaxStreamFiles(nofile uint64) int { return clamp(nofile/4, 4, 4096) }

// withDefaults fills in the zero caps from the soft RLIMIT_NOFILE.
func (lim Limits) withDefaults() Limits {
	d := ForFiles(Nofile())
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
	Failed    int64 // connections its user closed since it started for failing their check (Failed)
	PerSource int   // the most pending from one source
}

// Verdict is what becomes of a new connection.
type Verdict int

const (
	Take        Verdict = iota // admitted
	TakeOwn                    // admitted in place of the oldest pending connection of its own source
	TakeBusiest                // admitted in place of the oldest pending connection of the busiest source
	Refuse                     // closed at once
)

// Admit decides what becomes of a new connection whose source already holds
// fromSource pending connections, given what the listener holds (c). A
// source at its own cap makes room among its own connections; over the
// caps on all, the busiest source makes room (Busiest); when none is
// pending, the newcomer is refused. It is pure, and costs the same however
// many sources there are: the listener applies its answer.
func Admit(lim Limits, c Counts, fromSource int) Verdict {
	switch {
	case fromSource >= lim.MaxPendingPerSource:
		return TakeOwn
	case c.Pending < lim.MaxPending && c.Open < lim.MaxConns:
		return Take
	case c.Pending > 0:
		return TakeBusiest
	}
	return Refuse
}

// Busiest is the source that makes room over the caps: the one with the
// most pending connections, and among those the one whose oldest pending
// connection came first (oldest: its accept order), which has had its
// turn the longest. Age, not the address, breaks ties: ordering by address
// evicted 127.0.0.1 first in a flood of one connection per address, and
// with it every new connection of a client there that held the token.
// It is "" when no source holds any.
func Busiest(sources iter.Seq[Held]) string {
	var best Held
	for h := range sources {
		if h.Pending > best.Pending || h.Pending == best.Pending && h.Oldest < best.Oldest {
			best = h
		}
	}
	return best.Source
}

// Held is what one source holds: its pending connections, and the accept
// order of the oldest of them.
type Held struct {
	Source  string
	Pending int
	Oldest  uint64
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
	sources map[string][]*entry // pending connections per source, oldest first
	seq     uint64              // accept order of the last connection
	refused atomic.Int64
	failed  atomic.Int64

	every  time.Duration               // Report's period
	report func(refused, failed int64) // nil: nobody is told

	done      chan struct{}
	closeOnce sync.Once
	sweepOnce sync.Once
	sweeper   sync.WaitGroup
}

type entry struct {
	c       net.Conn
	src     string
	seq     uint64 // accept order
	pending bool
}

// sweepEvery is how often a listener looks for connections closed by their
// users (and whether a report is due).
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
		src := Source(c.RemoteAddr())
		l.mu.Lock()
		v := Admit(l.lim, Counts{Open: len(l.conns), Pending: l.pending}, len(l.sources[src]))
		evict := ""
		switch v {
		case TakeOwn:
			evict = src
		case TakeBusiest:
			// Only over the caps, and over at most MaxPending connections.
			evict = Busiest(func(yield func(Held) bool) {
				for a, es := range l.sources {
					if !yield(Held{a, len(es), es[0].seq}) {
						return
					}
				}
			})
		}
		ok := v != Refuse && (evict == "" || len(l.sources[evict]) > 0)
		var victim net.Conn
		if ok && evict != "" {
			victim = l.sources[evict][0].c
			l.forgetLocked(victim)
		}
		if ok {
			l.seq++
			e := &entry{c: c, src: src, seq: l.seq, pending: true}
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

// Failed closes c, which failed its check (a wrong handshake, or none in
// time): it is counted, for Report, and forgotten.
func (l *Listener) Failed(c net.Conn) {
	l.Forget(c)
	l.failed.Add(1)
	c.Close()
}

// Forget says that c is closed. (A closed connection is noticed anyway, a
// little later.)
func (l *Listener) Forget(c net.Conn) {
	l.mu.Lock()
	l.forgetLocked(c)
	l.mu.Unlock()
}

// Report has the listener call report with how many connections it
// refused over its caps and how many failed their check (Failed) since
// the last call: as soon as there are any, then at most once every every,
// from its own goroutine. A flood thus costs its owner's log a line a
// period, not a line a connection (64k refused connections in 5 s were
// 6.9 MB of an agent's log). Call it before the first Accept.
func (l *Listener) Report(every time.Duration, report func(refused, failed int64)) {
	l.every, l.report = every, report
}

// Counts are the connections the listener holds now.
func (l *Listener) Counts() Counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := Counts{Open: len(l.conns), Pending: l.pending, Refused: l.refused.Load(), Failed: l.failed.Load()}
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

// sweep forgets, every sweepEvery, the connections their users closed,
// and reports refusals when a report is due, until the listener closes.
func (l *Listener) sweep() {
	tick := time.NewTicker(sweepEvery)
	defer tick.Stop()
	var all []net.Conn
	var gone []net.Conn
	var told [2]int64 // refused and failed as last reported
	var toldAt time.Time
	for {
		select {
		case <-l.done:
			return
		case <-tick.C:
		}
		if now := time.Now(); l.report != nil && (toldAt.IsZero() || now.Sub(toldAt) >= l.every) {
			r, f := l.refused.Load(), l.failed.Load()
			if r > told[0] || f > told[1] {
				l.report(r-told[0], f-told[1])
				told, toldAt = [2]int64{r, f}, now
			}
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
		l.mu.Lock()
		for _, c := range gone {
			l.forgetLocked(c)
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

// Source is the source a connection from a counts against: its IPv4
// address, or its IPv6 /64 (see the package comment).
func Source(a net.Addr) string {
	var ip net.IP
	switch ta := a.(type) {
	case *net.TCPAddr:
		ip = ta.IP
	case nil:
		return ""
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			host = a.String()
		}
		if ip = net.ParseIP(host); ip == nil {
			return host
		}
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
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

// connOf is what Listener.HTTP puts in a connection's context.
type connOf struct {
	l *Listener
	c net.Conn
}

// HTTP sets srv up to report to l the close of each connection, and puts
// the connection in each request's context, where the handler that checks
// its credentials marks it with Authenticate. Call it before srv.Serve(l).
// Keep srv's own timeouts short for what comes before a request
// (ReadHeaderTimeout, IdleTimeout): they are what closes a pending
// connection that sends nothing.
func (l *Listener) HTTP(srv *http.Server) {
	connCtx, connState := srv.ConnContext, srv.ConnState
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if connCtx != nil {
			ctx = connCtx(ctx, c)
		}
		return context.WithValue(ctx, connKey{}, connOf{l, c})
	}
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			l.Forget(c)
		}
		if connState != nil {
			connState(c, st)
		}
	}
}

// Authenticate says that the request whose context is ctx showed valid
// credentials: its connection, if a Listener set up with HTTP accepted it,
// no longer counts as pending. Elsewhere (a unix socket, a test) it does
// nothing.
func Authenticate(ctx context.Context) {
	if co, ok := ctx.Value(connKey{}).(connOf); ok {
		co.l.Authenticated(co.c)
	}
}
