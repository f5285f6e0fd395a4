package runner

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Peak memory of a task.
//
// The kernel's figure (ru_maxrss of wait4, what /usr/bin/time -v prints as
// "Maximum resident set size") is the largest RSS high-water mark of the
// process and of the descendants it waited for. But Go starts processes
// with clone(CLONE_VM|CLONE_VFORK): until its exec the child runs in the
// agent's memory, and exec records the high-water mark of the memory it
// leaves, the agent's, in the child's figure (fs/exec.c, exec_mmap:
// setmax_mm_hiwater_rss). So ru_maxrss is max(the agent's peak RSS at that
// moment, the task's own peak): `true` would show the agent's ~15-20 MiB.
//
// The runner therefore takes ru_maxrss only where it exceeds the agent's own
// high-water mark (VmHWM of /proc/self/status, read after the exec; it only
// grows, and a small margin covers the kernel's approximate per-CPU RSS
// counters): then it can only be the task's. Below that, the task's peak is
// what sampling saw: VmHWM (the high-water mark of the process's own
// memory since its exec) of the task's process and its descendants, at
// gaps that double from a millisecond after its start up to peakInterval. A
// process that grows in its last moments after the last sample, under the
// agent's own peak, is under-reported; a task that was gone before any
// sample has no figure (0).
//
// No cgroup is needed, so it is the same figure on every machine, a Slurm
// pilot run as a normal user included; a cgroup's memory.peak would count
// page cache as well, which neither ps nor /usr/bin/time nor Slurm's MaxRSS
// does.

// peakInterval is how often running tasks' VmHWM is sampled.
const peakInterval = 100 * time.Millisecond

// peakOf decides a task's peak RSS from its wait4 figure ru, the agent's
// high-water mark agent read after the task's exec, and the largest VmHWM
// sampled from the task's processes (0: none).
func peakOf(ru, agent, sampled int64) int64 {
	if aboveAgent(ru, agent) {
		return ru
	}
	if sampled > ru && ru > 0 {
		return ru // a sample cannot exceed what the kernel saw
	}
	return sampled
}

// aboveAgent reports whether a wait4 figure ru exceeds the agent's
// high-water mark agent by more than the kernel's counters could be off,
// so that it can only be the task's own.
func aboveAgent(ru, agent int64) bool { return ru > agent+agent/16+1<<20 }

// vmHWM returns VmHWM of /proc/PID/status in bytes ("self" for this
// process) and its number of threads; false when it cannot be read, or the
// process has exited (a zombie has no memory, hence no VmHWM line).
func vmHWM(pid string) (hwm int64, threads int, ok bool) {
	var buf [4096]byte
	b, err := readProc("/proc/"+pid+"/status", buf[:])
	if err != nil {
		return 0, 0, false
	}
	hwm, ok = statusField(b, "\nVmHWM:")
	threads64, _ := statusField(b, "\nThreads:")
	return hwm << 10, int(threads64), ok // VmHWM is in kB
}

// statusField is the number after key in a /proc/PID/status text.
func statusField(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	if j := bytes.IndexByte(b, '\n'); j >= 0 {
		b = b[:j]
	}
	b = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(b), []byte("kB")))
	return atoi(b)
}

// agentHWM is this process's VmHWM as last read, and when.
var agentHWM struct {
	sync.Mutex
	val int64
	at  time.Time
}

// taskPeak is peakOf(ru, the agent's VmHWM read at or after since,
// sampled). The agent's VmHWM only grows, so a figure read before since
// is a lower bound of it: when ru is not above that figure's threshold it
// is not above the current one's either, and the file is not read again.
// Only an ru above it (a task bigger than the agent, or an agent that grew
// since) costs a read: a map of a million small tasks reads it a handful
// of times, not once a task.
func taskPeak(ru int64, since time.Time, sampled int64) int64 {
	agentHWM.Lock()
	val, at := agentHWM.val, agentHWM.at
	agentHWM.Unlock()
	if !at.IsZero() && (at.After(since) || !aboveAgent(ru, val)) {
		return peakOf(ru, val, sampled)
	}
	return peakOf(ru, agentHWMSince(since), sampled)
}

// agentHWMReads counts the reads of the agent's own VmHWM (for tests).
var agentHWMReads atomic.Int64

// agentHWMSince is this process's VmHWM as read at or after since.
func agentHWMSince(since time.Time) int64 {
	agentHWM.Lock()
	defer agentHWM.Unlock()
	if agentHWM.at.After(since) {
		return agentHWM.val
	}
	now := time.Now()
	agentHWMReads.Add(1)
	// Reading our own /proc file under the lock: a few microseconds, and
	// it spares the tasks that end meanwhile a read each.
	if v, _, ok := vmHWM("self"); ok {
		agentHWM.val, agentHWM.at = v, now
	} else {
		// Unknown: take ru_maxrss for nothing of the task's.
		agentHWM.val, agentHWM.at = 1<<62, now
	}
	return agentHWM.val
}

