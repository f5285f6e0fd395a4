package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The CLI's part of the fault suite: a server that cannot start, signals
// to an attached command, descriptors an autostarted server must not keep,
// a stream the server cuts, and names that would drive the terminal.

// serverStarts is how many times a server of h's home failed to start, by
// its log: each start that fails writes one "cannot start the server" line.
func serverStarts(h *harness) int {
	b, _ := os.ReadFile(filepath.Join(h.home, "server.log"))
	return strings.Count(string(b), "cannot start the server")
}

// breakStore makes h's store unopenable: state.db becomes a directory (what
// a store on a lost or full filesystem looks like to a server that starts:
// it cannot open it and exits). restore puts it back.
func breakStore(t *testing.T, h *harness) (restore func()) {
	t.Helper()
	db := filepath.Join(h.home, "state.db")
	aside := filepath.Join(h.root, "aside")
	if err := os.Mkdir(aside, 0o700); err != nil {
		t.Fatal(err)
	}
	var moved []string
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(db+suffix, filepath.Join(aside, "state.db"+suffix)); err == nil {
			moved = append(moved, suffix)
		}
	}
	for try := 0; ; try++ {
		err := os.Mkdir(db, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || try == 100 {
			t.Fatal(err)
		}
		// A connection the running server opened meanwhile made a new,
		// empty store in its place (the real one is aside): not the one
		// to keep.
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(db + suffix)
		}
	}
	return func() {
		t.Helper()
		if err := os.Remove(db); err != nil {
			t.Fatal(err)
		}
		for _, suffix := range moved {
			if err := os.Rename(filepath.Join(aside, "state.db"+suffix), db+suffix); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A server that cannot start is started once per command, which says why
// (the server log's last line) and exits non-zero: it was started 891
// times by one `burst run` on a full disk. Both the first start of a
// command and the restart an attached run makes after its server died
// (kill -9) are bounded; the attached run's job is not lost: once the store
// is back, it ends as it would have.
func TestFaultCLIServerCannotStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// No server yet and none can start: one start, one line, exit non-zero.
	if err := os.MkdirAll(filepath.Join(h.home, "state.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	for i, args := range [][]string{{"jobs"}, {"run", "--", "true"}} {
		r := h.run(args...)
		if r.code == 0 || !strings.Contains(r.stderr, "cannot start a local server") || !strings.Contains(r.stderr, "state.db") {
			t.Errorf("a server that cannot start: want a non-zero exit naming why (state.db):\n%s", r)
		}
		if n := serverStarts(h); n != i+1 {
			t.Errorf("after `burst %s`: %d failed server starts in all, want %d (one per command)", strings.Join(args, " "), n, i+1)
		}
	}
	if err := os.Remove(filepath.Join(h.home, "state.db")); err != nil {
		t.Fatal(err)
	}

	// An attached run whose server dies (kill -9) and cannot start again.
	marker := newMarker()
	run := h.start("run", "--", "sh", "-c", `while [ ! -e release ]; do sleep 0.05; done; echo done`, marker)
	h.waitFor("the attached job to run", 30*time.Second, func() bool { return len(markerPIDs(marker)) == 1 })
	// The store is broken before the kill (the running server keeps the
	// files it has open), so that the run's restart cannot win a race
	// with the break and start on the good store.
	restore := breakStore(t, h)
	before := serverStarts(h)
	h.kill9(h.serverPID(), "server")
	start := time.Now()
	r := run.result(t)
	took := time.Since(start)
	if r.code == 0 || !strings.Contains(r.stderr, "cannot start a local server") {
		t.Errorf("attached run whose server cannot restart: want a non-zero exit saying why:\n%s", r)
	}
	if n := serverStarts(h) - before; n != 1 {
		t.Errorf("the attached run started a server that cannot start %d times, want once", n)
	}
	if took > 25*time.Second {
		t.Errorf("the attached run took %v to give up; it should say why once its one start failed", took.Round(time.Second))
	}
	// The job was not lost: with its store back, it ends as it would have.
	restore()
	writeFile(t, filepath.Join(h.dir, "release"), "", 0o644)
	lost := 0
	if r := h.run("wait", "1"); r.code != 0 {
		t.Errorf("wait for the job of the attached run once the store is back:\n%s", r)
		lost = 1
	}
	recordFault(t, faultRow{Fault: "cli: server cannot (re)start under an attached run", Tasks: 1, Lost: lost})
}

// SIGTERM or SIGHUP of an attached `burst run` (running or still queued)
// or `burst map` cancels its job as Ctrl-C does; it used to leave the job
// queued or running with nobody to see it. (timeout(1) sends SIGTERM, a
// closed terminal or SSH session SIGHUP.)
func TestFaultCLISignalCancels(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	all := strconv.Itoa(runtime.NumCPU())
	cases := []struct {
		name   string
		sig    syscall.Signal
		queued bool // the job waits for CPUs the whole time
		args   func(marker string) []string
	}{
		{"run SIGTERM", syscall.SIGTERM, false, func(m string) []string { return []string{"run", "--", "sleep", m} }},
		{"run SIGHUP", syscall.SIGHUP, false, func(m string) []string { return []string{"run", "--", "sleep", m} }},
		{"queued run SIGHUP", syscall.SIGHUP, true, func(m string) []string { return []string{"run", "--cpus", all, "--", "sleep", m} }},
		// parallel(1), --term-seq: on "abnormal termination of GNU parallel"
		// (its SIGTERM) the running jobs are killed; burst map cancels.
		{"map SIGTERM", syscall.SIGTERM, false, func(m string) []string { return []string{"map", "--", "sleep", "{}", ":::", m, m} }},
		// nohup(1) (coreutils): "Run COMMAND, ignoring hangup signals": the
		// command started with SIGHUP ignored must outlive the terminal, so
		// its SIGHUP (sent first, below) cancels nothing; its SIGTERM does.
		{"nohup run SIGHUP then SIGTERM", syscall.SIGTERM, false, func(m string) []string { return []string{"run", "--", "sleep", m} }},
	}
	blocker := newMarker()
	notCancelled := 0
	for i, c := range cases {
		id := int64(i + 1)
		if c.queued {
			// A job holding every CPU keeps the next one queued.
			b := h.submit("--cpus", all, "--", "sleep", blocker)
			h.waitRunning(b)
			id = b + 1
		}
		marker := newMarker()
		nohup := strings.HasPrefix(c.name, "nohup")
		var cmd *bg
		if nohup {
			path, err := exec.LookPath("nohup")
			if err != nil {
				t.Fatalf("nohup: %v", err)
			}
			nc := h.command(c.args(marker)...)
			nc.Path, nc.Args = path, append([]string{"nohup", burstBin}, c.args(marker)...)
			cmd = h.startCmd(nc)
		} else {
			cmd = h.start(c.args(marker)...)
		}
		if c.queued {
			h.waitFor(c.name+": the job to be queued", 30*time.Second, func() bool {
				r := h.run("show", "-o", "json", idArg(id))
				var j jobJSON
				return r.code == 0 && json.Unmarshal([]byte(r.stdout), &j) == nil && j.State == "queued"
			})
		} else {
			// sleepers: the task's own `sleep MARKER`, not a nohup that has
			// not yet become burst (its arguments hold the marker too).
			h.waitFor(c.name+": the job to run", 30*time.Second, func() bool { return len(sleepers(marker)) > 0 })
		}
		if nohup {
			// nohup execs burst: its pid is burst's. Were SIGHUP caught, it
			// would cancel the job and the SIGTERM after it would stop the
			// wait ("stopped waiting"), leaving the exit to no job's end.
			if err := cmd.p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		}
		if err := cmd.p.cmd.Process.Signal(c.sig); err != nil {
			t.Fatal(err)
		}
		r := cmd.result(t)
		if r.code != 130 {
			t.Errorf("%s: want exit 130 (cancelled):\n%s", c.name, r)
		}
		// The hint names how to stop waiting: Ctrl-C again only after a Ctrl-C.
		if !c.queued && c.sig != syscall.SIGINT && !strings.Contains(r.stderr, "(the same signal again to stop waiting)") {
			t.Errorf("%s: want the hint to name the same signal, not Ctrl-C:\n%s", c.name, r)
		}
		if nohup && (strings.Contains(r.stderr, "stopped waiting") || !strings.Contains(r.stderr, "was cancelled")) {
			t.Errorf("%s: SIGHUP of a command run under nohup was caught (want it ignored, the SIGTERM alone cancelling):\n%s", c.name, r)
		}
		h.waitFor(c.name+": the job to end", 30*time.Second, func() bool { return terminal(h.show(id).State) })
		if j := h.show(id); j.State != "cancelled" {
			t.Errorf("%s: job %d is %s, want cancelled", c.name, id, j.State)
			notCancelled++
		}
		h.waitFor(c.name+": its tasks to be killed", 30*time.Second, func() bool { return len(markerPIDs(marker)) == 0 })
		if c.queued {
			h.mustRun("cancel", idArg(id-1))
		}
	}
	// A job left queued or running after its command was told to stop is
	// lost to whoever started it.
	recordFault(t, faultRow{Fault: "cli: SIGTERM/SIGHUP of an attached run or map", Tasks: len(cases), Lost: notCancelled})
}

// An autostarted server and its agents inherit no descriptor of the command
// that started it but 0, 1 and 2 (which the start points at the log): a
// server that kept a pipe the command's caller holds would keep the reader
// of `burst jobs | cat` waiting for an end of file for as long as it lives.
func TestFaultCLINoInheritedFds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	outR, outW, err := os.Pipe() // the command's stdout: `| cat`
	if err != nil {
		t.Fatal(err)
	}
	extraR, extraW, err := os.Pipe() // a descriptor the caller passed on (3>)
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	defer extraR.Close()
	inode := func(f *os.File) string {
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("pipe:[%d]", st.Ino)
	}
	pipes := []string{inode(outR), inode(extraR)}
	cmd := h.command("jobs")
	cmd.Stdout = outW
	cmd.ExtraFiles = []*os.File{extraW}
	r := h.exec(cmd)
	outW.Close()
	extraW.Close()
	if r.code != 0 {
		t.Fatalf("jobs in a fresh home:\n%s", r)
	}
	server, agent := h.serverPID(), h.waitAgent(0)
	for _, p := range []struct {
		what string
		pid  int
	}{{"server", server}, {"agent", agent}} {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.pid, e.Name()))
			for _, pipe := range pipes {
				if link == pipe {
					t.Errorf("the %s (pid %d) holds fd %s, the command's %s", p.what, p.pid, e.Name(), pipe)
				}
			}
		}
	}
	// With the command gone, both pipes reach their end: nobody else holds
	// a write end.
	for _, f := range []*os.File{outR, extraR} {
		done := make(chan error, 1)
		go func() { _, err := io.ReadAll(f); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("read %s: %v", f.Name(), err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s: no end of file 10 s after the command exited: the server or agent holds it", f.Name())
			f.Close()
		}
	}
}

