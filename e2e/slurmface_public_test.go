package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// publicScript is a batch script from a public repository (shortened where
// long; e2e/testdata/sbatch-public) and what `burst slurm sbatch
// --test-only -v` must make of it: the options sbatch -v lists as defined
// ("NAME : VALUE"), the warnings for directives burst cannot honour, the
// processors --test-only says it would use; or, for a script sbatch
// refuses too, the refusal.
type publicScript struct {
	file, source string
	defined      map[string]string
	warns        []string // each a substring of one warning line
	cpus         string
	refused      string // exit 2 and this in the one-line message
}

var publicScripts = []publicScript{
	{file: "job_array.sh", source: "erangvee/jobs-and-slurm-scripts job_array.sh",
		defined: map[string]string{"job-name": "task_array", "array": "0-4", "mem": "512M", "time": "00:03:00",
			"output": "./output/%x_%A_%a.out", "error": "./output/%x_%A_%a.err", "account": "your_account_here"},
		warns: []string{"--qos is not supported"}, cpus: "1"},
	{file: "job-array-nonsequential.sh", source: "brown-ccv/slurm job_arrays/job-array-nonsequential.sh",
		defined: map[string]string{"array": "1,6-7,12", "job-name": "arrayjob-nonsquential", "output": "%x-%A_%a.out",
			"mem-per-cpu": "4G", "partition": "batch", "ntasks": "1"},
		warns: []string{`partition "batch" is not a burst cluster`}, cpus: "1"},
	{file: "job-array.sh", source: "brown-ccv/slurm job_arrays/job-array.sh",
		defined: map[string]string{"job-name": "arrayjob", "array": "1-2", "output": "arrayjob-%a.out", "error": "arrayjob-%a.err",
			"cpus-per-task": "1", "time": "00:10:00"}, cpus: "1"},
	{file: "test_array_job.sh", source: "HarborneD/ARCCA_Python_Tool test_arcca_scripts/test_array_job.sh",
		defined: map[string]string{"job-name": "arraytest", "array": "0-4", "output": "output-%A_%a-%J.o", "ntasks": "80"}, cpus: "80"},
	{file: "submit.beluga.sh", source: "rkenny/4960A SUGER/submit.beluga.sh",
		defined: map[string]string{"ntasks": "4", "gpus": "1", "mem-per-cpu": "8G", "cpus-per-task": "1"}, cpus: "4"},
	{file: "gpu-job.sh", source: "Carbon225/poleval-2022-abbr gpu-job.sh",
		defined: map[string]string{"cpus-per-task": "8", "gpus": "1", "time": "01:00:00", "account": "plgexaile-gpu-a100",
			"partition": "plgrid-gpu-a100"}, cpus: "8"},
	{file: "produce_similarity.sh", source: "lzzppp/trajectory_similarity_experiment trajectory_similarity_matrix_learning/produce_similarity.sh",
		defined: map[string]string{"job-name": "gpu-job", "cpus-per-task": "4", "gpus": "1", "time": "3-00:00:00"}, cpus: "4"},
	// A bare "#SBATCH" line, then "--mem=32G" on a line of its own: a
	// command, so (as sbatch) the directives end there.
	{file: "slurm.sh", source: "gaurikadiwan/pytorch slurm.sh",
		defined: map[string]string{"job-name": "test", "cpus-per-task": "16", "ntasks": "1", "mem": "", "gpus": "", "partition": ""}, cpus: "16"},
	{file: "header_SLURM.sh", source: "boneta/jacques jacques/queues/templates/header_SLURM.sh",
		defined: map[string]string{"job-name": "jacques", "ntasks": "8", "mem": "4000M", "output": "msg/jacques.msg", "error": "msg/jacques.msg"}, cpus: "8"},
	{file: "SLURM_Header.sh", source: "tudasc/MPI-precompute scripts/SLURM_Header.sh",
		defined: map[string]string{"ntasks": "2", "mem-per-cpu": "3800M", "time": "00:30:00", "cpus-per-task": "96"}, cpus: "192"},
	{file: "par_16_6600.sh", source: "BrianJConway/CS415_Conway PA4/build/scripts/16/par_16_6600.sh",
		defined: map[string]string{"ntasks": "16", "mem": "8G", "time": "00:10:00"},
		warns:   []string{"--nodes=2: a burst job runs on one machine: the tasks of its 2 nodes run there together", "--mail-type is not supported"}, cpus: "16"},
	{file: "qload.sh", source: "epaell/RTSInANutshell test/qload.sh",
		defined: map[string]string{"export": "NONE", "account": "mwasci", "time": "12:00:00", "partition": "copyq"},
		warns:   []string{"--clusters is not supported"}, cpus: "1"},
	// Its first directives are indented with a tab: not directives.
	{file: "R_script_merge_wrapper.sh", source: "brain-discourse/Somatic_analysis_heinzenlab annotation/R_script_merge_wrapper.sh",
		defined: map[string]string{"mem": "40G", "ntasks": "", "time": ""}, cpus: "1"},
	{file: "Peregrine-job.sh", source: "richelbilderbeek/R Peregrine/job.sh",
		defined: map[string]string{"time": "00:10:00", "ntasks": "1", "mem": "10000M", "job-name": "test_job_2", "partition": "short"}, cpus: "1"},
	{file: "test_run.sh", source: "wruth1/ModelMediation R/Not_Run/Empirical_Comparison/test_run.sh",
		defined: map[string]string{"time": "00:05:00", "mem-per-cpu": "500M", "array": "1-1", "output": "./output/%A_%a.out"}, cpus: "1"},
	{file: "Peregrine-1.sh", source: "richelbilderbeek/R Peregrine/1.sh",
		defined: map[string]string{"time": "00:00:01", "mem": "1M", "job-name": "test_job_1"}, cpus: "1"},
	{file: "conda.sh", source: "ChenHsieh/sapelo2-boilerplate generic_template/conda.sh",
		defined: map[string]string{"job-name": "name", "partition": "highmem_p", "cpus-per-task": "2", "time": "5-00:00:00",
			"mem": "480G", "output": "dis.%j.out", "error": "dis.%j.err"},
		warns: []string{"--mail-user is not supported", "--mail-type is not supported"}, cpus: "2"},
	{file: "compile.sh", source: "cwl160030/semiempirical pyscf/semiempirical/compile.sh",
		defined: map[string]string{"ntasks": "8", "output": "output.txt", "error": "error.txt", "job-name": "SEQM", "time": "01:00:00"}, cpus: "8"},
	{file: "submission-checkpoint.sh", source: "abdelllrazekkk/DIPZ_Workflow Fast_Rejection_Scheme/MLPL_Distributions/4ooAllhighest_dist/.ipynb_checkpoints/submission-checkpoint.sh",
		defined: map[string]string{"job-name": "4ooAllhighest_dist", "mem": "500G", "time": "23:20:00", "chdir": "/tmp",
			"output": "output-4ooAllhighest_dist.txt"}, cpus: "1"}, // its -s is --oversubscribe (honoured: the machine is shared)
	{file: "job_v04.sh", source: "zainabnazari/ppmi matrix_preparation/new_jobs_counts_ir2/job_v04.sh",
		defined: map[string]string{"job-name": "v04n", "mem": "160G", "time": "02:00:00"}, warns: []string{"--hint is not supported"}, cpus: "1"},
	{file: "jim_bash.bash", source: "jamesafranke/ViT_clouds scripts/jim_bash.bash",
		defined: map[string]string{"gpus": "4", "output": "%x_%A.out", "error": "%x_%A.err", "time": "00:30:00"}, cpus: "1"},
	{file: "urs-test.sh", source: "777pomingzi/URS test.sh", defined: map[string]string{"gpus": "2", "partition": "rtx2080"}, cpus: "1"},
	{file: "run-gpu4-dist-mahti.sh", source: "CSCfi/pytorch-ddp-examples run-gpu4-dist-mahti.sh",
		defined: map[string]string{"gpus": "a100:4", "cpus-per-task": "40", "time": "00:15:00", "account": "project_2001659"}, cpus: "40"},
	{file: "job_test.sl", source: "jajupmochi/graphkit-learn notebooks/else/job_test.sl",
		defined: map[string]string{"output": "res.txt", "time": "00:10:00", "mem-per-cpu": "100M", "partition": "long"}, cpus: "1"},
	{file: "slurm_sbatch_sleep.sh", source: "hopefulp/sandbox pypbs/slurm_sbatch_sleep.sh",
		defined: map[string]string{"job-name": "sleep", "ntasks": "32"}, warns: []string{"--nodelist is not supported"}, cpus: "32"},
	{file: "exclusive+exclusion.sh", source: "ltaulell/submission_scripts Slurm/exclusive+exclusion.sh",
		defined: map[string]string{"cpus-per-task": "16", "partition": "Lake-short"},
		warns:   []string{"--exclude is not supported"}, cpus: "16"},
	// Not an array sbatch takes either.
	{file: "array_test.sh", source: "JoshuaHarris391/Finding_TFBS_Fn14_Promoter scripts/array_test.sh",
		// Slurm 22.05's words, then burst's reason (TestSbatchRefusesArrayAsSlurm).
		refused: `sbatch: error: Batch job submission failed: Invalid job array specification (`},
	{file: "hpcc-test_job.sh", source: "ucr-hpcc/hpcc_slurm_examples array/test_job.sh",
		defined: map[string]string{"mem-per-cpu": "1G", "time": "00:15:00", "output": "", "job-name": ""}, cpus: "1"},
	{file: "amarel-a.sh", source: "cr718c3ramire/CLG2023_AMAREL AMAREL/R4L10^4_test/a.sh",
		defined: map[string]string{"array": "1-10%10", "job-name": "SM-ARR", "mem": "2G", "time": "2-00:00:00",
			"output": "R4SlurmN8120-%A.%a.out"}, cpus: "1"},
	{file: "tbpipeline-submit.sh", source: "zanderharteveld/tbpipeline targets/.../step01/submit.sh",
		defined: map[string]string{"array": "1-200", "mem": "4G", "ntasks": "1", "output": "/scratch/logs/_output.%A..%a.out"}, cpus: "1"},
	{file: "abil-pre.sh", source: "ruiying-ocean/Abil scripts/pre.sh",
		defined: map[string]string{"mem": "100000M", "cpus-per-task": "16", "account": "GEOG024542", "time": "02:00:00"}, cpus: "16"},
	{file: "sweng-job.sh", source: "dome01polimi/santarsiero_ferrario_sweng_part2 job.sh",
		defined: map[string]string{"job-name": "run-Singularity-container", "ntasks": "2", "output": "out/%x-%j.out"}, cpus: "2"},
	{file: "sweng-pt2-job.sh", source: "HliasGit/sweng_proj_pt2 project/job.sh",
		defined: map[string]string{"ntasks": "2", "account": "a08trb66"}, warns: []string{"--qos is not supported"}, cpus: "2"},
}

