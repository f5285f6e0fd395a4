package runner

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// Progress is what a running task has used so far: the figures its Result
// will hold, read while it runs.
type Progress struct {
	// UserCPU and SysCPU are the CPU time of the task's process and of its live
	// descendants, with what the ones they waited for used (utime, stime,
	// cutime and cstime of /proc/PID/stat). A descendant that left the
	// task's tree before ending (a daemon reparented to init) takes its time
	// with it, so a later figure can be smaller: callers keep the largest.
	UserCPU, SysCPU time.Duration
	// MaxRSS is the largest VmHWM sampled so far (see peak.go); 0 before the
	// first sample.
	MaxRSS int64
	// ReadBytes and WroteBytes are what Result's will be so far (with
	// Spec.IOStats: through In and Out where they are regular files, or
	// through burst's copier to the stdout log).
	ReadBytes, WroteBytes int64
}

// userHZ is the unit of the times in /proc/PID/stat: USER_HZ, 100 on every
// architecture Linux exports to user space.
const userHZ = 100

// Progress reads what the task has used so far; false once its process has
// exited (its Result says the rest). It reads /proc, a few files per
// process of the task's tree: meant for a few long tasks at a time (a
// pipe's stages), not for every task of a map.
func (t *Task) Progress() (Progress, bool) {
	t.mu.Lock()
	exited := t.exited
	t.mu.Unlock()
	if exited || t.pid <= 0 {
		return Progress{}, false
	}
	var p Progress
	user, sys, hwm, ok := treeUsage(t.pid, t.StartTicks())
	if !ok {
		return Progress{}, false // reaped meanwhile: the pid is another process's now
	}
	if hwm > 0 {
		t.notePeak(hwm)
	}
	p.UserCPU = time.Duration(user) * time.Second / userHZ
	p.SysCPU = time.Duration(sys) * time.Second / userHZ
	p.MaxRSS = t.hwm.Load()
	t.ioMu.Lock()
	p.ReadBytes, p.WroteBytes = t.inCount.peek(), t.outCount.peek()
	t.ioMu.Unlock()
	if t.spec.IOStats && t.spec.Out == nil && stdoutAlone(t.spec) && len(t.outs) > 0 {
		p.WroteBytes = t.outs[0].written.Load() // through burst's copier to its log, as Result counts it
	}
	return p, true
}

// treeUsage reads process pid and its live descendants: the CPU time they
// used (with what the ones they waited for used), in clock ticks, and the
// largest peak resident set (VmHWM) among them. ok is false when pid is not
// the process started at ticks (0: any), or is gone.
func treeUsage(pid int, ticks uint64) (user, sys, hwm int64, ok bool) {
	pids := []int{pid}
	for len(pids) > 0 {
		p := pids[len(pids)-1]
		pids = pids[:len(pids)-1]
		s := strconv.Itoa(p)
		b, err := os.ReadFile("/proc/" + s + "/stat")
		if err != nil {
			if p == pid {
				return 0, 0, 0, false
			}
			continue
		}
		st, err := parseStat(b)
		if err != nil {
			continue
		}
		if p == pid && ticks != 0 && st.startTicks != ticks {
			return 0, 0, 0, false
		}
		u, sy := statCPU(b)
		user += u
		sys += sy
		if st.dead() {
			continue // a zombie has no children of its own left to list
		}
		h, threads, ok := vmHWM(s)
		if ok {
			hwm = max(hwm, h)
		}
		pids = appendChildren(pids, s, max(threads, 1))
	}
	return user, sys, hwm, true
}

// StepUsage is what the processes pids (an srun step's tasks, each with its
// descendants) have used so far: their CPU time together and the largest
// peak resident set of one of their processes, as sstat's TotalCPU and
// MaxRSS of a running step. A pid that is gone counts nothing.
func StepUsage(pids []int) (user, sys time.Duration, maxRSS int64) {
	var u, s int64
	for _, pid := range pids {
		if pu, ps, h, ok := treeUsage(pid, 0); ok {
			u, s, maxRSS = u+pu, s+ps, max(maxRSS, h)
		}
	}
	return time.Duration(u) * time.Second / userHZ, time.Duration(s) * time.Second / userHZ, maxRSS
}

// statCPU is a /proc/PID/stat text's CPU times in clock ticks: user (utime
// and cutime, fields 14 and 16) and system (stime and cstime, 15 and 17),
// the c- ones being the children it waited for. 0 where it is malformed.
// (parseStat, which every task's start calls, leaves them alone.)
func statCPU(b []byte) (user, sys int64) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3
	if len(f) < 15 {
		return 0, 0
	}
	for k, c := range f[11:15] {
		v, err := strconv.ParseInt(string(c), 10, 64)
		if err != nil {
			return 0, 0
		}
		if k%2 == 0 {
			user += v
		} else {
			sys += v
		}
	}
	return user, sys
}
