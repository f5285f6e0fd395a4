package sched

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// snapshot makes a random but consistent snapshot: running work never
// oversubscribes a machine and holds GPUs the machine has.
func snapshot(seed uint64) ([]Pending, []Machine) {
	r := rand.New(rand.NewPCG(seed, 7))
	clusters := []string{"", "a", "b", "c"}
	ends := func() time.Time {
		if r.IntN(3) == 0 {
			return time.Time{}
		}
		return t0.Add(time.Duration(r.IntN(7200)-600) * time.Second)
	}
	var machines []Machine
	for i := range 1 + r.IntN(8) {
		m := Machine{ID: string(rune('A' + i)), Cluster: clusters[1+r.IntN(2)], Accepting: r.IntN(5) > 0}
		m.Capacity.CPUs = 1 + r.IntN(16)
		if r.IntN(3) > 0 {
			m.Capacity.MemBytes = int64(1+r.IntN(64)) * gib
		}
		m.GPUs = r.Perm(8)[:r.IntN(5)]
		m.Capacity.GPUs = len(m.GPUs)
		free := m.Capacity
		freeGPUs := slices.Clone(m.GPUs)
		for range r.IntN(5) {
			res := burst.Resources{CPUs: 1 + r.IntN(4), GPUs: r.IntN(2)}
			if r.IntN(2) == 0 {
				res.MemBytes = int64(r.IntN(16)) * gib
			}
			if !fits(res, free) || res.GPUs > len(freeGPUs) {
				continue
			}
			free = sub(free, res)
			m.Running = append(m.Running, Running{Res: res, GPUIDs: freeGPUs[:res.GPUs], Ends: ends()})
			freeGPUs = freeGPUs[res.GPUs:]
		}
		machines = append(machines, m)
	}
	var pending []Pending
	for i := range r.IntN(12) {
		p := Pending{JobID: int64(100 - i), Count: r.IntN(6), Cluster: clusters[r.IntN(4)]}
		if r.IntN(8) == 0 {
			p.Count = 1_000_000
		}
		p.Res = burst.Resources{CPUs: r.IntN(9), GPUs: max(0, r.IntN(6)-3)}
		if p.Res.CPUs == 0 {
			// Tasks of no CPU are as many as their job's -j lets wait,
			// which a million is not: each would start.
			p.Count = min(p.Count, 40)
		}
		if r.IntN(2) == 0 {
			p.Res.MemBytes = int64(r.IntN(32)) * gib
		}
		if r.IntN(2) == 0 {
			p.Res.TimeLimit = int64(r.IntN(7200))
		}
		pending = append(pending, p)
	}
	// Projects come from a generator of their own, so each seed's shapes
	// stay what they were: some machines are bound to a project (they
	// joined for it), and jobs are of one of the projects or another.
	rp := rand.New(rand.NewPCG(seed, 11))
	projects := []string{"", "mars", "venus"}
	for i := range machines {
		machines[i].Project = projects[rp.IntN(3)]
	}
	for i := range pending {
		pending[i].Project = projects[1+rp.IntN(2)]
	}
	return pending, machines
}

// checkPlace asserts Place's invariants on the snapshot of seed: output
// names pending jobs and accepting machines of their cluster, no machine is
// oversubscribed, no GPU is given twice, inputs are left alone, and it agrees
// with a plain per-task rescan of all machines.
func checkPlace(t *testing.T, seed uint64) {
	pending, machines := snapshot(seed)
	got := Place(t0, pending, machines)

	if p, m := snapshot(seed); !reflect.DeepEqual(p, pending) || !reflect.DeepEqual(m, machines) {
		t.Fatalf("seed %d: Place modified its arguments", seed)
	}
	checkAssignments(t, seed, pending, machines, got)
	if want := placeSlowly(t0, pending, machines); !reflect.DeepEqual(got, want) {
		t.Fatalf("seed %d: Place = %v, plain rescan = %v", seed, show(got), show(want))
	}
}

