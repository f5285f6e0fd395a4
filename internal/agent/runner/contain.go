package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Containment modes: how the runner finds everything a task started, so that
// nothing outlives it (see Containment).
const (
	// ContainCgroup2 puts every task in a cgroup v2 leaf of its own (in
	// the unified hierarchy, also where the v1 controllers are mounted
	// beside it), born in it; cgroup.kill ends all of it, setsid and
	// double forks included.
	ContainCgroup2 = "cgroup2"
	// ContainCgroup1 puts every task in a v1 freezer cgroup of its own,
	// born in it (the starting thread joins it for the fork); at the end
	// the cgroup is frozen, every process in it killed, then thawed.
	ContainCgroup1 = "cgroup1"
	// ContainSubreaper makes the agent a child subreaper: whatever a task
	// orphans is re-parented to the agent, which knows it by a variable
	// in its environment (burst's task marker) and kills it with the task.
	ContainSubreaper = "subreaper"
	// ContainGroup is the last resort: the task's process group only. A
	// process that calls setsid or setpgid escapes it.
	ContainGroup = "process-group"
)

// ContainEnv names the variable that chooses a containment mode other than
// the best one the machine allows ("subreaper", "process-group"): for tests,
// and for machines where cgroups misbehave.
const ContainEnv = "BURST_CONTAIN"

// markerVar is the environment variable that marks a task's processes in
// ContainSubreaper mode; its value names the agent and the task.
const markerVar = "BURST_TASK_MARK"

var contained struct {
	once sync.Once
	mode string
	dir  string // ContainCgroup2, ContainCgroup1: this agent's directory of task cgroups
	home string // ContainCgroup1: this process's own freezer cgroup
}

// Containment says how tasks started now are contained: ContainCgroup2,
// ContainSubreaper or ContainGroup. The first call probes the machine (and
// creates the agent's cgroup directory, removing those of agents that are
// gone); the answer is cached.
func Containment() string {
	contained.once.Do(detectContainment)
	return contained.mode
}

func detectContainment() {
	want := os.Getenv(ContainEnv)
	if want == "" || want == ContainCgroup2 {
		if dir, err := setupContainV2(); err == nil {
			contained.mode, contained.dir = ContainCgroup2, dir
			return
		}
	}
	if want == "" || want == ContainCgroup1 {
		if dir, home, err := setupContainV1(os.Getenv("SLURM_JOB_ID")); err == nil {
			contained.mode, contained.dir, contained.home = ContainCgroup1, dir, home
			return
		}
	}
	if want != ContainGroup && becomeSubreaper() == nil {
		contained.mode = ContainSubreaper
		return
	}
	contained.mode = ContainGroup
}

// becomeSubreaper makes this process a child subreaper (ContainSubreaper).
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// logger is where the runner reports what it falls back to: the logger
// given with the home's identity, else slog's default.
func logger() *slog.Logger {
	if o := owner.Load(); o != nil && o.log != nil {
		return o.log
	}
	return slog.Default()
}

