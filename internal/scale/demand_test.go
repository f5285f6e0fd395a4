package scale

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// The autoscaler's demand: what waits, less what running machines take now
// and what pending (or being started) machines will take, within --min and
// --max, never undoing a person's stop.
//
// Pending machines (pilots queued in Slurm, VMs booting) that the waiting
// work no longer needs are withdrawn at once, not left to come up and idle
// for IdleStop.
func TestPlanDemand(t *testing.T) {
	oneCPU := burst.Resources{CPUs: 1}
	hpc := Cluster{Name: "hpc", Max: 20, IdleStop: 2 * time.Minute, Capacity: burst.Resources{CPUs: 2, MemBytes: gib}, On: true}
	// pilots are n pending machines p01.. of hpc, asked for a second apart
	// (p01 first); upIdle two of its machines up, idle, just started.
	pilots := func(n int) []Machine {
		var ms []Machine
		for i := range n {
			ms = append(ms, Machine{ID: fmt.Sprintf("p%02d", i+1), Cluster: "hpc", State: Pending,
				PendingSince: t0.Add(time.Duration(i-n) * time.Second)})
		}
		return ms
	}
	upIdle := func() []Machine {
		return []Machine{
			{ID: "r1", Cluster: "hpc", State: Running, IdleSince: t0.Add(-time.Second), Free: burst.Resources{CPUs: 2, MemBytes: gib}},
			{ID: "r2", Cluster: "hpc", State: Running, IdleSince: t0.Add(-time.Second), Free: burst.Resources{CPUs: 2, MemBytes: gib}},
		}
	}
	withdrawn := func(reason string, ids ...string) []Action {
		var out []Action
		for _, id := range ids {
			out = append(out, stop("hpc", id, reason))
		}
		return out
	}
	const gone = "withdrawn while pending: no work waits for it"
	free := func(id string, cpus int) Machine {
		m := running(id, "c", 0)
		m.Busy, m.Free = true, burst.Resources{CPUs: cpus, MemBytes: int64(cpus) * 2 * gib}
		return m
	}
	for _, tc := range []struct {
		name     string
		cluster  Cluster
		machines []Machine
		demand   []Demand
		want     []Action
	}{
		{
			name:    "queued work starts machines for what waits",
			cluster: cpuCluster("c", 0, 5),
			demand:  []Demand{{Cluster: "c", Res: oneCPU, Count: 5}},
			want:    starts(3, "c", "5 tasks wait (1 CPU each); 1 machine of 2 CPUs, 4 GiB takes 2"),
		},
		{
			name:     "work a running machine can take now starts nothing",
			cluster:  cpuCluster("c", 0, 5),
			machines: []Machine{free("c-1", 2)},
			demand:   []Demand{{Cluster: "c", Res: oneCPU, Count: 2}},
		},
		{
			name:     "what free room does not take starts machines",
			cluster:  cpuCluster("c", 0, 5),
			machines: []Machine{free("c-1", 1), free("c-2", 0)},
			demand:   []Demand{{Cluster: "c", Res: oneCPU, Count: 4}},
			want:     starts(2, "c", "3 tasks wait (1 CPU each); 1 machine of 2 CPUs, 4 GiB takes 2"),
		},
		{
			name:    "a stopping machine's room takes nothing",
			cluster: cpuCluster("c", 0, 5),
			machines: []Machine{{ID: "c-1", Cluster: "c", State: Stopping, Busy: true,
				Free: burst.Resources{CPUs: 2, MemBytes: 4 * gib}}},
			demand: []Demand{{Cluster: "c", Res: oneCPU, Count: 2}},
			want:   starts(1, "c", "2 tasks wait (1 CPU each); 1 machine of 2 CPUs, 4 GiB takes 2"),
		},
		{
			name:     "starting machines count as taking work when they come up",
			cluster:  cpuCluster("c", 0, 5),
			machines: []Machine{{ID: "c-1", Cluster: "c", State: Pending}, {ID: "c-2", Cluster: "c", State: Pending}},
			demand:   []Demand{{Cluster: "c", Res: oneCPU, Count: 5}},
			want:     starts(1, "c", "5 tasks wait (1 CPU each); 1 machine of 2 CPUs, 4 GiB takes 2; 2 pending"),
		},
		{
			name:     "--max caps the starts",
			cluster:  cpuCluster("c", 0, 2),
			machines: []Machine{free("c-1", 0)},
			demand:   []Demand{{Cluster: "c", Res: oneCPU, Count: 10}},
			want:     starts(1, "c", "10 tasks wait (1 CPU each); 1 machine of 2 CPUs, 4 GiB takes 2; capped at max 2"),
		},
		{
			name:    "--min starts machines with nothing queued",
			cluster: cpuCluster("c", 2, 4),
			want:    starts(2, "c", "below min 2"),
		},
		{
			name:     "a machine a person stopped counts towards --min and is not started again",
			cluster:  cpuCluster("c", 1, 3),
			machines: []Machine{{ID: "c-1", Cluster: "c", State: Stopped, Manual: true}, {ID: "c-2", Cluster: "c", State: Stopped}},
			demand:   []Demand{{Cluster: "c", Res: oneCPU, Count: 1}},
			want: []Action{{Start: true, Cluster: "c", Machine: "c-2",
				Reason: "1 task waits (1 CPU each); 1 machine of 2 CPUs, 4 GiB takes 2"}},
		},
		{
			name:    "tasks of no CPU ask for one machine: not none, not one a task",
			cluster: cpuCluster("c", 0, 5),
			demand:  []Demand{{Cluster: "c", Res: burst.Resources{}, Count: 8}},
			want:    starts(1, "c", "8 tasks wait (no CPU of its own each); 1 machine of 2 CPUs, 4 GiB takes them all"),
		},
		{
			name:    "tasks of no CPU that declare memory ask for the machines it takes",
			cluster: cpuCluster("c", 0, 5),
			demand:  []Demand{{Cluster: "c", Res: burst.Resources{MemBytes: 2 * gib}, Count: 8}},
			want:    starts(4, "c", "8 tasks wait (no CPU of its own, 2 GiB each); 1 machine of 2 CPUs, 4 GiB takes 2"),
		},
		{
			name:     "a running machine full of reserving work takes tasks of no CPU",
			cluster:  cpuCluster("c", 0, 5),
			machines: []Machine{func() Machine { m := free("c-1", 0); m.Free.MemBytes = gib; return m }()},
			demand:   []Demand{{Cluster: "c", Res: burst.Resources{}, Count: 8}},
		},
		{
			name:     "a running machine that takes nothing (Free zero) takes no task of no CPU",
			cluster:  cpuCluster("c", 0, 5),
			machines: []Machine{{ID: "c-1", Cluster: "c", State: Running, Busy: true}},
			demand:   []Demand{{Cluster: "c", Res: burst.Resources{}, Count: 8}},
			want:     starts(1, "c", "8 tasks wait (no CPU of its own each); 1 machine of 2 CPUs, 4 GiB takes them all"),
		},
		{
			name:     "memory, not CPUs, can be what free room lacks",
			cluster:  cpuCluster("c", 0, 4),
			machines: []Machine{free("c-1", 2)}, // 2 CPUs, 4 GiB free
			demand:   []Demand{{Cluster: "c", Res: burst.Resources{CPUs: 1, MemBytes: 3 * gib}, Count: 2}},
			want:     starts(1, "c", "1 task waits (1 CPU, 3 GiB each); 1 machine of 2 CPUs, 4 GiB takes 1"),
		},
		{
			// What a newcomer met: 30 one-CPU tasks on 2-CPU pilots
			// submitted 15, two came up and ran the whole map in under
			// 2 s, and 13 stayed queued in Slurm, to come up one after
			// another and idle out --idle-stop each.
			name:     "withdraw: the map ended: every pending pilot is withdrawn, the running ones idle on",
			cluster:  hpc,
			machines: append(upIdle(), pilots(13)...),
			want:     withdrawn(gone, "p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "p09", "p10", "p11", "p12", "p13"),
		},
		{
			name:     "withdraw: the running machines take what waits: the pending are not needed",
			cluster:  hpc,
			machines: append(upIdle(), pilots(3)...),
			demand:   []Demand{{Cluster: "hpc", Res: oneCPU, Count: 4}},
			want:     withdrawn(gone, "p01", "p02", "p03"),
		},
		{
			name:     "withdraw: as the queue drains, the latest asked beyond the need are withdrawn",
			cluster:  hpc,
			machines: pilots(5),
			demand:   []Demand{{Cluster: "hpc", Res: oneCPU, Count: 3}},
			want: withdrawn("withdrawn while pending: 3 tasks wait (1 CPU each); 1 machine of 2 CPUs, 1 GiB takes 2; 2 of the 5 pending take it",
				"p03", "p04", "p05"),
		},
		{
			name:     "withdraw: pending machines the work needs are kept",
			cluster:  hpc,
			machines: pilots(5),
			demand:   []Demand{{Cluster: "hpc", Res: oneCPU, Count: 10}},
		},
		{
			name:     "withdraw: min holds",
			cluster:  with(hpc, func(c *Cluster) { c.Min = 2 }),
			machines: pilots(3),
			want:     withdrawn(gone, "p03"),
		},
		{
			name:     "withdraw: running machines count towards min",
			cluster:  with(hpc, func(c *Cluster) { c.Min = 2 }),
			machines: append(upIdle(), pilots(2)...),
			want:     withdrawn(gone, "p01", "p02"),
		},
		{
			name:    "withdraw: one a person started, and a busy one, are kept",
			cluster: hpc,
			machines: []Machine{
				{ID: "p1", Cluster: "hpc", State: Pending, Manual: true},
				{ID: "p2", Cluster: "hpc", State: Pending, Busy: true},
				{ID: "p3", Cluster: "hpc", State: Pending},
			},
			want: withdrawn(gone, "p3"),
		},
		{
			name:    "withdraw: withdrawals and idle stops together, ordered by ID",
			cluster: hpc,
			machines: []Machine{
				{ID: "a", Cluster: "hpc", State: Running, IdleSince: t0.Add(-time.Hour)},
				{ID: "b", Cluster: "hpc", State: Pending},
				{ID: "c", Cluster: "hpc", State: Running, Busy: true},
			},
			want: []Action{stop("hpc", "a", "idle 1h0m0s (idle-stop 2m0s)"), stop("hpc", "b", gone)},
		},
		{
			name:     "withdraw: blocked: pending ones nothing needs are withdrawn too",
			cluster:  with(hpc, func(c *Cluster) { c.Blocked = "next try in 4s" }),
			machines: pilots(2),
			want:     withdrawn(gone, "p01", "p02"),
		},
		{
			name:     "withdraw: the need of the last grace is kept (KeepPending): the queue fills again a moment later",
			cluster:  with(hpc, func(c *Cluster) { c.KeepPending = 13 }),
			machines: append(upIdle(), pilots(13)...),
		},
		{
			name:     "withdraw: beyond the need kept, the latest asked go",
			cluster:  with(hpc, func(c *Cluster) { c.KeepPending = 3 }),
			machines: pilots(5),
			demand:   []Demand{{Cluster: "hpc", Res: oneCPU, Count: 3}},
			want: withdrawn("withdrawn while pending: 3 tasks wait (1 CPU each); 1 machine of 2 CPUs, 1 GiB takes 2; 2 of the 5 pending take it",
				"p04", "p05"),
		},
		{
			name:     "withdraw: no idle-stop: pending ones are withdrawn all the same",
			cluster:  with(hpc, func(c *Cluster) { c.IdleStop = 0 }),
			machines: pilots(1),
			want:     withdrawn(gone, "p01"),
		},
	} {
		got := Plan(t0, []Cluster{tc.cluster}, tc.machines, tc.demand)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, show(got), show(tc.want))
		}
	}
}

