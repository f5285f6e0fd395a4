package scale

import (
	"strings"
	"testing"
	"time"
)

// Thirty throttled starts in a row wait at most MaxThrottledBackoff, not
// the 5 minutes of thirty failures; a start that goes through forgives
// refusals and throttling, not machines lost before they registered; a
// registration forgives everything.
func TestBackoff(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var b Backoff
	var waits []time.Duration
	for range 30 {
		d := b.Failed(now, StartThrottled)
		waits = append(waits, d)
		if !b.RetryAt.Equal(now.Add(d)) {
			t.Fatalf("RetryAt %v, want now + %s", b.RetryAt, d)
		}
		now = b.RetryAt
	}
	if waits[0] != 2*time.Second || waits[1] != 4*time.Second || waits[29] != MaxThrottledBackoff {
		t.Errorf("waits after throttled starts: %v; want 2s, 4s, ... up to %s", waits, MaxThrottledBackoff)
	}
	if why := b.Why(); !strings.Contains(why, "30 starts throttled") {
		t.Errorf("Why after throttling: %q", why)
	}

	// Refusals double up to MaxBackoff, throttling or not in between.
	b = Backoff{}
	for i := range 12 {
		d := b.Failed(now, StartRefused)
		if want := min(time.Second<<(i+1), MaxBackoff); d != want {
			t.Fatalf("refusal %d waits %s, want %s", i+1, d, want)
		}
	}
	if d := b.Failed(now, StartThrottled); d != 2*time.Second {
		t.Errorf("a throttled start after refusals waits %s, want 2s (throttling counts apart)", d)
	}
	b.Started()
	if !b.RetryAt.IsZero() {
		t.Errorf("after a start that went through the cluster still waits until %v", b.RetryAt)
	}
	if d := b.Failed(now, StartRefused); d != 2*time.Second {
		t.Errorf("a refusal after a start that went through waits %s, want 2s", d)
	}

	// Machines lost before they registered count until one registers.
	b = Backoff{}
	b.Failed(now, LostUnjoined)
	b.Failed(now, LostUnjoined)
	b.Started()
	if d := b.Failed(now, LostUnjoined); d != 8*time.Second {
		t.Errorf("a third machine lost unjoined, starts in between, waits %s, want 8s", d)
	}
	if why := b.Why(); !strings.Contains(why, "3 machines failed to start") {
		t.Errorf("Why after lost machines: %q", why)
	}
	b.Clear()
	if b != (Backoff{}) || b.Failures() != 0 {
		t.Errorf("after a registration: %+v, want nothing held", b)
	}
	if d := b.Failed(now, LostUnjoined); d != 2*time.Second {
		t.Errorf("after a registration a machine lost unjoined waits %s, want 2s", d)
	}
}
