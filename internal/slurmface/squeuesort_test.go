package slurmface

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// ids lists jobs' ids as squeue's %i prints them.
func ids(js []Job) string {
	var out []string
	for _, j := range js {
		out = append(out, j.JobID())
	}
	return strings.Join(out, " ")
}

func TestSqueueSort(t *testing.T) {
	now := t0.Add(time.Hour)
	started := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	jobs := []Job{
		{RawID: 9, Name: "b", User: "ann", UID: 1001, Partition: "local", State: burst.Queued, Submit: started(5), CPUs: 4},
		{RawID: 3, Name: "c", User: "bob", UID: 1002, Partition: "local", State: burst.Running, Start: started(10),
			TimeLimit: time.Hour, Submit: started(1), Node: "local-2", CPUs: 1},
		{RawID: 5, Name: "a", User: "ann", UID: 1001, Partition: "gpu", State: burst.Running, Start: started(20),
			Submit: started(2), Node: "gpu-1", CPUs: 2},
		{RawID: 12, ArrayJobID: 12, ArrayTaskID: 2, Name: "arr", User: "bob", UID: 1002, Partition: "local",
			State: burst.Running, Start: started(30), TimeLimit: 2 * time.Hour, Submit: started(3), Node: "local-1", CPUs: 1},
		{RawID: 13, ArrayJobID: 12, ArrayTaskID: 1, Name: "arr", User: "bob", UID: 1002, Partition: "local",
			State: burst.Succeeded, Start: started(25), End: started(28), Submit: started(3), Node: "local-1", CPUs: 1},
		{RawID: 12, ArrayJobID: 12, ArrayPending: "3-4", Name: "arr", User: "bob", UID: 1002, Partition: "local",
			State: burst.Queued, Submit: started(3), CPUs: 1},
	}
	for _, tc := range []struct{ spec, want string }{
		// squeue's default: partition, then the state's code as text (CD <
		// PD < R), then priority (the order of submission, an array's
		// tasks alike: ids break ties).
		{DefaultSqueueSort, "5 12_1 9 12_[3-4] 3 12_2"},
		{"i", "3 5 9 12_1 12_2 12_[3-4]"},
		{"-i", "12_[3-4] 12_2 12_1 9 5 3"},
		{"+i", "3 5 9 12_1 12_2 12_[3-4]"},
		{"u,-C", "9 5 3 12_1 12_2 12_[3-4]"},
		{"U,j", "5 9 12_1 12_2 12_[3-4] 3"},
		{"-M", "3 5 12_2 12_1 9 12_[3-4]"}, // run 50, 40, 30 and 3 minutes; the pending none
		{"L", "3 12_2 5 9 12_1 12_[3-4]"},  // left: 10 min, 90 min, then no limit (infinite)
		{"S", "3 5 12_1 12_2 9 12_[3-4]"},  // the pending start "after now"
		{"N", "9 12_[3-4] 5 12_1 12_2 3"},  // no node first, then gpu-1, local-1 (two), local-2
		{"-V,i", "9 12_1 12_2 12_[3-4] 5 3"},
		{"t,-i", "12_1 12_[3-4] 9 12_2 5 3"},
		{"T", "12_1 9 12_[3-4] 3 5 12_2"},                      // COMPLETED < PENDING < RUNNING
		{"p,Q,D,cluster,-cluster", "12_1 12_2 12_[3-4] 9 5 3"}, // the last submitted, least priority, first
		{"-p", "3 5 9 12_1 12_2 12_[3-4]"},
	} {
		s, err := ParseSqueueSort(tc.spec)
		if err != nil {
			t.Errorf("-S %s: %v", tc.spec, err)
			continue
		}
		js := slices.Clone(jobs)
		s.Sort(js, now)
		if got := ids(js); got != tc.want {
			t.Errorf("-S %s: %s, want %s", tc.spec, got, tc.want)
		}
	}
	for spec, bad := range map[string]string{"x": "x", "foo": "o", "i,y": "y", "P, t": " "} {
		if _, err := ParseSqueueSort(spec); err == nil || err.Error() != "Invalid sort specification: "+bad {
			t.Errorf("-S %q: %v, want squeue's Invalid sort specification: %s", spec, err, bad)
		}
	}
}

