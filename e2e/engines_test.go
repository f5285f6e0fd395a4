package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// Real workflow engines that nobody here wrote, on burst: Snakemake 7 and
// Toil 5.9 from Debian (.ci/run installs them), each running the small
// workflows of testdata/engines (several jobs with dependencies, one that
// fails once and is retried) to completion through burst's Slurm
// personality (`burst slurm link DIR` on PATH), with a real burst server
// under it. Every Slurm command an engine runs goes through a logging shim
// (slurmShim), so the tests know exactly what it asked and can count it.
//
// BURST_ENGINES_ON=slurm runs the same workflows against the suite's real
// Slurm instead (no burst involved), to prove the workflows and to see what
// the engines ask of real Slurm; the burst-side checks are then left out.

// engineProject is the burst project the workflows' work is charged to:
// sbatch -A (Snakemake's cluster line, TOIL_SLURM_ARGS) or --project.
const engineProject = "engines"

// slurmCommands are the commands an engine may run; the shim wraps each.
var slurmCommands = []string{"sbatch", "squeue", "scancel", "sacct", "sinfo", "scontrol", "srun", "sacctmgr"}

// needEngine finds an engine's executable, or skips loudly (fails under
// BURST_CI, where .ci/run installs it).
func needEngine(t *testing.T, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	msg := fmt.Sprintf("SKIPPED: %s is missing: apt-get install -y --no-install-recommends %s", path, pkg)
	if os.Getenv("BURST_CI") != "" {
		t.Fatal(msg + " (BURST_CI is set: CI must not skip)")
	}
	fmt.Fprintln(os.Stderr, "!!!", msg)
	t.Skip(msg)
}

// onRealSlurm says whether the engines run against the suite's real Slurm
// (BURST_ENGINES_ON=slurm) rather than burst's personality.
func onRealSlurm() bool { return os.Getenv("BURST_ENGINES_ON") == "slurm" }

// slurmShim makes the directory to put first on an engine's PATH: one
// script per Slurm command that runs the real one (the personality's
// symlinks, or real Slurm's) and appends its argv, stdout and exit status
// to the log it returns. Records are appended under flock, whole.
func slurmShim(t *testing.T, h *harness) (dir, log string) {
	t.Helper()
	real := "/usr/bin"
	if onRealSlurm() {
		needSlurm(t, h)
	} else {
		real = filepath.Join(h.root, "slurm-bin")
		r := h.mustRun("slurm", "link", real)
		if _, err := os.Stat(filepath.Join(real, "sbatch")); err != nil {
			t.Fatalf("burst slurm link %s made no sbatch: %v\n%s", real, err, r)
		}
	}
	dir = filepath.Join(h.root, "shim")
	log = filepath.Join(h.root, "slurm-calls.log")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range slurmCommands {
		script := fmt.Sprintf(`#!/bin/sh
# Logging shim (e2e/engines_test.go): runs %[1]s/%[2]s, records the call.
tmp=$(mktemp) || exit 1
%[1]s/%[2]s "$@" >"$tmp"
rc=$?
{
  flock 9
  printf '$ %[2]s'; for a in "$@"; do printf ' [%%s]' "$a"; done; printf '\n'
  sed 's/^/| /' "$tmp"
  printf 'rc=%%d at %%s\n' "$rc" "$(date +%%T.%%N)"
} 9>>%[3]s >>%[3]s
cat "$tmp"; rm -f "$tmp"
exit $rc
`, real, c, log)
		writeFile(t, filepath.Join(dir, c), script, 0o755)
	}
	return dir, log
}

// slurmCall is one recorded call of a Slurm command.
type slurmCall struct {
	cmd  string
	args []string
	out  string
	rc   string
}

var callArg = regexp.MustCompile(`\[([^\]]*)\]`)

// slurmCalls reads the shim's log.
func slurmCalls(t *testing.T, log string) []slurmCall {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("the engine ran no Slurm command (no %s): %v", log, err)
	}
	if keep := os.Getenv("BURST_ENGINES_LOG"); keep != "" {
		// To read what an engine asked: copy the log out of the harness.
		os.WriteFile(keep+"."+t.Name(), b, 0o644)
	}
	var calls []slurmCall
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "$ "):
			f := strings.SplitN(l[2:], " ", 2)
			c := slurmCall{cmd: f[0]}
			if len(f) == 2 {
				for _, m := range callArg.FindAllStringSubmatch(f[1], -1) {
					c.args = append(c.args, m[1])
				}
			}
			calls = append(calls, c)
		case strings.HasPrefix(l, "| ") && len(calls) > 0:
			calls[len(calls)-1].out += l[2:] + "\n"
		case strings.HasPrefix(l, "rc=") && len(calls) > 0:
			calls[len(calls)-1].rc, _, _ = strings.Cut(l[3:], " ")
		}
	}
	return calls
}

