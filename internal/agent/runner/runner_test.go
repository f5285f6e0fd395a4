package runner

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// spec returns a Spec running argv with the test's environment and log files
// in a fresh directory.
func spec(t *testing.T, argv ...string) Spec {
	t.Helper()
	dir := t.TempDir()
	return Spec{
		Argv:   argv,
		Env:    os.Environ(),
		Stdout: filepath.Join(dir, "out.log"),
		Stderr: filepath.Join(dir, "err.log"),
		Grace:  300 * time.Millisecond,
		Name:   strings.ReplaceAll(t.Name(), "/", "_"),
	}
}

func start(t *testing.T, s Spec) *Task {
	t.Helper()
	task, err := Start(s)
	if err != nil {
		t.Fatalf("Start(%q): %v", s.Argv, err)
	}
	return task
}

func run(t *testing.T, s Spec) Result {
	t.Helper()
	return start(t, s).Wait()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func code(r Result) string {
	if r.ExitCode == nil {
		return "nil"
	}
	return strconv.Itoa(*r.ExitCode)
}

// assertGroupGone fails if any live process stays in process group pgid.
// Wait has sent SIGKILL to the group; the members die asynchronously, so
// give them a moment (a leftover would never go).
func assertGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		pids := groupMembers(pgid)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes of group %d still alive after Wait: %v", pgid, pids)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitGroupSize waits until the group has at least n live processes.
func waitGroupSize(t *testing.T, pgid, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(groupMembers(pgid)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("group %d never had %d processes: %v", pgid, n, groupMembers(pgid))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	r := run(t, spec(t, "true"))
	if r.State != burst.Succeeded || code(r) != "0" || r.Signal != 0 || r.Reason != "" {
		t.Errorf("true: %+v, exit %s", r, code(r))
	}
	if r.StartedAt.IsZero() || r.EndedAt.Before(r.StartedAt) {
		t.Errorf("times: %v .. %v", r.StartedAt, r.EndedAt)
	}
	r = run(t, spec(t, "sh", "-c", "exit 3"))
	if r.State != burst.Failed || code(r) != "3" || r.Signal != 0 {
		t.Errorf("exit 3: %+v, exit %s", r, code(r))
	}
}

func TestKilledBySignal(t *testing.T) {
	t.Parallel()
	r := run(t, spec(t, "sh", "-c", "kill -9 $$"))
	if r.State != burst.Failed || r.ExitCode != nil || r.Signal != 9 || r.Reason != "killed by signal 9 (killed)" {
		t.Errorf("got %+v, exit %s", r, code(r))
	}
}

func TestCannotStart(t *testing.T) {
	t.Parallel()
	s := spec(t, "nosuch-burst-program", "x")
	task := start(t, s)
	r := task.Wait()
	want := `cannot start: exec: "nosuch-burst-program": executable file not found in $PATH`
	if r.State != burst.Failed || code(r) != "127" || r.Reason != want {
		t.Errorf("got %+v, exit %s; want reason %q", r, code(r), want)
	}
	if task.PID() != 0 {
		t.Errorf("PID = %d for a task that never started", task.PID())
	}
	if got := readFile(t, s.Stderr); !strings.Contains(got, want) {
		t.Errorf("stderr file = %q, want the reason", got)
	}
	task.Cancel() // no-op, must not panic

	// A shell's builtin is named as one, with the way to run it.
	if r := run(t, spec(t, "exit", "3")); code(r) != "127" || !strings.Contains(r.Reason, "a shell builtin, not a program: run it in a shell") {
		t.Errorf("exit 3: %+v, exit %s; want the builtin named", r, code(r))
	}
	// A path that exists but cannot be run exits 126, as a shell, xargs
	// and GNU parallel say it (not found is 127): a file not executable, a
	// directory.
	plain := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(plain, []byte("echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = spec(t, plain) // not executable
	if r := run(t, s); r.State != burst.Failed || code(r) != "126" || !strings.HasPrefix(r.Reason, "cannot start: ") {
		t.Errorf("non-executable: %+v, exit %s", r, code(r))
	}
	if r := run(t, spec(t, t.TempDir())); r.State != burst.Failed || code(r) != "126" {
		t.Errorf("a directory: %+v, exit %s", r, code(r))
	}
	// An executable file with no #! line runs in /bin/sh, as execvp runs
	// it (xargs, parallel, a shell); one sh cannot read fails as sh says.
	noHash := filepath.Join(t.TempDir(), "nohash")
	if err := os.WriteFile(noHash, []byte("echo \"hi $0 $1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s = spec(t, noHash, "arg")
	if r := run(t, s); r.State != burst.Succeeded || readFile(t, s.Stdout) != "hi "+noHash+" arg\n" {
		t.Errorf("a script with no #! line: %+v, stdout %q", r, readFile(t, s.Stdout))
	}
	// Not where ExecFailed ends such a task (a batch script, as
	// slurmstepd's execve: a #! naming a file that is no program).
	s = spec(t, noHash, "arg")
	var seen error
	s.ExecFailed = func(err error) (string, int, bool) { seen = err; return "no exec", 8, true }
	if r := run(t, s); r.State != burst.Failed || code(r) != "8" || !errors.Is(seen, syscall.ENOEXEC) {
		t.Errorf("no #! line with ExecFailed: %+v, exit %s, ExecFailed saw %v; want it failed 8, ENOEXEC", r, code(r), seen)
	}
	// A missing working directory is named as such, not as the program
	// exec blames ("fork/exec /usr/bin/true: no such file or directory").
	s = spec(t, "true")
	s.Dir = "/nonexistent-burst-dir"
	if r := run(t, s); r.State != burst.Failed || code(r) != "127" || r.Reason != "cannot start: working directory /nonexistent-burst-dir does not exist on this machine: create it, or submit from a directory the machine has" {
		t.Errorf("bad dir: %+v, exit %s", r, code(r))
	}
	s = spec(t, "true")
	s.Dir = filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(s.Dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := run(t, s); r.State != burst.Failed || !strings.Contains(r.Reason, "working directory "+s.Dir+" is not a directory") {
		t.Errorf("dir that is a file: %+v, exit %s", r, code(r))
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	if _, err := Start(Spec{}); err == nil {
		t.Error("empty argv: no error")
	}
	// A log file under a regular file cannot be created: burst's problem.
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Log files are created when the first byte comes: a task that writes
	// to an impossible path runs, and fails: its output was lost.
	task, err := Start(Spec{Argv: []string{"sh", "-c", "echo hi"}, Env: os.Environ(), Stdout: filepath.Join(f, "out")})
	if err != nil {
		t.Fatal(err)
	}
	if r := task.Wait(); r.State != burst.Failed || !strings.Contains(r.Reason, "output could not be saved") {
		t.Errorf("impossible log path: got %+v", r)
	}
}

func TestNoOutputNoFile(t *testing.T) {
	t.Parallel()
	s := spec(t, "true")
	if r := start(t, s).Wait(); r.State != burst.Succeeded {
		t.Fatalf("got %+v", r)
	}
	for _, p := range []string{s.Stdout, s.Stderr} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists for a task that wrote nothing (err %v)", p, err)
		}
	}
}

func TestLogFiles(t *testing.T) {
	t.Parallel()
	s := spec(t, "sh", "-c", "echo out; echo err >&2")
	// Parent directories are created; a second run appends.
	s.Stdout = filepath.Join(filepath.Dir(s.Stdout), "a", "b", "out.log")
	for i := 0; i < 2; i++ {
		if r := run(t, s); r.State != burst.Succeeded {
			t.Fatalf("got %+v", r)
		}
	}
	if got := readFile(t, s.Stdout); got != "out\nout\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := readFile(t, s.Stderr); got != "err\nerr\n" {
		t.Errorf("stderr = %q", got)
	}
	fi, err := os.Stat(s.Stdout)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("stdout mode: %v %v", fi.Mode(), err)
	}

	// One file for both, written in order.
	s = spec(t, "sh", "-c", "echo a; echo b >&2; echo c; echo d >&2")
	s.Stderr = s.Stdout
	if r := run(t, s); r.State != burst.Succeeded {
		t.Fatalf("got %+v", r)
	}
	if got := readFile(t, s.Stdout); got != "a\nb\nc\nd\n" {
		t.Errorf("shared file = %q", got)
	}

	// No paths: /dev/null.
	if r := run(t, Spec{Argv: []string{"sh", "-c", "echo x; echo y >&2"}}); r.State != burst.Succeeded {
		t.Errorf("no log paths: %+v", r)
	}
}

func TestEnvDirAndPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	writeExecutable(t, filepath.Join(bin, "hello-burst"), []byte("#!/bin/sh\necho \"hello $WHO from $(pwd)\"\n"))
	s := spec(t, "hello-burst")
	// Looked up in the task's PATH, not the agent's; the environment is
	// exactly Env.
	s.Env = []string{"PATH=/usr/bin:/bin:" + bin, "WHO=burst"}
	s.Dir = dir
	if r := run(t, s); r.State != burst.Succeeded {
		t.Fatalf("got %+v", r)
	}
	if got, want := readFile(t, s.Stdout), "hello burst from "+dir+"\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}

	// A relative PATH entry is relative to the task's directory.
	s = spec(t, "hello-burst")
	s.Env = []string{"PATH=/usr/bin:/bin:bin"}
	s.Dir = dir
	if r := run(t, s); r.State != burst.Succeeded {
		t.Fatalf("relative PATH: %+v", r)
	}

	s = spec(t, "sh", "-c", "env")
	s.Env = []string{"ONLY=1"}
	if r := run(t, s); r.State != burst.Succeeded {
		t.Fatalf("got %+v", r)
	}
	for _, l := range strings.Split(strings.TrimSpace(readFile(t, s.Stdout)), "\n") {
		// sh adds PWD; the subreaper containment adds the task's marker.
		if l != "ONLY=1" && !strings.HasPrefix(l, "PWD=") && !strings.HasPrefix(l, markerVar+"=") {
			t.Errorf("unexpected variable %q", l)
		}
	}
}

func TestTimeLimitTermIgnored(t *testing.T) {
	t.Parallel()
	// The shell and its sleep both ignore SIGTERM: only SIGKILL, after the
	// grace period, ends them.
	s := spec(t, "sh", "-c", `trap "" TERM; sleep 100`)
	s.TimeLimit = 200 * time.Millisecond
	s.Grace = 300 * time.Millisecond
	task := start(t, s)
	r := task.Wait()
	if r.State != burst.Timeout || r.Signal != 9 || r.ExitCode != nil || r.Reason != "time limit 200ms reached" {
		t.Errorf("got %+v, exit %s", r, code(r))
	}
	if d := r.EndedAt.Sub(r.StartedAt); d < s.TimeLimit+s.Grace {
		t.Errorf("ended after %v, before time limit + grace", d)
	}
	assertGroupGone(t, task.PID())
}

func TestTimeLimitTermHonoured(t *testing.T) {
	t.Parallel()
	s := spec(t, "sleep", "100")
	s.TimeLimit = 200 * time.Millisecond
	s.Grace = time.Minute
	r := run(t, s)
	if r.State != burst.Timeout || r.Signal != 15 || r.Reason != "time limit 200ms reached" {
		t.Errorf("got %+v, exit %s", r, code(r))
	}
	if d := r.EndedAt.Sub(r.StartedAt); d >= s.Grace {
		t.Errorf("waited out the grace period (%v) although the task exited on SIGTERM", d)
	}

	// One that traps TERM and exits by itself keeps its exit code.
	s = spec(t, "sh", "-c", `trap "exit 7" TERM; sleep 100 & wait`)
	s.TimeLimit = 200 * time.Millisecond
	s.Grace = time.Minute
	task := start(t, s)
	r = task.Wait()
	if r.State != burst.Timeout || code(r) != "7" || r.Signal != 0 {
		t.Errorf("trap: got %+v, exit %s", r, code(r))
	}
	assertGroupGone(t, task.PID())
}

func TestCancelKillsGroup(t *testing.T) {
	t.Parallel()
	task := start(t, spec(t, "sh", "-c", "sleep 100 & sleep 100; wait"))
	waitGroupSize(t, task.PID(), 3)
	task.Cancel()
	task.Cancel() // twice is fine
	r := task.Wait()
	if r.State != burst.Cancelled || r.Reason != "cancelled" {
		t.Errorf("got %+v, exit %s", r, code(r))
	}
	assertGroupGone(t, task.PID())

	// Cancel after the end changes nothing.
	task = start(t, spec(t, "true"))
	r = task.Wait()
	task.Cancel()
	if r2 := task.Wait(); r2.State != burst.Succeeded || r2.State != r.State {
		t.Errorf("after late Cancel: %+v", r2)
	}
}

func TestCancelTermIgnored(t *testing.T) {
	t.Parallel()
	s := spec(t, "sh", "-c", `trap "" TERM; sleep 100 & sleep 100`)
	task := start(t, s)
	waitGroupSize(t, task.PID(), 3)
	task.Cancel()
	r := task.Wait()
	if r.State != burst.Cancelled || r.Signal != 9 {
		t.Errorf("got %+v, exit %s", r, code(r))
	}
	assertGroupGone(t, task.PID())
}

func TestBackgroundChildKilled(t *testing.T) {
	t.Parallel()
	s := spec(t, "sh", "-c", "sleep 100 & echo $!")
	task := start(t, s)
	r := task.Wait()
	if r.State != burst.Succeeded {
		t.Fatalf("got %+v", r)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, s.Stdout)))
	if err != nil {
		t.Fatal(err)
	}
	if pid <= 0 {
		t.Fatalf("no background child was started: %d", pid)
	}
	assertGroupGone(t, task.PID()) // the child was in the group: it must go
}

func TestWaitConcurrent(t *testing.T) {
	t.Parallel()
	task := start(t, spec(t, "sh", "-c", "sleep 0.1; exit 5"))
	results := make(chan Result, 4)
	for i := 0; i < 4; i++ {
		go func() { results <- task.Wait() }()
	}
	for i := 0; i < 4; i++ {
		if r := <-results; r.State != burst.Failed || code(r) != "5" {
			t.Errorf("waiter %d: %+v", i, r)
		}
	}
}

func TestRusage(t *testing.T) {
	t.Parallel()
	r := run(t, spec(t, "sh", "-c", `i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done`))
	if r.State != burst.Succeeded {
		t.Fatalf("got %+v", r)
	}
	if r.UserCPU+r.SysCPU <= 0 {
		t.Errorf("no CPU time: user %v sys %v", r.UserCPU, r.SysCPU)
	}
	if r.MaxRSS < 1<<10 {
		t.Errorf("MaxRSS = %d bytes", r.MaxRSS)
	}
}

func TestStartTicksAndAlive(t *testing.T) {
	t.Parallel()
	self, err := ProcStartTicks(os.Getpid())
	if err != nil || self == 0 {
		t.Fatalf("ProcStartTicks(self) = %d, %v", self, err)
	}
	if !Alive(os.Getpid(), self) {
		t.Error("Alive(self) = false")
	}
	if Alive(os.Getpid(), self+1) {
		t.Error("Alive with wrong start ticks = true")
	}

	// A command name with spaces and parentheses.
	odd := filepath.Join(t.TempDir(), "a) b (c d")
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip(err)
	}
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	writeExecutable(t, odd, data)
	task := start(t, spec(t, odd, "100"))
	ticks, err := ProcStartTicks(task.PID())
	if err != nil || ticks != task.StartTicks() || ticks < self {
		t.Errorf("ProcStartTicks = %d, %v; StartTicks %d; self %d", ticks, err, task.StartTicks(), self)
	}
	if !Alive(task.PID(), task.StartTicks()) {
		t.Error("Alive(running task) = false")
	}
	// KillGroup with the wrong start time must leave it alone.
	if err := KillGroup(task.PID(), task.StartTicks()+1); err != nil {
		t.Error(err)
	}
	time.Sleep(50 * time.Millisecond)
	if !Alive(task.PID(), task.StartTicks()) {
		t.Fatal("KillGroup with wrong ticks killed the task")
	}
	if err := KillGroup(task.PID(), task.StartTicks()); err != nil {
		t.Error(err)
	}
	r := task.Wait()
	if r.State != burst.Failed || r.Signal != 9 {
		t.Errorf("after KillGroup: %+v", r)
	}
	// Dead and reaped: gone.
	if Alive(task.PID(), task.StartTicks()) {
		t.Error("Alive(dead pid) = true")
	}
	if err := KillGroup(task.PID(), task.StartTicks()); err != nil {
		t.Errorf("KillGroup(dead) = %v", err)
	}
	if _, err := ProcStartTicks(-1); err == nil {
		t.Error("ProcStartTicks(-1): no error")
	}
}

