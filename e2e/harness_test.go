package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/shellquote"
)

const (
	// cmdTimeout bounds every burst command a test runs.
	cmdTimeout = 60 * time.Second
	// tagVar is set, with a value unique to the test, in the environment of
	// every burst command a test runs. The server, the agent and the tasks
	// all inherit it, which is how cleanup finds what a test left behind.
	tagVar = "E2E_TAG"
)

// harness is one test's burst installation: its own BURST_HOME (hence its
// own server, agent, store and logs), a working directory for the commands
// it runs, and a clean environment.
type harness struct {
	t    *testing.T
	root string // holds home and dir; removed at cleanup
	home string // BURST_HOME
	dir  string // working directory of the commands run
	tag  string // value of E2E_TAG
	env  []string

	spent *harnessCost // shared by its copies (sub, joiner): costs_test.go
}

// newHarness makes a fresh installation; nothing runs until the first
// command starts the server. Cleanup kills everything carrying the test's
// tag (server, agent, tasks) with SIGKILL.
func newHarness(t *testing.T) *harness {
	t.Helper()
	// Not t.TempDir(): a long test name would push the unix socket path over
	// the 108-byte limit.
	root, err := os.MkdirTemp("", "be2e-")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, root: root, home: filepath.Join(root, "home"), dir: filepath.Join(root, "work"), tag: randHex(8),
		spent: &harnessCost{born: time.Now()}}
	if err := os.Mkdir(h.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"BURST_HOME=" + h.home,
		"BURST_PORT=0",
		tagVar + "=" + h.tag,
	}
	t.Cleanup(h.cleanup)
	return h
}

// setEnv sets (or replaces) a variable in the environment of the commands
// this harness runs from now on.
func (h *harness) setEnv(key, value string) {
	out := h.env[:0]
	for _, kv := range h.env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	h.env = append(out, key+"="+value)
}

func (h *harness) cleanup() {
	h.noteCost()
	h.killTagged()
	if h.t.Failed() {
		for _, f := range []string{filepath.Join(h.home, "server.log"), filepath.Join(h.home, "agents", "local-1.log")} {
			if b, err := os.ReadFile(f); err == nil {
				h.t.Logf("--- tail of %s:\n%s", f, tail(string(b), 3000))
			}
		}
	}
	os.RemoveAll(h.root)
}

// killTagged SIGKILLs every process carrying this test's tag until none is
// left (the server restarts a killed agent, so one round may not do).
func (h *harness) killTagged() {
	deadline := time.Now().Add(15 * time.Second)
	for {
		pids := taggedPIDs(h.tag)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Errorf("cleanup: processes %v of this test survive SIGKILL", pids)
			return
		}
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// result is how a burst command ended.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int           // -1 if killed by a signal
	cpu    time.Duration // the CPU it used (user + system)
}

func (r result) String() string {
	return fmt.Sprintf("burst %s: exit %d\nstdout: %q\nstderr: %q", shellQuote(r.args), r.code, tail(r.stdout, 2000), tail(r.stderr, 2000))
}

// command is a burst command with the harness's environment, run in its
// working directory.
func (h *harness) command(args ...string) *exec.Cmd {
	c := exec.Command(burstBin, args...)
	c.Env = append([]string(nil), h.env...)
	c.Dir = h.dir
	return c
}

// proc is a started command.
type proc struct {
	cmd        *exec.Cmd
	out, errb  bytes.Buffer
	timer      *time.Timer
	stdoutFile bool // stdout goes to a caller's writer
}

func startCmd(c *exec.Cmd) (*proc, error) {
	p := &proc{cmd: c}
	if c.Stdout == nil {
		c.Stdout = &p.out
	} else {
		p.stdoutFile = true
	}
	c.Stderr = &p.errb
	c.WaitDelay = 5 * time.Second
	if err := c.Start(); err != nil {
		return nil, err
	}
	p.timer = time.AfterFunc(cmdTimeout, func() { c.Process.Kill() })
	return p, nil
}

// wait waits for the command; the error is set when it timed out or could
// not be waited for (not for a non-zero exit).
func (p *proc) wait() (result, error) {
	err := p.cmd.Wait()
	timedOut := !p.timer.Stop()
	st := p.cmd.ProcessState
	r := result{args: p.cmd.Args[1:], stdout: p.out.String(), stderr: p.errb.String(), code: st.ExitCode(), cpu: st.UserTime() + st.SystemTime()}
	if timedOut {
		return r, fmt.Errorf("did not finish within %s (killed)", cmdTimeout)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return r, err
	}
	return r, nil
}