// TestSlurmFacePublicScripts submits batch scripts taken from public
// repositories through `burst slurm sbatch --test-only -v` (sbatch(1):
// "Validate the batch script ... No job is actually submitted"): each is
// read with the resources, array, name and output its directives ask for,
// with one warning per directive burst cannot honour, and would start now
// or is refused as a submit would be (more than this machine has, a project
// that does not exist); or it is refused in one line naming the fix.
func TestSlurmFacePublicScripts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := filepath.Join("testdata", "sbatch-public")
	files, _ := os.ReadDir(dir)
	if len(files) != len(publicScripts) {
		t.Errorf("%d scripts in %s, %d in the table: give each its expected outcome", len(files), dir, len(publicScripts))
	}
	for _, ps := range publicScripts {
		t.Run(ps.file, func(t *testing.T) {
			path, _ := filepath.Abs(filepath.Join(dir, ps.file))
			r := h.run("slurm", "sbatch", "--test-only", "-v", path)
			if r.stdout != "" {
				t.Errorf("--test-only printed on stdout: %q (no job is submitted)", r.stdout)
			}
			if ps.refused != "" {
				if r.code != 1 || !strings.Contains(r.stderr, ps.refused) || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("%s (%s): exit %d, %q; want exit 1 (sbatch's) and one line with %q", ps.file, ps.source, r.code, r.stderr, ps.refused)
				}
				return
			}
			defined := map[string]string{}
			var warnings []string
			willRun, refusal := "", ""
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				switch {
				case strings.HasPrefix(l, "allocation failure: "):
					refusal = l
				case strings.HasPrefix(l, "burst: warning: "):
					warnings = append(warnings, l)
				case strings.HasPrefix(l, "sbatch: Job "):
					willRun = l
				case strings.HasPrefix(l, "sbatch: ") && strings.Contains(l, " : "):
					k, v, _ := strings.Cut(strings.TrimPrefix(l, "sbatch: "), ":")
					defined[strings.TrimSpace(k)] = strings.TrimSpace(v)
				}
			}
			for k, want := range ps.defined {
				if defined[k] != want {
					t.Errorf("%s (%s): %s %q, want %q (sbatch -v: %v)", ps.file, ps.source, k, defined[k], want, defined)
				}
			}
			for _, w := range ps.warns {
				if !strings.Contains(strings.Join(warnings, "\n"), w) {
					t.Errorf("%s (%s): no warning saying %q: %q", ps.file, ps.source, w, warnings)
				}
			}
			for _, w := range warnings {
				if !strings.Contains(w, "not supported") && !strings.Contains(w, "is not a burst cluster") && !strings.Contains(w, "runs on one machine") {
					t.Errorf("%s: unexpected warning %q", ps.file, w)
				}
			}
			// What this machine (2 CPUs, no GPU) cannot run, or a project
			// (account) that does not exist, --test-only refuses as sbatch
			// does ("allocation failure: ...", exit 1), naming what was
			// asked for; the rest would start now.
			if refusal != "" {
				n, _ := strconv.Atoi(ps.cpus)
				asked := strings.Contains(refusal, "no project") || strings.Contains(refusal, "no machine has a GPU") || strings.Contains(refusal, "no machine can offer") &&
					(n <= 2 || strings.Contains(refusal, "offer "+ps.cpus+" CPUs"))
				if r.code != 1 || willRun != "" || !asked {
					t.Errorf("%s: --test-only exit %d, %q; want exit 1 and a refusal naming the %s CPUs asked for or the project", ps.file, r.code, refusal, ps.cpus)
				}
				return
			}
			if want := " using " + ps.cpus + " processors on nodes local in partition local"; r.code != 0 || !strings.HasPrefix(willRun, "sbatch: Job 0 to start at ") || !strings.HasSuffix(willRun, want) {
				t.Errorf("%s: --test-only exit %d, said %q, want ...%q", ps.file, r.code, willRun, want)
			}
		})
	}
	// Nothing was submitted.
	if r := h.mustRun("slurm", "squeue", "-h", "-t", "all"); r.stdout != "" {
		t.Errorf("--test-only submitted jobs: %q", r.stdout)
	}
}

