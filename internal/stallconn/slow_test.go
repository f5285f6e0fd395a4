package stallconn

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// A peer that reads steadily, but slower than Piece per idle (here 64 KiB/s
// against 256 KiB per second), is not cut as stalled: it took bytes all
// along, and the bound is "no byte for idle", not a rate.
func TestSlowSteadyPeerIsNotCut(t *testing.T) {
	c, s := pair(t, time.Second)
	c.(*conn).Conn.(*net.TCPConn).SetWriteBuffer(16 << 10)
	s.(*net.TCPConn).SetReadBuffer(16 << 10)
	got := reader(s, 4<<10, 60*time.Millisecond) // ~64 KiB/s, a byte taken every 60 ms
	start := time.Now()
	_, err := c.Write(make([]byte, 320<<10))
	c.Close()
	n := <-got
	if err != nil {
		t.Fatalf("a peer taking 4 KiB every 60 ms, never idle for the 1s bound: %v after %v (%d bytes taken)", err, time.Since(start).Round(time.Millisecond), n)
	}
}

// slowSource gives 64 KiB, then waits 1.5 s, then 64 KiB more: a stream
// whose producer pauses, sent to a peer that reads at once.
type slowSource struct {
	sent   int
	paused bool
}

func (s *slowSource) Read(p []byte) (int, error) {
	if s.sent >= 128<<10 {
		return 0, io.EOF
	}
	if s.sent >= 64<<10 && !s.paused {
		time.Sleep(1500 * time.Millisecond)
		s.paused = true
	}
	k := min(len(p), 128<<10-s.sent)
	if s.sent < 64<<10 {
		k = min(k, 64<<10-s.sent)
	}
	clear(p[:k])
	s.sent += k
	return k, nil
}

// Over plain HTTP the transport sends a body through the connection's
// ReadFrom: a source that pauses longer than idle is no stall of the
// endpoint, which read everything at once (its deadline was set before
// the body was read).
func TestSlowSourceIsNotAStall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return Wrap(c, time.Second), nil
	}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("PUT", srv.URL, io.NopCloser(&slowSource{}))
	req.ContentLength = 128 << 10
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("a body whose source pauses 1.5 s, to an endpoint that reads at once: %v", err)
	}
	resp.Body.Close()
}

// recordsReadFrom is a connection whose ReadFrom notes what it was given.
type recordsReadFrom struct {
	net.Conn
	got []io.Reader
}

func (r *recordsReadFrom) SetWriteDeadline(time.Time) error { return nil }
func (r *recordsReadFrom) ReadFrom(src io.Reader) (int64, error) {
	r.got = append(r.got, src)
	return io.Copy(io.Discard, src)
}

// A file that net/http hands over as an *io.LimitedReader reaches the
// connection's own ReadFrom as a LimitedReader of the file itself, which
// net's sendfile recognises: wrapped twice, it was copied 32 KiB at a time
// (0 sendfile calls for a 64 MiB PUT where 347 are made now).
func TestFileKeepsSendfile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "body")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(3 * Piece); err != nil {
		t.Fatal(err)
	}
	inner := &recordsReadFrom{}
	c := Wrap(inner, time.Minute).(io.ReaderFrom)
	n, err := c.ReadFrom(&io.LimitedReader{R: f, N: 2*Piece + 10})
	if err != nil || n != 2*Piece+10 {
		t.Fatalf("sent %d bytes, %v; want %d", n, err, 2*Piece+10)
	}
	for _, r := range inner.got {
		if lr, ok := r.(*io.LimitedReader); !ok || lr.R != f {
			t.Fatalf("the connection's ReadFrom got %T (%v), want an *io.LimitedReader of the file", r, r)
		}
	}
}
