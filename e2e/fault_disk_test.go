package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/testfs"
)

// diskHarness is a harness whose BURST_HOME is a small tmpfs of its own
// (testfs.SmallDisk: root, else skipped loudly; under BURST_CI it fails).
// At cleanup the test's processes are killed first, then it is unmounted.
func diskHarness(t *testing.T, size string) *harness {
	t.Helper()
	h := newHarness(t)
	testfs.SmallDisk(t, h.home, size, h.killTagged)
	return h
}

// A full BURST_HOME in the middle of a map: new work is refused with a
// message naming the filesystem and the space to free, reads go on, the
// server does not exit (nor does any command start another), and once
// space returns every task of the map has ended exactly once.
func TestFaultDiskFullDuringMap(t *testing.T) {
	t.Parallel()
	h := diskHarness(t, "16m")
	out := filepath.Join(h.dir, "done") // outside the full filesystem
	const n = 60
	inputs := make([]string, n)
	for i := range inputs {
		inputs[i] = strconv.Itoa(i)
	}
	id := strings.TrimSpace(h.mustRun(append([]string{"map", "-d", "--", "sh", "-c",
		`sleep 0.05; echo $1 >> ` + out, "_", "{}", ":::"}, inputs...)...).stdout)
	h.waitFor("a few tasks done", 30*time.Second, func() bool {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "\n") >= 8
	})
	server := h.serverPID()
	testfs.Fill(t, filepath.Join(h.home, "filler"))

	// New work is refused, naming the filesystem and what to free.
	var refused result
	h.waitFor("a submit refused for the full disk", 10*time.Second, func() bool {
		refused = h.run("run", "-d", "--", "true")
		return refused.code != 0
	})
	if msg := refused.stderr; !strings.Contains(msg, h.home) || !strings.Contains(msg, "free at least") {
		t.Errorf("the refusal does not name the filesystem %s and the space to free: %s", h.home, refused)
	}
	t.Logf("refused: %s", strings.TrimSpace(refused.stderr))
	// Reads work on a full disk.
	for _, args := range [][]string{{"jobs"}, {"show", id}, {"results", id, "--no-wait"}, {"results", id, "-o", "json", "--no-wait"}} {
		if r := h.run(args...); r.code != 0 {
			t.Errorf("a read on a full disk failed: %s", r)
		}
	}
	if got := h.serverPID(); got != server || !alive(server) {
		t.Fatalf("the server changed on a full disk: pid %d, then %d (alive: %v)", server, got, alive(server))
	}

	if err := os.Remove(filepath.Join(h.home, "filler")); err != nil {
		t.Fatal(err)
	}
	if r := h.run("wait", id); r.code != 0 {
		t.Errorf("wait after space returned: %s", r)
	}
	if got := h.serverPID(); got != server || !alive(server) {
		t.Errorf("the server was restarted: pid %d, then %d", server, got)
	}
	row := faultRow{Fault: "full disk (tmpfs BURST_HOME) during a map", Tasks: n}
	b, _ := os.ReadFile(out)
	ran := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		ran[l]++
	}
	seen := map[int]bool{}
	for _, res := range h.results(id) {
		c := ran[strconv.Itoa(res.Index)]
		switch {
		case seen[res.Index] || c > 1 || res.Attempt != 1:
			row.Duplicated++
			t.Errorf("task %d: ran %d times, attempt %d, seen before: %v", res.Index, c, res.Attempt, seen[res.Index])
		case res.State != "succeeded" || c != 1:
			row.FailedWrongly++
			t.Errorf("task %d ended %s, ran %d times", res.Index, res.State, c)
		}
		seen[res.Index] = true
	}
	row.Lost = n - len(seen)
	recordFault(t, row)
	// New work is taken again.
	if r := h.run("run", "--", "true"); r.code != 0 {
		t.Errorf("a run once space returned: %s", r)
	}
}

