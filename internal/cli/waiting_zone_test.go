package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// One job's times read in one zone: burst show gives Submitted and Begin in
// the user's local time, and the Waits line the server wrote ("waiting until
// 2026-12-24T08:00:00Z (--begin)", in UTC) gave the same instant in another
// zone beside them. The reasons the server writes are shown in local time
// too, in the same layout; -o json keeps the server's text.
func TestShowWaitsInLocalTime(t *testing.T) {
	saved := time.Local
	time.Local = time.FixedZone("UTC+1", 3600)
	t.Cleanup(func() { time.Local = saved })

	begin := time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC)
	j := &burst.Job{ID: 12, Name: "nightly", Project: "default", State: burst.Queued,
		SubmittedAt: begin.Add(-time.Hour), Begin: begin,
		Waiting: "waiting until " + begin.Format(time.RFC3339) + " (--begin) and for job 11 to succeed",
		Spec:    &burst.JobSpec{Begin: begin}}
	var out bytes.Buffer
	if err := showJob(&out, &jobWithTasks{Job: j}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Waits:        waiting until 2026-12-24 09:00:00 (--begin) and for job 11 to succeed\n",
		"Begin:        2026-12-24 09:00:00 (--begin: it starts no earlier)\n",
		"Submitted:    2026-12-24 08:00:00\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("burst show lacks %q:\n%s", want, out.String())
		}
	}
	if got, want := jobReason(*j), "waiting until 2026-12-24 09:00:00 (--begin) and for job 11 to succeed"; got != want {
		t.Errorf("burst jobs -o wide's REASON: %q; want %q", got, want)
	}

	j.State, j.Waiting = burst.Cancelled, ""
	j.Reason = "cancelled: it could no longer end by its --deadline 2026-12-24T18:30:00.5+01:00 (time limit 1h)"
	if got, want := localTimes(j.Reason), "cancelled: it could no longer end by its --deadline 2026-12-24 18:30:00 (time limit 1h)"; got != want {
		t.Errorf("localTimes(%q) = %q; want %q", j.Reason, got, want)
	}
	if got, want := localTimes("its begin time (2026-12-24T08:00:00Z) came"), "its begin time (2026-12-24 09:00:00) came"; got != want {
		t.Errorf("localTimes: %q; want %q", got, want)
	}
	for _, keep := range []string{"needs 2 CPUs: local-1 has 0 of 2 CPUs free, held by job 11", "2026-12-24 within T10:00", "",
		"./fit.sh exists only in /data/run-2026-12-24T08:00:00Z/fit.sh on the submitter's host"} {
		if got := localTimes(keep); got != keep {
			t.Errorf("localTimes(%q) = %q; want it unchanged", keep, got)
		}
	}
}
