package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// machineByID is machine id of `burst machine list -o json`; the test
// fails if it is not listed.
func (h *harness) machineByID(id string) burst.Machine {
	h.t.Helper()
	for _, m := range h.machines("") {
		if m.ID == id {
			return m
		}
	}
	h.t.Fatalf("no machine %s in `burst machine list`", id)
	return burst.Machine{}
}

// starts counts the successful machine.start events
// for machine id: by the autoscaler, and by anyone.
func (h *harness) starts(id string) (byAutoscaler, all int) {
	h.t.Helper()
	for _, e := range h.events("") {
		if e.Kind == "machine.start" && e.Target == id && e.Result == "ok" {
			all++
			if e.Actor == "autoscaler" {
				byAutoscaler++
			}
		}
	}
	return byAutoscaler, all
}

// TestStoppedMachineStaysStoppedAcrossRestart: a machine a person stopped
// while work waits stays stopped after the server is killed and a new one
// starts: the restarted server's autoscaler starts another machine for the
// waiting work, never the stopped one. Starting it by hand clears the mark,
// on disk too.
func TestStoppedMachineStaysStoppedAcrossRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--max", "2", "--idle-stop", "1m")
	a := h.submit("--on", "work", "--", "sh", "-c", "sleep 300 # "+newMarker())
	h.waitRunning(a)
	if m := h.show(a).task0(t).Machine; m != "work-1" {
		t.Fatalf("the task should run on work-1, runs on %q", m)
	}
	h.mustRun("machine", "stop", "work-1")
	// The requeued task waits: the autoscaler starts work-2 for it.
	h.waitFor("the task to run again on work-2", 60*time.Second, func() bool {
		tk := h.show(a).task0(t)
		return tk.State == "running" && tk.Machine == "work-2"
	})
	var stopper string
	for _, e := range h.events("") {
		if e.Kind == "machine.stop" && e.Target == "work-1" {
			stopper = e.Actor
		}
	}
	if stopper == "" || stopper == "autoscaler" {
		t.Fatalf("work-1's machine.stop event should name the person who stopped it, names %q", stopper)
	}
	if m := h.machineByID("work-1"); m.StoppedBy != stopper {
		t.Errorf("work-1: stopped_by %q, want %q", m.StoppedBy, stopper)
	}
	if out := h.mustRun("machine", "list").stdout; !strings.Contains(out, "(by "+stopper+")") {
		t.Errorf("burst machine list should say who stopped work-1:\n%s", out)
	}

	// kill -9 the server; the next command starts a new one, which reads
	// the machines back from its database.
	old := h.serverPID()
	h.kill9(old, "server")
	m := h.machineByID("work-1")
	if pid := h.serverPID(); pid == old {
		t.Fatalf("server.json still names the killed server %d", old)
	}
	if m.State != burst.MachineStopped || m.StoppedBy != stopper {
		t.Errorf("work-1 after the restart: %s, stopped_by %q; want stopped by %q", m.State, m.StoppedBy, stopper)
	}

	// More work waits (work-2 is full): the restarted server's autoscaler
	// starts a machine for it. That it starts work-3, a new one, rather
	// than reuse work-1 (the lowest stopped one, which it reuses when burst
	// itself stopped it) is the proof that it still knows who stopped
	// work-1.
	b := h.submit("--on", "work", "--", "sh", "-c", "sleep 300 # "+newMarker())
	h.waitFor("the autoscaler to start a machine after the restart", 60*time.Second, func() bool {
		n, _ := h.starts("work-3")
		again, _ := h.starts("work-1")
		return n > 0 || again > 0
	})
	if n, _ := h.starts("work-3"); n != 1 {
		t.Errorf("the autoscaler should have started work-3 once for the waiting task, started it %d times", n)
	}
	if n, all := h.starts("work-1"); n != 1 || all != 1 {
		t.Errorf("work-1 should have started once, by the autoscaler before the stop; started %d times (%d by the autoscaler)", all, n)
	}
	if m := h.machineByID("work-1"); m.State != burst.MachineStopped || m.StoppedBy != stopper {
		t.Errorf("work-1, stopped by %s, is %s (stopped_by %q)", stopper, m.State, m.StoppedBy)
	}

	// Started by hand, it is an ordinary machine again: no stopped_by,
	// after another restart too. (--max 2: work-3 makes room.)
	h.mustRun("cancel", idArg(b))
	h.mustRun("machine", "stop", "work-3")
	h.waitFor("work-3 to stop (a stopping machine counts towards --max)", 30*time.Second, func() bool {
		return h.machineState("work-3") == burst.MachineStopped
	})
	h.mustRun("machine", "start", "work-1")
	if m := h.machineByID("work-1"); m.StoppedBy != "" || !(m.State == burst.MachinePending || m.State == burst.MachineRunning) {
		t.Errorf("work-1 started again: %s, stopped_by %q; want pending or running, no stopped_by", m.State, m.StoppedBy)
	}
	h.kill9(h.serverPID(), "server")
	if m := h.machineByID("work-1"); m.StoppedBy != "" {
		t.Errorf("work-1 started again, after a restart: stopped_by %q, want none", m.StoppedBy)
	}
	if m := h.machineByID("work-3"); m.StoppedBy != stopper {
		t.Errorf("work-3, stopped by %s, after a restart: stopped_by %q", stopper, m.StoppedBy)
	}
	h.mustRun("cancel", idArg(a))
}
