package web

import (
	"fmt"
	"time"

	"github.com/burst-sh/burst"
)

// Sample views, as the server would hand them: realistic figures, every
// state a page shows.

var sampleNow = time.Date(2026, 3, 18, 14, 30, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := sampleNow.Add(d); return &t }
func day(y int, m time.Month, d int) *time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return &t
}
func code(c int) *int { return &c }

func samplePage(title, active string) Page {
	return Page{Title: title, Active: active, CSRF: "csrf-tok-123", User: "ada", Now: sampleNow, Version: "0.9.1"}
}

func sampleMachine(id, cluster, state string, price float64, started time.Duration, tasks int) burst.Machine {
	m := burst.Machine{ID: id, Cluster: cluster, Host: id, State: state, Provider: "aws", Type: "c7i.4xlarge",
		Project: "mars", CPUs: 16, MemBytes: 32 << 30, Used: burst.Resources{CPUs: tasks * 2},
		StartedAt: at(-started), SeenAt: at(-5 * time.Second), PriceUSDPerHour: price,
		CostUSD: price * started.Hours(), Tasks: tasks}
	// What the server offers for a machine of a cluster burst started.
	m.Actions = []string{burst.ActionStop}
	if state == burst.MachineStopped {
		m.Actions = []string{burst.ActionStart}
		m.StoppedAt = at(-started / 2)
		m.CostUSD = price * started.Hours() / 2
	}
	if state == burst.MachinePending {
		m.StartedAt = nil
		m.CostUSD = 0
		m.Waiting = "Resources"
	}
	return m
}

func sampleProjects() []burst.Project {
	running := []burst.Machine{
		sampleMachine("m-1", "aws-c7i", burst.MachineRunning, 0.714, 3*time.Hour+12*time.Minute, 4),
		sampleMachine("m-2", "aws-c7i", burst.MachineRunning, 0.714, 47*time.Minute, 2),
		sampleMachine("m-3", "aws-c7i", burst.MachinePending, 0.714, 0, 0),
	}
	stopped := []burst.Machine{
		sampleMachine("m-0", "aws-c7i", burst.MachineStopped, 0.714, 26*time.Hour, 0),
	}
	return []burst.Project{
		{
			Name: "mars", Description: "Life on Mars <script>alert('x')</script> & friends",
			Tags: []string{"nasa", "decades"}, BudgetUSD: 400, Ends: day(2026, 4, 30), Warn: []float64{0.5, 0.8},
			OnExhausted: "stop", CreatedAt: time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC),
			Budget: &burst.BudgetReport{Project: "mars", BudgetUSD: 400, SpentUSD: 312.47, IdleUSD: 12.05, StorageUSD: 0.83,
				TasksUSD: 297.19, PreemptionUSD: 2.4, TasksNUSD: 297_190_000_000, IdleNUSD: 12_050_000_000,
				PreemptionNUSD: 2_400_000_000, StorageNUSD: 830_000_000, SpentNUSD: 312_470_000_000,
				ForecastUSD: 1031.9, RemainingUSD: 87.53, BurnUSDPerHour: 0.7139, Ends: day(2026, 4, 30), DaysRemaining: 42.4,
				Fraction: 0.781, Level: "warn", Threshold: 0.5, Guard: "warning: 50% of the budget spent",
				ExhaustedAt: at(122 * time.Hour), Running: running, Stopped: stopped,
				Storage: []burst.StorageLine{
					{Tier: "hot", Bytes: 1288490189, USDPerGBMonth: 0.023, USDPerMonth: 0.0276, SpentUSD: 0.61, SpentNUSD: 610_000_000},
					{Tier: "archive", Bytes: 53687091200, USDPerGBMonth: 0.00099, USDPerMonth: 0.0495, SpentUSD: 0.22, SpentNUSD: 220_000_000},
				},
				At: sampleNow},
		},
		{
			Name: "thesis", Description: "Chapter 3 simulations", Tags: []string{"phd"}, BudgetUSD: 250,
			Ends: day(2026, 6, 1), CreatedAt: time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC),
			Budget: &burst.BudgetReport{Project: "thesis", BudgetUSD: 250, SpentUSD: 41.2, ForecastUSD: 96.35,
				RemainingUSD: 208.8, BurnUSDPerHour: 0.0312, Ends: day(2026, 6, 1), DaysRemaining: 74.4, Fraction: 0.1648,
				Level: "ok", Guard: "ok", At: sampleNow},
		},
		{
			Name: "genomics", Description: "Variant calling, cohort B", BudgetUSD: 1000, OnExhausted: "stop",
			CreatedAt: time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC),
			Budget: &burst.BudgetReport{Project: "genomics", BudgetUSD: 1000, SpentUSD: 1000.02, ForecastUSD: 1000.02,
				RemainingUSD: -0.02, DaysRemaining: -1, Fraction: 1.00002, Level: "exhausted", Threshold: 1,
				Guard: "exhausted: admission stopped, work held, machines stopped", At: sampleNow},
		},
		{
			Name: "sandbox", CreatedAt: time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC),
			Budget: &burst.BudgetReport{Project: "sandbox", SpentUSD: 0.0042, ForecastUSD: 0.0042, DaysRemaining: -1,
				Level: "none", Guard: "no budget", At: sampleNow},
		},
	}
}

