package e2e

import (
	"strings"
	"testing"
)

// A task that ignores SIGTERM is killed at its time limit (after the grace
// period): exit 124, state timeout.
func TestTimeLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marker := newMarker()
	r := h.run("run", "--time", "1s", "--", "sh", "-c", `trap "" TERM; sleep `+marker)
	if r.code != 124 {
		t.Errorf("want exit 124 for a timed-out job:\n%s", r)
	}
	j := h.show(jobIDFrom(t, r))
	if j.State != "timeout" {
		t.Errorf("state = %s (reason %q), want timeout", j.State, j.Reason)
	}
	if j.TimeLimitS != 1 {
		t.Errorf("time_limit_s = %d, want 1", j.TimeLimitS)
	}
	if ps := markerPIDs(marker); len(ps) > 0 {
		t.Errorf("the timed-out job left processes behind:%s", describePIDs(ps))
	}

	// A task that obeys SIGTERM ends at once, with the same verdict.
	r = h.run("run", "--time", "1s", "--", "sleep", newMarker())
	if r.code != 124 {
		t.Errorf("want exit 124 for a timed-out job:\n%s", r)
	}
	if j := h.show(jobIDFrom(t, r)); j.State != "timeout" || !strings.Contains(j.Reason, "time limit") {
		t.Errorf("state %s reason %q, want timeout with a reason naming the time limit", j.State, j.Reason)
	}

	// A job within its limit is not affected.
	if r := h.run("run", "--time", "1m", "--", "echo", "quick"); r.code != 0 || r.stdout != "quick\n" {
		t.Errorf("a job within its time limit:\n%s", r)
	}
}

// A task over its memory limit is killed and reported as out of memory.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	prog := `
b = bytearray(400 << 20)
for i in range(0, len(b), 4096):
    b[i] = 1
print("survived")
`
	r := h.run("run", "--mem", "100M", "--", "python3", "-c", prog)
	if r.code == 0 {
		t.Errorf("a job over its memory limit must not exit 0:\n%s", r)
	}
	if strings.Contains(r.stdout, "survived") {
		t.Errorf("the job touched 400 MiB under a 100 MiB limit and went on:\n%s", r)
	}
	j := h.show(jobIDFrom(t, r))
	if j.State != "failed" || !strings.Contains(j.Reason, "out of memory") {
		t.Errorf("state %s reason %q, want failed with a reason containing \"out of memory\"", j.State, j.Reason)
	}
	if j.MemBytes != 100<<20 {
		t.Errorf("mem_bytes = %d, want %d", j.MemBytes, 100<<20)
	}
	if !strings.Contains(r.stderr, "out of memory") {
		t.Errorf("burst run should say on stderr that the job ran out of memory:\n%s", r)
	}
}
