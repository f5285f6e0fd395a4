package server

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/cost"
	"github.com/burst-sh/burst/internal/metrics"
	"github.com/burst-sh/burst/internal/store"
)

// metricsServer is a server's memory with jobs active jobs of tasks tasks
// each (queued), in 10 projects, and 100 machines in 4 clusters: what a
// scrape reads. No store, no HTTP.
func metricsServer(tb testing.TB, jobs, tasks int) *Server {
	s := &Server{catalog: cost.Default(), unflushed: map[store.CostKey]int64{}, newBytes: map[[2]string]int64{},
		log: slog.New(slog.DiscardHandler)}
	s.control = newControl("boot", "thishost", "/logs", "/agents", s)
	c := &s.control
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10 {
		name := fmt.Sprintf("p%d", i)
		c.projects[name] = &projectRT{row: store.ProjectRow{Project: burst.Project{Name: name}, BudgetNUSD: 100e9},
			spent: cost.NUSD(i) * 1e9, bytes: map[string]int64{}, recent: recentSpend{}}
	}
	for i := range 4 {
		cl := fmt.Sprintf("c%d", i)
		c.clusters[cl] = &clusterRT{def: burst.Cluster{Name: cl, Provider: "local"}}
	}
	for i := range 100 {
		cl := fmt.Sprintf("c%d", i%4)
		c.machines[fmt.Sprintf("m%d", i)] = &machineRT{row: store.MachineRow{Machine: burst.Machine{ID: fmt.Sprintf("m%d", i),
			Cluster: cl, Project: fmt.Sprintf("p%d", i%10), State: burst.MachineRunning, CPUs: 8, PriceUSDPerHour: 0.5}},
			cluster: c.clusters[cl], tasks: map[taskKey]*taskRT{}, registered: true, lastSeen: now}
	}
	for i := range jobs {
		js := &burst.JobSpec{Kind: burst.KindRun, Name: "j", Project: fmt.Sprintf("p%d", i%10), Tasks: tasks,
			Resources: burst.Resources{CPUs: 1}, Argv: []string{"true"}}
		var src [][]string
		if tasks > 1 {
			js.Kind, js.Argv = burst.KindMap, nil
			js.Map = &burst.MapSpec{Template: []string{"true", "{}"}}
			in := make([]string, tasks)
			for k := range in {
				in[k] = strconv.Itoa(k)
			}
			src = [][]string{in}
		}
		c.submit(store.JobRow{Job: burst.Job{ID: int64(i + 1), Name: "j", Project: js.Project, State: burst.Queued, Spec: js,
			Tasks: burst.TaskCounts{Total: tasks}, SubmittedAt: now}, IDSpan: 1}, src)
	}
	return s
}

// The snapshot counts what memory holds: every queued task once, by
// project; every machine by cluster and state; every project's money.
func TestMetricsSnapshot(t *testing.T) {
	s := metricsServer(t, 20, 5)
	snap := s.metricsSnapshot()
	total := 0
	for k, n := range snap.Tasks {
		if k.State == "queued" {
			total += n
		}
	}
	if total != 100 || snap.Tasks[metrics.Key{Of: "p3", State: "queued"}] != 10 {
		t.Errorf("queued tasks: %v, want 100 in all, 10 of p3", snap.Tasks)
	}
	if snap.Jobs[metrics.Key{Of: "p0", State: "queued"}] != 2 {
		t.Errorf("jobs: %v, want 2 queued in p0", snap.Jobs)
	}
	if snap.Machines[metrics.Key{Of: "c1", State: "running"}] != 25 || len(snap.Projects) != 10 {
		t.Errorf("machines %v, %d projects", snap.Machines, len(snap.Projects))
	}
	for _, p := range snap.Projects {
		if p.Budget != 100 || p.Guard != "ok" || p.Spent != float64(p.Name[1]-'0') {
			t.Errorf("project %+v: want a budget of $100, ok, spent $%c", p, p.Name[1])
		}
	}
}

// countBatch counts each task's end once, however often its job is
// written, and a job's end once.
func TestCountBatch(t *testing.T) {
	s := metricsServer(t, 1, 3)
	j := s.jobs[1]
	m := metrics.New(func() metrics.Snapshot { return metrics.Snapshot{} })
	write := func() {
		b := batch{}
		b.job(j)
		n := s.countBatch(&b)
		n.add(m, time.Now())
	}
	j.row.Tasks.Succeeded, j.row.Tasks.Failed = 2, 0
	write()
	write() // written again with nothing new
	j.row.Tasks.Failed = 1
	j.row.State = burst.Failed
	write()
	write()
	text := gatherText(t, m)
	for _, want := range []string{`burst_tasks_ended_total{project="p0",state="succeeded"} 2`,
		`burst_tasks_ended_total{project="p0",state="failed"} 1`, `burst_jobs_ended_total{project="p0",state="failed"} 1`} {
		if !strings.Contains(text, want) {
			t.Errorf("counters lack %s:\n%s", want, text)
		}
	}
}

func gatherText(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range fams {
		for _, x := range f.Metric {
			var labels []string
			for _, l := range x.Label {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := x.GetCounter().GetValue() + x.GetGauge().GetValue()
			fmt.Fprintf(&b, "%s{%s} %g\n", f.GetName(), strings.Join(labels, ","), v)
		}
	}
	return b.String()
}

// BenchmarkScrape is one scrape's cost with 100,000 tasks: as one map
// (one active job) and as 100,000 one-task jobs, all queued, in 10
// projects, with 100 machines. Snapshot is what the server's lock is held
// for; Gather is the whole scrape but the HTTP (the Go and process
// collectors included).
func BenchmarkScrape(b *testing.B) {
	for _, shape := range []struct {
		name        string
		jobs, tasks int
	}{{"map100k", 1, 100_000}, {"jobs100k", 100_000, 1}} {
		s := metricsServer(b, shape.jobs, shape.tasks)
		m := metrics.New(s.metricsSnapshot)
		b.Run(shape.name+"/snapshot", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.metricsSnapshot()
			}
		})
		b.Run(shape.name+"/gather", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Registry().Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