func sampleOverview() *OverviewView {
	return &OverviewView{
		Page:     samplePage("Projects", "projects"),
		Projects: sampleProjects(),
		Running:  map[string]int{"mars": 2, "thesis": 0, "genomics": 0},
		Active:   map[string]int{"mars": 5, "thesis": 1},
	}
}

func samplePipeJob() burst.Job {
	spec := &burst.JobSpec{Name: "pipe-gen", Project: "mars", Kind: burst.KindPipe, Tasks: 4,
		Resources: burst.Resources{CPUs: 1},
		Pipe: &burst.PipeSpec{Text: "gen --n 1e9 | filter -q 0.5 | sort -k2 > out.txt", Stdout: "out.txt",
			Stages: []burst.PipeStage{
				{Name: "gen", Argv: []string{"gen", "--n", "1e9"}, Resources: burst.Resources{CPUs: 1}},
				{Name: "filter", Argv: []string{"filter", "-q", "0.5"}, Parallel: 2},
				{Name: "sort", Argv: []string{"sort", "-k2"}, Resources: burst.Resources{CPUs: 2, MemBytes: 4 << 30}},
			}}}
	return burst.Job{ID: 44, Name: "pipe-gen", Project: "mars", Kind: burst.KindPipe, User: "ada", State: burst.Running,
		CPUs: 3, SubmittedAt: sampleNow.Add(-20 * time.Minute), StartedAt: at(-19 * time.Minute),
		Tasks:   burst.TaskCounts{Total: 4, Running: 3, Failed: 1},
		CostUSD: 0.0213, Spec: spec}
}

func samplePipeTasks() []burst.Task {
	return []burst.Task{
		{JobID: 44, Index: 0, State: burst.Running, Attempt: 1, Machine: "m-1", StartedAt: at(-19 * time.Minute),
			UserSeconds: 1000, SysSeconds: 60, MaxRSSBytes: 120 << 20, ReadBytes: 0, WroteBytes: 9 << 30, CostUSD: 0.0071},
		{JobID: 44, Index: 1, State: burst.Running, Attempt: 1, Machine: "m-1", StartedAt: at(-19 * time.Minute),
			UserSeconds: 500, ReadBytes: 4 << 30, WroteBytes: 1 << 30, MaxRSSBytes: 30 << 20, CostUSD: 0.004},
		{JobID: 44, Index: 2, State: burst.Failed, Attempt: 1, Machine: "m-2", ExitCode: code(3), StartedAt: at(-19 * time.Minute),
			EndedAt: at(-2 * time.Minute), Reason: "exit status 3", UserSeconds: 480, ReadBytes: 4 << 30, WroteBytes: 1 << 30, MaxRSSBytes: 31 << 20, CostUSD: 0.0038},
		{JobID: 44, Index: 3, State: burst.Queued, Attempt: 0},
	}
}

func sampleJobs() []burst.Job {
	return []burst.Job{
		samplePipeJob(),
		{ID: 43, Name: "simulate", Project: "mars", Kind: burst.KindMap, User: "ada", State: burst.Running, CPUs: 2,
			SubmittedAt: sampleNow.Add(-3 * time.Hour), StartedAt: at(-3*time.Hour + 30*time.Second),
			Tasks:   burst.TaskCounts{Total: 1000, Queued: 572, Running: 16, Succeeded: 409, Failed: 3},
			CostUSD: 1.8734, Spec: &burst.JobSpec{Kind: burst.KindMap, Map: &burst.MapSpec{Template: []string{"./simulate", "--seed", "{}"}}}},
		{ID: 42, Name: "fit.py", Project: "mars", Kind: burst.KindRun, User: "grace", State: burst.Succeeded, CPUs: 4,
			ExitCode: code(0), SubmittedAt: sampleNow.Add(-26 * time.Hour), StartedAt: at(-26 * time.Hour),
			EndedAt: at(-23*time.Hour - 55*time.Minute), Tasks: burst.TaskCounts{Total: 1, Succeeded: 1}, CostUSD: 2.9701},
		{ID: 41, Name: "prep", Project: "mars", Kind: burst.KindRun, User: "ada", State: burst.Failed, ExitCode: code(137),
			Reason: "out of memory (killed at 8 GiB)", SubmittedAt: sampleNow.Add(-50 * time.Hour), StartedAt: at(-50 * time.Hour),
			EndedAt: at(-50*time.Hour + 192*time.Second), Tasks: burst.TaskCounts{Total: 1, Failed: 1}, CostUSD: 0.0381},
		{ID: 45, Name: "later", Project: "mars", Kind: burst.KindRun, User: "ada", State: burst.Queued,
			SubmittedAt: sampleNow.Add(-time.Minute), Tasks: burst.TaskCounts{Total: 1, Queued: 1}},
	}
}

