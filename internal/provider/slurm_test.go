package provider

import (
	"context"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// What one squeue tells about the pilots: jobs submitted too recently for it
// stay pending, a squeue that began before one already applied changes
// nothing, and until one has answered no pilot is taken for gone.
func TestSlurmSqueueApply(t *testing.T) {
	s := &Slurm{}
	h := func(id string) Handle { return Handle{External: "slurm job " + id} }
	s.mu.Lock()
	s.tried, s.busy = true, true // no squeue of its own: the test hands them in
	s.states = map[string]string{"7": "PENDING"}
	s.fresh = map[string]time.Time{"7": t0.Add(2 * time.Second)}
	s.mu.Unlock()
	if !s.Alive(context.Background(), h("99")) {
		t.Fatal("before any squeue answered, a pilot must not be taken for gone")
	}

	// Begun before job 7 was submitted: it cannot list it.
	s.apply(map[string]string{"5": "RUNNING"}, nil, t0, t0.Add(time.Minute))
	if !s.alive("7") || !s.alive("5") || s.alive("99") {
		t.Fatalf("after a squeue begun before the submission: %v", s.states)
	}
	// Begun after it, not listing it, within 10 s of it: still pending.
	s.apply(map[string]string{"5": "RUNNING"}, nil, t0.Add(3*time.Second), t0.Add(4*time.Second))
	if !s.alive("7") {
		t.Fatalf("a pilot submitted 2 s ago must stay pending: %v", s.states)
	}
	// A slow squeue begun earlier answering last changes nothing.
	s.apply(map[string]string{}, nil, t0.Add(time.Second), t0.Add(30*time.Second))
	if !s.alive("5") || !s.alive("7") {
		t.Fatalf("a squeue begun before the one applied must not be applied: %v", s.states)
	}
	// Begun after the submission and listing it: squeue tells from now on.
	s.apply(map[string]string{"5": "RUNNING", "7": "RUNNING"}, nil, t0.Add(5*time.Second), t0.Add(6*time.Second))
	if _, ok := s.fresh["7"]; ok || !s.alive("7") {
		t.Fatalf("a pilot squeue listed is no longer fresh: %v %v", s.states, s.fresh)
	}
	s.apply(map[string]string{"5": "RUNNING"}, nil, t0.Add(7*time.Second), t0.Add(8*time.Second))
	if s.alive("7") {
		t.Fatalf("a pilot squeue no longer lists is gone: %v", s.states)
	}
	// A fresh pilot never listed, 10 s after its submission, is gone.
	s.mu.Lock()
	s.fresh["8"] = t0.Add(9 * time.Second)
	s.mu.Unlock()
	s.apply(map[string]string{}, nil, t0.Add(10*time.Second), t0.Add(25*time.Second))
	if s.alive("8") || s.Alive(context.Background(), h("8")) {
		t.Fatalf("a pilot no squeue has listed 16 s after its submission is gone: %v", s.states)
	}
}