// callSummary counts calls per command and exit status, for messages.
func callSummary(calls []slurmCall) string {
	n := map[string]int{}
	for _, c := range calls {
		n[c.cmd+" rc="+c.rc]++
	}
	var s []string
	for k, v := range n {
		s = append(s, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// count is how many calls of cmd there were.
func count(calls []slurmCall, cmd string) int {
	n := 0
	for _, c := range calls {
		if c.cmd == cmd {
			n++
		}
	}
	return n
}

// engineEnv is the environment an engine runs in: the harness's, env
// added, and PATH with the shim (if any) first, then the burst under test
// and Debian's python3 before any other.
func engineEnv(h *harness, shim string, env []string) []string {
	path := filepath.Dir(burstBin) + ":/usr/bin:/bin:" + os.Getenv("PATH")
	if shim != "" {
		path = shim + ":" + path
	}
	return append(append(append([]string(nil), h.env...), env...), "PATH="+path)
}

// runEngine runs an engine's command line in dir with the harness's
// environment, the shim first on PATH, and env added; it fails the test,
// with the engine's output, unless it exits 0 within limit.
func runEngine(t *testing.T, h *harness, shim, dir string, limit time.Duration, env []string, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Dir, c.Env = dir, engineEnv(h, shim, env)
	start := time.Now()
	out, err := c.CombinedOutput()
	t.Logf("%s took %s", filepath.Base(argv[0]), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s: %v (after %s)\n%s", shellQuote(argv), err, time.Since(start).Round(time.Second), tail(string(out), 6000))
	}
	return string(out)
}

// checkSquares checks the outputs the workflows of testdata/engines
// write for samples 1..3 under dir, and that total ran twice.
func checkSquares(t *testing.T, dir string) {
	t.Helper()
	for name, want := range squareFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("output %s: %v", name, err)
		} else if string(b) != want {
			t.Errorf("output %s = %q, want %q", name, b, want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "attempts", "total.log"))
	if n := strings.Count(string(b), "attempt\n"); n != 2 {
		t.Errorf("the failing step should have run twice (fail, then retried), ran %d times", n)
	}
}

// checkReport checks the Snakefile's last output.
func checkReport(t *testing.T, dir string) {
	t.Helper()
	if b, _ := os.ReadFile(filepath.Join(dir, "report.txt")); string(b) != "sum of squares: 14\n" {
		t.Errorf("report.txt = %q, want \"sum of squares: 14\\n\"", b)
	}
}

var squareFiles = map[string]string{
	"data/1.txt": "1\n", "data/2.txt": "2\n", "data/3.txt": "3\n",
	"squares/1.txt": "1\n", "squares/2.txt": "4\n", "squares/3.txt": "9\n",
	"total.txt": "14\n",
}

// checkBurstSide checks what burst recorded of a workflow: one burst job per
// submission the engine made, all in the engine project, exactly one of
// them failed (the first attempt of the failing step) and the others
// succeeded; and the work is charged to the project.
func checkBurstSide(t *testing.T, h *harness, submissions int) {
	t.Helper()
	if onRealSlurm() {
		return
	}
	jobs := h.jobsJSON()
	states := map[string]int{}
	for _, j := range jobs {
		if p := jsonString(t, j["project"]); p != engineProject {
			t.Errorf("job %s is in project %q, want %q", j["id"], p, engineProject)
		}
		states[jsonString(t, j["state"])]++
	}
	if len(jobs) != submissions {
		t.Errorf("burst jobs lists %d jobs, the engine submitted %d", len(jobs), submissions)
	}
	if states["failed"] != 1 || states["succeeded"] != submissions-1 {
		t.Errorf("want 1 failed job and %d succeeded, burst jobs says %v", submissions-1, states)
	}
	rep := h.cost("project", "")
	var spent, other int64
	for _, l := range rep.Lines {
		switch l.Key {
		case engineProject:
			spent += l.NUSD
		case "idle", "storage":
		default:
			other += l.NUSD
		}
	}
	if spent <= 0 || other != 0 {
		t.Errorf("burst cost --by project should charge the work to %q (and nothing to another project): %+v", engineProject, rep.Lines)
	}
}

func jsonString(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("want a JSON string, got %s: %v", raw, err)
	}
	return s
}

// engineHarness is a harness whose host is priced (so that work costs
// something), with the engines' project made, and a fresh copy of
// testdata/engines as the working directory of the workflow.
func engineHarness(t *testing.T) (*harness, string) {
	h := newHarness(t)
	h.writePrices("local: {core_hour: 3.6}\n")
	if !onRealSlurm() {
		h.mustRun("project", "create", engineProject, "--budget", "100")
	}
	work := filepath.Join(h.root, "flow")
	if err := os.CopyFS(work, os.DirFS(filepath.Join(moduleDir, "e2e", "testdata", "engines"))); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(work, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return h, work
}

// snakemakeEnv is the environment Snakemake 7 runs in: CI=true makes it
// sleep 1 s between rounds of status checks instead of 10 s
// (snakemake/executors/__init__.py, sleep()), which is what bounds how soon
// it notices a finished job, whatever the cluster answers.
var snakemakeEnv = []string{"CI=true"}

// snakemakeArgs is the common part of a Snakemake 7 command line.
func snakemakeArgs(work string) []string {
	return []string{"/usr/bin/snakemake", "-s", filepath.Join(work, "Snakefile"), "-d", work,
		"--jobs", "4", "--restart-times", "1", "--latency-wait", "10", "--printshellcmds",
		"--max-status-checks-per-second", "10", "--nocolor"}
}

// TestSnakemakeSlurm: Snakemake 7's generic cluster executor with Slurm's
// commands: sbatch --parsable to submit, a Slurm status script (sacct, then
// scontrol show job) for --cluster-status, scancel for --cluster-cancel.
func TestSnakemakeSlurm(t *testing.T) {
	if !onRealSlurm() {
		t.Parallel() // on the real Slurm it runs alone: TestSlurm's tests cancel what root left there
	}
	needEngine(t, "/usr/bin/snakemake", "snakemake")
	h, work := engineHarness(t)
	shim, log := slurmShim(t, h)
	args := append(snakemakeArgs(work),
		"--cluster", "sbatch --parsable -A "+engineProject+" -c {threads} --mem {resources.mem_mb} -t {resources.runtime} -J smk-{rule} -o logs/{rule}-%j.out",
		"--cluster-status", filepath.Join(work, "slurm-status.py"),
		"--cluster-cancel", "scancel")
	out := runEngine(t, h, shim, work, 5*time.Minute, snakemakeEnv, args...)
	checkSquares(t, work)
	checkReport(t, work)
	if !strings.Contains(out, "Trying to restart job") {
		t.Errorf("snakemake should say it restarted the failing job:\n%s", tail(out, 3000))
	}
	calls := slurmCalls(t, log)
	t.Logf("Slurm calls: %s", callSummary(calls))
	// 3 make + 3 square + total twice + report.
	if n := count(calls, "sbatch"); n != 9 {
		t.Errorf("snakemake ran sbatch %d times, want 9 (%s)", n, callSummary(calls))
	}
	checkBurstSide(t, h, count(calls, "sbatch"))
}

// TestSnakemakeCancel: Snakemake interrupted (SIGINT, a user's Ctrl-C)
// while its cluster jobs run cancels them with --cluster-cancel scancel, in
// one call, and burst ends their processes.
func TestSnakemakeCancel(t *testing.T) {
	t.Parallel()
	needEngine(t, "/usr/bin/snakemake", "snakemake")
	if onRealSlurm() {
		t.Skip("BURST_ENGINES_ON=slurm: the checks here are burst's")
	}
	h, work := engineHarness(t)
	shim, log := slurmShim(t, h)
	marker := newMarker()
	c := exec.Command("/usr/bin/snakemake", "-s", filepath.Join(work, "Snakefile.slow"), "-d", work, "--jobs", "4",
		"--config", "marker="+marker, "--nocolor",
		"--cluster", "sbatch --parsable -A "+engineProject+" -c 1 --mem {resources.mem_mb} -t {resources.runtime} -o logs/{rule}-%j.out",
		"--cluster-status", filepath.Join(work, "slurm-status.py"),
		"--cluster-cancel", "scancel")
	c.Dir, c.Env = work, engineEnv(h, shim, snakemakeEnv)
	p, err := startCmd(c)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Process.Kill()
	// Generous: on a loaded 2-core host beside the rest of the suite, the two
	// jobs once took over a minute to be submitted and started.
	for deadline := time.Now().Add(3 * time.Minute); len(sleepers(marker)) != 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.Process.Kill()
			r, _ := p.wait()
			t.Fatalf("timed out after 3m waiting for both slow jobs to run (%d run)\nsnakemake: %s\nSlurm calls: %s\nburst jobs:\n%s\nthe jobs' logs:\n%s\nprocesses of the workflow:%s",
				len(sleepers(marker)), r, callSummary(slurmCalls(t, log)), h.run("jobs", "-o", "wide").stdout,
				filesUnder(filepath.Join(work, "logs")), describeTree(procsMatching(work)))
		}
	}
	c.Process.Signal(os.Interrupt)
	r, _ := p.wait()
	if r.code == 0 {
		t.Errorf("an interrupted snakemake should not exit 0:\n%s", r)
	}
	h.waitFor("the jobs' processes to end", 15*time.Second, func() bool { return len(sleepers(marker)) == 0 })
	calls := slurmCalls(t, log)
	var cancels []slurmCall
	for _, c := range calls {
		if c.cmd == "scancel" {
			cancels = append(cancels, c)
		}
	}
	if len(cancels) != 1 || len(cancels[0].args) != 2 || cancels[0].rc != "0" {
		t.Errorf("snakemake should cancel both jobs in one good scancel call: %+v (%s)", cancels, callSummary(calls))
	}
	for _, j := range h.jobsJSON() {
		if st := jsonString(t, j["state"]); st != "cancelled" {
			t.Errorf("job %s is %s, want cancelled", j["id"], st)
		}
	}
}

