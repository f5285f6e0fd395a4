package agent

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// An agent killed with -9 leaves its spool files and its tasks' private
// directories behind; the next agent's start removes them (its tasks were
// killed by killLeftovers, and the server runs them again), keeps the
// directories marked kept, and ages those out: only the newest keptMax
// younger than keptAge stay. Before, nothing swept them.
func TestSweepWorkAtStart(t *testing.T) {
	home := t.TempDir()
	now := time.Now()
	mk := func(rel string, dir bool, age time.Duration) string {
		p := filepath.Join(home, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		var err error
		if dir {
			err = os.MkdirAll(filepath.Join(p, "sub"), 0o700)
		} else {
			err = os.WriteFile(p, []byte("x"), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	spool := mk("spool/7.0.1.out", false, time.Minute)
	gone := mk("work/7/0", true, time.Minute) // a task of the dead agent: no mark
	young := mk("work/8/0", true, 3*time.Hour)
	mk("work/8/0.kept", false, 3*time.Hour)
	old := mk("work/9/0", true, 8*24*time.Hour)
	mk("work/9/0.kept", false, 8*24*time.Hour)
	orphanMark := mk("work/9/1.kept", false, time.Hour) // its directory is gone
	// keptMax+2 young kept directories of job 10, minutes old: with 8/0
	// (3 hours old) that is keptMax+3 young ones, and the 3 oldest (8/0,
	// 10/0, 10/1) are beyond the bound.
	for i := 0; i < keptMax+2; i++ {
		mk(fmt.Sprintf("work/10/%d", i), true, time.Duration(keptMax+2-i)*time.Minute)
		mk(fmt.Sprintf("work/10/%d.kept", i), false, time.Duration(keptMax+2-i)*time.Minute)
	}
	sweepWork(home, now, slog.New(slog.DiscardHandler))

	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	for _, p := range []string{spool, gone, old, old + keptSuffix, orphanMark, young, young + keptSuffix,
		filepath.Join(home, "work/7"), filepath.Join(home, "work/10/0"), filepath.Join(home, "work/10/1")} {
		if exists(p) {
			t.Errorf("%s is still there after the start's sweep", p)
		}
	}
	// The newest keptMax (job 10's tasks 2..101) stay, marks and all.
	for i := 2; i < keptMax+2; i++ {
		p := filepath.Join(home, fmt.Sprintf("work/10/%d", i))
		if !exists(filepath.Join(p, "sub")) || !exists(p+keptSuffix) {
			t.Errorf("%s (kept, among the newest %d, younger than %s) was removed", p, keptMax, keptAge)
		}
	}
	if !exists(filepath.Join(home, "spool")) {
		t.Errorf("the spool directory itself was removed")
	}

	// A task's end (no start logger) only ages kept directories out: a
	// private directory without a mark may be a running task's.
	running := mk("work/11/0", true, time.Minute)
	mk("work/12/0", true, 9*24*time.Hour)
	mk("work/12/0.kept", false, 9*24*time.Hour)
	sweepWork(home, now, nil)
	if !exists(running) {
		t.Errorf("a task's end removed %s, an unmarked (running) task's directory", running)
	}
	if exists(filepath.Join(home, "work/12/0")) {
		t.Errorf("a task's end kept work/12/0, kept 9 days ago")
	}
}
