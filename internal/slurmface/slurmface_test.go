package slurmface

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

var t0 = time.Date(2026, 12, 4, 13, 44, 32, 0, time.Local)

func ended(st burst.State, code *int) Job {
	return Job{RawID: 7, Name: "wrap", User: "root", State: st, ExitCode: code, Submit: t0,
		Start: t0.Add(2 * time.Second), End: t0.Add(3 * time.Second), CPUs: 1, Partition: "local", Node: "local-1"}
}

func ip(n int) *int { return &n }

func TestStatesAndExitCodes(t *testing.T) {
	oom := ended(burst.Failed, nil)
	oom.OOM, oom.Signal = true, 9
	sig := ended(burst.Failed, nil)
	sig.Signal = 9
	never := ended(burst.Cancelled, nil)
	never.Start = time.Time{}
	for _, tc := range []struct {
		name             string
		j                Job
		code, long, acct string
		exit             string
	}{
		{"pending", Job{State: burst.Queued}, "PD", "PENDING", "PENDING", "0:0"},
		{"running", Job{State: burst.Running, Start: t0}, "R", "RUNNING", "RUNNING", "0:0"},
		{"completed", ended(burst.Succeeded, ip(0)), "CD", "COMPLETED", "COMPLETED", "0:0"},
		{"exit 3", ended(burst.Failed, ip(3)), "F", "FAILED", "FAILED", "3:0"},
		{"killed", sig, "F", "FAILED", "FAILED", "0:9"},
		{"oom", oom, "OOM", "OUT_OF_MEMORY", "OUT_OF_MEMORY", "0:125"},
		{"cancelled running", ended(burst.Cancelled, nil), "CA", "CANCELLED", "CANCELLED by 0", "0:15"},
		{"cancelled pending", never, "CA", "CANCELLED", "CANCELLED by 0", "0:0"},
		{"timeout", ended(burst.Timeout, nil), "TO", "TIMEOUT", "TIMEOUT", "0:15"},
		// A script that traps TERM at its limit and exits 143: Slurm 22.05
		// keeps the status (scontrol's ExitCode=143:0, the suite's Slurm).
		{"timeout, exited 143 itself", ended(burst.Timeout, ip(143)), "TO", "TIMEOUT", "TIMEOUT", "143:0"},
		{"lost", ended(burst.Lost, nil), "NF", "NODE_FAIL", "NODE_FAIL", "0:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := tc.j
			if got := j.StateCode(); got != tc.code {
				t.Errorf("code %q, want %q", got, tc.code)
			}
			if got := j.StateName(); got != tc.long {
				t.Errorf("name %q, want %q", got, tc.long)
			}
			if got := j.AcctState(); got != tc.acct {
				t.Errorf("sacct state %q, want %q", got, tc.acct)
			}
			if got := j.ExitCodeText(); got != tc.exit {
				t.Errorf("exit %q, want %q", got, tc.exit)
			}
		})
	}
}

func TestDurations(t *testing.T) {
	for _, tc := range []struct {
		d           time.Duration
		short, long string
	}{
		{0, "0:00", "00:00:00"},
		{77 * time.Second, "1:17", "00:01:17"},
		{time.Hour + 2*time.Second, "1:00:02", "01:00:02"},
		{50*time.Hour + 3*time.Minute, "2-02:03:00", "2-02:03:00"},
	} {
		if got := Duration(tc.d); got != tc.short {
			t.Errorf("Duration(%v) = %q, want %q", tc.d, got, tc.short)
		}
		if got := LongDuration(tc.d); got != tc.long {
			t.Errorf("LongDuration(%v) = %q, want %q", tc.d, got, tc.long)
		}
	}
	if got := Limit(0, Duration); got != "UNLIMITED" {
		t.Errorf("no limit: %q", got)
	}
	if got := Mem(256 << 20); got != "256M" {
		t.Errorf("Mem: %q", got)
	}
	if got := Mem(4 << 30); got != "4G" {
		t.Errorf("Mem: %q", got)
	}
}

