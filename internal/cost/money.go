// Package cost prices what burst runs: a catalog of machine types and storage
// tiers with their prices (built in, overridable from $BURST_HOME/prices.yaml),
// exact money arithmetic for metering machines and charging each task its
// share, the budget arithmetic behind forecasts, and the guards' decisions:
// the guardrail and the forecast guards (guard.go) take a snapshot and
// return what the server should do.
//
// It is pure: nothing here reads a clock or does I/O, except Load, which reads
// the override file. Callers pass the time in.
package cost

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// NUSD is money in nano-dollars: integer so that sums of charges are exact.
type NUSD int64

const perDollar = 1_000_000_000 // nUSD in one US dollar

// maxDollars is the largest amount ParseUSD accepts, comfortably below the
// limit of NUSD (about $9.2 billion).
const maxDollars = 9_000_000_000

// USD converts dollars to NUSD, rounding to the nearest nano-dollar. NaN is
// zero; amounts beyond what NUSD holds are clamped to its range.
func USD(dollars float64) NUSD {
	return clampNUSD(dollars * perDollar)
}

// clampNUSD rounds v to the nearest integer within the range of NUSD.
func clampNUSD(v float64) NUSD {
	switch {
	case math.IsNaN(v):
		return 0
	case v >= math.MaxInt64:
		return math.MaxInt64
	case v <= math.MinInt64:
		return math.MinInt64
	}
	return NUSD(math.Round(v))
}

// Plus is n+m, held at the limits of NUSD rather than wrapping: a sum
// that only grows (what the cache saved, over every hit) stays at the
// most NUSD holds (about $9.2 billion) once it gets there.
func (n NUSD) Plus(m NUSD) NUSD {
	s := n + m
	switch {
	case m > 0 && s < n:
		return math.MaxInt64
	case m < 0 && s > n:
		return math.MinInt64
	}
	return s
}

// Join is whole dollars and nanos nano-dollars as NUSD, held at its
// limits: a sum a database adds up in those two parts, neither of which
// can overflow where the sum in one could.
func Join(whole, nanos int64) NUSD {
	switch {
	case whole > math.MaxInt64/perDollar:
		return math.MaxInt64
	case whole < math.MinInt64/perDollar:
		return math.MinInt64
	}
	return NUSD(whole * perDollar).Plus(NUSD(nanos))
}

// Dollars is n in dollars.
func (n NUSD) Dollars() float64 { return float64(n) / perDollar }

// Exact writes n with every digit: "$0.004213576", "-$1.000000000".
func (n NUSD) Exact() string {
	sign := ""
	u := uint64(n)
	if n < 0 {
		sign, u = "-", uint64(-(n+1))+1
	}
	return fmt.Sprintf("%s$%d.%09d", sign, u/perDollar, u%perDollar)
}

// String formats n for people: "$12.34" (rounded to the cent) from a dollar up;
// below a dollar, enough digits to show two significant figures, so that a
// small non-zero charge never reads as zero ("$0.0042", "$0.000012").
// Negative amounts read "-$1.20".
func (n NUSD) String() string {
	if n < 0 {
		// Through uint64 so that the most negative value formats too.
		return "-" + formatNUSD(uint64(-(n+1))+1)
	}
	return formatNUSD(uint64(n))
}

func formatNUSD(u uint64) string {
	if u == 0 {
		return "$0.00"
	}
	if u >= perDollar/100 {
		cents := (u + perDollar/200) / (perDollar / 100)
		return fmt.Sprintf("$%d.%02d", cents/100, cents%100)
	}
	// Below a cent: two significant digits (at most 9 decimals, 1 nUSD).
	k := len(strconv.FormatUint(u, 10)) // digits of u, 1..7
	decimals := min(9, 9-k+2)
	unit := uint64(1)
	for range 9 - decimals {
		unit *= 10
	}
	r := (u + unit/2) / unit
	s := fmt.Sprintf("%0*d", decimals, r)
	// u is below a cent and not zero: s is leading zeros, then digits.
	return "$0." + strings.TrimRight(s, "0")
}

