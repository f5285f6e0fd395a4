package main

import (
	"testing"
	"time"
)

// What burst adds to a start is every phase but the stand-in's boot, and
// the phases are those printed, in order.
func TestAdded(t *testing.T) {
	var ps []phase
	for i, name := range startPhases {
		ps = append(ps, phase{name, time.Duration(i+1) * time.Millisecond})
	}
	// 1+2+...+6 ms, less the stand-in's boot (the second phase, 2 ms).
	if got, want := added(ps), 19*time.Millisecond; got != want {
		t.Fatalf("added: %s, want %s", got, want)
	}
	if startPhases[1] != standinBoot {
		t.Fatalf("the stand-in's boot is not the second phase: %q", startPhases[1])
	}
}
