package sched

import (
	"maps"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// held is work of job holding cpus with no time limit.
func held(job int64, cpus int) Running {
	return Running{Res: burst.Resources{CPUs: cpus}, JobID: job}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name     string
		machines []Machine
		pending  []Pending
		want     map[int64]string
	}{
		{
			name:     "every CPU held by one job",
			machines: []Machine{mach("local-1", 2, 0, held(11, 2))},
			pending:  []Pending{task(12, 2, 0, 1)},
			want:     map[int64]string{12: "needs 2 CPUs: local-1 has 0 of 2 CPUs free, held by job 11"},
		},
		{
			name:     "held by several jobs, the largest first",
			machines: []Machine{mach("local-1", 4, 0, held(3, 1), held(5, 2), held(3, 0), held(7, 1))},
			pending:  []Pending{task(9, 2, 0, 1)},
			want:     map[int64]string{9: "needs 2 CPUs: local-1 has 0 of 4 CPUs free, held by jobs 5, 3 and 7"},
		},
		{
			name:     "this round's placements hold CPUs too: the later job waits behind the earlier",
			machines: []Machine{mach("local-1", 2, 0)},
			pending:  []Pending{task(1, 1, 0, 2), task(2, 1, 0, 3)},
			want:     map[int64]string{2: "needs 1 CPU: local-1 has 0 of 2 CPUs free, held by job 1"},
		},
		{
			name:     "a job that starts in part waits for the rest",
			machines: []Machine{mach("local-1", 2, 0)},
			pending:  []Pending{task(1, 1, 0, 5)},
			want:     map[int64]string{1: "needs 1 CPU: local-1 has 0 of 2 CPUs free, held by job 1"},
		},
		{
			name:     "nothing waits: no reason",
			machines: []Machine{mach("local-1", 4, 0)},
			pending:  []Pending{task(1, 1, 0, 2)},
			want:     map[int64]string{},
		},
		{
			name:     "memory is short, held by a shared host's other machines",
			machines: []Machine{mach("local-1", 4, 0, Running{Res: burst.Resources{CPUs: 1, MemBytes: 12 * gib}, Holder: "machines of cluster work"})},
			pending:  []Pending{{JobID: 4, Res: burst.Resources{CPUs: 1, MemBytes: 8 * gib}, Count: 1}},
			want:     map[int64]string{4: "needs 1 CPU and 8 GiB memory: local-1 has 4 GiB of 16 GiB memory free, held by machines of cluster work"},
		},
		{
			name:     "GPUs are short",
			machines: []Machine{mach("g-1", 8, 1, Running{Res: burst.Resources{CPUs: 1, GPUs: 1}, GPUIDs: []int{0}, JobID: 2})},
			pending:  []Pending{{JobID: 3, Res: burst.Resources{CPUs: 1, GPUs: 1}, Count: 1}},
			want:     map[int64]string{3: "needs 1 CPU and 1 GPU: g-1 has 0 of 1 GPU free, held by job 2"},
		},
		{
			name:     "no machine of its cluster is up",
			machines: []Machine{mach("local-1", 2, 0)},
			pending:  []Pending{{JobID: 6, Res: burst.Resources{CPUs: 1}, Count: 1, Cluster: "work"}},
			want:     map[int64]string{6: "no machine of cluster work is up"},
		},
		{
			name:     "a machine that is down does not count",
			machines: []Machine{with(mach("work-1", 2, 0), func(m *Machine) { m.Cluster, m.Accepting = "work", false })},
			pending:  []Pending{{JobID: 6, Res: burst.Resources{CPUs: 1}, Count: 1, Cluster: "work"}},
			want:     map[int64]string{6: "no machine of cluster work is up"},
		},
		{
			name:     "larger than any machine up (its cluster may start a larger one)",
			machines: []Machine{mach("local-1", 2, 0)},
			pending:  []Pending{task(8, 4, 0, 1)},
			want:     map[int64]string{8: "needs 4 CPUs, more than any machine that is up has: local-1 (cluster local) has 2 CPUs, 16 GiB memory, 0 GPUs"},
		},
		{
			// EASY backfill: job 1 is the head and keeps local-1; job 2's
			// task would outlast the head's shadow time.
			name:     "kept for the head of the queue",
			machines: []Machine{mach("local-1", 4, 0, Running{Res: burst.Resources{CPUs: 3}, Ends: t0.Add(time.Hour), JobID: 9})},
			pending:  []Pending{task(1, 4, 0, 1), task(2, 1, 0, 1)},
			want: map[int64]string{
				1: "needs 4 CPUs: local-1 has 1 of 4 CPUs free, held by job 9",
				2: "needs 1 CPU: local-1 is kept for job 1, ahead in line",
			},
		},
		{
			name:     "a pilot that ends before the time limit",
			machines: []Machine{with(mach("hpc-1", 4, 0), func(m *Machine) { m.Until = t0.Add(30 * time.Minute) })},
			pending:  []Pending{task(5, 1, 7200, 1)},
			want:     map[int64]string{5: "needs 1 CPU: hpc-1 goes away in 30m0s, before the task's time limit would end"},
		},
		{
			name:     "a gang names the stage that does not fit",
			machines: []Machine{mach("local-1", 2, 0, held(1, 1))},
			pending: []Pending{{JobID: 2, Count: 2, Gang: []Part{
				{Res: burst.Resources{CPUs: 1}, Count: 1}, {Res: burst.Resources{CPUs: 2}, Count: 1}}}},
			want: map[int64]string{2: "its stages start together; one needs 2 CPUs: local-1 has 1 of 2 CPUs free, held by job 1"},
		},
		{
			name:     "machines beyond three are counted",
			machines: []Machine{mach("a", 1, 0, held(1, 1)), mach("b", 1, 0, held(1, 1)), mach("c", 1, 0, held(1, 1)), mach("d", 1, 0, held(1, 1)), mach("e", 1, 0, held(1, 1))},
			pending:  []Pending{task(2, 1, 0, 1)},
			want:     map[int64]string{2: "needs 1 CPU: a has 0 of 1 CPU free, held by job 1; b has 0 of 1 CPU free, held by job 1; c has 0 of 1 CPU free, held by job 1; and 2 more machines"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			as, got := Explain(t0, tc.pending, tc.machines, 10)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("reasons:\n got %v\nwant %v", got, tc.want)
			}
			if want := Place(t0, tc.pending, tc.machines); !reflect.DeepEqual(as, want) {
				t.Errorf("Explain placed %v, Place %v", show(as), show(want))
			}
		})
	}
}

