package server

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// slots against a model: every take is the lowest number not held, puts of
// slots not held change nothing, and hold after a restart keeps a held slot
// from being taken again.
func TestSlotsLowestFree(t *testing.T) {
	var s slots
	held := map[int]bool{}
	lowest := func() int {
		for n := 1; ; n++ {
			if !held[n] {
				return n
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for step := range 20000 {
		switch op := r.IntN(10); {
		case op < 5:
			want := lowest()
			if got := s.take(); got != want {
				t.Fatalf("step %d: take = %d, want %d (held %v)", step, got, want, held)
			}
			held[want] = true
		case op < 9:
			n := r.IntN(12) // sometimes one not held, or 0
			s.put(n)
			delete(held, n)
		default:
			n := 1 + r.IntN(12)
			s.hold(n)
			held[n] = true
		}
	}
}

// A map's running tasks hold distinct slots, 1 to N with N at once; a
// slot given back is taken by the next task; a restarted server gives no
// new task the slot of one still running; {%} and $PARALLEL_JOBSLOT are
// the slot.
func TestMapJobSlots(t *testing.T) {
	h := newHarness(t)
	h.register("a", 3)
	id := h.submit(6, func(s *burst.JobSpec) { s.Map.Template = []string{"echo", "{%}"} })
	h.place()
	l := h.lease("a", 0)
	if l == nil || len(l.Tasks) != 3 {
		t.Fatalf("lease: %+v", l)
	}
	var got []int
	var refs []client.TaskRef
	for _, a := range l.Tasks {
		slot := h.c.jobs[id].running[a.Index].row.Slot
		got = append(got, slot)
		refs = append(refs, a.TaskRef)
		if want := []string{"echo", strconv.Itoa(slot)}; !slices.Equal(a.Argv, want) {
			t.Errorf("task %d: argv %q, want %q", a.Index, a.Argv, want)
		}
		if !slices.Contains(a.TaskEnv, "PARALLEL_JOBSLOT="+strconv.Itoa(slot)) {
			t.Errorf("task %d: env %q lacks PARALLEL_JOBSLOT=%d", a.Index, a.TaskEnv, slot)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("slots of 3 tasks at once: %v, want 1 2 3", got)
	}
	var evs []client.TaskEvent
	for _, r := range refs {
		evs = append(evs, started(r, h.now))
	}
	h.report("a", evs...)
	// The server restarts with the three running; then the task in slot
	// 2 ends, and the next task takes 2, not 1 or 3.
	h.restart()
	h.register("a", 3, runningAs(refs)...)
	var two client.TaskRef
	for _, r := range refs {
		if h.c.jobs[id].running[r.Index].row.Slot == 2 {
			two = r
		}
	}
	h.report("a", exited(two, 0, h.now))
	h.place()
	l = h.lease("a", 0)
	if l == nil || len(l.Tasks) != 1 {
		t.Fatalf("lease after the restart: %+v", l)
	}
	if s := h.c.jobs[id].running[l.Tasks[0].Index].row.Slot; s != 2 {
		t.Fatalf("the task started after the restart took slot %d, want 2 (1 and 3 still run)", s)
	}
	if h.task(id, two.Index).Slot != 2 {
		t.Errorf("an ended task's row keeps the slot it ran in: %+v", h.task(id, two.Index))
	}
}

// A map whose command asks for its job slot ({%}, or $PARALLEL_JOBSLOT in
// a map of commands) is never queued at agents ahead of its start, however
// short its tasks: a task waiting there would hold a slot.
func TestSlotMapsAreNotPrefetched(t *testing.T) {
	h := newHarness(t)
	h.register("a", 1)
	plain := h.submit(8)
	slot := h.submit(8, func(s *burst.JobSpec) { s.Map.Template = []string{"echo", "{%}"} })
	cmds := h.submit(8, func(s *burst.JobSpec) { s.Map.Template, s.Map.Commands = nil, true })
	h.inputs[cmds][0][3] = "CUDA_VISIBLE_DEVICES=$PARALLEL_JOBSLOT ./fit"
	h.c.jobs[cmds].sources = h.inputs[cmds]
	for _, id := range []int64{plain, slot, cmds} {
		j := h.c.jobs[id]
		j.nEnded, j.wallSum = 4, 4*time.Millisecond // four short tasks ended
	}
	if !h.c.jobs[plain].prefetch() {
		t.Error("a map of short tasks that asks for no slot should be prefetched")
	}
	if h.c.jobs[slot].prefetch() || h.c.jobs[cmds].prefetch() {
		t.Error("a map that asks for its job slot must not be prefetched")
	}
}
