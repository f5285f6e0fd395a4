package slurmface

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// timeFormat is how Date prints a time stamp: Slurm's commands read
// SLURM_TIME_FORMAT (slurm_make_time_str) and print every time of a job in
// squeue, sacct, scontrol and sbatch --test-only as it says: "standard"
// (or unset) 2006-01-02T15:04:05, "relative" (12:26:38 today, Ystday 20:13,
// Tomorr 03:22, Sat 02:17 within the week, 18 Jun 13:14 within the year,
// 19 Jan 2003 beyond), or a strftime(3) format (%s, "%F %T"). Scripts set
// it to read times as numbers (SLURM_TIME_FORMAT=%s squeue -o %S).
var timeFormat struct {
	sync.Mutex
	value   string // SLURM_TIME_FORMAT as given
	invalid func() // called once, the first time an invalid value is used
	warned  bool
}

// SetTimeFormat makes Date print times as SLURM_TIME_FORMAT=v says. A value
// Slurm refuses (no %, or 32 bytes or more) prints the standard form, and
// invalid is called the first time Date meets it, where Slurm's command says
// "error: invalid SLURM_TIME_FORMAT = 'v'" (once, as its format is kept).
func SetTimeFormat(v string, invalid func()) {
	timeFormat.Lock()
	defer timeFormat.Unlock()
	timeFormat.value, timeFormat.invalid, timeFormat.warned = v, invalid, false
}

// timeBuf is the size of the buffers Slurm's commands format a time into:
// a longer result is cut to timeBuf-1 bytes, as Slurm 22.05 prints it.
const timeBuf = 32

// formatTime formats t (not zero) as SLURM_TIME_FORMAT says, at now for
// "relative".
func formatTime(t, now time.Time) string {
	timeFormat.Lock()
	v := timeFormat.value
	var warn func()
	if v != "" && v != "standard" && v != "relative" && (!strings.Contains(v, "%") || len(v) >= timeBuf) {
		if !timeFormat.warned && timeFormat.invalid != nil {
			warn = timeFormat.invalid
		}
		timeFormat.warned = true
		v = ""
	}
	timeFormat.Unlock()
	if warn != nil {
		warn()
	}
	t = t.Local()
	switch v {
	case "", "standard":
		return t.Format("2006-01-02T15:04:05")
	case "relative":
		v = relativeFormat(t, now.Local())
	}
	s := Strftime(v, t)
	if len(s) >= timeBuf {
		s = s[:timeBuf-1]
	}
	return s
}

// relativeFormat is Slurm's "relative" format for t seen at now: its
// distance in days (by calendar date) picks the form.
func relativeFormat(t, now time.Time) string {
	day := func(t time.Time) int { return 1000*t.Year() + t.YearDay() - 1 }
	switch d := day(t) - day(now); {
	case d == -1:
		return "Ystday %H:%M"
	case d == 0:
		return "%H:%M:%S"
	case d == 1:
		return "Tomorr %H:%M"
	case d < -365 || d > 365:
		return "%-d %b %Y"
	case d < -1 || d > 6:
		return "%-d %b %H:%M"
	}
	return "%a %H:%M"
}

// Strftime formats t as C's strftime(3) does in the C locale, with glibc's
// flags (- no padding, _ spaces, 0 zeros, ^ upper case, # swap case) and widths
// (%-d, %_H, %10s). A conversion it does not know is written as given.
func Strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		start := i
		i++
		var flag byte
		for i < len(format) && strings.IndexByte("-_0^#", format[i]) >= 0 {
			flag = format[i]
			i++
		}
		width := -1
		for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
			width = max(width, 0)*10 + int(format[i]-'0')
		}
		for i < len(format) && (format[i] == 'E' || format[i] == 'O') {
			i++ // the alternative locale forms are the C locale's
		}
		if i == len(format) {
			b.WriteString(format[start:])
			break
		}
		c, ok := conversion(format[i], t)
		if !ok {
			b.WriteString(format[start : i+1])
			continue
		}
		b.WriteString(c.pad(flag, width))
	}
	return b.String()
}

