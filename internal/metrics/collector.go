package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// collector emits the gauges of one snapshot per scrape: the server's lock
// is taken once (by snapshot), never per series. Its descriptors are made
// with it, in New, not at the package's init: every burst process (a
// `burst run` too) links this package, only a server uses it.
type collector struct {
	snapshot func() Snapshot
	descs
}

// descs are the collector's descriptors, one per gauge.
type descs struct {
	jobs, tasks, machines, silent, spent, budget, remaining, burn, fraction, guard, snapshot *prometheus.Desc
}

func newCollector(snapshot func() Snapshot) *collector {
	return &collector{snapshot: snapshot, descs: descs{
		jobs: prometheus.NewDesc("burst_jobs",
			"Active jobs by project and state (queued, running); ended ones are in burst_jobs_ended_total.",
			[]string{"project", "state"}, nil),
		tasks: prometheus.NewDesc("burst_tasks",
			"Active jobs' tasks by project and state: queued (the queue), dispatched (at an agent, not started), running.",
			[]string{"project", "state"}, nil),
		machines: prometheus.NewDesc("burst_machines",
			"Machines by cluster and state (pending, running, stopping, stopped, terminated, lost).",
			[]string{"cluster", "state"}, nil),
		silent: prometheus.NewDesc("burst_agents_silent_seconds",
			"Per cluster, the longest time since a registered machine's agent was last heard from.",
			[]string{"cluster"}, nil),
		spent: prometheus.NewDesc("burst_project_spent_dollars",
			"What a project spent: tasks, idle machines, storage (as `burst budget` shows).", []string{"project"}, nil),
		budget: prometheus.NewDesc("burst_project_budget_dollars",
			"A project's budget; absent for a project without one.", []string{"project"}, nil),
		remaining: prometheus.NewDesc("burst_project_remaining_dollars",
			"A project's budget less what it spent (negative when overspent); absent without a budget.", []string{"project"}, nil),
		burn: prometheus.NewDesc("burst_project_burn_dollars_per_hour",
			"What a project's running machines and stored bytes cost an hour now.", []string{"project"}, nil),
		fraction: prometheus.NewDesc("burst_project_budget_fraction",
			"The fraction of its budget a project spent; absent without a budget.", []string{"project"}, nil),
		guard: prometheus.NewDesc("burst_project_guardrail",
			"A project's guardrail level: 1 for its level (none, ok, warn, exhausted), 0 for the others.",
			[]string{"project", "level"}, nil),
		snapshot: prometheus.NewDesc("burst_metrics_snapshot_seconds",
			"How long this scrape's snapshot of the server's state took (the server's lock is held that long).", nil, nil),
	}}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jobs, c.tasks, c.machines, c.silent, c.spent, c.budget,
		c.remaining, c.burn, c.fraction, c.guard, c.descs.snapshot} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	t0 := time.Now()
	s := c.snapshot()
	took := time.Since(t0)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for k, n := range s.Jobs {
		gauge(c.jobs, float64(n), k.Of, k.State)
	}
	for k, n := range s.Tasks {
		gauge(c.tasks, float64(n), k.Of, k.State)
	}
	for k, n := range s.Machines {
		gauge(c.machines, float64(n), k.Of, k.State)
	}
	for cl, d := range s.Silent {
		gauge(c.silent, d.Seconds(), cl)
	}
	for _, p := range s.Projects {
		gauge(c.spent, p.Spent, p.Name)
		gauge(c.burn, p.BurnPerHour, p.Name)
		if p.Budget > 0 {
			gauge(c.budget, p.Budget, p.Name)
			gauge(c.remaining, p.Remaining, p.Name)
			gauge(c.fraction, p.Fraction, p.Name)
		}
		for _, l := range GuardLevels {
			v := 0.0
			if l == p.Guard {
				v = 1
			}
			gauge(c.guard, v, p.Name, l)
		}
	}
	gauge(c.descs.snapshot, took.Seconds())
}
