package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The small outputs of a map's tasks are kept in pack files of their log
// directory instead of a file each (internal/agent/runner/pack.go); every
// reader still gives each task its own bytes: `burst map` in input order,
// `burst logs` (stdout, --stderr, -f), `burst results`, and the same after
// the server is killed (-9) and restarted. A task whose output is large
// keeps its own log file, beside the packed ones.
func TestMapPackedOutputReaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const n = 20
	const big = 7 // prints 70000 bytes more than the copier holds: its own file
	script := fmt.Sprintf(`echo "out $1"; echo "err $1" >&2; if [ $1 = %d ]; then head -c 70000 /dev/zero | tr '\0' y; fi`, big)
	var want, wantErr strings.Builder
	for i := range n {
		fmt.Fprintf(&want, "out %d\n", i)
		if i == big {
			want.WriteString(strings.Repeat("y", 70000))
		}
		fmt.Fprintf(&wantErr, "err %d\n", i)
	}
	r := h.mustRun(mapArgs("map", "-k", "--", "sh", "-c", script, "_", "{}", ":::", mapSeq(n))...)
	if r.stdout != want.String() {
		t.Errorf("burst map -k: stdout is not the tasks' in input order (%d bytes, want %d):\n%.400s", len(r.stdout), want.Len(), r.stdout)
	}
	if !strings.HasSuffix(r.stderr, wantErr.String()) {
		t.Errorf("burst map -k: stderr does not end with the tasks' in input order:\n%s", r.stderr)
	}
	m := regexp.MustCompile(`burst: job ([1-9][0-9]*) `).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("burst map -k named no job on stderr:\n%s", r)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)

	// The packs are there, and no log of a task that printed little.
	dir := filepath.Join(h.home, "logs", m[1], "0")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("the map's log directory: %v", err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	packs := 0
	for _, name := range names {
		switch {
		case strings.HasPrefix(name, "pack-"):
			packs++
		case name != fmt.Sprintf("%d.out", big):
			t.Errorf("%s in the map's log directory: a task that printed a line needs no file of its own (all: %v)", name, names)
		}
	}
	if packs != 2 {
		t.Errorf("%d pack files in %s, want 2 (stdout's and stderr's of the one machine): %v", packs, dir, names)
	}

	check := func(when string) {
		t.Helper()
		for i := range n {
			wantOut := fmt.Sprintf("out %d\n", i)
			if i == big {
				wantOut += strings.Repeat("y", 70000)
			}
			if got := h.mustRun("logs", idArg(id), "--task", fmt.Sprint(i)).stdout; got != wantOut {
				t.Errorf("%s: burst logs --task %d: %.100q, want %.100q", when, i, got, wantOut)
			}
			if got := h.mustRun("logs", idArg(id), "--task", fmt.Sprint(i), "--stderr").stdout; got != fmt.Sprintf("err %d\n", i) {
				t.Errorf("%s: burst logs --task %d --stderr: %q, want %q", when, i, got, fmt.Sprintf("err %d\n", i))
			}
		}
		if got := h.mustRun("results", idArg(id)).stdout; got != want.String() {
			t.Errorf("%s: burst results: %d bytes, want %d:\n%.400s", when, len(got), want.Len(), got)
		}
		for i, rec := range h.mapRecords(id) {
			wantOut := fmt.Sprintf("out %d\n", i)
			if i == big {
				wantOut += strings.Repeat("y", 70000)
			}
			if b, err := readRange(rec.StdoutPath, rec.StdoutFrom, rec.StdoutTo); err != nil || string(b) != wantOut {
				t.Errorf("%s: record %d: [%d, %d) of %s holds %.100q (%v), want %.100q", when, i, rec.StdoutFrom, rec.StdoutTo, rec.StdoutPath, b, err, wantOut)
			}
		}
	}
	check("after the map")

	// Followed while it runs: the task's output is packed when it ends,
	// and the follower finds it there.
	slow := h.mapDetached(mapArgs("--", "sh", "-c", `sleep 0.5; echo "late $1"; echo "late err $1" >&2`, "_", "{}", ":::", "a", "b")...)
	f := h.start("logs", "-f", idArg(slow), "--task", "1")
	fe := h.start("logs", "-f", idArg(slow), "--task", "0", "--stderr")
	if got := f.result(t); got.code != 0 || got.stdout != "late b\n" {
		t.Errorf("burst logs -f of a running task whose output is packed:\n%s\nwant %q", got, "late b\n")
	}
	if got := fe.result(t); got.code != 0 || got.stdout != "late err a\n" {
		t.Errorf("burst logs -f --stderr of a running task whose output is packed:\n%s\nwant %q", got, "late err a\n")
	}

	old := h.serverPID()
	h.kill9(old, "server")
	mapRestartServer(h, old)
	check("after the server was killed and restarted")
}
