package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Pipes through the real binary: stages are real processes joined by real
// OS pipes (one machine) or TCP streams between two agents (two machines).

// TestPipeStreamsAndSums: a two-stage pipe on this host gives what the same
// shell pipeline gives, and burst show lists its stages with their I/O.
func TestPipeStreamsAndSums(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.mustRun("pipe", `seq 1 100000 | --cpus 1 --name sum awk "{s+=\$1} END {system(\"sleep 0.5\"); printf \"%.0f\\n\", s}"`)
	if r.stdout != "5000050000\n" {
		t.Fatalf("sum of 1..100000 through a pipe:\n%s", r)
	}
	j := h.show(jobIDFrom(t, r))
	if j.State != "succeeded" || len(j.TaskList) != 2 {
		t.Fatalf("a pipe of two stages should be one job of two tasks, succeeded: %+v", j)
	}
	if j.TaskList[0].Machine != j.TaskList[1].Machine {
		t.Errorf("both stages fit on this host and should share it (an OS pipe): %+v", j.TaskList)
	}
	// Each stage is charged its share of the machine while it runs (one
	// that reserves no CPU as one CPU), and the stages' costs add up to the
	// job's, as metered.
	if j.TaskList[1].CostUSD <= 0 {
		t.Errorf("the sum stage ran past the meter's ticks and should cost something: %+v", j.TaskList)
	}
	if d := j.TaskList[0].CostUSD + j.TaskList[1].CostUSD - j.CostUSD; d > 1e-9 || d < -1e-9 {
		t.Errorf("stage costs %v + %v should add up to the job's %v", j.TaskList[0].CostUSD, j.TaskList[1].CostUSD, j.CostUSD)
	}
	if out := h.mustRun("logs", idArg(j.ID)).stdout; out != "5000050000\n" {
		t.Errorf("burst logs of a pipe should print its output (the last stage's): %q", out)
	}
	if r := h.mustRun("pipe", `echo hi | --cpus 2 sh -c 'cat >/dev/null; echo $BURST_CPUS'`); r.stdout != "2\n" {
		t.Errorf("a --cpus 2 stage should see BURST_CPUS=2:\n%s", r)
	}
	out := h.mustRun("show", idArg(j.ID)).stdout
	// WRITTEN counts what burst sees: the sum stage's 11 bytes to its log
	// file; seq's 575 KiB went through an OS pipe, not through burst, and
	// are not counted ("-"), rather than guessed from its read/write totals.
	for _, want := range []string{"Pipe:", "seq 1 100000 | --name sum", "STAGE", "sum", "WRITTEN", "11 B", "shared"} {
		if !strings.Contains(out, want) {
			t.Errorf("burst show of a pipe lacks %q:\n%s", want, out)
		}
	}
}

// TestPipeEarlyExitAndPipefail: a stage that stops reading stops the
// stages before it with SIGPIPE, which is no failure; otherwise the pipe's
// status is that of the last stage that failed, and the summary names the
// failed stages.
func TestPipeEarlyExitAndPipefail(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	start := time.Now()
	r := h.mustRun("pipe", "yes | head -n 3")
	if r.stdout != "y\ny\ny\n" {
		t.Errorf("yes | head -n 3:\n%s", r)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("yes should have stopped when head exited; the pipe took %s", d)
	}
	j := h.show(jobIDFrom(t, r))
	if j.TaskList[0].State != "succeeded" || !strings.Contains(j.TaskList[0].Reason, "SIGPIPE") {
		t.Errorf("yes should end by SIGPIPE, as no failure: %+v", j.TaskList[0])
	}

	r = h.run("pipe", `sh -c "echo a; exit 3" | --name middle sh -c "cat; exit 4" | --name last cat`)
	if r.code != 4 || r.stdout != "a\n" {
		t.Errorf("pipefail: the last failing stage (middle, 4) gives the status:\n%s", r)
	}
	for _, want := range []string{"sh (exit 3)", "middle (exit 4)", "pipefail"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the summary should name %q:\n%s", want, r)
		}
	}
}