// converted is one conversion's result: text, or a number with the width
// and padding strftime gives it by default.
type converted struct {
	text  string
	lower bool // what the # flag lower-cases (%p, %Z); it upper-cases other text
	num   bool
	n     int
	width int
	fill  byte
}

// pad writes c as glibc does with a flag and a width: "-" no padding (but
// to a width given, with spaces), "_" spaces, "0" zeros, "^" upper case, "#"
// the other case; a width pads text with spaces.
func (c converted) pad(flag byte, width int) string {
	if !c.num {
		s := c.text
		switch {
		case flag == '^' || flag == '#' && !c.lower:
			s = strings.ToUpper(s)
		case flag == '#':
			s = strings.ToLower(s)
		}
		if width > len(s) {
			fill := " "
			if flag == '0' {
				fill = "0"
			}
			s = strings.Repeat(fill, width-len(s)) + s
		}
		return s
	}
	fill, w := c.fill, c.width
	switch flag {
	case '-':
		fill, w = ' ', 0
	case '_':
		fill = ' '
	case '0':
		fill = '0'
	}
	if width >= 0 {
		w = width
	}
	if fill == ' ' {
		return fmt.Sprintf("%*d", w, c.n)
	}
	return fmt.Sprintf("%0*d", w, c.n)
}

// conversion is strftime's conversion c of t, in the C locale.
func conversion(c byte, t time.Time) (converted, bool) {
	num := func(n, w int) (converted, bool) { return converted{num: true, n: n, width: w, fill: '0'}, true }
	spaced := func(n int) (converted, bool) { return converted{num: true, n: n, width: 2, fill: ' '}, true }
	text := func(s string) (converted, bool) { return converted{text: s}, true }
	hour12 := (t.Hour()+11)%12 + 1
	switch c {
	case 'a':
		return text(t.Format("Mon"))
	case 'A':
		return text(t.Format("Monday"))
	case 'b', 'h':
		return text(t.Format("Jan"))
	case 'B':
		return text(t.Format("January"))
	case 'c':
		return text(Strftime("%a %b %e %H:%M:%S %Y", t))
	case 'C':
		return num(t.Year()/100, 2)
	case 'd':
		return num(t.Day(), 2)
	case 'D', 'x':
		return text(Strftime("%m/%d/%y", t))
	case 'e':
		return spaced(t.Day())
	case 'F':
		return text(Strftime("%Y-%m-%d", t))
	case 'g':
		y, _ := t.ISOWeek()
		return num(y%100, 2)
	case 'G':
		y, _ := t.ISOWeek()
		return num(y, 1)
	case 'H':
		return num(t.Hour(), 2)
	case 'I':
		return num(hour12, 2)
	case 'j':
		return num(t.YearDay(), 3)
	case 'k':
		return spaced(t.Hour())
	case 'l':
		return spaced(hour12)
	case 'm':
		return num(int(t.Month()), 2)
	case 'M':
		return num(t.Minute(), 2)
	case 'n':
		return text("\n")
	case 'p':
		return converted{text: t.Format("PM"), lower: true}, true
	case 'P':
		return text(strings.ToLower(t.Format("PM")))
	case 'r':
		return text(Strftime("%I:%M:%S %p", t))
	case 'R':
		return text(Strftime("%H:%M", t))
	case 's':
		return num(int(t.Unix()), 1)
	case 'S':
		return num(t.Second(), 2)
	case 't':
		return text("\t")
	case 'T', 'X':
		return text(Strftime("%H:%M:%S", t))
	case 'u':
		return num((int(t.Weekday())+6)%7+1, 1)
	case 'U':
		return num((t.YearDay()+6-int(t.Weekday()))/7, 2)
	case 'V':
		_, w := t.ISOWeek()
		return num(w, 2)
	case 'w':
		return num(int(t.Weekday()), 1)
	case 'W':
		return num((t.YearDay()+6-(int(t.Weekday())+6)%7)/7, 2)
	case 'y':
		return num(t.Year()%100, 2)
	case 'Y':
		return num(t.Year(), 1)
	case 'z':
		return text(t.Format("-0700"))
	case 'Z':
		return converted{text: t.Format("MST"), lower: true}, true
	case '%':
		return text("%")
	}
	return converted{}, false
}