// setupContainV2 finds a cgroup2 hierarchy this process can create cgroups
// in (mounted at /sys/fs/cgroup, or beside v1 controllers at
// /sys/fs/cgroup/unified) and returns its agent directory there.
func setupContainV2() (string, error) {
	own, err := ownCgroup("")
	if err != nil {
		return "", err
	}
	var mp, root string
	for _, at := range []string{cgroupRoot, filepath.Join(cgroupRoot, "unified")} {
		if mp, root, err = cgroupMount("", at); err == nil {
			break
		}
	}
	if err != nil {
		return "", err
	}
	parent := filepath.Join(ownCgroupDir(mp, root, own), "burst")
	if err := mkdirOK(parent); err != nil {
		return "", err
	}
	dir, err := agentDir(parent, false)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err != nil {
		return "", fmt.Errorf("no cgroup.kill (Linux 5.14 or later): %w", err)
	}
	if err := bornAlive(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// bornAlive starts /bin/true in a fresh cgroup under dir (CLONE_INTO_CGROUP)
// and reports an error if the kernel kills it at birth. Linux (seen on
// 6.18) compares, at a clone into a cgroup, the kill count of the cgroup
// it goes into with that of the cgroup the parent is in, and SIGKILLs the
// child when they differ. A cgroup's count starts at 0 and grows with each
// cgroup.kill of it or of a cgroup above it. So a box once killed is never
// reused (cgroup.killed), and an agent in a cgroup that was once sent
// cgroup.kill (a service restarted in the cgroup it was killed in) would
// see every task die at birth: there, cgroup v2 is not used.
func bornAlive(dir string) error {
	probe := filepath.Join(dir, fmt.Sprintf("probe-%d", os.Getpid()))
	if err := mkdirOK(probe); err != nil {
		return err
	}
	defer os.Remove(probe)
	fd, err := unix.Open(probe, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{Sys: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // nothing to try it with; Start falls back if the clone fails
		}
		return err
	}
	st, err := p.Wait()
	if err != nil {
		return err
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return fmt.Errorf("a process cloned into a cgroup under %s is killed at birth: this process's cgroup was once sent cgroup.kill", dir)
	}
	return nil
}

// setupContainV1 finds the v1 freezer hierarchy and returns this agent's
// directory there, and this process's own freezer cgroup. It refuses to
// make cgroups inside one that another manager tracks (slurmJob: the
// SLURM_JOB_ID this process runs in, if any): Slurm's v1 proctrack kills
// a step by reading the step cgroup's own cgroup.procs, not its children's,
// so a task in a cgroup below it would outlive scancel and the time limit.
// The subreaper keeps the tasks in the step's cgroup instead.
func setupContainV1(slurmJob string) (dir, home string, err error) {
	mp, root, err := cgroupMount("freezer", "")
	if err != nil {
		return "", "", err
	}
	own, err := ownCgroup("freezer")
	if err != nil {
		own = "/"
	}
	switch {
	case slurmJob != "":
		return "", "", fmt.Errorf("inside Slurm job %s: its v1 cgroup is Slurm's to track", slurmJob)
	case own != "/":
		return "", "", fmt.Errorf("in freezer cgroup %s, which another manager tracks", own)
	}
	home = ownCgroupDir(mp, root, own)
	parent := filepath.Join(home, "burst")
	if err := mkdirOK(parent); err != nil {
		return "", "", err
	}
	if dir, err = agentDir(parent, false); err != nil {
		return "", "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "freezer.state")); err != nil {
		return "", "", err
	}
	return dir, home, nil
}

// freezeKill kills everything in a v1 freezer cgroup: frozen first, so
// that nothing forks between the read of its processes and their kill,
// then thawed so that they die. It reports whether the freeze worked.
func (cg *cgroup) freezeKill() bool {
	state := filepath.Join(cg.dir, "freezer.state")
	if writeFile(state, "FROZEN") != nil {
		return false
	}
	deadline := time.Now().Add(time.Second)
	for {
		b, err := os.ReadFile(state)
		if err == nil && strings.TrimSpace(string(b)) == "FROZEN" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	cg.signalAll(syscall.SIGKILL, 0)
	return writeFile(state, "THAWED") == nil
}

// agentDirs caches the agent's directory under each parent, and whether
// the memory controller is enabled for its children.
var agentDirs struct {
	sync.Mutex
	m map[string]agentDirState
}

type agentDirState struct {
	dir    string
	memory bool
}

// agentDir returns this agent's own directory under a "burst" parent
// cgroup, creating it at the first call and removing first the directories
// left by agents that are gone (killed, or ended with tasks stuck), after
// killing whatever still runs in them. memory enables the v2 memory
// controller for its children.
func agentDir(parent string, memory bool) (string, error) {
	agentDirs.Lock()
	defer agentDirs.Unlock()
	st, ok := agentDirs.m[parent]
	if ok && (st.memory || !memory) {
		return st.dir, nil
	}
	if !ok {
		self, err := ProcStartTicks(os.Getpid())
		if err != nil {
			return "", err
		}
		ns, err := pidNamespace()
		if err != nil {
			return "", err
		}
		home := homeTag()
		cleanLeftovers(parent, ns, home)
		st.dir = filepath.Join(parent, fmt.Sprintf("agent-%d-%d-%d-%s", ns, os.Getpid(), self, home))
		if err := mkdirOK(st.dir); err != nil {
			return "", err
		}
	}
	if memory {
		if err := writeFile(filepath.Join(st.dir, "cgroup.subtree_control"), "+memory"); err != nil {
			return "", err
		}
		st.memory = true
	}
	if agentDirs.m == nil {
		agentDirs.m = map[string]agentDirState{}
	}
	agentDirs.m[parent] = st
	return st.dir, nil
}

// cleanLeftovers removes the agent directories under parent whose agent
// (pid and start time, in the name) no longer runs, and the task cgroups in
// them, killing what is left there first: those tasks ended with their
// agent. It judges only the directories of agents in its own pid namespace
// (ns) and of its own home (home, see homeTag): a pid of another namespace
// means another process here, and another home's tasks are not this
// home's to signal. A gone agent's directory of no home (noHome) loses
// only its empty cgroups. A directory named otherwise (an older burst's
// "agent-PID-TICKS", which says neither) is left alone.
func cleanLeftovers(parent string, ns uint64, home string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		a, ok := parseAgentDir(e.Name())
		if !ok || !e.IsDir() || a.ns != ns || (a.home != home && a.home != noHome) || agentRuns(a.pid, a.ticks) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		tasks, _ := os.ReadDir(dir)
		if a.home == noHome {
			// An agent started by hand names its directory before it
			// learns its server's home: what still runs there may be any
			// home's, so only what is empty goes (rmdir refuses a cgroup
			// with a process in it). Its server kills its tasks by their
			// pids, which carry the home they adopted. Before, every such
			// agent took the others' leftovers for its own and killed them.
			for _, tk := range tasks {
				if tk.IsDir() {
					_ = os.Remove(filepath.Join(dir, tk.Name()))
				}
			}
			_ = os.Remove(dir)
			continue
		}
		for _, tk := range tasks {
			if tk.IsDir() {
				cg := &cgroup{dir: filepath.Join(dir, tk.Name()), fd: -1}
				_, err := os.Stat(filepath.Join(cg.dir, "cgroup.kill"))
				cg.v1 = err != nil
				_, err = os.Stat(filepath.Join(cg.dir, "freezer.state"))
				cg.freezer = err == nil
				cg.remove()
			}
		}
		_ = os.Remove(dir)
	}
}

// agentName is what an agent directory's name says of its agent.
type agentName struct {
	ns, ticks uint64
	pid       int
	home      string
}

// parseAgentDir reads "agent-PIDNS-PID-TICKS-HOME".
func parseAgentDir(name string) (agentName, bool) {
	rest, found := strings.CutPrefix(name, "agent-")
	f := strings.SplitN(rest, "-", 4)
	if !found || len(f) != 4 || f[3] == "" {
		return agentName{}, false
	}
	var a agentName
	var err [3]error
	a.ns, err[0] = strconv.ParseUint(f[0], 10, 64)
	a.pid, err[1] = strconv.Atoi(f[1])
	a.ticks, err[2] = strconv.ParseUint(f[2], 10, 64)
	a.home = f[3]
	return a, err[0] == nil && err[1] == nil && err[2] == nil && a.pid > 0
}

// pidNamespace is the inode of this process's pid namespace.
func pidNamespace() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &st); err != nil {
		return 0, fmt.Errorf("pid namespace: %w", err)
	}
	return st.Ino, nil
}

