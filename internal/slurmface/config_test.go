package slurmface

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestShowConfigAsToilReadsIt parses ShowConfig's text as Toil 5.9's
// SlurmBatchSystem.getWaitDuration does (toil/batchSystems/slurm.py): the
// words of each line, the key first, value and unit after "=".
func TestShowConfigAsToilReadsIt(t *testing.T) {
	var b strings.Builder
	if err := ShowConfig(&b, time.Date(2026, 12, 4, 14, 0, 0, 0, time.Local), MinJobAge); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "Configuration data as of 2026-12-04T14:00:00\n") {
		t.Errorf("header:\n%s", b.String())
	}
	var waits []int
	for _, line := range strings.Split(b.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || (f[0] != "SchedulerTimeSlice" && f[0] != "AcctGatherNodeFreq") {
			continue
		}
		if len(f) != 4 || f[1] != "=" || f[3] != "sec" {
			t.Fatalf("Toil cannot read %q", line)
		}
		v, err := strconv.Atoi(f[2])
		if err != nil {
			t.Fatalf("Toil cannot read %q: %v", line, err)
		}
		waits = append(waits, (v*12+9)/10)
	}
	if len(waits) != 2 {
		t.Fatalf("Toil needs SchedulerTimeSlice and AcctGatherNodeFreq lines:\n%s", b.String())
	}
	if m := max(waits[0], waits[1]); m != 2 {
		t.Errorf("Toil would cache job states for %d s, want 2", m)
	}
}

// A script that splits its work into arrays of at most MaxArraySize - 1
// indices reads it as `scontrol show config | grep MaxArraySize | awk
// '{print $3}'` (Slurm 22.05 prints "MaxArraySize            = 1001" by
// default); burst takes indices up to 4000000.
func TestShowConfigMaxArraySize(t *testing.T) {
	var b strings.Builder
	if err := ShowConfig(&b, time.Now(), MinJobAge); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "MaxArraySize") {
			got = append(got, line)
		}
	}
	if want := "MaxArraySize            = 4000001"; len(got) != 1 || got[0] != want {
		t.Errorf("MaxArraySize lines %q, want one: %q", got, want)
	}
}
