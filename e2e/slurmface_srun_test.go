package e2e

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// srunScript is a batch script with three job steps: two labelled copies
// of hostname, two tasks both exiting 1 (one error line for both, as srun
// groups them), then two tasks exiting 2 and 3, whose status the script
// prints.
const srunScript = `#!/bin/sh
#SBATCH -n 2
#SBATCH --mem=256M
srun -n 2 -l hostname
srun -n 2 sh -c 'exit 1'
srun -n 2 sh -c 'exit $((SLURM_PROCID + 2))'
echo "step exit $?"
`

// srunStep is what the steps of srunScript printed, made comparable: the
// labels of the hostname lines, srun's error lines with the node's name
// left out, and the step's exit status line.
type srunStep struct {
	labels []string
	errors []string
	status string
}

var (
	labelLine = regexp.MustCompile(`^(\d+): \S+$`)
	srunError = regexp.MustCompile(`^srun: error: \S+: (tasks? [\d,-]+: Exited with exit code \d+)$`)
	// getopt's words for an ambiguous abbreviation, naming at least
	// --name and --noheader (real squeue has more --n... options)
	ambiguous = regexp.MustCompile(`squeue: option '--n' is ambiguous; possibilities: '--name'( '--\w+')* '--noheader'`)
)

func readSrunStep(t *testing.T, out string) srunStep {
	t.Helper()
	var s srunStep
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		switch m, e := labelLine.FindStringSubmatch(l), srunError.FindStringSubmatch(l); {
		case m != nil:
			s.labels = append(s.labels, m[1])
		case e != nil:
			s.errors = append(s.errors, e[1])
		case strings.HasPrefix(l, "step exit "):
			s.status = l
		default:
			t.Errorf("unexpected line in the job's output: %q (all of it: %q)", l, out)
		}
	}
	slices.Sort(s.labels)
	slices.Sort(s.errors)
	return s
}

// faceSide runs burst's Slurm personality through `burst slurm link`
// symlinks, with them first on PATH (so that a job's srun is burst's).
func faceSide(t *testing.T, h *harness, dir string) func(args ...string) result {
	links := filepath.Join(dir, "bin")
	h.mustRun("slurm", "link", links)
	return func(args ...string) result {
		c := h.command(args[1:]...)
		c.Path = filepath.Join(links, args[0])
		c.Args = args
		c.Dir = dir
		c.Env = append(c.Env, "PATH="+links+":"+os.Getenv("PATH"))
		return h.exec(c)
	}
}

// sbatchAndWait writes script as name in dir, submits it with burst's
// sbatch (output to out-%j.txt) and waits for it: its id and output.
func sbatchAndWait(t *testing.T, h *harness, face func(...string) result, dir, name, script string) (string, []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r := face("sbatch", "--parsable", "-o", "out-%j.txt", name)
	if r.code != 0 {
		t.Fatalf("sbatch: %s", r)
	}
	id := strings.TrimSpace(r.stdout)
	h.run("wait", id)
	out, err := os.ReadFile(filepath.Join(dir, "out-"+id+".txt"))
	if err != nil {
		t.Fatalf("job %s wrote no output: %v", id, err)
	}
	return id, out
}

// TestSlurmFaceSrun: srun inside a burst job is a job step (N tasks, -l
// labels, srun's error lines and exit status: the highest), and outside
// one an attached job whose output and exit status come back; long
// options abbreviated as getopt_long allows. The shapes expected are those
// the suite's real Slurm prints (slurmFaceSrunShapes checks them there).
func TestSlurmFaceSrun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	id, out := sbatchAndWait(t, h, face, dir, "steps.sh", srunScript)
	got := readSrunStep(t, string(out))
	want := srunStep{labels: []string{"0", "1"},
		errors: []string{"task 0: Exited with exit code 2", "task 1: Exited with exit code 3", "tasks 0-1: Exited with exit code 1"}, status: "step exit 3"}
	if !slices.Equal(got.labels, want.labels) || !slices.Equal(got.errors, want.errors) || got.status != want.status {
		t.Errorf("job steps: got %+v, want %+v\n%s", got, want, out)
	}
	// sacct lists the steps srun ran after the batch step, as Slurm's
	// does (each its program, tasks, state and exit code), and the job's
	// DerivedExitCode is the highest of theirs: a driver reading step
	// exit codes sees the failure the script went on after.
	acct := face("sacct", "-j", id, "-P", "-n", "--format=JobID,JobName,NTasks,State,ExitCode")
	wantAcct := strings.Join([]string{id + "|steps.sh||COMPLETED|0:0", id + ".batch|batch|1|COMPLETED|0:0",
		id + ".0|hostname|2|COMPLETED|0:0", id + ".1|sh|2|FAILED|1:0", id + ".2|sh|2|FAILED|3:0"}, "\n") + "\n"
	if acct.code != 0 || acct.stdout != wantAcct {
		t.Errorf("sacct of a job with srun steps:\n%s\nwant:\n%s", acct, wantAcct)
	}
	if r := face("sacct", "-X", "-j", id, "-P", "-n", "--format=DerivedExitCode"); r.stdout != "3:0\n" {
		t.Errorf("sacct DerivedExitCode: %s, want 3:0", r)
	}
	if r := face("sacct", "-j", id+".2", "-P", "-n", "--format=JobID,ExitCode"); r.stdout != id+".2|3:0\n" {
		t.Errorf("sacct -j %s.2: %s", id, r)
	}

	// Outside a job: an attached job.
	if r := face("srun", "-c", "1", "echo", "hi"); r.code != 0 || r.stdout != "hi\n" {
		t.Errorf("srun -c 1 echo hi: %s", r)
	}
	// What Slurm's srun tells the task of the allocation it makes
	// (a one-liner's `srun -c 8 bwa mem -t $SLURM_CPUS_PER_TASK`).
	// The job srun makes is named after its program unless -J names it
	// (srun(1): --job-name's default), as squeue and sacct list it.
	if r := face("srun", "sh", "-c", "echo $SLURM_JOB_NAME"); r.code != 0 || r.stdout != "sh\n" {
		t.Errorf("srun sh outside a job: want SLURM_JOB_NAME sh: %s", r)
	}
	if r := face("srun", "-J", "named", "sh", "-c", "echo $SLURM_JOB_NAME"); r.code != 0 || r.stdout != "named\n" {
		t.Errorf("srun -J named outside a job: want SLURM_JOB_NAME named: %s", r)
	}
	if r := face("srun", "-N1", "-c", "2", "sh", "-c", "echo $SLURM_CPUS_PER_TASK $SLURM_NTASKS $SLURM_PROCID"); r.code != 0 || r.stdout != "2 1 0\n" {
		t.Errorf("srun -N1 -c 2 outside a job: want SLURM_CPUS_PER_TASK 2, SLURM_NTASKS 1, SLURM_PROCID 0: %s", r)
	}
	if r := face("srun", "--export=NONE", "-c", "2", "/bin/sh", "-c", "echo $SLURM_CPUS_PER_TASK"); r.code != 0 || r.stdout != "2\n" {
		t.Errorf("srun --export=NONE -c 2 outside a job: want SLURM_CPUS_PER_TASK kept: %s", r)
	}
	if r := face("srun", "--mem=64M", "sh", "-c", "echo out; exit 3"); r.code != 3 || r.stdout != "out\n" {
		t.Errorf("srun of a command exiting 3: want exit 3 and its output: %s", r)
	}
	// A partition no cluster is named after (a site's -p defq in a
	// one-line srun) runs on the default cluster, as sbatch's does.
	if r := face("srun", "-p", "defq", "-n", "1", "echo", "hi"); r.code != 0 || r.stdout != "hi\n" {
		t.Errorf("srun -p defq echo hi: want it run on the default cluster: %s", r)
	}
	if r := face("srun", "-l", "echo", "hi"); r.code != 0 || r.stdout != "0: hi\n" {
		t.Errorf("srun -l outside a job: %s", r)
	}
	// -n 2 outside a job: a job of two tasks runs the step, as srun's
	// allocation does (slurmFaceSrunShapes checks the same on Slurm).
	if r := face("srun", "-n", "2", "-l", "sh", "-c", "echo $SLURM_PROCID of $SLURM_NTASKS"); r.code != 0 || sortedLines(r.stdout) != "0: 0 of 2\n1: 1 of 2\n" {
		t.Errorf("srun -n 2 -l outside a job: want both tasks' labelled lines: %s", r)
	}
	if r := face("srun", "-n", "2", "sh", "-c", "exit $SLURM_PROCID"); r.code != 1 || !strings.Contains(r.stderr, "task 1: Exited with exit code 1") {
		t.Errorf("srun -n 2 outside a job, task 1 exiting 1: want exit 1 and srun's line on it: %s", r)
	}
	// -K: a task failing ends the others with SIGTERM, as slurmstepd does ("Terminated", exit 143).
	if r := face("srun", "-n", "2", "-K", "sh", "-c", killOnBadExit); r.code != 143 || !strings.Contains(r.stderr, "task 1: Exited with exit code 4") ||
		!strings.Contains(r.stderr, "task 0: Terminated") {
		t.Errorf("srun -n 2 -K, task 1 exiting 4: want exit 143, task 0 terminated: %s", r)
	}
	// --pty with no terminal (the suite's stdin): srun says it disregards
	// it and runs the command (slurmFaceSrunShapes checks the same on Slurm).
	if r := face("srun", "--pty", "sh", "-c", "echo hi; exit 3"); r.code != 3 || r.stdout != "hi\n" ||
		!strings.Contains(r.stderr, "Not using a pseudo-terminal, disregarding --pty option") {
		t.Errorf("srun --pty without a terminal: want the command run, exit 3, and srun's line: %s", r)
	}
	// The same with -n 2 (a job whose step runs them): srun's lines once.
	if r := face("srun", "-n", "2", "--pty", "echo", "hi"); r.code != 0 || r.stdout != "hi\nhi\n" ||
		strings.Count(r.stderr, "disregarding --pty option") != 1 {
		t.Errorf("srun -n 2 --pty without a terminal: want hi twice and srun's line once: %s", r)
	}

	// getopt_long's abbreviations, in every command.
	if r := face("squeue", "--job", id, "-t", "all", "--noh", "--form", "%i %t"); r.code != 0 || r.stdout != id+" CD\n" {
		t.Errorf("squeue --job ID --noh --form: %s", r)
	}
	if r := face("sacct", "--job", id, "--form", "JobIDRaw,State", "--parsable2", "-n", "-M", "all"); r.code != 0 || r.stdout != id+"|COMPLETED\n"+id+".batch|COMPLETED\n"+id+".0|COMPLETED\n"+id+".1|FAILED\n"+id+".2|FAILED\n" {
		t.Errorf("sacct --job ID --form ... -M all: %s", r)
	}
	if r := face("scontrol", "show", "jobid", "-dd", id); r.code != 0 || !strings.Contains(r.stdout, "JobState=COMPLETED") {
		t.Errorf("scontrol show jobid -dd: %s", r)
	}
	if r := face("squeue", "--n"); r.code != 1 || !ambiguous.MatchString(r.stderr) {
		t.Errorf("squeue --n: want Slurm's ambiguity error: %s", r)
	}
	if r := face("sinfo", "-o", "%P"); r.code != 0 || r.stdout != "PARTITION\nlocal*\n" {
		t.Errorf("sinfo -o %%P: %s", r)
	}
	// -t of a state no machine is in: the partition's line all the same, 0 nodes, n/a (as 22.05's sinfo).
	if r := face("sinfo", "-h", "-t", "drain", "-o", "%P %D %t|%N|"); r.code != 0 || r.stdout != "local* 0 n/a||\n" {
		t.Errorf("sinfo -t drain: want the partition with 0 nodes, n/a: %s", r)
	}
	if r := face("sinfo", "-h", "-N", "-t", "drain"); r.code != 0 || r.stdout != "" {
		t.Errorf("sinfo -N -t drain: want no line: %s", r)
	}
	if r := face("sacctmgr", "-n", "-s", "list", "user", "root", "format=account%20"); r.code != 0 || strings.TrimSpace(r.stdout) != "default" {
		t.Errorf("sacctmgr -n -s list user root format=account%%20: %s", r)
	}
}

