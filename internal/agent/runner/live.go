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
	ticks := t.StartTicks()
	var p Progress
	var user, sys int64
	pids := []int{t.pid}
	for len(pids) > 0 {
		pid := pids[len(pids)-1]
		pids = pids[:len(pids)-1]
		s := strconv.Itoa(pid)
		b, err := os.ReadFile("/proc/" + s + "/stat")
		if err != nil {
			continue
		}
		st, err := parseStat(b)
		if err != nil {
			continue
		}
		if pid == t.pid && st.startTicks != ticks {
			return Progress{}, false // reaped meanwhile: the pid is another process's now
		}
		u, sy := statCPU(b)
		user += u
		sys += sy
		if st.dead() {
			continue // a zombie has no children of its own left to list
		}
		hwm, threads, ok := vmHWM(s)
		if ok {
			t.notePeak(hwm)
		}
		pids = appendChildren(pids, s, max(threads, 1))
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
