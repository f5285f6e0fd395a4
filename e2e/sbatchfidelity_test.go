package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// Large arrays lose no task: a script is never exec'd while another fork
// may hold a write descriptor on it (ETXTBSY, "text file busy", which failed
// 0.2-0.7% of a few-hundred-task array's tasks with exit 127). Three runs of
// a 1,500-task array in a row, every task must succeed: at the lowest rate
// seen, 4,500 tasks without the fix pass with a chance of about 1 in 8,000.
func TestArrayNoSpuriousFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	writeFile(t, filepath.Join(h.dir, "a.sh"), "#!/bin/sh\n#SBATCH --array=0-1499\n#SBATCH -o /dev/null\nexit 0\n", 0o755)
	for run := 1; run <= 3; run++ {
		r := h.runIn(h.dir, "run", "-d", "a.sh")
		if r.code != 0 {
			t.Fatalf("run %d: %s", run, r)
		}
		id := strings.TrimSpace(r.stdout)
		w := h.run("wait", id)
		j := h.show(mustID(t, id))
		if w.code != 0 || j.Tasks.Succeeded != 1500 || j.Tasks.Failed != 0 {
			t.Fatalf("run %d: %d of 1500 tasks succeeded, %d failed (wait: %s)", run, j.Tasks.Succeeded, j.Tasks.Failed, w)
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
	// burst wait takes an array task's id too.
	if r := h.run("wait", idArg(a+2)); r.code != 0 || !strings.Contains(r.stdout, "job "+idArg(a+2)+" succeeded") {
		t.Errorf("burst wait of an array task's id: %s", r)
	}
	// The array holds its tasks' ids: the next job's id comes after them.
	next := h.submit("--", "true")
	if next != a+3 {
		t.Errorf("job after a 3-task array %d got id %d, want %d", a, next, a+3)
	}
	if r := h.run("show", idArg(a)+"_2"); r.code != 2 || !strings.Contains(r.stderr, "no index 2") {
		t.Errorf("an index the array does not have: %s", r)
	}
	for _, bad := range []string{idArg(a) + "_x", "_1", "0", idArg(a) + "_"} {
		if r := h.run("cancel", bad); r.code != 2 || !strings.Contains(r.stderr, "job id") {
			t.Errorf("burst cancel %q should be refused as bad input naming the forms a job id takes: %s", bad, r)
		}
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

// The variables of a batch step (sbatch(1), OUTPUT ENVIRONMENT VARIABLES),
// for a job that runs on one node as task 0 of its step.
func TestBatchStepEnvironment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	vars := []string{"SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP",
		"SLURM_MEM_PER_CPU", "SLURM_MEM_PER_NODE", "SLURM_JOB_CPUS_PER_NODE", "SLURM_TASKS_PER_NODE", "SLURM_NPROCS",
		"SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID", "SLURM_NNODES", "SLURM_NODELIST", "SLURM_CLUSTER_NAME",
		"SLURM_JOB_PARTITION", "SLURM_CPUS_PER_TASK", "SLURM_NTASKS", "SLURM_JOB_ACCOUNT", "SLURM_JOB_UID", "SLURM_JOB_GID",
		"SLURM_NTASKS_PER_NODE"}
	var body strings.Builder
	body.WriteString("#!/bin/sh\n#SBATCH --array=0-9:3\n#SBATCH -n 2 -c 1 --mem-per-cpu=100M\n#SBATCH -o env-%a.txt\n")
	for _, v := range vars {
		fmt.Fprintf(&body, "echo %s=${%s-unset}\n", v, v)
	}
	writeFile(t, filepath.Join(h.dir, "env.sh"), body.String(), 0o755)
	r := h.runIn(h.dir, "run", "-d", "env.sh")
	if r.code != 0 {
		t.Fatal(r)
	}
	h.mustRun("wait", strings.TrimSpace(r.stdout))
	b, err := os.ReadFile(filepath.Join(h.dir, "env-6.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		got[k] = v
	}
	host, _ := os.Hostname()
	want := map[string]string{
		"SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "9", "SLURM_ARRAY_TASK_STEP": "3",
		"SLURM_MEM_PER_CPU": "100", "SLURM_MEM_PER_NODE": "unset", // --mem-per-cpu: no MEM_PER_NODE
		"SLURM_JOB_CPUS_PER_NODE": "2", "SLURM_TASKS_PER_NODE": "2", "SLURM_NPROCS": "2", "SLURM_NTASKS": "2",
		"SLURM_CPUS_PER_TASK": "1", "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0", "SLURM_NNODES": "1",
		// The Slurm cluster is burst (scontrol show config's ClusterName);
		// a burst cluster is a partition.
		"SLURM_NODELIST": host, "SLURM_CLUSTER_NAME": "burst", "SLURM_JOB_PARTITION": "local",
		"SLURM_JOB_ACCOUNT": "default", // the project that pays, as -A names it
		// The user and group it runs as (the agent's).
		"SLURM_JOB_UID": strconv.Itoa(os.Getuid()), "SLURM_JOB_GID": strconv.Itoa(os.Getgid()),
		"SLURM_NTASKS_PER_NODE": "unset", // only with --ntasks-per-node
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
	// Without -n or -c, sbatch sets none of these (checked with Slurm 22.05).
	writeFile(t, filepath.Join(h.dir, "plain.sh"), "#!/bin/sh\necho ${SLURM_NTASKS-unset} ${SLURM_NPROCS-unset} ${SLURM_CPUS_PER_TASK-unset}\n", 0o755)
	if r := h.runIn(h.dir, "run", "plain.sh"); r.stdout != "unset unset unset\n" {
		t.Errorf("a script without -n or -c: %q, want them unset as sbatch leaves them", r.stdout)
	}
	writeFile(t, filepath.Join(h.dir, "pernode.sh"), "#!/bin/sh\n#SBATCH --ntasks-per-node=2\necho $SLURM_NTASKS_PER_NODE $SLURM_NTASKS\n", 0o755)
	if r := h.runIn(h.dir, "run", "pernode.sh"); r.stdout != "2 2\n" {
		t.Errorf("a script with --ntasks-per-node=2: %q, want SLURM_NTASKS_PER_NODE and SLURM_NTASKS 2", r.stdout)
	}
}

// Output files as sbatch writes them (sbatch(1) --output, --error,
// --open-mode): slurm-%j.out by default, in the job's working directory; the
// file exists from the start; truncated unless --open-mode=append; stderr
// goes with stdout unless --error is given (and the terminal shows each line
// once); a directory that does not exist fails the job, as under Slurm, and
// is not created; a path inside $BURST_HOME is refused.
func TestBatchOutputFiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := h.dir

	// The file exists, empty, while the script has not written yet.
	gate := filepath.Join(dir, "gate")
	writeFile(t, filepath.Join(dir, "wait.sh"), "#!/bin/sh\nwhile [ ! -e "+gate+" ]; do sleep 0.05; done\necho done\n", 0o755)
	r := h.runIn(dir, "run", "-d", "wait.sh")
	id := mustID(t, r.stdout)
	out := filepath.Join(dir, "slurm-"+idArg(id)+".out")
	h.waitFor("the job to run", 30*time.Second, func() bool { return h.show(id).State == "running" })
	if st, err := os.Stat(out); err != nil || st.Size() != 0 {
		t.Errorf("while the script runs and has written nothing, %s should exist, empty: %v", out, err)
	}
	writeFile(t, gate, "", 0o644)
	h.mustRun("wait", idArg(id))
	if b, _ := os.ReadFile(out); string(b) != "done\n" {
		t.Errorf("%s = %q", out, b)
	}

	// -o without -e: one file, and burst run prints each line once.
	writeFile(t, filepath.Join(dir, "both.sh"), "#!/bin/sh\necho to-out\necho to-err >&2\n", 0o755)
	r = h.runIn(dir, "run", "-o", "same.txt", "both.sh")
	if r.code != 0 || strings.Count(r.stdout+r.stderr, "to-out") != 1 || strings.Count(r.stdout+r.stderr, "to-err") != 1 {
		t.Errorf("each line should reach the terminal once:\n%s", r)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "same.txt")); string(b) != "to-out\nto-err\n" {
		t.Errorf("same.txt = %q", b)
	}

	// Truncated at each run, unless --open-mode=append.
	h.runIn(dir, "run", "-o", "same.txt", "both.sh")
	if b, _ := os.ReadFile(filepath.Join(dir, "same.txt")); string(b) != "to-out\nto-err\n" {
		t.Errorf("a second run should truncate same.txt: %q", b)
	}
	h.runIn(dir, "run", "-o", "same.txt", "--open-mode=append", "both.sh")
	if b, _ := os.ReadFile(filepath.Join(dir, "same.txt")); string(b) != "to-out\nto-err\nto-out\nto-err\n" {
		t.Errorf("--open-mode=append should append: %q", b)
	}

	// A directory that does not exist fails the job, naming it; burst does
	// not create it.
	r = h.runIn(dir, "run", "-o", "nodir/out-%j.txt", "both.sh")
	if r.code == 0 || !strings.Contains(r.stderr, "nodir") || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("an --output in a missing directory should fail the job, naming it:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "nodir")); !os.IsNotExist(err) {
		t.Errorf("burst created the missing directory: %v", err)
	}

	// Inside $BURST_HOME: refused before anything runs.
	r = h.runIn(dir, "run", "-o", filepath.Join(h.home, "state.db"), "both.sh")
	if r.code != 2 || !strings.Contains(r.stderr, "inside burst's own directory") {
		t.Errorf("an --output inside BURST_HOME should be refused:\n%s", r)
	}
	if st, err := os.Stat(filepath.Join(h.home, "state.db")); err != nil || st.Size() == 0 {
		t.Fatalf("the store was harmed: %v", err)
	}

	// An array's default is slurm-%A_%a.out (sbatch(1) --output: "for job
	// arrays, the default file name is slurm-%A_%a.out"), one per task.
	arr := filepath.Join(dir, "arr")
	if err := os.Mkdir(arr, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(arr, "arr.sh"), "#!/bin/sh\n#SBATCH --array=3,5\necho task $SLURM_ARRAY_TASK_ID\n", 0o755)
	r = h.runIn(arr, "run", "-d", "arr.sh")
	aid := mustID(t, r.stdout)
	h.mustRun("wait", idArg(aid))
	for _, i := range []string{"3", "5"} {
		f := filepath.Join(arr, "slurm-"+idArg(aid)+"_"+i+".out")
		if b, err := os.ReadFile(f); err != nil || string(b) != "task "+i+"\n" {
			t.Errorf("%s = %q, %v; want \"task %s\\n\"", f, b, err, i)
		}
	}
	if ents, _ := os.ReadDir(arr); len(ents) != 3 {
		t.Errorf("the array's directory should hold arr.sh and two slurm-%%A_%%a.out files: %v", ents)
	}
}

// sbatch's command-line options work on burst run SCRIPT and override the
// directives (sbatch(1): "options on the command line take precedence"), and
// --export=NONE gives a login environment (sbatch(1) --export: "as if
// --get-user-env was specified") rather than none at all, and so does
// --export=ALL,VAR=x under the submitter's (Slurm 22.05 does).
func TestSbatchCommandLineOptions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := h.dir
	writeFile(t, filepath.Join(dir, "job.sh"), "#!/bin/sh\n#SBATCH -J fromscript\n#SBATCH -o wrong-%j.txt\n#SBATCH -t 0:30\n"+
		"echo \"$SLURM_JOB_NAME $SLURM_ARRAY_TASK_ID $SLURM_NTASKS ${MYVAR-unset} ${HOME:+home} $(pwd)\"\n", 0o755)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	h.setEnv("MYVAR", "mine")
	r := h.runIn(dir, "run", "-d", "--array=1-2", "-o", "ok-%a.txt", "-J", "fromflag", "-n", "2", "-D", "sub", "job.sh")
	if r.code != 0 {
		t.Fatal(r)
	}
	id := mustID(t, r.stdout)
	h.mustRun("wait", idArg(id))
	for _, a := range []string{"1", "2"} {
		b, err := os.ReadFile(filepath.Join(dir, "sub", "ok-"+a+".txt"))
		if err != nil {
			t.Fatalf("--array and -o from the command line, -D sub: %v", err)
		}
		if want := "fromflag " + a + " 2 mine home " + filepath.Join(dir, "sub") + "\n"; string(b) != want {
			t.Errorf("ok-%s.txt = %q, want %q", a, b, want)
		}
	}
	if j := h.show(id); j.TimeLimitS != 60 {
		t.Errorf("#SBATCH -t 0:30 gives a limit of %d s; Slurm's limits are whole minutes: want 60", j.TimeLimitS)
	}

	// --export=NONE: the submitter's variables are gone, but the job runs
	// with a login's PATH and HOME (it used to fail with 127).
	r = h.runIn(dir, "run", "--export=NONE", "-o", "none.txt", "job.sh")
	if r.code != 0 {
		t.Fatalf("--export=NONE: %s", r)
	}
	// No -n: no SLURM_NTASKS, as with sbatch.
	if b, _ := os.ReadFile(filepath.Join(dir, "none.txt")); !strings.HasPrefix(string(b), "fromscript   unset home ") {
		t.Errorf("--export=NONE: none.txt = %q, want MYVAR unset and HOME set", b)
	}

	// --export=ALL with variables: the submitter's environment, those
	// variables, and under them the login's (LOGNAME, which the submitter
	// here lacks), as Slurm 22.05 gives it; --export=ALL alone, none of it.
	for export, want := range map[string]string{"ALL,MYVAR=over": "over logname\n", "ALL": "mine \n"} {
		r = h.runIn(dir, "slurm", "sbatch", "-W", "--export="+export, "-o", "allv.txt", "--wrap", `echo "${MYVAR-unset} ${LOGNAME:+logname}"`)
		if b, _ := os.ReadFile(filepath.Join(dir, "allv.txt")); r.code != 0 || string(b) != want {
			t.Errorf("sbatch --export=%s: allv.txt = %q, want %q\n%s", export, b, want, r)
		}
	}

	// An sbatch option with a plain command is refused with the fix.
	if r := h.run("run", "--array", "1-3", "--", "true"); r.code != 2 || !strings.Contains(r.stderr, "batch script") {
		t.Errorf("--array on a plain command: %s", r)
	}
}

// TestSbatchFindsScriptOnPath: Slurm's sbatch looks for a script named
// without a slash in PATH when the working directory has none (`sbatch
// align.sh`, align.sh in ~/bin, readable, executable or not); burst said it
// could not read the script.
func TestSbatchFindsScriptOnPath(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bin := filepath.Join(h.dir, "bin")
	os.Mkdir(bin, 0o755)
	writeFile(t, filepath.Join(bin, "align.sh"), "#!/bin/sh\n#SBATCH -o found-%x.out\necho found \"$@\"\n", 0o644)
	work := filepath.Join(h.dir, "work")
	os.Mkdir(work, 0o755)
	h.setEnv("PATH", bin+":"+os.Getenv("PATH"))
	if r := h.runIn(work, "slurm", "sbatch", "-W", "align.sh", "s1.fq"); r.code != 0 {
		t.Fatal(r)
	}
	if b, err := os.ReadFile(filepath.Join(work, "found-align.sh.out")); string(b) != "found s1.fq\n" {
		t.Errorf("the script from PATH, run in the working directory: %q, %v", b, err)
	}
	// A name with a slash is not looked for, as sbatch's is not.
	if r := h.runIn(work, "slurm", "sbatch", "./align.sh"); r.code != 1 || !strings.Contains(r.stderr, "./align.sh") {
		t.Errorf("sbatch ./align.sh with none here: want it refused naming it:\n%s", r)
	}
}

// Cancelling one array task (scancel of its own id) is durable: a task
// cancelled while it ran is still stopped after a kill -9 of the server even
// if its agent never heard of the cancel before, a task cancelled before its
// turn never runs, and the array's other tasks run on.
func TestArrayTaskCancelSurvivesRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	writeFile(t, filepath.Join(h.dir, "c.sh"), "#!/bin/sh\n#SBATCH --array=0-5%2\n#SBATCH -o /dev/null\n"+
		"case $SLURM_ARRAY_TASK_ID in 0|1) sleep 120;; esac\n", 0o755)
	a := mustID(t, h.runIn(h.dir, "run", "-d", "c.sh").stdout)
	h.waitFor("tasks 0 and 1 to run", 30*time.Second, func() bool { return h.show(a).Tasks.Running == 2 })
	agent := h.agentPID()
	if err := syscall.Kill(agent, syscall.SIGSTOP); err != nil { // it hears of no cancel before the crash
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			syscall.Kill(agent, syscall.SIGCONT)
		}
	}()
	h.mustRun("cancel", idArg(a+1), idArg(a)+"_4")
	h.kill9(h.serverPID(), "server")
	syscall.Kill(agent, syscall.SIGCONT)
	stopped = false
	state := func(idx int) taskJSON {
		for _, tk := range h.show(a).TaskList {
			if tk.Index == idx {
				return tk
			}
		}
		t.Fatalf("no task %d", idx)
		return taskJSON{}
	}
	h.waitFor("task 1 to be stopped by the restarted server", 60*time.Second, func() bool { return state(1).State == "cancelled" })
	h.waitFor("tasks 2, 3 and 5 to run and succeed", 60*time.Second, func() bool { return h.show(a).Tasks.Succeeded == 3 })
	if tk := state(4); tk.State != "cancelled" || tk.Attempt != 0 {
		t.Errorf("task 4, cancelled before its turn, must never run: %+v", tk)
	}
	if tk := state(0); tk.State != "running" {
		t.Errorf("task 0 was not cancelled and must run on: %+v", tk)
	}
	h.mustRun("cancel", idArg(a))
	h.run("wait", idArg(a))
}

