package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/slurmtest"
)

// The Slurm tests run against a real Slurm: scripts/slurm-dev.sh installs it
// from Debian's packages when missing and starts slurmctld and two slurmd
// (nodes c1 and c2) on this host, once for the whole suite. Without root
// they skip, saying so loudly; with BURST_CI set they fail instead.

var (
	slurmConf string // SLURM_CONF of the suite's cluster; "" when there is none
	slurmWhy  string // why there is none
)

// startSlurm starts the suite's Slurm; the function returned stops it.
func startSlurm(root string) func() {
	if os.Getenv("BURST_TEST_NO_SLURM") != "" {
		// For a quick run of non-Slurm tests (or several at once: each
		// Slurm here takes port 26817).
		slurmWhy = "BURST_TEST_NO_SLURM is set"
		return func() {}
	}
	conf, stop, why := slurmtest.Start(root, 26817)
	slurmConf, slurmWhy = conf, why
	if conf != "" {
		// For the squeue/sbatch/scancel the tests run themselves, set once
		// before any runs: a test that needs another Slurm names its own
		// conf on its commands (slurmJobsAt), never in the process's
		// environment, which every parallel test reads.
		os.Setenv("SLURM_CONF", conf)
	}
	return stop
}

// needSlurm skips (loudly) or, under CI, fails a test when there is no
// Slurm; otherwise it points the harness at it and cancels every job the
// test leaves (its pilots, its native jobs, what it submitted itself from
// h.dir), and no other: tests outside TestSlurm run real Slurm jobs of
// their own beside it (TestStepEnvironmentAsSlurm). A cleanup that
// cancelled all of root's jobs ended theirs midway (sbatch -W exit 1, or
// no output file at all).
func needSlurm(t *testing.T, h *harness) {
	t.Helper()
	if slurmConf == "" {
		slurmtest.Skip(t, slurmWhy)
	}
	h.setEnv("SLURM_CONF", slurmConf)
	t.Cleanup(func() { cancelSlurmJobsUnder(t, h.root) })
}

// cancelSlurmJobsUnder scancels the suite Slurm's jobs whose working
// directory or script lies under root: a harness's (a pilot's script is in
// its home, a native job's directory and a test's own sbatch are in its
// work directory).
func cancelSlurmJobsUnder(t *testing.T, root string) {
	out, err := exec.Command("squeue", "-h", "-o", "%i|%Z|%o").Output()
	if err != nil {
		t.Logf("squeue, to cancel the test's leftover jobs: %v", err)
		return
	}
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real // Slurm records the paths resolved
	}
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(l, "|", 3)
		if len(f) == 3 && (strings.HasPrefix(f[1], root+"/") || strings.HasPrefix(f[2], root+"/")) {
			ids = append(ids, f[0])
		}
	}
	if len(ids) > 0 {
		if b, err := exec.Command("scancel", ids...).CombinedOutput(); err != nil {
			t.Logf("scancel %v: %v %s", ids, err, b)
		}
	}
}

// TestSlurm runs every test that drives a real Slurm, one after another:
// they share the suite's two nodes (and each cancels the jobs it left
// there when it ends), and two start Slurms of their own beside it. Together
// they are one parallel test, so that their waits on Slurm's scheduler
// overlap the rest of the suite instead of adding to it. One of them alone:
// go test -run 'TestSlurm/Native' ./e2e/
func TestSlurm(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		test func(*testing.T)
	}{
		{"RunAndMapAcrossNodes", slurmRunAndMapAcrossNodes},
		{"CancelTimeLimitAndPilotKilled", slurmCancelTimeLimitAndPilotKilled},
		{"BudgetGuardrailCancelsPilots", slurmBudgetGuardrailCancelsPilots},
		{"Native", slurmNative},
		{"PilotWaitingSaysWhy", slurmPilotWaitingSaysWhy},
		{"PilotTimeLimitRequeues", slurmPilotTimeLimitRequeues},
		{"PendingPilotsWithdrawn", slurmPendingPilotsWithdrawn},
		{"Pipe", slurmPipe},
		{"PilotsJoin", slurmPilotsJoin},
		{"FaceShapes", slurmFaceShapes},
		{"FaceDependencies", slurmFaceDependencies},
		{"FaceScancelEnded", slurmFaceScancelEnded},
		{"FaceSrunShapes", slurmFaceSrunShapes},
		{"FaceListings", slurmFaceListings},
		{"ElasticCloudNodes", slurmElasticCloudNodes},
		{"DeadControllerDoesNotStallServer", slurmDeadControllerDoesNotStallServer},
	} {
		t.Run(c.name, c.test)
	}
}

