// Package stat gives the benchmarks their summaries: medians and
// percentiles, nearest-rank, of durations and of rates.
package stat

import (
	"slices"
	"time"
)

// Pct is the p-th percentile (0-100) of d by nearest rank below: the
// element at index (len-1)*p/100 of d sorted; 0 for no samples.
func Pct[T time.Duration | float64](d []T, p int) T {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

// Median is the middle of d sorted, or the mean of the two middle ones
// for an even count; 0 for no samples.
func Median[T time.Duration | float64](d []T) T {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Max is the largest of d; 0 for no samples.
func Max[T time.Duration | float64](d []T) T {
	if len(d) == 0 {
		return 0
	}
	return slices.Max(d)
}
