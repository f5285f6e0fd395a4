package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A copy of a live home's store started as a home of its own. Before burst
// knew whose a store is, the copy found the original's agent and tasks
// under the pids and start times it recorded (they were real), SIGKILLed
// them as orphans, and ran the jobs again in both homes. Now the copy takes
// a new home id, says it is a copy, and touches nothing: the original's
// agent and tasks live on, unsignalled, its jobs finish there exactly once,
// and the copy reruns nothing.
//
// Two copies, as an attacker would make them: a plain cp of state.db and
// its WAL while A's server runs, and a cp once A's server was killed (its
// agent and tasks still run).
func TestFaultCopiedStore(t *testing.T) {
	t.Parallel()
	a := newHarness(t)
	runs := filepath.Join(a.dir, "runs") // one line per task run, from whichever home runs it
	release := filepath.Join(a.dir, "release")
	wait := fmt.Sprintf(`echo "$1" >> %s; while [ ! -e %s ]; do sleep 0.05; done`, shellQuote([]string{runs}), shellQuote([]string{release}))
	long := a.submit("--", "sh", "-c", wait, "_", "long")
	const mapN = 3
	r := a.mustRun("map", "-d", "--", "sh", "-c", wait, "_", "{}", ":::", "m1", "m2", "m3")
	mapID, err := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
	if err != nil {
		t.Fatalf("map -d: %v\n%s", err, r)
	}
	a.waitRunning(long)
	// The map's tasks run as cores free up (one at a time on 2 cores): the
	// copies find some running and the rest waiting.
	a.waitFor("a task of the map to run", 30*time.Second, func() bool { return a.mapShow(mapID).Tasks.Running > 0 })
	agentA := a.agentPID()
	var tasksA []int
	for _, id := range []int64{long, mapID} {
		for _, tk := range a.show(id).TaskList {
			if tk.State == "running" && tk.PID > 0 {
				tasksA = append(tasksA, tk.PID)
			}
		}
	}
	if len(tasksA) < 2 {
		t.Fatalf("A runs %d tasks (%v), want the long one and one of the map", len(tasksA), tasksA)
	}

	copyStore := func(t *testing.T, to *harness) {
		t.Helper()
		if err := os.MkdirAll(to.home, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"state.db", "state.db-wal"} {
			b, err := os.ReadFile(filepath.Join(a.home, f))
			if err != nil {
				if f == "state.db-wal" && os.IsNotExist(err) {
					continue
				}
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(to.home, f), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	// checkCopy starts the copy's server (any command), waits until it has
	// done what the old one did wrongly (recovered, and started its own
	// agent, which registered: before, that came after it had killed A's
	// agent for not coming back), and checks that it let go of A's work.
	checkCopy := func(t *testing.T, c *harness) {
		t.Helper()
		jobs := c.jobsJSON() // starts the copy's server
		if len(jobs) != 2 {
			t.Fatalf("the copy lists %d jobs, want A's 2", len(jobs))
		}
		agentC := c.waitAgent(agentA)
		c.waitFor("the copy's own agent to register", 30*time.Second, func() bool {
			var ms []struct{ ID, State string }
			r := c.mustRun("machine", "list", "-o", "json")
			if err := json.Unmarshal([]byte(r.stdout), &ms); err != nil {
				t.Fatalf("machine list -o json: %v\n%s", err, r)
			}
			for _, m := range ms {
				if m.ID == "local-1" && m.State == "running" {
					return true
				}
			}
			return false
		})
		if agentC == agentA {
			t.Fatalf("the copy adopted A's agent %d", agentA)
		}
		for id, rerun := range map[int64]string{long: "submit it again", mapID: "burst map --resume " + idArg(mapID)} {
			j := c.mapShow(id)
			if j.State != "lost" || j.Tasks.Running != 0 || !strings.Contains(j.Reason, "copy of "+a.home) || !strings.Contains(j.Reason, rerun) {
				t.Errorf("job %d in the copy: %s %+v %q; want lost, nothing running, a reason naming %s and %q", id, j.State, j.Tasks, j.Reason, a.home, rerun)
			}
		}
		log, _ := os.ReadFile(filepath.Join(c.home, "server.log"))
		if !strings.Contains(string(log), "this store is a copy of another home") {
			t.Errorf("the copy's log does not say it is a copy:\n%s", tail(string(log), 2000))
		}
		if ev := c.mustRun("events").stdout; !strings.Contains(ev, "this store is a copy of "+a.home) {
			t.Errorf("burst events in the copy does not say it is a copy:\n%s", tail(ev, 2000))
		}
		if !alive(agentA) {
			t.Errorf("A's agent %d was killed by the copy", agentA)
		}
		for _, pid := range tasksA {
			if !alive(pid) {
				t.Errorf("A's task %d was killed by the copy", pid)
			}
		}
	}

	b := newHarness(t)
	copyStore(t, b) // while A's server runs
	checkCopy(t, b)

	a.kill9(a.serverPID(), "A's server")
	c := newHarness(t)
	copyStore(t, c) // A's server is gone; its agent and tasks run on
	checkCopy(t, c)

	// A comes back (any command), keeps its agent and tasks, and finishes
	// each task once.
	if j := a.show(long); j.State != "running" || j.task0(t).PID != tasksA[0] {
		t.Fatalf("A after its restart: job %s, task pid %d; want running, pid %d", j.State, j.task0(t).PID, tasksA[0])
	}
	writeFile(t, release, "", 0o644)
	if r := a.run("wait", idArg(long)); r.code != 0 {
		t.Errorf("wait for A's long job:\n%s", r)
	}
	if r := a.run("wait", idArg(mapID)); r.code != 0 {
		t.Errorf("wait for A's map:\n%s", r)
	}
	if a.agentPID() != agentA {
		t.Errorf("A's agent was replaced (%d -> %d)", agentA, a.agentPID())
	}

	row := faultRow{Fault: "copied store: cp of a live home's state.db+wal, and after its server died", Tasks: 1 + mapN}
	for _, id := range []int64{long, mapID} {
		j := a.mapShow(id)
		row.Lost += j.Tasks.Total - j.Tasks.Succeeded - j.Tasks.Failed
		row.FailedWrongly += j.Tasks.Failed // each task exits 0 once released
		for _, tk := range j.TaskList {
			if tk.Attempt != 1 {
				row.Duplicated++
			}
		}
	}
	lines, _ := os.ReadFile(runs)
	count := map[string]int{}
	for l := range strings.SplitSeq(strings.TrimSpace(string(lines)), "\n") {
		count[l]++
	}
	for _, name := range []string{"long", "m1", "m2", "m3"} {
		if count[name] > 1 {
			row.Duplicated += count[name] - 1
		}
		if count[name] == 0 {
			row.Lost++
		}
	}
	// The copies ran nothing: none of A's jobs runs there, and no task at all.
	for _, h := range []*harness{b, c} {
		for _, id := range []int64{long, mapID} {
			if j := h.mapShow(id); j.State != "lost" || j.Tasks.Running != 0 {
				row.Duplicated++
				t.Errorf("job %d in a copy: %s %+v", id, j.State, j.Tasks)
			}
		}
	}
	recordFault(t, row)

	// Asked, a copy runs a map of the original's: --resume reruns what did
	// not finish here (all of it, as the copy ran nothing).
	if r := c.run("map", "--resume", idArg(mapID)); r.code != 0 {
		t.Fatalf("map --resume in the copy:\n%s", r)
	}
	lines, _ = os.ReadFile(runs)
	for _, name := range []string{"m1", "m2", "m3"} {
		if n := strings.Count(string(lines), name+"\n"); n != 2 {
			t.Errorf("after map --resume in the copy, task %s ran %d times, want 2 (in A, then in the copy)", name, n)
		}
	}
}

// An agent started by another home's server (it carries that home's id, as
// the agents of a store's original do when they knock on a server that
// took its port) is refused at registration, with a message naming both
// homes; it gets no machine and no task, and the home goes on working.
func TestFaultAgentOfAnotherHome(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("jobs") // starts the server and its agent
	logPath := filepath.Join(h.root, "stranger.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := h.command("agent", "--server", "unix://"+filepath.Join(h.home, "burst.sock"), "--token-file", filepath.Join(h.home, "token"),
		"--machine", "stranger-1", "--cpus", "1")
	c.Env = append(c.Env, "BURST_HOME_ID=0123456789abcdef01234567")
	c.Stdout, c.Stderr = f, f
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	waitFor(t, "the stranger agent to be refused", 30*time.Second, func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "belongs to another home (id 0123456789abcdef01234567")
	})
	if out := h.mustRun("machine", "list").stdout; strings.Contains(out, "stranger-1") {
		t.Errorf("the refused agent has a machine:\n%s", out)
	}
	id := h.submit("--", "true")
	if r := h.run("wait", idArg(id)); r.code != 0 {
		t.Errorf("a job after the refusal:\n%s", r)
	}
	if j := h.show(id); j.task0(t).Machine != "local-1" {
		t.Errorf("the job ran on %q, want local-1", j.task0(t).Machine)
	}
	recordFault(t, faultRow{Fault: "agent of another home registers", Tasks: 1})
}
