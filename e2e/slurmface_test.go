package e2e

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// slurmFaceShapes runs the same Slurm commands against the suite's
// real Slurm (22.05) and against burst's personality, for a job that
// completes, one that exits 3, one cancelled while it runs and one that
// reaches its time limit, and compares what they print: the same state
// codes and names, the same squeue header and columns, the same
// `scontrol show job` keys in the same order on the same lines, the same
// ExitCode. The suite's Slurm has no accounting database (sacct answers
// "Slurm accounting storage is disabled"), so burst's sacct is checked
// against sacct's documented -P shape instead.
func slurmFaceShapes(t *testing.T) {
	h, dir, links := slurmBeside(t)
	real, face := besideRunners(t, h, dir, links)
	type side struct {
		name string
		run  func(...string) (string, int)
		ids  map[string]string // kind → job id
	}
	sides := []*side{{name: "slurm", run: real}, {name: "burst", run: face}}
	jobs := map[string][]string{
		"done":    {"--wrap", "true"},
		"exit3":   {"--wrap", "exit 3"},
		"cancel":  {"--wrap", "sleep 300"},
		"timeout": {"-t", "1", "--wrap", "sleep 300"},
		// Tasks over two nodes: Slurm runs srun's two there; burst runs
		// both on its one machine, each with its rank.
		"nodes2": {"-N", "2", "--ntasks-per-node=1", "--wrap", `srun sh -c 'echo rank $SLURM_PROCID of $SLURM_NTASKS'`},
	}
	for _, s := range sides {
		s.ids = map[string]string{}
		for kind, args := range jobs {
			out, code := s.run(append([]string{"sbatch", "--parsable", "--mem=256M", "-J", kind, "-o", s.name + "-%x.out"}, args...)...)
			if code != 0 || !regexp.MustCompile(`^\d+\n$`).MatchString(out) {
				t.Fatalf("%s: sbatch --parsable %v: exit %d: %q", s.name, args, code, out)
			}
			s.ids[kind] = strings.TrimSpace(out)
		}
		out, _ := s.run("sbatch", "--wrap", "true")
		if !regexp.MustCompile(`^Submitted batch job \d+\n$`).MatchString(out) {
			t.Errorf("%s: sbatch without --parsable: %q", s.name, out)
		}
	}
	states := func(s *side) map[string]string {
		out, code := s.run("squeue", "--noheader", "-o", "%i %t", "-t", "all", "-u", "root")
		if code != 0 {
			t.Fatalf("%s: squeue: exit %d: %s", s.name, code, out)
		}
		byID := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(l); len(f) == 2 {
				byID[f[0]] = f[1]
			} else if l != "" {
				t.Fatalf("%s: squeue -o '%%i %%t' line %q is not two fields", s.name, l)
			}
		}
		got := map[string]string{}
		for kind, id := range s.ids {
			got[kind] = byID[id]
		}
		return got
	}
	// Cancel each "cancel" job once it runs, then wait for every job to end.
	for _, s := range sides {
		h.waitFor(s.name+"'s cancel job running", 60*time.Second, func() bool { return states(s)["cancel"] == "R" })
		if out, code := s.run("scancel", s.ids["cancel"]); code != 0 || out != "" {
			t.Errorf("%s: scancel: exit %d, %q (want 0 and no output)", s.name, code, out)
		}
	}
	final := map[string]map[string]string{}
	for _, s := range sides {
		h.waitFor(s.name+"'s jobs to end", 3*time.Minute, func() bool {
			st := states(s)
			for _, v := range st {
				if v == "PD" || v == "R" || v == "CG" || v == "" {
					return false
				}
			}
			final[s.name] = st
			return true
		})
	}
	want := map[string]string{"done": "CD", "exit3": "F", "cancel": "CA", "timeout": "TO"}
	for kind, code := range want {
		for _, s := range sides {
			if final[s.name][kind] != code {
				t.Errorf("%s: %s job: squeue %%t %q, want %q", s.name, kind, final[s.name][kind], code)
			}
		}
	}

	// What slurmstepd writes into the output file of a job it stops: the
	// same line, its job id, node and time aside (and the suite's
	// slurmstepd, one of several slurmd on a host, names its node:
	// "slurmstepd-c2:").
	stepd := regexp.MustCompile(`^slurmstepd(-\w+)?: error: \*\*\* JOB \d+ ON \S+ CANCELLED AT \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`)
	for _, kind := range []string{"cancel", "timeout"} {
		var got [2]string
		for i, s := range sides {
			b, err := os.ReadFile(filepath.Join(dir, s.name+"-"+kind+".out"))
			if err != nil {
				t.Errorf("%s: %v", s.name, err)
			}
			got[i] = stepd.ReplaceAllString(string(b), "slurmstepd: error: *** JOB ID ON NODE CANCELLED AT TIME")
			// bash's "Terminated" (its sleep killed by the SIGTERM before
			// bash itself) is a race between the two, on either side: seen
			// from the real Slurm in one CI run of four.
			got[i] = strings.ReplaceAll(got[i], "\nTerminated\n", "\n")
		}
		if got[0] != got[1] || !strings.Contains(got[1], "CANCELLED AT TIME") {
			t.Errorf("%s job's output file:\nslurm: %q\nburst: %q", kind, got[0], got[1])
		}
	}

	// The two-node job's srun: the same ranks, in any order.
	var ranks [2]string
	for i, s := range sides {
		b, err := os.ReadFile(filepath.Join(dir, s.name+"-nodes2.out"))
		if err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		slices.Sort(lines)
		ranks[i] = strings.Join(lines, "\n")
	}
	if ranks[0] != ranks[1] || ranks[0] != "rank 0 of 2\nrank 1 of 2" {
		t.Errorf("-N 2 --ntasks-per-node=1 with srun:\nslurm: %q\nburst: %q", ranks[0], ranks[1])
	}

	// %R and %r of the ended jobs: squeue's manual has the reason in
	// parentheses for failed and timed-out jobs, the nodes for the others.
	for kind := range want {
		var vals [2]string
		for i, s := range sides {
			out, _ := s.run("squeue", "-h", "-t", "all", "-j", s.ids[kind], "-o", "%R|%r")
			vals[i] = strings.TrimSpace(out)
		}
		slurmR, slurmr, _ := strings.Cut(vals[0], "|")
		burstR, burstr, _ := strings.Cut(vals[1], "|")
		if strings.HasPrefix(slurmR, "(") && slurmR != burstR || !strings.HasPrefix(slurmR, "(") && (strings.HasPrefix(burstR, "(") || burstR == "") {
			t.Errorf("%s job: squeue %%R: slurm %q, burst %q (the same reason, or a node for both)", kind, slurmR, burstR)
		}
		if slurmr != burstr {
			t.Errorf("%s job: squeue %%r: slurm %q, burst %q", kind, slurmr, burstr)
		}
	}

	// squeue's default columns and a -j for an ended job (not listed
	// without -t, as 22.05 does).
	for _, s := range sides {
		out, _ := s.run("squeue", "-t", "all")
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if lines[0] != "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)" {
			t.Errorf("%s: squeue header %q", s.name, lines[0])
		}
		mine := map[string]bool{}
		for _, id := range s.ids {
			mine[id] = true
		}
		for _, l := range lines[1:] {
			// Only this test's jobs: the suite's Slurm also lists other
			// tests' (a pilot cancelled before it ran has no node, and
			// so one column less).
			if f := strings.Fields(l); len(f) == 0 || !mine[f[0]] {
				continue
			}
			if n := len(strings.Fields(l)); n != 8 {
				t.Errorf("%s: squeue row %q has %d columns, want 8", s.name, l, n)
			}
		}
		if out, code := s.run("squeue", "-j", s.ids["done"]); code != 0 || strings.Count(out, "\n") != 1 {
			t.Errorf("%s: squeue -j of an ended job: exit %d, %q (want the header alone)", s.name, code, out)
		}
	}

	// scontrol show job: the same keys, in the same order, on the same
	// lines; the same state, reason and exit code.
	for kind := range want {
		var shapes [2][][]string
		var vals [2]map[string]string
		for i, s := range sides {
			out, code := s.run("scontrol", "show", "job", s.ids[kind])
			if code != 0 {
				t.Fatalf("%s: scontrol show job: exit %d: %s", s.name, code, out)
			}
			shapes[i], vals[i] = scontrolShape(out)
		}
		if a, b := flat(shapes[0]), flat(shapes[1]); a != b {
			t.Errorf("%s job: scontrol show job keys differ:\nslurm: %s\nburst: %s", kind, a, b)
		}
		for _, k := range []string{"JobState", "Reason", "ExitCode", "JobName", "NumCPUs", "MinMemoryNode", "TimeLimit"} {
			if k == "ExitCode" && (kind == "cancel" || kind == "timeout") {
				// How a job stopped by a signal ended depends on who got it
				// first: the job's shell killed by SIGTERM (0:15), or by
				// SIGKILL once it outlived KillWait on a loaded machine
				// (0:9), or the shell exiting 143 after its child died of
				// SIGTERM (143:0, as Slurm 22.05 reports it then). burst
				// says the signal; both are N:S with one of those.
				ended := regexp.MustCompile(`^(0:(9|15)|1(37|43):0)$`)
				if !ended.MatchString(vals[0][k]) || !regexp.MustCompile(`^0:(9|15)$`).MatchString(vals[1][k]) {
					t.Errorf("%s job: scontrol ExitCode: slurm %q, burst %q; want 0:15, 0:9 or 143:0 (slurm) and 0:15 or 0:9 (burst)", kind, vals[0][k], vals[1][k])
				}
				continue
			}
			if vals[0][k] != vals[1][k] {
				t.Errorf("%s job: scontrol %s: slurm %q, burst %q", kind, k, vals[0][k], vals[1][k])
			}
		}
		one, _ := sides[1].run("scontrol", "-o", "show", "job", sides[1].ids[kind])
		if strings.Count(one, "\n") != 1 || !strings.HasPrefix(one, "JobId="+sides[1].ids[kind]+" ") {
			t.Errorf("burst: scontrol -o: %q", one)
		}
	}

	// sacct: no accounting here; burst's against sacct's -P -n shape and
	// the values Slurm 22.05 with slurmdbd gives (a cancelled or timed-out
	// job's own line reads 0:0, its batch step's 0:15).
	if out, _ := real("sacct", "-X", "-P", "-n", "--format=JobIdRaw,State,ExitCode", "-j", sides[0].ids["done"]); !strings.Contains(out, "accounting storage is disabled") {
		t.Logf("the suite's Slurm has accounting after all: %q", out)
	}
	wantAcct := map[string]string{"done": "COMPLETED|0:0", "exit3": "FAILED|3:0", "cancel": "CANCELLED by 0|0:0", "timeout": "TIMEOUT|0:0"}
	for kind, w := range wantAcct {
		id := sides[1].ids[kind]
		out, code := face("sacct", "-X", "-P", "-n", "--format=JobIdRaw,State,ExitCode", "-j", id)
		if code != 0 || out != id+"|"+w+"\n" {
			t.Errorf("burst: sacct of the %s job: exit %d, %q, want %q", kind, code, out, id+"|"+w+"\n")
		}
	}
	// Bad input: one line naming the fix, exit 1 as Slurm's commands exit.
	out, code := face("sbatch", "--dependency=soon:1", "--wrap", "true")
	if code != 1 || !strings.Contains(out, "is not a kind") || strings.Count(out, "\n") != 1 {
		t.Errorf("sbatch --dependency: exit %d, %q", code, out)
	}
	// A specification that is no field: named on stderr, printed as
	// written, the listing kept, exit 0, as Slurm 22.05's squeue does.
	out, code = face("squeue", "-h", "-t", "all", "-o", "%i|%-5j|x")
	if code != 0 || !strings.Contains(out, "squeue: error: Invalid job format specification: -\n") || !strings.Contains(out, "|%-5j|x\n") {
		t.Errorf("squeue -o '%%i|%%-5j|x': exit %d, %q", code, out)
	}
}

