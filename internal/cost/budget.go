package cost

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Budget is what a project may spend, and when it warns.
type Budget struct {
	Amount NUSD      // 0 = no budget
	Start  time.Time // project creation
	Ends   time.Time // zero = open-ended
	Warn   []float64 // fractions of Amount, e.g. [0.5, 0.8]; nil → DefaultWarn
}

// DefaultWarn are the warning thresholds of a budget that names none.
var DefaultWarn = []float64{0.5, 0.8}

// Level grades where spending stands against the budget.
type Level string

const (
	LevelOK        Level = "ok"
	LevelWarn      Level = "warn"      // a warning threshold is crossed
	LevelExhausted Level = "exhausted" // spent all of the budget
	LevelNone      Level = "none"      // no budget
)

// Status is an assessment of spending against a budget at one instant.
type Status struct {
	Budget    NUSD
	Spent     NUSD
	Remaining NUSD // Budget − Spent; negative when overspent
	// (What it will have spent by Ends is Forecasting's: the burn of one
	// instant says nothing of the days to come.)
	BurnPerHour   float64 // $/h, as given
	DaysRemaining float64 // until Ends (DaysLeft): 0 when passed, -1 when open-ended
	Fraction      float64 // Spent / Budget (0 without a budget)
	Level         Level
	// Threshold is the highest warning threshold crossed, 1 when exhausted,
	// 0 when none.
	Threshold float64
	// ExhaustedAt is when spending reaches the budget at the current burn;
	// nil when exhausted already, when not burning, or without a budget.
	ExhaustedAt *time.Time
}

// thresholds are b's warning thresholds: those of Warn (or DefaultWarn) in
// (0,1), sorted and without duplicates.
func (b Budget) thresholds() []float64 {
	w := b.Warn
	if w == nil {
		w = DefaultWarn
	}
	var out []float64
	for _, x := range w {
		if x > 0 && x < 1 {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// mark is the amount at which spending crosses the fraction t of the budget.
func (b Budget) mark(t float64) NUSD {
	if t >= 1 {
		return b.Amount
	}
	return clampNUSD(float64(b.Amount) * t)
}

// Assess grades spending of spent, burning burnPerHour $/h, against b at now.
func Assess(b Budget, spent NUSD, burnPerHour float64, now time.Time) Status {
	s := Status{Spent: spent, BurnPerHour: burnPerHour, DaysRemaining: DaysLeft(now, b.Ends)}
	if b.Amount <= 0 {
		s.Level = LevelNone
		return s
	}
	s.Budget = b.Amount
	s.Remaining = b.Amount - spent
	s.Fraction = float64(spent) / float64(b.Amount)
	s.Level = LevelOK
	if spent >= b.Amount {
		s.Level, s.Threshold = LevelExhausted, 1
		return s
	}
	for _, t := range b.thresholds() {
		if spent >= b.mark(t) {
			s.Level, s.Threshold = LevelWarn, t
		}
	}
	if at, ok := WhenCrosses(spent, b.Amount, burnPerHour, now); ok {
		s.ExhaustedAt = &at
	}
	return s
}

// Crossed returns the thresholds of b, as fractions and including 1 for the
// budget itself, that spending crosses going from from to to: those whose
// amount lies in (from, to], in ascending order. None when spending does not
// grow or there is no budget. One event per threshold crossed.
func Crossed(b Budget, from, to NUSD) []float64 {
	if b.Amount <= 0 || to <= from {
		return nil
	}
	var out []float64
	for _, t := range append(b.thresholds(), 1) {
		if m := b.mark(t); from < m && m <= to {
			out = append(out, t)
		}
	}
	return out
}

// WhenCrosses returns the instant at which spending that was spent at at and
// grows by burnPerHour $/h reaches target: at itself when already there.
// ok is false if it never does (no burn, or not within the range of time).
func WhenCrosses(spent, target NUSD, burnPerHour float64, at time.Time) (time.Time, bool) {
	if spent >= target {
		return at, true
	}
	if !(burnPerHour > 0) || math.IsInf(burnPerHour, 0) {
		return time.Time{}, false
	}
	// nUSD = burnPerHour × ns / 3600, so ns = nUSD × 3600 / burnPerHour.
	ns := math.Ceil(float64(target-spent) * 3600 / burnPerHour)
	if ns >= math.MaxInt64 {
		return time.Time{}, false
	}
	return at.Add(time.Duration(ns)), true
}

// ParseThresholds parses warning thresholds as percentages or fractions of
// the budget: "50%,80%,95%" or "0.5,0.8". Each must lie strictly between 0
// and 100%; the result is sorted, without duplicates.
func ParseThresholds(s string) ([]float64, error) {
	const eg = "e.g. 50%,80%,95%"
	var out []float64
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		num, pct := strings.CutSuffix(item, "%")
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("warning threshold %q: give percentages or fractions of the budget, %s", item, eg)
		}
		if pct {
			v /= 100
		} else if v >= 1 && v < 100 {
			return nil, fmt.Errorf("warning threshold %q: write a percentage with %%, e.g. %s%%, or a fraction, e.g. %s",
				item, item, strconv.FormatFloat(v/100, 'f', -1, 64))
		}
		if !(v > 0 && v < 1) {
			return nil, fmt.Errorf("warning threshold %q: give a share between 0%% and 100%%, %s (at 100%% the budget itself stops work)", item, eg)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("warning thresholds %q: give percentages or fractions of the budget, %s", s, eg)
	}
	slices.Sort(out)
	return slices.CompactFunc(out, func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }), nil
}
