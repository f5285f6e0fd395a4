// Package slurmtime reads times as Slurm's commands do (its parse_time):
// sacct's -S and -E looking into the past, sbatch's --begin into the
// future. It is pure: the clock is passed in.
package slurmtime

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Parse reads a time by the grammar of Slurm's parse_time: a
// string of parts, separated by blanks, '-' or 'T', each one of
//
//	today, tomorrow                 the date
//	midnight, noon, elevenses (11:00), fika (15:00), teatime (16:00)
//	HH:MM[:SS] [AM|PM]              the time of day
//	MMDD[YY], MM/DD[/YY], MM.DD[.YY], YYYY-MM-DD
//	now[{+|-}COUNT[seconds|minutes|hours|days|weeks]] (or the singular;
//	                                only first: "today now" is refused)
//
// so "2026-12-04T10:00", "12/04-10:00", "noon tomorrow" and "10:00 PM"
// all read, as does "uts" and a Unix time of at least 1000000. Words are
// case-blind; a capital T is always a separator, as it is in Slurm. A
// date without a time is its midnight. Looking into the past (past: as
// sacct's -S and -E), a time without a date is today's, and a date
// without a year is this year's, or last year's when its month is after
// now's. Looking into the future (sbatch --begin), a time without a date
// is today's if its hour and minute are after now's, else tomorrow's; a
// date without a year is this year's if it (with its hour and minute) is
// after now, else next year's. Out-of-range days roll over as mktime(3)
// rolls them (02/30 is March 2); a two-digit year 00 is read as none
// given (12/04/00 is this year's or a neighbour's, not 2000's). Nothing but separators (e.g. "T") gives
// the zero time: the caller's default, as sacct has it. All in now's
// time zone.
func Parse(s string, now time.Time, past bool) (time.Time, error) {
	loc := now.Location()
	reader, eg := "sbatch --begin", beginExamples
	if past {
		reader, eg = "sacct", "2026-12-04T10:00, 12/04, 10:00, midnight or now-2hours"
	}
	bad := fmt.Errorf("%q is not a time %s reads: give e.g. %s", s, reader, eg)
	if len(s) >= 3 && strings.EqualFold(s[:3], "uts") {
		n, err := strconv.ParseInt(s[3:], 10, 64)
		if err != nil || n < 1000000 {
			return time.Time{}, bad
		}
		return time.Unix(n, 0).In(loc), nil
	}
	hour, minute, second := -1, 0, 0
	month, mday, year := -1, 0, -1 // month 1-12; year -1: none given
	setDay := func(t time.Time) {
		var m time.Month
		year, m, mday = t.Date()
		month = int(m)
	}
	word := func(pos int, w string) bool {
		return len(s)-pos >= len(w) && strings.EqualFold(s[pos:pos+len(w)], w)
	}
	for pos := 0; pos < len(s); pos++ {
		c := s[pos]
		if c == ' ' || c == '\t' || c == '-' || c == 'T' {
			continue
		}
		if w, d, ok := dayWord(s, pos, word); ok {
			setDay(now.AddDate(0, 0, d))
			pos += len(w) - 1
			continue
		}
		if w, h, ok := clockWord(pos, word); ok {
			hour, minute, second = h, 0, 0
			pos += len(w) - 1
			continue
		}
		if pos == 0 && word(pos, "now") { // elsewhere refused, as sacct refuses "today now"
			end, delta, err := nowOffset(s, pos+3)
			if err != nil {
				if errors.Is(err, errFar) {
					return time.Time{}, fmt.Errorf("%q is further from now than %s counts (about 290 years): give a date, e.g. 1970-01-01", s, reader)
				}
				return time.Time{}, bad
			}
			t := now.Add(delta)
			setDay(t)
			hour, minute, second = t.Clock()
			pos = end - 1
			continue
		}
		if c < '0' || c > '9' {
			return time.Time{}, bad
		}
		var end int
		var ok bool
		if pos+1 < len(s) && s[pos+1] == ':' || pos+2 < len(s) && s[pos+2] == ':' {
			end, hour, minute, second, ok = clockAt(s, pos)
		} else {
			end, year, month, mday, ok = dateAt(s, pos)
		}
		if !ok {
			return time.Time{}, bad
		}
		pos = end - 1
	}
	switch {
	case hour == -1 && month == -1:
		return time.Time{}, nil
	case hour == -1:
		hour = 0
	case month == -1:
		setDay(now) // looking into the past: today, not the last such time
		if !past && !clockAfter(hour, minute, now) {
			setDay(now.AddDate(0, 0, 1)) // looking ahead: its next such time
		}
	}
	if year == -1 {
		year = now.Year()
		_, nm, nd := now.Date()
		after := month > int(nm) || month == int(nm) && (mday > nd || mday == nd && clockAfter(hour, minute, now))
		switch {
		case past && month > int(nm):
			year-- // a month after this one is last year's
		case !past && !after:
			year++ // looking ahead: a date not after now is next year's
		}
	}
	return time.Date(year, time.Month(month), mday, hour, minute, second, 0, loc), nil
}

