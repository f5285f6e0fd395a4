package server

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/store"
)

// Projects, budgets, cost reports, the price catalog and the audit trail,
// as the API serves them.

func (s *Server) noProject(name string) error {
	names := s.projectNamesLocked()
	return &errNotFoundMsg{Msg: fmt.Sprintf("no project %q: the projects are %s (create one with `burst project create %s --budget AMOUNT`)",
		name, strings.Join(names, ", "), name)}
}

func (s *Server) projectNamesLocked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.projectNames()
}

// applyProjectSpec validates spec's set fields into row. Nothing changes
// when it fails.
func applyProjectSpec(row *store.ProjectRow, spec *burst.ProjectSpec, now time.Time) error {
	if err := spec.Validate(); err != nil {
		return badRequest("%v", err)
	}
	out := *row
	if spec.Description != nil {
		out.Description = *spec.Description
	}
	if spec.Tags != nil {
		tags := []string{}
		seen := map[string]bool{}
		for _, t := range *spec.Tags {
			t = strings.TrimSpace(t)
			if t == "" || seen[t] {
				continue
			}
			seen[t] = true
			tags = append(tags, t)
		}
		out.Tags = tags
	}
	if spec.BudgetUSD != nil {
		v := *spec.BudgetUSD
		if err := cost.CheckBudget(v); err != nil {
			return badRequest("%v", err)
		}
		out.BudgetNUSD = int64(cost.USD(v))
		out.BudgetUSD = v
	}
	if spec.Ends != nil {
		if *spec.Ends == "" {
			out.Ends = nil
		} else {
			d, err := time.Parse("2006-01-02", *spec.Ends)
			if err != nil {
				return badRequest("end date %q: give it as YYYY-MM-DD, e.g. --ends 2027-05-10", *spec.Ends)
			}
			if !d.After(now) {
				return badRequest("end date %s is in the past: give a later date (YYYY-MM-DD)", *spec.Ends)
			}
			d = d.UTC()
			out.Ends = &d
		}
	}
	if spec.Warn != nil {
		w, err := cost.ParseThresholds(*spec.Warn)
		if err != nil {
			return &errBadRequest{Msg: err.Error()}
		}
		out.Warn = w
	}
	if spec.OnExhausted != nil {
		switch *spec.OnExhausted {
		case burst.OnExhaustedStop, burst.OnExhaustedCancel:
			out.OnExhausted = *spec.OnExhausted
		default:
			return badRequest("--on-exhausted %q: use stop (hold work, stop machines) or cancel (also cancel running jobs)", *spec.OnExhausted)
		}
	}
	*row = out
	return nil
}

// CreateProject records a new project.
func (s *Server) CreateProject(ctx context.Context, actor string, spec *burst.ProjectSpec) (*burst.Project, error) {
	if err := s.refuseWrite(); err != nil {
		return nil, err // a full disk holds the store's writes: say so now, not when there is room
	}
	if !burst.ValidName(spec.Name) {
		return nil, badRequest("project name %.80q: use letters, digits, '-', '_' or '.' (at most 64; not . or ..)", spec.Name)
	}
	now := time.Now().UTC()
	row := store.ProjectRow{Project: burst.Project{Name: spec.Name, Tags: []string{}, OnExhausted: burst.OnExhaustedStop,
		CreatedAt: now, Warn: append([]float64(nil), cost.DefaultWarn...)}}
	if err := applyProjectSpec(&row, spec, now); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.projects[spec.Name] != nil {
		s.mu.Unlock()
		return nil, badRequest("project %s exists already: change it with `burst project set %s ...`", spec.Name, spec.Name)
	}
	p := &projectRT{row: row, bytes: map[string]int64{}, recent: recentSpend{}}
	s.projects[spec.Name] = p
	var b batch
	b.projects = append(b.projects, row)
	b.event(s.newEvent(actor, "project.create", spec.Name, spec.Name, "project "+spec.Name+" created"+describeBudget(row)))
	out := s.projectView(p, time.Now())
	s.apply(&b)
	return &out, nil
}

