package e2e

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The first command of a fresh home starts a server, runs the program and
// hands its output back unchanged: stdout carries nothing else.
func TestRunPrintsProgramOutputOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.run("run", "--", "python3", "-c", "print(6*7)")
	if r.code != 0 {
		t.Fatalf("expected exit 0:\n%s", r)
	}
	if r.stdout != "42\n" {
		t.Errorf("stdout = %q, want exactly %q", r.stdout, "42\n")
	}
	id := jobIDFrom(t, r)
	if id != 1 || !strings.Contains(r.stderr, "job 1") {
		t.Errorf("stderr should name job 1 (first job of a fresh home):\n%s", r)
	}
	if j := h.show(id); j.State != "succeeded" || j.ExitCode == nil || *j.ExitCode != 0 {
		t.Errorf("job state %s exit %v, want succeeded with exit 0", j.State, j.ExitCode)
	}
}

// A command given as one word of shell text that names no program runs in
// sh -c (as sbatch --wrap runs its text), with -- or without; a word that
// names a program, spaces and all, still runs directly.
func TestRunOneWordOfShellText(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, c := range []struct {
		args []string
		out  string
		name string
	}{
		{[]string{"run", "--", `printf '%s\n' a b | wc -l`}, "2\n", "printf"},
		{[]string{"run", "echo x | tr x y"}, "y\n", "echo"},
		{[]string{"run", "--", "exit 3"}, "", "exit"},
	} {
		r := h.run(c.args...)
		want := 0
		if c.args[len(c.args)-1] == "exit 3" {
			want = 3
		}
		if r.code != want || r.stdout != c.out {
			t.Errorf("%q: want exit %d and stdout %q:\n%s", c.args, want, c.out, r)
			continue
		}
		if j := h.show(jobIDFrom(t, r)); j.Name != c.name {
			t.Errorf("%q: job name %q; want %q (the shell text's program)", c.args, j.Name, c.name)
		}
	}
	prog := filepath.Join(h.dir, "my prog")
	writeFile(t, prog, "#!/bin/sh\necho \"ran directly: $1\"\n", 0o755)
	if r := h.run("run", "--", prog); r.code != 0 || r.stdout != "ran directly: \n" {
		t.Errorf("a program whose path holds a space: want it run directly:\n%s", r)
	}
}

// burst exits with the job's status: its exit code, 128+N for signal N, 127
// when the program cannot be found.
func TestExitStatusPropagates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	r := h.run("run", "--", "sh", "-c", "exit 3")
	if r.code != 3 {
		t.Errorf("sh -c 'exit 3': want exit 3:\n%s", r)
	}
	if j := h.show(jobIDFrom(t, r)); j.State != "failed" || j.ExitCode == nil || *j.ExitCode != 3 {
		t.Errorf("job: state %s exit %v, want failed with exit_code 3", j.State, j.ExitCode)
	}

	r = h.run("run", "--", "sh", "-c", "kill -9 $$")
	if r.code != 137 {
		t.Errorf("killed by SIGKILL: want exit 137 (128+9):\n%s", r)
	}
	if j := h.show(jobIDFrom(t, r)); j.State != "failed" || !strings.Contains(j.Reason, "signal 9") {
		t.Errorf("job: state %s reason %q, want failed with a reason naming signal 9", j.State, j.Reason)
	}

	prog := "no-such-program-" + randHex(4)
	r = h.run("run", "--", prog, "arg")
	if r.code != 127 {
		t.Errorf("unknown program: want exit 127:\n%s", r)
	}
	j := h.show(jobIDFrom(t, r))
	if j.State != "failed" || !strings.Contains(j.Reason, prog) || !strings.Contains(j.Reason, "not found") {
		t.Errorf("job: state %s reason %q, want failed with a reason naming %s and saying it was not found", j.State, j.Reason, prog)
	}
	if !strings.Contains(r.stderr, prog) {
		t.Errorf("stderr of burst run should say why the program did not start:\n%s", r)
	}
}

