package slurmface

import (
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

func TestArrayLines(t *testing.T) {
	a := Job{RawID: 20, Name: "arr", State: burst.Running, Submit: t0, CPUs: 1, Partition: "local", Node: "local", Waiting: true}
	at := t0.Add(time.Second)
	var tasks []burst.Task
	for i, st := range []burst.State{burst.Succeeded, burst.Running, burst.Queued, burst.Queued, burst.Queued} {
		tk := burst.Task{JobID: 20, Index: i, State: st}
		if st != burst.Queued {
			tk.StartedAt, tk.Machine = &at, "local-1"
		}
		tasks = append(tasks, tk)
	}
	indices := []int{1, 3, 5, 6, 7}
	els := Elements(a, tasks, indices, 2)
	var ids []string
	for _, e := range els {
		ids = append(ids, e.JobID())
	}
	if got := strings.Join(ids, " "); got != "20_1 20_3 20_5 20_6 20_7" {
		t.Fatalf("elements %s", got)
	}
	if els[1].RawID != 21 || els[1].Node != "local-1" || els[2].Node != "" || els[2].StateCode() != "PD" || els[0].Waiting {
		t.Fatalf("element fields: %+v / %+v / %+v", els[0], els[1], els[2])
	}
	f, _ := ParseSqueueFormat("%i %t %K %A %F")
	var b strings.Builder
	Squeue(&b, CollapsePending(els), f, true, t0)
	if want := "20_1 CD 1 20 20\n20_3 R 3 21 20\n20_[5-7%2] PD 5-7%2 20 20\n"; b.String() != want {
		t.Errorf("collapsed:\n%s\nwant\n%s", b.String(), want)
	}
	// A lone pending task keeps its own line.
	if c := CollapsePending(Elements(a, tasks[:3], indices, 0)); len(c) != 3 || c[2].JobID() != "20_5" || c[2].RawID != 22 {
		t.Errorf("lone pending task: %+v", c[2])
	}
	if got := Ranges([]int{0, 2, 3, 4, 9, 10}); got != "0,2-4,9-10" {
		t.Errorf("ranges %q", got)
	}
}

// TestCancelledArrayTasks: an array's tasks cancelled before they started
// are listed as Slurm 22.05 listed them side by side (squeue -t all -o
// '%i %t', --array=1-6%1, task 1 running): tasks cancelled alone (scancel
// 78_5 78_[3-4]) have no line, "78_[2,6%1] PD" and "78_1 R" are all, where
// burst listed "78_3 CA" and so on; those the array's cancel ended
// (scancel 80 of --array=1-4%1) share one line, "80_[2-4%1] CA", where
// burst listed one each.
func TestCancelledArrayTasks(t *testing.T) {
	at := t0.Add(time.Second)
	f, _ := ParseSqueueFormat("%i %t")
	alone, withArray := burst.ReasonCancelledAlone+"root", "cancelled by root"
	for _, c := range []struct {
		what  string
		a     Job
		tasks []burst.Task // tasks 2.. of the array, none started
		want  string
	}{
		{"cancelled alone", Job{RawID: 78, State: burst.Running}, []burst.Task{{State: burst.Queued},
			{State: burst.Cancelled, Reason: alone}, {State: burst.Cancelled, Reason: alone}, {State: burst.Cancelled, Reason: alone}, {State: burst.Queued}},
			"78_1 R\n78_[2,6%1] PD\n"},
		{"with the array", Job{RawID: 80, State: burst.Cancelled}, []burst.Task{{State: burst.Cancelled, Reason: withArray}, {State: burst.Cancelled}, {State: burst.Cancelled, Reason: withArray}},
			"80_1 CA\n80_[2-4%1] CA\n"},
	} {
		tasks := []burst.Task{{JobID: c.a.RawID, Index: 0, State: c.a.State, StartedAt: &at, Machine: "local-1"}}
		indices := []int{1}
		for i, tk := range c.tasks {
			tk.JobID, tk.Index = c.a.RawID, i+1
			tasks, indices = append(tasks, tk), append(indices, i+2)
		}
		var b strings.Builder
		Squeue(&b, CollapsePending(Elements(c.a, tasks, indices, 1)), f, true, t0)
		if b.String() != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", c.what, b.String(), c.want)
		}
	}
}

func TestDependencyReason(t *testing.T) {
	f, _ := ParseSqueueFormat("%i|%r|%E|%R")
	var b strings.Builder
	Squeue(&b, []Job{
		{RawID: 3, State: burst.Queued, Dependency: "afterok:1(unfulfilled),afterany:2(unfulfilled)", Waiting: true},
		{RawID: 4, State: burst.Queued, Dependency: "afterok:1(failed)"},
		{RawID: 5, State: burst.Queued},
	}, f, false, t0)
	want := "JOBID|REASON|DEPENDENCY|NODELIST(REASON)\n" +
		"3|Dependency|afterok:1(unfulfilled),afterany:2(unfulfilled)|(Dependency)\n" +
		"4|DependencyNeverSatisfied|afterok:1(failed)|(DependencyNeverSatisfied)\n" +
		"5|None|(null)|(None)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	var s strings.Builder
	ShowJob(&s, Job{RawID: 4, State: burst.Queued, Dependency: "afterok:1(failed)"}, false, t0)
	if !strings.Contains(s.String(), "JobState=PENDING Reason=DependencyNeverSatisfied Dependency=afterok:1(failed)") {
		t.Errorf("scontrol:\n%s", s.String())
	}
}

// The tasks of an array gated task by task (aftercorr) are listed each on
// its line with its own dependency, as Slurm 22.05 lists them once it
// looked at them; one cancelled for it goes on saying which.
func TestArrayTaskDependencies(t *testing.T) {
	a := Job{RawID: 2, Name: "b", State: burst.Queued, Submit: t0, CPUs: 1, Partition: "local", Waiting: true, TaskDeps: true,
		Dependency: "aftercorr:1_*(unfulfilled)"}
	tasks := []burst.Task{
		{JobID: 2, Index: 0, State: burst.Queued, Dependency: "aftercorr:1_*(unfulfilled)"},
		{JobID: 2, Index: 1, State: burst.Queued, Dependency: "aftercorr:1_*(failed)"},
		{JobID: 2, Index: 2, State: burst.Queued}, // let through: waits for a machine
		{JobID: 2, Index: 3, State: burst.Cancelled, Reason: "cancelled: task 1_3 failed, which its task 3 needed to succeed (aftercorr)"},
	}
	f, _ := ParseSqueueFormat("%i %T %r %E")
	var b strings.Builder
	Squeue(&b, CollapsePending(Elements(a, tasks, []int{0, 1, 2, 3}, 0)), f, true, t0)
	want := "2_0 PENDING Dependency aftercorr:1_*(unfulfilled)\n" +
		"2_1 PENDING DependencyNeverSatisfied aftercorr:1_*(failed)\n" +
		"2_2 PENDING Resources (null)\n" +
		"2_3 CANCELLED DependencyNeverSatisfied aftercorr:1(failed)\n"
	if b.String() != want {
		t.Errorf("squeue:\n%s\nwant\n%s", b.String(), want)
	}
}
