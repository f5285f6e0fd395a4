package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/burst-sh/burst/internal/backoff"
)

// Retry says how a Client rides out a server it cannot reach: one not
// running yet, restarting, or killed and started again.
type Retry struct {
	// Patience is how long a call goes on asking once the server stopped
	// answering it; 0 asks once. A call always asks once more after its
	// Reconnect ran, however long that took (starting a server can take
	// seconds).
	Patience time.Duration
	// First and Max are the waits between two tries: First, then twice
	// as long each time up to Max. Zero: 50 ms and 1 s.
	First, Max time.Duration
}

// DefaultRetry is New's: half a minute, long enough for a server to
// restart and recover its jobs.
var DefaultRetry = Retry{Patience: 30 * time.Second, First: 50 * time.Millisecond, Max: time.Second}

// ErrNoServer, wrapped by the error of a Client's Reconnect, says that the
// server cannot be made reachable again (the local server could not be
// started: internal/discover says why). The call that reconnected ends at
// once with that error, instead of asking again until its patience runs
// out: a command says why and exits, it does not wait for nothing.
var ErrNoServer = errors.New("no server")

// final marks an error that must not be asked again, whatever it wraps.
type final struct{ err error }

func (f *final) Error() string { return f.err.Error() }
func (f *final) Unwrap() error { return f.err }

// retrying calls try with the server's endpoint until it succeeds, fails
// in a way not worth asking again, or c.retry's patience runs out; between
// two tries it reconnects (if the Client can) and waits. A GET is asked
// again after any failure to get its whole answer, anything else only if
// it was never sent. cw, when set, counts what a stream copied: an answer
// that made progress begins a new streak of patience.
func (c *Client) retrying(ctx context.Context, method, path string, cw *countWriter, try func(*endpoint) error) error {
	read := method == "GET"
	var b *backoff.Backoff
	for {
		ep := c.conn.ep.Load()
		var before int64
		if cw != nil {
			before = cw.n
		}
		err := try(ep)
		if err == nil || ctx.Err() != nil || c.retry.Patience <= 0 || !retriable(err, read) {
			var f *final
			if errors.As(err, &f) {
				err = f.err
			}
			if !read && ctx.Err() == nil && broken(err) && !unsent(err) {
				err = fmt.Errorf("%s %s: the connection broke after the request was sent, so it was not sent again: "+
					"it may have been carried out (look before sending it again): %w", method, path, err)
			}
			return err
		}
		if b == nil {
			first, max := c.retry.First, c.retry.Max
			if first <= 0 {
				first = DefaultRetry.First
			}
			if max <= 0 {
				max = DefaultRetry.Max
			}
			b = backoff.New(first, max)
		}
		if cw != nil && cw.n > before {
			b.Reset() // the server answered for a while: a new outage
		}
		var e *Error
		if b.Elapsed() > c.retry.Patience && !(errors.As(err, &e) && e.slot) {
			return err
		}
		if rerr := c.conn.reconnectFrom(ctx, ep); errors.Is(rerr, ErrNoServer) {
			return rerr
		}
		if b.Wait(ctx) != nil {
			return err
		}
	}
}

// reconnectFrom asks the Client's Reconnect where the server is now,
// unless another call already did since it used ep. It returns the
// Reconnect's error.
func (k *conn) reconnectFrom(ctx context.Context, ep *endpoint) error {
	if k.reconnect == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ep.Load() != ep {
		return nil // another call reconnected meanwhile
	}
	addr, token, err := k.reconnect(ctx)
	if err != nil {
		return err
	}
	if nep, err := k.newEndpoint(addr, token); err == nil {
		k.ep.Store(nep)
		ep.hc.CloseIdleConnections()
		ep.patient.CloseIdleConnections()
	}
	return nil
}

// retriable says whether err, the failure of one try, is worth another:
// the server could not be reached, or (read) its answer did not come
// whole. The server's own answers and a stream that cannot go on are not.
func retriable(err error, read bool) bool {
	var e *Error
	var f *final
	if errors.As(err, &f) {
		return false
	}
	if errors.As(err, &e) {
		return e.unread // turned away unread: nothing was carried out
	}
	if unsent(err) {
		return true
	}
	return read && broken(err)
}

// broken says whether err is the connection's: it failed or closed before
// the whole answer came (not the server's answer, not a bad one).
func broken(err error) bool {
	var e *Error
	if err == nil || errors.As(err, &e) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// unsent says whether err proves the request never left: the connection
// to the server could not be made.
func unsent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
