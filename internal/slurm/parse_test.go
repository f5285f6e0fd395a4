package slurm

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// The readers against what Slurm 22.05 (Debian 12's, as scripts/slurm-dev.sh
// runs it) really prints.

// A line as Slurm 22.05's `scontrol show job -o` prints it (shortened), with
// a directory and a comment holding blanks and '='.
const scontrolLine = `JobId=1 JobName=burst-1-0-1 UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 ` +
	`Account=(null) QOS=(null) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 ` +
	`Reboot=0 ExitCode=3:0 RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-11-25T14:44:04 ` +
	`EligibleTime=2026-11-25T14:44:04 AccrueTime=2026-11-25T14:44:04 StartTime=2026-11-25T14:44:05 EndTime=2026-11-25T14:44:09 ` +
	`Deadline=N/A SuspendTime=None SecsPreSuspend=0 Partition=debug AllocNode:Sid=localhost:8365 ReqNodeList=(null) ` +
	`NodeList=c1 BatchHost=c1 NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,mem=256M,node=1,billing=1 ` +
	`Command=(null) WorkDir=/tmp/my dir Comment=a b=c  StdErr=/tmp/nt/o StdIn=/dev/null StdOut=/tmp/nt/o Power= `

func TestParseScontrol(t *testing.T) {
	j, err := parseScontrol(scontrolLine)
	if err != nil {
		t.Fatal(err)
	}
	want := &Job{ID: 1, Name: "burst-1-0-1", State: "FAILED", Reason: "NonZeroExitCode", ExitStatus: 3,
		Start: time.Date(2026, 11, 25, 14, 44, 5, 0, time.Local), End: time.Date(2026, 11, 25, 14, 44, 9, 0, time.Local), NodeList: "c1"}
	if !reflect.DeepEqual(j, want) {
		t.Errorf("parseScontrol =\n %+v\nwant\n %+v", j, want)
	}
	kv := scontrolFields(scontrolLine)
	if kv["WorkDir"] != "/tmp/my dir" || kv["CPUs/Task"] != "1" || kv["Power"] != "" || kv["TRES"] != "cpu=1,mem=256M,node=1,billing=1" {
		t.Errorf("fields: WorkDir %q CPUs/Task %q TRES %q", kv["WorkDir"], kv["CPUs/Task"], kv["TRES"])
	}

	// A job cancelled while pending: never ran, killed by signal 15.
	j, err = parseScontrol("JobId=77 JobName=burst-2-0-1 JobState=CANCELLED Reason=None ExitCode=0:15 StartTime=2026-01-02T03:04:05 EndTime=Unknown NodeList=(null)")
	if err != nil {
		t.Fatal(err)
	}
	if j.ID != 77 || j.State != "CANCELLED" || j.ExitStatus != 0 || j.Signal != 15 || j.Ran() || !j.End.IsZero() || j.Start.IsZero() {
		t.Errorf("cancelled job: %+v", j)
	}
	if _, err := parseScontrol("slurm_load_jobs error: Invalid job id specified"); err == nil {
		t.Error("want an error for a line without JobId")
	}
}

func TestParseExitCodeAndTime(t *testing.T) {
	for in, want := range map[string][2]int{"0:0": {0, 0}, "3:0": {3, 0}, "0:9": {0, 9}, "255:0": {255, 0}, "": {0, 0}, "x": {0, 0}} {
		if e, s := parseExitCode(in); e != want[0] || s != want[1] {
			t.Errorf("parseExitCode(%q) = %d,%d want %v", in, e, s, want)
		}
	}
	for _, s := range []string{"Unknown", "None", "N/A", "", "2026-13-01T00:00:00"} {
		if !parseTime(s).IsZero() {
			t.Errorf("parseTime(%q) should be zero", s)
		}
	}
	if got := parseTime("2026-01-02T03:04:05"); !got.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)) {
		t.Errorf("parseTime = %v", got)
	}
}

// squeue22 is what Slurm 22.05's `squeue --me -a -h -t all -o squeueFormat`
// printed for a job that exited 3, one waiting for a node it cannot have
// (sbatch -c 64 on 2-CPU nodes) and one running with a '|' in its name and
// comment; then an array element and a stray line, which are skipped.
const squeue22 = "1|FAILED|NonZeroExitCode|2026-12-03T16:37:19|burst-1-0-1|burst:x:0000abcd\n" +
	"3|PENDING|PartitionConfig|N/A|big|(null)\n" +
	"2|RUNNING|None|2026-12-03T16:37:19|my job|x|a comment | with bars\n" +
	"14_3|RUNNING|None|2026-12-03T16:37:19|arr|x\n" +
	"squeue: error: something\n"