func slurmJobs(t *testing.T) map[string]string {
	t.Helper()
	return slurmJobsAt(t, slurmConf)
}

// slurmJobsAt is squeue's every job of the Slurm of conf: id → state and
// node.
func slurmJobsAt(t *testing.T, conf string) map[string]string {
	t.Helper()
	c := exec.Command("squeue", "-h", "-t", "all", "-o", "%i %T %N")
	c.Env = append(os.Environ(), "SLURM_CONF="+conf)
	out, err := c.Output()
	if err != nil {
		t.Fatalf("squeue: %v", err)
	}
	jobs := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) >= 2 {
			jobs[f[0]] = strings.Join(f[1:], " ")
		}
	}
	return jobs
}

// handles are the machines' ids with their provider handles, sorted.
func handles(ms []burst.Machine) []string {
	var hs []string
	for _, m := range ms {
		hs = append(hs, m.ID+"="+m.Handle)
	}
	sort.Strings(hs)
	return hs
}

// pilotJob is the Slurm job id of a pilot machine.
func pilotJob(m burst.Machine) string { return strings.TrimPrefix(m.Handle, "slurm job ") }

func (h *harness) createHPC(extra ...string) {
	h.t.Helper()
	args := append([]string{"cluster", "create", "hpc", "--provider", "slurm", "--partition", "debug",
		"--cpus", "2", "--mem", "256M", "--max", "2", "--time-limit", "10m", "--idle-stop", "3s"}, extra...)
	h.mustRun(args...)
}

// slurmRunAndMapAcrossNodes: run and map on pilots; a map fans out over
// both nodes, and the pilots are cancelled once idle.
func slurmRunAndMapAcrossNodes(t *testing.T) {
	h := newHarness(t)
	needSlurm(t, h)
	h.createHPC()
	r := h.mustRun("run", "--on", "hpc", "--", "echo", "hello from a pilot")
	if r.stdout != "hello from a pilot\n" {
		t.Fatalf("run on a pilot:\n%s", r)
	}
	ms := h.machines("hpc")
	if len(ms) == 0 || !strings.HasPrefix(ms[0].Handle, "slurm job ") {
		t.Fatalf("a pilot machine should name its Slurm job: %+v", ms)
	}
	if _, ok := slurmJobs(t)[pilotJob(ms[0])]; !ok {
		t.Errorf("the pilot's Slurm job %s is not in squeue", pilotJob(ms[0]))
	}
	r = h.mustRun("map", "-d", "--on", "hpc", "--", "sh", "-c", "sleep 2; echo $0", ":::", "1", "2", "3", "4", "5", "6")
	id := jobIDFromStdout(t, r)
	nodes := map[string]bool{}
	h.waitFor("the map to finish", 90*time.Second, func() bool {
		for _, m := range h.machines("hpc") {
			if st := slurmJobs(t)[pilotJob(m)]; strings.HasPrefix(st, "RUNNING ") {
				nodes[strings.Fields(st)[1]] = true
			}
		}
		return terminal(h.show(id).State)
	})
	if j := h.show(id); j.State != "succeeded" {
		t.Fatalf("map on pilots: %+v", j)
	}
	if !nodes["c1"] || !nodes["c2"] {
		t.Errorf("two pilots of 2 CPUs should have run on both nodes; saw %v", nodes)
	}
	out := h.mustRun("results", idArg(id)).stdout
	for _, k := range []string{"1", "2", "3", "4", "5", "6"} {
		if !strings.Contains(out, k+"\n") {
			t.Errorf("results lack %s:\n%s", k, out)
		}
	}
	h.waitIdleCluster("hpc", 60*time.Second)
	h.waitFor("the pilots' Slurm jobs to end", 30*time.Second, func() bool {
		jobs := slurmJobs(t)
		for _, m := range h.machines("hpc") {
			if st := jobs[pilotJob(m)]; strings.HasPrefix(st, "RUNNING") || strings.HasPrefix(st, "PENDING") {
				return false
			}
		}
		return true
	})
}

