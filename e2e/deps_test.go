package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunAfter chains jobs with burst run --after on the real binary and
// server: b runs once a succeeded (it reads what a wrote last), a job that
// needed a failed job to succeed is cancelled naming it, one held across a
// server killed with kill -9 is still held after and runs once its
// dependency succeeds, and bad dependencies are refused with one line.
func TestRunAfter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "a.txt")
	a := h.submit("--", "sh", "-c", "sleep 1; echo from-a > "+out)
	b := h.submit("--after", "ok:"+idArg(a), "--", "cat", out)
	if j := h.show(b); j.State != "queued" && !terminal(j.State) {
		t.Fatalf("job %d is %s before job %d ended", b, j.State, a)
	}
	r := h.mustRun("show", idArg(b))
	if j := h.show(a); !terminal(j.State) && !strings.Contains(r.stdout, "waiting for job "+idArg(a)+" to succeed") {
		t.Errorf("burst show of a held job does not say what it waits for:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "After:") || !strings.Contains(r.stdout, "afterok:"+idArg(a)) {
		t.Errorf("burst show has no After line:\n%s", r.stdout)
	}
	h.mustRun("wait", idArg(b))
	if j := h.show(b); j.State != "succeeded" {
		t.Fatalf("job %d: %s (%s), want succeeded after job %d", b, j.State, j.Reason, a)
	}
	if logs := h.mustRun("logs", idArg(b)); strings.TrimSpace(logs.stdout) != "from-a" {
		t.Errorf("job %d ran before job %d had written its file: %q", b, a, logs.stdout)
	}

	// afterok on a job that fails: cancelled, naming it; nothing of it ran.
	f := h.submit("--", "sh", "-c", "sleep 1; exit 3")
	marker := filepath.Join(dir, "never")
	g := h.submit("--after", "ok:"+idArg(f), "--", "touch", marker)
	anyJob := h.submit("--after", "any:"+idArg(f), "--", "true")
	h.waitFor("the job after a failed one to end", 30*time.Second, func() bool { return terminal(h.show(g).State) })
	j := h.show(g)
	if want := "cancelled: job " + idArg(f) + " failed, which it needed to succeed"; j.State != "cancelled" || j.Reason != want {
		t.Errorf("job %d: %s (%q), want cancelled (%q)", g, j.State, j.Reason, want)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("job %d ran though job %d failed", g, f)
	}
	h.mustRun("wait", idArg(anyJob))
	if j := h.show(anyJob); j.State != "succeeded" {
		t.Errorf("afterany job %d: %s (%s)", anyJob, j.State, j.Reason)
	}

	// Held across a server killed with kill -9.
	s := h.submit("--", "sh", "-c", "sleep 2")
	held := h.submit("--after", "ok:"+idArg(s), "--", "true")
	h.kill9(h.serverPID(), "server")
	if j := h.show(held); j.State != "queued" && j.State != "succeeded" {
		t.Fatalf("after a restart job %d is %s (%s)", held, j.State, j.Reason)
	}
	h.mustRun("wait", idArg(held))
	if j, d := h.show(held), h.show(s); j.State != "succeeded" || d.State != "succeeded" || at(t, j.StartedAt).Before(at(t, d.EndedAt)) {
		t.Errorf("after a restart: job %d %s started %v, its dependency %s ended %v", held, j.State, j.StartedAt, d.State, d.EndedAt)
	}

	// Bad dependencies: one line, exit 2.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--after", "ok:99999"}, "no job 99999 you can see"},
		{[]string{"--after", "ok:" + idArg(f)}, "failed, which it needed to succeed, so this job would never start"},
		{[]string{"--after", "soon:1"}, "is not a kind"},
		{[]string{"--after", "1", "--dependency", "afterok:1"}, "give one of them"},
	} {
		r := h.run(append(append([]string{"run"}, c.args...), "--", "true")...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("run %v: exit %d, %q; want exit 2 and one line saying %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// at reads a time of burst show -o json.
func at(t *testing.T, s *string) time.Time {
	t.Helper()
	if s == nil {
		t.Fatal("no time where one was expected")
	}
	v, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSlurmFaceAfter chains jobs through the personality's sbatch -d, as
// Slurm's users do: afterok runs b once a succeeded; afterok on a job that
// fails stays pending with Reason DependencyNeverSatisfied (Slurm's
// default) until scancel, or is cancelled with --kill-on-invalid-dep=yes;
// squeue's %r and %E and scontrol's Dependency= say so; a dependency on a
// job that does not exist is dropped, as sbatch drops it. A job array's
// pending tasks share one squeue line, ID_[1-3%1]; -r gives one each.
func TestSlurmFaceAfter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir, face, sbatch := slurmFace(t, h)
	squeue := func(id string) string {
		return strings.TrimSpace(face("squeue", "-h", "-t", "all", "-o", "%i %t %r %E", "-j", id).stdout)
	}
	if r := face("sbatch", "--wrap", "true", "extra"); r.code != 1 || !strings.Contains(r.stderr, "Script arguments not permitted with --wrap option") {
		t.Errorf("sbatch --wrap with script arguments: want sbatch's refusal, exit 1:\n%s", r)
	}
	a := sbatch("--wrap", "sleep 1; echo a > a.out")
	b := sbatch("-d", "afterok:"+a, "--wrap", "cat a.out")
	f := sbatch("--wrap", "sleep 1; exit 1")
	kept := sbatch("--dependency=afterok:"+f, "--wrap", "touch kept.out")
	killed := sbatch("--dependency=afterok:"+f, "--kill-on-invalid-dep=yes", "--wrap", "true")
	// The same in the script's own lines.
	writeFile(t, filepath.Join(dir, "after.sh"), "#!/bin/sh\n#SBATCH --dependency=afterok:"+f+"\n#SBATCH --kill-on-invalid-dep=yes\ntrue\n", 0o755)
	scripted := sbatch("after.sh")
	if got := squeue(b); got != b+" PD Dependency afterok:"+a+"(unfulfilled)" && !strings.HasPrefix(got, b+" R ") && !strings.HasPrefix(got, b+" CD ") {
		t.Errorf("squeue of a held job: %q", got)
	}
	h.waitFor("the job after a failed one to be never satisfied", 30*time.Second, func() bool {
		return squeue(kept) == kept+" PD DependencyNeverSatisfied afterok:"+f+"(failed)"
	})
	if r := face("scontrol", "show", "job", kept); !strings.Contains(r.stdout, "JobState=PENDING Reason=DependencyNeverSatisfied Dependency=afterok:"+f+"(failed)") {
		t.Errorf("scontrol show job of a never satisfied job:\n%s", r.stdout)
	}
	// Submitted once f has already failed, Slurm 22.05 takes it (rc 0)
	// and cancels it at once; kept, it waits as the one before.
	late := sbatch("--dependency=afterok:"+f, "--kill-on-invalid-dep=yes", "--wrap", "true")
	lateKept := sbatch("--dependency=afterok:"+f, "--wrap", "true")
	h.waitFor("the killed ones and b to end", 30*time.Second, func() bool {
		return squeue(killed) == killed+" CA DependencyNeverSatisfied afterok:"+f+"(failed)" && strings.HasPrefix(squeue(b), b+" CD ") &&
			squeue(scripted) == scripted+" CA DependencyNeverSatisfied afterok:"+f+"(failed)" &&
			squeue(late) == late+" CA DependencyNeverSatisfied afterok:"+f+"(failed)"
	})
	if got := squeue(lateKept); got != lateKept+" PD DependencyNeverSatisfied afterok:"+f+"(failed)" {
		t.Errorf("squeue of a job submitted after its dependency failed: %q", got)
	}
	face("scancel", lateKept)
	if got, err := os.ReadFile(filepath.Join(dir, "slurm-"+b+".out")); err != nil || string(got) != "a\n" {
		t.Errorf("job %s's output: %q %v, want a's line", b, got, err)
	}
	if r := face("scancel", kept); r.code != 0 {
		t.Fatalf("scancel %s: %s", kept, r)
	}
	h.waitFor("the kept job to be cancelled", 30*time.Second, func() bool { return strings.HasPrefix(squeue(kept), kept+" CA ") })
	if _, err := os.Stat(filepath.Join(dir, "kept.out")); err == nil {
		t.Errorf("job %s ran though its dependency failed", kept)
	}
	// A dependency on a job that does not exist is dropped, as Slurm
	// 22.05's sbatch drops it (checked with the suite's Slurm: Dependency=
	// (null), the job runs); one of a "?" list lets the job run at once.
	for _, d := range []string{"afterok:abc", "afterok:", "later:1"} {
		if r := face("sbatch", "-d", d, "--wrap", "true"); r.code != 1 || !strings.HasPrefix(r.stderr, "sbatch: error: Batch job submission failed: Job dependency problem") {
			t.Errorf("sbatch -d %s: want sbatch's refusal, exit 1:\n%s", d, r)
		}
	}
	unknown := sbatch("-d", "afterok:99999", "--wrap", "touch unknown.out")
	anyOf := sbatch("-d", "afterok:99999?afterok:"+kept, "--wrap", "touch anyof.out")
	for _, id := range []string{unknown, anyOf} {
		h.mustRun("wait", id)
		if r := face("scontrol", "show", "job", id); !strings.Contains(r.stdout, "JobState=COMPLETED Reason=None Dependency=(null)") {
			t.Errorf("sbatch -d naming an unknown job: want it run with no dependency:\n%s", r.stdout)
		}
	}

	// A job array: one line for its pending tasks, one for each that runs.
	arr := sbatch("--array=0-3%1", "--wrap", "sleep 2")
	h.waitFor("an array task to run", 30*time.Second, func() bool {
		return strings.Contains(face("squeue", "-h", "-o", "%i %t").stdout, arr+"_0 R")
	})
	lines := strings.Split(strings.TrimSpace(face("squeue", "-h", "-o", "%i %t", "-j", arr).stdout), "\n")
	if len(lines) != 2 || !strings.Contains(strings.Join(lines, ";"), arr+"_[1-3%1] PD") {
		t.Errorf("squeue of a running array: %q, want %s_0 R and %s_[1-3%%1] PD", lines, arr, arr)
	}
	if r := face("squeue", "-h", "-r", "-o", "%i %t", "-j", arr); strings.Count(r.stdout, "\n") != 4 || !strings.Contains(r.stdout, arr+"_3 PD") {
		t.Errorf("squeue -r of an array: %q, want 4 lines", r.stdout)
	}
	if r := face("squeue", "-h", "--array-unique", "-o", "%i %t", "-j", arr); strings.Count(r.stdout, "\n") != 4 || !strings.Contains(r.stdout, arr+"_3 PD") {
		t.Errorf("squeue --array-unique of an array: %s, want 4 lines", r) // it was refused
	}
	h.mustRun("wait", arr)
	r := face("sacct", "-X", "-P", "-n", "--format=JobID,State", "-j", arr)
	if want := arr + "_0|COMPLETED\n" + arr + "_1|COMPLETED\n" + arr + "_2|COMPLETED\n" + arr + "_3|COMPLETED\n"; r.stdout != want {
		t.Errorf("sacct of an array: %q, want %q", r.stdout, want)
	}
}

// slurmFace links the personality's commands into a new directory, and
// returns it (where they run), a runner of them (face("squeue", ...)) and
// one of sbatch --parsable that returns the job's id.
func slurmFace(t *testing.T, h *harness) (string, func(...string) result, func(...string) string) {
	dir := t.TempDir()
	links := filepath.Join(dir, "bin")
	h.mustRun("slurm", "link", links)
	face := func(args ...string) result {
		c := h.command(args[1:]...)
		c.Path = filepath.Join(links, args[0])
		c.Args = args
		c.Dir = dir
		return h.exec(c)
	}
	sbatch := func(args ...string) string {
		t.Helper()
		r := face(append([]string{"sbatch", "--parsable"}, args...)...)
		if r.code != 0 {
			t.Fatalf("sbatch %v: %s", args, r)
		}
		return strings.TrimSpace(r.stdout)
	}
	return dir, face, sbatch
}