// homeTag is the home identity (SetIdentity) as it goes in an agent
// directory's name: "nohome" when none is known.
func homeTag() string {
	if id := Identity(); id != "" {
		return safeName(id)
	}
	return noHome
}

// noHome is homeTag's word for an agent that has no home id yet (started
// by hand: it takes its server's at registration, after its directory is
// named).
const noHome = "nohome"

// agentRuns reports whether the agent that made a directory still runs. Only
// "no such process" (or a new process on its pid) says it does not: a
// failure to read /proc for another reason (too many open files) keeps its
// directory.
func agentRuns(pid int, ticks uint64) bool {
	t, err := ProcStartTicks(pid)
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ESRCH)
	}
	return t == ticks
}

// Boxes are kept for the next task once empty, with their directory open:
// creating and removing a cgroup costs about 60 µs, a map of tiny tasks
// runs thousands a second, and reading whether one is empty costs a tenth
// of that. As many wait as were ever in use at once (the agent's slots,
// in effect), at least minFreeBoxes; Shutdown removes them.
var boxes struct {
	sync.Mutex
	free  []*cgroup
	n     int // boxes made, for their names
	inUse int // handed out and not yet released
	peak  int // the most in use at once
}

const minFreeBoxes = 64

// boxTaken and boxGone count the boxes in use (boxes.Lock held).
func boxTaken() {
	boxes.inUse++
	boxes.peak = max(boxes.peak, boxes.inUse)
}

