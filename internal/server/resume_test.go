package server

import (
	"math"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// resumeSpec bounds resume's options from both sides, as a submitted map's
// are (burst.MaxTasks, 0 to 100%): the one place that checks them.
func TestResumeSpecBounds(t *testing.T) {
	n := func(v int) *int { return &v }
	f := func(v float64) *float64 { return &v }
	for _, c := range []struct {
		name string
		o    client.ResumeOptions
		want string // "" taken
	}{
		{"max failures at the limit", client.ResumeOptions{MaxFailures: n(burst.MaxTasks)}, ""},
		{"max failures past the limit", client.ResumeOptions{MaxFailures: n(burst.MaxTasks + 1)}, "--max-failures 10000001: the limit is 10000000"},
		{"negative max failures", client.ResumeOptions{MaxFailures: n(-1)}, "give a count"},
		{"share of 101%", client.ResumeOptions{MaxFailuresPct: f(101)}, "give a count"},
		{"share NaN", client.ResumeOptions{MaxFailuresPct: f(math.NaN())}, "give a count"},
		{"-j at the limit", client.ResumeOptions{MaxRunning: n(burst.MaxTasks)}, ""},
		{"-j past the limit", client.ResumeOptions{MaxRunning: n(20_000_000)}, "-j 20000000: the limit is 10000000"},
		{"negative -j", client.ResumeOptions{MaxRunning: n(-1)}, "use 0 (no cap) or more"},
	} {
		spec := &burst.JobSpec{Map: &burst.MapSpec{Template: []string{"echo", "{}"}}}
		_, err := resumeSpec(spec, c.o)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v; want an error saying %q", c.name, err, c.want)
		}
	}
}

// A job cancelled while held (sbatch -H, scontrol hold) and then resumed
// runs: the resume lets go of the hold, saved with the spec (it kept it:
// squeue said JobHeldUser, and a restart held it again for a release
// nobody knew to give).
func TestResumeLetsGoOfTheHold(t *testing.T) {
	spec := &burst.JobSpec{Argv: []string{"true"}, Held: true}
	changed, err := resumeSpec(spec, client.ResumeOptions{})
	if err != nil || !changed || spec.Held {
		t.Fatalf("resumeSpec of a held job: changed %t, held %t, %v; want changed, not held", changed, spec.Held, err)
	}
}
