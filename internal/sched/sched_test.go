package sched

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const gib = int64(1) << 30

// mach is an accepting machine of cluster "local" with 16 GiB, GPUs 0..gpus-1.
func mach(id string, cpus, gpus int, running ...Running) Machine {
	ids := make([]int, gpus)
	for i := range ids {
		ids[i] = i
	}
	return Machine{ID: id, Name: id, Cluster: "local", Accepting: true, GPUs: ids, Running: running,
		Capacity: burst.Resources{CPUs: cpus, MemBytes: 16 * gib, GPUs: gpus}}
}

// busy is work holding cpus that ends after d (0: no time limit).
func busy(cpus int, d time.Duration) Running {
	r := Running{Res: burst.Resources{CPUs: cpus}}
	if d != 0 {
		r.Ends = t0.Add(d)
	}
	return r
}

// task is a pending entry of count tasks of cpus, limited to tl seconds.
func task(job int64, cpus int, tl int64, count int) Pending {
	return Pending{JobID: job, Res: burst.Resources{CPUs: cpus, TimeLimit: tl}, Count: count}
}

// show writes assignments as "job@machine" or "job@machine[gpus]".
func show(as []Assignment) []string {
	s := []string{}
	for _, a := range as {
		g := ""
		if a.GPUIDs != nil {
			g = fmt.Sprint(a.GPUIDs)
		}
		s = append(s, fmt.Sprintf("%d@%s%s", a.JobID, a.MachineID, g))
	}
	return s
}

func with[T any](v T, f func(*T)) T { f(&v); return v }

