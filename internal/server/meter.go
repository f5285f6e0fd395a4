package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/store"
)

// The meter. A machine costs its price from the moment its agent registers
// until it is stopped or lost. Its time is charged in segments that end
// whenever the set of tasks on it changes and at every meter tick: each
// segment's cost is split among the tasks that ran during it by their share
// of the machine (cost.Weight), in whole nano-dollars, and what is left is
// the machine's idle time, charged to the project of its cluster. So per
// job, per project, per user and per day add up exactly to machine cost.
// Machines priced per use (this host, owned) charge only their tasks.

// meterTick is how often running machines are charged, storage accrued and
// budgets checked: guardrails act within one tick of spending crossing a
// line, plus the time to stop what must stop.
const meterTick = 200 * time.Millisecond

// metering reports whether m costs money now.
func metering(m *machineRT) bool {
	return m.row.State == burst.MachineRunning || m.row.State == burst.MachineStopping
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
	var (
		weights [8]float64
		ws      = weights[:0]
		ts      []*taskRT
	)
	for _, t := range m.tasks {
		if t.started {
			r := t.res()
			ws = append(ws, cost.Weight(r.CPUs, r.GPUs, m.row.CPUs, len(m.row.GPUs), m.gpuShare))
			ts = append(ts, t)
		}
	}
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

// charge adds n to the ledger (at the next flush) and to the project's
// live total. Called with s.mu held.
func (s *Server) charge(k store.CostKey, n cost.NUSD) {
	s.uiVersion.Add(1)
	if n == 0 {
		return
	}
	s.unflushed[k] += int64(n)
	p := s.projects[k.Project]
	if p == nil {
		return
	}
	p.spent += n
	p.recent.add(k.Day, spendKey{k.Machine, k.Job}, n)
	switch k.Kind {
	case "idle":
		p.idle += n
	case "storage":
		p.storage += n
	}
}

// countStorage adds what a task's logs take to its project's storage, once
// it ended for good (a retry's log replaces the one before): the bytes its
// agent wrote to them, wherever they are. Called with s.mu held.
func (s *Server) countStorage(t *taskRT, ev client.TaskEvent) {
	if ev.OutBytes <= 0 {
		return
	}
	tier := s.catalog.LogsTier
	s.newBytes[[2]string{t.job.row.Project, tier}] += ev.OutBytes
	if p := s.projects[t.job.row.Project]; p != nil {
		p.bytes[tier] += ev.OutBytes
	}
}

// meterLoop charges running machines and storage, checks budgets, and
// writes the charges to the ledger, every tick.
func (s *Server) meterLoop(ctx context.Context) {
	tick := time.NewTicker(meterTick)
	defer tick.Stop()
	last := time.Now().UTC()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now().UTC()
		s.meterOnce(now, now.Sub(last))
		last = now
	}
}

func (s *Server) meterOnce(now time.Time, dt time.Duration) {
	s.mu.Lock()
	for _, m := range s.machines {
		s.accrue(m, now)
	}
	s.accrueStorage(now, dt)
	var b batch
	s.guard(now, &b)
	var p store.Pending
	if f := s.takeFlush(); f != nil {
		p = s.st.Enqueue(f)
	}
	s.apply(&b)
	if p != nil {
		if err := p.Wait(); err != nil {
			s.storeFailed(err)
		}
	}
}

// takeFlush takes the charges not yet in the ledger and returns what writes
// them, with every metering machine's meter mark: charges and marks go to
// the store together, so that after a crash the meter resumes from the
// marks, charging nothing twice and losing nothing. nil when there is
// nothing to write. Called with s.mu held.
func (s *Server) takeFlush() func(*store.Tx) error {
	costs, bytes := s.unflushed, s.newBytes
	if len(costs) == 0 && len(bytes) == 0 {
		return nil
	}
	s.unflushed, s.newBytes = map[store.CostKey]int64{}, map[[2]string]int64{}
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
		for k, n := range bytes {
			if err := store.AddStorage(tx, k[0], k[1], n); err != nil {
				return err
			}
		}
		for i := range marks {
			if err := store.SaveMachine(tx, &marks[i]); err != nil {
				return err
			}
		}
		return nil
	}
}

