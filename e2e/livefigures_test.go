package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// liveStage is what the test reads of a stage in `burst show -o json`.
type liveStage struct {
	Index       int     `json:"index"`
	State       string  `json:"state"`
	UserSeconds float64 `json:"user_seconds"`
	SysSeconds  float64 `json:"sys_seconds"`
	MaxRSSBytes int64   `json:"max_rss_bytes"`
	ReadBytes   int64   `json:"read_bytes"`
	WroteBytes  int64   `json:"wrote_bytes"`
}

type liveJob struct {
	State      string      `json:"state"`
	Reason     string      `json:"reason"`
	CPUSeconds float64     `json:"cpu_seconds"`
	TaskList   []liveStage `json:"task_list"`
}

// TestPipeLiveFigures: a running pipe's stages show what they used so far
// (CPU time, peak RSS, bytes through their `<` input and `>` output files),
// not 0 until they end. The first stage copies 5000 bytes of its input file
// and then burns CPU until the test creates a marker file, which it does
// only once the figures were seen: the check cannot race the pipe's end.
func TestPipeLiveFigures(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "in.txt"), strings.Repeat("0123456789", 1000), 0o644) // 10,000 bytes
	marker := filepath.Join(dir, "go-on")
	p := `--name burn sh -c 'head -c 5000; until [ -e ` + marker + ` ]; do :; done' < in.txt | --name keep cat > out.txt`
	id := jobIDFromStdout(t, h.runIn(dir, "pipe", "-d", "--", p))
	defer os.WriteFile(marker, nil, 0o644) // a failed check leaves no stage burning

	show := func() liveJob {
		t.Helper()
		r := h.mustRun("show", "-o", "json", idArg(id))
		var j liveJob
		if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
			t.Fatalf("show -o json: %v\n%s", err, r)
		}
		if terminal(j.State) {
			t.Fatalf("the pipe ended (%s: %s) before the marker was created", j.State, j.Reason)
		}
		return j
	}
	h.waitFor("both stages to run", 60*time.Second, func() bool {
		j := show()
		return len(j.TaskList) == 2 && j.TaskList[0].State == "running" && j.TaskList[1].State == "running"
	})
	// Its agent sends a running stage's figures about once a second.
	var j liveJob
	h.waitFor("the running stages' live figures", 60*time.Second, func() bool {
		j = show()
		burn, keep := j.TaskList[0], j.TaskList[1]
		return burn.State == "running" && keep.State == "running" &&
			burn.UserSeconds+burn.SysSeconds > 0 && burn.ReadBytes >= 5000 && burn.MaxRSSBytes > 0 &&
			keep.WroteBytes == 5000 && j.CPUSeconds > 0
	})
	burn, keep := j.TaskList[0], j.TaskList[1]
	if burn.ReadBytes > 10000 || burn.WroteBytes != 0 || keep.ReadBytes != 0 {
		t.Errorf("burn read %d (5000 to 10000: its input file), wrote %d (an OS pipe: uncounted); keep read %d (uncounted)",
			burn.ReadBytes, burn.WroteBytes, keep.ReadBytes)
	}
	// burst show prints them: the running stage's WRITTEN and CPU time.
	out := h.mustRun("show", idArg(id)).stdout
	var keepLine, burnLine string
	for _, l := range strings.Split(out, "\n") {
		switch f := strings.Fields(l); {
		case len(f) > 2 && f[0] == "keep":
			keepLine = l
		case len(f) > 2 && f[0] == "burn":
			burnLine = l
		}
	}
	if !strings.Contains(keepLine, "running") || !strings.Contains(keepLine, "4.9 KiB") {
		t.Errorf("burst show should print the running keep stage's 5000 bytes written (4.9 KiB):\n%s", out)
	}
	if !strings.Contains(burnLine, "running") || strings.Contains(burnLine, " 0.00s") {
		t.Errorf("burst show should print the running burn stage's CPU time:\n%s", out)
	}

	writeFile(t, marker, "", 0o644)
	h.waitFor("the pipe to end", 60*time.Second, func() bool {
		r := h.mustRun("show", "-o", "json", idArg(id))
		var end liveJob
		if err := json.Unmarshal([]byte(r.stdout), &end); err != nil {
			t.Fatalf("show -o json: %v\n%s", err, r)
		}
		if !terminal(end.State) {
			return false
		}
		if end.State != "succeeded" {
			t.Fatalf("the pipe ended %s: %s", end.State, end.Reason)
		}
		j = end
		return true
	})
	// The exit's figures replace the live ones, no smaller.
	if b := j.TaskList[0]; b.UserSeconds+b.SysSeconds < burn.UserSeconds+burn.SysSeconds || j.TaskList[1].WroteBytes != 5000 {
		t.Errorf("final figures %+v; want at least the live ones %+v, %+v", j.TaskList, burn, keep)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "out.txt")); len(got) != 5000 {
		t.Errorf("out.txt has %d bytes, want 5000", len(got))
	}
}
