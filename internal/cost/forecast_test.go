package cost

import (
	"math"
	"strings"
	"testing"
	"time"
)

// The forecast is tested on a fake clock with spend histories as projects
// have them: a brand-new project with one short job, steady daily spend,
// one big day then nothing, no spend at all, and running machines.

const day = 24 * time.Hour

// clock is the fake now of these tests: a Thursday at 15:00 UTC.
var clock = time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)

// history spends perDay on each of the n complete days before today, and
// today what perDay spends by now's time of day.
func history(now time.Time, n int, perDay float64) (days []DaySpend, spent NUSD) {
	today := midnight(now)
	for i := n; i >= 1; i-- {
		days = append(days, DaySpend{Day: today.AddDate(0, 0, -i), NUSD: USD(perDay)})
		spent += USD(perDay)
	}
	part := USD(perDay * now.Sub(today).Hours() / 24)
	days = append(days, DaySpend{Day: today, NUSD: part})
	return days, spent + part
}

func nearUSD(t *testing.T, what string, got NUSD, want float64) {
	t.Helper()
	if math.Abs(got.Dollars()-want) > 1e-6 {
		t.Errorf("%s = %s (%.9f), want %.9f", what, got, got.Dollars(), want)
	}
}

// TestForecastBrandNewProjectShortJob is the bug of issue #12: a 2-minute
// job in a project an hour old with 157 days to go was forecast at
// $1,031 (687% of a $150 budget) because the burn of that instant,
// $0.2737/h, was extrapolated to the end date. Its forecast is what it
// spent: the project has no complete day of history for a trend.
func TestForecastBrandNewProjectShortJob(t *testing.T) {
	now := clock
	ends := midnight(now).AddDate(0, 0, 157)
	spent := Accrue(0.2737, 2*time.Minute)
	in := ForecastInput{Now: now, Start: now.Add(-time.Hour), Ends: ends, Spent: spent,
		Days: []DaySpend{{Day: midnight(now), NUSD: spent}}}
	f := Forecasting(in)
	nearUSD(t, "forecast after the job", f.NUSD, spent.Dollars())
	if f.TrendDays != 0 || f.Trend != 0 {
		t.Errorf("trend from %d days = %s, want none", f.TrendDays, f.Trend)
	}

	// While it runs (a minute so far, no time limit, on this host priced
	// per use): one more minute, not 157 days.
	in.Machines = []RunningMachine{{Cluster: "local", Tasks: []RunningTask{{PerHour: 0.2737, Started: now.Add(-time.Minute)}}}}
	f = Forecasting(in)
	nearUSD(t, "forecast while it runs", f.NUSD, spent.Dollars()+Accrue(0.2737, time.Minute).Dollars())
	if f.NUSD > USD(0.02) {
		t.Errorf("forecast %s: the burn of the instant was extrapolated", f.NUSD)
	}
	if m := f.Method(); !strings.Contains(m, "no trend yet") || !strings.Contains(m, "by "+ends.Format("2006-01-02")) {
		t.Errorf("Method() = %q", m)
	}
}

func TestForecastSteady(t *testing.T) {
	now := clock
	ends := midnight(now).AddDate(0, 0, 40)
	days, spent := history(now, 60, 5)
	f := Forecasting(ForecastInput{Now: now, Start: now.AddDate(0, 0, -60), Ends: ends, Spent: spent, Days: days})
	left := ends.Sub(now).Hours() / 24 // 39.375 days
	if math.Abs(f.Days-left) > 1e-9 || f.TrendDays != TrendWindow || f.TrendDivisor != TrendWindow {
		t.Errorf("days %v over %d/%d, want %v over %d", f.Days, f.TrendDays, f.TrendDivisor, left, TrendWindow)
	}
	if math.Abs(f.TrendPerDay-5) > 1e-9 {
		t.Errorf("trend %v/day, want 5", f.TrendPerDay)
	}
	// $5 a day, every day, to the end: 100 days of $5 in all.
	nearUSD(t, "forecast", f.NUSD, 5*(60+0.625+left))
	want := "$500.00 by 2027-01-12 = spent $303.13 + running work $0.00 + trend $5.00/day × 39.4 days (last 14 days)"
	if m := f.Method(); m != want {
		t.Errorf("Method() =\n %q\nwant\n %q", m, want)
	}
}

