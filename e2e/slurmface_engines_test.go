package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSlurmFaceClustersOption: -M/--clusters, which Snakemake's Slurm
// executor plugin passes to every scancel (`scancel IDS --clusters=all`),
// the Snakemake profiles' status script to scontrol (`scontrol
// --cluster=NAME -o show job ID`), and batchtools and Open OnDemand to
// each command once a cluster is configured, is taken by sbatch, scontrol
// and scancel as squeue and sacct take it: burst is one cluster. sbatch
// then names it after the id, as sbatch does for -M ("ID;CLUSTER" with
// --parsable, which those engines split at the ";").
func TestSlurmFaceClustersOption(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	run := func(args ...string) result {
		return h.runIn(dir, append([]string{"slurm"}, args...)...)
	}
	r := run("sbatch", "--parsable", "-M", "all", "-o", "/dev/null", "--wrap", "sleep 300")
	id, cluster, ok := strings.Cut(strings.TrimSpace(r.stdout), ";")
	if r.code != 0 || !ok || cluster != "burst" {
		t.Fatalf("sbatch --parsable -M all: %s, want ID;burst", r)
	}
	if r := run("sbatch", "--clusters=burst", "-o", "/dev/null", "--wrap", "true"); r.code != 0 ||
		!strings.HasPrefix(r.stdout, "Submitted batch job ") || !strings.HasSuffix(r.stdout, " on cluster burst\n") {
		t.Errorf("sbatch --clusters=burst: %s, want Submitted batch job ID on cluster burst", r)
	}
	if r := run("scontrol", "--cluster=burst", "-o", "show", "job", id); r.code != 0 || !strings.HasPrefix(r.stdout, "JobId="+id+" ") {
		t.Errorf("scontrol --cluster=burst -o show job %s: %s", id, r)
	}
	if r := run("scancel", id, "--clusters=all"); r.code != 0 || r.stderr != "" {
		t.Errorf("scancel %s --clusters=all: %s, want exit 0 and nothing said", id, r)
	}
	// scancel returns once the cancel is taken; the job's process is
	// killed next (in Slurm too, which lists it COMPLETING meanwhile).
	h.waitFor("job "+id+" to be CANCELLED after scancel --clusters=all", 30*time.Second, func() bool {
		return strings.TrimSpace(run("squeue", "-h", "-t", "all", "-j", id, "-o", "%T").stdout) == "CANCELLED"
	})
}

// TestSbatchInputEnvironment: sbatch reads its options from SBATCH_*
// variables too (Open OnDemand submits with SBATCH_EXPORT=NONE; sites put
// SBATCH_ACCOUNT, SBATCH_PARTITION, SBATCH_TIMELIMIT in users' profiles),
// over the script's #SBATCH lines and under the command line, as checked
// with Slurm 22.05's sbatch. A bad value is named by its variable; a
// variable of an option burst does not take is left alone.
func TestSbatchInputEnvironment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "job.sh"), "#!/bin/sh\n#SBATCH -J fromscript\n#SBATCH -t 5\necho FOO=$FOO\n", 0o755)
	sbatch := func(env []string, args ...string) result {
		c := h.command(append([]string{"slurm", "sbatch"}, args...)...)
		c.Dir, c.Env = dir, append(c.Env, env...)
		return h.exec(c)
	}
	field := func(id, key string) string {
		out := h.mustRun("slurm", "scontrol", "-o", "show", "job", id).stdout
		for _, f := range strings.Fields(out) {
			if v, ok := strings.CutPrefix(f, key+"="); ok {
				return v
			}
		}
		return ""
	}
	env := []string{"SBATCH_JOB_NAME=fromenv", "SBATCH_TIMELIMIT=7", "SBATCH_EXPORT=NONE", "FOO=bar", "SBATCH_WAIT=", "SBATCH_NETWORK=x"}
	r := sbatch(env, "--parsable", "-o", "out-%j", "job.sh")
	id := strings.TrimSpace(r.stdout)
	if r.code != 0 || field(id, "JobName") != "fromenv" || field(id, "TimeLimit") != "00:07:00" {
		t.Errorf("SBATCH_JOB_NAME=fromenv SBATCH_TIMELIMIT=7 over #SBATCH -J fromscript -t 5: %s, JobName=%s TimeLimit=%s",
			r, field(id, "JobName"), field(id, "TimeLimit"))
	}
	// SBATCH_WAIT= waited for it; SBATCH_EXPORT=NONE kept FOO from it.
	if out, err := os.ReadFile(filepath.Join(dir, "out-"+id)); err != nil || string(out) != "FOO=\n" {
		t.Errorf("with SBATCH_EXPORT=NONE and SBATCH_WAIT set, the job's output once sbatch returned: %q (%v), want FOO=", out, err)
	}
	r = sbatch(env, "--parsable", "-J", "cli", "-t", "9", "--export=ALL", "-o", "out-%j", "job.sh")
	id = strings.TrimSpace(r.stdout)
	if field(id, "JobName") != "cli" || field(id, "TimeLimit") != "00:09:00" {
		t.Errorf("-J cli -t 9 over SBATCH_JOB_NAME and SBATCH_TIMELIMIT: JobName=%s TimeLimit=%s", field(id, "JobName"), field(id, "TimeLimit"))
	}
	if out, _ := os.ReadFile(filepath.Join(dir, "out-"+id)); string(out) != "FOO=bar\n" {
		t.Errorf("--export=ALL over SBATCH_EXPORT=NONE: %q, want FOO=bar", out)
	}
	r = sbatch([]string{"SBATCH_TIMELIMIT=soon"}, "--wrap", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "SBATCH_TIMELIMIT=soon (from the environment)") {
		t.Errorf("SBATCH_TIMELIMIT=soon: %s, want exit 1 naming the variable", r)
	}
}

// TestScontrolPendingJobFiles: scontrol show job names a pending batch
// job's StdOut and StdErr, where they will be, as Slurm 22.05's does
// (checked: StdOut=/dir/o-nm-19.log for -J nm -o 'o-%x-%j.log' while it
// waits for its --begin); scripts that tail a job's log from its StdOut=
// found it empty until the job started. Its NodeList is empty, as 22.05
// prints it (not "(null)").
func TestScontrolPendingJobFiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	sb := func(args ...string) string {
		return strings.TrimSpace(h.runIn(dir, append([]string{"slurm", "sbatch", "--parsable", "--begin=now+3600"}, args...)...).stdout)
	}
	check := func(id, out, errf string) {
		t.Helper()
		r := h.mustRun("slurm", "scontrol", "-o", "show", "job", id)
		for _, want := range []string{" StdErr=" + filepath.Join(dir, errf) + " ", " StdOut=" + filepath.Join(dir, out) + " ", " NodeList= "} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("scontrol show job %s (pending): no %q in %s", id, want, r.stdout)
			}
		}
	}
	id := sb("--wrap", "true")
	check(id, "slurm-"+id+".out", "slurm-"+id+".out")
	id = sb("-J", "nm", "-o", "o-%x-%j.log", "-e", "e-%j.log", "--wrap", "true")
	check(id, "o-nm-"+id+".log", "e-"+id+".log")
	// A pending task of an array named by its id is a record of its own
	// (scontrol printed nothing for it), and the record of the pending
	// tasks has no %a (4294967294), as Slurm 22.05 shows them.
	id = sb("-a", "1-4%2", "-o", "o-%A_%a.log", "--wrap", "true")
	check(id+"_3", "o-"+id+"_3.log", "o-"+id+"_3.log")
	if r := h.mustRun("slurm", "scontrol", "show", "job", id+"_3"); !strings.Contains(r.stdout, " ArrayJobId="+id+" ArrayTaskId=3 ") {
		t.Errorf("scontrol show job %s_3: want its record, ArrayTaskId=3:\n%s", id, r.stdout)
	}
	check(id, "o-"+id+"_4294967294.log", "o-"+id+"_4294967294.log")
}

// TestScontrolStdioPatterns: scontrol show job leaves %N %t %s %J (and a
// width, %%, a backslash) as written in StdOut and StdErr, expanding only
// %A %a %j %u %x, as Slurm 22.05's does (checked: -o
// 'o_%j_%N_%t_%s_%J_%x.out' shows StdOut=.../o_11_%N_%t_%s_%J_wrap.out),
// while the file on disk has every pattern expanded. burst showed the
// file's name.
func TestScontrolStdioPatterns(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	r := h.runIn(dir, "slurm", "sbatch", "--parsable", "-o", "o_%j_%N_%t_%s_%J_%x.out", "-e", `e\_%j_%5j_%%.err`, "--wrap", "true")
	id := strings.TrimSpace(r.stdout)
	h.run("wait", id)
	r = h.mustRun("slurm", "scontrol", "-o", "show", "job", id)
	for _, want := range []string{" StdOut=" + filepath.Join(dir, "o_"+id+"_%N_%t_%s_%J_wrap.out") + " ", " StdErr=" + filepath.Join(dir, `e\_`+id+"_%5j_%%.err") + " "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("scontrol show job %s: no %q in %s", id, want, r.stdout)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "o_"+id+"_*_0_batch_"+id+"_wrap.out")); len(m) != 1 {
		ents, _ := os.ReadDir(dir)
		t.Errorf("the job's output file, every pattern expanded: none in %v", ents)
	}
}
