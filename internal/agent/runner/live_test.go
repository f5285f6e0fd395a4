package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A running stage's figures are readable while it runs: CPU time from
// /proc, bytes from its descriptors' offsets. Before Progress, a running
// stage showed 0 until it exited.
func TestProgressWhileRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, []byte(strings.Repeat("x", 3000)), 0o644); err != nil {
		t.Fatal(err)
	}
	inF, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	outF, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	// It copies its input, then burns CPU in a child (a descendant's time
	// counts) until cancelled.
	s := spec(t, "sh", "-c", `head -c 2000; sh -c 'while :; do :; done'`)
	s.In, s.Out, s.IOStats = inF, outF, true
	began := time.Now()
	task, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	defer task.Wait()
	defer task.Cancel()
	deadline := time.Now().Add(20 * time.Second)
	var p Progress
	for time.Now().Before(deadline) {
		var ok bool
		if p, ok = task.Progress(); !ok {
			t.Fatalf("Progress: not running; result %+v", task.Wait())
		}
		if p.UserCPU+p.SysCPU > 0 && p.WroteBytes == 2000 && p.ReadBytes >= 2000 && p.MaxRSS > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p.UserCPU+p.SysCPU <= 0 || p.WroteBytes != 2000 || p.ReadBytes < 2000 || p.ReadBytes > 3000 || p.MaxRSS <= 0 {
		t.Fatalf("progress %+v; want CPU > 0, 2000 bytes written, 2000-3000 read, a peak RSS", p)
	}
	// One process of the tree burns CPU at a time: its CPU time so far
	// cannot exceed the wall time (a process counted twice would).
	for time.Now().Before(deadline) {
		if p, _ = task.Progress(); p.UserCPU+p.SysCPU >= 300*time.Millisecond {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if cpu, wall := p.UserCPU+p.SysCPU, time.Since(began); cpu < 300*time.Millisecond || cpu > wall+20*time.Millisecond {
		t.Errorf("CPU time %s after %s of wall time; want 300ms to the wall time", cpu, wall)
	}
	task.Cancel()
	task.Wait()
	if _, ok := task.Progress(); ok {
		t.Errorf("Progress after the task ended: still running")
	}
}

func TestStatCPU(t *testing.T) {
	t.Parallel()
	line := "4242 (a) b (c) S) R 1 4242 4242 0 -1 4194560 100 0 0 0 5 6 7 8 20 0 1 0 987654 1000000 77 18446744073709551615 0\n"
	if u, s := statCPU([]byte(line)); u != 5+7 || s != 6+8 {
		t.Errorf("statCPU: user %d, sys %d ticks; want 12, 14", u, s)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2", "1 (x) R 1 1 1 0 -1 0 0 0 0 0 x 6 7 8 20"} {
		if u, s := statCPU([]byte(bad)); u != 0 || s != 0 {
			t.Errorf("statCPU(%q) = %d, %d; want 0, 0", bad, u, s)
		}
	}
}

// StepUsage reads what an srun step's task processes and their
// descendants use: CPU time spent in a child counts, with the peak
// resident set of the largest; a pid that is gone counts nothing.
func TestStepUsage(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("sh", "-c", `sh -c 'while :; do :; done'`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its child is killed with it
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	var user, sys time.Duration
	var rss int64
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if user, sys, rss = StepUsage([]int{cmd.Process.Pid, gone.Process.Pid}); user+sys >= 100*time.Millisecond && rss > 0 {
			break
		}
	}
	if user+sys < 100*time.Millisecond || rss <= 0 {
		t.Errorf("user %s, sys %s, peak %d bytes; want the child's CPU time (100ms and more) and a peak", user, sys, rss)
	}
}