// TestSlurmFaceSacctInJob: sacct in a running job lists the steps its
// srun calls ran so far and the one running, as Slurm's does (a script
// ending in sacct -j $SLURM_JOB_ID prints them in its own log); a step its
// srun ended for a signal reads CANCELLED 0:15 once the job is over.
func TestSlurmFaceSacctInJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	script := `#!/bin/sh
srun sh -c 'exit 3'
srun sleep 300 &
n=0
until sacct -j $SLURM_JOB_ID -n -P --format=JobID,State | grep -q '[.]1|RUNNING'; do
  n=$((n + 1)); [ $n -lt 600 ] || { echo "step 1 never listed as running"; exit 9; }
  sleep 0.1
done
sacct -j $SLURM_JOB_ID -n -P --format=JobID,JobName,State,ExitCode > acct.txt
kill $!
wait
exit 0
`
	id, out := sbatchAndWait(t, h, face, dir, "in.sh", script)
	acct, err := os.ReadFile(filepath.Join(dir, "acct.txt"))
	if err != nil {
		t.Fatalf("the job wrote no sacct listing: %v (its output: %q)", err, out)
	}
	want := strings.Join([]string{id + "|in.sh|RUNNING|0:0", id + ".batch|batch|RUNNING|0:0",
		id + ".0|sh|FAILED|3:0", id + ".1|sleep|RUNNING|0:0"}, "\n") + "\n"
	if string(acct) != want {
		t.Errorf("sacct inside the running job:\n%s\nwant:\n%s\n(its output: %q)", acct, want, out)
	}
	after := face("sacct", "-j", id, "-P", "-n", "--format=JobID,State,ExitCode")
	wantAfter := strings.Join([]string{id + "|COMPLETED|0:0", id + ".batch|COMPLETED|0:0",
		id + ".0|FAILED|3:0", id + ".1|CANCELLED|0:15"}, "\n") + "\n"
	if after.code != 0 || after.stdout != wantAfter {
		t.Errorf("sacct after the job:\n%s\nwant:\n%s", after, wantAfter)
	}
}

// slurmFaceSrunShapes runs srunScript and srun outside a job on the
// suite's real Slurm: the shapes TestSlurmFaceSrun expects of burst.
func slurmFaceSrunShapes(t *testing.T) {
	h := newHarness(t)
	needSlurm(t, h)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "steps.sh"), []byte(srunScript), 0o755); err != nil {
		t.Fatal(err)
	}
	real := func(args ...string) (string, string, int) {
		c := exec.Command(args[0], args[1:]...)
		c.Dir = dir
		var out, errb strings.Builder
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		t.Logf("%v -> %d\n%s%s", args, code, out.String(), errb.String())
		return out.String(), errb.String(), code
	}
	out, _, code := real("sbatch", "--parsable", "-o", "out-%j.txt", "steps.sh")
	if code != 0 {
		t.Fatalf("sbatch: %d %s", code, out)
	}
	id := strings.TrimSpace(out)
	var data []byte
	h.waitFor("the job's output", 2*time.Minute, func() bool {
		var err error
		data, err = os.ReadFile(filepath.Join(dir, "out-"+id+".txt"))
		return err == nil && strings.Contains(string(data), "step exit ")
	})
	t.Logf("the job's output:\n%s", data)
	// A loaded slurmd may not have freed the last step's CPUs yet: srun
	// then waits and says so; Slurm's pacing, not the shape compared.
	got := readSrunStep(t, string(srunRetryLines.ReplaceAll(data, nil)))
	want := srunStep{labels: []string{"0", "1"},
		errors: []string{"task 0: Exited with exit code 2", "task 1: Exited with exit code 3", "tasks 0-1: Exited with exit code 1"}, status: "step exit 3"}
	// slurmstepd groups the tasks whose exits it collects together: two
	// tasks exiting at once almost always, but on a loaded machine they
	// may come one at a time (two lines). burst, which waits for all of a
	// step's tasks, always groups them.
	split := []string{"task 0: Exited with exit code 1", "task 0: Exited with exit code 2", "task 1: Exited with exit code 1", "task 1: Exited with exit code 3"}
	if slices.Equal(got.errors, split) {
		t.Logf("real Slurm reported the two tasks exiting 1 apart this time: %q", got.errors)
		got.errors = want.errors
	}
	if !slices.Equal(got.labels, want.labels) || !slices.Equal(got.errors, want.errors) || got.status != want.status {
		t.Errorf("real Slurm's job steps: got %+v, want %+v\n%s", got, want, data)
	}
	if out, _, code := real("srun", "-c", "1", "--mem=64M", "echo", "hi"); code != 0 || out != "hi\n" {
		t.Errorf("real srun -c 1 echo hi: exit %d, %q", code, out)
	}
	if out, errs, code := real("srun", "--mem=64M", "sh", "-c", "echo out; exit 3"); code != 3 || out != "out\n" || !srunError.MatchString(strings.TrimSpace(errs)) {
		t.Errorf("real srun of a command exiting 3: exit %d, %q, stderr %q", code, out, errs)
	}
	if out, _, code := real("srun", "-l", "--mem=64M", "echo", "hi"); code != 0 || out != "0: hi\n" {
		t.Errorf("real srun -l: exit %d, %q", code, out)
	}
	if out, errs, code := real("srun", "--pty", "--mem=64M", "sh", "-c", "echo hi; exit 3"); code != 3 || out != "hi\n" ||
		!strings.Contains(errs, "Not using a pseudo-terminal, disregarding --pty option") {
		t.Errorf("real srun --pty without a terminal: exit %d, %q, stderr %q", code, out, errs)
	}
	if out, _, code := real("srun", "-n", "2", "-l", "--mem-per-cpu=64M", "sh", "-c", "echo $SLURM_PROCID of $SLURM_NTASKS"); code != 0 || sortedLines(out) != "0: 0 of 2\n1: 1 of 2\n" {
		t.Errorf("real srun -n 2 -l: exit %d, %q", code, out)
	}
	if _, errs, code := real("srun", "-n", "2", "--mem-per-cpu=64M", "sh", "-c", "exit $SLURM_PROCID"); code != 1 || !strings.Contains(errs, "task 1: Exited with exit code 1") {
		t.Errorf("real srun -n 2, task 1 exiting 1: exit %d, stderr %q", code, errs)
	}
	if _, errs, code := real("srun", "-n", "2", "-K", "--mem-per-cpu=64M", "sh", "-c", killOnBadExit); code != 143 ||
		!strings.Contains(errs, "task 1: Exited with exit code 4") || !strings.Contains(errs, "task 0: Terminated") {
		t.Errorf("real srun -n 2 -K, task 1 exiting 4: exit %d, stderr %q", code, errs)
	}
	if out, _, code := real("squeue", "--job", id, "-t", "all", "--noh", "--form", "%i"); code != 0 || out != id+"\n" {
		t.Errorf("real squeue abbreviations: exit %d, %q", code, out)
	}
	if _, errs, code := real("squeue", "--n"); code == 0 || !ambiguous.MatchString(errs) {
		t.Errorf("real squeue --n: exit %d, %q", code, errs)
	}
	if out, _, code := real("sinfo", "-o", "%P"); code != 0 || !strings.HasPrefix(out, "PARTITION\n") || !strings.Contains(out, "*\n") {
		t.Errorf("real sinfo -o %%P: exit %d, %q", code, out)
	}
}

// TestSbatchAccountDirective: #SBATCH --account in a script charges the
// job to that project, through sbatch and burst run alike; sbatch -A and
// burst run --project win over it.
func TestSbatchAccountDirective(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.writePrices("local: {core_hour: 3.6}\n")
	h.mustRun("project", "create", "lab", "--budget", "100")
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	script := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n#SBATCH --account=lab\n#SBATCH --mem=64M\nsleep 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	account := func(id string) string {
		r := face("scontrol", "show", "job", id)
		m := regexp.MustCompile(`Account=(\S+)`).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("scontrol show job %s: no Account: %s", id, r)
		}
		return m[1]
	}
	ids := map[string]string{}
	for name, args := range map[string][]string{
		"sbatch":            {"sbatch", "--parsable", "job.sh"},
		"sbatch -A default": {"sbatch", "--parsable", "-A", "default", "job.sh"},
	} {
		r := face(args...)
		if r.code != 0 || strings.Contains(r.stderr, "account") {
			t.Fatalf("%s: want success and no warning about the account: %s", name, r)
		}
		ids[name] = strings.TrimSpace(r.stdout)
	}
	for name, args := range map[string][]string{
		"burst run":                   {"run", "-d", script},
		"burst run --project default": {"run", "-d", "--project", "default", script},
	} {
		r := h.runIn(dir, args...)
		if r.code != 0 || strings.Contains(r.stderr, "account") {
			t.Fatalf("%s: want success and no warning about the account: %s", name, r)
		}
		ids[name] = strings.TrimSpace(r.stdout)
	}
	want := map[string]string{"sbatch": "lab", "sbatch -A default": "default", "burst run": "lab", "burst run --project default": "default"}
	for name, id := range ids {
		h.run("wait", id)
		if got := account(id); got != want[name] {
			t.Errorf("%s: job %s's account (project) is %q, want %q", name, id, got, want[name])
		}
	}
	h.waitFor("the lab project's charges", time.Minute, func() bool {
		for _, l := range h.cost("project", "").Lines {
			if l.Key == "lab" && l.NUSD > 0 {
				return true
			}
		}
		return false
	})
	byJob := map[string]bool{}
	for _, l := range h.cost("job", "lab").Lines {
		byJob[l.Key] = l.NUSD > 0
	}
	if !byJob[ids["sbatch"]] || !byJob[ids["burst run"]] || byJob[ids["sbatch -A default"]] || byJob[ids["burst run --project default"]] {
		t.Errorf("project lab's costs by job: %v, want jobs %s and %s charged, not %s nor %s", byJob,
			ids["sbatch"], ids["burst run"], ids["sbatch -A default"], ids["burst run --project default"])
	}
}

// TestSbatchScriptFindsSrun: a batch script submitted by a shell whose PATH
// has no burst links (where the CI machine's real Slurm put its own srun
// in /usr/bin) still runs burst's srun, as a Slurm job finds Slurm's: the
// agent puts its links first on the job's PATH.
func TestSbatchScriptFindsSrun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	script := `#!/bin/sh
srun --version
srun -n 2 -l echo step
echo "srun is $(command -v srun)"
echo "child=$(sbatch --parsable --wrap 'echo child')"
elsewhere=$(mktemp -d)
BURST_HOME=$elsewhere squeue 2>&1; echo "rc=$?"
ls -A "$elsewhere" | wc -l
`
	out := h.sbatchAndRead(dir, script, []string{"PATH=/usr/local/bin:/usr/bin:/bin"}, "-n", "2")
	for _, want := range []string{"(burst)\n", "0: step\n", "1: step\n", "/slurm-bin/srun\n",
		// A home where no server answers: refused, and no server started there.
		"a task does not start a server", "rc=1\n0\n"} { // exit 1, as Slurm's squeue with no controller
		if !strings.Contains(out, want) {
			t.Errorf("the job's output lacks %q:\n%s", want, out)
		}
	}
	// sbatch in the script reached the server that runs the job.
	_, after, ok := strings.Cut(out, "child=")
	child := strings.TrimSpace(strings.SplitN(after, "\n", 2)[0])
	if !ok || child == "" {
		t.Fatalf("sbatch in the job printed no job id:\n%s", out)
	}
	if w := h.run("wait", child); w.code != 0 {
		t.Errorf("the job the script submitted (%s): %s", child, w)
	}
}

// TestSrunJobidOwnJob: a batch script that names its own job to srun
// (SkyPilot's examples/slurm_cloud_deploy/run.sh: `srun --jobid
// $SLURM_JOBID bash -c hostname`) runs the step there, as Slurm 22.05 does;
// another job's id is refused, exit 1, and the script goes on.
func TestSrunJobidOwnJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	script := `#!/bin/bash
#SBATCH --job-name=test-nodes
#SBATCH --ntasks-per-node=2
srun --jobid $SLURM_JOBID bash -c 'echo rank $SLURM_PROCID of $SLURM_NTASKS'
echo "own rc=$?"
srun --jobid=$((SLURM_JOB_ID + 1000)) true
echo "other rc=$?"
`
	out := h.sbatchAndRead(t.TempDir(), script, nil)
	for _, want := range []string{"rank 0 of 2\n", "rank 1 of 2\n", "own rc=0\n",
		"Unable to create step for job ", "other rc=1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the job's output lacks %q:\n%s", want, out)
		}
	}
}

// TestSrunCPUsPerTaskTasks: srun -c C without -n, in a job given no
// --ntasks, starts as many tasks as the job's CPUs hold, as Slurm 22.05's
// srun does; a script's `srun -c 1 prog` in a job of `sbatch -c 2` runs
// prog twice there. The expected lines are what the suite's Slurm printed
// for this script: `srun -c 1` 2 tasks, `srun -c 2` one, plain srun one
// (the job's SLURM_CPUS_PER_TASK=2 does not count as srun's -c).
func TestSrunCPUsPerTaskTasks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	script := `#!/bin/bash
#SBATCH -c 2
srun -c 1 -l printenv SLURM_STEP_NUM_TASKS | sort
echo "c2 $(srun -c 2 printenv SLURM_STEP_NUM_TASKS)"
echo "plain $(srun printenv SLURM_STEP_NUM_TASKS)"
`
	if out := h.sbatchAndRead(t.TempDir(), script, nil); out != "0: 2\n1: 2\nc2 1\nplain 1\n" {
		t.Errorf("steps of a job of -c 2:\n%s\nwant srun -c 1 to run 2 tasks, srun -c 2 and plain srun one", out)
	}
}

