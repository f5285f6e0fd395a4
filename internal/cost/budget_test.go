package cost

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// A fixed clock: the package reads no time of its own.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestAssess(t *testing.T) {
	day := 24 * time.Hour
	thirtyDays := Budget{Amount: USD(1000), Start: t0, Ends: t0.Add(30 * day)}
	for _, tc := range []struct {
		name  string
		b     Budget
		spent NUSD
		burn  float64
		now   time.Time
		want  Status
		// ExhaustedAt, when not nil in want: checked separately.
		exhaustedIn time.Duration
	}{
		{
			name: "mid-way, on track", b: thirtyDays, spent: USD(400), burn: 1, now: t0.Add(15 * day),
			want: Status{Budget: USD(1000), Spent: USD(400), Remaining: USD(600),
				BurnPerHour: 1, DaysRemaining: 15, Fraction: 0.4, Level: LevelOK},
			exhaustedIn: 600 * time.Hour,
		},
		{
			name: "mid-way, past the first warning, forecast over", b: thirtyDays, spent: USD(600), burn: 2, now: t0.Add(15 * day),
			want: Status{Budget: USD(1000), Spent: USD(600), Remaining: USD(400),
				BurnPerHour: 2, DaysRemaining: 15, Fraction: 0.6, Level: LevelWarn, Threshold: 0.5},
			exhaustedIn: 200 * time.Hour,
		},
		{
			name: "exactly at a threshold", b: thirtyDays, spent: USD(800), burn: 0, now: t0.Add(15 * day),
			want: Status{Budget: USD(1000), Spent: USD(800), Remaining: USD(200),
				DaysRemaining: 15, Fraction: 0.8, Level: LevelWarn, Threshold: 0.8},
		},
		{
			name: "exhausted", b: thirtyDays, spent: USD(1000), burn: 3, now: t0.Add(20 * day),
			want: Status{Budget: USD(1000), Spent: USD(1000), Remaining: 0,
				BurnPerHour: 3, DaysRemaining: 10, Fraction: 1, Level: LevelExhausted, Threshold: 1},
		},
		{
			name: "overspent", b: thirtyDays, spent: USD(1200), burn: 0, now: t0.Add(20 * day),
			want: Status{Budget: USD(1000), Spent: USD(1200), Remaining: USD(-200),
				DaysRemaining: 10, Fraction: 1.2, Level: LevelExhausted, Threshold: 1},
		},
		{
			name: "no end date", b: Budget{Amount: USD(100), Start: t0}, spent: USD(10), burn: 0.5, now: t0.Add(day),
			want: Status{Budget: USD(100), Spent: USD(10), Remaining: USD(90),
				BurnPerHour: 0.5, DaysRemaining: -1, Fraction: 0.1, Level: LevelOK},
			exhaustedIn: 180 * time.Hour,
		},
		{
			name: "end date passed", b: thirtyDays, spent: USD(900), burn: 1, now: t0.Add(31 * day),
			want: Status{Budget: USD(1000), Spent: USD(900), Remaining: USD(100),
				BurnPerHour: 1, DaysRemaining: 0, Fraction: 0.9, Level: LevelWarn, Threshold: 0.8},
			exhaustedIn: 100 * time.Hour,
		},
		{
			name: "zero burn", b: thirtyDays, spent: USD(100), burn: 0, now: t0.Add(10 * day),
			want: Status{Budget: USD(1000), Spent: USD(100), Remaining: USD(900),
				DaysRemaining: 20, Fraction: 0.1, Level: LevelOK},
		},
		{
			name: "custom thresholds", b: Budget{Amount: USD(100), Warn: []float64{0.95, 0.25, 2, -1}}, spent: USD(30), now: t0,
			want: Status{Budget: USD(100), Spent: USD(30), Remaining: USD(70),
				DaysRemaining: -1, Fraction: 0.3, Level: LevelWarn, Threshold: 0.25},
		},
		{
			name: "no warnings", b: Budget{Amount: USD(100), Warn: []float64{}}, spent: USD(99), now: t0,
			want: Status{Budget: USD(100), Spent: USD(99), Remaining: USD(1),
				DaysRemaining: -1, Fraction: 0.99, Level: LevelOK},
		},
		{
			name: "no budget", b: Budget{Ends: t0.Add(2 * day)}, spent: USD(50), burn: 1, now: t0.Add(day),
			want: Status{Spent: USD(50), BurnPerHour: 1, DaysRemaining: 1, Level: LevelNone},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Assess(tc.b, tc.spent, tc.burn, tc.now)
			at := got.ExhaustedAt
			got.ExhaustedAt = nil
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
			w := tc.want
			if got.Budget != w.Budget || got.Spent != w.Spent || got.Remaining != w.Remaining ||
				got.BurnPerHour != w.BurnPerHour || !near(got.DaysRemaining, w.DaysRemaining) || !near(got.Fraction, w.Fraction) ||
				got.Level != w.Level || got.Threshold != w.Threshold {
				t.Errorf("Assess =\n %+v\nwant\n %+v", got, w)
			}
			if tc.exhaustedIn == 0 {
				if at != nil {
					t.Errorf("ExhaustedAt = %v, want nil", at)
				}
			} else if at == nil || !at.Equal(tc.now.Add(tc.exhaustedIn)) {
				t.Errorf("ExhaustedAt = %v, want %v", at, tc.now.Add(tc.exhaustedIn))
			}
		})
	}
}

