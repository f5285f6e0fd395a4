package server

import (
	"slices"
	"sort"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/store"
)

// TestNeverStarted: of the tasks an agent held queued when it went away,
// those it cannot have started count no lost machine. The agent starts its
// queue in the order it was handed, each as a place frees: as many as the
// job had places free on the machine (its CPUs, at most its -j, less what
// is started or handed to start at once), at least one, may have started;
// the rest cannot have.
func TestNeverStarted(t *testing.T) {
	job := func(cpus, maxRunning int) *jobRT {
		return &jobRT{row: store.JobRow{Job: burst.Job{ID: 1, Spec: &burst.JobSpec{Kind: burst.KindMap, Tasks: 10,
			Resources: burst.Resources{CPUs: cpus}, MaxRunning: maxRunning, Map: &burst.MapSpec{}}}}}
	}
	type task struct {
		name                       string
		started, queued, delivered bool
		handed                     uint64
	}
	// On 4 CPUs: one started, one handed to start at once, four queued.
	tasks := []task{
		{"started", true, false, true, 0},
		{"at once", false, false, true, 0},
		{"q1", false, true, true, 1}, {"q2", false, true, true, 2}, {"q3", false, true, true, 3}, {"q4", false, true, true, 4},
	}
	for _, c := range []struct {
		name        string
		cpus, capJ  int
		never       []string
		machineCPUs int
	}{
		{"4 places, 2 busy: 2 of the queue may have started", 1, 0, []string{"q3", "q4"}, 4},
		{"-j 3: 1 may have", 1, 3, []string{"q2", "q3", "q4"}, 4},
		{"2 CPUs a task: 2 places, both busy: still 1 may have", 2, 0, []string{"q2", "q3", "q4"}, 4},
		{"tasks of no CPU: all may have", 0, 0, nil, 4},
	} {
		m := newMachineRT(store.MachineRow{Machine: burst.Machine{ID: "a", CPUs: c.machineCPUs}})
		j := job(c.cpus, c.capJ)
		names := map[*taskRT]string{}
		for i, tk := range tasks {
			rt := &taskRT{row: store.TaskRow{Task: burst.Task{JobID: 1, Index: i}}, job: j, machine: m,
				started: tk.started, queued: tk.queued, delivered: tk.delivered, handed: tk.handed}
			m.tasks[taskKey{1, i}] = rt
			names[rt] = tk.name
		}
		var got []string
		for rt := range m.neverStarted() {
			got = append(got, names[rt])
		}
		sort.Strings(got)
		if !slices.Equal(got, c.never) {
			t.Errorf("%s: never started %v, want %v", c.name, got, c.never)
		}
	}
}

// TestLoseMachineKills: a lost machine's processes are killed only on the
// server's host, and only those whose start was reported (a pid to name);
// a machine elsewhere has its provider stop what is left of it.
func TestLoseMachineKills(t *testing.T) {
	for _, c := range []struct {
		host  string
		kills int
	}{{"thishost", 1}, {"elsewhere", 0}} {
		h := newHarness(t)
		h.do(func(b *batch) {
			if _, err := h.c.register(&client.Register{Machine: "a", Host: c.host, Cluster: localCluster, CPUs: 2,
				MemBytes: 8 << 30, PID: 100, PIDStart: 1}, h.now, b); err != nil {
				t.Fatal(err)
			}
		})
		h.submit(2)
		h.place()
		l := h.leaseN("a", 0, 2)
		h.report("a", started(l.Tasks[0].TaskRef, h.now)) // the other's start is not reported: no pid
		h.do(func(b *batch) { h.c.loseMachine(h.c.machines["a"], "gone", h.now, b) })
		if len(h.kills) != c.kills {
			t.Fatalf("a machine on %s: kills %+v, want %d", c.host, h.kills, c.kills)
		}
		if c.kills == 1 && (h.kills[0].ref != l.Tasks[0].TaskRef || h.kills[0].pid != 1000+l.Tasks[0].Index) {
			t.Errorf("killed %+v; want the started task's process", h.kills[0])
		}
	}
}
