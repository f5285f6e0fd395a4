package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Escaped process trees: a task that starts a process outside its process
// group (setsid), one its shell no longer knows (a double fork), or one
// that ignores hangups (nohup) leaves nothing running once it has ended,
// whether its main process exited, it was cancelled or it ran out of time,
// with and without --mem, in each containment the agent can use (the cgroup
// it detects, a v1 freezer cgroup where one is mounted, and the subreaper
// burst falls back to). Its end is recorded
// only once all of it is dead: the check right after the recorded end needs
// no wait.
//
// Slurm does the same where it tracks processes by cgroup: with
// ProctrackType=proctrack/cgroup (slurm.conf(5), ProctrackType; "Control
// Group in Slurm", slurm.schedmd.com/cgroups.html) a step's processes are
// found through its cgroup, not its process tree or session, and are
// killed when the step ends.
func TestFaultEscapedProcessTrees(t *testing.T) {
	t.Parallel()
	escapes := []struct{ name, start string }{
		{"setsid", "setsid sleep %s &"},
		{"double fork", "( (sleep %s &) & )"},
		{"nohup", "nohup sleep %s >/dev/null 2>&1 &"},
	}
	ends := []string{"exit", "cancel", "timeout"}
	want := map[string]string{"exit": "succeeded", "cancel": "cancelled", "timeout": "timeout"}

	var mu sync.Mutex
	var tasks, wrong, survived int
	modes := []string{"", "subreaper"}
	if _, err := os.Stat("/sys/fs/cgroup/freezer/cgroup.procs"); err == nil {
		modes = append(modes, "cgroup1") // a v1 freezer beside the detected mode
	}
	for _, mode := range modes {
		name := mode
		if name == "" {
			name = "detected"
		}
		t.Run("containment="+name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if mode != "" {
				h.setEnv("BURST_CONTAIN", mode)
			}
			// The local agent runs as many tasks at once as it has CPUs:
			// no more are started at once, so each runs when submitted.
			slots := make(chan struct{}, 2)
			var wg sync.WaitGroup
			for _, esc := range escapes {
				for _, end := range ends {
					for _, mem := range []bool{false, true} {
						esc, end, mem := esc, end, mem
						wg.Add(1)
						slots <- struct{}{}
						go func() {
							defer wg.Done()
							defer func() { <-slots }()
							state, left, desc := escapeOnce(h, esc.start, end, mem)
							mu.Lock()
							defer mu.Unlock()
							tasks++
							if state != want[end] {
								wrong++
								t.Errorf("%s, %s, --mem %v: job ended %s, want %s", esc.name, end, mem, state, want[end])
							}
							if len(left) > 0 {
								survived++
								t.Errorf("%s, %s, --mem %v: processes outlived the task's recorded end:%s", esc.name, end, mem, desc)
							}
						}()
					}
				}
			}
			wg.Wait()
			log, _ := os.ReadFile(filepath.Join(h.home, "agents", "local-1.log"))
			if mode != "" && !strings.Contains(string(log), "containment="+mode) {
				t.Errorf("the agent did not use containment %s:\n%s", mode, tail(string(log), 2000))
			}
		})
	}
	t.Cleanup(func() {
		recordFault(t, faultRow{Fault: "escaped process trees: setsid, double fork, nohup at exit, cancel, time-out", Tasks: tasks, FailedWrongly: wrong})
		if survived > 0 {
			t.Errorf("%d of %d tasks left processes running", survived, tasks)
		}
	})
}