// slurmBeside readies a test that runs the same commands against the
// suite's real Slurm and burst's personality: a harness, a directory to run
// them in, and links (sbatch, squeue, ... -> burst) in links.
func slurmBeside(t *testing.T) (h *harness, dir, links string) {
	h = newHarness(t)
	needSlurm(t, h)
	dir = t.TempDir()
	links = filepath.Join(dir, "bin")
	h.mustRun("slurm", "link", links)
	h.mustRun("jobs") // the local server starts now, not in a command compared below
	return h, dir, links
}

// besideRunners run a Slurm command line in dir, with its output (stdout
// and stderr together) and exit status: real runs Slurm's own command,
// face the same through burst's links (argv[0] dispatch).
func besideRunners(t *testing.T, h *harness, dir, links string) (real, face func(...string) (string, int)) {
	real = func(args ...string) (string, int) {
		c := exec.Command(args[0], args[1:]...)
		c.Dir = dir
		return combined(t, c)
	}
	face = func(args ...string) (string, int) {
		c := h.command(args[1:]...)
		c.Path = filepath.Join(links, args[0])
		c.Args = args
		c.Dir = dir
		r := h.exec(c)
		return r.stdout + r.stderr, r.code
	}
	return real, face
}

// scontrolShape reads `scontrol show job`: its lines' keys, and every
// key's value.
func scontrolShape(out string) ([][]string, map[string]string) {
	var shape [][]string
	vals := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		var keys []string
		for _, f := range strings.Fields(l) {
			k, v, _ := strings.Cut(f, "=")
			keys = append(keys, k)
			vals[k] = v
		}
		if len(keys) > 0 {
			shape = append(shape, keys)
		}
	}
	return shape, vals
}