func boxGone() {
	boxes.Lock()
	boxes.inUse--
	boxes.Unlock()
}

// mkBox is newBox; tests replace it to make it fail.
var mkBox = newBox

var fallback struct {
	once sync.Once
	err  error
}

// boxFallback is what a task does whose box could not be made for a
// reason that is not the machine's shortage (see MachineShort): it is
// contained by the subreaper instead, which makes the agent one, once,
// and logs it once. It reports whether the subreaper can stand in.
func boxFallback(err error) bool {
	fallback.once.Do(func() {
		fallback.err = becomeSubreaper()
		logger().Warn("a task's containment cgroup could not be made: tasks without one are contained by the subreaper",
			"containment", contained.mode, "err", err, "subreaper_err", fallback.err)
	})
	return fallback.err == nil
}

// newBox returns an empty containment cgroup (ContainCgroup2), open for
// CLONE_INTO_CGROUP.
func newBox() (*cgroup, error) {
	boxes.Lock()
	boxTaken()
	if k := len(boxes.free); k > 0 {
		cg := boxes.free[k-1]
		boxes.free = boxes.free[:k-1]
		boxes.Unlock()
		return cg, nil
	}
	boxes.n++
	name := "box-" + strconv.Itoa(boxes.n)
	boxes.Unlock()
	cg, err := makeBox(name)
	if err != nil {
		boxGone()
	}
	return cg, err
}

func makeBox(name string) (*cgroup, error) {
	dir, err := agentDir(filepath.Dir(contained.dir), false) // made again after a Shutdown
	if err != nil {
		return nil, err
	}
	cg, err := makeCgroupDir(dir, name, contained.mode == ContainCgroup1)
	if err != nil {
		return nil, err
	}
	if cg.v1 {
		cg.home, cg.freezer = contained.home, true
		return cg, nil
	}
	cg.fd, err = unix.Open(cg.dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		cg.remove()
		return nil, err
	}
	return cg, nil
}

// release is a box's end, at its task's end: if anything still runs in it
// (the task's main process has exited: a zombie does not count), it is
// killed, and release returns once all of it has died. The box then waits
// for the next task, or is removed (always after a kill: see
// cgroup.killed). One that cannot be emptied (a process
// stuck in uninterruptible sleep) is left to remove's retries.
func (cg *cgroup) release() {
	boxGone()
	if cg.populated() {
		cg.kill()
		deadline := time.Now().Add(5 * time.Second)
		delay := 100 * time.Microsecond
		for cg.populated() {
			if time.Now().After(deadline) {
				cg.remove()
				return
			}
			time.Sleep(delay)
			delay = min(2*delay, 50*time.Millisecond)
			if delay >= 10*time.Millisecond {
				// Again: a v1 freeze that timed out (a process in D
				// state) killed without freezing, and a fork in that
				// window lives until it is killed.
				cg.kill()
			}
		}
	}
	boxes.Lock()
	if len(boxes.free) < max(minFreeBoxes, boxes.peak) && !cg.killed {
		boxes.free = append(boxes.free, cg)
		cg = nil
	}
	boxes.Unlock()
	if cg != nil {
		cg.remove()
	}
}

// populated reports whether a process runs in the cgroup (cgroup.events;
// cgroup.procs in v1); when that cannot be read, it answers true: the
// caller kills and waits.
func (cg *cgroup) populated() bool {
	if cg.v1 {
		b, err := os.ReadFile(filepath.Join(cg.dir, "cgroup.procs"))
		return err != nil || len(strings.TrimSpace(string(b))) > 0
	}
	var b []byte
	var err error
	if cg.fd >= 0 {
		if !cg.eventsOpen {
			if cg.events, err = unix.Openat(cg.fd, "cgroup.events", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
				cg.eventsOpen = true
			}
		}
		if cg.eventsOpen {
			// A cgroup file is made anew by each read from offset 0.
			var buf [128]byte
			var n int
			n, err = unix.Pread(cg.events, buf[:], 0)
			b = buf[:max(n, 0)]
		}
	} else {
		b, err = os.ReadFile(filepath.Join(cg.dir, "cgroup.events"))
	}
	if err != nil {
		return true
	}
	return !strings.Contains(string(b), "populated 0")
}

