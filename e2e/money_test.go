package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// The tests of projects, budgets, clusters, the meter and guardrails run
// the real binary: clusters of the local provider start real agent
// processes (each owning a slice of this host), and the meter charges their
// real running time. Prices are set by a prices.yaml in the test's home, so
// that a budget is spent in seconds.

// writePrices writes a price override into the harness's home.
func (h *harness) writePrices(yaml string) {
	h.t.Helper()
	if err := os.MkdirAll(h.home, 0o700); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.home, "prices.yaml"), []byte(yaml), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

func decodeJSON[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, r)
	}
	return v
}

func (h *harness) machines(cluster string) []burst.Machine {
	h.t.Helper()
	args := []string{"machine", "list", "-o", "json"}
	if cluster != "" {
		args = append(args, "--cluster", cluster)
	}
	return decodeJSON[[]burst.Machine](h.t, h.mustRun(args...))
}

func countState(ms []burst.Machine, states ...string) int {
	n := 0
	for _, m := range ms {
		for _, s := range states {
			if m.State == s {
				n++
			}
		}
	}
	return n
}

func (h *harness) events(project string) []burst.Event {
	h.t.Helper()
	args := []string{"events", "-o", "json", "--limit", "1000"}
	if project != "" {
		args = append(args, "--project", project)
	}
	return decodeJSON[[]burst.Event](h.t, h.mustRun(args...))
}

func hasEvent(evs []burst.Event, kind, result string) bool {
	for _, e := range evs {
		if e.Kind == kind && (result == "" || e.Result == result) {
			return true
		}
	}
	return false
}

func (h *harness) cost(by, project string) burst.CostReport {
	h.t.Helper()
	args := []string{"cost", "--by", by, "-o", "json"}
	if project != "" {
		args = append(args, "--project", project)
	}
	return decodeJSON[burst.CostReport](h.t, h.mustRun(args...))
}

// checkLedger checks that the cost report adds up: lines to the total, and
// every grouping to the same total, to the nano-dollar. Call it once no
// machine of the project runs: storage goes on accruing, so it is left
// out of the comparison between groupings.
func (h *harness) checkLedger(project string) burst.CostReport {
	h.t.Helper()
	var want int64 = -1
	var byJob burst.CostReport
	for _, by := range []string{"job", "machine", "user", "kind"} {
		rep := h.cost(by, project)
		var sum, storage int64
		for _, l := range rep.Lines {
			sum += l.NUSD
			if l.Key == "storage" {
				storage += l.NUSD
			}
		}
		if sum != rep.TotalNUSD {
			h.t.Errorf("cost --by %s: lines add up to %d nUSD, total says %d", by, sum, rep.TotalNUSD)
		}
		if want >= 0 && rep.TotalNUSD-storage != want {
			h.t.Errorf("cost --by %s totals %d nUSD without storage, --by job %d", by, rep.TotalNUSD-storage, want)
		}
		if by == "job" {
			want, byJob = rep.TotalNUSD-storage, rep
		}
	}
	return byJob
}

// waitIdleCluster waits until no machine of cluster runs.
func (h *harness) waitIdleCluster(cluster string, timeout time.Duration) {
	h.t.Helper()
	h.waitFor("every machine of "+cluster+" to stop", timeout, func() bool {
		return countState(h.machines(cluster), burst.MachinePending, burst.MachineRunning, burst.MachineStopping) == 0
	})
}

