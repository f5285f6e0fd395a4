package cost

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUSDAndDollars(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want NUSD
	}{
		{0, 0},
		{1, 1_000_000_000},
		{12.34, 12_340_000_000},
		{0.0000000014, 1},
		{0.0000000015, 2},
		{-1.2, -1_200_000_000},
		{math.NaN(), 0},
		{math.Inf(1), math.MaxInt64},
		{math.Inf(-1), math.MinInt64},
		{1e30, math.MaxInt64},
	} {
		if got := USD(tc.in); got != tc.want {
			t.Errorf("USD(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if got := NUSD(2_500_000_000).Dollars(); got != 2.5 {
		t.Errorf("Dollars = %v, want 2.5", got)
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		in   NUSD
		want string
	}{
		{0, "$0.00"},
		{USD(12.34), "$12.34"},
		{USD(12.345), "$12.35"},
		{USD(1), "$1.00"},
		{USD(1234567.891), "$1234567.89"},
		{USD(0.42), "$0.42"},
		{USD(0.05), "$0.05"},
		{USD(0.0042), "$0.0042"},
		{USD(0.004), "$0.004"},
		{USD(0.000012), "$0.000012"},
		{USD(0.0099999), "$0.01"},
		{USD(0.00123), "$0.0012"},
		{1, "$0.000000001"},
		{15, "$0.000000015"},
		{USD(-1.2), "-$1.20"},
		{USD(-0.0042), "-$0.0042"},
		{math.MinInt64, "-$9223372036.85"},
		{math.MaxInt64, "$9223372036.85"},
	} {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("NUSD(%d).String() = %q, want %q", int64(tc.in), got, tc.want)
		}
	}
}

func TestParseUSD(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want NUSD
	}{
		{"100", USD(100)},
		{"100.50", USD(100.5)},
		{"$100", USD(100)},
		{" $12.34 ", USD(12.34)},
		{"1e3", USD(1000)},
		{"2.5E2", USD(250)},
		{"0", 0},
		{".5", USD(0.5)},
		{"7.", USD(7)},
		{"+3", USD(3)},
		{"0.1234567891", 123_456_789},
		{"0.1234567895", 123_456_790},
		{"9000000000", USD(9e9)},
		{"0.000000001", 1},
		{"0.0000000005", 1},
		{"0.000", 0},
		{"0e7", 0},
	} {
		got, err := ParseUSD(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"-5", `budget "-5": give a positive amount in US dollars, e.g. --budget 100`},
		{"$-5", "give a positive amount"},
		{"-$5", "give a positive amount"},
		{"-1e3", "give a positive amount"},
		{"", "budget is empty: give an amount in US dollars, e.g. --budget 100"},
		{"  ", "budget is empty"},
		{"abc", `budget "abc": give an amount in US dollars, e.g. --budget 100`},
		{"NaN", "give an amount in US dollars"},
		{"Inf", "give an amount in US dollars"},
		{"+Inf", "give an amount in US dollars"},
		{"infinity", "give an amount in US dollars"},
		{"0x10", "give an amount in US dollars"},
		{"1_000", "give an amount in US dollars"},
		{"$", "give an amount in US dollars"},
		{".", "give an amount in US dollars"},
		{"1.2.3", "give an amount in US dollars"},
		{"1,000", "give an amount in US dollars"},
		{"12 USD", "give an amount in US dollars"},
		{"9000000001", "too large"},
		{"1e10", "too large"},
		{"1e400", "too large"},
		{"99999999999999999999", "too large"},
		// Not zero, but no nano-dollar: taken as 0, they read as no
		// budget at all.
		{"0.0000000001", `budget "0.0000000001" is below $0.000000001, the smallest amount burst counts: give at least that, or 0 for no budget`},
		{"1e-12", "below $0.000000001"},
		{"1e-400", "below $0.000000001"},
		{"$4E-10", "below $0.000000001"},
	} {
		_, err := ParseUSD(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseUSD(%q) error = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

// TestCheckBudget: a budget sent in dollars (the API's budget_usd) that is
// not zero but rounds to no nano-dollar is refused, as ParseUSD refuses it:
// stored as 0, it was no budget at all (burst project list: "no budget").
func TestCheckBudget(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{100, ""}, {0, ""}, {1e-9, ""}, {9e9, ""},
		{-5, "give a positive amount"}, {math.NaN(), "give a positive amount"}, {math.Inf(1), "give a positive amount"},
		{1e-12, "budget 1e-12 is below $0.000000001"}, {5e-324, "below $0.000000001"},
	} {
		err := CheckBudget(tc.v)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckBudget(%v) = %v, want %q", tc.v, err, tc.want)
		}
	}
}

