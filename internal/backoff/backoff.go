// Package backoff is how burst waits between tries to reach something that
// does not answer (a server restarting, a socket not listening yet): waits
// that double from a first one up to a longest one, cut short when the
// context ends. The client's retry loop (a read that rides out a server
// restart), the agent session's (lease and report across an outage),
// autostart's (waiting for a new server to answer) and Slurm native mode's
// (adopting its jobs) use it.
//
// A Backoff is one streak of failures: Reset it after a success.
package backoff

import (
	"context"
	"time"
)

// Backoff is the waits of one streak of failed tries. Not safe for
// concurrent use: each loop owns its own.
type Backoff struct {
	first, max time.Duration
	next       time.Duration // the next wait; 0: the streak has not begun
	start      time.Time     // when the streak's first wait began

	// Sleep waits d or until ctx ends (its error then); Now is the time.
	// Nil: the real clock. Tests set both to a fake one.
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
}

// New returns a Backoff whose waits are first, then twice as long each
// time, never longer than max (at least first).
func New(first, max time.Duration) *Backoff {
	return &Backoff{first: first, max: max}
}

// Next is the wait before the next try; the one after it is twice as long,
// up to the longest. The first call after New or Reset begins the streak.
func (b *Backoff) Next() time.Duration {
	if b.next <= 0 {
		b.next, b.start = b.first, b.now()
	}
	d := b.next
	b.next = min(2*d, max(b.max, b.first))
	return d
}

// Wait sleeps the next wait (Next), or less if ctx ends first: ctx's error
// then.
func (b *Backoff) Wait(ctx context.Context) error {
	d := b.Next()
	if b.Sleep != nil {
		return b.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Reset ends the streak: a try succeeded. The next wait is the first again.
func (b *Backoff) Reset() { b.next, b.start = 0, time.Time{} }

// Elapsed is how long since the streak's first wait began (0 before it):
// how long the thing tried has not answered, for a loop that gives up
// after a while.
func (b *Backoff) Elapsed() time.Duration {
	if b.next <= 0 {
		return 0
	}
	return b.now().Sub(b.start)
}

func (b *Backoff) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Sleep waits d, or until ctx ends: ctx's error then.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