// TestSnakemakeGeneric: Snakemake 7's generic cluster contract with burst's
// own CLI, no Slurm personality: `burst run -d` submits (its first line is
// the job id), testdata/engines/burst-status.py answers
// running|success|failed from `burst show -o json`, `burst cancel` cancels.
func TestSnakemakeGeneric(t *testing.T) {
	t.Parallel()
	needEngine(t, "/usr/bin/snakemake", "snakemake")
	if onRealSlurm() {
		t.Skip("BURST_ENGINES_ON=slurm: this test uses no Slurm at all")
	}
	h, work := engineHarness(t)
	args := append(snakemakeArgs(work),
		"--cluster", "burst run -d --project "+engineProject+" -c {threads} --mem {resources.mem_mb}M -t {resources.runtime}m -J smk-{rule} -o logs/{rule}-%j.out",
		"--cluster-status", filepath.Join(work, "burst-status.py"),
		"--cluster-cancel", "burst cancel")
	runEngine(t, h, "", work, 5*time.Minute, snakemakeEnv, args...)
	checkSquares(t, work)
	checkReport(t, work)
	checkBurstSide(t, h, 9) // 3 make + 3 square + total twice + report
}

// TestToilSlurm: Toil's Slurm batch system (--batchSystem slurm) runs
// testdata/engines/toil_flow.py; the failing job is retried (--retryCount 1).
// Toil runs as users run it, its poll interval read from scontrol show config.
func TestToilSlurm(t *testing.T) {
	if !onRealSlurm() {
		t.Parallel() // on the real Slurm it runs alone: TestSlurm's tests cancel what root left there
	}
	needEngine(t, "/usr/bin/toil", "toil")
	h, work := engineHarness(t)
	shim, log := slurmShim(t, h)
	out := filepath.Join(work, "out")
	runEngine(t, h, shim, work, 5*time.Minute, []string{"TOIL_SLURM_ARGS=-A " + engineProject},
		"/usr/bin/python3", filepath.Join(work, "toil_flow.py"), filepath.Join(work, "jobstore"),
		"--batchSystem", "slurm", "--retryCount", "1",
		"--defaultMemory", "256M", "--defaultDisk", "1M", "--workDir", work, "--out", out, "--logInfo")
	checkSquares(t, out)
	calls := slurmCalls(t, log)
	t.Logf("Slurm calls: %s", callSummary(calls))
	// Without --statePollingWait, Toil reads its poll interval from
	// `scontrol show config` (and fails without a SchedulerTimeSlice).
	if c := calls[0]; c.cmd != "scontrol" || strings.Join(c.args, " ") != "show config" || c.rc != "0" {
		t.Errorf("Toil's first Slurm call should be a good scontrol show config, was %+v", c)
	}
	if n := count(calls, "sbatch"); n < 6 {
		t.Errorf("toil ran sbatch %d times, want at least 6 (root, 3 make, total twice): %s", n, callSummary(calls))
	}
	checkBurstSide(t, h, count(calls, "sbatch"))
}
