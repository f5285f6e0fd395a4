package server

import (
	"context"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/scale"
	"github.com/burst-sh/burst/internal/store"
)

// The meter. A machine costs its price from the moment its agent registers
// until it is stopped or lost. Its time is charged in segments that end
// whenever the set of tasks on it changes and at every meter tick: each
// segment's cost is split among the tasks that ran during it by their share
// of the machine (cost.Shares), in whole nano-dollars, and what is left is
// the machine's idle time, charged to the project of its cluster. So per
// job, per project, per user and per day add up exactly to machine cost.
// Machines priced per use (this host, owned) charge only their tasks.

// meterTick is how often running machines are charged, storage accrued and
// budgets checked: guardrails act within one tick of spending crossing a
// line, plus the time to stop what must stop.
const meterTick = 200 * time.Millisecond

// metering reports whether m costs money now: it came up (its agent
// registered, or it runs without one) and is not gone yet. A machine
// stopped while still pending (the autoscaler withdrew a pilot queued in
// Slurm) held nothing, and costs nothing while it is being stopped.
func metering(m *machineRT) bool {
	return scale.State(m.row.State).Metered() && m.row.StartedAt != nil
}

// accrue charges m's time up to now. Called with s.mu held, before any
// change to what runs on m or to its state.
func (s *Server) accrue(m *machineRT, now time.Time) {
	if m.meterAt.IsZero() || !metering(m) {
		m.meterAt = now
		return
	}
	if !now.After(m.meterAt) {
		return
	}
	total := cost.Accrue(m.row.PriceUSDPerHour, now.Sub(m.meterAt))
	m.meterAt = now
	if total == 0 {
		return
	}
	day := now.UTC().Format("2006-01-02")
	var weights [8]float64
	ws, ts := m.startedShares(weights[:0], nil)
	shares, rest := cost.Split(total, ws)
	for i, t := range ts {
		j := t.job
		s.charge(store.CostKey{Day: day, Project: j.row.Project, Machine: m.row.ID, User: j.row.User, Job: j.row.ID, Kind: "task"}, shares[i])
		t.nusd += int64(shares[i])
	}
	if !m.row.PerUse && rest > 0 {
		s.charge(store.CostKey{Day: day, Project: m.row.Project, Machine: m.row.ID, Kind: "idle"}, rest)
	}
}

// startedShares appends to ws the weights (cost.Shares) of m's started
// tasks, which are what the meter charges them of m, and to ts those tasks,
// in the same order. Called with s.mu held.
func (m *machineRT) startedShares(ws []float64, ts []*taskRT) ([]float64, []*taskRT) {
	var holds [8]cost.Hold
	hs := holds[:0]
	for _, t := range m.tasks {
		if t.started {
			r := t.res()
			hs = append(hs, cost.Hold{CPUs: r.CPUs, GPUs: r.GPUs})
			ts = append(ts, t)
		}
	}
	return cost.Shares(ws, hs, m.row.CPUs, len(m.row.GPUs), m.gpuShare), ts
}

// lateReport is how long after its end a task's exit may reach the server
// before the meter gives back what the task was charged since: a report
// is normally in within milliseconds, and an agent retries every 2 s at
// most; a gap past that is clocks, or an outage (a full disk refused the
// report), that the task did not run.
const lateReport = 2 * time.Second

// accrueEnd charges t's machine up to now before t leaves it, then gives
// back what t was charged after it ended when its exit came late (its
// agent kept it while the server refused reports): a task pays for the
// time it ran, not for the server's outage. On a machine priced by the
// hour the time stays charged, as idle: the machine was up. Called with
// s.mu held.
func (s *Server) accrueEnd(t *taskRT, ev client.TaskEvent, now time.Time) {
	m := t.machine
	s.accrue(m, now)
	if ev.EndedAt == nil || !t.started {
		return
	}
	from := *ev.EndedAt
	if st := t.row.StartedAt; st != nil && st.After(from) {
		from = *st
	}
	if now.Sub(from) <= lateReport || !s.outageAfter(from) {
		return
	}
	ws, ts := m.startedShares(nil, nil)
	at := slices.Index(ts, t)
	if at < 0 {
		return
	}
	shares, _ := cost.Split(cost.Accrue(m.row.PriceUSDPerHour, now.Sub(from)), ws)
	back := min(shares[at], cost.NUSD(max(t.nusd, 0)))
	if back <= 0 {
		return
	}
	j := t.job
	day := now.UTC().Format("2006-01-02")
	s.charge(store.CostKey{Day: day, Project: j.row.Project, Machine: m.row.ID, User: j.row.User, Job: j.row.ID, Kind: "task"}, -back)
	t.nusd -= int64(back)
	if !m.row.PerUse {
		s.charge(store.CostKey{Day: day, Project: m.row.Project, Machine: m.row.ID, Kind: "idle"}, back)
	}
}

