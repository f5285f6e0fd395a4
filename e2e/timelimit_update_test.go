package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
)

// TestScontrolUpdateRunningTimeLimit: scontrol update TimeLimit= of a job
// that runs reaches the machine that runs it, as Slurm's reaches its
// slurmd: raised (the harness's user is the admin), a job that would have
// timed out at 10 s runs to its end; lowered (through the API, in seconds)
// to about what it has run, a job ends then as TIMEOUT. squeue shows the
// new limit meanwhile.
func TestScontrolUpdateRunningTimeLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	running := func(id string) {
		n, _ := strconv.ParseInt(id, 10, 64)
		h.waitFor("job "+id+" to run", 30*time.Second, func() bool { return h.show(n).State == "running" })
	}
	ended := func(id string) {
		n, _ := strconv.ParseInt(id, 10, 64)
		h.waitFor("job "+id+" to end", time.Minute, func() bool { return terminal(h.show(n).State) })
	}
	raised := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-t", "0:10", "-o", "raised.out",
		"--wrap", "sleep 14; echo done").stdout)
	running(raised)
	h.mustRun("slurm", "scontrol", "update", "JobId="+raised, "TimeLimit=2")
	if r := h.mustRun("slurm", "squeue", "-h", "-j", raised, "-o", "%l"); r.stdout != "2:00\n" {
		t.Errorf("squeue %%l after raising the limit to 2 minutes:\n%s", r)
	}
	lowered := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-t", "10", "-o", "/dev/null",
		"--wrap", "sleep 300").stdout)
	running(lowered)
	// Slurm's limits are whole minutes (scontrol rounds 0:01 up to one):
	// the API takes seconds.
	cl, err := client.New("unix://"+filepath.Join(h.home, "burst.sock"), h.serverToken())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseInt(lowered, 10, 64)
	two := int64(2)
	if err := cl.Update(context.Background(), n, client.UpdateOptions{TimeLimit: &two}); err != nil {
		t.Fatalf("lowering running job %s's limit to 2 s: %v", lowered, err)
	}
	ended(lowered)
	if r := h.mustRun("slurm", "sacct", "-n", "-X", "-P", "-o", "State", "-j", lowered); r.stdout != "TIMEOUT\n" {
		t.Errorf("sacct of the job whose limit was lowered to 2 s while it ran: want TIMEOUT:\n%s", r)
	}
	ended(raised)
	if r := h.mustRun("slurm", "sacct", "-n", "-X", "-P", "-o", "State", "-j", raised); r.stdout != "COMPLETED\n" {
		t.Errorf("sacct of the job whose limit was raised while it ran: want COMPLETED (it would have timed out at 10 s):\n%s", r)
	}
	if out, err := os.ReadFile(filepath.Join(h.dir, "raised.out")); err != nil || string(out) != "done\n" {
		t.Errorf("the raised job's output: %q, %v; want done", out, err)
	}
}