// Shutdown removes the cgroups this agent keeps for its next tasks, and its
// own cgroup directories if nothing is left in them. An agent calls it as
// it exits; what it leaves (a killed agent leaves everything) the next agent
// removes.
func Shutdown() {
	boxes.Lock()
	free := boxes.free
	boxes.free = nil
	boxes.Unlock()
	for _, cg := range free {
		cg.remove()
	}
	agentDirs.Lock()
	dirs := make([]string, 0, len(agentDirs.m))
	for _, st := range agentDirs.m {
		dirs = append(dirs, st.dir)
	}
	agentDirs.m = nil // a task after this makes them again
	agentDirs.Unlock()
	for _, d := range dirs {
		_ = os.Remove(d) // fails while a task's cgroup is in it
	}
}

// signalAll sends sig to every process in the cgroup but those of process
// group skip (0: none), which the caller signalled as a group: a process
// gets the signal once, as slurmstepd sends it, so that a handler a second
// one would find running is not run twice (a shell's TERM trap printed
// twice). A pid read from cgroup.procs could in theory exit and be reused
// before the signal: the same window as kill(2) on any pid read from /proc.
func (cg *cgroup) signalAll(sig syscall.Signal, skip int) {
	self := os.Getpid()
	for _, pid := range cg.procs() {
		if pid == self {
			continue
		}
		if pg, err := syscall.Getpgid(pid); skip > 0 && err == nil && pg == skip {
			continue
		}
		_ = syscall.Kill(pid, sig)
	}
}

// Subreaper mode: a task's marker, and the processes that carry it.

var markSeq struct {
	sync.Mutex
	n int
}

// newMark returns a value unique to one task of this agent.
func newMark() string {
	markSeq.Lock()
	defer markSeq.Unlock()
	markSeq.n++
	return fmt.Sprintf("%d.%d", os.Getpid(), markSeq.n)
}

// hasMark reports whether process pid's environment holds markerVar=mark.
// An orphan caught in the middle of exec shows an empty environment for a
// moment (readEnviron); a process that truly has none costs each scan 20 ms.
func hasMark(pid int, mark string) bool {
	b, err := readEnviron(pid, 20*time.Millisecond)
	if err != nil {
		return false
	}
	want := markerVar + "=" + mark
	for _, kv := range strings.Split(string(b), "\x00") {
		if kv == want {
			return true
		}
	}
	return false
}

// leaders are the pids of the running tasks' own processes (subreaper
// mode): the agent's children that are not adopted orphans.
var leaders struct {
	sync.Mutex
	m map[int]bool
}

func addLeader(pid int) {
	leaders.Lock()
	if leaders.m == nil {
		leaders.m = map[int]bool{}
	}
	leaders.m[pid] = true
	leaders.Unlock()
}

func dropLeader(pid int) {
	leaders.Lock()
	delete(leaders.m, pid)
	leaders.Unlock()
}

// fullScans counts killMarked's scans of all of /proc (for tests).
var fullScans atomic.Int64

// mayHaveOrphans reports whether the agent has a live child that is not a
// running task's process: an orphan a task left, adopted by the agent (or
// a command the agent runs itself). Without one, nothing a task started
// still runs: a process outlives its task's process only by being
// re-parented to the agent (or below such a process). Its children are
// read from /proc/self/task/*/children (tens of µs; a scan of /proc costs
// milliseconds, growing with the host); where that cannot be read, it
// answers true. A zombie child holds nothing: its own children were
// re-parented when it died. One of leader's process group (the ending
// task's) is reaped here: a process that outlives its task's leader by a
// moment (a bwrap sandbox's pid-1 process, which exits just after the
// monitor that is its task's process) would otherwise stay a zombie child
// of the agent for good, one more per task, each read at every task's
// end. No other task's leader is in that group (each leads its own).
func mayHaveOrphans(leader int) bool {
	kids, ok := ownChildren()
	if !ok {
		return true
	}
	unknown := kids[:0] // the children that are no running task's leader, told apart under one lock
	leaders.Lock()
	for _, pid := range kids {
		if !leaders.m[pid] {
			unknown = append(unknown, pid)
		}
	}
	leaders.Unlock()
	var buf [512]byte
	for _, pid := range unknown {
		b, err := readProc(procPath(pid, "stat"), buf[:])
		if err != nil {
			if Gone(err) {
				continue // reaped since the read
			}
			return true
		}
		_, pgid, state, ok := parseParent(b)
		if !ok || state != 'Z' && state != 'X' {
			return true
		}
		if pgid == leader {
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
	}
	return false
}

// ownChildren lists this process's children, those of every thread.
func ownChildren() ([]int, bool) {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return nil, false
	}
	tids, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, false
	}
	var kids []int
	var buf [16384]byte
	for _, tid := range tids {
		b, err := readProc("/proc/self/task/"+tid+"/children", buf[:])
		if err != nil {
			if Gone(err) {
				continue // a thread that exited
			}
			return nil, false
		}
		if len(b) == len(buf) {
			return nil, false // more than fits: scan
		}
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				return nil, false
			}
			kids = append(kids, pid)
		}
	}
	return kids, true
}