func TestParseStat(t *testing.T) {
	t.Parallel()
	line := "4242 (a) b (c) S) R 1 4242 4242 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 987654 1000000 77 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n"
	s, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if s.state != 'R' || s.pgid != 4242 || s.startTicks != 987654 || s.rssPages != 77 {
		t.Errorf("parsed %+v", s)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q): no error", bad)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{
		100 << 20: "100 MiB", 2 << 30: "2 GiB", 3 << 29: "1.5 GiB", 1536 << 10: "1.5 MiB", 512: "512 bytes", 4096: "4 KiB",
	} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// OutBytes is what the task wrote to its logs, stdout and stderr together:
// the storage its logs take.
func TestOutBytes(t *testing.T) {
	s := spec(t, "sh", "-c", "printf 12345; printf abc >&2; head -c 100000 /dev/zero")
	r := run(t, s)
	if r.State != burst.Succeeded {
		t.Fatalf("state %s: %s", r.State, r.Reason)
	}
	got := int64(len(readFile(t, s.Stdout)) + len(readFile(t, s.Stderr)))
	if got != 100008 || r.OutBytes != got {
		t.Errorf("OutBytes = %d; the logs hold %d bytes (want 100008)", r.OutBytes, got)
	}
	if r := run(t, spec(t, "true")); r.OutBytes != 0 {
		t.Errorf("a silent task reports OutBytes %d", r.OutBytes)
	}
}