// sbatch accepts directives it has no use for (--mail-type, --qos, a
// partition of another site) without a word, and scripts rely on it:
// `JOBID=$(sbatch job.sh 2>&1 | awk '{print $NF}')` (schnierstein/dales_utils
// submission_script.sh). burst's sbatch says nothing either off a terminal
// (-v or a terminal shows the warnings) and keeps them for burst show.
func TestSbatchIgnoredDirectivesAreQuiet(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.jobsJSON() // the server first: its start note is not sbatch's
	script := filepath.Join(h.dir, "job.sh")
	writeFile(t, script, "#!/bin/bash\n#SBATCH --partition=normal\n#SBATCH --mail-type=END\n#SBATCH --mail-user=a@b.c\n#SBATCH --qos=long\ntrue\n", 0o755)
	r := h.run("slurm", "sbatch", script)
	if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "Submitted batch job ") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("sbatch of a script with ignored directives: exit %d, stdout %q, stderr %q; want one line on stdout, nothing on stderr", r.code, r.stdout, r.stderr)
	}
	id := strings.TrimSpace(strings.TrimPrefix(r.stdout, "Submitted batch job "))
	show := h.mustRun("show", id).stdout
	for _, w := range []string{`#SBATCH --mail-type is not supported by burst; ignored`, `#SBATCH --qos is not supported`, `partition "normal" is not a burst cluster`} {
		if !strings.Contains(show, "Ignored:") || !strings.Contains(show, w) {
			t.Errorf("burst show %s does not list %q as ignored:\n%s", id, w, show)
		}
	}
	if r := h.run("slurm", "sbatch", "-v", "--test-only", script); !strings.Contains(r.stderr, "burst: warning: ") {
		t.Errorf("sbatch -v does not print the warnings: %q", r.stderr)
	}
}

