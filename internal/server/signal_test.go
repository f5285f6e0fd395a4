package server

import (
	"context"
	"strings"
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
	n, state, ok := h.c.signalJob(id, -1, client.TaskSignal{Signal: 10, Scope: client.SignalSteps})
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
	if n, _, _ := h.c.signalJob(id, refs[1].Index, client.TaskSignal{Signal: 12, Scope: client.SignalBatch}); n != 1 {
		t.Errorf("one task's signal reached %d", n)
	}
	for range maxSignals {
		h.c.signalJob(id, -1, client.TaskSignal{Signal: 10, Scope: client.SignalSteps})
	}
	if got := len(h.c.machines["a"].signals); got != maxSignals {
		t.Errorf("%d signals wait for the machine, want at most %d", got, maxSignals)
	}
	h.do(func(b *batch) { h.c.loseMachine(h.c.machines["a"], "gone", h.now, b) })
	if got := len(h.c.machines["a"].signals); got != 0 {
		t.Errorf("a lost machine keeps %d signals", got)
	}
	if _, _, ok := h.c.signalJob(99, -1, client.TaskSignal{Signal: 10, Scope: client.SignalSteps}); ok {
		t.Error("a job the control plane does not hold was signalled")
	}
}

// A task its agent took to start, whose start the agent has not reported
// yet (it reports starts a moment late, in batches), keeps a signal sent
// meanwhile and gets it with the next lease after its start is reported:
// it was left out, the job read as pending, and scancel -s of a job whose
// script was already printing said "Job can not be altered now". A task
// prefetched (waiting at its agent for room) is pending: it gets none.
func TestSignalBeforeStartReported(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	id := h.submit(1)
	h.place()
	l := h.lease("a", 0)
	if l == nil || len(l.Tasks) != 1 {
		t.Fatalf("lease: %+v", l)
	}
	n, state, ok := h.c.signalJob(id, -1, client.TaskSignal{Signal: 10, Scope: client.SignalSteps})
	if !ok || n != 1 || state != "running" {
		t.Fatalf("signalJob before the start was reported = %d, %q, %v; want 1 task, running", n, state, ok)
	}
	if l2 := h.lease("a", l.Seq); l2 != nil && len(l2.Signals) > 0 {
		t.Fatalf("a signal went out before the task's start was known: %+v", l2.Signals)
	}
	h.report("a", started(l.Tasks[0].TaskRef, h.now))
	l3 := h.lease("a", l.Seq)
	if l3 == nil || len(l3.Signals) != 1 || l3.Signals[0].Signal != 10 || l3.Signals[0].TaskRef != l.Tasks[0].TaskRef {
		t.Fatalf("lease after the start: %+v, want the signal", l3)
	}

	h.register("b", 1)
	queued := h.submit(1)
	h.place()
	rs := h.c.jobs[queued].running
	if len(rs) != 1 {
		t.Fatalf("the second job's tasks: %+v, want one placed on b", rs)
	}
	for _, rt := range rs {
		rt.queued = true // as a prefetch places it: the agent starts it when it has room
	}
	if n, _, _ := h.c.signalJob(queued, -1, client.TaskSignal{Signal: 10, Scope: client.SignalSteps}); n != 0 {
		t.Errorf("a prefetched task took a signal (%d)", n)
	}
}

// scontrol notify: the message goes, once, in the next lease of the
// machine running the job's task, as a TaskSignal of no signal; a task
// that has not started (waiting for room, or its start not yet reported)
// gets none, as Slurm 22.05 refuses a notify to a pending job ("Requested
// operation is presently disabled"); an empty message, or one of several
// lines, is refused.
func TestNotifyJob(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	id := h.submit(2) // one starts, one waits
	h.place()
	ack, refs := h.startAll("a", 0)
	if len(refs) != 1 {
		t.Fatalf("started %v", refs)
	}
	notify := client.TaskSignal{Scope: client.SignalBatch, Message: "hello world"}
	if n, _, _ := h.c.signalJob(id, refs[0].Index, notify); n != 1 {
		t.Fatalf("the running task: told %d, want 1", n)
	}
	l := h.lease("a", ack)
	if l == nil || len(l.Signals) != 1 || l.Signals[0].Signal != 0 || l.Signals[0].Message != "hello world" || l.Signals[0].TaskRef != refs[0] {
		t.Fatalf("lease: %+v, want the message for %v", l, refs[0])
	}
	waiting := 1 - refs[0].Index
	if n, _, _ := h.c.signalJob(id, waiting, notify); n != 0 {
		t.Errorf("the waiting task was told (%d)", n)
	}
	h.register("b", 1)
	other := h.submit(1)
	h.place()
	if l := h.lease("b", 0); l == nil || len(l.Tasks) != 1 {
		t.Fatalf("lease of b: %+v", l)
	}
	if n, _, _ := h.c.signalJob(other, -1, notify); n != 0 {
		t.Errorf("a task whose start is not reported was told (%d)", n)
	}
	for _, msg := range []string{"", "two\nlines", strings.Repeat("x", maxNotify+1)} {
		if _, err := h.srv.Notify(context.Background(), id, 0, msg); err == nil {
			t.Errorf("notify %q: taken", msg)
		}
	}
	// Not a batch script: its task has no error file of its own to write
	// the message into; refused rather than told delivered and lost.
	if _, err := h.srv.Notify(context.Background(), id, refs[0].Index, "hello"); err == nil || !strings.Contains(err.Error(), "burst logs") {
		t.Errorf("notify of a job that is no batch script: %v; want a refusal naming burst logs", err)
	}
}
