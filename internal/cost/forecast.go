package cost

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/burst-sh/burst"
)

// The forecast: what a project will have spent by its end date. It is the
// sum of three parts, each one a person can check:
//
//   - spent: what the ledger holds now;
//   - running work: what the machines and tasks running now will cost until
//     they are expected to stop. A task with a time limit ends by then; one
//     without is expected to run as long again as it has so far. A machine
//     charged whole stops its idle-stop after its last task ends; one the
//     cluster keeps (its --min, or no idle-stop) runs to the end; none runs
//     past its pilot's time limit or its cluster's next switch-off. A
//     machine priced per use (this host) costs only its tasks. Storage kept
//     is charged until the end;
//   - trend: the average daily spend of new work over the last complete
//     days (UTC, at most TrendWindow of them, none before the project's
//     creation day, today's partial day left out, and without what the
//     running work above spent, which it counts already), times the days
//     left. With fewer than TrendMinDays days of history the sum is spread
//     over TrendMinDays, so that one job of a young project is not taken
//     for daily spending; a project younger than a day has no trend.
//
// The burn rate of the instant is never extrapolated: a 2-minute job in a
// 157-day project forecasts what it cost, not 157 days of it.

const (
	// TrendWindow is how many complete days of history the trend averages.
	TrendWindow = 14
	// TrendMinDays is the fewest days the trend divides by.
	TrendMinDays = 7
	// OpenHorizon is how far an open-ended project is forecast.
	OpenHorizon = 30 * 24 * time.Hour
)

// ForecastInput is a snapshot of what the forecast needs.
type ForecastInput struct {
	Now   time.Time
	Start time.Time // the project's creation
	Ends  time.Time // its end date; zero: open-ended (forecast OpenHorizon ahead)
	Spent NUSD
	// Days is the ledger per UTC day (any order; days outside the trend's
	// window are passed over).
	Days []DaySpend
	// Machines are those running now that cost the project something or
	// run its tasks.
	Machines []RunningMachine
	// Min is, per cluster, how many machines it keeps running when idle.
	Min            map[string]int
	StoragePerHour float64 // $/h of what the project keeps
}

// DaySpend is what a project spent on one UTC day.
type DaySpend struct {
	Day  time.Time // midnight UTC
	NUSD NUSD
	// Running is the part spent by work that still runs now (its machines,
	// its jobs, storage): the running-work part of the forecast counts its
	// future, so the trend leaves it out.
	Running NUSD
}

// RunningMachine is a machine that runs now.
type RunningMachine struct {
	Cluster string
	// PerHour is what it costs the project per hour while it runs; 0 for a
	// machine priced per use, whose tasks pay.
	PerHour float64
	// Stops is when it goes away whatever it runs (a pilot's time limit,
	// its cluster's schedule); zero: no such end.
	Stops time.Time
	// IdleStop is how long it stays after its work ends; 0: it does not
	// stop for idleness.
	IdleStop  time.Duration
	IdleSince time.Time // when it last had no task
	Tasks     []RunningTask
}

// RunningTask is a task that runs now.
type RunningTask struct {
	// PerHour is the project's share of the machine's price ($/h) when the
	// machine is priced per use or charged to another project; 0 when the
	// machine's PerHour pays for it.
	PerHour float64
	Started time.Time
	Limit   time.Duration // its time limit; 0: none
}

// Forecast is what a project is expected to have spent by By, and how.
type Forecast struct {
	NUSD      NUSD      // Spent + Committed + Trend
	By        time.Time // the end date, or now + OpenHorizon when open-ended
	OpenEnded bool
	Spent     NUSD
	Committed NUSD // what the running work will cost until it stops
	Trend     NUSD // TrendPerDay × Days
	// TrendPerDay is the average daily spend of new work ($/day) over
	// TrendDays complete days of history, divided by TrendDivisor.
	TrendPerDay  float64
	TrendDays    int
	TrendDivisor int
	Days         float64 // from now to By (0 once the end date passed)
}