// killMarked kills everything the task left behind in subreaper mode: the
// agent's adopted children that carry the task's mark or are in its process
// group, and all of their descendants (which are re-parented to the agent
// as their parents die, and reaped here). leader is the task's process,
// which the caller reaps. It returns once none is left, or after a few
// seconds (a process stuck in uninterruptible sleep).
func killMarked(leader int, mark string) {
	self := os.Getpid()
	killed := map[int]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for {
		children := map[int][]int{}
		var roots []int
		fullScans.Add(1)
		scanProcParents(func(pid, ppid, pgid int, dead bool) {
			children[ppid] = append(children[ppid], pid)
			if ppid != self || pid == leader {
				return
			}
			if killed[pid] || pgid == leader || (!dead && hasMark(pid, mark)) {
				roots = append(roots, pid)
			}
		})
		if len(roots) == 0 {
			return
		}
		for stack := append([]int(nil), roots...); len(stack) > 0; {
			pid := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			_ = syscall.Kill(pid, syscall.SIGKILL)
			killed[pid] = true
			stack = append(stack, children[pid]...)
		}
		reaped := false
		for _, pid := range roots {
			var ws unix.WaitStatus
			// Our child, SIGKILLed: it dies now. WNOHANG: one stuck in
			// uninterruptible sleep does not hold the task's end forever.
			if n, _ := unix.Wait4(pid, &ws, unix.WNOHANG, nil); n == pid {
				reaped = true
			}
		}
		if time.Now().After(deadline) {
			return
		}
		if !reaped {
			time.Sleep(time.Millisecond)
		}
	}
}

// Descendants is the processes below pids (their children, and theirs),
// read from /proc: what a signal to a task's whole tree must reach before
// its own process ends and they are re-parented.
func Descendants(pids ...int) []int {
	children := map[int][]int{}
	scanProcParents(func(pid, ppid, _ int, dead bool) {
		if !dead {
			children[ppid] = append(children[ppid], pid)
		}
	})
	var out []int
	for todo := slices.Clone(pids); len(todo) > 0; {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, c := range children[p] {
			out = append(out, c)
			todo = append(todo, c)
		}
	}
	return out
}

// scanProcParents calls fn for every process with its parent and process
// group, and whether it has exited (a zombie).
func scanProcParents(fn func(pid, ppid, pgid int, dead bool)) {
	d, err := os.Open("/proc")
	if err != nil {
		return
	}
	defer d.Close()
	var buf [1024]byte
	for {
		names, err := d.Readdirnames(512)
		for _, name := range names {
			if name == "" || name[0] < '1' || name[0] > '9' {
				continue
			}
			pid, perr := strconv.Atoi(name)
			if perr != nil {
				continue
			}
			b, rerr := readProc(procPath(pid, "stat"), buf[:])
			if rerr != nil {
				continue
			}
			if ppid, pgid, state, ok := parseParent(b); ok {
				fn(pid, ppid, pgid, state == 'Z' || state == 'X')
			}
		}
		if err != nil {
			return
		}
	}
}

// parseParent reads the state, parent and process group of a /proc/PID/stat.
func parseParent(b []byte) (ppid, pgid int, state byte, ok bool) {
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return 0, 0, 0, false
	}
	p, err1 := strconv.Atoi(f[1])
	g, err2 := strconv.Atoi(f[2])
	return p, g, f[0][0], err1 == nil && err2 == nil
}
