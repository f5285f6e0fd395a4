package runner

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Memory enforcement modes, as MemoryEnforcement reports them.
const (
	EnforceCgroup2  = "cgroup2"   // a cgroup v2 per task: memory.max, memory.events, cgroup.kill
	EnforceCgroup1  = "cgroup1"   // a cgroup v1 memory cgroup per task: memory.limit_in_bytes
	EnforceRSSWatch = "rss-watch" // sum of RSS of the process group, polled every rssInterval
)

// ForceRSSWatch makes tasks started afterwards use the RSS watcher even where
// cgroups are available. It exists for tests; set it only while no Start runs.
var ForceRSSWatch bool

// cgroupRoot is where the cgroup filesystems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// rssInterval is how often the RSS watcher samples.
const rssInterval = 250 * time.Millisecond

var detected struct {
	once   sync.Once
	mode   string
	parent string // the "burst" cgroup directory that task cgroups go under
	home   string // this process's own cgroup directory, parent's parent
}

// MemoryEnforcement says how memory limits are enforced for tasks started now:
// EnforceCgroup2, EnforceCgroup1 or EnforceRSSWatch. The first call probes the
// machine (and creates the "burst" parent cgroup); the answer is cached.
func MemoryEnforcement() string {
	if ForceRSSWatch {
		return EnforceRSSWatch
	}
	detected.once.Do(detect)
	return detected.mode
}

func detect() {
	detected.mode = EnforceRSSWatch
	var fs unix.Statfs_t
	if unix.Statfs(cgroupRoot, &fs) == nil && fs.Type == unix.CGROUP2_SUPER_MAGIC {
		if p, err := setupV2(); err == nil {
			detected.mode, detected.parent, detected.home = EnforceCgroup2, p, filepath.Dir(p)
		}
		return
	}
	if p, err := setupV1(); err == nil {
		detected.mode, detected.parent, detected.home = EnforceCgroup1, p, filepath.Dir(p)
	}
}

// ownCgroup returns this process's cgroup path in the hierarchy that has
// controller ctl (v1), or in the unified hierarchy when ctl is "".
func ownCgroup(ctl string) (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if ctl == "" && parts[0] == "0" && parts[1] == "" {
			return parts[2], nil
		}
		if ctl != "" {
			for _, c := range strings.Split(parts[1], ",") {
				if c == ctl {
					return parts[2], nil
				}
			}
		}
	}
	return "", fmt.Errorf("no %q line in /proc/self/cgroup", ctl)
}

// cgroupMount finds a cgroup mount in /proc/self/mountinfo: the cgroup2 mount
// at mountpoint want (ctl ""), or a v1 mount whose super options include ctl.
// It returns the mount point and the root of the hierarchy mounted there.
func cgroupMount(ctl, want string) (mountpoint, root string, err error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", "", err
	}
	unescape := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		mp, rt := unescape.Replace(f[4]), unescape.Replace(f[3])
		switch {
		case ctl == "" && g[0] == "cgroup2" && mp == want:
			return mp, rt, nil
		case ctl != "" && g[0] == "cgroup":
			for _, o := range strings.Split(g[2], ",") {
				if o == ctl {
					return mp, rt, nil
				}
			}
		}
	}
	return "", "", fmt.Errorf("no cgroup mount for %q", ctl)
}

// ownCgroupDir is the directory of this process's own cgroup in the
// hierarchy mounted at mountpoint (root: the hierarchy path mounted there).
// Where it cannot be found (another mount namespace), it is the mount point.
func ownCgroupDir(mountpoint, root, own string) string {
	rel := own
	if root != "/" && root != "" {
		if own != root && !strings.HasPrefix(own, root+"/") {
			return mountpoint
		}
		rel = strings.TrimPrefix(own, root)
	}
	dir := filepath.Join(mountpoint, rel)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return mountpoint
	}
	return dir
}

func writeFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func mkdirOK(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return nil
}

// setupV1 prepares <own memory cgroup>/burst and checks that a child of it can
// be given a limit.
func setupV1() (string, error) {
	mp, root, err := cgroupMount("memory", "")
	if err != nil {
		return "", err
	}
	own, err := ownCgroup("memory")
	if err != nil {
		own = "/"
	}
	parent := filepath.Join(ownCgroupDir(mp, root, own), "burst")
	if err := mkdirOK(parent); err != nil {
		return "", err
	}
	probe := filepath.Join(parent, fmt.Sprintf(".probe-%d", os.Getpid()))
	if err := mkdirOK(probe); err != nil {
		return "", err
	}
	defer os.Remove(probe)
	if err := writeFile(filepath.Join(probe, "memory.limit_in_bytes"), "1073741824"); err != nil {
		return "", err
	}
	return parent, nil
}

