package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// CheckTimeout bounds the integrity check a server makes of its store
// before it serves it. `PRAGMA quick_check` reads every page once; on this
// project's reference machine a store of 100,000 tasks (45 MB) takes about
// 0.15 s (docs/guarantees-store.md), so the bound is met with room.
const CheckTimeout = 5 * time.Second

// ErrCorrupt is returned (wrapped, as *CorruptError) for a store SQLite
// finds damaged: a failed quick_check, a file that is not a database, or
// SQLITE_CORRUPT from any statement.
var ErrCorrupt = errors.New("the state database is damaged")

// CorruptError says what was found damaged in which file.
type CorruptError struct {
	Path   string
	Detail string // quick_check's first lines, or SQLite's message
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s: %v (%s)", e.Path, ErrCorrupt, e.Detail)
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// SQLite's primary result codes for a damaged file.
const (
	sqliteCorrupt = 11 // SQLITE_CORRUPT
	sqliteNotADB  = 26 // SQLITE_NOTADB
)

// IsCorrupt reports whether err says the database file is damaged
// (SQLITE_CORRUPT or SQLITE_NOTADB, any extended code), as opposed to an
// error of the statement, the disk or the caller.
func IsCorrupt(err error) bool {
	if errors.Is(err, ErrCorrupt) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteCorrupt, sqliteNotADB:
			return true
		}
	}
	return false
}

// Check verifies the store at path before anything writes to it: it is a
// SQLite database, `PRAGMA quick_check` finds it whole (every page, every
// b-tree, every row's format; not the indexes' content, which integrity_check
// would add at many times the cost), and, unless it is new, it holds burst's
// tables. A missing or empty file passes: Open creates it. The check reads
// the file through a read-only connection of its own and ends with ctx, or
// after CheckTimeout.
func Check(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) || err == nil && fi.Size() == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check store %s: %w", path, err)
	}
	return check(ctx, path, false)
}

// CheckBackup verifies that path is a whole burst store, for a restore: as
// Check, but a missing, empty or foreign file is refused.
func CheckBackup(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a file", path)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("%s is empty: not a burst store", path)
	}
	return check(ctx, path, true)
}

func check(ctx context.Context, path string, backup bool) error {
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	// query_only: a check changes nothing in the file; the WAL a killed
	// server left beside it is read (and checked) with it.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(ON)")
	if err != nil {
		return fmt.Errorf("check store %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check(20)")
	if err != nil {
		return checkErr(path, err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return checkErr(path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return checkErr(path, err)
	}
	rows.Close()
	if len(problems) > 0 {
		return &CorruptError{Path: path, Detail: "quick_check: " + summary(problems)}
	}
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('schema_migrations', 'jobs', 'tasks')`).Scan(&n)
	if err != nil {
		return checkErr(path, err)
	}
	if n != 3 && (backup || n != 0) {
		return fmt.Errorf("%s is a SQLite database but not a burst store (no jobs and tasks tables)", path)
	}
	return nil
}

// checkErr turns an error met while checking into a CorruptError when it
// says the file is damaged; a check that ran out of time says so.
func checkErr(path string, err error) error {
	if IsCorrupt(err) {
		return &CorruptError{Path: path, Detail: err.Error()}
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "interrupted") {
		return fmt.Errorf("check store %s: quick_check did not finish within %s: %w", path, CheckTimeout, err)
	}
	return fmt.Errorf("check store %s: %w", path, err)
}

// summary is the first few of quick_check's findings, on one line.
func summary(problems []string) string {
	const most = 3
	s := strings.Join(problems[:min(most, len(problems))], "; ")
	if len(problems) > most {
		s += fmt.Sprintf("; and %d more", len(problems)-most)
	}
	return s
}