// outageAfter reports whether the server was out after a task ended at
// end: this server started after it (the last one was down or stopped), or
// the store held writes for a full disk then. Only then is a late exit
// the outage's and not the agent's clock.
func (s *Server) outageAfter(end time.Time) bool {
	if end.Before(s.started) {
		return true
	}
	if s.st == nil {
		return false
	}
	from, until := s.st.LastHold()
	return !until.IsZero() && !end.After(until) && !end.Before(from.Add(-lateReport))
}

// charge adds n to the ledger (at the next flush) and to the project's
// live total. Called with s.mu held.
func (s *Server) charge(k store.CostKey, n cost.NUSD) {
	if n == 0 {
		return
	}
	s.ui.bump(k.Project)
	s.unflushed[k] += int64(n)
	p := s.projects[k.Project]
	if p == nil {
		return
	}
	p.recent.add(k.Day, spendKey{k.Machine, k.Job}, n)
	kind := k.Kind
	if kind == "storage" && strings.HasPrefix(k.Machine, "storage:") {
		kind = k.Machine // per tier, as the ledger splits it (store.CostBy by kind)
	}
	p.book(kind, n)
}

// countStorage adds what a task's logs take to its project's storage, once
// it ended for good (a retry's log replaces the one before): the bytes its
// agent wrote to them, wherever they are; for a machine that ships its
// output (remote), no more than the server received of it, since a task
// there can read its machine's credential and report any count. The store
// is written by the commit that records the task's end (newBytes), so a
// server killed after it loses none. Called with s.mu held.
func (s *Server) countStorage(t *taskRT, ev client.TaskEvent) {
	n := ev.OutBytes
	if t.machine != nil && t.machine.row.Remote {
		n = min(n, t.shipped())
	}
	if n <= 0 {
		return
	}
	project, tier := t.job.row.Project, s.catalog.LogsTier
	k := [2]string{project, tier}
	s.newBytes[k] = addBytes(s.newBytes[k], n)
	if p := s.projects[project]; p != nil {
		p.bytes[tier] = addBytes(p.bytes[tier], n)
	}
}

// shipped is how many bytes of this attempt's output its remote machine
// shipped to the server, both streams.
func (t *taskRT) shipped() int64 {
	var n int64
	for _, o := range t.out {
		if o != nil {
			n = addBytes(n, o.held.Load())
		}
	}
	return n
}

// addBytes is a + n held at the largest int64: a count of bytes an agent
// reports (any number up to it) must not wrap a project's storage
// negative, which would stop charging what it keeps.
func addBytes(a, n int64) int64 {
	if n > 0 && a > math.MaxInt64-n {
		return math.MaxInt64
	}
	return a + n
}

// meterLoop charges running machines and storage, checks budgets, and
// writes the charges to the ledger, every tick.
func (s *Server) meterLoop(ctx context.Context) {
	every(ctx, meterTick, false, nil, func() { s.meterOnce(time.Now().UTC()) })
}

func (s *Server) meterOnce(now time.Time) {
	s.mu.Lock()
	for _, m := range s.machines {
		s.accrue(m, now)
	}
	s.accrueStorage(now)
	var b batch
	exhausted := s.guard(now, &b)
	var p store.Pending
	if f := s.takeFlush(); f != nil {
		p = s.st.Enqueue(f) // in order with the batches: the group commit's queue, no I/O here
	}
	gen := s.flushed
	s.apply(&b) // unlocks
	if p != nil {
		if err := p.Wait(); err != nil {
			s.storeFailed(err)
		} else {
			s.mu.Lock()
			s.flushing = slices.DeleteFunc(s.flushing, func(f flush) bool { return f.gen <= gen })
			s.mu.Unlock()
		}
	}
	for _, a := range exhausted {
		s.log.Warn("budget exhausted", "project", a.Project, "acted", a.Message)
	}
}