func flat(shape [][]string) string {
	var lines []string
	for _, l := range shape {
		lines = append(lines, strings.Join(l, " "))
	}
	return strings.Join(lines, " / ")
}

// slurmFaceDependencies runs the same dependency and array commands
// against the suite's real Slurm and burst's personality and compares what
// they print, job ids replaced by names: squeue's %r and %E for a job that
// waits for another (Dependency, afterok:A(unfulfilled)) and once that one
// failed (DependencyNeverSatisfied, afterok:A(failed): Slurm's default
// keeps it pending), scontrol's Reason and Dependency, and a throttled job
// array's lines with and without -r.
func slurmFaceDependencies(t *testing.T) {
	h, dir, links := slurmBeside(t)
	run := func(burst bool, args ...string) string {
		c := exec.Command(args[0], args[1:]...)
		if burst {
			c = h.command(args[1:]...)
			c.Path, c.Args = filepath.Join(links, args[0]), args
		}
		c.Dir = dir
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("burst %v: %v %v: %s", burst, args, err, out)
		}
		return string(out)
	}
	type side struct {
		burst bool
		ids   map[string]string
	}
	sides := []*side{{burst: false}, {burst: true}}
	for _, s := range sides {
		sb := func(args ...string) string {
			return strings.TrimSpace(run(s.burst, append([]string{"sbatch", "--parsable", "--mem=64M"}, args...)...))
		}
		s.ids = map[string]string{}
		s.ids["A"] = sb("--wrap", "sleep 4; exit 1")
		s.ids["B"] = sb("-d", "afterok:"+s.ids["A"], "--wrap", "true")
		s.ids["K"] = sb("-d", "afterok:"+s.ids["A"], "--kill-on-invalid-dep=yes", "--wrap", "true")
		s.ids["ARR"] = sb("--array=0-3%1", "--wrap", "sleep 20")
	}
	// named replaces a side's job ids by their names.
	named := func(s *side, out string) string {
		names := map[string]string{}
		for k, id := range s.ids {
			names[id] = k
		}
		// Ids begin a field (or follow "afterok:"), unlike an array's indices.
		return strings.TrimSpace(regexp.MustCompile(`(^|[\s:=])\d+`).ReplaceAllStringFunc(out, func(n string) string {
			i := strings.IndexAny(n, "0123456789")
			return n[:i] + cmp.Or(names[n[i:]], n[i:])
		}))
	}
	squeue := func(s *side, args ...string) string {
		return named(s, run(s.burst, append([]string{"squeue", "-h"}, args...)...))
	}
	for _, want := range []string{"B|PD|Dependency|afterok:A(unfulfilled)", "B|PD|DependencyNeverSatisfied|afterok:A(failed)"} {
		for _, s := range sides {
			var got string
			h.waitFor(fmt.Sprintf("burst %v: %q", s.burst, want), 90*time.Second, func() bool {
				got = squeue(s, "-t", "all", "-o", "%i|%t|%r|%E", "-j", s.ids["B"])
				return got == want
			})
		}
	}
	// --kill-on-invalid-dep=yes: cancelled once its dependency failed.
	var killed [2]string
	for i, s := range sides {
		h.waitFor(fmt.Sprintf("burst %v: the job killed for its dependency", s.burst), 90*time.Second, func() bool {
			killed[i] = squeue(s, "-t", "all", "-o", "%i|%t|%r|%E", "-j", s.ids["K"])
			return strings.HasPrefix(killed[i], "K|CA|")
		})
	}
	if killed[0] != killed[1] {
		t.Errorf("squeue of a job killed for its dependency:\nslurm: %q\nburst: %q", killed[0], killed[1])
	}
	var show [2]map[string]string
	for i, s := range sides {
		_, show[i] = scontrolShape(named(s, run(s.burst, "scontrol", "show", "job", s.ids["B"])))
	}
	for _, k := range []string{"JobState", "Reason", "Dependency"} {
		if show[0][k] != show[1][k] {
			t.Errorf("scontrol show job of a never satisfied job: %s: slurm %q, burst %q", k, show[0][k], show[1][k])
		}
	}
	// The array: its running task, and its pending ones on one line.
	var lines [2]string
	for i, s := range sides {
		for end := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			// "K" before %K: an index is not taken for a job id by
			// named (both sides may number jobs from 1).
			lines[i] = squeue(s, "-o", "%i %t K%K %F", "-j", s.ids["ARR"])
			if strings.Contains(lines[i], "ARR_0 R") {
				break
			}
			if time.Now().After(end) {
				all := run(s.burst, "squeue", "-t", "all", "-o", "%i %t %r %K %A")
				c := exec.Command("scontrol", "show", "job", s.ids["ARR"])
				sc, _ := c.CombinedOutput()
				t.Fatalf("burst %v: the array's first task does not run: squeue -j says %q; every job:\n%s\nscontrol show job %s:\n%s",
					s.burst, lines[i], all, s.ids["ARR"], sc)
			}
		}
	}
	if lines[0] != lines[1] || !strings.HasPrefix(lines[1], "ARR_[1-3%1] PD ") || !strings.HasSuffix(lines[1], "\nARR_0 R K0 ARR") {
		t.Errorf("squeue of a throttled array:\nslurm: %q\nburst: %q", lines[0], lines[1])
	}
	// %A: a running task's own id; the pending tasks' line, the array's.
	for _, s := range sides {
		a := strings.Fields(squeue(s, "-o", "%A", "-j", s.ids["ARR"]))
		if len(a) != 2 || a[0] != "ARR" || a[1] == "ARR" && !s.burst {
			t.Errorf("burst %v: squeue %%A of the array: %q", s.burst, a)
		}
	}
	var each [2]string
	for i, s := range sides {
		each[i] = squeue(s, "-r", "-o", "%i %t K%K", "-j", s.ids["ARR"])
	}
	if each[0] != each[1] || strings.Count(each[1], "\n") != 3 {
		t.Errorf("squeue -r of a throttled array:\nslurm: %q\nburst: %q", each[0], each[1])
	}
	// squeue -j ARR_2: that pending task, on a line of its own.
	var one [2]string
	for i, s := range sides {
		one[i] = squeue(s, "-o", "%i %t %r", "-j", s.ids["ARR"]+"_2")
	}
	if one[0] != one[1] || one[1] != "ARR_2 PD JobArrayTaskLimit" {
		t.Errorf("squeue -j of a throttled array's pending task:\nslurm: %q\nburst: %q", one[0], one[1])
	}
	// scontrol show job of the array: a record for its running task and
	// one for its pending ones, each headed by the array's keys.
	var heads [2][]string
	for i, s := range sides {
		for _, rec := range strings.Split(run(s.burst, "scontrol", "show", "job", s.ids["ARR"]), "\n\n") {
			if f := strings.Fields(rec); len(f) > 0 {
				var keys []string
				for _, kv := range f[:min(len(f), 5)] {
					k, _, _ := strings.Cut(kv, "=")
					keys = append(keys, k)
				}
				heads[i] = append(heads[i], strings.Join(keys, " "))
			}
		}
		slices.Sort(heads[i])
	}
	if !slices.Equal(heads[0], heads[1]) || len(heads[1]) != 2 {
		t.Errorf("scontrol show job of an array, records' first keys:\nslurm: %q\nburst: %q", heads[0], heads[1])
	}
	// The pending tasks' record names them with the throttle, as 22.05 does.
	for _, s := range sides {
		if out := run(s.burst, "scontrol", "-o", "show", "job", s.ids["ARR"]); !strings.Contains(out, " ArrayTaskId=1-3%1 ArrayTaskThrottle=1 ") {
			t.Errorf("burst %v: scontrol show job of a throttled array: no ArrayTaskId=1-3%%1 in\n%s", s.burst, out)
		}
	}
	for _, s := range sides {
		run(s.burst, "scancel", s.ids["B"], s.ids["ARR"])
	}
}