// ParseUSD parses an amount of US dollars as people write it: "100",
// "100.50", "$100", "1e3". The amount must be zero or more.
func ParseUSD(s string) (NUSD, error) {
	in := strings.TrimSpace(s)
	hint := "give an amount in US dollars, e.g. --budget 100"
	if in == "" {
		return 0, fmt.Errorf("budget is empty: %s", hint)
	}
	t := strings.TrimPrefix(in, "$")
	if strings.HasPrefix(t, "-") || strings.HasPrefix(in, "-") {
		return 0, fmt.Errorf("budget %q: give a positive amount in US dollars, e.g. --budget 100", s)
	}
	t = strings.TrimPrefix(t, "+")
	if n, ok := parseDecimal(t); ok {
		if n > maxDollars*perDollar {
			return 0, fmt.Errorf("budget %q is too large: give at most $%d", s, maxDollars)
		}
		return n, tooSmall(s, t, n)
	}
	// Exponent forms such as 1e3 or 2.5E2. Anything that is not plain
	// decimal notation (hex floats, "inf", "nan", underscores) is refused.
	if strings.ContainsAny(t, "xXnNiI_pP") || t == "" {
		return 0, fmt.Errorf("budget %q: %s", s, hint)
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && !strings.Contains(t, "-") {
			return 0, fmt.Errorf("budget %q is too large: give at most $%d", s, maxDollars)
		}
		return 0, fmt.Errorf("budget %q: %s", s, hint)
	}
	if v < 0 {
		return 0, fmt.Errorf("budget %q: give a positive amount in US dollars, e.g. --budget 100", s)
	}
	if v > maxDollars {
		return 0, fmt.Errorf("budget %q is too large: give at most $%d", s, maxDollars)
	}
	return USD(v), tooSmall(s, t, USD(v))
}

// tooSmall refuses an amount t (as written: s) that is not zero but rounds
// to no nano-dollar: taken as 0, it read as no budget at all, the
// opposite of what was asked.
func tooSmall(s, t string, n NUSD) error {
	mantissa, _, _ := strings.Cut(strings.ToLower(t), "e")
	if n == 0 && strings.ContainsAny(mantissa, "123456789") {
		return fmt.Errorf("budget %q is below $0.000000001, the smallest amount burst counts: give at least that, or 0 for no budget", s)
	}
	return nil
}

// CheckBudget refuses a budget in dollars that no amount of money is, or
// that is not zero but rounds to no nano-dollar (which would read as no
// budget at all).
func CheckBudget(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("budget %v: give a positive amount in US dollars, e.g. --budget 100 (0 for no budget)", v)
	}
	if v > 0 && USD(v) == 0 {
		return fmt.Errorf("budget %v is below $0.000000001, the smallest amount burst counts: give at least that, or 0 for no budget", v)
	}
	return nil
}

// parseDecimal parses plain decimal notation ("12", "12.", "12.345", ".5")
// exactly, rounding half up beyond nine decimals. ok is false when t is not
// of that form or does not fit.
func parseDecimal(t string) (NUSD, bool) {
	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" && frac == "" {
		return 0, false
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 10 {
		return 0, false // more than $9,999,999,999: too large anyway
	}
	var w uint64
	for _, c := range whole {
		w = w*10 + uint64(c-'0')
	}
	var f uint64
	for i := range 9 {
		f *= 10
		if i < len(frac) {
			f += uint64(frac[i] - '0')
		}
	}
	if len(frac) > 9 && frac[9] >= '5' {
		f++
	}
	total := w*perDollar + f
	if total > math.MaxInt64 {
		return 0, false
	}
	return NUSD(total), true
}

// Accrue is the cost of running d at perHour dollars an hour, rounded to the
// nearest nano-dollar. Negative, NaN or zero rates and durations cost nothing.
func Accrue(perHour float64, d time.Duration) NUSD {
	if !(perHour > 0) || d <= 0 {
		return 0
	}
	// $/h × ns = 1e9 nUSD/$ × 1/3.6e12 h/ns: nUSD = perHour × ns / 3600.
	return clampNUSD(perHour * float64(d) / 3600)
}

// Split divides total among shares of weight weights[i]: share i is
// floor(total × w_i), and rest, what is left, is the part nobody used (the
// idle part of a machine). Weights outside [0,1] are clamped (NaN counts 0);
// if they add up to more than 1 they are scaled down to add up to 1.
// shares always add up to total − rest exactly, no share is negative, and
// rest is never negative for a total of zero or more. A negative total (a
// refund) is not split: all of it is rest.
func Split(total NUSD, weights []float64) (shares []NUSD, rest NUSD) {
	shares = make([]NUSD, len(weights))
	if total <= 0 {
		return shares, total
	}
	w := splitWeights(weights)
	// The weights now add up to at most 1 (give or take rounding), so the
	// shares add up to at most a little over total: uint64 holds that sum.
	var used uint64
	for i, x := range w {
		s := mulFloor(uint64(total), x)
		shares[i] = NUSD(s)
		used += s
	}
	// Rounding of the weights may leave their exact sum a hair above 1:
	// take any excess back from the largest shares.
	for used > uint64(total) {
		big := 0
		for i := range shares {
			if shares[i] > shares[big] {
				big = i
			}
		}
		take := min(used-uint64(total), uint64(shares[big]))
		shares[big] -= NUSD(take)
		used -= take
	}
	return shares, total - NUSD(used)
}

