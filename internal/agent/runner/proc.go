package runner

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// procStat is the part of /proc/PID/stat the runner uses.
type procStat struct {
	state      byte   // field 3: R, S, D, Z, X, ...
	pgid       int    // field 5
	startTicks uint64 // field 22: start time, clock ticks since boot
	rssPages   int64  // field 24
}

// dead reports whether the process has exited (zombie or dying).
func (s procStat) dead() bool { return s.state == 'Z' || s.state == 'X' || s.state == 'x' }

// parseStat parses the text of /proc/PID/stat. The command name (field 2) is
// in parentheses and may itself contain spaces and parentheses, so the fields
// are counted from the last ')'. It allocates nothing: every task's start
// reads its process's stat once.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed stat: no ')'")
	}
	var s procStat
	rest := b[i+1:]
	n := 3 // the number of the next field
	var pgid, start, rss []byte
	for n <= 24 {
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\n') {
			rest = rest[1:]
		}
		if len(rest) == 0 {
			break
		}
		j := bytes.IndexAny(rest, " \n")
		if j < 0 {
			j = len(rest)
		}
		f := rest[:j]
		rest = rest[j:]
		switch n {
		case 3:
			s.state = f[0]
		case 5:
			pgid = f
		case 22:
			start = f
		case 24:
			rss = f
		}
		n++
	}
	if n <= 24 {
		return procStat{}, fmt.Errorf("malformed stat: %d fields after comm", n-3)
	}
	var ok bool
	var v int64
	if v, ok = atoi(pgid); !ok {
		return procStat{}, fmt.Errorf("malformed stat: pgrp %q", pgid)
	}
	s.pgid = int(v)
	if v, ok = atoi(start); !ok || v < 0 {
		return procStat{}, fmt.Errorf("malformed stat: starttime %q", start)
	}
	s.startTicks = uint64(v)
	if s.rssPages, ok = atoi(rss); !ok {
		return procStat{}, fmt.Errorf("malformed stat: rss %q", rss)
	}
	return s, nil
}

// atoi parses a decimal integer (with an optional '-') without allocating.
func atoi(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// readProc reads a /proc file into buf with plain system calls: an
// os.File would also try to register it with the poller and set a
// cleanup on it, which costs more than the read itself, and every task
// reads one.
func readProc(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}

// procPath is "/proc/PID/name".
func procPath(pid int, name string) string {
	var b [64]byte
	p := append(b[:0], "/proc/"...)
	p = strconv.AppendInt(p, int64(pid), 10)
	p = append(p, '/')
	p = append(p, name...)
	return string(p)
}

func readStat(pid int) (procStat, error) {
	var buf [1024]byte // a stat line is a few hundred bytes
	b, err := readProc(procPath(pid, "stat"), buf[:])
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

// ProcStartTicks returns the start time of process pid (field 22 of
// /proc/PID/stat, clock ticks since boot). Together with the pid it names one
// process: a later process reusing the pid has a different start time.
func ProcStartTicks(pid int) (uint64, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("invalid pid %d", pid)
	}
	s, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return s.startTicks, nil
}

// Alive reports whether process pid exists and started at startTicks, that is
// whether it is still the process that was recorded (a zombie counts: it still
// holds its pid and process group). A startTicks of 0 is an identity never
// recorded (a task that ended before it was asked for): never alive.
//
// Only "no such process" (ENOENT or ESRCH from /proc/PID/stat) or another
// start time means gone. Any other failure to look (EMFILE, ENFILE, ENOMEM,
// EACCES) says nothing about the process: it counts as alive, and the
// caller asks again later. (Taking EMFILE for a death once killed a live
// agent's tasks during a connection flood.)
func Alive(pid int, startTicks uint64) bool {
	if startTicks == 0 || pid <= 0 {
		return false
	}
	t, err := ProcStartTicks(pid)
	if err != nil {
		return !Gone(err)
	}
	return t == startTicks
}

// MachineShort reports whether err, from starting a process (pipe2, fork,
// exec, opening its files), is a shortage of the machine rather than a fault
// of the task: out of descriptors (EMFILE, ENFILE), memory (ENOMEM) or
// processes (EAGAIN).
func MachineShort(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Gone reports whether err, from reading a process's /proc entry, says the
// process does not exist: ENOENT or ESRCH, nothing else.
func Gone(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ESRCH)
}

// KillGroup sends SIGKILL to the process group led by pid, but only if
// Alive(pid, startTicks); otherwise (startTicks 0 included) it does nothing
// and returns nil. A process that does not carry this home's identity
// (SetIdentity) is left alone: ErrNotOurs. It is
// meant for tasks left running by an agent that died. The check and the kill
// are two steps: a pid freed and reused in between is not detected (the
// window is microseconds; pids are not reused that fast in practice).
func KillGroup(pid int, startTicks uint64) error { return KillTaskGroup(pid, startTicks) }

// KillTaskGroup is KillGroup for a task's process that an agent reported
// and the server cannot check itself: it also must have been started with
// each of env's KEY=VALUE entries (BURST_JOB_ID, BURST_TASK_ID and
// BURST_ATTEMPT of the task), so that a machine that reports another
// process's pid and start as its task's (a stolen machine credential, a
// host name that is the server's) can have nothing but that task killed:
// not the server, nor an agent, nor another job's task.
func KillTaskGroup(pid int, startTicks uint64, env ...string) error {
	if pid <= 1 {
		return fmt.Errorf("invalid pid %d", pid)
	}
	if startTicks == 0 {
		return nil // no identity recorded: nothing is known to be it
	}
	s, err := readStat(pid)
	if err != nil || s.startTicks != startTicks {
		return nil
	}
	if !ours(pid) {
		return ErrNotOurs // it may be another home's (a copied store): see owner.go
	}
	if len(env) > 0 {
		got, err := readEnviron(pid, 250*time.Millisecond)
		if err != nil {
			return nil // gone, or not readable: not known to be it
		}
		for _, kv := range env {
			if !hasEntry(got, kv) {
				return ErrNotOurs
			}
		}
	}
	return killStat(pid, s)
}

// hasEntry says whether env (NUL-separated KEY=VALUE entries) holds kv.
func hasEntry(env []byte, kv string) bool {
	for e := range bytes.SplitSeq(env, []byte{0}) {
		if string(e) == kv {
			return true
		}
	}
	return false
}

// killStat sends SIGKILL to the group of pid, whose stat is s, and to pid
// itself if it left its group. Its identity was checked.
func killStat(pid int, s procStat) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if s.pgid != pid {
		// It left its own group; it is still the recorded process.
		if err2 := syscall.Kill(pid, syscall.SIGKILL); err2 == nil {
			err = nil
		}
	}
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// scanProc calls fn for every process in /proc whose stat can be read.
func scanProc(fn func(pid int, s procStat)) {
	d, err := os.Open("/proc")
	if err != nil {
		return
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(512)
		for _, name := range names {
			if name == "" || name[0] < '1' || name[0] > '9' {
				continue
			}
			pid, err := strconv.Atoi(name)
			if err != nil {
				continue
			}
			if s, err := readStat(pid); err == nil {
				fn(pid, s)
			}
		}
		if err != nil {
			return
		}
	}
}

// groupMembers returns the pids of the live (not zombie) processes whose
// process group is pgid.
func groupMembers(pgid int) []int {
	var pids []int
	scanProc(func(pid int, s procStat) {
		if s.pgid == pgid && !s.dead() {
			pids = append(pids, pid)
		}
	})
	return pids
}