// TestSrunExecFailureAsSlurmstepd: a step whose program cannot be started
// (LRZ's example script under --export=NONE runs `srun bash`, which the
// step's PATH lacks) is told as Slurm 22.05 tells it, checked beside the
// suite's Slurm: slurmstepd's execve() line for each task, then srun's
// "Exited with exit code" line that log checkers look for, execve's errno
// the exit code.
func TestSrunExecFailureAsSlurmstepd(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "noexec"), []byte("echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `#!/bin/bash
srun -n 2 ./noexec; echo "rc=$?"
srun -n 2 nosuchprog; echo "rc=$?"
`
	out := h.sbatchAndRead(dir, script, nil, "-n", "2")
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	want := "slurmstepd-" + host + ": error: execve(): " + dir + "/./noexec: Permission denied\n" +
		"slurmstepd-" + host + ": error: execve(): " + dir + "/./noexec: Permission denied\n" +
		"srun: error: " + host + ": tasks 0-1: Exited with exit code 13\nrc=13\n" +
		"slurmstepd-" + host + ": error: execve(): nosuchprog: No such file or directory\n" +
		"slurmstepd-" + host + ": error: execve(): nosuchprog: No such file or directory\n" +
		"srun: error: " + host + ": tasks 0-1: Exited with exit code 2\nrc=2\n"
	if out != want {
		t.Errorf("the job's output:\n%s\nwant:\n%s", out, want)
	}
}

// TestSrunStepEndsAsSlurmstepd: a step that cannot enter its -D
// directory, one -K ends, one a signal ends and one past its --time,
// inside a job, write the lines and end with the codes Slurm 22.05 has
// (the expected lines are what the suite's real sbatch wrote for these
// scripts). burst ran the first step nowhere (execve's line, exit 2),
// wrote -K's lines in task order with none of srun's own, said nothing
// after a task killed (Slurm: Force Terminated), named SIGUSR1 "Killed by
// signal 10", and let the last one run past its limit (Slurm keeps a
// step's limit in whole minutes, as a job's: 2 seconds are one). A step's
// end reaches what its tasks started (the shell's sleep), as slurmstepd
// signals all of a step's processes: burst's srun waited for the sleep.
func TestSrunStepEndsAsSlurmstepd(t *testing.T) {
	t.Parallel() // a minute of it waits for a step's time limit (whole minutes, as Slurm keeps it)
	h := newHarness(t)
	dir := t.TempDir()
	script := `#!/bin/bash
echo "job=$SLURM_JOB_ID"
srun -n 1 -D nosuchdir pwd; echo "rc=$?"
s=$SECONDS
srun -n 2 -K sh -c '[ "$SLURM_PROCID" = 1 ] && exit 4; sleep 30; echo survived'; echo "rc=$?"
echo "ended within 20 s: $(( SECONDS - s < 20 ))"
srun -n 1 sh -c 'kill -9 $$'; echo "rc=$?"
srun -n 1 sh -c 'kill -USR1 $$'; echo "rc=$?"
`
	out := h.sbatchAndRead(dir, script, nil, "-n", "2")
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ = strings.Cut(host, ".")
	first, _, _ := strings.Cut(out, "\n")
	job := strings.TrimPrefix(first, "job=")
	cancelledAt := regexp.MustCompile(`CANCELLED AT \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`) // the time differs from run to run
	out = cancelledAt.ReplaceAllString(out, "CANCELLED AT T")
	// As the real sbatch wrote it, its node's name NODE, the job's id JOB
	// and its directory DIR; Q is a backquote.
	slurm := strings.NewReplacer("NODE", host, "JOB", job, "DIR", dir, "Q", "`")
	want := slurm.Replace(`job=JOB
slurmstepd-NODE: error: couldn't chdir to QDIR/nosuchdir': No such file or directory: going to /tmp instead
slurmstepd-NODE: error: couldn't chdir to QDIR/nosuchdir': No such file or directory: going to /tmp instead
/tmp
rc=0
srun: error: NODE: task 1: Exited with exit code 4
srun: launch/slurm: _step_signal: Terminating StepId=JOB.1
slurmstepd-NODE: error: *** STEP JOB.1 ON NODE CANCELLED AT T ***
srun: error: NODE: task 0: Terminated
srun: Force Terminated StepId=JOB.1
rc=143
ended within 20 s: 1
srun: error: NODE: task 0: Killed
srun: Force Terminated StepId=JOB.2
rc=137
srun: error: NODE: task 0: User defined signal 1
rc=138
`)
	if out != want {
		t.Errorf("the job's output:\n%s\nwant:\n%s", out, want)
	}

	// A minute's wait: the run's own time limit of 60 s cannot wait for
	// it.
	if err := os.WriteFile(filepath.Join(dir, "limit.sh"), []byte(`#!/bin/bash
echo "job=$SLURM_JOB_ID"
srun -n 1 --time=00:00:02 sleep 90; echo "rc=$?"
`), 0o755); err != nil {
		t.Fatal(err)
	}
	c := h.command("slurm", "sbatch", "--parsable", "-o", "limit-%j.txt", "limit.sh")
	c.Dir = dir
	r := h.exec(c)
	if r.code != 0 {
		t.Fatalf("sbatch: %s", r)
	}
	job = strings.TrimSpace(r.stdout)
	var got string
	h.waitFor("the step past its limit to end", 85*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "limit-"+job+".txt"))
		got = string(b)
		return strings.Contains(got, "rc=")
	})
	got = cancelledAt.ReplaceAllString(got, "CANCELLED AT T")
	slurm = strings.NewReplacer("NODE", host, "JOB", job)
	want = slurm.Replace(`job=JOB
slurmstepd-NODE: error: *** STEP JOB.0 ON NODE CANCELLED AT T DUE TO TIME LIMIT ***
srun: error: NODE: task 0: Terminated
srun: Force Terminated StepId=JOB.0
rc=143
`)
	if got != want {
		t.Errorf("the job's output:\n%s\nwant:\n%s", got, want)
	}
}

// TestSbatchRefusedAsSbatch: a submission the server refuses (no machine
// could ever run it, no such project) fails as sbatch's does: exit 1 and
// "sbatch: error: Batch job submission failed: " before burst's reason.
func TestSbatchRefusedAsSbatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("jobs") // the server up first: its start is said on stderr
	for _, args := range [][]string{{"--gres=gpu:1", "--wrap", "true"}, {"-A", "nosuch", "--wrap", "true"}, {"-c", "4096", "--wrap", "true"}} {
		r := h.run(append([]string{"slurm", "sbatch"}, args...)...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "sbatch: error: Batch job submission failed: ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("sbatch %v: want exit 1 and sbatch's one error line: %s", args, r)
		}
	}
}

// Slurm's commands exit 1 on an error of their own (a bad value, no
// controller to ask); sbatch and srun exit 255 for an option getopt refuses
// (unknown, ambiguous, missing its value), as Slurm 22.05's do with a
// working configuration (the suite's cluster, when there is one, is asked
// too); a job's own status that srun passes on is kept. srun prints
// nothing of its own, as Slurm's does when the job is not kept waiting.
func TestSlurmFaceErrorsExit1(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("jobs")
	for _, name := range []string{"sbatch", "srun", "squeue", "sacct", "scontrol", "scancel", "sinfo", "sacctmgr"} {
		want := 1
		if name == "sbatch" || name == "srun" {
			want = 255
		}
		for _, args := range [][]string{{"--no-such-option"}, {"--n"}} {
			if args[0] == "--n" && (name == "sacctmgr" || name == "sinfo") {
				break // the face knows fewer of their options: --n is no ambiguity there
			}
			if r := h.run(append([]string{"slurm", name}, args...)...); r.code != want || !strings.HasPrefix(r.stderr, name+": ") {
				t.Errorf("%s %s: want exit %d and a line of %s's: %s", name, args[0], want, name, r)
			}
			if slurmConf == "" {
				continue
			}
			real := exec.Command(name, args...)
			real.Env = append(os.Environ(), "SLURM_CONF="+slurmConf)
			if err := real.Run(); err == nil || err.(*exec.ExitError).ExitCode() != want {
				t.Errorf("Slurm's own %s %s: %v; the face exits %d", name, args[0], err, want)
			}
		}
	}
	if r := h.run("slurm", "sbatch", "-c", "abc", "--wrap", "true"); r.code != 1 {
		t.Errorf("sbatch -c abc: want exit 1, as sbatch's for a bad value: %s", r)
	}
	if r := h.run("slurm", "srun", "sh", "-c", "echo out; echo err >&2; exit 2"); r.code != 2 || r.stdout != "out\n" || r.stderr != "err\n" {
		t.Errorf("srun sh -c 'exit 2': want exit 2, the command's output alone: %s", r)
	}
	gone := h.command("slurm", "squeue")
	gone.Env = append(gone.Env, "BURST_SERVER=http://127.0.0.1:1", "BURST_TOKEN=x")
	if r := h.exec(gone); r.code != 1 {
		t.Errorf("squeue with no server to ask: want exit 1: %s", r)
	}
}

// TestSbatchTorchrunHostnames: the head of a PyTorch multi-node script
// (torchrun's rendezvous), as public ones write it: the job's nodes from
// `scontrol show hostnames "$SLURM_JOB_NODELIST"`, the first one the
// master, a step pinned to it with `srun -w`; `scontrol show hostlist`
// folds them back, and a step on a node the job does not hold is refused;
// `scontrol show hostname` (as many scripts write it) and `show Job` are
// read as scontrol reads them.
func TestSbatchTorchrunHostnames(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	script := `#!/bin/bash
#SBATCH --nodes=1
#SBATCH --ntasks=1
nodes=( $(scontrol show hostnames "$SLURM_JOB_NODELIST") )
head_node=${nodes[0]}
echo "head=$head_node n=${#nodes[@]}"
srun --nodes=1 --ntasks=1 -w "$head_node" sh -c 'echo "step on $SLURMD_NODENAME"'
echo "list=$(scontrol show hostlist "$head_node")"
srun -w "not-$head_node" true; echo "other node rc=$?"
echo "$head_node" > hosts.txt; srun -w ./hosts.txt sh -c 'echo "from file on $SLURMD_NODENAME"' 
echo "version=$(sbatch --version)"
echo "master=$(scontrol show hostname $SLURM_JOB_NODELIST | head -n1)"
echo "name=$(scontrol show Job $SLURM_JOB_ID | head -n1 | awk '{print $2}')"
`
	out := h.sbatchAndRead(dir, script, nil)
	host, _ := os.Hostname()
	for _, want := range []string{"head=" + host + " n=1\n", "step on " + host + "\n", "list=" + host + "\n",
		"Requested node configuration is not available", "other node rc=1\n", "from file on " + host + "\n", "version=slurm 22.05.8 (burst)\n",
		"master=" + host + "\n", "name=JobName=job.sh\n"} { // scontrol reads show's abbreviations (hostname, Job) as Slurm's does
		if !strings.Contains(out, want) {
			t.Errorf("the job's output lacks %q:\n%s", want, out)
		}
	}
}

// sbatchAndRead writes script as dir/job.sh, submits it with burst's sbatch
// (flags added, env added to the harness's), waits for the job (an error
// if it fails) and returns its output file.
func (h *harness) sbatchAndRead(dir, script string, env []string, flags ...string) string {
	t := h.t
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "job.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c := h.command(append(append([]string{"slurm", "sbatch", "--parsable", "-o", "out-%j.txt"}, flags...), "job.sh")...)
	c.Dir = dir
	c.Env = append(c.Env, env...)
	r := h.exec(c)
	if r.code != 0 {
		t.Fatalf("sbatch: %s", r)
	}
	id := strings.TrimSpace(r.stdout)
	if w := h.run("wait", id); w.code != 0 {
		t.Errorf("the job failed: %s", w)
	}
	out, err := os.ReadFile(filepath.Join(dir, "out-"+id+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestSbatchWaitExitCodes: sbatch --wait (-W, or #SBATCH --wait in the
// script) returns once the job ended, with sbatch(1)'s exit code: the
// job's; 1 when a signal ended it; for an array, the highest of its tasks'.
func TestSbatchWaitExitCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "w.sh"), "#!/bin/sh\n#SBATCH --wait\n#SBATCH -o /dev/null\nsleep 1; exit 4\n", 0o755)
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"-W", "--wrap", "exit 5"}, 5},
		{[]string{"-W", "--wrap", "true"}, 0},
		{[]string{"-W", "-a", "1-3", "--wrap", "exit $SLURM_ARRAY_TASK_ID"}, 3},
		{[]string{"-W", "-a", "1-2", "--wrap", "exit 0"}, 0},
		{[]string{"-W", "--wrap", "kill -9 $$"}, 1},
		{[]string{"w.sh"}, 4}, // #SBATCH --wait: it waits too
	} {
		cmd := h.command(append([]string{"slurm", "sbatch", "-o", "/dev/null"}, c.args...)...)
		cmd.Dir = dir
		r := h.exec(cmd)
		if r.code != c.want || !strings.HasPrefix(r.stdout, "Submitted batch job ") {
			t.Errorf("sbatch %q: exit %d, want %d (stdout %q, stderr %q)", c.args, r.code, c.want, r.stdout, r.stderr)
			continue
		}
		// It returned once the job ended.
		id := strings.TrimSpace(strings.TrimPrefix(r.stdout, "Submitted batch job "))
		if st := h.mustRun("slurm", "squeue", "-h", "-j", id, "-o", "%T").stdout; st != "" {
			t.Errorf("sbatch %q returned while job %s was %s", c.args, id, st)
		}
	}
}