func jobIDFromStdout(t *testing.T, r result) int64 {
	t.Helper()
	var id int64
	if _, err := fmt.Sscan(strings.TrimSpace(r.stdout), &id); err != nil || id <= 0 {
		t.Fatalf("expected a job id on stdout:\n%s", r)
	}
	return id
}

// slurmCancelTimeLimitAndPilotKilled: cancel ends the task inside the
// pilot; a time limit ends it with 124; a pilot cancelled under a task
// (scancel, as an admin or a node failure would) loses nothing: the task is
// requeued and runs again on a new pilot.
func slurmCancelTimeLimitAndPilotKilled(t *testing.T) {
	h := newHarness(t)
	needSlurm(t, h)
	h.createHPC("--min", "1")
	marker := newMarker()
	id := h.submit("--on", "hpc", "--", "sh", "-c", "sleep 60 # "+marker)
	h.waitRunning(id)
	h.mustRun("cancel", idArg(id))
	h.waitFor("the cancelled task's process to end", 15*time.Second, func() bool { return len(sleepers(marker)) == 0 })
	if j := h.show(id); j.State != "cancelled" {
		t.Errorf("cancelled job: %+v", j)
	}
	if r := h.run("run", "--on", "hpc", "--time", "2s", "--", "sleep", "30"); r.code != 124 {
		t.Errorf("a task past its time limit on a pilot should exit 124:\n%s", r)
	}

	// A server restarted under a running pilot adopts it: the task goes on,
	// the machine is not lost and no second pilot is submitted for it.
	id = h.submit("--on", "hpc", "--", "sh", "-c", "sleep 3; echo survived")
	h.waitRunning(id)
	before := h.machines("hpc")
	h.mustRun("server", "stop")
	if r := h.mustRun("wait", idArg(id)); !strings.Contains(r.stdout+r.stderr, "succeeded") {
		t.Errorf("a task on a pilot should survive a server restart:\n%s", r)
	}
	if after := h.machines("hpc"); fmt.Sprint(handles(after)) != fmt.Sprint(handles(before)) {
		t.Errorf("the restarted server should adopt its pilots, not start others: before %+v, after %+v", before, after)
	}
	if hasEvent(h.events(""), "machine.lost", "") {
		t.Errorf("a pilot was lost across a server restart: %+v", h.events(""))
	}

	marker2 := newMarker()
	id = h.submit("--on", "hpc", "--", "sh", "-c", "if [ -e ran ]; then echo second; exit 0; fi; touch ran; sleep 60 # "+marker2)
	j := h.waitRunning(id)
	var victim string
	for _, m := range h.machines("hpc") {
		if m.ID == j.task0(t).Machine {
			victim = pilotJob(m)
		}
	}
	if victim == "" {
		t.Fatalf("no pilot runs the task: %+v", h.machines("hpc"))
	}
	if out, err := exec.Command("scancel", victim).CombinedOutput(); err != nil {
		t.Fatalf("scancel %s: %v %s", victim, err, out)
	}
	h.waitFor("the requeued task to finish", 90*time.Second, func() bool { return terminal(h.show(id).State) })
	if j := h.show(id); j.State != "succeeded" {
		t.Errorf("a task whose pilot was cancelled should run again and succeed: %+v", j)
	}
	h.waitFor("the first attempt's process to end", 15*time.Second, func() bool { return len(sleepers(marker2)) == 0 })
	if !hasEvent(h.events(""), "machine.lost", "") {
		t.Errorf("the cancelled pilot should be a lost machine in the audit trail")
	}
}