// TestBudgetExhaustedStopsMachinesAndRefusesWork drives a project's budget
// to exhaustion with a real cluster, and checks the guardrail: warnings at
// 50% and 80%, machines stopped, tasks requeued (not failed), new work
// refused with what was spent and how to raise the budget; raising it lets
// the held work finish; per-job costs add up to machine costs.
func TestBudgetExhaustedStopsMachinesAndRefusesWork(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// $36/h = 1 cent a second per machine.
	h.writePrices("types:\n  t2.micro: {on_demand: 36}\n")
	h.mustRun("project", "create", "mars", "--budget", "0.04", "--description", "Life on Mars", "--tag", "nasa")
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--project", "mars", "--max", "2", "--idle-stop", "2s")
	marker := newMarker()
	// Each task needs 20 s the first time: the budget ends long before.
	script := "if [ -e done-$1 ]; then exit 0; fi; touch done-$1; sleep 20 # " + marker
	r := h.mustRun("map", "-d", "--on", "work", "--project", "mars", "--", "sh", "-c", script, "sh", "{}", ":::", "a", "b")
	id, _ := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
	if id == 0 {
		t.Fatalf("map -d printed no job id:\n%s", r)
	}
	h.waitFor("the budget to be spent", 60*time.Second, func() bool { return hasEvent(h.events("mars"), "guardrail.exhausted", "") })
	evs := h.events("mars")
	for _, k := range []string{"guardrail.warn", "project.create", "cluster.create", "job.submit", "machine.start", "machine.stop"} {
		if !hasEvent(evs, k, "") {
			t.Errorf("no %s event in the audit trail: %+v", k, evs)
		}
	}
	h.waitFor("every machine of work to stop", 10*time.Second, func() bool {
		ms := h.machines("work")
		return len(ms) > 0 && countState(ms, burst.MachinePending, burst.MachineRunning, burst.MachineStopping) == 0
	})
	h.waitFor("the tasks' processes to end", 10*time.Second, func() bool { return len(sleepers(marker)) == 0 })
	j := h.show(id)
	if j.State != "queued" || j.Tasks.Failed != 0 {
		t.Errorf("after the guardrail the map should wait (queued, nothing failed): %+v", j)
	}
	// New work is refused, saying what was spent and how to raise it.
	r = h.run("run", "--on", "work", "--project", "mars", "--", "true")
	if r.code != 2 || !strings.Contains(r.stderr, "spent") || !strings.Contains(r.stderr, "burst project set mars --budget") {
		t.Errorf("work for a spent project should be refused with what was spent and the fix:\n%s", r)
	}
	b := decodeJSON[burst.BudgetReport](t, h.mustRun("budget", "mars", "-o", "json"))
	if b.Level != "exhausted" || b.SpentUSD < 0.04 || len(b.Running) != 0 || len(b.Stopped) == 0 {
		t.Errorf("budget report after exhaustion: %+v", b)
	}
	// Raising the budget lifts the guardrail: the held map runs again and
	// finishes (its second attempts exit at once).
	h.mustRun("project", "set", "mars", "--budget", "100")
	h.waitFor("the map to finish", 60*time.Second, func() bool { return terminal(h.show(id).State) })
	if j := h.show(id); j.State != "succeeded" {
		t.Errorf("after the budget was raised the map should succeed: %+v", j)
	}
	h.waitIdleCluster("work", 30*time.Second) // idle-stop 2s
	rep := h.checkLedger("mars")
	byMachine := h.cost("machine", "mars")
	var machines int64
	for _, l := range byMachine.Lines {
		if strings.HasPrefix(l.Key, "work-") {
			machines += l.NUSD
		}
	}
	var jobs int64
	for _, l := range rep.Lines {
		if l.Key != "storage" {
			jobs += l.NUSD
		}
	}
	if jobs != machines || machines == 0 {
		t.Errorf("jobs and idle time cost %d nUSD, the machines %d: they must be equal", jobs, machines)
	}
	job := decodeJSON[burst.Job](t, h.mustRun("show", idArg(id), "-o", "json"))
	if job.CostUSD <= 0 {
		t.Errorf("show: cost_usd should be positive: %+v", job)
	}
}

