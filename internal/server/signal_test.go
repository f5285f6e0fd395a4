package server

import (
	"testing"

	"github.com/burst-sh/burst/client"
)

// A signal for a job's started tasks goes in the next lease of each one's
// machine, once; at most maxSignals wait for one machine; a task not yet
// started gets none; a machine whose tasks ended (lost) keeps none.
func TestSignalJob(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	id := h.submit(3) // 2 start, 1 waits
	h.place()
	ack, refs := h.startAll("a", 0)
	if len(refs) != 2 {
		t.Fatalf("started %v", refs)
	}
	n, state, ok := h.c.signalJob(id, -1, 10, client.SignalSteps)
	if !ok || n != 2 || state != "running" {
		t.Fatalf("signalJob = %d, %q, %v; want 2 running tasks", n, state, ok)
	}
	l := h.lease("a", ack)
	if l == nil || len(l.Signals) != 2 || l.Signals[0].Signal != 10 || l.Signals[0].Scope != client.SignalSteps {
		t.Fatalf("lease: %+v", l)
	}
	if l := h.lease("a", l.Seq); l != nil && len(l.Signals) > 0 {
		t.Errorf("a signal sent twice: %+v", l.Signals)
	}
	if n, _, _ := h.c.signalJob(id, refs[1].Index, 12, client.SignalBatch); n != 1 {
		t.Errorf("one task's signal reached %d", n)
	}
	for range maxSignals {
		h.c.signalJob(id, -1, 10, client.SignalSteps)
	}
	if got := len(h.c.machines["a"].signals); got != maxSignals {
		t.Errorf("%d signals wait for the machine, want at most %d", got, maxSignals)
	}
	h.do(func(b *batch) { h.c.loseMachine(h.c.machines["a"], "gone", h.now, b) })
	if got := len(h.c.machines["a"].signals); got != 0 {
		t.Errorf("a lost machine keeps %d signals", got)
	}
	if _, _, ok := h.c.signalJob(99, -1, 10, client.SignalSteps); ok {
		t.Error("a job the control plane does not hold was signalled")
	}
}
