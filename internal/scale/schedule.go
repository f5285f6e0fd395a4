package scale

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Schedule is a weekly on/off switch for a cluster: at each off point the
// cluster's machines are stopped and none start; at each on point it works
// normally again. The zero Schedule means always on.
//
// Switch points are wall-clock times in the location of the time they are
// asked about, so "Mon 08:00" stays 08:00 across daylight-saving changes.
type Schedule struct {
	entries []entry // canonical, without duplicates, in the order given (offs first)
	points  []point // entries expanded to single days, sorted by time in the week
}

// entry is one --off or --on value in canonical form.
type entry struct {
	on   bool
	days string // "Mon".."Sun", "daily", "weekdays" or "weekends"
	mins int    // minute of the day, 0..1439
}

func (e entry) String() string {
	return fmt.Sprintf("%s %02d:%02d", e.days, e.mins/60, e.mins%60)
}

// point is one switch on one day of the week.
type point struct {
	day  time.Weekday
	mins int
	on   bool
}

// weekMin is the point's minute in a week that starts on Monday.
func (p point) weekMin() int { return weekMinute(p.day, p.mins) }

func weekMinute(d time.Weekday, mins int) int { return (int(d)+6)%7*24*60 + mins }

var dayNames = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// dayGroups maps the canonical day names to the weekdays they cover.
var dayGroups = map[string][]time.Weekday{
	"daily":    {time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday},
	"weekdays": {time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
	"weekends": {time.Saturday, time.Sunday},
}

// parseDays returns the canonical name of a day word, case-insensitively:
// a weekday as three letters or in full, daily, weekdays or weekends.
func parseDays(s string) (string, bool) {
	l := strings.ToLower(s)
	for i, name := range dayNames {
		if l == strings.ToLower(name) || l == strings.ToLower(time.Weekday(i).String()) {
			return name, true
		}
	}
	switch l {
	case "daily", "everyday":
		return "daily", true
	case "weekdays", "weekday":
		return "weekdays", true
	case "weekends", "weekend":
		return "weekends", true
	}
	return "", false
}

// weekdays lists the days a canonical day name covers.
func weekdays(days string) []time.Weekday {
	if g, ok := dayGroups[days]; ok {
		return g
	}
	return []time.Weekday{time.Weekday(slices.Index(dayNames, days))}
}

// ParseSchedule parses the values of --off and --on. Each value is a day and a
// 24-hour time: "Fri 18:00", "fri 18:00", "Friday 18:00", "daily 18:00",
// "weekdays 08:00" (Monday to Friday) or "weekends 10:00". Empty values are
// ignored. No values at all give the zero Schedule (always on); values for
// only one of the two flags are an error, as is one minute of the week that
// is both an off and an on point. Errors name the value and the fix.
func ParseSchedule(off, on []string) (Schedule, error) {
	off, on = nonEmpty(off), nonEmpty(on)
	switch {
	case len(off) == 0 && len(on) == 0:
		return Schedule{}, nil
	case len(on) == 0:
		return Schedule{}, fmt.Errorf("--off %q needs an --on time too, or the cluster never comes back, e.g. --off 'Fri 18:00' --on 'Mon 08:00'", off[0])
	case len(off) == 0:
		return Schedule{}, fmt.Errorf("--on %q needs an --off time too, e.g. --off 'Fri 18:00' --on 'Mon 08:00'", on[0])
	}
	var s Schedule
	seen := map[entry]bool{}
	raw := map[int]string{} // week minute -> the value that put a point there
	state := map[int]bool{} // week minute -> on
	for _, flag := range []struct {
		on     bool
		values []string
	}{{false, off}, {true, on}} {
		for _, v := range flag.values {
			e, err := parseEntry(flag.on, v)
			if err != nil {
				return Schedule{}, err
			}
			if seen[e] {
				continue
			}
			seen[e] = true
			s.entries = append(s.entries, e)
			for _, d := range weekdays(e.days) {
				p := point{day: d, mins: e.mins, on: e.on}
				w := p.weekMin()
				if prev, ok := state[w]; ok {
					if prev != p.on {
						return Schedule{}, fmt.Errorf("%s %q and %s %q both switch at %s %02d:%02d: pick one",
							flagName(prev), raw[w], flagName(p.on), v, dayNames[d], e.mins/60, e.mins%60)
					}
					continue
				}
				state[w], raw[w] = p.on, v
				s.points = append(s.points, p)
			}
		}
	}
	slices.SortFunc(s.points, func(a, b point) int { return cmp.Compare(a.weekMin(), b.weekMin()) })
	return s, nil
}

func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}

func flagName(on bool) string {
	if on {
		return "--on"
	}
	return "--off"
}

