package slurmface

import (
	"github.com/burst-sh/burst/internal/sbatch"
	"github.com/burst-sh/burst/internal/sysuser"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseSrun(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want Srun
		err  string
	}{
		{name: "snakemake's step", args: []string{"-n1", "--cpu-bind=q", "python3", "-m", "snakemake", "-n"},
			want: Srun{NTasks: 1, Argv: []string{"python3", "-m", "snakemake", "-n"}}},
		{name: "resources", args: []string{"-n", "2", "-c4", "--mem=1G", "-J", "st", "-l", "-u", "-K", "--export=ALL,A=1", "hostname"},
			want: Srun{NTasks: 2, CPUsPerTask: 4, MemBytes: 1 << 30, Name: "st", Label: true, Unbuffered: true, KillOnBadExit: true, Export: "ALL,A=1", Argv: []string{"hostname"}}},
		{name: "abbreviated", args: []string{"--ntasks=3", "--lab", "--kill-on-bad=0", "--mpi=none", "-N1", "true"},
			want: Srun{NTasks: 3, Label: true, Argv: []string{"true"}}},
		{name: "outside's options", args: []string{"-A", "lab", "-p", "gpu", "-t", "10", "--gres=gpu:a100:2", "--mem-per-cpu", "512M", "x"},
			want: Srun{Account: "lab", Partition: "gpu", TimeLimit: 10 * time.Minute, GPUs: 2, MemPerCPU: 512 << 20, Argv: []string{"x"}}},
		{name: "ntasks-per-node", args: []string{"--ntasks-per-node=2", "x"}, want: Srun{NTasks: 2, Argv: []string{"x"}}},
		// Options Slurm 22.05's srun took in a batch job of -n 2 (exit 0)
		// that change nothing on one machine: accepted and ignored;
		// --tasks-per-node is --ntasks-per-node.
		{name: "accepted as 22.05's srun takes them", args: []string{"--cpu-freq=high", "-X", "-k", "--no-kill", "--gpu-bind=closest",
			"--tasks-per-node=1", "--mincpus=1", "--tmp=10", "--nice=0", "--reservation=x", "--wckey=x", "--contiguous",
			"--cores-per-socket=1", "--sockets-per-node=1", "--ntasks-per-socket=1", "--immediate=5", "--slurmd-debug=0",
			"--profile=none", "--accel-bind=g", "--switches=1", "--network=x", "--gres-flags=enforce-binding", "-Lx",
			"--time-min=1", "--deadline=now+1hour", "--delay-boot=1", "--spread-job", "--use-min-nodes", "--thread-spec=1", "-S0", "true"},
			want: Srun{NTasks: 1, Argv: []string{"true"}}},
		{name: "no command", args: []string{"-n", "2"}, err: "no command given"},
		{name: "two nodes", args: []string{"-N", "2", "x"}, err: "one machine"},
		{name: "mpi", args: []string{"--mpi=pmix", "x"}, err: "--mpi=none"},
		{name: "pty: the caller decides, by its terminal", args: []string{"--pty", "bash"}, want: Srun{Pty: true, Argv: []string{"bash"}}},
		{name: "bad count", args: []string{"-n", "0", "x"}, err: "--ntasks=0"},
		{name: "unknown", args: []string{"--frob", "x"}, err: "unrecognized option '--frob'"},
		// Slurm's srun runs these; burst names what to write instead.
		{name: "prolog", args: []string{"--prolog=/bin/p", "x"}, err: "--prolog is not supported by burst: burst runs no step prolog: run it before srun"},
		{name: "task prolog", args: []string{"--task-prolog", "/bin/p", "x"}, err: "srun sh -c 'PROG; exec CMD'"},
		{name: "task epilog", args: []string{"--task-epilog=/bin/p", "x"}, err: "srun sh -c 'CMD; PROG'"},
		{name: "epilog", args: []string{"--epilog=/bin/p", "x"}, err: "run it after srun"},
		// SkyPilot's example script: srun --jobid $SLURM_JOBID bash -c hostname
		{name: "jobid", args: []string{"--jobid", "12", "bash"}, want: Srun{JobID: 12, Argv: []string{"bash"}}},
		{name: "jobid not a number", args: []string{"--jobid=abc", "x"}, err: `Invalid numeric value "abc" for --jobid.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSrun(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*s, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *s, tt.want)
			}
		})
	}
	if _, err := ParseSrun([]string{"--help"}); err != ErrSrunHelp {
		t.Errorf("--help: %v", err)
	}
}

// TestSrunSameJob: --jobid naming the job srun runs in is that job's step,
// as in Slurm; another job's id is refused, naming the fix.
func TestSrunSameJob(t *testing.T) {
	for _, tt := range []struct {
		jobid int64
		own   string
		err   string
	}{
		{0, "12", ""}, {12, "12", ""},
		{13, "12", "Unable to create step for job 13: burst runs a step only in the job srun is started in (job 12)"},
	} {
		err := (&Srun{JobID: tt.jobid}).SameJob(tt.own)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("--jobid=%d in job %s: err = %v, want %q", tt.jobid, tt.own, err, tt.err)
		}
	}
}

func TestSrunStep(t *testing.T) {
	s := &Srun{CPUsPerTask: 2, MemPerCPU: 1 << 20}
	if n := s.Tasks(0, 0, 0); n != 1 {
		t.Errorf("Tasks(0, 0, 0) = %d, want 1", n)
	}
	if n := s.Tasks(4, 8, 0); n != 4 {
		t.Errorf("Tasks inherits the job's SLURM_NTASKS: %d, want 4", n)
	}
	// Without -n or SLURM_NTASKS, -c C gives as many tasks as the job's
	// CPUs hold, as Slurm 22.05's srun (checked beside it: in `sbatch -c 2`
	// and `sbatch --exclusive` on 2 CPUs, `srun -c 1` ran 2 tasks, `srun
	// -c 2` one, plain srun one; `srun -c 2` in `sbatch -c 1` one, refused
	// as more processors than permitted).
	for _, tt := range []struct{ c, cpus, perNode, want int }{
		{1, 2, 1, 2}, {2, 2, 1, 1}, {0, 2, 1, 1}, {0, 2, 0, 1}, {2, 1, 1, 1}, {1, 5, 1, 5}, {2, 5, 1, 2}, {0, 0, 3, 3}, {1, 0, 3, 3},
	} {
		if n := (&Srun{CPUsPerTask: tt.c}).Tasks(0, tt.cpus, tt.perNode); n != tt.want {
			t.Errorf("srun -c %d in a job of %d CPUs, %d tasks per node: %d tasks, want %d", tt.c, tt.cpus, tt.perNode, n, tt.want)
		}
	}
	if c, m := s.StepCPUs(3), s.StepMem(3); c != 6 || m != 6<<20 {
		t.Errorf("StepCPUs, StepMem = %d, %d, want 6, 6 MiB", c, m)
	}
	env := s.TaskEnv(1, 3, 4, "n1", map[string]string{"SLURM_JOB_CPUS_PER_NODE": "8"})
	for k, v := range map[string]string{"SLURM_PROCID": "1", "SLURM_LOCALID": "1", "SLURM_NTASKS": "3", "SLURM_CPUS_PER_TASK": "2",
		"SLURM_STEP_ID": "4", "SLURM_STEPID": "4", "SLURM_STEP_NODELIST": "n1",
		// the step's, not the job's (Slurm 22.05: srun -n 3 in a job of 8)
		"SLURM_GTIDS": "0,1,2", "SLURM_TASKS_PER_NODE": "3", "SLURM_DISTRIBUTION": "block",
		"SLURM_JOB_CPUS_PER_NODE_PACK_GROUP_0": "8", "SLURM_UMASK": Umask(), "SLURM_PRIO_PROCESS": strconv.Itoa(sysuser.Nice())} {
		if env[k] != v {
			t.Errorf("TaskEnv %s = %q, want %q", k, env[k], v)
		}
	}
	if !regexp.MustCompile(`^0[0-7]{3}$`).MatchString(Umask()) {
		t.Errorf("Umask() = %q, want four octal digits", Umask())
	}
	// Distribution: srun's -m, else the job's (sbatch -m, inherited as it
	// is), else cyclic for one task and block for more.
	for _, tt := range []struct {
		args    []string
		n       int
		job     string
		want    string
		planeSz string
	}{
		{nil, 1, "", "cyclic", ""},
		{nil, 2, "", "block", ""},
		{nil, 1, "cyclic:cyclic", "", ""}, // not set by srun: the job's stays
		{[]string{"-m", "*:fcyclic"}, 2, "cyclic:cyclic", "block:fcyclic", ""},
		{[]string{"--distribution=plane=2"}, 2, "", "plane", "2"},
	} {
		s, err := ParseSrun(append(tt.args, "true"))
		if err != nil {
			t.Fatal(err)
		}
		env := s.TaskEnv(0, tt.n, 0, "n1", map[string]string{"SLURM_DISTRIBUTION": tt.job})
		if env["SLURM_DISTRIBUTION"] != tt.want || env["SLURM_DIST_PLANESIZE"] != tt.planeSz {
			t.Errorf("srun %q, %d tasks, job's %q: SLURM_DISTRIBUTION=%q SLURM_DIST_PLANESIZE=%q, want %q %q",
				tt.args, tt.n, tt.job, env["SLURM_DISTRIBUTION"], env["SLURM_DIST_PLANESIZE"], tt.want, tt.planeSz)
		}
	}
	for _, bad := range []string{"foo", "plane", "block:plane=2"} {
		if _, err := ParseSrun([]string{"-m", bad, "true"}); err == nil || !strings.Contains(err.Error(), "srun: error: Invalid --distribution specification") {
			t.Errorf("srun -m %s: %v, want Slurm's refusal", bad, err)
		}
	}
}

// TestSrunAllocEnv: srun outside a job tells its task what Slurm 22.05's
// does (checked: srun -N1 -c2 env gives SLURM_CPUS_PER_TASK=2,
// SLURM_NTASKS=1, SLURM_CPUS_ON_NODE=2, SLURM_STEP_ID=0).
func TestSrunAllocEnv(t *testing.T) {
	env := (&Srun{CPUsPerTask: 2}).AllocEnv("x", "ann", "/d", "h")
	for k, v := range map[string]string{"SLURM_CPUS_PER_TASK": "2", "SLURM_NTASKS": "1", "SLURM_NPROCS": "1", "SLURM_PROCID": "0",
		"SLURM_STEP_ID": "0", "SLURM_CPUS_ON_NODE": "2", "SLURM_JOB_CPUS_PER_NODE": "2", "SLURM_TASKS_PER_NODE": "1",
		"SLURM_JOB_NAME": "x", "SLURM_SUBMIT_DIR": "/d", "SLURM_SUBMIT_HOST": "h", "SLURM_NNODES": "1", "SLURM_JOB_USER": "ann",
		"SLURM_GTIDS": "0", "SLURM_UMASK": Umask()} {
		if env[k] != v {
			t.Errorf("AllocEnv %s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["SLURM_STEP_NODELIST"]; ok {
		t.Error("AllocEnv names a machine before the job is placed")
	}
	if d, ok := env["SLURM_DISTRIBUTION"]; ok { // Slurm 22.05's srun -n1 env has none
		t.Errorf("AllocEnv without -m: SLURM_DISTRIBUTION=%q, want none", d)
	}
	if s, err := ParseSrun([]string{"-m", "block", "env"}); err != nil || s.AllocEnv("x", "ann", "/d", "h")["SLURM_DISTRIBUTION"] != "block" {
		t.Errorf("AllocEnv with -m block: want SLURM_DISTRIBUTION=block (%v)", err)
	}
	if env := (&Srun{}).AllocEnv("x", "", "/d", "h"); env["SLURM_CPUS_ON_NODE"] != "1" || env["SLURM_CPUS_PER_TASK"] != "" {
		t.Errorf("AllocEnv without -c: %v, want SLURM_CPUS_ON_NODE 1 and no SLURM_CPUS_PER_TASK", env)
	}
}

// TestStepHeldCPUs: which steps hold their CPUs so that others wait, as
// Slurm 22.05's steps do (checked with the suite's Slurm: four `srun -n1
// --exclusive` in a 2-task job run two at a time, with -c too; --overlap
// all at once).
func TestStepHeldCPUs(t *testing.T) {
	for _, tt := range []struct {
		args []string
		n    int
		want int
	}{
		{[]string{"-n1", "--exclusive", "true"}, 1, 1},
		{[]string{"-n2", "--exact", "-c2", "true"}, 2, 4},
		{[]string{"-n1", "-c1", "true"}, 1, 1},
		{[]string{"--exclusive=user", "true"}, 3, 3},
		{[]string{"-n1", "true"}, 1, 0},                             // names no CPUs: holds none
		{[]string{"-n1", "--exclusive", "--overlap", "true"}, 1, 0}, // shares
	} {
		s, err := ParseSrun(tt.args)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if got := s.HeldCPUs(tt.n); got != tt.want {
			t.Errorf("%v: HeldCPUs(%d) = %d, want %d", tt.args, tt.n, got, tt.want)
		}
		if got, want := s.TaskEnv(0, tt.n, 0, "n1", nil)["SLURM_CPUS_ON_NODE"], strconv.Itoa(tt.want); tt.want > 0 && got != want {
			t.Errorf("%v: a step holding its CPUs has SLURM_CPUS_ON_NODE=%q, want %s", tt.args, got, want)
		}
	}
}

func TestSrunRendering(t *testing.T) {
	for _, tt := range []struct {
		task, n int
		want    string
	}{{0, 1, "0: "}, {1, 2, "1: "}, {3, 12, " 3: "}, {11, 12, "11: "}, {5, 101, "  5: "}} {
		if got := Label(tt.task, tt.n); got != tt.want {
			t.Errorf("Label(%d, %d) = %q, want %q", tt.task, tt.n, got, tt.want)
		}
	}
	for _, tt := range []struct {
		exits  []TaskStatus
		msgs   []string
		status int
	}{
		{[]TaskStatus{{Task: 1, Code: 3, Signal: 0}}, []string{"srun: error: n1: task 1: Exited with exit code 3"}, 3},
		{[]TaskStatus{{Task: 1, Code: 0, Signal: 9}}, []string{"srun: error: n1: task 1: Killed"}, 137},
		{[]TaskStatus{{Task: 1, Code: 0, Signal: 15}}, []string{"srun: error: n1: task 1: Terminated"}, 143},
		// As the real srun wrote them (bash -c 'kill -SIG $$').
		{[]TaskStatus{{Task: 0, Signal: 10}}, []string{"srun: error: n1: task 0: User defined signal 1"}, 138},
		{[]TaskStatus{{Task: 0, Signal: 11}}, []string{"srun: error: n1: task 0: Segmentation fault"}, 139},
		{[]TaskStatus{{Task: 3, Code: 1, Signal: 0}, {Task: 0, Code: 1, Signal: 0}, {Task: 2, Code: 1, Signal: 0}, {Task: 1, Code: 1, Signal: 0}}, []string{"srun: error: n1: tasks 0-3: Exited with exit code 1"}, 1},
		{[]TaskStatus{{Task: 0, Code: 1, Signal: 0}, {Task: 1, Code: 0, Signal: 0}, {Task: 2, Code: 1, Signal: 0}, {Task: 3, Code: 1, Signal: 0}, {Task: 4, Code: 2, Signal: 0}, {Task: 5, Code: 1, Signal: 0}, {Task: 6, Code: 0, Signal: 9}},
			[]string{"srun: error: n1: tasks 0,2-3,5: Exited with exit code 1", "srun: error: n1: task 4: Exited with exit code 2",
				"srun: error: n1: task 6: Killed"}, 137},
		{[]TaskStatus{{Task: 0, Code: 0, Signal: 0}}, nil, 0},
	} {
		msgs, status := TaskExits("n1", tt.exits)
		if !slices.Equal(msgs, tt.msgs) || status != tt.status {
			t.Errorf("TaskExits(%v) = %q, %d, want %q, %d", tt.exits, msgs, status, tt.msgs, tt.status)
		}
	}
}

// srun(1), IO Redirection: all, none, a task's rank, or a file name pattern
// (%t the rank, %s the step, %J JOBID.STEP, widths zero-padding numbers).
func TestStepIO(t *testing.T) {
	info := sbatch.TaskInfo{JobID: 128, JobName: "fit", ArrayTaskID: -1, NodeName: "n1", Step: "0", Rank: 1}
	for v, want := range map[string]struct {
		kind IOKind
		path string
	}{
		"": {IOSrun, ""}, "all": {IOSrun, ""}, "none": {IONull, ""}, "1": {IOSrun, ""}, "0": {IONull, ""},
		"job%J.out": {IOFile, "job128.0.out"}, "job%4j.out": {IOFile, "job0128.out"}, "job%j-%2t.out": {IOFile, "job128-01.out"},
		"%x-%N-%s.log": {IOFile, "fit-n1-0.log"}, "01": {IOFile, "01"},
	} {
		if kind, path := StepIO(v, info); kind != want.kind || path != want.path {
			t.Errorf("StepIO(%q) = %v %q, want %v %q", v, kind, path, want.kind, want.path)
		}
	}
}
