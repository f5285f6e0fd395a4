// Package store keeps burst's durable state (projects, jobs, tasks, machines)
// in one SQLite file in WAL mode, with versioned migrations and a group-commit
// writer: every change is committed before it is acknowledged, and concurrent
// changes share one transaction.
//
// It knows the schema and nothing of scheduling; callers decide what to write.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, no cgo
)

// Store is an open state database.
type Store struct {
	path      string
	unchecked bool    // Open's check ran out of time (FinishCheck)
	w         *sql.DB // the one writer connection
	r         *sql.DB // readers (WAL lets them run beside the writer)

	ops    chan *op
	closed chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	// sendMu orders sends on ops against Close: a write is either queued
	// before the writer's last drain, or refused with ErrClosed.
	sendMu   sync.RWMutex
	isClosed bool
	full     atomic.Pointer[FullError]    // set while a full disk holds writes (full.go)
	lastHold atomic.Pointer[[2]time.Time] // the last hold's from and until (LastHold)
	// release is closed by ReleaseHeld: held writes fail instead.
	release     chan struct{}
	releaseOnce sync.Once
}

type op struct {
	fn        func(*Tx) error
	err       error
	done      chan struct{}
	refusable bool // Try: refused, not held, when the disk is full
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("store closed")

// maxBatch bounds how many queued writes share one transaction.
const maxBatch = 512

// Open opens (creating if needed) the database at path, checks it and
// migrates it: OpenContext with no deadline but the check's own.
func Open(path string) (*Store, error) { return OpenContext(context.Background(), path) }

// OpenContext opens (creating if needed) the database at path, checks it
// before anything writes to it, and migrates it. The check is `PRAGMA
// quick_check` (check.go) on the writer's own connection, the one the store
// keeps open: it opens nothing more (on a full disk a connection of its own
// could fail to map the WAL index, and its close, as the last connection,
// would checkpoint away the WAL the store keeps on purpose: persistWAL).
// A damaged store is refused with a *CorruptError. A check that does not
// end within CheckTimeout (a large store on a cold cache) is no finding:
// the store opens, Unchecked reports it, and FinishCheck checks it whole
// while it serves.
func OpenContext(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_txlock=immediate"
	w, err := openDB(dsn) // corrupt.go: a damaged file is noticed
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := persistWAL(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	unchecked, err := checkAtOpen(ctx, w, path)
	if err != nil {
		w.Close()
		return nil, err
	}
	if err := migrate(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate store %s: %w", path, err)
	}
	r, err := openDB("file:" + path + "?_pragma=busy_timeout(10000)&_pragma=query_only(ON)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s := &Store{path: path, unchecked: unchecked, w: w, r: r, ops: make(chan *op, 4096), closed: make(chan struct{}), release: make(chan struct{})}
	s.wg.Add(1)
	go s.writer()
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close stops the writer after pending writes and closes the database.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.sendMu.Lock()
		s.isClosed = true
		close(s.closed)
		s.sendMu.Unlock()
	})
	s.wg.Wait()
	err1 := s.r.Close()
	err2 := s.w.Close()
	return errors.Join(err1, err2)
}

// Write runs fn in a transaction shared with other concurrent writes and
// returns once that transaction is committed. If fn fails, its changes alone
// are rolled back and its error returned.
func (s *Store) Write(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := s.Enqueue(fn)
	// Once queued, the write happens; wait for it even if ctx ends so that
	// callers never guess whether it was committed.
	return o.Wait()
}

// Pending is a queued write; Wait returns once it is committed.
type Pending interface{ Wait() error }

// Enqueue queues fn without waiting for it. Writes are applied in the order
// they are queued, so a caller that mutates memory under its own lock and
// enqueues under that same lock gets the store to follow the same order.
func (s *Store) Enqueue(fn func(*Tx) error) Pending {
	o := &op{fn: fn, done: make(chan struct{})}
	s.enqueue(o)
	return o
}

func (s *Store) enqueue(o *op) {
	s.sendMu.RLock()
	defer s.sendMu.RUnlock()
	if s.isClosed {
		o.err = ErrClosed
		close(o.done)
		return
	}
	s.ops <- o // the writer runs until Close, which waits for this send
}

func (o *op) wait() error {
	<-o.done
	return o.err
}

// Wait blocks until the write is committed (or failed).
func (o *op) Wait() error { return o.wait() }

func (s *Store) writer() {
	defer s.wg.Done()
	batch := make([]*op, 0, maxBatch)
	var held []*op // queued while a full disk held a batch: they go next, in order
	for {
		batch = batch[:0]
		if len(held) > 0 {
			n := min(len(held), maxBatch)
			batch = append(batch, held[:n]...)
			held = held[n:]
			held = s.commitHolding(batch, held)
			continue
		}
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		case <-s.closed:
			// Drain what was queued before Close.
			for {
				select {
				case o := <-s.ops:
					batch = append(batch, o)
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				s.commitHolding(batch, nil)
			}
			return
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			default:
				break fill
			}
		}
		held = s.commitHolding(batch, held)
	}
}

// commit commits batch in one transaction and tells its callers, except
// when the disk is full: then it rolls everything back, tells nobody, and
// returns the error (commitHolding retries the batch).
func (s *Store) commit(batch []*op) (full error) {
	fail := func(err error) error {
		if IsFull(err) {
			// A COMMIT that failed may leave its transaction open on the
			// one writer connection: end it, so the retry can begin.
			s.w.Exec("ROLLBACK")
			return err
		}
		for _, o := range batch {
			if o.err == nil {
				o.err = err
			}
			close(o.done)
		}
		return nil
	}
	stx, err := s.w.Begin()
	if err != nil {
		return fail(fmt.Errorf("begin: %w", err))
	}
	tx := &Tx{Tx: stx, st: s}
	if len(batch) == 1 {
		// Alone in its transaction: if it fails, rolling the transaction
		// back undoes its changes and nothing else, without the SAVEPOINT
		// and RELEASE statements that cost a write as much as a row.
		o := batch[0]
		if o.err = o.fn(tx); o.err != nil {
			tx.Rollback()
			if IsFull(o.err) {
				return o.err
			}
			close(o.done)
			return nil
		}
		if err := tx.Commit(); err != nil {
			return fail(fmt.Errorf("commit: %w", err))
		}
		close(o.done)
		return nil
	}
	for _, o := range batch {
		if _, err := tx.exec("SAVEPOINT op"); err != nil {
			tx.Rollback()
			return fail(fmt.Errorf("savepoint: %w", err))
		}
		if o.err = o.fn(tx); o.err != nil {
			if IsFull(o.err) {
				tx.Rollback()
				return o.err
			}
			if _, err := tx.exec("ROLLBACK TO op"); err != nil {
				tx.Rollback()
				return fail(fmt.Errorf("rollback to savepoint: %w", err))
			}
		}
		if _, err := tx.exec("RELEASE op"); err != nil {
			tx.Rollback()
			return fail(fmt.Errorf("release savepoint: %w", err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(fmt.Errorf("commit: %w", err))
	}
	for _, o := range batch {
		close(o.done)
	}
	return nil
}

// Tx is a write transaction. Its statements are prepared once per
// connection and reused (stmtcache.go): parsing SQL again for every write
// costs more than the write.
type Tx struct {
	*sql.Tx
	st *Store
}

// exec runs query: prepared once on the writer's connection and kept
// (stmtcache.go), as every statement run by its text is.
func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	return t.Tx.Exec(query, args...)
}

// Times are stored as Unix microseconds; NULL for unset.
func toMicros(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64).UTC()
	return &t
}
