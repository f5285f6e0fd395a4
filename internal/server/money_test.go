package server

import (
	"context"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// ledgerByKind totals what the meter charged project name, by the
// ledger's kinds with storage per tier (store.CostBy by kind): all of it
// is unflushed in the harness.
func (h *harness) ledgerByKind(name string) map[string]int64 {
	out := map[string]int64{}
	for k, n := range h.srv.unflushed {
		if k.Project != name {
			continue
		}
		key := k.Kind
		if key == "storage" {
			key = k.Machine
		}
		out[key] += n
	}
	return out
}

// wantBudgetIsLedger checks that rep's parts add up to spent and that each
// is the ledger's, to the nano-dollar.
func wantBudgetIsLedger(t *testing.T, rep burst.BudgetReport, ledger map[string]int64) {
	t.Helper()
	var storage, total int64
	tiers := map[string]int64{}
	for _, l := range rep.Storage {
		storage += l.SpentNUSD
		tiers["storage:"+l.Tier] = l.SpentNUSD
		if l.SpentUSD != float64(l.SpentNUSD)/1e9 {
			t.Errorf("tier %s: spent $%v, %d n$", l.Tier, l.SpentUSD, l.SpentNUSD)
		}
	}
	for _, n := range ledger {
		total += n
	}
	if sum := rep.TasksNUSD + rep.IdleNUSD + rep.PreemptionNUSD + storage; sum != rep.SpentNUSD || storage != rep.StorageNUSD {
		t.Errorf("tasks %d + idle %d + preemption %d + storage per tier %d = %d n$; spent says %d, storage %d",
			rep.TasksNUSD, rep.IdleNUSD, rep.PreemptionNUSD, storage, sum, rep.SpentNUSD, rep.StorageNUSD)
	}
	if rep.SpentNUSD != total || rep.TasksNUSD != ledger["task"] || rep.IdleNUSD != ledger["idle"] || rep.PreemptionNUSD != ledger["preemption"] {
		t.Errorf("budget: spent %d, tasks %d, idle %d, preemption %d n$; the ledger %v (total %d)",
			rep.SpentNUSD, rep.TasksNUSD, rep.IdleNUSD, rep.PreemptionNUSD, ledger, total)
	}
	for k, n := range ledger {
		if strings.HasPrefix(k, "storage:") && tiers[k] != n {
			t.Errorf("budget's %s: %d n$, the ledger %d", k, tiers[k], n)
		}
	}
	for k, n := range tiers {
		if ledger[k] != n {
			t.Errorf("budget's %s: %d n$, the ledger %d", k, n, ledger[k])
		}
	}
	if rep.SpentUSD != float64(rep.SpentNUSD)/1e9 || rep.TasksUSD != float64(rep.TasksNUSD)/1e9 {
		t.Errorf("dollars and nano-dollars differ: spent $%v = %d n$, tasks $%v = %d n$", rep.SpentUSD, rep.SpentNUSD, rep.TasksUSD, rep.TasksNUSD)
	}
}

// A project's budget splits what it spent into compute (its tasks), idle
// machines, what spot interruptions cut short, and storage per tier, and
// the parts add up to spent and each to the ledger, to the nano-dollar:
// with tasks sharing a machine, the machine idle, an interruption, and
// storage accruing fractions of a nano-dollar on two tiers while bytes
// move from one to the other (the tier they left keeps what they cost
// there).
func TestBudgetPartsAddUpToLedger(t *testing.T) {
	h := newHarness(t)
	p := h.c.projects["default"]
	h.register("a", 4)
	a := h.priced("a", 3.6) // 1,000,000 n$ a second
	id := h.submit(3)
	h.place()
	_, refs := h.startAll("a", 0)
	if len(refs) != 3 {
		t.Fatalf("started %v", refs)
	}
	p.bytes["ssd"] = 3_000_000_017 // a fraction of a nano-dollar per tick
	h.srv.accrueStorage(h.now)
	for range 50 {
		h.tick(173 * time.Millisecond)
		h.srv.accrue(a, h.now)
		h.srv.accrueStorage(h.now)
	}
	wantBudgetIsLedger(t, h.srv.budgetReport(p, h.now), h.ledgerByKind("default"))

	// One task ends: a quarter of the machine idles beside the others.
	h.report("a", exited(refs[0], 0, h.now))
	p.bytes["ssd"] -= 1_000_000_000
	p.bytes["cold_hdd"] += 1_000_000_000
	for range 20 {
		h.tick(311 * time.Millisecond)
		h.srv.accrue(a, h.now)
		h.srv.accrueStorage(h.now)
	}
	// The rest are cut short by a spot interruption: lost to preemption.
	h.interrupt("a")
	delete(p.bytes, "ssd") // all of it moved off ssd
	p.bytes["cold_hdd"] += 2_000_000_017
	for range 20 {
		h.tick(97 * time.Millisecond)
		h.srv.accrue(a, h.now)
		h.srv.accrueStorage(h.now)
	}
	rep := h.srv.budgetReport(p, h.now)
	l := h.ledgerByKind("default")
	if l["task"] <= 0 || l["idle"] <= 0 || l["preemption"] <= 0 || l["storage:ssd"] <= 0 || l["storage:cold_hdd"] <= 0 {
		t.Fatalf("the ledger %v: want every part charged", l)
	}
	wantBudgetIsLedger(t, rep, l)
	if len(rep.Storage) != 2 || rep.Storage[0].Tier != "cold_hdd" || rep.Storage[1].Tier != "ssd" || rep.Storage[1].Bytes != 0 {
		t.Errorf("storage lines %+v: want cold_hdd, and ssd with no bytes left but what it cost", rep.Storage)
	}
	if h.job(id).State == burst.Succeeded {
		t.Errorf("job %d succeeded; its tasks were cut short", id)
	}
}

// burst budget's ledger is read at the instant of its figures: while the
// meter charges storage and tasks every few milliseconds and flushes them,
// every report's parts are the ledger's, each to the nano-dollar, and so
// is the total; and the ledger as the next server loads it gives the same
// parts (projectRT.book).
func TestBudgetLedgerSameInstant(t *testing.T) {
	s := fleetServer(t)
	p := s.projects["default"]
	s.mu.Lock()
	p.bytes["ssd"] = 5_000_000_000_000
	p.bytes["cold_hdd"] = 7_000_000_000_003
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			now := time.Now().UTC()
			s.mu.Lock()
			s.charge(store.CostKey{Day: now.Format("2006-01-02"), Project: "default", Machine: "m1", User: "ann", Job: 1, Kind: "task"}, 7)
			s.charge(store.CostKey{Day: now.Format("2006-01-02"), Project: "default", Machine: "m1", Kind: "idle"}, 3)
			s.mu.Unlock()
			s.meterOnce(now)
			time.Sleep(time.Millisecond)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	var last *burst.BudgetReport
	for range 40 {
		rep, err := s.Budget(context.Background(), "default")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Ledger == nil {
			t.Fatal("no ledger in the budget report")
		}
		l := map[string]int64{}
		for _, line := range rep.Ledger.Lines {
			l[line.Key] += line.NUSD
		}
		wantBudgetIsLedger(t, *rep, l)
		if rep.Ledger.TotalNUSD != rep.SpentNUSD {
			t.Fatalf("ledger total %d n$, spent %d", rep.Ledger.TotalNUSD, rep.SpentNUSD)
		}
		if t.Failed() {
			t.FailNow()
		}
		last = rep
		time.Sleep(3 * time.Millisecond)
	}
	if last.StorageNUSD <= 0 || last.TasksNUSD <= 0 || last.IdleNUSD <= 0 {
		t.Fatalf("nothing charged: %+v", last)
	}
	cancel()
	wg.Wait()
	s.meterOnce(time.Now().UTC()) // the last charges into the ledger
	costs, err := s.st.ProjectCosts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	loaded := &projectRT{}
	for k, n := range costs["default"] {
		loaded.book(k, cost.NUSD(n))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if loaded.spent != p.spent || loaded.tasks != p.tasks || loaded.idle != p.idle || loaded.storage != p.storage ||
		len(loaded.onTier) != 2 || loaded.onTier["ssd"] != p.onTier["ssd"] || loaded.onTier["cold_hdd"] != p.onTier["cold_hdd"] {
		t.Fatalf("loaded from the ledger: spent %d tasks %d idle %d storage %d %v; in memory %d %d %d %d %v",
			loaded.spent, loaded.tasks, loaded.idle, loaded.storage, loaded.onTier, p.spent, p.tasks, p.idle, p.storage, p.onTier)
	}
}

// While a full disk holds the store's writes, burst budget answers at once
// from memory, without the ledger (whose read would wait behind the held
// writes), and with it once there is room.
func TestBudgetDuringHold(t *testing.T) {
	s, release := heldServer(t)
	s.mu.Lock()
	s.charge(store.CostKey{Day: "2026-12-04", Project: "default", Machine: "m1", Kind: "idle"}, 5)
	s.mu.Unlock()
	done := make(chan *burst.BudgetReport, 1)
	go func() {
		rep, err := s.Budget(context.Background(), "default")
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	select {
	case rep := <-done:
		if rep == nil || rep.Ledger != nil || rep.IdleNUSD != 5 || rep.SpentNUSD != 5 {
			t.Fatalf("budget during a hold: %+v; want idle and spent 5 n$ from memory, no ledger", rep)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("burst budget waited on the held store")
	}
	release()
	// The store clears its hold once the held writes have committed, just
	// after their callers are told.
	for deadline := time.Now().Add(10 * time.Second); s.st.Full() != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the store still holds writes 10 s after room returned")
		}
	}
	rep, err := s.Budget(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ledger == nil || rep.Ledger.TotalNUSD != 5 {
		t.Fatalf("budget once there is room: ledger %+v, want 5 n$", rep.Ledger)
	}
}

// A job's cost and a machine's, as burst show, burst jobs and burst
// machines read them, are the ledger plus the charges the server holds,
// each counted once: while a flush is on its way to the ledger (written,
// or not yet) and while the meter flushes every millisecond. (A reader
// that read the ledger before a flush was written and the server's
// charges after it was taken missed the flush: a pipe's stages cost more
// than its job.)
func TestCostsWhileFlushing(t *testing.T) {
	s := fleetServer(t)
	ctx := context.Background()
	machinesOfC(s, "m1", burst.MachineRunning)
	var charged atomic.Int64
	chargeJob := func(n int64) {
		s.mu.Lock()
		s.charge(store.CostKey{Day: "2026-12-07", Project: "default", Machine: "m1", User: "ann", Job: 1, Kind: "task"}, cost.NUSD(n))
		charged.Add(n)
		s.mu.Unlock()
	}
	costs := func() (job, machine int64) {
		t.Helper()
		j := &burst.Job{ID: 1}
		if err := s.jobCosts(ctx, []*burst.Job{j}); err != nil {
			t.Fatal(err)
		}
		ms, err := s.Machines(ctx, "")
		if err != nil || len(ms) != 1 {
			t.Fatalf("machines %+v, %v", ms, err)
		}
		return int64(math.Round(j.CostUSD * 1e9)), int64(math.Round(ms[0].CostUSD * 1e9))
	}
	want := func(when string) {
		t.Helper()
		if j, m := costs(); j != charged.Load() || m != charged.Load() {
			t.Fatalf("%s: the job costs %d n$ and its machine %d; %d were charged", when, j, m, charged.Load())
		}
	}

	chargeJob(100)
	want("unflushed")
	// The store's writer held: the meter's flush is taken, not written.
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free() // before the store closes (t.Cleanup), were this test to fail
	held := s.st.Enqueue(func(*store.Tx) error { <-release; return nil })
	done := make(chan struct{})
	go func() { defer close(done); s.meterOnce(time.Now().UTC()) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		taken := len(s.flushing) == 1 && len(s.unflushed) == 0
		s.mu.Unlock()
		if taken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the meter took no flush in 10s")
		}
	}
	want("flush taken, not written")
	// burst cost (and a project's web page) flushes first, finds nothing
	// left to flush, and reads the ledger: the flush on its way must count.
	for _, by := range []string{"job", "machine", "user", "day", "project", "kind"} {
		rep, err := s.Cost(ctx, by, "")
		if err != nil {
			t.Fatal(err)
		}
		if rep.TotalNUSD != charged.Load() || len(rep.Lines) != 1 || rep.Lines[0].NUSD != charged.Load() {
			t.Fatalf("burst cost by %s while a flush is on its way: %+v; %d were charged", by, rep, charged.Load())
		}
	}
	if rep, err := s.Cost(ctx, "job", "other"); err == nil || rep != nil {
		t.Fatalf("burst cost of no project: %+v, %v", rep, err)
	}
	chargeJob(5)
	want("flush taken, more charged")
	free()
	if err := held.Wait(); err != nil {
		t.Fatal(err)
	}
	<-done
	want("flush written")
	s.meterOnce(time.Now().UTC())
	want("all flushed")

	// The meter flushing all the time: each read is at least what was
	// charged before it and at most what was charged by its end.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			default:
			}
			chargeJob(7)
			s.meterOnce(time.Now().UTC())
		}
	}()
	for range 300 {
		before := charged.Load()
		j, m := costs()
		after := charged.Load()
		if j < before || j > after || m < before || m > after {
			close(stop)
			<-stopped
			t.Fatalf("read the job's cost as %d n$ and its machine's as %d; %d were charged before the read, %d after", j, m, before, after)
		}
	}
	close(stop)
	<-stopped
	want("the end")
}

