package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/home"
)

func TestPruneSnapshotsKeepsTheNewest(t *testing.T) {
	h := home.Home(t.TempDir())
	os.MkdirAll(h.Backups(), 0o700)
	base := time.Date(2027, 5, 10, 12, 0, 0, 0, time.UTC)
	for i := range 10 {
		name := snapshotPrefix + base.Add(time.Duration(i)*time.Minute).Format(snapshotTime) + snapshotSuffix
		os.WriteFile(filepath.Join(h.Backups(), name), nil, 0o600)
	}
	stale := filepath.Join(h.Backups(), snapshotPrefix+"x"+snapshotSuffix+".tmp")
	fresh := filepath.Join(h.Backups(), snapshotPrefix+"y"+snapshotSuffix+".tmp")
	os.WriteFile(stale, nil, 0o600)
	os.WriteFile(fresh, nil, 0o600)
	long := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, long, long)
	os.WriteFile(filepath.Join(h.Backups(), "mine.db"), nil, 0o600) // not a snapshot: left alone
	download := filepath.Join(h.Backups(), ".download-abc.db")
	os.WriteFile(download, nil, 0o600)
	os.Chtimes(download, time.Now().Add(-2*time.Hour), time.Now().Add(-2*time.Hour))

	pruneSnapshots(h, 3)
	got := Snapshots(h)
	if len(got) != 3 || !strings.Contains(got[0], "T120700") || !strings.Contains(got[2], "T120900") {
		t.Fatalf("after pruning to 3: %v; want the minutes 07, 08, 09", got)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a half-made snapshot an hour old was kept")
	}
	if _, err := os.Stat(download); err == nil {
		t.Error("a backup download left an hour ago was kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a snapshot being written was removed")
	}
	if _, err := os.Stat(filepath.Join(h.Backups(), "mine.db")); err != nil {
		t.Error("a file that is no snapshot was removed")
	}
}

func TestRecoveryStepsNameTheNewestSnapshot(t *testing.T) {
	h := home.Home(t.TempDir())
	err := os.ErrInvalid
	if s := RecoverySteps(h, err); !strings.Contains(s, "no snapshot") || strings.Contains(s, "\n") {
		t.Errorf("without snapshots: %q", s)
	}
	os.MkdirAll(h.Backups(), 0o700)
	for _, n := range []string{"state-20270510T120000.000Z.db", "state-20270510T130000.000Z.db"} {
		os.WriteFile(filepath.Join(h.Backups(), n), nil, 0o600)
	}
	s := RecoverySteps(h, err)
	if !strings.Contains(s, "burst server restore "+filepath.Join(h.Backups(), "state-20270510T130000.000Z.db")) || strings.Contains(s, "\n") ||
		!strings.Contains(s, "newest first: state-20270510T130000.000Z.db, state-20270510T120000.000Z.db") {
		t.Errorf("with snapshots: %q; want one line naming the newest to restore and listing them all", s)
	}
}

func TestSnapshotConfig(t *testing.T) {
	for _, c := range []struct {
		every, keep string
		want        time.Duration
		wantKeep    int
		bad         bool
	}{
		{"", "", DefaultSnapshotEvery, DefaultSnapshotKeep, false},
		{"5m", "24", 5 * time.Minute, 24, false},
		{"0", "", 0, DefaultSnapshotKeep, false},
		{"10ms", "", 0, 0, true},
		{"-1m", "", 0, 0, true},
		{"soon", "", 0, 0, true},
		{"", "0", 0, 0, true},
	} {
		t.Setenv("BURST_SNAPSHOT_EVERY", c.every)
		t.Setenv("BURST_SNAPSHOT_KEEP", c.keep)
		every, keep, err := SnapshotConfig()
		if c.bad {
			if err == nil || !strings.Contains(err.Error(), "BURST_SNAPSHOT_") {
				t.Errorf("%q/%q: err %v; want one naming the variable", c.every, c.keep, err)
			}
			continue
		}
		if err != nil || every != c.want || keep != c.wantKeep {
			t.Errorf("%q/%q: %v, %d, %v; want %v, %d", c.every, c.keep, every, keep, err, c.want, c.wantKeep)
		}
	}
}
