package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Large arrays lose no task: a script is never exec'd while another fork
// may hold a write descriptor on it (ETXTBSY, "text file busy", which failed
// 0.2-0.7% of a few-hundred-task array's tasks with exit 127). Five runs of a
// 5,000-task array in a row, every task must succeed.
func TestArrayNoSpuriousFailures(t *testing.T) {
	h := newHarness(t)
	writeFile(t, filepath.Join(h.dir, "a.sh"), "#!/bin/sh\n#SBATCH --array=0-4999\n#SBATCH -o /dev/null\nexit 0\n", 0o755)
	for run := 1; run <= 5; run++ {
		r := h.runIn(h.dir, "run", "-d", "a.sh")
		if r.code != 0 {
			t.Fatalf("run %d: %s", run, r)
		}
		id := strings.TrimSpace(r.stdout)
		w := h.run("wait", id)
		j := h.show(mustID(t, id))
		if w.code != 0 || j.Tasks.Succeeded != 5000 || j.Tasks.Failed != 0 {
			t.Fatalf("run %d: %d of 5000 tasks succeeded, %d failed (wait: %s)", run, j.Tasks.Succeeded, j.Tasks.Failed, w)
		}
	}
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		t.Fatalf("not a job id: %q", s)
	}
	return id
}

// Every array task is its own job to the script, as in Slurm (job_array.html:
// "each array task has its own SLURM_JOB_ID"; sbatch(1) filename patterns %A
// array's master job id, %a array index, %j job id of the running job), and
// the id it sees is one that show, logs and cancel accept (as do squeue and
// scancel, also in the ARRAYID_INDEX form).
func TestArrayTasksAreJobs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	script := "#!/bin/sh\n#SBATCH -J arr\n#SBATCH --array=1-5:2\n#SBATCH -o out-%A_%a-%j.txt\n" +
		"echo \"$SLURM_JOB_ID $SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_COUNT $SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_MAX $SLURM_ARRAY_TASK_STEP\"\n" +
		"mkdir scratch-$SLURM_JOB_ID\n"
	writeFile(t, filepath.Join(h.dir, "arr.sh"), script, 0o755)
	r := h.runIn(h.dir, "run", "-d", "arr.sh")
	if r.code != 0 {
		t.Fatal(r)
	}
	a := mustID(t, r.stdout)
	h.mustRun("wait", idArg(a))
	for pos, idx := range []int{1, 3, 5} {
		own := a + int64(pos)
		name := fmt.Sprintf("out-%d_%d-%d.txt", a, idx, own)
		b, err := os.ReadFile(filepath.Join(h.dir, name))
		if err != nil {
			t.Fatalf("array index %d: no %s: %v", idx, name, err)
		}
		if want := fmt.Sprintf("%d %d %d 3 1 5 2\n", own, a, idx); string(b) != want {
			t.Errorf("%s = %q, want %q", name, b, want)
		}
		if _, err := os.Stat(filepath.Join(h.dir, fmt.Sprintf("scratch-%d", own))); err != nil {
			t.Errorf("per-task scratch directories collide: %v", err)
		}
		// The id it saw is accepted by show and logs, and so is ARRAYID_INDEX.
		for _, ref := range []string{idArg(own), fmt.Sprintf("%d_%d", a, idx)} {
			if out := h.mustRun("logs", ref).stdout; !strings.HasPrefix(out, fmt.Sprintf("%d %d %d ", own, a, idx)) {
				t.Errorf("burst logs %s = %q", ref, out)
			}
			var shown struct {
				ID        int64 `json:"id"`
				ArrayTask *struct {
					Task       int `json:"task"`
					ArrayIndex int `json:"array_index"`
				} `json:"array_task"`
				TaskList []taskJSON `json:"task_list"`
			}
			if err := json.Unmarshal([]byte(h.mustRun("show", ref, "-o", "json").stdout), &shown); err != nil {
				t.Fatal(err)
			}
			if ref == idArg(a) {
				// The first task's id is the array's own, which names the
				// whole array (scancel ID cancels every task, as in Slurm).
				if shown.ID != a || shown.ArrayTask != nil || len(shown.TaskList) != 3 {
					t.Errorf("burst show %s: %+v", ref, shown)
				}
				continue
			}
			if shown.ID != a || shown.ArrayTask == nil || shown.ArrayTask.ArrayIndex != idx || len(shown.TaskList) != 1 || shown.TaskList[0].Index != pos {
				t.Errorf("burst show %s: %+v", ref, shown)
			}
		}
	}
	// The array holds its tasks' ids: the next job's id comes after them.
	next := h.submit("--", "true")
	if next != a+3 {
		t.Errorf("job after a 3-task array %d got id %d, want %d", a, next, a+3)
	}
	if r := h.run("show", idArg(a)+"_2"); r.code != 2 || !strings.Contains(r.stderr, "no index 2") {
		t.Errorf("an index the array does not have: %s", r)
	}

	// scancel of one array task's id cancels that task alone.
	writeFile(t, filepath.Join(h.dir, "sl.sh"), "#!/bin/sh\n#SBATCH --array=0-3\n#SBATCH -o /dev/null\nsleep 60\n", 0o755)
	r = h.runIn(h.dir, "run", "-d", "sl.sh")
	b := mustID(t, r.stdout)
	if out := h.mustRun("cancel", idArg(b+3)).stdout; !strings.Contains(out, "index 3") || !strings.Contains(out, "cancelled") {
		t.Errorf("cancel of one array task: %q", out)
	}
	h.waitFor("the other tasks to run on", 30*time.Second, func() bool {
		j := h.show(b)
		return j.Tasks.Running >= 1
	})
	j := h.show(b)
	for _, tk := range j.TaskList {
		if tk.Index == 3 && tk.State != "cancelled" {
			t.Errorf("task 3 after its cancel: %s", tk.State)
		}
		if tk.Index != 3 && tk.State == "cancelled" {
			t.Errorf("task %d cancelled with task 3: the array's other tasks must go on", tk.Index)
		}
	}
	h.mustRun("cancel", idArg(b))
}
