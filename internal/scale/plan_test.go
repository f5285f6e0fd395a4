package scale

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

const gib = 1 << 30

var t0 = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

func cpuCluster(name string, min, max int) Cluster {
	return Cluster{Name: name, Min: min, Max: max, IdleStop: 5 * time.Minute,
		Capacity: burst.Resources{CPUs: 2, MemBytes: 4 * gib}, On: true}
}

func running(id, cluster string, idleFor time.Duration) Machine {
	return Machine{ID: id, Cluster: cluster, State: Running, IdleSince: t0.Add(-idleFor)}
}

func starts(n int, cluster, reason string) []Action {
	var out []Action
	for range n {
		out = append(out, Action{Start: true, Cluster: cluster, Reason: reason})
	}
	return out
}

func stop(cluster, id, reason string) Action {
	return Action{Cluster: cluster, Machine: id, Reason: reason}
}

func TestFits(t *testing.T) {
	capa := burst.Resources{CPUs: 8, MemBytes: 32 * gib, GPUs: 2}
	for _, tc := range []struct {
		res  burst.Resources
		want int
	}{
		{burst.Resources{}, Unbounded}, // reserves no CPU: any number (one machine for them)
		{burst.Resources{MemBytes: 4 * gib}, 8},
		{burst.Resources{GPUs: 1}, 2},
		{burst.Resources{CPUs: 1}, 8},
		{burst.Resources{CPUs: 3}, 2},
		{burst.Resources{CPUs: 1, MemBytes: 16 * gib}, 2},
		{burst.Resources{CPUs: 1, MemBytes: 64 * gib}, 0},
		{burst.Resources{CPUs: 1, GPUs: 1}, 2},
		{burst.Resources{CPUs: 1, GPUs: 3}, 0},
		{burst.Resources{CPUs: 9}, 0},
		{burst.Resources{CPUs: 1, TimeLimit: 3600}, 8},
	} {
		if got := Fits(tc.res, capa); got != tc.want {
			t.Errorf("Fits(%+v) = %d, want %d", tc.res, got, tc.want)
		}
	}
	if got := Fits(burst.Resources{CPUs: 1, GPUs: 1}, burst.Resources{CPUs: 8}); got != 0 {
		t.Errorf("GPU task on a machine without GPUs: Fits = %d, want 0", got)
	}
	if got := Fits(burst.Resources{CPUs: 1, MemBytes: gib}, burst.Resources{CPUs: 8}); got != 8 {
		t.Errorf("machine memory not declared: Fits = %d, want 8 (memory not counted)", got)
	}
}

