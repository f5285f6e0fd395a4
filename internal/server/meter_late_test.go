package server

import (
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// A task that ended while the server was out (down, or refusing reports
// for a full disk) is charged for the time it ran, not until its exit
// reached the server; on a machine priced by the hour that time stays
// charged, as idle (the machine was up).
func TestLateExitChargesOnlyTheRun(t *testing.T) {
	for _, perUse := range []bool{true, false} {
		h := newHarness(t)
		id := h.submit(1)
		h.register("m1", 4)
		m := h.c.machines["m1"]
		m.row.PriceUSDPerHour, m.row.PerUse = 4, perUse
		h.place()
		_, refs := h.startAll("m1", 0)
		start := h.now
		h.tick(time.Minute)
		end := h.now // it ran a minute
		h.srv.accrue(m, h.now)
		h.tick(time.Hour) // the server is out an hour; the new one starts then
		h.srv.started = h.now
		h.srv.accrue(m, h.now) // its first meter tick
		h.tick(time.Second)
		h.report("m1", exited(refs[0], 0, end))

		var task, idle int64
		for k, n := range h.srv.unflushed {
			switch {
			case k.Kind == "task" && k.Job == id:
				task += n
			case k.Kind == "idle":
				idle += n
			}
		}
		// The task weighs 1 CPU of 4: a quarter of the machine's minute.
		ran := cost.Accrue(4, end.Sub(start)) / 4
		if task < int64(ran)-2 || task > int64(ran)+2 {
			t.Errorf("perUse=%v: the task was charged %d nUSD, want its minute's %d", perUse, task, ran)
		}
		whole := int64(cost.Accrue(4, h.now.Sub(start)))
		if !perUse && task+idle < whole-4 {
			t.Errorf("an hourly machine was charged %d nUSD in all, want the %d of the time it was up", task+idle, whole)
		}
	}
}

// A machine stopped before it came up (a pilot the autoscaler withdrew
// while it waited in Slurm's queue) held nothing: it costs nothing while
// its provider stops it. One that came up is charged until it is gone.
func TestStoppingBeforeRegisteredCostsNothing(t *testing.T) {
	h := newHarness(t)
	h.register("up", 2)
	up := h.c.machines["up"]
	pend := newMachineRT(store.MachineRow{Machine: burst.Machine{ID: "pend", State: burst.MachinePending}})
	h.c.machines["pend"] = pend
	for _, m := range []*machineRT{up, pend} {
		m.row.PriceUSDPerHour, m.row.PerUse = 4, false // priced by the hour, as a pilot
		h.srv.accrue(m, h.now)
		m.row.State = burst.MachineStopping // as stopMachine leaves it
	}
	h.tick(time.Minute) // its provider takes a minute to stop it
	for _, m := range []*machineRT{up, pend} {
		h.srv.accrue(m, h.now)
	}
	byMachine := map[string]int64{}
	for k, n := range h.srv.unflushed {
		byMachine[k.Machine] += n
	}
	if n := byMachine["pend"]; n != 0 {
		t.Errorf("a machine stopped while pending was charged %d nUSD, want 0", n)
	}
	if n, want := byMachine["up"], int64(cost.Accrue(4, time.Minute)); n != want {
		t.Errorf("a machine that came up was charged %d nUSD while stopping, want %d", n, want)
	}
}