// setupV2 prepares <own cgroup>/burst with the memory controller enabled for
// its children. That needs "memory" in the own cgroup's subtree_control, which
// the kernel refuses while the own cgroup (if not the root) holds processes
// ("no internal processes"): then cgroup2 is not used.
func setupV2() (string, error) {
	own, err := ownCgroup("")
	if err != nil {
		return "", err
	}
	_, root, err := cgroupMount("", cgroupRoot)
	if err != nil {
		root = "/"
	}
	base := ownCgroupDir(cgroupRoot, root, own)
	parent := filepath.Join(base, "burst")
	if err := mkdirOK(parent); err != nil {
		return "", err
	}
	if !hasController(parent, "memory") {
		_ = writeFile(filepath.Join(base, "cgroup.subtree_control"), "+memory")
		if !hasController(parent, "memory") {
			return "", errors.New("memory controller not available to " + parent)
		}
	}
	if err := writeFile(filepath.Join(parent, "cgroup.subtree_control"), "+memory"); err != nil {
		return "", err
	}
	probe := filepath.Join(parent, fmt.Sprintf(".probe-%d", os.Getpid()))
	if err := mkdirOK(probe); err != nil {
		return "", err
	}
	defer os.Remove(probe)
	if _, err := os.Stat(filepath.Join(probe, "memory.max")); err != nil {
		return "", err
	}
	if err := bornAlive(parent); err != nil {
		return "", err
	}
	return parent, nil
}

func hasController(dir, ctl string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return false
	}
	for _, c := range strings.Fields(string(b)) {
		if c == ctl {
			return true
		}
	}
	return false
}

// cgroup is one task's cgroup.
type cgroup struct {
	v1  bool
	dir string
	fd  int // v2: open directory, for CLONE_INTO_CGROUP; -1 when closed
	// events (v2, when eventsOpen): its cgroup.events, kept open while a
	// box serves task after task and read again at offset 0 at each
	// task's end: not an open and a close per task.
	events     int
	eventsOpen bool
	// killed: kill was called. Such a cgroup is never used again (see
	// release): Linux kills at birth a process cloned into a cgroup whose
	// kill count differs from that of its parent's cgroup (bornAlive).
	killed bool
	// home (v1) is this process's own cgroup in the same hierarchy,
	// where the starting thread goes back to.
	home string
	// freezer (v1): a freezer cgroup, frozen while it is killed.
	freezer bool
}

// safeName makes s usable as a directory name.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	s = string(b)
	if s == "" || s[0] == '.' {
		s = "task" + s
	}
	return s
}

var taskSeq struct {
	sync.Mutex
	n int
}

