package server

import (
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// Times an agent reports are read against its clock when it sent them:
// an agent minutes behind or ahead reports times the server agrees with,
// never later than the server's now, and no end before its start; so are
// the times of the srun steps a task's end carries (sacct lists them beside
// the job's: a step must not start minutes before its job did).
func TestAgentTimes(t *testing.T) {
	now := time.Date(2027, 1, 2, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	cases := []struct {
		name               string
		sent               *time.Time
		start, end         *time.Time
		wantStart, wantEnd time.Time
	}{
		{"clock right", at(0), at(-3 * time.Second), at(-time.Second), now.Add(-3 * time.Second), now.Add(-time.Second)},
		{"clock 5m behind", at(-5 * time.Minute), at(-5*time.Minute - 3*time.Second), at(-5*time.Minute - time.Second), now.Add(-3 * time.Second), now.Add(-time.Second)},
		{"clock 5m ahead", at(5 * time.Minute), at(5*time.Minute - 3*time.Second), at(5*time.Minute - time.Second), now.Add(-3 * time.Second), now.Add(-time.Second)},
		{"a report held through an outage", at(-5 * time.Minute), at(-6 * time.Minute), at(-5*time.Minute - 30*time.Second), now.Add(-time.Minute), now.Add(-30 * time.Second)},
		{"no send time, ahead: capped at now", nil, at(time.Minute), at(2 * time.Minute), now, now},
		{"an end before its start", at(0), at(-time.Second), at(-2 * time.Second), now.Add(-time.Second), now.Add(-time.Second)},
	}
	for _, c := range cases {
		steps := []burst.Step{{ID: 0, StartedAt: *c.start, EndedAt: *c.end}, {ID: 1}}
		evs := []client.TaskEvent{{Kind: client.EventExited, StartedAt: c.start, EndedAt: c.end, Steps: steps}, {Kind: client.EventProgress}}
		agentTimes(evs, c.sent, now)
		if s := evs[0].Steps[0]; !s.StartedAt.Equal(c.wantStart) || !s.EndedAt.Equal(c.wantEnd) {
			t.Errorf("%s: step %s to %s; want %s to %s", c.name, s.StartedAt, s.EndedAt, c.wantStart, c.wantEnd)
		}
		if s := evs[0].Steps[1]; !s.StartedAt.IsZero() || !s.EndedAt.IsZero() {
			t.Errorf("%s: a step without times got some: %+v", c.name, s)
		}
		if !evs[0].StartedAt.Equal(c.wantStart) || !evs[0].EndedAt.Equal(c.wantEnd) {
			t.Errorf("%s: %s to %s; want %s to %s", c.name, evs[0].StartedAt, evs[0].EndedAt, c.wantStart, c.wantEnd)
		}
		if evs[1].StartedAt != nil || evs[1].EndedAt != nil {
			t.Errorf("%s: an event without times got some: %+v", c.name, evs[1])
		}
	}
}