func describeBudget(row store.ProjectRow) string {
	if row.BudgetNUSD <= 0 {
		return ", no budget"
	}
	out := ", budget " + cost.NUSD(row.BudgetNUSD).String()
	if row.Ends != nil {
		out += " until " + row.Ends.Format("2006-01-02")
	}
	return out
}

// UpdateProject changes a project. Raising a spent budget above what was
// spent lifts the guardrail: held work runs again.
func (s *Server) UpdateProject(ctx context.Context, actor string, spec *burst.ProjectSpec) (*burst.Project, error) {
	if err := s.refuseWrite(); err != nil {
		return nil, err // a full disk holds the store's writes: say so now, not when there is room
	}
	s.mu.Lock()
	p := s.projects[spec.Name]
	if p == nil {
		s.mu.Unlock()
		return nil, s.noProject(spec.Name)
	}
	row := p.row
	if err := applyProjectSpec(&row, spec, time.Now().UTC()); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	var b batch
	var changes []string
	if row.BudgetNUSD != p.row.BudgetNUSD {
		changes = append(changes, fmt.Sprintf("budget %s → %s", cost.NUSD(p.row.BudgetNUSD), cost.NUSD(row.BudgetNUSD)))
	}
	if row.Description != p.row.Description {
		changes = append(changes, "description")
	}
	if fmt.Sprint(row.Tags) != fmt.Sprint(p.row.Tags) {
		changes = append(changes, "tags "+strings.Join(row.Tags, ","))
	}
	if fmt.Sprint(row.Ends) != fmt.Sprint(p.row.Ends) {
		changes = append(changes, "end date")
	}
	if fmt.Sprint(row.Warn) != fmt.Sprint(p.row.Warn) || row.OnExhausted != p.row.OnExhausted {
		changes = append(changes, "guardrail")
	}
	lifted := row.Exhausted && cost.Lifts(cost.NUSD(row.BudgetNUSD), p.spent)
	if lifted {
		row.Exhausted = false
		changes = append(changes, "guardrail lifted: held work runs again")
	}
	p.row = row
	p.lastSpent = p.spent
	for _, c := range s.clusters {
		if c.def.Project == row.Name {
			c.backoff.Clear() // the autoscaler may try again at once
		}
	}
	b.projects = append(b.projects, row)
	b.event(s.newEvent(actor, "project.set", spec.Name, spec.Name, "project "+spec.Name+": "+strings.Join(changes, ", ")))
	out := s.projectView(p, time.Now())
	s.apply(&b)
	if lifted {
		s.kickScheduler()
		s.kickScale()
	}
	return &out, nil
}

// Project shows one project with its budget report.
func (s *Server) Project(ctx context.Context, name string) (*burst.Project, error) {
	s.mu.Lock()
	p := s.projects[name]
	if p == nil {
		s.mu.Unlock()
		return nil, s.noProject(name)
	}
	out := s.projectView(p, time.Now())
	s.mu.Unlock()
	s.machinesCostSoFar(ctx, out.Budget)
	return &out, nil
}

// hasProject says whether project name exists, with the message that
// names the projects when it does not.
func (s *Server) hasProject(name string) error {
	s.mu.Lock()
	ok := s.projects[name] != nil
	s.mu.Unlock()
	if !ok {
		return s.noProject(name)
	}
	return nil
}

// Projects lists every project with its budget report.
func (s *Server) Projects() []burst.Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	out := []burst.Project{}
	for _, n := range s.projectNames() {
		out = append(out, s.projectView(s.projects[n], now))
	}
	return out
}

// projectView is a project with its live budget. Called with s.mu held.
func (s *Server) projectView(p *projectRT, now time.Time) burst.Project {
	out := p.row.Project
	out.Tags = append([]string{}, p.row.Tags...)
	rep := s.budgetReport(p, now)
	out.Budget = &rep
	return out
}

