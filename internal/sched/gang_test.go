package sched

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// gang is a pending pipe: one part per entry of cpus (with gpus when > 0).
func gang(job int64, parts ...Part) Pending {
	p := Pending{JobID: job, Gang: parts}
	for _, pt := range parts {
		p.Count += pt.Count
	}
	return p
}

func part(cpus, gpus, count int, cluster string) Part {
	return Part{Res: burst.Resources{CPUs: cpus, GPUs: gpus}, Cluster: cluster, Count: count}
}

// memPart is one task of cpus and mem bytes.
func memPart(cpus int, mem int64) Part {
	return Part{Res: burst.Resources{CPUs: cpus, MemBytes: mem}, Count: 1}
}

// showParts writes assignments as "job/part@machine".
func showParts(as []Assignment) []string {
	s := []string{}
	for _, a := range as {
		s = append(s, fmt.Sprintf("%d/%d@%s", a.JobID, a.Part, a.MachineID))
	}
	slices.Sort(s)
	return s
}

func TestPlaceGang(t *testing.T) {
	gpuBox := with(mach("g", 4, 1), func(m *Machine) { m.Cluster = "gpu" })
	tests := []struct {
		name     string
		machines []Machine
		pending  []Pending
		want     []string
	}{
		{"all stages on one machine when they fit",
			[]Machine{mach("a", 4, 0), mach("b", 4, 0)},
			[]Pending{gang(1, part(1, 0, 1, ""), part(2, 0, 1, ""), part(1, 0, 1, ""))},
			[]string{"1/0@a", "1/1@a", "1/2@a"}},
		{"spread over machines when one is not enough",
			[]Machine{mach("a", 2, 0), mach("b", 2, 0)},
			[]Pending{gang(1, part(1, 0, 1, ""), part(2, 0, 1, ""), part(1, 0, 1, ""))},
			[]string{"1/0@b", "1/1@a", "1/2@b"}},
		{"nothing when one part cannot start, and later work still places",
			[]Machine{mach("a", 2, 0)},
			[]Pending{gang(1, part(1, 0, 1, ""), part(2, 0, 1, "")), task(2, 1, 0, 1)},
			[]string{"2/0@a"}},
		{"a part on its own cluster",
			[]Machine{mach("a", 2, 0), gpuBox},
			[]Pending{gang(1, part(1, 0, 1, ""), part(1, 1, 1, "gpu"), part(1, 0, 2, "local"))},
			[]string{"1/0@g", "1/1@g", "1/2@a", "1/2@a"}},
		{"no GPU machine: the gang waits whole",
			[]Machine{mach("a", 8, 0)},
			[]Pending{gang(1, part(1, 0, 1, ""), part(1, 1, 1, ""))},
			[]string{}},
		{"parallel copies take what is left, or the gang waits",
			[]Machine{mach("a", 2, 0, busy(1, 0)), mach("b", 2, 0)},
			[]Pending{gang(1, part(1, 0, 1, ""), part(1, 0, 3, ""))},
			[]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := showParts(Place(t0, tt.pending, tt.machines))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPlaceGangRollback: a gang that fails part-way leaves the machines as
// they were, so that the next entry sees all of their free resources.
func TestPlaceGangRollback(t *testing.T) {
	ms := []Machine{mach("a", 4, 1), mach("b", 1, 0)}
	got := Place(t0, []Pending{
		gang(1, part(3, 1, 1, ""), part(1, 0, 1, ""), part(4, 0, 1, "")), // the 4-CPU part fits nowhere after the first
		task(2, 4, 0, 1),
	}, ms)
	if s := showParts(got); !slices.Equal(s, []string{"2/0@a"}) {
		t.Fatalf("got %v, want the second job alone on a", s)
	}
	got = Place(t0, []Pending{
		gang(1, part(3, 1, 1, ""), part(2, 0, 1, "")),
		with(task(2, 1, 0, 1), func(p *Pending) { p.Res.GPUs = 1 }),
	}, ms)
	if s := showParts(got); !slices.Equal(s, []string{"2/0@a"}) || !slices.Equal(got[0].GPUIDs, []int{0}) {
		t.Fatalf("a GPU taken by a failed gang must be free again: %v %+v", s, got)
	}
}

// A gang that cannot start holds the machines it waits for: younger work
// may only use what it leaves free, or finish before it could start.
func TestPlaceGangReserves(t *testing.T) {
	tests := []struct {
		name     string
		machines []Machine
		pending  []Pending
		want     []string
	}{
		{"younger tasks do not take the CPU a waiting gang needs",
			[]Machine{mach("a", 2, 0, busy(1, 0))},
			[]Pending{gang(1, part(1, 0, 2, "")), task(2, 1, 0, 5)},
			[]string{}},
		{"younger tasks use what the gang leaves free",
			[]Machine{mach("a", 4, 0, busy(2, 0))},
			[]Pending{gang(1, part(3, 0, 1, "")), task(2, 1, 0, 5)},
			[]string{"2/0@a"}},
		{"younger tasks that end before the gang could start backfill",
			[]Machine{mach("a", 2, 0, busy(1, time.Hour))},
			[]Pending{gang(1, part(2, 0, 1, "")), task(2, 1, 600, 1), task(3, 1, 0, 1)},
			[]string{"2/0@a"}},
		{"a gang over two machines holds both",
			[]Machine{mach("a", 2, 0, busy(1, 0)), mach("b", 2, 0, busy(1, 0))},
			[]Pending{gang(1, part(2, 0, 1, ""), part(2, 0, 1, "")), task(2, 1, 0, 4)},
			[]string{}},
		{"machines the gang does not need stay open",
			[]Machine{mach("a", 2, 0, busy(1, 0)), with(mach("b", 2, 0), func(m *Machine) { m.Cluster = "other" })},
			[]Pending{gang(1, part(2, 0, 1, "local")), task(2, 1, 0, 4)},
			[]string{"2/0@b", "2/0@b"}},
		{"a gang that could never start reserves nothing",
			[]Machine{mach("a", 2, 0, busy(1, 0))},
			[]Pending{gang(1, part(2, 0, 1, ""), part(1, 0, 1, "")), task(2, 1, 0, 4)},
			[]string{"2/0@a"}},
		{"a gang best fit packs badly still starts, by its plan",
			[]Machine{with(mach("y", 3, 0), func(m *Machine) { m.Capacity.MemBytes = gib }), with(mach("x", 2, 0), func(m *Machine) { m.Capacity.MemBytes = 8 * gib })},
			[]Pending{gang(1, memPart(2, gib), memPart(2, 8*gib)), task(2, 1, 0, 4)},
			[]string{"1/0@y", "1/1@x", "2/0@y"}},
		{"a machine going away before the gang would end is not held",
			[]Machine{mach("a", 2, 0, busy(1, 0)), with(mach("p", 2, 0, busy(1, 0)), func(m *Machine) { m.Until = t0.Add(time.Minute) })},
			[]Pending{gang(1, with(part(2, 0, 1, ""), func(p *Part) { p.Res.TimeLimit = 3600 })), task(2, 1, 0, 4)},
			[]string{"2/0@p"}},
		{"an older waiting task keeps the reservation: the gang does not add one",
			[]Machine{mach("a", 2, 0, busy(1, 0)), mach("b", 2, 0, busy(1, 0))},
			[]Pending{task(1, 2, 0, 1), gang(2, part(2, 0, 1, "")), task(3, 1, 0, 4)},
			[]string{"3/0@b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := showParts(Place(t0, tt.pending, tt.machines))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPlaceGangRandom: over random snapshots with gangs among the pending
// entries, no machine is oversubscribed, no GPU is given twice, and every
// gang starts whole or not at all.
func TestPlaceGangRandom(t *testing.T) {
	for seed := range uint64(3000) {
		pending, machines := snapshot(seed)
		r := rand.New(rand.NewPCG(seed, 11))
		for i := range pending {
			if r.IntN(3) > 0 {
				continue
			}
			var parts []Part
			for range 1 + r.IntN(3) {
				cl := []string{"", "a", "b"}[r.IntN(3)]
				pt := Part{Res: burst.Resources{CPUs: r.IntN(5), GPUs: max(0, r.IntN(5)-3), MemBytes: int64(r.IntN(8)) * gib}, Cluster: cl, Count: 1 + r.IntN(3)}
				if r.IntN(2) == 0 {
					pt.Res.TimeLimit = int64(r.IntN(7200))
				}
				parts = append(parts, pt)
			}
			g := gang(pending[i].JobID, parts...)
			g.Project = pending[i].Project
			pending[i] = g
		}
		checkAssignments(t, seed, pending, machines, Place(t0, pending, machines))
	}
}
