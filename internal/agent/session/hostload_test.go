package session

import (
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestHostLoad: an agent's session tells its host's load as slurmd reads
// it (its 5-minute load average, its free memory), the same as /proc says,
// and keeps it between reads; a native agent's tells none.
func TestHostLoad(t *testing.T) {
	avg, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		t.Skip("no /proc/loadavg here")
	}
	s := New(Config{HostLoad: true}, nil)
	l := s.hostLoad()
	if l == nil || l.CPULoad < 0 || l.FreeMemBytes <= 0 {
		t.Fatalf("host load %+v: want a load average and free memory", l)
	}
	// The 5-minute average moves slowly: sysinfo's and /proc's agree.
	if f := strings.Fields(string(avg)); len(f) > 1 {
		if want, err := strconv.ParseFloat(f[1], 64); err == nil && math.Abs(l.CPULoad-want) > 0.5 {
			t.Errorf("CPULoad %.2f, /proc/loadavg's 5-minute average %.2f", l.CPULoad, want)
		}
	}
	if again := s.hostLoad(); again != l {
		t.Errorf("read again within %s: %+v, want the one read (%+v)", loadEvery, again, l)
	}
	if l := New(Config{}, nil).hostLoad(); l != nil {
		t.Errorf("a session that tells no load: %+v", l)
	}
}