// TestScancelStatesAndMe: scancel -t PENDING cancels only the pending jobs
// (yours), -t with ids only those of them in the states, --me all of yours
// (scancel(1)); squeue -u takes a uid as well as a name.
func TestScancelStatesAndMe(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sb := func(args ...string) string {
		return strings.TrimSpace(h.mustRun(append([]string{"slurm", "sbatch", "--parsable", "-o", "/dev/null"}, args...)...).stdout)
	}
	state := func(id string) string {
		return strings.TrimSpace(h.mustRun("slurm", "squeue", "-h", "-t", "all", "-j", id, "-o", "%T").stdout)
	}
	running, pending := sb("-t", "10", "--wrap", "sleep 300"), sb("--begin", "now+1hour", "--wrap", "true")
	h.waitFor("the first job to run", 30*time.Second, func() bool { return state(running) == "RUNNING" })
	// squeue's %Z (the job's directory, from its spec) and %L (time left).
	if out := strings.TrimSpace(h.mustRun("slurm", "squeue", "-h", "-j", running, "-o", "%Z|%L").stdout); !regexp.MustCompile(`^` + regexp.QuoteMeta(h.dir) + `\|(10:00|9:[0-5][0-9])$`).MatchString(out) {
		t.Errorf("squeue -o '%%Z|%%L' of a running job with -t 10 = %q, want %s|9:SS", out, h.dir)
	}
	if out := h.mustRun("slurm", "squeue", "-h", "-u", strconv.Itoa(os.Getuid()), "-o", "%i").stdout; !strings.Contains(out, running) || !strings.Contains(out, pending) {
		t.Errorf("squeue -u %d (a uid) lists %q, want jobs %s and %s", os.Getuid(), out, running, pending)
	}
	h.mustRun("slurm", "scancel", "-t", "RUNNING", pending) // pending: not in -t's states
	if st := state(pending); st != "PENDING" {
		t.Errorf("scancel -t RUNNING %s cancelled a pending job: %s", pending, st)
	}
	h.mustRun("slurm", "scancel", "--me", "-t", "COMPLETED") // no job to cancel is in that state
	if a, b := state(running), state(pending); a != "RUNNING" || b != "PENDING" {
		t.Errorf("scancel --me -t COMPLETED cancelled jobs: now %s and %s", a, b)
	}
	// -p PARTITION (a cluster) and -A ACCOUNT (a project): one name each,
	// as scancel takes them (a list names no partition there either); with
	// ids, only those of them that pass every filter, as scancel's "ALL job
	// filters" (checked with Slurm 22.05: scancel -n other ID leaves it).
	third := sb("--begin", "now+1hour", "--wrap", "true")
	for _, f := range [][]string{{"-p", "nope"}, {"-A", "nope"}, {"-p", "local,nope"}, {"-n", "other", third}, {"-A", "nope", third}} {
		h.mustRun(append([]string{"slurm", "scancel"}, f...)...)
		if st := state(third); st != "PENDING" {
			t.Fatalf("scancel %v cancelled a job of partition local, account default: %s", f, st)
		}
	}
	h.mustRun("slurm", "scancel", "-p", "local", "-A", "default", third)
	h.waitFor("scancel -p local -A default to cancel the job", 30*time.Second, func() bool { return state(third) == "CANCELLED" })
	h.mustRun("slurm", "scancel", "-t", "PENDING")
	h.waitFor("the pending job to be cancelled", 30*time.Second, func() bool { return state(pending) == "CANCELLED" })
	if st := state(running); st != "RUNNING" {
		t.Errorf("scancel -t PENDING ended the running job: %s", st)
	}
	if n, _ := strconv.ParseInt(running, 10, 64); strings.Contains(h.show(n).Reason, "cancelled") {
		t.Errorf("scancel -t PENDING marked the running job cancelled: %q", h.show(n).Reason)
	}
	h.mustRun("slurm", "scancel", "--me")
	h.waitFor("--me to cancel the running job", 30*time.Second, func() bool { return state(running) == "CANCELLED" })
	// scancel(1) on a user the system does not know: "Invalid user name", exit 1 (checked with real Slurm).
	if r := h.run("slurm", "scancel", "-u", "no-such-user-here"); r.code != 1 || r.stderr != "scancel: error: Invalid user name: no-such-user-here\n" {
		t.Errorf("scancel -u of an unknown user: want exit 1 and scancel's error:\n%s", r)
	}
	// squeue says so and lists the others' jobs (exit 0); sacct stops, exit 1 (checked with Slurm 22.05).
	if r := h.run("slurm", "squeue", "-h", "-t", "all", "-u", "no-such-user-here,"+strconv.Itoa(os.Getuid()), "-o", "%i"); r.code != 0 ||
		r.stderr != "squeue: error: Invalid user: no-such-user-here\n\n" || !strings.Contains(r.stdout, running) {
		t.Errorf("squeue -u of an unknown user and a known one: want squeue's error and the known one's jobs:\n%s", r)
	}
	if r := h.run("slurm", "sacct", "-u", "no-such-user-here"); r.code != 1 || r.stderr != "sacct: error: Invalid user id: no-such-user-here\n" || r.stdout != "" {
		t.Errorf("sacct -u of an unknown user: want exit 1 and sacct's error:\n%s", r)
	}
}

// TestScancelStatesOfArrayTasks: scancel -t takes each array task's own
// state, as Slurm does: -t RUNNING cancels an array's running tasks and
// leaves its pending ones to run; -t PENDING (with ids, or -n) cancels its
// pending ones and lets the running ones go on; an array task named alone
// is cancelled only when in the states. burst cancelled or kept the array
// whole by its overall state.
func TestScancelStatesOfArrayTasks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-o", "/dev/null", "-J", "arr", "--array=1-6%2", "--wrap", "sleep 300").stdout)
	states := func() string {
		return strings.TrimSpace(h.mustRun("slurm", "squeue", "-h", "-r", "-t", "all", "-j", id, "-o", "%K=%t").stdout)
	}
	h.waitFor("two array tasks to run", 30*time.Second, func() bool { return strings.Count(states(), "=R") == 2 })
	h.mustRun("slurm", "scancel", "-t", "PENDING", id+"_1") // task 1 runs: not in -t's states
	h.mustRun("slurm", "scancel", "-t", "RUNNING", id)
	h.waitFor("tasks 1 and 2 cancelled, 3 and 4 running", 30*time.Second, func() bool {
		s := states()
		return strings.Contains(s, "1=CA") && strings.Contains(s, "2=CA") && strings.Contains(s, "3=R") && strings.Contains(s, "4=R")
	})
	if s := states(); !strings.Contains(s, "5=PD") || !strings.Contains(s, "6=PD") {
		t.Errorf("scancel -t RUNNING %s touched the pending tasks: %q", id, s)
	}
	h.mustRun("slurm", "scancel", "-t", "PENDING", "-n", "arr")
	h.waitFor("tasks 5 and 6 cancelled", 30*time.Second, func() bool {
		s := states()
		return strings.Contains(s, "5=CA") && strings.Contains(s, "6=CA")
	})
	if s := states(); !strings.Contains(s, "3=R") || !strings.Contains(s, "4=R") {
		t.Errorf("scancel -t PENDING -n arr stopped the running tasks: %q", s)
	}
	h.mustRun("slurm", "scancel", id)
	h.waitFor("the array to end", 30*time.Second, func() bool { return !strings.Contains(states(), "=R") })
}

// TestScancelArrayRange: scancel ID_[RANGE] cancels the array's tasks in
// the range and leaves the others; a range reaching past the array cancels
// the tasks there are and, with -v, names it once as sent and says once
// "Invalid job id specified" of it, exit 0, as Slurm 22.05's scancel (checked with the suite's real
// Slurm: `scancel -v 43_[2-9]` of an array 1-3, its tasks running). The requests follow the
// array's tasks, not the range: a range of 4,000,001 indices ends at once.
func TestScancelArrayRange(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Two tasks, both running on the suite's 2 CPUs: a task cancelled
	// alone before it started has no record (squeue lists none, as Slurm
	// keeps none: TestCancelledArrayTasksListed).
	id := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-o", "/dev/null", "--array=1-2", "--wrap", "sleep 300").stdout)
	states := func() string {
		return strings.TrimSpace(h.mustRun("slurm", "squeue", "-h", "-r", "-t", "all", "-j", id, "-o", "%K=%t").stdout)
	}
	h.waitFor("the array's tasks to run", 30*time.Second, func() bool { return strings.Count(states(), "=R") == 2 })
	r := h.mustRun("slurm", "scancel", "-v", id+"_[2-9]")
	if want := "scancel: Terminating job " + id + "_[2-9]\nscancel: error: Kill job error on job id " + id + "_[2-9]: Invalid job id specified\n"; r.stderr != want {
		t.Errorf("scancel -v %s_[2-9]: stderr %q, want %q", id, r.stderr, want)
	}
	h.waitFor("task 2 cancelled", 30*time.Second, func() bool { return strings.Contains(states(), "2=CA") })
	if s := states(); !strings.Contains(s, "1=R") {
		t.Errorf("scancel %s_[2-9] stopped task 1: %q", id, s)
	}
	h.mustRun("slurm", "scancel", id+"_[0-4000000]")
	h.waitFor("task 1 cancelled", 30*time.Second, func() bool { return strings.Contains(states(), "1=CA") })
	if r := h.run("slurm", "scancel", "-v", "99999_[1-3]"); r.code != 0 || !strings.Contains(r.stderr, "99999_[1-3]: Invalid job id specified") {
		t.Errorf("scancel -v of an unknown array's range: exit 0 and Invalid job id, as scancel:\n%s", r)
	}
}

// TestScontrolWriteBatchScript: a script that archives itself with
// `scontrol write batch_script $SLURM_JOB_ID -` (or to a file) gets its own
// text, as from Slurm 22.05; burst refused the command, so the archive was
// empty. Messages and exit codes are what the suite's Slurm printed: the
// file written is named on stdout, failures on stderr with exit 0.
func TestScontrolWriteBatchScript(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	script := "#!/bin/bash\n#SBATCH -J keepme\nscontrol write batch_script $SLURM_JOB_ID - > copy.sh\nscontrol write batch_script $SLURM_JOB_ID\n"
	out := h.sbatchAndRead(dir, script, nil)
	if copied, _ := os.ReadFile(filepath.Join(dir, "copy.sh")); string(copied) != script {
		t.Errorf("scontrol write batch_script ID - in the job wrote %q, want the script %q", copied, script)
	}
	m := regexp.MustCompile(`^batch script for job (\d+) written to slurm-(\d+)\.sh\n$`).FindStringSubmatch(out)
	if m == nil || m[1] != m[2] {
		t.Fatalf("scontrol write batch_script ID in the job said %q, want scontrol's line naming slurm-ID.sh", out)
	}
	id := m[1]
	if saved, _ := os.ReadFile(filepath.Join(dir, "slurm-"+id+".sh")); string(saved) != script {
		t.Errorf("scontrol write batch_script ID wrote %q, want the script", saved)
	}
	r := h.runIn(dir, "slurm", "scontrol", "write", "batch_script", id, "saved.sh")
	if saved, _ := os.ReadFile(filepath.Join(dir, "saved.sh")); r.code != 0 || r.stdout != "batch script for job "+id+" written to saved.sh\n" || string(saved) != script {
		t.Errorf("scontrol write batch_script ID saved.sh: %s; wrote %q", r, saved)
	}
	for _, c := range []struct {
		args      []string
		wantError string
	}{
		{[]string{"99999", "-"}, "job script retrieval failed: Invalid job id specified\n"},
		{[]string{id, "/nonexistent/x.sh"}, "failed to open file `/nonexistent/x.sh`: No such file or directory\n"},
		{nil, ""},
	} {
		if r := h.runIn(dir, append([]string{"slurm", "scontrol", "write", "batch_script"}, c.args...)...); r.code != 0 || r.stdout != "" || r.stderr != c.wantError {
			t.Errorf("scontrol write batch_script %v: %s\nwant exit 0 and %q on stderr", c.args, r, c.wantError)
		}
	}
}

