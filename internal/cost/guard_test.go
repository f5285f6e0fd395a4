package cost

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// The guardrail and the forecast guards, driven by a fake clock: each case
// sits just below, exactly at and just above a line, so that a comparison
// turned the other way (>= for >) fails here.

// account is a project with a $100 budget warning at 50% and 80%.
func account(spent, last NUSD) Account {
	return Account{Name: "mars", Budget: Budget{Amount: USD(100), Warn: []float64{0.5, 0.8}}, Spent: spent, LastSpent: last}
}

// kinds writes actions in one line: "warn 0.5, stop-machine m1, exhaust".
func kinds(as []Action) string {
	var out []string
	for _, a := range as {
		switch a.Kind {
		case ActWarn:
			out = append(out, fmt.Sprintf("warn %g", a.Threshold))
		case ActCancelJob:
			out = append(out, fmt.Sprintf("cancel %d", a.Job))
		case ActStopMachine:
			out = append(out, "stop-machine "+a.Machine)
		case ActStopTask:
			out = append(out, fmt.Sprintf("stop-task %s/%d.%d", a.Machine, a.Job, a.Task))
		case ActExhaust:
			out = append(out, "exhaust")
		default:
			out = append(out, fmt.Sprintf("kind %d", a.Kind))
		}
	}
	return strings.Join(out, ", ")
}

func TestGuardAtEachThreshold(t *testing.T) {
	half, most, all := USD(50), USD(80), USD(100)
	for _, tc := range []struct {
		name       string
		a          Account
		want       string
		wantInText string
	}{
		{name: "below the first threshold", a: account(half-1, 0), want: ""},
		{name: "exactly at 50%", a: account(half, half-1), want: "warn 0.5", wantInText: "has spent $50.00, 50% of its $100.00 budget"},
		{name: "above 50%, warned already", a: account(half+1, half), want: ""},
		{name: "just below 80%", a: account(most-1, half), want: ""},
		{name: "exactly at 80%", a: account(most, most-1), want: "warn 0.8"},
		{name: "just above 80%, from below it", a: account(most+1, most-1), want: "warn 0.8"},
		{name: "just below 100%", a: account(all-1, most), want: ""},
		{name: "exactly 100%", a: account(all, all-1), want: "exhaust", wantInText: "budget of project mars spent ($100.00 of $100.00)"},
		{name: "above 100%", a: account(all+1, all-1), want: "exhaust"},
		{name: "from nothing to all at once", a: account(all, 0), want: "warn 0.5, warn 0.8, exhaust"},
		{name: "exhausted already", a: func() Account { a := account(all+5, all); a.Exhausted = true; return a }(), want: ""},
		{name: "no budget", a: Account{Name: "mars", Spent: USD(1e6)}, want: ""},
		{name: "spending did not grow", a: account(half, half), want: ""},
		{name: "custom threshold at 95%", a: func() Account { a := account(USD(95), USD(95)-1); a.Budget.Warn = []float64{0.95}; return a }(), want: "warn 0.95"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Guard(Snapshot{Accounts: []Account{tc.a}})
			if k := kinds(got); k != tc.want {
				t.Fatalf("Guard(spent %s, last look %s) = %q, want %q", tc.a.Spent, tc.a.LastSpent, k, tc.want)
			}
			if tc.wantInText != "" && !strings.Contains(got[0].Message, tc.wantInText) {
				t.Errorf("message %q does not say %q", got[0].Message, tc.wantInText)
			}
			for _, a := range got {
				if a.Project != "mars" {
					t.Errorf("action %+v names project %q", a, a.Project)
				}
			}
		})
	}
}

