package slurmface

import (
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

func TestParseAcctTime(t *testing.T) {
	now := time.Date(2026, 12, 4, 13, 44, 32, 0, time.Local)
	day := time.Date(2026, 12, 4, 0, 0, 0, 0, time.Local)
	for in, want := range map[string]time.Time{
		"now":                 now,
		"now-2hours":          now.Add(-2 * time.Hour),
		"now+30":              now.Add(30 * time.Second),
		"now-1day":            now.Add(-24 * time.Hour),
		"now-3weeks":          now.Add(-21 * 24 * time.Hour),
		"midnight":            day,
		"today":               day,
		"noon":                day.Add(12 * time.Hour),
		"elevenses":           day.Add(11 * time.Hour),
		"12:15am":             day.Add(15 * time.Minute),
		"12:15PM":             day.Add(12*time.Hour + 15*time.Minute),
		"09:15pm":             day.Add(21*time.Hour + 15*time.Minute),
		"fika":                day.Add(15 * time.Hour),
		"teatime":             day.Add(16 * time.Hour),
		"10:30":               day.Add(10*time.Hour + 30*time.Minute),
		"1:05:09PM":           day.Add(13*time.Hour + 5*time.Minute + 9*time.Second),
		"2026-11-30":          time.Date(2026, 11, 30, 0, 0, 0, 0, time.Local),
		"2026-11-30T08:15":    time.Date(2026, 11, 30, 8, 15, 0, 0, time.Local),
		"2026-11-30T08:15:07": time.Date(2026, 11, 30, 8, 15, 7, 0, time.Local),
		"1130":                time.Date(2026, 11, 30, 0, 0, 0, 0, time.Local),
		"113025-07:00":        time.Date(2025, 11, 30, 7, 0, 0, 0, time.Local),
		"11.30":               time.Date(2026, 11, 30, 0, 0, 0, 0, time.Local),
		"11/30/25-07:00:01":   time.Date(2025, 11, 30, 7, 0, 1, 0, time.Local),
		"tomorrow":            day.AddDate(0, 0, 1),
		"noon tomorrow":       day.AddDate(0, 0, 1).Add(12 * time.Hour),
		"tomorrowT08:00":      day.AddDate(0, 0, 1).Add(8 * time.Hour),
		"10:00 PM":            day.Add(22 * time.Hour),
		"now - 3 days":        now.Add(-72 * time.Hour),
		"02/30":               time.Date(2026, 3, 2, 0, 0, 0, 0, time.Local),
		"uts1700000000":       time.Unix(1700000000, 0),
	} {
		got, err := ParseAcctTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseAcctTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	// A date without a year in a month after now's is last year's, as
	// Slurm's parse_time reads it for sacct (looking into the past).
	jan := time.Date(2027, 1, 5, 9, 0, 0, 0, time.Local)
	for in, want := range map[string]time.Time{
		"1215":        time.Date(2026, 12, 15, 0, 0, 0, 0, time.Local),
		"12/15-08:00": time.Date(2026, 12, 15, 8, 0, 0, 0, time.Local),
		"01.03":       time.Date(2027, 1, 3, 0, 0, 0, 0, time.Local),
		"121527":      time.Date(2027, 12, 15, 0, 0, 0, 0, time.Local),
	} {
		if got, err := ParseAcctTime(in, jan); err != nil || !got.Equal(want) {
			t.Errorf("in January, ParseAcctTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "25:00", "13/40", "now-2fortnights", "2026-13-01", "now*2", "now-1h", "uts12", "13:00pm", "1/2/3", "TODAY"} {
		if _, err := ParseAcctTime(bad, now); err == nil {
			t.Errorf("ParseAcctTime(%q) accepted", bad)
		}
	}
	// An offset past what a time.Duration holds (about 292 years) would
	// wrap to some other time, silently: it is refused naming the fix.
	for _, far := range []string{"now-20000weeks", "now-200000days", "now+9999999999999seconds"} {
		got, err := ParseAcctTime(far, now)
		if err == nil || !strings.Contains(err.Error(), "give a date") {
			t.Errorf("ParseAcctTime(%q) = %v, %v; want a refusal that says to give a date", far, got, err)
		}
	}
}

// TestAcctWindow checks sacct's DEFAULT TIME WINDOW (its manual): which of
// a job that ended yesterday, one that ended today, one running and one
// pending each combination of -j, -s, -S and -E lists.
func TestAcctWindow(t *testing.T) {
	now := time.Date(2026, 12, 4, 13, 0, 0, 0, time.Local)
	yesterday := Job{RawID: 1, State: burst.Succeeded, Submit: now.Add(-30 * time.Hour), Start: now.Add(-30 * time.Hour), End: now.Add(-29 * time.Hour)}
	today := Job{RawID: 2, State: burst.Failed, Submit: now.Add(-3 * time.Hour), Start: now.Add(-3 * time.Hour), End: now.Add(-2 * time.Hour)}
	running := Job{RawID: 3, State: burst.Running, Submit: now.Add(-40 * time.Hour), Start: now.Add(-40 * time.Hour)}
	pending := Job{RawID: 4, State: burst.Queued, Submit: now.Add(-time.Minute)}
	// Not yet eligible to run (held, waiting on a dependency, or on its
	// array's throttle): Slurm lists them only when -j names them (and no
	// -s is given).
	held := Job{RawID: 5, State: burst.Queued, Submit: now.Add(-time.Minute), Held: true}
	waits := Job{RawID: 6, State: burst.Queued, Submit: now.Add(-time.Minute), Dependency: "afterok:3(unfulfilled)"}
	throttled := Job{RawID: 8, ArrayJobID: 8, ArrayTaskID: 3, State: burst.Queued, Submit: now.Add(-time.Minute), AtArrayLimit: true}
	jobs := []Job{yesterday, today, running, pending, held, waits, throttled}
	for _, tc := range []struct {
		name, start, end string
		jobs, states     bool
		want             []int64
	}{
		{name: "plain: since midnight", want: []int64{2, 3, 4}},
		{name: "-j: since the epoch", jobs: true, want: []int64{1, 2, 3, 4, 5, 6, 8}},
		{name: "-j -S -E: the window, and the jobs not yet eligible", jobs: true, start: "now-150minutes", end: "now", want: []int64{2, 3, 4, 5, 6, 8}},
		{name: "-s: now only", states: true, want: []int64{3, 4}},
		{name: "-s -S: ended since", states: true, start: "now-2days", end: "now", want: []int64{1, 2, 3, 4}},
		{name: "-s -S alone: at that time", states: true, start: "now-150minutes", want: []int64{3}},
		{name: "-S yesterday", start: "now-2days", want: []int64{1, 2, 3, 4}},
		{name: "-E before today's", end: "now-31hours", start: "now-3days", want: []int64{3}},
		{name: "-j -s", jobs: true, states: true, want: []int64{1, 2, 3, 4}},
	} {
		w, err := DefaultAcctWindow(now, tc.start, tc.end, tc.jobs, tc.states)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []int64
		for _, j := range jobs {
			if w.Holds(j) {
				got = append(got, j.RawID)
			}
		}
		if len(got) != len(tc.want) || len(got) > 0 && !equalIDs(got, tc.want) {
			t.Errorf("%s: lists %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := DefaultAcctWindow(now, "now", "now-1hour", false, false); err == nil {
		t.Error("-S after -E accepted")
	}
	if _, err := DefaultAcctWindow(now, "soon", "", false, false); err == nil {
		t.Error("-S soon accepted")
	}
}

// TestNotYetEligible: a job held, or waiting on a dependency, has no
// eligible time yet, as Slurm 22.05 shows it (sacct's Eligible and
// scontrol's EligibleTime and AccrueTime Unknown); one released is
// eligible from its submission.
func TestNotYetEligible(t *testing.T) {
	now := time.Date(2026, 12, 4, 13, 0, 0, 0, time.Local)
	base := Job{RawID: 7, Name: "w", User: "u", State: burst.Queued, Submit: now.Add(-time.Minute), CPUs: 1}
	held, waits, throttled := base, base, base
	held.Held = true
	waits.Dependency = "afterok:3(unfulfilled)"
	throttled.ArrayJobID, throttled.ArrayTaskID, throttled.AtArrayLimit = 7, 3, true
	for _, j := range []Job{held, waits, throttled} {
		if !j.Eligible().IsZero() {
			t.Errorf("%s: eligible at %v, want Unknown", j.pendingReason(), j.Eligible())
		}
		var b strings.Builder
		if err := ShowJob(&b, j, true, now); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{" EligibleTime=Unknown ", " AccrueTime=Unknown "} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s: scontrol lacks %q: %s", j.pendingReason(), want, b.String())
			}
		}
	}
	if !base.Eligible().Equal(base.Submit) {
		t.Errorf("a job neither held nor waiting: eligible at %v, want its submission %v", base.Eligible(), base.Submit)
	}
}

func equalIDs(a, b []int64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestNodeOrReason checks %R as squeue's manual has it: the reason for a
// job pending, failed (or never launched), out of memory or timed out; the nodes for the
// others, none for one cancelled before it ran.
func TestNodeOrReason(t *testing.T) {
	oom := ended(burst.Failed, nil)
	oom.OOM = true
	never := Job{State: burst.Cancelled, Submit: t0, End: t0}
	for _, tc := range []struct {
		j          Job
		wantR, wan string
	}{
		{ended(burst.Succeeded, ip(0)), "local-1", "None"},
		{ended(burst.Cancelled, nil), "local-1", "None"},
		{ended(burst.Failed, ip(3)), "(NonZeroExitCode)", "NonZeroExitCode"},
		{ended(burst.Timeout, nil), "(TimeLimit)", "TimeLimit"},
		{oom, "(OutOfMemory)", "OutOfMemory"},
		// It never ran (its output file's directory is missing): as
		// Slurm 22.05 says it (checked with the suite's Slurm).
		{ended(burst.Failed, nil), "(JobLaunchFailure)", "JobLaunchFailure"},
		{never, "", "None"},
		{Job{State: burst.Queued, Dependency: "afterok:3(unfulfilled)"}, "(Dependency)", "Dependency"},
	} {
		if got := nodeOrReason(tc.j); got != tc.wantR {
			t.Errorf("%s job: %%R %q, want %q", tc.j.StateName(), got, tc.wantR)
		}
		if got := tc.j.pendingReason(); got != tc.wan {
			t.Errorf("%s job: %%r %q, want %q", tc.j.StateName(), got, tc.wan)
		}
	}
}

// TestHoldsWholeSeconds: a job that ended within the second a window ends
// (as "-E now" reads it, in whole seconds) ended in it, as slurmdbd,
// which records whole seconds, has it.
func TestHoldsWholeSeconds(t *testing.T) {
	now := time.Date(2026, 12, 4, 13, 44, 32, 900_000_000, time.Local)
	w, err := DefaultAcctWindow(now, "midnight", "now", false, true)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 12, 4, 13, 44, 32, 500_000_000, time.Local)
	j := Job{State: burst.Succeeded, Submit: end.Add(-time.Second), Start: end.Add(-time.Second), End: end}
	if !w.Holds(j) {
		t.Fatalf("window %v to %v does not hold a job that ended at %v", w.From, w.To, end)
	}
}
