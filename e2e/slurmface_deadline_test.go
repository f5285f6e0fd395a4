package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// sbatch --deadline: a job that can no longer end by its deadline never
// starts, and the Slurm commands show it as Slurm 22.05 showed the same
// jobs beside it (slurm-dev.sh): a job whose -t cannot fit is taken at
// submit ("Submitted batch job N", exit 0) and ends at once as
//
//	squeue -t all -o '%i|%T|%t|%r':  N|DEADLINE|DL|DeadLine
//	squeue -t DL:                    ... DL 0:00 1 (DeadLine)
//	scontrol show job: JobState=DEADLINE Reason=DeadLine ... ExitCode=0:1,
//	                   StartTime and EndTime the same, Deadline=its time
//
// and sacct's State is DEADLINE (sacct(1)'s JOB STATE CODES). A job held
// by its user, or by a dependency, is left pending past the time it could
// have met its deadline (Slurm's scheduler looks at it only once it is
// free to start), and ends as DEADLINE when it is released or its
// dependency is met (slurmctld: "deadline_ok: JobId=3 with time_limit 1
// exceeded deadline ... and cancelled", at the dependency's end).
func TestSlurmFaceDeadline(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sb := func(args ...string) string {
		return strings.TrimSpace(h.mustRun(append([]string{"slurm", "sbatch", "--parsable", "-o", "/dev/null"}, args...)...).stdout)
	}
	line := func(id string) string {
		return strings.TrimSpace(h.mustRun("slurm", "squeue", "-h", "-t", "all", "-j", id, "-o", "%i|%T|%t|%r").stdout)
	}
	dl := func(id string) string { return id + "|DEADLINE|DL|DeadLine" }

	// Held by its user and behind a dependency, each past the time it
	// could have met its deadline from its submission on (a 2-minute -t,
	// 90 s to go): were they looked at, they would end at once.
	held := sb("-H", "-t", "2", "--deadline", "now+90seconds", "--wrap", "true")
	first := sb("--wrap", "sleep 300")
	dep := sb("-t", "2", "--deadline", "now+90seconds", "-d", "afterany:"+first, "--wrap", "true")
	// Free to start, but its -t does not fit: taken, then ended.
	r := h.mustRun("slurm", "sbatch", "-o", "/dev/null", "--deadline", "now+2minutes", "-t", "10", "--wrap", "true")
	if !strings.HasPrefix(r.stdout, "Submitted batch job ") {
		t.Fatalf("sbatch of a job whose -t cannot fit before its deadline: %s (want it taken, as Slurm 22.05 takes it)", r)
	}
	noFit := strings.TrimSpace(strings.TrimPrefix(r.stdout, "Submitted batch job "))
	h.waitFor("the job whose -t cannot fit to end as DEADLINE", 30*time.Second, func() bool { return line(noFit) == dl(noFit) })

	// The pass that ended it looked at the held ones too, past their
	// time since: they wait on.
	if got := line(held); got != held+"|PENDING|PD|JobHeldUser" {
		t.Errorf("held job past its deadline: %q, want it pending (JobHeldUser) until released", got)
	}
	if got := line(dep); got != dep+"|PENDING|PD|Dependency" {
		t.Errorf("job behind a dependency past its deadline: %q, want it pending (Dependency) until released", got)
	}

	out := h.mustRun("slurm", "scontrol", "show", "job", noFit).stdout
	for _, want := range []string{"JobState=DEADLINE Reason=DeadLine ", " ExitCode=0:1\n", " Deadline=20"} {
		if !strings.Contains(out, want) {
			t.Errorf("scontrol show job %s lacks %q:\n%s", noFit, want, out)
		}
	}
	if f := strings.Fields(out); !strings.Contains(out, "StartTime=") || field(f, "StartTime") != field(f, "EndTime") {
		t.Errorf("scontrol show job %s: StartTime %q, EndTime %q: want the same (when it ended)", noFit, field(f, "StartTime"), field(f, "EndTime"))
	}
	if got := h.mustRun("slurm", "squeue", "-h", "-t", "DL", "-o", "%i %t %R").stdout; got != noFit+" DL (DeadLine)\n" {
		t.Errorf("squeue -t DL: %q, want the one job ended so (%s DL (DeadLine))", got, noFit)
	}
	if got := h.mustRun("slurm", "sacct", "-n", "-X", "-P", "-j", noFit, "-o", "JobID,State,ExitCode").stdout; got != noFit+"|DEADLINE|0:1\n" {
		t.Errorf("sacct of the job: %q, want %s|DEADLINE|0:1", got, noFit)
	}

	h.mustRun("slurm", "scontrol", "release", held)
	h.mustRun("slurm", "scancel", first)
	h.waitFor("the held job to end as DEADLINE once released", 30*time.Second, func() bool { return line(held) == dl(held) })
	h.waitFor("the dependent job to end as DEADLINE once its dependency ended", 30*time.Second, func() bool { return line(dep) == dl(dep) })
}

