package agent

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A relay's socket carries no TCP_USER_TIMEOUT: on Linux 5.11 and later
// (tcp(7), TCP_USER_TIMEOUT: zero-window probes count towards it) it
// would end a stream whose consumer only paused reading for longer, a
// minute of thinking at a pager. Keepalives alone watch for a dead peer.
func TestRelayNoUserTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := c.(*net.TCPConn)
	tuneRelay(tc)
	rc, err := tc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var tmo, keep int
	var gerr, kerr error
	rc.Control(func(fd uintptr) {
		tmo, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
		keep, kerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE)
	})
	if gerr != nil || kerr != nil {
		t.Fatal(gerr, kerr)
	}
	if tmo != 0 {
		t.Errorf("TCP_USER_TIMEOUT of a relay: %d ms, want none (a paused consumer would end the stream)", tmo)
	}
	if keep == 0 {
		t.Errorf("a relay has no keepalives: a dead idle peer would hold the stream for ever")
	}
}

// A TLS-relayed stream whose consumer stops reading for longer than the
// relays' keepalive bound (shortened here to 1 s idle + 3 × 1 s) still
// delivers every byte, exactly, once it reads again: the connection sits
// at a zero window, its keepalives are answered by a live peer, and
// nothing ends it. A TCP_USER_TIMEOUT as long as that bound (tcp(7):
// "zero window probes count") or an idle deadline on the relay would end
// it instead.
func TestRelayPauseOutlastsKeepalive(t *testing.T) {
	oldIdle, oldIntvl, oldCount := keepIdle, keepIntvl, keepCount
	keepIdle, keepIntvl, keepCount = time.Second, time.Second, 3
	defer func() { keepIdle, keepIntvl, keepCount = oldIdle, oldIntvl, oldCount }()
	bound := keepIdle + time.Duration(keepCount)*keepIntvl

	a, b := testHub(t), testHub(t)
	data := make([]byte, 64<<20) // far more than the pipes, relays and sockets hold between the two
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	want := sha256.Sum256(data)
	w, r, ra, rb := tlsPair(t, a, b, "3.1.1")
	var written atomic.Int64
	wrote := make(chan error, 1)
	go func() {
		defer w.Close()
		for p := data; len(p) > 0; {
			n, err := w.Write(p[:min(len(p), 64<<10)])
			written.Add(int64(n))
			if err != nil {
				wrote <- err
				return
			}
			p = p[n:]
		}
		wrote <- nil
	}()
	h := sha256.New()
	if _, err := io.CopyN(h, r, 1<<20); err != nil {
		t.Fatalf("the first MiB: %v", err)
	}
	// The consumer pauses. The producer stalls once everything between
	// them is full: its count stops moving, short of the whole.
	stalled := func() bool {
		before := written.Load()
		time.Sleep(300 * time.Millisecond)
		return written.Load() == before && before < int64(len(data))
	}
	waitFor(t, "the producer to stall behind the paused consumer", stalled)
	pausedAt := time.Now()
	held := written.Load()
	for time.Since(pausedAt) < bound+2*time.Second {
		select {
		case err := <-wrote:
			t.Fatalf("the producer's writes ended during the pause (%v) after %d bytes: the stream was cut", err, written.Load())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if now := written.Load(); now != held {
		t.Fatalf("the producer wrote %d more bytes while the consumer paused: no pause was tested", now-held)
	}
	n, err := io.Copy(h, r)
	r.Close()
	if err != nil || n+1<<20 != int64(len(data)) || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("after a %s pause the consumer read %d bytes (want %d), err %v, same bytes: %v",
			time.Since(pausedAt).Round(time.Second), n+1<<20, len(data), err, bytes.Equal(h.Sum(nil), want[:]))
	}
	if err := <-wrote; err != nil {
		t.Errorf("the producer: %v", err)
	}
	if err := ra.wait(); err != nil {
		t.Errorf("producer's relay: %v", err)
	}
	if err := rb.wait(); err != nil {
		t.Errorf("consumer's relay: %v", err)
	}
}
