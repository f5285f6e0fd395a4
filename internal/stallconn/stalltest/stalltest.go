// Package stalltest is a frozen endpoint for tests: a loopback listener
// that accepts every connection and then reads nothing from it, as a
// stopped service whose kernel still answers does. For tests only.
package stalltest

import (
	"net"
	"sync/atomic"
	"testing"
)

// Frozen listens on 127.0.0.1 until the test ends: its address, and how
// many connections it has taken.
func Frozen(t testing.TB) (addr string, accepted func() int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	held := make(chan net.Conn, 64) // open, never read
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			select {
			case held <- c:
			default:
				c.Close()
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for len(held) > 0 {
			(<-held).Close()
		}
	})
	return ln.Addr().String(), n.Load
}
