package server

import (
	"testing"
	"time"
)

// A repeating warning is due once a key each minute: a store read that
// fails on every 2 s tick logged a line each tick, for as long as it failed.
func TestWarningsDueOnceAMinute(t *testing.T) {
	var w warnings
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	if !w.due("ended 7", at) {
		t.Fatal("the first warning was not due")
	}
	for d := 2 * time.Second; d < warnInterval; d += 2 * time.Second {
		if w.due("ended 7", at.Add(d)) {
			t.Fatalf("the warning was due again after %v", d)
		}
	}
	if !w.due("tasks 7", at.Add(time.Second)) {
		t.Error("another key's warning was held back")
	}
	if !w.due("ended 7", at.Add(warnInterval)) {
		t.Error("the warning was not due again after a minute")
	}
}