// TestSqueuePendingTasksOfRunningArray: squeue -t PD lists the pending
// tasks of an array that runs others, as Slurm 22.05's does; burst listed
// none, since the array is a running job, so a script's `squeue -u $USER
// -t PD | wc -l` (waiting for room in the queue) missed them. Expected lines
// as the suite's Slurm printed them for --array=1-3%1.
func TestSqueuePendingTasksOfRunningArray(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := strings.TrimSpace(h.runIn(h.dir, "slurm", "sbatch", "--parsable", "--array=1-3%1", "-o", "/dev/null", "--wrap", "sleep 300").stdout)
	t.Cleanup(func() { h.run("slurm", "scancel", id) })
	n, _ := strconv.ParseInt(id, 10, 64)
	h.waitFor("task 1 to run", 30*time.Second, func() bool { return h.show(n).State == "running" })
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-t", "PD"}, id + "_[2-3%1] PD JobArrayTaskLimit\n"},
		{[]string{"-t", "PD", "-r"}, id + "_2 PD JobArrayTaskLimit\n" + id + "_3 PD JobArrayTaskLimit\n"},
		{[]string{"-t", "R"}, id + "_1 R None\n"},
	} {
		if r := h.mustRun(append([]string{"slurm", "squeue", "-h", "-j", id, "-o", "%i %t %r"}, c.args...)...); r.stdout != c.want {
			t.Errorf("squeue %v of an array running task 1 of 3, at most 1 at once:\n%s\nwant %q", c.args, r, c.want)
		}
	}
}

// TestSqueueFormatsAsSqueue: a letter or -O name squeue knows but burst
// has no notion of prints what Slurm 22.05 prints for a job that asked for
// none of it, and one that is no field at all is printed as written and
// named on stderr, the rest listed, exit 0, as squeue does (checked with
// the suite's real Slurm). burst refused the whole listing (exit 1): a
// monitoring loop saw no jobs.
func TestSqueueFormatsAsSqueue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := strings.TrimSpace(h.runIn(h.dir, "slurm", "sbatch", "--parsable", "-o", "o-%j.out", "--wrap", "sleep 300").stdout)
	r := h.mustRun("slurm", "squeue", "-h", "-j", id, "-o", "%i|%k|%y|%z|%-12T|x")
	if want := id + "|(null)|0|*:*:*|%-12T|x\n"; r.stdout != want || r.stderr != "squeue: error: Invalid job format specification: -\n" {
		t.Errorf("squeue -o '%%i|%%k|%%y|%%z|%%-12T|x':\n%s\nwant stdout %q and one error naming '-'", r, want)
	}
	r = h.mustRun("slurm", "squeue", "-h", "-j", id, "-O", "JobID:8,bogus,STDOUT:60,NumTasks:3")
	if want := fmt.Sprintf("%-8s%-60s1  \n", id, filepath.Join(h.dir, "o-%j.out")); r.stdout != want ||
		r.stderr != "squeue: error: Invalid job format specification: bogus\n" {
		t.Errorf("squeue -O JobID,bogus,STDOUT,NumTasks:\n%s\nwant stdout %q", r, want)
	}
	// squeue's input variables, as a profile sets them (RCC's SQUEUE_FORMAT):
	// burst left them unread and printed its default columns. The command
	// line's -o and -t win.
	env := func(kv ...string) func(args ...string) result {
		return func(args ...string) result {
			c := h.command(append([]string{"slurm", "squeue"}, args...)...)
			c.Env = append(c.Env, kv...)
			return h.exec(c)
		}
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	h.waitFor("the job to run", 30*time.Second, func() bool { return h.show(n).State == "running" })
	fmtd := env("SQUEUE_FORMAT=%i|%T", "SQUEUE_FORMAT2=name:5", "SQUEUE_STATES=CD")
	if r := fmtd("-h", "-t", "R", "-j", id); r.stdout != id+"|RUNNING\n" {
		t.Errorf("SQUEUE_FORMAT with -t R:\n%s\nwant %q", r, id+"|RUNNING\n")
	}
	if r := fmtd("-h", "-t", "R", "-j", id, "-o", "%t"); r.stdout != "R\n" {
		t.Errorf("-o over SQUEUE_FORMAT:\n%s", r)
	}
	if r := fmtd("-h", "-j", id); r.code != 0 || r.stdout != "" {
		t.Errorf("SQUEUE_STATES=CD: a running job is not listed:\n%s", r)
	}
	if r := env("SQUEUE_FORMAT2=name:5,state:.8", "SQUEUE_SORT=-i")("-h", "-j", id); r.stdout != "wrap  RUNNING\n" {
		t.Errorf("SQUEUE_FORMAT2:\n%s\nwant %q", r, "wrap  RUNNING\n")
	}
	// The selections too, as Slurm 22.05's squeue reads them (checked with
	// its squeue): SQUEUE_USERS=nobody lists none of root's jobs unless
	// --me or -u say otherwise; SQUEUE_ARRAY, set to anything, is -r.
	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{"SQUEUE_USERS=nobody"}, nil, ""},
		{[]string{"SQUEUE_USERS=nobody"}, []string{"--me"}, id + "\n"},
		{[]string{"SQUEUE_NAMES=other"}, nil, ""},
		{[]string{"SQUEUE_NAMES=other,wrap"}, nil, id + "\n"},
		{[]string{"SQUEUE_NAMES=other"}, []string{"-n", "wrap"}, id + "\n"},
		{[]string{"SQUEUE_PARTITION=nope"}, nil, ""},
		{[]string{"SQUEUE_ACCOUNT=nope"}, nil, ""},
		{[]string{"SQUEUE_QOS=nope"}, nil, ""},
	} {
		if r := env(c.env...)(append([]string{"-h", "-o", "%i", "-j", id}, c.args...)...); r.stdout != c.want {
			t.Errorf("%v squeue %v:\n%s\nwant %q", c.env, c.args, r, c.want)
		}
	}
	arr := strings.TrimSpace(h.runIn(h.dir, "slurm", "sbatch", "--parsable", "-H", "-a", "1-2", "-o", "/dev/null", "--wrap", "true").stdout)
	if r := env("SQUEUE_ARRAY=0")("-h", "-o", "%i", "-j", arr); r.stdout != arr+"_1\n"+arr+"_2\n" {
		t.Errorf("SQUEUE_ARRAY=0 squeue: one line per task wanted:\n%s", r)
	}
	h.mustRun("slurm", "scancel", arr)
	h.mustRun("slurm", "scancel", id)
}

// TestSlurmForgetsEndedJobs: squeue and scontrol stop showing a job
// MinJobAge after it ended (300 s, or what $BURST_SLURM_MIN_JOB_AGE sets,
// as slurm.conf's), as slurmctld purges its record: `while scontrol show job
// $id; do sleep 60; done` ends. burst kept answering forever, so such loops
// never ended. sacct still has it.
func TestSlurmForgetsEndedJobs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-o", "/dev/null", "--wrap", "true").stdout)
	h.mustRun("wait", id)
	aged := func(args ...string) result {
		c := h.command(append([]string{"slurm"}, args...)...)
		c.Env = append(c.Env, "BURST_SLURM_MIN_JOB_AGE=1")
		return h.exec(c)
	}
	if r := h.run("slurm", "scontrol", "show", "job", id); r.code != 0 || !strings.Contains(r.stdout, "JobState=COMPLETED") {
		t.Fatalf("a job just ended is still shown (MinJobAge 300 s):\n%s", r)
	}
	if r := aged("scontrol", "show", "config"); !strings.Contains(r.stdout, "MinJobAge               = 1 sec") {
		t.Errorf("show config should say the MinJobAge set:\n%s", r)
	}
	h.waitFor("scontrol to forget the job (MinJobAge 1 s)", 30*time.Second, func() bool {
		return aged("scontrol", "show", "job", id).code != 0
	})
	const gone = "slurm_load_jobs error: Invalid job id specified\n"
	for _, args := range [][]string{{"scontrol", "show", "job", id}, {"squeue", "-j", id}, {"squeue", "-j", id, "-t", "all"}} {
		if r := aged(args...); r.code != 1 || r.stderr != gone || r.stdout != "" {
			t.Errorf("%s of a forgotten job: want exit 1 and %q alone:\n%s", args, gone, r)
		}
	}
	if r := aged("squeue", "-h", "-t", "all", "-o", "%i"); r.code != 0 || strings.Contains(r.stdout, id) {
		t.Errorf("squeue -t all lists a forgotten job:\n%s", r)
	}
	if r := aged("sacct", "-X", "-n", "-P", "-j", id, "-o", "JobID,State"); r.stdout != id+"|COMPLETED\n" {
		t.Errorf("sacct keeps every job:\n%s", r)
	}
}

// TestSrunStepFiles: srun's -o/-e/-i inside a job, as srun(1)'s IO
// Redirection has them; each file below is what the suite's real Slurm 22.05
// wrote for the same script (sbatch -W job.sh). burst refused -o/-e/-i: the
// step did not run, its files were never written, and a job running it in
// the background (`srun -o f cmd &`) still succeeded.
func TestSrunStepFiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	writeFile(t, filepath.Join(h.dir, "in.txt"), "a\nb\n", 0o644)
	writeFile(t, filepath.Join(h.dir, "job.sh"), `#!/bin/bash
#SBATCH -n 2 -o main.out
srun -o step-%t.out sh -c 'echo hi $SLURM_PROCID; echo err $SLURM_PROCID >&2'
srun -n1 -o none echo gone
srun -n2 -o 1 sh -c 'echo r$SLURM_PROCID'
srun -n1 -i in.txt cat
srun -n2 -l -o both.out -e errs-%2t.out sh -c 'echo o$SLURM_PROCID; echo e$SLURM_PROCID >&2'
srun -n1 -o step%s.out sh -c 'echo $SLURM_STEP_ID'
echo end
timeout 20 srun -n1 -o tstep%s.out sh -c 'echo $SLURM_STEP_ID'
TMPDIR=/ timeout 20 srun -n1 -o tstep%s.out sh -c 'echo $SLURM_STEP_ID'
test -f "$BURST_STEP_COUNTER" && echo "$BURST_STEP_COUNTER" > counter.txt
printf 'x\n' | srun -n2 -o def%t.out cat
`, 0o755)
	r := h.runIn(h.dir, "slurm", "sbatch", "-W", "job.sh")
	if r.code != 0 {
		t.Fatal(r)
	}
	for name, want := range map[string]string{
		"main.out":    "r1\na\nb\nend\n",
		"step-0.out":  "hi 0\nerr 0\n",
		"step-1.out":  "hi 1\nerr 1\n",
		"both.out":    "0: o0\n1: o1\n",
		"errs-00.out": "0: e0\n",
		"errs-01.out": "1: e1\n",
		"step5.out":   "5\n", // the job's sixth step
		// steps in a process group of their own (timeout), with another
		// TMPDIR, count on
		"tstep6.out": "6\n",
		"tstep7.out": "7\n",
		// srun's stdin goes to every task, as srun(1) broadcasts it
		"def0.out": "x\n",
		"def1.out": "x\n",
	} {
		b, err := os.ReadFile(filepath.Join(h.dir, name))
		if name == "both.out" { // two tasks' lines: in the order they came
			lines := strings.SplitAfter(string(b), "\n")
			slices.Sort(lines)
			b = []byte(strings.Join(lines, ""))
		}
		if string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	// The count was a file in burst's home while the task ran, and is gone.
	b, err := os.ReadFile(filepath.Join(h.dir, "counter.txt"))
	counter := strings.TrimSpace(string(b))
	if err != nil || !strings.HasPrefix(counter, h.home+"/") {
		t.Fatalf("the task's step count should be a file under burst's home while it runs: %q, %v", counter, err)
	}
	if _, err := os.Stat(counter); !os.IsNotExist(err) {
		t.Errorf("the count of the job's steps outlived its task: %s (%v)", counter, err)
	}
}

