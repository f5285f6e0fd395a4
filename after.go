package burst

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Dependency is a job another one waits for before it may start (burst run
// --after, sbatch --dependency), and what that job must do first.
type Dependency struct {
	Kind string `json:"kind"`          // AfterOK, AfterAny, AfterNotOK, AfterStart, Singleton
	Job  int64  `json:"job,omitempty"` // the job waited for; 0 for Singleton
}

// Dependency kinds, named as sbatch names them.
const (
	AfterOK    = "afterok"    // the job succeeded
	AfterAny   = "afterany"   // the job ended, however
	AfterNotOK = "afternotok" // the job ended and did not succeed (failed, cancelled, timed out, lost)
	AfterStart = "after"      // the job started (or ended without starting)
	// Singleton waits until no job of the same name and user submitted
	// before it is queued or running.
	Singleton = "singleton"
)

// MaxDependencies bounds the jobs one job may wait for.
const MaxDependencies = 100

// Met says whether d is met by its job in state st (started: its job has
// started), and whether it never can be: the job ended otherwise than d
// asks (sbatch's DependencyNeverSatisfied). Singleton is decided by the
// server, not here.
func (d Dependency) Met(st State, started bool) (met, never bool) {
	ended := st.Terminal()
	switch d.Kind {
	case AfterAny:
		return ended, false
	case AfterOK:
		return st == Succeeded, ended && st != Succeeded
	case AfterNotOK:
		return ended && st != Succeeded, st == Succeeded
	case AfterStart:
		return started || ended, false
	}
	return false, false
}

// Wants says, for people, what d waits for: "job 12 to succeed".
func (d Dependency) Wants() string {
	id := "job " + strconv.FormatInt(d.Job, 10)
	switch d.Kind {
	case AfterOK:
		return id + " to succeed"
	case AfterNotOK:
		return id + " to fail"
	case AfterStart:
		return id + " to start"
	case Singleton:
		return "the jobs of the same name and user before it to end"
	}
	return id + " to end"
}

// NeverMet says why d can never be met, its job having ended in st: "job 12
// failed, which it needed to succeed" (a reason ParseNeverMet reads back).
func (d Dependency) NeverMet(st State) string {
	word := string(st)
	switch st {
	case Cancelled, Lost:
		word = "was " + word
	case Timeout:
		word = "timed out"
	}
	return fmt.Sprintf("job %d %s, which it needed %s", d.Job, word, strings.TrimPrefix(d.Wants(), "job "+strconv.FormatInt(d.Job, 10)+" "))
}

// neverMet is compiled when first used, not at every start of the binary.
var neverMet = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`job ([0-9]+) (?:failed|succeeded|was cancelled|was lost|timed out), which it needed to (succeed|fail)`)
})

// ParseNeverMet finds in text (a job's reason) the dependencies NeverMet
// said can never be met.
func ParseNeverMet(text string) []Dependency {
	var out []Dependency
	for _, m := range neverMet().FindAllStringSubmatch(text, MaxDependencies) {
		id, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			continue
		}
		kind := AfterOK
		if m[2] == "fail" {
			kind = AfterNotOK
		}
		out = append(out, Dependency{Kind: kind, Job: id})
	}
	return out
}

// FormatDependencies writes deps in sbatch's syntax, jobs of the same kind
// grouped: "afterok:12:13,afterany:14"; joined by "?" when any one of them
// suffices.
func FormatDependencies(deps []Dependency, anyOf bool) string {
	sep := ","
	if anyOf {
		sep = "?"
	}
	var b strings.Builder
	for i, d := range deps {
		if i > 0 && d.Kind == deps[i-1].Kind && d.Kind != Singleton && !anyOf {
			b.WriteString(":" + strconv.FormatInt(d.Job, 10))
			continue
		}
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(d.Kind)
		if d.Kind != Singleton {
			b.WriteString(":" + strconv.FormatInt(d.Job, 10))
		}
	}
	return b.String()
}

// ParseDependencies reads a list of dependencies: sbatch's syntax
// (afterok:12:13,afterany:14; "?" between them when any one suffices;
// singleton) and burst's short one (ok:12,any:14, notok:, started:).
// A bare job id is of kind bare: AfterOK for burst run --after,
// AfterAny for sbatch, as sbatch reads it.
func ParseDependencies(s string, bare string) (deps []Dependency, anyOf bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false, errors.New("no dependency given: e.g. afterok:12 (or ok:12)")
	}
	sep := ","
	if strings.Contains(s, "?") {
		if strings.Contains(s, ",") {
			return nil, false, fmt.Errorf("dependency %q mixes , (all of) and ? (any of): use one", s)
		}
		sep, anyOf = "?", true
	}
	for _, part := range strings.Split(s, sep) {
		fields := strings.Split(strings.TrimSpace(part), ":")
		kind, ids := bare, fields
		if _, err := strconv.ParseInt(fields[0], 10, 64); err != nil {
			kind, ids = dependencyKind(fields[0]), fields[1:]
			if kind == "" {
				return nil, false, fmt.Errorf("dependency %q: %q is not a kind: give afterok, afterany, afternotok, after or singleton (ok, any, notok, started)", s, fields[0])
			}
		}
		if kind == Singleton {
			if len(ids) > 0 {
				return nil, false, fmt.Errorf("dependency %q: singleton takes no job id", s)
			}
			deps = append(deps, Dependency{Kind: Singleton})
			continue
		}
		if len(ids) == 0 {
			return nil, false, fmt.Errorf("dependency %q: %s needs a job id, e.g. %s:12", s, kind, kind)
		}
		for _, f := range ids {
			// ID_* is the whole array, as squeue's %E and scontrol's
			// Dependency= write a dependency on one (Slurm reads it back).
			id, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(f), "_*"), 10, 64)
			if err != nil || id <= 0 {
				switch {
				case strings.Contains(f, "+"):
					return nil, false, fmt.Errorf("dependency %q: a delay (+MINUTES) is not supported: drop it", s)
				case strings.Contains(f, "_"):
					return nil, false, fmt.Errorf("dependency %q: %s names a task of an array: burst waits for whole jobs, give the array's id", s, f)
				}
				return nil, false, fmt.Errorf("dependency %q: %q is not a job id (a positive number)", s, f)
			}
			deps = append(deps, Dependency{Kind: kind, Job: id})
		}
	}
	if len(deps) > MaxDependencies {
		return nil, false, fmt.Errorf("%d dependencies; the limit is %d", len(deps), MaxDependencies)
	}
	return deps, anyOf, nil
}

func dependencyKind(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "afterok", "ok":
		return AfterOK
	case "afterany", "any":
		return AfterAny
	case "afternotok", "notok":
		return AfterNotOK
	case "after", "started":
		return AfterStart
	case "singleton":
		return Singleton
	}
	return ""
}

// validateAfter checks a spec's dependencies as the API receives them.
func (s *JobSpec) validateAfter() error {
	if len(s.After) > MaxDependencies {
		return fmt.Errorf("%d dependencies; the limit is %d", len(s.After), MaxDependencies)
	}
	for _, d := range s.After {
		switch {
		case dependencyKind(d.Kind) != d.Kind:
			return fmt.Errorf("dependency kind %q: give afterok, afterany, afternotok, after or singleton", quoteShort(d.Kind))
		case d.Kind == Singleton && d.Job != 0:
			return errors.New("a singleton dependency names no job")
		case d.Kind != Singleton && d.Job <= 0:
			return fmt.Errorf("dependency %s needs a job id", d.Kind)
		}
	}
	return nil
}
