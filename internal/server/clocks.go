package server

import (
	"time"

	"github.com/burst-sh/burst/client"
)

// agentTimes puts the times an agent reported in evs (a task's start and
// end, and those of the srun steps its end carries) on the server's clock,
// in place: the agent's clock may be minutes off (another host), so each
// time is moved by how far the agent's clock (sentAt: its time when it
// sent them) is from the server's (now), and none is later than now nor an
// end before its start. The network's delay counts as skew: milliseconds.
// An agent that sends no sentAt (older than this rule) has its times
// kept, only capped at now.
//
// The server judges by its own clock alone: leases (lastSeen), machine
// times and join tokens never read the agent's; a task's start and end are
// the agent's, as seen from here, so that its duration is what it ran and
// the meter neither charges a task a skew nor gives one back (meter.go's
// late reports).
func agentTimes(evs []client.TaskEvent, sentAt *time.Time, now time.Time) {
	on := serverClock(sentAt, now)
	for i := range evs {
		ev := &evs[i]
		ev.StartedAt, ev.EndedAt = on(ev.StartedAt), on(ev.EndedAt)
		if ev.StartedAt != nil && ev.EndedAt != nil && ev.EndedAt.Before(*ev.StartedAt) {
			e := *ev.StartedAt
			ev.EndedAt = &e
		}
		for j := range ev.Steps { // srun's steps, timed on the same clock
			st := &ev.Steps[j]
			if st.StartedAt.IsZero() {
				continue
			}
			st.StartedAt = *on(&st.StartedAt)
			if st.EndedAt.IsZero() { // still running (a progress report's)
				continue
			}
			st.EndedAt = *on(&st.EndedAt)
			if st.EndedAt.Before(st.StartedAt) {
				st.EndedAt = st.StartedAt
			}
		}
	}
}

// serverClock is how agentTimes moves one time an agent reported (nil
// stays nil) onto the server's clock.
func serverClock(sentAt *time.Time, now time.Time) func(*time.Time) *time.Time {
	var skew time.Duration
	if sentAt != nil && !sentAt.IsZero() {
		skew = now.Sub(*sentAt)
	}
	return func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		s := t.Add(skew)
		if s.After(now) {
			s = now
		}
		return &s
	}
}