// exec runs c to the end, failing the test if it cannot be run or times out.
func (h *harness) exec(c *exec.Cmd) result {
	h.t.Helper()
	p, err := startCmd(c)
	if err != nil {
		h.t.Fatalf("start burst %s: %v", shellQuote(c.Args[1:]), err)
	}
	r, err := p.wait()
	h.noteCLI(r.cpu)
	if err != nil {
		h.t.Fatalf("%v\n%s", err, r)
	}
	h.t.Logf("burst %s -> %d", shellQuote(r.args), r.code)
	return r
}

// run runs burst with args and returns how it ended.
func (h *harness) run(args ...string) result {
	h.t.Helper()
	return h.exec(h.command(args...))
}

// runIn runs burst with args in directory dir.
func (h *harness) runIn(dir string, args ...string) result {
	h.t.Helper()
	c := h.command(args...)
	c.Dir = dir
	return h.exec(c)
}

// mustRun runs burst with args and fails the test unless it exits 0.
func (h *harness) mustRun(args ...string) result {
	h.t.Helper()
	r := h.run(args...)
	if r.code != 0 {
		h.t.Fatalf("expected success:\n%s", r)
	}
	return r
}

// bg is a burst command running in the background.
type bg struct {
	p    *proc
	done chan struct{}
	res  result
	err  error
}

// start starts burst with args in the background.
func (h *harness) start(args ...string) *bg {
	h.t.Helper()
	p, err := startCmd(h.command(args...))
	if err != nil {
		h.t.Fatalf("start burst %s: %v", shellQuote(args), err)
	}
	b := &bg{p: p, done: make(chan struct{})}
	go func() {
		b.res, b.err = p.wait()
		close(b.done)
	}()
	return b
}

// result waits for the background command to end.
func (b *bg) result(t *testing.T) result {
	t.Helper()
	<-b.done // bounded by cmdTimeout
	if b.err != nil {
		t.Fatalf("%v\n%s", b.err, b.res)
	}
	t.Logf("burst %s -> %d", shellQuote(b.res.args), b.res.code)
	return b.res
}

func (b *bg) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// submit runs `burst run -d ARGS...`, checks that stdout is the job id and
// nothing else, and returns the id.
func (h *harness) submit(args ...string) int64 {
	h.t.Helper()
	r := h.mustRun(append([]string{"run", "-d"}, args...)...)
	if !regexp.MustCompile(`^[1-9][0-9]*\n$`).MatchString(r.stdout) {
		h.t.Fatalf("run -d: stdout should be the job id and a newline, nothing else:\n%s", r)
	}
	id, _ := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
	return id
}

var jobLine = regexp.MustCompile(`(?m)^burst: job ([0-9]+)( \(.*\))?$`)

// jobIDFrom finds "burst: job N" in an attached run's stderr.
func jobIDFrom(t *testing.T, r result) int64 {
	t.Helper()
	m := jobLine.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no \"burst: job N\" line on stderr:\n%s", r)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func idArg(id int64) string { return strconv.FormatInt(id, 10) }

// jobJSON is what `burst show -o json` prints, as far as tests look at it.
type jobJSON struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Project     string     `json:"project"`
	State       string     `json:"state"`
	ExitCode    *int       `json:"exit_code"`
	Reason      string     `json:"reason"`
	Waiting     string     `json:"waiting"`
	CPUs        int        `json:"cpus"`
	MemBytes    int64      `json:"mem_bytes"`
	GPUs        int        `json:"gpus"`
	TimeLimitS  int64      `json:"time_limit_s"`
	SubmittedAt string     `json:"submitted_at"`
	StartedAt   *string    `json:"started_at"`
	EndedAt     *string    `json:"ended_at"`
	TaskList    []taskJSON `json:"task_list"`
	Tasks       struct {
		Total, Queued, Running, Succeeded, Failed int
	} `json:"tasks"`
	CostUSD float64 `json:"cost_usd"`
}

type taskJSON struct {
	Index    int     `json:"index"`
	State    string  `json:"state"`
	Attempt  int     `json:"attempt"`
	Machine  string  `json:"machine"`
	PID      int     `json:"pid"`
	ExitCode *int    `json:"exit_code"`
	Reason   string  `json:"reason"`
	GPUIDs   []int   `json:"gpu_ids"`
	CostUSD  float64 `json:"cost_usd"`
}

// task0 is the job's first task; it fails the test if there is none.
func (j jobJSON) task0(t *testing.T) taskJSON {
	t.Helper()
	if len(j.TaskList) == 0 {
		t.Fatalf("job %d has no task in task_list", j.ID)
	}
	return j.TaskList[0]
}

func terminal(state string) bool {
	switch state {
	case "succeeded", "failed", "cancelled", "timeout", "lost":
		return true
	}
	return false
}

// show returns `burst show -o json ID`.
func (h *harness) show(id int64) jobJSON {
	h.t.Helper()
	r := h.mustRun("show", "-o", "json", idArg(id))
	var j jobJSON
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
		h.t.Fatalf("show -o json: %v\n%s", err, r)
	}
	if j.ID != id {
		h.t.Fatalf("show %d -o json answered about job %d", id, j.ID)
	}
	return j
}

