package runner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/shellquote"
)

// Spec says what to run and under which limits.
type Spec struct {
	Argv []string // run directly, never through a shell; Argv[0] is looked up in Env's PATH
	Env  []string // the whole environment, KEY=VALUE; nil means an empty one
	Dir  string   // working directory; "" inherits the agent's

	// Stdout and Stderr are file paths, created with their parent directories
	// (0644, or 0600 in a private directory: privateModes) and opened for
	// appending. The child writes to them itself; no
	// output passes through this process. The same path for both gives one
	// shared file; "" means /dev/null.
	Stdout, Stderr string

	MemBytes  int64         // memory limit of the whole task; 0 = none
	TimeLimit time.Duration // 0 = none
	Grace     time.Duration // between SIGTERM and SIGKILL on timeout and cancel; 0 = DefaultGrace
	Name      string        // names the task's cgroup, e.g. "17.0.1" (job.task.attempt)
	// Nice is the niceness the task starts at (0: the agent's own): it
	// is born at it, so all it starts inherit it (startFromThread).
	Nice int
	// Truncate replaces what the log files hold (an earlier attempt\'s output)
	// instead of appending to it.
	Truncate bool
	// Direct gives the child its Stdout and Stderr files themselves, opened
	// at the start, as sbatch does: they exist from the start, and a missing
	// directory fails the task rather than being created. Otherwise output
	// passes through a pipe and a file is created at its first byte.
	Direct bool
	// Private, when set, is a directory no Direct output file may be in,
	// whatever links its path goes through (burst's own $BURST_HOME).
	Private string
	// PackAs, when set (the machine's name), lets output that is small
	// and quick go to the pack file of Stdout's (Stderr's) directory
	// instead of a file of its own: the Result says where (pack.go). For
	// burst's own logs, started afresh (Truncate), not Direct.
	PackAs string

	// In and Out, when set, are the child's stdin and stdout (a pipe, a
	// socket, a file: a stage of a pipe), instead of /dev/null and the
	// Stdout path. Start owns them: it closes them once the child has its
	// copies, so that end-of-file and EPIPE reach the other side as soon as
	// the child is gone.
	In, Out *os.File
	// IOStats asks for the bytes that passed through In and Out where
	// burst can count them: a regular file's (the pipe's input file, its
	// output file or log), as the distance its offset moved while the
	// process ran. Through an OS pipe or a socket the bytes go from process
	// to process without burst; those are not counted (0).
	IOStats bool
	// Warn, when set with a TimeLimit, signals the task's processes some
	// time before the limit (Slurm's --signal).
	Warn *Warning
	// Notice, when set, gives a line the runner appends to the task's
	// Stderr (a Direct file) when it stops the task for its time limit or
	// a cancel, or the task ran out of memory (what Slurm's slurmstepd
	// writes into a batch job's error file); "" adds none.
	Notice func(n Notice, at time.Time) string
	// Preface, when set, is written to a Direct Stderr before the task
	// starts (what slurmstepd says of the step's setup, such as a TMPDIR
	// it could not make).
	Preface string
	// ExecFailed, when set, says how the task ends when its program could
	// not be executed (the task's fault, not its machine's): the line for
	// its Stderr, in place of burst's, and its exit code (slurmstepd's for
	// a batch script: execve's errno); ok false, or nil: burst's line, and
	// 127 or 126 as a shell says them. With it set, a file the kernel
	// cannot execute (ENOEXEC: no #! line, or one naming a file that is
	// no program) is one of those failures, not run by /bin/sh.
	ExecFailed func(err error) (line string, code int, ok bool)
	// UserNS starts the child in new user and mount namespaces, the
	// agent's uid and gid mapped to 0 there (a writable stack's overlay,
	// mounted by the child: agent/stackexec.go).
	UserNS bool
}

// Warning is a signal sent Before a task's time limit (Slurm's
// --signal=[B:]SIG@TIME). With Leader the task's program alone gets it
// (B:, the batch shell); otherwise the job's steps do (ScopeSteps).
type Warning struct {
	Signal syscall.Signal
	Before time.Duration
	Leader bool
}

// Notice is what Spec.Notice is asked for.
type Notice int

const (
	NoticeTimeLimit Notice = iota + 1 // stopped for its time limit
	NoticeCancelled                   // stopped by a cancel
	NoticeOOM                         // ended, out of memory
	NoticeRequeued                    // stopped to run again (scontrol requeue)
)

// DefaultGrace is the grace period when Spec.Grace is 0.
const DefaultGrace = 10 * time.Second

// DefaultPath is searched when Env has no PATH.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Result is how a task ended.
type Result struct {
	// State is Succeeded (exit 0), Failed (nonzero exit, signal, out of
	// memory, or could not start), Timeout or Cancelled; Lost when it could
	// not start for want of its machine's resources (failStart).
	State    burst.State
	ExitCode *int   // nil when killed by a signal or never started
	Signal   int    // the signal that killed it, else 0
	Reason   string // "" or why, for people: "out of memory (limit 100 MiB)", "cancelled", ...

	StartedAt, EndedAt time.Time
	UserCPU, SysCPU    time.Duration // of the task and the descendants it waited for (wait4 rusage)
	// MaxRSS is the largest RSS, in bytes, of the task's process or of one
	// of its descendants: ru_maxrss where that is the task's own, else the
	// largest VmHWM sampled (see peak.go); 0 when unknown.
	MaxRSS   int64
	OutBytes int64 // bytes it wrote to its log files (stdout and stderr)
	// StdoutTo and StderrTo are where its output ends in its Direct files
	// (their sizes when it ended); 0 for other outputs.
	StdoutTo, StderrTo int64
	// StdoutPacked and StderrPacked say where its output was kept when it
	// went to a pack file rather than its log (Spec.PackAs); Path "" else.
	StdoutPacked, StderrPacked Packed
	// With Spec.IOStats: bytes the process (and whatever shared its
	// descriptors) read from In and wrote to Out, where these are regular
	// files; 0 otherwise.
	ReadBytes, WroteBytes int64
}