func TestSqueue(t *testing.T) {
	jobs := []Job{{RawID: 1, Name: "wrap", User: "root", State: burst.Queued, Partition: "debug", Submit: t0},
		ended(burst.Failed, ip(3)), ended(burst.Succeeded, ip(0))}
	for _, tc := range []struct {
		name, format string
		noHeader     bool
		want         string
	}{
		{"default", DefaultSqueue, false, "" +
			"             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)\n" +
			"                 1     debug     wrap     root PD       0:00      1 (None)\n" +
			"                 7     local     wrap     root  F       0:01      1 (NonZeroExitCode)\n" +
			"                 7     local     wrap     root CD       0:01      1 local-1\n"},
		{"nextflow", "%i %t", true, "1 PD\n7 F\n7 CD\n"},
		{"cut and left", "%3j|%%|%5u.", true, "wra|%|root .\nwra|%|root .\nwra|%|root .\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, bad := ParseSqueueFormat(tc.format)
			if bad != nil {
				t.Fatal(bad)
			}
			var b strings.Builder
			if err := Squeue(&b, jobs, f, tc.noHeader, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
	f, _ := ParseSqueueFields("jobid:5,state")
	var b strings.Builder
	Squeue(&b, jobs[1:2], f, false, t0)
	if want := "JOBIDSTATE               \n7    FAILED              \n"; b.String() != want {
		t.Errorf("-O: got %q, want %q", b.String(), want)
	}
	// %L: the time limit less the time run (UNLIMITED without one); the
	// first job is pending with a 10-minute limit, the second has none.
	f, _ = ParseSqueueFormat("%L|%c|%q")
	b.Reset()
	lim := jobs[0]
	lim.TimeLimit, lim.CPUs = 10*time.Minute, 2
	Squeue(&b, []Job{lim, jobs[1]}, f, true, t0.Add(time.Minute))
	if want := "10:00|2|normal\nUNLIMITED|1|normal\n"; b.String() != want {
		t.Errorf("%%L: got %q, want %q", b.String(), want)
	}
	// Spans of time right-justified are printed whole, as 22.05's squeue
	// prints them (-l's %.9l shows 2-03:05:00); left-justified ones, the
	// words (UNLIMITED), the header and other fields are cut.
	long := jobs[0]
	long.TimeLimit = 51*time.Hour + 5*time.Minute
	for format, want := range map[string]string{
		"%.9l|%.3M|%.5L":    "TIME_LIMI|TIM|TIME_\n2-03:05:00|0:00|2-03:05:00\nUNLIMITED|0:01|UNLIM\n",
		"%5l|%.1i|%.3j|%3M": "TIME_|J|NAM|TIM\n2-03:|1|wra|0:0\nUNLIM|7|wra|0:0\n",
	} {
		f, _ := ParseSqueueFormat(format)
		b.Reset()
		Squeue(&b, []Job{long, jobs[1]}, f, false, t0.Add(time.Minute))
		if b.String() != want {
			t.Errorf("format %q: got %q, want %q", format, b.String(), want)
		}
	}
	// %all: every field, a-z then A-Z, between bars (the header as 22.05's).
	f, bad := ParseSqueueFormat("%ALL")
	b.Reset()
	Squeue(&b, nil, f, false, t0)
	if want := "ACCOUNT|TRES_PER_NODE|MIN_CPUS|MIN_TMP_DISK|END_TIME|FEATURES|GROUP|OVER_SUBSCRIBE|JOBID|NAME|COMMENT|TIME_LIMIT|" +
		"MIN_MEMORY|REQ_NODES|COMMAND|PRIORITY|QOS|REASON||ST|USER|RESERVATION|WCKEY|EXC_NODES|NICE|S:C:T|JOBID|EXEC_HOST|CPUS|" +
		"NODES|DEPENDENCY|ARRAY_JOB_ID|GROUP|SOCKETS_PER_NODE|CORES_PER_SOCKET|THREADS_PER_CORE|ARRAY_TASK_ID|TIME_LEFT|TIME|" +
		"NODELIST|CONTIGUOUS|PARTITION|PRIORITY|NODELIST(REASON)|START_TIME|STATE|UID|SUBMIT_TIME|LICENSES|CORE_SPEC|SCHEDNODES|" +
		"WORK_DIR\n"; b.String() != want || bad != nil {
		t.Errorf("%%all: %q, bad %q; want %q", b.String(), bad, want)
	}
	// %e of a job running with no time limit: NONE, as 22.05 prints it.
	f, _ = ParseSqueueFormat("%e")
	b.Reset()
	run := jobs[0]
	run.State, run.Start = burst.Running, t0
	Squeue(&b, []Job{run}, f, true, t0.Add(time.Minute))
	if b.String() != "NONE\n" {
		t.Errorf("%%e of a job running with no limit: got %q, want NONE", b.String())
	}
	// A batch step has no time limit of its own (squeue -s), whatever its job's.
	f, _ = ParseStepFormat("%i %l")
	b.Reset()
	Squeue(&b, []Job{long}, f, true, t0)
	if want := "1.batch UNLIMITED\n"; b.String() != want {
		t.Errorf("squeue -s %%l: got %q, want %q", b.String(), want)
	}
	f, _ = ParseSqueueFields("TimeLimit:.3,TimeUsed:2,TimeLeft:.20")
	b.Reset()
	Squeue(&b, []Job{long}, f, true, t0.Add(time.Minute))
	if want := "2-03:05:000:          2-03:05:00\n"; b.String() != want {
		t.Errorf("-O spans of time: got %q, want %q", b.String(), want)
	}
	// As Slurm 22.05's squeue (checked with the suite's real Slurm): a
	// specification naming no field is printed as written, and named; a
	// '%' ending the format is dropped; a field the end cuts short stays.
	for format, want := range map[string]struct {
		out string
		bad []string
	}{
		"%i %-12T|%5Ä|x": {"7 %-12T|%5Ä|x\n", []string{"-", "\xc3"}},
		"%i|%.18":        {"7|%.18\n", nil},
		"%i %":           {"7 \n", []string{""}},
		"%i|%@|%j":       {"7|%@|wrap\n", []string{"@"}},
	} {
		f, bad := ParseSqueueFormat(format)
		b.Reset()
		Squeue(&b, jobs[1:2], f, true, t0)
		if b.String() != want.out || !slices.Equal(bad, want.bad) {
			t.Errorf("format %q: %q, bad %q; want %q, bad %q", format, b.String(), bad, want.out, want.bad)
		}
	}
	f, bad = ParseSqueueFields("jobid:3,colour,Priority:17,STDOUT:8,NumTasks:3,groupname:5")
	if !slices.Equal(bad, []string{"colour"}) {
		t.Errorf("-O colour: bad %q; want colour left out and named", bad)
	}
	b.Reset()
	j := jobs[1]
	j.StdOut, j.NTasks, j.GID = "/w/o-7.out", 2, os.Getgid()
	Squeue(&b, []Job{j}, f, false, t0)
	if want := "JOBPRIORITY         STDOUT  TASGROUP\n7  0.99998473981395 /w/o-7.o2  " + pad(groupName(os.Getgid()), 5, false) + "\n"; b.String() != want {
		t.Errorf("-O fields without a letter:\n%q\nwant\n%q", b.String(), want)
	}
}

// TestSacctHeaderWidths: each field's default width, and a name too long
// for its column cut short with no '+', as Slurm 22.05's sacct prints
// them (checked field by field against --helpformat's list).
func TestSacctHeaderWidths(t *testing.T) {
	f, err := ParseAcctFormat("JobName%4,State%3,AllocTRES,MaxVMSizeNode,TimelimitRaw,DBIndex,QOSRAW")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Sacct(&b, nil, f, SacctOptions{}, t0); err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(b.String(), "\n")
	if want := "JobN Sta  AllocTRES  MaxVMSizeNode TimelimitR DBIndex    QOSRAW "; head != want {
		t.Errorf("header %q, want %q", head, want)
	}
}

func TestStatesFilter(t *testing.T) {
	def, err := States("")
	if err != nil || len(def) != 2 || !def[Pending] || !def[RunningS] {
		t.Fatalf("default states %v %v", def, err)
	}
	all, err := States("all")
	if err != nil || len(all) != len(codes) {
		t.Fatalf("all: %v %v", all, err)
	}
	some, err := States("pd,COMPLETED,cg")
	if err != nil || len(some) != 2 || !some[Pending] || !some[Completed] {
		t.Fatalf("pd,COMPLETED,cg: %v %v", some, err)
	}
	if _, err := States("RUNNIN"); err == nil {
		t.Fatal("a misspelt state was accepted")
	}
}

func TestSacct(t *testing.T) {
	cancelled := ended(burst.Cancelled, nil)
	cancelled.RawID = 8
	jobs := []Job{ended(burst.Failed, ip(3)), cancelled}
	f, err := ParseAcctFormat("JobIdRaw,State,ExitCode")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p        Parsable
		noHeader bool
		want     string
	}{
		{Parsable2, true, "7|FAILED|3:0\n8|CANCELLED by 0|0:0\n"},
		{Parsable2, false, "JobIDRaw|State|ExitCode\n7|FAILED|3:0\n8|CANCELLED by 0|0:0\n"},
		{Parsable1, true, "7|FAILED|3:0|\n8|CANCELLED by 0|0:0|\n"},
		{Columns, false, "" +
			"JobIDRaw          State ExitCode \n" +
			"------------ ---------- -------- \n" +
			"7                FAILED      3:0 \n" +
			"8            CANCELLED+      0:0 \n"},
	} {
		var b strings.Builder
		if err := Sacct(&b, jobs, f, SacctOptions{Parsable: tc.p, NoHeader: tc.noHeader}, t0); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("parsable %d: got\n%q\nwant\n%q", tc.p, b.String(), tc.want)
		}
	}
	f, _ = ParseAcctFormat("JobName%3,Elapsed")
	var b strings.Builder
	Sacct(&b, jobs[:1], f, SacctOptions{NoHeader: true}, t0)
	if want := "wr+   00:00:01 \n"; b.String() != want {
		t.Errorf("widths: got %q, want %q", b.String(), want)
	}
	if _, err := ParseAcctFormat("JobID,Colour"); err == nil {
		t.Error("an unknown field was accepted")
	}
	// Every field of sacct --helpformat is taken: those burst has no value
	// for are empty (maxvmsize), so are the step's on a job's line (MaxRSS),
	// so that "how much memory did it use" scripts run.
	f, err = ParseAcctFormat("JobIDRaw,JobName%30,MaxRSS,CPUTime,CPUTimeRAW,AllocTRES,TimelimitRaw,QOS,TotalCPU,maxvmsize")
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	j := jobs[0]
	j.CPUs, j.MemBytes, j.TimeLimit = 2, 1<<30, 90*time.Second
	Sacct(&b, []Job{j}, f, SacctOptions{Parsable: Parsable2, NoHeader: true}, t0)
	if want := "7|wrap||00:00:02|2|billing=2,cpu=2,mem=1G,node=1|2|normal|00:00:00|\n"; b.String() != want {
		t.Errorf("sacct's other fields: got %q, want %q", b.String(), want)
	}
}

// TestShowJobKeys: scontrol show job's keys, in Slurm 22.05's order and
// lines, as the suite's Slurm printed them (e2e TestSlurm/FaceShapes
// compares them with the real one's).
// TestShowJobArrayHead: a job array's records begin as Slurm 22.05's
// scontrol show job prints them (checked with --array=1-5%2, two running):
// the pending tasks' record names them with the array's throttle
// (ArrayTaskId=3-5%2), a task its own index.
func TestShowJobArrayHead(t *testing.T) {
	pending := ended(burst.Queued, nil)
	pending.RawID, pending.ArrayJobID, pending.ArrayPending, pending.ArrayThrottle = 56, 56, "3-5%2", 2
	task := ended(burst.Running, nil)
	task.RawID, task.ArrayJobID, task.ArrayTaskID, task.ArrayThrottle = 58, 56, 2, 2
	for j, want := range map[*Job]string{
		&pending: "JobId=56 ArrayJobId=56 ArrayTaskId=3-5%2 ArrayTaskThrottle=2 JobName=wrap",
		&task:    "JobId=58 ArrayJobId=56 ArrayTaskId=2 ArrayTaskThrottle=2 JobName=wrap",
	} {
		var b strings.Builder
		if err := ShowJob(&b, *j, false, t0); err != nil {
			t.Fatal(err)
		}
		if head, _, _ := strings.Cut(b.String(), "\n"); head != want {
			t.Errorf("head %q, want %q", head, want)
		}
	}
}

func TestShowJobKeys(t *testing.T) {
	j := ended(burst.Failed, ip(3))
	j.MemBytes, j.WorkDir, j.StdOut, j.StdErr = 256<<20, "/w", "/w/slurm-7.out", "/w/slurm-7.out"
	var b strings.Builder
	if err := ShowJob(&b, j, false, t0); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if lines[0] != "JobId=7 JobName=wrap" || !strings.HasPrefix(lines[1], "   UserId=root(0) GroupId=root(0)") {
		t.Errorf("head:\n%s", b.String())
	}
	for _, want := range []string{"JobState=FAILED Reason=NonZeroExitCode Dependency=(null)", "ExitCode=3:0",
		"NodeList=local-1", "MinMemoryNode=256M", "StdOut=/w/slurm-7.out", "RunTime=00:00:01 TimeLimit=UNLIMITED"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
	var one strings.Builder
	ShowJob(&one, j, true, t0)
	if strings.Count(one.String(), "\n") != 1 || strings.Fields(one.String())[0] != "JobId=7" {
		t.Errorf("-o: %q", one.String())
	}
	if len(strings.Fields(one.String())) != len(strings.Fields(b.String())) {
		t.Errorf("-o has other keys than the lines")
	}
}

// TestShowJobTaskLayout: scontrol shows an sbatch job's tasks, CPUs per
// task, tasks per node and memory per CPU as Slurm 22.05 shows them (each
// case as the suite's Slurm printed it for the same #SBATCH lines); a job
// of burst run --cpus is one task of all its CPUs.
func TestShowJobTaskLayout(t *testing.T) {
	for _, c := range []struct {
		what  string
		cpus  int
		mem   int64
		batch *BatchLayout
		want  string
	}{
		{"--ntasks=2 --cpus-per-task=1 --mem-per-cpu=100M", 2, 200 << 20, &BatchLayout{Tasks: 2, CPUsPerTask: 1, MemPerCPU: 100 << 20},
			"NumCPUs=2 NumTasks=2 CPUs/Task=1 NtasksPerN:B:S:C=0:0:*:* MinCPUsNode=1 MinMemoryCPU=100M"},
		{"--nodes=1 --ntasks-per-node=2", 2, 0, &BatchLayout{Tasks: 2, TasksPerNode: 2},
			"NumCPUs=2 NumTasks=2 CPUs/Task=1 NtasksPerN:B:S:C=2:0:*:* MinCPUsNode=2 MinMemoryNode=0"},
		{"--cpus-per-task=2 --mem-per-cpu=100M", 2, 200 << 20, &BatchLayout{CPUsPerTask: 2, MemPerCPU: 100 << 20},
			"NumCPUs=2 NumTasks=1 CPUs/Task=2 NtasksPerN:B:S:C=0:0:*:* MinCPUsNode=2 MinMemoryCPU=100M"},
		{"--ntasks=2 --mem=1G", 2, 1 << 30, &BatchLayout{Tasks: 2},
			"NumCPUs=2 NumTasks=2 CPUs/Task=1 NtasksPerN:B:S:C=0:0:*:* MinCPUsNode=1 MinMemoryNode=1G"},
		{"burst run --cpus 4", 4, 0, nil,
			"NumCPUs=4 NumTasks=1 CPUs/Task=4 NtasksPerN:B:S:C=0:0:*:* MinCPUsNode=4 MinMemoryNode=0"},
	} {
		j := ended(burst.Succeeded, ip(0))
		j.CPUs, j.MemBytes, j.Batch = c.cpus, c.mem, c.batch
		var b strings.Builder
		if err := ShowJob(&b, j, true, t0); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range strings.Fields(b.String()) {
			k, _, _ := strings.Cut(f, "=")
			switch k {
			case "NumCPUs", "NumTasks", "CPUs/Task", "NtasksPerN:B:S:C", "MinCPUsNode", "MinMemoryCPU", "MinMemoryNode":
				got = append(got, f)
			}
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.what, g, c.want)
		}
	}
}

// TestMinMemory: the memory a job asked for, side by side as Slurm 22.05
// printed it in scontrol show job, squeue -o %m and the job's TRES (the
// suite's Slurm, DefMemPerCPU unset as burst's partition shows it:
// DefMemPerNode=UNLIMITED): --mem-per-cpu is shown per CPU by squeue as by
// scontrol (burst's squeue showed the job's 2G and 200M), --mem=0 as 0, no
// memory as 0. sacct's ReqMem is the memory of the job's TRES, without the
// "n" that sacct dropped in 21.08 (burst wrote "0n" for no memory).
func TestMinMemory(t *testing.T) {
	for _, c := range []struct {
		what                    string
		cpus                    int
		mem                     int64
		batch                   *BatchLayout
		scontrol, squeue, sacct string
	}{
		{"-c2 --mem-per-cpu=1G", 2, 2 << 30, &BatchLayout{CPUsPerTask: 2, MemPerCPU: 1 << 30}, "MinMemoryCPU=1G", "1G", "2G"},
		{"-n2 --mem-per-cpu=100M", 2, 200 << 20, &BatchLayout{Tasks: 2, MemPerCPU: 100 << 20}, "MinMemoryCPU=100M", "100M", "200M"},
		{"--mem-per-cpu=2G", 1, 2 << 30, &BatchLayout{MemPerCPU: 2 << 30}, "MinMemoryCPU=2G", "2G", "2G"},
		{"--mem=4G", 1, 4 << 30, &BatchLayout{}, "MinMemoryNode=4G", "4G", "4G"},
		{"--mem=0", 1, 2000 << 20, &BatchLayout{MemAll: true}, "MinMemoryNode=0", "0", "2000M"},
		{"no memory", 1, 0, &BatchLayout{}, "MinMemoryNode=0", "0", "0"},
	} {
		j := ended(burst.Succeeded, ip(0))
		j.CPUs, j.MemBytes, j.Batch = c.cpus, c.mem, c.batch
		var b strings.Builder
		if err := ShowJob(&b, j, true, t0); err != nil {
			t.Fatal(err)
		}
		if f := strings.Fields(b.String()); !slices.Contains(f, c.scontrol) {
			t.Errorf("%s: scontrol show job has no %s: %s", c.what, c.scontrol, b.String())
		}
		b.Reset()
		f, _ := ParseSqueueFormat("%m")
		if err := Squeue(&b, []Job{j}, f, true, t0); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(b.String()); got != c.squeue {
			t.Errorf("%s: squeue %%m %q, want %q", c.what, got, c.squeue)
		}
		b.Reset()
		af, _ := ParseAcctFormat("ReqMem")
		Sacct(&b, []Job{j}, af, SacctOptions{Parsable: Parsable2, NoHeader: true}, t0)
		if got := strings.TrimSpace(b.String()); got != c.sacct {
			t.Errorf("%s: sacct ReqMem %q, want %q", c.what, got, c.sacct)
		}
	}
}

// scontrol show node and show partition: Slurm 22.05's keys in its order
// (as the suite's real Slurm printed them), burst's values; the machine's
// start is BootTime and SlurmdStartTime, on the line after Partitions, as
// 22.05 printed "BootTime=2026-12-07T05:33:33
// SlurmdStartTime=2026-12-07T14:38:28" (burst left the line out), and
// its kernel and when it last went idle, on lines of their own, as 22.05
// printed "OS=Linux 6.18.44-fc-v1272 #1 SMP PREEMPT_DYNAMIC @0" after
// NodeAddr's line and "LastBusyTime=2026-12-07T21:41:16" after BootTime's
// (burst left both out).
func TestShowNodeAndPartition(t *testing.T) {
	t.Setenv("SLURM_TIME_FORMAT", "")
	n := Node{Name: "local-1", Host: "vm", Partition: "local", Default: true, CPUs: 4, UsedCPUs: 1, MemBytes: 2000 << 20, UsedMem: 100 << 20,
		Started: time.Date(2026, 12, 7, 5, 33, 33, 0, time.Local), LastBusy: time.Date(2026, 12, 7, 21, 41, 16, 0, time.Local),
		OS: "Linux 6.18.44-fc-v1272 #1 SMP PREEMPT_DYNAMIC @0", Load: &burst.HostLoad{CPULoad: 19.21, FreeMemBytes: 11330<<20 + 5}}
	var b strings.Builder
	if err := ShowNode(&b, n, false); err != nil {
		t.Fatal(err)
	}
	// Its load as its agent read it, as 22.05 printed "CPULoad=19.21" and
	// "FreeMem=11330" (MiB) for its node (burst printed N/A). Byte for
	// byte as 22.05 printed its node (cat -A): its first, OS and
	// Partitions lines end with a space, and scontrol -o has two spaces
	// after them (burst wrote none, and one at the end of -o's line).
	want := "NodeName=local-1 Arch=x86_64 CoresPerSocket=1 \n" +
		"   CPUAlloc=1 CPUEfctv=4 CPUTot=4 CPULoad=19.21\n" +
		"   AvailableFeatures=(null)\n" +
		"   ActiveFeatures=(null)\n" +
		"   Gres=(null)\n" +
		"   NodeAddr=vm NodeHostName=vm Version=22.05.8\n" +
		"   OS=Linux 6.18.44-fc-v1272 #1 SMP PREEMPT_DYNAMIC @0 \n" +
		"   RealMemory=2000 AllocMem=100 FreeMem=11330 Sockets=4 Boards=1\n" +
		"   State=MIXED ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A\n" +
		"   Partitions=local \n" +
		"   BootTime=2026-12-07T05:33:33 SlurmdStartTime=2026-12-07T05:33:33\n" +
		"   LastBusyTime=2026-12-07T21:41:16\n" +
		"   CfgTRES=cpu=4,mem=2000M,billing=4\n" +
		"   AllocTRES=cpu=1,mem=100M\n" +
		"   CapWatts=n/a\n" +
		"   CurrentWatts=0 AveWatts=0\n" +
		"   ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s\n\n"
	if b.String() != want {
		t.Errorf("show node:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	if err := ShowNode(&b, n, true); err != nil {
		t.Fatal(err)
	}
	// 22.05's -o: "CoresPerSocket=1  CPUAlloc=2 ... @0  RealMemory=2000
	// ... Partitions=debug  BootTime=... ExtSensorsTemp=n/s\n".
	if one := strings.ReplaceAll(strings.TrimSuffix(want, "\n\n"), "\n   ", " ") + "\n"; b.String() != one {
		t.Errorf("show node -o:\n%q\nwant\n%q", b.String(), one)
	}
	// Its tasks hold no memory (no --mem): AllocTRES leaves mem out, as
	// Slurm 22.05 writes a TRES list without those of 0 (as the job's
	// TRES=cpu=1,node=1,billing=1); burst wrote mem=0M.
	b.Reset()
	noMem := n
	noMem.UsedMem = 0
	if err := ShowNode(&b, noMem, false); err != nil || !strings.Contains(b.String(), "\n   AllocTRES=cpu=1\n") {
		t.Errorf("show node of a machine whose tasks hold no memory: %v, want AllocTRES=cpu=1:\n%s", err, b.String())
	}
	b.Reset()
	unknown := n
	unknown.Started, unknown.LastBusy, unknown.OS, unknown.Load = time.Time{}, time.Time{}, "", nil
	if err := ShowNode(&b, unknown, true); err != nil || !strings.Contains(b.String(), " Version=22.05.8 RealMemory=") ||
		!strings.Contains(b.String(), " CPULoad=N/A ") || !strings.Contains(b.String(), " FreeMem=N/A ") ||
		!strings.Contains(b.String(), " Partitions=local  BootTime=None SlurmdStartTime=None CfgTRES=") {
		t.Errorf("show node -o of a machine whose start is not known: %v\n%s", err, b.String())
	}
	b.Reset()
	m := n
	m.Name, m.Default, m.UsedCPUs = "local-2", false, 0
	if err := ShowPartition(&b, "local", []Node{n, m}, true); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.HasPrefix(got, "PartitionName=local AllowGroups=ALL ") || !strings.Contains(got, " Default=YES ") ||
		!strings.Contains(got, " Nodes=local-[1-2] ") || !strings.Contains(got, " TotalCPUs=8 TotalNodes=2 ") || !strings.HasSuffix(got, " MaxMemPerNode=UNLIMITED TRES=cpu=8,mem=4000M,node=2,billing=8\n") {
		t.Errorf("show partition -o:\n%q", got)
	}
}

// A job cancelled before it started: scontrol and sacct give its end as its
// StartTime, as Slurm 22.05 does (the suite's Slurm), not Unknown.
func TestCancelledPendingStart(t *testing.T) {
	end := t0.Add(time.Minute)
	j := Job{RawID: 3, Name: "w", State: burst.Cancelled, Submit: t0, End: end}
	var b strings.Builder
	if err := ShowJob(&b, j, true, end); err != nil {
		t.Fatal(err)
	}
	if want := "StartTime=" + Date(end) + " EndTime=" + Date(end); !strings.Contains(b.String(), want) {
		t.Errorf("scontrol: want %q in\n%s", want, b.String())
	}
	af, err := ParseAcctFormat("Start")
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := Sacct(&b, []Job{j}, af, SacctOptions{Parsable: ParsableOf(true, true), NoHeader: true}, end); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(b.String()) != Date(end) {
		t.Errorf("sacct Start %q, want %s", b.String(), Date(end))
	}
}

// A job whose tasks reserve no CPU (burst map --cpus 0) reads as a job of
// sbatch --oversubscribe on the suite's real Slurm 22.05: squeue's %C 1
// and %h YES, scontrol's NumCPUs=1 and OverSubscribe=YES; any other job
// OverSubscribe OK.
func TestSharedJobOverSubscribes(t *testing.T) {
	shared := Job{RawID: 1, Name: "wrap", User: "root", State: burst.Running, Partition: "local", Submit: t0, CPUs: 1, Shared: true}
	plain := shared
	plain.RawID, plain.Shared = 2, false
	f, bad := ParseSqueueFormat("%i %C %h")
	if bad != nil {
		t.Fatal(bad)
	}
	var b strings.Builder
	if err := Squeue(&b, []Job{shared, plain}, f, true, t0); err != nil {
		t.Fatal(err)
	}
	if want := "1 1 YES\n2 1 OK\n"; b.String() != want {
		t.Errorf("squeue -o '%%i %%C %%h': %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := ShowJob(&b, shared, true, t0); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" NumCPUs=1 ", " OverSubscribe=YES "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("scontrol show job: no %q in %q", want, b.String())
		}
	}
}

// ShownStdio expands %A %a %j %u %x alone, as Slurm 22.05's scontrol
// shows StdOut (checked: o_%b_%n_%%_%5j_root_12_4294967294_%3N.out and
// e\_12_%N.err for the patterns below).
func TestShownStdio(t *testing.T) {
	job := Job{RawID: 12, Name: "wrap", User: "root"}
	task := Job{RawID: 14, ArrayJobID: 13, ArrayTaskID: 1, Name: "wrap", User: "root"}
	for _, c := range []struct {
		pattern string
		j       Job
		want    string
	}{
		{"o_%b_%n_%%_%5j_%u_%A_%a_%3N.out", job, "o_%b_%n_%%_%5j_root_12_4294967294_%3N.out"},
		{`e\_%j_%N.err`, job, `e\_12_%N.err`},
		{"o_%j_%N_%t_%s_%J_%x.out", job, "o_12_%N_%t_%s_%J_wrap.out"},
		{"slurm-%A_%a.out", task, "slurm-13_1.out"},
		{"%%j%", job, "%12%"}, // real: p_%%j%.out shows p_%19%.out
	} {
		if got := ShownStdio(c.pattern, c.j); got != c.want {
			t.Errorf("ShownStdio(%q) = %q, want %q", c.pattern, got, c.want)
		}
	}
}

// TestSqueueFieldSuffix: -O's NAME:[.][WIDTH][SUFFIX], as public
// dotfiles write it ("JobArrayID:.19 ,Partition:.9 ,..."): no width is
// the whole value, the text after the width follows the field, in the
// header too. The expected lines are what Slurm 22.05's squeue printed for
// a held job 9 (partition debug there, as local here) and what its sinfo
// printed for a partition of 2 nodes of 2 CPUs.
func TestSqueueFieldSuffix(t *testing.T) {
	f, bad := ParseSqueueFields("jobid:abc,state:.9|,name:,partition:.,reason:.12 X")
	if bad != nil {
		t.Fatal(bad)
	}
	held := Job{RawID: 9, Name: "wrap", User: "root", State: burst.Queued, Held: true, Submit: t0, CPUs: 1, Partition: "debug"}
	var b strings.Builder
	Squeue(&b, []Job{held}, f, false, t0)
	if want := "JOBIDabc    STATE|NAMEPARTITION      REASON X\n9abc  PENDING|wrapdebug JobHeldUser X\n"; b.String() != want {
		t.Errorf("squeue -O with suffixes:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	f, _ = ParseSqueueFields("JobArrayID:.19 ,Partition:.9 ,StateCompact:.2 ,ReasonList:.10")
	Squeue(&b, []Job{held}, f, false, t0)
	if want := "              JOBID PARTITION ST NODELIST(R\n                  9     debug PD (JobHeldUs\n"; b.String() != want {
		t.Errorf("squeue -O \"JobArrayID:.19 ,...\":\n%q\nwant\n%q", b.String(), want)
	}
	sf, _ := ParseSinfoFields("partition:.9 ,nodes:3x,cpus:")
	b.Reset()
	Sinfo(&b, []Node{{Name: "c1", Partition: "debug", Default: true, CPUs: 2}, {Name: "c2", Partition: "debug", Default: true, CPUs: 2}}, sf, false, false)
	if want := "PARTITION NODxCPUS\n   debug* 2  x2\n"; b.String() != want {
		t.Errorf("sinfo -O with suffixes:\n%q\nwant\n%q", b.String(), want)
	}
}

// TestSqueueTresAlloc: -O tres-alloc, as a public squeue alias lists it
// ("...,ReasonList:.10 ,tres-alloc:80"), is the job's TRES as scontrol
// shows them; Slurm 22.05's squeue printed "TRES_ALLOC" and
// "cpu=2,mem=300M,node=1,billing=2" for a running job of -c 2 --mem=300M,
// where burst named the field unknown and left it out.
func TestSqueueTresAlloc(t *testing.T) {
	f, bad := ParseSqueueFields("StateCompact:.2 ,tres-alloc:40")
	if bad != nil {
		t.Fatalf("-O tres-alloc: %q unknown", bad)
	}
	j := Job{RawID: 9, Name: "wrap", User: "root", State: burst.Running, Submit: t0, Start: t0, CPUs: 2, MemBytes: 300 << 20, Partition: "debug", Node: "c1"}
	var b strings.Builder
	Squeue(&b, []Job{j}, f, false, t0)
	if want := "ST TRES_ALLOC                              \n R cpu=2,mem=300M,node=1,billing=2         \n"; b.String() != want {
		t.Errorf("squeue -O tres-alloc:\n%q\nwant\n%q", b.String(), want)
	}
}

// TestSqueueJobFields: -O fields that have no %-letter, with what Slurm
// 22.05's squeue printed for them side by side: a job that exited 3
// (EXIT_CODE 768, one wait status), one killed by signal 9 (9), a held
// one (ELIGIBLE_TIME and ACCRUE_TIME N/A), a requeued one (RESTART_COUNT
// 1), a running one of -n 2 (MAX_CPUS 2); and some fields burst has no
// value for, as 22.05 prints them. burst called each an invalid field.
func TestSqueueJobFields(t *testing.T) {
	f, bad := ParseSqueueFields("exit_code:5,RestartCnt:3,EligibleTime:20,AccrueTime:20,MaxCPUs:3,MaxNodes:2,Cores:2,Profile:7,Origin:3,Wait4Switch:5")
	if bad != nil {
		t.Fatalf("unknown: %q", bad)
	}
	exited, killed := ended(burst.Failed, ip(3)), ended(burst.Failed, nil)
	killed.Signal = 9
	held := Job{RawID: 8, State: burst.Queued, Held: true, Submit: t0, CPUs: 1}
	requeued := Job{RawID: 9, State: burst.Running, Submit: t0, Start: t0, CPUs: 2, Restarts: 1}
	var b strings.Builder
	Squeue(&b, []Job{exited, killed, held, requeued}, f, true, t0)
	sub := Date(t0)
	want := "768  0  " + sub + " " + sub + " 1  1 * NotSet NA 0:00 \n" +
		"9    0  " + sub + " " + sub + " 1  1 * NotSet NA 0:00 \n" +
		"0    0  N/A                 N/A                 1  1 * NotSet NA 0:00 \n" +
		"0    1  " + sub + " " + sub + " 2  1 * NotSet NA 0:00 \n"
	if b.String() != want {
		t.Errorf("squeue -O:\n%s\nwant\n%s", b.String(), want)
	}
	// The machine, the restarts and the ending signal are the first
	// task's: the command asks for it when one of them shows.
	if !f.NeedsTask(exited) {
		t.Error("exit_code and RestartCnt shown, but the first task is not asked for")
	}
}

// TestBadStateWords: a -t (sacct -s) state that is none is refused in the
// words Slurm 22.05's squeue, sacct and scancel printed for -t bogus.
func TestBadStateWords(t *testing.T) {
	_, err := States("PD,bogus")
	var bad *BadState
	if !errors.As(err, &bad) || bad.Item != "bogus" {
		t.Fatalf("States(PD,bogus): %v, want a BadState of bogus", err)
	}
	for cmd, want := range map[string]string{
		"squeue": "squeue: error: Invalid job state specified: bogus\nsqueue: error: Valid job states include: " +
			"PENDING,RUNNING,SUSPENDED,COMPLETED,CANCELLED,FAILED,TIMEOUT,NODE_FAIL,PREEMPTED,BOOT_FAIL,DEADLINE,OUT_OF_MEMORY," +
			"COMPLETING,CONFIGURING,RESIZING,RESV_DEL_HOLD,REQUEUED,REQUEUE_FED,REQUEUE_HOLD,REVOKED,SIGNALING,SPECIAL_EXIT,STAGE_OUT,STOPPED",
		"sacct":   "sacct: fatal: unrecognized job state value 'bogus'",
		"scancel": "Invalid job state specified: bogus\nValid job states are PENDING, RUNNING, and SUSPENDED",
	} {
		if got := bad.Words(cmd); got != want {
			t.Errorf("%s -t bogus:\n%s\nwant\n%s", cmd, got, want)
		}
	}
}

// TestComment: sbatch --comment is shown as Slurm 22.05 showed --comment="two
// words" side by side: scontrol show job's "Comment=two words " line (a
// space after it) after WorkDir, two spaces after it with -o, squeue's %k;
// a job without one has no such line and %k (null). burst showed (null)
// always.
func TestComment(t *testing.T) {
	j := ended(burst.Succeeded, ip(0))
	j.WorkDir, j.StdErr, j.Comment = "/w", "/w/slurm-1.out", "two words"
	var b strings.Builder
	if err := ShowJob(&b, j, false, t0); err != nil {
		t.Fatal(err)
	}
	if want := "\n   WorkDir=/w\n   Comment=two words \n   StdErr=/w/slurm-1.out\n"; !strings.Contains(b.String(), want) {
		t.Errorf("show job lacks %q:\n%s", want, b.String())
	}
	b.Reset()
	if err := ShowJob(&b, j, true, t0); err != nil || !strings.Contains(b.String(), " WorkDir=/w Comment=two words  StdErr=") {
		t.Errorf("show job -o: %v\n%s", err, b.String())
	}
	f, _ := ParseSqueueFormat("%k|")
	none := j
	none.Comment = ""
	b.Reset()
	Squeue(&b, []Job{j, none}, f, true, t0)
	if b.String() != "two words|\n(null)|\n" {
		t.Errorf("squeue %%k: %q", b.String())
	}
	b.Reset()
	if err := ShowJob(&b, none, false, t0); err != nil || strings.Contains(b.String(), "Comment") {
		t.Errorf("show job of a job without a comment: %v\n%s", err, b.String())
	}
}
