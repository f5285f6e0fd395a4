package aws

import (
	"context"
	"slices"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/burst-sh/burst/internal/provider"
)

// look is what the last DescribeInstances of the server's instances said.
type look struct {
	at    time.Time            // when the last complete look began; zero: none yet
	busy  bool                 // a look runs: other callers answer from the last
	state map[string]seen      // instance id → what EC2 said
	fresh map[string]time.Time // started after the last look began: alive whatever it says
	gone  map[string]bool      // terminated by Stop
}

type seen struct {
	state  string // pending, running, shutting-down, ...
	reason string // EC2's state reason, when it gives one
}

func (l *look) started(id string, now time.Time) {
	if l.fresh == nil {
		l.fresh = map[string]time.Time{}
	}
	l.fresh[id] = now
}

func (l *look) terminated(id string) {
	if l.gone == nil {
		l.gone = map[string]bool{}
	}
	l.gone[id] = true
}

// liveStates are the states of an instance that exists (or soon will).
var liveStates = []string{"pending", "running", "shutting-down", "stopping", "stopped"}

// Alive implements provider.Provider. It answers from one
// DescribeInstances (all pages) per interval of every instance tagged with
// this server, in every region the provider has used, never one call per
// machine: 1,000 machines cost one call a page of 1,000. An instance is
// gone when a complete look that began after it was started does not list
// it among the live states; when EC2 does not answer, everything is alive.
func (p *Provider) Alive(ctx context.Context, h provider.Handle) bool {
	if h.External == "" {
		return false
	}
	p.mu.Lock()
	every := p.Every
	if every <= 0 {
		every = 10 * time.Second
	}
	due := !p.look.busy && time.Since(p.look.at) >= every
	if due {
		p.look.busy = true
	}
	p.mu.Unlock()
	if due {
		p.refresh(ctx)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.look.gone[h.External] {
		return false
	}
	if p.look.at.IsZero() {
		return true // no answer yet: alive until there is evidence
	}
	if t, ok := p.look.fresh[h.External]; ok && !t.Before(p.look.at) {
		return true
	}
	_, ok := p.look.state[h.External]
	return ok
}

// refresh looks at every live instance of this server. Only a look that
// completes in every region replaces the last one.
func (p *Provider) refresh(ctx context.Context) {
	begun := time.Now()
	state := map[string]seen{}
	where := map[string]string{}
	ok := true
	for _, region := range p.regionsOf("") {
		cl, _, err := p.client(ctx, region)
		if err != nil {
			ok = false
			break
		}
		if err := describe(ctx, cl.ec2, p.server(), func(in types.Instance) {
			id := sdkaws.ToString(in.InstanceId)
			s := seen{}
			if in.State != nil {
				s.state = string(in.State.Name)
			}
			if in.StateReason != nil {
				s.reason = sdkaws.ToString(in.StateReason.Message)
			}
			state[id], where[id] = s, region
		}); err != nil {
			ok = false
			break
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.look.busy = false
	if !ok {
		return
	}
	p.look.at, p.look.state = begun, state
	if p.where == nil {
		p.where = map[string]string{}
	}
	for id, r := range where {
		p.where[id] = r
	}
	for id, t := range p.look.fresh {
		if t.Before(begun) {
			delete(p.look.fresh, id) // this look judged it
		}
	}
}

// describe calls each for every live instance tagged with server, page by
// page.
func describe(ctx context.Context, c *ec2.Client, server string, each func(types.Instance)) error {
	pages := ec2.NewDescribeInstancesPaginator(c, describeInput(server))
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				each(in)
			}
		}
	}
	return nil
}

// describeInput asks for the live instances of server, 1,000 a page.
func describeInput(server string) *ec2.DescribeInstancesInput {
	return &ec2.DescribeInstancesInput{
		Filters: []types.Filter{
			{Name: sdkaws.String("tag:" + TagServer), Values: []string{server}},
			{Name: sdkaws.String("instance-state-name"), Values: slices.Clone(liveStates)},
		},
		MaxResults: sdkaws.Int32(1000),
	}
}

// Why implements provider.Explainer: the instance's state as the last look
// saw it, with EC2's reason.
func (p *Provider) Why(h provider.Handle) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.look.state[h.External]
	switch {
	case !ok && p.look.fresh[h.External].IsZero():
		return ""
	case !ok:
		return "instance " + h.External + " requested; EC2 has not listed it yet"
	case s.reason != "":
		return "instance " + h.External + " " + s.state + ": " + s.reason
	}
	return "instance " + h.External + " " + s.state + " (its agent has not joined yet)"
}