// TestSacctArrayTaskIDs: the common last line of a batch script, `sacct -j
// $SLURM_JOB_ID`, run in a task of a job array lists that task, as in Slurm
// (each task is a job with an id of its own); `sacct -j ARRAY_INDEX` lists
// that task alone, and `sacct -j ARRAY` every task (sacct(1): "job_id[_array_id]").
func TestSacctArrayTaskIDs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	script := filepath.Join(h.dir, "arr.sh")
	writeFile(t, script, `#!/bin/bash
#SBATCH --array=2-4
#SBATCH -o `+h.dir+`/arr-%a.out
sacct -X -j "$SLURM_JOB_ID" -n -P -o JobID,JobIDRaw
echo -
sacct -j "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}" -n -P -o JobID
`, 0o755)
	r := h.run("slurm", "sbatch", "--parsable", "--wait", script)
	if r.code != 0 {
		t.Fatalf("sbatch --wait of an array: %s", r)
	}
	arr := strings.TrimSpace(r.stdout)
	id, _ := strconv.Atoi(arr)
	for i := 2; i <= 4; i++ {
		out, err := os.ReadFile(filepath.Join(h.dir, fmt.Sprintf("arr-%d.out", i)))
		if err != nil {
			t.Fatal(err)
		}
		// Task at position i-2 has the id arr+i-2 (its SLURM_JOB_ID); the
		// first's is the array's own, which names every task (as in
		// Slurm, where one task keeps the array's id).
		self := fmt.Sprintf("%s_%d|%d\n", arr, i, id+i-2)
		if i == 2 {
			self = fmt.Sprintf("%s_2|%d\n%s_3|%d\n%s_4|%d\n", arr, id, arr, id+1, arr, id+2)
		}
		// Without -X, the task's batch step follows it (it runs).
		want := fmt.Sprintf("%s-\n%s_%d\n%s_%d.batch\n", self, arr, i, arr, i)
		if string(out) != want {
			t.Errorf("task %d's sacct of itself:\n%s\nwant:\n%s", i, out, want)
		}
	}
	for _, tc := range []struct{ sel, want string }{
		{arr, fmt.Sprintf("%s_2 %s_3 %s_4", arr, arr, arr)},
		{arr + "_3", arr + "_3"},
		{arr + "_[2,4]", fmt.Sprintf("%s_2 %s_4", arr, arr)},
		{fmt.Sprintf("%s_2,%d", arr, id+2), fmt.Sprintf("%s_2 %s_4", arr, arr)},
	} {
		r := h.run("slurm", "sacct", "-X", "-n", "-P", "-o", "JobID", "-j", tc.sel)
		if got := strings.Join(strings.Fields(r.stdout), " "); r.code != 0 || got != tc.want {
			t.Errorf("sacct -X -j %s: exit %d, %q, want %q (%s)", tc.sel, r.code, got, tc.want, r.stderr)
		}
	}
	// Without -X each task's batch step follows it; -j ID.batch is that
	// step alone, -j ID.0 a step burst does not have: nothing.
	for _, tc := range []struct{ sel, want string }{
		{arr + "_3", fmt.Sprintf("%s_3 %s_3.batch", arr, arr)},
		{arr + "_[2,4]", fmt.Sprintf("%s_2 %s_2.batch %s_4 %s_4.batch", arr, arr, arr, arr)},
		{arr + "_3.batch", arr + "_3.batch"},
		{arr + "_3.0", ""},
	} {
		r := h.run("slurm", "sacct", "-n", "-P", "-o", "JobID", "-j", tc.sel)
		if got := strings.Join(strings.Fields(r.stdout), " "); r.code != 0 || got != tc.want {
			t.Errorf("sacct -j %s: exit %d, %q, want %q (%s)", tc.sel, r.code, got, tc.want, r.stderr)
		}
	}
	if r := h.run("slurm", "sacct", "-j", arr+"_x"); r.code == 0 || !strings.Contains(r.stderr, "after the array's id comes the task's index") {
		t.Errorf("sacct -j %s_x: %s", arr, r)
	}
}