// TestSrunExclusiveStepsWaitForCPUs: the pattern `for f in ...; do srun -n1
// --exclusive TASK & done; wait` runs, in Slurm 22.05, as many steps at once
// as the job has CPUs, each waiting (`step creation temporarily disabled`)
// for one that ends; burst started them all at once, so a loop over 200
// inputs in a job of 8 CPUs ran 200 processes. --overlap steps share the
// CPUs, as Slurm's do.
func TestSrunExclusiveStepsWaitForCPUs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	writeFile(t, filepath.Join(h.dir, "job.sh"), `#!/bin/bash
#SBATCH -n 2 -o main.out
span() { echo "$(date +%s%N) $(sleep 1; date +%s%N)" > $1.$SLURM_STEP_ID; echo cpus=$SLURM_CPUS_ON_NODE; }
export -f span
for i in 1 2 3 4; do srun -n1 --exclusive bash -c 'span ex' & done
wait
for i in 1 2 3; do srun -n1 --overlap bash -c 'span ov' & done
wait
echo "$BURST_STEP_COUNTER" > counter.txt
`, 0o755)
	if r := h.runIn(h.dir, "slurm", "sbatch", "-W", "job.sh"); r.code != 0 {
		t.Fatal(r)
	}
	// most is the most steps of a kind that ran at one time.
	most := func(kind string) int {
		files, _ := filepath.Glob(filepath.Join(h.dir, kind+".*"))
		type edge struct{ at, d int64 }
		var edges []edge
		for _, f := range files {
			b, _ := os.ReadFile(f)
			var from, to int64
			if _, err := fmt.Sscan(string(b), &from, &to); err != nil {
				t.Fatalf("%s: %q: %v", f, b, err)
			}
			edges = append(edges, edge{from, 1}, edge{to, -1})
		}
		slices.SortFunc(edges, func(a, b edge) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.d, b.d)) })
		n, top := 0, 0
		for _, e := range edges {
			n += int(e.d)
			top = max(top, n)
		}
		if len(edges) == 0 {
			t.Fatalf("no %s steps ran", kind)
		}
		return top
	}
	if n := most("ex"); n != 2 {
		t.Errorf("four --exclusive steps in a job of 2 CPUs: %d ran at once, want 2", n)
	}
	if n := most("ov"); n != 3 {
		t.Errorf("three --overlap steps: %d ran at once, want 3", n)
	}
	out, _ := os.ReadFile(filepath.Join(h.dir, "main.out"))
	for _, want := range []string{"step creation temporarily disabled, retrying (Requested nodes are busy)\n", "srun: Step created for job ", "cpus=1\n", "cpus=2\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("main.out lacks %q:\n%s", want, out)
		}
	}
	counter, _ := os.ReadFile(filepath.Join(h.dir, "counter.txt"))
	if c := strings.TrimSpace(string(counter)); c == "" {
		t.Error("the task had no step counter")
	} else if _, err := os.Stat(c + ".cpus"); !os.IsNotExist(err) {
		t.Errorf("the file of the steps' CPUs outlived the task: %v", err)
	}
}

// TestScontrolShowNode: scripts size themselves from their node
// (`scontrol show node $SLURMD_NODENAME | grep -oP 'CPUTot=\K\d+'`) and read
// partitions; burst refused both (exit 1), its refusal on stdout.
func TestScontrolShowNode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	writeFile(t, filepath.Join(h.dir, "size.sh"), "#!/bin/bash\nscontrol show node $SLURMD_NODENAME | grep -oP 'CPUTot=\\K\\d+'\n", 0o755)
	r := h.runIn(h.dir, "run", "size.sh")
	if n, err := strconv.Atoi(strings.TrimSpace(r.stdout)); r.code != 0 || err != nil || n < 1 {
		t.Errorf("a script reading its node's CPUs:\n%s", r)
	}
	if r := h.mustRun("slurm", "scontrol", "show", "partition", "local"); !strings.HasPrefix(r.stdout, "PartitionName=local\n") ||
		!strings.Contains(r.stdout, "Default=YES") || !strings.Contains(r.stdout, "Nodes=local-1\n") {
		t.Errorf("scontrol show partition local:\n%s", r)
	}
	// Its kernel, as uname gives it (Slurm 22.05: "OS=Linux 6.18.44-fc-v1272
	// #1 SMP PREEMPT_DYNAMIC @0", uname -srv), and when it last went idle.
	uname, err := exec.Command("uname", "-srv").Output()
	if err != nil {
		t.Fatal(err)
	}
	r = h.mustRun("slurm", "scontrol", "show", "node", "local-1")
	if !regexp.MustCompile(` CPULoad=\d+\.\d\d\n`).MatchString(r.stdout) || !regexp.MustCompile(` FreeMem=[1-9]\d* `).MatchString(r.stdout) {
		t.Errorf("scontrol show node local-1: want its CPULoad and FreeMem (as its agent read them), not N/A:\n%s", r.stdout)
	}
	if want := "\n   OS=" + strings.TrimSpace(string(uname)) + " \n"; !strings.Contains(r.stdout, want) ||
		!regexp.MustCompile(`\n   LastBusyTime=20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\n`).MatchString(r.stdout) {
		t.Errorf("scontrol show node local-1: want %q and a LastBusyTime line in\n%s", want, r.stdout)
	}
	if r := h.run("slurm", "scontrol", "show", "node", "nosuch"); r.code != 1 || r.stderr != "Node nosuch not found\n" || r.stdout != "" {
		t.Errorf("an unknown node: want exit 1 and scontrol's words on stderr alone:\n%s", r)
	}
	if r := h.run("slurm", "scontrol", "suspend", "1"); r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "burst answers") {
		t.Errorf("what burst does not answer is said on stderr, exit 1:\n%s", r)
	}
}

// TestLastBusyTimeAcrossRestart: scontrol show node's LastBusyTime is when
// the machine's last task ended, after a restart of the server too (its
// agent, which outlives the server, tells it); burst showed the restarted
// server's start, as if the machine had been busy until then. Slurm keeps
// it in its node state across a slurmctld restart.
func TestLastBusyTimeAcrossRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "true")
	lastBusy := regexp.MustCompile(`\n   LastBusyTime=(\S+)\n`)
	busy := func() string {
		m := lastBusy.FindStringSubmatch(h.mustRun("slurm", "scontrol", "show", "node", "local-1").stdout)
		if m == nil {
			return ""
		}
		return m[1]
	}
	before := busy()
	at, err := time.ParseInLocation("2006-01-02T15:04:05", before, time.Local)
	if err != nil {
		t.Fatalf("LastBusyTime %q: %v", before, err)
	}
	// The restarted server's start must read as another second than the
	// task's end.
	h.waitFor("the clock to pass LastBusyTime", 10*time.Second, func() bool { return time.Since(at) > 2*time.Second })
	h.kill9(h.serverPID(), "server")
	// Before the restart it is the server's reading of the task's end;
	// after it, the agent's (a few milliseconds before): within a second,
	// whichever second each falls in.
	h.waitFor("LastBusyTime to read "+before+" again, within a second", 30*time.Second, func() bool {
		after, err := time.ParseInLocation("2006-01-02T15:04:05", busy(), time.Local)
		d := after.Sub(at)
		return err == nil && d >= -time.Second && d <= time.Second
	})
}

// TestScontrolRequeue: a batch script that requeues itself (the pattern of
// checkpointing jobs: trap the --signal, save, scontrol requeue
// $SLURM_JOB_ID) runs again from the start, SLURM_RESTART_COUNT counting
// its runs, its output appended (--open-mode=append), until it ends by
// itself; the requeues use no --retries. burst answered `scontrol requeue`
// with an error, and the job ended after its first run.
func TestScontrolRequeue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	script := filepath.Join(h.dir, "requeue.sh")
	writeFile(t, script, `#!/bin/bash
#SBATCH --open-mode=append
#SBATCH -o rq-%j.out
echo "start restart=${SLURM_RESTART_COUNT:-0} mode=$SLURM_OPEN_MODE"
if [ "${SLURM_RESTART_COUNT:-0}" -lt 2 ]; then
  scontrol requeue "$SLURM_JOB_ID" || echo "requeue failed: $?"
  sleep 60
fi
echo done
`, 0o755)
	id := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-W", script).stdout)
	out, err := os.ReadFile(filepath.Join(h.dir, "rq-"+id+".out"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"start restart=0 mode=a\n", "start restart=1 mode=a\n", "start restart=2 mode=a\ndone\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output holds no %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "requeue failed") {
		t.Errorf("scontrol requeue failed in the job:\n%s", out)
	}
	// Each requeue is told as slurmstepd tells it (Slurm 22.05, checked
	// beside it: "*** JOB 30 ON c1 CANCELLED AT ... DUE TO JOB REQUEUE ***").
	requeued := regexp.MustCompile(`(?m)^slurmstepd: error: \*\*\* JOB ` + id + ` ON \S+ CANCELLED AT \S+ DUE TO JOB REQUEUE \*\*\*$`)
	if n := len(requeued.FindAllString(string(out), -1)); n != 2 {
		t.Errorf("the output has %d lines saying the job was cancelled due to its requeue, want 2:\n%s", n, out)
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	if j := h.show(n); j.State != "succeeded" {
		t.Errorf("the job ended %s; want succeeded after its third run", j.State)
	}
	// scontrol counts the restarts, and says the job may be requeued (22.05's default).
	if r := h.mustRun("slurm", "scontrol", "show", "job", id); !strings.Contains(r.stdout, " Requeue=1 Restarts=2 BatchFlag=1 ") {
		t.Errorf("scontrol show job of a job requeued twice: want Requeue=1 Restarts=2:\n%s", r.stdout)
	}
	// sbatch --no-requeue: Requeue=0, and scontrol requeue refused in 22.05's words (checked with the real one).
	marks := filepath.Join(h.dir, "norq-runs")
	norq := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "--no-requeue", "--wrap", "echo run >> "+marks+"; sleep 60").stdout)
	h.waitFor("the --no-requeue job to run", 30*time.Second, func() bool {
		b, _ := os.ReadFile(marks)
		return strings.Count(string(b), "run") == 1
	})
	if r := h.run("slurm", "scontrol", "requeue", norq); r.code != 1 || r.stderr != "Requested operation is presently disabled for job "+norq+"\n" {
		t.Errorf("scontrol requeue of a --no-requeue job: want exit 1, Requested operation is presently disabled:\n%s", r)
	}
	if r := h.mustRun("slurm", "scontrol", "show", "job", norq); !strings.Contains(r.stdout, " Requeue=0 Restarts=0 ") || !strings.Contains(r.stdout, "JobState=RUNNING") {
		t.Errorf("scontrol show job of a running --no-requeue job: want Requeue=0 Restarts=0, RUNNING:\n%s", r.stdout)
	}
	// scontrol update Requeue=1 lets it be requeued, Requeue=0 forbids
	// it again, as 22.05 does (checked with the real one); burst refused
	// the key, saying it requeues any job.
	h.mustRun("slurm", "scontrol", "update", "JobId="+norq, "Requeue=1")
	if r := h.mustRun("slurm", "scontrol", "show", "job", norq); !strings.Contains(r.stdout, " Requeue=1 ") {
		t.Errorf("scontrol show job after update Requeue=1: want Requeue=1:\n%s", r.stdout)
	}
	h.mustRun("slurm", "scontrol", "requeue", norq)
	h.waitFor("the job made requeueable to run again", 30*time.Second, func() bool {
		b, _ := os.ReadFile(marks)
		return strings.Count(string(b), "run") == 2
	})
	h.mustRun("slurm", "scontrol", "update", "JobId="+norq, "Requeue=0")
	if r := h.run("slurm", "scontrol", "requeue", norq); r.code != 1 || r.stderr != "Requested operation is presently disabled for job "+norq+"\n" {
		t.Errorf("scontrol requeue after update Requeue=0: want exit 1, Requested operation is presently disabled:\n%s", r)
	}
	h.mustRun("slurm", "scancel", norq)
	// An ended job is not requeued by burst (Slurm 22.05 requeues it): said, exit 1.
	if r := h.run("slurm", "scontrol", "requeue", id); r.code != 1 || !strings.Contains(r.stderr, "scontrol: error: requeue of job "+id+": it has ended") {
		t.Errorf("scontrol requeue of an ended job: want exit 1 and an error naming it:\n%s", r)
	}
	// A pending job and an id that names none, in scontrol 22.05's words (checked with the real one).
	pending := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "--begin", "now+1hour", "--wrap", "true").stdout)
	for arg, want := range map[string]string{pending: "Job is pending execution for job " + pending + "\n", "abc": "Invalid job id specified for job abc\n"} {
		if r := h.run("slurm", "scontrol", "requeue", arg); r.code != 1 || r.stderr != want {
			t.Errorf("scontrol requeue %s: want exit 1 and %q:\n%s", arg, want, r)
		}
	}
}

// TestRequeueTruncatesOutput: a job requeued without --open-mode=append
// starts its output file afresh, as Slurm 22.05 does (checked beside the
// suite's Slurm: after `scontrol requeue` of a running job only the last
// run's lines are left, "run 1 start", "run 1 end"). burst kept every run's
// output and the cancel line of the first, as if append had been asked.
func TestRequeueTruncatesOutput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	script := filepath.Join(h.dir, "requeue.sh")
	writeFile(t, script, `#!/bin/bash
#SBATCH -o rq-%j.out
echo "run ${SLURM_RESTART_COUNT:-0} start"
if [ "${SLURM_RESTART_COUNT:-0}" -lt 1 ]; then
  scontrol requeue $SLURM_JOB_ID
  sleep 60
fi
echo "run ${SLURM_RESTART_COUNT:-0} end"
`, 0o755)
	id := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-W", script).stdout)
	out, err := os.ReadFile(filepath.Join(h.dir, "rq-"+id+".out"))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "run 1 start\nrun 1 end\n" {
		t.Errorf("the output of the requeued job:\n%s\nwant only its last run's lines", out)
	}
}