// Output that could not be saved fails its task, with the reason shown by
// burst run and burst show: a file given with --output on a full
// filesystem. sbatch's manual (--output) has the step write the file
// itself; burst does the same, so it cannot see the failed writes, and a
// filesystem full when the task ends counts as output lost.
func TestFaultDiskFullOutputFails(t *testing.T) {
	t.Parallel()
	h := diskHarness(t, "16m")
	full := filepath.Join(h.dir, "full")
	testfs.SmallDisk(t, full, "1m", h.killTagged)
	testfs.Fill(t, filepath.Join(full, "filler"))
	script := filepath.Join(h.dir, "job.sbatch")
	writeFile(t, script, "#!/bin/sh\necho hello\n", 0o755)
	r := h.run("run", "--output", filepath.Join(full, "out.txt"), script)
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "may be incomplete") {
		t.Errorf("a run whose --output file is on a full filesystem: want a failure naming the lost output, got %s", r)
	}
	id, err := strconv.ParseInt(strings.TrimSpace(h.mustRun("run", "-d", "--output", filepath.Join(full, "out2.txt"), script).stdout), 10, 64)
	if err != nil {
		t.Fatalf("run -d printed no job id: %v", err)
	}
	h.run("wait", idArg(id))
	j := h.show(id)
	task := j.task0(t)
	if j.State != "failed" || task.State != "failed" || !strings.Contains(task.Reason, "full") {
		t.Errorf("burst show: job %s, task %s (%q); want failed with the reason", j.State, task.State, task.Reason)
	}
	if r := h.run("show", idArg(id)); !strings.Contains(r.stdout, "may be incomplete") {
		t.Errorf("burst show does not say why the task failed: %s", r)
	}
	row := faultRow{Fault: "--output on a full filesystem fails the task", Tasks: 2}
	if task.State == "succeeded" {
		row.Lost++ // its output is lost, and the result says nothing of it
	}

	// A script that ignores its write errors exits 0: its task still
	// failed, and so do burst run and burst wait (exit 1, not 0).
	quiet := filepath.Join(h.dir, "quiet.sbatch")
	writeFile(t, quiet, "#!/bin/sh\necho hello 2>/dev/null\nexit 0\n", 0o755)
	r = h.run("run", "--output", filepath.Join(full, "out3.txt"), quiet)
	if r.code != 1 || !strings.Contains(r.stderr, "may be incomplete") {
		t.Errorf("burst run of a script exiting 0 whose --output is lost: want exit 1 naming the lost output, got %s", r)
	}
	qid := strings.TrimSpace(h.mustRun("run", "-d", "--output", filepath.Join(full, "out4.txt"), quiet).stdout)
	if r := h.run("wait", qid); r.code != 1 {
		row.Lost++
		t.Errorf("burst wait of a failed job whose command exited 0: want exit 1, got %s", r)
	}
	recordFault(t, row)
}

