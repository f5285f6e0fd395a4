package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSlurmFaceTimeFormat: the personality prints times as
// SLURM_TIME_FORMAT says, as Slurm's commands do (checked with Slurm
// 22.05's squeue, scontrol, sbatch --test-only and scontrol show config:
// SLURM_TIME_FORMAT=%s prints 1796570215 where the standard form is
// 2026-12-06T15:16:55, "relative" 15:16:55 today, and a value without a %
// says `squeue: error: invalid SLURM_TIME_FORMAT = 'bad'` once and prints
// the standard form). Scripts set it to read a job's times as numbers:
// `SLURM_TIME_FORMAT=%s squeue -h -o %S`.
func TestSlurmFaceTimeFormat(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	run := func(format string, args ...string) result {
		t.Helper()
		c := h.command(append([]string{"slurm"}, args...)...)
		c.Dir, c.Env = dir, append(c.Env, "SLURM_TIME_FORMAT="+format)
		return h.exec(c)
	}
	id := strings.TrimSpace(h.runIn(dir, "slurm", "sbatch", "--parsable", "-o", "/dev/null", "--wrap", "true").stdout)
	h.waitFor("the job to end", 60*time.Second, func() bool {
		return strings.TrimSpace(h.runIn(dir, "slurm", "squeue", "-h", "-t", "all", "-j", id, "-o", "%T").stdout) == "COMPLETED"
	})
	std := strings.TrimSpace(run("", "squeue", "-h", "-t", "all", "-j", id, "-o", "%V").stdout)
	submit, err := time.ParseInLocation("2006-01-02T15:04:05", std, time.Local)
	if err != nil {
		t.Fatalf("squeue -o %%V without SLURM_TIME_FORMAT: %q: %v", std, err)
	}
	epoch := strconv.FormatInt(submit.Unix(), 10)
	if r := run("%s", "squeue", "-h", "-t", "all", "-j", id, "-o", "%V|%S"); !strings.HasPrefix(r.stdout, epoch+"|") {
		t.Errorf("SLURM_TIME_FORMAT=%%s squeue -o %%V|%%S: %s, want the submit time %s", r, epoch)
	}
	if r := run("%s", "scontrol", "show", "job", id); !strings.Contains(r.stdout, " SubmitTime="+epoch+" ") {
		t.Errorf("SLURM_TIME_FORMAT=%%s scontrol show job: %s, want SubmitTime=%s", r, epoch)
	}
	if r := run("%s", "sacct", "-X", "-n", "-P", "-j", id, "-o", "Submit"); strings.TrimSpace(r.stdout) != epoch {
		t.Errorf("SLURM_TIME_FORMAT=%%s sacct -o Submit: %s, want %s", r, epoch)
	}
	if r := run("%F %T", "squeue", "-h", "-t", "all", "-j", id, "-o", "%V"); strings.TrimSpace(r.stdout) != submit.Format("2006-01-02 15:04:05") {
		t.Errorf("SLURM_TIME_FORMAT='%%F %%T' squeue -o %%V: %s", r)
	}
	r := run("bad", "squeue", "-h", "-t", "all", "-j", id, "-o", "%V %S")
	if f := strings.Fields(r.stdout); len(f) != 2 || f[0] != std || strings.Count(r.stderr, "squeue: error: invalid SLURM_TIME_FORMAT = 'bad'\n") != 1 {
		t.Errorf("SLURM_TIME_FORMAT=bad: %s, want the standard form and the error once", r)
	}
}