// TestSbatchSignal: #SBATCH --signal, as checkpointing scripts use it
// (sbatch(1): "When a job is within sig_time seconds of its end time, send
// it the signal sig_num"). B: reaches the batch shell's trap, which requeues
// or saves and exits; without B: the job's steps get it (srun's tasks) and
// the shell goes on. Each with a one-minute limit and a signal 58 s before.
func TestSbatchSignal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	shell := filepath.Join(h.dir, "shell.sh")
	writeFile(t, shell, `#!/bin/bash
#SBATCH -t 1
#SBATCH --signal=B:USR1@58
#SBATCH -o `+h.dir+`/shell.out
trap 'echo "checkpoint at $SECONDS s"; exit 0' USR1
sleep 100 & wait
echo "not reached"
`, 0o755)
	steps := filepath.Join(h.dir, "steps.sh")
	writeFile(t, steps, `#!/bin/bash
#SBATCH -t 1
#SBATCH --signal=USR1@58
#SBATCH -o `+h.dir+`/steps.out
srun bash -c 'trap "echo step got USR1; exit 0" USR1; sleep 100 & wait'
echo "srun exit $?"
`, 0o755)
	for _, s := range []string{shell, steps} {
		if r := h.run("slurm", "sbatch", "--wait", s); r.code != 0 {
			t.Errorf("sbatch --wait %s: %s", filepath.Base(s), r)
		}
	}
	if out := readFile(t, filepath.Join(h.dir, "shell.out")); !regexp.MustCompile(`^checkpoint at [0-9] s\n$`).MatchString(out) {
		t.Errorf("B:USR1@58 with a one-minute limit: the batch shell's output %q, want its trap's line, a few seconds in", out)
	}
	if out := readFile(t, filepath.Join(h.dir, "steps.out")); out != "step got USR1\nsrun exit 0\n" {
		t.Errorf("USR1@58: the job's output %q, want the step's trap's line, then the shell's", out)
	}
	if show := h.mustRun("show", "1").stdout; !strings.Contains(show, "Signal:       SIGUSR1 58 s before the time limit, to the batch shell") {
		t.Errorf("burst show does not say the signal:\n%s", show)
	}
	for _, bad := range []string{"--signal=USR1@soon", "--signal=NOPE"} {
		if r := h.run("slurm", "sbatch", bad, "--wrap", "true"); r.code == 0 || !strings.Contains(r.stderr, "--signal=B:USR1@120") {
			t.Errorf("sbatch %s: %s", bad, r)
		}
	}
}

