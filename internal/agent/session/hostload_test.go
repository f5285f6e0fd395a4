package session

import (
	"os"
	"testing"
)

// TestHostLoad: an agent's session tells its host's load, read from /proc
// as slurmd reads it (its 5-minute load average, its free memory), and
// keeps it between reads; a native agent's tells none.
func TestHostLoad(t *testing.T) {
	if _, err := os.Stat("/proc/loadavg"); err != nil {
		t.Skip("no /proc/loadavg here")
	}
	s := New(Config{HostLoad: true}, nil)
	l := s.hostLoad()
	if l == nil || l.CPULoad < 0 || l.FreeMemBytes <= 0 {
		t.Fatalf("host load %+v: want a load average and free memory", l)
	}
	if again := s.hostLoad(); again != l {
		t.Errorf("read again within %s: %+v, want the one read (%+v)", loadEvery, again, l)
	}
	if l := New(Config{}, nil).hostLoad(); l != nil {
		t.Errorf("a session that tells no load: %+v", l)
	}
}