// Task is a started task. Its methods are safe for concurrent use.
type Task struct {
	spec  Spec
	grace time.Duration
	outs  []*output // copiers of stdout and stderr to their files
	pid   int
	ticks uint64 // read lazily (StartTicks), under mu
	proc  *os.Process
	cg    *cgroup // nil unless memory is limited by a cgroup
	mode  string  // memory enforcement in use; "" when no limit
	// box is the task's containment cgroup (ContainCgroup2) when cg is
	// not one already: everything the task starts is born in it.
	box *cgroup
	// mark is the task's marker (ContainSubreaper): its processes carry
	// it in their environment.
	mark string
	peakHolder
	ioMu              sync.Mutex    // keeps the counters' descriptors open while Progress seeks them (one lseek, not a wait)
	inCount, outCount offsetCounter // Spec.IOStats

	mu         sync.Mutex
	exited     bool          // the process has exited; no signal may be sent any more
	ending     burst.State   // Cancelled or Timeout once termination was asked for
	oomKilled  bool          // killed by the RSS watcher, or over the limit at start
	limit      time.Duration // the time limit now: Spec.TimeLimit, or SetTimeLimit's
	limitGen   int           // counts armLimit's calls: a replaced limit's timers end nothing
	warned     bool          // Spec.Warn's signal was sent: a new limit sends it no more
	limitTimer *time.Timer
	warnTimer  *time.Timer // Spec.Warn's
	graceTimer *time.Timer
	killers    sync.WaitGroup // forceKill's cgroup kills under way (added under mu while !exited)

	done chan struct{}
	res  Result
}

// Start starts the task's process and returns at once. It fails only for
// problems that are burst's, before the process is created (a log file that
// cannot be created, an empty Argv). A program that cannot be executed is
// the task's problem: Start returns a Task whose Result is Failed with exit
// code 127 and a "cannot start: ..." reason, also written to the stderr file.
//
// The process leads its own process group; everything sent to the task goes
// to the whole group (and to the processes in its cgroup that left the
// group). When the process exits, whatever it started is killed, wherever
// it went (see Containment): its cgroup, or in subreaper mode everything
// that carries its marker, and its process group.
func Start(spec Spec) (*Task, error) {
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return nil, errors.New("runner: empty argv")
	}
	if spec.MemBytes < 0 || spec.TimeLimit < 0 || spec.Grace < 0 {
		return nil, errors.New("runner: negative limit")
	}
	if spec.In != nil {
		defer spec.In.Close()
	}

	if spec.Out != nil {
		defer spec.Out.Close()
	}
	outPath := spec.Stdout
	if spec.Out != nil {
		outPath = ""
	}
	stdout, stderr, outs, err := openOutputs(outPath, spec.Stderr, spec.Truncate, spec.Direct, spec.Private, spec.PackAs)
	if err != nil {
		return nil, err
	}
	if spec.Preface != "" && spec.Direct {
		stderr.WriteString(spec.Preface) // opened to append: after what the file held
	}
	defer stdout.Close()
	if stderr != stdout {
		defer stderr.Close()
	}
	if spec.Out != nil {
		stdout = spec.Out
	}
	stdin := spec.In
	if stdin == nil {
		if stdin, err = devNull(); err != nil {
			go (&Task{outs: outs}).flushOutputs() // its pipes close as this returns
			return nil, err
		}
	}

	var inCount, outCount offsetCounter
	if spec.IOStats {
		inCount, outCount = newOffsetCounter(spec.In), newOffsetCounter(spec.Out)
	}
	t := &Task{spec: spec, grace: spec.Grace, done: make(chan struct{}), outs: outs, inCount: inCount, outCount: outCount}
	if t.grace == 0 {
		t.grace = DefaultGrace
	}
	env := spec.Env
	if env == nil {
		env = []string{}
	}
	path, err := lookPath(spec.Argv[0], env, spec.Dir)
	if err != nil {
		t.failStart(startHint(err, spec.Argv[0], spec.Dir), stderr, true)
		return t, nil
	}

	if spec.MemBytes > 0 {
		t.mode = MemoryEnforcement()
		if t.mode != EnforceRSSWatch {
			t.cg, err = newCgroup(t.mode, detected.parent, spec.Name, spec.MemBytes)
			if err != nil {
				t.mode = EnforceRSSWatch // still limited, if less tightly
			}
		}
	}

	switch Containment() {
	case ContainCgroup2, ContainCgroup1:
		if t.cg == nil || t.cg.v1 {
			if t.box, err = mkBox(); err != nil {
				t.box = nil
				if MachineShort(err) {
					// Out of descriptors or memory: the machine's
					// fault, not the task's; it runs again elsewhere.
					if t.cg != nil {
						t.cg.remove()
					}
					t.failStart(fmt.Errorf("make its containment cgroup: %w", err), stderr, false)
					return t, nil
				}
				if boxFallback(err) {
					t.mark = newMark()
				}
			}
		}
	case ContainSubreaper:
		t.mark = newMark()
	}
	if t.mark != "" {
		env = append(env[:len(env):len(env)], markerVar+"="+t.mark)
	}

	sys := &syscall.SysProcAttr{Setpgid: true}
	if spec.UserNS {
		sys.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS
		sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	if into := t.v2(); into != nil {
		// Born inside its cgroup (clone3 CLONE_INTO_CGROUP): no window.
		sys.UseCgroupFD, sys.CgroupFD = true, into.fd
	}
	attr := &os.ProcAttr{Dir: spec.Dir, Env: env, Files: []*os.File{stdin, stdout, stderr}, Sys: sys}
	t.res.StartedAt = time.Now()
	var p *os.Process
	argv := spec.Argv
	start := func() {
		var v1 []*cgroup
		for _, cg := range []*cgroup{t.cg, t.box} {
			if cg != nil && cg.v1 {
				v1 = append(v1, cg)
			}
		}
		if len(v1) == 0 && spec.Nice == 0 {
			p, err = os.StartProcess(path, argv, attr)
			return
		}
		var in []bool
		p, in, err = startFromThread(v1, spec.Nice, path, argv, attr)
		for i, cg := range v1 {
			switch {
			case err != nil || in[i]:
			case cg == t.box:
				t.box.remove()
				t.box = nil
				boxGone()
			default:
				t.cg.remove()
				t.cg, t.mode = nil, EnforceRSSWatch
			}
		}
	}
	start()
	for try := 0; err != nil && errors.Is(err, syscall.ETXTBSY) && try < textBusyTries; try++ {
		// "text file busy": a writer's descriptor of the program (a staged
		// input copied in moments before) is still open in a process
		// another goroutine forked and that has not exec'd yet. That lasts
		// a moment: wait it out, as the go command does for its binaries.
		time.Sleep(time.Millisecond << try)
		start()
	}
	if err != nil && sys.UseCgroupFD && cloneIntoCgroupUnsupported(err) {
		// Kernel before 5.7, or a cgroup it will not start into: move
		// the process in after the fork. Children it forks before that
		// (there is no way to stop it in between) escape the cgroup,
		// though not the kill of its process group.
		sys.UseCgroupFD, sys.CgroupFD = false, 0
		start()
		if err == nil && t.v2() != nil {
			t.joinCgroup(p.Pid)
		}
	}
	if err != nil && errors.Is(err, syscall.ENOEXEC) && spec.ExecFailed == nil {
		// An executable file the kernel cannot run: a script with no #!
		// line. /bin/sh runs it, as execvp does (a shell's command
		// lookup, xargs, GNU parallel through its shell); not where
		// ExecFailed ends the task as slurmstepd does (its execve runs
		// no shell: a #! naming a file that is no program is "Exec
		// format error").
		// After the fallback above, so that a kernel that cannot start
		// into a cgroup runs such a script too (and moves it in).
		path, argv = "/bin/sh", append([]string{"/bin/sh", path}, spec.Argv[1:]...)
		start()
		if err == nil && !sys.UseCgroupFD && t.v2() != nil {
			t.joinCgroup(p.Pid)
		}
	}
	if t.cg != nil {
		t.cg.closeFD()
	}
	if err != nil {
		if t.cg != nil {
			t.cg.remove()
		}
		if t.box != nil {
			t.box.release()
			t.box = nil
		}
		forgetPath(spec.Argv[0], env, spec.Dir)
		t.failStart(startHint(badDir(err, spec.Dir), path, spec.Dir), stderr, true)
		return t, nil
	}
	t.proc, t.pid = p, p.Pid
	for _, o := range outs {
		o.stopOnFull(t.forceKill) // its log met a full filesystem: at once, no grace (output.go)
	}
	if t.mark != "" {
		addLeader(t.pid) // not an orphan: see mayHaveOrphans
	}
	t.execAt = time.Now() // os.StartProcess returns once the exec is done
	// Its start time (StartTicks) is read when first asked for, and its
	// peak memory first sampled a millisecond in: most tasks of a map are
	// gone by then and need neither. (A sample at once, just after the
	// exec, saw a few KiB, before the program had even loaded its
	// libraries, at the cost of a /proc read per task.)
	overLimit := false
	if t.cg != nil && t.cg.v1 {
		if err := t.cg.setLimitV1(spec.MemBytes); errors.Is(err, syscall.EBUSY) {
			overLimit = true // already using more than its limit
		} else if err != nil {
			t.mode = EnforceRSSWatch // the cgroup stays, for the final kill
		}
	}
	if t.mode == EnforceRSSWatch {
		watchRSS(t)
	}
	if overLimit {
		t.oomKill()
	}
	if spec.TimeLimit > 0 {
		t.mu.Lock()
		t.armLimit(spec.TimeLimit, true)
		t.mu.Unlock()
	}
	go t.wait()
	return t, nil
}

