package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFaultPilotSignalledAfterItsTask: scancel of a pilot (or the end of
// its allocation) sends SIGTERM to every process of the Slurm job at once,
// but a loaded node may let the agent hear its own a second after its
// task died of it. The agent of a Slurm job waits that long for its own
// stop before it reports the task failed, so the task is the machine's
// loss and runs again. Before, the agent waited 300 ms: the real Slurm
// pilot test (e2e TestSlurm, CancelTimeLimitAndPilotKilled) saw the task
// end failed on a loaded CI machine. Here the agent is one started by hand
// inside what it takes for a Slurm job (SLURM_JOB_ID set, as in a pilot's
// batch script), and the test signals the task, then the agent a second
// later: the order and the gap a loaded node gives.
func TestFaultPilotSignalledAfterItsTask(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("jobs") // starts the server and its agent
	first := h.handAgent("pilot-1", []string{"SLURM_JOB_ID=4242"}, "--cluster", "pilots")
	ran := filepath.Join(h.dir, "ran")
	script := fmt.Sprintf(`if [ -e %[1]s ]; then echo second; exit 0; fi; touch %[1]s; sleep 60`, shellQuote([]string{ran}))
	id := h.submit("--on", "pilots", "--", "sh", "-c", script)
	task := h.waitRunning(id).task0(t).PID
	h.checkOurs(task, "the pilot's task")
	if err := syscall.Kill(-task, syscall.SIGTERM); err != nil { // its process group: sh and its sleep
		t.Fatalf("kill -TERM -%d: %v", task, err)
	}
	h.waitFor("the task to die of its SIGTERM", 10*time.Second, func() bool { return !alive(task) })
	time.Sleep(time.Second) // the agent hears of its own stop a second later
	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	h.handAgent("pilot-2", []string{"SLURM_JOB_ID=4243"}, "--cluster", "pilots")
	row := faultRow{Fault: "a pilot's task signalled a second before its agent (scancel on a loaded node)", Tasks: 1}
	r := h.run("wait", idArg(id))
	j := h.show(id)
	if j.State != "succeeded" {
		row.FailedWrongly++
		log, _ := os.ReadFile(filepath.Join(h.root, "pilot-1.log"))
		t.Errorf("the task signalled with its pilot should run again and succeed: %+v\n%s\npilot-1's log:\n%s", j, r, log)
	}
	if out := h.mustRun("logs", idArg(id)).stdout; j.State == "succeeded" && out != "second\n" {
		t.Errorf("its second run printed %q, want second", out)
	}
	recordFault(t, row)
}
