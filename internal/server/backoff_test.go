package server

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/scale"
)

// scriptedStarts is fakeProvider whose Starts fail as scripted: each
// entry of fail is the error of one Start in turn (nil: it goes through).
type scriptedStarts struct {
	fakeProvider
	smu  sync.Mutex
	fail []error
}

func (f *scriptedStarts) Start(ctx context.Context, sp provider.Spec, c provider.Connect) (provider.Handle, error) {
	f.smu.Lock()
	var err error
	if len(f.fail) > 0 {
		err, f.fail = f.fail[0], f.fail[1:]
	}
	f.smu.Unlock()
	if err != nil {
		return provider.Handle{}, err
	}
	return f.fakeProvider.Start(ctx, sp, c)
}

// The autoscaler's backoff: thirty throttled starts in a row hold a cluster
// back at most scale.MaxThrottledBackoff (not the 5 minutes of thirty
// failures), and say so; a start that goes through forgives what came
// before it, so the next failure waits 2 s again.
func TestBackoffForgivesAStart(t *testing.T) {
	s := fleetServer(t)
	throttled := provider.Throttled(errors.New("EC2 throttled the launch (RequestLimitExceeded)"))
	refused := errors.New("no capacity")
	var script []error
	for range 30 {
		script = append(script, throttled)
	}
	script = append(script, nil, refused, refused, refused, nil, refused)
	fake := &scriptedStarts{fakeProvider: fakeProvider{s: s, alive: true}, fail: script}
	s.providers[fake.Name()] = fake
	ctx := context.Background()
	if _, err := s.CreateCluster(ctx, "ann", &burst.ClusterSpec{Name: "f", Provider: "fake", Max: 5}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	c := s.clusters["f"]
	s.mu.Unlock()
	// start makes one start as the autoscaler; it returns how long the
	// cluster then waits, from the time the start returned, and what the
	// autoscaler's snapshot says blocks it.
	start := func() (time.Duration, string, error) {
		_, err := s.startMachine(c, "", "autoscaler", "work waits")
		now := time.Now()
		s.mu.Lock()
		defer s.mu.Unlock()
		var blocked string
		cl, _ := s.scaleView(now)
		for _, sc := range cl {
			if sc.Name == "f" {
				blocked = sc.Blocked
			}
		}
		return c.backoff.RetryAt.Sub(now), blocked, err
	}
	for i := range 30 {
		wait, blocked, err := start()
		if err == nil || !strings.Contains(err.Error(), "RequestLimitExceeded") {
			t.Fatalf("throttled start %d: %v", i+1, err)
		}
		if wait > scale.MaxThrottledBackoff || wait <= 0 {
			t.Fatalf("after %d throttled starts the cluster waits %s; want at most %s", i+1, wait, scale.MaxThrottledBackoff)
		}
		if !strings.Contains(blocked, "throttled") {
			t.Errorf("after %d throttled starts the autoscaler is told %q; want it to say throttled", i+1, blocked)
		}
	}
	if _, blocked, err := start(); err != nil || blocked != "" {
		t.Fatalf("the start after the throttling: %v, then blocked %q; want it started and nothing blocking", err, blocked)
	}
	for i, want := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		wait, blocked, err := start()
		if err == nil {
			t.Fatalf("refused start %d went through", i+1)
		}
		if wait > want || wait < want-time.Second {
			t.Errorf("refused start %d after a start: the cluster waits %s, want about %s", i+1, wait, want)
		}
		if !strings.Contains(blocked, "failed to start") {
			t.Errorf("after a refused start the autoscaler is told %q", blocked)
		}
	}
	if _, _, err := start(); err != nil {
		t.Fatalf("a start after refusals: %v", err)
	}
	if wait, _, err := start(); err == nil || wait > 2*time.Second || wait < time.Second {
		t.Errorf("a refusal after a start that went through: %v, waits %s; want 2 s (the 3 refusals before forgiven)", err, wait)
	}
}