func TestPlace(t *testing.T) {
	const hour = time.Hour
	tests := []struct {
		name     string
		machines []Machine
		pending  []Pending
		want     []string
	}{
		{"fifo: slice order, not job id",
			[]Machine{mach("a", 4, 0)},
			[]Pending{task(2, 3, 0, 1), task(1, 2, 0, 1)},
			[]string{"2@a"}},
		{"fifo: a later entry fills what is left",
			[]Machine{mach("a", 5, 0)},
			[]Pending{task(1, 2, 0, 2), task(2, 1, 0, 3)},
			[]string{"1@a", "1@a", "2@a"}},
		{"best fit: fewest free CPUs left",
			[]Machine{mach("a", 8, 0), mach("b", 4, 0), mach("c", 2, 0)},
			[]Pending{task(1, 3, 0, 1)},
			[]string{"1@b"}},
		{"best fit: tie goes to the earlier machine",
			[]Machine{mach("a", 4, 0), mach("b", 4, 0)},
			[]Pending{task(1, 3, 0, 2)},
			[]string{"1@a", "1@b"}},
		{"best fit: counts what this call placed",
			[]Machine{mach("a", 8, 0), mach("b", 6, 0)},
			[]Pending{task(1, 2, 0, 1), task(2, 4, 0, 1), task(3, 4, 0, 1)},
			[]string{"1@b", "2@b", "3@a"}},
		{"running work is not free",
			[]Machine{mach("a", 8, 0, busy(7, hour)), mach("b", 4, 0)},
			[]Pending{task(1, 2, 0, 1)},
			[]string{"1@b"}},
		{"gpus: lowest free indices",
			[]Machine{mach("g", 8, 4, Running{Res: burst.Resources{CPUs: 1, GPUs: 1}, GPUIDs: []int{1}})},
			[]Pending{{JobID: 1, Res: burst.Resources{CPUs: 1, GPUs: 2}, Count: 1}, {JobID: 2, Res: burst.Resources{CPUs: 1, GPUs: 1}, Count: 1}},
			[]string{"1@g[0 2]", "2@g[3]"}},
		{"gpus: listed indices, in any order",
			[]Machine{with(mach("g", 8, 0), func(m *Machine) { m.GPUs, m.Capacity.GPUs = []int{7, 5, 6}, 3 })},
			[]Pending{{JobID: 1, Res: burst.Resources{CPUs: 1, GPUs: 2}, Count: 2}},
			[]string{"1@g[5 6]"}},
		{"gpus: a GPU task skips a machine without GPUs",
			[]Machine{mach("a", 2, 0), mach("g", 8, 1)},
			[]Pending{{JobID: 1, Res: burst.Resources{CPUs: 1, GPUs: 1}, Count: 1}},
			[]string{"1@g[0]"}},
		{"mem 0 is not counted",
			[]Machine{mach("a", 4, 0, Running{Res: burst.Resources{CPUs: 1, MemBytes: 16 * gib}})},
			[]Pending{task(1, 1, 0, 1), {JobID: 2, Res: burst.Resources{CPUs: 1, MemBytes: 1}, Count: 1}},
			[]string{"1@a"}},
		{"mem 0 fits a machine of unknown memory",
			[]Machine{with(mach("a", 4, 0), func(m *Machine) { m.Capacity.MemBytes = 0 })},
			[]Pending{task(1, 1, 0, 1), {JobID: 2, Res: burst.Resources{CPUs: 1, MemBytes: gib}, Count: 1}},
			[]string{"1@a"}},
		{"mem is never oversubscribed",
			[]Machine{mach("a", 8, 0)},
			[]Pending{{JobID: 1, Res: burst.Resources{CPUs: 1, MemBytes: 5 * gib}, Count: 9}},
			[]string{"1@a", "1@a", "1@a"}},
		{"backfill: a task that ends before the shadow time",
			[]Machine{mach("a", 4, 0, busy(2, hour))},
			[]Pending{task(1, 4, 0, 1), task(2, 2, 1800, 1)},
			[]string{"2@a"}},
		{"backfill: a task ending at the shadow time",
			[]Machine{mach("a", 4, 0, busy(2, hour))},
			[]Pending{task(1, 4, 0, 1), task(2, 2, 3600, 1)},
			[]string{"2@a"}},
		{"backfill: a longer task would delay the head",
			[]Machine{mach("a", 4, 0, busy(2, hour))},
			[]Pending{task(1, 4, 0, 1), task(2, 2, 3601, 1), task(3, 2, 0, 1)},
			[]string{}},
		{"backfill: into what stays free after the head starts",
			[]Machine{mach("a", 8, 0, busy(4, hour))},
			[]Pending{task(1, 6, 0, 1), task(2, 2, 0, 2)},
			[]string{"2@a"}},
		{"backfill: unknown shadow time lets only limited tasks in",
			[]Machine{mach("a", 4, 0, busy(2, 0))},
			[]Pending{task(1, 4, 0, 1), task(2, 2, 0, 1), task(3, 2, 60, 1)},
			[]string{"3@a"}},
		{"backfill: the head reserves where it starts earliest",
			[]Machine{mach("a", 5, 0, busy(3, 2*hour)), mach("b", 4, 0, busy(3, hour))},
			[]Pending{task(1, 4, 0, 1), task(2, 1, 0, 1)},
			[]string{"2@a"}},
		{"backfill: best fit on the reserved machine when it ends in time",
			[]Machine{mach("a", 5, 0, busy(3, 2*hour)), mach("b", 4, 0, busy(3, hour))},
			[]Pending{task(1, 4, 0, 1), task(2, 1, 1800, 1)},
			[]string{"2@b"}},
		{"backfill: the shadow time counts tasks placed in this call",
			[]Machine{mach("a", 4, 0)},
			[]Pending{task(1, 2, 3600, 1), task(2, 4, 0, 1), task(3, 2, 1800, 1)},
			[]string{"1@a", "3@a"}},
		{"backfill: tasks placed in this call can delay the shadow",
			[]Machine{mach("a", 4, 0)},
			[]Pending{task(1, 2, 3600, 1), task(2, 4, 0, 1), task(3, 2, 7200, 1)},
			[]string{"1@a"}},
		{"backfill: the rest of the head's entry waits behind it",
			[]Machine{mach("a", 4, 0, busy(2, hour))},
			[]Pending{task(1, 2, 0, 3), task(2, 2, 1800, 1)},
			[]string{"1@a"}},
		{"backfill: only the first blocked task reserves",
			[]Machine{mach("a", 4, 0, busy(4, hour)), mach("b", 4, 0, busy(3, hour))},
			[]Pending{task(1, 4, 0, 1), task(2, 4, 0, 1), task(3, 1, 0, 1)},
			[]string{"3@b"}},
		{"never fitting: skipped, blocks nothing",
			[]Machine{mach("a", 4, 0)},
			[]Pending{task(1, 64, 0, 1), {JobID: 2, Res: burst.Resources{CPUs: 1, GPUs: 1}, Count: 1}, task(3, 1, 0, 1)},
			[]string{"3@a"}},
		{"never fitting: takes no reservation",
			[]Machine{mach("a", 4, 0, busy(2, hour))},
			[]Pending{task(1, 64, 0, 1), task(2, 4, 0, 1), task(3, 2, 0, 1)},
			[]string{}},
		{"never fitting: fits only a machine that is not accepting",
			[]Machine{mach("a", 4, 0), with(mach("big", 64, 0), func(m *Machine) { m.Accepting = false })},
			[]Pending{task(1, 64, 0, 1), task(2, 4, 0, 1)},
			[]string{"2@a"}},
		{"cluster: restricts to that cluster's machines",
			[]Machine{with(mach("g", 16, 0), func(m *Machine) { m.Cluster = "gpu" }), mach("a", 2, 0)},
			[]Pending{{JobID: 1, Res: burst.Resources{CPUs: 1}, Count: 1, Cluster: "gpu"}, task(2, 1, 0, 1)},
			[]string{"1@g", "2@a"}},
		{"cluster: an unknown cluster blocks nothing",
			[]Machine{mach("a", 2, 0)},
			[]Pending{{JobID: 1, Res: burst.Resources{CPUs: 1}, Count: 1, Cluster: "nope"}, task(2, 1, 0, 1)},
			[]string{"2@a"}},
		{"cluster: the head reserves in its own cluster",
			[]Machine{with(mach("g", 4, 0, busy(4, hour)), func(m *Machine) { m.Cluster = "gpu" }), mach("a", 4, 0, busy(2, hour))},
			[]Pending{{JobID: 1, Res: burst.Resources{CPUs: 4}, Count: 1, Cluster: "gpu"}, task(2, 2, 0, 1)},
			[]string{"2@a"}},
		{"not accepting: nothing new goes there",
			[]Machine{with(mach("a", 8, 0), func(m *Machine) { m.Accepting = false }), mach("b", 8, 0)},
			[]Pending{task(1, 1, 0, 1)},
			[]string{"1@b"}},
		{"count 1,000,000: places only what fits",
			[]Machine{mach("a", 4, 0), mach("b", 2, 0)},
			[]Pending{task(1, 1, 0, 1_000_000), task(2, 1, 0, 1)},
			[]string{"1@b", "1@b", "1@a", "1@a", "1@a", "1@a"}},
		{"count 0 places nothing",
			[]Machine{mach("a", 2, 0)},
			[]Pending{task(1, 1, 0, 0), task(2, 1, 0, 5)},
			[]string{"2@a", "2@a"}},
		{"tasks of 0 CPUs all start, past the CPUs, after those that reserve them",
			[]Machine{mach("a", 2, 0)},
			[]Pending{task(1, 1, 0, 3), task(2, 0, 0, 5)},
			[]string{"1@a", "1@a", "2@a", "2@a", "2@a", "2@a", "2@a"}},
		{"no machines", nil, []Pending{task(1, 1, 0, 1)}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := show(Place(t0, tt.pending, tt.machines))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Place = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFeasible(t *testing.T) {
	local := func(name string, cpus int, mem int64, gpus int) Machine {
		m := mach(name, cpus, gpus)
		m.Capacity.MemBytes = mem
		return m
	}
	l1 := local("local-1", 2, 47*gib/2, 0)
	tests := []struct {
		name     string
		res      burst.Resources
		cluster  string
		machines []Machine
		want     string // "" = feasible
	}{
		{"fits", burst.Resources{CPUs: 2, MemBytes: gib}, "", []Machine{l1}, ""},
		{"fits a machine that is not accepting", burst.Resources{CPUs: 8},
			"", []Machine{l1, with(local("big", 8, 0, 0), func(m *Machine) { m.Accepting = false })}, ""},
		{"too many CPUs", burst.Resources{CPUs: 64}, "", []Machine{l1},
			"no machine can offer 64 CPUs: local-1 (cluster local) has 2 CPUs, 23.5 GiB memory, 0 GPUs; ask for at most 2 CPUs"},
		{"no GPU anywhere", burst.Resources{CPUs: 1, GPUs: 1}, "", []Machine{l1},
			"no machine has a GPU: local-1 (cluster local) has 2 CPUs, 23.5 GiB memory, 0 GPUs; run without --gpus or add a cluster with GPUs"},
		{"too many GPUs", burst.Resources{CPUs: 1, GPUs: 4}, "", []Machine{local("g", 8, 64*gib, 2)},
			"no machine can offer 4 GPUs: g (cluster local) has 8 CPUs, 64 GiB memory, 2 GPUs; ask for at most 2 GPUs"},
		{"too much memory", burst.Resources{CPUs: 1, MemBytes: 100 * gib}, "", []Machine{l1},
			"no machine can offer 100 GiB memory: local-1 (cluster local) has 2 CPUs, 23.5 GiB memory, 0 GPUs; ask for at most 23.5 GiB memory"},
		{"several things at once", burst.Resources{CPUs: 4, MemBytes: 32 * gib, GPUs: 1}, "", []Machine{l1},
			"no machine can offer 4 CPUs, 32 GiB memory and 1 GPU: local-1 (cluster local) has 2 CPUs, 23.5 GiB memory, 0 GPUs; " +
				"ask for at most 2 CPUs and 23.5 GiB memory; run without --gpus or add a cluster with GPUs"},
		{"no single machine has it all", burst.Resources{CPUs: 8, MemBytes: 32 * gib}, "",
			[]Machine{local("a", 8, gib, 0), local("b", 2, 64*gib, 0)},
			"no single machine can offer 8 CPUs and 32 GiB memory together: a (cluster local) has 8 CPUs, 1 GiB memory, 0 GPUs; " +
				"b (cluster local) has 2 CPUs, 64 GiB memory, 0 GPUs; ask for at most what one machine has"},
		{"lists at most five machines", burst.Resources{CPUs: 64}, "",
			[]Machine{l1, l1, l1, l1, l1, l1, local("local-7", 4, 512<<20, 0)},
			"no machine can offer 64 CPUs: " + strings.Repeat("local-1 (cluster local) has 2 CPUs, 23.5 GiB memory, 0 GPUs; ", 5) +
				"and 2 more; ask for at most 4 CPUs"},
		{"only the named cluster counts", burst.Resources{CPUs: 8}, "local",
			[]Machine{l1, with(local("big-1", 8, 0, 0), func(m *Machine) { m.Cluster = "big" })},
			"no machine can offer 8 CPUs: local-1 (cluster local) has 2 CPUs, 23.5 GiB memory, 0 GPUs; ask for at most 2 CPUs; cluster big can run it"},
		{"unknown cluster", burst.Resources{CPUs: 1}, "gpu",
			[]Machine{l1, with(l1, func(m *Machine) { m.Cluster = "aws" })},
			`no cluster named "gpu": the clusters are aws and local; use one of them`},
		{"unknown cluster, none exist", burst.Resources{CPUs: 1}, "gpu", nil,
			`no cluster named "gpu": no clusters exist yet; add one first`},
		{"no machines", burst.Resources{CPUs: 1}, "", nil,
			"no machine exists yet to run it; add a cluster first"},
		{"the name falls back to the id", burst.Resources{CPUs: 3}, "",
			[]Machine{with(local("m-7", 1, 1536<<20, 0), func(m *Machine) { m.Name = "" })},
			"no machine can offer 3 CPUs: m-7 (cluster local) has 1 CPU, 1.5 GiB memory, 0 GPUs; ask for at most 1 CPU"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Feasible(tt.res, tt.cluster, tt.machines)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Feasible =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

func TestSize(t *testing.T) {
	for b, want := range map[int64]string{
		0: "0 B", 512: "512 B", 1024: "1 KiB", 1536: "1.5 KiB", 47 * gib / 2: "23.5 GiB",
		gib - 1: "1023.9 MiB", 1 << 40: "1 TiB", 1<<63 - 1: "8191.9 PiB",
	} {
		if got := size(b); got != want {
			t.Errorf("size(%d) = %q, want %q", b, got, want)
		}
	}
}

// A machine that goes away (a pilot's allocation ends) takes only tasks
// whose time limit ends before it; tasks without a limit may go there.
func TestPlaceUntil(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	pilot := Machine{ID: "p", Capacity: burst.Resources{CPUs: 4}, Accepting: true, Until: now.Add(10 * time.Minute)}
	pend := []Pending{
		{JobID: 1, Res: burst.Resources{CPUs: 1, TimeLimit: 3600}, Count: 1}, // an hour: cannot finish
		{JobID: 2, Res: burst.Resources{CPUs: 1, TimeLimit: 300}, Count: 1},  // 5 min: fits
		{JobID: 3, Res: burst.Resources{CPUs: 1}, Count: 1},                  // unknown: placed
	}
	got := map[int64]bool{}
	for _, a := range Place(now, pend, []Machine{pilot}) {
		got[a.JobID] = true
	}
	if got[1] || !got[2] || !got[3] {
		t.Errorf("placed %v; want jobs 2 and 3, not 1", got)
	}
	// The same hour-long task goes to a machine with no end.
	other := Machine{ID: "q", Capacity: burst.Resources{CPUs: 1}, Accepting: true}
	as := Place(now, pend[:1], []Machine{pilot, other})
	if len(as) != 1 || as[0].MachineID != "q" {
		t.Errorf("the hour-long task should go to q: %+v", as)
	}
}

// Whole gives a task that takes a whole machine (sbatch --exclusive) the
// CPUs and GPUs of the cluster's largest machine that could run it, its
// memory as asked; of another cluster's none, and none too small. One that
// takes all of a machine's memory (--mem=0) gets that machine's memory.
func TestWhole(t *testing.T) {
	withMem := func(m Machine, mem int64) Machine { m.Capacity.MemBytes = mem; return m }
	small, big, gpu := withMem(mach("small", 4, 0), 8*gib), withMem(mach("big", 16, 0), 4*gib), withMem(mach("gpu", 16, 2), 64*gib)
	other := withMem(mach("other", 64, 0), 64*gib)
	other.Cluster = "far"
	tests := []struct {
		name string
		res  burst.Resources
		ms   []Machine
		want burst.Resources
		ok   bool
		take Take // CPUs alone when zero
	}{
		{"the largest", burst.Resources{CPUs: 1, MemBytes: gib}, []Machine{small, big, other}, burst.Resources{CPUs: 16, MemBytes: gib}, true, Take{}},
		{"the largest that holds its memory", burst.Resources{CPUs: 1, MemBytes: 6 * gib}, []Machine{small, big}, burst.Resources{CPUs: 4, MemBytes: 6 * gib}, true, Take{}},
		{"as many CPUs: the one with GPUs, all of them", burst.Resources{CPUs: 1}, []Machine{big, gpu}, burst.Resources{CPUs: 16, GPUs: 2}, true, Take{}},
		{"not accepting counts", burst.Resources{CPUs: 1}, []Machine{small, with(big, func(m *Machine) { m.Accepting = false })}, burst.Resources{CPUs: 16}, true, Take{}},
		{"none fits", burst.Resources{CPUs: 32}, []Machine{small, big, other}, burst.Resources{CPUs: 32}, false, Take{}},
		// --mem=0: the memory of that machine, its CPUs as asked.
		{"all the memory", burst.Resources{CPUs: 2}, []Machine{small, big, other}, burst.Resources{CPUs: 2, MemBytes: 4 * gib}, true, Take{Mem: true}},
		{"as many CPUs and GPUs: the most memory", burst.Resources{CPUs: 1}, []Machine{gpu, withMem(mach("gpu2", 16, 2), 128*gib)}, burst.Resources{CPUs: 1, MemBytes: 128 * gib}, true, Take{Mem: true}},
		{"both", burst.Resources{CPUs: 1}, []Machine{small, big}, burst.Resources{CPUs: 16, MemBytes: 4 * gib}, true, Take{CPUs: true, Mem: true}},
	}
	for _, tt := range tests {
		got, ok := Whole(tt.res, "local", tt.ms, cmp.Or(tt.take, Take{CPUs: true}))
		if ok != tt.ok || got.CPUs != tt.want.CPUs || got.GPUs != tt.want.GPUs || got.MemBytes != tt.want.MemBytes {
			t.Errorf("%s: Whole = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
