package sched

import (
	"slices"
	"strings"
	"testing"
)

// TestPlaceStacksOnlyWhereTheyRun: a job that runs inside a software
// stack goes only to machines that run stacks (bwrap and user
// namespaces); other jobs go anywhere; with no such machine it waits.
func TestPlaceStacksOnlyWhereTheyRun(t *testing.T) {
	plain, able := mach("p", 4, 0), mach("s", 4, 0)
	able.Stacks = true
	stacked := task(1, 1, 0, 2)
	stacked.Stack = true
	if got := show(Place(t0, []Pending{stacked, task(2, 1, 0, 1)}, []Machine{plain, able})); !slices.Equal(got, []string{"1@s", "1@s", "2@s"}) {
		t.Errorf("got %v, want job 1's tasks on s (runs stacks), job 2's on s too (best fit)", got)
	}
	if got := show(Place(t0, []Pending{stacked, task(2, 1, 0, 1)}, []Machine{plain})); !slices.Equal(got, []string{"2@p"}) {
		t.Errorf("got %v, want job 2 alone on p (job 1 waits for a machine that runs stacks)", got)
	}
	if as := Place(t0, []Pending{stacked}, []Machine{plain}); len(as) != 0 {
		t.Errorf("placed a stack's tasks on a machine that runs none: %v", show(as))
	}
}

// TestExplainNoStackMachine: a stack job that no machine up can run waits
// with a reason that says so and where to read why.
func TestExplainNoStackMachine(t *testing.T) {
	plain := mach("p", 4, 0)
	plain.Cluster = "lab"
	stacked := task(1, 1, 0, 1)
	stacked.Stack, stacked.Cluster = true, "lab"
	_, why := Explain(t0, []Pending{stacked}, []Machine{plain}, 10)
	if want := "no machine of cluster lab can run stacks (bwrap and user namespaces: see docs/stacks.md)"; why[1] != want {
		t.Errorf("reason %q, want %q", why[1], want)
	}
	able := plain
	able.ID, able.Name, able.Stacks = "s", "s", true
	busy := task(2, 4, 0, 1)
	busy.Stack, busy.Cluster = true, "lab"
	if _, why := Explain(t0, []Pending{busy, stacked}, []Machine{plain, able}, 10); why[1] == "" || strings.Contains(why[1], "can run stacks") {
		t.Errorf("with a machine that runs stacks (full), the reason is %q: it should not say none can", why[1])
	}
}