// accrueStorage charges each project for what it keeps, per tier. Called
// with s.mu held.
func (s *Server) accrueStorage(now time.Time, dt time.Duration) {
	if dt <= 0 {
		return
	}
	day := now.Format("2006-01-02")
	for name, p := range s.projects {
		for tier, n := range p.bytes {
			t, err := s.catalog.Tier(tier)
			if err != nil || n <= 0 {
				continue
			}
			perHour := float64(n) / 1e9 * t.PerGBMonth / hoursPerMonth
			s.charge(store.CostKey{Day: day, Project: name, Machine: "storage:" + tier, Kind: "storage"}, cost.Accrue(perHour, dt))
		}
	}
}

// hoursPerMonth is the month storage prices are quoted for (365 × 24 / 12).
const hoursPerMonth = 730

// burn is what a project spends per hour now: its share of machines in
// use, its clusters' idle machines, its storage. Called with s.mu held.
func (s *Server) burn(p *projectRT) float64 {
	var perHour float64
	for _, m := range s.machines {
		if !metering(m) {
			continue
		}
		used := 0.0
		for _, t := range m.tasks {
			if !t.started {
				continue
			}
			r := t.res()
			w := cost.Weight(r.CPUs, r.GPUs, m.row.CPUs, len(m.row.GPUs), m.gpuShare)
			used += w
			if t.job.row.Project == p.row.Name {
				perHour += w * m.row.PriceUSDPerHour
			}
		}
		if !m.row.PerUse && m.row.Project == p.row.Name && used < 1 {
			perHour += (1 - used) * m.row.PriceUSDPerHour
		}
	}
	return perHour + s.storagePerHour(p)
}

// guard is the guardrail: it records each threshold crossed, and acts when
// a budget is spent. Called with s.mu held.
func (s *Server) guard(now time.Time, b *batch) {
	for _, name := range s.projectNames() {
		p := s.projects[name]
		if p.row.BudgetNUSD <= 0 {
			p.lastSpent = p.spent
			continue
		}
		bud := p.budget()
		for _, th := range cost.Crossed(bud, p.lastSpent, p.spent) {
			if th >= 1 {
				continue // below, with what was done
			}
			ev := s.newEvent("guardrail", "guardrail.warn", name, name,
				fmt.Sprintf("project %s has spent %s, %.0f%% of its %s budget", name, p.spent, th*100, cost.NUSD(p.row.BudgetNUSD)))
			ev.Result = "warned"
			b.event(ev)
		}
		p.lastSpent = p.spent
		if p.spent >= cost.NUSD(p.row.BudgetNUSD) && !p.row.Exhausted {
			s.exhaust(p, now, b)
		}
	}
}

// exhaust applies a spent budget: no new work is admitted, what waits is
// held, the project's machines stop, its tasks elsewhere are requeued (or,
// with on-exhausted cancel, its jobs are cancelled). Called with s.mu held.
func (s *Server) exhaust(p *projectRT, now time.Time, b *batch) {
	p.row.Exhausted = true
	b.projects = append(b.projects, p.row)
	name := p.row.Name
	why := fmt.Sprintf("budget of project %s spent (%s of %s)", name, p.spent, cost.NUSD(p.row.BudgetNUSD))
	stopped, requeued, cancelled := 0, 0, 0
	if p.row.OnExhausted == burst.OnExhaustedCancel {
		for _, id := range s.order {
			if j := s.jobs[id]; j != nil && j.row.Project == name && !j.row.CancelRequested && !j.finished {
				s.stopJob(j, "cancelled: "+why, false, now, b)
				cancelled++
			}
		}
	}
	for _, m := range s.sortedMachines() {
		if m.cluster != nil && !m.cluster.def.BuiltIn && m.row.Project == name && live(m.row.State) && m.row.State != burst.MachineStopping {
			requeued += len(m.tasks)
			s.stopMachine(m, why, "guardrail", false, b)
			stopped++
			continue
		}
		// Its tasks on machines it does not own stop; the machines go on.
		for _, t := range m.sortedTasks() {
			if t.job.row.Project != name || t.preempt != "" || t.cancel {
				continue
			}
			t.preempt = why
			requeued++
			if !t.delivered && s.dropFromOutbox(t) {
				s.endTask(t, client.TaskEvent{TaskRef: t.ref(), State: burst.Cancelled, Reason: why}, now, b)
				continue
			}
			b.stops = append(b.stops, t)
		}
	}
	msg := fmt.Sprintf("%s: admission stopped, %d machines stopped, %d tasks requeued", why, stopped, requeued)
	if cancelled > 0 {
		msg += fmt.Sprintf(", %d jobs cancelled", cancelled)
	}
	ev := s.newEvent("guardrail", "guardrail.exhausted", name, name, msg+"; raise the budget with `burst project set "+name+" --budget AMOUNT`")
	ev.Result = "acted"
	b.event(ev)
	s.log.Warn("budget exhausted", "project", name, "spent", p.spent.String())
}