func TestPlan(t *testing.T) {
	oneCPU := burst.Resources{CPUs: 1}
	for _, tc := range []struct {
		name     string
		clusters []Cluster
		machines []Machine
		demand   []Demand
		want     []Action
	}{
		{
			name:     "nothing to do",
			clusters: []Cluster{cpuCluster("c", 0, 4)},
		},
		{
			name:     "scale from zero",
			clusters: []Cluster{cpuCluster("c", 0, 4)},
			demand:   []Demand{{Cluster: "c", Res: oneCPU, Count: 3}},
			want:     starts(2, "c", "3 tasks wait (1 CPU each); 1 machine of 2 CPUs, 4 GiB takes 2"),
		},
		{
			name:     "cap at max",
			clusters: []Cluster{cpuCluster("c", 0, 3)},
			machines: []Machine{{ID: "m1", Cluster: "c", State: Running, Busy: true}},
			demand:   []Demand{{Cluster: "c", Res: oneCPU, Count: 20}},
			want: starts(2, "c",
				"20 tasks wait (1 CPU each); 1 machine of 2 CPUs, 4 GiB takes 2; capped at max 3"),
		},
		{
			name:     "at max starts nothing",
			clusters: []Cluster{cpuCluster("c", 0, 1)},
			machines: []Machine{{ID: "m1", Cluster: "c", State: Running, Busy: true}},
			demand:   []Demand{{Cluster: "c", Res: oneCPU, Count: 20}},
		},
		{
			name:     "max 0 never grows",
			clusters: []Cluster{cpuCluster("c", 1, 0)},
			demand:   []Demand{{Cluster: "c", Res: oneCPU, Count: 20}},
		},
		{
			name:     "pending machines counted",
			clusters: []Cluster{cpuCluster("c", 0, 10)},
			machines: []Machine{
				{ID: "p1", Cluster: "c", State: Pending},
				{ID: "p2", Cluster: "c", State: Pending},
			},
			demand: []Demand{{Cluster: "c", Res: oneCPU, Count: 5}},
			want:   starts(1, "c", "5 tasks wait (1 CPU each); 1 machine of 2 CPUs, 4 GiB takes 2; 2 pending"),
		},
		{
			name:     "pending machines cover the demand",
			clusters: []Cluster{cpuCluster("c", 0, 10)},
			machines: []Machine{{ID: "p1", Cluster: "c", State: Pending}},
			demand:   []Demand{{Cluster: "c", Res: oneCPU, Count: 2}},
		},
		{
			name:     "demand packed per entry",
			clusters: []Cluster{cpuCluster("c", 0, 10)},
			demand: []Demand{
				{Cluster: "c", Res: oneCPU, Count: 1},
				{Cluster: "c", Res: burst.Resources{CPUs: 1, MemBytes: 3 * gib}, Count: 2},
				{Cluster: "c", Res: oneCPU, Count: 0},
			},
			want: starts(3, "c", "1 task waits (1 CPU each); 1 machine of 2 CPUs, 4 GiB takes 2; "+
				"2 tasks wait (1 CPU, 3 GiB each); 1 machine of 2 CPUs, 4 GiB takes 1"),
		},
		{
			name:     "stopped, terminated and lost machines are not live",
			clusters: []Cluster{cpuCluster("c", 0, 2)},
			machines: []Machine{
				{ID: "a", Cluster: "c", State: Stopped},
				{ID: "b", Cluster: "c", State: Terminated},
				{ID: "d", Cluster: "c", State: Lost},
				{ID: "e", Cluster: "c", State: Stopping},
			},
			demand: []Demand{{Cluster: "c", Res: oneCPU, Count: 9}},
			want: func() []Action {
				out := starts(2, "c", "9 tasks wait (1 CPU each); 1 machine of 2 CPUs, 4 GiB takes 2; capped at max 2")
				out[0].Machine, out[1].Machine = "a", "d"
				return out
			}(),
		},
		{
			name:     "idle stop after IdleStop",
			clusters: []Cluster{cpuCluster("c", 0, 4)},
			machines: []Machine{running("m1", "c", 5*time.Minute), running("m2", "c", 7*time.Minute+1500*time.Millisecond)},
			want: []Action{
				stop("c", "m1", "idle 5m0s (idle-stop 5m0s)"),
				stop("c", "m2", "idle 7m1s (idle-stop 5m0s)"),
			},
		},
		{
			name:     "not before IdleStop",
			clusters: []Cluster{cpuCluster("c", 0, 4)},
			machines: []Machine{running("m1", "c", 5*time.Minute-time.Second)},
		},
		{
			name: "IdleStop 0 never stops",
			clusters: []Cluster{func() Cluster {
				c := cpuCluster("c", 0, 4)
				c.IdleStop = 0
				return c
			}()},
			machines: []Machine{running("m1", "c", 100*time.Hour)},
		},
		{
			name: "Yield: idle machines give way at once, IdleStop 0 too; busy ones, Min and unneeded pending not kept",
			clusters: []Cluster{func() Cluster {
				c := cpuCluster("c", 2, 8)
				c.IdleStop, c.Yield, c.KeepPending = 0, "native job 7 waits in Slurm", 3
				return c
			}()},
			machines: []Machine{
				running("m1", "c", time.Second), running("m2", "c", 0), running("m3", "c", time.Hour),
				{ID: "m4", Cluster: "c", State: Running, Busy: true, IdleSince: t0.Add(-time.Hour)},
				{ID: "p1", Cluster: "c", State: Pending, PendingSince: t0.Add(-time.Minute)},
			},
			want: []Action{ // 5 live, Min 2: the pending one and the two idle longest
				stop("c", "m1", "idle, giving way: native job 7 waits in Slurm"),
				stop("c", "m3", "idle, giving way: native job 7 waits in Slurm"),
				stop("c", "p1", "withdrawn while pending: no work waits for it"),
			},
		},
		{
			name: "Yield with work waiting stops nothing",
			clusters: []Cluster{func() Cluster {
				c := cpuCluster("c", 0, 2)
				c.Yield = "native job 7 waits in Slurm"
				return c
			}()},
			machines: []Machine{running("m1", "c", time.Hour), running("m2", "c", time.Hour)},
			demand:   []Demand{{Cluster: "c", Res: oneCPU, Count: 9}},
		},
		{
			name:     "busy and unknown idle time are not stopped",
			clusters: []Cluster{cpuCluster("c", 0, 4)},
			machines: []Machine{
				{ID: "b", Cluster: "c", State: Running, Busy: true, IdleSince: t0.Add(-time.Hour)},
				{ID: "z", Cluster: "c", State: Running},
			},
		},
		{
			name:     "min kept, oldest idle stopped first",
			clusters: []Cluster{cpuCluster("c", 1, 4)},
			machines: []Machine{
				running("m3", "c", 10*time.Minute),
				running("m1", "c", 6*time.Minute),
				running("m2", "c", 20*time.Minute),
			},
			want: []Action{
				stop("c", "m2", "idle 20m0s (idle-stop 5m0s)"),
				stop("c", "m3", "idle 10m0s (idle-stop 5m0s)"),
			},
		},
		{
			name:     "busy machines count towards min",
			clusters: []Cluster{cpuCluster("c", 2, 4)},
			machines: []Machine{
				{ID: "b", Cluster: "c", State: Running, Busy: true},
				running("i1", "c", time.Hour),
				running("i2", "c", 2*time.Hour),
			},
			want: []Action{stop("c", "i2", "idle 2h0m0s (idle-stop 5m0s)")},
		},
		{
			name:     "below min",
			clusters: []Cluster{cpuCluster("c", 3, 4)},
			machines: []Machine{running("m1", "c", time.Hour)},
			want:     starts(2, "c", "below min 3"),
		},
		{
			name:     "min above max is capped",
			clusters: []Cluster{cpuCluster("c", 5, 2)},
			want:     starts(2, "c", "below min 5; capped at max 2"),
		},
		{
			name:     "a manually stopped machine counts towards min",
			clusters: []Cluster{cpuCluster("c", 2, 4)},
			machines: []Machine{
				{ID: "m1", Cluster: "c", State: Running, Busy: true},
				{ID: "m2", Cluster: "c", State: Stopped, Manual: true},
			},
		},
		{
			// A person's `burst machine stop` holds: waiting work starts a
			// new machine within max, never the one the person stopped.
			name:     "a manually stopped machine is not started again while work waits",
			clusters: []Cluster{cpuCluster("c", 0, 2)},
			machines: []Machine{{ID: "m1", Cluster: "c", State: Stopped, Manual: true}},
			demand:   []Demand{{Cluster: "c", Res: burst.Resources{CPUs: 2}, Count: 3}},
			want:     starts(2, "c", "3 tasks wait (2 CPUs each); 1 machine of 2 CPUs, 4 GiB takes 1; capped at max 2"),
		},
		{
			name:     "a manually stopped machine and max 1: work starts a new one",
			clusters: []Cluster{cpuCluster("c", 0, 1)},
			machines: []Machine{{ID: "m1", Cluster: "c", State: Stopped, Manual: true}},
			demand:   []Demand{{Cluster: "c", Res: burst.Resources{CPUs: 1}, Count: 1}},
			want:     starts(1, "c", "1 task waits (1 CPU each); 1 machine of 2 CPUs, 4 GiB takes 2"),
		},
		{
			name:     "starts reuse stopped and lost machines, never a manually stopped one",
			clusters: []Cluster{cpuCluster("c", 0, 4)},
			machines: []Machine{
				{ID: "m1", Cluster: "c", State: Stopped, Manual: true},
				{ID: "m2", Cluster: "c", State: Lost, Manual: true},
				{ID: "m3", Cluster: "c", State: Stopped},
				{ID: "m4", Cluster: "c", State: Terminated},
			},
			demand: []Demand{{Cluster: "c", Res: burst.Resources{CPUs: 2}, Count: 3}},
			want: func() []Action {
				out := starts(3, "c", "3 tasks wait (2 CPUs each); 1 machine of 2 CPUs, 4 GiB takes 1")
				out[0].Machine, out[1].Machine = "m2", "m3"
				return out
			}(),
		},
		{
			// A local cluster on a full host: nothing starts, and min
			// still keeps its idle machine.
			name:     "no room: no start, min holds",
			clusters: []Cluster{with(cpuCluster("c", 1, 3), func(c *Cluster) { c.NoRoom = "this host is full" })},
			machines: []Machine{running("m1", "c", time.Hour)},
			demand:   []Demand{{Cluster: "c", Res: burst.Resources{CPUs: 2}, Count: 2}},
		},
		{
			name:     "a manually started machine idles out like any other",
			clusters: []Cluster{cpuCluster("c", 0, 4)},
			machines: []Machine{{ID: "m1", Cluster: "c", State: Running, Manual: true, IdleSince: t0.Add(-time.Hour)}},
			want:     []Action{stop("c", "m1", "idle 1h0m0s (idle-stop 5m0s)")},
		},
		{
			name:     "demand prevents stop",
			clusters: []Cluster{cpuCluster("c", 0, 1)},
			machines: []Machine{running("m1", "c", time.Hour)},
			demand:   []Demand{{Cluster: "c", Res: burst.Resources{CPUs: 2}, Count: 1}},
		},
		{
			name: "schedule off stops all and starts none",
			clusters: []Cluster{func() Cluster {
				c := cpuCluster("c", 2, 4)
				c.On, c.Why = false, "off until Mon 08:00"
				return c
			}()},
			machines: []Machine{
				{ID: "m2", Cluster: "c", State: Running, Busy: true},
				{ID: "m1", Cluster: "c", State: Pending},
				{ID: "m0", Cluster: "c", State: Stopped},
			},
			demand: []Demand{{Cluster: "c", Res: oneCPU, Count: 10}},
			want: []Action{
				stop("c", "m1", "schedule: off until Mon 08:00"),
				stop("c", "m2", "schedule: off until Mon 08:00"),
			},
		},
		{
			name: "schedule off without Why",
			clusters: []Cluster{func() Cluster {
				c := cpuCluster("c", 0, 4)
				c.On = false
				return c
			}()},
			machines: []Machine{running("m1", "c", 0)},
			want:     []Action{stop("c", "m1", "schedule: off")},
		},
		{
			name: "blocked starts none but idle machines still stop, below min too",
			clusters: []Cluster{func() Cluster {
				c := cpuCluster("c", 3, 4)
				c.Blocked = "budget exhausted: $100.00 of $100.00 spent"
				return c
			}()},
			machines: []Machine{running("m1", "c", time.Hour), {ID: "m2", Cluster: "c", State: Running, Busy: true}},
			want:     []Action{stop("c", "m1", "idle 1h0m0s (idle-stop 5m0s)")},
		},
		{
			name: "blocked with demand starts none",
			clusters: []Cluster{func() Cluster {
				c := cpuCluster("c", 3, 4)
				c.Blocked = "budget exhausted"
				return c
			}()},
			demand: []Demand{{Cluster: "c", Res: oneCPU, Count: 10}},
		},
		{
			name: "StopBlocked stops every live machine",
			clusters: []Cluster{func() Cluster {
				c := cpuCluster("c", 1, 4)
				c.Blocked, c.StopBlocked = "budget exhausted: $100.00 of $100.00 spent", true
				return c
			}()},
			machines: []Machine{
				{ID: "b", Cluster: "c", State: Running, Busy: true},
				{ID: "a", Cluster: "c", State: Pending},
				{ID: "s", Cluster: "c", State: Stopping},
			},
			demand: []Demand{{Cluster: "c", Res: oneCPU, Count: 10}},
			want: []Action{
				stop("c", "a", "budget exhausted: $100.00 of $100.00 spent"),
				stop("c", "b", "budget exhausted: $100.00 of $100.00 spent"),
			},
		},
		{
			name:     "GPU demand on a non-GPU type is ignored and does not prevent stops",
			clusters: []Cluster{cpuCluster("c", 0, 4)},
			machines: []Machine{running("m1", "c", time.Hour)},
			demand:   []Demand{{Cluster: "c", Res: burst.Resources{CPUs: 1, GPUs: 1}, Count: 4}},
			want:     []Action{stop("c", "m1", "idle 1h0m0s (idle-stop 5m0s)")},
		},
		{
			name: "GPU demand on a GPU type",
			clusters: []Cluster{{Name: "g", Max: 4, On: true,
				Capacity: burst.Resources{CPUs: 8, MemBytes: 61 * gib, GPUs: 1}}},
			demand: []Demand{{Cluster: "g", Res: burst.Resources{CPUs: 4, MemBytes: 1536 << 20, GPUs: 1}, Count: 2}},
			want: starts(2, "g",
				"2 tasks wait (4 CPUs, 1.5 GiB, 1 GPU each); 1 machine of 8 CPUs, 61 GiB, 1 GPU takes 1"),
		},
		{
			name: "clusters in given order, other clusters' machines and demand ignored",
			clusters: []Cluster{
				cpuCluster("z", 0, 4),
				cpuCluster("a", 1, 4),
			},
			machines: []Machine{
				running("a2", "a", time.Hour),
				running("a1", "a", 2*time.Hour),
				running("x1", "x", time.Hour),
				running("z9", "z", time.Hour),
				running("z1", "z", time.Minute),
			},
			demand: []Demand{{Cluster: "x", Res: oneCPU, Count: 5}},
			want: []Action{
				stop("z", "z9", "idle 1h0m0s (idle-stop 5m0s)"),
				stop("a", "a1", "idle 2h0m0s (idle-stop 5m0s)"),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(t0, tc.clusters, tc.machines, tc.demand)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Plan:\n got %s\nwant %s", show(got), show(tc.want))
			}
		})
	}
}

