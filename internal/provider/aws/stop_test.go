package aws

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/burst-sh/burst/internal/provider"
)

// Stops that come together share one TerminateInstances (the EC2
// stand-in, a test double, counts the calls); when EC2 does not know one
// of the ids, each is terminated alone, and the one it does not know is
// gone already: no error.
func TestStopsShareCalls(t *testing.T) {
	p, conn, sp, control := againstStandin(t)
	ctx := context.Background()
	start := func(n int, prefix string) []provider.Handle {
		var hs []provider.Handle
		for i := range n {
			sp.ID = fmt.Sprintf("%s-%d", prefix, i)
			h, err := p.Start(ctx, sp, conn)
			if err != nil {
				t.Fatalf("Start %s: %v", sp.ID, err)
			}
			hs = append(hs, h)
		}
		return hs
	}
	stopAll := func(hs []provider.Handle) {
		var wg sync.WaitGroup
		errs := make([]error, len(hs))
		for i, h := range hs {
			wg.Go(func() { errs[i] = p.Stop(ctx, h) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Stop %s: %v", hs[i].External, err)
			}
		}
	}
	terminations := func() int {
		calls, err := control.Calls(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return calls["TerminateInstances"]
	}
	gone := func(hs []provider.Handle) {
		ins, err := control.Instances(ctx)
		if err != nil {
			t.Fatal(err)
		}
		state := map[string]string{}
		for _, in := range ins {
			state[in.ID] = in.State
		}
		for _, h := range hs {
			if s := state[h.External]; s != "terminated" && s != "shutting-down" {
				t.Errorf("instance %s is %q after its Stop", h.External, s)
			}
		}
	}

	hs := start(30, "a")
	stopAll(hs)
	if n := terminations(); n < 1 || n > 2 {
		t.Errorf("30 Stops at once made %d TerminateInstances calls, want 1 (2 if they straddled the window)", n)
	}
	gone(hs)

	// One id EC2 does not know, in a region the provider has used.
	hs = start(3, "b")
	unknown := provider.Handle{External: "i-0000000000000dead"}
	p.mu.Lock()
	p.where[unknown.External] = "us-east-1"
	p.mu.Unlock()
	before := terminations()
	stopAll(append(hs, unknown))
	if n := terminations() - before; n < 2 {
		t.Errorf("a batch with an id EC2 does not know made %d calls: want the batch, then each alone", n)
	}
	gone(hs)
	if err := p.Stop(ctx, hs[0]); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}