func TestForecastBursty(t *testing.T) {
	now := clock
	ends := midnight(now).AddDate(0, 0, 100)
	start := now.AddDate(0, 0, -30)
	// One big day 20 days ago, nothing since: out of the trend's window.
	big := DaySpend{Day: midnight(now).AddDate(0, 0, -20), NUSD: USD(70)}
	f := Forecasting(ForecastInput{Now: now, Start: start, Ends: ends, Spent: USD(70), Days: []DaySpend{big}})
	nearUSD(t, "forecast, burst out of the window", f.NUSD, 70)
	if f.TrendDays != TrendWindow || f.TrendPerDay != 0 {
		t.Errorf("trend %v/day over %d days, want 0 over %d", f.TrendPerDay, f.TrendDays, TrendWindow)
	}
	// The same day 3 days ago: averaged over the 14 days, not taken for a
	// daily rate ($5/day, not $70/day).
	big.Day = midnight(now).AddDate(0, 0, -3)
	f = Forecasting(ForecastInput{Now: now, Start: start, Ends: ends, Spent: USD(70), Days: []DaySpend{big}})
	nearUSD(t, "forecast, burst in the window", f.NUSD, 70+5*f.Days)
}

func TestForecastIdle(t *testing.T) {
	now := clock
	for _, ends := range []time.Time{midnight(now).AddDate(0, 0, 157), {}} {
		f := Forecasting(ForecastInput{Now: now, Start: now.AddDate(0, 0, -90), Ends: ends})
		if f.NUSD != 0 || f.Committed != 0 || f.Trend != 0 {
			t.Errorf("ends %v: idle project forecast %s (running %s, trend %s), want $0", ends, f.NUSD, f.Committed, f.Trend)
		}
	}
	f := Forecasting(ForecastInput{Now: now, Start: now.AddDate(0, 0, -90)})
	if !f.OpenEnded || !f.By.Equal(now.Add(OpenHorizon)) {
		t.Errorf("open-ended: by %v (open %v), want now + 30 days", f.By, f.OpenEnded)
	}
}

// TestForecastYoungProject: with 3 days of history a day's spending is
// spread over a week.
func TestForecastYoungProject(t *testing.T) {
	now := clock
	ends := midnight(now).AddDate(0, 0, 50)
	days, spent := history(now, 3, 7)
	f := Forecasting(ForecastInput{Now: now, Start: midnight(now).AddDate(0, 0, -3).Add(9 * time.Hour), Ends: ends, Spent: spent, Days: days})
	if f.TrendDays != 3 || f.TrendDivisor != TrendMinDays || math.Abs(f.TrendPerDay-3) > 1e-9 {
		t.Errorf("trend %v/day over %d days / %d, want 3 over 3 / 7", f.TrendPerDay, f.TrendDays, f.TrendDivisor)
	}
	if m := f.Method(); !strings.Contains(m, "(3 days of history, spread over 7 days)") {
		t.Errorf("Method() = %q", m)
	}
}

func TestForecastEnded(t *testing.T) {
	now := clock
	days, spent := history(now, 20, 5)
	f := Forecasting(ForecastInput{Now: now, Start: now.AddDate(0, 0, -20), Ends: midnight(now), Spent: spent, Days: days,
		Machines: []RunningMachine{{PerHour: 10}}})
	if f.NUSD != spent || f.Days != 0 {
		t.Errorf("ended project: forecast %s over %v days, want %s", f.NUSD, f.Days, spent)
	}
	if m := f.Method(); !strings.Contains(m, "has passed") {
		t.Errorf("Method() = %q", m)
	}
}