// The disk stays full longer than an agent's idle exit (BURST_AGENT_IDLE_EXIT,
// 2 minutes by default; 2 s here, after a lease's wait of 10 s): the agent, its tasks done and their
// results refused (507) while the store holds writes, keeps them and stays,
// for a server that answers is not gone. Before, the server refused its
// leases too, the agent took that for an outage and exited with its results
// unreported: once space returned its tasks were found lost and ran again.
func TestFaultDiskFullLongerThanIdleExit(t *testing.T) {
	t.Parallel()
	h := diskHarness(t, "16m")
	const idleExit = 2 * time.Second
	h.setEnv("BURST_AGENT_IDLE_EXIT", idleExit.String())
	out := filepath.Join(h.dir, "done") // outside the full filesystem
	const n = 30
	inputs := make([]string, n)
	for i := range inputs {
		inputs[i] = strconv.Itoa(i)
	}
	id := strings.TrimSpace(h.mustRun(append([]string{"map", "-d", "--", "sh", "-c",
		`sleep 0.05; echo $1 >> ` + out, "_", "{}", ":::"}, inputs...)...).stdout)
	h.waitFor("a few tasks done", 30*time.Second, func() bool {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "\n") >= 5
	})
	agent := h.agentPID()
	testfs.Fill(t, filepath.Join(h.home, "filler"))
	h.waitFor("the store holding writes", 20*time.Second, func() bool {
		r := h.run("run", "-d", "--", "true")
		return r.code != 0 && strings.Contains(r.stderr, "is full since")
	})
	// The user's other writes are refused at once, naming the filesystem
	// (before, they waited without a word until there was room). A cancel
	// is not refused: TestFaultDiskFilledByTask.
	for _, args := range [][]string{{"project", "create", "mars"}} {
		start := time.Now()
		r := h.run(args...)
		if r.code == 0 || !strings.Contains(r.stderr, h.home) || !strings.Contains(r.stderr, "free at least") {
			t.Errorf("a write during a hold: want a refusal naming %s and the space to free, got %s", h.home, r)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("burst %s took %s to answer during a hold", args[0], d.Round(time.Millisecond))
		}
	}
	// The fault is the hold's length: longer than a lease's wait at the
	// server (10 s: a lease asked before the hold answers at its end) and
	// then the idle exit, twice over; the agent's tasks end within the
	// first second (each sleeps 50 ms).
	time.Sleep(10*time.Second + 2*idleExit)
	if !alive(agent) {
		t.Errorf("the agent exited while the server held its results for a full disk")
	}
	if err := os.Remove(filepath.Join(h.home, "filler")); err != nil {
		t.Fatal(err)
	}
	if r := h.run("wait", id); r.code != 0 {
		t.Errorf("wait after space returned: %s", r)
	}
	recordFault(t, mapOutcome(t, h, id, out, n, "full disk held longer than the agent's idle exit"))
}

// mapOutcome counts how the n tasks of map id ended: each must have run
// once (a line in out per run), on its first attempt, and succeeded.
func mapOutcome(t *testing.T, h *harness, id, out string, n int, fault string) faultRow {
	t.Helper()
	row := faultRow{Fault: fault, Tasks: n}
	b, _ := os.ReadFile(out)
	ran := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		ran[l]++
	}
	seen := map[int]bool{}
	for _, res := range h.results(id) {
		c := ran[strconv.Itoa(res.Index)]
		switch {
		case seen[res.Index] || c > 1 || res.Attempt != 1:
			row.Duplicated++
			t.Errorf("task %d: ran %d times, attempt %d, seen before: %v", res.Index, c, res.Attempt, seen[res.Index])
		case res.State != "succeeded" || c != 1:
			row.FailedWrongly++
			t.Errorf("task %d ended %s, ran %d times", res.Index, res.State, c)
		}
		seen[res.Index] = true
	}
	row.Lost = n - len(seen)
	return row
}

