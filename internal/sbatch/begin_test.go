package sbatch

import (
	"strings"
	"testing"
	"time"

	burst "github.com/burst-sh/burst"
)

// TestBegin: #SBATCH --begin and -b defer the job (JobSpec.Begin), read
// as sbatch reads them, looking ahead from the time of parsing; no
// warning says they are ignored.
func TestBegin(t *testing.T) {
	fixed := time.Date(2030, 1, 20, 12, 34, 0, 0, time.Local)
	s, err := Parse(path, script("#SBATCH --begin=2030-01-20T12:34:00"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Begin.Equal(fixed) || len(s.Warnings) != 0 {
		t.Fatalf("--begin=2030-01-20T12:34:00: Begin %v, warnings %q; want %v and none", s.Begin, s.Warnings, fixed)
	}
	var spec burst.JobSpec
	if err := s.Apply(&spec); err != nil || !spec.Begin.Equal(fixed) {
		t.Fatalf("Apply: spec.Begin %v, %v; want %v", spec.Begin, err, fixed)
	}

	before := time.Now()
	s, err = Parse(path, script("#SBATCH -b now+60"))
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if s.Begin.Before(before.Add(time.Minute).Truncate(time.Second)) || s.Begin.After(after.Add(time.Minute)) {
		t.Fatalf("-b now+60 parsed between %v and %v: Begin %v, want a minute later", before, after, s.Begin)
	}
	if err := s.SetOption("begin", "tomorrow"); err != nil || !s.Begin.After(after) {
		t.Fatalf("SetOption(begin, tomorrow): Begin %v, %v; want a time after now", s.Begin, err)
	}

	for _, bad := range []string{"whenever", "T", "25:00"} {
		_, err := Parse(path, script("#SBATCH --begin="+bad))
		if err == nil || !strings.HasPrefix(err.Error(), "job.sbatch:2: #SBATCH --begin") || !strings.Contains(err.Error(), "give e.g. now+1hour") {
			t.Errorf("--begin=%s: %v; want an error naming the line and a format", bad, err)
		}
	}
}
