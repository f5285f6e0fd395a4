package slurmface

import (
	"fmt"
	"time"

	"github.com/burst-sh/burst/internal/slurmtime"
)

// AcctWindow is the time window sacct searches (-S/--starttime,
// -E/--endtime) and whether its -s/--state selects by state within it.
type AcctWindow struct {
	From, To time.Time
	ByState  bool
	// Named says -j named the jobs: then (without -s) a job not yet
	// eligible to run is listed too.
	Named bool
}

// DefaultAcctWindow is sacct's window, as its manual's DEFAULT TIME WINDOW
// has it: without -j and -s, from midnight to now; with -j (and no -s),
// from the epoch to now; with -s and no -j, from now to now (only jobs in
// those states now); with both, from the epoch to now. A start or end
// given (in any of sacct's time formats, ParseAcctTime) replaces its
// default; with -s, -S alone ends the window where it starts.
func DefaultAcctWindow(now time.Time, start, end string, jobs, states bool) (AcctWindow, error) {
	w := AcctWindow{To: now, ByState: states, Named: jobs}
	switch {
	case jobs:
		w.From = time.Unix(0, 0)
	case states:
		w.From = now
	default:
		y, m, d := now.Date()
		w.From = time.Date(y, m, d, 0, 0, 0, 0, now.Location())
	}
	if start != "" {
		from, err := ParseAcctTime(start, now)
		if err != nil {
			return w, fmt.Errorf("-S %s: %v", start, err)
		}
		if !from.IsZero() { // only separators: the default stands
			w.From = from
		}
		if states {
			w.To = w.From // "--endtime defaults to --starttime"
		}
	}
	if end != "" {
		to, err := ParseAcctTime(end, now)
		if err != nil {
			return w, fmt.Errorf("-E %s: %v", end, err)
		}
		if !to.IsZero() {
			w.To = to
		}
	}
	if w.To.Before(w.From) {
		return w, fmt.Errorf("the start (-S %s) is after the end (-E %s): give a start before the end",
			w.From.Format(time.DateTime), w.To.Format(time.DateTime))
	}
	return w, nil
}

// Holds says whether sacct lists job j for the window: a job that was
// pending or running at some time in it (submitted by its end, not ended
// before its start). With -s, as slurmdbd selects by state: an ended job
// whose end falls in the window, a running one that ran in it, a pending
// one pending then. A job pending that is not yet eligible to run (held,
// or waiting on a dependency: Eligible Unknown) is listed only when -j
// names it and no -s is given, as slurmdbd, which selects pending jobs by
// their eligible time, lists it (checked with Slurm 22.05).
func (w AcctWindow) Holds(j Job) bool {
	if j.Eligible().IsZero() && (!w.Named || w.ByState) {
		return false
	}
	// In whole seconds, as slurmdbd records times and as -S and -E read:
	// a job that ended at 10:00:00.5 ended by "-E now" read at 10:00:00.9.
	submit, start, end := j.Submit.Truncate(time.Second), j.Start.Truncate(time.Second), j.End.Truncate(time.Second)
	if submit.After(w.To) {
		return false
	}
	ended := !end.IsZero()
	if !w.ByState {
		return !ended || !end.Before(w.From)
	}
	switch {
	case ended:
		return !end.Before(w.From) && !end.After(w.To)
	case !start.IsZero():
		return !start.After(w.To)
	}
	return true // pending now: pending through any window up to now
}

// ParseAcctTime reads a time as sacct's -S and -E take it: slurmtime.Parse
// looking into the past, as sacct calls Slurm's parse_time.
func ParseAcctTime(s string, now time.Time) (time.Time, error) {
	return slurmtime.Parse(s, now, true)
}
