package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// `burst cancel` of a map whose tasks reserve no CPU (-j 0) starts few of
// them once it has returned. The server hands such tasks to the agent a
// thousand at once, to start at once; the agent started them one fork at
// a time while reading no lease, and every task's end went through the
// whole queue again, all fighting for one lock: the cancel reached the
// queue seconds late, and hundreds of tasks started after `burst cancel`
// had said the job was cancelled. Those not yet started now wait in the
// agent's queue, where the cancel drops them.
func TestCancelStopsTasksHandedAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	log := filepath.Join(h.dir, "started")
	started := func() int {
		b, _ := os.ReadFile(log)
		return bytes.Count(b, []byte("\n"))
	}
	var inputs strings.Builder
	for i := 1; i <= 5000; i++ {
		inputs.WriteString(strconv.Itoa(i) + "\n")
	}
	in := filepath.Join(h.dir, "inputs")
	writeFile(t, in, inputs.String(), 0o644)
	id := detachedID(t, h.mustRun("map", "-d", "-j", "0", "--cpus", "0", "-a", in, "--", "sh", "-c", "echo {} >> "+log))
	h.waitFor("the map's first tasks to run", 60*time.Second, func() bool { return started() >= 20 })
	h.mustRun("cancel", idArg(id))
	at := started()
	h.waitFor("the cancelled map to end", 60*time.Second, func() bool { return terminal(h.show(id).State) })
	// Those that had started by the cancel and had not yet written, and
	// the few an agent starts before the cancel reaches it: a few dozen
	// at most where hundreds started.
	if after := started() - at; after > 100 {
		t.Errorf("%d tasks started after `burst cancel %d` returned (%d before), want a few at most", after, id, at)
	}
	if st := h.show(id).State; st != "cancelled" {
		t.Errorf("job %d ended %s, want cancelled", id, st)
	}
}

// A map whose inputs would fill the filesystem of BURST_HOME is refused
// before they are written, naming the room they need; the server goes on
// taking work. A map of 3 million inputs (12 MB in the store, written
// twice) was taken onto a home of 16 MB and filled it with burst's own
// store: no file a user could remove gave the room back, and the map could
// not even be cancelled.
func TestFaultDiskMapInputsTooLargeForHome(t *testing.T) {
	t.Parallel()
	h := diskHarness(t, "16m")
	in := filepath.Join(h.dir, "inputs")
	writeFile(t, in, strings.Repeat("x\n", 3_000_000), 0o644)
	r := h.run("map", "-d", "--", "true", "::::", in)
	if r.code == 0 || !strings.Contains(r.stderr, "the map's inputs take") || !strings.Contains(r.stderr, "split the inputs") {
		t.Errorf("a map whose inputs do not fit in BURST_HOME: want a refusal naming their size and the fix, got %s", r)
	}
	// An sbatch array is such a map, its indices its inputs: refused in
	// sbatch's words, naming --array.
	script := filepath.Join(h.dir, "array.sh")
	writeFile(t, script, "#!/bin/sh\n#SBATCH --array=0-4000000\n#SBATCH -o /dev/null\ntrue\n", 0o755)
	r = h.run("sbatch", script)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "sbatch: error: Batch job submission failed: the array's 4000001 tasks take") || !strings.Contains(r.stderr, "(--array)") {
		t.Errorf("sbatch of an array whose tasks do not fit in BURST_HOME: want sbatch's refusal naming --array, got %s", r)
	}
	if r := h.run("run", "--", "echo", "taken"); r.code != 0 || r.stdout != "taken\n" {
		t.Errorf("a small job after the refusals: %s", r)
	}
}