// Net leaves its arguments as they are: the server's snapshot is read, not
// changed.
func TestNetKeepsItsInputs(t *testing.T) {
	ms := []Machine{{ID: "a", Cluster: "c", State: Running, Free: burst.Resources{CPUs: 4}}}
	ds := []Demand{{Cluster: "c", Res: burst.Resources{CPUs: 1}, Count: 6}}
	got := Net(ds, ms)
	if got[0].Count != 2 || ds[0].Count != 6 || ms[0].Free.CPUs != 4 {
		t.Fatalf("Net = %+v (inputs now %+v, %+v); want 2 left and the inputs unchanged", got, ds, ms)
	}
}

// One definition of each question asked of a machine's state.
func TestStates(t *testing.T) {
	for _, tc := range []struct {
		s                            State
		live, serving, metered, gone bool
	}{
		{Pending, true, true, false, false},
		{Running, true, true, true, false},
		{Stopping, true, false, true, false},
		{Stopped, false, false, false, true},
		{Terminated, false, false, false, true},
		{Lost, false, false, false, true},
		{"", false, false, false, false},
	} {
		if tc.s.Live() != tc.live || tc.s.Serving() != tc.serving || tc.s.Metered() != tc.metered || tc.s.Gone() != tc.gone {
			t.Errorf("%q: live %v serving %v metered %v gone %v; want %v %v %v %v", tc.s,
				tc.s.Live(), tc.s.Serving(), tc.s.Metered(), tc.s.Gone(), tc.live, tc.serving, tc.metered, tc.gone)
		}
	}
	// The words are burst's own.
	for s, w := range map[State]string{Pending: burst.MachinePending, Running: burst.MachineRunning, Stopping: burst.MachineStopping,
		Stopped: burst.MachineStopped, Terminated: burst.MachineTerminated, Lost: burst.MachineLost} {
		if string(s) != w {
			t.Errorf("state %q is %q in burst", s, w)
		}
	}
}

