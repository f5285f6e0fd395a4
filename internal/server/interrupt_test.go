package server

import (
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// interrupt delivers a spot interruption notice of machine id, saying it
// goes in 2 minutes.
func (h *harness) interrupt(id string) *client.Interrupted {
	h.t.Helper()
	var out *client.Interrupted
	h.do(func(b *batch) {
		var err error
		out, err = h.srv.interrupt(&client.Interruption{Machine: id, Action: "terminate", Time: h.now.Add(2 * time.Minute)}, h.now, b)
		if err != nil {
			h.t.Fatalf("interrupt %s: %v", id, err)
		}
	})
	return out
}

// ledger totals what the meter charged, by kind (all of it is unflushed in
// the harness: no meter tick writes it).
func (h *harness) ledger() map[string]int64 {
	out := map[string]int64{}
	for k, n := range h.srv.unflushed {
		out[k.Kind] += n
	}
	return out
}

// priced makes machine id cost usdPerHour for every hour it runs, to
// project default, from now.
func (h *harness) priced(id string, usdPerHour float64) *machineRT {
	m := h.c.machines[id]
	m.row.PriceUSDPerHour, m.row.PerUse, m.row.Project = usdPerHour, false, "default"
	m.meterAt = h.now
	return m
}

// A notice requeues every task of the machine as preempted, at once: not
// counted against --retries (0 here) or --max-failures (0 here), and the
// tasks finish elsewhere. The machine's time is charged once, up to its
// end; what the cut attempts had cost is booked as lost to preemption,
// and every figure adds up to the ledger to the nano-dollar.
func TestSpotInterruptionRequeuesAsPreempted(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	a := h.priced("a", 3.6) // 1,000,000 nano-dollars a second
	id := h.submit(4, retries(0), maxFailures(0))
	h.place()
	_, refs := h.startAll("a", 0)
	if len(refs) == 0 {
		t.Fatal("nothing started on a")
	}
	h.tick(10 * time.Second)

	out := h.interrupt("a")
	if out.Requeued != len(h.c.jobs[id].requeue) || out.Requeued == 0 {
		t.Fatalf("requeued %d, the job holds %d to run again", out.Requeued, len(h.c.jobs[id].requeue))
	}
	for _, r := range refs {
		h.wantTask(id, r.Index, burst.Queued, 1, 1)
		if got := h.task(id, r.Index).Reason; !strings.Contains(got, "attempt 1 preempted (spot interruption on a)") {
			t.Errorf("task %d: reason %q, want it to say it was preempted", r.Index, got)
		}
	}
	if row := h.machines["a"]; row.State != burst.MachineStopping || row.Interrupted == nil {
		t.Fatalf("machine a: %s, interrupted %v; want stopping, interrupted", row.State, row.Interrupted)
	}
	if len(a.tasks) != 0 {
		t.Fatalf("machine a still holds %d tasks", len(a.tasks))
	}
	// A notice told again (the agent's retry) changes nothing.
	if again := h.interrupt("a"); again.Requeued != 0 {
		t.Fatalf("a notice told again requeued %d", again.Requeued)
	}
	l := h.ledger()
	if l["preemption"] != 10*1e6 || l["task"] != 0 || l["idle"] != 0 {
		t.Fatalf("after 10 s of 2 busy CPUs at $3.60/h: ledger %v, want all 10,000,000 n$ lost to preemption", l)
	}
	if p := h.c.projects["default"]; p.preempted != 10*1e6 || p.spent != 10*1e6 {
		t.Fatalf("project: spent %d, lost to preemption %d; want 10,000,000 each", p.spent, p.preempted)
	}

	// The exits of the cut attempts, reported late by a's agent, change
	// nothing.
	h.tick(time.Second)
	h.finish("a", refs, func(client.TaskRef) int { return 143 })
	for _, r := range refs {
		h.wantTask(id, r.Index, burst.Queued, 1, 1)
	}

	// The machine is charged, idle, until the notice's time, once.
	end := *a.row.Interrupted
	h.now = end
	h.do(func(b *batch) { h.srv.machineGone(a, true, end, b) })
	h.srv.accrue(a, end.Add(time.Minute)) // gone: nothing more
	l = h.ledger()
	total := l["preemption"] + l["task"] + l["idle"]
	if want := int64(130 * 1e6); total != want || l["idle"] != 120*1e6 {
		t.Fatalf("ledger %v (total %d): want %d n$ in all, 120 s of it idle", l, total, want)
	}

	// Elsewhere, the tasks run again and the job succeeds, though it
	// allows no retry and no failure.
	h.register("b", 4)
	h.drive("b", 10, func(client.TaskRef) int { return 0 })
	h.wantJob(id, burst.Succeeded, 0)
	for _, r := range refs {
		h.wantTask(id, r.Index, burst.Succeeded, 2, 1)
		if got := h.task(id, r.Index).Reason; !strings.Contains(got, "attempt 1 preempted (spot interruption on a)") {
			t.Errorf("task %d ended with reason %q: burst show must still say it was preempted", r.Index, got)
		}
	}
	if p := h.c.projects["default"]; p.preempted != 10*1e6 {
		t.Fatalf("lost to preemption %d after the job ended, want 10,000,000", p.preempted)
	}
}

// The replacement of an interrupted machine: spot again, unless the
// cluster falls back on demand and the project's forecast with an
// on-demand machine fits its budget — decided at each side of it.
func TestSpotReplacementAtBudget(t *testing.T) {
	typ, err := cost.Default().Type("m5.large")
	if err != nil {
		t.Fatal(err)
	}
	// The forecast with the replacement: nothing spent, no trend, and an
	// on-demand machine idle for its idle-stop of an hour.
	forecast := cost.Accrue(typ.Price(false), time.Hour)
	cases := []struct {
		name     string
		fallback string
		budget   cost.NUSD
		onDemand bool
		why      string
	}{
		{"no fallback", "", 0, false, "replacing s-1 (spot interruption) with spot"},
		{"fits with room", burst.FallbackOnDemand, forecast * 2, true, "with on-demand: --fallback on-demand and the forecast " + forecast.String() + " fits the budget"},
		{"fits exactly", burst.FallbackOnDemand, forecast, true, "fits the budget " + forecast.String()},
		{"a nano-dollar short", burst.FallbackOnDemand, forecast - 1, false, "with spot: on-demand would forecast " + forecast.String() + " over the budget"},
		{"no budget", burst.FallbackOnDemand, 0, true, "with on-demand: --fallback on-demand and the project has no budget"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			p := h.project("lab", 0, "")
			p.row.BudgetNUSD = int64(c.budget)
			cl := &clusterRT{def: burst.Cluster{Name: "spot", Project: "lab", Spot: true, Fallback: c.fallback, Max: 1, IdleStopS: 3600}, typ: typ}
			h.c.clusters["spot"] = cl
			m := newMachineRT(store.MachineRow{Machine: burst.Machine{ID: "s-1", Cluster: "spot", Project: "lab", State: burst.MachineRunning,
				Spot: true, PriceUSDPerHour: typ.Price(true), CPUs: 2}})
			m.cluster, m.registered, m.meterAt = cl, true, h.now
			h.c.machines["s-1"] = m
			if _, ok := h.srv.replacement(cl, h.now); ok {
				t.Fatal("a replacement before any interruption")
			}
			h.interrupt("s-1")
			r, ok := h.srv.replacement(cl, h.now)
			if !ok || r.OnDemand != c.onDemand || !strings.Contains(r.Why, c.why) {
				t.Fatalf("replacement %+v (%v), want on-demand %v and %q", r, ok, c.onDemand, c.why)
			}
			if _, ok := h.srv.replacement(cl, h.now); ok {
				t.Fatal("one interruption replaced twice")
			}
		})
	}
}