// jobsJSON returns `burst jobs -o json` decoded loosely.
func (h *harness) jobsJSON() []map[string]json.RawMessage {
	h.t.Helper()
	r := h.mustRun("jobs", "-o", "json", "--limit", "1000")
	var js []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		h.t.Fatalf("jobs -o json: %v\n%s", err, r)
	}
	return js
}

// waitFor polls cond until it holds, failing the test after timeout.
func (h *harness) waitFor(what string, timeout time.Duration, cond func() bool) {
	h.t.Helper()
	waitFor(h.t, what, timeout, cond)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := 20 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(pause)
		pause = nextPause(pause)
	}
}

// nextPause is the wait between two polls after pause: half as long again,
// up to 200 ms. Most conditions hold within a few polls; a long wait polls
// about four times a second, not twenty. A poll is often a burst command,
// which costs tens of milliseconds of CPU on the test machine (the suite's
// cost table counts them): polled every 50 ms, a test waiting for seconds
// took a fair share of a core from the very server it waited on.
func nextPause(pause time.Duration) time.Duration {
	return min(pause*3/2, 200*time.Millisecond)
}

// waitRunning waits until task 0 of job id is running with a pid.
func (h *harness) waitRunning(id int64) jobJSON {
	h.t.Helper()
	var j jobJSON
	h.waitFor(fmt.Sprintf("job %d to be running with a pid", id), 30*time.Second, func() bool {
		j = h.show(id)
		if terminal(j.State) {
			h.t.Fatalf("job %d ended (%s: %s) while the test waited for it to run", id, j.State, j.Reason)
		}
		return len(j.TaskList) > 0 && j.TaskList[0].State == "running" && j.TaskList[0].PID > 0
	})
	return j
}

// serverInfo is $BURST_HOME/server.json.
type serverInfo struct {
	PID    int    `json:"pid"`
	Addr   string `json:"addr"`
	Socket string `json:"socket"`
}

func (h *harness) serverInfo() serverInfo {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.home, "server.json"))
	if err != nil {
		h.t.Fatalf("server.json: %v", err)
	}
	var in serverInfo
	if err := json.Unmarshal(b, &in); err != nil {
		h.t.Fatalf("server.json: %v: %q", err, b)
	}
	if in.PID <= 0 {
		h.t.Fatalf("server.json has no pid: %q", b)
	}
	return in
}

// serverPID is the pid in server.json, checked to be a live process of this
// test.
func (h *harness) serverPID() int {
	h.t.Helper()
	pid := h.serverInfo().PID
	h.checkOurs(pid, "server")
	return pid
}

// agentPID is the pid in agents/local-1.pid, checked to be a live process of
// this test.
func (h *harness) agentPID() int {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.home, "agents", "local-1.pid"))
	if err != nil {
		h.t.Fatalf("agent pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		h.t.Fatalf("agent pid file: %q", b)
	}
	h.checkOurs(pid, "agent")
	return pid
}

// waitAgent waits until the agent pid file names a live agent of this test
// other than not (0: any).
func (h *harness) waitAgent(not int) int {
	h.t.Helper()
	var pid int
	h.waitFor("a (new) local agent", 30*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(h.home, "agents", "local-1.pid"))
		if err != nil {
			return false
		}
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return pid > 0 && pid != not && alive(pid) && hasTag(pid, h.tag)
	})
	return pid
}

// checkOurs fails the test unless pid is alive and carries this test's tag,
// so that a test never signals a stranger.
func (h *harness) checkOurs(pid int, what string) {
	h.t.Helper()
	if !alive(pid) {
		h.t.Fatalf("%s pid %d is not running", what, pid)
	}
	if !hasTag(pid, h.tag) {
		h.t.Fatalf("%s pid %d does not belong to this test", what, pid)
	}
}

// kill9 SIGKILLs one of this test's processes and waits until it is dead.
func (h *harness) kill9(pid int, what string) {
	h.t.Helper()
	h.checkOurs(pid, what)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		h.t.Fatalf("kill -9 %s %d: %v", what, pid, err)
	}
	h.waitFor(fmt.Sprintf("%s %d to die", what, pid), 10*time.Second, func() bool { return !alive(pid) })
}

// newMarker returns a unique argument for sleep, such as "1000.123456789":
// `sleep MARKER` sleeps about 1000 s and is easy to find in /proc.
func newMarker() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1e8))
	if err != nil {
		panic(err)
	}
	// Its last digit is never 0: a marker read as a number and written
	// back (Snakemake's --config makes it a float) must stay the same text
	// (1000.863988650 came back as 1000.86398865, and no sleeper matched).
	return fmt.Sprintf("1000.%08d1", n.Int64())
}

