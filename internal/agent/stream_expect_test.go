package agent

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
)

// A connection for a stream id no stage here expects (no assignment that
// accepts it arrived) is closed right after its first line: a stranger
// cannot hold a parked place under an id of its choice, and its dial
// fails at once, before any nonce. Before, it stayed parked for
// streamWait (2 minutes).
func TestStreamUnexpectedIDClosedAtOnce(t *testing.T) {
	for _, mode := range []string{modePlain, modeTLS} {
		h := testHub(t)
		start := time.Now()
		_, err := dialByHand(t, h, "77.1.1", testKey(4), mode)
		if err == nil {
			t.Fatalf("%s: a stranger's stream for an id nobody expects was taken", mode)
		}
		if mode == modePlain && !errors.Is(err, errClosedEarly) {
			t.Errorf("%s: the stranger's dial failed with %v, want the close before the nonce (errClosedEarly)", mode, err)
		}
		if took := time.Since(start); took > shakeWait {
			t.Errorf("%s: the stranger was closed after %s, not at once", mode, took)
		}
		// The stranger sees the close before the hub has counted it: wait
		// for the hub's books to show it, not a fixed time.
		for deadline := time.Now().Add(5 * time.Second); ; {
			h.mu.Lock()
			parked := len(h.parked)
			h.mu.Unlock()
			n := h.ln.Counts()
			if parked == 0 && n.Pending == 0 && h.unexpected.Load() == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: %d ids parked, counts %+v, %d closed as unexpected; want none parked or pending, 1 closed",
					mode, parked, n, h.unexpected.Load())
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// A producer whose consumer's assignment has not reached the consumer's
// agent yet is closed before the nonce like a stranger, and reconnects
// until its deadline: once the consumer expects the stream it connects
// and its bytes arrive.
func TestStreamEarlyProducerConnects(t *testing.T) {
	for _, mode := range []string{modePlain, modeTLS} {
		prod, cons := testHub(t), testHub(t)
		key := testKey(6)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		type res struct {
			f   *os.File
			err error
		}
		dialed := make(chan res, 1)
		rp, rc := &relays{}, &relays{}
		go func() {
			// dialMode picks plain for loopback: shake is called as dial
			// does, in the mode under test, through dial's loop.
			f, err := prod.dialIn(ctx, client.End{Stream: "5.1.1", Dial: cons.addr, Key: key}, mode, rp)
			dialed <- res{f, err}
		}()
		waitFor(t, "the early producer to be turned away", func() bool { return cons.unexpected.Load() >= 2 })
		done := cons.expect([]string{"5.1.1"}) // the consumer's assignment arrives
		r, err := cons.accept(ctx, client.End{Stream: "5.1.1", Accept: true, Key: key}, rc)
		done()
		if err != nil {
			t.Fatalf("%s: the consumer: %v", mode, err)
		}
		got := <-dialed
		if got.err != nil {
			t.Fatalf("%s: the early producer did not connect: %v", mode, got.err)
		}
		go func() { io.WriteString(got.f, "early bytes\n"); got.f.Close() }()
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(b) != "early bytes\n" {
			t.Errorf("%s: the consumer read %q, %v", mode, b, err)
		}
		rp.wait()
		rc.wait()
	}
}
