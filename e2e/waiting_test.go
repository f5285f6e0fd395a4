package e2e

import (
	"bufio"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// machineState is the state of machine id in `burst machine list`, "" if
// it is not listed.
func (h *harness) machineState(id string) string {
	h.t.Helper()
	for _, m := range h.machines("") {
		if m.ID == id {
			return m.State
		}
	}
	return ""
}

// TestStoppedMachineStaysStopped: a machine a person stopped while its work
// waits is not started again by the autoscaler; the work goes to another
// machine of the cluster, and the stop says so.
func TestStoppedMachineStaysStopped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--max", "1", "--idle-stop", "1m")
	marker := newMarker()
	id := h.submit("--on", "work", "--", "sh", "-c", "sleep 30 # "+marker)
	h.waitRunning(id)
	if m := h.show(id).task0(t).Machine; m != "work-1" {
		t.Fatalf("the task should run on work-1, runs on %q", m)
	}
	r := h.mustRun("machine", "stop", "work-1")
	for _, want := range []string{"stays stopped until you start it again", "its 1 task is requeued and restarts from the beginning on another machine"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("machine stop should say %q:\n%s", want, r)
		}
	}
	// The task waits, so the autoscaler's next round starts a machine: a new
	// one, work-2 (the person's stop took work-1 out of --max 1's count).
	// That start is the proof that a round ran after the stop.
	h.waitFor("the autoscaler to start work-2", 30*time.Second, func() bool {
		for _, e := range h.events("") {
			if e.Kind == "machine.start" && e.Target == "work-2" && e.Result == "ok" {
				return true
			}
		}
		return false
	})
	starts := 0
	for _, e := range h.events("") {
		if e.Kind == "machine.start" && e.Target == "work-1" {
			starts++
		}
	}
	if starts != 1 {
		t.Errorf("work-1 should have started once (before the stop), started %d times", starts)
	}
	if st := h.machineState("work-1"); st != burst.MachineStopped && st != burst.MachineStopping {
		t.Errorf("work-1, stopped by a person, is %s", st)
	}
	h.waitFor("the task to run again on work-2", 30*time.Second, func() bool {
		tk := h.show(id).task0(t)
		return tk.State == "running" && tk.Machine == "work-2"
	})
	h.mustRun("cancel", idArg(id))
}

// waitJSON is what tests read of `burst show -o json` here.
type waitJSON struct {
	State    string `json:"state"`
	Waiting  string `json:"waiting"`
	TaskList []struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
	} `json:"task_list"`
}

func (h *harness) waiting(id int64) waitJSON {
	h.t.Helper()
	return decodeJSON[waitJSON](h.t, h.mustRun("show", "-o", "json", idArg(id)))
}

// hostCPUs is how many CPUs this host's built-in machine has.
func (h *harness) hostCPUs() int {
	h.t.Helper()
	for _, m := range h.machines("local") {
		if m.ID == "local-1" {
			return m.CPUs
		}
	}
	h.t.Fatal("no local-1 in `burst machine list`")
	return 0
}

// TestQueuedTaskSaysWhy: a task that waits says why, from the server, in
// `burst show` (the job's Waits line and the task's REASON column, as
// squeue's NODELIST(REASON) column does for a pending job), in the API,
// and on the terminal of the `burst run` that waits for it, after a second.
func TestQueuedTaskSaysWhy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	n := strconv.Itoa(h.hostCPUs())
	marker := newMarker()
	first := h.submit("--cpus", n, "--", "sh", "-c", "sleep 60 # "+marker)
	h.waitRunning(first)
	second := h.submit("--cpus", n, "--", "true")
	want := "needs " + n + " CPUs: local-1 has 0 of " + n + " CPUs free, held by job " + idArg(first)
	h.waitFor("the second job to say why it waits", 15*time.Second, func() bool {
		return h.waiting(second).Waiting == want
	})
	w := h.waiting(second)
	if w.State != "queued" || len(w.TaskList) != 1 || w.TaskList[0].State != "queued" || w.TaskList[0].Reason != want {
		t.Errorf("the queued task's reason should be %q: %+v", want, w)
	}
	if r := h.mustRun("show", idArg(second)); !strings.Contains(r.stdout, "Waits:") || !strings.Contains(r.stdout, want) {
		t.Errorf("burst show should say why the job waits:\n%s", r)
	}

	// An attached run on a terminal tells, after a second, why it waits.
	re := regexp.MustCompile(`burst: job ([0-9]+) waits: needs ` + n + ` CPUs: local-1 has 0 of ` + n + ` CPUs free, held by job ` + idArg(first))
	run := startOnTerminal(t, h.command("run", "--cpus", n, "--", "echo", "third ran"))
	run.waitLine(t, re, "the run")
	// So does a map, above its progress line.
	mapRun := startOnTerminal(t, h.command("map", "--cpus", n, "--", "echo", "map ran", ":::", "x"))
	mapRun.waitLine(t, re, "the map")

	h.mustRun("cancel", idArg(first))
	mapRun.finish(t, "map ran", "the map")
	run.finish(t, "third ran", "the run")
	for l := range run.lines {
		if strings.Contains(l, "waits:") && !re.MatchString(l) {
			t.Errorf("once the job ran, nothing more about waiting should be printed: %q", l)
		}
	}
}

