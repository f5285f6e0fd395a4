package main

import (
	"testing"
	"time"
)

// Submitted at 0, task seen running at 40 ms, budget spent 3 s after the
// machine is metered, machine seen stopped at 3.2 s: the crossing lies in
// [3 s, 3.04 s], so the machine stopped 160-200 ms after it.
func TestWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	got := window(t0, t0.Add(40*time.Millisecond), 3*time.Second, t0.Add(3200*time.Millisecond))
	if got.lo != 160*time.Millisecond || got.hi != 200*time.Millisecond {
		t.Errorf("window = %v, want 160ms-200ms", got)
	}
	if got.String() != "160ms-200ms" {
		t.Errorf("printed %q", got.String())
	}
}
