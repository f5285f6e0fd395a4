package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSlurmFaceAfterCorr runs two job arrays through the personality's
// sbatch, the second with -d aftercorr on the first: each of its tasks
// starts once the task of the same index of the first succeeded (by the
// times the tasks write), whatever the others do; the one whose task
// failed stays pending with DependencyNeverSatisfied, as does the one
// with no task of its index once the first array as a whole failed; squeue
// -r and scontrol show each task's own dependency. A job may wait for one
// task of an array (afterok:ID_INDEX), and one that does not exist is
// refused. A server killed with kill -9 while they wait keeps every gate.
func TestSlurmFaceAfterCorr(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir, face, sbatch := slurmFace(t, h)
	squeue := func(id string) string {
		return strings.TrimSpace(face("squeue", "-h", "-r", "-o", "%i %t %r %E", "-j", id).stdout)
	}
	exists := func(name string) bool { _, err := os.Stat(filepath.Join(dir, name)); return err == nil }
	// when reads the time a task wrote in name.
	when := func(name string) float64 {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil {
			t.Fatalf("%s holds %q, not a time", name, b)
		}
		return f
	}

	// Task 0 of a waits for the file go; task 2 fails. Each task writes
	// the time it ended (a) or started (b) to a file it moves in place.
	a := sbatch("--array=0-3", "--wrap", `i=$SLURM_ARRAY_TASK_ID; if [ $i = 0 ]; then while [ ! -e go ]; do sleep 0.1; done; fi; date +%s.%N > a_$i.x; mv a_$i.x a_$i.t; [ $i != 2 ]`)
	b := sbatch("--array=0-4", "-d", "aftercorr:"+a, "--wrap", `date +%s.%N > b_$SLURM_ARRAY_TASK_ID.x; mv b_$SLURM_ARRAY_TASK_ID.x b_$SLURM_ARRAY_TASK_ID.t`)
	one := sbatch("-d", "afterok:"+a+"_1", "--wrap", `date +%s.%N > one.x; mv one.x one.t`)
	h.waitFor("tasks 1 and 3 of b and the job after task 1 of a to run", 60*time.Second, func() bool {
		return exists("b_1.t") && exists("b_3.t") && exists("one.t")
	})
	for _, i := range []string{"1", "3"} {
		if when("b_"+i+".t") < when("a_"+i+".t") {
			t.Errorf("task %s of job %s ran before task %s of job %s ended", i, b, i, a)
		}
	}
	if when("one.t") < when("a_1.t") {
		t.Errorf("job %s (afterok:%s_1) ran before task 1 of job %s ended", one, a, a)
	}
	// A server killed mid-wait keeps every gate.
	h.kill9(h.serverPID(), "server")
	h.waitFor("task 2 of b to be never satisfied", 30*time.Second, func() bool {
		return strings.Contains(squeue(b), b+"_2 PD DependencyNeverSatisfied aftercorr:"+a+"_*(failed)")
	})
	got := squeue(b)
	for _, want := range []string{b + "_0 PD Dependency aftercorr:" + a + "_*(unfulfilled)", b + "_4 PD Dependency aftercorr:" + a + "_*(unfulfilled)"} {
		if !strings.Contains(got, want) {
			t.Errorf("squeue -r of the gated array:\n%s\nwant a line %q", got, want)
		}
	}
	if exists("b_0.t") || exists("b_2.t") || exists("b_4.t") {
		t.Fatalf("a task of job %s ran before its corresponding task succeeded", b)
	}
	if r := face("scontrol", "show", "job", b+"_2"); !strings.Contains(r.stdout, "Reason=DependencyNeverSatisfied Dependency=aftercorr:"+a+"_*(failed)") {
		t.Errorf("scontrol show job %s_2:\n%s", b, r.stdout)
	}

	// Task 0 of a ends: task 0 of b runs; task 4, which has no task of its
	// index in a, can never run now that a failed as a whole.
	writeFile(t, filepath.Join(dir, "go"), "", 0o644)
	h.waitFor("task 0 of b to run", 60*time.Second, func() bool { return exists("b_0.t") })
	if when("b_0.t") < when("a_0.t") {
		t.Errorf("task 0 of job %s ran before task 0 of job %s ended", b, a)
	}
	h.waitFor("task 4 of b to be never satisfied", 30*time.Second, func() bool {
		return strings.Contains(squeue(b), b+"_4 PD DependencyNeverSatisfied aftercorr:"+a+"_*(failed)")
	})
	if exists("b_2.t") || exists("b_4.t") {
		t.Errorf("a task of job %s ran whose dependency failed", b)
	}
	if r := face("scancel", b); r.code != 0 {
		t.Fatalf("scancel %s: %s", b, r)
	}

	// A task the array does not have is dropped, as Slurm 22.05's sbatch
	// drops it: the job waits for nothing and runs.
	r := face("sbatch", "--parsable", "-d", "afterok:"+a+"_9", "--wrap", "true")
	if r.code != 0 {
		t.Fatalf("sbatch -d on a task an array does not have: want it taken, as sbatch takes it: %s", r)
	}
	h.mustRun("wait", strings.TrimSpace(r.stdout))
}