// armLimit sets the timers of time limit d (> 0), counted from the task's
// start, and of Spec.Warn's signal before it when warn; t.mu held.
func (t *Task) armLimit(d time.Duration, warn bool) {
	t.limit = d
	t.limitGen++
	gen := t.limitGen
	left := max(time.Until(t.res.StartedAt.Add(d)), 0)
	t.limitTimer = time.AfterFunc(left, func() {
		// A timer of a limit SetTimeLimit replaced may fire all the
		// same (it had fired as it was stopped): it ends nothing.
		t.mu.Lock()
		current := gen == t.limitGen
		t.mu.Unlock()
		if current {
			t.terminate(burst.Timeout, NoticeTimeLimit)
		}
	})
	if w := t.spec.Warn; warn && w != nil && w.Signal != 0 {
		// At the earliest a second in (or at the limit, if sooner): a
		// script has set its trap by then (Slurm looks every 30 s or so).
		at := max(min(time.Second, d), d-w.Before)
		t.warnTimer = time.AfterFunc(max(time.Until(t.res.StartedAt.Add(at)), 0), func() {
			t.mu.Lock()
			current := gen == t.limitGen
			t.warned = t.warned || current
			t.mu.Unlock()
			if current {
				t.warn()
			}
		})
	}
}

// SetTimeLimit gives the running task time limit d instead (0: none),
// counted from its start as the first was (scontrol update TimeLimit= of
// a running job): one already past ends it now. Spec.Warn's signal is
// moved with it unless it was sent already (it is not sent twice).
func (t *Task) SetTimeLimit(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.exited || t.ending != "" || d == t.limit {
		return
	}
	if t.limitTimer != nil {
		t.limitTimer.Stop()
		t.limitTimer = nil
	}
	if t.warnTimer != nil {
		t.warnTimer.Stop()
		t.warnTimer = nil
	}
	t.limit = 0
	t.limitGen++ // the old timers, fired already or not, end nothing
	if d > 0 {
		t.armLimit(d, !t.warned)
	}
}

