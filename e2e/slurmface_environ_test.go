package e2e

import (
	"os"
	"path/filepath"
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
	id, withEnv := endedJob(t)
	run := func(format string, args ...string) result {
		t.Helper()
		return withEnv("SLURM_TIME_FORMAT="+format, args...)
	}
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

// TestSacctFormatEnvironment: without -o, -l or -b, sacct prints the
// fields SACCT_FORMAT names, as Slurm's sacct reads it (options.c: the
// Alliance's clusters set it in every user's profile); one that names no
// field is refused, exit 1.
func TestSacctFormatEnvironment(t *testing.T) {
	t.Parallel()
	id, withEnv := endedJob(t)
	sacct := func(format string, args ...string) result {
		t.Helper()
		return withEnv("SACCT_FORMAT="+format, append([]string{"sacct"}, args...)...)
	}
	if r := sacct("JobID,JobName%20,State", "-X", "-P", "-j", id); r.stdout != "JobID|JobName|State\n"+id+"|wrap|COMPLETED\n" {
		t.Errorf("SACCT_FORMAT=JobID,JobName%%20,State sacct -X -P: %s", r)
	}
	if r := sacct("JobID,JobName", "-X", "-P", "-n", "-j", id, "-o", "State"); r.stdout != "COMPLETED\n" {
		t.Errorf("-o over SACCT_FORMAT: %s", r)
	}
	if r := sacct("JobID,JobName", "-X", "-P", "-n", "-b", "-j", id); r.stdout != id+"|COMPLETED|0:0\n" {
		t.Errorf("-b over SACCT_FORMAT: %s", r)
	}
	if r := sacct("bogus", "-j", id); r.code != 1 || !strings.Contains(r.stderr, `"bogus" is not a field of sacct`) || !strings.Contains(r.stderr, "SACCT_FORMAT") {
		t.Errorf("SACCT_FORMAT=bogus: %s, want exit 1 naming it", r)
	}
}

// TestSinfoEnvironment: sinfo reads SINFO_FORMAT for its default and -l
// listings (-N, -s, -R and -o keep theirs), SINFO_SORT and
// SINFO_PARTITION, as Slurm 22.05's sinfo does (each checked with it).
func TestSinfoEnvironment(t *testing.T) {
	t.Parallel()
	_, withEnv := endedJob(t)
	for _, c := range []struct {
		env  string
		args []string
		want string
	}{
		{"SINFO_FORMAT=%P|%D", nil, "PARTITION|NODES\nlocal*|1\n"},
		{"SINFO_FORMAT=%P|%D", []string{"-h", "-o", "%a"}, "up\n"},
		{"SINFO_FORMAT=%P|%D", []string{"-h", "-N"}, "local-1        1    local* idle  \n"},
		{"SINFO_PARTITION=nope", []string{"-h"}, ""},
		{"SINFO_PARTITION=local", []string{"-h", "-o", "%P"}, "local*\n"},
	} {
		if r := withEnv(c.env, append([]string{"sinfo"}, c.args...)...); r.code != 0 || r.stdout != c.want {
			t.Errorf("%s sinfo %v:\n%s\nwant %q", c.env, c.args, r, c.want)
		}
	}
	if r := withEnv("SINFO_FORMAT=%P|%D", "sinfo", "-l"); !strings.HasSuffix(r.stdout, "\nPARTITION|NODES\nlocal*|1\n") {
		t.Errorf("SINFO_FORMAT sinfo -l: want the date, then the format's columns:\n%s", r)
	}
}

// TestSbatchExportEnvReachesSrun: a job submitted with --export other
// than ALL is told it, SLURM_EXPORT_ENV (and SLURM_GET_USER_ENV=1), and
// srun in it takes that as its own --export, as Slurm 22.05's sbatch and
// srun do (checked side by side): under --export=NONE a step gets none of
// what the script exported, and a bare program name is found on no PATH
// (exit 2), unless srun says --export=ALL. burst ran such steps with the
// script's whole environment, and told the job nothing.
func TestSbatchExportEnvReachesSrun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	script := `export FOO=1
env | grep -E "^SLURM_(EXPORT|GET_USER)_ENV=" | sort
srun sh -c "echo bare"; echo "rc=$?"
srun /bin/sh -c "echo abs foo=[\$FOO]"
srun --export=ALL sh -c "echo all foo=[\$FOO]"`
	for export, want := range map[string]string{
		"NONE": "SLURM_EXPORT_ENV=NONE\nSLURM_GET_USER_ENV=1\nrc=2\nabs foo=[]\nall foo=[1]\n",
		"ALL":  "bare\nrc=0\nabs foo=[1]\nall foo=[1]\n",
	} {
		out := filepath.Join(dir, export+".out")
		r := h.runIn(dir, "slurm", "sbatch", "--wait", "--export="+export, "-o", out, "-e", out+".err", "--wrap", script)
		got, _ := os.ReadFile(out)
		errs, _ := os.ReadFile(out + ".err")
		if r.code != 0 || string(got) != want {
			t.Errorf("sbatch --export=%s: %s\noutput %q, want %q", export, r, got, want)
		}
		if export == "NONE" && !strings.Contains(string(errs), "execve(): sh: No such file or directory") {
			t.Errorf("sbatch --export=NONE: srun sh: want execve's error, got %q", errs)
		}
	}
}

// endedJob runs a batch job (sbatch --wrap true) to its end, and gives a
// runner of the personality's commands with one variable more in their
// environment.
func endedJob(t *testing.T) (id string, withEnv func(kv string, args ...string) result) {
	t.Helper()
	h := newHarness(t)
	dir := t.TempDir()
	id = strings.TrimSpace(h.runIn(dir, "slurm", "sbatch", "--parsable", "-o", "/dev/null", "--wrap", "true").stdout)
	h.waitFor("the job to end", 60*time.Second, func() bool {
		return strings.TrimSpace(h.runIn(dir, "slurm", "squeue", "-h", "-t", "all", "-j", id, "-o", "%T").stdout) == "COMPLETED"
	})
	return id, func(kv string, args ...string) result {
		t.Helper()
		c := h.command(append([]string{"slurm"}, args...)...)
		c.Dir, c.Env = dir, append(c.Env, kv)
		return h.exec(c)
	}
}
