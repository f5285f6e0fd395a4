package scale

import (
	"slices"
	"testing"
	"time"
)

func mustParse(t *testing.T, off, on []string) Schedule {
	t.Helper()
	s, err := ParseSchedule(off, on)
	if err != nil {
		t.Fatalf("ParseSchedule(%q, %q): %v", off, on, err)
	}
	return s
}

func TestParseScheduleGood(t *testing.T) {
	for _, tc := range []struct {
		off, on         []string
		str             string
		specOff, specOn []string
	}{
		{nil, nil, "always on", nil, nil},
		{[]string{""}, []string{" "}, "always on", nil, nil},
		{[]string{"Fri 18:00"}, []string{"Mon 08:00"}, "off Fri 18:00, on Mon 08:00",
			[]string{"Fri 18:00"}, []string{"Mon 08:00"}},
		{[]string{"fri 18:00"}, []string{"MONDAY 8:00"}, "off Fri 18:00, on Mon 08:00",
			[]string{"Fri 18:00"}, []string{"Mon 08:00"}},
		{[]string{"Friday  18:00"}, []string{"monday 08:00"}, "off Fri 18:00, on Mon 08:00",
			[]string{"Fri 18:00"}, []string{"Mon 08:00"}},
		{[]string{"daily 18:00"}, []string{"weekdays 08:00"}, "off daily 18:00, on weekdays 08:00",
			[]string{"daily 18:00"}, []string{"weekdays 08:00"}},
		{[]string{"Weekdays 19:30", "Sat 00:00"}, []string{"Weekends 10:00", "mon 07:05"},
			"off weekdays 19:30 and Sat 00:00, on weekends 10:00 and Mon 07:05",
			[]string{"weekdays 19:30", "Sat 00:00"}, []string{"weekends 10:00", "Mon 07:05"}},
		{[]string{"Fri 18:00", "friday 18:00"}, []string{"Mon 08:00"}, "off Fri 18:00, on Mon 08:00",
			[]string{"Fri 18:00"}, []string{"Mon 08:00"}},
		{[]string{"Sun 23:59"}, []string{"sun 00:00"}, "off Sun 23:59, on Sun 00:00",
			[]string{"Sun 23:59"}, []string{"Sun 00:00"}},
	} {
		s := mustParse(t, tc.off, tc.on)
		if got := s.String(); got != tc.str {
			t.Errorf("ParseSchedule(%q, %q).String() = %q, want %q", tc.off, tc.on, got, tc.str)
		}
		off, on := s.Spec()
		if !slices.Equal(off, tc.specOff) || !slices.Equal(on, tc.specOn) {
			t.Errorf("ParseSchedule(%q, %q).Spec() = %q, %q, want %q, %q", tc.off, tc.on, off, on, tc.specOff, tc.specOn)
		}
		if s.IsZero() != (tc.str == "always on") {
			t.Errorf("ParseSchedule(%q, %q).IsZero() = %v", tc.off, tc.on, s.IsZero())
		}
	}
}

