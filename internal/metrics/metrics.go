// Package metrics is the server's /metrics in Prometheus' text format
// (docs/metrics.md): gauges read from one snapshot of the server's state
// per scrape (Collector), and counters and histograms that the server's
// edges bump as events happen (Metrics' methods), all lock-free. It holds
// no state of the server and never takes the server's lock itself: the
// snapshot function it is given does, once per scrape. Labels are bounded
// (project, cluster, state), never a job, a task or a machine.
package metrics

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Snapshot is the state of a server at one instant, as the gauges show it.
// The server fills it under its lock, in one pass over memory.
type Snapshot struct {
	// Jobs are the active jobs by project and state (queued, running).
	Jobs map[Key]int
	// Tasks are the active jobs' tasks by project and state: queued
	// (waiting for a machine: the queue), dispatched (handed to an agent,
	// not started yet), running.
	Tasks map[Key]int
	// Machines by cluster and state (pending, running, stopping, stopped,
	// terminated, lost).
	Machines map[Key]int
	// Silent is, per cluster, how long the agent heard from longest ago
	// among its registered machines has been silent.
	Silent   map[string]time.Duration
	Projects []Project
}

// Key is a gauge's labels: a project or a cluster, and a state.
type Key struct{ Of, State string }

// Project is one project's money, as `burst budget` shows it.
type Project struct {
	Name string
	// Spent, Budget and Remaining are in dollars; Budget 0: none.
	Spent, Budget, Remaining float64
	BurnPerHour              float64 // dollars an hour, at what runs now
	Fraction                 float64 // of the budget spent; 0 without one
	// Guard is the guardrail's level: none (no budget), ok, warn,
	// exhausted (admission stopped, machines stopped).
	Guard string
}

// GuardLevels are the guardrail's levels, every one a series of
// burst_project_guardrail (1 for the project's level, 0 for the others).
var GuardLevels = []string{"none", "ok", "warn", "exhausted"}

// Metrics are a server's metrics: its registry, the counters and
// histograms its edges bump, and the collector of its snapshot. A nil
// *Metrics counts nothing (a server built without one, in tests).
type Metrics struct {
	reg        *prometheus.Registry
	all        []prometheus.Collector
	dispatched *prometheus.CounterVec
	ended      *prometheus.CounterVec
	jobsEnded  *prometheus.CounterVec
	wait       *prometheus.HistogramVec
	commit     prometheus.Histogram
	reports    prometheus.Counter
	events     prometheus.Counter
	heartbeats prometheus.Counter
	passes     prometheus.Counter
	rounds     prometheus.Counter
}

// New is the metrics of a server whose state snapshot returns, with Go's
// runtime and the process' own collectors.
func New(snapshot func() Snapshot) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		dispatched: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "burst_tasks_dispatched_total",
			Help: "Tasks handed to machines (each attempt once), by project."}, []string{"project"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "burst_tasks_ended_total",
			Help: "Tasks that ended for good since the server started, by project and state (succeeded, failed, cancelled, timeout, lost)."},
			[]string{"project", "state"}),
		jobsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "burst_jobs_ended_total",
			Help: "Jobs that ended since the server started, by project and state."}, []string{"project", "state"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "burst_task_wait_seconds",
			Help:    "Time a task's first attempt waited from its job's submission to its dispatch, by project.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 12)}, []string{"project"}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "burst_store_commit_seconds",
			Help:    "Time from a change's enqueue in the store's group commit to its being durable.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14)}),
		reports: prometheus.NewCounter(prometheus.CounterOpts{Name: "burst_agent_reports_total",
			Help: "Reports agents sent (each a batch of task events)."}),
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "burst_agent_report_events_total",
			Help: "Task events in agents' reports (started, exited, progress)."}),
		heartbeats: prometheus.NewCounter(prometheus.CounterOpts{Name: "burst_agent_heartbeats_total",
			Help: "Agents' lease requests and registrations: each says the agent is alive."}),
		passes: prometheus.NewCounter(prometheus.CounterOpts{Name: "burst_scheduler_passes_total",
			Help: "Passes of the scheduler over the work that waits (on every change, and every 2 s at least)."}),
		rounds: prometheus.NewCounter(prometheus.CounterOpts{Name: "burst_autoscaler_rounds_total",
			Help: "Rounds of the autoscaler over the clusters (when work arrives, and every second at least)."}),
	}
	m.all = []prometheus.Collector{m.dispatched, m.ended, m.jobsEnded, m.wait, m.commit, m.reports, m.events, m.heartbeats,
		m.passes, m.rounds, newCollector(snapshot),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
	m.reg.MustRegister(m.all...)
	return m
}

// fqName is the name in a descriptor's text (Desc has no accessor), "" if
// it has none: `Desc{fqName: "NAME", ...}`.
func fqName(desc string) string {
	_, rest, ok := strings.Cut(desc, `fqName: "`)
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, `"`)
	if !ok {
		return ""
	}
	return name
}

// Names are the names of every metric registered: what a dashboard's
// queries may use (a histogram's _bucket, _sum and _count series are named
// by its own name).
func (m *Metrics) Names() []string {
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range m.all {
			c.Describe(ch)
		}
		close(ch)
	}()
	var out []string
	for d := range ch {
		if n := fqName(d.String()); n != "" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is where every metric is registered (its descriptors are the
// names docs/grafana-burst.json may use).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Dispatched counts a task of project handed to a machine; waited > 0 is
// how long its first attempt waited since its job was submitted.
func (m *Metrics) Dispatched(project string, waited time.Duration) {
	if m == nil {
		return
	}
	m.dispatched.WithLabelValues(project).Inc()
	if waited > 0 {
		m.wait.WithLabelValues(project).Observe(waited.Seconds())
	}
}

// TasksEnded counts n tasks of project that ended in state.
func (m *Metrics) TasksEnded(project, state string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.ended.WithLabelValues(project, state).Add(float64(n))
}

// JobEnded counts a job of project that ended in state.
func (m *Metrics) JobEnded(project, state string) {
	if m == nil {
		return
	}
	m.jobsEnded.WithLabelValues(project, state).Inc()
}

// Committed observes one change's commit: from its enqueue to durable.
func (m *Metrics) Committed(d time.Duration) {
	if m == nil {
		return
	}
	m.commit.Observe(d.Seconds())
}

// Reported counts an agent's report of events task events.
func (m *Metrics) Reported(events int) {
	if m == nil {
		return
	}
	m.reports.Inc()
	m.events.Add(float64(events))
}

// Heartbeat counts an agent's sign of life (a lease request, a
// registration).
func (m *Metrics) Heartbeat() {
	if m == nil {
		return
	}
	m.heartbeats.Inc()
}

// SchedulerPass counts a pass of the scheduler: one that stops rising means
// a stuck scheduler.
func (m *Metrics) SchedulerPass() {
	if m == nil {
		return
	}
	m.passes.Inc()
}

// AutoscalerRound counts a round of the autoscaler: one that stops rising
// means a stuck autoscaler.
func (m *Metrics) AutoscalerRound() {
	if m == nil {
		return
	}
	m.rounds.Inc()
}