// run -d prints only the id and returns while the job runs; wait returns its
// status; jobs -o json lists it with the documented, stable field names.
func TestDetachWaitAndJobsJSON(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marker := newMarker()
	// The job waits for a file the test creates, so it is surely still
	// running when run -d has returned.
	id := h.submit("--", "sh", "-c", `while [ ! -e release ]; do sleep 0.05; done; echo done`, marker)
	if j := h.show(id); terminal(j.State) {
		t.Fatalf("job %d already %s right after run -d returned", id, j.State)
	}
	h.waitFor("the job's process", 30*time.Second, func() bool { return len(markerPIDs(marker)) > 0 })
	writeFile(t, filepath.Join(h.dir, "release"), "", 0o644)

	r := h.run("wait", idArg(id))
	if r.code != 0 {
		t.Fatalf("wait: want exit 0:\n%s", r)
	}
	if !strings.Contains(r.stdout, "job "+idArg(id)+" succeeded") {
		t.Errorf("wait should print the job's status:\n%s", r)
	}
	if out := h.mustRun("logs", idArg(id)).stdout; out != "done\n" {
		t.Errorf("logs = %q, want %q", out, "done\n")
	}

	var job map[string]json.RawMessage
	for _, j := range h.jobsJSON() {
		if string(j["id"]) == idArg(id) {
			job = j
		}
	}
	if job == nil {
		t.Fatalf("jobs -o json does not list job %d", id)
	}
	t.Run("field_names", func(t *testing.T) {
		// The stable names of README.md, plus those docs/api.md lists for
		// every job (kind, time_limit_s, tasks). A field without a value is
		// null or zero, never absent: scripts index them blindly.
		for _, k := range []string{"id", "name", "project", "state", "exit_code", "reason", "cpus", "mem_bytes",
			"gpus", "submitted_at", "started_at", "ended_at", "cpu_seconds", "max_rss_bytes",
			"kind", "time_limit_s", "tasks"} {
			if _, ok := job[k]; !ok {
				t.Errorf("jobs -o json: field %q missing from a %s job (fields: %v)", k, job["state"], keys(job))
			}
		}
	})
	t.Run("values", func(t *testing.T) {
		var s string
		if json.Unmarshal(job["state"], &s); s != "succeeded" {
			t.Errorf("state = %s, want succeeded", job["state"])
		}
		if string(job["exit_code"]) != "0" {
			t.Errorf("exit_code = %s, want 0", job["exit_code"])
		}
		if string(job["cpus"]) != "1" {
			t.Errorf("cpus = %s, want 1 (the default)", job["cpus"])
		}
		if json.Unmarshal(job["project"], &s); s != "default" {
			t.Errorf("project = %s, want default", job["project"])
		}
		if json.Unmarshal(job["name"], &s); s != "sh" {
			t.Errorf("name = %s, want sh (the program's name)", job["name"])
		}
		var times [3]time.Time
		for i, k := range []string{"submitted_at", "started_at", "ended_at"} {
			var v string
			if err := json.Unmarshal(job[k], &v); err != nil {
				t.Errorf("%s = %s: not a string: %v", k, job[k], err)
				continue
			}
			ts, err := time.Parse(time.RFC3339, v)
			if err != nil {
				t.Errorf("%s = %q does not parse as RFC 3339: %v", k, v, err)
			}
			times[i] = ts
		}
		if times[1].Before(times[0]) || times[2].Before(times[1]) {
			t.Errorf("timestamps out of order: submitted %v, started %v, ended %v", times[0], times[1], times[2])
		}
	})
}

