package agent

import (
	"fmt"
	"slices"
	"testing"
)

// TestMergeEnv: a task's variables (and the agent's own) replace the
// job's of the same name, wherever they stand, and are added after the
// job's others.
func TestMergeEnv(t *testing.T) {
	for _, c := range []struct {
		base, extra, want []string
	}{
		{nil, nil, []string{}},
		{[]string{"A=1", "B=2"}, nil, []string{"A=1", "B=2"}},
		{[]string{"A=1", "B=2", "C=3"}, []string{"B=x"}, []string{"A=1", "C=3", "B=x"}},
		{[]string{"A=1", "A=2"}, []string{"A="}, []string{"A="}},
		{[]string{"AB=1", "A=2"}, []string{"A=x=y"}, []string{"AB=1", "A=x=y"}},
		{[]string{"A", "B=2"}, []string{"A=1", "NOEQ"}, []string{"B=2", "A=1", "NOEQ"}},
		{[]string{"NOEQ=1"}, []string{"NOEQ"}, []string{"NOEQ=1", "NOEQ"}},
	} {
		if got := mergeEnv(c.base, c.extra); !slices.Equal(got, c.want) {
			t.Errorf("mergeEnv(%q, %q) = %q, want %q", c.base, c.extra, got, c.want)
		}
	}
}

// BenchmarkMergeEnv: a task's environment from a submitter's 50
// variables and 5 of burst's.
func BenchmarkMergeEnv(b *testing.B) {
	var base []string
	for i := range 50 {
		base = append(base, fmt.Sprintf("VAR_%d=value %d", i, i))
	}
	extra := []string{"BURST_TASK_INDEX=7", "BURST_JOB_ID=3", "VAR_9=x", "BURST_AGENT=/w", "BURST_HOME_ID=h"}
	for b.Loop() {
		mergeEnv(base, extra)
	}
}
