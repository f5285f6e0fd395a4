package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// GNU parallel's -j procfile: the file's content is -j's value, read at
// the start and again as tasks end (parallel(1): "If procfile is changed
// when a job completes, procfile is read again and the new number of jobs
// is computed"). Each task marks itself running and waits for its release,
// so that how many run at once is seen, never guessed from timing.
func TestMapJobsProcfile(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	pf := filepath.Join(dir, "procs")
	running, release := filepath.Join(dir, "running"), filepath.Join(dir, "release")
	for _, d := range []string{running, release} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(pf, "1\n")
	names := func() []string {
		es, _ := os.ReadDir(running)
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}
	script := `touch "$1/running/$2"; while [ ! -e "$1/release/$2" ]; do sleep 0.02; done; rm "$1/running/$2"`
	inputs := []string{"a", "b", "c", "d", "e", "f", "g"}
	b := h.start(append([]string{"map", "-j", pf, "--", "sh", "-c", script, "sh", dir, "{}", ":::"}, inputs...)...)
	h.waitFor("one task running (-j's file says 1)", time.Minute, func() bool { return len(names()) == 1 })
	first := names()[0]

	// Raised to 3: read again once a task ends.
	write(pf, "3\n")
	write(filepath.Join(release, first), "")
	h.waitFor("three tasks running once -j's file says 3 and a task ended", time.Minute, func() bool { return len(names()) == 3 })

	// Lowered to 1: the map's throttle follows once a task ends; the
	// running ones end as they will.
	write(pf, "1\n")
	now := names()
	write(filepath.Join(release, now[0]), "")
	js := h.jobsJSON() // the harness's own home: the map is its one job
	if len(js) != 1 {
		t.Fatalf("%d jobs listed; want the map alone", len(js))
	}
	var id int64
	if err := json.Unmarshal(js[0]["id"], &id); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the map's throttle 1 once -j's file says 1 and a task ended", time.Minute, func() bool {
		var j struct {
			Spec struct {
				MaxRunning int `json:"max_running"`
			} `json:"spec"`
		}
		r := h.mustRun("show", "-o", "json", idArg(id))
		return json.Unmarshal([]byte(r.stdout), &j) == nil && j.Spec.MaxRunning == 1
	})
	for _, in := range inputs {
		if !slices.Contains(now[:1], in) {
			write(filepath.Join(release, in), "")
		}
	}
	if r := b.result(t); r.code != 0 {
		t.Fatalf("map -j FILE:\n%s", r)
	}

	// A file whose content is no count is refused at the start, naming it,
	// with parallel's status for it (255: "Parsing of --jobs/-j/--max-procs/-P
	// failed", parallel 20221122).
	write(pf, "lots\n")
	r := h.run("map", "-j", pf, "--", "true", ":::", "1")
	if r.code != 255 || !strings.Contains(r.stderr, "-j "+pf+": its content is no count") {
		t.Fatalf("map -j FILE holding 'lots': want exit 255 naming the file\n%s", r)
	}
}