func sampleEvents() []burst.Event {
	return []burst.Event{
		{ID: 9, At: sampleNow.Add(-3 * time.Minute), Actor: "autoscaler", Kind: "machine.start", Project: "mars", Target: "m-3", Message: "started m-3 for 16 queued tasks", Result: "ok"},
		{ID: 8, At: sampleNow.Add(-2 * time.Hour), Actor: "guardrail", Kind: "guardrail.warn", Project: "mars", Message: "50% of the budget spent", Result: "ok"},
		{ID: 7, At: sampleNow.Add(-5 * time.Hour), Actor: "grace", Kind: "job.submit", Project: "mars", Target: "job 46", Message: "submit big-run", Result: "refused: budget"},
		{ID: 6, At: sampleNow.Add(-30 * time.Hour), Actor: "server", Kind: "machine.stop", Project: "mars", Target: "m-0", Message: "stop m-0", Result: "failed: provider timeout"},
	}
}

func sampleSpend() []SpendPoint {
	var out []SpendPoint
	c := 0.0
	for d := 0; d < 30; d++ {
		c += 5 + float64(d%7)*2.2
		out = append(out, SpendPoint{Day: time.Date(2026, 2, 17+d, 0, 0, 0, 0, time.UTC), Cumulative: c})
	}
	for i := range out { // to end at what the budget report says was spent
		out[i].Cumulative *= 312.47 / c
	}
	return out
}

func sampleProjectView() *ProjectView {
	p := sampleProjects()[0]
	return &ProjectView{
		Page:     samplePage("mars", "projects"),
		Project:  p,
		Spend:    sampleSpend(),
		Jobs:     sampleJobs(),
		JobTasks: map[int64][]burst.Task{44: samplePipeTasks()},
		Events:   sampleEvents(),
	}
}

func sampleClustersView() *ClustersView {
	ps := sampleProjects()
	return &ClustersView{
		Page: samplePage("Clusters", "clusters"),
		Clusters: []ClusterBox{
			{
				Cluster: burst.Cluster{Name: "aws-c7i", Provider: "aws", Type: "c7i.4xlarge", Project: "mars", Min: 0, Max: 8,
					IdleStopS: 600, Spot: true, CPUs: 16, MemBytes: 32 << 30, PriceUSDPerHour: 0.714, Live: 3, Queued: 572,
					Off: []string{"Fri 18:00"}, On: []string{"Mon 07:00"}, Schedule: "off Fri 18:00, on Mon 07:00", ScheduleOn: true},
				Machines: append(append([]burst.Machine{}, ps[0].Budget.Running...), ps[0].Budget.Stopped...),
				Events:   sampleEvents()[:1],
			},
			{
				Cluster:  burst.Cluster{Name: "local", Provider: "local", BuiltIn: true, Max: 1, CPUs: 8, MemBytes: 16 << 30, Live: 1},
				Machines: []burst.Machine{{ID: "local", Cluster: "local", Host: "lab-7", State: burst.MachineRunning, Provider: "local", CPUs: 8, MemBytes: 16 << 30, StartedAt: at(-72 * time.Hour), PerUse: true, CostUSD: 0.52, Tasks: 1}},
			},
		},
	}
}

func sampleJobView() *JobView {
	return &JobView{
		Page:   samplePage("pipe-gen", "jobs"),
		Job:    samplePipeJob(),
		Tasks:  samplePipeTasks(),
		LogURL: "/ui/jobs/44/log?task=3",
		Task:   3,
	}
}

func sampleMapJobView() *JobView {
	j := sampleJobs()[1]
	var tasks []burst.Task
	for i := range 250 {
		st := burst.Succeeded
		if i%50 == 7 {
			st = burst.Failed
		}
		tasks = append(tasks, burst.Task{JobID: j.ID, Index: i, State: st, Attempt: 1, Machine: fmt.Sprintf("m-%d", 1+i%2),
			ExitCode: code(0), StartedAt: at(-time.Hour), EndedAt: at(-59 * time.Minute), CostUSD: 0.0021})
	}
	return &JobView{Page: samplePage("simulate", "jobs"), Job: j, Tasks: tasks, LogURL: "/ui/jobs/43/log?task=0"}
}

// benchOverview is n projects, each with machines machines running.
func benchOverview(n, machines int) *OverviewView {
	v := &OverviewView{Page: samplePage("Projects", "projects"), Running: map[string]int{}, Active: map[string]int{}}
	base := sampleProjects()
	for i := range n {
		p := base[i%len(base)]
		p.Name = fmt.Sprintf("project-%02d", i)
		b := *p.Budget
		b.Project = p.Name
		b.Running = nil
		for k := range machines {
			b.Running = append(b.Running, sampleMachine(fmt.Sprintf("m-%d-%d", i, k), "aws-c7i", burst.MachineRunning, 0.714, time.Duration(k+1)*time.Hour, k%4))
		}
		b.BurnUSDPerHour = 0.714 * float64(machines)
		p.Budget = &b
		v.Projects = append(v.Projects, p)
		v.Running[p.Name] = machines
		v.Active[p.Name] = i % 5
	}
	return v
}