func keys(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// A task sees its ids, its CPUs, an empty CUDA_VISIBLE_DEVICES, the
// submitter's environment and the submitter's working directory.
func TestTaskEnvironment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cpus := min(2, runtime.NumCPU())
	mine := "it's mine: spaces,  $dollars and ünïcode " + randHex(4)
	// The server (and so the agent) starts with another value: the task
	// must get the submitter's, not the server's.
	h.setEnv("E2E_SUBMITTER_VAR", "the server's value")
	h.mustRun("jobs")
	h.setEnv("E2E_SUBMITTER_VAR", mine)
	dir := filepath.Join(h.dir, "sub dir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := `printf '%s\n' "JOB=$BURST_JOB_ID" "TASK=$BURST_TASK_ID" "CPUS=$BURST_CPUS" ` +
		`"CUDA=${CUDA_VISIBLE_DEVICES-unset}" "CUDASET=${CUDA_VISIBLE_DEVICES+set}" "MINE=$E2E_SUBMITTER_VAR" "PWD=$(pwd -P)"`
	r := h.runIn(dir, "run", "--cpus", strconv.Itoa(cpus), "--", "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	id := jobIDFrom(t, r)
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		k, v, _ := strings.Cut(line, "=")
		got[k] = v
	}
	wantDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"JOB": idArg(id), "TASK": "0", "CPUS": strconv.Itoa(cpus),
		"CUDA": "", "CUDASET": "set", "MINE": mine, "PWD": wantDir,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("task saw %s=%q, want %q", k, got[k], w)
		}
	}
}

// logs -f streams a running job's stdout to the end and returns when it
// ends; --stderr reads stderr; an attached run keeps the two apart.
func TestLogsFollowAndStreams(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marker := newMarker()
	script := `for i in 1 2 3 4 5 6 7 8; do echo out$i; echo err$i >&2; sleep 0.25; done`
	var wantOut, wantErr strings.Builder
	for i := 1; i <= 8; i++ {
		wantOut.WriteString("out" + strconv.Itoa(i) + "\n")
		wantErr.WriteString("err" + strconv.Itoa(i) + "\n")
	}

	id := h.submit("--", "sh", "-c", script, marker)
	r := h.run("logs", "-f", idArg(id))
	if r.code != 0 {
		t.Fatalf("logs -f: want exit 0:\n%s", r)
	}
	if r.stdout != wantOut.String() {
		t.Errorf("logs -f stdout = %q, want %q", r.stdout, wantOut.String())
	}
	// logs -f returned: the job's process must be gone by now.
	if ps := markerPIDs(marker); len(ps) > 0 {
		t.Errorf("logs -f returned while the job still runs:%s", describePIDs(ps))
	}
	h.waitFor("the job to be recorded as ended", 10*time.Second, func() bool { return terminal(h.show(id).State) })

	if r := h.mustRun("logs", "--stderr", idArg(id)); r.stdout != wantErr.String() {
		t.Errorf("logs --stderr = %q, want %q", r.stdout, wantErr.String())
	}
	if r := h.mustRun("logs", idArg(id)); r.stdout != wantOut.String() {
		t.Errorf("logs = %q, want %q", r.stdout, wantOut.String())
	}

	r = h.run("run", "--", "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("attached run: want exit 0:\n%s", r)
	}
	if r.stdout != wantOut.String() {
		t.Errorf("attached run stdout = %q, want only the job's stdout %q", r.stdout, wantOut.String())
	}
	var errLines []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "err") {
			errLines = append(errLines, l)
		}
	}
	if got := strings.Join(errLines, "\n") + "\n"; got != wantErr.String() {
		t.Errorf("attached run: job's stderr lines on stderr = %q, want %q\n%s", got, wantErr.String(), r)
	}
}

