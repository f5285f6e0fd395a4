package discover

import (
	"os"
	"strconv"
	"syscall"
)

// closeOnExec marks every descriptor of this process above stderr
// close-on-exec, so that a server it starts (and that server's agents and
// tasks) inherits none of them: only 0, 1 and 2, which the start sets. Go
// opens its own files close-on-exec, but a descriptor the command itself
// inherited (a pipe its caller holds, a `3>file` of a shell) is not: a
// server that kept one would keep, say, the `cat` of `burst run ... | cat`
// waiting for an end of file for as long as the server lives.
func closeOnExec() {
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
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd <= 2 || fd == self {
			continue
		}
		syscall.CloseOnExec(fd)
	}
	f.Close()
}
