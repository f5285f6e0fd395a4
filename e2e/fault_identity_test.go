package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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
		// The first command, which starts the copy's server, says on its
		// stderr that the store is a copy; the next ones do not repeat it.
		r := c.mustRun("jobs", "-o", "json")
		if want := "burst: this home's store is a copy of " + a.home; !strings.Contains(r.stderr, want) {
			t.Errorf("the first command in the copy does not say %q:\n%s", want, r)
		}
		jobs := c.jobsJSON()
		if r := c.mustRun("jobs"); strings.Contains(r.stderr, "is a copy") {
			t.Errorf("a later command in the copy says it again:\n%s", r)
		}
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
	t.Cleanup(func() { c.Process.Kill() })
	waitFor(t, "the stranger agent to be refused", 30*time.Second, func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "belongs to another home (id 0123456789abcdef01234567")
	})
	// Refused, it stops asking and exits at once (before, it asked again
	// until its idle exit, 2 minutes later).
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()
	select {
	case err := <-exited:
		if err == nil {
			t.Errorf("the refused agent exited 0, want an error")
		}
	case <-time.After(30 * time.Second):
		b, _ := os.ReadFile(logPath)
		t.Fatalf("the refused agent still runs 30 s after its refusal:\n%s", tail(string(b), 2000))
	}
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

// The host renamed under a live home (a laptop renamed, a container
// restarted with BURST_HOME on a volume): the server that starts under the
// new name finds the same state.db (path, device and inode) and keeps its
// work: its running job goes on, once. Before, path and host had to match
// both: the store was judged a copy and every queued or running job was
// marked lost. The new name is
// given in a user and UTS namespace (unshare -Uru, then hostname), as a
// container's is.
func TestFaultHostRenamed(t *testing.T) {
	t.Parallel()
	if out, err := exec.Command("unshare", "-Uru", "sh", "-c", "hostname burst-renamed && hostname").CombinedOutput(); err != nil ||
		strings.TrimSpace(string(out)) != "burst-renamed" {
		t.Skipf("cannot rename the host in a namespace here (unshare -Uru: %v, %s)", err, out)
	}
	h := newHarness(t)
	runs := filepath.Join(h.dir, "runs")
	release := filepath.Join(h.dir, "release")
	wait := fmt.Sprintf(`echo "$1" >> %s; while [ ! -e %s ]; do sleep 0.05; done`, shellQuote([]string{runs}), shellQuote([]string{release}))
	running := h.submit("--", "sh", "-c", wait, "_", "running")
	h.waitRunning(running)
	task := h.show(running).task0(t).PID
	h.kill9(h.serverPID(), "server")

	// The next command, under the new host name, starts the server there.
	c := h.command("jobs")
	c.Args = append([]string{"unshare", "-Uru", "sh", "-c", `hostname burst-renamed && exec "$0" "$@"`}, c.Args...)
	c.Path, _ = exec.LookPath("unshare")
	if r := h.exec(c); r.code != 0 {
		t.Fatalf("burst jobs under the new host name:\n%s", r)
	}
	if j := h.show(running); j.State != "running" || j.task0(t).PID != task || j.task0(t).Attempt != 1 {
		t.Fatalf("the running job after the rename: %s, task %+v; want running, pid %d, attempt 1 (reason %q)", j.State, j.task0(t), task, j.Reason)
	}
	if log, _ := os.ReadFile(filepath.Join(h.home, "server.log")); strings.Contains(string(log), "this store is a copy") {
		t.Fatalf("the renamed host's server took its store for a copy:\n%s", tail(string(log), 2000))
	}
	writeFile(t, release, "", 0o644)
	row := faultRow{Fault: "host renamed under a live home (same state.db)", Tasks: 1}
	if r := h.run("wait", idArg(running)); r.code != 0 {
		row.Lost++
		t.Errorf("wait:\n%s", r)
	}
	if a := h.show(running).task0(t).Attempt; a != 1 {
		row.Duplicated += a - 1
	}
	lines, _ := os.ReadFile(runs)
	if got := strings.Fields(string(lines)); len(got) != 1 {
		row.Duplicated += max(0, len(got)-1)
		t.Errorf("the task ran %v, want once", got)
	}
	recordFault(t, row)
}

// An agent started by hand (no BURST_HOME_ID: a person's `burst agent`, a
// pilot script of one's own) takes its server's home id when it
// registers, and so do its tasks. When it is lost (kill -9), the server
// kills its task before running it again elsewhere. Before, the task
// carried an empty id, the server refused to signal it, and it ran twice.
func TestFaultHandStartedAgentLost(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("jobs") // starts the server and its agent
	first := h.handAgent("hand-1", nil, "--cluster", "hand")
	runs := filepath.Join(h.dir, "runs")
	release := filepath.Join(h.dir, "release")
	wait := fmt.Sprintf(`echo "$1" >> %s; while [ ! -e %s ]; do sleep 0.05; done`, shellQuote([]string{runs}), shellQuote([]string{release}))
	id := h.submit("--on", "hand", "--", "sh", "-c", wait, "_", "hand")
	j := h.waitRunning(id)
	task := j.task0(t).PID
	if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", task)); err != nil || !strings.Contains(string(env), "\x00BURST_HOME_ID=") ||
		strings.Contains(string(env), "\x00BURST_HOME_ID=\x00") {
		t.Errorf("the hand-started agent's task %d does not carry the home id (%v)", task, err)
	}
	h.kill9(first.Process.Pid, "hand-started agent")
	first.Wait()
	// The server finds the agent silent (30 s), marks its machine lost and
	// kills its task.
	h.waitFor("the lost agent's task to be killed", 90*time.Second, func() bool { return !alive(task) })
	h.handAgent("hand-2", nil, "--cluster", "hand")
	h.waitFor("the task to run again on hand-2", 30*time.Second, func() bool {
		tk := h.show(id).task0(t)
		return tk.State == "running" && tk.Machine == "hand-2"
	})
	writeFile(t, release, "", 0o644)
	row := faultRow{Fault: "hand-started agent (no BURST_HOME_ID) killed -9 while its task runs", Tasks: 1}
	if r := h.run("wait", idArg(id)); r.code != 0 {
		row.Lost++
		t.Errorf("wait:\n%s", r)
	}
	if alive(task) {
		row.Duplicated++
	}
	recordFault(t, row)
}
