package agent

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// A stream connection that passed its handshake is no stranger's: it no
// longer counts as pending at once, so that a flood of strangers never
// evicts a parked producer (it would be its address's oldest pending
// connection), and a failed handshake is counted, not logged a line each.
func TestStreamHandshakeAuthenticates(t *testing.T) {
	h, err := newHub("s3cret", "127.0.0.1:0", "127.0.0.1", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	c, err := net.Dial("tcp", h.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s k1 %s\n", streamMagic, h.mac("k1"))
	bad, err := net.Dial("tcp", h.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	fmt.Fprintf(bad, "%s k2 wrong\n", streamMagic)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := h.ln.Counts()
		h.mu.Lock()
		parked := h.parked["k1"] != nil
		h.mu.Unlock()
		if parked && n.Pending == 0 && n.Failed == 1 && n.Open == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("parked %v, counts %+v: want the parked connection open and not pending, the bad one failed", parked, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
