package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/burst-sh/burst/internal/backoff"
	"modernc.org/sqlite"
)

// A full disk is the one failure of a write that is not the write's fault
// and passes by itself: the writer holds the batch that met it (its
// callers keep waiting), retries it with backoff until it commits, and
// keeps every write queued meanwhile, in order, behind it. Memory that
// moved ahead of the store is never acknowledged before the store catches
// up, and nothing the server accepted is lost. Writes that nothing in
// memory waits for (a new job: Try) are refused instead of held.

// FullError is the answer to a write refused, or the state of a store
// holding writes, because its disk is full.
type FullError struct {
	Path  string    // the database file
	Since time.Time // when the first write was held
	Err   error     // what SQLite answered
}

func (e *FullError) Error() string {
	return "the disk under " + e.Path + " is full: " + e.Err.Error()
}

func (e *FullError) Unwrap() error { return e.Err }

// sqliteFull is SQLite's primary result code SQLITE_FULL ("database or disk
// is full"), which it answers when a write gets ENOSPC.
const sqliteFull = 13

// IsFull reports whether err is a write that failed because the disk (or
// the filesystem's quota) is full: SQLITE_FULL, ENOSPC or EDQUOT.
func IsFull(err error) bool {
	if err == nil {
		return false
	}
	var fe *FullError
	if errors.As(err, &fe) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqliteFull {
		return true
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "database or disk is full") || strings.Contains(msg, "no space left on device")
}

// Full returns a *FullError while the store holds writes for a full disk,
// nil otherwise. It costs an atomic load: callers ask it per request.
func (s *Store) Full() error {
	if fe := s.full.Load(); fe != nil {
		return fe
	}
	return nil
}

// LastHold is when the store last held writes for a full disk, from and
// until; zero times if it never did since it opened.
func (s *Store) LastHold() (from, until time.Time) {
	if h := s.lastHold.Load(); h != nil {
		return h[0], h[1]
	}
	return time.Time{}, time.Time{}
}

// Try runs fn as Write does, unless the disk is full: then it is refused
// with a *FullError (IsFull) instead of waiting for space. It is for writes
// that nothing in memory depends on yet (a new job), which the caller can
// answer with "no space" and forget.
func (s *Store) Try(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.Full(); err != nil {
		return err
	}
	o := &op{fn: fn, done: make(chan struct{}), refusable: true}
	s.enqueue(o)
	return o.wait()
}

// persistWAL asks SQLite to keep the WAL and its index (-wal, -shm) when
// the store closes, instead of deleting them: a server that starts again
// on a full disk can then open the store (the index must be allocated
// before the first read) and even commit into the WAL's room. The writer's
// one connection is the last to close (Close), so its setting decides. A
// connection that gives no file control is an error, not a skipped step.
func persistWAL(w *sql.DB) error {
	c, err := w.Conn(context.Background())
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		fc, ok := dc.(sqlite.FileControl)
		if !ok {
			// Not a silent no-op: the WAL would be deleted at close and
			// a start on a full disk would fail (TestCloseKeepsTheWAL).
			return fmt.Errorf("keep the WAL: the connection (%T) gives no SQLite file control", dc)
		}
		_, err := fc.FileControlPersistWAL("main", 1)
		return err
	})
}

// fullRetryFirst and fullRetryMax bound the waits between two tries of a
// held batch: soon after space returns, and at most one try a few seconds.
const (
	fullRetryFirst = 50 * time.Millisecond
	fullRetryMax   = 2 * time.Second
)

// commitHolding commits batch; when the disk is full it refuses the
// refusable writes, holds the others and retries them until they commit
// (or the store closes), moving what is queued meanwhile to held so that
// no caller blocks on a full queue. It returns held.
func (s *Store) commitHolding(batch, held []*op) []*op {
	wait := backoff.New(fullRetryFirst, fullRetryMax)
	for {
		err := s.commit(batch)
		if err == nil {
			// LastHold first: a report let in as soon as Full says nil
			// must find the hold it was refused for (its meter refund).
			if fe := s.full.Load(); fe != nil {
				s.lastHold.Store(&[2]time.Time{fe.Since, time.Now()})
				s.full.Store(nil)
			}
			return held
		}
		fe := s.full.Load()
		if fe == nil {
			fe = &FullError{Path: s.path, Since: time.Now(), Err: err}
			s.full.Store(fe)
		}
		keep := batch[:0]
		for _, o := range batch {
			o.err = nil
			if o.refusable {
				o.err = fe
				close(o.done)
				continue
			}
			keep = append(keep, o)
		}
		batch = keep
		if len(batch) == 0 {
			return held
		}
		t := time.NewTimer(wait.Next())
	hold:
		for {
			select {
			case o := <-s.ops:
				if o.refusable {
					o.err = fe
					close(o.done)
					continue
				}
				held = append(held, o)
			case <-t.C:
				break hold
			case <-s.closed:
				s.fail(batch, held, fe)
				return nil
			case <-s.release:
				// Stopping with the disk still full: these were never
				// acknowledged, and the store keeps what it had.
				t.Stop()
				s.fail(batch, held, fe)
				return nil
			}
		}
	}
}

func (s *Store) fail(batch, held []*op, err error) {
	for _, o := range append(batch, held...) {
		o.err = err
		close(o.done)
	}
}

// ReleaseHeld answers the writes held for a full disk with their
// *FullError, and every later write that meets one, instead of holding
// them: for a server that stops (its loops must not wait for space). They
// were never acknowledged, and the store keeps what it had.
func (s *Store) ReleaseHeld() {
	s.releaseOnce.Do(func() { close(s.release) })
}
