package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCacheRerunMap reruns a staged map with --cache: unchanged, it
// computes nothing; with one input changed, exactly that task. What ran is
// counted outside burst: each run of the command appends its input's name
// to a file of this host.
func TestCacheRerunMap(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const n = 20
	var files []string
	for i := range n {
		f := fmt.Sprintf("in/%02d.txt", i)
		stageFile(t, h.dir, f, []byte(fmt.Sprintf("input %d\n", i)), 0o644)
		files = append(files, f)
	}
	starts := filepath.Join(h.root, "starts.log")
	script := `set -e; echo "$1" >> "$2"; tr a-z A-Z < "$1" > r.out`
	mapArgs := append([]string{"map", "-q", "--cache", "--out", "r.out", "--", "sh", "-c", script, "_", "{}", starts, ":::"}, files...)
	ran := func() []string {
		b, _ := os.ReadFile(starts)
		return strings.Fields(string(b))
	}

	first := jobIDFrom(t, h.mustRun(mapArgs...))
	if got := ran(); len(got) != n {
		t.Fatalf("the first run computed %d tasks, want %d", len(got), n)
	}
	if s := h.mustRun("show", idArg(first)).stdout; !strings.Contains(s, "0 hits, 20 misses") || !strings.Contains(s, "no earlier run of this command") {
		t.Fatalf("burst show of the first run should say 20 misses, none run before:\n%s", s)
	}

	again := jobIDFrom(t, h.mustRun(mapArgs...))
	if got := ran(); len(got) != n {
		t.Fatalf("an unchanged rerun computed %d tasks, want 0", len(got)-n)
	}
	s := h.mustRun("show", idArg(again)).stdout
	if !strings.Contains(s, "20 hits, 0 misses") || !strings.Contains(s, "succeeded") {
		t.Fatalf("burst show of the rerun should say 20 hits:\n%s", s)
	}
	out := filepath.Join(h.root, "out")
	h.mustRun("results", idArg(again), "--fetch", out)
	if b, err := os.ReadFile(filepath.Join(out, "7", "r.out")); err != nil || string(b) != "INPUT 7\n" {
		t.Fatalf("a hit's output: %q, %v; want the first run's", b, err)
	}

	stageFile(t, h.dir, files[7], []byte("changed\n"), 0o644)
	third := jobIDFrom(t, h.mustRun(mapArgs...))
	got := ran()
	if len(got) != n+1 || got[n] != files[7] {
		t.Fatalf("a rerun with in/07.txt changed computed %v, want exactly in/07.txt", got[n:])
	}
	s = h.mustRun("show", idArg(third)).stdout
	if !strings.Contains(s, "19 hits, 1 miss") || !strings.Contains(s, "input in/07.txt changed (sha256:") {
		t.Fatalf("burst show should say 19 hits and why task 7 missed:\n%s", s)
	}
	st := h.mustRun("cache", "stats").stdout
	if !strings.Contains(st, "default") || !strings.Contains(st, "21") {
		t.Fatalf("burst cache stats should count 21 entries:\n%s", st)
	}
}