// slurmBudgetGuardrailCancelsPilots: a project's budget spent on
// pilots: the guardrail scancels them and holds the work.
func slurmBudgetGuardrailCancelsPilots(t *testing.T) {
	h := newHarness(t)
	needSlurm(t, h)
	// Pilots have no catalog type: they are priced at the local rates,
	// here $18 per core-hour, so a 2-CPU pilot spends a cent a second.
	h.writePrices("local: {core_hour: 18}\n")
	h.mustRun("project", "create", "mars", "--budget", "0.03")
	h.createHPC("--project", "mars")
	marker := newMarker()
	id := h.submit("--on", "hpc", "--project", "mars", "--", "sh", "-c", "sleep 60 # "+marker)
	h.waitRunning(id)
	h.waitFor("the budget to be spent", 60*time.Second, func() bool { return hasEvent(h.events("mars"), "guardrail.exhausted", "") })
	h.waitIdleCluster("hpc", 30*time.Second)
	h.waitFor("the pilot's Slurm job to end", 30*time.Second, func() bool {
		jobs := slurmJobs(t)
		for _, m := range h.machines("hpc") {
			if st := jobs[pilotJob(m)]; strings.HasPrefix(st, "RUNNING") || strings.HasPrefix(st, "PENDING") {
				return false
			}
		}
		return true
	})
	h.waitFor("the task's process to end", 15*time.Second, func() bool { return len(sleepers(marker)) == 0 })
	if j := h.show(id); j.State != "queued" {
		t.Errorf("the job should wait for more budget: %+v", j)
	}
}

// slurmNative: --native submits the script itself with sbatch (its
// #SBATCH lines intact), burst follows it in Slurm, shows its output and
// exit status, and cancels it with scancel.
func slurmNative(t *testing.T) {
	h := newHarness(t)
	needSlurm(t, h)
	h.createHPC()
	script := filepath.Join(h.dir, "job.sbatch")
	os.WriteFile(script, []byte("#!/bin/sh\n#SBATCH --job-name=mine\necho \"native on $SLURMD_NODENAME in $SLURM_JOB_ID\"\nexit 3\n"), 0o755)
	var r result
	h.waitFor("the native agent to be ready", 30*time.Second, func() bool {
		r = h.run("run", "--on", "hpc", "--native", script)
		return r.code != 2 // admission waits for nothing; 2 would be a refusal
	})
	if r.code != 3 || !regexp.MustCompile(`native on c[12] in [0-9]+`).MatchString(r.stdout) {
		t.Fatalf("a native job's output and exit status should come back:\n%s", r)
	}
	id := jobIDFrom(t, r)
	j := h.show(id)
	slurmID := fmt.Sprint(j.task0(t).PID)
	out, err := exec.Command("scontrol", "show", "job", "-o", slurmID).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "JobState=FAILED") || !strings.Contains(string(out), "ExitCode=3:0") {
		t.Errorf("the job should be Slurm job %s, FAILED with exit 3, in Slurm's records: %v\n%s", slurmID, err, out)
	}

	marker := newMarker()
	id = h.submit("--on", "hpc", "--native", "--", "sh", "-c", "sleep 60 # "+marker)
	h.waitFor("the native job to run", 30*time.Second, func() bool { return h.show(id).State == "running" })
	slurmID = fmt.Sprint(h.show(id).task0(t).PID)
	h.mustRun("cancel", idArg(id))
	h.waitFor("the native job to end", 30*time.Second, func() bool { return terminal(h.show(id).State) })
	if j := h.show(id); j.State != "cancelled" {
		t.Errorf("a cancelled native job: %+v", j)
	}
	h.waitFor("Slurm to cancel it", 15*time.Second, func() bool {
		return strings.HasPrefix(slurmJobs(t)[slurmID], "CANCELLED")
	})
	arr := filepath.Join(h.dir, "array.sbatch")
	os.WriteFile(arr, []byte("#!/bin/sh\n#SBATCH --array=0-3\ntrue\n"), 0o755)
	if r := h.run("run", "--on", "hpc", "--native", arr); r.code != 2 || !strings.Contains(r.stderr, "pilots") {
		t.Errorf("--native with an array script should be refused, naming the fix:\n%s", r)
	}
}