// scontrol hold and release, and sbatch -H, as Slurm 22.05 answers them
// (checked with the suite's real Slurm): a held job stays pending with
// Reason JobHeldUser and priority 0, across a restart of the server, until
// scontrol release, and then runs; holding a running job changes nothing
// and is no error; a job that ended or never was is named on stderr, exit
// 1. burst refused -H and answered scontrol hold and release with an error.
func TestScontrolHoldRelease(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	held := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-H", "-o", "held-%j.out", "--wrap", "echo ran").stdout)
	later := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "--wrap", "sleep 60").stdout)
	h.waitFor("the second job to run", 30*time.Second, func() bool {
		n, _ := strconv.ParseInt(later, 10, 64)
		return h.show(n).State == "running"
	})
	if r := h.mustRun("slurm", "scontrol", "hold", later); r.stderr != "" {
		t.Errorf("scontrol hold of a running job: want exit 0, nothing said:\n%s", r)
	}
	if r := h.mustRun("slurm", "squeue", "-h", "-o", "%i %T %r %Q", "-j", held+","+later); !strings.Contains(r.stdout, held+" PENDING JobHeldUser 0\n") || !strings.Contains(r.stdout, later+" RUNNING None ") {
		t.Errorf("squeue: want %s held (JobHeldUser, priority 0) and %s running on:\n%s", held, later, r)
	}
	// The harness's user is burst's admin, as root is Slurm's: its hold is
	// an admin's (JobHeldAdmin), its uhold one the job's user may release.
	waits := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-d", "afterok:"+later, "--wrap", "true").stdout)
	for verb, want := range map[string]string{"hold": "JobHeldAdmin", "uhold": "JobHeldUser"} {
		h.mustRun("slurm", "scontrol", verb, waits)
		if r := h.mustRun("slurm", "squeue", "-h", "-o", "%r %Q", "-j", waits); r.stdout != want+" 0\n" {
			t.Errorf("squeue after scontrol %s: want %s 0:\n%s", verb, want, r)
		}
		h.mustRun("slurm", "scontrol", "release", waits)
	}
	if r := h.mustRun("slurm", "squeue", "-h", "-o", "%r", "-j", waits); r.stdout != "Dependency\n" {
		t.Errorf("squeue after the release: want Dependency:\n%s", r)
	}
	h.kill9(h.serverPID(), "server") // the next command starts another
	if r := h.mustRun("slurm", "scontrol", "show", "job", held); !strings.Contains(r.stdout, "Priority=0 ") || !strings.Contains(r.stdout, "JobState=PENDING Reason=JobHeldUser ") {
		t.Errorf("after a restart, scontrol show job: want the job still held:\n%s", r)
	}
	h.mustRun("slurm", "scontrol", "release", held)
	n, _ := strconv.ParseInt(held, 10, 64)
	h.waitFor("the released job to end", 30*time.Second, func() bool { return terminal(h.show(n).State) })
	if out, err := os.ReadFile(filepath.Join(h.dir, "held-"+held+".out")); err != nil || string(out) != "ran\n" {
		t.Errorf("the released job's output: %q, %v; want ran", out, err)
	}
	want := "Job has already finished for job " + held + "\nInvalid job id specified for job 99999\nslurm_suspend error: Invalid job id specified\n"
	if r := h.run("slurm", "scontrol", "hold", held, "99999"); r.code != 1 || r.stderr != want {
		t.Errorf("scontrol hold of an ended and an unknown job: want exit 1 and %q:\n%s", want, r)
	}
	h.mustRun("slurm", "scancel", later, waits)
}

// TestScontrolUpdate: scontrol update as Slurm 22.05 answers it (checked
// side by side with the suite's Slurm): a waiting job renamed, its time
// limit changed by +MINUTES, its dependency dropped (it then runs while
// the job it waited for still does); an array's throttle; a key burst
// does not change named, a key Slurm does not know in scontrol's words,
// exit 1 (a running job's time limit: TestScontrolUpdateRunningTimeLimit).
func TestScontrolUpdate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	first := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "--wrap", "sleep 60").stdout)
	waits := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-d", "afterok:"+first, "-t", "10", "-J", "w",
		"-o", "w-%j.out", "--wrap", "echo ran").stdout)
	h.mustRun("slurm", "scontrol", "update", "JobId="+waits, "TimeLimit=+5", "name=renamed")
	if r := h.mustRun("slurm", "squeue", "-h", "-o", "%j %l %r %E", "-j", waits); r.stdout != "renamed 15:00 Dependency afterok:"+first+"(unfulfilled)\n" {
		t.Errorf("squeue after the update: want renamed 15:00, still waiting:\n%s", r)
	}
	h.mustRun("slurm", "scontrol", "update", "jobid="+waits, "Dependency=")
	n, _ := strconv.ParseInt(waits, 10, 64)
	h.waitFor("the job freed of its dependency to end", 30*time.Second, func() bool { return terminal(h.show(n).State) })
	if out, err := os.ReadFile(filepath.Join(h.dir, "w-"+waits+".out")); err != nil || string(out) != "ran\n" {
		t.Errorf("its output: %q, %v; want ran", out, err)
	}
	arr := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-H", "-a", "1-4%1", "--wrap", "true").stdout)
	h.mustRun("slurm", "scontrol", "update", "JobId="+arr, "ArrayTaskThrottle=3")
	if r := h.mustRun("slurm", "scontrol", "show", "job", "-o", arr); !strings.Contains(r.stdout, " ArrayTaskThrottle=3 ") {
		t.Errorf("the array's throttle: want 3:\n%s", r)
	}
	for _, tc := range []struct{ args, stderr string }{
		{"JobId=" + first + " Nice=10", "scontrol: error: burst does not update Nice: "},
		{"JobId=" + first + " Bogus=1", "Update of this parameter is not supported: Bogus=1\nRequest aborted\n"},
		{"JobId=" + first + " TimeLimit=soon", "scontrol: error: Invalid TimeLimit value\n"},
		{"JobId=" + waits + " TimeLimit=5", "Job has already finished for job " + waits + "\n"},
		{"JobId=99999 TimeLimit=5", "Invalid job id specified for job 99999\n"},
		{"JobId=" + first, "No changes specified\n"},
	} {
		if r := h.run(append([]string{"slurm", "scontrol", "update"}, strings.Fields(tc.args)...)...); r.code != 1 || !strings.HasPrefix(r.stderr, tc.stderr) {
			t.Errorf("scontrol update %s: want exit 1 and %q:\n%s", tc.args, tc.stderr, r)
		}
	}
	h.mustRun("slurm", "scancel", first, arr)
}

// TestScontrolHoldArray: an array held while a task of it runs (scontrol
// hold ID) lets that task end and starts no other until released, the
// pending ones reading JobHeldAdmin (the harness's user is the admin) and
// the running one too, as Slurm 22.05 shows them; burst ignored the hold.
func TestScontrolHoldArray(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	arr := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-a", "1-3%1", "--wrap", "sleep 1").stdout)
	n, _ := strconv.ParseInt(arr, 10, 64)
	h.waitFor("the array's first task to run", 30*time.Second, func() bool { return h.show(n).State == "running" })
	h.mustRun("slurm", "scontrol", "hold", arr)
	if r := h.mustRun("slurm", "squeue", "-h", "-r", "-o", "%i %t %r", "-j", arr); !strings.Contains(r.stdout, arr+"_3 PD JobHeldAdmin\n") {
		t.Errorf("squeue of the held array: want its last task PD JobHeldAdmin:\n%s", r)
	}
	h.waitFor("the running task to end", 30*time.Second, func() bool {
		return strings.Contains(h.mustRun("slurm", "sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", arr+"_1").stdout, "COMPLETED")
	})
	if r := h.mustRun("slurm", "squeue", "-h", "-r", "-o", "%i %t %r", "-j", arr); r.stdout != arr+"_2 PD JobHeldAdmin\n"+arr+"_3 PD JobHeldAdmin\n" {
		t.Errorf("squeue once the running task ended: want the other two held:\n%s", r)
	}
	h.mustRun("slurm", "scontrol", "release", arr)
	h.waitFor("the released array to end", 30*time.Second, func() bool { return terminal(h.show(n).State) })
	if st := h.show(n).State; st != "succeeded" {
		t.Errorf("the array ended %s, want succeeded", st)
	}
}

// killOnBadExit is a step's command for srun -K: task 1 fails, task 0
// waits to be ended.
const killOnBadExit = `[ "$SLURM_PROCID" = 1 ] && exit 4; exec sleep 30`

// sortedLines is s's lines in sorted order: the tasks of a step print
// theirs in any order.
func sortedLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "")
}

// scontrol show job's Restarts= of a requeued array task and of a requeued
// job still pending, as Slurm 22.05 counts them (checked beside the
// suite's Slurm: the requeued task 0 of an array says Restarts=1, its task
// 1 Restarts=0; a job requeued and held says Restarts=1 while it waits).
// burst said Restarts=0 for every array task, and for a requeued job until
// it ran again.
func TestScontrolRestartsOfRequeued(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	arr := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-a", "0-1", "-o", "/dev/null", "--wrap", "sleep 60").stdout)
	a, _ := strconv.ParseInt(arr, 10, 64)
	h.waitFor("both tasks to run", 30*time.Second, func() bool { return h.show(a).Tasks.Running == 2 })
	h.mustRun("slurm", "scontrol", "requeue", arr+"_0")
	h.waitFor("task 0 to run again", 30*time.Second, func() bool {
		ts := h.tasks(a)
		return len(ts) == 2 && ts[0].Attempt == 2 && ts[0].State == "running"
	})
	for task, want := range []string{" Restarts=1 ", " Restarts=0 "} {
		if r := h.mustRun("slurm", "scontrol", "show", "job", arr+"_"+strconv.Itoa(task)); !strings.Contains(r.stdout, want) {
			t.Errorf("scontrol show job %s_%d: want%s:\n%s", arr, task, want, r.stdout)
		}
	}
	h.mustRun("slurm", "scancel", arr)

	id := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-o", "/dev/null", "--wrap", "sleep 60").stdout)
	n, _ := strconv.ParseInt(id, 10, 64)
	h.waitFor("the job to run", 30*time.Second, func() bool { return h.show(n).Tasks.Running == 1 })
	h.mustRun("slurm", "scontrol", "requeuehold", id)
	h.waitFor("the job to wait, requeued and held", 30*time.Second, func() bool {
		return h.mustRun("slurm", "squeue", "-h", "-j", id, "-o", "%t").stdout == "PD\n"
	})
	if r := h.mustRun("slurm", "scontrol", "show", "job", id); !strings.Contains(r.stdout, " Restarts=1 ") {
		t.Errorf("scontrol show job of a job requeued and held: want Restarts=1:\n%s", r.stdout)
	}
	h.mustRun("slurm", "scancel", id)
}

// scontrol requeuehold, as Slurm 22.05 answers it (checked with the real
// one): the running job goes back to the queue held, squeue's Reason "job
// requeued in held state" (scontrol's job_requeued_in_held_state), kept
// through a later uhold; released, it runs again from the start. A pending
// job is refused in scontrol's words. burst answered it with its usage.
func TestScontrolRequeueHold(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marks := filepath.Join(h.dir, "rqh-runs")
	id := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "--wrap", "echo run >> "+marks+"; sleep 60").stdout)
	n, _ := strconv.ParseInt(id, 10, 64)
	h.waitFor("the job to run", 30*time.Second, func() bool {
		b, _ := os.ReadFile(marks)
		return strings.Count(string(b), "run") == 1
	})
	if r := h.mustRun("slurm", "scontrol", "requeuehold", id); r.stderr != "" {
		t.Errorf("scontrol requeuehold of a running job: want exit 0, nothing said:\n%s", r)
	}
	want := "PD|job requeued in held state\n"
	h.waitFor("squeue to show it pending, requeued and held", 30*time.Second, func() bool {
		return h.mustRun("slurm", "squeue", "-h", "-j", id, "-o", "%t|%r").stdout == want
	})
	if r := h.mustRun("slurm", "scontrol", "show", "job", id); !strings.Contains(r.stdout, " Reason=job_requeued_in_held_state ") || !strings.Contains(r.stdout, "Priority=0 ") {
		t.Errorf("scontrol show job of a requeued held job: want Reason=job_requeued_in_held_state and Priority=0:\n%s", r.stdout)
	}
	h.mustRun("slurm", "scontrol", "uhold", id)
	if r := h.mustRun("slurm", "squeue", "-h", "-j", id, "-o", "%t|%r"); r.stdout != want {
		t.Errorf("after uhold: squeue %q; want %q (Slurm keeps the requeue's reason)", r.stdout, want)
	}
	if j := h.show(n); j.State != "queued" {
		t.Errorf("requeued and held: state %s; want queued", j.State)
	}
	h.mustRun("slurm", "scontrol", "release", id)
	h.waitFor("the released job to run again from the start", 30*time.Second, func() bool {
		b, _ := os.ReadFile(marks)
		return strings.Count(string(b), "run") == 2
	})
	h.mustRun("slurm", "scancel", id)
	pending := strings.TrimSpace(h.mustRun("slurm", "sbatch", "--parsable", "-H", "--wrap", "true").stdout)
	if r := h.run("slurm", "scontrol", "requeuehold", pending); r.code != 1 || r.stderr != "Job is pending execution for job "+pending+"\n" {
		t.Errorf("scontrol requeuehold of a pending job: want exit 1 in scontrol's words:\n%s", r)
	}
}