// startFromThread starts the process from a thread of its own: one first
// moved into the task's v1 cgroups (v1 places threads, not processes), so
// the child is born in them, and given the task's niceness (a thread's own
// on Linux), so the child is born at it. Moving it after the fork would
// leave out whatever it forked in between, and a shell forks at once. The
// thread is moved back right after (if that fails, or it was made nicer,
// which only a privileged process could undo, its goroutine ends still
// locked to it and the Go runtime discards the thread). The limit is set
// only once the thread is out, so an OOM kill in the cgroup cannot pick
// the agent; while the thread is in, the cgroup lists the agent's pid,
// which cgroup.kill never kills. If the thread cannot be moved in, the
// process is moved after the fork, with the window that implies. in[i] is
// false if neither worked for cgs[i].
func startFromThread(cgs []*cgroup, nice int, path string, argv []string, attr *os.ProcAttr) (p *os.Process, in []bool, err error) {
	type started struct {
		p     *os.Process
		moved []bool
		err   error
	}
	ch := make(chan started, 1)
	go func() {
		runtime.LockOSThread()
		tid := strconv.Itoa(unix.Gettid())
		if nice != 0 {
			// Never unlocked: the thread keeps the niceness, and goes. One
			// below the agent's own that it may not take (unprivileged)
			// leaves the agent's, as nice(1) runs the command anyway.
			_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice)
		}
		moved := make([]bool, len(cgs))
		for i, cg := range cgs {
			moved[i] = writeFile(filepath.Join(cg.dir, "tasks"), tid) == nil
		}
		p, err := os.StartProcess(path, argv, attr)
		back := nice == 0
		for i, cg := range cgs {
			if moved[i] && writeFile(filepath.Join(cg.home, "tasks"), tid) != nil {
				back = false
			}
		}
		if back {
			runtime.UnlockOSThread()
		}
		ch <- started{p, moved, err}
	}()
	s := <-ch
	if s.err != nil {
		return nil, nil, s.err
	}
	in = make([]bool, len(cgs))
	for i, cg := range cgs {
		// A no-op when it was born there.
		in[i] = cg.addProc(s.p.Pid) == nil || s.moved[i]
	}
	return s.p, in, nil
}

// v2 is the cgroup v2 the task is born in: its box, or its memory cgroup.
func (t *Task) v2() *cgroup {
	switch {
	case t.box != nil && !t.box.v1:
		return t.box
	case t.cg != nil && !t.cg.v1:
		return t.cg
	}
	return nil
}

// joinCgroup moves pid into the task's cgroup v2 (after the fork); when
// that fails the RSS watcher enforces the limit instead, and without its
// box the task is contained by its process group only.
func (t *Task) joinCgroup(pid int) {
	if t.box != nil {
		if err := t.box.addProc(pid); err != nil {
			t.box.remove()
			t.box = nil
			boxGone()
		}
		return
	}
	if err := t.cg.addProc(pid); err != nil {
		t.cg.remove()
		t.cg, t.mode = nil, EnforceRSSWatch
	}
}

// cloneIntoCgroupUnsupported reports whether a start failed because the
// kernel refused clone3 with CLONE_INTO_CGROUP (rather than the exec).
func cloneIntoCgroupUnsupported(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.ENOSYS, syscall.EINVAL, syscall.EBUSY, syscall.EOPNOTSUPP, syscall.EPERM:
		return true
	}
	return false
}

// textBusyTries is how many times Start tries again a program the kernel
// refuses as open for writing (ETXTBSY), waiting 1, 2, 4, ... ms between:
// half a second in all.
const textBusyTries = 9

// failStart ends a task that could not be started: Failed when the reason
// is the task's, with exit code 127 for a program or directory not found
// and 126 for one found that cannot be run (not executable, a directory,
// arguments too long), as a shell, xargs and GNU parallel say them; Lost
// when it is its machine's (out of descriptors, memory or processes: see
// MachineShort), so that it runs again without using one of its retries.
// With program (its program could not be executed), Spec.ExecFailed may say
// otherwise.
func (t *Task) failStart(err error, stderr *os.File, program bool) {
	now := time.Now()
	code := 127
	if cannotRun(err) {
		code = 126
	}
	t.res = Result{
		State:     burst.Failed,
		ExitCode:  &code,
		Reason:    "cannot start: " + err.Error(),
		StartedAt: now,
		EndedAt:   now,
	}
	switch {
	case MachineShort(err):
		t.res.State, t.res.ExitCode = burst.Lost, nil
		t.res.Reason += " (this machine is short of resources, not the task's fault)"
	case builtin(err):
		t.res.Reason += " (a shell builtin, not a program: run it in a shell: burst map --shell ..., or sh -c '...')"
	case errors.Is(err, syscall.E2BIG):
		t.res.Reason += fmt.Sprintf(" (Linux runs a program with arguments of at most %d bytes each, and %d bytes of arguments and environment together: pass long text in a file)",
			burst.MaxArgBytes, 2<<20)
	}
	line := "burst: " + t.res.Reason
	if program && t.res.State == burst.Failed && t.spec.ExecFailed != nil {
		if l, c, ok := t.spec.ExecFailed(err); ok {
			line, *t.res.ExitCode = l, c
		}
	}
	fmt.Fprintln(stderr, line)
	t.inCount.done()
	t.outCount.done()
	t.exited = true
	go func() { // Start closes the pipes' write ends on its way out
		t.flushOutputs()
		t.packedInto(&t.res)
		close(t.done)
	}()
}

// builtin says err is a program not found that is a shell's builtin
// (exit, cd, source, ...): a command written for a shell.
func builtin(err error) bool {
	var ee *exec.Error
	if !errors.As(err, &ee) || !errors.Is(err, exec.ErrNotFound) {
		return false
	}
	return shellquote.Builtin(ee.Name)
}

