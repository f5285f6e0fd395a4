package aws

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Launches at scale. EC2 throttles RunInstances per account and region
// (RequestLimitExceeded; besides, a bucket of 1,000 instances refilled at
// 2 a second). The server's autoscaler starts machines one after another,
// each Start one RunInstances, and backs a cluster off when a start is
// throttled (2 s, doubling up to 10 s: scale.Backoff): the exponential
// backoff EC2 asks of its callers. A Start that sat in the SDK's own retries for a minute (8
// attempts, up to 20 s apart) would hold up every other cluster's starts
// and stops meanwhile, so a launch is retried briefly (launchAttempts,
// at most launchBackoff apart), then fails as a Start error, and the
// autoscaler's backoff takes over.
const (
	launchAttempts = 3               // RunInstances attempts per Start, the first included
	launchBackoff  = 2 * time.Second // the most the SDK waits between them
)

// boundLaunch bounds the SDK's retries of one RunInstances.
func boundLaunch(o *ec2.Options) {
	o.Retryer = retry.AddWithMaxBackoffDelay(retry.AddWithMaxAttempts(o.Retryer, launchAttempts), launchBackoff)
}