// --retries runs a failing task again, and the job succeeds on the attempt
// that succeeds; BURST_ATTEMPT counts the attempts.
func TestRetries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.run("run", "--retries", "2", "--", "sh", "-c", `echo "try $BURST_ATTEMPT"; [ "$BURST_ATTEMPT" = 3 ]`)
	if r.code != 0 {
		t.Fatalf("want success on the third attempt:\n%s", r)
	}
	j := h.show(jobIDFrom(t, r))
	if j.State != "succeeded" || j.task0(t).Attempt != 3 {
		t.Errorf("job %s on attempt %d, want succeeded on attempt 3", j.State, j.task0(t).Attempt)
	}
	if r := h.mustRun("logs", idArg(j.ID)); r.stdout != "try 1\ntry 2\ntry 3\n" || !strings.Contains(r.stderr, "ran 3 attempts") {
		t.Errorf("logs = %q, stderr %q; want every attempt's output, and a note that it holds 3 attempts", r.stdout, r.stderr)
	}

	r = h.run("run", "--retries", "1", "--", "sh", "-c", "exit 7")
	if r.code != 7 {
		t.Errorf("retries exhausted: want the last exit status 7:\n%s", r)
	}
	if j := h.show(jobIDFrom(t, r)); j.State != "failed" || j.task0(t).Attempt != 2 {
		t.Errorf("job %s on attempt %d, want failed after 2 attempts", j.State, j.task0(t).Attempt)
	}
}

// A task's stdin is empty: a program reading it ends instead of hanging.
func TestTaskStdinIsEmpty(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.command("run", "--", "sh", "-c", `n=$(wc -c); echo "read $n bytes"`)
	c.Stdin = strings.NewReader("the submitter's stdin must not reach the task\n")
	r := h.exec(c)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "read 0 bytes" {
		t.Errorf("want the task to read nothing from stdin:\n%s", r)
	}
}

// An attached run hands back the program's output byte for byte: binary
// data, no trailing newline, several MiB.
func TestAttachedOutputIsExact(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	data := make([]byte, 5<<20+123)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	data = append(data, "\x00\xff no newline at the end"...)
	writeFile(t, filepath.Join(h.dir, "blob"), string(data), 0o644)
	r := h.run("run", "--", "cat", "blob")
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r.stderr)
	}
	if r.stdout != string(data) {
		t.Errorf("attached run: stdout is %d bytes, differs from the program's %d bytes", len(r.stdout), len(data))
	}
	var out countingWriter
	c := h.command("logs", idArg(jobIDFrom(t, r)))
	c.Stdout = &out
	if r := h.exec(c); r.code != 0 || int(out) != len(data) {
		t.Errorf("logs: %d bytes, want %d:\n%s", out, len(data), r.stderr)
	}
}

// Jobs submitted at the same moment get distinct ids and all run.
func TestConcurrentSubmits(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("jobs") // one server, started before the burst
	const n = 12
	var subs []*bg
	for i := range n {
		subs = append(subs, h.start("run", "-d", "--", "echo", "job-"+strconv.Itoa(i)))
	}
	ids := map[string]int{}
	for i, b := range subs {
		r := b.result(t)
		id := strings.TrimSpace(r.stdout)
		if r.code != 0 || id == "" {
			t.Fatalf("concurrent run -d:\n%s", r)
		}
		if prev, dup := ids[id]; dup {
			t.Errorf("submissions %d and %d both got job id %s", prev, i, id)
		}
		ids[id] = i
	}
	args := []string{"wait"}
	for id := range ids {
		args = append(args, id)
	}
	if r := h.run(args...); r.code != 0 {
		t.Errorf("wait on all: want exit 0:\n%s", r)
	}
	for id, i := range ids {
		if out := h.mustRun("logs", id).stdout; out != "job-"+strconv.Itoa(i)+"\n" {
			t.Errorf("job %s (submission %d): logs %q", id, i, out)
		}
	}
	if got := len(h.jobsJSON()); got != n {
		t.Errorf("%d jobs listed, want %d", got, n)
	}
}

// `burst logs` of a stream a task left empty prints nothing on stdout, and
// on a terminal says so on stderr (silence would read as a failure to
// fetch); off a terminal it says nothing, for scripts. script(1) gives the
// command a terminal.
func TestLogsSaysWhenEmptyOnATerminal(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatal("script(1) (util-linux) is needed to give burst logs a terminal")
	}
	h := newHarness(t)
	h.mustRun("run", "--", "true")
	if r := h.mustRun("logs", "1", "--stderr"); r.stdout != "" || r.stderr != "" {
		t.Fatalf("burst logs --stderr off a terminal: %s; want nothing at all", r)
	}
	c := exec.Command("script", "-qec", burstBin+" logs 1 --stderr", "/dev/null")
	c.Env, c.Dir = append([]string(nil), h.env...), h.dir
	out, err := c.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "task 0 of job 1 has written nothing to stderr") {
		t.Fatalf("burst logs --stderr on a terminal: %v\n%q", err, out)
	}
}