func show(as []Action) string {
	var b strings.Builder
	for _, a := range as {
		if a.Start {
			fmt.Fprintf(&b, "\n  start %s/%s: %s", a.Cluster, a.Machine, a.Reason)
		} else {
			fmt.Fprintf(&b, "\n  stop %s/%s: %s", a.Cluster, a.Machine, a.Reason)
		}
	}
	if b.Len() == 0 {
		return "nothing"
	}
	return b.String()
}

// randomScene makes a snapshot of a few clusters with random settings,
// machines and demand.
func randomScene(r *rand.Rand) ([]Cluster, []Machine, []Demand) {
	states := []State{Pending, Running, Running, Running, Stopping, Stopped, Terminated, Lost}
	var cs []Cluster
	var ms []Machine
	var ds []Demand
	for i := range 1 + r.IntN(3) {
		name := fmt.Sprintf("c%d", i)
		c := Cluster{
			Name:     name,
			Min:      r.IntN(4),
			Max:      r.IntN(7),
			IdleStop: time.Duration(r.IntN(4)) * time.Minute,
			Capacity: burst.Resources{CPUs: 1 + r.IntN(8), MemBytes: int64(r.IntN(3)) * 8 * gib, GPUs: r.IntN(3)},
			On:       r.IntN(5) > 0,
		}
		if r.IntN(5) == 0 {
			c.Blocked = "budget exhausted"
			c.StopBlocked = r.IntN(2) == 0
		}
		if r.IntN(4) == 0 {
			c.Yield = "native job 1 waits"
		}
		cs = append(cs, c)
		for j := range r.IntN(9) {
			ms = append(ms, Machine{
				ID:        fmt.Sprintf("%s-m%d", name, j),
				Cluster:   name,
				State:     states[r.IntN(len(states))],
				Busy:      r.IntN(2) == 0,
				IdleSince: t0.Add(-time.Duration(r.IntN(300)) * time.Second),
				Manual:    r.IntN(4) == 0,
				// Ties too: the order must not depend on the input's.
				PendingSince: t0.Add(-time.Duration(r.IntN(3)) * time.Second),
			})
		}
		for range r.IntN(3) {
			ds = append(ds, Demand{Cluster: name, Count: r.IntN(30),
				Res: burst.Resources{CPUs: r.IntN(5), MemBytes: int64(r.IntN(3)) * 4 * gib, GPUs: r.IntN(2)}})
		}
	}
	return cs, ms, ds
}

