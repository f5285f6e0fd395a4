package slurmtime

import (
	"strings"
	"testing"
	"time"
)

// TestParseAhead reads times as sbatch --begin does: parse_time
// looking into the future, where a time of day not after now's hour and
// minute is tomorrow's and a date without a year not after now is next
// year's (the sbatch manual's examples among them).
func TestParseAhead(t *testing.T) {
	now := time.Date(2026, 12, 4, 13, 44, 32, 0, time.Local)
	day := time.Date(2026, 12, 4, 0, 0, 0, 0, time.Local)
	tomorrow := day.AddDate(0, 0, 1)
	for in, want := range map[string]time.Time{
		"16:00":               day.Add(16 * time.Hour),
		"13:45":               day.Add(13*time.Hour + 45*time.Minute),
		"13:44":               tomorrow.Add(13*time.Hour + 44*time.Minute), // same minute: not after now
		"13:44:59":            tomorrow.Add(13*time.Hour + 44*time.Minute + 59*time.Second),
		"10:30":               tomorrow.Add(10*time.Hour + 30*time.Minute),
		"midnight":            tomorrow,
		"noon":                tomorrow.Add(12 * time.Hour),
		"teatime":             day.Add(16 * time.Hour),
		"10:00 PM":            day.Add(22 * time.Hour),
		"now":                 now,
		"now+60":              now.Add(time.Minute),
		"now+1hour":           now.Add(time.Hour),
		"now+2days":           now.Add(48 * time.Hour),
		"now-1hour":           now.Add(-time.Hour),
		"tomorrow":            tomorrow,
		"today":               day,
		"noon tomorrow":       tomorrow.Add(12 * time.Hour),
		"2010-01-20T12:34:00": time.Date(2010, 1, 20, 12, 34, 0, 0, time.Local),
		"2026-12-05T10:00":    tomorrow.Add(10 * time.Hour),
		"1215":                time.Date(2026, 12, 15, 0, 0, 0, 0, time.Local),
		"12/04":               time.Date(2027, 12, 4, 0, 0, 0, 0, time.Local), // today's midnight is past
		"12/04-14:00":         time.Date(2026, 12, 4, 14, 0, 0, 0, time.Local),
		"12/04-13:44":         time.Date(2027, 12, 4, 13, 44, 0, 0, time.Local),
		"11/30":               time.Date(2027, 11, 30, 0, 0, 0, 0, time.Local),
		"01.03":               time.Date(2027, 1, 3, 0, 0, 0, 0, time.Local),
		"113025-07:00":        time.Date(2025, 11, 30, 7, 0, 0, 0, time.Local), // a year given stands
		"12/05/00":            tomorrow,                                        // year 00: none given (sacct reads it so)
		"120400":              time.Date(2027, 12, 4, 0, 0, 0, 0, time.Local),
	} {
		got, err := Parse(in, now, false)
		if err != nil || !got.Equal(want) {
			t.Errorf("Parse(%q, ahead) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "now+", "16", "25:00", "next week",
		" now", "-now", "today now", "noon now", "2026-12-04 now"} { // "now" only first, as sacct reads it
		_, err := Parse(bad, now, false)
		if err == nil || !strings.Contains(err.Error(), "sbatch --begin") {
			t.Errorf("Parse(%q, ahead) = %v; want a refusal naming sbatch --begin", bad, err)
		}
	}
}