// Begin reads a time as sbatch --begin does: Parse looking ahead from now.
// A value of separators alone, which reads as no time, is refused as
// sbatch refuses it.
func Begin(v string, now time.Time) (time.Time, error) {
	t, err := Parse(v, now, false)
	if err == nil && t.IsZero() {
		err = fmt.Errorf("%q is not a time sbatch --begin reads: give e.g. %s", v, beginExamples)
	}
	return t, err
}

// beginExamples are times --begin reads, for messages.
const beginExamples = "now+1hour, 16:00, tomorrow or 2026-12-05T10:00"

// clockAfter says whether hour:minute is after now's, as parse_time
// compares them (seconds do not count).
func clockAfter(hour, minute int, now time.Time) bool {
	h, m, _ := now.Clock()
	return hour > h || hour == h && minute > m
}

// errFar is a now±COUNT past what a time.Duration holds.
var errFar = errors.New("too far")

// dayWord matches today or tomorrow at pos: the word and its day's offset.
func dayWord(s string, pos int, word func(int, string) bool) (string, int, bool) {
	for _, w := range []struct {
		name string
		d    int
	}{{"today", 0}, {"tomorrow", 1}} {
		if word(pos, w.name) {
			return w.name, w.d, true
		}
	}
	return "", 0, false
}

// clockWord matches a named time of day at pos: the word and its hour.
func clockWord(pos int, word func(int, string) bool) (string, int, bool) {
	for _, w := range []struct {
		name string
		h    int
	}{{"midnight", 0}, {"noon", 12}, {"elevenses", 11}, {"fika", 15}, {"teatime", 16}} {
		if word(pos, w.name) {
			return w.name, w.h, true
		}
	}
	return "", 0, false
}

// nowOffset reads what follows "now" from pos: nothing (blanks), or a sign,
// digits and an optional unit (blanks allowed between). It returns where
// it stopped and the offset.
func nowOffset(s string, pos int) (int, time.Duration, error) {
	for pos < len(s) && (s[pos] == ' ' || s[pos] == '\t') {
		pos++
	}
	if pos == len(s) {
		return pos, 0, nil
	}
	sign := time.Duration(1)
	switch s[pos] {
	case '-':
		sign = -1
	case '+':
	default:
		return pos, 0, errors.New("no sign")
	}
	pos++
	n, digits, unit := int64(0), 0, time.Second
	units := []struct {
		name string
		d    time.Duration
	}{{"seconds", time.Second}, {"second", time.Second}, {"minutes", time.Minute}, {"minute", time.Minute},
		{"hours", time.Hour}, {"hour", time.Hour}, {"days", 24 * time.Hour}, {"day", 24 * time.Hour},
		{"weeks", 7 * 24 * time.Hour}, {"week", 7 * 24 * time.Hour}}
scan:
	for pos < len(s) {
		c := s[pos]
		switch {
		case c == ' ' || c == '\t':
			pos++
		case c >= '0' && c <= '9':
			if n > (math.MaxInt64-9)/10 {
				return pos, 0, errFar
			}
			n = n*10 + int64(c-'0')
			digits++
			pos++
		default:
			for _, u := range units {
				if len(s)-pos >= len(u.name) && strings.EqualFold(s[pos:pos+len(u.name)], u.name) {
					unit = u.d
					pos += len(u.name)
					break scan
				}
			}
			return pos, 0, errors.New("not a unit")
		}
	}
	if digits == 0 {
		return pos, 0, errors.New("no count")
	}
	if time.Duration(n) > math.MaxInt64/unit {
		return pos, 0, errFar // n units would wrap to some other time
	}
	return pos, sign * time.Duration(n) * unit, nil
}