// TestPipeParallelSplitsLines: --parallel deals the input's lines to the
// copies and merges their outputs, whole lines only; each copy's stderr
// comes back prefixed with its name.
func TestPipeParallelSplitsLines(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.mustRun("pipe", `seq 1 20000 | --parallel 3 --name double sh -c "echo started >&2; awk '{print \$1*2}'" | sort -n | awk "{s+=\$1; n++} END {print n, s}"`)
	if r.stdout != "20000 400020000\n" {
		t.Fatalf("every line doubled exactly once:\n%s", r)
	}
	for _, want := range []string{"[double#1] started", "[double#2] started", "[double#3] started"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr should carry %q:\n%s", want, r.stderr)
		}
	}
	j := h.show(jobIDFrom(t, r))
	if len(j.TaskList) != 6 {
		t.Fatalf("1 + 3 copies + 1 + 1 = 6 tasks: %+v", j.TaskList)
	}
	h.mustRun("show", idArg(j.ID))
	if out := h.mustRun("logs", idArg(j.ID), "--stage", "double#2", "--stderr").stdout; out != "started\n" {
		t.Errorf("burst logs --stage double#2 --stderr = %q", out)
	}
	if r := h.run("logs", idArg(j.ID), "--stage", "nope"); r.code != 2 || !strings.Contains(r.stderr, "seq, double, sort, awk") {
		t.Errorf("an unknown stage should list the stages:\n%s", r)
	}
}

// TestPipeParallelLastStage: a --parallel last stage's copies are merged
// into the pipe's output, all of it, even when the copy that hosts the
// merge ends first.
func TestPipeParallelLastStage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.mustRun("pipe", `sh -c "sleep 0.5; echo data; echo more" | --parallel 2 --name last sh -c 'while read l; do sleep 1; echo got-$l; done'`)
	got := strings.Fields(r.stdout)
	sort.Strings(got)
	if strings.Join(got, " ") != "got-data got-more" {
		t.Errorf("both lines through the parallel last stage should reach the output:\n%s", r)
	}
	// A pipe cannot be resumed: it runs whole or not at all.
	r = h.run("pipe", `sh -c "echo x" | sh -c "cat; exit 3"`)
	id := jobIDFrom(t, r)
	if r := h.run("map", "--resume", idArg(id)); r.code == 0 || !strings.Contains(r.stderr, "burst pipe") {
		t.Errorf("resuming a pipe should be refused with the way to run it again:\n%s", r)
	}
}

// TestPipeFilesAndYAML: < and > at the ends, and the same pipe from a YAML
// file.
func TestPipeFilesAndYAML(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "in.txt"), "b\na\nc\na\n", 0o644)
	r := h.runIn(dir, "pipe", "sort < in.txt | uniq -c > counts.txt")
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("a pipe writing a file prints nothing:\n%s", r)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "counts.txt"))
	if strings.Join(strings.Fields(string(got)), " ") != "2 a 1 b 1 c" {
		t.Errorf("counts.txt = %q", got)
	}
	writeFile(t, filepath.Join(dir, "p.yaml"), `name: counting
stdin: in.txt
stdout: counts2.txt
stages:
  - run: sort
    cpus: 1
  - run: uniq -c
    name: count
`, 0o644)
	if r := h.runIn(dir, "pipe", "-f", "p.yaml"); r.code != 0 {
		t.Fatalf("pipe -f:\n%s", r)
	}
	got2, _ := os.ReadFile(filepath.Join(dir, "counts2.txt"))
	if string(got2) != string(got) {
		t.Errorf("the YAML pipe wrote %q, the string one %q", got2, got)
	}
}

// TestPipeAcrossMachines: a stage placed on another machine (a machine of
// a local cluster: its own agent) gets its input over a TCP stream between
// the two agents.
func TestPipeAcrossMachines(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--max", "1", "--idle-stop", "1m")
	r := h.mustRun("pipe", `seq 1 200000 | --on work --name remote awk "{s+=\$1} END {printf \"%.0f\\n\", s}"`)
	if r.stdout != "20000100000\n" {
		t.Fatalf("sum across machines:\n%s", r)
	}
	j := h.show(jobIDFrom(t, r))
	if j.TaskList[0].Machine == j.TaskList[1].Machine || !strings.HasPrefix(j.TaskList[1].Machine, "work-") {
		t.Errorf("the second stage should run on the cluster's machine, the first elsewhere: %+v", j.TaskList)
	}
	// Early exit across machines: head on the remote machine stops yes here.
	r = h.mustRun("pipe", `yes | --on work head -n 2`)
	if r.stdout != "y\ny\n" {
		t.Errorf("yes | head across machines:\n%s", r)
	}
}

