package agent

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Many tasks that want the same stack at once: it is made once, and the
// others return when it is there.
func TestUnpacksOncePerKey(t *testing.T) {
	var u unpacks
	var made atomic.Bool
	var runs atomic.Int32
	started, release := make(chan struct{}, 20), make(chan struct{})
	fn := func() error {
		runs.Add(1)
		started <- struct{}{}
		<-release
		made.Store(true)
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- u.do(context.Background(), "a", made.Load, fn)
		}()
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("none of 20 callers started the unpack in 10 s")
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a caller got %v", err)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("made %d times, want once", n)
	}
}

// A task waiting for another's unpack returns when its own context ends,
// while the unpack goes on; a stack of another digest is not held up by
// it; a failed unpack leaves the next caller to try.
func TestUnpacksWaitEndsWithContext(t *testing.T) {
	var u unpacks
	started, release := make(chan struct{}), make(chan struct{})
	slowDone := make(chan error, 1)
	go func() {
		slowDone <- u.do(context.Background(), "big", func() bool { return false }, func() error {
			close(started)
			<-release
			return errors.New("fetch failed")
		})
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() { waited <- u.do(ctx, "big", func() bool { return false }, func() error { return nil }) }()
	// Another stack is made meanwhile.
	var other bool
	if err := u.do(context.Background(), "small", func() bool { return other }, func() error { other = true; return nil }); err != nil || !other {
		t.Fatalf("another stack, while one is being unpacked: err %v, made %v", err, other)
	}
	cancel()
	select {
	case err := <-waited:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("a waiter whose context ended got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiter whose context ended still waits for the unpack")
	}
	close(release)
	if err := <-slowDone; err == nil || err.Error() != "fetch failed" {
		t.Fatalf("the unpack's own error: got %v", err)
	}
	// Failed: the next caller tries again.
	var tried bool
	if err := u.do(context.Background(), "big", func() bool { return tried }, func() error { tried = true; return nil }); err != nil || !tried {
		t.Fatalf("after a failed unpack: err %v, tried %v", err, tried)
	}
}