// TestStartTicksReadWhenAsked: a task's start time is read from /proc at
// the first call while it runs, not at every start (a read per task of a
// map, most of which end before anyone asks); one that has ended without
// being asked has none (0), which Alive and KillGroup never match.
func TestStartTicksReadWhenAsked(t *testing.T) {
	t.Parallel()
	short := start(t, spec(t, "true"))
	short.Wait()
	if got := short.StartTicks(); got != 0 {
		t.Errorf("StartTicks of an ended task never asked for = %d, want 0", got)
	}
	if Alive(short.PID(), 0) || KillGroup(short.PID(), 0) != nil {
		t.Error("Alive or KillGroup matched a start time of 0")
	}
	long := start(t, spec(t, "sleep", "100"))
	want, err := ProcStartTicks(long.PID())
	if err != nil || want == 0 {
		t.Fatalf("ProcStartTicks = %d, %v", want, err)
	}
	if got := long.StartTicks(); got != want {
		t.Errorf("StartTicks of a running task = %d, want %d", got, want)
	}
	long.Cancel()
	long.Wait()
	if got := long.StartTicks(); got != want {
		t.Errorf("StartTicks once ended = %d, want %d (read while it ran)", got, want)
	}
}

// Executable answers as Start would find the program: a bare name on the
// task's PATH (not the agent's), a relative path from the task's directory,
// and only regular files with an x bit.
func TestExecutable(t *testing.T) {
	bin, dir := t.TempDir(), t.TempDir()
	for path, mode := range map[string]os.FileMode{
		filepath.Join(bin, "mysh"): 0o755, filepath.Join(bin, "plain"): 0o644,
		filepath.Join(dir, "local"): 0o700,
	} {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(bin, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/nowhere", "PATH=" + bin}
	for _, c := range []struct {
		name string
		env  []string
		want bool
	}{
		{"mysh", env, true},
		{"mysh", []string{"PATH=/nowhere"}, false},
		{"plain", env, false},
		{"adir", env, false},
		{"missing", env, false},
		{filepath.Join(bin, "mysh"), nil, true},
		{filepath.Join(bin, "plain"), nil, false},
		{"./local", nil, true},
		{"local", env, false}, // a bare name is not looked for in the directory
		{"sh", nil, true},     // no PATH: the default one
	} {
		if got := Executable(c.name, c.env, dir); got != c.want {
			t.Errorf("Executable(%q, %q) = %v, want %v", c.name, c.env, got, c.want)
		}
	}
}

// writeExecutable writes a program for a test to exec. Not with
// os.WriteFile: a fork by a parallel test in this process while the file is
// open for writing keeps that descriptor in its child until the child
// execs, and exec of the file then fails with ETXTBSY ("text file busy",
// seen in CI in TestEnvDirAndPath). install(1) writes it in a process of
// its own, which has exited when the test execs it.
func writeExecutable(t *testing.T, path string, data []byte) {
	t.Helper()
	src := path + ".src"
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("install", "-m", "0755", src, path).CombinedOutput(); err != nil {
		t.Fatalf("install %s: %v: %s", path, err, out)
	}
}

// TestTextFileBusy: a program still open for writing somewhere (a staged
// input another goroutine's fork holds until it execs) is refused by the
// kernel with ETXTBSY for a moment; Start waits that moment out instead of
// failing the task. Here the test itself holds the writer, 30 ms.
func TestTextFileBusy(t *testing.T) {
	t.Parallel()
	prog := filepath.Join(t.TempDir(), "prog")
	w, err := os.OpenFile(prog, os.O_WRONLY|os.O_CREATE, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString("#!/bin/sh\necho ran\n"); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(prog).Run(); err == nil || !strings.Contains(err.Error(), "text file busy") {
		t.Fatalf("exec of a file open for writing: %v, want text file busy (the kernel's refusal this test relies on)", err)
	}
	timer := time.AfterFunc(30*time.Millisecond, func() { w.Close() })
	defer timer.Stop()
	s := spec(t, prog)
	if r := run(t, s); r.State != burst.Succeeded || readFile(t, s.Stdout) != "ran\n" {
		t.Errorf("a program busy for 30 ms: %+v, exit %s, stdout %q", r, code(r), readFile(t, s.Stdout))
	}
	// One that stays busy fails, naming it.
	w2, err := os.OpenFile(prog, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if r := run(t, spec(t, prog)); r.State != burst.Failed || !strings.Contains(r.Reason, "text file busy") {
		t.Errorf("a program busy for good: %+v", r)
	}
}

// TestSetTimeLimit: a running task's limit changed (scontrol update
// TimeLimit=) counts from its start: lowered below what it has run, it
// ends at once, as a timeout of the new limit; raised, it runs past the
// first; removed, it has none; on an ended task it does nothing.
func TestSetTimeLimit(t *testing.T) {
	t.Parallel()
	s := spec(t, "sleep", "100")
	s.TimeLimit = time.Hour
	task := start(t, s)
	task.SetTimeLimit(100 * time.Millisecond)
	r := task.Wait()
	if r.State != burst.Timeout || r.Reason != "time limit 100ms reached" {
		t.Errorf("lowered to 100ms: got %+v", r)
	}
	if d := r.EndedAt.Sub(r.StartedAt); d >= time.Minute {
		t.Errorf("lowered to 100ms, ended after %v", d)
	}
	task.SetTimeLimit(time.Second) // ended: nothing happens

	for _, raise := range []time.Duration{time.Hour, 0} {
		s = spec(t, "sh", "-c", "sleep 2; echo done")
		s.TimeLimit = time.Second
		task = start(t, s)
		task.SetTimeLimit(raise)
		if r := task.Wait(); r.State != burst.Succeeded {
			t.Errorf("limit of 1s raised to %v: got %+v, want it to run to its end", raise, r)
		}
	}
}

// TestCannotStartNamesTheFix: the three ways a newcomer's script fails to
// start say what to do, as a shell's "bad interpreter" does, where exec's
// own words mislead: a script named without ./ (not searched for in the
// working directory), one without its execute bit, and one whose #! line
// names an interpreter the machine lacks or ends in a carriage return
// (exec says the script itself is missing).
func TestCannotStartNamesTheFix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("fit.sh", "#!/bin/sh\necho fit\n", 0o755)
	write("plain.sh", "#!/bin/sh\necho plain\n", 0o644)
	write("crlf.sh", "#!/bin/sh\r\necho hi\r\n", 0o755)
	write("gone.sh", "#!/nonexistent-burst/bin/tcl -f\necho hi\n", 0o755)
	for _, c := range []struct {
		argv0, code, want string
	}{
		{"fit.sh", "127", `cannot start: exec: "fit.sh": executable file not found in $PATH (fit.sh is in the working directory, which is not searched for programs: run it as ./fit.sh)`},
		{"plain.sh", "127", `(plain.sh is in the working directory, which is not searched for programs: make it executable (chmod +x plain.sh) and run it as ./plain.sh)`},
		{"./plain.sh", "126", `permission denied (./plain.sh is not executable: chmod +x ./plain.sh, or name its interpreter first: /bin/sh ./plain.sh)`},
		{"./crlf.sh", "127", `no such file or directory (./crlf.sh exists, but its #! line ends in a carriage return: the file has Windows line endings; convert it with dos2unix ./crlf.sh, or sed -i 's/\r$//' ./crlf.sh)`},
		{"./gone.sh", "127", `no such file or directory (./gone.sh exists, but its #! line names /nonexistent-burst/bin/tcl -f, which this machine does not have)`},
		{"./missing.sh", "127", `cannot start: fork/exec ./missing.sh: no such file or directory`},
	} {
		s := spec(t, c.argv0)
		s.Dir = dir
		r := run(t, s)
		if r.State != burst.Failed || code(r) != c.code || !strings.HasSuffix(r.Reason, c.want) {
			t.Errorf("%s: %+v, exit %s; want exit %s and a reason ending %q", c.argv0, r, code(r), c.code, c.want)
		}
		if got := readFile(t, s.Stderr); !strings.Contains(got, c.want) {
			t.Errorf("%s: stderr file = %q, want the reason", c.argv0, got)
		}
	}
}