// takeFlush takes the charges not yet in the ledger and returns what writes
// them, with every metering machine's meter mark: charges and marks go to
// the store together, so that after a crash the meter resumes from the
// marks, charging nothing twice and losing nothing. nil when there is
// nothing to write. Called with s.mu held.
func (s *Server) takeFlush() func(*store.Tx) error {
	costs := s.unflushed
	if len(costs) == 0 {
		return nil
	}
	s.unflushed = map[store.CostKey]int64{}
	s.flushed++
	gen := s.flushed
	s.flushing = append(s.flushing, flush{gen, costs})
	var marks []store.MachineRow
	for _, m := range s.machines {
		if metering(m) {
			m.flushedAt = m.meterAt
			row := m.row
			at := m.meterAt
			row.MeteredUntil = &at
			marks = append(marks, row)
		}
	}
	return func(tx *store.Tx) error {
		for k, n := range costs {
			if err := store.AddCost(tx, k, n); err != nil {
				return err
			}
		}
		for i := range marks {
			if err := store.SaveMachine(tx, &marks[i]); err != nil {
				return err
			}
		}
		return store.SetFlushed(tx, gen)
	}
}

// flush is one flush of charges to the ledger, by number. Its costs are
// not changed once taken: the write and readers share them.
type flush struct {
	gen   int64
	costs map[store.CostKey]int64
}

// pendingCosts answers the charges a reader of the ledger adds to what it
// reads: the flushes not yet known to be in it, and what is not flushed
// yet (numbered as the flush that will take it), of the keys keep wants.
// Taken before the ledger is read: addPending then adds those the read did
// not see, and each charge made before this call is counted once.
func (s *Server) pendingCosts(keep func(store.CostKey) bool) []flush {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]flush, 0, len(s.flushing)+1)
	out = append(out, s.flushing...)
	now := map[store.CostKey]int64{}
	for k, n := range s.unflushed {
		if keep(k) {
			now[k] = n
		}
	}
	return append(out, flush{s.flushed + 1, now})
}

// addPending calls add for each charge of pend that a read of the ledger
// holding the flushes up to flushed did not see, of the keys keep wants.
func addPending(pend []flush, flushed int64, keep func(store.CostKey) bool, add func(store.CostKey, int64)) {
	for _, f := range pend {
		if f.gen <= flushed {
			continue
		}
		for k, n := range f.costs {
			if keep(k) {
				add(k, n)
			}
		}
	}
}

// accrueStorage charges each project for what it kept, per tier, since
// the last accrual: called before any change to what projects keep
// (storage_refs.go), so that each instant is charged once, at the price of
// the tier the bytes were on then. What a tick costs is often a fraction
// of a nano-dollar (a GB on ssd: 0.03 n$ per 200 ms): the fraction is
// carried to the next accrual, not rounded away. Called with s.mu held.
func (s *Server) accrueStorage(now time.Time) {
	m := &s.storageM
	dt := now.Sub(m.at)
	if m.at.IsZero() || dt < 0 {
		m.at = now
		return
	}
	m.at = now
	if dt == 0 {
		return
	}
	if m.carry == nil {
		m.carry = map[[2]string]float64{}
	}
	day := now.Format("2006-01-02")
	for name, p := range s.projects {
		for tier, n := range p.bytes {
			t, err := s.catalog.Tier(tier)
			if err != nil || n <= 0 {
				continue
			}
			k := [2]string{name, tier}
			nusd := float64(n)/1e9*t.PerGBMonth/hoursPerMonth*float64(dt)/3600 + m.carry[k] // $/h × ns / 3600 = n$
			whole := math.Floor(nusd)
			m.carry[k] = nusd - whole
			s.charge(store.CostKey{Day: day, Project: name, Machine: "storage:" + tier, Kind: "storage"}, cost.NUSD(whole))
		}
	}
}

