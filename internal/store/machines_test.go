package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

func listed(t *testing.T, s *Store) map[string]*MachineRow {
	t.Helper()
	ms, err := s.ListMachines(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*MachineRow{}
	for _, m := range ms {
		out[m.ID] = m
	}
	return out
}

// Who stopped a machine by hand survives a reopen (the server's restart),
// and a save that clears it (a start) clears it on disk too; so does
// whether it shares the server's files (Remote: machine list's FILES, and
// its agent's patience before it registers again; it read shared after a
// restart).
func TestMachineStoppedByRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	stopped := time.Now().UTC().Truncate(time.Microsecond)
	rows := []*MachineRow{
		{Machine: burst.Machine{ID: "work-1", Cluster: "work", State: burst.MachineStopped, Provider: "local",
			Project: "default", StoppedAt: &stopped, StoppedBy: "alice", Remote: true}},
		{Machine: burst.Machine{ID: "work-2", Cluster: "work", State: burst.MachineStopped, Provider: "local",
			Project: "default", StoppedAt: &stopped}},
	}
	if err := s.Write(ctx, func(tx *Tx) error {
		for _, m := range rows {
			if err := SaveMachine(tx, m); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2 := open(t, path)
	got := listed(t, s2)
	if m := got["work-1"]; m == nil || m.StoppedBy != "alice" || m.State != burst.MachineStopped || !m.StoppedAt.Equal(stopped) || !m.Remote {
		t.Fatalf("work-1 after reopen: %+v, want stopped by alice, remote", m)
	}
	if m := got["work-2"]; m == nil || m.StoppedBy != "" || m.Remote {
		t.Fatalf("work-2 (stopped by burst) after reopen: %+v, want no stopped_by, not remote", m)
	}

	// Started again: the save clears it.
	m := got["work-1"]
	m.State, m.StoppedBy, m.StoppedAt = burst.MachinePending, "", nil
	if err := s2.Write(ctx, func(tx *Tx) error { return SaveMachine(tx, m) }); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if m := listed(t, open(t, path))["work-1"]; m == nil || m.StoppedBy != "" || m.State != burst.MachinePending {
		t.Fatalf("work-1 started again, after reopen: %+v, want no stopped_by", m)
	}
}

// A database made before stopped_by existed migrates: its machines were
// stopped by no one in particular, so the autoscaler may start them.
func TestMachineStoppedByMigratesOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const before = 8 // the last version without machines.stopped_by
	for v := 1; v <= before; v++ {
		if _, err := db.Exec(migrations[v-1]); err != nil {
			t.Fatalf("migration %d: %v", v, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO machines (id, cluster, host, state, cpus, mem_bytes) VALUES ('old-1', 'old', 'h', 'stopped', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := open(t, path)
	if v, err := s.SchemaVersion(); err != nil || v != len(migrations) || v <= before {
		t.Fatalf("schema version %d (%v), want %d", v, err, len(migrations))
	}
	if m := listed(t, s)["old-1"]; m == nil || m.StoppedBy != "" || m.State != burst.MachineStopped {
		t.Fatalf("old-1 after the migration: %+v", m)
	}
}