// slurmFaceScancelEnded runs scancel against the suite's real Slurm
// and burst's personality for a job that has ended and for an id neither
// knows, with and without -Q (scancel(1): "Do not report an error if the
// specified job is already completed"), and compares what they print and
// their exit statuses: Slurm 22.05 says nothing and exits 0 for both
// (an ended or unknown job is no error when the signal is SIGKILL), -v
// names the id as sent and then the error; with -b or -s (KILL too) such
// an id is an error, exit 1.
func slurmFaceScancelEnded(t *testing.T) {
	h, dir, links := slurmBeside(t)
	run := func(burst bool, args ...string) (string, int) {
		var c *exec.Cmd
		if burst {
			c = h.command(args[1:]...)
			c.Path = filepath.Join(links, args[0])
			c.Args = args
		} else {
			c = exec.Command(args[0], args[1:]...)
		}
		c.Dir = dir
		return combined(t, c)
	}
	got := map[bool][]string{}
	for _, side := range []bool{false, true} {
		out, code := run(side, "sbatch", "--parsable", "--mem=64M", "--wrap", "true")
		id := strings.TrimSpace(out)
		if code != 0 || id == "" {
			t.Fatalf("burst=%v: sbatch: exit %d: %q", side, code, out)
		}
		h.waitFor("the job to complete", 2*time.Minute, func() bool {
			st, _ := run(side, "squeue", "-h", "-t", "all", "-j", id, "-o", "%t")
			return strings.TrimSpace(st) == "CD"
		})
		for _, args := range [][]string{{id}, {"-Q", id}, {"99999998"}, {"-Q", "99999998"},
			{"-v", "99999998"}, {"-v", "-f", "99999998"}, {"-b", id}, {"-b", "99999998"}, {"-Q", "-b", "99999998"},
			{"-s", "USR1", id}, {"-s", "KILL", "99999998"}} {
			out, code := run(side, append([]string{"scancel"}, args...)...)
			ids := regexp.MustCompile(`\b` + id + `\b`) // each side's own job id, not the exit status
			line := fmt.Sprintf("scancel %s: exit %d: %s", ids.ReplaceAllString(strings.Join(args, " "), "ID"), code, ids.ReplaceAllString(out, "ID"))
			got[side] = append(got[side], line)
		}
	}
	for i := range got[false] {
		if got[false][i] != got[true][i] {
			t.Errorf("slurm: %q\nburst: %q", got[false][i], got[true][i])
		}
	}
}

