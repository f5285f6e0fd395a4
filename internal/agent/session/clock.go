package session

import (
	"log/slog"
	"os"
	"time"

	"github.com/burst-sh/burst/client"
)

// ClockSkewEnv is a test hook: BURST_TEST_CLOCK_SKEW=+5m (or -90s) makes the
// agent report every time as a host whose clock is that far off would (its
// tasks' start and end times and the send time of each report and
// registration). Test hosts here share this host's realtime clock (a time
// namespace offsets only the monotonic and boot clocks), so this is how the
// suite shows that the server judges by its own clock. It changes nothing
// else the agent does.
const ClockSkewEnv = "BURST_TEST_CLOCK_SKEW"

// clock is the agent's clock as the server hears it: the host's, off by
// skew (zero but under the test hook).
type clock struct{ skew time.Duration }

func testClock(log *slog.Logger) clock {
	v := os.Getenv(ClockSkewEnv)
	if v == "" {
		return clock{}
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		log.Warn("ignoring "+ClockSkewEnv+": give a duration such as +5m or -90s", "value", v)
		return clock{}
	}
	log.Warn("test hook: this agent reports times off by "+d.String(), "env", ClockSkewEnv)
	return clock{d}
}

// stamp is evs as sent now: their times on this clock (copies: the queued
// events are left alone, so a report sent again is not shifted twice), and
// this clock's time of sending.
func (c clock) stamp(evs []client.TaskEvent) ([]client.TaskEvent, *time.Time) {
	now := time.Now().UTC().Add(c.skew)
	if c.skew == 0 {
		return evs, &now
	}
	out := make([]client.TaskEvent, len(evs))
	for i, ev := range evs {
		if ev.StartedAt != nil {
			t := ev.StartedAt.Add(c.skew)
			ev.StartedAt = &t
		}
		if ev.EndedAt != nil {
			t := ev.EndedAt.Add(c.skew)
			ev.EndedAt = &t
		}
		out[i] = ev
	}
	return out, &now
}