// cannotRun says err is about a program found that cannot be run (126),
// rather than one not found (127).
func cannotRun(err error) bool {
	for _, e := range []error{syscall.EACCES, syscall.EPERM, syscall.EISDIR, syscall.ENOEXEC, syscall.E2BIG, fs.ErrPermission} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// flushOutputs waits until the task's output is in its files (or its
// pack), and gives back its packs.
func (t *Task) flushOutputs() {
	for _, o := range t.outs {
		o.wait(2 * time.Second)
	}
	releasePacks(t.outs)
}

// packedInto records in r where the task's packed outputs went (one output
// is both streams' when they share a file).
func (t *Task) packedInto(r *Result) {
	for _, o := range t.outs {
		if o.packed.Path == "" {
			continue
		}
		if o.path == t.spec.Stdout && t.spec.Out == nil {
			r.StdoutPacked = o.packed
		}
		if o.path == t.spec.Stderr {
			r.StderrPacked = o.packed
		}
	}
}

func openLog(path string, truncate bool, private string) (*os.File, error) {
	if path == "" {
		return os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	}
	flags := os.O_WRONLY | os.O_APPEND | os.O_CREATE
	if truncate {
		flags |= os.O_TRUNC
	}
	dirMode, mode := logModes(path, private)
	f, err := os.OpenFile(path, flags, mode)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	// Its directory is missing: only then pay for creating it.
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return nil, err
	}
	return os.OpenFile(path, flags, mode)
}

// logModes returns the modes for the directories and the file created for
// a log at path: 0700 and 0600 inside burst's home, private (task logs
// hold what tasks printed, secrets included), decided by the path alone,
// not by the mode of wherever a link in it leads, and with no stat per
// task; elsewhere as privateModes finds.
func logModes(path, private string) (os.FileMode, os.FileMode) {
	if private != "" && strings.HasPrefix(path, strings.TrimSuffix(private, "/")+"/") {
		return 0o700, 0o600
	}
	return privateModes(filepath.Dir(path))
}

// privateModes returns the modes for directories and files created in dir:
// 0700 and 0600 where dir (or, while it does not exist, the nearest
// directory above it) is closed to group and others; 0755 and 0644
// elsewhere, as a user's own output files would be.
func privateModes(dir string) (os.FileMode, os.FileMode) {
	for {
		fi, err := os.Stat(dir)
		if err == nil {
			if fi.Mode().Perm()&0o077 == 0 {
				return 0o700, 0o600
			}
			return 0o755, 0o644
		}
		up := filepath.Dir(dir)
		if up == dir {
			return 0o755, 0o644
		}
		dir = up
	}
}

// devNull is every task's standard input, opened once: children get their
// own copy of the descriptor. A failed open (EMFILE during a flood) is not
// remembered: the next task tries again.
func devNull() (*os.File, error) {
	if f := devNullFile.Load(); f != nil {
		return f, nil
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	if !devNullFile.CompareAndSwap(nil, f) {
		f.Close()
	}
	return devNullFile.Load(), nil
}

var devNullFile atomic.Pointer[os.File]

// pathCache remembers where lookPath found a program in a given PATH and
// directory, so that a map of 10^6 tasks does not stat the PATH 10^6 times.
// An entry is dropped when exec fails with it (the program moved).
var pathCache struct {
	sync.Mutex
	m map[[3]string]string
}

// lookPath finds the program as execvp would, but in the task's PATH (from
// env) and relative to the task's directory, not the agent's.
func lookPath(name string, env []string, dir string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil // exec reports what is wrong with it
	}
	path, found := DefaultPath, false
	for i := len(env) - 1; i >= 0 && !found; i-- {
		if v, ok := strings.CutPrefix(env[i], "PATH="); ok {
			path, found = v, true
		}
	}
	key := [3]string{name, path, dir}
	pathCache.Lock()
	p, ok := pathCache.m[key]
	pathCache.Unlock()
	if ok {
		return p, nil
	}
	p, err := searchPath(name, path, dir)
	if err == nil {
		pathCache.Lock()
		if pathCache.m == nil || len(pathCache.m) > 4096 {
			pathCache.m = map[[3]string]string{}
		}
		pathCache.m[key] = p
		pathCache.Unlock()
	}
	return p, err
}

// badDir names a working directory that is missing or no directory as
// such: exec blames the program for it ("fork/exec /usr/bin/true: no such
// file or directory"), which sends a person looking in the wrong place.
func badDir(err error, dir string) error {
	if dir == "" || !(errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
		return err
	}
	switch fi, serr := os.Stat(dir); {
	case errors.Is(serr, fs.ErrNotExist):
		return fmt.Errorf("working directory %s does not exist on this machine: create it, or submit from a directory the machine has", dir)
	case serr == nil && !fi.IsDir():
		return fmt.Errorf("working directory %s is not a directory: submit from a directory", dir)
	}
	return err
}

// startHint adds to the error of a program that could not be started
// (prog: its name, or the path it was found at) the fix where exec's words
// hide it, as a shell's "bad interpreter" does: a program named without
// ./ that is in the working directory, which PATH lookup does not search;
// a file with no execute bit; a script that exists but whose #! line names
// an interpreter this machine lacks (exec says the script is missing), a
// carriage return ending that line (Windows line endings) included.
func startHint(err error, prog, dir string) error {
	var ee *exec.Error
	if errors.As(err, &ee) && errors.Is(err, exec.ErrNotFound) {
		fi, serr := os.Stat(filepath.Join(dir, prog))
		if strings.Contains(prog, "/") || serr != nil || !fi.Mode().IsRegular() {
			return err
		}
		fix := "run it as ./" + prog
		if fi.Mode()&0o111 == 0 {
			fix = "make it executable (chmod +x " + prog + ") and run it as ./" + prog
		}
		return fmt.Errorf("%w (%s is in the working directory, which is not searched for programs: %s)", err, prog, fix)
	}
	file := prog
	if !filepath.IsAbs(file) && dir != "" {
		file = filepath.Join(dir, file)
	}
	fi, serr := os.Stat(file)
	if serr != nil || !fi.Mode().IsRegular() {
		return err
	}
	switch {
	case errors.Is(err, syscall.EACCES) && fi.Mode()&0o111 == 0:
		with := "sh"
		if interp, _ := interpreter(file); interp != "" {
			with = interp
		}
		return fmt.Errorf("%w (%s is not executable: chmod +x %s, or name its interpreter first: %s %s)", err, prog, prog, with, prog)
	case errors.Is(err, syscall.ENOENT):
		switch interp, cr := interpreter(file); {
		case cr:
			return fmt.Errorf("%w (%s exists, but its #! line ends in a carriage return: the file has Windows line endings; convert it with dos2unix %s, or sed -i 's/\\r$//' %s)", err, prog, prog, prog)
		case interp != "":
			return fmt.Errorf("%w (%s exists, but its #! line names %s, which this machine does not have)", err, prog, interp)
		}
	}
	return err
}

