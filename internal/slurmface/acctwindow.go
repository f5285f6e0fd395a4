package slurmface

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// AcctWindow is the time window sacct searches (-S/--starttime,
// -E/--endtime) and whether its -s/--state selects by state within it.
type AcctWindow struct {
	From, To time.Time
	ByState  bool
}

// DefaultAcctWindow is sacct's window, as its manual's DEFAULT TIME WINDOW
// has it: without -j and -s, from midnight to now; with -j (and no -s),
// from the epoch to now; with -s and no -j, from now to now (only jobs in
// those states now); with both, from the epoch to now. A start or end
// given (in any of sacct's time formats, ParseAcctTime) replaces its
// default; with -s, -S alone ends the window where it starts.
func DefaultAcctWindow(now time.Time, start, end string, jobs, states bool) (AcctWindow, error) {
	w := AcctWindow{To: now, ByState: states}
	switch {
	case jobs:
		w.From = time.Unix(0, 0)
	case states:
		w.From = now
	default:
		y, m, d := now.Date()
		w.From = time.Date(y, m, d, 0, 0, 0, 0, now.Location())
	}
	var err error
	if start != "" {
		if w.From, err = ParseAcctTime(start, now); err != nil {
			return w, fmt.Errorf("-S %s: %v", start, err)
		}
		if states {
			w.To = w.From // "--endtime defaults to --starttime"
		}
	}
	if end != "" {
		if w.To, err = ParseAcctTime(end, now); err != nil {
			return w, fmt.Errorf("-E %s: %v", end, err)
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
// one pending then.
func (w AcctWindow) Holds(j Job) bool {
	if j.Submit.After(w.To) {
		return false
	}
	ended := !j.End.IsZero()
	if !w.ByState {
		return !ended || !j.End.Before(w.From)
	}
	switch {
	case ended:
		return !j.End.Before(w.From) && !j.End.After(w.To)
	case !j.Start.IsZero():
		return !j.Start.After(w.To)
	}
	return true // pending now: pending through any window up to now
}

// ParseAcctTime reads a time as sacct's -S and -E take it: HH:MM[:SS]
// [AM|PM] (today), MMDD[YY][-HH:MM[:SS]], MM.DD[.YY][-HH:MM[:SS]],
// MM/DD[/YY][-HH:MM[:SS]], YYYY-MM-DD[THH:MM[:SS]], today, midnight, noon,
// elevenses (11:00), fika (15:00), teatime (16:00), now[{+|-}COUNT[seconds|minutes|hours|
// days|weeks]], in now's time zone. A date without a year is this year's,
// or last year's when its month is after now's (sacct looks back).
func ParseAcctTime(s string, now time.Time) (time.Time, error) {
	loc := now.Location()
	y, m, d := now.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	bad := fmt.Errorf("%q is not a time sacct reads: give e.g. 2026-12-04T10:00, 12/04, 10:00, midnight or now-2hours", s)
	l := strings.ToLower(strings.TrimSpace(s))
	switch l {
	case "today", "midnight":
		return day, nil
	case "elevenses":
		return day.Add(11 * time.Hour), nil
	case "noon":
		return day.Add(12 * time.Hour), nil
	case "fika":
		return day.Add(15 * time.Hour), nil
	case "teatime":
		return day.Add(16 * time.Hour), nil
	}
	if rest, ok := strings.CutPrefix(l, "now"); ok {
		if rest == "" {
			return now, nil
		}
		sign := time.Duration(1)
		switch rest[0] {
		case '-':
			sign = -1
		case '+':
		default:
			return time.Time{}, bad
		}
		rest = rest[1:]
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil {
			return time.Time{}, bad
		}
		unit := time.Second
		if u := rest[i:]; u != "" {
			found := false
			for _, c := range []struct {
				name string
				d    time.Duration
			}{{"seconds", time.Second}, {"minutes", time.Minute}, {"hours", time.Hour}, {"days", 24 * time.Hour}, {"weeks", 7 * 24 * time.Hour}} {
				if strings.HasPrefix(c.name, u) || u == strings.TrimSuffix(c.name, "s") {
					unit, found = c.d, true
					break
				}
			}
			if !found {
				return time.Time{}, bad
			}
		}
		if time.Duration(n) > math.MaxInt64/unit {
			// n units would wrap to some other time: say so.
			return time.Time{}, fmt.Errorf("%q is further from now than sacct counts (about 290 years): give a date, e.g. 1970-01-01", s)
		}
		return now.Add(sign * time.Duration(n) * unit), nil
	}
	// YYYY-MM-DD[THH:MM[:SS]]
	if len(l) >= 10 && l[4] == '-' && l[7] == '-' {
		date, clock, _ := strings.Cut(l, "t")
		t, err := time.ParseInLocation("2006-01-02", date, loc)
		if err != nil {
			return time.Time{}, bad
		}
		return addClock(t, clock, bad)
	}
	// a date with a clock after "-", or a clock alone
	date, clock, hasClock := strings.Cut(l, "-")
	if !hasClock && strings.Contains(l, ":") {
		return addClock(day, l, bad)
	}
	var mo, dd, yy string
	switch {
	case strings.ContainsAny(date, "./"):
		parts := strings.FieldsFunc(date, func(r rune) bool { return r == '.' || r == '/' })
		if len(parts) < 2 || len(parts) > 3 {
			return time.Time{}, bad
		}
		mo, dd = parts[0], parts[1]
		if len(parts) == 3 {
			yy = parts[2]
		}
	case len(date) == 4 || len(date) == 6:
		mo, dd, yy = date[:2], date[2:4], date[4:]
	default:
		return time.Time{}, bad
	}
	mi, err1 := strconv.Atoi(mo)
	di, err2 := strconv.Atoi(dd)
	yi := y
	if mi > int(m) {
		// No year: Slurm's parse_time, looking into the past as sacct
		// has it, takes a month after this one as last year's.
		yi--
	}
	var err3 error
	if yy != "" {
		yi, err3 = strconv.Atoi(yy)
		if yi < 100 {
			yi += 2000
		}
	}
	if err1 != nil || err2 != nil || err3 != nil || mi < 1 || mi > 12 || di < 1 || di > 31 {
		return time.Time{}, bad
	}
	return addClock(time.Date(yi, time.Month(mi), di, 0, 0, 0, 0, loc), clock, bad)
}

// addClock adds HH:MM[:SS][AM|PM] to the midnight day ("" adds nothing);
// on the 12-hour clock 12AM is midnight and 12PM noon.
func addClock(day time.Time, clock string, bad error) (time.Time, error) {
	if clock == "" {
		return day, nil
	}
	pm, am := strings.HasSuffix(clock, "pm"), strings.HasSuffix(clock, "am")
	if pm || am {
		clock = clock[:len(clock)-2]
	}
	parts := strings.Split(clock, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return time.Time{}, bad
	}
	var hms [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 59 || i == 0 && n > 23 {
			return time.Time{}, bad
		}
		hms[i] = n
	}
	switch {
	case pm && hms[0] < 12:
		hms[0] += 12
	case am && hms[0] == 12:
		hms[0] = 0
	}
	return day.Add(time.Duration(hms[0])*time.Hour + time.Duration(hms[1])*time.Minute + time.Duration(hms[2])*time.Second), nil
}