// TestSlurmFaceSacctWindow checks sacct's documented DEFAULT TIME WINDOW
// on burst's personality: without -j or -s, the jobs since midnight; with
// -s alone, only those in that state now (none of the ended ones, as with
// Slurm, until -S and -E say when); -S and -E in sacct's formats; a start
// after the end refused; -j with more than 16 ids.
func TestSlurmFaceSacctWindow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// A job that ended before midnight is not in a listing made after it
	// (the documented window): a run that straddles midnight is made again,
	// once, with a job of the new day.
	var earlier []string
	for try := 0; ; try++ {
		day := time.Now().Format(time.DateOnly)
		id, errs := sacctWindowChecks(t, h, earlier)
		earlier = append(earlier, id)
		if try == 0 && time.Now().Format(time.DateOnly) != day && len(errs) > 0 {
			t.Logf("midnight passed during the checks (%d failed): once more", len(errs))
			continue
		}
		for _, e := range errs {
			t.Error(e)
		}
		break
	}
	if r := h.run("slurm", "sacct", "-S", "now+1hours"); r.code != 1 || !strings.Contains(r.stderr, "give a start before the end") {
		t.Errorf("sacct -S in the future: %s", r)
	}
	if r := h.run("slurm", "sacct", "-S", "yesterday"); r.code != 1 || !strings.Contains(r.stderr, "is not a time sacct reads") {
		t.Errorf("sacct -S yesterday: %s", r)
	}
}

