package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst/internal/cost"
)

// The formatters the templates use. They are written for people: amounts
// with their currency, sizes with their unit, times relative to the page's
// Now. None of them returns an empty string.

// dash stands for a figure that does not exist (no budget, not started).
const dash = "—"

// Money writes an amount of US dollars: $1,234.56 from a cent up, and below
// a cent two significant digits ($0.0042), so that a small charge never
// reads as zero. Only zero itself is $0.00.
func Money(usd float64) string {
	switch {
	case math.IsNaN(usd) || math.IsInf(usd, 0):
		return dash
	case usd < 0:
		return "-" + Money(-usd)
	case usd == 0:
		return "$0.00"
	}
	if usd >= 0.01 {
		cents := math.Round(usd * 100)
		if cents >= 1e17 { // beyond exact integers: no grouping games
			return "$" + strconv.FormatFloat(usd, 'f', 2, 64)
		}
		c := int64(cents)
		return fmt.Sprintf("$%s.%02d", group(c/100), c%100)
	}
	// Below a cent: two significant digits, trailing zeros dropped.
	digits := 1 - int(math.Floor(math.Log10(usd))) // decimals for 2 significant digits
	digits = min(max(digits, 3), 12)
	s := strconv.FormatFloat(usd, 'f', digits, 64)
	s = strings.TrimRight(s, "0")
	if strings.HasSuffix(s, ".") || s == "0" {
		// Smaller than 12 decimals can show: say so rather than $0.
		return "<$0.000000000001"
	}
	return "$" + s
}

// Rate writes a price (per hour, per GB-month) as exactly as a catalog gives
// it, at least to the cent: $0.0116, $0.085, $3.06, $1,024.50.
func Rate(usd float64) string {
	switch {
	case math.IsNaN(usd) || math.IsInf(usd, 0):
		return dash
	case usd < 0:
		return "-" + Rate(-usd)
	case usd >= 1e15:
		return Money(usd)
	}
	s := strconv.FormatFloat(math.Round(usd*1e6)/1e6, 'f', -1, 64)
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	return "$" + group(w) + "." + frac
}

// group writes n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	lead := len(s) % 3
	if lead > 0 {
		b.WriteString(s[:lead])
	}
	for i := lead; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// Count writes a whole number with thousands separators.
func Count(n int) string {
	if n < 0 {
		return "-" + group(-int64(n))
	}
	return group(int64(n))
}

// Percent writes a fraction as a percentage: 0.8 → "80%". It rounds down
// (99.6% spent is not 100%), and shows a decimal below 1% so that a little
// is not nothing.
func Percent(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return dash
	case f < 0:
		return "-" + Percent(-f)
	case f == 0:
		return "0%"
	}
	p := f * 100
	switch {
	case p < 0.1:
		return "<0.1%"
	case p < 1:
		return strconv.FormatFloat(math.Floor(p*10)/10, 'f', 1, 64) + "%"
	}
	return group(int64(math.Floor(p+1e-9))) + "%"
}

// Bytes writes a size in binary units: 512 B, 1.5 KiB, 12 MiB, 3.2 GiB.
func Bytes(n int64) string {
	if n < 0 {
		return "-" + Bytes(-n)
	}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	// One decimal below 10 (1.5 GiB), none above (12 GiB, 512 MiB).
	if v < 9.95 {
		s := strconv.FormatFloat(v, 'f', 1, 64)
		return strings.TrimSuffix(s, ".0") + " " + units[u]
	}
	if v >= 1023.5 && u < len(units)-1 { // 1023.7 MiB rounds to 1 GiB
		return "1 " + units[u+1]
	}
	return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + " " + units[u]
}

// Duration writes a span with its two largest units: 42s, 3m 12s, 2h 05m,
// 4d 3h. Negative spans are zero.
func Duration(d time.Duration) string {
	if d < time.Second {
		if d <= 0 {
			return "0s"
		}
		return "<1s"
	}
	s := int64(d / time.Second)
	days, s := s/86400, s%86400
	hours, s := s/3600, s%3600
	mins, secs := s/60, s%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %02dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm %02ds", mins, secs)
	}
	return fmt.Sprintf("%ds", secs)
}

// Ago writes when t was, relative to now: "just now", "40 s ago",
// "3 min ago", "5 h ago", "2 days ago", and the date beyond a month. Times
// ahead of now read "in 3 min".
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return dash
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		s = fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		s = fmt.Sprintf("%d h", int(d/time.Hour))
	case d < 31*24*time.Hour:
		n := int(d / (24 * time.Hour))
		s = fmt.Sprintf("%d day", n)
		if n != 1 {
			s += "s"
		}
	default:
		return Date(t)
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// Date writes a calendar day: "Mar 31, 2026" (UTC).
func Date(t time.Time) string {
	if t.IsZero() {
		return dash
	}
	return t.UTC().Format("Jan 2, 2006")
}

// DateTime writes a moment to the minute: "2026-03-31 14:05 UTC".
func DateTime(t time.Time) string {
	if t.IsZero() {
		return dash
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Days writes how many days are left as the CLI does (cost.DaysLeftText):
// "open-ended" for -1, "ended" at 0, hours below two days ("36 h"), else
// calendar days (UTC) to the end date, today included ("157 days").
func Days(d float64) string { return cost.DaysLeftText(d) }