// TestClusterScalesOutAndBackToZero: a map on an empty cluster starts
// machines (up to --max), runs on them, and the machines stop once idle.
func TestClusterScalesOutAndBackToZero(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--min", "0", "--max", "2", "--idle-stop", "2s")
	if ms := h.machines("work"); countState(ms, burst.MachinePending, burst.MachineRunning) != 0 {
		t.Fatalf("a new cluster with --min 0 should have no machine: %+v", ms)
	}
	r := h.mustRun("map", "-d", "--on", "work", "--", "sh", "-c", "sleep 2; echo output", ":::", "1", "2", "3", "4")
	id, _ := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
	most := 0
	h.waitFor("the map to finish", 60*time.Second, func() bool {
		most = max(most, countState(h.machines("work"), burst.MachinePending, burst.MachineRunning))
		return terminal(h.show(id).State)
	})
	if j := h.show(id); j.State != "succeeded" {
		t.Fatalf("map on the cluster: %+v", j)
	}
	if most != 2 {
		t.Errorf("the cluster should have scaled out to its --max of 2 machines, saw at most %d", most)
	}
	// Each task wrote "output\n" (7 bytes) to its log: the project keeps that much.
	b := decodeJSON[burst.BudgetReport](t, h.mustRun("budget", "default", "-o", "json"))
	var kept int64
	for _, l := range b.Storage {
		kept += l.Bytes
	}
	if kept < 4*7 {
		t.Errorf("storage of project default: %d bytes, want at least the 28 the map wrote (%+v)", kept, b.Storage)
	}
	h.waitIdleCluster("work", 30*time.Second)
	evs := h.events("")
	if !hasEvent(evs, "machine.start", "ok") || !hasEvent(evs, "machine.stop", "ok") {
		t.Errorf("the audit trail should hold the autoscaler's starts and stops: %+v", evs)
	}
	h.checkLedger("")
}

// TestMachineStopRequeuesAndDrainWaits: `machine stop` ends the tasks on
// the machine and requeues them (not counted as a retry); `--drain` lets
// them finish first.
func TestMachineStopRequeuesAndDrainWaits(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--max", "1", "--idle-stop", "1m")
	marker := newMarker()
	script := "if [ -e first ]; then exit 0; fi; touch first; sleep 30 # " + marker
	id := h.submit("--on", "work", "--", "sh", "-c", script)
	h.waitRunning(id)
	h.mustRun("machine", "stop", "work-1")
	h.waitFor("the task's process to end", 10*time.Second, func() bool { return len(sleepers(marker)) == 0 })
	// The autoscaler starts another machine (never the one a person
	// stopped) for the waiting task; its second run exits 0 at once.
	h.waitFor("the job to finish", 60*time.Second, func() bool { return terminal(h.show(id).State) })
	j := h.show(id)
	if j.State != "succeeded" {
		t.Fatalf("a task requeued by a machine stop should run again and succeed: %+v", j)
	}
	if a := j.task0(t).Attempt; a != 2 {
		t.Errorf("task attempt = %d, want 2 (the stopped attempt, then the one that ran)", a)
	}

	// --drain: the task finishes, then the machine stops.
	id = h.submit("--on", "work", "--", "sleep", "2")
	h.waitRunning(id)
	var m string
	for _, mm := range h.machines("work") {
		if mm.State == burst.MachineRunning {
			m = mm.ID
		}
	}
	if m == "" {
		t.Fatalf("no running machine in work: %+v", h.machines("work"))
	}
	h.mustRun("machine", "stop", "--drain", m)
	h.waitFor("the drained job to finish", 30*time.Second, func() bool { return terminal(h.show(id).State) })
	if j := h.show(id); j.State != "succeeded" || j.task0(t).Attempt != 1 {
		t.Errorf("a drained machine lets its task finish on its first attempt: %+v", j)
	}
	h.waitFor("the drained machine to stop", 15*time.Second, func() bool {
		for _, mm := range h.machines("work") {
			if mm.ID == m {
				return mm.State == burst.MachineStopped
			}
		}
		return false
	})
	// The stop that ends a drain is the person's who asked for it: it is
	// theirs in the list and across restarts, not the autoscaler's.
	if by := h.machineByID(m).StoppedBy; by == "" || by == "autoscaler" {
		t.Errorf("a drained machine should be stopped by the person who drained it, stopped_by %q", by)
	}
	if r := h.run("machine", "stop", "nosuch-9"); r.code != 2 || !strings.Contains(r.stderr, "burst machine list") {
		t.Errorf("stopping a machine that does not exist should say so and name the fix:\n%s", r)
	}
}

