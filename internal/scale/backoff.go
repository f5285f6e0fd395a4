package scale

import (
	"strconv"
	"time"
)

// Backoff is how long a cluster's autoscaler waits before it starts another
// machine, after starts that went wrong. Three things count, each apart:
//
//   - a start the provider (or the budget) refused: it may be asked again
//     once a start goes through;
//   - a machine that started but was lost before its agent registered (a
//     bad image, an agent that cannot reach the server): only a machine
//     that registers shows the cluster works;
//   - a start the provider's API throttled (provider.Throttled): nothing
//     is wrong with the cluster, the account's calls are too many for a
//     moment.
//
// The first two add up: each waits twice as long as the one before, from
// 2 s up to MaxBackoff. Throttling waits on a shorter scale, 2 s doubling
// up to MaxThrottledBackoff: a long wait would not help the API more than
// a short one, and a cloud cluster whose starts are throttled in a burst
// would otherwise be held back for minutes once the throttling is over.
//
// Backoff is pure: the caller passes the time in.
type Backoff struct {
	Refused   int // starts refused in a row, since the last that went through
	Lost      int // machines lost before they registered, since one registered
	Throttled int // starts throttled in a row, since the last that went through
	// RetryAt is when the autoscaler may start another machine.
	RetryAt time.Time
}

// The longest waits after failures and after throttling.
const (
	MaxBackoff          = 5 * time.Minute
	MaxThrottledBackoff = 10 * time.Second
)

// Failure is what went wrong with a start.
type Failure int

const (
	StartRefused   Failure = iota // the provider (or the budget) refused the start
	LostUnjoined                  // the machine was lost before it registered
	StartThrottled                // the provider's API throttled the call
)

// Failed records a failure of kind f at now and returns how long the
// autoscaler waits from now.
func (b *Backoff) Failed(now time.Time, f Failure) time.Duration {
	var d time.Duration
	switch f {
	case StartThrottled:
		b.Throttled++
		d = doubling(b.Throttled, MaxThrottledBackoff)
	case LostUnjoined:
		b.Lost++
		d = doubling(b.Refused+b.Lost, MaxBackoff)
	default:
		b.Refused++
		d = doubling(b.Refused+b.Lost, MaxBackoff)
	}
	b.RetryAt = now.Add(d)
	return d
}

// doubling is 2 s for the first failure, twice as long for each next, at
// most most.
func doubling(n int, most time.Duration) time.Duration {
	return min(time.Second<<min(n, 9), most)
}

// Started records a start the provider took: the refusals and throttling
// before it are forgiven, and with nothing else held against the cluster
// the autoscaler may start the next at once (machines lost before they
// registered are not forgiven: the next may be lost the same way).
func (b *Backoff) Started() {
	b.Refused, b.Throttled = 0, 0
	if b.Lost == 0 {
		b.RetryAt = time.Time{}
	}
}

// Clear forgets every failure: a machine's agent registered (the cluster
// works), or something that refused starts changed (the budget).
func (b *Backoff) Clear() { *b = Backoff{} }

// Failures is how many failures hold the cluster back now, for messages.
func (b *Backoff) Failures() int { return b.Refused + b.Lost + b.Throttled }

// Why says, for people, why the cluster starts nothing before RetryAt.
func (b *Backoff) Why() string {
	if b.Throttled > 0 && b.Refused+b.Lost == 0 {
		return plural(b.Throttled, "start") + " throttled by the provider; next try at " + b.RetryAt.Format(time.TimeOnly)
	}
	return plural(b.Refused+b.Lost, "machine") + " failed to start; next try at " + b.RetryAt.Format(time.TimeOnly)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
