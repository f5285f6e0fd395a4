package agent

import (
	"net"
	"testing"

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
