package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/api"
	"github.com/burst-sh/burst/internal/apierr"
)

// A copy of the store fits when the filesystem keeps minFree after it;
// otherwise the refusal names the filesystem, what is free and what to free.
func TestCopyRoom(t *testing.T) {
	const mib = 1 << 20
	total := uint64(100 * mib) // minFree: 5 MiB
	if err := copyRoom("/m", "/m/home/backups", 10*mib, 15*mib, total); err != nil {
		t.Fatalf("10 MiB copy, 15 MiB free, 5 MiB kept: %v; want it to fit", err)
	}
	err := copyRoom("/m", "/m/home/backups", 10*mib, 15*mib-1, total)
	var ns *apierr.NoSpace
	if !errors.As(err, &ns) {
		t.Fatalf("a copy one byte short of room: %v; want *apierr.NoSpace", err)
	}
	for _, want := range []string{"/m ", "/m/home/backups", "(10 MiB)", "free at least 1 B"} {
		if !strings.Contains(ns.Msg, want) {
			t.Errorf("refusal %q does not say %q", ns.Msg, want)
		}
	}
}

// One copy at a time: a second waits its turn, and is refused with
// api.ErrCopyBusy when the first outlasts its wait, or ends with its ctx.
func TestCopyGateOneAtATime(t *testing.T) {
	g := newCopyGate()
	release, err := g.acquire(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.acquire(context.Background(), 20*time.Millisecond); !errors.Is(err, api.ErrCopyBusy) {
		t.Fatalf("second copy while the first is made: %v; want ErrCopyBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.acquire(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("second copy with its context ended: %v; want context.Canceled", err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := g.acquire(context.Background(), time.Minute)
		if err == nil {
			r()
		}
		got <- err
	}()
	release()
	if err := <-got; err != nil {
		t.Fatalf("a copy waiting its turn after the first ended: %v", err)
	}
}
