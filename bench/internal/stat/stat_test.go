package stat

import (
	"testing"
	"time"
)

func TestMedianAndPct(t *testing.T) {
	if got := Median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median of 3 1 2 = %v, want 2", got)
	}
	if got := Median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of 4 1 3 2 = %v, want 2.5", got)
	}
	d := make([]time.Duration, 10)
	for i := range d {
		d[i] = time.Duration(10-i) * time.Millisecond
	}
	if got := Pct(d, 90); got != 9*time.Millisecond {
		t.Errorf("p90 of 1..10 ms = %v, want 9ms (nearest rank below)", got)
	}
	if got := Max(d); got != 10*time.Millisecond {
		t.Errorf("max = %v, want 10ms", got)
	}
	if Median[float64](nil) != 0 || Pct[time.Duration](nil, 90) != 0 {
		t.Error("no samples should give 0")
	}
}