func (s *Server) projectNames() []string { return slices.Sorted(maps.Keys(s.projects)) }

// forecastMachine is the forecast guard for a new machine: refused when an
// hour of it (or its idle-stop, if shorter: the least it runs once its
// work ends) would cost more than its project has left. Called with s.mu
// held; on error it returns with s.mu still held.
func (s *Server) forecastMachine(p *projectRT, c *clusterRT, price float64) error {
	if p == nil {
		return nil
	}
	if p.row.Exhausted {
		return fmt.Errorf("project %s has spent its budget (%s of %s): no machine starts for it. Raise it with `burst project set %s --budget AMOUNT`",
			p.row.Name, p.spent, cost.NUSD(p.row.BudgetNUSD), p.row.Name)
	}
	if p.row.BudgetNUSD <= 0 {
		return nil
	}
	d := time.Hour
	if c.def.IdleStopS > 0 && time.Duration(c.def.IdleStopS)*time.Second < d {
		d = time.Duration(c.def.IdleStopS) * time.Second
	}
	want := cost.Accrue(price, d)
	left := cost.NUSD(p.row.BudgetNUSD) - p.spent
	if want > left {
		return fmt.Errorf("project %s has spent %s of its %s budget (%s left); a %s machine for %s would cost %s: raise the budget with `burst project set %s --budget AMOUNT`, or pick a cheaper --type",
			p.row.Name, p.spent, cost.NUSD(p.row.BudgetNUSD), left, c.typ.Name, d, want, p.row.Name)
	}
	return nil
}

// forecastJob is the forecast guard for a new job with a time limit: its
// tasks, each at most its time limit on its share of the cheapest machine
// of its cluster, must fit in what its project has left. Jobs without a
// time limit cannot be forecast; the guardrail stops them when the budget
// is spent. Called with s.mu held.
func (s *Server) forecastJob(p *projectRT, spec *burst.JobSpec) error {
	if p.row.Exhausted {
		return &errBadRequest{Msg: fmt.Sprintf("project %s has spent its budget (%s of %s): no new work is admitted. Raise it with `burst project set %s --budget AMOUNT`",
			p.row.Name, p.spent, cost.NUSD(p.row.BudgetNUSD), p.row.Name)}
	}
	if p.row.BudgetNUSD <= 0 || spec.Resources.TimeLimit <= 0 {
		return nil
	}
	name := spec.Cluster
	if name == "" {
		name = localCluster
	}
	c := s.clusters[name]
	if c == nil {
		return nil
	}
	var price float64
	var capCPUs, capGPUs int
	if c.def.BuiltIn {
		if m := s.machines[localMachine]; m != nil {
			price, capCPUs, capGPUs = m.row.PriceUSDPerHour, m.row.CPUs, len(m.row.GPUs)
		}
	} else {
		price, _ = s.clusterPrice(c)
		capCPUs, capGPUs = c.typ.VCPUs, c.typ.GPUs
	}
	share := cost.Weight(spec.Resources.CPUs, spec.Resources.GPUs, capCPUs, capGPUs, s.catalog.GPUShare(capCPUs, capGPUs))
	per := cost.Accrue(price*share, time.Duration(spec.Resources.TimeLimit)*time.Second)
	want := per * cost.NUSD(max(spec.Tasks, 1))
	left := cost.NUSD(p.row.BudgetNUSD) - p.spent
	if want > left {
		return &errBadRequest{Msg: fmt.Sprintf("project %s has spent %s of its %s budget (%s left); this job could cost up to %s (%d tasks × %s × $%.4g/h on %s): raise the budget with `burst project set %s --budget AMOUNT`, or ask for less time",
			p.row.Name, p.spent, cost.NUSD(p.row.BudgetNUSD), left, want, max(spec.Tasks, 1),
			time.Duration(spec.Resources.TimeLimit)*time.Second, price*share, name, p.row.Name)}
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
				rt.PerHour = cost.Weight(r.CPUs, r.GPUs, m.row.CPUs, len(m.row.GPUs), m.gpuShare) * m.row.PriceUSDPerHour
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
