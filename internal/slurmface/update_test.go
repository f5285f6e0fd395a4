package slurmface

import (
	"strings"
	"testing"
	"time"
)

// TestParseUpdate: scontrol update's words as Slurm 22.05 reads them (keys
// in any case and order, several jobs, TimeLimit with + and -), and its
// refusals in its words, or burst's reason for a key it does not change.
func TestParseUpdate(t *testing.T) {
	u, err := ParseUpdate([]string{"timelimit=+30", "JobId=12,13", "name=x", "Dependency=", "ArrayTaskThrottle=2"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(u.Jobs, ",") != "12,13" || *u.Name != "x" || *u.Dependency != "" || *u.Throttle != 2 ||
		*u.TimeLimit != (TimeChange{Sign: 1, Limit: 30 * time.Minute}) {
		t.Fatalf("parsed %+v", u)
	}
	// Requeue=N as 22.05 reads it (checked): 0 is no, any other count yes.
	for v, want := range map[string]bool{"0": false, "1": true, "2": true} {
		if u, err := ParseUpdate([]string{"JobId=1", "requeue=" + v}); err != nil || u.Requeue == nil || *u.Requeue != want {
			t.Errorf("Requeue=%s: %+v, %v; want %v", v, u, err, want)
		}
	}
	for _, tc := range []struct {
		cur, want time.Duration
		arg       string
	}{
		{10 * time.Minute, 15 * time.Minute, "+5"},
		{25 * time.Minute, 22 * time.Minute, "-3"},
		{2 * time.Minute, time.Minute, "-5"},
		{0, 0, "+5"},
		{10 * time.Minute, 24 * time.Hour, "1-00:00:00"},
		{10 * time.Minute, 0, "UNLIMITED"},
	} {
		c, err := parseTimeChange(tc.arg)
		if err != nil || c.Apply(tc.cur) != tc.want {
			t.Errorf("TimeLimit=%s on %v: %v, %v; want %v", tc.arg, tc.cur, c.Apply(tc.cur), err, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"JobId=1", "TimeLimit=bogus"}, "scontrol: error: Invalid TimeLimit value"},
		{[]string{"JobId=1", "Bogus=1"}, "Update of this parameter is not supported: Bogus=1\nRequest aborted"},
		{[]string{"JobId=1"}, "No changes specified"},
		{[]string{"JobId=1", "nice=5"}, "scontrol: error: burst does not update nice: burst has no priorities"},
		{[]string{"TimeLimit=5"}, "scontrol: error: no job given"},
		{[]string{"JobId=1", "Requeue=yes"}, "scontrol: error: Invalid Requeue value: yes"}, // 22.05's words, exit 1
		{[]string{"JobId=1", "Requeue=-1"}, "scontrol: error: Invalid Requeue value: -1"},
	} {
		if _, err := ParseUpdate(tc.args); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
}
