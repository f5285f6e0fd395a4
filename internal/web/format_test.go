package web

import (
	"math"
	"testing"
	"time"
)

func TestMoney(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0, "$0.00"},
		{1, "$1.00"},
		{1234.56, "$1,234.56"},
		{1234567.891, "$1,234,567.89"},
		{999.999, "$1,000.00"},
		{0.42, "$0.42"},
		{0.01, "$0.01"},
		{0.0042, "$0.0042"},
		{0.00421, "$0.0042"},
		{0.000019, "$0.000019"},
		{0.001, "$0.001"},
		{0.0099, "$0.0099"},
		{0.00999, "$0.01"},
		{1e-15, "<$0.000000000001"},
		{-3, "-$3.00"},
		{-0.0042, "-$0.0042"},
		{math.NaN(), "—"},
		{math.Inf(1), "—"},
	} {
		if got := Money(c.in); got != c.want {
			t.Errorf("Money(%v) = %q, want %q", c.in, got, c.want)
		}
	}
	// Never $0.00 for an amount that is not zero.
	for x := 1e-12; x < 1; x *= 1.37 {
		if Money(x) == "$0.00" {
			t.Errorf("Money(%g) = $0.00", x)
		}
	}
}

func TestRate(t *testing.T) {
	for in, want := range map[float64]string{
		0: "$0.00", 0.0116: "$0.0116", 0.085: "$0.085", 3.06: "$3.06", 1024.5: "$1,024.50", 0.714: "$0.714", 0.00099: "$0.00099",
	} {
		if got := Rate(in); got != want {
			t.Errorf("Rate(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestPercent(t *testing.T) {
	for in, want := range map[float64]string{
		0: "0%", 0.8: "80%", 0.996: "99%", 1: "100%", 0.0042: "0.4%", 0.0004: "<0.1%", 2.5789: "257%", 12.3456: "1,234%",
	} {
		if got := Percent(in); got != want {
			t.Errorf("Percent(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestBytes(t *testing.T) {
	for in, want := range map[int64]string{
		0: "0 B", 512: "512 B", 1024: "1 KiB", 1536: "1.5 KiB", 12 << 20: "12 MiB", 1288490189: "1.2 GiB",
		53687091200: "50 GiB", 1<<30 - 1: "1 GiB", 3 << 40: "3 TiB", 1023 << 20: "1023 MiB",
	} {
		if got := Bytes(in); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[time.Duration]string{
		0: "0s", -time.Second: "0s", 300 * time.Millisecond: "<1s", 42 * time.Second: "42s",
		3*time.Minute + 12*time.Second: "3m 12s", 2*time.Hour + 5*time.Minute + 59*time.Second: "2h 05m",
		4*24*time.Hour + 3*time.Hour + 20*time.Minute: "4d 3h",
	} {
		if got := Duration(in); got != want {
			t.Errorf("Duration(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := sampleNow
	for d, want := range map[time.Duration]string{
		2 * time.Second: "just now", 40 * time.Second: "40 s ago", 3 * time.Minute: "3 min ago", 5 * time.Hour: "5 h ago",
		25 * time.Hour: "1 day ago", 72 * time.Hour: "3 days ago", 60 * 24 * time.Hour: "Jan 17, 2026",
		-3 * time.Minute: "in 3 min",
	} {
		if got := Ago(now.Add(-d), now); got != want {
			t.Errorf("Ago(now-%v) = %q, want %q", d, got, want)
		}
	}
	if got := Ago(time.Time{}, now); got != "—" {
		t.Errorf("Ago(zero) = %q", got)
	}
}

func TestDaysAndDates(t *testing.T) {
	for in, want := range map[float64]string{-1: "open-ended", 0: "ended", 0.01: "<1 h", 0.4: "9 h", 1.5: "36 h", 42.4: "43 days", 1200: "1200 days"} {
		if got := Days(in); got != want {
			t.Errorf("Days(%v) = %q, want %q", in, got, want)
		}
	}
	if got := Date(sampleNow); got != "Mar 18, 2026" {
		t.Errorf("Date = %q", got)
	}
	if got := DateTime(sampleNow.In(time.FixedZone("X", 3600))); got != "2026-03-18 14:30 UTC" {
		t.Errorf("DateTime = %q", got)
	}
}
