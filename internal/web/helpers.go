package web

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/shellquote"
)

// toTime takes a time.Time or a *time.Time (nil: the zero time).
func toTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case *time.Time:
		if t != nil {
			return *t
		}
	}
	return time.Time{}
}

func ago(t any, now time.Time) string { return Ago(toTime(t), now) }
func date(t any) string               { return Date(toTime(t)) }
func dateTime(t any) string           { return DateTime(toTime(t)) }

// iso is a time for a <time datetime> attribute.
func iso(t any) string {
	tt := toTime(t)
	if tt.IsZero() {
		return ""
	}
	return tt.UTC().Format(time.RFC3339)
}

// seconds writes a number of seconds as a duration.
func seconds(s any) string {
	var f float64
	switch v := s.(type) {
	case float64:
		f = v
	case int64:
		f = float64(v)
	case int:
		f = float64(v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dash
	}
	return Duration(time.Duration(f * float64(time.Second)))
}

// numval writes a number for an input's value attribute.
func numval(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// report is a project's budget report, or an empty one (no budget) when
// it has none.
func report(p burst.Project) *burst.BudgetReport {
	if p.Budget != nil {
		return p.Budget
	}
	return &burst.BudgetReport{Project: p.Name, BudgetUSD: p.BudgetUSD, Ends: p.Ends, DaysRemaining: -1, Level: "none"}
}

// badge is a coloured label; its text says what the colour does.
type badge struct {
	Class string // ok, warn, bad, run, wait, muted
	Text  string
	Title string
}

// levelBadge is a project's guardrail state.
func levelBadge(b *burst.BudgetReport) badge {
	switch b.Level {
	case "exhausted":
		return badge{"bad", "budget spent: work held", b.Guard}
	case "warn":
		f := b.Threshold
		if f <= 0 {
			f = b.Fraction
		}
		return badge{"warn", "warning: " + Percent(f) + " spent", b.Guard}
	case "ok":
		if b.BudgetUSD > 0 && b.ForecastUSD > b.BudgetUSD {
			// Nothing crossed yet, but at this rate the budget runs out
			// before the project ends: say so before it happens.
			return badge{"warn", "forecast over budget", b.Guard}
		}
		return badge{"ok", "budget ok", b.Guard}
	}
	return badge{"muted", "no budget", b.Guard}
}

// stateBadge is the state of a job, a task or a machine.
func stateBadge(s any) badge {
	var st string
	switch v := s.(type) {
	case burst.State:
		st = string(v)
	case string:
		st = v
	}
	cls := "muted"
	switch st {
	case "succeeded":
		cls = "ok"
	case "running":
		cls = "run"
	case "failed", "timeout", "lost":
		cls = "bad"
	case "stopping":
		cls = "warn"
	case "queued", "pending":
		cls = "wait"
	}
	if st == "" {
		st = "unknown"
	}
	return badge{Class: cls, Text: st}
}

// resultBadge is how an event ended: ok, refused, failed: ...
func resultBadge(r string) badge {
	switch {
	case r == "ok":
		return badge{Class: "ok", Text: "ok"}
	case strings.HasPrefix(r, "refused"):
		return badge{Class: "warn", Text: r}
	case strings.HasPrefix(r, "failed"):
		return badge{Class: "bad", Text: r}
	case r == "":
		return badge{Class: "muted", Text: dash}
	}
	return badge{Class: "muted", Text: r}
}

// scheduleBadge is whether a cluster's weekly schedule lets it run now.
func scheduleBadge(c burst.Cluster) badge {
	if c.Schedule == "" && len(c.On) == 0 && len(c.Off) == 0 {
		return badge{Class: "muted", Text: "always on"}
	}
	if c.ScheduleOn {
		return badge{Class: "ok", Text: "schedule: on", Title: c.Schedule}
	}
	return badge{Class: "muted", Text: "schedule: off", Title: c.Schedule}
}

// barView is a budget bar: spent, then the forecast beyond it, against the
// budget. Positions are percentages of the bar, which stands for the larger
// of the budget and the forecast.
type barView struct {
	SpentW, ForecastX, ForecastW string
	HasBudget                    bool
	BudgetX                      string
	Over                         bool // the forecast goes past the budget
	Class                        string
	Label                        string // the figures, for assistive technology
	Caption                      string // the same, shorter, shown under the bar
}

func budgetBar(b *burst.BudgetReport) barView {
	spent, fc, budget := finite(b.SpentUSD), finite(b.ForecastUSD), finite(b.BudgetUSD)
	fc = max(fc, spent)
	scale := max(budget, fc)
	v := barView{Class: levelBadge(b).Class, HasBudget: budget > 0}
	if budget <= 0 {
		// Nothing to measure against: an empty bar, and words.
		v.SpentW, v.ForecastX, v.ForecastW, v.BudgetX = "0", "0", "0", "0"
		v.Label = Money(spent) + " spent, forecast " + Money(fc) + ", no budget"
		v.Caption = "no budget set"
		return v
	}
	pos := func(x float64) float64 {
		if scale <= 0 {
			return 0
		}
		return min(max(x/scale*100, 0), 100)
	}
	sw := pos(spent)
	if spent > 0 && sw < 0.8 { // a little is not nothing
		sw = 0.8
	}
	v.SpentW = n(sw)
	v.ForecastX = n(sw)
	v.ForecastW = n(max(pos(fc)-sw, 0))
	v.BudgetX = n(pos(budget))
	v.Over = fc > budget
	v.Label = Money(spent) + " spent (" + Percent(spent/budget) + "), forecast " + Money(fc) + " (" + Percent(fc/budget) + "), of a " + Money(budget) + " budget"
	v.Caption = Percent(spent/budget) + " of budget spent · forecast " + Percent(fc/budget)
	if v.Over {
		v.Caption += ", over budget"
	}
	return v
}

// progressView is a map's (or a multi-task run's) progress: done of total,
// the failed part apart.
type progressView struct {
	OKW, FailedX, FailedW, CancelledX, CancelledW, RunningX, RunningW string
	Done, Total, Failed, Running                                      int
	Label                                                             string
}

// progressOf is nil for jobs that have none to show: pipes (their stages
// show instead) and single-task runs.
func progressOf(j burst.Job) *progressView {
	c := j.Tasks
	if j.Kind == burst.KindPipe || (j.Spec != nil && j.Spec.Pipe != nil) || c.Total <= 0 || (c.Total == 1 && j.Kind != burst.KindMap) {
		return nil
	}
	t := float64(c.Total)
	failed := c.Failed + c.Timeout + c.Lost
	p := &progressView{Done: c.Done(), Total: c.Total, Failed: failed, Running: c.Running}
	okw := float64(c.Succeeded) / t * 100
	fw := float64(failed) / t * 100
	cw := float64(c.Cancelled) / t * 100
	rw := float64(c.Running) / t * 100
	p.OKW, p.FailedX, p.FailedW = n(okw), n(okw), n(fw)
	p.CancelledX, p.CancelledW = n(okw+fw), n(cw)
	p.RunningX, p.RunningW = n(okw+fw+cw), n(rw)
	p.Label = Count(p.Done) + " of " + Count(c.Total) + " done"
	if failed > 0 {
		p.Label += ", " + Count(failed) + " failed"
	}
	if c.Running > 0 {
		p.Label += ", " + Count(c.Running) + " running"
	}
	return p
}

// pill is one stage of a pipe, at a glance.
type pill struct {
	Name   string
	Copies int
	badge
}

// stageOf groups a pipe's tasks by stage.
func stagesOf(j burst.Job, tasks []burst.Task) [][]burst.Task {
	if j.Spec == nil || j.Spec.Pipe == nil {
		return nil
	}
	out := make([][]burst.Task, len(j.Spec.Pipe.Stages))
	for _, t := range tasks {
		if st, _ := j.Spec.Pipe.StageOf(t.Index); st >= 0 {
			out[st] = append(out[st], t)
		}
	}
	return out
}

// stageState is a stage's state from its copies': the first of failed,
// timeout, lost, running, queued, cancelled, succeeded that one of them is
// in. With no tasks known, the job's.
func stageState(j burst.Job, ts []burst.Task) burst.State {
	if len(ts) == 0 {
		if j.State.Terminal() || j.State == "" {
			return j.State
		}
		return burst.Queued
	}
	has := map[burst.State]bool{}
	for _, t := range ts {
		has[t.State] = true
	}
	for _, s := range []burst.State{burst.Failed, burst.Timeout, burst.Lost, burst.Running, burst.Queued, burst.Cancelled, burst.Succeeded} {
		if has[s] {
			return s
		}
	}
	return ts[0].State
}

// pipePills are a pipe's stages with their states, for the jobs table; nil
// for other jobs.
func pipePills(j burst.Job, all map[int64][]burst.Task) []pill {
	by := stagesOf(j, all[j.ID])
	if by == nil {
		return nil
	}
	out := make([]pill, len(by))
	for i, st := range j.Spec.Pipe.Stages {
		b := stateBadge(stageState(j, by[i]))
		b.Title = st.Name + ": " + b.Text
		out[i] = pill{Name: st.Name, Copies: st.Copies(), badge: b}
	}
	return out
}

// stageRow is one stage of a pipe on its job's page.
type stageRow struct {
	Name, Command, Cluster string
	Copies, CPUs           int
	MemBytes               int64
	Machines               string
	State                  badge
	Exit                   string
	Read, Wrote, PeakRSS   int64
	CPUSeconds, Cost       float64
	CostPerCopy            float64
}

func stageRows(j burst.Job, tasks []burst.Task) []stageRow {
	by := stagesOf(j, tasks)
	if by == nil {
		return nil
	}
	out := make([]stageRow, len(by))
	for i, st := range j.Spec.Pipe.Stages {
		r := stageRow{Name: st.Name, Command: shellquote.Join(st.Argv), Cluster: st.Cluster, Copies: st.Copies(),
			CPUs: st.Resources.CPUs, MemBytes: st.Resources.MemBytes, State: stateBadge(stageState(j, by[i]))}
		var machines, exits []string
		seen := map[string]bool{}
		for _, t := range by[i] {
			if t.Machine != "" && !seen[t.Machine] {
				seen[t.Machine] = true
				machines = append(machines, t.Machine)
			}
			if t.ExitCode != nil {
				e := strconv.Itoa(*t.ExitCode)
				if !seen["exit "+e] {
					seen["exit "+e] = true
					exits = append(exits, e)
				}
			} else if t.Signal != 0 {
				exits = append(exits, "signal "+strconv.Itoa(t.Signal))
			}
			r.Read += t.ReadBytes
			r.Wrote += t.WroteBytes
			r.CPUSeconds += t.UserSeconds + t.SysSeconds
			r.PeakRSS = max(r.PeakRSS, t.MaxRSSBytes)
			r.Cost += t.CostUSD
		}
		r.Machines = strings.Join(machines, ", ")
		if r.Machines == "" {
			r.Machines = dash
		}
		r.Exit = strings.Join(exits, ", ")
		if r.Exit == "" {
			r.Exit = dash
		}
		r.CostPerCopy = r.Cost / float64(max(len(by[i]), 1))
		out[i] = r
	}
	return out
}

// uptime is how long a machine has run: from its start to now, or to when
// it stopped.
func uptime(m burst.Machine, now time.Time) string {
	if m.StartedAt == nil {
		return dash
	}
	end := now
	switch m.State {
	case burst.MachineStopped, burst.MachineTerminated, burst.MachineLost:
		if m.StoppedAt == nil {
			if m.SeenAt == nil {
				return dash
			}
			end = *m.SeenAt
		} else {
			end = *m.StoppedAt
		}
	}
	return Duration(end.Sub(*m.StartedAt))
}

// machineShape writes what a machine is, when it has no type name: 8 CPUs,
// 32 GiB, 1 GPU.
func machineShape(m burst.Machine) string {
	if m.Type != "" {
		return m.Type
	}
	var parts []string
	if m.CPUs > 0 {
		parts = append(parts, plural(m.CPUs, "CPU"))
	}
	if m.MemBytes > 0 {
		parts = append(parts, Bytes(m.MemBytes))
	}
	if len(m.GPUs) > 0 {
		parts = append(parts, plural(len(m.GPUs), "GPU"))
	}
	if len(parts) == 0 {
		return dash
	}
	return strings.Join(parts, " · ")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return Count(n) + " " + unit + "s"
}

// jobDuration is how long a job has run: from its start to its end, or to
// now; a dash until it starts.
func jobDuration(j burst.Job, now time.Time) string {
	if j.StartedAt == nil {
		return dash
	}
	end := now
	if j.EndedAt != nil {
		end = *j.EndedAt
	}
	return Duration(end.Sub(*j.StartedAt))
}

// timelineView is a project's life: created, today, ends.
type timelineView struct {
	Created, Ends time.Time
	OpenEnded     bool
	Ended         bool
	ElapsedW      string // percent of the bar up to today
	Elapsed       string // percent of the time gone, in words
	Left          string
}

func timelineOf(p burst.Project, now time.Time) timelineView {
	v := timelineView{Created: p.CreatedAt}
	ends := p.Ends
	if ends == nil && p.Budget != nil {
		ends = p.Budget.Ends
	}
	if ends == nil {
		v.OpenEnded = true
		v.Left = "open-ended"
		v.ElapsedW = "100"
		return v
	}
	v.Ends = *ends
	total := v.Ends.Sub(v.Created)
	f := 1.0
	if total > 0 {
		f = min(max(float64(now.Sub(v.Created))/float64(total), 0), 1)
	}
	v.ElapsedW = n(f * 100)
	v.Elapsed = Percent(f)
	if !now.Before(v.Ends) {
		v.Ended = true
		v.Left = "ended " + Ago(v.Ends, now)
		return v
	}
	left := v.Ends.Sub(now).Hours() / 24
	if p.Budget != nil && p.Budget.DaysRemaining >= 0 {
		left = p.Budget.DaysRemaining
	}
	v.Left = Days(left) + " left"
	return v
}

// projectChart draws a project's spending chart from its page's view.
func projectChart(v *ProjectView) string {
	b := report(v.Project)
	var end time.Time
	if t := v.Project.Ends; t != nil {
		end = *t
	} else if b.Ends != nil {
		end = *b.Ends
	}
	budget := b.BudgetUSD
	if budget == 0 && v.Project.Budget == nil {
		budget = v.Project.BudgetUSD
	}
	return SpendChart(v.Spend, budget, b.ForecastUSD, v.Project.CreatedAt, end, v.Now)
}

// forecastParts is how a report's forecast was computed, after its amount
// and date: "= spent $3.10 + running work $0.30 + trend $0.06/day × 150.2
// days (last 14 days)".
func forecastParts(b *burst.BudgetReport) string {
	if _, parts, ok := strings.Cut(b.ForecastMethod, " = "); ok {
		return "= " + parts
	}
	if _, why, ok := strings.Cut(b.ForecastMethod, ": "); ok {
		return why
	}
	return b.ForecastMethod
}

// commandOf is a job's command as a person would type it.
func commandOf(s *burst.JobSpec) string {
	switch {
	case s == nil:
		return ""
	case s.Pipe != nil:
		if s.Pipe.Text != "" {
			return s.Pipe.Text
		}
		parts := make([]string, len(s.Pipe.Stages))
		for i, st := range s.Pipe.Stages {
			parts[i] = shellquote.Join(st.Argv)
		}
		return strings.Join(parts, " | ")
	case s.Map != nil && s.Map.Commands:
		return "(each input is a shell command)"
	case s.Map != nil && len(s.Map.Template) > 0:
		if s.Map.Shell {
			return strings.Join(s.Map.Template, " ")
		}
		return shellquote.Join(s.Map.Template)
	case s.ScriptRef != "":
		return shellquote.Join(append([]string{s.ScriptRef}, s.Argv...))
	}
	return shellquote.Join(s.Argv)
}

func exitText(code *int) string {
	if code == nil {
		return dash
	}
	return strconv.Itoa(*code)
}

// machinesView is a table of machines.
type machinesView struct {
	Machines    []burst.Machine
	Now         time.Time
	ShowCluster bool
}

func machinesTable(ms []burst.Machine, now time.Time, showCluster bool) machinesView {
	return machinesView{ms, now, showCluster}
}

// eventsView is a list of events.
type eventsView struct {
	Events []burst.Event
	Now    time.Time
}

func eventsTable(evs []burst.Event, now time.Time) eventsView { return eventsView{evs, now} }

// totals are the overview's sums over projects.
type totals struct {
	Spent, Burn     float64
	Running, Active int
	Warn, Exhausted int
}

func overviewTotals(v *OverviewView) totals {
	var t totals
	for _, p := range v.Projects {
		b := report(p)
		t.Spent += b.SpentUSD
		t.Burn += b.BurnUSDPerHour
		switch b.Level {
		case "warn":
			t.Warn++
		case "exhausted":
			t.Exhausted++
		}
	}
	for _, n := range v.Running {
		t.Running += n
	}
	for _, n := range v.Active {
		t.Active += n
	}
	return t
}

// maxTaskRows is how many tasks a job's page lists.
const maxTaskRows = 200

type taskTableView struct {
	Tasks []burst.Task
	More  int // tasks not listed
}

func taskTable(v *JobView) taskTableView {
	t := taskTableView{Tasks: v.Tasks}
	if len(t.Tasks) > maxTaskRows {
		t.More = len(t.Tasks) - maxTaskRows
		t.Tasks = t.Tasks[:maxTaskRows]
	}
	return t
}

// taskLabel names task i of job j: "task 3", or a pipe's "stage sort" or
// "stage sort, copy 2".
func taskLabel(j burst.Job, i int) string {
	if j.Spec != nil && j.Spec.Pipe != nil {
		st, cp := j.Spec.Pipe.StageOf(i)
		if st >= 0 {
			s := "stage " + j.Spec.Pipe.Stages[st].Name
			if j.Spec.Pipe.Stages[st].Copies() > 1 {
				s += ", copy " + strconv.Itoa(cp+1)
			}
			return s
		}
	}
	return "task " + strconv.Itoa(i)
}

// taskDuration is how long a task ran (its last attempt), or has run.
func taskDuration(t burst.Task, now time.Time) string {
	if t.StartedAt == nil {
		return dash
	}
	end := now
	if t.EndedAt != nil {
		end = *t.EndedAt
	}
	return Duration(end.Sub(*t.StartedAt))
}

// exact is an amount in nano-dollars, to the last digit.
func exact(n int64) string { return cost.NUSD(n).Exact() }

func itoa(i int) string  { return strconv.Itoa(i) }
func i64(i int64) string { return strconv.FormatInt(i, 10) }

// ifs is yes when c holds, else no (or nothing).
func ifs(c bool, yes string, no ...string) string {
	if c {
		return yes
	}
	return strings.Join(no, "")
}

// or is s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// pathSeg escapes s as one segment of a URL's path: a name with a slash,
// a question mark or a quote stays one segment and cannot start a scheme.
func pathSeg(s string) string { return url.PathEscape(s) }

// The dashboard's links and the API's action URLs.
func projectURL(name string) string       { return "/ui/projects/" + pathSeg(name) }
func jobURL(id int64) string              { return "/ui/jobs/" + i64(id) }
func machineURL(id, action string) string { return "/v1/machines/" + pathSeg(id) + "/" + action }

// titleOf is a page's <title>: "mars · burst", or "burst".
func titleOf(p *Page) string {
	if p.Title == "" {
		return "burst"
	}
	return p.Title + " · burst"
}

// clusterSize is a cluster's machine size: "8 CPUs · 32 GiB · 1 GPU".
func clusterSize(c burst.Cluster) string {
	if ownSize(c) {
		return "each machine's own"
	}
	var s string
	if c.CPUs != 0 {
		s = itoa(c.CPUs) + " CPUs"
	}
	if c.MemBytes != 0 {
		s += " · " + Bytes(c.MemBytes)
	}
	if c.GPUs != 0 {
		s += " · " + itoa(c.GPUs) + " GPU" + ifs(c.GPUs > 1, "s")
	}
	return or(s, dash)
}

// ownSize says whether c is a cluster of machines that join by
// themselves (provider joined): no --max and no one type, each machine
// of its own size and priced per use, as burst cluster list shows it.
func ownSize(c burst.Cluster) bool { return c.Provider == "joined" }

// pipeRedirects says where a pipe reads from and writes to.
func pipeRedirects(p *burst.PipeSpec) string {
	var s string
	if p.Stdin != "" {
		s = "reads " + p.Stdin + " "
	}
	if p.Stdout != "" {
		s += "writes " + p.Stdout + ifs(p.Append, " (appends)")
	}
	return s
}

// taskTally counts a job's tasks by state.
func taskTally(c burst.TaskCounts) string {
	s := Count(c.Queued) + " queued · " + Count(c.Running) + " running · " + Count(c.Succeeded) + " succeeded · " + Count(c.Failed) + " failed"
	if c.Cancelled != 0 {
		s += " · " + Count(c.Cancelled) + " cancelled"
	}
	if c.Timeout != 0 {
		s += " · " + Count(c.Timeout) + " timed out"
	}
	if c.Lost != 0 {
		s += " · " + Count(c.Lost) + " lost"
	}
	return s
}

// logoSVG is burst's mark in the header.
const logoSVG = `<svg class="logo" viewBox="0 0 32 32" width="22" height="22" aria-hidden="true" focusable="false"><rect width="32" height="32" rx="8" fill="#0a3069"/><path d="M16 5l2.6 7.1 7.4-1.6-5 5.5 5 5.5-7.4-1.6L16 27l-2.6-7.1-7.4 1.6 5-5.5-5-5.5 7.4 1.6z" fill="#fff"/></svg>`
