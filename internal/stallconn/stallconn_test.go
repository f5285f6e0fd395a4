package stallconn

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pair is a loopback TCP connection: the client end wrapped with idle,
// and the server end.
func pair(t *testing.T, idle time.Duration) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return Wrap(c, idle), s
}

// reader reads s, chunk bytes at a time with a pause after each, until
// it ends; it sends how many bytes it read.
func reader(s net.Conn, chunk int, pause time.Duration) <-chan int64 {
	got := make(chan int64, 1)
	go func() {
		var total int64
		buf := make([]byte, chunk)
		for {
			k, err := s.Read(buf)
			total += int64(k)
			if err != nil {
				got <- total
				return
			}
			time.Sleep(pause)
		}
	}()
	return got
}

// bigFile is a file of n zero bytes (sparse).
func bigFile(t *testing.T, n int64) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "big"))
	if err == nil {
		err = f.Truncate(n)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// A peer that reads nothing fails a write, and a send from a file, with
// a StallError (a timeout, for retry logic); one that reads, however
// unevenly, takes everything.
func TestStall(t *testing.T) {
	const n = 256 << 20 // more than two kernels' buffers hold
	for name, send := range map[string]func(c net.Conn) error{
		"write": func(c net.Conn) error {
			_, err := c.Write(make([]byte, n))
			return err
		},
		"file": func(c net.Conn) error {
			_, err := c.(io.ReaderFrom).ReadFrom(bigFile(t, n))
			return err
		},
	} {
		c, _ := pair(t, 200*time.Millisecond)
		err := send(c)
		var se *StallError
		var ne net.Error
		if !errors.As(err, &se) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("%s to a peer that reads nothing: %v, want a StallError that is a timeout", name, err)
		}

		c, s := pair(t, 5*time.Second)
		got := reader(s, 1<<20, time.Millisecond) // a reader slower than the writer
		if err := send(c); err != nil {
			t.Errorf("%s to a peer that reads: %v", name, err)
		}
		c.Close()
		if total := <-got; total != n {
			t.Errorf("%s: the peer got %d bytes, want %d", name, total, n)
		}
	}
}
