package server

import "testing"

// An agent's report points a task's row only at a pack file beside the
// task's own log, of the same stream.
func TestPackOf(t *testing.T) {
	log := "/h/logs/3/0/7.out"
	for _, c := range []struct {
		pack string
		ok   bool
	}{
		{"/h/logs/3/0/pack-local-1.out", true},
		{"", false},
		{"/h/logs/3/0/pack-local-1.err", false}, // the other stream's
		{"/h/logs/3/1/pack-local-1.out", false}, // another folder
		{"/h/logs/4/0/pack-local-1.out", false}, // another job
		{"/etc/pack-x.out", false},
		{"/h/logs/3/0/8.out", false}, // another task's log
		{"/h/logs/3/0/../0/pack-a.out", false},
	} {
		if got := packOf(log, c.pack); got != c.ok {
			t.Errorf("packOf(%q, %q) = %v, want %v", log, c.pack, got, c.ok)
		}
	}
}