// A replacement is forgotten once the interrupted machine is gone, and an
// interrupted machine does not count towards --max.
func TestSpotReplacementForgottenWhenGone(t *testing.T) {
	h := newHarness(t)
	cl := &clusterRT{def: burst.Cluster{Name: "spot", Project: "default", Spot: true, Max: 1}}
	h.c.clusters["spot"] = cl
	m := newMachineRT(store.MachineRow{Machine: burst.Machine{ID: "s-1", Cluster: "spot", Project: "default", State: burst.MachineRunning, CPUs: 2}})
	m.cluster, m.registered = cl, true
	h.c.machines["s-1"] = m
	h.interrupt("s-1")
	if !interrupted(m) {
		t.Fatal("an interrupted machine that is still stopping is not counted as interrupted")
	}
	h.do(func(b *batch) { h.srv.machineGone(m, true, h.now, b) })
	if interrupted(m) {
		t.Fatal("a gone machine still counts as interrupted")
	}
	if r, ok := h.srv.replacement(cl, h.now); ok {
		t.Fatalf("replacement %+v for a machine already gone", r)
	}
}

// A server that starts again between a spot interruption and the task's
// next attempt still says, once the task ends, that an attempt was
// preempted: the words come back from the queued task's row.
func TestPreemptedSaidAfterRestart(t *testing.T) {
	h := newHarness(t)
	h.register("a", 2)
	h.priced("a", 3.6)
	id := h.submit(2, retries(0))
	h.place()
	if _, refs := h.startAll("a", 0); len(refs) == 0 {
		t.Fatal("nothing started on a")
	}
	h.interrupt("a")
	h.restart()
	h.register("b", 4)
	h.drive("b", 10, func(client.TaskRef) int { return 0 })
	h.wantJob(id, burst.Succeeded, 0)
	for i := 0; i < 2; i++ {
		if got := h.task(id, i).Reason; !strings.Contains(got, "attempt 1 preempted (spot interruption on a)") {
			t.Errorf("task %d ended, after a restart, with reason %q: want it to say attempt 1 was preempted", i, got)
		}
	}
}
