package backoff

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when a Backoff sleeps on it.
type fakeClock struct {
	now    time.Time
	slept  []time.Duration
	cancel bool // Sleep reports the context ended, without moving
}

func (f *fakeClock) use(b *Backoff) *Backoff {
	b.Now = func() time.Time { return f.now }
	b.Sleep = func(ctx context.Context, d time.Duration) error {
		if f.cancel {
			return context.Canceled
		}
		f.slept = append(f.slept, d)
		f.now = f.now.Add(d)
		return nil
	}
	return b
}

func TestWaitsDoubleUpToMax(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	b := clk.use(New(50*time.Millisecond, 300*time.Millisecond))
	for range 6 {
		if err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{50, 100, 200, 300, 300, 300}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !slices.Equal(clk.slept, want) {
		t.Fatalf("waits %v, want %v", clk.slept, want)
	}
	if got := b.Elapsed(); got != 1250*time.Millisecond {
		t.Errorf("Elapsed = %v after waits summing to 1.25s", got)
	}
}

func TestResetStartsOver(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	b := clk.use(New(10*time.Millisecond, time.Second))
	b.Wait(context.Background())
	b.Wait(context.Background())
	if b.Elapsed() != 30*time.Millisecond {
		t.Fatalf("Elapsed = %v, want 30ms", b.Elapsed())
	}
	b.Reset()
	if b.Elapsed() != 0 {
		t.Errorf("Elapsed after Reset = %v, want 0: no streak", b.Elapsed())
	}
	clk.now = clk.now.Add(time.Hour) // a long success: not part of the next streak
	b.Wait(context.Background())
	if last := clk.slept[len(clk.slept)-1]; last != 10*time.Millisecond {
		t.Errorf("first wait after Reset = %v, want the first one (10ms)", last)
	}
	if b.Elapsed() != 10*time.Millisecond {
		t.Errorf("Elapsed = %v, want 10ms: the streak began at its first wait", b.Elapsed())
	}
}

func TestMaxBelowFirstKeepsFirst(t *testing.T) {
	clk := &fakeClock{}
	b := clk.use(New(20*time.Millisecond, 5*time.Millisecond))
	b.Wait(context.Background())
	b.Wait(context.Background())
	if !slices.Equal(clk.slept, []time.Duration{20 * time.Millisecond, 20 * time.Millisecond}) {
		t.Errorf("waits %v, want 20ms each: a max below first is first", clk.slept)
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	clk := &fakeClock{cancel: true}
	b := clk.use(New(time.Millisecond, time.Second))
	if err := b.Wait(context.Background()); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want the context's error", err)
	}
}

// The real sleep: an ended context returns at once, not after d.
func TestSleepRealClock(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Sleep with an ended context took %v", d)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep = %v, want nil", err)
	}
}
