package cli

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/slurmface"
)

// TestAcctUsers: sacct lists the caller's jobs unless -u, -a or -j say
// otherwise, or the caller is root (sacct(1)).
func TestAcctUsers(t *testing.T) {
	mine := func() []string { return []string{"ann"} }
	for _, tc := range []struct {
		name      string
		users     []string
		all, jobs bool
		uid       int
		want      []string
	}{
		{"default", nil, false, false, 1000, []string{"ann"}},
		{"-u", []string{"bob"}, false, false, 1000, []string{"bob"}},
		{"-a", nil, true, false, 1000, nil},
		{"-j", nil, false, true, 1000, nil},
		{"root", nil, false, false, 0, nil},
		{"root -u", []string{"bob"}, false, false, 0, []string{"bob"}},
	} {
		if got := acctUsers(tc.users, tc.all, tc.jobs, tc.uid, mine); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestJobSel(t *testing.T) {
	s, err := parseJobSel("sacct", []string{"12,14_3", "15_[1-2,5]"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.jobs(); !slices.Equal(got, []int64{12, 14, 15}) {
		t.Errorf("jobs: %v", got)
	}
	for _, tc := range []struct {
		j    slurmface.Job
		want bool
	}{
		{slurmface.Job{RawID: 12}, true},
		{slurmface.Job{RawID: 13}, false},
		{slurmface.Job{RawID: 12, ArrayJobID: 12, ArrayTaskID: 0}, true},
		{slurmface.Job{RawID: 13, ArrayJobID: 12, ArrayTaskID: 1}, true}, // a task of array 12
		{slurmface.Job{RawID: 14, ArrayJobID: 14, ArrayTaskID: 0}, false},
		{slurmface.Job{RawID: 17, ArrayJobID: 14, ArrayTaskID: 3}, true},
		{slurmface.Job{RawID: 15, ArrayJobID: 15, ArrayTaskID: 1}, true},
		{slurmface.Job{RawID: 17, ArrayJobID: 15, ArrayTaskID: 3}, false},
		{slurmface.Job{RawID: 19, ArrayJobID: 15, ArrayTaskID: 5}, true},
	} {
		if got := s.holds(tc.j); got != tc.want {
			t.Errorf("holds(%+v) = %v", tc.j, got)
		}
	}
	for _, bad := range []string{"x", "0", "12_", "12_a", "_3"} {
		if _, err := parseJobSel("sacct", []string{bad}); err == nil {
			t.Errorf("-j %s accepted", bad)
		}
	}
	// Refused in the words of Slurm 22.05's squeue and sacct for -j abc
	// and -j 0, burst's fix after them.
	for cmd, want := range map[string]string{"squeue": "squeue: error: Invalid job id: abc (", "sacct": "sacct: fatal: Bad job/step specified: abc ("} {
		if _, err := parseJobSel(cmd, []string{"abc"}); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s -j abc: %v, want %q...", cmd, err, want)
		}
	}
	if _, err := parseJobSel("squeue", []string{"0"}); err == nil || !strings.HasPrefix(err.Error(), "squeue: error: Invalid job id: 0 (") {
		t.Errorf("squeue -j 0: %v", err)
	}
	if s, _ := parseJobSel("squeue", nil); s != nil || !s.holds(slurmface.Job{RawID: 1}) {
		t.Error("no -j selects every job")
	}
}

// TestSplitSteps: sacct -j's ID.STEP items name that step alone, unless
// the job is named whole too.
func TestSplitSteps(t *testing.T) {
	jobs, steps := splitSteps([]string{"12.batch,13", "14_[1-2].0", "15.batch,15"})
	if want := []string{"12,13", "14_[1-2]", "15,15"}; !slices.Equal(jobs, want) {
		t.Errorf("jobs %q, want %q", jobs, want)
	}
	if len(steps) != 2 || steps["12"] != "batch" || steps["14_[1-2]"] != "0" {
		t.Errorf("steps %v, want 12: batch and 14_[1-2]: 0 (15 is named whole)", steps)
	}
	run := slurmface.Job{RawID: 12, Start: time.Unix(1, 0)}
	got := withSteps([]slurmface.Job{run, {RawID: 13, Start: time.Unix(1, 0)}, {RawID: 15}}, steps, false)
	var ids []string
	for _, j := range got {
		ids = append(ids, strconv.FormatInt(j.RawID, 10)+j.Step)
	}
	if want := "12batch 13 13batch 15"; strings.Join(ids, " ") != want { // 15 never started: no step
		t.Errorf("lines %q, want %q", strings.Join(ids, " "), want)
	}
}

// TestStateUsage: squeue -t and sacct -s refuse a state that is none in
// Slurm 22.05's words (slurmface.BadState), as it printed them.
func TestStateUsage(t *testing.T) {
	_, err := slurmface.States("bogus")
	for cmd, want := range map[string]string{"squeue": "squeue: error: Invalid job state specified: bogus\n", "sacct": "sacct: fatal: unrecognized job state value 'bogus'"} {
		if got := stateUsage(cmd, err).Error(); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q...", cmd, got, want)
		}
	}
}
