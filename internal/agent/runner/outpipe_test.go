package runner

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestOutputPipeEnds: the end of a task's output pipe that the child
// gets is blocking (a child that writes more than the pipe holds waits,
// it does not get EAGAIN), and the copier's end is read through the
// poller, so that closing it ends a read that would otherwise wait for a
// process that escaped its task and holds the pipe open (output.wait).
func TestOutputPipeEnds(t *testing.T) {
	r, w, err := outputPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, c := range []struct {
		f        *os.File
		nonblock bool
	}{{r, true}, {w, false}} {
		rc, err := c.f.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var fl int
		rc.Control(func(fd uintptr) { fl, _, _ = fcntlGetfl(fd) })
		if got := fl&syscall.O_NONBLOCK != 0; got != c.nonblock {
			t.Errorf("%s: O_NONBLOCK %v, want %v", c.f.Name(), got, c.nonblock)
		}
	}
	read := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 1))
		read <- err
	}()
	// The writer stays open, as an escaped process would hold it.
	time.Sleep(10 * time.Millisecond) // let the read start waiting (it ends either way)
	r.Close()
	select {
	case err := <-read:
		if err == nil {
			t.Error("a read of a pipe closed under it returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("closing the copier's end did not end its read")
	}
}

func fcntlGetfl(fd uintptr) (int, uintptr, error) {
	v, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	if e != 0 {
		return 0, 0, e
	}
	return int(v), 0, nil
}