func TestCrossed(t *testing.T) {
	b := Budget{Amount: USD(100)}
	for _, tc := range []struct {
		name     string
		b        Budget
		from, to NUSD
		want     []float64
	}{
		{"none yet", b, USD(10), USD(40), nil},
		{"first", b, USD(40), USD(50), []float64{0.5}},
		{"exactly from a threshold is not crossing it again", b, USD(50), USD(60), nil},
		{"two at once", b, USD(40), USD(85), []float64{0.5, 0.8}},
		{"all of them", b, 0, USD(150), []float64{0.5, 0.8, 1}},
		{"the budget", b, USD(99), USD(100), []float64{1}},
		{"beyond the budget", b, USD(100), USD(120), nil},
		{"going down", b, USD(90), USD(40), nil},
		{"no change", b, USD(50), USD(50), nil},
		{"no budget", Budget{}, 0, USD(100), nil},
		{"custom", Budget{Amount: USD(100), Warn: []float64{0.9, 0.25, 0.25}}, 0, USD(95), []float64{0.25, 0.9}},
		{"one nano-dollar short", b, 0, USD(50) - 1, nil},
	} {
		got := Crossed(tc.b, tc.from, tc.to)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: Crossed(%v, %v) = %v, want %v", tc.name, tc.from, tc.to, got, tc.want)
		}
	}
	// Metering in small steps crosses each threshold exactly once.
	seen := map[float64]int{}
	var spent NUSD
	for spent < USD(130) {
		next := spent + USD(0.37)
		for _, th := range Crossed(b, spent, next) {
			seen[th]++
		}
		spent = next
	}
	if len(seen) != 3 || seen[0.5] != 1 || seen[0.8] != 1 || seen[1] != 1 {
		t.Errorf("crossings while metering: %v", seen)
	}
	// Crossed agrees with Assess on when a threshold is reached.
	for _, th := range []float64{0.5, 0.8} {
		m := b.mark(th)
		if s := Assess(b, m, 0, t0); s.Threshold != th {
			t.Errorf("Assess at mark %v: threshold %v", th, s.Threshold)
		}
		if s := Assess(b, m-1, 0, t0); s.Threshold >= th {
			t.Errorf("Assess just below mark %v: threshold %v", th, s.Threshold)
		}
	}
}

func TestWhenCrosses(t *testing.T) {
	for _, tc := range []struct {
		name          string
		spent, target NUSD
		burn          float64
		want          time.Time
		ok            bool
	}{
		{"an hour", USD(9), USD(10), 1, t0.Add(time.Hour), true},
		{"half an hour", USD(9), USD(10), 2, t0.Add(30 * time.Minute), true},
		{"days", 0, USD(100), 0.5, t0.Add(200 * time.Hour), true},
		{"already there", USD(10), USD(10), 0, t0, true},
		{"already past", USD(11), USD(10), 1, t0, true},
		{"no burn", USD(9), USD(10), 0, time.Time{}, false},
		{"negative burn", USD(9), USD(10), -1, time.Time{}, false},
		{"nan burn", USD(9), USD(10), math.NaN(), time.Time{}, false},
		{"beyond time", 0, math.MaxInt64, 1e-9, time.Time{}, false},
		{"one nano-dollar at 3600 $/h", 0, 1, 3600, t0.Add(time.Nanosecond), true},
	} {
		got, ok := WhenCrosses(tc.spent, tc.target, tc.burn, t0)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("%s: WhenCrosses = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	// Accruing until then reaches the target.
	for _, burn := range []float64{0.0052, 0.34, 3.06, 32.7726} {
		at, ok := WhenCrosses(USD(1.5), USD(77.7), burn, t0)
		if !ok {
			t.Fatalf("burn %v: never", burn)
		}
		if got := USD(1.5) + Accrue(burn, at.Sub(t0)); got < USD(77.7)-1 || got > USD(77.7)+1 {
			t.Errorf("burn %v: spent %d at the crossing, want %d", burn, got, USD(77.7))
		}
	}
}

func TestParseThresholds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []float64
	}{
		{"50%,80%,95%", []float64{0.5, 0.8, 0.95}},
		{"0.5,0.8", []float64{0.5, 0.8}},
		{"80%, 50%", []float64{0.5, 0.8}},
		{"50%,0.5,50 %", []float64{0.5}},
		{"0.25,", []float64{0.25}},
		{"99.9%", []float64{0.999}},
		{"0.5%", []float64{0.005}},
	} {
		got, err := ParseThresholds(tc.in)
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("ParseThresholds(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-12 {
				t.Errorf("ParseThresholds(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", `warning thresholds "": give percentages or fractions of the budget, e.g. 50%,80%,95%`},
		{" , ", `give percentages or fractions`},
		{"abc", `warning threshold "abc": give percentages or fractions of the budget, e.g. 50%,80%,95%`},
		{"50", `warning threshold "50": write a percentage with %, e.g. 50%, or a fraction, e.g. 0.5`},
		{"100%", `warning threshold "100%": give a share between 0% and 100%`},
		{"1", `warning threshold "1": write a percentage with %, e.g. 1%, or a fraction, e.g. 0.01`},
		{"0", `between 0% and 100%`},
		{"-10%", `between 0% and 100%`},
		{"150%", `between 0% and 100%`},
		{"250", `between 0% and 100%`},
		{"NaN", `give percentages or fractions`},
		{"Inf%", `give percentages or fractions`},
		{"%", `give percentages or fractions`},
	} {
		_, err := ParseThresholds(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseThresholds(%q) error = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}
