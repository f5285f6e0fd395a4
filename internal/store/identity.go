package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/burst-sh/burst"
)

// A store knows whose it is. It records, once, a random home id and where
// it lives (the real path of its home, the host, the device and inode of
// its file). Processes started for the home carry the id (agents and tasks:
// runner.HomeIDEnv), and a server signals no process that does not. A store
// opened somewhere else than it recorded (a copy of another home's
// state.db) is a copy: it takes a new home id, so that none of the
// original home's processes carries its identity, and lets go of what was
// in flight there (Detach).

// Place is where a store is opened.
type Place struct {
	Home string // the real path of its home (links resolved)
	Host string
	Dev  uint64 // device and inode of the store's file
	Ino  uint64
}

// Identity is whose a store is.
type Identity struct {
	HomeID string
	Place
	CreatedAt time.Time
	// CopiedFrom is the home id of the store this one was copied from,
	// CopiedHome where that one lived ("" when it was never copied).
	CopiedFrom string
	CopiedHome string
	CopiedAt   *time.Time
}

// Verdict is what a store is, opened at a place.
type Verdict int

const (
	// New: the store recorded no identity yet (just created, or made by a
	// burst that did not record one).
	New Verdict = iota
	// Same: the home it recorded: the same file at the same path,
	// whatever the host is called now (a renamed laptop, a container
	// restarted with its home on a volume), or another file at the same
	// path on the same host (replaced in place: a restore from a backup).
	Same
	// Moved: the same file, reached by another path (the home was renamed
	// or mounted elsewhere on this host).
	Moved
	// Copy: another file at another path, or on another host; or the
	// same device and inode at another path on another host (device
	// numbers say little across hosts): a copy of the store it recorded.
	Copy
)

func (v Verdict) String() string {
	return [...]string{"new", "same", "moved", "copy"}[v]
}

// Judge says what a store that recorded rec (nil: nothing) is when opened
// at here. A home moved to another filesystem (a new file at a new path)
// is judged a copy: nothing tells it from one, and a copy touches nothing
// of what it recorded, which is the safe mistake. The host name alone
// never makes a copy: the file it names did not change. (A disk image
// cloned whole to another machine keeps path, device and inode, and is
// judged the same home: nothing on the machine tells it from a rename.)
func Judge(rec *Identity, here Place) Verdict {
	sameFile := rec != nil && rec.Dev == here.Dev && rec.Ino == here.Ino
	switch {
	case rec == nil:
		return New
	case rec.Home == here.Home && (sameFile || rec.Host == here.Host):
		return Same
	case rec.Host == here.Host && sameFile:
		return Moved
	}
	return Copy
}

// Here is where s is opened: home (its real path), host, and the device
// and inode of s's file.
func (s *Store) Here(home, host string) (Place, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return Place{}, fmt.Errorf("identify store %s: %w", s.path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Place{}, fmt.Errorf("identify store %s: no device and inode", s.path)
	}
	return Place{Home: home, Host: host, Dev: uint64(st.Dev), Ino: st.Ino}, nil
}

// Claim is what Claim found and did.
type Claim struct {
	Verdict  Verdict
	Identity Identity  // as recorded now
	Was      *Identity // as recorded before (nil when New)
	Detached Detached  // what a copy let go of
}

// Detached counts what a copy let go of: the original home's jobs that
// were queued or running, their tasks that were running or waiting to run
// again, and its machines that were live.
type Detached struct {
	Jobs, Tasks, Machines int
}

// Claim records the store's identity at here, judging the one it recorded
// (Judge): a new store gets a new home id; the same home keeps its id (a
// moved one records its new place); a copy takes a new home id and
// detaches what was in flight in the original home (see Detach), in the
// same transaction.
func (s *Store) Claim(ctx context.Context, here Place, now time.Time) (Claim, error) {
	var c Claim
	err := s.Write(ctx, func(tx *Tx) error {
		c = Claim{}
		rec, err := readIdentity(tx)
		if err != nil {
			return err
		}
		c.Was = rec
		c.Verdict = Judge(rec, here)
		switch c.Verdict {
		case New:
			c.Identity = Identity{HomeID: newHomeID(), Place: here, CreatedAt: now}
		case Same, Moved:
			c.Identity = *rec
			c.Identity.Place = here
		case Copy:
			at := now
			c.Identity = Identity{HomeID: newHomeID(), Place: here, CreatedAt: now,
				CopiedFrom: rec.HomeID, CopiedHome: rec.Home, CopiedAt: &at}
			if rec.Host != here.Host {
				c.Identity.CopiedHome = rec.Host + ":" + rec.Home
			}
			if c.Detached, err = detach(tx, c.Identity.CopiedHome, now); err != nil {
				return err
			}
		}
		return writeIdentity(tx, &c.Identity)
	})
	if err != nil {
		return Claim{}, fmt.Errorf("record the identity of store %s: %w", s.path, err)
	}
	return c, nil
}

// Identity is the identity the store recorded; nil if none yet.
func (s *Store) Identity(ctx context.Context) (*Identity, error) {
	return scanIdentity(s.r.QueryRowContext(ctx, identitySQL))
}

const identitySQL = `SELECT home_id, home, host, dev, ino, created_at, copied_from, copied_home, copied_at FROM home_identity WHERE one = 1`