// slurmElasticCloudNodes: Slurm's power saving drives a burst cluster.
// A job for a State=CLOUD node makes slurmctld run `burst slurm resume`,
// which starts the node's machine (here a slurmd on this host, through the
// local provider); the job runs there; once the node is idle slurmctld runs
// `burst slurm suspend` and the machine stops. Needs its own Slurm, with
// cloud nodes.
func slurmElasticCloudNodes(t *testing.T) {
	h := newHarness(t)
	if os.Getuid() != 0 {
		slurmtest.Skip(t, "not root: scripts/slurm-dev.sh must run as root")
	}
	prog := func(name, body string) string {
		p := filepath.Join(h.root, name)
		script := fmt.Sprintf("#!/bin/sh\nexec env BURST_HOME=%s BURST_PORT=0 %s=%s %s slurm %s \"$@\" >>%s.log 2>&1\n",
			h.home, tagVar, h.tag, burstBin, body, p)
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	resume, suspend := prog("resume", "resume --cluster elastic"), prog("suspend", "suspend")
	conf, stop, why := slurmtest.Start(moduleDir, 25817, "BURST_SLURM_RESUME="+resume, "BURST_SLURM_SUSPEND="+suspend)
	defer stop()
	if conf == "" {
		slurmtest.Skip(t, why)
	}
	h.setEnv("SLURM_CONF", conf)
	h.mustRun("cluster", "create", "elastic", "--type", "t2.micro", "--slurm-nodes", "--max", "2")
	sb := exec.Command("sbatch", "--parsable", "-p", "cloud", "-o", "/dev/null", "--wrap", "hostname")
	sb.Env = append(os.Environ(), "SLURM_CONF="+conf)
	out, err := sb.CombinedOutput()
	if err != nil {
		t.Fatalf("sbatch -p cloud: %v %s", err, out)
	}
	job := strings.TrimSpace(string(out))
	defer func() {
		if t.Failed() {
			for _, f := range []string{resume + ".log", suspend + ".log"} {
				b, _ := os.ReadFile(f)
				t.Logf("--- %s:\n%s", f, b)
			}
			dump := exec.Command("sh", "-c", "tail -20 $(dirname $SLURM_CONF)/log/slurmctld.log; sinfo; squeue")
			dump.Env = append(os.Environ(), "SLURM_CONF="+conf)
			b, _ := dump.CombinedOutput()
			t.Logf("--- slurm:\n%s", b)
		}
	}()
	h.waitFor("Slurm to resume a cloud node through burst", 60*time.Second, func() bool {
		return countState(h.machines("elastic"), burst.MachineRunning) == 1
	})
	h.waitFor("the job to run on the cloud node", 120*time.Second, func() bool {
		return strings.HasPrefix(slurmJobsAt(t, conf)[job], "COMPLETED")
	})
	h.waitFor("Slurm to suspend the idle node through burst", 120*time.Second, func() bool {
		ms := h.machines("elastic")
		return len(ms) == 1 && ms[0].State == burst.MachineStopped
	})
	m := h.machines("elastic")[0]
	if !strings.HasPrefix(m.ID, "cl") || m.CostUSD <= 0 {
		t.Errorf("the machine should be named after its node and have cost something: %+v", m)
	}
	evs := h.events("")
	if !hasEvent(evs, "machine.start", "ok") || !hasEvent(evs, "machine.stop", "ok") {
		t.Errorf("resume and suspend should be in the audit trail: %+v", evs)
	}
}

// slurmPilotWaitingSaysWhy: a pilot that cannot start (the nodes are
// busy with other people's jobs) shows Slurm's pending reason.
func slurmPilotWaitingSaysWhy(t *testing.T) {
	h := newHarness(t)
	needSlurm(t, h)
	for range 2 { // fill c1 and c2
		c := exec.Command("sbatch", "-p", "debug", "-c", "2", "-o", "/dev/null", "--wrap", "sleep 120")
		c.Dir = h.dir // its working directory marks it as this test's (needSlurm's cleanup)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("sbatch: %v %s", err, out)
		}
	}
	h.createHPC()
	id := h.submit("--on", "hpc", "--", "true")
	var waiting string
	h.waitFor("the pilot to say why it waits", 30*time.Second, func() bool {
		for _, m := range h.machines("hpc") {
			if m.State == burst.MachinePending && strings.HasPrefix(m.Waiting, "Slurm: ") {
				waiting = m.Waiting
				return true
			}
		}
		return false
	})
	if !strings.Contains(h.mustRun("machine", "list", "--cluster", "hpc").stdout, waiting) {
		t.Errorf("machine list should show %q", waiting)
	}
	h.mustRun("cancel", idArg(id))
}