// TestExplainMax: only the first max waiting jobs get a reason, so that a
// long queue costs no more than its head.
func TestExplainMax(t *testing.T) {
	ms := []Machine{mach("local-1", 1, 0, held(1, 1))}
	var pend []Pending
	for j := int64(2); j < 50; j++ {
		pend = append(pend, task(j, 1, 0, 1))
	}
	_, got := Explain(t0, pend, ms, 5)
	if keys := len(got); keys != 5 {
		t.Fatalf("%d reasons, want 5: %v", keys, got)
	}
	for j := int64(2); j < 7; j++ {
		if got[j] == "" {
			t.Errorf("job %d, among the first 5, has no reason: %v", j, got)
		}
	}
}

// TestExplainPlacesAsPlace: on random snapshots, Explain starts exactly
// what Place starts, and gives a reason to every job that Place leaves
// waiting (within max) and to no other.
func TestExplainPlacesAsPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		var ms []Machine
		for i := range r.IntN(4) {
			var run []Running
			for range r.IntN(3) {
				run = append(run, Running{Res: burst.Resources{CPUs: r.IntN(3)}, JobID: int64(100 + r.IntN(3)), Ends: t0.Add(time.Duration(r.IntN(3)) * time.Hour)})
			}
			ms = append(ms, with(mach(string(rune('a'+i)), 1+r.IntN(4), r.IntN(2), run...), func(m *Machine) { m.Accepting = r.IntN(5) > 0 }))
		}
		var pend []Pending
		for j := range r.IntN(6) {
			pend = append(pend, Pending{JobID: int64(j + 1), Count: r.IntN(4),
				Res: burst.Resources{CPUs: r.IntN(4), GPUs: r.IntN(2), TimeLimit: int64(r.IntN(2)) * 3600}})
		}
		as, why := Explain(t0, pend, ms, 100)
		want := Place(t0, pend, ms)
		if !reflect.DeepEqual(as, want) {
			t.Fatalf("Explain placed %v, Place %v", show(as), show(want))
		}
		placed := map[int64]int{}
		for _, a := range as {
			placed[a.JobID]++
		}
		for _, p := range pend {
			_, has := why[p.JobID]
			if waits := p.Count > 0 && placed[p.JobID] < p.Count; waits != has {
				t.Fatalf("job %d: %d of %d placed, reason %q (%v)", p.JobID, placed[p.JobID], p.Count, why[p.JobID], slicesOf(why))
			}
		}
	}
}

func slicesOf(m map[int64]string) []int64 {
	var ks []int64
	for k := range maps.Keys(m) {
		ks = append(ks, k)
	}
	return ks
}
