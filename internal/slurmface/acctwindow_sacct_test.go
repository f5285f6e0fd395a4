package slurmface

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/slurmtest"
)

// TestParseAcctTimeAgainstSacct reads each time both ways: with
// ParseAcctTime and with the real sacct, which needs no daemon to parse
// -S. With -E set to uts1000000 (January 1970), sacct refuses every start
// after it and prints the start as it read it ("Start time (...) requested
// is after end time"), or "Invalid time specification" for one it cannot
// read; the two must agree. elevenses is left out: Slurm's later manuals
// list it, the sacct installed here does not read it.
func TestParseAcctTimeAgainstSacct(t *testing.T) {
	sacct, err := exec.LookPath("sacct")
	if err != nil {
		slurmtest.Skip(t, "sacct is not installed (Debian's slurm-client; .ci/run installs it)")
	}
	conf := filepath.Join(t.TempDir(), "slurm.conf")
	if err := os.WriteFile(conf, []byte("ClusterName=t\nSlurmctldHost=localhost\nNodeName=localhost CPUs=1\nPartitionName=p Nodes=localhost Default=YES\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	startRE := regexp.MustCompile(`Start time \((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\) requested is after end time`)
	inputs := []string{
		"today", "tomorrow", "midnight", "noon", "fika", "teatime", "noon tomorrow", "tomorrow-noon", "todaynoon",
		"tomorrowT10:00", "10:00", "9:05", "10:00pm", "10:00 PM", "12:00am", "12:30PM", "1:05:09PM", "13:00pm", "24:00", "10:60",
		"12/04", "1204", "120425", "12.04.25", "12/4", "1/2/3", "13/01", "02/30", "0230", "12/04-10:00", "11/30/25-07:00:01",
		"2026-12-04", "2026-12-04T10:00", "2026-12-04T10:00:05", "2026-02-30", "2026-13-01",
		"now", "now-1hour", "now-2hours", "now-2", "now+30", "now-1week", "now - 3 days", "now-1h", "now-1min", "now+", "now*2",
		"uts1000001", "uts1700000000", "uts12", "uts", "UTS1700000000",
		"bogus", "yesterday", "todayx", "T", "-", "TODAY", "Noon",
		// "now" only at the start, and then only alone or with its offset
		// (more may follow that); a year 00 is none given.
		" now", "-now", "today now", "noon now", "now noon", "2026-12-04 now", "now-1hour noon",
		"01/01/00", "1/1/00", "12/04/00", "120400", "010100", "010101", " today", " 10:00", "1204 00:00",
	}
	for _, in := range inputs {
		now := time.Now()
		cmd := exec.Command(sacct, "-S", in, "-E", "uts1000000")
		cmd.Env = append(os.Environ(), "SLURM_CONF="+conf)
		out, _ := cmd.CombinedOutput()
		got, perr := ParseAcctTime(in, now)
		switch m := startRE.FindSubmatch(out); {
		case strings.Contains(string(out), "Invalid time specification"):
			if perr == nil {
				t.Errorf("%q: sacct refuses it, ParseAcctTime reads %v", in, got)
			}
		case m != nil:
			want, err := time.ParseInLocation("2006-01-02T15:04:05", string(m[1]), time.Local)
			if err != nil {
				t.Fatal(err)
			}
			if got.IsZero() && perr == nil { // only separators: sacct's default, midnight
				y, mo, d := now.Date()
				got = time.Date(y, mo, d, 0, 0, 0, 0, time.Local)
			}
			// now-based times may fall a second apart between the two reads.
			if perr != nil || got.Sub(want) > 2*time.Second || want.Sub(got) > 2*time.Second {
				t.Errorf("%q: sacct reads %v, ParseAcctTime %v, %v", in, want, got, perr)
			}
		default:
			t.Fatalf("%q: sacct printed neither a start nor a refusal: %s", in, out)
		}
	}
}