// slurmPilotTimeLimitRequeues: a pilot whose allocation runs out ends
// the task it runs before Slurm kills it; the task is requeued (not
// failed) and finishes on a new pilot. Takes about a minute: Slurm's
// shortest time limit is one minute.
func slurmPilotTimeLimitRequeues(t *testing.T) {
	h := newHarness(t)
	needSlurm(t, h)
	h.mustRun("cluster", "create", "hpc", "--provider", "slurm", "--partition", "debug", "--cpus", "1", "--mem", "256M",
		"--max", "1", "--time-limit", "1m", "--idle-stop", "3s")
	marker := newMarker()
	id := h.submit("--on", "hpc", "--", "sh", "-c", "if [ -e ran ]; then exit 0; fi; touch ran; sleep 300 # "+marker)
	h.waitRunning(id)
	h.waitFor("the pilot's time to run out and the task to finish on another", 150*time.Second, func() bool {
		return terminal(h.show(id).State)
	})
	j := h.show(id)
	if j.State != "succeeded" || j.task0(t).Attempt != 2 {
		t.Errorf("the task cut off by its pilot's time limit should be requeued and succeed on a new pilot: %+v", j)
	}
	if !hasEvent(h.events(""), "machine.lost", "") {
		t.Errorf("the expired pilot should be in the audit trail")
	}
	if len(sleepers(marker)) != 0 {
		t.Errorf("the first attempt's process outlived its pilot")
	}
}