// sacctWindowChecks submits a job, waits for it, and lists it with sacct's
// window options: its id, and what differs from Slurm's documented answers
// (the lines of the jobs of earlier tries left out).
func sacctWindowChecks(t *testing.T, h *harness, earlier []string) (string, []string) {
	r := h.mustRun("slurm", "sbatch", "--parsable", "--wrap", "true")
	id := strings.TrimSpace(r.stdout)
	h.mustRun("wait", id)
	sacct := func(args ...string) string {
		t.Helper()
		r := h.run(append([]string{"slurm", "sacct", "-n", "-X", "-P", "-o", "JobIDRaw,State"}, args...)...)
		if r.code != 0 {
			t.Fatalf("sacct %v: %s", args, r)
		}
		var out strings.Builder
		for _, l := range strings.SplitAfter(r.stdout, "\n") {
			if jid, _, _ := strings.Cut(l, "|"); !slices.Contains(earlier, jid) {
				out.WriteString(l)
			}
		}
		return out.String()
	}
	done := id + "|COMPLETED\n"
	var errs []string
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, done},
		{[]string{"-s", "CD"}, ""},
		// "--endtime defaults to --starttime" with -s: the window is
		// that moment alone
		{[]string{"-s", "CD", "-S", "midnight"}, ""},
		{[]string{"-s", "CD", "-S", "midnight", "-E", "now"}, done},
		{[]string{"-s", "CD", "-S", "now-1days", "-E", "now"}, done},
		{[]string{"-S", "now-3days", "-E", "now-2days"}, ""},
		{[]string{"-E", "now-1days", "-S", "2000-01-01"}, ""},
		{[]string{"-j", id}, done},
		{[]string{"-j", id, "-s", "R"}, ""},
		{[]string{"-j", "1001,1002,1003,1004,1005,1006,1007,1008,1009,1010,1011,1012,1013,1014,1015,1016,1017," + id}, done},
	} {
		if got := sacct(tc.args...); got != tc.want {
			errs = append(errs, fmt.Sprintf("sacct %v: %q, want %q", tc.args, got, tc.want))
		}
	}
	return id, errs
}