// interpreter returns what file's #! line names, and whether that line
// ends in a carriage return; "" when the file does not begin with #!.
func interpreter(file string) (string, bool) {
	f, err := os.Open(file)
	if err != nil {
		return "", false
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := io.ReadFull(f, buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	rest, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return "", false
	}
	rest, cr := strings.CutSuffix(rest, "\r")
	return strings.TrimSpace(rest), cr
}

// forgetPath drops a cached lookup that led to a failed exec.
func forgetPath(name string, env []string, dir string) {
	pathCache.Lock()
	defer pathCache.Unlock()
	for k := range pathCache.m {
		if k[0] == name && k[2] == dir {
			delete(pathCache.m, k)
		}
	}
}

func searchPath(name, path, dir string) (string, error) {
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		cand := filepath.Join(d, name)
		check := cand
		if !filepath.IsAbs(cand) {
			cand = "./" + cand // relative to the task's directory, not searched again
			if dir != "" {
				check = filepath.Join(dir, check)
			}
		}
		if isExecutableFile(check) {
			return cand, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}

// isExecutableFile says whether path names a regular file with an x bit.
func isExecutableFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Executable says whether a task with environment env in directory dir could
// run name: a bare name is searched on the task's PATH as Start searches it,
// a relative path is read from dir.
func Executable(name string, env []string, dir string) bool {
	if !strings.Contains(name, "/") {
		_, err := lookPath(name, env, dir)
		return err == nil
	}
	if !filepath.IsAbs(name) && dir != "" {
		name = filepath.Join(dir, name)
	}
	return isExecutableFile(name)
}

// PID is the process id, which is also the process group id; 0 if the task
// never started.
func (t *Task) PID() int { return t.pid }

// StartTicks is the process's start time (field 22 of /proc/PID/stat); with
// PID it identifies the process across pid reuse (see Alive, KillGroup).
// It is read at the first call made before the process has exited; after
// that, 0 if it was never asked for: the process is gone, and its pid is
// about to be anyone's.
func (t *Task) StartTicks() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Not exited (t.mu held): t.wait has not reaped it, so the pid is
	// still the task's, a zombie's at worst.
	if t.ticks == 0 && !t.exited && t.pid > 0 {
		if st, err := readStat(t.pid); err == nil {
			t.ticks = st.startTicks
		}
	}
	return t.ticks
}

// Enforcement says how the task's memory limit is enforced (EnforceCgroup2,
// EnforceCgroup1 or EnforceRSSWatch), or "" when it has none.
func (t *Task) Enforcement() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mode
}

// Wait blocks until the process has exited and everything it left behind
// (processes in its group or cgroup, the cgroup itself) is cleaned up, and
// returns how it ended. Every call returns the same Result.
func (t *Task) Wait() Result {
	<-t.done
	r := t.res
	if r.ExitCode != nil {
		c := *r.ExitCode
		r.ExitCode = &c
	}
	return r
}

// Cancel asks the task to stop: SIGTERM to its process group, SIGKILL after
// the grace period. Its State becomes Cancelled unless it had already exited
// (or was already being stopped for its time limit). Cancel does not wait.
func (t *Task) Cancel() { t.terminate(burst.Cancelled, NoticeCancelled) }

// Requeue is Cancel of a task stopped to run again from the start
// (scontrol requeue): its Notice is NoticeRequeued.
func (t *Task) Requeue() { t.terminate(burst.Cancelled, NoticeRequeued) }

// Stop is Cancel for the machine's own reasons (its agent stops, its spot
// instance goes): no Notice is written, as the task is not cancelled by
// its user and will run again.
func (t *Task) Stop() { t.terminate(burst.Cancelled, 0) }

// terminate stops the task for why, first writing its Notice tell (0: none).
func (t *Task) terminate(why burst.State, tell Notice) {
	t.mu.Lock()
	if t.exited || t.ending != "" {
		t.mu.Unlock()
		return
	}
	t.ending = why
	if t.limitTimer != nil {
		t.limitTimer.Stop()
	}
	if t.warnTimer != nil {
		t.warnTimer.Stop()
	}
	t.mu.Unlock()
	// Said before the signal, as slurmstepd says it: what the task's own
	// handlers write then comes after it. Outside t.mu: a file's write.
	if tell != 0 {
		t.notice(tell)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.exited {
		return
	}
	_ = syscall.Kill(-t.pid, syscall.SIGTERM)
	_ = syscall.Kill(-t.pid, syscall.SIGCONT) // a stopped process could not act on it
	// And to those that left the group (setsid, setpgid), once: the
	// signal goes where the group's goes. Under t.mu, as the group's: the
	// cgroup is still the task's (wait removes it once exited is set).
	if cg := t.container(); cg != nil {
		cg.signalAll(syscall.SIGTERM, t.pid)
		cg.signalAll(syscall.SIGCONT, t.pid)
	}
	t.graceTimer = time.AfterFunc(t.grace, t.forceKill)
}

// notice appends Spec.Notice's line for n to the task's Direct stderr.
func (t *Task) notice(n Notice) {
	if t.spec.Notice != nil {
		t.Note(t.spec.Notice(n, time.Now()))
	}
}

// Note appends line to the Stderr of a task with a Spec.Notice (a Direct
// file), as slurmstepd writes into a batch job's error file what
// `scontrol notify` sends it; other tasks, and "", get none.
func (t *Task) Note(line string) {
	if t.spec.Notice == nil || !t.spec.Direct || t.spec.Stderr == "" || line == "" {
		return
	}
	f, err := os.OpenFile(t.spec.Stderr, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return // its file is gone: nobody to tell
	}
	f.WriteString(line + "\n")
	f.Close()
}

// Scope says which of a task's processes a signal reaches, as Slurm's
// scancel and --signal name them. Wrappers (bwrap, burst's own stack
// exec) around a task's program never get one: it would end them.
type Scope int

const (
	// ScopeSteps: the job's steps, the processes started by srun (burst's
	// own executable) and below, not srun itself; not the batch shell
	// nor what it started without srun (Slurm's batch step).
	ScopeSteps  Scope = iota
	ScopeLeader       // the batch shell alone: the task's program
	ScopeAll          // every process of the task but burst's own commands
)

// warn sends Spec.Warn's signal (its timer's work).
func (t *Task) warn() {
	scope := ScopeSteps
	if t.spec.Warn.Leader {
		scope = ScopeLeader
	}
	t.Signal(t.spec.Warn.Signal, scope)
}

// Signal sends sig to the task's processes that scope names, unless it has
// ended or is being stopped. Under t.mu, as terminate's signals: the task's
// process is not reaped meanwhile, so its pid and group stay its own.
func (t *Task) Signal(sig syscall.Signal, scope Scope) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.exited || t.ending != "" {
		return
	}
	for _, pid := range t.targets(scope) {
		_ = syscall.Kill(pid, sig)
	}
}

