package e2e

import (
	"strings"
	"testing"
)

// TestJobsEmptySaysSo: `burst jobs` with nothing to list prints its header
// and says why on stderr, naming the way to a first job (or, filtered,
// that nothing matches); rows alone and json stay silent, for scripts.
func TestJobsEmptySaysSo(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	header := "ID  NAME  PROJECT  STATE  TASKS  CPUS  MEM  GPUS  SUBMITTED  DURATION  COST  EXIT\n"
	r := h.mustRun("jobs")
	if r.stdout != header || !strings.Contains(r.stderr, "no jobs yet: burst run -- echo hello runs one") {
		t.Errorf("burst jobs on a fresh home: want the header alone and a first job named on stderr:\n%s", r)
	}
	for _, args := range [][]string{{"jobs", "-q"}, {"jobs", "--no-headers"}, {"jobs", "-o", "json"}} {
		r := h.mustRun(args...)
		if strings.Contains(r.stderr, "no jobs") || strings.TrimSpace(r.stdout) != map[bool]string{true: "[]", false: ""}[args[1] == "-o"] {
			t.Errorf("%v on a fresh home: want no rows and no note:\n%s", args, r)
		}
	}
	h.mustRun("wait", idArg(h.submit("--", "true")))
	r = h.mustRun("jobs", "--state", "running")
	if r.stdout != header || !strings.Contains(r.stderr, "no jobs match --project/--state") {
		t.Errorf("burst jobs --state running with one ended job: want the header alone and a note:\n%s", r)
	}
	if r := h.mustRun("jobs"); strings.Contains(r.stderr, "no jobs") || strings.Count(r.stdout, "\n") != 2 {
		t.Errorf("burst jobs with one job: want its row and no note:\n%s", r)
	}
}