// TestSlurmFaceScancelEndedVerbose checks burst's scancel alone on a job
// that has ended and on an id no job has, each as Slurm 22.05's scancel
// answered them on the suite's real Slurm: a plain cancel prints nothing
// and exits 0, and with -v names each id as it sends it ("Terminating job
// N") and then the error line (scancel reports ESLURM_ALREADY_DONE and
// ESLURM_INVALID_JOB_ID of a cancel only when verbose), still exit 0. A
// signal (-s, KILL too) or -b takes the other path: such an id is "Invalid
// job id specified", exit 1, said unless -Q; -v names only the jobs it
// reached ("Signal 10 to job N", "Terminating batch job N").
func TestSlurmFaceScancelEndedVerbose(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "--wrap", "true").stdout)
	h.mustRun("wait", id)
	invalid := func(id string) string {
		return "scancel: error: Kill job error on job id " + id + ": Invalid job id specified\n"
	}
	for _, c := range []struct {
		args []string
		code int
		want string // stderr
	}{
		{[]string{id}, 0, ""},
		{[]string{"99999998"}, 0, ""},
		{[]string{"-v", id}, 0, "scancel: Terminating job " + id + "\nscancel: error: Kill job error on job id " + id + ": Job/step already completing or completed\n"},
		{[]string{"-v", "99999998"}, 0, "scancel: Terminating job 99999998\n" + invalid("99999998")},
		{[]string{"-v", "-f", "99999998"}, 0, "scancel: Terminating full job 99999998\n" + invalid("99999998")},
		{[]string{"-v", "-Q", id}, 0, ""},
		{[]string{"-b", id}, 1, invalid(id)},
		{[]string{"-v", "-b", "99999998"}, 1, invalid("99999998")},
		{[]string{"-s", "USR1", id}, 1, invalid(id)},
		{[]string{"-s", "KILL", "99999998"}, 1, invalid("99999998")},
		{[]string{"-Q", "-b", "99999998"}, 1, ""},
	} {
		r := h.run(append([]string{"slurm", "scancel"}, c.args...)...)
		if r.code != c.code || r.stdout != "" || r.stderr != c.want {
			t.Errorf("scancel %v: want exit %d, no stdout, stderr %q:\n%s", c.args, c.code, c.want, r)
		}
	}
	// A running job: -v names what each sends to it.
	run := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-o", "/dev/null", "--wrap", "trap '' USR1; sleep 300").stdout)
	h.waitFor("the job to run", 30*time.Second, func() bool {
		return strings.TrimSpace(h.mustRun("slurm", "squeue", "-h", "-j", run, "-o", "%t").stdout) == "R"
	})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-v", "-s", "USR1", "-b", run}, "scancel: Signal 10 to batch job " + run + "\n"},
		{[]string{"-v", "-b", run}, "scancel: Terminating batch job " + run + "\n"},
	} {
		if r := h.run(append([]string{"slurm", "scancel"}, c.args...)...); r.code != 0 || r.stderr != c.want {
			t.Errorf("scancel %v: want exit 0, stderr %q:\n%s", c.args, c.want, r)
		}
	}
}

