package api

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/store"
)

// heldEvents stands in for a server whose events' long poll waits until
// the request ends; it knows the users vic and ann (no role anywhere:
// the events' listing is theirs to ask).
type heldEvents struct {
	*standIn
	mu     sync.Mutex
	inside int
}

func (f *heldEvents) Principal(ctx context.Context, secret string) (*auth.Principal, error) {
	name, ok := strings.CutPrefix(secret, "burst_u_")
	if !ok {
		return nil, nil
	}
	return &auth.Principal{Kind: auth.User, Name: name, Roles: map[string]string{}}, nil
}

func (f *heldEvents) Events(ctx context.Context, _ store.EventFilter, _ time.Duration) ([]burst.Event, error) {
	f.mu.Lock()
	f.inside++
	f.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (f *heldEvents) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inside
}

// One user holds at most MaxStreamsPerUser waits and follows open at
// once: the next is answered 503 with Retry-After before it reaches the
// server, naming the limit and the fix; another user is not held back by
// it, and once one of the first user's streams ends, theirs goes in.
func TestStreamsPerUserBounded(t *testing.T) {
	f := &heldEvents{standIn: &standIn{}}
	h := newTest(t, f)
	open := func(who string) (*httptest.ResponseRecorder, context.CancelFunc, chan struct{}) {
		ctx, cancel := context.WithCancel(context.Background())
		r := httptest.NewRequestWithContext(ctx, "GET", "/v1/events?wait_ms=30000", nil)
		r.Header.Set("Authorization", "Bearer burst_u_"+who)
		w := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { defer close(done); h.ServeHTTP(w, r) }()
		return w, cancel, done
	}
	var cancels []context.CancelFunc
	var dones []chan struct{}
	defer func() {
		for _, c := range cancels {
			c()
		}
		for _, d := range dones {
			<-d
		}
	}()
	for range MaxStreamsPerUser {
		_, cancel, done := open("vic")
		cancels, dones = append(cancels, cancel), append(dones, done)
	}
	deadline := time.Now().Add(20 * time.Second)
	reach := func(n int, what string) {
		t.Helper()
		for f.count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d waits at the server, want %d", what, f.count(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	reach(MaxStreamsPerUser, "vic's waits up to the limit")
	w, cancel, done := open("vic")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cancel()
		<-done
		t.Fatalf("vic's wait beyond %d went in (%d waits at the server), want it refused at once", MaxStreamsPerUser, f.count())
	}
	cancel()
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || w.Header().Get(client.SlotHeader) == "" || !strings.Contains(w.Body.String(), "the limit") {
		t.Fatalf("vic's wait beyond %d: %d %q %s; want 503 with Retry-After, naming the limit", MaxStreamsPerUser, w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if f.count() != MaxStreamsPerUser {
		t.Fatalf("the refused wait reached the server (%d waits there)", f.count())
	}
	_, cancel, done = open("ann")
	cancels, dones = append(cancels, cancel), append(dones, done)
	reach(MaxStreamsPerUser+1, "ann's wait, beside vic's")
	cancels[0]()
	<-dones[0]
	_, cancel, done = open("vic")
	cancels, dones = append(cancels, cancel), append(dones, done)
	reach(MaxStreamsPerUser+2, "vic's wait once one of hers ended")
}