// budgetReport is everything `burst budget` shows. Called with s.mu held.
func (s *Server) budgetReport(p *projectRT, now time.Time) burst.BudgetReport {
	burn := s.burn(p)
	st := cost.Assess(p.budget(), p.spent, burn, now)
	fc := cost.Forecasting(s.forecastInput(p, now))
	by := fc.By.UTC()
	rep := burst.BudgetReport{
		Project: p.row.Name, BudgetUSD: st.Budget.Dollars(), SpentUSD: st.Spent.Dollars(), IdleUSD: p.idle.Dollars(),
		StorageUSD: p.storage.Dollars(), PreemptionUSD: p.preempted.Dollars(), ForecastUSD: fc.NUSD.Dollars(), RemainingUSD: st.Remaining.Dollars(),
		TasksUSD: p.tasks.Dollars(), BudgetNUSD: int64(st.Budget), SpentNUSD: int64(st.Spent), TasksNUSD: int64(p.tasks),
		IdleNUSD: int64(p.idle), StorageNUSD: int64(p.storage), PreemptionNUSD: int64(p.preempted), ForecastNUSD: int64(fc.NUSD),
		ForecastRunningNUSD: int64(fc.Committed), RemainingNUSD: int64(st.Remaining),
		BurnUSDPerHour: burn, Ends: p.row.Ends, DaysRemaining: st.DaysRemaining, Fraction: st.Fraction,
		Level: string(st.Level), Threshold: st.Threshold, ExhaustedAt: st.ExhaustedAt, At: now.UTC(),
		Running: []burst.Machine{}, Stopped: []burst.Machine{}, Storage: []burst.StorageLine{},
		ForecastBy: &by, ForecastRunningUSD: fc.Committed.Dollars(), ForecastTrendUSDPerDay: fc.TrendPerDay,
		ForecastTrendDays: fc.TrendDays, ForecastDays: fc.Days, ForecastMethod: fc.Method(),
	}
	saved := s.control.cache.saved[p.row.Name] // a nil map reads as nothing saved
	rep.CacheHits, rep.SavedNUSD, rep.SavedUSD = saved.hits, saved.nusd, cost.NUSD(saved.nusd).Dollars()
	switch {
	case p.row.Exhausted && p.row.OnExhausted == burst.OnExhaustedCancel:
		rep.Guard = "exhausted: admission stopped, machines stopped, jobs cancelled"
		rep.Level = string(cost.LevelExhausted)
	case p.row.Exhausted:
		rep.Guard = "exhausted: admission stopped, work held, machines stopped"
		rep.Level = string(cost.LevelExhausted)
	case st.Level == cost.LevelWarn:
		rep.Guard = fmt.Sprintf("warning: %.0f%% of the budget spent", st.Threshold*100)
	case st.Level == cost.LevelNone:
		rep.Guard = "no budget"
	default:
		rep.Guard = "ok"
	}
	for _, m := range s.sortedMachines() {
		if m.row.Project != p.row.Name || (m.cluster != nil && m.cluster.def.BuiltIn) {
			continue
		}
		v := s.machineView(m)
		switch {
		case live(m.row.State):
			rep.Running = append(rep.Running, v)
		case m.row.State == burst.MachineStopped:
			rep.Stopped = append(rep.Stopped, v)
		}
	}
	// Every tier that holds bytes or was charged (bytes moved off a tier
	// leave what they cost there): the lines add up to storage spent.
	tiers := slices.Sorted(maps.Keys(p.bytes))
	for t := range p.onTier {
		if _, ok := p.bytes[t]; !ok {
			tiers = append(tiers, t)
		}
	}
	sort.Strings(tiers)
	for _, name := range tiers {
		n := p.onTier[name]
		line := burst.StorageLine{Tier: name, Bytes: p.bytes[name], SpentNUSD: int64(n), SpentUSD: n.Dollars()}
		if t, err := s.catalog.Tier(name); err == nil {
			line.USDPerGBMonth = t.PerGBMonth
			line.USDPerMonth = float64(line.Bytes) / 1e9 * t.PerGBMonth
		}
		rep.Storage = append(rep.Storage, line)
	}
	return rep
}