// A running array task cancelled alone stays cancelled when the server dies
// before its agent heard of it, and the agent dies too: the restarted server
// does not run it again (it would, for a task whose machine was lost).
func TestArrayTaskCancelIsDurable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	writeFile(t, filepath.Join(h.dir, "d.sh"), "#!/bin/sh\n#SBATCH --array=0-1\n#SBATCH -o /dev/null\nsleep 120\n", 0o755)
	a := mustID(t, h.runIn(h.dir, "run", "-d", "d.sh").stdout)
	h.waitFor("both tasks to run", 30*time.Second, func() bool { return h.show(a).Tasks.Running == 2 })
	agent := h.agentPID()
	if err := syscall.Kill(agent, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	h.mustRun("cancel", idArg(a+1))
	h.kill9(h.serverPID(), "server")
	h.kill9(agent, "agent") // its tasks are orphans now: a new agent kills them and they are lost
	h.waitFor("task 1 to end cancelled, not to run again", 60*time.Second, func() bool {
		for _, tk := range h.show(a).TaskList {
			if tk.Index == 1 {
				if tk.Attempt > 1 {
					t.Fatalf("task 1 was cancelled, yet it runs again: %+v", tk)
				}
				return tk.State == "cancelled"
			}
		}
		return false
	})
	h.waitFor("task 0 to run again (its machine was lost)", 60*time.Second, func() bool {
		for _, tk := range h.show(a).TaskList {
			if tk.Index == 0 {
				return tk.State == "running" && tk.Attempt >= 1
			}
		}
		return false
	})
	h.mustRun("cancel", idArg(a))
}