// When the server meets an error in the middle of a stream (its answer
// begun, its status sent), the command fails: `burst results` and
// `burst logs` used to print what came before and exit 0, as if that were
// all. Here one task's output file cannot be read (it became a directory):
// results prints every other task's output, names the one it could not,
// and exits non-zero.
func TestFaultCLIStreamErrorExitsNonZero(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Each task runs past the second a small output is held for, so that
	// it gets a file of its own (not a range of its folder's pack file).
	id := strings.TrimSpace(h.mustRun("map", "-d", "--", "sh", "-c", "echo out-$1; sleep 1.3", "_", "{}", ":::", "0", "1", "2", "3", "4", "5").stdout)
	if r := h.run("wait", id); r.code != 0 {
		t.Fatalf("wait:\n%s", r)
	}
	var recs []struct {
		Index  int    `json:"index"`
		Stdout string `json:"stdout_path"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("results", id, "-o", "json").stdout), &recs); err != nil || len(recs) != 6 {
		t.Fatalf("results -o json: %v, %d records", err, len(recs))
	}
	bad := recs[3].Stdout
	if bad == "" || recs[2].Stdout == bad {
		t.Fatalf("task 3 has no output file of its own: %q", bad)
	}
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(bad, 0o700); err != nil {
		t.Fatal(err)
	}
	silent := 0 // commands that lost output and exited 0
	r := h.run("results", id)
	if want := "out-0\nout-1\nout-2\nout-4\nout-5\n"; r.stdout != want {
		t.Errorf("results: stdout %q, want every readable task's output %q", r.stdout, want)
	}
	if r.code == 0 || !strings.Contains(r.stderr, "task 3") {
		t.Errorf("results with task 3's output unreadable: want a non-zero exit naming task 3:\n%s", r)
		if r.code == 0 {
			silent++
		}
	}
	r = h.run("logs", id, "--task", "3")
	if r.code == 0 || !strings.Contains(r.stderr, "task 3") {
		t.Errorf("logs of a task whose output cannot be read: want a non-zero exit naming it:\n%s", r)
		if r.code == 0 {
			silent++
		}
	}
	// Task 4's output cannot even be opened (a link to itself: ELOOP, as a
	// file of another user would be EACCES): logs and logs -f used to take
	// the error for "nothing written yet" and exit 0.
	loop := recs[4].Stdout
	if err := os.Remove(loop); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"logs", id, "--task", "4"}, {"logs", "-f", id, "--task", "4"}} {
		r := h.run(args...)
		if r.code == 0 || !strings.Contains(r.stderr, "task 4") || !strings.Contains(r.stderr, "could not be opened") {
			t.Errorf("%s of a task whose output cannot be opened: want a non-zero exit naming it:\n%s", strings.Join(args, " "), r)
			if r.code == 0 {
				silent++
			}
		}
	}
	recordFault(t, faultRow{Fault: "cli: server error mid-stream (results, logs)", Tasks: len(recs), Lost: silent})
}

// `burst show` and `burst jobs` escape the control characters of what a
// job's submitter wrote (here an OSC sequence that retitles the terminal,
// and a newline): none reaches the terminal raw; -o json keeps them exact.
func TestFaultCLIEscapes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	hostile := "\x1b]0;pwned\x07\nFAKE"
	id := h.submit("--", "echo", hostile)
	show := h.mustRun("show", idArg(id))
	jobs := h.mustRun("jobs")
	for _, r := range []result{show, jobs} {
		if strings.ContainsAny(r.stdout, "\x1b\x07") || strings.Contains(r.stdout, "\nFAKE") {
			t.Errorf("a control character reached the terminal raw:\n%s", r)
		}
	}
	if !strings.Contains(show.stdout, `$'\x1b]0;pwned\x07\nFAKE'`) {
		t.Errorf("show: want the argument in $'...' quoting:\n%s", show)
	}
	var j struct {
		Spec struct {
			Argv []string `json:"argv"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("show", "-o", "json", idArg(id)).stdout), &j); err != nil || len(j.Spec.Argv) != 2 || j.Spec.Argv[1] != hostile {
		t.Errorf("show -o json: argv %q (%v), want it exact", j.Spec.Argv, err)
	}
}

