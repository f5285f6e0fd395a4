package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/slurmtime"
)

// afterFlags are --after and --dependency, the jobs a job waits for, and
// --begin, the time it waits for (run, map and pipe take them).
type afterFlags struct {
	after, dependency, begin string
}

func (f *afterFlags) add(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.after, "after", "", "start only once other jobs did what they must: `DEPS` such as ok:12 (succeeded; a bare 12 too), any:12:13 (ended), notok:12, started:12, joined by , (all) or ? (any one)")
	fl.StringVar(&f.dependency, "dependency", "", "--after in sbatch's `SPEC` syntax: afterok:JOB[:JOB...][,afterany:JOB], afternotok:JOB, after:JOB[+MINUTES] (started that long ago), singleton (a bare JOB: afterany)")
	fl.StringVarP(&f.begin, "begin", "b", "", "start no earlier than `TIME`, as sbatch --begin reads it: now+1hour, now+60 (seconds), 16:00 (today, or tomorrow once past), tomorrow, midnight, 2026-12-24T08:00 (at most a year ahead)")
}

// afterText is what spec waits for, for people: "afterok:12,afterany:13",
// and what burst does if it never can be.
func afterText(spec *burst.JobSpec) string {
	s := burst.FormatDependencies(spec.After, spec.AfterAnyOf)
	if spec.KeepUnsatisfiable {
		return s + " (kept queued if never met)"
	}
	return s + " (cancelled if never met)"
}

// apply sets spec's dependencies and begin time from the flags given.
func (f *afterFlags) apply(c *cobra.Command, spec *burst.JobSpec) error {
	ch := c.Flags().Changed
	if ch("begin") {
		t, err := slurmtime.Begin(f.begin, time.Now())
		if err != nil {
			return usage("--begin: %v", err)
		}
		spec.Begin = t
	}
	if ch("after") && ch("dependency") {
		return usage("--after and --dependency say the same: give one of them")
	}
	name, v, bare := "after", f.after, burst.AfterOK
	if ch("dependency") {
		name, v, bare = "dependency", f.dependency, burst.AfterAny
	} else if !ch("after") {
		return nil
	}
	deps, anyOf, err := burst.ParseDependencies(v, bare)
	if err != nil {
		return usage("--%s: %v", name, err)
	}
	spec.After, spec.AfterAnyOf = deps, anyOf
	return nil
}