// peakSampler samples the VmHWM of every registered task's processes at
// gaps that double from firstPeakGap up to peakInterval (1, 2, 4 ... ms), so
// that a task of a few milliseconds is seen early, one of a few hundred a
// handful of times, and a long one costs a few reads a second. (Sampling
// every millisecond for a task's first 32 ms cost ~2.5 ms of the agent's CPU
// per short task, about 34 reads, and still missed last-moment growth.) Its goroutine runs only while some task is
// registered.
var peakSampler struct {
	sync.Mutex
	tasks   map[*Task]*peakDue
	running bool
	nextAt  time.Time     // when the loop wakes next
	wake    chan struct{} // a task is due before nextAt
}

type peakDue struct {
	next time.Time // next sample
	gap  time.Duration
}

const firstPeakGap = time.Millisecond // the gap before a task's first sample; it doubles after each

// notePeak raises t's sampled peak to v.
func (t *Task) notePeak(v int64) {
	for {
		old := t.hwm.Load()
		if v <= old || t.hwm.CompareAndSwap(old, v) {
			return
		}
	}
}

// samplePeak reads the VmHWM of the task's process and, with tree, of its
// descendants.
func (t *Task) samplePeak(tree bool) {
	pids := []int{t.pid}
	for len(pids) > 0 {
		pid := pids[len(pids)-1]
		pids = pids[:len(pids)-1]
		s := strconv.Itoa(pid)
		v, threads, ok := vmHWM(s)
		if !ok {
			continue
		}
		t.notePeak(v)
		if tree {
			pids = appendChildren(pids, s, threads)
		}
	}
}

// appendChildren appends the children of process pid, as listed by each of
// its threads in /proc/PID/task/TID/children (by the main thread alone
// when it has no other: one read instead of a directory listing too).
func appendChildren(pids []int, pid string, threads int) []int {
	tids := []string{pid}
	if threads > 1 {
		d, err := os.Open("/proc/" + pid + "/task")
		if err != nil {
			return pids
		}
		tids, _ = d.Readdirnames(-1)
		d.Close()
	}
	var buf [512]byte // most processes have few children: read on the stack
	for _, tid := range tids {
		path := "/proc/" + pid + "/task/" + tid + "/children"
		b, err := readProc(path, buf[:])
		if err == nil && len(b) == len(buf) { // more than fit: read it whole
			b, err = os.ReadFile(path)
		}
		if err != nil {
			continue
		}
		for _, f := range bytes.Fields(b) {
			if c, err := strconv.Atoi(string(f)); err == nil && c > 0 {
				pids = append(pids, c)
			}
		}
	}
	return pids
}

func samplePeaks(t *Task) {
	peakSampler.Lock()
	defer peakSampler.Unlock()
	if peakSampler.tasks == nil {
		peakSampler.tasks = map[*Task]*peakDue{}
		peakSampler.wake = make(chan struct{}, 1)
	}
	now := time.Now()
	d := &peakDue{next: now.Add(firstPeakGap), gap: firstPeakGap}
	peakSampler.tasks[t] = d
	if !peakSampler.running {
		peakSampler.running = true
		peakSampler.nextAt = d.next
		go peakLoop()
		return
	}
	if !d.next.Before(peakSampler.nextAt) {
		return // the loop wakes in time for it
	}
	peakSampler.nextAt = d.next
	select {
	case peakSampler.wake <- struct{}{}:
	default:
	}
}

func unsamplePeaks(t *Task) {
	peakSampler.Lock()
	delete(peakSampler.tasks, t)
	peakSampler.Unlock()
}

func peakLoop() {
	timer := time.NewTimer(firstPeakGap)
	defer timer.Stop()
	var due []*Task
	for {
		select {
		case <-timer.C:
		case <-peakSampler.wake:
			timer.Stop()
		}
		peakSampler.Lock()
		if len(peakSampler.tasks) == 0 {
			peakSampler.running = false
			peakSampler.Unlock()
			return
		}
		now := time.Now()
		due = due[:0]
		next := now.Add(peakInterval)
		for t, d := range peakSampler.tasks {
			if !d.next.After(now) {
				due = append(due, t)
				d.gap = min(2*d.gap, peakInterval)
				d.next = now.Add(d.gap)
			}
			if d.next.Before(next) {
				next = d.next
			}
		}
		peakSampler.nextAt = next
		peakSampler.Unlock()
		for _, t := range due {
			// The task's pid is not reaped before it leaves the map (t.wait
			// unregisters it first), so it names the task's process. A
			// descendant's pid could in theory be reused between reading
			// /proc/PID/task/TID/children and its status; peakOf caps a
			// sample by the kernel's own figure.
			t.samplePeak(true)
		}
		timer.Reset(time.Until(next))
	}
}

// peakHolder is embedded in Task.
type peakHolder struct {
	hwm    atomic.Int64 // largest VmHWM sampled from the task's processes
	execAt time.Time    // when the process had exec'd (Start returned from it)
}
