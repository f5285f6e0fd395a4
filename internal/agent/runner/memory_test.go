package runner

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// These tests are not parallel: they switch ForceRSSWatch, which Start reads.

// modes lists the enforcement modes this machine offers.
func modes(t *testing.T) []string {
	m := []string{EnforceRSSWatch}
	if auto := MemoryEnforcement(); auto != EnforceRSSWatch {
		m = append([]string{auto}, m...)
	}
	t.Logf("memory enforcement here: %s", MemoryEnforcement())
	return m
}

func withMode(t *testing.T, mode string, f func(t *testing.T)) {
	t.Run(mode, func(t *testing.T) {
		ForceRSSWatch = mode == EnforceRSSWatch
		defer func() { ForceRSSWatch = false }()
		f(t)
	})
}

func python(t *testing.T) string {
	p, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("BURST_CI") != "" {
			t.Fatal("python3 is missing: .ci/run installs it; CI must not skip the memory-limit tests")
		}
		t.Skip("SKIPPED LOUDLY: no python3 on PATH, so the memory-limit tests cannot allocate memory; install python3")
	}
	return p
}

func TestMemoryLimit(t *testing.T) {
	py := python(t)
	for _, mode := range modes(t) {
		withMode(t, mode, func(t *testing.T) {
			// Pages are touched (b'x' * n), so the RSS really grows.
			s := spec(t, py, "-c", "import time\nb = b'x' * (500 << 20)\ntime.sleep(30)")
			s.MemBytes = 100 << 20
			s.TimeLimit = 20 * time.Second // a safety net only
			// A batch job's stderr (Direct) is told, as slurmstepd tells it.
			s.Direct, s.Notice = true, func(n Notice, _ time.Time) string { return map[Notice]string{NoticeOOM: "oom notice"}[n] }
			task := start(t, s)
			if got := task.Enforcement(); got != mode {
				t.Fatalf("Enforcement() = %q, want %q", got, mode)
			}
			r := task.Wait()
			if r.State != burst.Failed || r.Reason != "out of memory (limit 100 MiB)" {
				t.Errorf("got %+v, exit %s; stderr %q", r, code(r), readFile(t, s.Stderr))
			}
			if e := readFile(t, s.Stderr); !strings.HasSuffix(e, "oom notice\n") {
				t.Errorf("stderr does not end with the notice: %q", e)
			}
			assertGroupGone(t, task.PID())
			if task.cg != nil {
				if _, err := os.Stat(task.cg.dir); !os.IsNotExist(err) {
					t.Errorf("cgroup %s not removed: %v", task.cg.dir, err)
				}
			}

			// Within the limit: fine.
			s = spec(t, py, "-c", "b = b'x' * (10 << 20)")
			s.MemBytes = 100 << 20
			if r := run(t, s); r.State != burst.Succeeded {
				t.Errorf("within limit: %+v; stderr %q", r, readFile(t, s.Stderr))
			}
		})
	}
}

// A child of the task, not the task itself, going over the limit; the
// task then exits 1, or goes on and exits 0 (cmd || true): either way it
// failed, out of memory, as Slurm's cgroup plugin marks it OUT_OF_MEMORY
// (exit 0 was recorded as success, the child's work lost).
func TestMemoryLimitChild(t *testing.T) {
	py := python(t)
	for _, mode := range modes(t) {
		withMode(t, mode, func(t *testing.T) {
			for _, exit := range []int{1, 0} {
				s := spec(t, "sh", "-c", py+` -c "import time; b = b'x' * (500 << 20); time.sleep(30)"; echo "child status $?"; exit `+strconv.Itoa(exit))
				s.MemBytes = 100 << 20
				s.TimeLimit = 20 * time.Second
				r := run(t, s)
				// The rss watcher kills the whole group; a cgroup OOM kills
				// the child and the shell reports it.
				if r.State != burst.Failed || !strings.HasPrefix(r.Reason, "out of memory (limit 100 MiB)") {
					t.Errorf("exit %d: got %+v, exit %s; stdout %q", exit, r, code(r), readFile(t, s.Stdout))
				}
				if exit == 0 && mode != EnforceRSSWatch && (r.ExitCode == nil || *r.ExitCode != 0 || !strings.Contains(r.Reason, "exited 0")) {
					t.Errorf("the shell went on and exited 0: want that kept and said: %+v, exit %s", r, code(r))
				}
			}
		})
	}
}

func TestRSSWatcherStops(t *testing.T) {
	ForceRSSWatch = true
	defer func() { ForceRSSWatch = false }()
	s := spec(t, "true")
	s.MemBytes = 100 << 20
	if r := run(t, s); r.State != burst.Succeeded {
		t.Fatalf("got %+v", r)
	}
	deadline := time.Now().Add(5 * rssInterval)
	for {
		watcher.Lock()
		running := watcher.running
		watcher.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("RSS watcher still running with no task:\n%s", buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{"17.0.1": "17.0.1", "a/b": "a_b", "..": "task..", "": "task"} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
	if strings.Contains(safeName("x/../y"), "/") {
		t.Error("slash kept")
	}
}
