package api

import (
	"context"
	"net"
	"sync"
)

// BatchConn is the TCP connection under the server's TLS: Go's TLS writes
// each record (16 KiB at most) with a system call of its own; while a blob
// is answered (writeBlob) the records of each 256 KiB read of the blob
// gather here and go out in one write, 16 times fewer system calls on the
// server's side of every fetch from another host (docs/benchmarks.md,
// Staging). Anything else on the connection is written as it comes.
type BatchConn struct {
	net.Conn
	mu    sync.Mutex
	batch bool
	buf   []byte
}

// batchKey is the context key of a request's BatchConn.
type batchKey struct{}

// WithBatchConn is ctx for a request over c, when c is a BatchConn.
func WithBatchConn(ctx context.Context, c net.Conn) context.Context {
	if bc, ok := c.(*BatchConn); ok {
		return context.WithValue(ctx, batchKey{}, bc)
	}
	return ctx
}

func batchConnOf(ctx context.Context) *BatchConn {
	bc, _ := ctx.Value(batchKey{}).(*BatchConn)
	return bc
}

// BatchListener wraps the conns ln accepts in BatchConns.
func BatchListener(ln net.Listener) net.Listener { return batchListener{ln} }

type batchListener struct{ net.Listener }

func (l batchListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &BatchConn{Conn: c}, nil
}

// batchCap is what a batch holds before it is written: a blob chunk's
// records and their overhead.
const batchCap = blobChunk + blobChunk/8

func (c *BatchConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.batch {
		return c.Conn.Write(b)
	}
	if len(c.buf)+len(b) > cap(c.buf) {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(b) > cap(c.buf) {
			return c.Conn.Write(b)
		}
	}
	c.buf = append(c.buf, b...)
	return len(b), nil
}

// setBatch starts gathering writes (on) or writes what gathered and stops.
func (c *BatchConn) setBatch(on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on && c.buf == nil {
		c.buf = make([]byte, 0, batchCap)
	}
	err := c.flushLocked()
	c.batch = on
	return err
}

// flush writes what gathered.
func (c *BatchConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked()
}

func (c *BatchConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}
