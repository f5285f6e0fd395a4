package server

import (
	"context"
	"time"
)

// every is the shape of the server's periodic loops: it calls fn each time
// d passes, and each time a value arrives on kick (nil: never), until ctx
// ends; with first, once before the first wait too. fn runs on the loop's
// goroutine, one call at a time; a loop that must end of its own accord
// cancels the ctx it gave.
func every(ctx context.Context, d time.Duration, first bool, kick <-chan struct{}, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	if first && ctx.Err() == nil {
		fn()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
		fn()
	}
}