// The need kept for pending machines is the highest of the last
// WithdrawGrace: held while the queue empties between a workflow's stages,
// given up once the grace has passed since the peak was last reached.
func TestRecentNeed(t *testing.T) {
	var r RecentNeed
	for _, st := range []struct {
		at         time.Duration
		need, keep int
	}{
		{0, 15, 15},
		{2 * time.Second, 0, 15},  // the map ended
		{29 * time.Second, 0, 15}, // still within the grace
		{30 * time.Second, 0, 0},  // the grace since the peak has passed
		{31 * time.Second, 3, 3},  // a new peak
		{40 * time.Second, 5, 5},  // higher: held from now
		{41 * time.Second, 5, 5},  // reached again: held from now
		{70 * time.Second, 1, 5},  // 29 s after the peak was last reached
		{71 * time.Second, 1, 1},  // 30 s after
		{72 * time.Second, 0, 1},  // the need of a moment ago is held in turn
		{102 * time.Second, 0, 0},
	} {
		if got := r.Seen(t0.Add(st.at), st.need); got != st.keep {
			t.Errorf("at +%s with need %d: keep %d, want %d", st.at, st.need, got, st.keep)
		}
	}
}

// Need is the need Plan weighs pending machines against: the waiting work
// of the cluster alone, after what its running machines take.
func TestNeed(t *testing.T) {
	c := Cluster{Name: "hpc", Max: 9, Capacity: burst.Resources{CPUs: 2}, On: true}
	ms := []Machine{
		{ID: "r1", Cluster: "hpc", State: Running, Free: burst.Resources{CPUs: 2}},
		{ID: "o1", Cluster: "other", State: Running, Free: burst.Resources{CPUs: 8}},
	}
	ds := []Demand{{Cluster: "hpc", Res: burst.Resources{CPUs: 1}, Count: 7}, {Cluster: "other", Res: burst.Resources{CPUs: 1}, Count: 40}}
	if got := Need(c, ms, ds); got != 3 { // 7 wait, r1 takes 2: 5 left, 2 a machine
		t.Errorf("Need = %d, want 3", got)
	}
}