// startCmd starts c (made by h.command, then changed) in the background.
func (h *harness) startCmd(c *exec.Cmd) *bg {
	h.t.Helper()
	p, err := startCmd(c)
	if err != nil {
		h.t.Fatalf("start %s: %v", shellQuote(c.Args), err)
	}
	b := &bg{p: p, done: make(chan struct{})}
	go func() {
		b.res, b.err = p.wait()
		close(b.done)
	}()
	return b
}

// When nobody reads an attached command's output any more, its job is
// cancelled, as a local pipeline's writer dies of SIGPIPE when its reader
// exits: `burst run -- LOOP | head -1` ended 141 and left the job running
// for ever (an SSH session closed without a terminal gives the command no
// SIGHUP, only EPIPE). The command exits 141 (128+SIGPIPE), as the writer
// of `yes | head -1` does, once the cancel is sent. For `burst map` the
// output is written when a task ends: its first write fails, and the
// cancel must be sent before the command exits (it used to return at
// once, its cancel still in flight).
func TestFaultCLIClosedPipeCancels(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		name     string
		headLine bool // read one line first, as head -1 does; else the reader is gone from the start
		args     func(marker string) []string
	}{
		{"run | head -1", true, func(m string) []string {
			return []string{"run", "--", "sh", "-c", `echo first; while :; do echo more; sleep 0.05; done; : ` + m}
		}},
		{"map | closed", false, func(m string) []string {
			return []string{"map", "--", "sh", "-c", `echo $1; [ $1 = 0 ] || exec sleep ` + m, "_", "{}", ":::", "0", "1"}
		}},
	}
	notCancelled := 0
	for i, c := range cases {
		id := int64(i + 1)
		marker := newMarker()
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd := h.command(c.args(marker)...)
		cmd.Stdout = pw
		b := h.startCmd(cmd)
		pw.Close()
		if !c.headLine {
			pr.Close() // nobody reads its output from the start
		}
		if c.headLine {
			line := make([]byte, len("first\n"))
			if _, err := io.ReadFull(pr, line); err != nil || string(line) != "first\n" {
				t.Fatalf("%s: read the first line: %q, %v", c.name, line, err)
			}
			pr.Close() // head exits
		}
		r := b.result(t)
		if r.code != 141 || !strings.Contains(r.stderr, "reader went away") {
			t.Errorf("%s: want exit 141 saying the output's reader went away:\n%s", c.name, r)
		}
		h.waitFor(c.name+": the job to end", 30*time.Second, func() bool { return terminal(h.show(id).State) })
		if j := h.show(id); j.State != "cancelled" {
			t.Errorf("%s: job %d is %s, want cancelled", c.name, id, j.State)
			notCancelled++
		}
		h.waitFor(c.name+": its tasks to be killed", 30*time.Second, func() bool { return len(markerPIDs(marker)) == 0 })
	}
	recordFault(t, faultRow{Fault: "cli: reader of an attached run's or map's output gone (EPIPE)", Tasks: len(cases), Lost: notCancelled})
}