// targets lists the task's processes scope names, from one scan of /proc
// (and its cgroup's list, which holds those that left its tree).
func (t *Task) targets(scope Scope) []int {
	parent := map[int]int{}
	children := map[int][]int{}
	scanProcParents(func(pid, ppid, pgid int, dead bool) {
		if !dead {
			parent[pid] = ppid
			children[ppid] = append(children[ppid], pid)
		}
	})
	members := map[int]bool{}
	for stack := []int{t.pid}; len(stack) > 0; {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		members[pid] = true
		stack = append(stack, children[pid]...)
	}
	if cg := t.container(); cg != nil {
		for _, pid := range cg.procs() {
			members[pid] = true
		}
	}
	self := map[int]bool{} // runs burst's executable: srun, squeue, the stack exec
	for pid := range members {
		if runsSelf(pid) {
			self[pid] = true
		}
	}
	// The program: below the wrappers, each the one child of the last.
	leader, wrappers := t.pid, map[int]bool{}
	for (self[leader] || procName(leader) == "bwrap") && len(children[leader]) == 1 {
		wrappers[leader] = true
		leader = children[leader][0]
	}
	if scope == ScopeLeader {
		return []int{leader}
	}
	underSrun := func(pid int) bool {
		// At most 256 generations: a scan racing with exits and reused pids
		// must not make a loop.
		for p, n := parent[pid], 0; p > 1 && p != leader && p != t.pid && n < 256; p, n = parent[p], n+1 {
			if self[p] && !wrappers[p] {
				return true
			}
		}
		return false
	}
	var out []int
	for pid := range members {
		switch {
		case wrappers[pid] || self[pid] || pid == t.pid && procName(pid) == "bwrap":
		case scope == ScopeAll, pid != leader && underSrun(pid):
			out = append(out, pid)
		}
	}
	return out
}

