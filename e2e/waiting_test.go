package e2e

import (
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