// splitWeights is weights as Split applies them, in a new slice: each
// clamped to [0,1], and all scaled down to add up to 1 if they add up to
// more.
func splitWeights(weights []float64) []float64 {
	w := make([]float64, len(weights))
	sum := 0.0
	for i, x := range weights {
		w[i] = clamp01(x)
		sum += w[i]
	}
	if sum > 1 {
		for i := range w {
			w[i] /= sum
		}
	}
	return w
}

// mulFloor returns floor(n × w) exactly for w in [0,1], computed in 128 bits
// from the binary value of w so that no precision is lost for large n.
func mulFloor(n uint64, w float64) uint64 {
	if w <= 0 || n == 0 {
		return 0
	}
	if w >= 1 {
		return n
	}
	frac, exp := math.Frexp(w) // w = frac × 2^exp, frac in [0.5, 1), exp <= 0
	mant := uint64(math.Ldexp(frac, 53))
	shift := uint(53 - exp) // w = mant × 2^-shift, shift >= 53
	hi, lo := bits.Mul64(n, mant)
	if shift >= 128 {
		return 0
	}
	if shift >= 64 {
		return hi >> (shift - 64)
	}
	return hi<<(64-shift) | lo>>shift
}

// Weight is a task's share of a machine: its CPUs and GPUs as fractions of
// the machine's, weighted by gpuShare, the fraction of the machine's price due
// to its GPUs (0 when the machine has none; see Catalog.GPUShare). A task
// asking for fewer than one CPU counts one (the most Shares charges a task
// that reserves none). The result lies in [0,1].
func Weight(taskCPUs, taskGPUs, machineCPUs, machineGPUs int, gpuShare float64) float64 {
	return weigh(float64(max(taskCPUs, 1)), taskGPUs, machineCPUs, machineGPUs, gpuShare)
}

// Hold is what a task holds of its machine, for Shares: its CPUs (0: it
// reserves none and shares the machine's, a map's --cpus 0) and GPUs.
type Hold struct{ CPUs, GPUs int }

// Shares appends to dst the weights (for Split) of the tasks that run on
// one machine together, in their order. A task that reserves CPUs weighs
// what Weight says: it pays for what it holds, however crowded its
// machine. The tasks that reserve none are charged together as many CPUs
// as they number, up to the CPUs the others leave unreserved but never
// under one (they run, on some CPU), in equal parts: a lone one pays as a
// task of 1 CPU; a thousand sleepers beside a task holding 1 of 2 CPUs
// share the other CPU's price; beside tasks holding every CPU they pay for
// one, and Split scales every share down to the machine's price. Their
// GPUs weigh as Weight's.
func Shares(dst []float64, tasks []Hold, machineCPUs, machineGPUs int, gpuShare float64) []float64 {
	reserved, shared := 0, 0
	for _, t := range tasks {
		if t.CPUs > 0 {
			reserved += t.CPUs
		} else {
			shared++
		}
	}
	var each float64 // the CPUs each task of no CPU is charged
	if shared > 0 {
		each = float64(min(shared, max(max(machineCPUs, 1)-reserved, 1))) / float64(shared)
	}
	for _, t := range tasks {
		if t.CPUs > 0 {
			dst = append(dst, Weight(t.CPUs, t.GPUs, machineCPUs, machineGPUs, gpuShare))
		} else {
			dst = append(dst, weigh(each, t.GPUs, machineCPUs, machineGPUs, gpuShare))
		}
	}
	return dst
}

// weigh is Weight of a task charged cpus CPUs (a fraction for one that
// reserves none: see Shares).
func weigh(cpus float64, taskGPUs, machineCPUs, machineGPUs int, gpuShare float64) float64 {
	machineCPUs = max(machineCPUs, 1)
	g := clamp01(gpuShare)
	if machineGPUs <= 0 {
		g = 0
	}
	w := (1 - g) * cpus / float64(machineCPUs)
	if machineGPUs > 0 && taskGPUs > 0 {
		w += g * float64(taskGPUs) / float64(machineGPUs)
	}
	return clamp01(w)
}

// clamp01 clamps x to [0,1], with NaN as 0.
func clamp01(x float64) float64 {
	if !(x > 0) {
		return 0
	}
	return min(x, 1)
}
