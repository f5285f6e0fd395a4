package runner

import (
	"os"

	"golang.org/x/sys/unix"
)

// offsetCounter counts the bytes a process moved through one of its
// standard descriptors when that is a regular file: it keeps its own
// duplicate of the descriptor, which shares the file's offset with the
// process's copy, and reads how far the offset went. A pipe or a socket has
// no offset; burst does not relay the bytes of OS pipes and TCP streams
// between stages (they would cost a copy and a thread each way), so those
// are not counted.
type offsetCounter struct {
	on    bool // counting: fd is the duplicate (the zero value counts nothing)
	fd    int
	start int64
}

func newOffsetCounter(f *os.File) offsetCounter {
	var c offsetCounter
	if f == nil {
		return c
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return c
	}
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return c
	}
	start, err := unix.Seek(fd, 0, 1) // SEEK_CUR
	if err != nil {
		unix.Close(fd)
		return c
	}
	if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); err == nil && fl&unix.O_APPEND != 0 {
		// Each write moves the offset to the end first: count from there.
		start = st.Size
	}
	return offsetCounter{on: true, fd: fd, start: start}
}

// done returns the bytes counted and releases the duplicate; 0 when not
// counted. It is called once, after the process has exited.
func (c *offsetCounter) done() int64 {
	if !c.on {
		return 0
	}
	end, err := unix.Seek(c.fd, 0, 1)
	unix.Close(c.fd)
	c.on = false
	if err != nil || end < c.start {
		return 0
	}
	return end - c.start
}

// peek is the bytes counted so far, while the process runs; 0 when not
// counted or done.
func (c *offsetCounter) peek() int64 {
	if !c.on {
		return 0
	}
	cur, err := unix.Seek(c.fd, 0, 1)
	if err != nil || cur < c.start {
		return 0
	}
	return cur - c.start
}
