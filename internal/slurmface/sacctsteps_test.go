package slurmface

import (
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// TestSacctSteps: a job that started is followed by its batch step, whose
// line carries what it used (MaxRSS, AveCPU, NTasks), blank where sacct
// leaves a step's field blank (User, Partition, ReqMem, Timelimit) and the
// job's line blank where sacct leaves a job's blank (MaxRSS, NTasks), as
// Slurm 22.05's sacct prints them.
func TestSacctSteps(t *testing.T) {
	j := Job{RawID: 12, Name: "fit", User: "ann", UID: 1001, Account: "mars", Partition: "local", State: burst.Timeout,
		Submit: t0, Start: t0.Add(time.Second), End: t0.Add(61 * time.Second), TimeLimit: time.Minute, CPUs: 2,
		MemBytes: 1536 << 20, Node: "local-1", CPUTime: 75*time.Second + 250*time.Millisecond,
		UserCPU: 70 * time.Second, SysCPU: 5*time.Second + 250*time.Millisecond, CPUSplit: true, MaxRSS: 4829184}
	f, err := ParseAcctFormat("JobID,JobIDRaw,JobName,Partition,User,State,ExitCode,ReqMem,Timelimit,MaxRSS,AveRSS," +
		"NTasks,TotalCPU,UserCPU,SystemCPU,AveCPU,Submit,MaxRSSNode")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Sacct(&b, []Job{j, j.BatchStep()}, f, SacctOptions{Parsable: Parsable2, NoHeader: true}, t0); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"12|12|fit|local|ann|TIMEOUT|0:0|1.50G|00:01:00||||01:15.250|00:01:10|00:05.250||" + Date(t0) + "|\n" +
		"12.batch|12.batch|batch|||CANCELLED|0:15|||4716K|4716K|1|01:15.250|00:01:10|00:05.250|00:01:15|" + Date(t0.Add(time.Second)) + "|local-1\n"
	if b.String() != want {
		t.Errorf("job and step:\n%s\nwant\n%s", b.String(), want)
	}
	// --units and --noconvert write memory as sacct does.
	for _, tc := range []struct {
		o    SacctOptions
		want string
	}{
		{SacctOptions{Units: 'M'}, "1536M|4.61M"},
		{SacctOptions{Units: 'K'}, "1572864K|4716K"},
		{SacctOptions{Units: 'G'}, "1.50G|0.00G"},
		{SacctOptions{NoConvert: true}, "1536M|4829184"},
	} {
		tc.o.Parsable, tc.o.NoHeader = Parsable2, true
		f, _ := ParseAcctFormat("ReqMem,MaxRSS")
		b.Reset()
		s := j.BatchStep()
		s.Step = "" // both on one line: ReqMem is the job's
		Sacct(&b, []Job{s}, f, tc.o, t0)
		got := b.String()
		b.Reset()
		Sacct(&b, []Job{j.BatchStep()}, f, tc.o, t0)
		got = strings.Split(got, "|")[0] + "|" + strings.TrimSpace(strings.Split(b.String(), "|")[1])
		if got != tc.want {
			t.Errorf("%+v: ReqMem|MaxRSS %q, want %q", tc.o, got, tc.want)
		}
	}
	for n, want := range map[int64]string{0: "0", 512 << 20: "512M", 4 << 30: "4G", 3 << 29: "1.50G", 4096000: "4000K"} {
		orig := unitNone
		if got := memUnits(n, orig, acctCtx{units: -1}); got != want {
			t.Errorf("memUnits(%d bytes) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "00:00:00", 59 * time.Second: "00:00:59",
		1500 * time.Millisecond: "00:01.500", 3*time.Hour + 2*time.Second: "03:00:02", 49 * time.Hour: "2-01:00:00"} {
		if got := cpuTime(d); got != want {
			t.Errorf("cpuTime(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestAcctFieldNames: --format takes a field by the start of its name, as
// sacct does, and --helpformat lists every field, four to a line.
func TestAcctFieldNames(t *testing.T) {
	f, err := ParseAcctFormat("jobid,Exit,elap,maxrss,tresusageinmaxn")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range f {
		got = append(got, c.f.name)
	}
	if want := "JobID ExitCode Elapsed MaxRSS TRESUsageInMaxNode"; strings.Join(got, " ") != want {
		t.Errorf("fields %v, want %s", got, want)
	}
	list := AcctFieldList()
	lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "Account             AdminComment        AllocCPUS           AllocNodes") {
		t.Errorf("--helpformat's first line: %q", lines[0])
	}
	for _, name := range []string{"MaxRSS", "TotalCPU", "JobIDRaw", "WorkDir", "MaxVMSize"} {
		if !strings.Contains(list, name+" ") && !strings.Contains(list, name+"\n") {
			t.Errorf("--helpformat lacks %s", name)
		}
	}
	if _, err := ParseAcctFormat("JobID,Colour"); err == nil || !strings.Contains(err.Error(), "--helpformat") {
		t.Errorf("an unknown field: %v (want a pointer to --helpformat)", err)
	}
}

// TestSacctExitCodes: the ExitCode and DerivedExitCode of a job's line and
// its batch step's, and the step's state, as Slurm 22.05's sacct (with
// slurmdbd) prints them for the suite's jobs: a job cancelled while it ran
// reads 0:0 on its line and 0:15 on its step's (scontrol reads 0:15), one
// cancelled pending 0:0 with no step, one that timed out 0:0 and 0:15, one
// that exited 3 3:0 on both, one that a signal ended 0:9 on both, its step
// CANCELLED; DerivedExitCode (srun steps only) 0:0 for all of them.
func TestSacctExitCodes(t *testing.T) {
	never := ended(burst.Cancelled, nil)
	never.Start = time.Time{}
	killed := ended(burst.Failed, nil)
	killed.Signal = 9
	trapped := ended(burst.Cancelled, ip(143))
	f, err := ParseAcctFormat("JobID,State,ExitCode,DerivedExitCode")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		jobs []Job
		want string
	}{
		{"cancelled running", []Job{ended(burst.Cancelled, nil), ended(burst.Cancelled, nil).BatchStep()},
			"7|CANCELLED by 0|0:0|0:0\n7.batch|CANCELLED|0:15|\n"},
		{"cancelled pending", []Job{never}, "7|CANCELLED by 0|0:0|0:0\n"},
		{"timeout", []Job{ended(burst.Timeout, nil), ended(burst.Timeout, nil).BatchStep()},
			"7|TIMEOUT|0:0|0:0\n7.batch|CANCELLED|0:15|\n"},
		{"exit 3", []Job{ended(burst.Failed, ip(3)), ended(burst.Failed, ip(3)).BatchStep()},
			"7|FAILED|3:0|0:0\n7.batch|FAILED|3:0|\n"},
		{"killed by signal 9", []Job{killed, killed.BatchStep()}, "7|FAILED|0:9|0:0\n7.batch|CANCELLED|0:9|\n"},
		{"cancelled, trapped TERM and exited 143", []Job{trapped}, "7|CANCELLED by 0|0:0|0:0\n"},
	} {
		var b strings.Builder
		if err := Sacct(&b, tc.jobs, f, SacctOptions{Parsable: Parsable2, NoHeader: true}, t0); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.name, b.String(), tc.want)
		}
	}
}
