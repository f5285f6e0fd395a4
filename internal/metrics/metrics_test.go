package metrics

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func snapshot() Snapshot {
	return Snapshot{
		Jobs:     map[Key]int{{"mars", "running"}: 2, {"venus", "queued"}: 1},
		Tasks:    map[Key]int{{"mars", "queued"}: 7, {"mars", "running"}: 3, {"mars", "dispatched"}: 1},
		Machines: map[Key]int{{"hpc", "running"}: 4, {"hpc", "pending"}: 1},
		Silent:   map[string]time.Duration{"hpc": 1500 * time.Millisecond},
		Projects: []Project{
			{Name: "mars", Spent: 12.5, Budget: 100, Remaining: 87.5, BurnPerHour: 3, Fraction: 0.125, Guard: "ok"},
			{Name: "default", Spent: 1, Guard: "none"},
		},
	}
}

// The text a scrape gets holds every gauge of the snapshot, the counters
// the edges bumped, and no budget series for a project without a budget.
func TestScrape(t *testing.T) {
	calls := 0
	m := New(func() Snapshot { calls++; return snapshot() })
	m.Dispatched("mars", 2*time.Second)
	m.Dispatched("mars", 0) // a later attempt: counted, its wait not observed
	m.TasksEnded("mars", "succeeded", 5)
	m.TasksEnded("mars", "failed", 0) // nothing ended: no series
	m.JobEnded("mars", "succeeded")
	m.Committed(3 * time.Millisecond)
	m.Reported(4)
	m.Heartbeat()
	m.SchedulerPass()
	m.SchedulerPass()
	m.AutoscalerRound()
	var nilM *Metrics
	nilM.Dispatched("x", time.Second) // a server without metrics counts nothing, and does not fail

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, text)
	}
	if calls != 1 {
		t.Fatalf("one scrape took %d snapshots, want 1 (the server's lock once per scrape)", calls)
	}
	for _, want := range []string{
		`burst_jobs{project="mars",state="running"} 2`,
		`burst_tasks{project="mars",state="queued"} 7`,
		`burst_tasks{project="mars",state="dispatched"} 1`,
		`burst_machines{cluster="hpc",state="pending"} 1`,
		`burst_agents_silent_seconds{cluster="hpc"} 1.5`,
		`burst_project_spent_dollars{project="mars"} 12.5`,
		`burst_project_budget_dollars{project="mars"} 100`,
		`burst_project_remaining_dollars{project="mars"} 87.5`,
		`burst_project_burn_dollars_per_hour{project="mars"} 3`,
		`burst_project_budget_fraction{project="mars"} 0.125`,
		`burst_project_guardrail{level="ok",project="mars"} 1`,
		`burst_project_guardrail{level="exhausted",project="mars"} 0`,
		`burst_project_guardrail{level="none",project="default"} 1`,
		`burst_project_spent_dollars{project="default"} 1`,
		`burst_tasks_dispatched_total{project="mars"} 2`,
		`burst_task_wait_seconds_count{project="mars"} 1`,
		`burst_task_wait_seconds_sum{project="mars"} 2`,
		`burst_tasks_ended_total{project="mars",state="succeeded"} 5`,
		`burst_jobs_ended_total{project="mars",state="succeeded"} 1`,
		`burst_store_commit_seconds_count 1`,
		`burst_agent_reports_total 1`,
		`burst_agent_report_events_total 4`,
		`burst_agent_heartbeats_total 1`,
		`burst_scheduler_passes_total 2`,
		`burst_autoscaler_rounds_total 1`,
		`burst_metrics_snapshot_seconds `,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the scrape lacks %q", want)
		}
	}
	for _, not := range []string{`burst_project_budget_dollars{project="default"}`, `state="failed"`, `project="x"`} {
		if strings.Contains(text, not) {
			t.Errorf("the scrape has %q, which it should not", not)
		}
	}
	// The text is what Prometheus parses: the linter finds no fault in it.
	if probs, err := testutil.GatherAndLint(m.Registry()); err != nil || len(probs) > 0 {
		t.Fatalf("lint: %v %+v", err, probs)
	}
}

// Every query of the Grafana dashboard (docs/grafana-burst.json) names a
// metric the server registers, and the dashboard parses and has the panels
// the issue asks for.
func TestDashboard(t *testing.T) {
	raw, err := os.ReadFile("../../docs/grafana-burst.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		SchemaVersion int `json:"schemaVersion"`
		Templating    struct {
			List []struct {
				Name, Type string
				Query      any
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("docs/grafana-burst.json: %v", err)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want a current one (~39)", d.SchemaVersion)
	}
	if !slices.ContainsFunc(d.Templating.List, func(v struct {
		Name, Type string
		Query      any
	}) bool {
		return v.Type == "datasource" && v.Query == "prometheus"
	}) {
		t.Errorf("no Prometheus datasource variable: %+v", d.Templating.List)
	}
	names := New(func() Snapshot { return Snapshot{} }).Names()
	known := func(n string) bool {
		if _, ok := slices.BinarySearch(names, n); ok {
			return true
		}
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(n, suf); ok {
				if _, ok := slices.BinarySearch(names, base); ok {
					return true
				}
			}
		}
		return false
	}
	metric := regexp.MustCompile(`\b(burst|go|process)_[a-z_]+\b`)
	var titles []string
	exprs := 0
	for _, p := range d.Panels {
		titles = append(titles, strings.ToLower(p.Title))
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				continue
			}
			exprs++
			if p.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: datasource %q, want the variable ${datasource}", p.Title, p.Datasource.UID)
			}
			found := metric.FindAllString(tg.Expr, -1)
			if len(found) == 0 {
				t.Errorf("panel %q: %q names no metric", p.Title, tg.Expr)
			}
			for _, n := range found {
				if !known(n) {
					t.Errorf("panel %q: %q names %s, which the server does not register", p.Title, tg.Expr, n)
				}
			}
		}
	}
	if exprs < 8 {
		t.Errorf("%d queries: the dashboard is nearly empty", exprs)
	}
	all := strings.Join(titles, "|")
	for _, want := range []string{"queue", "tasks", "dispatch", "machines", "spent", "burn", "guardrail", "commit"} {
		if !strings.Contains(all, want) {
			t.Errorf("no panel about %s (panels: %s)", want, all)
		}
	}
}

// The check itself catches a metric the server does not have.
func TestDashboardCheckCatches(t *testing.T) {
	names := New(func() Snapshot { return Snapshot{} }).Names()
	for _, n := range []string{"burst_tasks", "burst_task_wait_seconds", "go_goroutines"} {
		if _, ok := slices.BinarySearch(names, n); !ok {
			t.Errorf("Names lacks %s: %v", n, names)
		}
	}
	if _, ok := slices.BinarySearch(names, "burst_no_such_metric"); ok {
		t.Fatal("Names has a metric nobody registered")
	}
}