func readIdentity(tx *Tx) (*Identity, error) { return scanIdentity(tx.QueryRow(identitySQL)) }

func scanIdentity(row *sql.Row) (*Identity, error) {
	var (
		id       Identity
		dev, ino int64
		created  int64
		copiedAt sql.NullInt64
	)
	err := row.Scan(&id.HomeID, &id.Home, &id.Host, &dev, &ino, &created, &id.CopiedFrom, &id.CopiedHome, &copiedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the store's identity: %w", err)
	}
	id.Dev, id.Ino = uint64(dev), uint64(ino)
	id.CreatedAt = time.UnixMicro(created).UTC()
	id.CopiedAt = fromMicros(copiedAt)
	return &id, nil
}

func writeIdentity(tx *Tx, id *Identity) error {
	_, err := tx.Exec(`INSERT INTO home_identity (one, home_id, home, host, dev, ino, created_at, copied_from, copied_home, copied_at)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (one) DO UPDATE SET home_id = excluded.home_id, home = excluded.home, host = excluded.host,
			dev = excluded.dev, ino = excluded.ino, created_at = excluded.created_at, copied_from = excluded.copied_from,
			copied_home = excluded.copied_home, copied_at = excluded.copied_at`,
		id.HomeID, id.Home, id.Host, int64(id.Dev), int64(id.Ino), id.CreatedAt.UnixMicro(), id.CopiedFrom, id.CopiedHome, toMicros(id.CopiedAt))
	if err != nil {
		return fmt.Errorf("record the store's identity: %w", err)
	}
	return nil
}

func newHomeID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// detach lets go of what was in flight in the home a copied store came
// from (original: where it lives). Its jobs that were queued or running
// end lost, with a reason that says where they run and how to run them
// here (`burst map --resume ID` for a map): their tasks that were running there, or waiting to
// run again, end lost; those never dispatched count as cancelled, as a
// cancel counts them. Its live machines end lost and forget their agent's
// process, so that nothing here waits for, adopts, signals or stops them.
// A copy reruns nothing by itself: the original home runs its jobs.
func detach(tx *Tx, original string, now time.Time) (Detached, error) {
	var d Detached
	rows, err := tx.Query(`SELECT id, kind FROM jobs WHERE state IN ('queued', 'running') ORDER BY id`)
	if err != nil {
		return d, fmt.Errorf("list active jobs: %w", err)
	}
	var ids []int64
	kinds := map[int64]string{}
	for rows.Next() {
		var id int64
		var kind string
		if err := rows.Scan(&id, &kind); err != nil {
			rows.Close()
			return d, err
		}
		ids = append(ids, id)
		kinds[id] = kind
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return d, err
	}
	at := now.UnixMicro()
	for _, id := range ids {
		// Nothing of it runs here unless asked: a map with --resume (the
		// API's resume does any job but a pipe), others submitted again.
		rerun := "submit it again to run it here"
		if kinds[id] == string(burst.KindMap) {
			rerun = fmt.Sprintf("`burst map --resume %d` runs what did not finish here", id)
		}
		reason := fmt.Sprintf("in another home: this store is a copy of %s, where this job was queued or running; nothing of it runs here unless asked: %s", original, rerun)
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM tasks WHERE job_id = ? AND state IN ('queued', 'running')`, id).Scan(&n); err != nil {
			return d, fmt.Errorf("count tasks of job %d: %w", id, err)
		}
		// Never dispatched: no row, except an array's tasks cancelled alone
		// before their turn, which are counted already.
		if _, err := tx.Exec(`UPDATE jobs SET n_lost = n_lost + ?,
			n_cancelled = n_cancelled + n_tasks - n_dispatched - (SELECT COUNT(*) FROM tasks WHERE job_id = jobs.id AND idx >= jobs.n_dispatched),
			n_running = 0, state = 'lost', exit_code = NULL, reason = ?, ended_at = ? WHERE id = ?`, n, reason, at, id); err != nil {
			return d, fmt.Errorf("detach job %d: %w", id, err)
		}
		if _, err := tx.Exec(`UPDATE tasks SET state = 'lost', reason = ?, ended_at = ? WHERE job_id = ? AND state IN ('queued', 'running')`,
			"in another home: this store is a copy of "+original, at, id); err != nil {
			return d, fmt.Errorf("detach tasks of job %d: %w", id, err)
		}
		d.Jobs++
		d.Tasks += n
	}
	res, err := tx.Exec(`UPDATE machines SET state = 'lost', agent_pid = 0, agent_start = 0, stopped_at = COALESCE(stopped_at, ?)
		WHERE state IN ('pending', 'running', 'stopping')`, at)
	if err != nil {
		return d, fmt.Errorf("detach machines: %w", err)
	}
	n, _ := res.RowsAffected()
	d.Machines = int(n)
	_, err = tx.Exec(`INSERT INTO events (at, actor, kind, project, target, message, result) VALUES (?, 'server', 'store.copy', '', 'store', ?, 'ok')`,
		at, fmt.Sprintf("this store is a copy of %s: it took a new home id and let go of %d jobs, %d tasks and %d machines of that home, which run there; `burst map --resume ID` runs a map here",
			original, d.Jobs, d.Tasks, d.Machines))
	if err != nil {
		return d, fmt.Errorf("record the copy: %w", err)
	}
	return d, nil
}