// TestSqueueStdioPatterns: squeue -O STDOUT, STDERR and STDIN show a batch
// job's -o, -e and -i as written, nothing expanded, under its working
// directory, pending or running, and slurm-ID.out without -o, ID the
// job's own, an array task's too (not %A_%a), as Slurm 22.05's squeue
// shows them (checked: /tmp/w/o_%j_%N_%t_%x.out, slurm-15.out for task
// 13_1). burst showed the files' names expanded, running (the array's
// tasks) or pending (the others, on a machine the array fills, or not).
func TestSqueueStdioPatterns(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	face := faceSide(t, h, dir)
	sbatch := func(args ...string) string {
		r := face(append(append([]string{"sbatch", "--parsable"}, args...), "--wrap", "sleep 300")...)
		if r.code != 0 {
			t.Fatalf("sbatch %q: %s", args, r)
		}
		id := strings.TrimSpace(r.stdout)
		t.Cleanup(func() { face("scancel", id) })
		return id
	}
	arr := sbatch("-a", "1-2") // first, to run both tasks; the others may wait
	h.waitFor("array "+arr+"'s tasks to run", 60*time.Second, func() bool {
		return strings.Count(face("squeue", "-h", "-r", "-j", arr, "-t", "R", "-o", "%i").stdout, "\n") == 2
	})
	held := sbatch("-H", "-o", "h_%j_%x.out", "-e", "/tmp/e_%j.err", "-i", "in_%j")
	run := sbatch("-o", "o_%j_%N_%%.out")
	plain := sbatch()
	for _, c := range []struct{ id, want string }{
		{held, filepath.Join(dir, "h_%j_%x.out") + " /tmp/e_%j.err " + filepath.Join(dir, "in_%j")},
		{run, filepath.Join(dir, "o_%j_%N_%%.out") + " " + filepath.Join(dir, "o_%j_%N_%%.out") + " /dev/null"},
		{plain, filepath.Join(dir, "slurm-"+plain+".out") + " " + filepath.Join(dir, "slurm-"+plain+".out") + " /dev/null"},
	} {
		r := face("squeue", "-h", "-j", c.id, "-O", "STDOUT:100,STDERR:100,STDIN:100")
		if got := strings.Join(strings.Fields(r.stdout), " "); got != c.want {
			t.Errorf("squeue -O STDOUT,STDERR,STDIN of job %s: %q, want %q", c.id, got, c.want)
		}
	}
	own := strings.Fields(face("squeue", "-h", "-r", "-j", arr, "-o", "%A").stdout)
	var want []string
	for _, id := range own {
		want = append(want, filepath.Join(dir, "slurm-"+id+".out"))
	}
	got := strings.Fields(face("squeue", "-h", "-r", "-j", arr, "-O", "STDOUT:100").stdout)
	slices.Sort(got)
	slices.Sort(want)
	if len(want) != 2 || !slices.Equal(got, want) {
		t.Errorf("squeue -r -O STDOUT of array %s's tasks: %q, want slurm-ID.out with each task's own id, %q", arr, got, want)
	}
}

// TestScontrolNotify: scontrol notify ID MESSAGE writes the message into
// the running batch job's error file as slurmstepd does, and says what it
// cannot tell in Slurm 22.05's words, exit 1. Expected lines as the suite's
// Slurm 22.05 printed them: "slurmstepd-c1: error: hello world two" in
// slurm-ID.out (the node named, as one of several slurmd on a host names
// itself; "slurmstepd: error:" as its cancel line here), "job notify
// failure: Requested operation is presently disabled" for a pending job,
// "... Invalid job id specified" for an unknown one, "... Job/step already
// completing or completed" for one that ended, "too few arguments for
// keyword:notify" without a message. burst refused the command.
func TestScontrolNotify(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	sb := func(args ...string) string {
		return strings.TrimSpace(h.runIn(dir, append([]string{"slurm", "sbatch", "--parsable"}, args...)...).stdout)
	}
	run := sb("-o", "run.out", "--wrap", "echo started; sleep 300")
	held := sb("-H", "--wrap", "true")
	done := sb("-o", "/dev/null", "--wrap", "true")
	t.Cleanup(func() { h.run("slurm", "scancel", run, held) })
	h.waitFor("the job to print", 60*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "run.out"))
		return string(b) == "started\n"
	})
	if r := h.run("slurm", "scontrol", "notify", run, "hello", "world  two"); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("scontrol notify of a running job: %s\nwant exit 0, silent", r)
	}
	h.waitFor("the message in the job's error file", 30*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "run.out"))
		return string(b) == "started\nslurmstepd: error: hello world  two\n"
	})
	n, _ := strconv.ParseInt(done, 10, 64)
	h.waitFor("the short job to end", 30*time.Second, func() bool { return h.show(n).State == "succeeded" })
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{held, "hi"}, "job notify failure: Requested operation is presently disabled\n"},
		{[]string{"99999", "hi"}, "job notify failure: Invalid job id specified\n"},
		{[]string{done, "hi"}, "job notify failure: Job/step already completing or completed\n"},
		{[]string{run}, "too few arguments for keyword:notify\n"},
	} {
		if r := h.run(append([]string{"slurm", "scontrol", "notify"}, c.args...)...); r.code != 1 || r.stdout != "" || r.stderr != c.want {
			t.Errorf("scontrol notify %v: %s\nwant exit 1 and %q on stderr", c.args, r, c.want)
		}
	}
}

// TestScontrolTop: scontrol top answers as Slurm 22.05's did beside it,
// exit 1 each: "Job is no longer pending execution for job N" for a job
// that runs, "Job is in held state, pending scheduler release for job N"
// for a held one, "Invalid job id specified for job 99999" for none; a
// job that waits is refused naming what to do, since burst does not
// reorder its queue (Slurm put it first, exit 0). burst refused the
// command with its list of scontrol commands.
func TestScontrolTop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sb := func(args ...string) string {
		return strings.TrimSpace(h.runIn(h.dir, append([]string{"slurm", "sbatch", "--parsable", "-o", "/dev/null"}, args...)...).stdout)
	}
	run := sb("--wrap", "sleep 300")
	held := sb("-H", "--wrap", "true")
	wait := sb("-d", "afterok:"+run, "--wrap", "true")
	t.Cleanup(func() { h.run("slurm", "scancel", run, held, wait) })
	n, _ := strconv.ParseInt(run, 10, 64)
	h.waitFor("the job to run", 60*time.Second, func() bool { return h.show(n).State == "running" })
	for _, c := range []struct{ id, want string }{
		{run, "Job is no longer pending execution for job " + run + "\n"},
		{held, "Job is in held state, pending scheduler release for job " + held + "\n"},
		{"99999", "Invalid job id specified for job 99999\n"},
		{wait, "scontrol: error: burst does not reorder its queue: job " + wait + " waits its turn; "},
	} {
		if r := h.run("slurm", "scontrol", "top", c.id); r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, c.want) {
			t.Errorf("scontrol top %s: %s\nwant exit 1 and %q on stderr", c.id, r, c.want)
		}
	}
}

// TestSqueuePartitionAsSubmitted: a job submitted to a partition no burst
// cluster is named after (sbatch -p defq, run on the default cluster) is
// still one of that partition for squeue -p, sacct -r and scancel -p, as Slurm lists a job under
// the partition it was submitted to (the suite's Slurm: `sbatch -p debug`,
// then `squeue -t all -p debug -u root` lists it), and of that one alone;
// squeue's %P, scontrol's Partition= and sacct's Partition show it, as
// Slurm 22.05 shows debug for the job of `sbatch -p debug` (burst showed
// the cluster, local). Nextflow with process.queue = 'defq' polls
// `squeue --noheader -o '%i %t' -t all -p defq -u USER`; burst listed none
// of its jobs, so each looked vanished. The listing carries each job's
// partition: no job is read one by one.
func TestSqueuePartitionAsSubmitted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sb := func(args ...string) string {
		return strings.TrimSpace(h.runIn(h.dir, append([]string{"slurm", "sbatch", "--parsable", "-o", "/dev/null"}, args...)...).stdout)
	}
	defq := sb("-p", "defq", "--wrap", "sleep 300")
	arr := sb("-p", "defq", "-H", "--array=1-2", "--wrap", "true")
	other := sb("--wrap", "sleep 300")
	t.Cleanup(func() { h.run("slurm", "scancel", defq, arr, other) })
	n, _ := strconv.ParseInt(defq, 10, 64)
	h.waitFor("the job to run", 60*time.Second, func() bool { return h.show(n).State == "running" })
	for _, c := range []struct {
		parts string
		want  []string
	}{
		{"defq", []string{arr + "_[1-2]", defq}},
		{"local", []string{other}},
		{"nosuch", nil},
	} {
		r := h.mustRun("slurm", "squeue", "--noheader", "-o", "%i", "-t", "all", "-p", c.parts, "-j", defq+","+arr+","+other)
		if got := strings.Fields(r.stdout); !slices.Equal(got, c.want) {
			t.Errorf("squeue -p %s: %v, want %v", c.parts, got, c.want)
		}
		// sacct -r as squeue -p, in sacct's order (by id).
		r = h.mustRun("slurm", "sacct", "-X", "-n", "-P", "-o", "JobID", "-r", c.parts, "-j", defq+","+arr+","+other)
		got := strings.Fields(r.stdout)
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("sacct -r %s: %v, want %v", c.parts, got, want)
		}
	}
	if r := h.mustRun("slurm", "squeue", "--noheader", "-o", "%i|%P", "-t", "all", "-j", defq+","+other); r.stdout != defq+"|defq\n"+other+"|local\n" {
		t.Errorf("squeue -o %%i|%%P: %q, want %s|defq and %s|local", r.stdout, defq, other)
	}
	if r := h.mustRun("slurm", "scontrol", "show", "job", defq); !strings.Contains(r.stdout, " Partition=defq ") {
		t.Errorf("scontrol show job %s: want Partition=defq in\n%s", defq, r.stdout)
	}
	if r := h.mustRun("slurm", "sacct", "-X", "-n", "-P", "-o", "JobID,Partition", "-j", defq); r.stdout != defq+"|defq\n" {
		t.Errorf("sacct -o JobID,Partition: %q, want %s|defq", r.stdout, defq)
	}
	// scancel -p as squeue -p: the jobs of defq, not the other.
	h.mustRun("slurm", "scancel", "-p", "defq")
	a, _ := strconv.ParseInt(arr, 10, 64)
	o, _ := strconv.ParseInt(other, 10, 64)
	h.waitFor("scancel -p defq to cancel its jobs", 30*time.Second, func() bool {
		return h.show(n).State == "cancelled" && h.show(a).State == "cancelled"
	})
	if st := h.show(o).State; st != "running" {
		t.Errorf("scancel -p defq: the job of no partition is %s, want it running on", st)
	}
}

// TestSrunPartitionAsGiven: srun -p outside a job makes a job of that
// partition, as sbatch -p does (TestSqueuePartitionAsSubmitted), one task
// or several: as the suite's Slurm 22.05 ran `srun -p debug -J sp bash -c
// 'echo $SLURM_JOB_PARTITION'` (and with -n 2), the command is told
// debug, and squeue's %P, scontrol's Partition= and sacct's Partition
// say debug; burst said local, the cluster it ran on.
func TestSrunPartitionAsGiven(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for n, want := range map[string]string{"1": "defq\n", "2": "defq\ndefq\n"} {
		name := "sp" + n
		r := h.mustRun("slurm", "srun", "-p", "defq", "-n", n, "-J", name, "bash", "-c", "echo $SLURM_JOB_PARTITION")
		if r.stdout != want {
			t.Errorf("srun -p defq -n %s: the command was told %q, want %q", n, r.stdout, want)
		}
		line := h.mustRun("slurm", "squeue", "-h", "-t", "all", "-n", name, "-o", "%i|%P").stdout
		id, part, _ := strings.Cut(strings.TrimSpace(line), "|")
		if part != "defq" {
			t.Errorf("squeue of srun -p defq -n %s's job: %q, want its partition defq", n, line)
		}
		if show := h.mustRun("slurm", "scontrol", "show", "job", id).stdout; !strings.Contains(show, " Partition=defq ") {
			t.Errorf("scontrol show job of srun -p defq -n %s's job: want Partition=defq in\n%s", n, show)
		}
		if got := h.mustRun("slurm", "sacct", "-X", "-n", "-P", "-o", "Partition", "-j", id).stdout; got != "defq\n" {
			t.Errorf("sacct -o Partition of srun -p defq -n %s's job: %q, want defq", n, got)
		}
	}
}