// TestMoneyBadInput: each mistake is one line naming the fix, and nothing
// is half-created.
func TestMoneyBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("project", "create", "mars", "--budget", "10")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"project", "create", "p1", "--budget", "-5"}, "positive amount"},
		{[]string{"project", "create", "p2", "--budget", "lots"}, "--budget"},
		{[]string{"project", "create", "p3", "--ends", "2001-01-01"}, "past"},
		{[]string{"project", "create", "p4", "--ends", "next week"}, "YYYY-MM-DD"},
		{[]string{"cluster", "create", "c1", "--type", "c5.xlarg"}, "c5.xlarge"},
		{[]string{"cluster", "create", "c2", "--type", "t2.micro", "--min", "3", "--max", "1"}, "--max"},
		{[]string{"cluster", "create", "c3", "--type", "m5.24xlarge"}, "does not fit this host"},
		{[]string{"cluster", "create", "c4", "--type", "t2.micro", "--off", "Fry 18:00", "--on", "Mon 08:00"}, "Mon..Sun"},
		{[]string{"cluster", "create", "c5", "--type", "t2.micro", "--project", "nosuch"}, "burst project create"},
		{[]string{"run", "--on", "nosuch", "--", "true"}, "burst cluster create"},
		{[]string{"run", "--project", "nosuch", "--", "true"}, "burst project create"},
	}
	for _, c := range cases {
		r := h.run(c.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || len(lines) > 2 {
			t.Errorf("burst %s: want exit 2 and a short message containing %q:\n%s", strings.Join(c.args, " "), c.want, r)
		}
	}
	ps := decodeJSON[[]burst.Project](t, h.mustRun("project", "list", "-o", "json"))
	for _, p := range ps {
		if p.Name != "mars" && p.Name != "default" {
			t.Errorf("a refused create left project %s behind", p.Name)
		}
	}
	cs := decodeJSON[[]burst.Cluster](t, h.mustRun("cluster", "list", "-o", "json"))
	for _, c := range cs {
		if c.Name != "local" {
			t.Errorf("a refused create left cluster %s behind", c.Name)
		}
	}
}

// TestExhaustedCancelOnSharedMachine: a project whose work runs on this
// host (which it does not own) and whose guardrail says cancel: when its
// budget is spent its job is cancelled and its process ends, while the
// host goes on serving others. The forecast guard refuses a job whose time
// limit could cost more than what is left.
func TestExhaustedCancelOnSharedMachine(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// This host at $36 per core-hour: a 1-CPU task spends a cent a second.
	h.writePrices("local: {core_hour: 36}\n")
	h.mustRun("project", "create", "venus", "--budget", "0.03", "--on-exhausted", "cancel")
	r := h.run("run", "--project", "venus", "--time", "1h", "--", "true")
	if r.code != 2 || !strings.Contains(r.stderr, "could cost up to") || !strings.Contains(r.stderr, "--budget") {
		t.Errorf("a job whose time limit could overspend should be refused by the forecast guard:\n%s", r)
	}
	marker := newMarker()
	id := h.submit("--project", "venus", "--", "sh", "-c", "sleep 60 # "+marker)
	other := h.submit("--", "sleep", "1") // project default, no budget
	h.waitFor("venus's job to be cancelled", 30*time.Second, func() bool { return terminal(h.show(id).State) })
	j := h.show(id)
	if j.State != "cancelled" || !strings.Contains(j.Reason, "budget") {
		t.Errorf("with --on-exhausted cancel the job ends cancelled, saying why: %+v", j)
	}
	h.waitFor("the cancelled task's process to end", 10*time.Second, func() bool { return len(sleepers(marker)) == 0 })
	h.waitFor("the other project's job", 30*time.Second, func() bool { return terminal(h.show(other).State) })
	if j := h.show(other); j.State != "succeeded" {
		t.Errorf("another project's work on the same host goes on: %+v", j)
	}
	if ms := h.machines("local"); countState(ms, burst.MachineRunning) != 1 {
		t.Errorf("this host stays up: %+v", ms)
	}
	evs := h.events("venus")
	if !hasEvent(evs, "guardrail.exhausted", "acted") || !hasEvent(evs, "job.submit", "refused") {
		t.Errorf("audit trail of venus: %+v", evs)
	}
	h.checkLedger("venus")
}

