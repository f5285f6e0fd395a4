package burst

import (
	"slices"
	"testing"
)

// TestMergeSteps: a running task's steps so far, from progress reports that
// each carry the steps changed since the one before: a step's later record
// replaces its earlier one, a new step goes in its place by id, at most
// MaxSteps, and the steps merged into are not changed.
func TestMergeSteps(t *testing.T) {
	old := []Step{{ID: 0, State: Running}, {ID: 2, State: Running}}
	got := MergeSteps(old, []Step{{ID: 1, State: Running}, {ID: 0, State: Succeeded}})
	if ids := []int{got[0].ID, got[1].ID, got[2].ID}; len(got) != 3 || !slices.Equal(ids, []int{0, 1, 2}) || got[0].State != Succeeded {
		t.Errorf("merged: %+v", got)
	}
	if old[0].State != Running {
		t.Errorf("the steps merged into changed: %+v", old)
	}
	if got := MergeSteps(old, nil); len(got) != 2 {
		t.Errorf("nothing new: %+v", got)
	}
	full := make([]Step, MaxSteps)
	for i := range full {
		full[i].ID = i
	}
	if got := MergeSteps(full, []Step{{ID: MaxSteps}, {ID: 3, State: Failed}}); len(got) != MaxSteps || got[3].State != Failed {
		t.Errorf("over MaxSteps: %d steps, step 3 %+v", len(got), got[3])
	}
}
