package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/burst-sh/burst/internal/gnutime"
)

// figuresJSON is the part of `burst show -o json` these tests read.
type figuresJSON struct {
	State       string `json:"state"`
	MaxRSSBytes int64  `json:"max_rss_bytes"`
	TaskList    []struct {
		State       string `json:"state"`
		MaxRSSBytes int64  `json:"max_rss_bytes"`
	} `json:"task_list"`
}

func (h *harness) figures(id int64) figuresJSON {
	h.t.Helper()
	r := h.mustRun("show", "-o", "json", idArg(id))
	var f figuresJSON
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil {
		h.t.Fatalf("show -o json: %v\n%s", err, r)
	}
	if len(f.TaskList) != 1 {
		h.t.Fatalf("show -o json: want 1 task, got %d\n%s", len(f.TaskList), r)
	}
	return f
}

// gnuTimeRSS is GNU time's peak memory of argv (see package gnutime).
func gnuTimeRSS(t *testing.T, argv ...string) int64 {
	t.Helper()
	return gnutime.ForTest(t, argv...)
}

// The peak memory of a task is the task's own. The agent starts tasks with
// vfork, and exec used to hand the agent's own peak RSS (~15-20 MiB) to every
// task: `burst run -- true` showed 14-19 MiB where /usr/bin/time says 1 MiB.
func TestPeakMemoryIsTheTasks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	h.mustRun("run", "--", "true")
	f := h.figures(1)
	t.Logf("true: job %d bytes, task %d bytes", f.MaxRSSBytes, f.TaskList[0].MaxRSSBytes)
	if f.State != "succeeded" || f.MaxRSSBytes >= 8<<20 || f.TaskList[0].MaxRSSBytes >= 8<<20 {
		t.Errorf("burst run -- true: state %s, peak memory %d bytes (task: %d), want succeeded and under 8 MiB "+
			"(/usr/bin/time -v says about 1 MiB)", f.State, f.MaxRSSBytes, f.TaskList[0].MaxRSSBytes)
	}

	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("BURST_CI") != "" {
			t.Fatal("python3 is missing: .ci/run installs it; CI must not skip the large-task check")
		}
		t.Skip("SKIPPED LOUDLY: no python3 to allocate 200 MiB with")
	}
	argv := []string{py, "-c", "b = bytearray(200 << 20)"}
	want := gnuTimeRSS(t, argv...)
	h.mustRun(append([]string{"run", "--"}, argv...)...)
	f = h.figures(2)
	got := f.TaskList[0].MaxRSSBytes
	t.Logf("200 MiB: burst %d bytes, /usr/bin/time -v %d bytes", got, want)
	if d := got - want; d > want/20 || -d > want/20 || f.MaxRSSBytes != got {
		t.Errorf("python allocating 200 MiB: peak memory %d bytes (job: %d), want %d ± 5%% (/usr/bin/time -v)", got, f.MaxRSSBytes, want)
	}
}
