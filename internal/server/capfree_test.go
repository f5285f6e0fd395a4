package server

import (
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// TestCapFree: a -j capped map of short tasks is queued ahead at its
// machine only where its cap cannot bind: the one live machine of its
// cluster, running nothing but it, of no more CPUs than the cap's tasks
// take, while the job is not being cancelled. Anywhere else the cap binds
// at the server, and the job is handed out task by task.
func TestCapFree(t *testing.T) {
	setup := func(cpus int, opts ...jobOpt) (*harness, *jobRT) {
		h := newHarness(t)
		h.register("a", cpus)
		id := h.submit(40, append([]jobOpt{maxRunning(2)}, opts...)...)
		seq := h.shortRuns("a", 0) // the job is prefetched from now on
		h.place()
		h.startAll("a", seq)
		return h, h.c.jobs[id]
	}
	h, j := setup(2)
	if got := h.c.capFree(j); got != h.c.machines["a"] {
		t.Fatalf("-j 2 of 1-CPU tasks on the one machine of 2 CPUs: capFree %v; want machine a", got)
	}
	h.c.machines["a"].registered = false
	if got := h.c.capFree(j); got != nil {
		t.Errorf("a machine whose agent is gone: capFree %s; want nil", got.row.ID)
	}
	h.c.machines["a"].registered = true
	j.row.Spec.Cluster = "gpu" // bound to another cluster than its machine's
	if got := h.c.capFree(j); got != nil {
		t.Errorf("a job of another cluster than its machine's: capFree %s; want nil", got.row.ID)
	}
	j.row.Spec.Cluster = ""
	j.row.CancelRequested = true
	if got := h.c.capFree(j); got != nil {
		t.Errorf("a job being cancelled: capFree %s; want nil", got.row.ID)
	}

	// Tasks that share the CPUs (of none each): nothing at the agent holds
	// them back, so the cap always binds at the server.
	h, j = setup(2, func(s *burst.JobSpec) { s.SharedCPUs, s.Resources.CPUs = true, 0 })
	if got := h.c.capFree(j); got != nil {
		t.Errorf("a map sharing the CPUs: capFree %s; want nil", got.row.ID)
	}

	h, j = setup(4)
	if got := h.c.capFree(j); got != nil {
		t.Errorf("-j 2 on a machine of 4 CPUs: capFree %s; want nil (the cap binds)", got.row.ID)
	}

	h, j = setup(2)
	h.register("b", 2) // the cluster names another machine
	if got := h.c.capFree(j); got != nil {
		t.Errorf("a cluster of two machines: capFree %s; want nil", got.row.ID)
	}
}

// TestSeesHome: the scheduler counts a machine as one whose tasks can
// read the server's home unless its agent said it shares no filesystem
// with the server (remote) or the admin trusts members' work on its
// cluster (--trust-members-on); members' work goes only where it cannot.
func TestSeesHome(t *testing.T) {
	h := newHarness(t)
	h.register("local", 2)
	h.c.clusters["lab"] = &clusterRT{def: burst.Cluster{Name: "lab", Provider: "local"}}
	h.c.clusters["far"] = &clusterRT{def: burst.Cluster{Name: "far", Provider: "local"}}
	h.c.trustMembers = map[string]bool{"lab": true}
	for _, r := range []client.Register{
		{Machine: "trusted", Host: "thishost", Cluster: "lab", CPUs: 2, MemBytes: 8 << 30, PID: 101, PIDStart: 1},
		{Machine: "remote", Host: "elsewhere", Cluster: "far", CPUs: 2, MemBytes: 8 << 30, PID: 102, PIDStart: 1, Remote: true},
	} {
		h.do(func(b *batch) {
			if _, err := h.c.register(&r, h.now, b); err != nil {
				t.Fatal(err)
			}
		})
	}
	want := map[string]bool{"local": true, "trusted": false, "remote": false}
	for _, v := range h.c.machineViews(h.now) {
		if w, ok := want[v.ID]; ok && v.SeesHome != w {
			t.Errorf("machine %s: SeesHome %v, want %v", v.ID, v.SeesHome, w)
		}
		delete(want, v.ID)
	}
	if len(want) != 0 {
		t.Errorf("machines not in the scheduler's view: %v", want)
	}
}