// newCgroup creates the task's cgroup under parent (the "burst" cgroup; the
// task's goes in this agent's directory there) and sets its memory limit.
func newCgroup(mode, parent, name string, limit int64) (*cgroup, error) {
	dir, err := agentDir(parent, mode == EnforceCgroup2)
	if err != nil {
		return nil, err
	}
	cg, err := makeCgroupDir(dir, name, mode == EnforceCgroup1)
	if err != nil {
		return nil, err
	}
	cg.home = detected.home
	lim := strconv.FormatInt(limit, 10)
	if cg.v1 {
		// The limit is set by setLimitV1 once the task is in, and the
		// agent's thread that started it is out.
		err = writeFile(filepath.Join(cg.dir, "memory.oom_control"), "0") // OOM killer on
	} else {
		err = writeFile(filepath.Join(cg.dir, "memory.max"), lim)
		if err == nil {
			if _, serr := os.Stat(filepath.Join(cg.dir, "memory.swap.max")); serr == nil {
				_ = writeFile(filepath.Join(cg.dir, "memory.swap.max"), "0")
			}
			cg.fd, err = unix.Open(cg.dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		}
	}
	if err != nil {
		cg.remove()
		return nil, fmt.Errorf("set up cgroup %s: %w", cg.dir, err)
	}
	return cg, nil
}

// makeCgroupDir creates a task's cgroup directory in dir, named after the
// task (name) or, without a name, after this process and a sequence number.
func makeCgroupDir(dir, name string, v1 bool) (*cgroup, error) {
	if name == "" {
		taskSeq.Lock()
		taskSeq.n++
		name = fmt.Sprintf("task-%d-%d", os.Getpid(), taskSeq.n)
		taskSeq.Unlock()
	}
	base := safeName(name)
	cg := &cgroup{v1: v1, fd: -1}
	for i := 0; ; i++ {
		cg.dir = filepath.Join(dir, base)
		if i > 0 {
			cg.dir += "~" + strconv.Itoa(i)
		}
		err := os.Mkdir(cg.dir, 0o755)
		if err == nil {
			return cg, nil
		}
		if !errors.Is(err, os.ErrExist) || i >= 20 {
			return nil, err
		}
		// Left over by an earlier task: reuse the name if it is empty.
		if os.Remove(cg.dir) == nil && os.Mkdir(cg.dir, 0o755) == nil {
			return cg, nil
		}
	}
}

// setLimitV1 sets the v1 cgroup's limit. The kernel refuses (EBUSY) a limit
// below what the cgroup already uses and cannot reclaim.
func (cg *cgroup) setLimitV1(limit int64) error {
	lim := strconv.FormatInt(limit, 10)
	if err := writeFile(filepath.Join(cg.dir, "memory.limit_in_bytes"), lim); err != nil {
		return err
	}
	// Memory+swap: absent without swap accounting.
	_ = writeFile(filepath.Join(cg.dir, "memory.memsw.limit_in_bytes"), lim)
	return nil
}

func (cg *cgroup) closeFD() {
	if cg.fd >= 0 {
		unix.Close(cg.fd)
		cg.fd = -1
	}
}

// addProc moves pid into the cgroup.
func (cg *cgroup) addProc(pid int) error {
	return writeFile(filepath.Join(cg.dir, "cgroup.procs"), strconv.Itoa(pid))
}

func (cg *cgroup) procs() []int {
	b, err := os.ReadFile(filepath.Join(cg.dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// kill sends SIGKILL to everything in the cgroup, including processes that
// left the task's process group. v2 uses cgroup.kill (Linux 5.14+). v1 has no
// such file: the pids are read and killed one by one, which could in theory
// hit a pid that exited and was reused between the read and the kill.
func (cg *cgroup) kill() {
	cg.killed = true
	if !cg.v1 && writeFile(filepath.Join(cg.dir, "cgroup.kill"), "1") == nil {
		return
	}
	if cg.freezer && cg.freezeKill() {
		return
	}
	self := os.Getpid()
	for _, pid := range cg.procs() {
		if pid != self {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// oomKilled reports whether the kernel's OOM killer killed a process of the
// cgroup. v1 kernels older than 4.13 lack the oom_kill counter; then a hit
// limit (failcnt) together with death by SIGKILL stands for it.
func (cg *cgroup) oomKilled(sig syscall.Signal) bool {
	if !cg.v1 {
		return keyedValue(filepath.Join(cg.dir, "memory.events"), "oom_kill") > 0
	}
	if n := keyedValue(filepath.Join(cg.dir, "memory.oom_control"), "oom_kill"); n >= 0 {
		return n > 0
	}
	if sig != syscall.SIGKILL {
		return false
	}
	for _, f := range []string{"memory.failcnt", "memory.memsw.failcnt"} {
		b, err := os.ReadFile(filepath.Join(cg.dir, f))
		if err == nil {
			if n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); n > 0 {
				return true
			}
		}
	}
	return false
}

// keyedValue reads "key value" lines and returns key's value, or -1.
func keyedValue(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}

// remove kills what is left in the cgroup and removes it, retrying while the
// kernel still counts exiting processes in it. It gives up after a few seconds
// (a process stuck in uninterruptible sleep), leaving the directory.
func (cg *cgroup) remove() {
	cg.closeFD()
	if cg.eventsOpen {
		unix.Close(cg.events)
		cg.eventsOpen = false
	}
	deadline := time.Now().Add(5 * time.Second)
	delay := time.Millisecond
	for {
		err := os.Remove(cg.dir)
		if err == nil || errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return
		}
		cg.kill()
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// watcher is the one RSS watcher shared by all tasks that use EnforceRSSWatch.
// Its goroutine runs only while some task is registered.
var watcher struct {
	sync.Mutex
	tasks   map[int]*Task // by process group
	running bool
}

func watchRSS(t *Task) {
	watcher.Lock()
	defer watcher.Unlock()
	if watcher.tasks == nil {
		watcher.tasks = make(map[int]*Task)
	}
	watcher.tasks[t.pid] = t
	if !watcher.running {
		watcher.running = true
		go watchLoop()
	}
}

func unwatchRSS(t *Task) {
	watcher.Lock()
	if watcher.tasks[t.pid] == t {
		delete(watcher.tasks, t.pid)
	}
	watcher.Unlock()
}

func watchLoop() {
	tick := time.NewTicker(rssInterval)
	defer tick.Stop()
	page := int64(os.Getpagesize())
	for range tick.C {
		watcher.Lock()
		if len(watcher.tasks) == 0 {
			watcher.running = false
			watcher.Unlock()
			return
		}
		watched := make(map[int]*Task, len(watcher.tasks))
		for pgid, t := range watcher.tasks {
			watched[pgid] = t
		}
		watcher.Unlock()

		sums := make(map[int]int64, len(watched))
		scanProc(func(_ int, s procStat) {
			if _, ok := watched[s.pgid]; ok {
				sums[s.pgid] += s.rssPages * page
			}
		})
		for pgid, sum := range sums {
			if t := watched[pgid]; sum > t.spec.MemBytes {
				t.oomKill()
			}
		}
	}
}

// formatBytes writes n for people: "100 MiB", "2 GiB", "1.5 GiB", "512 bytes".
func formatBytes(n int64) string {
	const (
		kiB = 1 << 10
		miB = 1 << 20
		giB = 1 << 30
	)
	switch {
	case n >= giB && n%giB == 0:
		return fmt.Sprintf("%d GiB", n/giB)
	case n >= giB:
		return fmt.Sprintf("%.1f GiB", float64(n)/giB)
	case n >= miB && n%miB == 0:
		return fmt.Sprintf("%d MiB", n/miB)
	case n >= miB:
		return fmt.Sprintf("%.1f MiB", float64(n)/miB)
	case n >= kiB && n%kiB == 0:
		return fmt.Sprintf("%d KiB", n/kiB)
	}
	return fmt.Sprintf("%d bytes", n)
}
