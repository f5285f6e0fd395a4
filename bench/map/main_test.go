package main

import (
	"slices"
	"testing"
)

// Every method runs once per round, and across rounds each one starts a
// round in turn: no method always follows the same one.
func TestRotation(t *testing.T) {
	for r, want := range [][]int{{0, 1, 2, 3}, {1, 2, 3, 0}, {2, 3, 0, 1}, {3, 0, 1, 2}, {0, 1, 2, 3}} {
		if got := rotation(r, 4); !slices.Equal(got, want) {
			t.Errorf("round %d: order %v, want %v", r, got, want)
		}
	}
}

func TestMedianOfRatios(t *testing.T) {
	// Rounds where a is 2x, 1x and 4x b: the median round says 2x, which
	// the ratio of the median rates (3/1.5) would not.
	if got := medianOfRatios([]float64{2, 3, 4}, []float64{1, 3, 1}); got != 2 {
		t.Errorf("median of ratios 2, 1, 4 = %v, want 2", got)
	}
}

// The progress line reads the TASKS column of the map's row in the table
// `burst jobs` prints.
func TestProgress(t *testing.T) {
	table := []byte(`ID  NAME   PROJECT  STATE      TASKS       CPUS  MEM  GPUS  SUBMITTED  DURATION  COST          EXIT
12  true   default  running    4163/20000  1     -    0     just now   20s       $0.000000016  -
2   true   default  succeeded  3/3         1     -    0     just now   4ms       $0.000000062  0
`)
	if got := progress(table, 12); got != "4163/20000" {
		t.Errorf("job 12: %q, want 4163/20000", got)
	}
	if got := progress(table, 2); got != "3/3" {
		t.Errorf("job 2: %q, want 3/3", got)
	}
	if got := progress(table, 7); got != "?" {
		t.Errorf("job 7, not listed: %q, want ?", got)
	}
}
