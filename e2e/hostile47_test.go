package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A log cut short after its task ended (truncated, or replaced by a
// shorter file) is reported as cut, naming the file and how much of the
// task's output it still holds, by logs, logs -f and results alike: before,
// they printed what was left and exited 0, as if it were the whole output
// (a removed log was already reported as gone). A map's small outputs kept
// in a pack file are told the same.
func TestLogsOfACutFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "sh", "-c", "echo hello; echo oops >&2")
	var rs []struct {
		Stdout string `json:"stdout_path"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("results", "1", "-o", "json").stdout), &rs); err != nil || len(rs) != 1 {
		t.Fatalf("results -o json: %v %v", err, rs)
	}
	for _, size := range []int64{2, 0} {
		if err := os.Truncate(rs[0].Stdout, size); err != nil {
			t.Fatal(err)
		}
		cut := rs[0].Stdout + " holds " + string(rune('0'+size)) + " of the 6 bytes the task wrote there"
		for _, args := range [][]string{{"logs", "1"}, {"logs", "1", "-f"}, {"results", "1"}} {
			r := h.run(args...)
			if r.code == 0 || !strings.Contains(r.stderr, cut) {
				t.Errorf("burst %s of a log cut to %d bytes: want a failure saying %q:\n%s", strings.Join(args, " "), size, cut, r)
			}
		}
	}
	if r := h.mustRun("logs", "1", "--stderr"); r.stdout != "oops\n" {
		t.Errorf("logs --stderr beside a cut stdout: %s", r)
	}

	h.mustRun("map", "-k", "--", "echo", "{}", ":::", "a", "b", "c")
	packs, _ := filepath.Glob(filepath.Join(h.home, "logs", "2", "*", "pack-*"))
	if r := h.mustRun("results", "2"); r.stdout != "a\nb\nc\n" || len(packs) == 0 {
		t.Fatalf("results of the map: %s; packs %v", r, packs)
	}
	for _, p := range packs {
		if err := os.Truncate(p, 3); err != nil {
			t.Fatal(err)
		}
	}
	if r := h.run("results", "2"); r.code == 0 || !strings.Contains(r.stderr, "of the 2 bytes the task wrote there: cut") {
		t.Errorf("results of a map whose pack was cut: %s", r)
	}
}