func FuzzParseUSD(f *testing.F) {
	for _, s := range []string{"100", "$1.5", "1e3", "-5", "", "abc", "0.0000000005", "9e9", ".", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseUSD(s)
		if err != nil {
			if n != 0 || err.Error() == "" {
				t.Fatalf("ParseUSD(%q) = %d, %v", s, n, err)
			}
			return
		}
		if n < 0 || n > maxDollars*perDollar {
			t.Fatalf("ParseUSD(%q) = %d: out of range", s, n)
		}
		// What String prints parses back to within half a cent.
		back, err := ParseUSD(n.String())
		if err != nil {
			t.Fatalf("ParseUSD(%q) of ParseUSD(%q): %v", n.String(), s, err)
		}
		if d := back - n; d > perDollar/200 || d < -perDollar/200 {
			t.Fatalf("%q → %d → %q → %d", s, n, n.String(), back)
		}
	})
}

func TestAccrue(t *testing.T) {
	for _, tc := range []struct {
		perHour float64
		d       time.Duration
		want    NUSD
	}{
		{1, time.Hour, USD(1)},
		{0.096, time.Hour, USD(0.096)},
		{3.6, time.Second, USD(0.001)},
		{0.085, 90 * time.Second, 2_125_000},
		{1, time.Nanosecond, 0},    // 1/3600 nUSD rounds to 0
		{3600, time.Nanosecond, 1}, // exactly 1 nUSD
		{0.0052, 24 * 365 * time.Hour, USD(0.0052 * 24 * 365)},
		{0, time.Hour, 0},
		{-1, time.Hour, 0},
		{math.NaN(), time.Hour, 0},
		{1, -time.Hour, 0},
		{1, 0, 0},
		{math.Inf(1), time.Hour, math.MaxInt64},
	} {
		if got := Accrue(tc.perHour, tc.d); got != tc.want {
			t.Errorf("Accrue(%v, %v) = %d, want %d", tc.perHour, tc.d, got, tc.want)
		}
	}
	// Accruing second by second adds up to (almost exactly) the hour.
	var sum NUSD
	for range 3600 {
		sum += Accrue(0.34, time.Second)
	}
	if d := sum - USD(0.34); d < -3600 || d > 3600 {
		t.Errorf("3600 × Accrue(0.34, 1s) = %d, want about %d", sum, USD(0.34))
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		total   NUSD
		weights []float64
		shares  []NUSD
		rest    NUSD
	}{
		{"half and quarter", 1000, []float64{0.5, 0.25}, []NUSD{500, 250}, 250},
		{"floors", 10, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, []NUSD{3, 3, 3}, 1},
		{"whole", 7, []float64{1}, []NUSD{7}, 0},
		{"none", 7, nil, []NUSD{}, 7},
		{"zero weights", 7, []float64{0, 0}, []NUSD{0, 0}, 7},
		{"clamped", 100, []float64{-1, math.NaN(), 0.5}, []NUSD{0, 0, 50}, 50},
		{"over one is scaled", 100, []float64{1, 1}, []NUSD{50, 50}, 0},
		{"over one clamped each", 90, []float64{5, 2}, []NUSD{45, 45}, 0},
		{"zero total", 0, []float64{0.5}, []NUSD{0}, 0},
		{"negative total", -10, []float64{0.5}, []NUSD{0}, -10},
		{"big total exact", math.MaxInt64, []float64{0.5}, []NUSD{math.MaxInt64 / 2}, math.MaxInt64 - math.MaxInt64/2},
		{"tenths", USD(1), []float64{0.1, 0.2, 0.3}, []NUSD{100_000_000, 200_000_000, 299_999_999}, 400_000_001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shares, rest := Split(tc.total, tc.weights)
			if len(shares) != len(tc.shares) {
				t.Fatalf("shares = %v, want %v", shares, tc.shares)
			}
			for i := range shares {
				if shares[i] != tc.shares[i] {
					t.Fatalf("shares = %v, want %v", shares, tc.shares)
				}
			}
			if rest != tc.rest {
				t.Errorf("rest = %d, want %d", rest, tc.rest)
			}
		})
	}
}

func TestSplitProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var total NUSD
		switch i % 4 {
		case 0:
			total = NUSD(r.Int64N(1000))
		case 1:
			total = NUSD(r.Int64N(int64(USD(1000))))
		case 2:
			total = NUSD(r.Int64())
		default:
			total = math.MaxInt64 - NUSD(r.Int64N(10))
		}
		n := r.IntN(12)
		w := make([]float64, n)
		for j := range w {
			switch r.IntN(10) {
			case 0:
				w[j] = r.Float64()*4 - 2 // out of range: clamped
			case 1:
				w[j] = 1
			case 2:
				w[j] = 0
			default:
				w[j] = r.Float64() / float64(n)
			}
		}
		if i%7 == 0 && n > 0 { // weights that add up to exactly 1 in floating point
			sum := 0.0
			for j := range w {
				w[j] = r.Float64()
				sum += w[j]
			}
			for j := range w {
				w[j] /= sum
			}
		}
		shares, rest := Split(total, w)
		if len(shares) != n {
			t.Fatalf("len(shares) = %d, want %d", len(shares), n)
		}
		sum := rest
		for j, s := range shares {
			if s < 0 {
				t.Fatalf("Split(%d, %v): share %d is negative: %d", total, w, j, s)
			}
			if c := clamp01(w[j]); c <= 1 && s > NUSD(mulFloor(uint64(total), c)) {
				t.Fatalf("Split(%d, %v): share %d = %d above floor(total×w)", total, w, j, s)
			}
			sum += s
		}
		if sum != total {
			t.Fatalf("Split(%d, %v): shares %v + rest %d = %d, want %d", total, w, shares, rest, sum, total)
		}
		if rest < 0 {
			t.Fatalf("Split(%d, %v): rest %d < 0", total, w, rest)
		}
	}
}

func TestMulFloor(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		w    float64
		want uint64
	}{
		{10, 0.5, 5},
		{11, 0.5, 5},
		{1 << 62, 0.25, 1 << 60},
		{math.MaxUint64, 0.5, math.MaxUint64 / 2},
		{1000, 5e-324, 0},
		{1000, 0.001, 1}, // 0.001 is a hair above 1/1000 in binary
		{3, 1.0 / 3, 0},  // 1/3 is a hair below 1/3
	} {
		if got := mulFloor(tc.n, tc.w); got != tc.want {
			t.Errorf("mulFloor(%d, %v) = %d, want %d", tc.n, tc.w, got, tc.want)
		}
	}
}