// TestLocalClusterSharesTheHost: the built-in machine local-1 and the
// machines of a local cluster share this host's CPUs: a cluster machine
// does not start while local-1's tasks hold every core (its work says so),
// and local-1 offers only what the cluster's machines leave. A --min that
// this host cannot hold is refused at create.
func TestLocalClusterSharesTheHost(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cpus := h.hostCPUs()
	n := strconv.Itoa(cpus)
	r := h.run("cluster", "create", "big", "--type", "t2.micro", "--min", strconv.Itoa(cpus+1), "--max", strconv.Itoa(cpus+1))
	if r.code == 0 || !strings.Contains(r.stderr, "cannot all run on this host") || !strings.Contains(r.stderr, "give --min "+n+" or less") {
		t.Errorf("a --min this host cannot hold should be refused, naming the fix:\n%s", r)
	}
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--max", "1", "--idle-stop", "1m")

	marker := newMarker()
	hog := h.submit("--cpus", n, "--", "sh", "-c", "sleep 60 # "+marker)
	h.waitRunning(hog)
	onWork := h.submit("--on", "work", "--", "sh", "-c", "sleep 60 # "+marker)
	// The reason comes from the autoscaler's own view of the host: with it
	// shown, the autoscaler has seen that there is no room.
	h.waitFor("the cluster's job to say it waits for room on this host", 15*time.Second, func() bool {
		return strings.Contains(h.waiting(onWork).Waiting, "cluster work waits for room to start a machine: this host has 0 of its "+n+" cores")
	})
	if ms := h.machines("work"); countState(ms, burst.MachinePending, burst.MachineRunning) != 0 {
		t.Errorf("no machine of work should start while local-1's tasks hold every core: %+v", ms)
	}
	h.mustRun("cancel", idArg(hog))
	h.waitRunning(onWork)

	// Now work-1 holds a core of this host: local-1 offers the rest.
	third := h.submit("--cpus", n, "--", "true")
	want := "needs " + n + " CPUs: local-1 has " + strconv.Itoa(cpus-1) + " of " + n + " CPUs free, held by cluster work's machines"
	h.waitFor("the local job to say the cluster's machine holds part of the host", 15*time.Second, func() bool {
		return h.waiting(third).Waiting == want
	})
	h.mustRun("cancel", idArg(onWork), idArg(third))
}

// termRun is a command whose stderr is a terminal (its stdout is kept), as
// when a person runs it: what it says there is read line by line.
type termRun struct {
	c     *exec.Cmd
	out   strings.Builder
	done  chan error
	lines chan string
}

func startOnTerminal(t *testing.T, c *exec.Cmd) *termRun {
	t.Helper()
	ptm, tty := openPTY(t)
	r := &termRun{c: c, done: make(chan error, 1), lines: make(chan string, 100)}
	c.Stdout, c.Stderr = &r.out, tty
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	go func() { r.done <- c.Wait() }()
	go func() {
		br := bufio.NewReader(ptm)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				close(r.lines)
				return
			}
			r.lines <- l
		}
	}()
	return r
}

// waitLine waits (30 s at most) for a line on the terminal that re matches.
func (r *termRun) waitLine(t *testing.T, re *regexp.Regexp, what string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	var seen []string
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("%s's terminal closed before it said why it waits: %q", what, seen)
			}
			seen = append(seen, l)
			if re.MatchString(l) {
				return
			}
		case <-deadline:
			t.Fatalf("%s did not say on its terminal why it waits; it wrote %q", what, seen)
		}
	}
}

// finish waits for the command to succeed with want in its stdout.
func (r *termRun) finish(t *testing.T, want, what string) {
	t.Helper()
	select {
	case err := <-r.done:
		if err != nil || !strings.Contains(r.out.String(), want) {
			t.Errorf("%s should go on once the CPUs are free: %v, stdout %q", what, err, r.out.String())
		}
	case <-time.After(cmdTimeout):
		r.c.Process.Kill()
		t.Fatalf("%s did not finish after the first job was cancelled", what)
	}
}