// storageMeter is where storage accrual stands: the instant charged up to,
// and the fraction of a nano-dollar each project's tier owes beyond what
// was charged.
type storageMeter struct {
	at    time.Time
	carry map[[2]string]float64
}

// hoursPerMonth is the month storage prices are quoted for (365 × 24 / 12).
const hoursPerMonth = 730

// burn is what a project spends per hour now: its share of machines in
// use, its clusters' idle machines, its storage (cost.Burn). Called with
// s.mu held.
func (s *Server) burn(p *projectRT) float64 {
	return cost.Burn(p.row.Name, s.machineUses(), s.storagePerHour(p))
}

// account is p as the guards see it. Called with s.mu held.
func (p *projectRT) account() cost.Account {
	return cost.Account{Name: p.row.Name, Budget: p.budget(), Spent: p.spent, LastSpent: p.lastSpent,
		Exhausted: p.row.Exhausted, Cancel: p.row.OnExhausted == burst.OnExhaustedCancel}
}

// machineUses is the machines as the meter and the guardrail see them, in
// the order of their names. Called with s.mu held.
func (s *Server) machineUses() []cost.MachineUse {
	out := make([]cost.MachineUse, 0, len(s.machines))
	for _, m := range s.sortedMachines() {
		u := cost.MachineUse{ID: m.row.ID, Project: m.row.Project, PerHour: m.row.PriceUSDPerHour, PerUse: m.row.PerUse,
			Metering: metering(m), CPUs: m.row.CPUs, GPUs: len(m.row.GPUs), GPUShare: m.gpuShare,
			Stoppable: m.cluster != nil && !m.cluster.def.BuiltIn && live(m.row.State) && m.row.State != burst.MachineStopping}
		for _, t := range m.sortedTasks() {
			r := t.res()
			u.Tasks = append(u.Tasks, cost.TaskUse{Job: t.row.JobID, Index: t.row.Index, Project: t.job.row.Project,
				CPUs: r.CPUs, GPUs: r.GPUs, Started: t.started, Ending: t.preempt != "" || t.cancel})
		}
		out = append(out, u)
	}
	return out
}

// guardSnapshot is what the guardrail looks at. Machines and jobs are
// only of use when a budget is to be exhausted, so they are left out
// otherwise: the meter's tick stays cheap with many jobs. Called with s.mu
// held.
func (s *Server) guardSnapshot() cost.Snapshot {
	var snap cost.Snapshot
	exhausting := false
	for _, name := range s.projectNames() {
		a := s.projects[name].account()
		exhausting = exhausting || a.Exhausting()
		snap.Accounts = append(snap.Accounts, a)
	}
	if !exhausting {
		return snap
	}
	snap.Machines = s.machineUses()
	for _, id := range s.order {
		if j := s.jobs[id]; j != nil && !j.finished && (!j.row.CancelRequested || j.leftRunning()) {
			snap.Jobs = append(snap.Jobs, cost.JobUse{ID: j.row.ID, Project: j.row.Project})
		}
	}
	return snap
}

// guard is the guardrail: it applies what cost.Guard decides over a
// snapshot of now, records each project's spending as seen, and returns
// what it did when it exhausted a budget (to log once s.mu is released).
// Called with s.mu held.
func (s *Server) guard(now time.Time, b *batch) (exhausted []cost.Action) {
	for _, a := range cost.Guard(s.guardSnapshot()) {
		if s.act(a, now, b) {
			exhausted = append(exhausted, a)
		}
	}
	for _, p := range s.projects {
		p.lastSpent = p.spent
	}
	return exhausted
}