func TestExhausting(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Account
		want bool
	}{
		{"a nano-dollar below", account(USD(100)-1, 0), false},
		{"exactly the budget", account(USD(100), 0), true},
		{"above", account(USD(100)+1, 0), true},
		{"exhausted already", Account{Budget: Budget{Amount: USD(100)}, Spent: USD(100), Exhausted: true}, false},
		{"no budget", Account{Spent: 0}, false},
	} {
		if got := tc.a.Exhausting(); got != tc.want {
			t.Errorf("%s: Exhausting = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestGuardExhaustActions(t *testing.T) {
	// mars owns m1 (2 tasks) and m2 (stopping already); it runs tasks on
	// the host (not its own) and on venus's v1, next to venus's own.
	machines := []MachineUse{
		{ID: "local", Project: "default", PerUse: true, Metering: true, Tasks: []TaskUse{
			{Job: 1, Index: 0, Project: "mars", Started: true},
			{Job: 1, Index: 1, Project: "mars", Ending: true}, // being cancelled: left alone
			{Job: 9, Index: 0, Project: "venus", Started: true},
		}},
		{ID: "m1", Project: "mars", Metering: true, Stoppable: true, Tasks: []TaskUse{
			{Job: 2, Index: 0, Project: "mars", Started: true},
			{Job: 3, Index: 0, Project: "mars"},
			{Job: 5, Index: 0, Project: "mars", Started: true, Ending: true}, // stopping already: not counted again
		}},
		{ID: "m2", Project: "mars", Metering: true},
		{ID: "v1", Project: "venus", Metering: true, Stoppable: true, Tasks: []TaskUse{{Job: 4, Index: 2, Project: "mars", Started: true}}},
	}
	jobs := []JobUse{{ID: 1, Project: "mars"}, {ID: 2, Project: "mars"}, {ID: 3, Project: "mars"}, {ID: 4, Project: "mars"}, {ID: 9, Project: "venus"}}
	mars := account(USD(100), USD(99))
	venus := Account{Name: "venus", Budget: Budget{Amount: USD(10)}, Spent: USD(1)}

	t.Run("stop", func(t *testing.T) {
		got := Guard(Snapshot{Accounts: []Account{mars, venus}, Machines: machines, Jobs: jobs})
		want := "stop-task local/1.0, stop-machine m1, stop-task v1/4.2, exhaust"
		if k := kinds(got); k != want {
			t.Fatalf("Guard = %q, want %q", k, want)
		}
		last := got[len(got)-1].Message
		for _, s := range []string{"1 machine stopped", "4 tasks requeued", "burst project set mars --budget AMOUNT"} {
			if !strings.Contains(last, s) {
				t.Errorf("exhausted message %q does not say %q", last, s)
			}
		}
	})
	t.Run("cancel", func(t *testing.T) {
		a := mars
		a.Cancel = true
		got := Guard(Snapshot{Accounts: []Account{a, venus}, Machines: machines, Jobs: jobs})
		// Tasks of cancelled jobs are the cancel's to stop, not requeued.
		want := "cancel 1, cancel 2, cancel 3, cancel 4, stop-machine m1, exhaust"
		if k := kinds(got); k != want {
			t.Fatalf("Guard = %q, want %q", k, want)
		}
		last := got[len(got)-1].Message
		for _, s := range []string{"1 machine stopped", "0 tasks requeued", "4 jobs cancelled"} {
			if !strings.Contains(last, s) {
				t.Errorf("exhausted message %q does not say %q", last, s)
			}
		}
	})
}

func TestBurn(t *testing.T) {
	m := func(project string, perUse bool, tasks ...TaskUse) MachineUse {
		return MachineUse{ID: "m", Project: project, PerHour: 4, PerUse: perUse, Metering: true, CPUs: 4, Tasks: tasks}
	}
	task := func(project string, cpus int, started bool) TaskUse {
		return TaskUse{Project: project, CPUs: cpus, Started: started}
	}
	for _, tc := range []struct {
		name     string
		machines []MachineUse
		storage  float64
		want     float64
	}{
		{"idle machine of its own: all of it", []MachineUse{m("mars", false)}, 0, 4},
		{"idle machine of another project", []MachineUse{m("venus", false)}, 0, 0},
		{"steady: its tasks fill its machine", []MachineUse{m("mars", false, task("mars", 2, true), task("mars", 2, true))}, 0, 4},
		{"its task on a quarter of another's machine", []MachineUse{m("venus", false, task("mars", 1, true))}, 0, 1},
		{"a task not started costs nothing yet", []MachineUse{m("venus", false, task("mars", 1, false))}, 0, 0},
		{"its machine, half used by another", []MachineUse{m("mars", false, task("venus", 2, true))}, 0, 2},
		{"per use: only its tasks", []MachineUse{m("mars", true, task("mars", 1, true))}, 0, 1},
		{"not metering", []MachineUse{{Project: "mars", PerHour: 4, CPUs: 4}}, 0, 0},
		{"storage", nil, 0.25, 0.25},
		{"tasks of no CPU beside another's of 2: the 2 free CPUs between them",
			[]MachineUse{m("venus", false, task("venus", 2, true), task("mars", 0, true), task("mars", 0, true), task("mars", 0, true), task("mars", 0, true))}, 0, 2},
		{"tasks of no CPU on a machine all another's reserves: scaled with it to the machine",
			[]MachineUse{m("venus", false, task("venus", 4, true), task("mars", 0, true), task("mars", 0, true))}, 0, 0.8},
	} {
		if got := Burn("mars", tc.machines, tc.storage); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: Burn = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// meter is the server's meter and guardrail loop in miniature, on a fake
// clock: every tick each metering machine charges its burn, the guardrail
// looks, and its actions are applied as the server applies them.
type meter struct {
	now      time.Time
	a        Account
	machines []MachineUse
	log      []string // "tick N: action"
	ticks    int
}

const tick = 200 * time.Millisecond

func (m *meter) run(n int) {
	for range n {
		m.now = m.now.Add(tick)
		m.ticks++
		m.a.Spent += Accrue(Burn(m.a.Name, m.machines, 0), tick)
		for _, act := range Guard(Snapshot{Accounts: []Account{m.a}, Machines: m.machines}) {
			m.log = append(m.log, fmt.Sprintf("tick %d: %s", m.ticks, kinds([]Action{act})))
			switch act.Kind {
			case ActExhaust:
				m.a.Exhausted = true
			case ActStopMachine:
				for i := range m.machines {
					if m.machines[i].ID == act.Machine {
						m.machines[i].Metering, m.machines[i].Stoppable = false, false
					}
				}
			}
		}
		m.a.LastSpent = m.a.Spent
	}
}

func (m *meter) expect(t *testing.T, want ...string) {
	t.Helper()
	if got := strings.Join(m.log, "; "); got != strings.Join(want, "; ") {
		t.Fatalf("guardrail acted\n  %s\nwant\n  %s", got, strings.Join(want, "; "))
	}
}

// A machine at $3600/h costs $0.20 a tick: a $10 budget is half spent at
// tick 25 exactly, 80% at tick 40, all of it at tick 50.
func TestGuardOnAClock(t *testing.T) {
	budget := Budget{Amount: USD(10), Warn: []float64{0.5, 0.8}}
	machine := func(tasks ...TaskUse) []MachineUse {
		return []MachineUse{{ID: "m1", Project: "mars", PerHour: 3600, Metering: true, Stoppable: true, CPUs: 4, Tasks: tasks}}
	}
	t.Run("idle", func(t *testing.T) {
		m := &meter{now: t0, a: Account{Name: "mars", Budget: budget}, machines: machine()}
		m.run(24)
		m.expect(t)
		m.run(1)
		m.expect(t, "tick 25: warn 0.5")
		m.run(100)
		m.expect(t, "tick 25: warn 0.5", "tick 40: warn 0.8", "tick 50: stop-machine m1", "tick 50: exhaust")
		if m.a.Spent != USD(10) {
			t.Errorf("spent %s after the machine stopped, want $10.00", m.a.Spent)
		}
	})
	t.Run("steady", func(t *testing.T) {
		// Its own tasks use the whole machine: the same spending, charged
		// to the tasks; the stop requeues them.
		m := &meter{now: t0, a: Account{Name: "mars", Budget: budget},
			machines: machine(TaskUse{Job: 1, Project: "mars", CPUs: 2, Started: true}, TaskUse{Job: 1, Index: 1, Project: "mars", CPUs: 2, Started: true})}
		m.run(100)
		m.expect(t, "tick 25: warn 0.5", "tick 40: warn 0.8", "tick 50: stop-machine m1", "tick 50: exhaust")
	})
	t.Run("bursty", func(t *testing.T) {
		// Idle for a while, then a burst that crosses every line in one
		// tick: one warning per threshold, in order, then the stop.
		m := &meter{now: t0, a: Account{Name: "mars", Budget: budget}}
		m.run(10)
		m.expect(t)
		m.machines = []MachineUse{{ID: "big", Project: "mars", PerHour: 3600 * 60, Metering: true, Stoppable: true}}
		m.run(1)
		m.expect(t, "tick 11: warn 0.5", "tick 11: warn 0.8", "tick 11: stop-machine big", "tick 11: exhaust")
	})
	t.Run("budget raised after exhaustion", func(t *testing.T) {
		m := &meter{now: t0, a: Account{Name: "mars", Budget: budget}, machines: machine()}
		m.run(50)
		if !m.a.Exhausted {
			t.Fatal("not exhausted at 100%")
		}
		if err := AdmitMachine(m.a, MachineAsk{Type: "c5.large", PerHour: 0.01}); err == nil {
			t.Fatal("an exhausted project started a machine")
		}
		// Raised to exactly what was spent: it stays exhausted.
		if Lifts(USD(10), m.a.Spent) {
			t.Fatal("a budget raised only to what was spent lifted the guardrail")
		}
		if !Lifts(USD(10)+1, m.a.Spent) || !Lifts(0, m.a.Spent) {
			t.Fatal("a budget above what was spent (or none) did not lift the guardrail")
		}
		// Raised to $20, as UpdateProject does: lifted, last look now.
		m.a.Budget.Amount, m.a.Exhausted, m.a.LastSpent = USD(20), false, m.a.Spent
		if err := AdmitMachine(m.a, MachineAsk{Type: "c5.large", PerHour: 1}); err != nil {
			t.Fatalf("work does not resume after the budget was raised: %v", err)
		}
		m.log = nil
		m.machines = machine()
		m.run(50)
		// $10 more: 80% of $20 at $16 (30 ticks), all at $20 (50 ticks).
		m.expect(t, "tick 80: warn 0.8", "tick 100: stop-machine m1", "tick 100: exhaust")
	})
}

// The end date is the forecast's horizon; it does not stop work.
func TestGuardEndDatePassing(t *testing.T) {
	ends := t0.Add(24 * time.Hour)
	a := Account{Name: "mars", Budget: Budget{Amount: USD(100), Start: t0, Ends: ends}, Spent: USD(10), LastSpent: USD(10)}
	running := []RunningMachine{{PerHour: 3600}} // 1 nUSD a nanosecond
	for _, tc := range []struct {
		name      string
		now       time.Time
		days      float64
		committed NUSD
		trendDays int
	}{
		{"a nanosecond before", ends.Add(-1), time.Duration(1).Hours() / 24, 1, 1},
		{"at the end date", ends, 0, 0, 0},
		{"after it", ends.Add(time.Hour), 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Guard(Snapshot{Accounts: []Account{a}, Machines: []MachineUse{{ID: "m1", Project: "mars", PerHour: 3600, Metering: true, Stoppable: true}}}); len(got) != 0 {
				t.Errorf("the guardrail acted on an end date: %s", kinds(got))
			}
			if err := AdmitJob(a, JobAsk{Tasks: 1, CPUs: 1, TimeLimit: time.Hour, PerHour: 1, CapCPUs: 1}); err != nil {
				t.Errorf("a job within the budget was refused: %v", err)
			}
			if got := Assess(a.Budget, a.Spent, 3600, tc.now).DaysRemaining; got != tc.days {
				t.Errorf("days left %v, want %v", got, tc.days)
			}
			f := Forecasting(ForecastInput{Now: tc.now, Start: t0, Ends: ends, Spent: a.Spent, Machines: running})
			if f.Committed != tc.committed || f.NUSD != a.Spent+tc.committed {
				t.Errorf("forecast %s (running work %s), want spent %s + %d nUSD", f.NUSD, f.Committed, a.Spent, tc.committed)
			}
			// Once the end date is reached the forecast is final: no trend.
			if f.Days != tc.days || f.TrendDays != tc.trendDays {
				t.Errorf("forecast over %v days with %d days of trend, want %v and %d", f.Days, f.TrendDays, tc.days, tc.trendDays)
			}
		})
	}
}

func TestAdmitMachine(t *testing.T) {
	const price = 6.0 // $/h: $6 an hour, $1 for 10 minutes
	hour, tenMin := Accrue(price, time.Hour), Accrue(price, 10*time.Minute)
	left := func(n NUSD) Account {
		return Account{Name: "mars", Budget: Budget{Amount: USD(100)}, Spent: USD(100) - n}
	}
	for _, tc := range []struct {
		name     string
		a        Account
		idleStop time.Duration
		refused  string // "" admitted
	}{
		{"an hour left exactly", left(hour), 0, ""},
		{"a nano-dollar short of an hour", left(hour - 1), 0, "a c5.xlarge machine for 1h0m0s would cost $6.00"},
		{"idle-stop shorter than an hour: it counts", left(tenMin), 10 * time.Minute, ""},
		{"idle-stop shorter, a nano-dollar short", left(tenMin - 1), 10 * time.Minute, "for 10m0s would cost $1.00"},
		{"idle-stop of exactly an hour", left(hour - 1), time.Hour, "for 1h0m0s"},
		{"idle-stop longer than an hour: an hour counts", left(hour), 2 * time.Hour, ""},
		{"no budget", Account{Name: "mars", Spent: USD(1e6)}, 0, ""},
		{"exhausted", Account{Name: "mars", Budget: Budget{Amount: USD(100)}, Spent: USD(100), Exhausted: true}, 0,
			"project mars has spent its budget ($100.00 of $100.00): no machine starts for it. Raise it with `burst project set mars --budget AMOUNT`"},
	} {
		err := AdmitMachine(tc.a, MachineAsk{Type: "c5.xlarge", PerHour: price, IdleStop: tc.idleStop})
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.refused != "" && err == nil:
			t.Errorf("%s: admitted, want refused (%s)", tc.name, tc.refused)
		case tc.refused != "" && !strings.Contains(err.Error(), tc.refused):
			t.Errorf("%s: %v\n  does not say %q", tc.name, err, tc.refused)
		case err != nil && !strings.Contains(err.Error(), "--budget AMOUNT"):
			t.Errorf("%s: %v does not name the fix", tc.name, err)
		}
	}
}

func TestAdmitJob(t *testing.T) {
	// 10 tasks of 1 CPU of a 4-CPU $4/h machine for an hour: $1 each.
	ask := JobAsk{Tasks: 10, CPUs: 1, TimeLimit: time.Hour, Cluster: "gpu", PerHour: 4, CapCPUs: 4}
	left := func(n NUSD) Account {
		return Account{Name: "mars", Budget: Budget{Amount: USD(100)}, Spent: USD(100) - n}
	}
	with := func(f func(*JobAsk)) JobAsk { j := ask; f(&j); return j }
	for _, tc := range []struct {
		name    string
		a       Account
		j       JobAsk
		refused string
	}{
		{"what is left exactly", left(USD(10)), ask, ""},
		{"a nano-dollar short", left(USD(10) - 1), ask, "this job could cost up to $10.00 (10 tasks × 1h0m0s × $1/h on gpu)"},
		{"no time limit: not forecast, even past the budget before the guardrail's look", left(-1), with(func(j *JobAsk) { j.TimeLimit = 0 }), ""},
		{"one task counts as one", left(USD(1) - 1), with(func(j *JobAsk) { j.Tasks = 0 }), "up to $1.00"},
		{"a GPU weighs its share", left(USD(2) - 1), with(func(j *JobAsk) { j.Tasks, j.CPUs, j.GPUs, j.CapGPUs, j.GPUShare = 1, 0, 1, 2, 1 }), "up to $2.00"},
		{"no budget", Account{Name: "mars", Spent: USD(500)}, ask, ""},
		// $876,000 a task for 100 years; 15,000 of them is more than an
		// int64 of nano-dollars holds, which once wrapped to a negative.
		{"100 years of 15,000 tasks does not wrap", left(USD(100)),
			with(func(j *JobAsk) { j.Tasks, j.TimeLimit = 15_000, 100*365*24*time.Hour }), "this job could cost up to"},
		{"exhausted, even without a time limit", Account{Name: "mars", Budget: Budget{Amount: USD(100)}, Spent: USD(100), Exhausted: true},
			with(func(j *JobAsk) { j.TimeLimit = 0 }), "no new work is admitted"},
	} {
		err := AdmitJob(tc.a, tc.j)
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.refused != "" && err == nil:
			t.Errorf("%s: admitted, want refused (%s)", tc.name, tc.refused)
		case tc.refused != "" && !strings.Contains(err.Error(), tc.refused):
			t.Errorf("%s: %v\n  does not say %q", tc.name, err, tc.refused)
		case err != nil && !strings.Contains(err.Error(), "--budget AMOUNT"):
			t.Errorf("%s: %v does not name the fix", tc.name, err)
		}
	}
}