func TestParseSqueue(t *testing.T) {
	at := time.Date(2026, 12, 3, 16, 37, 19, 0, time.Local)
	want := []Job{
		{ID: 1, State: "FAILED", Reason: "NonZeroExitCode", Start: at, Name: "burst-1-0-1", Comment: "burst:x:0000abcd"},
		{ID: 3, State: "PENDING", Reason: "PartitionConfig", Name: "big", Comment: "(null)"},
		// A '|' in a name shifts it into the comment: only burst's own
		// names (which have none) must read right.
		{ID: 2, State: "RUNNING", Reason: "None", Start: at, Name: "my job", Comment: "x|a comment | with bars"},
	}
	if got := parseSqueue(squeue22); !reflect.DeepEqual(got, want) {
		t.Errorf("parseSqueue =\n %+v\nwant\n %+v", got, want)
	}
}

func TestParseSacct(t *testing.T) {
	out := "41|burst-3-0-1|CANCELLED by 0|0:15|2026-01-02T03:04:05|2026-01-02T03:04:09|c2\n42|x|COMPLETED|0:0|Unknown|Unknown|None\n"
	j := parseSacct(out, 41)
	if j == nil || j.State != "CANCELLED" || j.Signal != 15 || !j.Ran() || j.End.IsZero() {
		t.Errorf("parseSacct(41) = %+v", j)
	}
	if j := parseSacct(out, 42); j == nil || j.Ran() || j.State != "COMPLETED" {
		t.Errorf("parseSacct(42) = %+v", j)
	}
	if parseSacct(out, 43) != nil {
		t.Error("parseSacct(43) should be nil")
	}
}

func TestStates(t *testing.T) {
	for _, s := range []string{"COMPLETED", "FAILED", "CANCELLED", "CANCELLED by 1000", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
		"PREEMPTED", "BOOT_FAIL", "DEADLINE", "completed"} {
		if !Terminal(s) || !Started(s) {
			t.Errorf("%q should be terminal", s)
		}
	}
	for _, s := range []string{"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "RESV_DEL_HOLD", "SPECIAL_EXIT"} {
		if Terminal(s) || Started(s) {
			t.Errorf("%q has not started", s)
		}
	}
	for _, s := range []string{"RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT"} {
		if Terminal(s) || !Started(s) {
			t.Errorf("%q should be running, not terminal", s)
		}
	}
}

func TestParseSinfo(t *testing.T) {
	out := "c1 2 2000 (null) debug*\nc2 2 2000 (null) debug*\nc1 2 2000 (null) all\n" +
		"g1 32 256000 gpu:a100:4(S:0-1) gpu\ng2 32 256000+ gpu:2,gpu:v100:1(S:0,1),mps:100 gpu\n"
	cases := map[string]burst.Resources{
		"":      {CPUs: 4, MemBytes: 4000 << 20},
		"debug": {CPUs: 4, MemBytes: 4000 << 20},
		"all":   {CPUs: 2, MemBytes: 2000 << 20},
		"gpu":   {CPUs: 64, MemBytes: 512000 << 20, GPUs: 7},
		"none":  {},
	}
	for part, want := range cases {
		if got := parseSinfo(out, part); got != want {
			t.Errorf("parseSinfo(%q) = %+v want %+v", part, got, want)
		}
	}
	// No default partition: every node, once.
	if got := parseSinfo("a 4 100 (null) p1\na 4 100 (null) p2\nb 2 50 gpu:1 p2\n", ""); got != (burst.Resources{CPUs: 6, MemBytes: 150 << 20, GPUs: 1}) {
		t.Errorf("no default: %+v", got)
	}
	for in, want := range map[string]int{"(null)": 0, "gpu:2": 2, "gpu:a100:4(S:0-1)": 4, "gpu:2,gpu:v100:1(S:0,1),mps:100": 3, "gpu": 0, "shard:8": 0} {
		if got := gresGPUs(in); got != want {
			t.Errorf("gresGPUs(%q) = %d want %d", in, got, want)
		}
	}
}

