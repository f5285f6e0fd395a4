package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

func TestEventsAreAppendOnly(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	e := burst.Event{At: time.Now(), Actor: "ann", Kind: "project.create", Project: "mars", Message: "created", Result: "ok"}
	if err := s.Write(ctx, func(tx *Tx) error { return AppendEvent(tx, &e) }); err != nil {
		t.Fatal(err)
	}
	if e.ID == 0 {
		t.Fatal("AppendEvent set no id")
	}
	for _, q := range []string{`UPDATE events SET message = 'edited'`, `DELETE FROM events`} {
		err := s.Write(ctx, func(tx *Tx) error { _, err := tx.Exec(q); return err })
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: want the append-only refusal, got %v", q, err)
		}
	}
	evs, err := s.ListEvents(ctx, EventFilter{Project: "mars"})
	if err != nil || len(evs) != 1 || evs[0].Message != "created" || evs[0].Actor != "ann" {
		t.Fatalf("events after refused edits: %+v, %v", evs, err)
	}
	if evs, _ := s.ListEvents(ctx, EventFilter{After: e.ID}); len(evs) != 0 {
		t.Errorf("events after the last id: %+v", evs)
	}
}

func TestCostLedgerGroupsAddUp(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	charges := []struct {
		k CostKey
		n int64
	}{
		{CostKey{"2026-11-24", "mars", "work-1", "ann", 1, "task"}, 700},
		{CostKey{"2026-11-24", "mars", "work-1", "", 0, "idle"}, 300},
		{CostKey{"2026-11-25", "mars", "work-2", "bob", 2, "task"}, 1000},
		{CostKey{"2026-11-25", "mars", "work-2", "bob", 2, "task"}, 5}, // adds to the row above
		{CostKey{"2026-11-25", "mars", "storage:ssd", "", 0, "storage"}, 11},
		{CostKey{"2026-11-25", "venus", "work-9", "cy", 3, "task"}, 99},
	}
	if err := s.Write(ctx, func(tx *Tx) error {
		for _, c := range charges {
			if err := AddCost(tx, c.k, c.n); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int64{
		"job":     {"1": 700, "2": 1005, "idle": 300, "storage": 11},
		"machine": {"work-1": 1000, "work-2": 1005, "storage": 11},
		"user":    {"ann": 700, "bob": 1005, "idle": 300, "storage": 11},
		"day":     {"2026-11-24": 1000, "2026-11-25": 1016},
		"kind":    {"task": 1705, "idle": 300, "storage:ssd": 11},
		"tier":    {"task": 1705, "idle": 300, "storage:ssd": 11},
	}
	for by, exp := range want {
		got, err := s.CostBy(ctx, by, "mars")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int64{}
		for _, g := range got {
			m[g.Key] = g.NUSD
		}
		if len(m) != len(exp) {
			t.Errorf("by %s: %v, want %v", by, m, exp)
		}
		for k, v := range exp {
			if m[k] != v {
				t.Errorf("by %s: %s = %d, want %d", by, k, m[k], v)
			}
		}
	}
	if _, err := s.CostBy(ctx, "colour", ""); err == nil || !strings.Contains(err.Error(), "use job, machine") {
		t.Errorf("unknown grouping: %v", err)
	}
	jc, flushed, err := s.JobCosts(ctx, []int64{1, 2, 3, 4})
	if err != nil || jc[1] != 700 || jc[2] != 1005 || jc[3] != 99 || jc[4] != 0 || flushed != 0 {
		t.Errorf("JobCosts = %v, flushed %d, %v; want no flush recorded yet", jc, flushed, err)
	}
	// A flush's number is read with the charges it wrote, never apart.
	if err := s.Write(ctx, func(tx *Tx) error {
		if err := AddCost(tx, charges[0].k, 5); err != nil {
			return err
		}
		return SetFlushed(tx, 7)
	}); err != nil {
		t.Fatal(err)
	}
	if jc, flushed, err := s.JobCosts(ctx, []int64{1}); err != nil || jc[1] != 705 || flushed != 7 {
		t.Errorf("after flush 7: JobCosts = %v, flushed %d, %v", jc, flushed, err)
	}
	if g, flushed, err := s.CostByFlushed(ctx, "job", "mars"); err != nil || len(g) == 0 || g[0].Key != "1" || g[0].NUSD != 705 || flushed != 7 {
		t.Errorf("after flush 7: CostByFlushed = %+v, flushed %d, %v", g, flushed, err)
	}
	if n, err := s.Flushed(ctx); err != nil || n != 7 {
		t.Errorf("Flushed = %d, %v; want 7", n, err)
	}
	if err := s.Write(ctx, func(tx *Tx) error {
		return AddCost(tx, charges[0].k, -5) // as it was, for the checks below
	}); err != nil {
		t.Fatal(err)
	}
	pc, _ := s.ProjectCosts(ctx)
	if pc["mars"]["task"] != 1705 || pc["mars"]["storage:ssd"] != 11 || pc["venus"]["task"] != 99 {
		t.Errorf("ProjectCosts = %v", pc)
	}
	// Inside a write, the ledger as the write leaves it: a charge queued
	// in the same transaction is read with the rest.
	var inTx []CostGroup
	if err := s.Write(ctx, func(tx *Tx) error {
		if err := AddCost(tx, CostKey{"2026-11-25", "mars", "storage:cold_hdd", "", 0, "storage"}, 4); err != nil {
			return err
		}
		var err error
		inTx, err = tx.CostBy("kind", "mars")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, g := range inTx {
		got[g.Key] = g.NUSD
	}
	if len(got) != 4 || got["storage:cold_hdd"] != 4 || got["storage:ssd"] != 11 || got["task"] != 1705 {
		t.Errorf("Tx.CostBy(kind, mars) = %v", got)
	}
}

func TestProjectAndClusterRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	ends := time.Date(2027, 5, 10, 0, 0, 0, 0, time.UTC)
	p := ProjectRow{Project: burst.Project{Name: "mars", Description: "Life on Mars", Tags: []string{"nasa", "decades"},
		Ends: &ends, Warn: []float64{0.5, 0.8}, OnExhausted: "cancel", CreatedAt: time.Now().UTC()}, BudgetNUSD: 100e9}
	c := burst.Cluster{Name: "work", Provider: "local", Type: "c5.large", Project: "mars", Max: 4, IdleStopS: 300,
		Off: []string{"Fri 18:00"}, On: []string{"Mon 08:00"}, CreatedAt: time.Now().UTC()}
	if err := s.Write(ctx, func(tx *Tx) error {
		if err := SaveProject(tx, &p); err != nil {
			return err
		}
		return SaveCluster(tx, &c)
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetProject(ctx, "mars")
	if err != nil {
		t.Fatal(err)
	}
	if got.BudgetNUSD != 100e9 || got.BudgetUSD != 100 || got.Description != p.Description || len(got.Tags) != 2 ||
		!got.Ends.Equal(ends) || len(got.Warn) != 2 || got.Warn[1] != 0.8 || got.OnExhausted != "cancel" {
		t.Errorf("project round trip: %+v", got)
	}
	if _, err := s.GetProject(ctx, "nosuch"); err != ErrNotFound {
		t.Errorf("unknown project: %v", err)
	}
	cs, err := s.ListClusters(ctx)
	if err != nil || len(cs) != 1 || cs[0].Off[0] != "Fri 18:00" || cs[0].IdleStopS != 300 || cs[0].Project != "mars" {
		t.Errorf("clusters: %+v, %v", cs, err)
	}
}

// TestCostsSince reads the recent ledger the forecast's trend needs: per
// day, project, machine and job, from a day on.
func TestCostsSince(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	if err := s.Write(ctx, func(tx *Tx) error {
		for _, c := range []struct {
			k CostKey
			n int64
		}{
			{CostKey{"2026-11-10", "mars", "work-1", "ann", 1, "task"}, 7},
			{CostKey{"2026-11-24", "mars", "work-1", "ann", 2, "task"}, 700},
			{CostKey{"2026-11-24", "mars", "work-1", "bob", 2, "task"}, 5}, // same day, machine and job
			{CostKey{"2026-11-25", "venus", "storage:ssd", "", 0, "storage"}, 11},
		} {
			if err := AddCost(tx, c.k, c.n); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.CostsSince(ctx, "2026-11-20")
	if err != nil {
		t.Fatal(err)
	}
	want := map[DayCost]bool{
		{Day: "2026-11-24", Project: "mars", Machine: "work-1", Job: 2, NUSD: 705}:      true,
		{Day: "2026-11-25", Project: "venus", Machine: "storage:ssd", Job: 0, NUSD: 11}: true,
	}
	if len(got) != len(want) {
		t.Fatalf("CostsSince = %+v, want %v", got, want)
	}
	for _, c := range got {
		if !want[c] {
			t.Errorf("CostsSince: unexpected %+v", c)
		}
	}
}

// By job, the ledger lists jobs by id as numbers (10 after 9) with their
// names, then idle and storage; with more jobs than SQLite takes variables
// in one statement (32,766), as a long-lived server has.
func TestCostByJobOrderAndNames(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	const n = 33000
	if err := s.Write(ctx, func(tx *Tx) error {
		for i := 1; i <= 12; i++ { // named jobs 1..12; the others' rows are the ledger's alone
			spec := &burst.JobSpec{Name: "job" + strconv.Itoa(i), Argv: []string{"true"}}
			spec.Defaults()
			if _, err := InsertJob(tx, spec, "", time.Now()); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < ?)
			INSERT INTO costs (day, project, machine, user, job_id, kind, nusd)
			SELECT '2026-11-25', 'default', 'local-1', 'ann', x, 'task', 1 FROM seq`, n); err != nil {
			return err
		}
		if err := AddCost(tx, CostKey{"2026-11-25", "default", "local-1", "", 0, "idle"}, 5); err != nil {
			return err
		}
		return AddCost(tx, CostKey{"2026-11-25", "default", "storage:ssd", "", 0, "storage"}, 7)
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.CostBy(ctx, "job", "")
	if err != nil {
		t.Fatalf("CostBy job over %d jobs: %v", n, err)
	}
	if len(got) != n+2 {
		t.Fatalf("%d lines, want %d", len(got), n+2)
	}
	for i, g := range got[:n] {
		want, name := strconv.Itoa(i+1), ""
		if i < 12 {
			name = "job" + want
		}
		if g.Key != want || g.Name != name {
			t.Fatalf("line %d: %+v, want job %s named %q", i, g, want, name)
		}
	}
	if got[n].Key != "idle" || got[n+1].Key != "storage" || got[n].Name != "" {
		t.Errorf("after the jobs: %+v, %+v", got[n], got[n+1])
	}
}

// TestStorageHeldAtTheLargestNumber: bytes added past the largest integer
// are held at it (SQLite's sum would become a real, which Storage could not
// read: no server would start), and a real an earlier server left there is
// read as the largest integer.
func TestStorageHeldAtTheLargestNumber(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	const most = int64(^uint64(0) >> 1)
	for _, n := range []int64{23, most, most} {
		if err := s.Write(ctx, func(tx *Tx) error { return AddStorage(tx, "venus", "ssd", n) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(`INSERT INTO storage (project, tier, bytes) VALUES ('mars', 'ssd', 9.3e18)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Storage(ctx)
	if err != nil {
		t.Fatalf("Storage after sums past the largest integer: %v", err)
	}
	if got["venus"]["ssd"] != most || got["mars"]["ssd"] != most {
		t.Fatalf("storage %v, want venus and mars held at %d", got, most)
	}
}

// CostByPending answers what CostBy answers once its pending charges are
// written, grouped, named and ordered as the ledger's own, and is told the
// number of the last flush its read sees.
func TestCostByPendingIsTheLedgerWithThem(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	if err := s.Write(ctx, func(tx *Tx) error {
		if err := AddCost(tx, CostKey{"2026-11-24", "mars", "work-1", "ann", 1, "task"}, 700); err != nil {
			return err
		}
		return SetFlushed(tx, 3)
	}); err != nil {
		t.Fatal(err)
	}
	pending := map[CostKey]int64{
		{"2026-11-24", "mars", "work-1", "ann", 1, "task"}:              5, // adds to a ledger row
		{"2026-11-25", "mars", "work-2", "bob", 10, "task"}:             9, // a job after job 1 (10 after 9)
		{"2026-11-25", "mars", "work-2", "", 0, "idle"}:                 4,
		{"2026-11-25", "mars", "storage:ssd", "", 0, "storage"}:         2,
		{"2026-11-25", "venus", "work-9", "it's \"quoted\"", 3, "task"}: 1,
	}
	for _, by := range []string{"job", "machine", "user", "day", "project", "kind", "tier"} {
		for _, project := range []string{"", "mars"} {
			got, err := s.CostByPending(ctx, by, project, func(flushed int64) map[CostKey]int64 {
				if flushed != 3 {
					t.Errorf("told flush %d, want 3", flushed)
				}
				return pending
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []CostGroup
			if err := s.Write(ctx, func(tx *Tx) error {
				for k, n := range pending {
					if err := AddCost(tx, k, n); err != nil {
						return err
					}
				}
				if want, err = tx.CostBy(by, project); err != nil {
					return err
				}
				return errors.New("undo") // rolls the charges back
			}); err == nil || err.Error() != "undo" {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("by %s of %q: %+v, want the ledger's %+v", by, project, got, want)
			}
		}
	}
}
