package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The inputs of unfinished maps, which the server holds in memory, are
// bounded (BURST_INPUTS_MEMORY): a map that would take them past the limit
// is refused, exit 1, naming the sizes and the ways out, and nothing of it
// is recorded; the maps held still count after a restart (they are loaded
// again whatever the limit); once a held map ends its inputs are let go and
// the same map is taken. Before, each map's inputs stayed in the server's
// memory until it ended with no bound (three 60 MB maps: 131 → 472 MB).
func TestMapInputsMemoryBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.setEnv("BURST_INPUTS_MEMORY", "2M")
	line := strings.Repeat("x", 60<<10) + "\n"
	inputs := func(name string, n int) string {
		p := filepath.Join(h.dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat(line, n)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	held := inputs("held.txt", 20)     // 1.2 MB: taken
	second := inputs("second.txt", 20) // 1.2 MB more: past 2 MB
	marker := newMarker()
	r := h.mustRun("map", "-d", "-j", "1", "-a", held, "--", "sh", "-c", "exec sleep "+marker, "sh", "{}")
	first := strings.TrimSpace(r.stdout)
	h.waitFor("the held map's first task", 60*time.Second, func() bool { return len(sleepers(marker)) == 1 })

	refused := func(when string) {
		t.Helper()
		r := h.run("map", "-d", "-a", second, "--", "true")
		if r.code == 0 {
			t.Fatalf("%s: a map taking the held inputs past BURST_INPUTS_MEMORY=2M was taken:\n%s", when, r)
		}
		for _, want := range []string{"1.2 MiB", "already take 1.2 MiB of the 2 MiB", "burst jobs", ":::: paths.txt", "--inputs-memory"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: the refusal does not say %q:\n%s", when, want, r)
			}
		}
		if n := len(h.jobsJSON()); n != 1 {
			t.Errorf("%s: %d jobs listed after the refusal, want the held map alone", when, n)
		}
	}
	refused("with the map held")
	h.mustRun("server", "stop")
	refused("after a restart") // its inputs loaded again: they still count
	h.mustRun("cancel", first)
	id, _ := strconv.ParseInt(first, 10, 64)
	h.waitFor("the held map to end", 60*time.Second, func() bool { return terminal(h.show(id).State) })
	// Its inputs are let go once its end is committed, which the listing
	// may show a moment before: the map is taken from then on.
	h.waitFor("the map to be taken once the held one ended", 30*time.Second, func() bool {
		r = h.run("map", "-a", second, "--", "sh", "-c", `echo ${#1}`, "sh", "{}")
		return r.code == 0
	})
	if got := strings.Count(r.stdout, "61440\n"); got != 20 {
		t.Errorf("the map taken once the held one ended printed %d of its 20 lines:\n%s", got, r)
	}
}