// Edge cases of batch scripts, each once broken: output files reached
// through links into $BURST_HOME, output kept across a retry (Slurm reopens
// a requeued job's files to append), --get-user-env keeping the submitter's
// variables over the login's, --mem-per-cpu times a command-line -c, and no
// script file left behind by a task that could not start.
func TestBatchEdgeCases(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := h.dir
	writeFile(t, filepath.Join(dir, "hi.sh"), "#!/bin/sh\necho hi\n", 0o755)
	h.mustRun("run", "-o", "/dev/null", filepath.Join(dir, "hi.sh")) // the server is up: its home exists

	t.Run("links_into_home", func(t *testing.T) {
		os.Symlink(filepath.Join(h.home, "agents"), filepath.Join(dir, "L"))
		r := h.runIn(dir, "run", "-o", dir+"/L/../pwned.out", "hi.sh") // not Join: it would clean the ..
		if r.code != 2 || !strings.Contains(r.stderr, "inside burst's own directory") {
			t.Errorf("-o through a link and .. into BURST_HOME should be refused:\n%s", r)
		}
		host, _ := os.Hostname()
		os.Symlink(h.home, filepath.Join(dir, "x"+host))
		r = h.runIn(dir, "run", "-o", filepath.Join(dir, "x%N", "pwned.out"), "hi.sh")
		if r.code != 2 || !strings.Contains(r.stderr, "inside burst's own directory") {
			t.Errorf("-o x%%N/... leading into BURST_HOME should be refused:\n%s", r)
		}
		// A link made after the job was accepted: the agent checks the file it opened.
		os.Mkdir(filepath.Join(dir, "o0"), 0o755)
		gate := filepath.Join(dir, "gate")
		writeFile(t, filepath.Join(dir, "arr.sh"), "#!/bin/sh\n#SBATCH --array=0-1%1\nwhile [ ! -e "+gate+" ]; do sleep 0.05; done\n", 0o755)
		a := mustID(t, h.runIn(dir, "run", "-d", "-o", "o%a/x.out", "arr.sh").stdout)
		h.waitFor("task 0 to run", 30*time.Second, func() bool { return h.show(a).Tasks.Running == 1 })
		os.Symlink(h.home, filepath.Join(dir, "o1"))
		writeFile(t, gate, "", 0o644)
		h.run("wait", idArg(a))
		j := h.show(a)
		if j.Tasks.Succeeded != 1 || j.Tasks.Failed != 1 || !strings.Contains(j.TaskList[1].Reason, "inside burst's own directory") {
			t.Errorf("task 1's output, a link into BURST_HOME made after submission, must be refused: %+v", j.TaskList)
		}
		for _, p := range []string{"pwned.out", "x.out"} {
			if _, err := os.Stat(filepath.Join(h.home, p)); !os.IsNotExist(err) {
				t.Errorf("%s was written into BURST_HOME: %v", p, err)
			}
		}
	})

	t.Run("retry_appends", func(t *testing.T) {
		mark := filepath.Join(dir, "tried")
		writeFile(t, filepath.Join(dir, "r.sh"), "#!/bin/sh\nif [ -e "+mark+" ]; then echo second; exit 0; fi\ntouch "+mark+"\necho first; exit 1\n", 0o755)
		r := h.runIn(dir, "run", "--retries", "1", "-o", "r.out", "r.sh")
		if r.code != 0 {
			t.Fatalf("the retry should succeed:\n%s", r)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "r.out")); string(b) != "first\nsecond\n" {
			t.Errorf("r.out = %q: a task run again by --retries appends to its file: the failed attempt's output says why it failed", b)
		}
		if !strings.Contains(r.stdout, "second") {
			t.Errorf("burst run should print the retry's output:\n%s", r)
		}
	})

	t.Run("get_user_env_keeps_submitter_vars", func(t *testing.T) {
		h := h.sub(t)
		h.setEnv("FROMSUBMIT", "yes")
		writeFile(t, filepath.Join(dir, "e.sh"), "#!/bin/sh\necho \"${FROMSUBMIT-unset} ${HOME:+home}\"\n", 0o755)
		h.runIn(dir, "run", "--get-user-env", "-o", "gue.out", "e.sh")
		if b, _ := os.ReadFile(filepath.Join(dir, "gue.out")); string(b) != "yes home\n" {
			t.Errorf("--get-user-env: %q; sbatch(1): variables set in sbatch's environment take precedence over the login's", b)
		}
		h.runIn(dir, "run", "--get-user-env=10L", "-o", "gue2.out", "e.sh")
		if b, _ := os.ReadFile(filepath.Join(dir, "gue2.out")); string(b) != "yes home\n" {
			t.Errorf("--get-user-env=10L (sbatch's form with a timeout): %q", b)
		}
	})

	t.Run("mem_per_cpu_times_cli_cpus", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "m.sh"), "#!/bin/sh\n#SBATCH --mem-per-cpu=100M\ntrue\n", 0o755)
		r := h.runIn(dir, "run", "-d", "-c", "2", "-o", "/dev/null", "m.sh")
		if r.code != 0 {
			t.Skipf("this host cannot give 2 CPUs: %s", r)
		}
		if j := h.show(mustID(t, r.stdout)); j.MemBytes != 200<<20 {
			t.Errorf("--mem-per-cpu=100M with -c 2: %d bytes, want %d", j.MemBytes, 200<<20)
		}
		if r := h.runIn(dir, "run", "--mem", "1G", "--mem-per-cpu", "1G", "m.sh"); r.code != 2 {
			t.Errorf("--mem with --mem-per-cpu should be refused (sbatch: mutually exclusive):\n%s", r)
		}
	})

	t.Run("no_script_left_by_a_failed_start", func(t *testing.T) {
		r := h.runIn(dir, "run", "-o", "missing/x.out", "hi.sh")
		if r.code == 0 {
			t.Fatalf("a missing output directory should fail the job:\n%s", r)
		}
		h.waitFor("the agent's scripts directory to be empty", 10*time.Second, func() bool {
			ents, _ := os.ReadDir(filepath.Join(h.home, "agents", "local-1", "scripts"))
			return len(ents) == 0
		})
	})
}

