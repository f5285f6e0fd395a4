package discover

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// CloseInherited closes every descriptor above stderr that this process
// inherited: those not marked close-on-exec (Go opens its own files
// close-on-exec, so an unmarked one came from whoever started us). A
// long-lived process (`burst server`, `burst agent`) calls it first thing:
// a server that kept a pipe its starter's caller holds (the `cat` of
// `burst jobs | cat` that autostarted it, a `3>file` of a script) would
// keep that reader waiting for an end of file for as long as it lives,
// and pass it on to its agents and their tasks. It is done here, in the
// process that inherited them, not by the command that starts a server:
// that command may be a researcher's program (sdk.Connect) whose own
// descriptors (a make jobserver, LISTEN_FDS) are none of burst's business.
// Where neither /proc/self/fd nor /dev/fd can be read it does nothing.
func CloseInherited() {
	dir := "/proc/self/fd"
	if _, err := os.Stat(dir); err != nil {
		dir = "/dev/fd"
	}
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	self := int(f.Fd())
	var inherited []int
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd <= 2 || fd == self {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			inherited = append(inherited, fd)
		}
	}
	f.Close()
	for _, fd := range inherited {
		unix.Close(fd)
	}
}
