package aws

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Launches at scale. EC2 throttles RunInstances per account and region
// (RequestLimitExceeded; besides, a bucket of 1,000 instances refilled at
// 2 a second). The server's autoscaler starts machines one after another,
// each Start one RunInstances: a Start that sat in the SDK's retries for a
// minute would hold up every other cluster's starts and stops. So a launch
// is retried briefly (launchAttempts, backoff at most launchBackoff), and
// a launch that is throttled even so closes the region's gate: every Start
// there fails at once, without calling EC2, for a cool-down that doubles
// from coolFirst up to coolMax while throttling goes on, and is reset by a
// launch that is not throttled. The autoscaler backs off the cluster on
// the failure (its own doubling backoff) and tries again later.
const (
	launchAttempts = 3               // RunInstances attempts per Start, the first included
	launchBackoff  = 2 * time.Second // the most the SDK waits between them
	coolFirst      = 2 * time.Second
	coolMax        = time.Minute
)

// boundLaunch bounds the SDK's retries of one RunInstances.
func boundLaunch(o *ec2.Options) {
	o.Retryer = retry.AddWithMaxBackoffDelay(retry.AddWithMaxAttempts(o.Retryer, launchAttempts), launchBackoff)
}

// gate is a region's launch gate: closed until until after a throttled
// launch. Pure: its callers give the time (and hold the provider's lock).
type gate struct {
	until time.Time     // launches wait until then
	cool  time.Duration // the last cool-down; zero: no throttling lately
}

// wait is how long a launch at now must wait; 0: it may go.
func (g *gate) wait(now time.Time) time.Duration {
	return max(g.until.Sub(now), 0)
}

// after records a launch's outcome at now: throttled (after its retries)
// closes the gate for a cool-down twice the last one; anything else
// opens it.
func (g *gate) after(throttled bool, now time.Time) {
	if !throttled {
		g.until, g.cool = time.Time{}, 0
		return
	}
	g.cool = min(max(2*g.cool, coolFirst), coolMax)
	g.until = now.Add(g.cool)
}
