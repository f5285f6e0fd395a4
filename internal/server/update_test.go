package server

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

func strp(s string) *string { return &s }

// scontrol update: a job's dependencies are replaced (it waits for the new
// ones, none lets it go), its name changes, its time limit while none of
// its tasks has started (raised by admins only), an array's throttle; a
// started job's dependencies, and an ended job, are refused.
func TestUpdateJob(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	a := h.submit(1, asRun)
	b := h.submit(1, asRun, after(burst.AfterOK, a), func(s *burst.JobSpec) { s.Resources.TimeLimit = 600 })
	refs, jobs := h.runOnce("m")
	if len(jobs) != 1 || jobs[0] != a {
		t.Fatalf("started %v, want job %d alone", jobs, a)
	}
	update := func(id int64, o client.UpdateOptions, admin bool) error {
		var err error
		h.do(func(bt *batch) { err = h.c.updateJob(id, o, admin, nil, "ann", h.now, bt) })
		return err
	}
	lim := func(s int64) *int64 { return &s }
	// b waits for a: it is renamed, its limit lowered; raising it is an admin's.
	if err := update(b, client.UpdateOptions{Name: strp("renamed"), TimeLimit: lim(300)}, false); err != nil {
		t.Fatal(err)
	}
	if j := h.c.jobs[b]; j.row.Name != "renamed" || j.row.Spec.Name != "renamed" || j.row.Spec.Resources.TimeLimit != 300 || j.row.TimeLimitS != 300 {
		t.Fatalf("name %q (spec %q), limit %d (row %d); want renamed, 300", j.row.Name, j.row.Spec.Name, j.row.Spec.Resources.TimeLimit, j.row.TimeLimitS)
	}
	h.wantHeld(b, "waiting for job 1 to succeed")
	var denied *auth.Denied
	if err := update(b, client.UpdateOptions{TimeLimit: lim(900)}, false); !errors.As(err, &denied) || !strings.Contains(err.Error(), "only an admin") {
		t.Fatalf("a user raising the limit: %v", err)
	}
	if err := update(b, client.UpdateOptions{TimeLimit: lim(900)}, true); err != nil || h.c.jobs[b].row.Spec.Resources.TimeLimit != 900 {
		t.Fatalf("an admin raising the limit: %v", err)
	}
	// a runs: its dependencies stay (its limit may change: limit_test.go);
	// it is no array.
	if err := update(a, client.UpdateOptions{After: strp("afterok:2")}, true); err == nil || !strings.Contains(err.Error(), "has started") {
		t.Fatalf("updating running job %d's dependencies: %v", a, err)
	}
	if err := update(a, client.UpdateOptions{MaxRunning: new(int)}, true); err == nil || !strings.Contains(err.Error(), "not an array") {
		t.Fatalf("a throttle for a run: %v", err)
	}
	// A job that waits for b cannot be made b's dependency: neither would
	// ever start.
	w := h.submit(1, asRun, after(burst.AfterOK, b))
	if err := update(b, client.UpdateOptions{After: strp(fmt.Sprintf("afterok:%d", w))}, true); err == nil || !strings.Contains(err.Error(), "would wait for itself") {
		t.Fatalf("b made to wait for %d, which waits for it: %v", w, err)
	}
	// A user may give a job with no limit none (nothing is raised).
	if err := update(w, client.UpdateOptions{TimeLimit: lim(0)}, false); err != nil {
		t.Fatalf("no limit for a job with none: %v", err)
	}
	// b's dependency is dropped: it runs now, while a still runs.
	if err := update(b, client.UpdateOptions{After: strp("")}, false); err != nil {
		t.Fatal(err)
	}
	if len(h.c.jobs[b].row.Spec.After) != 0 || h.c.deps.held[b] != nil {
		t.Fatalf("job %d still waits: %v", b, h.c.jobs[b].row.Spec.After)
	}
	_, jobs = h.runOnce("m")
	if len(jobs) != 1 || jobs[0] != b {
		t.Fatalf("started %v, want job %d", jobs, b)
	}
	h.finish("m", refs, exitOf(nil))
	if err := update(a, client.UpdateOptions{Name: strp("late")}, true); err == nil || !strings.Contains(err.Error(), "already finished") {
		t.Fatalf("updating an ended job: %v", err)
	}
	// A held job is given a dependency: it waits for it, named as sbatch
	// names it; an array's throttle changes.
	c := h.submit(3, maxRunning(1), held())
	if err := update(c, client.UpdateOptions{After: strp("afterany:2"), MaxRunning: new(int)}, false); err != nil {
		t.Fatal(err)
	}
	h.place()
	h.wantHeld(c, "then waiting for job 2 to end")
	if j := h.c.jobs[c]; j.row.Spec.MaxRunning != 0 || !j.row.Spec.KeepUnsatisfiable || burst.FormatDependencies(j.row.Spec.After, false) != "afterany:2" {
		t.Fatalf("spec after the update: %+v", j.row.Spec)
	}
}