// TestPipeBadInput: every refusal names the problem and the fix, and
// nothing is queued.
func TestPipeBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, c := range []struct {
		pipe string
		want []string
	}{
		{`seq 3 | | cat`, []string{"column", "stage"}},
		{`echo 'oops | cat`, []string{"column 6", "quote"}},
		{`seq 3 | --cpu 2 cat`, []string{"--cpu", "--cpus"}},
		{`seq 3 && echo done`, []string{"&&"}},
		{`seq 3 | --gpus 1 cat`, []string{"stage cat", "GPU", "local"}},
		{`seq 3 | --on nowhere cat`, []string{"nowhere", "cluster"}},
	} {
		r := h.run("pipe", c.pipe)
		if r.code == 0 {
			t.Errorf("burst pipe %q should be refused:\n%s", c.pipe, r)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("burst pipe %q: the message should mention %q:\n%s", c.pipe, w, r.stderr)
			}
		}
	}
	if n := len(h.jobsJSON()); n != 0 {
		t.Errorf("refused pipes must queue nothing; %d jobs exist", n)
	}

	// A command that does not exist fails fast, naming its stage, and
	// stops the stages that would wait for it.
	start := time.Now()
	r := h.run("pipe", `sleep 60 | --name ghost no-such-program-here | cat`)
	if r.code != 127 || !strings.Contains(r.stderr, "ghost") || !strings.Contains(r.stderr, "no-such-program-here") {
		t.Errorf("a missing command should fail the pipe naming the stage:\n%s", r)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the pipe should stop at once when a stage cannot start; it took %s", d)
	}

	// A stage over its memory limit: said so, the pipe stopped.
	prog := "import sys\nb = bytearray(300 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nsys.stdout.write('survived')\n"
	r = h.run("pipe", `seq 1 10 | --mem 60M --name hog python3 -c '`+prog+`' | cat`)
	if r.code != 137 || !strings.Contains(r.stderr, "hog") || !strings.Contains(r.stderr, "out of memory") {
		t.Errorf("a stage out of memory should stop the pipe with 137, naming it:\n%s", r)
	}

	// A stage past its time limit: the pipe ends timed out, 124.
	r = h.run("pipe", `seq 3 | --time 2s --name slow sleep 30`)
	if j := h.show(jobIDFrom(t, r)); r.code != 124 || j.State != "timeout" || !strings.Contains(r.stderr, "slow") {
		t.Errorf("a stage past its --time should end the pipe with 124 (state %s):\n%s", j.State, r)
	}
}

// TestPipeRestartsWhenMachineLost: the agent of the machine under one stage
// is killed mid-stream; the pipe restarts whole (the stage that had ended
// runs again too) and its output is complete, once.
func TestPipeRestartsWhenMachineLost(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--max", "1", "--idle-stop", "1m")
	marker := newMarker()
	id := h.submitPipe(`seq 1 5 | --on work --name slow sh -c "if [ -e attempt1 ]; then cat; else touch attempt1; sleep ` + marker + `; fi"`)
	h.waitFor("the slow stage to sleep", 60*time.Second, func() bool { return len(sleepers(marker)) > 0 })
	var victim int
	for _, m := range h.machines("work") {
		if m.State == "running" {
			victim = m.AgentPID
		}
	}
	if victim == 0 {
		t.Fatalf("no running machine in work: %+v", h.machines("work"))
	}
	h.kill9(victim, "the work machine's agent")
	h.waitFor("the pipe to finish", 90*time.Second, func() bool { return terminal(h.show(id).State) })
	j := h.show(id)
	if j.State != "succeeded" {
		t.Fatalf("the pipe should restart whole and succeed: %+v", j)
	}
	for _, tk := range j.TaskList {
		if tk.Attempt != 2 {
			t.Errorf("every stage should be on its second attempt: %+v", j.TaskList)
		}
	}
	if out := h.mustRun("logs", idArg(id), "--stage", "slow").stdout; out != "1\n2\n3\n4\n5\n" {
		t.Errorf("the restarted pipe's output: %q", out)
	}
	if !hasEvent(h.events(""), "machine.lost", "") {
		t.Errorf("the killed machine should be lost in the audit trail")
	}
}