// escapeOnce runs one task that leaves `sleep MARKER` behind by start, ends
// it as end says, and returns the job's recorded state and the sleeps still
// running right after that state was recorded (and what they were).
func escapeOnce(h *harness, start, end string, mem bool) (string, []int, string) {
	marker := newMarker()
	gate := filepath.Join(h.root, "gate-"+marker)
	script := fmt.Sprintf(start, marker) + "\n"
	switch end {
	case "exit":
		// Waits for the test to have seen the escaped sleep, then exits 0.
		script += "while [ ! -e " + gate + " ]; do sleep 0.02; done"
	default:
		script += "exec sleep 600"
	}
	args := []string{}
	if mem {
		args = append(args, "--mem", "256M")
	}
	if end == "timeout" {
		// Long enough that a loaded machine (the suite runs tests side by
		// side) sees the escaped sleep before the limit ends the task.
		args = append(args, "--time", "8s")
	}
	id := h.submit(append(args, "--", "sh", "-c", script)...)
	seen := false
	h.waitFor("the task's escaped sleep "+marker, 30*time.Second, func() bool {
		seen = seen || len(sleepers(marker)) == 1
		return seen || terminal(h.show(id).State)
	})
	if !seen {
		h.t.Errorf("job %d (%s) ended before its escaped sleep was seen", id, end)
	}
	switch end {
	case "exit":
		writeFile(h.t, gate, "", 0o644)
	case "cancel":
		h.mustRun("cancel", idArg(id))
	}
	var j jobJSON
	h.waitFor("job "+strconv.FormatInt(id, 10)+" to end", 60*time.Second, func() bool {
		j = h.show(id)
		return terminal(j.State)
	})
	left := sleepers(marker)
	desc := describePIDs(left)
	for _, pid := range left { // do not leave them to the next test
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
	}
	return j.State, left, desc
}

// TestFaultAgentKilledLeavesNoCgroup: an agent killed with kill -9 while its
// task has a process outside the task's process group leaves its cgroups
// behind; the next agent removes them, and what still ran in them, before
// it runs anything. The task itself runs again (its first run was lost with
// the agent) and succeeds.
func TestFaultAgentKilledLeavesNoCgroup(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marker := newMarker()
	gate := filepath.Join(h.root, "gate")
	id := h.submit("--", "sh", "-c", "setsid sleep "+marker+" &\nwhile [ ! -e "+gate+" ]; do sleep 0.02; done")
	var escaped []int
	h.waitFor("the task's escaped sleep", 30*time.Second, func() bool {
		escaped = sleepers(marker)
		return len(escaped) == 1
	})
	box := cgroupDir(escaped[0])
	if box == "" {
		t.Fatalf("the task's escaped sleep %d is in no cgroup of burst's: %s", escaped[0], procCgroup(escaped[0]))
	}
	agentDir := filepath.Dir(box)
	agent := h.agentPID()
	// agent-PIDNS-PID-TICKS-HOME
	if f := strings.SplitN(filepath.Base(agentDir), "-", 5); len(f) != 5 || f[0] != "agent" || f[2] != strconv.Itoa(agent) {
		t.Fatalf("the task's cgroup %s is not in a directory of agent %d", box, agent)
	}
	h.kill9(agent, "agent")
	h.waitAgent(agent)
	h.waitFor("the dead agent's cgroups to be removed", 30*time.Second, func() bool {
		_, err := os.Stat(agentDir)
		return os.IsNotExist(err)
	})
	h.waitFor("the escaped sleep of the lost run to die", 10*time.Second, func() bool { return !alive(escaped[0]) })

	writeFile(t, gate, "", 0o644)
	var j jobJSON
	h.waitFor("the job to end", 60*time.Second, func() bool {
		j = h.show(id)
		return terminal(j.State)
	})
	r := faultRow{Fault: "agent kill -9 with an escaped process: the next agent removes its cgroups", Tasks: 1}
	switch j.State {
	case "succeeded":
	case "failed":
		r.FailedWrongly = 1
	default:
		r.Lost = 1
	}
	recordFault(t, r)
	h.waitFor("the rerun's escaped sleep to be gone", 10*time.Second, func() bool { return len(sleepers(marker)) == 0 })
}

// procCgroup is /proc/PID/cgroup.
func procCgroup(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	return string(b)
}

// cgroupDir is the directory of pid's cgroup v2 when that is one of burst's
// (under a "burst" cgroup), else "".
func cgroupDir(pid int) string {
	for _, line := range strings.Split(procCgroup(pid), "\n") {
		path, ok := strings.CutPrefix(line, "0::")
		if !ok || !strings.Contains(path, "/burst/") {
			continue
		}
		for _, mnt := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
			if _, err := os.Stat(filepath.Join(mnt, path, "cgroup.procs")); err == nil {
				return filepath.Join(mnt, path)
			}
		}
	}
	return ""
}