// slurmPendingPilotsWithdrawn: a short map on a cluster with room for
// more pilots than Slurm runs at once (2 nodes of 2 CPUs) leaves none of
// them queued once it has ended: those still pending in Slurm are
// scancelled once the work has not needed them for scale.WithdrawGrace,
// long before --idle-stop, while those that came up idle on until it. A
// second map right after the first (a workflow's next stage) finds the
// first's pending pilots still queued: none is withdrawn and asked for
// again at the back of Slurm's queue. A native job that then waits in
// Slurm behind the idle pilots makes them give way at once.
func slurmPendingPilotsWithdrawn(t *testing.T) {
	h := newHarness(t)
	needSlurm(t, h)
	h.mustRun("cluster", "create", "hpc", "--provider", "slurm", "--partition", "debug", "--cpus", "2", "--mem", "256M",
		"--max", "8", "--time-limit", "10m", "--idle-stop", "10m")
	args := []string{"map", "--quiet", "--on", "hpc", "--", "sh", "-c", "echo $0", ":::"}
	for i := range 16 {
		args = append(args, strconv.Itoa(i+1))
	}
	starts := func() (started, withdrawn int) {
		for _, e := range h.events("") {
			switch {
			case e.Kind == "machine.start" && e.Result == "ok" && strings.HasPrefix(e.Target, "hpc-"):
				started++
			case e.Kind == "machine.stop" && strings.Contains(e.Message, "withdrawn while pending"):
				withdrawn++
			}
		}
		return started, withdrawn
	}
	if r := h.mustRun(args...); strings.Count(r.stdout, "\n") != 16 {
		t.Fatalf("the map's 16 lines:\n%s", r)
	}
	started, _ := starts()
	if started <= 2 {
		t.Fatalf("16 one-CPU tasks should have asked for more pilots of 2 CPUs than the 2 Slurm runs at once; %d were submitted", started)
	}
	if r := h.mustRun(args...); strings.Count(r.stdout, "\n") != 16 {
		t.Fatalf("the second map's 16 lines:\n%s", r)
	}
	if again, withdrawn := starts(); again != started || withdrawn != 0 {
		t.Errorf("a map right after the first should find its pending pilots kept: %d pilots submitted before it, %d after; %d withdrawn between", started, again, withdrawn)
	}
	pending := func() []string {
		out, err := exec.Command("squeue", "-h", "-t", "PENDING", "-o", "%i %j").Output()
		if err != nil {
			t.Fatalf("squeue: %v", err)
		}
		var ids []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(l); len(f) == 2 && strings.HasPrefix(f[1], "burst-hpc-") {
				ids = append(ids, l)
			}
		}
		return ids
	}
	h.waitFor("no pilot left pending in Slurm (--idle-stop is 10m)", 120*time.Second, func() bool { return len(pending()) == 0 })
	withdrawn := 0
	for _, e := range h.events("") {
		switch {
		case e.Kind == "machine.stop" && strings.Contains(e.Message, "withdrawn while pending"):
			withdrawn++
		case e.Kind == "machine.stop" || e.Kind == "machine.lost":
			t.Errorf("only pending pilots should have been stopped, not: %s %s", e.Kind, e.Message)
		}
	}
	if withdrawn == 0 {
		t.Errorf("the pending pilots should have been withdrawn by the autoscaler: %+v", h.events(""))
	}
	if n := countState(h.machines("hpc"), burst.MachineRunning); n == 0 {
		t.Fatalf("the pilots that ran the map should idle on until --idle-stop: %+v", h.machines("hpc"))
	}

	// A native job then waits in Slurm behind those idle pilots, whose
	// allocations fill both nodes: they give way to it at once, not after
	// --idle-stop (10m), and say so.
	native := h.submit("--on", "hpc", "--native", "--", "sh", "-c", "echo native ran")
	h.waitFor("the native job to run once the idle pilots gave way (--idle-stop is 10m)", 150*time.Second, func() bool {
		return h.show(native).State == "succeeded"
	})
	gave := 0
	for _, e := range h.events("") {
		if e.Kind == "machine.stop" && strings.Contains(e.Message, fmt.Sprintf("giving way: native job %d waits in Slurm's queue", native)) {
			gave++
		}
	}
	if gave == 0 {
		t.Errorf("no pilot stop says it gave way to native job %d: %+v", native, h.events(""))
	}
}

