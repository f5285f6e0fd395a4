package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Kept statements stay right under load: goroutines on the readers' and
// the writer's connections run the same texts while others are canceled
// mid-step, rows are left after a few and closed, and savepoints are
// rolled back; every answer that is not the context's error is the right
// one.
func TestStatementsKeptUnderCancellation(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	ctx := context.Background()
	for i := range 200 {
		if _, err := s.w.Exec(`INSERT INTO projects(name, created_at) VALUES (?, ?)`, fmt.Sprintf("p%03d", i), i); err != nil {
			t.Fatal(err)
		}
	}
	const (
		count = `SELECT count(*) FROM projects WHERE created_at >= ?`
		names = `SELECT name, created_at FROM projects WHERE created_at >= ? ORDER BY created_at`
		// long enough to be interrupted mid-step
		slow = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?) SELECT count(*) FROM n`
	)
	var wg sync.WaitGroup
	var ops, canceled atomic.Int64
	errs := make(chan error, 64)
	deadline := time.Now().Add(2 * time.Second)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for time.Now().Before(deadline) {
				from := rng.IntN(200)
				db := s.r
				if g%4 == 0 {
					db = s.w
				}
				cctx, cancel := context.WithCancel(ctx)
				if rng.IntN(3) == 0 {
					d := time.Duration(rng.IntN(300)) * time.Microsecond
					go func() { time.Sleep(d); cancel() }()
				}
				switch rng.IntN(4) {
				case 0:
					var n int
					err := db.QueryRowContext(cctx, count, from).Scan(&n)
					if err == nil && n != 200-from {
						errs <- fmt.Errorf("count from %d = %d, want %d", from, n, 200-from)
					} else if err != nil && !errors.Is(err, context.Canceled) && cctx.Err() == nil {
						errs <- fmt.Errorf("count: %v", err)
					}
				case 1:
					rows, err := db.QueryContext(cctx, names, from)
					if err != nil {
						if cctx.Err() == nil {
							errs <- fmt.Errorf("names: %v", err)
						}
						break
					}
					stop := rng.IntN(250)
					want := from
					for rows.Next() && want-from < stop {
						var name string
						var at int
						if err := rows.Scan(&name, &at); err != nil {
							if cctx.Err() == nil { // else database/sql closed the rows
								errs <- err
							}
							break
						}
						if at != want || name != fmt.Sprintf("p%03d", want) {
							errs <- fmt.Errorf("names from %d: row %d is %s/%d", from, want-from, name, at)
							break
						}
						want++
					}
					rows.Close()
				case 2:
					var n int
					err := db.QueryRowContext(cctx, slow, 20000).Scan(&n)
					if err == nil && n != 20000 {
						errs <- fmt.Errorf("slow = %d", n)
					} else if err != nil && cctx.Err() == nil {
						errs <- fmt.Errorf("slow: %v", err)
					}
				case 3:
					if db != s.w {
						break
					}
					tx, err := s.w.BeginTx(cctx, nil)
					if err != nil {
						if cctx.Err() == nil {
							errs <- fmt.Errorf("begin: %v", err)
						}
						break
					}
					func() {
						defer tx.Rollback()
						if _, err := tx.ExecContext(cctx, "SAVEPOINT op"); err != nil {
							return
						}
						tx.ExecContext(cctx, `UPDATE projects SET created_at = created_at + 1000 WHERE created_at >= ?`, from)
						tx.ExecContext(cctx, "ROLLBACK TO op")
						tx.ExecContext(cctx, "RELEASE op")
					}()
				}
				if cctx.Err() != nil {
					canceled.Add(1)
				}
				ops.Add(1)
				cancel()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d operations, %d canceled", ops.Load(), canceled.Load())
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 10 {
			t.Error(err)
		}
	}
	// After it all every connection answers right.
	for range 20 {
		var c int
		if err := s.r.QueryRowContext(ctx, count, 50).Scan(&c); err != nil || c != 150 {
			t.Fatalf("count after the load: %d, %v", c, err)
		}
	}
	var c int
	if err := s.w.QueryRowContext(ctx, count, 0).Scan(&c); err != nil || c != 200 {
		t.Fatalf("writer count after the load: %d, %v", c, err)
	}
}
