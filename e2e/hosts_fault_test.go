package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// remoteLease is how long the server waits, by default, for a silent
	// agent that shares nothing with it before it declares its machine
	// lost and requeues its tasks (server.DefaultRemoteAgentTimeout).
	remoteLease = 90 * time.Second
	// dropWithin is the outage: a host's network down for 30 s
	// mid-task, within the default lease.
	dropWithin = 30 * time.Second
	// shortLease is the lease of the test that lets the outage run past
	// it (burst server --agent-timeout), so that it waits seconds, not
	// minutes.
	shortLease = 5 * time.Second
	// The hosts whose network these tests cut: theirs alone.
	hostDropWithin = 3
	hostDropPast   = 4
)

// setLink brings host i's link up or down (ip -n bhI link set eth0 ...).
func setLink(t *testing.T, i int, up bool) {
	t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	if out, err := exec.Command("ip", "-n", "bh"+strconv.Itoa(i), "link", "set", "eth0", state).CombinedOutput(); err != nil {
		t.Fatalf("ip -n bh%d link set eth0 %s: %v\n%s", i, state, err, out)
	}
}

// cutLink takes host i off the bridge, checks that it is cut off (a
// connection from it to the witness fails), and brings it back at
// cleanup should the test end first. It returns when it was cut.
func cutLink(t *testing.T, h *harness, w *witness, i int) time.Time {
	t.Helper()
	t.Cleanup(func() { exec.Command("ip", "-n", "bh"+strconv.Itoa(i), "link", "set", "eth0", "up").Run() })
	setLink(t, i, false)
	at := time.Now()
	probe := h.hostExec(i, "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", hostGateway, w.port))
	if out, err := probe.CombinedOutput(); err == nil || !strings.Contains(string(out), "Network is unreachable") {
		t.Fatalf("host bh%d still reaches the bridge with its link down: %v, %s", i, err, out)
	}
	return at
}

// submitFrom is `burst run -d ARGS...` run in dir: the job's working
// directory, which must exist on the host that runs it.
func (h *harness) submitFrom(dir string, args ...string) int64 {
	h.t.Helper()
	c := h.command(append([]string{"run", "-d"}, args...)...)
	c.Dir = dir
	r := h.exec(c)
	if r.code != 0 || !regexp.MustCompile(`^[1-9][0-9]*\n$`).MatchString(r.stdout) {
		h.t.Fatalf("run -d: want the job id:\n%s", r)
	}
	id, _ := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
	return id
}

// A host whose network drops for 30 s while its task runs comes back
// within the default lease of a remote machine: the server never declares its machine lost, the task
// is neither requeued nor run again, and its end (sent by the test once
// the link is back) is the job's.
func TestFaultHostNetworkDropWithinLease(t *testing.T) {
	t.Parallel()
	h := startHostServer(t)
	w := newWitness(t)
	h.mustRun("cluster", "create", "drop", "--provider", "joined")
	a := h.startHostAgent(hostDropWithin, "--machine", "bh3-drop", "--cluster", "drop", "--cpus", "1")
	h.waitRegistered(a)
	id := h.submitFrom("/", "--on", "drop", "--", "bash", "-c", w.holdScript())
	h.waitFor("the task to run on bh3", 30*time.Second, func() bool { return len(w.runsOf(id)) > 0 })

	down := cutLink(t, h, w, hostDropWithin)
	// The outage lasts dropWithin; all along, the server must not give the
	// machine up, nor the agent exit.
	for time.Since(down) < dropWithin {
		if a.exited() {
			t.Fatalf("the agent on bh3 exited during the outage (%v)", a.err)
		}
		if m, _ := h.machine("bh3-drop"); m.State != "running" {
			t.Fatalf("bh3-drop is %s %s into a %s outage: the server gave it up although the lease is %s", m.State, time.Since(down).Round(time.Second), dropWithin, remoteLease)
		}
		time.Sleep(500 * time.Millisecond)
	}
	setLink(t, hostDropWithin, true)
	t.Logf("bh3 was cut off for %s", time.Since(down).Round(100*time.Millisecond))

	// Back: the task, still held by its first run, is told to exit 0; its
	// end travels back over the agent's link.
	row := faultRow{Fault: fmt.Sprintf("host network down %s mid-task, back within the lease", dropWithin), Tasks: 1}
	runs := w.runsOf(id)
	runs[0].release(t, 0)
	if r := h.run("wait", idArg(id)); r.code != 0 {
		row.Lost++
		t.Errorf("the job after the outage:\n%s", r)
	}
	j := h.show(id)
	task := j.task0(t)
	if task.Attempt != 1 || task.Machine != "bh3-drop" || task.State != "succeeded" {
		t.Errorf("the task after the outage: %+v; want succeeded, attempt 1, on bh3-drop", task)
	}
	runs = w.runsOf(id)
	if len(runs) != 1 || task.Attempt != 1 {
		row.Duplicated += max(len(runs), task.Attempt) - 1
		t.Errorf("the task ran %d times (attempt %d): %v", len(runs), task.Attempt, runs)
	}
	if m, _ := h.machine("bh3-drop"); m.State != "running" {
		t.Errorf("bh3-drop is %s after it came back, want running", m.State)
	}
	if ev := h.mustRun("events", "--limit", "1000").stdout; strings.Contains(ev, "bh3-drop lost") {
		t.Errorf("the server declared bh3-drop lost:\n%s", ev)
	}
	recordFault(t, row)
}