func TestSqueueSteps(t *testing.T) {
	f, bad := ParseStepFormat(DefaultSteps)
	if bad != nil {
		t.Fatal(bad)
	}
	jobs := []Job{
		{RawID: 7, Partition: "local", User: "ann", State: burst.Running, Start: t0, Node: "local-1"},
		{RawID: 13, ArrayJobID: 12, ArrayTaskID: 1, Partition: "local", User: "bob", State: burst.Running, Start: t0, Node: "local-2"},
	}
	var b strings.Builder
	if err := Squeue(&b, jobs, f, false, t0.Add(75*time.Second)); err != nil {
		t.Fatal(err)
	}
	if want := "" +
		"         STEPID     NAME PARTITION     USER      TIME NODELIST\n" +
		"        7.batch    batch     local      ann      1:15 local-1\n" +
		"     12_1.batch    batch     local      bob      1:15 local-2\n"; b.String() != want {
		t.Errorf("squeue -s:\n%s\nwant\n%s", b.String(), want)
	}
	if _, bad := ParseStepFormat("%i %t"); !slices.Equal(bad, []string{"t"}) {
		t.Errorf("squeue -s -o '%%i %%t': bad %q (a job's letter, not a step's)", bad)
	}
	f, _ = ParseSqueueFormat(SqueueStart)
	b.Reset()
	Squeue(&b, []Job{{RawID: 4, Name: "x", User: "ann", Partition: "local", State: burst.Queued}}, f, false, t0)
	if want := "" +
		"             JOBID PARTITION     NAME     USER ST          START_TIME  NODES SCHEDNODES           NODELIST(REASON)\n" +
		"                 4     local        x      ann PD                 N/A      1 (null)               (None)\n"; b.String() != want {
		t.Errorf("squeue --start:\n%s\nwant\n%s", b.String(), want)
	}
}

// squeue -s sorts steps as steps (real 22.05, two jobs each running an
// srun step): by default P,i, a job's numbered steps above its batch step;
// -S -i and -S u,-i put 21.batch 21.0 20.batch 20.0. Its %b is
// TRES_PER_JOB, (null) for a step with no GPUs. burst sorted the jobs and
// kept each one's steps in its place (-S -i: 21.0 21.batch 20.0 20.batch),
// and printed TRES_PER_NODE, N/A.
func TestSqueueStepSort(t *testing.T) {
	var lines []Job
	for _, id := range []int64{21, 20} {
		j := Job{RawID: id, Partition: "local", User: "ann", State: burst.Running, Start: t0,
			Steps: []burst.Step{{ID: 0, Name: "sleep", State: burst.Running, Tasks: 1}}}
		lines = append(lines, j.RunningSteps()...)
	}
	for _, tc := range []struct{ spec, want string }{
		{DefaultStepSort, "20.0 20.batch 21.0 21.batch"},
		{"-i", "21.batch 21.0 20.batch 20.0"},
		{"u,-i", "21.batch 21.0 20.batch 20.0"},
	} {
		s, err := ParseSqueueSort(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Clone(lines)
		s.SortSteps(got, t0)
		var ids []string
		for _, l := range got {
			ids = append(ids, l.StepID())
		}
		if strings.Join(ids, " ") != tc.want {
			t.Errorf("squeue -s -S %s: %q, want %q", tc.spec, ids, tc.want)
		}
	}
	f, _ := ParseStepFormat("%i %b")
	var b strings.Builder
	if err := Squeue(&b, lines[:1], f, false, t0); err != nil {
		t.Fatal(err)
	}
	if want := "STEPID TRES_PER_JOB\n21.0 (null)\n"; b.String() != want {
		t.Errorf("squeue -s -o '%%i %%b': %q, want %q", b.String(), want)
	}
}