func TestWeight(t *testing.T) {
	for _, tc := range []struct {
		name           string
		tc, tg, mc, mg int
		share, want    float64
	}{
		{"cpu share", 2, 0, 8, 0, 0, 0.25},
		{"gpu share ignored without gpus", 2, 0, 8, 0, 0.9, 0.25},
		{"zero cpus count one", 0, 0, 4, 0, 0, 0.25},
		{"whole machine", 8, 0, 8, 0, 0, 1},
		{"more than the machine clamps", 16, 0, 8, 0, 0, 1},
		{"gpu task", 4, 1, 8, 1, 0.9, 0.1*0.5 + 0.9},
		{"cpu task on gpu machine", 4, 0, 8, 1, 0.9, 0.05},
		{"one of four gpus", 8, 1, 32, 4, 0.8, 0.2*0.25 + 0.8*0.25},
		{"bad share clamps", 4, 1, 8, 1, 7, 1},
		{"nan share", 4, 0, 8, 0, math.NaN(), 0.5},
		{"zero machine cpus", 1, 0, 0, 0, 0, 1},
	} {
		if got := Weight(tc.tc, tc.tg, tc.mc, tc.mg, tc.share); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: Weight = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Tasks that reserve no CPU (a map's --cpus 0) share what the others leave
// of the machine's CPUs, a CPU each at most and one between them at least;
// tasks that reserve CPUs pay for them however crowded the machine is; no
// division by zero; and what Split charges never exceeds the machine.
func TestShares(t *testing.T) {
	shared := func(n int) []Hold { return make([]Hold, n) }
	for _, tc := range []struct {
		name  string
		tasks []Hold
		cpus  int
		gpus  int
		want  []float64
	}{
		{"a lone task of no CPU pays as one of 1 CPU", shared(1), 8, 0, []float64{0.125}},
		{"a thousand beside a task of 1 of 2 CPUs share the other",
			append([]Hold{{CPUs: 1}}, shared(1000)...), 2, 0, append([]float64{0.5}, slices.Repeat([]float64{0.5 / 1000}, 1000)...)},
		{"fewer than the free CPUs: a CPU each", append([]Hold{{CPUs: 2}}, shared(3)...), 8, 0, []float64{0.25, 0.125, 0.125, 0.125}},
		{"beside tasks holding every CPU they pay for one", append([]Hold{{CPUs: 2}}, shared(4)...), 2, 0, []float64{1, 0.125, 0.125, 0.125, 0.125}},
		{"on a machine of no CPUs, no division by zero", shared(2), 0, 0, []float64{0.5, 0.5}},
		{"their GPUs weigh as Weight's", []Hold{{GPUs: 1}, {}}, 8, 2, []float64{0.05/8 + 0.95/2, 0.05 / 8}},
		{"no tasks", nil, 4, 0, nil},
	} {
		got := Shares(nil, tc.tasks, tc.cpus, tc.gpus, 0.95)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %d weights, want %d", tc.name, len(got), len(tc.want))
		}
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-12 {
				t.Errorf("%s: weight %d = %v, want %v", tc.name, i, got[i], tc.want[i])
				break
			}
		}
		shares, rest := Split(NUSD(1_000_000_000), got)
		var sum NUSD
		for _, x := range shares {
			sum += x
		}
		if sum+rest != 1_000_000_000 || rest < 0 {
			t.Errorf("%s: Split charges %d and leaves %d of 1e9", tc.name, sum, rest)
		}
	}
}

func TestPlusAndJoinHoldAtTheLimits(t *testing.T) {
	const top, bottom = NUSD(math.MaxInt64), NUSD(math.MinInt64)
	for _, c := range []struct{ a, b, want NUSD }{
		{1, 2, 3},
		{top - 5, top - 5, top},
		{top, 1, top},
		{bottom + 5, bottom + 5, bottom},
		{bottom, -1, bottom},
		{top, bottom, -1},
		{-7, 3, -4},
	} {
		if got := c.a.Plus(c.b); got != c.want {
			t.Errorf("%d.Plus(%d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	for _, c := range []struct {
		whole, nanos int64
		want         NUSD
	}{
		{0, 5, 5},
		{3, 123456789, 3_123_456_789},
		{9_223_372_036, 854_775_807, top},
		{9_223_372_036, 854_775_808, top},
		{9_223_372_037, 0, top},
		{math.MaxInt64, 0, top},
		{-2, -500, -2_000_000_500},
		{math.MinInt64, 0, bottom},
	} {
		if got := Join(c.whole, c.nanos); got != c.want {
			t.Errorf("Join(%d, %d) = %d, want %d", c.whole, c.nanos, got, c.want)
		}
	}
}