// Real 22.05 lines: a job scancelled while pending (no node: NodeList= is
// empty, yet StartTime is set), a name holding blanks and '|'.
func TestParseScontrol22(t *testing.T) {
	const cancelled = `JobId=3 JobName=big UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901757 Nice=0 Account=(null) QOS=(null) ` +
		`JobState=CANCELLED Reason=PartitionConfig Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 ` +
		`RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-03T16:37:18 EligibleTime=2026-12-03T16:37:18 ` +
		`AccrueTime=2026-12-03T16:37:18 StartTime=2026-12-03T16:37:25 EndTime=2026-12-03T16:37:25 Deadline=N/A SuspendTime=None ` +
		`SecsPreSuspend=0 LastSchedEval=2026-12-03T16:37:18 Scheduler=Main Partition=debug AllocNode:Sid=localhost:20421 ` +
		`ReqNodeList=(null) ExcNodeList=(null) NodeList= NumNodes=1 NumCPUs=64 NumTasks=N/A CPUs/Task=64 ReqB:S:C:T=0:0:*:* ` +
		`TRES=cpu=64,mem=16G,node=1,billing=64 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=64 MinMemoryCPU=256M ` +
		`MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) ` +
		`Command=(null) WorkDir=/tmp StdErr=/dev/null StdIn=/dev/null StdOut=/dev/null Power= `
	j, err := parseScontrol(cancelled)
	if err != nil {
		t.Fatal(err)
	}
	if j.ID != 3 || j.State != "CANCELLED" || j.Reason != "PartitionConfig" || j.Ran() || j.Start.IsZero() {
		t.Errorf("a job cancelled while pending: %+v", j)
	}
	j, err = parseScontrol(`JobId=2 JobName=my job|x UserId=root(0) JobState=RUNNING Reason=None ExitCode=0:0 ` +
		`StartTime=2026-12-03T16:37:19 EndTime=Unknown NodeList=c1 WorkDir=/tmp Comment=a comment | with bars  StdErr=/tmp/sq-o2 Power= `)
	if err != nil || j.Name != "my job|x" || j.State != "RUNNING" || !j.End.IsZero() || !j.Ran() {
		t.Errorf("a running job: %+v %v", j, err)
	}
}

// sbatch --parsable prints the id, or "id;cluster" in a federation, after
// any warning; Slurm's refusals are errors, not ids.
func TestParseSbatchID(t *testing.T) {
	for in, want := range map[string]int64{"42\n": 42, "42;cluster\n": 42, "sbatch: warning: w\n43\n": 43} {
		if id, err := parseSbatchID(in); err != nil || id != want {
			t.Errorf("parseSbatchID(%q) = %d, %v", in, id, err)
		}
	}
	for _, in := range []string{"", "Submitted batch job 42", "0"} {
		if _, err := parseSbatchID(in); err == nil {
			t.Errorf("parseSbatchID(%q): want an error", in)
		}
	}
}

// Live is what the pilot provider counts as a machine that exists: a job
// that holds or waits for its allocation.
func TestLive(t *testing.T) {
	for _, s := range []string{"PENDING", "CONFIGURING", "RUNNING", "SUSPENDED", "COMPLETING", "REQUEUED", "RESIZING", "SIGNALING", "STAGE_OUT", "running"} {
		if !Live(s) {
			t.Errorf("%q should be live", s)
		}
	}
	for _, s := range []string{"COMPLETED", "FAILED", "CANCELLED", "CANCELLED by 0", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
		"DEADLINE", "OUT_OF_MEMORY", "REQUEUE_HOLD", "SPECIAL_EXIT", "STOPPED", "", "UNKNOWN"} {
		if Live(s) {
			t.Errorf("%q should not be live", s)
		}
	}
}

// sacct22 is what Slurm 22.05's `sacct -n -P -X -o
// JobIDRaw,JobName,State,ExitCode,Start,End,NodeList` printed (with
// slurmdbd and MariaDB) for a job that exited 3, one scancelled while it
// ran, one scancelled while pending, one killed by signal 9 and one that
// succeeded. `sacct --json` reported the first as exit_code SUCCESS/0 and
// `squeue --json` as 768 (the raw wait status): -P is the form to read.
const sacct22 = "46|burst-9-0-1|FAILED|3:0|2026-12-03T16:56:00|2026-12-03T16:56:01|c1\n" +
	"47|wrap|CANCELLED by 0|0:0|2026-12-03T16:56:00|2026-12-03T16:56:03|c1\n" +
	"48|wrap|CANCELLED by 0|0:0|None|2026-12-03T16:56:03|None assigned\n" +
	"49|wrap|FAILED|0:9|2026-12-03T16:56:00|2026-12-03T16:56:00|c2\n" +
	"50|wrap|COMPLETED|0:0|2026-12-03T16:56:00|2026-12-03T16:56:00|c2\n"

