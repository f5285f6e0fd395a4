package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSstat: sstat of a running job, as a batch script ending in sstat
// asks it (sstat -j $SLURM_JOB_ID.batch -o MaxRSS,AveCPU): the batch step's
// peak memory and CPU time so far, its lowest srun step running for the
// job alone, every step with -a, and Slurm 22.05's words for a step or a
// job that does not run (checked beside its sstat: header, the error,
// exit 0). A script calling sstat ended FAILED, 127, for a command burst
// did not have.
func TestSstat(t *testing.T) {
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
