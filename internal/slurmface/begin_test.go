package slurmface

import (
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// TestBeginViews: a job pending for its begin time (sbatch --begin) is
// PD with Reason BeginTime, its %S the begin time, and its EligibleTime
// (scontrol) and Eligible (sacct) the begin time; one pending for its
// dependencies says Dependency first; one never deferred is eligible at
// its submission.
func TestBeginViews(t *testing.T) {
	now := time.Date(2026, 12, 4, 13, 0, 0, 0, time.Local)
	begin := now.Add(time.Hour)
	j := Job{RawID: 7, Name: "later", State: burst.Queued, Submit: now.Add(-time.Minute), Begin: begin, Deferred: true}
	var b strings.Builder
	f, bad := ParseSqueueFormat("%i %t %r %S")
	if bad != nil {
		t.Fatal(bad)
	}
	if err := Squeue(&b, []Job{j}, f, true, now); err != nil {
		t.Fatal(err)
	}
	if want := "7 PD BeginTime " + Date(begin); strings.TrimSpace(b.String()) != want {
		t.Fatalf("squeue: %q, want %q", b.String(), want)
	}
	// Its end: NONE with no time limit, the begin time and the limit with
	// one, as 22.05's squeue and scontrol show them (checked with the
	// suite's Slurm); its StartTime is the begin time, its AccrueTime
	// Unknown.
	if got := endTime(j); got != "NONE" {
		t.Errorf("%%e of a deferred job with no time limit: %q, want NONE", got)
	}
	limited := j
	limited.TimeLimit = 10 * time.Minute
	if got := endTime(limited); got != Date(begin.Add(10*time.Minute)) {
		t.Errorf("%%e of a deferred job with a 10-minute limit: %q, want %s", got, Date(begin.Add(10*time.Minute)))
	}
	b.Reset()
	if err := ShowJob(&b, limited, true, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"StartTime=" + Date(begin) + " ", "EndTime=" + Date(begin.Add(10*time.Minute)) + " ", "AccrueTime=Unknown "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("scontrol show job of a deferred job: %q lacks %q", b.String(), want)
		}
	}
	b.Reset()
	if err := ShowJob(&b, j, true, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Reason=BeginTime", "EligibleTime=" + Date(begin), "SubmitTime=" + Date(j.Submit), "EndTime=Unknown "} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("scontrol show job: %q lacks %q", b.String(), want)
		}
	}
	b.Reset()
	af, err := ParseAcctFormat("JobID,Eligible,Reason")
	if err != nil {
		t.Fatal(err)
	}
	if err := Sacct(&b, []Job{j}, af, SacctOptions{Parsable: ParsableOf(true, true), NoHeader: true}, now); err != nil {
		t.Fatal(err)
	}
	if want := "7|" + Date(begin) + "|BeginTime"; strings.TrimSpace(b.String()) != want {
		t.Fatalf("sacct: %q, want %q", b.String(), want)
	}

	j.Dependency = "afterok:3(unfulfilled)"
	if r := j.pendingReason(); r != "Dependency" {
		t.Fatalf("a job pending for its dependencies and its begin time has reason %q, want Dependency", r)
	}
	plain := Job{RawID: 8, State: burst.Queued, Submit: now}
	if plain.Eligible() != now || startTime(plain) != "N/A" || plain.pendingReason() != "None" {
		t.Fatalf("a job never deferred: eligible %v, start %s, reason %s", plain.Eligible(), startTime(plain), plain.pendingReason())
	}
}
