package aws

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Terminations at scale. The server stops each machine in a goroutine of
// its own, so a guardrail stopping a project's 1,000 machines would be
// 1,000 TerminateInstances at once, which EC2 throttles. Instead the Stops
// of one region that come within stopWindow of each other share one call
// of up to stopBatch ids: the first waits stopWindow, then terminates
// every id queued by then, and tells each Stop how it went. EC2 refuses
// the whole call when it does not know one of the ids: then each is
// terminated alone (one it does not know is gone already).
const (
	stopWindow = 50 * time.Millisecond
	stopBatch  = 1000 // TerminateInstances' limit
)

// stopReq is one Stop waiting for its batch.
type stopReq struct {
	id   string
	done chan error // buffered: the batch never waits for the Stop
}

// terminate terminates instance id in region along with the other Stops
// of the region that come meanwhile.
func (p *Provider) terminate(ctx context.Context, region, id string) error {
	req := &stopReq{id: id, done: make(chan error, 1)}
	p.mu.Lock()
	if p.stops == nil {
		p.stops = map[string][]*stopReq{}
	}
	first := len(p.stops[region]) == 0
	p.stops[region] = append(p.stops[region], req)
	p.mu.Unlock()
	if first {
		t := time.NewTimer(stopWindow)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		for p.flush(ctx, region) {
		}
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush terminates up to stopBatch of the region's queued Stops and
// reports whether more are queued (which the caller flushes next).
func (p *Provider) flush(ctx context.Context, region string) bool {
	p.mu.Lock()
	q := p.stops[region]
	n := min(len(q), stopBatch)
	batch := q[:n:n]
	p.stops[region] = q[n:]
	more := len(q) > n
	p.mu.Unlock()
	if n == 0 {
		return false
	}
	ids := make([]string, n)
	for i, r := range batch {
		ids[i] = r.id
	}
	err := p.terminateAll(ctx, region, ids)
	if err != nil && notKnown(err) && n > 1 {
		for _, r := range batch {
			_, err := p.terminateOne(ctx, region, r.id)
			r.done <- err
		}
		return more
	}
	if notKnown(err) {
		err = nil // the one id EC2 does not know: gone already
	}
	for _, r := range batch {
		r.done <- err
	}
	return more
}

// terminateAll terminates ids in region in one call.
func (p *Provider) terminateAll(ctx context.Context, region string, ids []string) error {
	cl, _, err := p.client(ctx, region)
	if err != nil {
		return err
	}
	_, err = cl.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
	if err == nil {
		p.mu.Lock()
		for _, id := range ids {
			p.look.terminated(id)
		}
		p.mu.Unlock()
		return nil
	}
	if notKnown(err) {
		return err
	}
	return fmt.Errorf("terminate %d instances in %s: %w", len(ids), region, err)
}
