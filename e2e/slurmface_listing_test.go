package e2e

import (
	"bufio"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// slurmFaceListings runs squeue's and sinfo's listing options that users
// type from habit (squeue -s, --start, -S, -w, -l; sinfo -s, -l, -N -l,
// -t) against the suite's real Slurm (22.05) and burst's personality, for
// a running job and one waiting for it, and compares what they print:
// the same headers, columns and orders, the values that can agree, and
// the same refusals. burst's node is a machine sinfo -N lists.
func slurmFaceListings(t *testing.T) {
	h, dir, links := slurmBeside(t)
	real, face := besideRunners(t, h, dir, links)
	type side struct {
		name     string
		run      func(...string) (string, int)
		run1, wt string // the running job and the one waiting for it
	}
	sides := []*side{{name: "slurm", run: real}, {name: "burst", run: face}}
	for _, s := range sides {
		sb := func(args ...string) string {
			out, code := s.run(append([]string{"sbatch", "--parsable", "--mem=64M", "-o", "/dev/null"}, args...)...)
			if code != 0 {
				t.Fatalf("%s: sbatch %v: exit %d: %s", s.name, args, code, out)
			}
			return strings.TrimSpace(out)
		}
		s.run1 = sb("-J", "lrun", "--wrap", "sleep 300")
		s.wt = sb("-J", "lwait", "-d", "afterok:"+s.run1, "--wrap", "true")
		t.Cleanup(func() { s.run("scancel", s.run1, s.wt) })
	}
	lines := func(out string) []string { return strings.Split(strings.TrimRight(out, "\n"), "\n") }
	for _, s := range sides {
		h.waitFor(s.name+"'s job running", 90*time.Second, func() bool {
			out, _ := s.run("squeue", "-h", "-j", s.run1, "-o", "%t")
			return strings.TrimSpace(out) == "R"
		})
	}
	date := regexp.MustCompile(`^\w{3} \w{3} \d\d \d\d:\d\d:\d\d \d{4}$`)
	// same compares the first line (headers) of each side's answer and the
	// number of fields of the line that starts with a job's id.
	header := map[string][2]string{}
	for i, s := range sides {
		mine := func(args ...string) string {
			out, code := s.run(args...)
			if code != 0 {
				t.Errorf("%s: %v: exit %d: %s", s.name, args, code, out)
			}
			return out
		}
		// squeue -s: the running job's batch step, ID.batch, named batch.
		out := mine("squeue", "-s")
		ls := lines(out)
		h0 := header["squeue -s"]
		h0[i] = ls[0]
		header["squeue -s"] = h0
		var step []string
		for _, l := range ls[1:] {
			if f := strings.Fields(l); len(f) > 0 && f[0] == s.run1+".batch" {
				step = f
			}
		}
		if len(step) != 6 || step[1] != "batch" {
			t.Errorf("%s: squeue -s: no step %s.batch of 6 columns named batch in\n%s", s.name, s.run1, out)
		}
		if ls := lines(mine("squeue", "-s", "-l")); len(ls) < 2 || !date.MatchString(ls[0]) {
			t.Errorf("%s: squeue -s -l: %q (want the date first)", s.name, ls)
		}
		// --start: pending jobs only, squeue's --start columns.
		out = mine("squeue", "--start", "-j", s.run1+","+s.wt)
		ls = lines(out)
		h0 = header["squeue --start"]
		h0[i] = ls[0]
		header["squeue --start"] = h0
		if len(ls) != 2 || len(strings.Fields(ls[1])) != 9 || strings.Fields(ls[1])[0] != s.wt ||
			strings.Fields(ls[1])[4] != "PD" || !strings.HasSuffix(ls[1], "(Dependency)") {
			t.Errorf("%s: squeue --start: want the waiting job %s alone, PD (Dependency), 9 columns:\n%s", s.name, s.wt, out)
		}
		// -S: ids descending and ascending, whatever their states.
		for spec, want := range map[string][]string{"-i": {s.wt, s.run1}, "i": {s.run1, s.wt}, "-t": {s.run1, s.wt}} {
			if got := strings.Fields(mine("squeue", "-h", "-S", spec, "-o", "%i", "-j", s.run1+","+s.wt)); !slices.Equal(got, want) {
				t.Errorf("%s: squeue -S %s: %v, want %v", s.name, spec, got, want)
			}
		}
		if out, code := s.run("squeue", "-S", "x"); code != 1 || !strings.Contains(out, "Invalid sort specification: x") {
			t.Errorf("%s: squeue -S x: exit %d, %q (want 1 and squeue's words)", s.name, code, out)
		}
		// -w: the running job's node selects it; a node that is no
		// machine selects nothing (Slurm refuses it).
		node := strings.TrimSpace(mine("squeue", "-h", "-o", "%N", "-j", s.run1))
		if got := strings.Fields(mine("squeue", "-h", "-o", "%i", "-w", node)); !slices.Contains(got, s.run1) {
			t.Errorf("%s: squeue -w %s: %v, want %s among them", s.name, node, got, s.run1)
		}
		if nodes := strings.Fields(mine("sinfo", "-h", "-N", "-o", "%N")); !slices.Contains(nodes, node) {
			t.Errorf("%s: squeue's node %q is not one sinfo -N lists: %v", s.name, node, nodes)
		}
		// sinfo's summaries and long forms.
		for _, args := range [][]string{{"sinfo", "-s"}, {"sinfo", "-N"}, {"sinfo", "-l"}, {"sinfo", "-N", "-l"}} {
			key := strings.Join(args, " ")
			ls := lines(mine(args...))
			if slices.Contains(args, "-l") {
				if !date.MatchString(ls[0]) {
					t.Errorf("%s: %s: first line %q, want the date", s.name, key, ls[0])
				}
				ls = ls[1:]
			}
			h0 := header[key]
			h0[i] = ls[0]
			header[key] = h0
			want := map[string]int{"sinfo -s": 5, "sinfo -N": 4, "sinfo -l": 10, "sinfo -N -l": 11}[key]
			for _, l := range ls[1:] {
				if n := len(strings.Fields(l)); n != want {
					t.Errorf("%s: %s: row %q has %d columns, want %d", s.name, key, l, n, want)
				}
			}
			if key == "sinfo -s" && !regexp.MustCompile(` \d+/\d+/0/\d+ `).MatchString(ls[1]) {
				t.Errorf("%s: sinfo -s: %q has no A/I/O/T counts", s.name, ls[1])
			}
		}
		out, code := s.run("sinfo", "-t", "sleepy")
		if code != 1 || !strings.HasPrefix(out, `sinfo: error: Bad state string: "sleepy"`) {
			t.Errorf("%s: sinfo -t sleepy: exit %d, %q", s.name, code, out)
		}
	}
	for key, hs := range header {
		if hs[0] != hs[1] {
			t.Errorf("%s header:\nslurm %q\nburst %q", key, hs[0], hs[1])
		}
	}

	// squeue -i lists again every N seconds, the date before each listing,
	// until interrupted (burst alone: Slurm's squeue holds its output in a
	// pipe's buffer until it exits).
	c := h.command("-i", "1", "-o", "%i", "-j", sides[1].run1)
	c.Path, c.Args = filepath.Join(links, "squeue"), append([]string{"squeue"}, c.Args[1:]...)
	pr, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Wait()
	defer c.Process.Kill()
	sc := bufio.NewScanner(pr)
	dates, ids := 0, 0
	for dates < 3 && sc.Scan() {
		switch l := sc.Text(); {
		case date.MatchString(l):
			dates++
		case l == sides[1].run1:
			ids++
		}
	}
	if dates < 3 || ids < 2 {
		t.Errorf("squeue -i 1: %d dates and %d listings of the job before it stopped (%v)", dates, ids, sc.Err())
	}
}