// machinesOfC gives s a cluster c of the local provider, in project
// default, with machines of 8 CPUs: idAndState is each one's id then state.
func machinesOfC(s *Server, idAndState ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl := &clusterRT{def: burst.Cluster{Name: "c", Provider: "local"}}
	s.clusters["c"] = cl
	for i := 0; i+1 < len(idAndState); i += 2 {
		id, state := idAndState[i], idAndState[i+1]
		s.machines[id] = &machineRT{row: store.MachineRow{Machine: burst.Machine{ID: id, Cluster: "c", Project: "default",
			State: state, CPUs: 8}}, cluster: cl, tasks: map[taskKey]*taskRT{}, registered: state == burst.MachineRunning}
	}
}

// The dashboard's project page lists the project's running and stopped
// machines from its budget report with their cost so far: each is what
// burst machine list says it cost (it read $0.00 for every machine), flushed
// charges and those the meter has not written yet alike.
func TestBudgetMachinesCostSoFar(t *testing.T) {
	s := fleetServer(t)
	ctx := context.Background()
	machinesOfC(s, "m1", burst.MachineRunning, "m2", burst.MachineStopped)
	s.mu.Lock()
	s.charge(store.CostKey{Day: "2026-12-07", Project: "default", Machine: "m1", User: "ann", Job: 1, Kind: "task"}, 1000)
	s.charge(store.CostKey{Day: "2026-12-07", Project: "default", Machine: "m2", Kind: "idle"}, 70)
	s.mu.Unlock()
	s.meterOnce(time.Now().UTC()) // written to the ledger
	s.mu.Lock()
	s.charge(store.CostKey{Day: "2026-12-07", Project: "default", Machine: "m1", Kind: "idle"}, 30) // not yet
	s.mu.Unlock()

	ms, err := s.Machines(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]float64{}
	for _, m := range ms {
		listed[m.ID] = m.CostUSD
	}
	budget, err := s.Budget(context.Background(), "default") // burst budget
	if err != nil {
		t.Fatal(err)
	}
	project, err := s.Project(context.Background(), "default") // the dashboard's project page, GET /v1/projects/default
	if err != nil {
		t.Fatal(err)
	}
	for what, rep := range map[string]*burst.BudgetReport{"budget": budget, "project": project.Budget} {
		if len(rep.Running) != 1 || len(rep.Stopped) != 1 {
			t.Fatalf("%s: running %+v, stopped %+v: want m1 and m2", what, rep.Running, rep.Stopped)
		}
		for _, c := range []struct {
			m    burst.Machine
			nusd int64
		}{{rep.Running[0], 1030}, {rep.Stopped[0], 70}} {
			if got := int64(math.Round(c.m.CostUSD * 1e9)); got != c.nusd || c.m.CostUSD != listed[c.m.ID] {
				t.Errorf("%s: %s cost %d n$; want %d, as burst machine list says (%v)", what, c.m.ID, got, c.nusd, listed[c.m.ID])
			}
		}
	}
}