// A server starts on a full disk, in the refusing mode: reads work, new
// work is refused with the message, and once space returns it takes work
// again, without another start.
func TestFaultDiskFullServerStarts(t *testing.T) {
	t.Parallel()
	h := diskHarness(t, "16m")
	id := strings.TrimSpace(h.mustRun("run", "-d", "--", "true").stdout)
	h.mustRun("wait", id)
	h.mustRun("server", "stop")
	testfs.Fill(t, filepath.Join(h.home, "filler"))

	r := h.run("show", id)
	if r.code != 0 {
		t.Fatalf("a read with a full BURST_HOME, no server running: %s", r)
	}
	server := serverProc(t, h) // no server.json: no room for it
	r = h.run("run", "-d", "--", "true")
	if r.code == 0 || !strings.Contains(r.stderr, h.home) || !strings.Contains(r.stderr, "free at least") {
		t.Errorf("a submit on a full disk: want a refusal naming %s and the space to free, got %s", h.home, r)
	}
	if err := os.Remove(filepath.Join(h.home, "filler")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("new work taken once space returned", 10*time.Second, func() bool {
		r := h.run("run", "--", "true")
		if r.code != 0 {
			t.Logf("not yet: %s", strings.TrimSpace(r.stderr))
		}
		return r.code == 0
	})
	if got := serverProc(t, h); got != server {
		t.Errorf("the server changed: pid %d, then %d", server, got)
	}
	row := faultRow{Fault: "server start on a full disk", Tasks: 1}
	if j := h.show(mustID(t, id)); j.State != "succeeded" {
		row.Lost++
		t.Errorf("job %s is %s after a start on a full disk", id, j.State)
	}
	recordFault(t, row)
}

// serverProc is the pid of the test's one server process (`burst server`),
// found by its tag: on a full disk there may be no server.json to say it.
func serverProc(t *testing.T, h *harness) int {
	t.Helper()
	var found []int
	for _, pid := range taggedPIDs(h.tag) {
		if a := procArgs(pid); len(a) >= 2 && a[1] == "server" {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one server process, found %v", found)
	}
	return found[0]
}

// burst server stop while a full disk holds writes stops the server (its
// held writes were never acknowledged: the store keeps what it had), and
// the next server, once space returns, finishes the map with every task
// ended once. Its tasks take 0.3 s each, so that the map still writes when
// the disk fills (with 0.05 s a loaded CI host finished it first, and no
// write was ever held).
func TestFaultDiskFullServerStop(t *testing.T) {
	t.Parallel()
	h := diskHarness(t, "16m")
	out := filepath.Join(h.dir, "done")
	const n = 40
	inputs := make([]string, n)
	for i := range inputs {
		inputs[i] = strconv.Itoa(i)
	}
	id := strings.TrimSpace(h.mustRun(append([]string{"map", "-d", "--", "sh", "-c",
		`sleep 0.3; echo $1 >> ` + out, "_", "{}", ":::"}, inputs...)...).stdout)
	h.waitFor("a few tasks done", 30*time.Second, func() bool {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "\n") >= 5
	})
	testfs.Fill(t, filepath.Join(h.home, "filler"))
	h.waitFor("the store holding writes", 20*time.Second, func() bool {
		r := h.run("run", "-d", "--", "true")
		return r.code != 0 && strings.Contains(r.stderr, "is full since")
	})
	if r := h.run("server", "stop"); r.code != 0 {
		t.Fatalf("server stop on a full disk: %s", r)
	}
	if err := os.Remove(filepath.Join(h.home, "filler")); err != nil {
		t.Fatal(err)
	}
	if r := h.run("wait", id); r.code != 0 {
		t.Errorf("wait after space returned: %s", r)
	}
	row := faultRow{Fault: "server stop while a full disk holds writes", Tasks: n}
	b, _ := os.ReadFile(out)
	ran := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		ran[l]++
	}
	seen := map[int]bool{}
	for _, res := range h.results(id) {
		switch c := ran[strconv.Itoa(res.Index)]; {
		case seen[res.Index]:
			row.Duplicated++
			t.Errorf("task %d has two results", res.Index)
		case res.State != "succeeded" || c < 1:
			row.FailedWrongly++
			t.Errorf("task %d ended %s, ran %d times", res.Index, res.State, c)
		}
		seen[res.Index] = true
	}
	row.Lost = n - len(seen)
	recordFault(t, row)
}

// A map whose task's log cannot be written (its logs directory is not
// usable: a file stands where the job's directory goes) fails that task,
// retried under --retries, with the reason in burst map's summary and in
// burst show. No root needed.
func TestFaultLogUnusableFailsTask(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if err := os.MkdirAll(filepath.Join(h.home, "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(h.home, "logs", "1"), "", 0o600) // job 1's log directory cannot be made
	r := h.run("map", "--retries", "1", "--", "echo", "{}", ":::", "a")
	if r.code == 0 || !strings.Contains(r.stderr, "could not be saved") {
		t.Errorf("burst map of a task whose log cannot be written: want a failure with the reason, got %s", r)
	}
	task := h.show(1).task0(t)
	if task.State != "failed" || task.Attempt != 2 || !strings.Contains(task.Reason, "could not be saved") {
		t.Errorf("task: %s, attempt %d, %q; want failed after its retry, with the reason", task.State, task.Attempt, task.Reason)
	}
	row := faultRow{Fault: "log file cannot be written: the task fails", Tasks: 1}
	if task.State == "succeeded" {
		row.Lost++ // its output is gone and its result says it succeeded
	}
	recordFault(t, row)
}