// field is the value of KEY=value among the words f ("" if none).
func field(f []string, key string) string {
	for _, w := range f {
		if v, ok := strings.CutPrefix(w, key+"="); ok {
			return v
		}
	}
	return ""
}

// TestSlurmFaceTimeMin: sbatch --time-min, as Slurm 22.05 took the same
// jobs beside it (slurm-dev.sh): one with a --deadline an hour on, -t 120
// and --time-min=59 starts with its time limit cut to end by its deadline
// (TimeLimit=01:00:00 there, started in the second it was submitted;
// 00:59:00 when it starts a second later, as the cut is in whole
// minutes), and scontrol shows TimeMin=00:59:00, squeue -O MinTime 59:00
// and -O Deadline its deadline; one with a --deadline and no -t is
// given TimeMin=00:01:00. A --time-min above -t, or one that cannot end
// by the deadline, is refused: "sbatch: error: Batch job submission
// failed: Invalid time-min specification (exceeds job's time or other
// limits)", exit 1; one sbatch cannot read "sbatch: error: Invalid
// --time-min specification", exit 255. A pending job's LastSchedEval is
// its submission, as 22.05 shows one held (burst showed Unknown).
func TestSlurmFaceTimeMin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sb := func(args ...string) string {
		return strings.TrimSpace(h.mustRun(append([]string{"slurm", "sbatch", "--parsable", "-o", "/dev/null"}, args...)...).stdout)
	}
	cut := sb("--deadline", "now+1hour", "-t", "120", "--time-min", "59", "--wrap", "sleep 300")
	none := sb("-H", "--deadline", "now+1hour", "--wrap", "true")
	t.Cleanup(func() { h.run("slurm", "scancel", cut, none) })
	h.waitFor("the job to start", 60*time.Second, func() bool {
		return h.mustRun("slurm", "squeue", "-h", "-j", cut, "-o", "%t").stdout == "R\n"
	})
	show := h.mustRun("slurm", "scontrol", "show", "job", cut).stdout
	f := strings.Fields(show)
	if lim := field(f, "TimeLimit"); field(f, "TimeMin") != "00:59:00" || lim != "01:00:00" && lim != "00:59:00" {
		t.Errorf("scontrol show job %s: TimeLimit=%s TimeMin=%s, want its limit cut to 01:00:00 (or 00:59:00) and TimeMin=00:59:00", cut, lim, field(f, "TimeMin"))
	}
	if field(f, "LastSchedEval") != field(f, "StartTime") {
		t.Errorf("scontrol show job %s: LastSchedEval=%s, want its StartTime %s", cut, field(f, "LastSchedEval"), field(f, "StartTime"))
	}
	want := []string{"59:00", field(f, "Deadline")}
	if got := strings.Fields(h.mustRun("slurm", "squeue", "-h", "-j", cut, "-O", "MinTime,Deadline").stdout); !slices.Equal(got, want) {
		t.Errorf("squeue -O MinTime,Deadline: %q, want %q", got, want)
	}
	f = strings.Fields(h.mustRun("slurm", "scontrol", "show", "job", none).stdout)
	if field(f, "TimeMin") != "00:01:00" || field(f, "TimeLimit") != "UNLIMITED" {
		t.Errorf("scontrol show job of --deadline without -t: TimeMin=%s TimeLimit=%s, want 00:01:00 and UNLIMITED", field(f, "TimeMin"), field(f, "TimeLimit"))
	}
	if field(f, "LastSchedEval") != field(f, "SubmitTime") {
		t.Errorf("scontrol show job of a held job: LastSchedEval=%s, want its SubmitTime %s", field(f, "LastSchedEval"), field(f, "SubmitTime"))
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-t", "120", "--time-min", "150"}, 1, "sbatch: error: Batch job submission failed: Invalid time-min specification (exceeds job's time or other limits)"},
		{[]string{"--deadline", "now+1hour", "--time-min", "61"}, 1, "sbatch: error: Batch job submission failed: Invalid time-min specification (exceeds job's time or other limits)"},
		{[]string{"--time-min", "abc"}, 255, "sbatch: error: Invalid --time-min specification"},
	} {
		r := h.run(append(append([]string{"slurm", "sbatch", "-o", "/dev/null"}, c.args...), "--wrap", "true")...)
		if r.code != c.code || !strings.HasPrefix(r.stderr, c.msg) {
			t.Errorf("sbatch %v: exit %d, %q; want exit %d and %q", c.args, r.code, r.stderr, c.code, c.msg)
		}
	}
}
