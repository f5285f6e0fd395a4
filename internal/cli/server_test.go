package cli

import (
	"bytes"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/burst-sh/burst/internal/home"
)

// TestServerAlreadyRunningSaysHowToListen: `burst server --listen` while
// the server the first command started holds the home (the README's Quick
// start, then its "Share burst with your lab") exits 10, as a racing
// start does, and says which server runs (pid, address) and how to put
// one that listens in its place.
func TestServerAlreadyRunningSaysHowToListen(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	h, err := home.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(h.Lock(), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.ServerInfo(), []byte(`{"pid":4242,"addr":"http://127.0.0.1:7780"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	running := "burst: cannot start the server: a burst server is already running for " + string(h) + " (pid 4242, http://127.0.0.1:7780): "
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"server", "--listen", "0.0.0.0:7791"}, running + "to serve on 0.0.0.0:7791 instead, stop it and start this one at once: `burst server stop && burst server --listen 0.0.0.0:7791` (a burst command run between the two starts a local server again)\n"},
		{[]string{"server"}, running + "use it, or stop it first (`burst server stop`)\n"},
	} {
		var out, errb bytes.Buffer
		if code := Main(c.args, &out, &errb); code != 10 || errb.String() != c.want {
			t.Errorf("burst %s: exit %d, %q; want 10, %q", strings.Join(c.args, " "), code, errb.String(), c.want)
		}
	}
}

// TestServerListenPortTaken: a --listen address another program holds
// is named with the way out, as --port's is.
func TestServerListenPortTaken(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out, errb bytes.Buffer
	code := Main([]string{"server", "--listen", ln.Addr().String()}, &out, &errb)
	if want := "another program listens there; choose another port (--listen 127.0.0.1:PORT)\n"; code != 2 || !strings.HasSuffix(errb.String(), want) {
		t.Errorf("exit %d, %q; want 2 and a line ending %q", code, errb.String(), want)
	}
}

// What burst server stop --all says of agents that were running nothing:
// "which ran no task", said right after a job had run, read as if the
// agent had never run one.
func TestAgentsStoppedIdle(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"local-1"}, "stopped 1 agent (local-1), which was running no task"},
		{[]string{"a", "b"}, "stopped 2 agents (a, b), which were running no task"},
		{nil, "no agent ran"},
	} {
		if got := agentsStopped(c.names, 0, false); got != c.want {
			t.Errorf("agentsStopped(%v, 0) = %q; want %q", c.names, got, c.want)
		}
	}
}
