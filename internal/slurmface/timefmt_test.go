package slurmface

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStrftimeAgainstGlibc formats times with Strftime and with glibc's
// strftime, which Slurm's commands call for SLURM_TIME_FORMAT (through
// Python's time.strftime), and checks that they agree: every conversion,
// glibc's flags and widths, and the week numbers across the turn of a year.
func TestStrftimeAgainstGlibc(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 to call glibc's strftime")
	}
	formats := []string{
		"%a %A %b %B %h", "%c", "%C %d %D %e %F", "%g %G %H %I %j", "%k %l %m %M %n %p %P",
		"%r %R %s %S %t %T", "%u %U %V %w %W", "%x %X %y %Y %z %Z %%",
		"%-d %-m %-H %-j %-e %-I", "%_d %_m %_H %_j %_S", "%0e %0k %05e", "%^a %^b %^p %^A",
		"%10s|%3d|%8a|%1Y|%-5d|%-_5d", "%010a|%-10a|%^10b|%05s", "%#a|%#Z|%#p|%#b",
		"%Ey|%Oy|%EY|%Ec|%OH", "%q|%|%", "a%", "%-d %b %H:%M", "Ystday %H:%M",
	}
	times := []time.Time{
		time.Date(2026, 12, 6, 15, 4, 5, 0, time.UTC),
		time.Date(2027, 1, 1, 0, 0, 9, 0, time.UTC),    // a Friday: week 0 and ISO week 53 of 2026
		time.Date(2024, 12, 30, 9, 59, 0, 0, time.UTC), // a Monday in ISO week 1 of 2025
		time.Date(2003, 1, 19, 12, 30, 0, 0, time.UTC),
		time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC),
	}
	script := `import json, sys, time
for line in sys.stdin:
    at, f = line.rstrip("\n").split(" ", 1)
    print(json.dumps(time.strftime(f, time.localtime(int(at)))))`
	var in strings.Builder
	for _, at := range times {
		for _, f := range formats {
			in.WriteString(unixString(at) + " " + f + "\n")
		}
	}
	c := exec.Command("python3", "-c", script)
	c.Env = []string{"LC_ALL=C", "TZ=UTC"}
	c.Stdin = strings.NewReader(in.String())
	out, err := c.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(times)*len(formats) {
		t.Fatalf("python3 answered %d lines for %d formats", len(lines), len(times)*len(formats))
	}
	for i, at := range times {
		for j, f := range formats {
			want, err := strconv.Unquote(lines[i*len(formats)+j])
			if err != nil {
				t.Fatalf("python3's answer %q: %v", lines[i*len(formats)+j], err)
			}
			if got := Strftime(f, at); got != want {
				t.Errorf("Strftime(%q, %s) = %q, glibc says %q", f, at, got, want)
			}
		}
	}
}

// TestDateTimeFormat: Date prints as SLURM_TIME_FORMAT says (values
// checked against Slurm 22.05's squeue and scontrol): a strftime format, cut
// to 31 bytes as Slurm's 32-byte buffer cuts it; "relative"; and a value
// Slurm refuses (no %, or 32 bytes or more) prints the standard form and is
// named once.
func TestDateTimeFormat(t *testing.T) {
	t.Cleanup(func() { SetTimeFormat("", nil) })
	at := time.Date(2026, 12, 6, 15, 16, 55, 0, time.Local)
	warned := 0
	for _, c := range []struct{ format, want string }{
		{"", "2026-12-06T15:16:55"},
		{"standard", "2026-12-06T15:16:55"},
		{"%s", unixString(at)},
		{"%F %T", "2026-12-06 15:16:55"},
		{"%-d %b %H:%M", "6 Dec 15:16"},
		{"%c|%x|%X|%D|%r", "Sun Dec  6 15:16:55 2026|12/06/"},
	} {
		SetTimeFormat(c.format, func() { warned++ })
		if got := Date(at); got != c.want {
			t.Errorf("SLURM_TIME_FORMAT=%q: Date = %q, want %q", c.format, got, c.want)
		}
		if got := Date(time.Time{}); got != "Unknown" {
			t.Errorf("SLURM_TIME_FORMAT=%q: Date(zero) = %q, want Unknown", c.format, got)
		}
	}
	if warned != 0 {
		t.Errorf("valid formats were named invalid %d times", warned)
	}
	for _, bad := range []string{"bad", "%Y-%m-%d %H:%M:%S %Z xxxxxxxxxxx"} {
		warned = 0
		SetTimeFormat(bad, func() { warned++ })
		for range 3 {
			if got := Date(at); got != "2026-12-06T15:16:55" {
				t.Errorf("SLURM_TIME_FORMAT=%q: Date = %q, want the standard form", bad, got)
			}
		}
		if warned != 1 {
			t.Errorf("SLURM_TIME_FORMAT=%q named invalid %d times, want once", bad, warned)
		}
	}
}

// TestRelativeFormat: SLURM_TIME_FORMAT=relative picks its form by the
// calendar distance of a time from today, as Slurm's _relative_date_fmt.
func TestRelativeFormat(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC) // a Sunday
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 12, 6, 15, 16, 55, 0, time.UTC), "15:16:55"},
		{time.Date(2026, 12, 5, 23, 59, 0, 0, time.UTC), "Ystday 23:59"},
		{time.Date(2026, 12, 7, 0, 1, 0, 0, time.UTC), "Tomorr 00:01"},
		{time.Date(2026, 12, 12, 2, 17, 0, 0, time.UTC), "Sat 02:17"},
		{time.Date(2026, 12, 13, 2, 17, 0, 0, time.UTC), "13 Dec 02:17"},
		{time.Date(2026, 12, 4, 2, 17, 0, 0, time.UTC), "4 Dec 02:17"},
		{time.Date(2026, 6, 18, 13, 14, 0, 0, time.UTC), "18 Jun 13:14"},
		{time.Date(2003, 1, 19, 20, 13, 0, 0, time.UTC), "19 Jan 2003"},
		// Slurm measures the distance in YYYYddd numbers: the next year's
		// days are all far.
		{time.Date(2027, 1, 2, 8, 0, 0, 0, time.UTC), "2 Jan 2027"},
	} {
		if got := Strftime(relativeFormat(c.at, now), c.at); got != c.want {
			t.Errorf("relative %s at %s: %q, want %q", c.at, now, got, c.want)
		}
	}
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
