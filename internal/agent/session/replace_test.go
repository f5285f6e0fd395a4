package session

import (
	"sync"
	"testing"

	"github.com/burst-sh/burst/client"
)

// A running task's progress supersedes its last one not yet reported, and
// goes after the events queued before it; other tasks' and other kinds'
// events stay.
func TestReplaceLockedKeepsOneProgressPerTask(t *testing.T) {
	var mu sync.Mutex
	s := New(Config{Mu: &mu}, nil)
	a := client.TaskRef{Job: 1, Index: 0, Attempt: 1}
	b := client.TaskRef{Job: 1, Index: 1, Attempt: 1}
	mu.Lock()
	defer mu.Unlock()
	s.EmitLocked(client.TaskEvent{TaskRef: a, Kind: client.EventStarted})
	s.ReplaceLocked(client.TaskEvent{TaskRef: a, Kind: client.EventProgress, UserUS: 1})
	s.ReplaceLocked(client.TaskEvent{TaskRef: b, Kind: client.EventProgress, UserUS: 10})
	s.EmitLocked(client.TaskEvent{TaskRef: b, Kind: client.EventStarted})
	s.ReplaceLocked(client.TaskEvent{TaskRef: a, Kind: client.EventProgress, UserUS: 2})
	s.ReplaceLocked(client.TaskEvent{TaskRef: a, Kind: client.EventProgress, UserUS: 3})
	evs, upTo := s.pendingLocked()
	type k struct {
		idx  int
		kind string
		us   int64
	}
	var got []k
	for _, e := range evs {
		got = append(got, k{e.Index, e.Kind, e.UserUS})
	}
	want := []k{{0, "started", 0}, {1, "progress", 10}, {1, "started", 0}, {0, "progress", 3}}
	if len(got) != len(want) {
		t.Fatalf("pending %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pending %v, want %v", got, want)
		}
	}
	if upTo != 6 {
		t.Errorf("last seq %d, want 6", upTo)
	}
}