// --open-mode=append: each run adds to the file, and burst run and burst
// logs show the job's own output, not what earlier runs left in the file.
func TestAppendShowsOwnOutput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	writeFile(t, filepath.Join(h.dir, "ap.sh"), "#!/bin/sh\n#SBATCH -o app.log\n#SBATCH --open-mode=append\necho \"run $SLURM_JOB_ID\"\n", 0o755)
	var ids []int64
	for i := 0; i < 3; i++ {
		r := h.runIn(h.dir, "run", "ap.sh")
		id := jobIDFrom(t, r)
		ids = append(ids, id)
		if want := "run " + idArg(id) + "\n"; r.stdout != want {
			t.Errorf("run %d printed %q, want only its own %q", i+1, r.stdout, want)
		}
	}
	if out := h.mustRun("logs", idArg(ids[1])).stdout; out != "run "+idArg(ids[1])+"\n" {
		t.Errorf("burst logs of the second run: %q", out)
	}
	b, _ := os.ReadFile(filepath.Join(h.dir, "app.log"))
	if strings.Count(string(b), "run ") != 3 {
		t.Errorf("app.log should hold the three runs: %q", b)
	}
}

// sbatch --input (-i): the script reads the file as its standard input,
// its name a pattern as --output's (%a, %j ...), relative to the working
// directory; a file that cannot be opened fails the task before it starts,
// as Slurm fails the job (JobLaunchFailure) without running the script.
// scontrol shows the file as StdIn, expanded, as Slurm 22.05 shows it
// (each checked with the suite's real Slurm).
func TestBatchInputFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := h.dir
	writeFile(t, filepath.Join(dir, "in-1.txt"), "line1\nline2\n", 0o644)
	writeFile(t, filepath.Join(dir, "inp.sh"), "#!/bin/sh\n#SBATCH --input=in-%a.txt\n#SBATCH --array=1-2 -o inp-%a.out\necho start; cat; echo rc=$?\n", 0o755)
	r := h.runIn(dir, "run", "-d", "inp.sh")
	id := mustID(t, r.stdout)
	h.runIn(dir, "wait", idArg(id))
	if b, err := os.ReadFile(filepath.Join(dir, "inp-1.out")); string(b) != "start\nline1\nline2\nrc=0\n" {
		t.Errorf("task 1 should read in-1.txt as its standard input: inp-1.out = %q, %v", b, err)
	}
	tasks := h.tasks(id)
	if len(tasks) != 2 || tasks[0].State != burst.Succeeded || tasks[1].State != burst.Failed ||
		!strings.Contains(tasks[1].Reason, "--input") || !strings.Contains(tasks[1].Reason, "in-2.txt") {
		t.Fatalf("task 1 should succeed and task 2 (no in-2.txt) fail, naming --input and the file: %+v", tasks)
	}
	if _, err := os.Stat(filepath.Join(dir, "inp-2.out")); err == nil {
		t.Errorf("task 2's script ran without its --input file (inp-2.out exists)")
	}
	r = h.runIn(dir, "scontrol", "show", "job", strconv.FormatInt(id, 10))
	if want := "StdIn=" + filepath.Join(dir, "in-1.txt"); !strings.Contains(r.stdout, want) {
		t.Errorf("scontrol show job should say %s:\n%s", want, r.stdout)
	}

	// On the command line, and "none" is /dev/null, as with --output.
	writeFile(t, filepath.Join(dir, "cat.sh"), "#!/bin/sh\ncat\n", 0o755)
	if r := h.runIn(dir, "run", "-i", "in-1.txt", "cat.sh"); r.code != 0 || r.stdout != "line1\nline2\n" {
		t.Errorf("burst run -i in-1.txt cat.sh:\n%s", r)
	}
	if r := h.runIn(dir, "run", "--input=none", "cat.sh"); r.code != 0 || r.stdout != "" {
		t.Errorf("burst run --input=none cat.sh:\n%s", r)
	}
}

// A job submitted with --dependency sees it in SLURM_JOB_DEPENDENCY, as
// sbatch sets it (afterok:13 for -d afterok:13, checked with the suite's
// real Slurm); one without has none.
func TestBatchDependencyVariable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := strings.TrimSpace(h.runIn(h.dir, "slurm", "sbatch", "--parsable", "-o", "/dev/null", "--wrap", "true").stdout)
	r := h.runIn(h.dir, "slurm", "sbatch", "-W", "-d", "afterok:"+a, "-o", "dep.out", "--wrap", "echo ${SLURM_JOB_DEPENDENCY-unset}")
	if b, err := os.ReadFile(filepath.Join(h.dir, "dep.out")); r.code != 0 || string(b) != "afterok:"+a+"\n" {
		t.Errorf("SLURM_JOB_DEPENDENCY = %q, %v; want afterok:%s\n%s", b, err, a, r)
	}
	h.runIn(h.dir, "slurm", "sbatch", "-W", "-o", "nodep.out", "--wrap", "echo ${SLURM_JOB_DEPENDENCY-unset}")
	if b, _ := os.ReadFile(filepath.Join(h.dir, "nodep.out")); string(b) != "unset\n" {
		t.Errorf("a job without a dependency: SLURM_JOB_DEPENDENCY %q, want unset", b)
	}
}

