package e2e

import (
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