// Forecasting computes the forecast of in. It does no I/O and reads no
// clock.
func Forecasting(in ForecastInput) Forecast {
	now := in.Now
	f := Forecast{Spent: in.Spent, NUSD: in.Spent, By: in.Ends}
	if in.Ends.IsZero() {
		f.OpenEnded, f.By = true, now.Add(OpenHorizon)
	}
	if !f.By.After(now) {
		return f // the end date passed: what was spent is final
	}
	horizon := f.By
	f.Days = horizon.Sub(now).Hours() / 24

	// Running work, until it is expected to stop.
	left := func(end time.Time) time.Duration {
		if end.After(horizon) {
			end = horizon
		}
		return end.Sub(now)
	}
	type stop struct {
		i   int
		end time.Time
	}
	ends := make([]time.Time, len(in.Machines))
	for i, m := range in.Machines {
		var workEnd time.Time
		for _, t := range m.Tasks {
			e := taskEnd(t, now)
			if !m.Stops.IsZero() && e.After(m.Stops) {
				e = m.Stops
			}
			f.Committed += Accrue(t.PerHour, left(e))
			if e.After(workEnd) {
				workEnd = e
			}
		}
		end := horizon
		if m.IdleStop > 0 {
			switch {
			case len(m.Tasks) > 0: // workEnd: when its last task is expected to end
			case !m.IdleSince.IsZero():
				workEnd = m.IdleSince
			default:
				workEnd = now
			}
			if end = workEnd.Add(m.IdleStop); end.Before(now) {
				end = now // overdue: the autoscaler stops it at its next look
			}
		}
		ends[i] = end
	}
	// A cluster keeps its Min machines: those that would stop last.
	byCluster := map[string][]stop{}
	for i, m := range in.Machines {
		if m.IdleStop > 0 && in.Min[m.Cluster] > 0 {
			byCluster[m.Cluster] = append(byCluster[m.Cluster], stop{i, ends[i]})
		}
	}
	for c, ms := range byCluster {
		slices.SortStableFunc(ms, func(a, b stop) int { return b.end.Compare(a.end) })
		for _, s := range ms[:min(in.Min[c], len(ms))] {
			ends[s.i] = horizon
		}
	}
	for i, m := range in.Machines {
		end := ends[i]
		if !m.Stops.IsZero() && end.After(m.Stops) {
			end = m.Stops
		}
		f.Committed += Accrue(m.PerHour, left(end))
	}
	f.Committed += Accrue(in.StoragePerHour, horizon.Sub(now))

	// The trend of new work over complete days of history.
	today := midnight(now)
	first := today.AddDate(0, 0, -TrendWindow)
	if s := midnight(in.Start); s.After(first) {
		first = s
	}
	if first.Before(today) {
		f.TrendDays = int(math.Round(today.Sub(first).Hours() / 24))
		var sum NUSD
		for _, d := range in.Days {
			day := midnight(d.Day)
			if !day.Before(first) && day.Before(today) {
				sum += max(d.NUSD-d.Running, 0)
			}
		}
		f.TrendDivisor = max(f.TrendDays, TrendMinDays)
		f.TrendPerDay = sum.Dollars() / float64(f.TrendDivisor)
		f.Trend = USD(f.TrendPerDay * f.Days)
	}
	f.NUSD = f.Spent + f.Committed + f.Trend
	return f
}

// taskEnd is when a task is expected to end: at its time limit, else
// after running as long again as it has so far.
func taskEnd(t RunningTask, now time.Time) time.Time {
	start := t.Started
	if start.IsZero() || start.After(now) {
		start = now
	}
	if t.Limit > 0 {
		if e := start.Add(t.Limit); e.After(now) {
			return e
		}
		return now
	}
	return now.Add(now.Sub(start))
}

func midnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Method says in one line how f was computed:
// "$12.40 by 2027-05-10 = spent $3.10 + running work $0.30 + trend $0.06/day × 150.2 days (last 14 days)".
func (f Forecast) Method() string {
	by := f.By.UTC().Format("2006-01-02")
	if f.Days <= 0 {
		return fmt.Sprintf("%s: the end date %s has passed, so what was spent is final", f.NUSD, by)
	}
	s := fmt.Sprintf("%s by %s", f.NUSD, by)
	if f.OpenEnded {
		s += " (open-ended: the next 30 days)"
	}
	s += fmt.Sprintf(" = spent %s + running work %s", f.Spent, f.Committed)
	if f.TrendDays == 0 {
		return s + " (no trend yet: no complete day of history)"
	}
	s += fmt.Sprintf(" + trend %s/day × %s days (", perDay(f.TrendPerDay), strconv.FormatFloat(f.Days, 'f', 1, 64))
	switch {
	case f.TrendDivisor > f.TrendDays:
		s += fmt.Sprintf("%s of history, spread over %d days)", burst.Plural(f.TrendDays, "day"), f.TrendDivisor)
	default:
		s += fmt.Sprintf("last %d days)", f.TrendDays)
	}
	return s
}

// perDay writes a daily rate with two significant figures below a cent.
func perDay(dollars float64) string { return USD(dollars).String() }

// DaysLeft is how many days are left until ends (fractional): 0 once it
// passed, -1 when ends is zero (open-ended).
func DaysLeft(now, ends time.Time) float64 {
	if ends.IsZero() {
		return -1
	}
	if left := ends.Sub(now); left > 0 {
		return left.Hours() / 24
	}
	return 0
}

// DaysLeftText writes days left (as DaysLeft gives them) for people, the
// same in the CLI and on the dashboard: "open-ended", "ended", hours below
// two days ("36 h", "<1 h"), else the calendar days (UTC) from today to the
// end date, today included: "157 days".
func DaysLeftText(days float64) string {
	switch {
	case days < 0:
		return "open-ended"
	case days == 0:
		return "ended"
	case days < 1.0/24:
		return "<1 h"
	case days < 2:
		return strconv.Itoa(int(days*24)) + " h"
	}
	return strconv.Itoa(int(math.Ceil(days-1e-9))) + " days"
}