// A submit that hangs (a server that accepts and never answers) can be
// stopped: the first Ctrl-C is held, to cancel the job once it has an id,
// and a second one stops the command (130), as `burst help run` says ("a
// second one stops waiting"). Three Ctrl-C used to do nothing.
func TestFaultCLIInterruptHungSubmit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sock := filepath.Join(h.root, "mute.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	t.Cleanup(func() {
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	})
	h.setEnv("BURST_SERVER", "unix://"+sock)
	h.setEnv("BURST_TOKEN", "mute")
	for _, args := range [][]string{{"run", "--", "true"}, {"map", "--", "true", ":::", "a"}} {
		cmd := h.command(args...)
		errR, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan int, 1)
		lines := make(chan string, 16)
		go func() {
			sc := bufio.NewScanner(errR)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
			cmd.Wait()
			exited <- cmd.ProcessState.ExitCode()
		}()
		select {
		case c := <-accepted:
			defer c.Close()
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("burst %s never connected to the server", strings.Join(args, " "))
		}
		var said []string
		waitLine := func(want string) bool {
			timeout := time.After(15 * time.Second)
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						return false
					}
					said = append(said, l)
					if strings.Contains(l, want) {
						return true
					}
				case <-timeout:
					return false
				}
			}
		}
		cmd.Process.Signal(os.Interrupt)
		if !waitLine("cancelled as soon as it is submitted") {
			cmd.Process.Kill()
			t.Fatalf("burst %s: the first Ctrl-C during a submit was not held with a line saying so; stderr: %q", strings.Join(args, " "), said)
		}
		cmd.Process.Signal(os.Interrupt)
		waitLine("stopped before")
		select {
		case code := <-exited:
			if code != 130 {
				t.Errorf("burst %s: a second Ctrl-C during a hung submit: exit %d, want 130; stderr: %q", strings.Join(args, " "), code, said)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Errorf("burst %s: still waiting on a submit that hangs 15 s after a second Ctrl-C; stderr: %q", strings.Join(args, " "), said)
		}
	}
}