// scontrol show job gives an sbatch job's tasks, CPUs per task, tasks per
// node and memory per CPU as Slurm 22.05 gives them for the same #SBATCH
// lines (checked with the suite's real Slurm): a script that read
// NumTasks or CPUs/Task from it got 1 task of all the job's CPUs.
func TestScontrolShowJobTaskLayout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, c := range []struct{ script, want string }{
		{"#SBATCH --ntasks=2\n#SBATCH --cpus-per-task=1\n#SBATCH --mem-per-cpu=100M\n",
			"NumCPUs=2 NumTasks=2 CPUs/Task=1 NtasksPerN:B:S:C=0:0:*:* MinCPUsNode=1 MinMemoryCPU=100M"},
		{"#SBATCH --nodes=1\n#SBATCH --ntasks-per-node=2\n",
			"NumCPUs=2 NumTasks=2 CPUs/Task=1 NtasksPerN:B:S:C=2:0:*:* MinCPUsNode=2 MinMemoryNode=0"},
	} {
		writeFile(t, filepath.Join(h.dir, "lay.sh"), "#!/bin/sh\n"+c.script+"true\n", 0o755)
		id := strings.TrimSpace(h.runIn(h.dir, "slurm", "sbatch", "--parsable", "-W", "-o", "/dev/null", "lay.sh").stdout)
		r := h.runIn(h.dir, "slurm", "scontrol", "show", "job", "-o", id)
		var got []string
		for _, f := range strings.Fields(r.stdout) {
			k, _, _ := strings.Cut(f, "=")
			switch k {
			case "NumCPUs", "NumTasks", "CPUs/Task", "NtasksPerN:B:S:C", "MinCPUsNode", "MinMemoryCPU", "MinMemoryNode":
				got = append(got, f)
			}
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s\nscontrol show job: %s\nwant %s\n%s", c.script, g, c.want, r)
		}
	}
}

// A batch step's setup as Slurm 22.05's slurmstepd makes it (checked with
// the suite's real Slurm): TMPDIR is /tmp when the submitter has none (a
// script's `cp input $TMPDIR` then `cd $TMPDIR` copied over its own input
// and ran in $HOME), made when missing, /tmp with slurmstepd's two lines in
// the error file when it cannot be made; ENVIRONMENT is BATCH; and a
// login shell's script (#!/bin/bash -l, whose profile may set PATH afresh,
// as Debian's does) still finds burst's srun.
func TestBatchStepSetup(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	host, _ := os.Hostname()
	writeFile(t, filepath.Join(h.dir, "tmp.sh"), "#!/bin/sh\necho \"TMPDIR=$TMPDIR ENVIRONMENT=$ENVIRONMENT\"\n", 0o755)
	if r := h.runIn(h.dir, "run", "tmp.sh"); r.stdout != "TMPDIR=/tmp ENVIRONMENT=BATCH\n" {
		t.Errorf("no TMPDIR where submitted: %s\nwant TMPDIR=/tmp ENVIRONMENT=BATCH", r)
	}
	// HOSTNAME is the machine's, over the submitter's, in the script and
	// its steps (a python program reads it from the environment, where
	// sh sets none of its own).
	writeFile(t, filepath.Join(h.dir, "host.sh"), "#!/bin/sh\necho \"$HOSTNAME\"\nsrun sh -c 'echo \"$HOSTNAME\"'\n", 0o755)
	h.setEnv("HOSTNAME", "submitter")
	if r, want := h.runIn(h.dir, "run", "host.sh"), host+"\n"+host+"\n"; r.stdout != want {
		t.Errorf("HOSTNAME in a batch step and its srun step: %s\nwant %q", r, want)
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		writeFile(t, filepath.Join(h.dir, "login.sh"), "#!"+bash+" -l\nsrun echo step of $SLURM_JOB_ID\n", 0o755)
		r := h.runIn(h.dir, "run", "-d", "login.sh")
		id := mustID(t, r.stdout)
		h.run("wait", idArg(id))
		if r := h.run("logs", idArg(id)); r.stdout != "step of "+idArg(id)+"\n" {
			t.Errorf("a login shell's script runs srun: %s", r)
		}
	}
	made := filepath.Join(h.dir, "scratch")
	h.setEnv("TMPDIR", made)
	if r := h.runIn(h.dir, "run", "tmp.sh"); r.stdout != "TMPDIR="+made+" ENVIRONMENT=BATCH\n" {
		t.Errorf("TMPDIR %s where submitted: %s", made, r)
	}
	if st, err := os.Stat(made); err != nil || !st.IsDir() {
		t.Errorf("the missing TMPDIR was not made: %v", err)
	}
	bad := filepath.Join(h.dir, "no", "such")
	h.setEnv("TMPDIR", bad)
	h.runIn(h.dir, "run", "-o", "bad.out", "tmp.sh")
	b, _ := os.ReadFile(filepath.Join(h.dir, "bad.out"))
	want := "slurmstepd-" + host + ": error: Unable to create TMPDIR [" + bad + "]: No such file or directory\n" +
		"slurmstepd-" + host + ": error: Setting TMPDIR to /tmp\nTMPDIR=/tmp ENVIRONMENT=BATCH\n"
	if string(b) != want {
		t.Errorf("a TMPDIR that cannot be made: %q, want %q", b, want)
	}
}

// A public script names its site's account (#SBATCH --account=def-prof):
// with no burst project of that name it runs in project default, as a
// partition no cluster is named after runs on local, and burst show lists
// why; an account given on the command line that is no project is still
// refused, naming the fix.
func TestScriptAccountNotAProject(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	writeFile(t, filepath.Join(h.dir, "acct.sh"), "#!/bin/sh\n#SBATCH --account=def-someprof\n#SBATCH -o acct.out\necho ran\n", 0o755)
	r := h.runIn(h.dir, "slurm", "sbatch", "--parsable", "acct.sh")
	if r.code != 0 {
		t.Fatalf("sbatch of a script naming another site's account: %s", r)
	}
	id := mustID(t, r.stdout)
	h.mustRun("wait", idArg(id))
	j := h.show(id)
	if j.Project != "default" || j.State != string(burst.Succeeded) {
		t.Errorf("job %d: project %q, %s; want default, succeeded", id, j.Project, j.State)
	}
	if show := h.mustRun("show", idArg(id)).stdout; !strings.Contains(show, "no burst project is named def-someprof") {
		t.Errorf("burst show does not say why the account was not used:\n%s", show)
	}
	r = h.runIn(h.dir, "run", "acct.sh")
	if r.code != 0 || !strings.Contains(r.stderr, "burst: warning: #SBATCH --account=def-someprof: no burst project is named def-someprof; the job runs in project default") {
		t.Errorf("burst run of the script: %s", r)
	}
	h.mustRun("project", "create", "def-someprof")
	r = h.runIn(h.dir, "slurm", "sbatch", "--parsable", "acct.sh")
	if j := h.show(mustID(t, r.stdout)); j.Project != "def-someprof" {
		t.Errorf("with the project made, the job went to %q", j.Project)
	}
	if r := h.runIn(h.dir, "slurm", "sbatch", "-A", "nosuch", "acct.sh"); r.code != 1 || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("sbatch -A nosuch: %s, want refused naming it", r)
	}
}