// TestPipeCancelledWhileRestarting: a pipe whose machine was lost and
// that is cancelled before its other stages have ended ends cancelled, not
// queued forever.
func TestPipeCancelledWhileRestarting(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--max", "1", "--idle-stop", "1m")
	m1, m2 := newMarker(), newMarker()
	// The local stage ignores SIGTERM for a while, so that the pipe waits
	// to restart when the cancel comes.
	id := h.submitPipe(`sh -c 'trap "" TERM; sleep ` + m1 + `' | --on work sh -c 'sleep ` + m2 + `'`)
	h.waitFor("both stages to run", 60*time.Second, func() bool { return len(sleepers(m1)) > 0 && len(sleepers(m2)) > 0 })
	var victim int
	for _, m := range h.machines("work") {
		if m.State == "running" {
			victim = m.AgentPID
		}
	}
	h.kill9(victim, "the work machine's agent")
	h.waitFor("the pipe to wait for its restart", 30*time.Second, func() bool {
		return strings.Contains(h.show(id).Reason, "restart") || h.show(id).State == "queued"
	})
	h.mustRun("cancel", idArg(id))
	h.waitFor("the cancelled pipe to end", 60*time.Second, func() bool { return terminal(h.show(id).State) })
	if j := h.show(id); j.State != "cancelled" {
		t.Errorf("a pipe cancelled while waiting to restart should end cancelled: %+v", j)
	}
}

// submitPipe submits a pipe detached and returns its job id.
func (h *harness) submitPipe(p string) int64 {
	h.t.Helper()
	return jobIDFromStdout(h.t, h.mustRun("pipe", "-d", p))
}

// TestPipeNotOvertaken: a pipe waiting for CPUs holds its machine: a map
// submitted after it does not take the CPUs it waits for one by one (it
// would never start while the map lasts), and runs once the pipe is done.
func TestPipeNotOvertaken(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	all := runtime.NumCPU()
	holder := h.submit("--cpus", "1", "--", "sh", "-c", `while [ ! -e release ]; do sleep 0.05; done`, newMarker())
	h.waitRunning(holder)
	pipe := h.submitPipe(fmt.Sprintf(`echo piped | --cpus %d cat`, all))
	inputs := make([]string, 8)
	for i := range inputs {
		inputs[i] = strconv.Itoa(i)
	}
	m := jobIDFromStdout(t, h.mustRun(append([]string{"map", "-d", "--cpus", "1", "--", "sh", "-c", "sleep 0.2", "_", "{}", ":::"}, inputs...)...))
	h.waitPasses("burst_scheduler_passes_total", 3)
	// A task the scheduler placed has its machine from then on, started or not.
	j := h.showTasks(m, len(inputs))
	if j.Tasks.Running > 0 || j.State != "queued" {
		t.Fatalf("the map submitted after the waiting pipe took the CPUs it waits for: %s, %d running", j.State, j.Tasks.Running)
	}
	for _, tk := range j.TaskList {
		if tk.Machine != "" {
			t.Fatalf("the map submitted after the waiting pipe took the CPUs it waits for: task %d placed on %s (%s)", tk.Index, tk.Machine, tk.State)
		}
	}
	writeFile(t, filepath.Join(h.dir, "release"), "", 0o644)
	for _, id := range []int64{holder, pipe, m} {
		if r := h.run("wait", idArg(id)); r.code != 0 {
			t.Fatalf("wait %d: %s", id, r)
		}
	}
	p, mj := h.show(pipe), h.show(m)
	ps, err1 := time.Parse(time.RFC3339Nano, *p.StartedAt)
	ms, err2 := time.Parse(time.RFC3339Nano, *mj.StartedAt)
	if err1 != nil || err2 != nil {
		t.Fatalf("start times: %v %v", err1, err2)
	}
	if !ps.Before(ms) {
		t.Errorf("the pipe started at %s, after the younger map (%s)", ps, ms)
	}
	if out := h.mustRun("logs", idArg(pipe)).stdout; out != "piped\n" {
		t.Errorf("pipe output %q", out)
	}
}
