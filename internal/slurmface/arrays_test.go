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
