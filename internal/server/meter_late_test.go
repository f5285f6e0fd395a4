package server

import (
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/cost"
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