func TestForecastRunningMachines(t *testing.T) {
	now := clock
	ends := midnight(now).AddDate(0, 0, 10)
	left := ends.Sub(now)
	for _, tc := range []struct {
		name string
		m    RunningMachine
		min  int
		want float64 // $ of running work
	}{
		{"idle-stop after a task with a time limit",
			RunningMachine{Cluster: "c", PerHour: 2, IdleStop: 30 * time.Minute,
				Tasks: []RunningTask{{Started: now.Add(-time.Hour), Limit: 3 * time.Hour}}},
			0, 2 * 2.5},
		{"idle-stop after a task without a limit: as long again",
			RunningMachine{Cluster: "c", PerHour: 2, IdleStop: 30 * time.Minute,
				Tasks: []RunningTask{{Started: now.Add(-4 * time.Hour)}}},
			0, 2 * 4.5},
		{"idle now, stops at its idle-stop",
			RunningMachine{Cluster: "c", PerHour: 2, IdleStop: time.Hour, IdleSince: now.Add(-15 * time.Minute)},
			0, 2 * 0.75},
		{"kept by the cluster's min: to the end",
			RunningMachine{Cluster: "c", PerHour: 2, IdleStop: time.Hour, IdleSince: now.Add(-15 * time.Minute)},
			1, 2 * left.Hours()},
		{"no idle-stop: to the end",
			RunningMachine{Cluster: "c", PerHour: 2},
			0, 2 * left.Hours()},
		{"a pilot's time limit ends it",
			RunningMachine{Cluster: "c", PerHour: 2, Stops: now.Add(6 * time.Hour)},
			0, 2 * 6},
		{"its task runs past the end date: to the end",
			RunningMachine{Cluster: "c", PerHour: 2, IdleStop: time.Minute,
				Tasks: []RunningTask{{Started: now, Limit: 30 * day}}},
			0, 2 * left.Hours()},
		{"priced per use: its tasks pay their share",
			RunningMachine{Cluster: "local", Tasks: []RunningTask{
				{PerHour: 0.5, Started: now.Add(-time.Hour), Limit: 2 * time.Hour},
				{PerHour: 0.25, Started: now.Add(-2 * time.Hour)}}},
			0, 0.5 + 0.25*2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Forecasting(ForecastInput{Now: now, Start: now.Add(-time.Hour), Ends: ends,
				Machines: []RunningMachine{tc.m}, Min: map[string]int{"c": tc.min}})
			nearUSD(t, "running work", f.Committed, tc.want)
			nearUSD(t, "forecast", f.NUSD, tc.want)
		})
	}
}

// TestForecastMinKeepsTheBusiest: of a cluster's machines beyond its min,
// those that would stop first stop; the others run to the end.
func TestForecastMinKeepsTheBusiest(t *testing.T) {
	now := clock
	ends := midnight(now).AddDate(0, 0, 2)
	idle := RunningMachine{Cluster: "c", PerHour: 1, IdleStop: time.Hour, IdleSince: now}
	busy := RunningMachine{Cluster: "c", PerHour: 1, IdleStop: time.Hour,
		Tasks: []RunningTask{{Started: now, Limit: 5 * time.Hour}}}
	f := Forecasting(ForecastInput{Now: now, Start: now, Ends: ends, Machines: []RunningMachine{idle, busy}, Min: map[string]int{"c": 1}})
	nearUSD(t, "running work", f.Committed, 1+ends.Sub(now).Hours())
}

// TestForecastRunningWorkNotCountedTwice: a machine kept running for a
// month spends every day; its future is running work, so its past is not
// also taken for a trend.
func TestForecastRunningWorkNotCountedTwice(t *testing.T) {
	now := clock
	ends := midnight(now).AddDate(0, 0, 30)
	days, spent := history(now, 30, 24)
	for i := range days {
		days[i].Running = days[i].NUSD
	}
	f := Forecasting(ForecastInput{Now: now, Start: now.AddDate(0, 0, -30), Ends: ends, Spent: spent, Days: days,
		Machines: []RunningMachine{{Cluster: "c", PerHour: 1}}})
	if f.TrendPerDay != 0 {
		t.Errorf("trend %v/day, want 0: the running machine's past is its future's", f.TrendPerDay)
	}
	nearUSD(t, "forecast", f.NUSD, spent.Dollars()+ends.Sub(now).Hours())
}

func TestForecastStorage(t *testing.T) {
	now := clock
	ends := now.Add(100 * time.Hour)
	f := Forecasting(ForecastInput{Now: now, Start: now, Ends: ends, StoragePerHour: 0.01})
	nearUSD(t, "storage to the end", f.Committed, 1)
}

func TestDaysLeft(t *testing.T) {
	ends := time.Date(2027, 5, 10, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC), "157 days"}, // Dec 4 .. May 9, today counted
		{time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), "157 days"},
		{time.Date(2027, 5, 7, 23, 0, 0, 0, time.UTC), "3 days"},
		{time.Date(2027, 5, 8, 0, 30, 0, 0, time.UTC), "47 h"},
		{time.Date(2027, 5, 8, 0, 0, 1, 0, time.UTC), "47 h"},
		{time.Date(2027, 5, 9, 23, 59, 0, 0, time.UTC), "<1 h"},
		{ends, "ended"},
		{ends.Add(day), "ended"},
	} {
		if got := DaysLeftText(DaysLeft(tc.now, ends)); got != tc.want {
			t.Errorf("at %v: %q, want %q", tc.now, got, tc.want)
		}
	}
	if got := DaysLeftText(DaysLeft(clock, time.Time{})); got != "open-ended" {
		t.Errorf("open-ended: %q", got)
	}
}
