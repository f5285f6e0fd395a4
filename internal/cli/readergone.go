package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// readerPollEvery is how often a follow looks whether its output's reader
// is still there.
const readerPollEvery = 200 * time.Millisecond

// watchReader calls gone once nobody reads w any more: w is a pipe, FIFO
// or socket whose reading end was closed (`burst logs -f JOB | head -1`
// once head exits). A follow whose task writes nothing for a while would
// otherwise learn it only at its next write, minutes later; GNU tail -f
// watches its output the same way. It watches until ctx ends; nothing for
// a w of another kind (a terminal, a file), where a failed write tells.
func watchReader(ctx context.Context, w io.Writer, gone func()) {
	f, ok := w.(*os.File)
	if !ok {
		return
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return
	}
	// The descriptor through SyscallConn: f.Fd() would set it blocking,
	// and with it the open file it shares with whoever handed it over.
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	go func() {
		for ctx.Err() == nil {
			if isGone, err := readerGone(rc, readerPollEvery); err != nil {
				return
			} else if isGone {
				gone()
				return
			}
		}
	}()
}

// readerGone waits up to wait for the descriptor of rc to have no reader:
// poll, with no events asked, reports POLLERR for a pipe whose reader
// closed and POLLHUP for a socket shut down.
func readerGone(rc syscall.RawConn, wait time.Duration) (bool, error) {
	var revents int16
	var perr error
	if err := rc.Control(func(fd uintptr) {
		p := []unix.PollFd{{Fd: int32(fd), Events: 0}}
		_, perr = unix.Poll(p, int(wait/time.Millisecond))
		revents = p[0].Revents
	}); err != nil {
		return false, err
	}
	if perr != nil && !errors.Is(perr, unix.EINTR) {
		return false, perr
	}
	return revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0, nil
}