// TestScancelSignal: scancel -s SIG signals a running job without ending
// it (scancel(1)): by default its steps, not the batch shell; with -b the
// batch shell alone; KILL cancels.
func TestScancelSignal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	out := filepath.Join(h.dir, "sig.out")
	script := filepath.Join(h.dir, "sig.sh")
	writeFile(t, script, `#!/bin/bash
#SBATCH -o `+out+`
trap 'echo shell got USR1' USR1
srun bash -c 'trap "echo step got USR1; exit 0" USR1; echo step ready; while :; do sleep 0.1; done' &
wait
echo "srun ended $?"
trap 'echo shell got USR2; exit 0' USR2
echo shell ready
while :; do sleep 0.1; done
`, 0o755)
	r := h.run("slurm", "sbatch", "--parsable", script)
	if r.code != 0 {
		t.Fatal(r)
	}
	id := strings.TrimSpace(r.stdout)
	contents := func() string { b, _ := os.ReadFile(out); return string(b) }
	h.waitFor("the step to be ready", 60*time.Second, func() bool { return strings.Contains(contents(), "step ready\n") })
	if r := h.run("slurm", "scancel", "-s", "USR1", id); r.code != 0 || r.stdout+r.stderr != "" {
		t.Fatalf("scancel -s USR1: %s", r)
	}
	h.waitFor("the shell to go on past its step", 60*time.Second, func() bool { return strings.Contains(contents(), "shell ready\n") })
	// (The step's sleep, a step's process too, dies of it: bash may say
	// "User defined signal 1" for it.)
	if got := strings.ReplaceAll(contents(), "User defined signal 1\n", ""); got != "step ready\nstep got USR1\nsrun ended 0\nshell ready\n" {
		t.Errorf("after scancel -s USR1 (the job's steps, not its shell): %q", got)
	}
	if r := h.run("slurm", "scancel", "--batch", "--signal=SIGUSR2", id); r.code != 0 {
		t.Fatalf("scancel -b -s USR2: %s", r)
	}
	h.waitFor("the job to end", 60*time.Second, func() bool {
		return h.mustRun("slurm", "squeue", "-h", "-t", "all", "-o", "%T", "-j", id).stdout == "COMPLETED\n"
	})
	if got := contents(); !strings.HasSuffix(got, "shell ready\nshell got USR2\n") {
		t.Errorf("after scancel -b -s USR2 (the batch shell): %q", got)
	}
	if r := h.run("slurm", "scancel", "-s", "NOPE", id); r.code == 0 || !strings.Contains(r.stderr, "give its name or number, e.g. USR1") {
		t.Errorf("scancel -s NOPE: %s", r)
	}
	// A pending job: Slurm 22.05 refuses the signal (exit 228, checked
	// with the real scancel); the job stays as it was.
	r = h.run("slurm", "sbatch", "--parsable", "--begin=now+600", "--wrap", "true")
	pending := strings.TrimSpace(r.stdout)
	if r := h.run("slurm", "scancel", "-s", "USR1", pending); r.code != 228 || r.stderr != "scancel: error: Kill job error on job id "+pending+": Job can not be altered now, try again later\n" {
		t.Errorf("scancel -s USR1 of a pending job: %s", r)
	}
	if st := h.mustRun("slurm", "squeue", "-h", "-o", "%T", "-j", pending).stdout; st != "PENDING\n" {
		t.Errorf("after scancel -s of a pending job: %q", st)
	}
}