func TestParseSacct22(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 12, 3, 16, 56, s, 0, time.Local) }
	cases := []struct {
		id        int64
		state     string
		exit, sig int
		ran       bool
		start     time.Time
	}{
		{46, "FAILED", 3, 0, true, at(0)},
		{47, "CANCELLED", 0, 0, true, at(0)},
		{48, "CANCELLED", 0, 0, false, time.Time{}},
		{49, "FAILED", 0, 9, true, at(0)},
		{50, "COMPLETED", 0, 0, true, at(0)},
	}
	for _, c := range cases {
		j := parseSacct(sacct22, c.id)
		if j == nil || j.ID != c.id || j.State != c.state || j.ExitStatus != c.exit || j.Signal != c.sig || j.Ran() != c.ran ||
			!j.Start.Equal(c.start) || j.End.IsZero() {
			t.Errorf("parseSacct(%d) = %+v (ran %v); want %s exit %d signal %d ran %v", c.id, j, j != nil && j.Ran(), c.state, c.exit, c.sig, c.ran)
		}
	}
	if j := parseSacct(sacct22, 4); j != nil {
		t.Errorf("parseSacct(4) = %+v, want nil: only whole ids match", j)
	}
}

// parseSinfo sums parseNodes.
func parseSinfo(out, partition string) burst.Resources { return sum(parseNodes(out, partition)) }

// Any squeue output reads without a panic; a line squeue writes for a job
// whose name has no '|' reads back as that job.
func FuzzParseSqueue(f *testing.F) {
	f.Add(squeue22, int64(7), "RUNNING", "None", "burst-1-2-3", "burst:m:0000abcd")
	f.Add("", int64(1), "PENDING", "Priority", "a b", "(null)")
	f.Fuzz(func(t *testing.T, out string, id int64, state, reason, name, comment string) {
		parseSqueue(out)
		for _, s := range []string{state, reason, name} {
			if strings.ContainsAny(s, "|\r\n") || strings.TrimSpace(s) != s {
				return
			}
		}
		if id <= 0 || strings.ContainsAny(comment, "\r\n") || strings.ContainsAny(state, " +") {
			return
		}
		line := fmt.Sprintf("%d|%s|%s|N/A|%s|%s\n", id, state, reason, name, comment)
		got := parseSqueue(line)
		want := Job{ID: id, State: strings.ToUpper(state), Reason: reason, Name: name, Comment: comment}
		if len(got) != 1 || got[0] != want {
			t.Errorf("parseSqueue(%q) = %+v, want %+v", line, got, want)
		}
	})
}

// Any scontrol line reads without a panic; JobId and ExitCode read back.
func FuzzParseScontrol(f *testing.F) {
	f.Add(scontrolLine, int64(5), 3, 9)
	f.Add("JobId=", int64(1), 0, 0)
	f.Fuzz(func(t *testing.T, line string, id int64, exit, sig int) {
		parseScontrol(line)
		if id <= 0 || exit < 0 || sig < 0 {
			return
		}
		j, err := parseScontrol(fmt.Sprintf("JobId=%d JobName=x y ExitCode=%d:%d NodeList=c1", id, exit, sig))
		if err != nil || j.ID != id || j.Name != "x y" || j.ExitStatus != exit || j.Signal != sig || !j.Ran() {
			t.Errorf("read back %+v %v", j, err)
		}
	})
}

// No output of sinfo, sacct or sbatch, however odd, makes a reader panic,
// and what they read is within what the text can say.
func FuzzParsers(f *testing.F) {
	f.Add("c1 2 2000 (null) debug*\ng1 32 256000+ gpu:a100:4(S:0-1) gpu\n", "debug")
	f.Add(sacct22, "46")
	f.Add("sbatch: warning: w\n43;cluster\n", "")
	f.Fuzz(func(t *testing.T, out, arg string) {
		for _, n := range parseNodes(out, arg) {
			if n.Name == "" {
				t.Errorf("a node without a name from %q", out)
			}
		}
		id, _ := strconv.ParseInt(arg, 10, 64)
		if j := parseSacct(out, id); j != nil && j.ID != id {
			t.Errorf("parseSacct(%d) read job %d", id, j.ID)
		}
		if n, err := parseSbatchID(out); err == nil && n <= 0 {
			t.Errorf("parseSbatchID(%q) = %d", out, n)
		}
		gresGPUs(out)
		parseExitCode(out)
	})
}