// ---- /proc ----

// procArgs is a live process's argv (nil for zombies and kernel threads).
func procArgs(pid int) []string {
	if !alive(pid) {
		return nil
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// alive reports whether pid is a process that has not exited (zombies are
// dead: they only wait to be reaped).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	switch b[i+2] {
	case 'Z', 'X', 'x':
		return false
	}
	return true
}

func hasTag(pid int, tag string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if string(kv) == tagVar+"="+tag {
			return true
		}
	}
	return false
}

func allPIDs() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != self {
			pids = append(pids, pid)
		}
	}
	return pids
}

// taggedPIDs lists the live processes carrying tag.
func taggedPIDs(tag string) []int {
	var out []int
	for _, pid := range allPIDs() {
		if alive(pid) && hasTag(pid, tag) {
			out = append(out, pid)
		}
	}
	return out
}

// markerPIDs lists live processes with marker in their arguments, burst
// commands (whose own arguments may hold it) excepted.
func markerPIDs(marker string) []int {
	var out []int
	for _, pid := range allPIDs() {
		args := procArgs(pid)
		if len(args) == 0 || args[0] == burstBin {
			continue
		}
		for _, a := range args[1:] {
			if strings.Contains(a, marker) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// sleepers lists live `sleep MARKER` processes.
func sleepers(marker string) []int {
	var out []int
	for _, pid := range allPIDs() {
		args := procArgs(pid)
		if len(args) == 2 && filepath.Base(args[0]) == "sleep" && args[1] == marker {
			out = append(out, pid)
		}
	}
	return out
}

// describePIDs is "pid: argv" for each pid, for failure messages.
func describePIDs(pids []int) string {
	var sb strings.Builder
	for _, p := range pids {
		fmt.Fprintf(&sb, "\n  %d: %s", p, shellQuote(procArgs(p)))
	}
	return sb.String()
}

// procsMatching lists live processes with sub in one of their arguments.
func procsMatching(sub string) []int {
	var out []int
	for _, pid := range allPIDs() {
		for _, a := range procArgs(pid) {
			if strings.Contains(a, sub) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// describeTree is "pid state wchan: argv" for each of pids and all their
// descendants, indented by depth, for failure messages about processes
// that should have moved on.
func describeTree(pids []int) string {
	var sb strings.Builder
	seen := map[int]bool{}
	var walk func(pid, depth int)
	walk = func(pid, depth int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		state := "?"
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
				state = string(b[i+2])
			}
		}
		wchan, _ := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", pid))
		fmt.Fprintf(&sb, "\n  %s%d %s %s: %s", strings.Repeat("  ", depth), pid, state, wchan, shellQuote(procArgs(pid)))
		for _, k := range childrenOf(pid) {
			walk(k, depth+1)
		}
	}
	for _, p := range pids {
		walk(p, 0)
	}
	return sb.String()
}

// filesUnder is each regular file under dir with its contents (the last
// 3,000 bytes of each), for failure messages.
func filesUnder(dir string) string {
	var sb strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			fmt.Fprintf(&sb, "--- %s\n%s\n", p, tail(string(b), 3000))
		}
		return nil
	})
	return sb.String()
}

// vmRSS is a process's resident set size in bytes.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("status of %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// ---- small helpers ----

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

func shellQuote(args []string) string { return shellquote.Join(args) }

// oneLine fails the test unless s is exactly one non-empty line.
func oneLine(t *testing.T, r result) string {
	t.Helper()
	s := strings.TrimSuffix(r.stderr, "\n")
	if s == "" || strings.Contains(s, "\n") {
		t.Errorf("stderr should be one line:\n%s", r)
	}
	return s
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// sub is h for subtest t: the same installation, failing t.
func (h *harness) sub(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

// handAgent starts `burst agent` by hand as machine (1 CPU, the extra
// args after, the extra env on top of the harness's), in a session of its
// own (its tasks are not killed with it), logging to ROOT/MACHINE.log, and
// waits until the server lists it. It is killed when the test ends.
func (h *harness) handAgent(machine string, env []string, args ...string) *exec.Cmd {
	h.t.Helper()
	f, err := os.Create(filepath.Join(h.root, machine+".log"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { f.Close() })
	c := h.command(append([]string{"agent", "--server", "unix://" + filepath.Join(h.home, "burst.sock"), "--token-file", filepath.Join(h.home, "token"),
		"--machine", machine, "--cpus", "1"}, args...)...)
	c.Env = append(c.Env, env...)
	c.Stdout, c.Stderr = f, f
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	h.waitFor(machine+" to register", 30*time.Second, func() bool {
		return strings.Contains(h.mustRun("machine", "list").stdout, machine)
	})
	return c
}