// TestSacctUsage: what users ask sacct after a job ("how much memory and
// CPU did it use?"): the batch step's MaxRSS and the CPU times, measured
// from a job that holds 80 MiB and spins a second of CPU time (not of the
// clock: on a busy machine it gets less); the script it ran
// (-B) and its environment (--env-vars); the fields (-e).
func TestSacctUsage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	script := filepath.Join(h.dir, "use.sh")
	writeFile(t, script, `#!/bin/bash
#SBATCH --mem=512M
`+holdAndSpin, 0o755)
	r := h.run("slurm", "sbatch", "--parsable", "--wait", "--export=ALL,MARKER=sacct-env", script)
	if r.code != 0 {
		t.Fatalf("sbatch --wait: %s", r)
	}
	id := strings.TrimSpace(r.stdout)
	r = h.run("slurm", "sacct", "-j", id, "-n", "-P", "--units=M", "-o", "JobID,State,MaxRSS,TotalCPU,UserCPU,ReqMem,NTasks")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 {
		t.Fatalf("sacct: %s", r)
	}
	job, step := strings.Split(lines[0], "|"), strings.Split(lines[1], "|")
	if job[0] != id || step[0] != id+".batch" || job[1] != "COMPLETED" || step[1] != "COMPLETED" {
		t.Errorf("the job and its batch step: %q", lines)
	}
	if job[2] != "" || job[6] != "" || step[6] != "1" || job[5] != "512M" || step[5] != "" {
		t.Errorf("MaxRSS and NTasks are the step's, ReqMem the job's: %q", lines)
	}
	rss, err := strconv.ParseFloat(strings.TrimSuffix(step[2], "M"), 64)
	if err != nil || !strings.HasSuffix(step[2], "M") || rss < 80 || rss > 512 {
		t.Errorf("the batch step's MaxRSS %q: want 80M or more (it held 80 MiB), in M (--units=M)", step[2])
	}
	cpu := func(v string) float64 { // MM:SS.mmm or 00:MM:SS
		p := strings.Split(strings.ReplaceAll(v, ".", ":"), ":")
		m, _ := strconv.Atoi(p[0])
		sec, _ := strconv.Atoi(p[1])
		return float64(m*60 + sec)
	}
	if cpu(job[3]) < 0.9 && cpu(step[3]) < 0.9 || job[3] != step[3] || step[4] == "" {
		t.Errorf("TotalCPU (job %q, step %q) should be about the second it spun, UserCPU %q set", job[3], step[3], step[4])
	}
	r = h.run("slurm", "sacct", "-j", id, "-B")
	if body, _ := os.ReadFile(script); r.code != 0 || !strings.HasPrefix(r.stdout, "Batch Script for "+id+"\n"+strings.Repeat("-", 80)+"\n") ||
		!strings.Contains(r.stdout, string(body)) {
		t.Errorf("sacct -B: %s", r)
	}
	if r = h.run("slurm", "sacct", "-j", id, "--env-vars"); r.code != 0 || !strings.Contains(r.stdout, "\nMARKER=sacct-env\n") {
		t.Errorf("sacct --env-vars: %s", r)
	}
	if r = h.run("slurm", "sacct", "-B"); r.code == 0 || !strings.Contains(r.stderr, "-j ID") {
		t.Errorf("sacct -B without -j: %s (want a refusal naming -j)", r)
	}
	if r = h.run("slurm", "sacct", "-e"); r.code != 0 || !strings.Contains(r.stdout, "MaxRSS") || !strings.Contains(r.stdout, "TotalCPU") {
		t.Errorf("sacct -e: %s", r)
	}
}