func TestParseScheduleBad(t *testing.T) {
	for _, tc := range []struct {
		off, on []string
		want    string
	}{
		{[]string{"Fry 18:00"}, []string{"Mon 08:00"},
			`--off "Fry 18:00": the day must be Mon..Sun, daily, weekdays or weekends, e.g. --off 'Fri 18:00'`},
		{[]string{"Fri 18:00"}, []string{"Mo 08:00"},
			`--on "Mo 08:00": the day must be Mon..Sun, daily, weekdays or weekends, e.g. --on 'Mon 08:00'`},
		{[]string{"Fri 24:00"}, []string{"Mon 08:00"},
			`--off "Fri 24:00": the hour must be 00..23, e.g. --off 'Fri 18:00'`},
		{[]string{"Fri 18:60"}, []string{"Mon 08:00"},
			`--off "Fri 18:60": the minute must be 00..59, e.g. --off 'Fri 18:00'`},
		{[]string{"Fri 6pm"}, []string{"Mon 08:00"},
			`--off "Fri 6pm": the time must be 24-hour HH:MM, e.g. --off 'Fri 18:00'`},
		{[]string{"Fri 18:0"}, []string{"Mon 08:00"},
			`--off "Fri 18:0": the time must be 24-hour HH:MM, e.g. --off 'Fri 18:00'`},
		{[]string{"Fri 18:00:00"}, []string{"Mon 08:00"},
			`--off "Fri 18:00:00": the time must be 24-hour HH:MM, e.g. --off 'Fri 18:00'`},
		{[]string{"Fri 018:00"}, []string{"Mon 08:00"},
			`--off "Fri 018:00": the time must be 24-hour HH:MM, e.g. --off 'Fri 18:00'`},
		{[]string{"Fri -1:00"}, []string{"Mon 08:00"},
			`--off "Fri -1:00": the time must be 24-hour HH:MM, e.g. --off 'Fri 18:00'`},
		{[]string{"Fri"}, []string{"Mon 08:00"},
			`--off "Fri": want a day and a 24-hour time, e.g. --off 'Fri 18:00'`},
		{[]string{"Fri 18:00 CET"}, []string{"Mon 08:00"},
			`--off "Fri 18:00 CET": want a day and a 24-hour time, e.g. --off 'Fri 18:00'`},
		{[]string{"18:00"}, []string{"Mon 08:00"},
			`--off "18:00": give a day too, e.g. --off 'daily 18:00' or --off 'Fri 18:00'`},
		{[]string{"Fri 18:00"}, nil,
			`--off "Fri 18:00" needs an --on time too, or the cluster never comes back, e.g. --off 'Fri 18:00' --on 'Mon 08:00'`},
		{nil, []string{"Mon 08:00"},
			`--on "Mon 08:00" needs an --off time too, e.g. --off 'Fri 18:00' --on 'Mon 08:00'`},
		{[]string{"daily 08:00"}, []string{"Mon 08:00"},
			`--off "daily 08:00" and --on "Mon 08:00" both switch at Mon 08:00: pick one`},
	} {
		_, err := ParseSchedule(tc.off, tc.on)
		if err == nil {
			t.Errorf("ParseSchedule(%q, %q): no error, want %q", tc.off, tc.on, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("ParseSchedule(%q, %q):\n got %q\nwant %q", tc.off, tc.on, err, tc.want)
		}
	}
}

// Monday 5 January 2026 is the start of the test week.
func at(loc *time.Location, day, hour, min int) time.Time {
	return time.Date(2026, time.January, 5+day, hour, min, 0, 0, loc)
}

func TestOnAcrossTheWeek(t *testing.T) {
	s := mustParse(t, []string{"Fri 18:00"}, []string{"Mon 08:00"})
	for _, tc := range []struct {
		name string
		t    time.Time
		want bool
	}{
		{"Mon 00:00", at(time.UTC, 0, 0, 0), false},
		{"Mon 07:59", at(time.UTC, 0, 7, 59), false},
		{"Mon 07:59:59", at(time.UTC, 0, 7, 59).Add(59 * time.Second), false},
		{"Mon 08:00", at(time.UTC, 0, 8, 0), true},
		{"Wed 12:00", at(time.UTC, 2, 12, 0), true},
		{"Fri 17:59", at(time.UTC, 4, 17, 59), true},
		{"Fri 18:00", at(time.UTC, 4, 18, 0), false},
		{"Sat 12:00", at(time.UTC, 5, 12, 0), false},
		{"Sun 23:59", at(time.UTC, 6, 23, 59), false},
		{"next Mon 07:59", at(time.UTC, 7, 7, 59), false},
		{"next Mon 08:00", at(time.UTC, 7, 8, 0), true},
	} {
		if got := s.On(tc.t); got != tc.want {
			t.Errorf("On(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !(Schedule{}).On(at(time.UTC, 5, 12, 0)) {
		t.Error("zero Schedule: On = false, want always on")
	}
}

func TestNextAcrossTheWeek(t *testing.T) {
	s := mustParse(t, []string{"Fri 18:00"}, []string{"Mon 08:00"})
	for _, tc := range []struct {
		name   string
		t      time.Time
		want   time.Time
		wantOn bool
		status string
	}{
		{"Wed", at(time.UTC, 2, 12, 0), at(time.UTC, 4, 18, 0), false, "on until Fri 18:00"},
		{"Fri 18:00 exactly", at(time.UTC, 4, 18, 0), at(time.UTC, 7, 8, 0), true, "off until Mon 08:00"},
		{"Sat noon", at(time.UTC, 5, 12, 0), at(time.UTC, 7, 8, 0), true, "off until Mon 08:00"},
		{"Mon 07:59", at(time.UTC, 0, 7, 59), at(time.UTC, 0, 8, 0), true, "off until Mon 08:00"},
		{"Mon 08:00 exactly", at(time.UTC, 0, 8, 0), at(time.UTC, 4, 18, 0), false, "on until Fri 18:00"},
		{"Sun (wraps)", at(time.UTC, 6, 20, 0), at(time.UTC, 7, 8, 0), true, "off until Mon 08:00"},
	} {
		got, on, ok := s.Next(tc.t)
		if !ok || !got.Equal(tc.want) || on != tc.wantOn {
			t.Errorf("Next(%s) = %v, %v, %v; want %v, %v, true", tc.name, got, on, ok, tc.want, tc.wantOn)
		}
		if st := s.Status(tc.t); st != tc.status {
			t.Errorf("Status(%s) = %q, want %q", tc.name, st, tc.status)
		}
	}
	if _, _, ok := (Schedule{}).Next(at(time.UTC, 0, 0, 0)); ok {
		t.Error("zero Schedule: Next ok = true, want false")
	}
	if st := (Schedule{}).Status(at(time.UTC, 0, 0, 0)); st != "always on" {
		t.Errorf("zero Schedule: Status = %q", st)
	}
}

func TestNextSkipsRepeatedState(t *testing.T) {
	s := mustParse(t, []string{"Fri 18:00", "Sat 18:00"}, []string{"Mon 08:00"})
	got, on, ok := s.Next(at(time.UTC, 4, 19, 0))
	if !ok || !on || !got.Equal(at(time.UTC, 7, 8, 0)) {
		t.Errorf("Next(Fri 19:00) = %v, %v, %v; want next Mon 08:00, on (Sat 18:00 changes nothing)", got, on, ok)
	}
}

// checkConsistent walks minute by minute from start for span and checks
// that On changes exactly at the instants Next announces.
func checkConsistent(t *testing.T, s Schedule, start time.Time, span time.Duration) (switches []time.Time) {
	t.Helper()
	loc := start.Location()
	cur := s.On(start)
	next, nextOn, ok := s.Next(start)
	if !ok {
		t.Fatal("Next: ok = false")
	}
	for u := start.Add(time.Minute); u.Before(start.Add(span)); u = u.Add(time.Minute) {
		u := u.In(loc)
		got := s.On(u)
		if u.Before(next) {
			if got != cur {
				t.Fatalf("%s: On = %v, changed before Next's %s", u, got, next)
			}
			continue
		}
		if got != nextOn || s.On(next) != nextOn || s.On(next.Add(-time.Nanosecond)) != cur {
			t.Fatalf("%s: On = %v; Next said it switches from %v to %v at %s", u, got, cur, nextOn, next)
		}
		switches = append(switches, next)
		cur = got
		prev := next
		next, nextOn, _ = s.Next(prev)
		if !next.After(u) {
			t.Fatalf("Next(%s) = %s: two switches within a minute", prev, next)
		}
	}
	return switches
}

func TestOnNextConsistentOverTwoWeeks(t *testing.T) {
	for _, sp := range [][2][]string{
		{{"Fri 18:00"}, {"Mon 08:00"}},
		{{"daily 18:00"}, {"weekdays 08:00"}},
		{{"weekdays 19:30", "Sat 00:00"}, {"weekends 10:00", "Mon 07:05"}},
		{{"Sun 23:59"}, {"Sun 00:00"}},
	} {
		s := mustParse(t, sp[0], sp[1])
		checkConsistent(t, s, at(time.UTC, 0, 0, 0).Add(-30*time.Second), 14*24*time.Hour)
	}
}

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("SKIPPING DST TEST: the time zone database is missing (%v); install tzdata to run it", err)
	}
	return loc
}

func TestDSTWallClockHonoured(t *testing.T) {
	loc := berlin(t)
	s := mustParse(t, []string{"Fri 18:00"}, []string{"Mon 08:00"})
	// Spring forward on Sunday 29 March 2026, fall back on Sunday 25 October 2026.
	for _, tc := range []struct {
		from, want time.Time
		hours      float64
	}{
		{time.Date(2026, 3, 28, 12, 0, 0, 0, loc), time.Date(2026, 3, 30, 8, 0, 0, 0, loc), 43},
		{time.Date(2026, 10, 24, 12, 0, 0, 0, loc), time.Date(2026, 10, 26, 8, 0, 0, 0, loc), 45},
	} {
		got, on, ok := s.Next(tc.from)
		if !ok || !on || !got.Equal(tc.want) {
			t.Errorf("Next(%s) = %s, %v; want %s, on", tc.from, got, on, tc.want)
		}
		if h := got.Sub(tc.from).Hours(); h != tc.hours {
			t.Errorf("Next(%s) is %v hours away, want %v", tc.from, h, tc.hours)
		}
		if got.In(loc).Hour() != 8 {
			t.Errorf("Next(%s) = %s, not 08:00 on the wall clock", tc.from, got.In(loc))
		}
		if s.On(tc.want.Add(-time.Second)) || !s.On(tc.want) {
			t.Errorf("On around %s: want off then on", tc.want)
		}
		// The same instants seen from UTC follow UTC's wall clock instead.
		if s.On(tc.want.In(time.UTC)) {
			t.Errorf("On(%s) in UTC = true, want off (07:00/06:00 UTC on Monday)", tc.want.In(time.UTC))
		}
	}
	for _, start := range []time.Time{
		time.Date(2026, 3, 23, 0, 0, 0, 0, loc),
		time.Date(2026, 10, 19, 0, 0, 0, 0, loc),
	} {
		checkConsistent(t, s, start, 14*24*time.Hour)
	}
}

func TestDSTGapAndFold(t *testing.T) {
	loc := berlin(t)
	// 02:30 does not exist on 29 March 2026: the clock jumps from 02:00 to
	// 03:00, and the cluster goes off at the jump.
	s := mustParse(t, []string{"Sun 02:30"}, []string{"Sun 05:00"})
	from := time.Date(2026, 3, 29, 1, 0, 0, 0, loc)
	got, on, ok := s.Next(from)
	if want := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC); !ok || on || !got.Equal(want) {
		t.Errorf("gap: Next(%s) = %s, %v; want %s (03:00 CEST), off", from, got, on, want.In(loc))
	}
	sw := checkConsistent(t, s, time.Date(2026, 3, 28, 0, 0, 0, 0, loc), 2*24*time.Hour)
	if len(sw) != 2 {
		t.Errorf("gap: switches %v, want 2", sw)
	}
	// 02:30 happens twice on 25 October 2026: the cluster goes off once and
	// stays off until 05:00.
	sw = checkConsistent(t, s, time.Date(2026, 10, 24, 0, 0, 0, 0, loc), 2*24*time.Hour)
	if len(sw) != 2 || sw[0].In(loc).Hour() != 2 || sw[1].In(loc).Hour() != 5 {
		t.Errorf("fold: switches %v, want one off at 02:30 and one on at 05:00", sw)
	}
	// Two switch points inside one gap: the later one decides.
	s = mustParse(t, []string{"Sun 02:10"}, []string{"Sun 02:40"})
	after := time.Date(2026, 3, 29, 3, 0, 0, 0, loc)
	if !s.On(after) {
		t.Errorf("gap with two points: On(%s) = false, want on (02:40 is later than 02:10)", after)
	}
	checkConsistent(t, s, time.Date(2026, 3, 28, 0, 0, 0, 0, loc), 2*24*time.Hour)
}

func TestSpecRoundTrip(t *testing.T) {
	for _, sp := range [][2][]string{
		{nil, nil},
		{{"friday 18:00"}, {"monday 8:00"}},
		{{"Weekdays 19:30", "sat 00:00", "Sat 00:00"}, {"WEEKENDS 10:00", "Mon 07:05"}},
		{{"daily 23:00"}, {"daily 6:00"}},
	} {
		s := mustParse(t, sp[0], sp[1])
		off, on := s.Spec()
		s2 := mustParse(t, off, on)
		off2, on2 := s2.Spec()
		if s2.String() != s.String() || !slices.Equal(off, off2) || !slices.Equal(on, on2) {
			t.Errorf("round trip of %q: %q -> %q", sp, s, s2)
		}
		for u := at(time.UTC, 0, 0, 0); u.Before(at(time.UTC, 7, 0, 0)); u = u.Add(17 * time.Minute) {
			if s.On(u) != s2.On(u) {
				t.Fatalf("round trip of %q: On(%s) differs", sp, u)
			}
		}
	}
}
