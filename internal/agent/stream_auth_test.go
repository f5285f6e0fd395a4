package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
)

func testHub(t testing.TB) *hub {
	t.Helper()
	h, err := newHub("127.0.0.1:0", "127.0.0.1", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	return h
}

func testKey(seed byte) string {
	return hex.EncodeToString(bytes.Repeat([]byte{seed}, keyLen))
}

// waitFor polls cond until it holds, or fails the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// handDialer is a producer's side of the handshake done by hand: it
// records every byte it sends, so that a test can replay them.
type handDialer struct {
	conn net.Conn
	raw  *net.TCPConn
	sent bytes.Buffer
}

type recorder struct {
	net.Conn
	sent *bytes.Buffer
}

func (r recorder) Write(b []byte) (int, error) { r.sent.Write(b); return r.Conn.Write(b) }

// dialByHand connects to h for stream with key, in mode, and returns once
// the acceptor proved the key too (or with the error).
func dialByHand(t *testing.T, h *hub, stream, key, mode string) (*handDialer, error) {
	t.Helper()
	c, err := net.Dial("tcp", h.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	d := &handDialer{raw: c.(*net.TCPConn)}
	k, _ := hex.DecodeString(key)
	tr := &transcript{stream: stream, mode: mode, nonceD: nonce()}
	fmt.Fprintf(recorder{c, &d.sent}, "%s %s %s %x\n", streamMagic, stream, mode, tr.nonceD)
	d.conn = c
	if mode == modeTLS {
		cfg, _ := tlsConfig(false)
		tc := tls.Client(c, cfg)
		if err := tc.Handshake(); err != nil {
			return nil, err
		}
		tr.binding, _ = binding(tc)
		d.conn = tc
	} else {
		d.conn = recorder{c, &d.sent}
	}
	return d, shakeDialer(d.conn, tr, k, time.Now().Add(5*time.Second))
}

// TestStreamPairing: a stream port hands a connection to its stage only
// when the peer proves that stream's key, over a nonce the accepting side
// chose: a wrong key is refused, a recorded handshake replayed is refused,
// the right one passes; and the accepting side proves the key back.
func TestStreamPairing(t *testing.T) {
	h := testHub(t)
	ctx := context.Background()
	end := client.End{Stream: "7.1.1", Accept: true, Key: testKey(1)}
	got := make(chan *os.File, 1)
	go func() {
		f, err := h.accept(ctx, end, nil)
		if err != nil {
			t.Error(err)
		}
		got <- f
	}()
	waitFor(t, "the consumer to wait", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.wait["7.1.1"] != nil })

	// A wrong key: refused, counted, and the consumer still waits.
	if _, err := dialByHand(t, h, "7.1.1", testKey(2), modePlain); err == nil {
		t.Fatal("a peer with a wrong key was accepted")
	}
	waitFor(t, "the wrong key to be counted", func() bool { return h.ln.Counts().Failed == 1 })
	// The right key, in a recorded exchange.
	d, err := dialByHand(t, h, "7.1.1", testKey(1), modePlain)
	if err != nil {
		t.Fatalf("the paired peer was refused: %v", err)
	}
	f := <-got
	io.WriteString(d.raw, "hello")
	d.raw.CloseWrite()
	if b, _ := io.ReadAll(f); string(b) != "hello" {
		t.Fatalf("the stage read %q", b)
	}
	f.Close()

	// The same bytes again, to a consumer of the same stream and key: the
	// acceptor's nonce is new, so the recorded proof no longer holds.
	go func() {
		f, err := h.accept(ctx, end, nil)
		if err == nil {
			f.Close()
			t.Error("a replayed handshake was accepted")
		}
		got <- nil
	}()
	waitFor(t, "the consumer to wait again", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.wait["7.1.1"] != nil })
	c, err := net.Dial("tcp", h.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(d.sent.Bytes())
	waitFor(t, "the replay to be refused", func() bool { return h.ln.Counts().Failed == 2 })
	h.mu.Lock()
	stillWaits := h.wait["7.1.1"] != nil
	h.mu.Unlock()
	if !stillWaits {
		t.Fatal("the replayed handshake took the consumer's place")
	}
}

// TestStreamParkedUntilKeyKnown: a producer that comes before its consumer
// asked waits, unchecked (a stranger's for the listener's caps), and is
// checked when the consumer asks; strangers parked for the same stream do
// not push it out.
func TestStreamParkedUntilKeyKnown(t *testing.T) {
	h := testHub(t)
	defer h.expect([]string{"9.1.1"})() // the consumer's assignment arrived
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := dialByHand(t, h, "9.1.1", testKey(5), modePlain); err == nil {
			t.Error("a stranger parked for the stream was accepted")
		}
	}()
	waitFor(t, "the stranger to park", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.parked["9.1.1"]) == 1 })
	ok := make(chan error, 1)
	go func() { _, err := dialByHand(t, h, "9.1.1", testKey(3), modePlain); ok <- err }()
	waitFor(t, "the producer to park", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.parked["9.1.1"]) == 2 })
	if n := h.ln.Counts(); n.Pending != 2 {
		t.Fatalf("counts %+v: parked, unchecked connections are pending", n)
	}
	f, err := h.accept(context.Background(), client.End{Stream: "9.1.1", Accept: true, Key: testKey(3)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := <-ok; err != nil {
		t.Fatalf("the paired producer was refused: %v", err)
	}
	wg.Wait()
	if n := h.ln.Counts(); n.Failed != 1 || n.Pending != 0 {
		t.Fatalf("counts %+v: want the stranger failed, none pending", n)
	}
}

// TestStreamPlainFromAnotherHostRefused: an acceptor takes a plain
// (unencrypted) stream only from its own host.
func TestStreamPlainRule(t *testing.T) {
	if !local(net.ParseIP("127.0.0.1")) || !local(net.ParseIP("::1")) {
		t.Fatal("loopback is this host")
	}
	if local(net.ParseIP("192.0.2.7")) { // TEST-NET-1: no machine's
		t.Fatal("192.0.2.7 is not this host")
	}
	if m := dialMode(context.Background(), "127.0.0.1:9"); m != modePlain {
		t.Fatalf("to loopback: %s, want plain", m)
	}
	if m := dialMode(context.Background(), "192.0.2.7:9"); m != modeTLS {
		t.Fatalf("to another host: %s, want tls", m)
	}
}

// tlsPair connects a producer's end on a to a consumer's end on b over a
// TLS stream (as between two hosts), and returns the producer's and the
// consumer's files and the relays of each side.
func tlsPair(t testing.TB, a, b *hub, stream string) (w, r *os.File, ra, rb *relays) {
	t.Helper()
	key := testKey(9)
	ra, rb = &relays{}, &relays{}
	type res struct {
		f   *os.File
		err error
	}
	defer b.expect([]string{stream})() // the consumer's assignment arrived
	cons := make(chan res, 1)
	go func() {
		f, err := b.accept(context.Background(), client.End{Stream: stream, Accept: true, Key: key}, rb)
		cons <- res{f, err}
	}()
	c, err := net.Dial("tcp", b.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tune(c.(*net.TCPConn))
	w, err = a.shake(context.Background(), c.(*net.TCPConn), client.End{Stream: stream, Dial: b.addr, Key: key}, mustKey(key), modeTLS, time.Now().Add(10*time.Second), ra)
	if err != nil {
		t.Fatal(err)
	}
	got := <-cons
	if got.err != nil {
		t.Fatal(got.err)
	}
	return w, got.f, ra, rb
}

func mustKey(s string) []byte { k, _ := streamKey(s); return k }

// TestStreamTLSRelayByteExact: 64 MiB each way between two agents over TLS
// relays, byte for byte, in odd-sized writes; the producer's close ends
// the consumer's input (EOF), and both relays end without error.
func TestStreamTLSRelayByteExact(t *testing.T) {
	a, b := testHub(t), testHub(t)
	data := make([]byte, 64<<20)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(data); i += 8 {
		v := rnd.Uint64()
		for k := 0; k < 8; k++ {
			data[i+k] = byte(v >> (8 * k))
		}
	}
	want := sha256.Sum256(data)
	type way struct {
		w, r   *os.File
		ra, rb *relays
	}
	var ways []way
	for i, pair := range [][2]*hub{{a, b}, {b, a}} {
		w, r, ra, rb := tlsPair(t, pair[0], pair[1], fmt.Sprintf("1.1.%d", i))
		ways = append(ways, way{w, r, ra, rb})
	}
	var wg sync.WaitGroup
	for _, x := range ways {
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer x.w.Close()
			for b := data; len(b) > 0; {
				n := min(len(b), 100003)
				if _, err := x.w.Write(b[:n]); err != nil {
					t.Error(err)
					return
				}
				b = b[n:]
			}
		}()
		go func() {
			defer wg.Done()
			h := sha256.New()
			n, err := io.Copy(h, x.r) // ends at EOF: the producer's close came through
			x.r.Close()
			if err != nil || n != int64(len(data)) || !bytes.Equal(h.Sum(nil), want[:]) {
				t.Errorf("received %d bytes (want %d), err %v, same bytes: %v", n, len(data), err, bytes.Equal(h.Sum(nil), want[:]))
			}
		}()
	}
	wg.Wait()
	for _, x := range ways {
		if err := x.ra.wait(); err != nil {
			t.Errorf("producer's relay: %v", err)
		}
		if err := x.rb.wait(); err != nil {
			t.Errorf("consumer's relay: %v", err)
		}
	}
}

// TestStreamTLSPeerDies: a producer's host that goes away mid-stream (its
// connection ends without TLS's close_notify, at a record boundary) ends
// the consumer's input and fails its stage, rather than passing a
// truncated stream for whole or hanging; a consumer that goes away gives
// the producer EPIPE.
func TestStreamTLSPeerDies(t *testing.T) {
	b := testHub(t)
	rb := &relays{}
	key := testKey(4)
	cons := make(chan *os.File, 1)
	defer b.expect([]string{"2.1.1"})() // the consumer's assignment arrived: the dial below is not turned away
	go func() {
		f, err := b.accept(context.Background(), client.End{Stream: "2.1.1", Accept: true, Key: key}, rb)
		if err != nil {
			t.Error(err)
		}
		cons <- f
	}()
	d, err := dialByHand(t, b, "2.1.1", key, modeTLS)
	if err != nil {
		t.Fatal(err)
	}
	r := <-cons
	if _, err := io.WriteString(d.conn, strings.Repeat("x", 100000)); err != nil {
		t.Fatal(err)
	}
	d.raw.Close() // the host is gone: no close_notify
	done := make(chan error, 1)
	go func() { n, err := io.Copy(io.Discard, r); done <- fmt.Errorf("%d bytes, %v", n, err) }()
	select {
	case got := <-done:
		if got.Error() != "100000 bytes, <nil>" {
			t.Fatalf("the consumer read %v", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the consumer's input never ended")
	}
	if err := rb.wait(); err == nil || !strings.Contains(err.Error(), "broke") {
		t.Fatalf("the consumer's relay: %v, want the stream broken", err)
	}

	// The consumer's side goes away while the producer writes.
	a, c := testHub(t), testHub(t)
	w, r2, ra, _ := tlsPair(t, a, c, "3.1.1")
	r2.Close()
	werr := make(chan error, 1)
	go func() {
		buf := make([]byte, 1<<20)
		for {
			if _, err := w.Write(buf); err != nil {
				werr <- err
				return
			}
		}
	}()
	select {
	case err := <-werr:
		if !strings.Contains(err.Error(), "broken pipe") {
			t.Fatalf("the producer got %v, want EPIPE", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the producer was never told its consumer went away")
	}
	w.Close()
	ra.wait()
}

// BenchmarkStreamTLSRelay: bytes through a TLS stream between two hubs on
// loopback, relays on both sides (what dominates the cost: see
// docs/security-streams.md).
func BenchmarkStreamTLSRelay(b *testing.B) {
	a, c := testHub(b), testHub(b)
	w, r, _, _ := tlsPair(b, a, c, "b.1.1")
	buf := make([]byte, 128<<10)
	done := make(chan int64)
	go func() { n, _ := io.Copy(io.Discard, r); done <- n }()
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.Write(buf)
	}
	w.Close()
	<-done
}

// TestStreamTLSStageEndsWhileProducerSilent: a consumer's stage that ended
// (cancelled, or done reading) is over at once, though its producer, alive
// but silent, never ends the stream.
func TestStreamTLSStageEndsWhileProducerSilent(t *testing.T) {
	a, b := testHub(t), testHub(t)
	w, r, _, rb := tlsPair(t, a, b, "4.1.1")
	defer w.Close()
	r.Close() // the consumer's process ended
	done := make(chan error, 1)
	go func() { done <- rb.wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a stage that ended by itself failed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stage's end waited for its silent producer")
	}
}