// checkPlan checks the invariants Plan promises for one snapshot.
func checkPlan(t *testing.T, r *rand.Rand, cs []Cluster, ms []Machine, ds []Demand) {
	t.Helper()
	got := Plan(t0, cs, ms, ds)

	shuffled := append([]Machine(nil), ms...)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if again := Plan(t0, cs, shuffled, ds); !reflect.DeepEqual(got, again) {
		t.Fatalf("Plan depends on machine order:%s\nvs%s", show(got), show(again))
	}

	byID := map[string]Machine{}
	for _, m := range ms {
		byID[m.ID] = m
	}
	clusterIdx := map[string]int{}
	for i, c := range cs {
		clusterIdx[c.Name] = i
	}
	lastCluster, lastID := -1, ""
	nStart, nStop := map[string]int{}, map[string]int{}
	stopped := map[string]bool{}
	for _, a := range got {
		i, ok := clusterIdx[a.Cluster]
		if !ok {
			t.Fatalf("action for unknown cluster %q", a.Cluster)
		}
		if i < lastCluster {
			t.Fatalf("actions out of cluster order:%s", show(got))
		}
		if i != lastCluster {
			lastID = ""
		}
		lastCluster = i
		if a.Reason == "" {
			t.Fatalf("action without a reason: %+v", a)
		}
		if a.Start {
			nStart[a.Cluster]++
			if a.Machine != "" {
				m, ok := byID[a.Machine]
				if !ok || m.Cluster != a.Cluster || stopped[a.Machine] ||
					!(m.State == Lost || m.State == Stopped && !m.Manual) {
					t.Fatalf("bad start %+v (machine %+v): only a stopped or lost machine no person stopped may start again", a, m)
				}
				stopped[a.Machine] = true
			}
			continue
		}
		m, ok := byID[a.Machine]
		if !ok || m.Cluster != a.Cluster || !m.State.Serving() || stopped[a.Machine] {
			t.Fatalf("bad stop %+v (machine %+v)", a, m)
		}
		if a.Machine <= lastID {
			t.Fatalf("stops not ordered by ID:%s", show(got))
		}
		if c := cs[i]; m.State == Pending && (m.Manual || m.Busy) && c.On && !(c.StopBlocked && c.Blocked != "") {
			t.Fatalf("withdrew a pending machine a person started or that holds work %+v:%s", m, show(got))
		}
		lastID = a.Machine
		stopped[a.Machine] = true
		nStop[a.Cluster]++
	}
	for _, c := range cs {
		live := 0
		for _, m := range ms {
			if m.Cluster == c.Name && m.State.Serving() {
				live++
			}
		}
		after := live + nStart[c.Name] - nStop[c.Name]
		if nStart[c.Name] > 0 && nStop[c.Name] > 0 {
			t.Fatalf("cluster %s both starts and stops:%s", c.Name, show(got))
		}
		if nStart[c.Name] > 0 && (after > c.Max || !c.On || c.Blocked != "") {
			t.Fatalf("cluster %+v: %d live, %d starts:%s", c, live, nStart[c.Name], show(got))
		}
		if c.On && c.Blocked == "" {
			if nStop[c.Name] > 0 && after < c.Min {
				t.Fatalf("cluster %+v: %d live, drops below min with %d stops", c, live, nStop[c.Name])
			}
			manual := 0
			for _, m := range ms {
				if m.Cluster == c.Name && m.Manual && (m.State == Stopped || m.State == Stopping) {
					manual++
				}
			}
			if want := min(c.Min-manual, c.Max); after < want {
				t.Fatalf("cluster %+v: %d live after plan, below min (%d manually stopped)", c, after, manual)
			}
		}
		if (!c.On || c.StopBlocked && c.Blocked != "") && after != 0 {
			t.Fatalf("cluster %+v: %d machines left live", c, after)
		}
	}
}

func TestPlanProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		cs, ms, ds := randomScene(r)
		checkPlan(t, r, cs, ms, ds)
	}
}

func FuzzPlan(f *testing.F) {
	for _, seed := range []uint64{0, 1, 42, 1 << 40} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		r := rand.New(rand.NewPCG(seed, seed>>7))
		cs, ms, ds := randomScene(r)
		checkPlan(t, r, cs, ms, ds)
	})
}

func TestWaiting(t *testing.T) {
	c := cpuCluster("work", 0, 2)
	for _, tc := range []struct {
		name     string
		cluster  Cluster
		machines []Machine
		want     string
	}{
		{"starting one", c, []Machine{{ID: "work-1", Cluster: "work", State: Running}, {ID: "work-2", Cluster: "work", State: Pending}},
			"cluster work is starting a machine for it (work-2)"},
		{"starting two", c, []Machine{{ID: "work-3", Cluster: "work", State: Pending}, {ID: "work-2", Cluster: "work", State: Pending}},
			"cluster work is starting 2 machines for it (work-2, work-3)"},
		{"at max", c, []Machine{{ID: "work-1", Cluster: "work", State: Running}, {ID: "work-2", Cluster: "work", State: Running},
			{ID: "x-1", Cluster: "x", State: Pending}}, "cluster work runs its --max of 2 machines"},
		{"a person's stop leaves room", with(c, func(c *Cluster) { c.Max = 1 }), []Machine{{ID: "work-1", Cluster: "work", State: Stopped, Manual: true}},
			"cluster work starts a machine for it at the autoscaler's next round"},
		{"blocked", with(c, func(c *Cluster) { c.Blocked = "budget of project mars exhausted" }), nil,
			"cluster work starts no machine: budget of project mars exhausted"},
		{"off", with(c, func(c *Cluster) { c.On, c.Why = false, "off until Mon 08:00" }), nil,
			"cluster work is switched off by its schedule (off until Mon 08:00)"},
		{"max 0", with(c, func(c *Cluster) { c.Max = 0 }), nil, "cluster work never starts a machine (--max 0)"},
		{"no room", with(c, func(c *Cluster) { c.NoRoom = "this host is full" }), nil,
			"cluster work waits for room to start a machine: this host is full"},
	} {
		if got := Waiting(tc.cluster, tc.machines); got != tc.want {
			t.Errorf("%s: Waiting = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func with[T any](v T, f func(*T)) T { f(&v); return v }