// act applies one of the guardrail's actions to memory and to b; it
// reports whether a budget was exhausted. What no longer exists, or has
// ended since the snapshot, is left alone. Provider calls happen after the
// commit (stopMachine's). Called with s.mu held.
func (s *Server) act(a cost.Action, now time.Time, b *batch) bool {
	switch a.Kind {
	case cost.ActWarn:
		ev := s.newEvent("guardrail", "guardrail.warn", a.Project, a.Project, a.Message)
		ev.At, ev.Result = now, "warned"
		b.event(ev)
	case cost.ActCancelJob:
		switch j := s.jobs[a.Job]; {
		case j == nil || j.finished:
		case !j.row.CancelRequested:
			s.stopJob(j, a.Message, false, now, b)
		default:
			s.stopLeft(j, a.Message, b) // what a --halt soon stop left running
		}
	case cost.ActStopMachine:
		if m := s.machines[a.Machine]; m != nil && live(m.row.State) && m.row.State != burst.MachineStopping {
			s.stopMachine(m, a.Message, "guardrail", false, b)
		}
	case cost.ActStopTask:
		m := s.machines[a.Machine]
		if m == nil {
			break
		}
		t := m.tasks[taskKey{a.Job, a.Task}]
		if t == nil || t.preempt != "" || t.cancel {
			break
		}
		s.stopToRequeue(t, a.Message, now, b)
	case cost.ActExhaust:
		p := s.projects[a.Project]
		if p == nil {
			break
		}
		p.row.Exhausted = true
		b.projects = append(b.projects, p.row)
		ev := s.newEvent("guardrail", "guardrail.exhausted", a.Project, a.Project, a.Message)
		ev.At, ev.Result = now, "acted"
		b.event(ev)
		return true
	}
	return false
}

func (s *Server) projectNames() []string { return slices.Sorted(maps.Keys(s.projects)) }

// forecastMachine is the forecast guard for a new machine of c, priced
// price (cost.AdmitMachine). Called with s.mu held; on error it returns
// with s.mu still held.
func (s *Server) forecastMachine(p *projectRT, c *clusterRT, price float64) error {
	if p == nil {
		return nil
	}
	return cost.AdmitMachine(p.account(), cost.MachineAsk{Type: c.typ.Name, PerHour: price,
		IdleStop: time.Duration(c.def.IdleStopS) * time.Second})
}

// forecastJob is the forecast guard for a new job (cost.AdmitJob): its
// tasks are forecast on their share of the cheapest machine of its
// cluster. Called with s.mu held.
func (s *Server) forecastJob(p *projectRT, spec *burst.JobSpec) error {
	ask := cost.JobAsk{Tasks: spec.Tasks, CPUs: spec.Resources.CPUs, GPUs: spec.Resources.GPUs,
		TimeLimit: time.Duration(spec.Resources.TimeLimit) * time.Second, Cluster: spec.Cluster}
	if ask.Cluster == "" {
		ask.Cluster = localCluster
	}
	switch c := s.clusters[ask.Cluster]; {
	case c == nil:
		ask.TimeLimit = 0 // nothing to forecast on; exhaustion still refuses
	case c.def.BuiltIn:
		if m := s.machines[localMachine]; m != nil {
			ask.PerHour, ask.CapCPUs, ask.CapGPUs = m.row.PriceUSDPerHour, m.row.CPUs, len(m.row.GPUs)
		}
	default:
		ask.PerHour, _ = s.clusterPrice(c)
		ask.CapCPUs, ask.CapGPUs = c.typ.VCPUs, c.typ.GPUs
	}
	ask.GPUShare = s.catalog.GPUShare(ask.CapCPUs, ask.CapGPUs)
	if err := cost.AdmitJob(p.account(), ask); err != nil {
		return &errBadRequest{Msg: err.Error()}
	}
	return nil
}

// recentDays is how many days of the ledger a project keeps in memory: the
// forecast's trend window, and a day on either side.
const recentDays = cost.TrendWindow + 2

// spendKey is who spent: a machine, and the job (0: idle or storage).
type spendKey struct {
	machine string
	job     int64
}

// recentSpend is a project's ledger of its last recentDays days:
// day (YYYY-MM-DD, UTC) → who → nano-dollars.
type recentSpend map[string]map[spendKey]cost.NUSD

// add records n spent on day by k, and forgets days that fell out of the
// window when a new day begins.
func (r recentSpend) add(day string, k spendKey, n cost.NUSD) {
	d := r[day]
	if d == nil {
		if t, err := time.Parse("2006-01-02", day); err == nil {
			cut := t.AddDate(0, 0, -recentDays).Format("2006-01-02")
			for old := range r {
				if old < cut {
					delete(r, old)
				}
			}
		}
		d = map[spendKey]cost.NUSD{}
		r[day] = d
	}
	d[k] += n
}

