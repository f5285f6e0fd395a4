package slurm

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A missing command names its fix; one that does not answer in time says
// so, instead of a bare "signal: killed".
func TestClientErrors(t *testing.T) {
	_, err := Client{}.Run(context.Background(), "no-such-slurm-command")
	if err == nil || !strings.Contains(err.Error(), "install Slurm's client commands") {
		t.Errorf("a missing command: %v", err)
	}
	_, err = Client{Timeout: 50 * time.Millisecond}.Run(context.Background(), "sleep", "5")
	if err == nil || err.Error() != "sleep: no answer within 50ms: is slurmctld up?" {
		t.Errorf("a command that hangs: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err = (Client{}).Run(ctx, "sleep", "5"); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("a cancelled context: %v", err)
	}
}

// The client against a real Slurm: what Batch asks for is what slurmctld
// records, Queue lists the job with its comment and, while it waits, why;
// Cancel ends it.
func TestRealClient(t *testing.T) {
	needSlurm(t)
	ctx := context.Background()
	c := Client{}
	dir := filepath.Join(t.TempDir(), "100%")
	os.MkdirAll(dir, 0o755)
	tag := tagFor("test-client", "", dir)
	t.Cleanup(func() { cancelTagged(tag) })

	// One that runs: its output goes to the path as burst wrote it ('%'
	// is no Slurm pattern there), appended to what was there.
	log := dir + "/o-%j.log"
	os.WriteFile(log, []byte("before\n"), 0o644)
	ran, err := c.Submit(ctx, Batch{Name: "burst-client-0", Comment: tag, Output: log, Append: true, Dir: dir,
		CPUsPerTask: 1, Wrap: []string{"sh", "-c", "echo \"it's $0\"", "here"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to end", 60*time.Second, func() bool {
		j, err := c.Show(ctx, ran)
		return err == nil && j != nil && Terminal(j.State)
	})
	if j, _ := c.Show(ctx, ran); j.State != "COMPLETED" || !j.Ran() || j.Start.IsZero() || j.End.IsZero() {
		t.Errorf("a job that ran: %+v", j)
	}
	if b, err := os.ReadFile(log); string(b) != "before\nit's here\n" {
		t.Errorf("output %q %v", b, err)
	}

	// One that asks for more CPUs than a node has: it waits, and says why.
	id, err := c.Submit(ctx, Batch{Name: "burst-client-1", Comment: tag, Output: log, Append: true, Dir: dir,
		NTasks: 1, CPUsPerTask: 64, MemBytes: 100 << 20, Time: 90 * time.Second, Wrap: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Run(ctx, "scontrol", "show", "job", "-o", strconv.FormatInt(id, 10))
	if err != nil {
		t.Fatal(err)
	}
	kv := scontrolFields(out)
	want := map[string]string{"JobName": "burst-client-1", "TimeLimit": "00:02:00", "CPUs/Task": "64", "NumTasks": "1",
		"WorkDir": dir, "MinMemoryNode": "100M"}
	for k, v := range want {
		if kv[k] != v {
			t.Errorf("scontrol %s=%q, want %q (line: %s)", k, kv[k], v, out)
		}
	}
	var q Job
	waitFor(t, "squeue to say why the job waits", 30*time.Second, func() bool {
		jobs, err := c.Queue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(jobs, func(j Job) bool { return j.ID == id })
		if i >= 0 {
			q = jobs[i]
		}
		return q.Reason != "" && q.Reason != "None"
	})
	if q.Name != "burst-client-1" || q.Comment != tag || q.State != "PENDING" || !Live(q.State) {
		t.Errorf("squeue: %+v", q)
	}
	t.Logf("squeue says the job waits for %q", q.Reason)
	if err := c.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cancel", 30*time.Second, func() bool {
		j, err := c.Show(ctx, id)
		return err == nil && j != nil && Terminal(j.State)
	})
	if j, _ := c.Show(ctx, id); j.State != "CANCELLED" || j.Ran() {
		t.Errorf("a job cancelled while pending: %+v", j)
	}
	if err := c.Cancel(ctx, id); err != nil {
		t.Errorf("cancelling an ended job again: %v", err)
	}
	if _, err := c.Submit(ctx, Batch{Partition: "no-such-partition", Wrap: []string{"true"}}); err == nil ||
		!strings.HasPrefix(err.Error(), "sbatch: error: ") {
		t.Errorf("sbatch's refusal should be its own message: %v", err)
	}
}

// slurmctld runs ResumeProgram and SuspendProgram (burst slurm resume and
// suspend) with no PATH: the client still finds scontrol.
func TestRealHostnamesWithoutPATH(t *testing.T) {
	needSlurm(t)
	t.Setenv("PATH", "")
	got, err := Client{}.Hostnames(context.Background(), "cl[1-3],gpu1")
	if want := []string{"cl1", "cl2", "cl3", "gpu1"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Hostnames = %q %v, want %q", got, err, want)
	}
}

// Accounting reads a finished job from slurmdbd with sacct -P: its exit
// status (which sacct --json misreports in 22.05) and its node. Skips when
// the cluster keeps no accounting (scripts/slurm-dev.sh runs none).
func TestRealAccounting(t *testing.T) {
	needSlurm(t)
	ctx := context.Background()
	c := Client{}
	if out, err := c.Run(ctx, "sacct", "-n", "-X", "-j", "1"); err != nil {
		t.Skipf("no accounting database on this cluster (%v; %s)", err, strings.TrimSpace(out))
	}
	dir := t.TempDir()
	id, err := c.Submit(ctx, Batch{Name: "burst-acct-1", Output: dir + "/o", Wrap: []string{"sh", "-c", "exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	var j *Job
	// slurmdbd's first record of a job can name it "allocation"; the
	// real name follows.
	waitFor(t, "sacct to know the job's end", 60*time.Second, func() bool {
		j, err = c.Accounting(ctx, id)
		return err == nil && j != nil && Terminal(j.State) && j.Name == "burst-acct-1"
	})
	if j.State != "FAILED" || j.ExitStatus != 3 || j.Signal != 0 || !j.Ran() || j.Start.IsZero() || j.End.IsZero() {
		t.Errorf("sacct's record of a job that exited 3: %+v", j)
	}
	if j, err := c.Accounting(ctx, 999999999); j != nil || err != nil {
		t.Errorf("a job sacct does not know: %+v %v", j, err)
	}
}
