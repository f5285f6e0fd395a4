// Package fdpass hands an open file to the other end of a unix socket
// (SCM_RIGHTS), so that a client on the server's own host and the server
// can move a blob's bytes file to file, without copying them through the
// socket (docs/storage.md, "On the same host"). What is passed is the
// right to read what the sender could read: the receiver learns nothing
// else, and checks what it got (a regular file, its size) before it
// reads.
//
// The protocol above HTTP is an upgrade: the request carries
// `Upgrade: burst-fd`, the server answers 101, and from then on the
// connection carries one byte with the descriptor attached, in the
// direction the route says. A peer must not have sent anything on the
// connection that the other side's buffered reader could have taken
// with the descriptor: each side sends the descriptor only once the other
// has asked for it.
package fdpass

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Upgrade is the Upgrade header's token of a request that moves a file
// descriptor instead of bytes.
const Upgrade = "burst-fd"

// Send sends f's descriptor over c, attached to one byte.
func Send(c *net.UnixConn, f *os.File) error {
	_, _, err := c.WriteMsgUnix([]byte{1}, syscall.UnixRights(int(f.Fd())), nil)
	return err
}

// Recv waits (until the deadline, at most) for one byte with exactly one
// descriptor attached and returns it as a file named name. Anything else
// (no descriptor, several, a cut control message) is an error, and every
// descriptor that came is closed.
func Recv(c *net.UnixConn, name string, deadline time.Time) (*os.File, error) {
	c.SetReadDeadline(deadline)
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 1)
	oob := make([]byte, syscall.CmsgSpace(4*4)) // room for a few, to close extras
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	if oobn > 0 {
		msgs, perr := syscall.ParseSocketControlMessage(oob[:oobn])
		if perr != nil {
			return nil, perr
		}
		for _, m := range msgs {
			got, rerr := syscall.ParseUnixRights(&m)
			if rerr == nil {
				fds = append(fds, got...)
			}
		}
	}
	if n != 1 || len(fds) != 1 || flags&syscall.MSG_CTRUNC != 0 {
		for _, fd := range fds {
			syscall.Close(fd)
		}
		if n == 0 {
			return nil, errors.New("the peer closed the connection before it sent a file")
		}
		return nil, fmt.Errorf("the peer sent %d descriptors, not one file", len(fds))
	}
	syscall.CloseOnExec(fds[0])
	return os.NewFile(uintptr(fds[0]), name), nil
}

// Regular checks that f is a regular file of size bytes (size < 0: any),
// open for reading (not written-only, not an O_PATH descriptor, whose
// reads fail and would read as a file cut short), and returns what fstat
// says of it.
func Regular(f *os.File, size int64) (os.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the file passed is not a regular file (%v): pass a file", fi.Mode().Type())
	}
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		return nil, err
	}
	if fl&unix.O_PATH != 0 || fl&unix.O_ACCMODE == unix.O_WRONLY {
		return nil, errors.New("the file passed is not open for reading: pass one opened for reading")
	}
	if size >= 0 && fi.Size() != size {
		return nil, fmt.Errorf("the file passed is %d bytes, not %d: it changed; send it again", fi.Size(), size)
	}
	return fi, nil
}

// Same says whether a and b (two fstats of one file) show the same
// contents as far as the file system tells: size, modification and
// change times.
func Same(a, b os.FileInfo) bool {
	if a.Size() != b.Size() || !a.ModTime().Equal(b.ModTime()) {
		return false
	}
	sa, oka := a.Sys().(*syscall.Stat_t)
	sb, okb := b.Sys().(*syscall.Stat_t)
	return !oka || !okb || sa.Ctim == sb.Ctim
}
