package burst

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Dependency is a job another one waits for before it may start (burst run
// --after, sbatch --dependency), and what that job must do first.
type Dependency struct {
	Kind string `json:"kind"`          // AfterOK, AfterAny, AfterNotOK, AfterStart, AfterCorr, Singleton
	Job  int64  `json:"job,omitempty"` // the job waited for; 0 for Singleton
	// Task is the one task of job array (or map) Job waited for, by its
	// array index (sbatch's JOB_TASK: afterok:12_4); nil: the whole job.
	Task *int `json:"task,omitempty"`
	// Delay is sbatch's +MINUTES: for AfterStart, how long after the job
	// started (or ended without starting) it is met. Slurm reads it on
	// every kind and shows it, but waits only on after; so does burst
	// (on a whole job: not on one task, ID_INDEX).
	Delay int `json:"delay_min,omitempty"`
}

// Dependency kinds, named as sbatch names them.
const (
	AfterOK    = "afterok"    // the job succeeded
	AfterAny   = "afterany"   // the job ended, however
	AfterNotOK = "afternotok" // the job ended and did not succeed (failed, cancelled, timed out, lost)
	AfterStart = "after"      // the job started (or ended without starting)
	// AfterCorr gates each task of a map (a job array) on the task of the
	// same index of the job waited for: it may start once that one
	// succeeded. A task with no such task waits for the whole job to
	// succeed, as does a job of one task (Slurm 22.05 does both).
	AfterCorr = "aftercorr"
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
	case AfterOK, AfterCorr:
		return st == Succeeded, ended && st != Succeeded
	case AfterNotOK:
		return ended && st != Succeeded, st == Succeeded
	case AfterStart:
		return started || ended, false
	}
	return false, false
}

// Wants says, for people, what d waits for: "job 12 to succeed", "task
// 12_4 to end".
func (d Dependency) Wants() string {
	id := d.what()
	switch d.Kind {
	case AfterCorr:
		if d.Task != nil {
			return id + " to succeed"
		}
		return "the tasks of " + id + " to succeed, each task for the one of its index"
	case AfterOK:
		return id + " to succeed"
	case AfterNotOK:
		return id + " to fail"
	case AfterStart:
		if d.Delay > 0 {
			return fmt.Sprintf("%s to have started %s ago", id, Plural(d.Delay, "minute"))
		}
		return id + " to start"
	case Singleton:
		return "the jobs of the same name and user before it to end"
	}
	return id + " to end"
}

// what names what d waits on: "job 12", "task 12_4".
func (d Dependency) what() string {
	if d.Task != nil {
		return "task " + strconv.FormatInt(d.Job, 10) + "_" + strconv.Itoa(*d.Task)
	}
	return "job " + strconv.FormatInt(d.Job, 10)
}

// NeverMet says why d can never be met, its job (its task) having ended in
// st: "job 12 failed, which it needed to succeed"; of an aftercorr, for
// the task of index idx, "task 12_4 failed, which its task 4 needed to
// succeed" (idx < 0: the whole job). ParseNeverMet reads it back.
func (d Dependency) NeverMet(st State, idx int) string {
	word := string(st)
	switch st {
	case Cancelled, Lost:
		word = "was " + word
	case Timeout:
		word = "timed out"
	}
	if d.Kind == AfterCorr {
		who := "it"
		if idx >= 0 {
			who = "its task " + strconv.Itoa(idx)
		}
		return fmt.Sprintf("%s %s, which %s needed to succeed (aftercorr)", d.what(), word, who)
	}
	return fmt.Sprintf("%s %s, which it needed %s", d.what(), word, strings.TrimPrefix(d.Wants(), d.what()+" "))
}