// Budget is a project's budget report, with its ledger read at the same
// instant: under s.mu the report is taken from memory, and a write is
// queued that flushes the charges not yet in the ledger and reads the
// ledger in the same transaction. Writes apply in the order they are
// queued, so that read sees every charge up to the report and none after
// (storage accrues every tick): the two agree to the nano-dollar, parts
// and total, or the meter lost or doubled a charge.
func (s *Server) Budget(ctx context.Context, name string) (*burst.BudgetReport, error) {
	// A full disk holds the store's writes, and the ledger's read would
	// wait behind them: asked before the lock, as every store call is.
	full := s.st.Full() != nil
	s.mu.Lock()
	p := s.projects[name]
	if p == nil {
		s.mu.Unlock()
		return nil, s.noProject(name)
	}
	rep := s.budgetReport(p, time.Now())
	if full { // the report from memory, without the ledger
		s.mu.Unlock()
		return &rep, nil
	}
	var flushed store.Pending
	if f := s.takeFlush(); f != nil {
		flushed = s.st.Enqueue(f)
	}
	var groups []store.CostGroup
	read := s.st.Enqueue(func(tx *store.Tx) (err error) {
		groups, err = tx.CostBy("kind", name)
		return err
	})
	s.mu.Unlock()
	if flushed != nil {
		if err := flushed.Wait(); err != nil {
			s.storeFailed(err) // as the meter's own flush (meterOnce)
			return nil, err
		}
	}
	if err := read.Wait(); err != nil {
		return nil, fmt.Errorf("read the ledger of %s: %w", name, err)
	}
	rep.Ledger = costReport("kind", name, groups)
	s.machinesCostSoFar(ctx, &rep)
	return &rep, nil
}

// book adds n to p's spending under kind: task, idle, preemption, or
// storage:TIER (the ledger's keys by kind, store.CostBy). Called with s.mu
// held, or before the server serves.
func (p *projectRT) book(kind string, n cost.NUSD) {
	p.spent += n
	switch {
	case kind == "task":
		p.tasks += n
	case kind == "idle":
		p.idle += n
	case kind == "preemption":
		p.preempted += n
	case kind == "storage" || strings.HasPrefix(kind, "storage:"):
		p.storage += n
		if p.onTier == nil {
			p.onTier = map[string]cost.NUSD{}
		}
		p.onTier[strings.TrimPrefix(strings.TrimPrefix(kind, "storage"), ":")] += n
	default:
		p.tasks += n // no other kind is charged; were one, spent still adds up
	}
}

// machineView is a machine as the API shows it. Called with s.mu held.
func (s *Server) machineView(m *machineRT) burst.Machine {
	out := m.row.Machine
	out.Used = m.used()
	out.Tasks = len(m.tasks)
	if !m.idleSince.IsZero() {
		idle := m.idleSince
		if len(m.tasks) == 0 && !m.idleAgent.IsZero() && m.idleAgent.Before(idle) {
			idle = m.idleAgent // its agent's, from before the server's restart
		}
		out.IdleSince = &idle
	}
	out.Actions = machineActions(m)
	if out.State = m.state(); m.starting {
		out.Waiting = "its provider is starting it"
	}
	if out.State == burst.MachineLost && !m.local {
		out.Revoked = s.joins.revokedOnly(m.row.ID) // shown as revoked (burst machine list)
	}
	if m.row.State == burst.MachinePending {
		if e, ok := s.machineProvider(m).(provider.Explainer); ok {
			out.Waiting = e.Why(m.handle)
		}
	}
	return out
}

