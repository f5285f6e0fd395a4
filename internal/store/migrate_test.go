package store

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// Migration 24 gives jobs a cluster column and fills it, for the jobs a
// store of version 23 already holds, from each one's spec (a spec that is
// not JSON leaves it empty rather than failing the upgrade).
func TestMigrationFillsJobCluster(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const before = 23
	for v := 1; v <= before; v++ {
		if _, err := db.Exec(migrations[v-1]); err != nil {
			t.Fatalf("migration %d: %v", v, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO projects (id, name, created_at) VALUES (1, 'default', 0)`); err != nil {
		t.Fatal(err)
	}
	for id, spec := range map[int]string{1: `{"name":"a","cluster":"work"}`, 2: `{"name":"b"}`, 3: `not json`} {
		if _, err := db.Exec(`INSERT INTO jobs (id, name, project_id, kind, spec, state, cpus, mem_bytes, gpus, submitted_at, n_tasks)
			VALUES (?, 'j', 1, 'run', ?, 'succeeded', 1, 0, 0, 0, 1)`, id, spec); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate(db); err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	rows, err := db.Query(`SELECT id, cluster FROM jobs`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var c string
		if err := rows.Scan(&id, &c); err != nil {
			t.Fatal(err)
		}
		got[id] = c
	}
	if got[1] != "work" || got[2] != "" || got[3] != "" || len(got) != 3 {
		t.Fatalf("clusters after migration 24: %v; want 1 on work, 2 and 3 on none", got)
	}
}
