package cli

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// stdinNote is what an attached burst run, srun or pipe says when its
// standard input holds bytes that no task will read: a task's stdin is
// /dev/null (a pipe's first stage reads a file only with <), so `echo 3 |
// burst run -- wc -l` printing 0 is told why.
const stdinNote = "burst: standard input is not passed to the job (its tasks read /dev/null): give the data as a file the command reads (CMD data.txt), or redirect it in a shell on the machine (burst run -- sh -c 'CMD < data.txt'; add --in data.txt where the machine does not share this directory)"

// pipeStdinNote is stdinNote for a pipe.
const pipeStdinNote = "burst: standard input is not passed to the pipe (its first stage reads /dev/null): read a file with < on the first stage (burst pipe 'CMD < data.txt | ...')"

// stdinWaiting reports whether f, a command's standard input, holds bytes
// now: a regular file with some left to read, or a pipe or socket with
// some ready (FIONREAD: nothing is read). A terminal, /dev/null, an empty file and a pipe with
// nothing ready yet say nothing: it is read by nobody, and never waited on.
func stdinWaiting(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		off, err := f.Seek(0, io.SeekCurrent)
		return err == nil && fi.Size() > off
	case m&(os.ModeNamedPipe|os.ModeSocket) != 0:
		// The bytes waiting to be read (poll's POLLIN would also answer
		// a socket whose writer is gone, with none).
		n, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCINQ) // FIONREAD
		return err == nil && n > 0
	}
	return false
}