// Machines lists machines, of one cluster or all, with what each cost.
func (s *Server) Machines(ctx context.Context, cluster string) ([]burst.Machine, error) {
	costs, err := s.machineCosts(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cluster != "" && s.clusters[cluster] == nil {
		s.mu.Unlock()
		err := s.noCluster(cluster)
		s.mu.Lock()
		return nil, err
	}
	out := []burst.Machine{}
	for _, m := range s.sortedMachines() {
		if cluster != "" && m.row.Cluster != cluster {
			continue
		}
		v := s.machineView(m)
		v.CostUSD = cost.NUSD(costs[m.row.ID]).Dollars()
		out = append(out, v)
	}
	return out, nil
}

// machineCosts is what each machine has cost so far, in n$, by machine:
// the ledger with what the meter has not written yet.
func (s *Server) machineCosts(ctx context.Context) (map[string]int64, error) {
	notStorage := func(k store.CostKey) bool { return k.Kind != "storage" }
	pend := s.pendingCosts(notStorage)
	groups, flushed, err := s.st.CostByFlushed(ctx, "machine", "") // storage is its own key, never a machine's
	if err != nil {
		return nil, err
	}
	costs := map[string]int64{}
	for _, g := range groups {
		costs[g.Key] = g.NUSD
	}
	addPending(pend, flushed, notStorage, func(k store.CostKey, n int64) { costs[k.Machine] += n })
	return costs, nil
}

// machinesCostSoFar sets what each machine of a budget report has cost so
// far, as burst machine list says it (every project's share of it): the
// dashboard's project page lists them with it. Called without s.mu. A
// figure, not the report: on a full disk (whose held writes the ledger's
// read would wait behind, as Budget's) or a failed read the machines keep
// the cost they were listed with, and the report is still given.
func (s *Server) machinesCostSoFar(ctx context.Context, rep *burst.BudgetReport) {
	if rep == nil || s.st.Full() != nil {
		return
	}
	costs, err := s.machineCosts(ctx)
	if err != nil {
		s.log.Warn("the machines' cost so far was not read: the report shows them without it", "err", err)
		return
	}
	for _, ms := range [][]burst.Machine{rep.Running, rep.Stopped} {
		for i := range ms {
			ms[i].CostUSD = cost.NUSD(costs[ms[i].ID]).Dollars()
		}
	}
}

// Cost totals the ledger (with what is not yet flushed) by one key.
func (s *Server) Cost(ctx context.Context, by, project string) (*burst.CostReport, error) {
	if by == "" {
		by = "job"
	}
	if project != "" {
		if err := s.hasProject(project); err != nil {
			return nil, err
		}
	}
	// Flush first so that the ledger holds everything up to now; a flush
	// taken before (the meter's, a commit's) may still be on its way to
	// the ledger, and counts as pendingCosts says.
	s.meterOnce(time.Now().UTC())
	ofProject := func(k store.CostKey) bool { return project == "" || k.Project == project }
	pend := s.pendingCosts(ofProject)
	groups, err := s.st.CostByPending(ctx, by, project, func(flushed int64) map[store.CostKey]int64 {
		out := map[store.CostKey]int64{}
		addPending(pend, flushed, ofProject, func(k store.CostKey, n int64) { out[k] += n })
		return out
	})
	if err != nil {
		return nil, &errBadRequest{Msg: err.Error()}
	}
	saved, err := s.st.CacheSavedBy(ctx, by, project)
	if err != nil {
		return nil, err
	}
	rep := costReport(by, project, groups)
	addSaved(rep, saved)
	return rep, nil
}

// addSaved adds to rep what the cache's hits saved: in all, and per line
// where the groups are rep's (by job, project, user), a group that cost
// nothing (a job served wholly from the cache) getting a line of cost 0
// in its place.
func addSaved(rep *burst.CostReport, saved []store.CacheSaved) {
	at := make(map[string]int, len(rep.Lines))
	for i, l := range rep.Lines {
		at[l.Key] = i
	}
	added := false
	for _, g := range saved {
		rep.CacheHits += g.Hits
		rep.SavedNUSD = int64(cost.NUSD(rep.SavedNUSD).Plus(cost.NUSD(g.NUSD)))
		if g.Key == "" {
			continue
		}
		i, ok := at[g.Key]
		if !ok {
			i, added = len(rep.Lines), true
			at[g.Key] = i
			rep.Lines = append(rep.Lines, burst.CostLine{Key: g.Key, Name: g.Name})
		}
		rep.Lines[i].SavedNUSD = int64(cost.NUSD(rep.Lines[i].SavedNUSD).Plus(cost.NUSD(g.NUSD)))
		rep.Lines[i].SavedUSD = cost.NUSD(rep.Lines[i].SavedNUSD).Dollars()
	}
	rep.SavedUSD = cost.NUSD(rep.SavedNUSD).Dollars()
	if added { // the ledger's order: jobs by id, then the rest by key
		slices.SortStableFunc(rep.Lines, func(a, b burst.CostLine) int {
			x, xerr := strconv.ParseInt(a.Key, 10, 64)
			y, yerr := strconv.ParseInt(b.Key, 10, 64)
			switch {
			case rep.By == "job" && xerr == nil && yerr == nil:
				return cmp.Compare(x, y)
			case rep.By == "job" && (xerr == nil) != (yerr == nil):
				if xerr == nil {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Key, b.Key)
		})
	}
}

// costReport is the ledger's groups as the API shows them: the lines add
// up to the total exactly.
func costReport(by, project string, groups []store.CostGroup) *burst.CostReport {
	rep := &burst.CostReport{By: by, Project: project, Lines: []burst.CostLine{}}
	for _, g := range groups {
		rep.Lines = append(rep.Lines, burst.CostLine{Key: g.Key, Name: g.Name, NUSD: g.NUSD, USD: cost.NUSD(g.NUSD).Dollars()})
		rep.TotalNUSD += g.NUSD
	}
	rep.TotalUSD = cost.NUSD(rep.TotalNUSD).Dollars()
	return rep
}

// Types lists the price catalog.
func (s *Server) Types(gpu bool) []burst.MachineType {
	out := []burst.MachineType{}
	for _, t := range s.catalog.Filter(gpu) {
		mt := burst.MachineType{Name: t.Name, VCPUs: t.VCPUs, MemBytes: t.MemBytes, GPUs: t.GPUs,
			GPUModel: t.GPUModel, OnDemandUSD: t.OnDemand, SpotUSD: t.Spot, Source: t.Source, Date: t.Date,
			SpotSource: t.SpotSource, SpotZone: t.SpotZone}
		if !t.SpotAt.IsZero() {
			at := t.SpotAt
			mt.SpotAt = &at
		}
		out = append(out, mt)
	}
	return out
}

// Tiers lists the storage tiers of the price catalog, most expensive first.
func (s *Server) Tiers() []burst.StorageTier {
	out := []burst.StorageTier{}
	for _, t := range s.catalog.Tiers {
		out = append(out, burst.StorageTier{Name: t.Name, USDPerGBMonth: t.PerGBMonth, Description: t.Description,
			Source: t.Source, Date: t.Date, Logs: t.Name == s.catalog.LogsTier})
	}
	return out
}

// Events lists audit events after id, waiting up to wait for one when
// there are none yet.
func (s *Server) Events(ctx context.Context, f store.EventFilter, wait time.Duration) ([]burst.Event, error) {
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		ch := s.events
		s.mu.Unlock()
		evs, err := s.st.ListEvents(ctx, f)
		if err != nil || len(evs) > 0 || wait <= 0 || time.Now().After(deadline) {
			if evs == nil {
				evs = []burst.Event{}
			}
			return evs, err
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return []burst.Event{}, nil
		}
		t.Stop()
	}
}

// jobCosts fills in CostUSD of jobs: the ledger plus what memory holds.
func (s *Server) jobCosts(ctx context.Context, jobs []*burst.Job) error {
	ids := make([]int64, len(jobs))
	want := make(map[int64]bool, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
		want[j.ID] = true
	}
	ofJobs := func(k store.CostKey) bool { return want[k.Job] }
	pend := s.pendingCosts(ofJobs)
	costs, flushed, err := s.st.JobCosts(ctx, ids)
	if err != nil {
		return err
	}
	addPending(pend, flushed, ofJobs, func(k store.CostKey, n int64) { costs[k.Job] += n })
	for _, j := range jobs {
		j.CostUSD = cost.NUSD(costs[j.ID]).Dollars()
	}
	return nil
}