// TestScheduleOffHoldsTheCluster: a cluster "on ice" now starts no machine
// for work that waits.
func TestScheduleOffHoldsTheCluster(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	now := time.Now()
	off := now.Add(-2 * time.Minute).Format("15:04")
	on := now.Add(10 * time.Minute).Format("15:04")
	h.mustRun("cluster", "create", "ice", "--type", "t2.micro", "--max", "1", "--off", "daily "+off, "--on", "daily "+on)
	id := h.submit("--on", "ice", "--", "true")
	h.waitPasses("burst_autoscaler_rounds_total", 3)
	if ms := h.machines("ice"); countState(ms, burst.MachinePending, burst.MachineRunning) != 0 {
		t.Errorf("a cluster whose schedule is off started a machine: %+v", ms)
	}
	if j := h.show(id); j.State != "queued" {
		t.Errorf("work for a cluster on ice waits: %+v", j)
	}
	cs := decodeJSON[[]burst.Cluster](t, h.mustRun("cluster", "list", "-o", "json"))
	for _, c := range cs {
		if c.Name == "ice" && (c.ScheduleOn || c.Queued != 1) {
			t.Errorf("cluster list should show ice off with 1 task queued: %+v", c)
		}
	}
	h.mustRun("cancel", idArg(id))
	found := false
	for _, e := range h.events("") {
		if e.Kind == "job.cancel" && e.Target == "job "+idArg(id) && e.Actor != "" && e.Result == "ok" {
			found = true
		}
	}
	if !found {
		t.Errorf("the cancel should be in the audit trail with its actor: %+v", h.events(""))
	}
}

// TestClusterMachineSurvivesServerKillAndAgentKill: kill -9 of the server
// loses nothing on a cluster machine (its agent keeps the task, the meter
// goes on from its last mark); kill -9 of the machine's agent requeues its
// task, and the autoscaler brings a machine back to run it.
func TestClusterMachineSurvivesServerKillAndAgentKill(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--max", "1", "--idle-stop", "1m")
	marker := newMarker()
	// First attempt runs 4 s; were it to run again, it would exit 1.
	script := "if [ -e ran ]; then exit 1; fi; touch ran; sleep 4; echo ok # " + marker
	id := h.submit("--on", "work", "--", "sh", "-c", script)
	h.waitRunning(id)
	before := h.machines("work")
	old := h.serverPID()
	h.kill9(old, "server")
	h.mustRun("jobs") // starts a new server
	h.waitFor("the job to finish", 60*time.Second, func() bool { return terminal(h.show(id).State) })
	j := h.show(id)
	if j.State != "succeeded" || j.task0(t).Attempt != 1 {
		t.Fatalf("the task on the cluster machine should survive the server's death and finish on attempt 1: %+v", j)
	}
	after := h.machines("work")
	if len(before) != 1 || len(after) != 1 || after[0].AgentPID != before[0].AgentPID || after[0].State != burst.MachineRunning {
		t.Errorf("the same machine and agent should go on serving: before %+v, after %+v", before, after)
	}
	if after[0].CostUSD <= before[0].CostUSD {
		t.Errorf("the meter should go on across the restart: cost %v then %v", before[0].CostUSD, after[0].CostUSD)
	}

	// Now the agent dies under a task: the task is requeued and runs again
	// on a machine the autoscaler starts.
	marker2 := newMarker()
	id2 := h.submit("--on", "work", "--", "sh", "-c", "if [ -e ran2 ]; then exit 0; fi; touch ran2; sleep 60 # "+marker2)
	h.waitRunning(id2)
	h.kill9(after[0].AgentPID, "agent of work-1")
	h.waitFor("the requeued task to finish", 60*time.Second, func() bool { return terminal(h.show(id2).State) })
	if j := h.show(id2); j.State != "succeeded" {
		t.Errorf("a task whose machine's agent died should run again and succeed: %+v", j)
	}
	h.waitFor("the orphaned task to be killed", 10*time.Second, func() bool { return len(sleepers(marker2)) == 0 })
	if !hasEvent(h.events(""), "machine.lost", "") {
		t.Errorf("the lost machine should be in the audit trail")
	}
}

