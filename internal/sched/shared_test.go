package sched

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
)

// Tasks that reserve no CPU (a map's --cpus 0, or -j above the host's
// CPUs) start past the machines' CPUs, spread over the machines by load,
// after what waits for a CPU, and are never queued at an agent.
func TestPlaceShared(t *testing.T) {
	shared := func(job int64, count int) Pending {
		return Pending{JobID: job, Res: burst.Resources{}, Count: count}
	}
	sharedRun := func(n int) Running { return Running{Res: burst.Resources{}, Count: n} }
	perMachine := func(as []Assignment) map[string]int {
		n := map[string]int{}
		for _, a := range as {
			n[a.MachineID]++
		}
		return n
	}
	tests := []struct {
		name     string
		machines []Machine
		pending  []Pending
		want     map[string]int
	}{
		{"eight on a machine of two CPUs", []Machine{mach("a", 2, 0)}, []Pending{shared(1, 8)}, map[string]int{"a": 8}},
		{"spread evenly over idle machines, not piled on one",
			[]Machine{mach("a", 2, 0), mach("b", 2, 0), mach("c", 2, 0)}, []Pending{shared(1, 9)},
			map[string]int{"a": 3, "b": 3, "c": 3}},
		{"in proportion to the machines' CPUs",
			[]Machine{mach("a", 2, 0), mach("b", 6, 0)}, []Pending{shared(1, 8)},
			map[string]int{"a": 2, "b": 6}},
		{"a machine's reserved CPUs count as load",
			[]Machine{mach("a", 4, 0, busy(4, 0)), mach("b", 4, 0)}, []Pending{shared(1, 4)},
			map[string]int{"b": 4}},
		{"tasks of no CPU already running count as load (Count of a merged entry)",
			[]Machine{mach("a", 2, 0, sharedRun(5)), mach("b", 2, 0)}, []Pending{shared(1, 6)},
			map[string]int{"a": 1, "b": 5}},
		{"machines full of reserving work still take them",
			[]Machine{mach("a", 2, 0, busy(2, 0)), mach("b", 2, 0, busy(2, 0))},
			[]Pending{task(1, 1, 0, 3), shared(2, 4)},
			map[string]int{"a": 2, "b": 2}},
		{"at most MaxSharedRunning on a machine, whatever the jobs",
			[]Machine{mach("a", 2, 0, sharedRun(1000))}, []Pending{shared(1, 20), shared(2, 20)},
			map[string]int{"a": burst.MaxSharedRunning - 1000}},
		{"a machine at the bound passes them on, though lighter, and the next takes up to it",
			[]Machine{mach("a", 2, 0, sharedRun(burst.MaxSharedRunning)), mach("b", 2, 0, busy(2, 0), sharedRun(burst.MaxSharedRunning-1))},
			[]Pending{shared(1, 3)},
			map[string]int{"b": 1}},
		{"memory they declare still bounds them",
			[]Machine{mach("a", 2, 0)}, []Pending{{JobID: 1, Res: burst.Resources{MemBytes: 4 * gib}, Count: 10}},
			map[string]int{"a": 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Place(t0, tt.pending, tt.machines)
			if n := perMachine(got); !maps.Equal(n, tt.want) {
				t.Errorf("tasks per machine %v, want %v (%v)", n, tt.want, show(got))
			}
			checkAssignments(t, 0, tt.pending, tt.machines, got)
		})
	}
}

// A map whose tasks reserve no CPU is never prefetched, even when its tasks
// are short: its agent would start every queued one at once, past its -j;
// and an entry behind it that waits for a CPU is not queued ahead of it.
func TestPrefetchShared(t *testing.T) {
	m := Machine{ID: "a", Capacity: burst.Resources{CPUs: 2, MemBytes: 4 * gib}, Accepting: true, Prefetch: 10}
	got := Place(t0, []Pending{{JobID: 1, Res: burst.Resources{MemBytes: 1 * gib}, Count: 6, Prefetch: true},
		{JobID: 2, Res: burst.Resources{CPUs: 1}, Count: 6, Prefetch: true}}, []Machine{m})
	if i := slices.IndexFunc(got, func(a Assignment) bool { return a.Queued }); i >= 0 {
		t.Errorf("queued %v: want nothing queued behind tasks of no CPU that wait (%v)", got[i], show(got))
	}
	if n := len(got); n != 6 {
		t.Errorf("placed %d: want 4 of job 1 (its memory) and 2 of job 2 (the CPUs): %v", n, show(got))
	}
}

// Why a task of no CPU waits reads as what it asks for.
func TestExplainShared(t *testing.T) {
	_, why := Explain(t0, []Pending{{JobID: 7, Res: burst.Resources{MemBytes: 32 * gib}, Count: 1}}, []Machine{mach("a", 2, 0)}, 5)
	if w := why[7]; !strings.Contains(w, "needs a share of a machine's CPUs and 32 GiB memory") {
		t.Errorf("why job 7 waits: %q", w)
	}
}