// TestSbatchScriptCannotExec: a batch script whose #! interpreter this
// machine lacks, or may not run, ends FAILED with execve's errno as its
// exit code (2:0, 13:0) and slurmstepd's line in its output file, as Slurm
// 22.05 ends it (`slurmstepd-c1: error: execve(): bad interpreter(/bin/tcsh):
// No such file or directory`, ExitCode=2:0). burst gave 127:0 and a line of
// its own. A #! naming an executable file that is no program ends 8:0,
// "execve(): SCRIPT: Exec format error", as 22.05's (burst ran that file
// with /bin/sh). A command run by burst run keeps a shell's 127.
func TestSbatchScriptCannotExec(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	plain := filepath.Join(dir, "plain") // executable, but no program: no #! line, no ELF
	if err := os.WriteFile(plain, []byte("hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ shebang, line, code string }{
		{"#!/nonexistent/tcsh -f", `execve\(\): bad interpreter\(/nonexistent/tcsh -f\): No such file or directory`, "2:0"},
		{"#!/etc/passwd", `execve\(\): /\S+: Permission denied`, "13:0"},
		{"#!" + plain, `execve\(\): /\S+: Exec format error`, "8:0"},
	} {
		id, out := sbatchAndWait(t, h, face, dir, "x.sh", c.shebang+"\necho hi\n")
		if !regexp.MustCompile(`^slurmstepd-\S+: error: ` + c.line + "\n$").Match(out) {
			t.Errorf("%s: the job's output %q, want slurmstepd's line %s", c.shebang, out, c.line)
		}
		if r := face("sacct", "-n", "-P", "-j", id, "-o", "JobID,State,ExitCode"); r.stdout != id+"|FAILED|"+c.code+"\n"+id+".batch|FAILED|"+c.code+"\n" {
			t.Errorf("%s: sacct %s, want FAILED %s", c.shebang, r, c.code)
		}
	}
	if r := h.run("run", "--", "/nonexistent/tcsh"); r.code != 127 {
		t.Errorf("burst run of a program that is missing: %s, want a shell's 127", r)
	}
}

// TestSbatchLaunchFailureExitCode: a job whose output directory does not
// exist, or whose --input file is missing, never runs and ends FAILED,
// Reason JobLaunchFailure, ExitCode 0:53, as Slurm 22.05's scontrol shows
// it (checked: -o nodir/x_%j.out and -i nofile.txt both 0:53). burst said
// 0:0.
func TestSbatchLaunchFailureExitCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, args := range [][]string{{"-o", "nodir/x_%j.out"}, {"-i", "nofile.txt", "-o", "/dev/null"}} {
		r := h.runIn(h.dir, append(append([]string{"slurm", "sbatch", "--parsable"}, args...), "--wrap", "cat")...)
		id := strings.TrimSpace(r.stdout)
		h.run("wait", id)
		r = h.mustRun("slurm", "scontrol", "-o", "show", "job", id)
		for _, want := range []string{" JobState=FAILED Reason=JobLaunchFailure ", " ExitCode=0:53 "} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("sbatch %q: scontrol show job has no %q: %s", args, want, r.stdout)
			}
		}
	}
}

// TestSbatchMissingWorkdir: a batch job whose working directory (-D, or
// the directory it was submitted from) is missing on its machine runs in
// /tmp, and slurmstepd's line says so twice in its output file, as Slurm
// 22.05 runs it (checked: -D /nonexist --wrap pwd ended COMPLETED 0:0,
// "slurmstepd-c1: error: couldn't chdir to `/nonexist': No such file or
// directory: going to /tmp instead" twice, then /tmp). burst failed it
// 127:0. A path that is a file is "Not a directory". burst run -- CMD
// keeps refusing (TestInputWorkdirAnd401).
func TestSbatchMissingWorkdir(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	file := filepath.Join(dir, "afile")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ wd, why string }{
		{filepath.Join(dir, "gone", "x"), "No such file or directory"},
		{file, "Not a directory"},
	} {
		r := face("sbatch", "--parsable", "-D", c.wd, "-o", filepath.Join(dir, "wd-%j.out"), "--wrap", "pwd")
		if r.code != 0 {
			t.Fatalf("sbatch -D %s: %s", c.wd, r)
		}
		id := strings.TrimSpace(r.stdout)
		h.run("wait", id)
		out, err := os.ReadFile(filepath.Join(dir, "wd-"+id+".out"))
		if err != nil {
			t.Fatalf("job %s wrote no output: %v", id, err)
		}
		line := "slurmstepd-\\S+: error: couldn't chdir to `" + regexp.QuoteMeta(c.wd) + "': " + c.why + ": going to /tmp instead\n"
		if !regexp.MustCompile("^" + line + line + "/tmp\n$").Match(out) {
			t.Errorf("-D %s: the job's output %q, want slurmstepd's line twice, then /tmp", c.wd, out)
		}
		if r := face("sacct", "-n", "-P", "-X", "-j", id, "-o", "State,ExitCode"); r.stdout != "COMPLETED|0:0\n" {
			t.Errorf("-D %s: sacct %s, want COMPLETED 0:0", c.wd, r)
		}
	}
}

// TestSbatchExclusive: sbatch --exclusive takes the whole machine, as
// Slurm allocates a node that no other job shares: the script sees all its
// CPUs, scontrol and squeue say so, and a job submitted beside it waits for
// it (Reason Resources) and runs once it ended. Checked beside Slurm 22.05
// on a node of 2 CPUs: SLURM_CPUS_ON_NODE=2 and SLURM_JOB_CPUS_PER_NODE=2,
// NumCPUs=2 NumTasks=1 CPUs/Task=1, OverSubscribe=NO, squeue %h NO; burst
// ran it on one CPU before (the option was accepted and ignored).
func TestSbatchExclusive(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	all := strconv.Itoa(runtime.NumCPU())
	release := filepath.Join(dir, "release")
	id := sbatchFile(t, face, dir, "ex.sh", `#!/bin/bash
#SBATCH --exclusive
echo "cpus=$SLURM_CPUS_ON_NODE per-node=$SLURM_JOB_CPUS_PER_NODE tasks=$SLURM_TASKS_PER_NODE"
while [ ! -e `+release+` ]; do sleep 0.05; done
`, filepath.Join(dir, "ex.out"))
	want := "cpus=" + all + " per-node=" + all + " tasks=1\n"
	h.waitFor("the --exclusive job to start", 30*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "ex.out"))
		return string(b) != ""
	})
	if b, _ := os.ReadFile(filepath.Join(dir, "ex.out")); string(b) != want {
		t.Errorf("the --exclusive job saw %q; want %q (all %s CPUs of the machine)", b, want, all)
	}
	show := face("scontrol", "show", "job", id).stdout
	for _, w := range []string{" NumCPUs=" + all + " NumTasks=1 CPUs/Task=1 ", " OverSubscribe=NO ", " TRES=cpu=" + all + ","} {
		if !strings.Contains(show, w) {
			t.Errorf("scontrol show job of an --exclusive job lacks %q:\n%s", w, show)
		}
	}
	if r := face("squeue", "-h", "-j", id, "-o", "%C|%h"); r.stdout != all+"|NO\n" {
		t.Errorf("squeue %%C|%%h of the --exclusive job: %q, want %q", r.stdout, all+"|NO\n")
	}
	other := strings.TrimSpace(face("sbatch", "--parsable", "-o", filepath.Join(dir, "other.out"), "--wrap", "echo ran").stdout)
	h.waitFor("the job beside it to wait for its CPUs", 30*time.Second, func() bool {
		return face("squeue", "-h", "-j", other, "-o", "%t|%r").stdout == "PD|Resources\n"
	})
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h.run("wait", other)
	if b, _ := os.ReadFile(filepath.Join(dir, "other.out")); string(b) != "ran\n" {
		t.Errorf("the job beside the --exclusive one, once it ended: %q, want ran", b)
	}
	// --exclusive=user shares the machine (Slurm allocates it no more CPUs); a word of neither is refused.
	if r := face("sbatch", "--exclusive=sometimes", "--wrap", "true"); r.code == 0 || !strings.Contains(r.stderr, "--exclusive") {
		t.Errorf("sbatch --exclusive=sometimes: want a refusal naming --exclusive:\n%s", r)
	}
}