// checkAssignments asserts what any placement must hold: each assignment
// names a pending job and an accepting machine of its cluster (its part's,
// for a gang) that is bound to no other project than the job's, and carries as many GPUs as it asked for; no job gets more
// tasks than it has; no machine is oversubscribed; no GPU is given twice;
// and a gang starts whole or not at all.
func checkAssignments(t *testing.T, seed uint64, pending []Pending, machines []Machine, got []Assignment) {
	t.Helper()
	entry := map[int64]Pending{}
	for _, p := range pending {
		entry[p.JobID] = p
	}
	byID := map[string]*Machine{}
	for i := range machines {
		byID[machines[i].ID] = &machines[i]
	}
	used := map[string]burst.Resources{}
	gpus := map[string]map[int]bool{}
	for _, m := range machines {
		gpus[m.ID] = map[int]bool{}
		for _, r := range m.Running {
			used[m.ID] = add(used[m.ID], r.Res)
			for _, g := range r.GPUIDs {
				gpus[m.ID][g] = true
			}
		}
	}
	placed := map[int64]int{}
	for _, a := range got {
		p, ok := entry[a.JobID]
		m := byID[a.MachineID]
		res, cluster := normalize(p.Res), p.Cluster
		if len(p.Gang) > 0 {
			res, cluster = partRes(p.Gang[a.Part]), p.Gang[a.Part].Cluster
		}
		switch {
		case !ok:
			t.Fatalf("seed %d: %+v names no pending job", seed, a)
		case m == nil || !m.Accepting:
			t.Fatalf("seed %d: %+v names no accepting machine", seed, a)
		case cluster != "" && m.Cluster != cluster:
			t.Fatalf("seed %d: %+v is outside cluster %q", seed, a, cluster)
		case m.Project != "" && m.Project != p.Project:
			t.Fatalf("seed %d: %+v: job of project %q on machine %s, bound to project %q", seed, a, p.Project, m.ID, m.Project)
		case len(a.GPUIDs) != res.GPUs:
			t.Fatalf("seed %d: %+v has %d GPUs, want %d", seed, a, len(a.GPUIDs), res.GPUs)
		}
		placed[a.JobID]++
		if placed[a.JobID] > p.Count {
			t.Fatalf("seed %d: job %d placed %d times, count %d", seed, a.JobID, placed[a.JobID], p.Count)
		}
		used[m.ID] = add(used[m.ID], res)
		if u := used[m.ID]; u.CPUs > m.Capacity.CPUs || u.MemBytes > m.Capacity.MemBytes || u.GPUs > m.Capacity.GPUs {
			t.Fatalf("seed %d: machine %s oversubscribed: uses %+v of %+v", seed, m.ID, u, m.Capacity)
		}
		for _, g := range a.GPUIDs {
			if gpus[m.ID][g] || !slices.Contains(m.GPUs, g) {
				t.Fatalf("seed %d: machine %s: GPU %d given twice or not there", seed, m.ID, g)
			}
			gpus[m.ID][g] = true
		}
	}
	for id, n := range placed {
		if p := entry[id]; len(p.Gang) > 0 && n != p.Count {
			t.Fatalf("seed %d: gang %d started %d of its %d tasks", seed, id, n, p.Count)
		}
	}
}

// placeSlowly is Place without its shortcuts: a full best-fit search for
// every task and no early stop.
func placeSlowly(now time.Time, pending []Pending, machines []Machine) []Assignment {
	nodes, _, _ := newNodes(machines)
	var out []Assignment
	var resv *reservation
	for _, p := range pending {
		res := normalize(p.Res)
		if !fitsSomeCapacity(res, p.Cluster, p.tenant(), nodes) {
			continue
		}
		for range p.Count {
			n := bestFit(now, res, p.Cluster, p.tenant(), nodes, resv)
			if n == nil {
				if resv == nil {
					resv = reserve(now, res, p.Cluster, p.tenant(), nodes)
				}
				break
			}
			out = append(out, n.take(now, p.JobID, res, resv))
		}
	}
	return out
}

func TestPlaceRandom(t *testing.T) {
	for seed := range uint64(3000) {
		checkPlace(t, seed)
	}
}

func FuzzPlace(f *testing.F) {
	for _, seed := range []uint64{0, 1, 42, 1 << 40} {
		f.Add(seed)
	}
	f.Fuzz(checkPlace)
}

// BenchmarkPlace places 5,000 pending entries on 200 half-busy machines.
func BenchmarkPlace(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	machines := make([]Machine, 200)
	for i := range machines {
		m := &machines[i]
		m.ID, m.Cluster, m.Accepting = string(rune(0x4e00+i)), []string{"a", "b"}[i%2], true
		m.Capacity = burst.Resources{CPUs: 32 << r.IntN(3), MemBytes: 256 * gib}
		if i%4 == 0 {
			m.GPUs = []int{0, 1, 2, 3, 4, 5, 6, 7}
			m.Capacity.GPUs = 8
		}
		for range 8 {
			m.Running = append(m.Running, Running{
				Res:  burst.Resources{CPUs: 2, MemBytes: 8 * gib},
				Ends: t0.Add(time.Duration(r.IntN(3600)) * time.Second),
			})
		}
	}
	pending := make([]Pending, 5000)
	for i := range pending {
		p := &pending[i]
		p.JobID, p.Count = int64(i+1), 1+r.IntN(10)
		p.Res = burst.Resources{CPUs: 1 << r.IntN(5), MemBytes: int64(r.IntN(16)) * gib, TimeLimit: int64(r.IntN(7200))}
		if i%50 == 0 {
			p.Count = 1_000_000
		}
		if i%10 == 0 {
			p.Res.GPUs = 1 + r.IntN(2)
		}
		if i%3 == 0 {
			p.Cluster = "b"
		}
	}
	b.ReportAllocs()
	placed := 0
	for b.Loop() {
		placed = len(Place(t0, pending, machines))
	}
	b.ReportMetric(float64(placed), "tasks/op")
}
