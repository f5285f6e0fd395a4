package runner

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
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
// are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed stat: no ')'")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 22 || len(f[0]) == 0 {
		return procStat{}, fmt.Errorf("malformed stat: %d fields after comm", len(f))
	}
	var s procStat
	var err error
	s.state = f[0][0]
	if s.pgid, err = strconv.Atoi(string(f[2])); err != nil {
		return procStat{}, fmt.Errorf("malformed stat: pgrp: %w", err)
	}
	if s.startTicks, err = strconv.ParseUint(string(f[19]), 10, 64); err != nil {
		return procStat{}, fmt.Errorf("malformed stat: starttime: %w", err)
	}
	if s.rssPages, err = strconv.ParseInt(string(f[21]), 10, 64); err != nil {
		return procStat{}, fmt.Errorf("malformed stat: rss: %w", err)
	}
	return s, nil
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
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
// holds its pid and process group).
func Alive(pid int, startTicks uint64) bool {
	t, err := ProcStartTicks(pid)
	return err == nil && t == startTicks
}

// KillGroup sends SIGKILL to the process group led by pid, but only if
// Alive(pid, startTicks); otherwise it does nothing and returns nil. It is
// meant for tasks left running by an agent that died. The check and the kill
// are two steps: a pid freed and reused in between is not detected (the
// window is microseconds; pids are not reused that fast in practice).
func KillGroup(pid int, startTicks uint64) error {
	if pid <= 1 {
		return fmt.Errorf("invalid pid %d", pid)
	}
	s, err := readStat(pid)
	if err != nil || s.startTicks != startTicks {
		return nil
	}
	err = syscall.Kill(-pid, syscall.SIGKILL)
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