// TestSbatchMemZero: --mem=0 is all the machine's memory, as Slurm gives
// a job all its node's. As Slurm 22.05 showed it beside (slurm-dev.sh,
// nodes of RealMemory=2000): the job is told no SLURM_MEM_PER_NODE,
// scontrol shows MinMemoryNode=0 and TRES=cpu=1,mem=2000M (the node's),
// and a job asking for 100M on that node waits, Reason Resources, until it
// ends.
func TestSbatchMemZero(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	release := filepath.Join(dir, "release")
	id := sbatchFile(t, face, dir, "m0.sh", `#!/bin/bash
#SBATCH --mem=0
echo "mem=${SLURM_MEM_PER_NODE-unset}"
while [ ! -e `+release+` ]; do sleep 0.05; done
`, filepath.Join(dir, "m0.out"))
	h.waitFor("the --mem=0 job to start", 30*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "m0.out"))
		return string(b) != ""
	})
	if b, _ := os.ReadFile(filepath.Join(dir, "m0.out")); string(b) != "mem=unset\n" {
		t.Errorf("the --mem=0 job saw %q; want mem=unset (no SLURM_MEM_PER_NODE)", b)
	}
	show := face("scontrol", "show", "job", id).stdout
	if !strings.Contains(show, " MinMemoryNode=0 ") || !regexp.MustCompile(` TRES=cpu=1,mem=[1-9]\d*[MG],node=1,`).MatchString(show) {
		t.Errorf("scontrol show job of a --mem=0 job: want MinMemoryNode=0 and the machine's memory in TRES:\n%s", show)
	}
	// squeue reads its spec for %m and -O MinMemory: 0, as Slurm's
	// squeue showed the same job (burst showed the machine's memory).
	if got := face("squeue", "-h", "-j", id, "-o", "%m|%t").stdout; got != "0|R\n" {
		t.Errorf("squeue -o %%m of the --mem=0 job: %q, want 0|R", got)
	}
	if got := strings.Fields(face("squeue", "-h", "-j", id, "-O", "MinMemory,JobID").stdout); !slices.Equal(got, []string{"0", id}) {
		t.Errorf("squeue -O MinMemory of the --mem=0 job: %q, want 0", got)
	}
	other := strings.TrimSpace(face("sbatch", "--parsable", "--mem=100M", "-o", filepath.Join(dir, "other.out"), "--wrap", "echo ran").stdout)
	h.waitFor("the job beside it to wait for its memory", 30*time.Second, func() bool {
		return face("squeue", "-h", "-j", other, "-o", "%t|%r").stdout == "PD|Resources\n"
	})
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h.run("wait", other)
	if b, _ := os.ReadFile(filepath.Join(dir, "other.out")); string(b) != "ran\n" {
		t.Errorf("the job beside the --mem=0 one, once it ended: %q, want ran", b)
	}
	// A --mem on the command line wins over the script's --mem=0, as on
	// sbatch's: the job holds what it names, and is told so.
	again := h.submit("--mem", "100M", filepath.Join(dir, "m0.sh"))
	if show := face("scontrol", "show", "job", strconv.FormatInt(again, 10)).stdout; !strings.Contains(show, " MinMemoryNode=100M ") {
		t.Errorf("burst run --mem 100M of a script with #SBATCH --mem=0: want MinMemoryNode=100M:\n%s", show)
	}
}

// stepEnvScript prints what a batch step and its srun steps are told of
// their layout and of the process that started them; each line as the
// suite's real Slurm 22.05 printed it (stepEnvWant).
const stepEnvScript = `#!/bin/bash
#SBATCH -n 2 -c 1
set -f
umask 0027
topo=other; [ "$SLURM_TOPOLOGY_ADDR" = "$SLURMD_NODENAME" ] && topo=node-name
echo "batch dist=${SLURM_DISTRIBUTION-unset} prio=$SLURM_PRIO_PROCESS topo=$topo/$SLURM_TOPOLOGY_ADDR_PATTERN aliases=$SLURM_NODE_ALIASES"
for a in "-n 1" "-n 2" "-m cyclic -n 2" "-m plane=2 -n 2" "-m *:fcyclic -n 1"; do
  echo "[$a] $(srun $a bash -c 'echo $SLURM_DISTRIBUTION/${SLURM_DIST_PLANESIZE-}/$SLURM_TASKS_PER_NODE/$SLURM_GTIDS/$SLURM_UMASK/$SLURM_PRIO_PROCESS/$SLURM_JOB_CPUS_PER_NODE_PACK_GROUP_0' | sort -u | tr '\n' ' ')"
done
`

const stepEnvWant = `batch dist=unset prio=3 topo=node-name/node aliases=(null)
[-n 1] cyclic//1/0/0027/0/2 
[-n 2] block//2/0,1/0027/0/2 
[-m cyclic -n 2] cyclic//2/0,1/0027/0/2 
[-m plane=2 -n 2] plane/2/2/0,1/0027/0/2 
[-m *:fcyclic -n 1] block:fcyclic//1/0/0027/0/2 
`

// stepDistScript: sbatch's --distribution is the job's, and its steps'
// unless srun's -m says otherwise.
const stepDistScript = `#!/bin/bash
#SBATCH -n 2 --distribution=Cyclic:*
echo "batch $SLURM_DISTRIBUTION"
echo "step $(srun -n 1 printenv SLURM_DISTRIBUTION)"
echo "own $(srun -n 1 -m block printenv SLURM_DISTRIBUTION)"
`

const stepDistWant = "batch cyclic:cyclic\nstep cyclic:cyclic\nown block\n"

// srunRetryLines are what a real srun prints while it waits for a step's
// CPUs that the step before it has not yet given back.
var srunRetryLines = regexp.MustCompile(`(?m)^srun: (Job \d+ step creation temporarily disabled, retrying.*|Step created for job \d+)\n`)