// forecastInput is the snapshot the forecast of p is computed from: its
// spending, its recent days, and the machines and tasks that run for it
// now. Called with s.mu held.
func (s *Server) forecastInput(p *projectRT, now time.Time) cost.ForecastInput {
	in := cost.ForecastInput{Now: now, Start: p.row.CreatedAt, Spent: p.spent, Min: map[string]int{}}
	if p.row.Ends != nil {
		in.Ends = *p.row.Ends
	}
	machines := map[string]bool{} // whose future is running work: their past is not the trend's
	jobs := map[int64]bool{}
	for _, m := range s.sortedMachines() {
		if m.row.State != burst.MachineRunning {
			continue // a stopping machine is charged until it is gone, seconds from now
		}
		owned := !m.row.PerUse && m.row.Project == p.row.Name
		rm := cost.RunningMachine{IdleSince: m.idleSince, Stops: m.until}
		if owned {
			rm.PerHour = m.row.PriceUSDPerHour
		}
		if c := m.cluster; c != nil && !c.def.BuiltIn {
			rm.Cluster = c.def.Name
			rm.IdleStop = time.Duration(c.def.IdleStopS) * time.Second
			in.Min[c.def.Name] = c.def.Min
			if at, on, ok := c.sched.Next(now); ok && !on && (rm.Stops.IsZero() || at.Before(rm.Stops)) {
				rm.Stops = at // switched off then
			}
		}
		if m.drain {
			rm.Cluster, rm.IdleStop = "", time.Nanosecond // it stops once its tasks end
		}
		var weight map[*taskRT]float64 // what the meter charges each task of m, if not owned
		if !owned {
			ws, ts := m.startedShares(nil, nil)
			weight = make(map[*taskRT]float64, len(ts))
			for i, t := range ts {
				weight[t] = ws[i]
			}
		}
		for _, t := range m.sortedTasks() {
			mine := t.job.row.Project == p.row.Name
			if !t.started || (!owned && !mine) {
				continue
			}
			r := t.res()
			rt := cost.RunningTask{Limit: time.Duration(r.TimeLimit) * time.Second}
			if t.row.StartedAt != nil {
				rt.Started = *t.row.StartedAt
			}
			if !owned {
				rt.PerHour = weight[t] * m.row.PriceUSDPerHour
			}
			if j := t.job; mine && j.queued() <= 0 {
				jobs[j.row.ID] = true // all of its work runs now; with tasks still to come, its past is the trend's
			}
			rm.Tasks = append(rm.Tasks, rt)
		}
		if rm.PerHour == 0 && len(rm.Tasks) == 0 {
			continue
		}
		// A machine its cluster's --min keeps but that stops on a date
		// (a schedule's switch-off, a pilot's time limit) comes back, or a
		// replacement does: its spending goes on past that date, so its
		// past stays the trend's instead of ending with its running work.
		comesBack := m.cluster != nil && m.cluster.def.Min > 0 && !rm.Stops.IsZero()
		if owned && !comesBack {
			machines[m.row.ID] = true
		}
		in.Machines = append(in.Machines, rm)
	}
	in.StoragePerHour = s.storagePerHour(p)
	for day, spent := range p.recent {
		t, err := time.Parse("2006-01-02", day)
		if err != nil {
			continue
		}
		d := cost.DaySpend{Day: t}
		for k, n := range spent {
			d.NUSD += n
			if machines[k.machine] || jobs[k.job] || strings.HasPrefix(k.machine, "storage:") {
				d.Running += n
			}
		}
		in.Days = append(in.Days, d)
	}
	return in
}

// storagePerHour is what keeping p's storage costs per hour. Called with
// s.mu held.
func (s *Server) storagePerHour(p *projectRT) float64 {
	var perHour float64
	for tier, n := range p.bytes {
		if t, err := s.catalog.Tier(tier); err == nil {
			perHour += float64(n) / 1e9 * t.PerGBMonth / hoursPerMonth
		}
	}
	return perHour
}