// TestManualStopIsNotUndone: --min keeps a machine up, but a machine a
// person stopped stays stopped; starting it again by hand brings it back.
func TestManualStopIsNotUndone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "warm", "--type", "t2.micro", "--min", "1", "--max", "1")
	h.waitFor("--min to start a machine", 30*time.Second, func() bool {
		return countState(h.machines("warm"), burst.MachineRunning) == 1
	})
	h.mustRun("machine", "stop", "warm-1")
	h.waitFor("warm-1 to stop", 30*time.Second, func() bool {
		return h.machineState("warm-1") == burst.MachineStopped
	})
	// --min 1 wants a machine: rounds of the autoscaler after the stop
	// would start one (warm-1 again, or a new one: --max 1 allows one).
	h.waitPasses("burst_autoscaler_rounds_total", 3)
	if ms := h.machines("warm"); len(ms) != 1 || ms[0].State != burst.MachineStopped {
		t.Fatalf("a machine stopped by a person should stay stopped: %+v", ms)
	}
	h.mustRun("machine", "start", "warm-1")
	h.waitFor("warm-1 to run again", 30*time.Second, func() bool {
		return countState(h.machines("warm"), burst.MachineRunning) == 1
	})
}

// TestServerListenElsewhere: --listen serves the API on another address
// (for agents on other machines), advertised by host name, over TLS (all
// addresses are beyond loopback), still behind the token.
func TestServerListenElsewhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start("server", "--listen", "0.0.0.0:0")
	h.waitFor("the server to write server.json", 20*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(h.home, "server.json"))
		return err == nil
	})
	addr := h.serverInfo().Addr
	host, _ := os.Hostname()
	if !strings.HasPrefix(addr, "https://"+host+":") {
		t.Fatalf("a server listening on all addresses should advertise https://%s:PORT, got %s", host, addr)
	}
	tok, _ := os.ReadFile(filepath.Join(h.home, "token"))
	h.setEnv("BURST_CA", filepath.Join(h.home, "tls", "ca.pem"))
	c := h.command("jobs")
	c.Env = append(c.Env, "BURST_SERVER="+addr, "BURST_TOKEN="+strings.TrimSpace(string(tok)))
	if r := h.exec(c); r.code != 0 {
		t.Errorf("the CLI through the advertised address:\n%s", r)
	}
	c = h.command("jobs")
	c.Env = append(c.Env, "BURST_SERVER="+addr, "BURST_TOKEN=wrong")
	if r := h.exec(c); r.code == 0 || !strings.Contains(r.stderr, "token") {
		t.Errorf("a wrong token must be refused:\n%s", r)
	}
}
