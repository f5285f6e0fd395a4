package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Cancelling a job kills its whole process group, not just the process burst
// started; cancelling it again is not an error; a waiter sees exit 130.
func TestCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marker := newMarker()
	id := h.submit("--", "sh", "-c", "sleep "+marker+" & sleep "+marker+" & wait")
	h.waitFor("both background sleeps of the job", 30*time.Second, func() bool { return len(sleepers(marker)) == 2 })

	r := h.run("cancel", idArg(id))
	if r.code != 0 || !strings.Contains(r.stdout, "job "+idArg(id)+" cancelled") {
		t.Fatalf("cancel: want exit 0 and \"job %d cancelled\":\n%s", id, r)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(markerPIDs(marker)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("30 s after cancel, processes of the job still run:%s", describePIDs(markerPIDs(marker)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.waitFor("the job to be recorded as cancelled", 30*time.Second, func() bool { return terminal(h.show(id).State) })
	if j := h.show(id); j.State != "cancelled" || j.task0(t).State != "cancelled" {
		t.Errorf("job state %s, task state %s: want both cancelled", j.State, j.task0(t).State)
	}

	r = h.run("cancel", idArg(id))
	if r.code != 0 || !strings.Contains(r.stdout, "already finished") {
		t.Errorf("second cancel: want exit 0 and a note that the job had already finished:\n%s", r)
	}
	if r := h.run("wait", idArg(id)); r.code != 130 {
		t.Errorf("wait on a cancelled job: want exit 130:\n%s", r)
	}

	// A waiter attached before the cancel.
	marker2 := newMarker()
	id2 := h.submit("--", "sleep", marker2)
	h.waitFor("the second job's sleep", 30*time.Second, func() bool { return len(sleepers(marker2)) == 1 })
	w := h.start("wait", idArg(id2))
	time.Sleep(200 * time.Millisecond) // let it attach; the outcome is the same if it does not
	if w.exited() {
		t.Fatalf("wait returned before the job ended:\n%s", w.result(t))
	}
	h.mustRun("cancel", idArg(id2))
	if r := w.result(t); r.code != 130 || !strings.Contains(r.stdout, "cancelled") {
		t.Errorf("attached wait on a job cancelled meanwhile: want exit 130 and \"cancelled\":\n%s", r)
	}
	h.waitFor("the second job's sleep to be gone", 30*time.Second, func() bool { return len(markerPIDs(marker2)) == 0 })
}

// Ctrl-C on an attached run cancels the job and exits 130.
func TestInterruptCancelsAttachedRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marker := newMarker()
	run := h.start("run", "--", "sh", "-c", "sleep "+marker+"; echo not-reached")
	h.waitFor("the job's sleep", 30*time.Second, func() bool { return len(sleepers(marker)) == 1 })
	if err := run.p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	r := run.result(t)
	if r.code != 130 {
		t.Errorf("burst run after Ctrl-C: want exit 130:\n%s", r)
	}
	if strings.Contains(r.stdout, "not-reached") {
		t.Errorf("the job went on after Ctrl-C:\n%s", r)
	}
	id := jobIDFrom(t, r)
	h.waitFor("the job's processes to be gone", 30*time.Second, func() bool { return len(markerPIDs(marker)) == 0 })
	if j := h.show(id); j.State != "cancelled" {
		t.Errorf("state after Ctrl-C = %s, want cancelled", j.State)
	}
}

// A queued job that is cancelled never starts, even once room frees up.
func TestCancelQueuedJobNeverRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	all := strconv.Itoa(runtime.NumCPU())
	marker := newMarker()
	a := h.submit("--cpus", all, "--", "sh", "-c", `while [ ! -e release ]; do sleep 0.05; done`, marker)
	h.waitRunning(a)
	b := h.submit("--", "sh", "-c", "touch ran-b")
	if j := h.show(b); j.State != "queued" {
		t.Fatalf("job %d should wait while job %d holds all %s CPUs; it is %s", b, a, all, j.State)
	}
	if r := h.run("cancel", idArg(b)); r.code != 0 || !strings.Contains(r.stdout, "cancelled") {
		t.Fatalf("cancel of a queued job:\n%s", r)
	}
	writeFile(t, filepath.Join(h.dir, "release"), "", 0o644)
	if r := h.run("wait", idArg(a)); r.code != 0 {
		t.Errorf("wait %d:\n%s", a, r)
	}
	if r := h.run("wait", idArg(b)); r.code != 130 {
		t.Errorf("wait on the cancelled queued job: want exit 130:\n%s", r)
	}
	// Passes of the scheduler after it ended: each would (wrongly) start it.
	h.waitPasses("burst_scheduler_passes_total", 2)
	j := h.show(b)
	if j.State != "cancelled" || j.StartedAt != nil {
		t.Errorf("cancelled queued job: state %s, started_at %v; want cancelled, never started", j.State, j.StartedAt)
	}
	if len(j.TaskList) > 0 && (j.TaskList[0].State != "cancelled" || j.TaskList[0].Attempt != 0) {
		t.Errorf("its task: state %s attempt %d; want cancelled with no attempt", j.TaskList[0].State, j.TaskList[0].Attempt)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "ran-b")); err == nil {
		t.Errorf("the cancelled queued job ran")
	}
}
