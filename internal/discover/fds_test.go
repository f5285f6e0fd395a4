package discover

import (
	"context"
	"io"
	"testing"

	"golang.org/x/sys/unix"
)

// Starting the local server leaves the caller's descriptors as they are:
// the caller may be a researcher's program (sdk.Connect) that passes its
// own on to its children (a make jobserver, LISTEN_FDS). The server closes
// what it inherited itself (CloseInherited).
func TestStartLeavesCallersFds(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	t.Setenv("BURST_SERVER", "")
	t.Setenv("BURST_TOKEN", "")
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil { // not close-on-exec: the program passes it on
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	// A server that exits at once: the start fails, after it was tried.
	if _, err := Connect(context.Background(), "false", io.Discard); err == nil {
		t.Fatal("Connect with a server that cannot start: want an error")
	}
	for _, fd := range p {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			t.Fatal(err)
		}
		if flags&unix.FD_CLOEXEC != 0 {
			t.Errorf("fd %d of the caller was marked close-on-exec by starting a server", fd)
		}
	}
}