// slurmPipe: a pipe on Slurm pilots, its two stages on two pilots (each
// reserves a whole pilot) streaming over TCP between their agents.
func slurmPipe(t *testing.T) {
	h := newHarness(t)
	needSlurm(t, h)
	h.createHPC()
	r := h.mustRun("pipe", "--on", "hpc", "--", `--cpus 2 seq 1 100000 | --cpus 2 --name sum awk "{s+=\$1} END {printf \"%.0f\\n\", s}"`)
	if r.stdout != "5000050000\n" {
		t.Fatalf("a pipe across two pilots:\n%s", r)
	}
	j := h.show(jobIDFrom(t, r))
	if len(j.TaskList) != 2 || j.TaskList[0].Machine == j.TaskList[1].Machine {
		t.Errorf("each stage reserves a whole pilot: they should run on two: %+v", j.TaskList)
	}
	for _, tk := range j.TaskList {
		if !strings.HasPrefix(tk.Machine, "hpc-") {
			t.Errorf("stage on %s, not a pilot of hpc", tk.Machine)
		}
	}
}

// A slurmctld that is gone does not stall the server: while the squeue
// that watches its pilots, then the autoscaler's sbatch of another pilot,
// wait for it (about 9 s each before they give up here), commands are
// answered; the failed start is then recorded. Needs its own Slurm, whose
// controller it kills.
func slurmDeadControllerDoesNotStallServer(t *testing.T) {
	h := newHarness(t)
	if os.Getuid() != 0 {
		slurmtest.Skip(t, "not root: scripts/slurm-dev.sh must run as root")
	}
	conf, stop, why := slurmtest.Start(moduleDir, 21817)
	defer stop()
	if conf == "" {
		slurmtest.Skip(t, why)
	}
	h.setEnv("SLURM_CONF", conf)
	h.mustRun("cluster", "create", "hpc", "--provider", "slurm", "--partition", "debug", "--cpus", "1", "--mem", "256M", "--max", "2")
	first := h.submit("--on", "hpc", "--", "sleep", newMarker())
	h.waitRunning(first)

	b, err := os.ReadFile(filepath.Join(filepath.Dir(conf), "run", "slurmctld.pid"))
	ctld, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || ctld <= 0 {
		t.Fatalf("slurmctld pid file: %v %q", err, b)
	}
	syscall.Kill(ctld, syscall.SIGKILL)
	h.waitFor("slurmctld to die", 10*time.Second, func() bool { return !alive(ctld) })
	// A command already running when the controller died may have been
	// answered, or fail at once on the broken connection: only one started
	// since waits the full time for a controller that is not there.
	before := map[int]bool{}
	for _, p := range allPIDs() {
		before[p] = true
	}
	// waiting finds a Slurm command of the server's (its last argument
	// tells it apart), started after the controller died, that is still
	// waiting for it.
	waiting := func(what, cmd string, last func(string) bool) int {
		pid := 0
		h.waitFor(what, 30*time.Second, func() bool {
			for _, p := range allPIDs() {
				args := procArgs(p)
				if !before[p] && len(args) > 1 && filepath.Base(args[0]) == cmd && last(args[len(args)-1]) && hasTag(p, h.tag) {
					pid = p
					return true
				}
			}
			return false
		})
		return pid
	}
	squeue := waiting("the server's squeue of its pilots", "squeue", func(a string) bool { return a == "%i|%T|%r|%S|%j|%k" })
	h.mustRun("jobs")
	if !alive(squeue) {
		t.Fatalf("burst jobs was answered only once the squeue for a dead slurmctld had given up: the server waited on it")
	}

	second := h.submit("--on", "hpc", "--", "true") // the first pilot is busy: the autoscaler submits another
	sbatch := waiting("the autoscaler's sbatch of a second pilot", "sbatch", func(a string) bool { return strings.HasPrefix(a, h.home) })
	ms := h.machines("hpc")
	if !alive(sbatch) {
		t.Fatalf("burst machine list was answered only once the sbatch for a dead slurmctld had given up: the server waited on it")
	}
	if countState(ms, "pending") != 1 {
		t.Errorf("while its provider starts it, the new machine should be listed pending: %+v", ms)
	}
	h.waitFor("the failed start to be recorded", 60*time.Second, func() bool {
		return strings.Contains(h.mustRun("events").stdout, "cannot start hpc-2")
	})
	h.mustRun("cancel", idArg(first), idArg(second))
}