// procName is a process's command name (/proc/PID/comm), "" if gone.
func procName(pid int) string {
	b, err := os.ReadFile(procPath(pid, "comm"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// runsSelf reports whether process pid runs burst's executable: this
// process's own file, or the file now at its path once burst was upgraded
// in place while this agent runs: srun (slurm-bin's links name the path)
// is then the new file, and the signals meant for a job's steps (scancel
// -s, --signal) must still pass it by and reach what it started.
func runsSelf(pid int) bool {
	self, err := selfExe()
	if err != nil {
		return false
	}
	exe := procPath(pid, "exe")
	if other, err := os.Stat(exe); err == nil && os.SameFile(self, other) {
		return true
	}
	path, err := os.Readlink(exe)
	return err == nil && selfPath() != "" && path == selfPath()
}

// selfExe is this process's executable, stat'ed once.
var selfExe = sync.OnceValues(func() (os.FileInfo, error) { return os.Stat("/proc/self/exe") })

// selfPath is the path this process's executable was started from ("" if
// unknown), without the " (deleted)" /proc adds once the file is replaced.
var selfPath = sync.OnceValue(func() string {
	p, err := os.Executable()
	if err != nil {
		return ""
	}
	return p
})

// container is the cgroup that holds all of the task: its box or its
// memory cgroup; nil when it has none.
func (t *Task) container() *cgroup {
	if t.box != nil {
		return t.box
	}
	return t.cg
}

// forceKill ends the grace. The cgroup's kill (a v1 freeze may take up
// to a second) runs outside t.mu; wait does not hand the cgroup on
// (release) before it is done (killers).
func (t *Task) forceKill() {
	t.mu.Lock()
	if t.exited {
		t.mu.Unlock()
		return
	}
	_ = syscall.Kill(-t.pid, syscall.SIGKILL)
	cg := t.container()
	if cg != nil {
		t.killers.Add(1)
	}
	t.mu.Unlock()
	if cg != nil {
		cg.kill()
		t.killers.Done()
	}
}

// oomKill is the RSS watcher's verdict.
func (t *Task) oomKill() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.exited {
		t.oomKilled = true
		_ = syscall.Kill(-t.pid, syscall.SIGKILL)
	}
}

// wait is the task's one goroutine. The process is reaped only after its
// group has been killed: until then its zombie keeps the pid (and so the
// process group id) from being reused, so no signal can reach a stranger.
func (t *Task) wait() {
	samplePeaks(t)
	var info unix.Siginfo
	var err error
	for {
		err = unix.Waitid(unix.P_PID, t.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	end := time.Now()
	unsamplePeaks(t)

	t.mu.Lock()
	t.exited = true
	if t.limitTimer != nil {
		t.limitTimer.Stop()
	}
	if t.warnTimer != nil {
		t.warnTimer.Stop()
	}
	if t.graceTimer != nil {
		t.graceTimer.Stop()
	}
	ending, limit := t.ending, t.limit
	t.mu.Unlock()
	t.killers.Wait() // no kill of its cgroup may reach the next task's
	if t.mode == EnforceRSSWatch {
		unwatchRSS(t)
	}

	// Nothing the task started may outlive it; its end is reported once
	// all of it is dead. The box is free at once where the process left
	// nothing behind (almost always: one read), else after a kill.
	if t.box != nil {
		t.box.release()
	}
	if t.cg != nil {
		t.cg.kill()
	}
	if err == nil {
		t.reapGroup()
		if t.mark != "" && mayHaveOrphans(t.pid) {
			// Before the reap: its zombie keeps its pid and group id.
			killMarked(t.pid, t.mark)
		}
	} // else it was reaped behind our back (ECHILD): its pid may be anyone's now
	if t.mark != "" {
		dropLeader(t.pid) // before the reap frees the pid for anyone
	}
	ps, werr := t.proc.Wait()

	t.mu.Lock()
	oomKilled := t.oomKilled
	t.mu.Unlock()

	r := Result{StartedAt: t.res.StartedAt, EndedAt: end}
	t.ioMu.Lock()
	r.ReadBytes, r.WroteBytes = t.inCount.done(), t.outCount.done()
	t.ioMu.Unlock()
	var sig syscall.Signal
	if ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			switch {
			case ws.Exited():
				code := ws.ExitStatus()
				r.ExitCode = &code
			case ws.Signaled():
				sig = ws.Signal()
				r.Signal = int(sig)
			}
		}
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru != nil {
			r.UserCPU = time.Duration(ru.Utime.Nano())
			r.SysCPU = time.Duration(ru.Stime.Nano())
			r.MaxRSS = taskPeak(ru.Maxrss*1024, t.execAt, t.hwm.Load()) // KiB on Linux
		}
	}
	oom := oomKilled
	if t.cg != nil {
		oom = oom || t.cg.oomKilled(sig)
		t.cg.remove()
	}

	switch {
	case ending == burst.Timeout:
		r.State, r.Reason = burst.Timeout, fmt.Sprintf("time limit %s reached", limit)
	case ending == burst.Cancelled:
		r.State, r.Reason = burst.Cancelled, "cancelled"
	case werr != nil:
		r.State, r.Reason = burst.Failed, "lost the process: "+werr.Error()
	case oom && r.ExitCode != nil && *r.ExitCode == 0:
		// The kernel killed one of its processes for memory and the task
		// went on without it (cmd || true, a worker in the background):
		// its exit status says nothing of the work lost. Slurm's cgroup
		// plugin marks such a job OUT_OF_MEMORY too.
		r.State, r.Reason = burst.Failed, fmt.Sprintf(burst.ReasonOOM+
			" (limit %s): the kernel killed a process of the task for memory; the task went on and exited 0, but what that process was doing is lost: ask for more --mem",
			formatBytes(t.spec.MemBytes))
	case r.ExitCode != nil && *r.ExitCode == 0:
		r.State = burst.Succeeded
	case oom:
		r.State, r.Reason = burst.Failed, fmt.Sprintf(burst.ReasonOOM+" (limit %s)", formatBytes(t.spec.MemBytes))
	case r.Signal != 0:
		r.State, r.Reason = burst.Failed, fmt.Sprintf("killed by signal %d (%s)", r.Signal, sig)
	default:
		r.State = burst.Failed
	}
	if r.State == burst.Failed && oom {
		t.notice(NoticeOOM)
	}
	t.flushOutputs()
	if t.spec.IOStats && t.spec.Out == nil && stdoutAlone(t.spec) && len(t.outs) > 0 {
		// Its stdout went through burst's copier to its log: counted there.
		r.WroteBytes = t.outs[0].written.Load()
	}
	for _, o := range t.outs {
		o.settle()
		r.OutBytes += o.written.Load()
		end := int64(0)
		switch {
		case o.direct:
			end = o.start + o.written.Load()
		case o.truncate && o.packed.Path == "" && o.err == nil && o.cut < 0:
			// A log of its own that this attempt began: it holds the
			// output whole, [0, written), once its copier is done (the
			// pipe is closed then, flushOutputs). Recorded so that a log
			// removed later is told from one never written.
			end = o.written.Load()
		}
		if end > 0 && o.path == t.spec.Stdout {
			r.StdoutTo = end
		}
		if end > 0 && o.path == t.spec.Stderr {
			r.StderrTo = end
		}
	}
	t.packedInto(&r)
	if why, filled := lostOutput(t.outs); why != "" && (filled && ending == "" || r.State == burst.Succeeded || r.State == burst.Failed && r.Reason == "") {
		r.State, r.Reason = burst.Failed, why // output.go; a full disk's stop (SIGKILL) is named for its cause
	}
	t.res = r
	close(t.done)
}

// OutputStarts gives where the task's output begins in its Direct files
// (their sizes when it started, 0 after a truncation), stdout then stderr.
func (t *Task) OutputStarts() (stdout, stderr int64) {
	for _, o := range t.outs {
		if !o.direct {
			continue
		}
		if o.path == t.spec.Stdout {
			stdout = o.start
		}
		if o.path == t.spec.Stderr {
			stderr = o.start
		}
	}
	return stdout, stderr
}

// stdoutAlone reports whether the task's stdout goes to a log file of its
// own (openOutputs then makes its copier the first of Task.outs).
func stdoutAlone(s Spec) bool {
	return s.Stdout != "" && filepath.Clean(s.Stdout) != filepath.Clean(s.Stderr)
}

// reapGroup sends SIGKILL to the task's process group. It does not wait for
// the members to die: SIGKILL cannot be caught, and Linux does not reuse a
// pid while a live process still has it as its process group id, so reaping
// the leader right after is safe. (Scanning /proc to watch them go costs
// milliseconds per task, which map jobs of 10^6 tasks cannot afford.)
func (t *Task) reapGroup() {
	_ = syscall.Kill(-t.pid, syscall.SIGKILL)
}