// A log removed after its task ended is reported as gone, naming the file
// and what it held, by logs and results alike (both printed nothing, exit
// 0, as for a task that wrote nothing); a task that wrote nothing is still
// empty and fine. Small map outputs kept in a pack file are told the same.
func TestLogsOfARemovedFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "sh", "-c", "echo hello; echo oops >&2")
	var rs []struct {
		Stdout string `json:"stdout_path"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("results", "1", "-o", "json").stdout), &rs); err != nil || len(rs) != 1 {
		t.Fatalf("results -o json: %v %v", err, rs)
	}
	if err := os.Remove(rs[0].Stdout); err != nil {
		t.Fatal(err)
	}
	gone := rs[0].Stdout + ", which held its 6 bytes, is no longer there"
	for _, args := range [][]string{{"logs", "1"}, {"logs", "1", "-f"}, {"results", "1"}} {
		r := h.run(args...)
		if r.code == 0 || !strings.Contains(r.stderr, gone) {
			t.Errorf("burst %s of a removed log: want a failure saying %q:\n%s", strings.Join(args, " "), gone, r)
		}
	}
	if r := h.mustRun("logs", "1", "--stderr"); r.stdout != "oops\n" {
		t.Errorf("logs --stderr beside a removed stdout: %s", r)
	}
	h.mustRun("run", "--", "true")
	if r := h.mustRun("logs", "2"); r.stdout != "" {
		t.Errorf("logs of a task that wrote nothing: %s", r)
	}

	for _, p := range packedMap(t, h, "3") {
		os.Remove(p)
	}
	if r := h.run("results", "3"); r.code == 0 || !strings.Contains(r.stderr, "which held its 2 bytes, is no longer there") {
		t.Errorf("results of a map whose pack was removed: %s", r)
	}
}

// TestRunSaysStdinIsNotRead: a task reads /dev/null, so `burst run -- wc
// -l < data` prints 0; a followed run given data on its stdin says so,
// naming how to give the data, before the output. With nothing there (or
// detached) it says nothing.
func TestRunSaysStdinIsNotRead(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	data := filepath.Join(h.dir, "data.txt")
	if err := os.WriteFile(data, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stdin string
		args  []string
		note  bool
	}{
		{data, []string{"run", "--", "wc", "-l"}, true},
		{os.DevNull, []string{"run", "--", "wc", "-l"}, false},
		{data, []string{"run", "-d", "--", "true"}, false},
		{data, []string{"pipe", "wc -l"}, true},
	} {
		f, err := os.Open(c.stdin)
		if err != nil {
			t.Fatal(err)
		}
		cmd := h.command(c.args...)
		cmd.Stdin = f
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err = cmd.Run()
		f.Close()
		if err != nil {
			t.Fatalf("burst %v < %s: %v\n%s", c.args, c.stdin, err, errb.String())
		}
		if got := strings.Contains(errb.String(), "standard input is not passed"); got != c.note {
			t.Errorf("burst %v < %s: note said %v, want %v:\n%s", c.args, c.stdin, got, c.note, errb.String())
		}
	}
}

// packedMap runs a map of a, b and c, job id, whose outputs the agent
// packs into shared files, checks its results, and returns those files.
func packedMap(t *testing.T, h *harness, id string) []string {
	t.Helper()
	h.mustRun("map", "-k", "--", "echo", "{}", ":::", "a", "b", "c")
	packs, _ := filepath.Glob(filepath.Join(h.home, "logs", id, "*", "pack-*"))
	if r := h.mustRun("results", id); r.stdout != "a\nb\nc\n" || len(packs) == 0 {
		t.Fatalf("results of the map: %s; packs %v", r, packs)
	}
	return packs
}
