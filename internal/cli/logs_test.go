package cli

import (
	"strings"
	"testing"

	burst "github.com/burst-sh/burst"
)

// A task that ran again says so under its output where its log keeps every
// attempt's bytes (a run killed with its agent printed "start 1", then
// "start 2" and "end 2", as if one run had), and says nothing where the log
// holds the last attempt alone.
func TestRerunNote(t *testing.T) {
	run := &burst.JobSpec{Argv: []string{"sh"}}
	sbatch := &burst.JobSpec{Argv: []string{"sh"}, Batch: &burst.BatchOptions{}}
	appended := &burst.JobSpec{Argv: []string{"sh"}, Batch: &burst.BatchOptions{Append: true}}
	for _, c := range []struct {
		name    string
		spec    *burst.JobSpec
		attempt int
		want    bool
	}{
		{"run, attempt 2", run, 2, true},
		{"run, attempt 1", run, 1, false},
		{"run, never started", run, 0, false},
		{"map task, attempt 2", &burst.JobSpec{Map: &burst.MapSpec{Template: []string{"echo"}}}, 2, false},
		{"pipe stage, attempt 2", &burst.JobSpec{Pipe: &burst.PipeSpec{}}, 2, false},
		{"sbatch files, attempt 2", sbatch, 2, false},
		{"sbatch --open-mode=append, attempt 3", appended, 3, true},
		{"job unknown", nil, 2, false},
	} {
		note := rerunNote(c.spec, burst.Task{JobID: 8, Index: 0, Attempt: c.attempt})
		if (note != "") != c.want {
			t.Errorf("%s: note %q, want one: %v", c.name, note, c.want)
		}
		if c.want && !strings.Contains(note, "task 0 of job 8 ran "+string(rune('0'+c.attempt))+" attempts") {
			t.Errorf("%s: note %q does not name the task and its attempts", c.name, note)
		}
	}
}