// combined runs c and returns its stdout and stderr as they came,
// interleaved, and its exit status; a command that cannot start fails t.
func combined(t *testing.T, c *exec.Cmd) (string, int) {
	t.Helper()
	out, err := c.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", c.Args, err)
	}
	return string(out), code
}

// TestSlurmFacePartitionOfEndedJob: sacct's Partition is the cluster a
// job ran on after it ended too, with the default format (which reads no
// job's spec), as sacct shows the partition of every job it lists.
func TestSlurmFacePartitionOfEndedJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--max", "1", "--idle-stop", "1m")
	onWork := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-p", "work", "--wrap", "true").stdout)
	onLocal := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "--wrap", "true").stdout)
	h.mustRun("wait", onWork, onLocal)
	want := onWork + "|work|COMPLETED\n" + onLocal + "|local|COMPLETED\n"
	for _, args := range [][]string{nil, {"-j", onWork + "," + onLocal}} {
		// Without -j: the listing of today's jobs, no spec read.
		got := h.mustRun(append([]string{"slurm", "sacct", "-n", "-X", "-P", "-o", "JobIDRaw,Partition,State"}, args...)...).stdout
		if strings.Count(got, "\n") != 2 || !strings.Contains(got, onWork+"|work|COMPLETED\n") || !strings.Contains(got, onLocal+"|local|COMPLETED\n") {
			t.Errorf("sacct %v of the ended jobs:\n%s\nwant the lines of\n%s", args, got, want)
		}
	}
	var jobs []struct {
		ID      int64  `json:"id"`
		Cluster string `json:"cluster"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("jobs", "-o", "json").stdout), &jobs); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, j := range jobs {
		seen[strconv.FormatInt(j.ID, 10)] = j.Cluster
	}
	if seen[onWork] != "work" || seen[onLocal] != "" {
		t.Errorf("burst jobs -o json clusters: %v; want %s on work, %s on none", seen, onWork, onLocal)
	}
}