// `burst server` and its agents close what they inherited above stderr,
// however they were started: here a script ran `burst server 3>pipe &`,
// and the reader of that pipe must see its end once the script's own
// copy is closed, not when the server exits.
func TestFaultCLIServerClosesInheritedFds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	extraR, extraW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer extraR.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(extraR.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	pipe := fmt.Sprintf("pipe:[%d]", st.Ino)
	cmd := h.command("server")
	cmd.ExtraFiles = []*os.File{extraW}
	srv := h.startCmd(cmd)
	extraW.Close()
	h.waitFor("the server to answer", 30*time.Second, func() bool { return !srv.exited() && h.run("jobs").code == 0 })
	for _, p := range []struct {
		what string
		pid  int
	}{{"server", h.serverPID()}, {"agent", h.waitAgent(0)}} {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.pid, e.Name())); link == pipe {
				t.Errorf("the %s (pid %d) holds fd %s, the %s its starter passed on as fd 3", p.what, p.pid, e.Name(), pipe)
			}
		}
	}
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(extraR); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("read the pipe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("no end of file on the pipe passed to `burst server` 10 s after its starter closed it: the server or agent holds it")
		extraR.Close()
	}
}

// A server that dies on every start (here killed -9 as soon as it is
// ready, as an OOM killer would) is started at most discover.MaxStarts (3)
// times by one attached run: once, then again only after one that had
// answered went away, and never after one that died before it answered.
// The run then says how the last one ended (killed), with its log's last
// line, and that its job goes on (`burst wait N`); the job is not lost.
func TestFaultCLIServerDiesOnEveryStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marker := newMarker()
	run := h.start("run", "--", "sleep", marker)
	h.waitFor("the attached job to run", 30*time.Second, func() bool { return len(markerPIDs(marker)) == 1 })
	killed := map[int]bool{}
	for !run.exited() {
		// Each server this run starts, killed once it has answered (it
		// writes server.json then).
		b, err := os.ReadFile(filepath.Join(h.home, "server.json"))
		var in serverInfo
		if err == nil && json.Unmarshal(b, &in) == nil && in.PID > 0 && !killed[in.PID] && alive(in.PID) && hasTag(in.PID, h.tag) {
			syscall.Kill(in.PID, syscall.SIGKILL)
			killed[in.PID] = true
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := run.result(t)
	t.Logf("%d servers started and killed; the run said: %s", len(killed), r.stderr)
	if n := len(killed); n > 3 {
		t.Errorf("one attached run started %d servers, want at most 3", n)
	}
	if r.code == 0 || !strings.Contains(r.stderr, "job 1 goes on: burst wait 1") || !strings.Contains(r.stderr, "killed") {
		t.Errorf("attached run whose server dies on every start: want a non-zero exit saying how it ended and that job 1 goes on:\n%s", r)
	}
	lost := 0
	if len(markerPIDs(marker)) != 1 {
		t.Errorf("the job's task did not outlive its server")
		lost = 1
	}
	h.mustRun("cancel", "1")
	h.waitFor("the job to end", 30*time.Second, func() bool { return terminal(h.show(1).State) })
	recordFault(t, faultRow{Fault: "cli: server answers then dies on every start (attached run)", Tasks: 1, Lost: lost})
}
