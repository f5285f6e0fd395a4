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
// project's reference machine a store of 100,000 ended tasks (15 MB) takes
// about 0.055 s (TestCheckTimeOn100kTasks, docs/guarantees.md), so a
// store meets the bound with room up to about a gigabyte on a warm cache. A
// larger or colder one is served unchecked meanwhile and checked whole
// while it serves (FinishCheck): a healthy store is never refused for its
// size.
const CheckTimeout = 5 * time.Second

// checkTimeout is CheckTimeout; tests shorten it.
var checkTimeout = CheckTimeout

// checkAtOpen runs quick_check on the writer's connection w, before
// anything writes. It returns unchecked when the check ran out of
// checkTimeout (the store is no less whole for it), and an error for a
// damaged or foreign store, or one it could not read.
//
// A store marked damaged (MarkDamaged: a server met damage while serving
// it, which quick_check may not see, e.g. an index whose entries do not
// match its table) is not served on quick_check's word: the full `PRAGMA
// integrity_check` must pass too, within checkTimeout, and then the mark
// is removed. A check of a marked store that runs out of time is refused:
// the damage is known.
func checkAtOpen(ctx context.Context, w *sql.DB, path string) (unchecked bool, err error) {
	mark, marked := readMark(path)
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	err = quickCheck(cctx, w, path, false)
	if marked {
		return false, checkMarked(ctx, w, path, mark, err)
	}
	if err != nil && ctx.Err() == nil && cctx.Err() != nil && timedOut(err) {
		return true, nil
	}
	return false, err
}

// DamagedMark is the file beside the store at path that says a server met
// damage in it (what it met, one line): the next start checks it whole.
func DamagedMark(path string) string { return path + ".damaged-marker" }

// MarkDamaged records, beside the store at path, that it was found damaged
// (err): the next Open runs the full integrity check before it serves it.
// The mark is written whole (a temporary file renamed) and synced.
func MarkDamaged(path string, cause error) error {
	tmp := DamagedMark(path) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	line := strings.ReplaceAll(cause.Error(), "\n", " ")
	_, err = f.WriteString(time.Now().UTC().Format(time.RFC3339) + " " + line + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, DamagedMark(path))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// ClearDamaged removes the mark of the store at path (a restore replaced
// the store it was about).
func ClearDamaged(path string) error {
	err := os.Remove(DamagedMark(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// readMark reads the mark of the store at path: its line, and whether
// there is one (a mark that cannot be read still counts).
func readMark(path string) (string, bool) {
	b, err := os.ReadFile(DamagedMark(path))
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	}
	if err != nil {
		return "unreadable mark: " + err.Error(), true
	}
	return strings.TrimSpace(string(b)), true
}

// checkMarked decides on a store marked damaged, given quick_check's
// answer qerr: integrity_check must find it whole within checkTimeout.
func checkMarked(ctx context.Context, w *sql.DB, path, mark string, qerr error) error {
	found := func(detail string) error {
		return &CorruptError{Path: path, Detail: detail + "; a server found it damaged while serving it: " + mark + " (" + DamagedMark(path) + ")"}
	}
	if qerr != nil {
		if ctx.Err() == nil && timedOut(qerr) {
			return found(fmt.Sprintf("quick_check did not finish within %s", checkTimeout))
		}
		return qerr
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	err := pragmaCheck(cctx, w, path, "integrity_check", false)
	var ce *CorruptError
	switch {
	case errors.As(err, &ce):
		return found(ce.Detail)
	case err != nil && ctx.Err() == nil && timedOut(err):
		return found(fmt.Sprintf("integrity_check did not finish within %s", checkTimeout))
	case err != nil:
		return err
	}
	if err := ClearDamaged(path); err != nil {
		return fmt.Errorf("the store %s passed integrity_check, but its mark could not be removed: %w", path, err)
	}
	return nil
}

// Unchecked reports whether Open's check ran out of CheckTimeout: the
// store was opened unchecked, and FinishCheck has yet to check it.
func (s *Store) Unchecked() bool { return s.unchecked }

// FinishCheck checks the whole store with `PRAGMA quick_check` on one of
// its reader connections while it serves, with no deadline but ctx's, for
// a store whose check at Open ran out of time. It returns a *CorruptError
// if the store is damaged. Damage it meets through SQLite's own errors also
// reaches the OnCorrupt handler, as any statement's does.
func (s *Store) FinishCheck(ctx context.Context) error {
	return quickCheck(ctx, s.r, s.path, false)
}

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

// CheckBackup verifies that path is a whole burst store that is not being
// served (a backup, a snapshot, a store kept aside), for a restore: it is a
// SQLite database, `PRAGMA quick_check` finds it whole (every page, every
// b-tree, every row's format; not the indexes' content, which
// integrity_check would add at many times the cost), and it holds burst's
// tables. A missing, empty or foreign file is refused. The file is read
// through a read-only connection of its own (mode=ro): the check writes
// nothing, not even the checkpoint that a last connection's close makes of
// a WAL left beside the file. It ends with ctx, or after CheckTimeout.
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
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	db, err := openReadOnly(path)
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	defer db.Close()
	return quickCheck(ctx, db, path, true)
}

// openReadOnly opens the database at path for reading only: SQLite opens
// the file (and its WAL, if one lies beside it) O_RDONLY, and a connection
// that cannot write never checkpoints or deletes that WAL on close. Plain
// sql.Open: a damaged file met here is a finding, not a served store's
// failure (corrupt.go).
func openReadOnly(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// querier is what reads need of a connection: *sql.DB, *sql.Conn or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// quickCheck runs `PRAGMA quick_check` on db and checks that it holds
// burst's tables (or, unless backup, none yet: a new store).
func quickCheck(ctx context.Context, db querier, path string, backup bool) error {
	return pragmaCheck(ctx, db, path, "quick_check", backup)
}

// pragmaCheck runs `PRAGMA check(20)` (quick_check or integrity_check) on
// db and checks that it holds burst's tables.
func pragmaCheck(ctx context.Context, db querier, path, check string, backup bool) error {
	rows, err := db.QueryContext(ctx, "PRAGMA "+check+"(20)")
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
		return &CorruptError{Path: path, Detail: check + ": " + summary(problems)}
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
	if timedOut(err) {
		return fmt.Errorf("check store %s: quick_check did not finish within %s: %w", path, CheckTimeout, err)
	}
	return fmt.Errorf("check store %s: %w", path, err)
}

// timedOut reports whether err is a statement that ran out of time.
func timedOut(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "interrupted")
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
