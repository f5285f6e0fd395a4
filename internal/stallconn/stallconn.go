// Package stallconn bounds what is sent on a connection by progress: a
// write that moves no byte to the peer for a while fails, instead of
// waiting as long as TCP lets it. A peer that took the connection and
// then reads nothing (a frozen endpoint, a stopped process whose kernel
// still acknowledges the handshake) would otherwise hold a request body
// for good: TCP probes a zero window for ever, and an HTTP client's
// response timeouts only start once the body is sent.
//
// Each write is cut into pieces of at most Piece bytes, and each piece
// gets Idle to go, from when it is handed over: a slow link that moves a
// piece within Idle is never cut. A body sent from a file keeps sendfile(2)
// (a piece at a time, through the connection's own ReadFrom).
package stallconn

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// Piece is the most bytes one write deadline covers.
const Piece = 256 << 10

// Wrap is c whose writes fail with a *StallError when a piece is not
// taken within idle.
func Wrap(c net.Conn, idle time.Duration) net.Conn { return &conn{Conn: c, idle: idle} }

type conn struct {
	net.Conn
	idle time.Duration
}

// StallError: the peer took no byte of a write for Idle. It is a
// net.Error whose Timeout is true, so that retry logic that sends again
// after a timeout does so.
type StallError struct {
	Idle time.Duration
	Err  error
}

func (e *StallError) Error() string {
	return fmt.Sprintf("the endpoint took no byte of what was sent for %s (it accepted the connection, then read nothing: frozen, or overloaded)", e.Idle)
}
func (e *StallError) Unwrap() error   { return e.Err }
func (e *StallError) Timeout() bool   { return true }
func (e *StallError) Temporary() bool { return true }

func (c *conn) stalled(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &StallError{Idle: c.idle, Err: err}
	}
	return err
}

func (c *conn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		end := min(len(p), done+Piece)
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
			return done, err
		}
		n, err := c.Conn.Write(p[done:end])
		done += n
		if err != nil {
			if progressed(int64(n), err) {
				continue
			}
			return done, c.stalled(err)
		}
	}
	return done, nil
}

// progressed says whether a piece cut by its deadline had moved bytes
// meanwhile: a slow peer, not a stalled one; it goes on, with a new one.
func progressed(n int64, err error) bool {
	return n > 0 && errors.Is(err, os.ErrDeadlineExceeded)
}

// ReadFrom sends a file (or an io.LimitedReader of one, as net/http hands
// a body over) a piece at a time through the connection's own ReadFrom
// (sendfile over TCP), each piece with its deadline. Any other reader is
// read outside the deadlines and sent by Write: a slow source is no stall
// of the peer.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.Conn.(io.ReaderFrom)
	lr, _ := r.(*io.LimitedReader)
	src := r
	if lr != nil {
		src = lr.R
	}
	if _, file := src.(*os.File); !ok || !file {
		return io.Copy(writerOnly{c}, r)
	}
	var total int64
	for {
		n := int64(Piece)
		if lr != nil {
			if n = min(n, lr.N); n <= 0 {
				return total, nil
			}
		}
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
			return total, err
		}
		k, err := rf.ReadFrom(&io.LimitedReader{R: src, N: n}) // one level: sendfile sees the file
		total += k
		if lr != nil {
			lr.N -= k
		}
		if err != nil {
			if progressed(k, err) {
				continue
			}
			return total, c.stalled(err)
		}
		if k == 0 {
			return total, nil // r is done
		}
	}
}

// writerOnly hides conn's ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }
