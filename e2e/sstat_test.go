package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSstat: sstat of a running job, as a batch script ending in sstat
// asks it (sstat -j $SLURM_JOB_ID.batch -o MaxRSS,AveCPU): the batch step's
// peak memory and CPU time so far, its lowest srun step running for the
// job alone, every step with -a, and Slurm 22.05's words for a step or a
// job that does not run (checked beside its sstat: header, the error,
// exit 0). A script calling sstat ended FAILED, 127, for a command burst
// did not have.
func TestSstat(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	script := `#!/bin/sh
python3 -c '
import time
x = bytearray(60 << 20)
for i in range(0, len(x), 4096): x[i] = 1
s = time.process_time()
while time.process_time() - s < 2: pass
time.sleep(2.5)
'
srun sleep 300 &
until sstat -n -P -j $SLURM_JOB_ID -o JobID | grep -q '[.]0$'; do sleep 0.1; done
sstat -n -P -j $SLURM_JOB_ID.batch -o JobID,MaxRSS,AveCPU,NTasks,MaxRSSNode > batch.txt
sstat -n -P -j $SLURM_JOB_ID -o JobID,NTasks > lowest.txt
sstat -n -P -a -j $SLURM_JOB_ID -o JobID > all.txt
sstat -j $SLURM_JOB_ID.7 -o JobID > missing.txt 2>&1; echo "rc=$?" >> missing.txt
kill $!
wait
exit 0
`
	id, out := sbatchAndWait(t, h, face, dir, "use.sh", script)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("the job wrote no %s: %v (its output: %q)", name, err, out)
		}
		return string(b)
	}
	f := strings.Split(strings.TrimSpace(read("batch.txt")), "|")
	if len(f) != 5 || f[0] != id+".batch" || f[3] != "1" || f[4] == "" {
		t.Fatalf("sstat of the batch step: %q", f)
	}
	rss, err := strconv.Atoi(strings.TrimSuffix(f[1], "K"))
	if err != nil || !strings.HasSuffix(f[1], "K") || rss < 50<<10 {
		t.Errorf("the batch step's MaxRSS %q: want 50M or more in K (it held 60 MiB)", f[1])
	}
	if f[2] < "00:00:01" || !strings.HasPrefix(f[2], "00:00:0") {
		t.Errorf("the batch step's AveCPU %q: want about the 2 s it spun (00:00:0N)", f[2])
	}
	if got := read("lowest.txt"); got != id+".0|1\n" {
		t.Errorf("sstat -j JOB: %q, want its lowest srun step running, %s.0|1", got, id)
	}
	if got := read("all.txt"); got != id+".batch\n"+id+".0\n" {
		t.Errorf("sstat -a -j JOB: %q, want the batch step and step 0", got)
	}
	want := "JobID        \n------------ \nsstat: error: StepId=" + id + ".7 not found running.\nrc=0\n"
	if got := read("missing.txt"); got != want {
		t.Errorf("sstat of a step that does not run: %q, want %q", got, want)
	}
	r := face("sstat", "-j", id)
	if r.code != 0 || r.stderr != "sstat: error: No steps running for job "+id+"\n" || !strings.HasPrefix(r.stdout, "JobID         MaxVMSize") {
		t.Errorf("sstat of an ended job: %s", r)
	}
	if r := face("sstat", "-n", id+".batch"); r.code != 0 || r.stdout != "" || r.stderr != "sstat: error: StepId="+id+".batch not found running.\n" {
		t.Errorf("sstat JOB.batch (an argument) of an ended job: %s", r)
	}
	if r := face("sstat", "-n", "-j", "99999"); r.code != 0 || r.stderr != "sstat: error: couldn't get steps for job 99999\n" {
		t.Errorf("sstat of an unknown job: %s", r)
	}
	if r := face("sstat"); r.code != 1 || r.stderr != "sstat: error: You didn't give me any jobs to stat.\n" {
		t.Errorf("sstat with no job: %s", r)
	}
	if r := face("sstat", "-j", id, "-o", "Bogus"); r.code != 1 || r.stderr != "sstat: error: Invalid field requested: \"Bogus\"\n" {
		t.Errorf("sstat -o Bogus: %s", r)
	}
}

// TestSqueueSrunStepsRunning: squeue -s and sstat, run outside a batch job
// as users and scripts poll it, list the srun steps running in it, as
// Slurm 22.05 does (its squeue -s printed "1.0 sleep" above "1.batch
// batch"; sstat -a -j 1 printed 1.batch and 1.0, sstat -j 1 the step 1.0).
// burst listed the batch step alone: its agent sent the steps with the
// task's end only. srun -J names its step, as in Slurm ("8.0 named").
func TestSqueueSrunStepsRunning(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	id := sbatchFile(t, face, dir, "steps.sh", "#!/bin/sh\nsrun true\nsrun -J named sleep 300 &\nwait\n", "/dev/null")
	var got string
	h.waitFor("squeue -s to list step "+id+".1", 60*time.Second, func() bool {
		got = face("squeue", "-h", "-s", "-j", id, "-o", "%i %j %A").stdout
		return strings.Contains(got, id+".1 ")
	})
	if want := id + ".1 named 1\n" + id + ".batch batch 1\n"; got != want {
		t.Errorf("squeue -s -j %s: %q, want the srun step running (not %s.0, which ended) above the batch step, %q", id, got, id, want)
	}
	if r := face("squeue", "-h", "-s", "--steps="+id+".1", "-o", "%i"); r.stdout != id+".1\n" {
		t.Errorf("squeue --steps=%s.1: %s", id, r)
	}
	if r := face("sstat", "-n", "-P", "-a", "-j", id, "-o", "JobID,NTasks"); r.code != 0 || r.stdout != id+".batch|1\n"+id+".1|1\n" {
		t.Errorf("sstat -a -j %s: %s, want its batch step and step 1", id, r)
	}
	if r := face("sstat", "-n", "-P", "-j", id, "-o", "JobID"); r.code != 0 || r.stdout != id+".1\n" {
		t.Errorf("sstat -j %s: %s, want its lowest srun step running", id, r)
	}
	if r := face("sstat", "-n", "-P", "-j", id+".0", "-o", "JobID"); r.stdout != "" || r.stderr != "sstat: error: StepId="+id+".0 not found running.\n" {
		t.Errorf("sstat -j %s.0 (ended): %s", id, r)
	}
	if r := face("sacct", "-n", "-P", "-j", id, "-o", "JobID,JobName,State"); !strings.Contains(r.stdout, id+".0|true|COMPLETED\n"+id+".1|named|RUNNING\n") {
		t.Errorf("sacct -j %s while it runs: %s, want its ended step 0 and running step 1", id, r)
	}
}

// TestSrunAloneIsStepZero: srun outside any job makes a job and runs its
// command as that job's step 0, as Slurm's srun does: sacct lists N and
// N.0 (named as the job, -J or the program; its tasks; the job's
// DerivedExitCode is the step's exit), with no N.batch, and while it runs
// squeue -s and sstat show N.0 alone (real 22.05: `5.0 duo`, `6.0 sleep`).
// burst listed N.batch, and for -n 2 N.batch and N.0.
func TestSrunAloneIsStepZero(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	var ids []string
	for _, args := range [][]string{{"-J", "solo", "true"}, {"-n", "2", "-J", "duo", "true"}, {"sh", "-c", "exit 3"}} {
		face(append([]string{"srun"}, args...)...)
		ids = strings.Fields(face("sacct", "-X", "-n", "-P", "-o", "JobID").stdout)
	}
	if len(ids) != 3 {
		t.Fatalf("sacct -X after three sruns: %q", ids)
	}
	want := strings.Join([]string{ids[0] + "|solo|COMPLETED||0:0|0:0", ids[0] + ".0|solo|COMPLETED|1|0:0|",
		ids[1] + "|duo|COMPLETED||0:0|0:0", ids[1] + ".0|duo|COMPLETED|2|0:0|",
		ids[2] + "|sh|FAILED||3:0|3:0", ids[2] + ".0|sh|FAILED|1|3:0|"}, "\n") + "\n"
	if r := face("sacct", "-n", "-P", "-o", "JobID,JobName,State,NTasks,ExitCode,DerivedExitCode"); r.stdout != want {
		t.Errorf("sacct of three sruns run alone: %s\nwant %q", r, want)
	}
	if r := face("sacct", "-n", "-P", "-j", ids[0]+".batch", "-o", "JobID"); r.stdout != "" {
		t.Errorf("sacct -j %s.batch: %s, want nothing (the job has no batch step)", ids[0], r)
	}
	c := h.command()
	c.Path, c.Args, c.Dir = filepath.Join(dir, "bin", "srun"), []string{"srun", "-J", "sl", "sleep", "300"}, dir
	p, err := startCmd(c)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	h.waitFor("squeue -s to list the running srun's step", 60*time.Second, func() bool {
		got = face("squeue", "-h", "-s", "-o", "%i %j %A").stdout
		return got != ""
	})
	id := strings.TrimSuffix(strings.Fields(got)[0], ".0")
	t.Cleanup(func() { face("scancel", id); p.wait() })
	if got != id+".0 sl 1\n" {
		t.Errorf("squeue -s while srun runs alone: %q, want its step 0 alone, %q", got, id+".0 sl 1\n")
	}
	if r := face("sstat", "-n", "-P", "-a", "-j", id, "-o", "JobID,NTasks"); r.code != 0 || r.stdout != id+".0|1\n" {
		t.Errorf("sstat -a -j %s: %s, want its step 0 alone", id, r)
	}
	if r := face("sstat", "-n", "-P", "-j", id, "-o", "JobID"); r.code != 0 || r.stdout != id+".0\n" {
		t.Errorf("sstat -j %s: %s, want its step 0", id, r)
	}
	if r := face("sstat", "-n", "-P", "-j", id+".batch", "-o", "JobID"); r.stdout != "" || r.stderr != "sstat: error: StepId="+id+".batch not found running.\n" {
		t.Errorf("sstat -j %s.batch: %s, want it not found", id, r)
	}
}

// TestScontrolShowStep: scontrol show step[s] lists the steps running,
// one record each in Slurm 22.05's keys and lines (its real one:
// "StepId=1.batch ... CPUs=0 Tasks=1 Name=batch ... TRES=(null)" first,
// then "StepId=1.0 ... Tasks=2 Name=sl2 ... CPUFreqReq=Default Dist=Block");
// a step that does not run, a job that runs none and an unknown job get
// its words and exit 1. burst printed its usage and exited 0.
func TestScontrolShowStep(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	id := sbatchFile(t, face, dir, "steps.sh", "#!/bin/sh\n#SBATCH -n 2\nsrun -n 2 -J duo sleep 300 &\nwait\n", "/dev/null")
	h.waitFor("squeue -s to list step "+id+".0", 60*time.Second, func() bool {
		return strings.Contains(face("squeue", "-h", "-s", "-j", id, "-o", "%i").stdout, id+".0\n")
	})
	t.Cleanup(func() { face("scancel", id) })
	r := face("scontrol", "show", "step", id)
	blocks := strings.Split(r.stdout, "\n\n")
	if r.code != 0 || len(blocks) != 3 || blocks[2] != "" {
		t.Fatalf("scontrol show step %s: %s, want two records", id, r)
	}
	for i, want := range []string{
		`StepId=` + id + `.batch UserId=\d+ StartTime=\S+ TimeLimit=UNLIMITED
   State=RUNNING Partition=\S+ NodeList=\S+
   Nodes=1 CPUs=0 Tasks=1 Name=batch Network=\(null\)
   TRES=\(null\)
   ResvPorts=\(null\)
   CPUFreqReq=Default
   SrunHost:Pid=\(null\):0`,
		`StepId=` + id + `.0 UserId=\d+ StartTime=\S+ TimeLimit=UNLIMITED
   State=RUNNING Partition=\S+ NodeList=\S+
   Nodes=1 CPUs=2 Tasks=2 Name=duo Network=\(null\)
   TRES=cpu=2,(mem=\w+,)?node=1
   ResvPorts=\(null\)
   CPUFreqReq=Default Dist=Block
   SrunHost:Pid=\(null\):0`,
	} {
		if !regexp.MustCompile(`^` + want + `$`).MatchString(blocks[i]) {
			t.Errorf("scontrol show step %s, record %d:\n%s\nwant\n%s", id, i, blocks[i], want)
		}
	}
	if r := face("scontrol", "-o", "show", "steps", id+".0"); r.code != 0 || strings.Count(r.stdout, "\n") != 1 ||
		!strings.HasPrefix(r.stdout, "StepId="+id+".0 ") || !strings.Contains(r.stdout, " Dist=Block SrunHost:Pid=(null):0\n") {
		t.Errorf("scontrol -o show steps %s.0: %s, want that step on one line", id, r)
	}
	if r := face("scontrol", "show", "step"); r.code != 0 || !strings.Contains(r.stdout, "StepId="+id+".0 ") {
		t.Errorf("scontrol show step (every job's): %s", r)
	}
	if r := face("scontrol", "show", "step", id+".7"); r.code != 1 || r.stdout != "Job step "+id+".7 not found\n" {
		t.Errorf("scontrol show step %s.7: %s, want it not found on stdout, exit 1", id, r)
	}
	if r := face("scontrol", "show", "step", "99999"); r.code != 1 || r.stderr != "slurm_get_job_steps error: Invalid job id specified\n" {
		t.Errorf("scontrol show step 99999: %s", r)
	}
	face("scancel", id)
	h.waitFor("job "+id+" to end", 60*time.Second, func() bool {
		return face("squeue", "-h", "-j", id, "-t", "all", "-o", "%T").stdout != "RUNNING\n"
	})
	if r := face("scontrol", "show", "step", id); r.code != 1 || r.stdout != "Job step "+id+". not found\n" {
		t.Errorf("scontrol show step %s after it ended: %s, want %q, exit 1", id, r, "Job step "+id+". not found")
	}
}