func parseEntry(on bool, v string) (entry, error) {
	flag, example := "--off", "Fri 18:00"
	if on {
		flag, example = "--on", "Mon 08:00"
	}
	fail := func(what string) error {
		return fmt.Errorf("%s %q: %s, e.g. %s '%s'", flag, v, what, flag, example)
	}
	f := strings.Fields(v)
	if len(f) == 1 && strings.Contains(f[0], ":") {
		return entry{}, fmt.Errorf("%s %q: give a day too, e.g. %s 'daily %s' or %s '%s'", flag, v, flag, f[0], flag, example)
	}
	if len(f) != 2 {
		return entry{}, fail("want a day and a 24-hour time")
	}
	days, ok := parseDays(f[0])
	if !ok {
		return entry{}, fail("the day must be Mon..Sun, daily, weekdays or weekends")
	}
	hs, ms, ok := strings.Cut(f[1], ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 || !digits(hs) || !digits(ms) {
		return entry{}, fail("the time must be 24-hour HH:MM")
	}
	h, _ := strconv.Atoi(hs)
	m, _ := strconv.Atoi(ms)
	if h > 23 {
		return entry{}, fail("the hour must be 00..23")
	}
	if m > 59 {
		return entry{}, fail("the minute must be 00..59")
	}
	return entry{on: on, days: days, mins: h*60 + m}, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// IsZero reports whether s is the zero Schedule: always on.
func (s Schedule) IsZero() bool { return len(s.points) == 0 }

// Spec returns the canonical --off and --on values of s, which ParseSchedule
// accepts and turns back into the same Schedule; use it to store a schedule.
// The zero Schedule gives nil, nil.
func (s Schedule) Spec() (off, on []string) {
	for _, e := range s.entries {
		if e.on {
			on = append(on, e.String())
		} else {
			off = append(off, e.String())
		}
	}
	return off, on
}

// String describes s for people: "off Fri 18:00, on Mon 08:00", with several
// values of one kind joined by "and"; the zero Schedule is "always on".
func (s Schedule) String() string {
	if s.IsZero() {
		return "always on"
	}
	off, on := s.Spec()
	return "off " + strings.Join(off, " and ") + ", on " + strings.Join(on, " and ")
}

// occurrence is one switch point at one instant.
type occurrence struct {
	at   time.Time
	wall int // minutes from midnight of the day asked about, for ties
	on   bool
}

// later orders occurrences by instant and, for one instant (two wall-clock
// times inside one daylight-saving gap), by wall-clock time: the later point
// in the week decides the state.
func later(a, b occurrence) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	return cmp.Compare(a.wall, b.wall)
}

// occurrences lists the switch points on the days from `from` to `to` days
// after t's date (negative: before), in t's location.
func (s Schedule) occurrences(t time.Time, from, to int) []occurrence {
	loc := t.Location()
	y, m, d := t.Date()
	var out []occurrence
	for off := from; off <= to; off++ {
		day := time.Date(y, m, d+off, 0, 0, 0, 0, time.UTC) // calendar arithmetic only
		for _, p := range s.points {
			if p.day != day.Weekday() {
				continue
			}
			out = append(out, occurrence{
				at:   wallTime(day.Year(), day.Month(), day.Day(), p.mins, loc),
				wall: off*24*60 + p.mins,
				on:   p.on,
			})
		}
	}
	return out
}

// wallTime is the instant the wall clock in loc reaches the given minute of
// the given day. A time skipped by a daylight-saving jump is reached when the
// clock jumps past it; a time that happens twice is reached once, at the
// instant time.Date picks.
func wallTime(y int, m time.Month, d, mins int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, mins/60, mins%60, 0, 0, loc)
	want := time.Date(y, m, d, mins/60, mins%60, 0, 0, time.UTC)
	got := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
	switch c := got.Compare(want); {
	case c > 0: // moved forward past the gap: the switch is when the gap ends
		if start, _ := t.ZoneBounds(); !start.IsZero() && start.Before(t) {
			return start
		}
	case c < 0: // moved back before the gap: the switch is when the gap ends
		if _, end := t.ZoneBounds(); !end.IsZero() && end.After(t) {
			return end
		}
	}
	return t
}

// On reports whether the cluster should be on at t, reading the switch
// points as wall-clock times in t's location: the last switch point at or
// before t decides, wrapping around the week. The zero Schedule is always on.
func (s Schedule) On(t time.Time) bool {
	if s.IsZero() {
		return true
	}
	var best occurrence
	found := false
	for _, o := range s.occurrences(t, -8, 0) {
		if o.at.After(t) {
			continue
		}
		if !found || later(o, best) > 0 {
			best, found = o, true
		}
	}
	return !found || best.on // found always holds: every point recurs within 8 days
}

// Next returns the first instant after t at which the schedule's state
// changes, and the state it changes to. Switch points that repeat the
// current state ("off Fri 18:00 and Sat 18:00") are passed over. ok is false
// for the zero Schedule.
func (s Schedule) Next(t time.Time) (at time.Time, on bool, ok bool) {
	if s.IsZero() {
		return time.Time{}, false, false
	}
	cur := s.On(t)
	occ := s.occurrences(t, 0, 15)
	slices.SortFunc(occ, later)
	for i, o := range occ {
		if !o.at.After(t) {
			continue
		}
		if i+1 < len(occ) && occ[i+1].at.Equal(o.at) {
			continue // the later wall-clock point at this instant decides
		}
		if o.on != cur {
			return o.at, o.on, true
		}
	}
	return time.Time{}, false, false // unreachable: both states occur every week
}

// Status describes the state at t for people: "off until Mon 08:00",
// "on until Fri 18:00", or "always on" for the zero Schedule. The time is
// shown in t's location.
func (s Schedule) Status(t time.Time) string {
	at, on, ok := s.Next(t)
	if !ok {
		return "always on"
	}
	state := "off"
	if !on {
		state = "on"
	}
	return state + " until " + at.In(t.Location()).Format("Mon 15:04")
}