// A host whose network stays down past the lease (a short one, set with
// burst server --agent-timeout): the server declares its
// machine lost and requeues its tasks, which run again on another host,
// once each. When the host's link comes back, its first runs end (the
// server has its agent kill them: they are not left running beside the
// second ones) and nothing is run a third time.
func TestFaultHostNetworkDropPastLease(t *testing.T) {
	t.Parallel()
	h := startHostServer(t, "--agent-timeout", shortLease.String())
	w := newWitness(t)
	h.mustRun("cluster", "create", "gone", "--provider", "joined")
	gone := h.startHostAgent(hostDropPast, "--machine", "bh4-gone", "--cluster", "gone", "--cpus", "2")
	h.waitRegistered(gone)
	const n = 2
	c := h.command("map", "-d", "--on", "gone", "--", "bash", "-c", w.holdScript(), "_", "{}", ":::", "a", "b")
	c.Dir = "/"
	r := h.exec(c)
	id, err := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
	if r.code != 0 || err != nil {
		t.Fatalf("map -d: want the job id:\n%s", r)
	}
	h.waitFor("the 2 tasks to run on bh4", 30*time.Second, func() bool { return len(w.runsOf(id)) == n })
	first := w.runsOf(id)
	for _, run := range first {
		if run.Host != "bh4" || run.Attempt != 1 {
			t.Fatalf("first runs: %v; want attempt 1 on bh4", first)
		}
	}
	spare := h.startHostAgent(2, "--machine", "bh2-spare", "--cluster", "gone", "--cpus", "2")
	h.waitRegistered(spare)

	down := cutLink(t, h, w, hostDropPast)
	h.waitFor("the server to declare bh4-gone lost", shortLease+60*time.Second, func() bool {
		m, _ := h.machine("bh4-gone")
		return m.State == "lost"
	})
	lostAfter := time.Since(down)
	t.Logf("bh4-gone declared lost %s after its link went down (lease %s)", lostAfter.Round(100*time.Millisecond), shortLease)
	if lostAfter < shortLease {
		t.Errorf("bh4-gone declared lost %s after its link went down, before its lease of %s ran out", lostAfter, shortLease)
	}
	h.waitFor("the 2 tasks to run again on bh2", 30*time.Second, func() bool { return len(w.runsOf(id)) == 2*n })
	setLink(t, hostDropPast, true)

	row := faultRow{Fault: "host network down past the lease mid-task: requeued once", Tasks: n}
	// Back on the bridge, the first runs end: each is told by its agent,
	// or dies with it, but none goes on beside its second run.
	h.waitFor("the first runs on bh4 to end once bh4 is back", 60*time.Second, func() bool {
		for _, run := range first {
			if !run.hasEnded() {
				return false
			}
		}
		return true
	})
	all := w.runsOf(id)
	for _, run := range all[n:] {
		if run.Host != "bh2" || run.Attempt != 2 {
			t.Errorf("a second run: %s; want attempt 2 on bh2", run)
		}
		run.release(t, 0)
	}
	if r := h.run("wait", idArg(id)); r.code != 0 {
		t.Errorf("the map after the outage:\n%s", r)
	}
	j := h.showTasks(id, n)
	perTask := map[int]int{}
	for _, run := range w.runsOf(id) {
		perTask[run.Task]++
	}
	for _, task := range j.TaskList {
		switch {
		case task.State != "succeeded":
			if task.State == "failed" {
				row.FailedWrongly++
			} else {
				row.Lost++
			}
			t.Errorf("task %d: %s (%s), want succeeded", task.Index, task.State, task.Reason)
		case task.Machine != "bh2-spare":
			t.Errorf("task %d ended on %s, want bh2-spare", task.Index, task.Machine)
		}
		if task.Attempt != 2 || perTask[task.Index] != 2 {
			row.Duplicated += max(0, max(task.Attempt, perTask[task.Index])-2)
			t.Errorf("task %d: attempt %d, %d runs; want requeued exactly once (attempt 2, 2 runs)", task.Index, task.Attempt, perTask[task.Index])
		}
	}
	if len(j.TaskList) != n {
		t.Errorf("job %d lists %d tasks, want %d", id, len(j.TaskList), n)
	}
	// The server may take the machine back (it registers again and is
	// told to kill its first runs) or refuse it; either way, not its runs.
	m, _ := h.machine("bh4-gone")
	t.Logf("bh4-gone after its return: %s; its agent %s", m.State, gone.exitStatus())
	recordFault(t, row)
}
