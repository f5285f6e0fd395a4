package cli

import (
	"context"
	"errors"
	"io"
	"os"
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
	fd := int(f.Fd())
	go func() {
		for ctx.Err() == nil {
			// No events asked: poll reports POLLERR (a pipe with no reader)
			// or POLLHUP (a socket shut down) all the same.
			p := []unix.PollFd{{Fd: int32(fd), Events: 0}}
			n, err := unix.Poll(p, int(readerPollEvery/time.Millisecond))
			if err != nil && !errors.Is(err, unix.EINTR) {
				return
			}
			if n > 0 && p[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
				gone()
				return
			}
		}
	}()
}
