package server

import (
	"strings"
	"testing"
	"time"
)

// The lease of an agent: the setting when given, else by the machine's
// kind; and when a silent agent is given up.
func TestAgentLease(t *testing.T) {
	t0 := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name       string
		remote     bool
		setting    time.Duration
		registered bool
		leasing    int
		quiet      time.Duration
		lost       bool
	}{
		{"this host, within 30s", false, 0, true, 0, 29 * time.Second, false},
		{"this host, past 30s", false, 0, true, 0, 30 * time.Second, true},
		{"remote, a 30s outage and its reconnect", true, 0, true, 0, 75 * time.Second, false},
		{"remote, past 90s", true, 0, true, 0, 91 * time.Second, true},
		{"setting over remote default", true, 5 * time.Second, true, 0, 6 * time.Second, true},
		{"setting over local default", false, 2 * time.Minute, true, 0, 100 * time.Second, false},
		{"a lease request open", true, 5 * time.Second, true, 1, time.Hour, false},
		{"not registered (restart: waitUntil rules)", true, 5 * time.Second, false, 0, time.Hour, false},
	}
	for _, c := range cases {
		lease := agentTimeout(c.remote, c.setting)
		why := silence(c.registered, c.leasing, t0, t0.Add(c.quiet), lease)
		if (why != "") != c.lost {
			t.Errorf("%s: lease %s, silent %s: %q; want lost=%v", c.name, lease, c.quiet, why, c.lost)
		}
		if why != "" && !strings.Contains(why, lease.String()) {
			t.Errorf("%s: %q does not name the lease %s", c.name, why, lease)
		}
	}
}