// TestStepEnvironmentAsSlurm: the variables of a batch step and its srun
// steps that say their layout (SLURM_DISTRIBUTION from -m or srun's
// default, SLURM_DIST_PLANESIZE, the step's SLURM_TASKS_PER_NODE and
// SLURM_GTIDS), srun's umask and the submitter's nice (SLURM_UMASK,
// SLURM_PRIO_PROCESS), and the node's topology address, as Slurm 22.05
// sets them; burst set none of them, and gave a step the job's task count
// and ids. With the suite's real Slurm the same scripts are run there too,
// so that what is wanted is what Slurm does. sbatch -m that Slurm refuses
// is refused in Slurm's words. srun outside a job tells its task the job
// it made (SLURM_JOB_ID, the nodes), as Slurm's does.
func TestStepEnvironmentAsSlurm(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("jobs") // the server (and its agent) started at nice 0, as slurmd runs
	writeFile(t, filepath.Join(h.dir, "env.sh"), stepEnvScript, 0o755)
	writeFile(t, filepath.Join(h.dir, "dist.sh"), stepDistScript, 0o755)
	nice, err := exec.LookPath("nice")
	if err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"burst", "slurm"} {
		for _, tt := range []struct{ script, want string }{{"env.sh", stepEnvWant}, {"dist.sh", stepDistWant}} {
			out := filepath.Join(h.dir, side+"-"+tt.script+".out")
			var c *exec.Cmd
			switch {
			case side == "burst":
				c = h.command("slurm", "sbatch", "-W", "-o", out, tt.script)
			case slurmConf == "":
				continue
			default:
				c = exec.Command("sbatch", "-W", "-o", out, tt.script)
				c.Env = append(os.Environ(), "SLURM_CONF="+slurmConf)
				c.Dir = h.dir
			}
			// submitted at nice 3: the job is told so (SLURM_PRIO_PROCESS)
			c.Args = append([]string{"nice", "-n", "3", c.Path}, c.Args[1:]...)
			c.Path = nice
			if r := h.exec(c); r.code != 0 {
				b, _ := os.ReadFile(out)
				t.Fatalf("%s sbatch %s: %s\nits output:\n%s%s", side, tt.script, r, b, slurmJobRecord(side, r.stdout))
			}
			b, err := os.ReadFile(out)
			if side == "slurm" {
				// A real slurmd under load may not yet have freed the last
				// step's CPUs: srun waits and says so on stderr, which is the
				// batch output. Those two lines are Slurm's pacing, not layout.
				b = srunRetryLines.ReplaceAll(b, nil)
			}
			if err != nil || string(b) != tt.want {
				t.Errorf("%s: %s printed (%v)\n%s\nwant\n%s", side, tt.script, err, b, tt.want)
			}
		}
	}
	// srun outside a job: its task knows the job srun made and where it
	// runs (burst left them all unset) and has no distribution unless -m.
	alloc := `echo $SLURM_JOB_ID $SLURM_JOBID $SLURM_JOB_NAME ${SLURM_DISTRIBUTION-unset}; [ "$SLURM_JOB_UID:$SLURM_JOB_GID" = "$(id -u):$(id -g)" ] && ` +
		`[ -n "$SLURMD_NODENAME" ] && [ "$SLURM_NODELIST" = "$SLURMD_NODENAME" ] && [ "$SLURM_JOB_NODELIST" = "$SLURMD_NODENAME" ] && ` +
		`[ "$SLURM_STEP_NODELIST" = "$SLURMD_NODENAME" ] && [ "$SLURM_TOPOLOGY_ADDR" = "$SLURMD_NODENAME" ] && echo nodes-agree`
	for _, side := range []string{"burst", "slurm"} {
		var c *exec.Cmd
		switch {
		case side == "burst":
			c = h.command("slurm", "srun", "-n1", "-J", "alloc", "sh", "-c", alloc)
		case slurmConf == "":
			continue
		default:
			c = exec.Command("srun", "-n1", "-J", "alloc", "sh", "-c", alloc)
			c.Env = append(os.Environ(), "SLURM_CONF="+slurmConf)
		}
		r := h.exec(c)
		f := strings.Fields(r.stdout)
		if r.code != 0 || len(f) != 5 || f[0] != f[1] || f[2] != "alloc" || f[3] != "unset" || f[4] != "nodes-agree" {
			t.Errorf("%s srun outside a job: %s\nwant ID ID alloc unset nodes-agree", side, r)
			continue
		}
		if side == "burst" {
			if r := h.run("show", f[0]); r.code != 0 || !strings.Contains(r.stdout, "alloc") {
				t.Errorf("srun outside a job was told SLURM_JOB_ID=%s, which is not its job: %s", f[0], r)
			}
		}
	}
	// Refused as Slurm 22.05 refuses them: its line, exit 255 (its
	// exit(-1)), on the command line, in the script and from srun (and
	// so does the suite's Slurm, when there is one).
	writeFile(t, filepath.Join(h.dir, "badm.sh"), "#!/bin/sh\n#SBATCH -m foo\ntrue\n", 0o755)
	writeFile(t, filepath.Join(h.dir, "badt.sh"), "#!/bin/sh\n#SBATCH -t bogus\ntrue\n", 0o755)
	writeFile(t, filepath.Join(h.dir, "badb.sh"), "#!/bin/sh\n#SBATCH --begin=xyz\ntrue\n", 0o755)
	const badM, badT, badB = "Invalid --distribution specification", "Invalid --time specification", "Invalid --begin specification"
	for _, tt := range []struct {
		args []string
		line string
	}{
		{[]string{"sbatch", "-m", "foo", "--wrap", "true"}, badM}, {[]string{"sbatch", "-m", "plane=0", "--wrap", "true"}, badM},
		{[]string{"sbatch", "-m", "cyclic:cyclic:cyclic:cyclic", "--wrap", "true"}, badM}, {[]string{"sbatch", "badm.sh"}, badM},
		{[]string{"srun", "-m", "foo", "true"}, badM},
		{[]string{"sbatch", "-t", "bogus", "--wrap", "true"}, badT}, {[]string{"sbatch", "badt.sh"}, badT},
		{[]string{"srun", "-t", "bogus", "true"}, badT},
		{[]string{"sbatch", "--begin=xyz", "--wrap", "true"}, badB}, {[]string{"sbatch", "badb.sh"}, badB},
	} {
		r := h.runIn(h.dir, append([]string{"slurm"}, tt.args...)...)
		if r.code != 255 || !strings.HasPrefix(r.stderr, tt.args[0]+": error: ") || !strings.Contains(r.stderr, tt.line) {
			t.Errorf("%q: want Slurm's refusal (%s: error: %s), exit 255: %s", tt.args, tt.args[0], tt.line, r)
		}
		if slurmConf == "" {
			continue
		}
		real := exec.Command(tt.args[0], tt.args[1:]...)
		real.Env = append(os.Environ(), "SLURM_CONF="+slurmConf)
		real.Dir = h.dir
		out, err := real.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 255 || !strings.Contains(string(out), tt.line) {
			t.Errorf("Slurm's own %q: %v, %q; burst wants exit 255 and %q", tt.args, err, out, tt.line)
		}
	}
}

// slurmJobRecord is what the suite's real Slurm says of the job whose
// "Submitted batch job N" line is in out (side "slurm"), for a test that
// finds the job ended otherwise than it expected: its state, exit code,
// reason and nodes. "" for burst's side or with no such line.
func slurmJobRecord(side, out string) string {
	f := strings.Fields(out)
	if side != "slurm" || len(f) < 4 || f[0] != "Submitted" {
		return ""
	}
	c := exec.Command("scontrol", "show", "job", f[3])
	c.Env = append(os.Environ(), "SLURM_CONF="+slurmConf)
	b, err := c.CombinedOutput()
	return fmt.Sprintf("\nscontrol show job %s (%v):\n%s", f[3], err, b)
}

// TestSbatchParsableDirective: `#SBATCH --parsable` in the script makes
// sbatch print the job's id alone, as the command line's does: Slurm
// 22.05's sbatch printed "41" for such a script beside burst, which
// printed "Submitted batch job 41", so `jid=$(sbatch job.sh)` got a
// sentence in place of the id.
func TestSbatchParsableDirective(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "p.sh"), "#!/bin/sh\n#SBATCH --parsable\n#SBATCH -o /dev/null\ntrue\n", 0o755)
	cmd := h.command("slurm", "sbatch", "p.sh")
	cmd.Dir = dir
	r := h.exec(cmd)
	if r.code != 0 || !regexp.MustCompile(`^[0-9]+\n$`).MatchString(r.stdout) {
		t.Errorf("sbatch of a script with #SBATCH --parsable: exit %d, stdout %q; want the id alone (stderr %q)", r.code, r.stdout, r.stderr)
	}
}

// TestCancelledArrayTasksListed: an array's tasks cancelled before they
// started are listed as Slurm 22.05 listed them beside burst (--array=1-6%1,
// task 1 running): those cancelled alone (scancel A_5, A_[3-4]) have no
// record, squeue -t all shows "A_[2,6%1] PD" and "A_1 R" alone, and
// scontrol show job A_5 says "Job A_5 not found" on stdout, exit 1, as it
// does for an index the array never had (A_9); once the array is
// cancelled, its tasks not started share one line, "A_[2,6%1] CA". burst
// listed A_3, A_4 and A_5 as CA, each on its line, and showed A_5's record.
func TestCancelledArrayTasksListed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, face, sbatch := slurmFace(t, h)
	a := sbatch("--array=1-6%1", "-o", "/dev/null", "--wrap", "sleep 60")
	listed := func() string {
		lines := strings.Split(strings.TrimSpace(face("squeue", "-h", "-t", "all", "-j", a, "-o", "%i %t").stdout), "\n")
		slices.Sort(lines)
		return strings.ReplaceAll(strings.Join(lines, ";"), a+"_", "A_")
	}
	h.waitFor("task 1 to run", 30*time.Second, func() bool { return listed() == "A_1 R;A_[2-6%1] PD" })
	face("scancel", a+"_5")
	face("scancel", a+"_[3-4]")
	if got := listed(); got != "A_1 R;A_[2,6%1] PD" {
		t.Errorf("squeue -t all after scancel A_5 A_[3-4]: %q, want A_1 R;A_[2,6%%1] PD", got)
	}
	for _, task := range []string{"_5", "_9"} {
		if r := face("scontrol", "show", "job", a+task); r.code != 1 || r.stdout != "Job "+a+task+" not found\n" {
			t.Errorf("scontrol show job A%s: %s, want exit 1 and Job A%s not found on stdout", task, r, task)
		}
	}
	face("scancel", a)
	h.waitFor("the array to end", 30*time.Second, func() bool { return listed() == "A_1 CA;A_[2,6%1] CA" })
}
