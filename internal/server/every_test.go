package server

import (
	"context"
	"testing"
	"time"
)

// every calls fn once before waiting only when asked, once per kick, and
// returns when its ctx ends, even while a tick never comes.
func TestEvery(t *testing.T) {
	for _, first := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		kick := make(chan struct{})
		calls := make(chan int, 4)
		n := 0
		done := make(chan struct{})
		recv := func() int {
			select {
			case got := <-calls:
				return got
			case <-time.After(10 * time.Second):
				t.Fatalf("first=%v: fn not called", first)
				return 0
			}
		}
		go func() {
			defer close(done)
			every(ctx, time.Hour, first, kick, func() { n++; calls <- n })
		}()
		if first {
			if got := recv(); got != 1 {
				t.Fatalf("first: call %d before any wait, want 1", got)
			}
		}
		kick <- struct{}{} // taken only by the loop's select: fn is not running
		kick <- struct{}{} // ... so the first kick's call has returned
		want := 2
		if first {
			want = 3
		}
		recv()
		if got := recv(); got != want {
			t.Errorf("first=%v: %d calls after two kicks, want %d", first, got, want)
		}
		cancel()
		<-done
		select {
		case got := <-calls:
			t.Errorf("first=%v: a call (%d) after the kicks", first, got)
		default:
		}
	}
}