// holdAndSpin is a command that holds 80 MiB and spins a second of CPU
// time (not of the clock: on a busy machine it takes longer).
const holdAndSpin = `python3 -c '
import time
x = bytearray(80 << 20)
for i in range(0, len(x), 4096): x[i] = 1
s = time.process_time()
while time.process_time() - s < 1: pass
'
`

// TestSacctSrunStepUsage: sacct of an srun step tells what its tasks used,
// as Slurm's does: the largest resident set of one (MaxRSS), their CPU
// time together (TotalCPU) and a task's (AveCPU). Two tasks each hold
// 80 MiB and spin a second of CPU time (not of the clock).
func TestSacctSrunStepUsage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	script := filepath.Join(h.dir, "steps.sh")
	writeFile(t, script, `#!/bin/bash
#SBATCH -n 2
srun `+holdAndSpin, 0o755)
	r := h.run("slurm", "sbatch", "--parsable", "--wait", script)
	if r.code != 0 {
		t.Fatalf("sbatch --wait: %s", r)
	}
	id := strings.TrimSpace(r.stdout)
	r = h.run("slurm", "sacct", "-j", id, "-n", "-P", "--units=M", "-o", "JobID,NTasks,MaxRSS,TotalCPU,AveCPU")
	var step []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if f := strings.Split(l, "|"); f[0] == id+".0" {
			step = f
		}
	}
	if r.code != 0 || step == nil {
		t.Fatalf("sacct has no line for step %s.0: %s", id, r)
	}
	if step[1] != "2" {
		t.Errorf("step %s.0 ran %s tasks; want 2", id, step[1])
	}
	rss, err := strconv.ParseFloat(strings.TrimSuffix(step[2], "M"), 64)
	if err != nil || rss < 80 || rss > 512 {
		t.Errorf("step %s.0's MaxRSS %q: want 80M or more (each task held 80 MiB)", id, step[2])
	}
	secs := func(v string) float64 { // [DD-][HH:]MM:SS[.mmm]
		var total float64
		for _, p := range strings.Split(v, ":") {
			f, _ := strconv.ParseFloat(p, 64)
			total = total*60 + f
		}
		return total
	}
	if tot, ave := secs(step[3]), secs(step[4]); tot < 1.9 || ave < 0.9 || ave > tot {
		t.Errorf("step %s.0: TotalCPU %q, AveCPU %q; want about 2 s in all, 1 s a task", id, step[3], step[4])
	}
}