// neverMet is compiled when first used, not at every start of the binary.
var neverMet = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?:job|task) ([0-9]+)(?:_([0-9]+))? (?:failed|succeeded|was cancelled|was lost|timed out), which (?:it|its task [0-9]+) needed to (succeed|fail)( \(aftercorr\))?`)
})

// ParseNeverMet finds in text (a job's or a task's reason) the
// dependencies NeverMet said can never be met.
func ParseNeverMet(text string) []Dependency {
	var out []Dependency
	for _, m := range neverMet().FindAllStringSubmatch(text, MaxDependencies) {
		id, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			continue
		}
		d := Dependency{Kind: AfterOK, Job: id}
		switch {
		case m[4] != "":
			d.Kind = AfterCorr // of the whole array, as Slurm shows it
		case m[3] == "fail":
			d.Kind = AfterNotOK
		}
		if m[2] != "" && d.Kind != AfterCorr {
			if k, err := strconv.Atoi(m[2]); err == nil {
				d.Task = &k
			}
		}
		out = append(out, d)
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
			b.WriteString(":" + d.Ref())
			continue
		}
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(d.Kind)
		if d.Kind != Singleton {
			b.WriteString(":" + d.Ref())
		}
	}
	return b.String()
}

// Ref is what d names in sbatch's syntax: 12, 12_4 (one task), with its
// delay: 12+5.
func (d Dependency) Ref() string {
	s := strconv.FormatInt(d.Job, 10)
	if d.Task != nil {
		s += "_" + strconv.Itoa(*d.Task)
	}
	if d.Delay > 0 {
		s += "+" + strconv.Itoa(d.Delay)
	}
	return s
}

// ParseDependencies reads a list of dependencies: sbatch's syntax
// (afterok:12:13,afterany:14; "?" between them when any one suffices;
// singleton; aftercorr:12; a task of an array, 12_4; a delay, 12+5) and
// burst's short one (ok:12,any:14, notok:, started:, corr:).
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
				return nil, false, fmt.Errorf("dependency %q: %q is not a kind: give afterok, afterany, afternotok, after, aftercorr or singleton (ok, any, notok, started, corr)", s, fields[0])
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
			d, err := parseRef(kind, strings.TrimSpace(f))
			if err != nil {
				return nil, false, fmt.Errorf("dependency %q: %w", s, err)
			}
			deps = append(deps, d)
		}
	}
	if len(deps) > MaxDependencies {
		return nil, false, fmt.Errorf("%d dependencies; the limit is %d", len(deps), MaxDependencies)
	}
	if anyOf && slices.ContainsFunc(deps, func(d Dependency) bool { return d.Kind == AfterCorr }) {
		return nil, false, fmt.Errorf("dependency %q: aftercorr gates each task on its own and cannot be one of several joined by ?: join them with , (all of)", s)
	}
	return deps, anyOf, nil
}

// parseRef reads one job a dependency of kind names: ID, ID_* (the whole
// array, as squeue's %E and scontrol's Dependency= write it, and Slurm
// reads it back), ID_INDEX (one task of an array), each with an optional
// +MINUTES.
func parseRef(kind, f string) (Dependency, error) {
	d := Dependency{Kind: kind}
	ref, delay, hasDelay := strings.Cut(f, "+")
	if hasDelay {
		n, err := strconv.Atoi(delay)
		if err != nil || n < 0 || n > maxDelayMin {
			return d, fmt.Errorf("%q: a delay is +MINUTES, 0 to %d, e.g. %s+5", f, maxDelayMin, ref)
		}
		d.Delay = n
	}
	ref = strings.TrimSuffix(ref, "_*")
	job, task, hasTask := strings.Cut(ref, "_")
	id, err := strconv.ParseInt(job, 10, 64)
	if err != nil || id <= 0 {
		return d, fmt.Errorf("%q is not a job id (a positive number, or ID_INDEX for a task of an array)", f)
	}
	d.Job = id
	if hasTask {
		k, err := strconv.Atoi(task)
		if err != nil || k < 0 {
			return d, fmt.Errorf("%q: a task of an array is ID_INDEX with an index of 0 or more, e.g. %d_0 (ID_* is the whole array)", f, id)
		}
		d.Task = &k
		if kind == AfterStart && d.Delay > 0 {
			return d, fmt.Errorf("%q: burst delays after: by +MINUTES on a whole job, not on one task of an array: give %d+%d (the array's start), or drop +%d", f, id, d.Delay, d.Delay)
		}
	}
	return d, nil
}

// maxDelayMin bounds a dependency's +MINUTES: a year.
const maxDelayMin = 366 * 24 * 60

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
	case "aftercorr", "corr":
		return AfterCorr
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
			return fmt.Errorf("dependency kind %q: give afterok, afterany, afternotok, after, aftercorr or singleton", quoteShort(d.Kind))
		case d.Kind == Singleton && d.Job != 0:
			return errors.New("a singleton dependency names no job")
		case d.Kind != Singleton && d.Job <= 0:
			return fmt.Errorf("dependency %s needs a job id", d.Kind)
		case d.Task != nil && *d.Task < 0:
			return fmt.Errorf("dependency %s: task index %d: give 0 or more", d.Kind, *d.Task)
		case d.Delay < 0 || d.Delay > maxDelayMin:
			return fmt.Errorf("dependency %s: delay %d minutes: give 0 to %d", d.Kind, d.Delay, maxDelayMin)
		}
	}
	if s.AfterAnyOf && slices.ContainsFunc(s.After, func(d Dependency) bool { return d.Kind == AfterCorr }) {
		return errors.New("aftercorr cannot be one of several dependencies of which any suffices: give all of them (AfterAnyOf false)")
	}
	return nil
}