// digitsAt reads between min and max decimal digits at pos.
func digitsAt(s string, pos, min, max int) (int, int, bool) {
	v, k := 0, 0
	for k < max && pos+k < len(s) && s[pos+k] >= '0' && s[pos+k] <= '9' {
		v = v*10 + int(s[pos+k]-'0')
		k++
	}
	return pos + k, v, k >= min
}

// clockAt reads HH:MM[:SS] [AM|PM] at pos (an hour of one or two digits,
// minutes and seconds of two): where it stopped and the time of day. On
// the 12-hour clock 12AM is midnight and 12PM noon; 13:00PM is refused.
func clockAt(s string, pos int) (end, h, m, sec int, ok bool) {
	var okH, okM bool
	if end, h, okH = digitsAt(s, pos, 1, 2); !okH || h > 23 || end >= len(s) || s[end] != ':' {
		return 0, 0, 0, 0, false
	}
	if end, m, okM = digitsAt(s, end+1, 2, 2); !okM || m > 59 {
		return 0, 0, 0, 0, false
	}
	if end < len(s) && s[end] == ':' {
		var okS bool
		if end, sec, okS = digitsAt(s, end+1, 2, 2); !okS || sec > 59 {
			return 0, 0, 0, 0, false
		}
	}
	k := end
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	switch {
	case len(s)-k >= 2 && strings.EqualFold(s[k:k+2], "pm"):
		if h += 12; h == 24 {
			h = 12
		} else if h > 23 {
			return 0, 0, 0, 0, false
		}
		end = k + 2
	case len(s)-k >= 2 && strings.EqualFold(s[k:k+2], "am"):
		if h == 12 {
			h = 0
		} else if h > 11 {
			return 0, 0, 0, 0, false
		}
		end = k + 2
	}
	return end, h, m, sec, true
}

// dateAt reads YYYY-MM-DD, or MM[./]DD[./][YY], at pos: where it stopped,
// the year (-1 when none was given), month and day.
func dateAt(s string, pos int) (end, y, mo, d int, ok bool) {
	if len(s)-pos >= 8 && s[pos+4] == '-' && s[pos+7] == '-' {
		var okY, okM, okD bool
		end, y, okY = digitsAt(s, pos, 4, 4)
		end, mo, okM = digitsAt(s, end+1, 1, 2)
		end, d, okD = digitsAt(s, end+1, 1, 2)
		if !okY || !okM || !okD || mo < 1 || mo > 12 || d < 1 || d > 31 {
			return 0, 0, 0, 0, false
		}
		return end, y, mo, d, true
	}
	var okM, okD bool
	if end, mo, okM = digitsAt(s, pos, 1, 2); !okM || mo < 1 || mo > 12 {
		return 0, 0, 0, 0, false
	}
	if end < len(s) && (s[end] == '.' || s[end] == '/') {
		end++
	}
	if end, d, okD = digitsAt(s, end, 1, 2); !okD || d < 1 || d > 31 {
		return 0, 0, 0, 0, false
	}
	if end < len(s) && (s[end] == '.' || s[end] == '/') {
		end++
	}
	y = -1
	if end < len(s) && s[end] >= '0' && s[end] <= '9' {
		var okY bool
		if end, y, okY = digitsAt(s, end, 2, 2); !okY {
			return 0, 0, 0, 0, false
		}
		if y == 0 {
			y = -1 // 00: as if none were given, as parse_time reads it
		} else {
			y += 2000
		}
	}
	return end, y, mo, d, true
}
