package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// kept is the statements kept on the one connection c.
func kept(t *testing.T, s *Store) map[string]*cachedStmt {
	t.Helper()
	conn, err := s.w.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out map[string]*cachedStmt
	conn.Raw(func(dc any) error {
		out = map[string]*cachedStmt{}
		for k, v := range dc.(*checkedConn).stmts {
			out[k] = v
		}
		return nil
	})
	return out
}

// A statement run by its text is prepared once per connection and kept:
// the second run uses the same statement; the same text run again while
// rows of it are open gets its own, and both read right; a script of
// several statements is not kept (and still runs whole); the kept are
// bounded.
func TestStatementsKept(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	db := s.w // one connection: what is kept is seen
	const q = `SELECT name FROM projects WHERE name <> ? ORDER BY name`
	if _, err := db.Exec(`INSERT INTO projects(name, created_at) VALUES ('p1', 0), ('p2', 0)`); err != nil {
		t.Fatal(err)
	}
	names := func() []string {
		rows, err := db.QueryContext(ctx, q, "nope")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			out = append(out, n)
		}
		return out
	}
	first := names()
	st := kept(t, s)[q]
	if st == nil {
		t.Fatalf("%q not kept after it ran: %v", q, kept(t, s))
	}
	if second := names(); fmt.Sprint(second) != fmt.Sprint(first) || kept(t, s)[q] != st {
		t.Fatalf("second run read %v (first %v), statement kept %p then %p", second, first, st, kept(t, s)[q])
	}
	if st.busy {
		t.Fatal("statement left busy after its rows closed")
	}

	// The same text while its rows are open, in one transaction (one
	// connection): each reads its own rows.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := tx.QueryContext(ctx, q, "nope")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var n string
		outer.Scan(&n)
		var inner []string
		rows, err := tx.QueryContext(ctx, q, n) // all but n
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var m string
			rows.Scan(&m)
			inner = append(inner, m)
		}
		rows.Close()
		got = append(got, n+":"+fmt.Sprint(inner))
	}
	outer.Close()
	tx.Rollback()
	if want := fmt.Sprint(len(first)); fmt.Sprint(len(got)) != want || got[0] == got[1] {
		t.Fatalf("nested reads %v; want one line per project, each without itself", got)
	}

	// A script runs whole and is not kept.
	script := `INSERT INTO projects(name, created_at) VALUES ('s1', 0); INSERT INTO projects(name, created_at) VALUES ('s2', 0)`
	if _, err := db.Exec(script); err != nil {
		t.Fatal(err)
	}
	if _, ok := kept(t, s)[script]; ok {
		t.Fatal("a script of two statements was kept")
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM projects WHERE name IN ('s1', 's2')`).Scan(&n)
	if n != 2 {
		t.Fatalf("script inserted %d rows; want 2", n)
	}

	// Bounded.
	for i := range 2 * stmtCacheSize {
		var v int
		if err := db.QueryRow(fmt.Sprintf(`SELECT %d`, i)).Scan(&v); err != nil || v != i {
			t.Fatalf("SELECT %d = %d, %v", i, v, err)
		}
	}
	if k := len(kept(t, s)); k > stmtCacheSize {
		t.Fatalf("%d statements kept; want at most %d", k, stmtCacheSize)
	}
}
