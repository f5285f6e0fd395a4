package agent

import (
	"strings"
	"testing"
	"time"
)

// The gate is short below twice diskroom.MinFree (5% of the filesystem, at
// most 64 MiB), reads at most once per roomEvery, and says a change only
// when it turns short or back, not when the free bytes move.
func TestRoomGate(t *testing.T) {
	var free uint64
	reads := 0
	g := roomGate{dir: "/logs", space: func(string) (uint64, uint64, bool) {
		reads++
		return free, 100 << 20, true // MinFree 5 MiB: short below 10 MiB
	}}
	now := time.Unix(1000, 0)
	step := func(f uint64, wantShort, wantChanged bool) {
		t.Helper()
		free = f
		now = now.Add(roomEvery)
		why, changed := g.short(now)
		if (why != "") != wantShort || changed != wantChanged {
			t.Fatalf("free %d: short %q changed %v; want short %v changed %v", f, why, changed, wantShort, wantChanged)
		}
		if wantShort && !strings.Contains(why, "/logs") {
			t.Fatalf("the reason does not name the directory: %q", why)
		}
	}
	step(50<<20, false, false)
	step(10<<20, false, false) // exactly the line: room
	step(10<<20-1, true, true)
	step(4<<20, true, false) // fewer bytes, still short: said once
	step(11<<20, false, true)
	n := reads
	g.short(now.Add(roomEvery / 2)) // within roomEvery: the last reading
	if reads != n {
		t.Errorf("read again within roomEvery: %d reads, want %d", reads, n)
	}
	if why, _ := (&roomGate{space: g.space}).short(now); why != "" {
		t.Errorf("a gate with no directory is never short: %q", why)
	}
}
