package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/home"
	"github.com/burst-sh/burst/internal/store"
)

// Snapshots: while it serves, the server copies its store into
// $BURST_HOME/backups/state-TIME.db every SnapshotEvery, when something was
// written since the last copy, and keeps the newest SnapshotKeep. A store
// found damaged at start is refused with the newest of them named, so that
// a damaged store costs at most SnapshotEvery of history.
const (
	DefaultSnapshotEvery = 15 * time.Minute
	DefaultSnapshotKeep  = 8
)

// snapshotPrefix and snapshotSuffix frame a snapshot's name around its UTC
// time, so that names sort as times do.
const (
	snapshotPrefix = "state-"
	snapshotSuffix = ".db"
	snapshotTime   = "20060102T150405.000Z"
)

// SnapshotConfig reads BURST_SNAPSHOT_EVERY (a duration such as 15m; 0
// turns snapshots off) and BURST_SNAPSHOT_KEEP (how many to keep, at least
// 1) over the defaults; the error names the variable and the fix.
func SnapshotConfig() (every time.Duration, keep int, err error) {
	every, keep = DefaultSnapshotEvery, DefaultSnapshotKeep
	if v := os.Getenv("BURST_SNAPSHOT_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if v == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 || d > 0 && d < time.Second {
			return 0, 0, fmt.Errorf("BURST_SNAPSHOT_EVERY=%s: give a duration of 1s or more, e.g. 15m, or 0 for no snapshots", v)
		}
		every = d
	}
	if v := os.Getenv("BURST_SNAPSHOT_KEEP"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return 0, 0, fmt.Errorf("BURST_SNAPSHOT_KEEP=%s: give how many snapshots to keep, from 1 to 10000", v)
		}
		keep = n
	}
	return every, keep, nil
}

// openStore checks the store and opens it, private (0600) from its first
// byte: SQLite would create it 0644, and its -wal and -shm files take its
// mode. A damaged store is refused with the steps to recover.
func (s *Server) openStore(ctx context.Context) (*store.Store, error) {
	h := s.home
	if err := home.CreatePrivate(h.DB()); err != nil {
		return nil, fmt.Errorf("create %s: %w", h.DB(), err)
	}
	// Open checks the store on its own connection before anything writes
	// to it; the handler is set after, so that damage found at start is
	// refused with the steps to recover rather than ending the server.
	st, err := store.OpenContext(ctx, h.DB())
	if err != nil {
		if store.IsCorrupt(err) {
			return nil, errors.New(RecoverySteps(h, err))
		}
		return nil, err
	}
	store.OnCorrupt(s.storeCorrupt)
	if st.Unchecked() {
		// A healthy large store on a cold cache is not refused for its
		// size: it is served, and checked whole meanwhile; damage ends
		// the server as damage any statement meets does.
		s.log.Warn("the store's check did not finish in time; serving it while the check goes on", "store", h.DB(), "within", store.CheckTimeout)
		s.loops.Go(func() {
			start := time.Now()
			err := st.FinishCheck(ctx)
			switch {
			case store.IsCorrupt(err):
				s.storeCorrupt(err)
			case err != nil && ctx.Err() == nil:
				s.log.Warn("the store's check could not finish", "store", h.DB(), "err", err)
			case err == nil:
				s.log.Info("the store's check finished: it is whole", "store", h.DB(), "took", time.Since(start).Round(time.Millisecond))
			}
		})
	}
	return st, nil
}

// storeCorrupt ends the server when a statement finds the store damaged
// while it serves: the answer being written is cut (its client sees a
// broken answer, not a short one that looks whole), and nothing more is
// served from a store that may answer each read with a different part of
// the truth. The next server's Check refuses the store with the steps to
// recover, which any command then shows. Damage that quick_check does not
// see (an index's content) would pass that check and be met again by the
// next command, a restart each time: the server marks the store damaged
// (store.MarkDamaged), and the next start runs the full integrity check
// before it serves it.
func (s *Server) storeCorrupt(err error) {
	if merr := store.MarkDamaged(s.home.DB(), err); merr != nil {
		s.log.Error("could not mark the store damaged for the next start", "mark", store.DamagedMark(s.home.DB()), "err", merr)
	}
	s.log.Error("the store is damaged; exiting rather than serving part of it", "err", err, "recover", RecoverySteps(s.home, err))
	os.Exit(3)
}

// RecoverySteps is the one line that says the store is damaged and how to
// recover: restore the newest snapshot (named), or, with none, start again.
func RecoverySteps(h home.Home, err error) string {
	detail := err.Error()
	var ce *store.CorruptError
	if errors.As(err, &ce) {
		detail = ce.Detail
	}
	snaps := Snapshots(h)
	if len(snaps) == 0 {
		return fmt.Sprintf("the state database %s is damaged (%s) and will not be served; there is no snapshot in %s: restore a copy you made with `burst server restore FILE`, or move %s aside to start with an empty one",
			h.DB(), detail, h.Backups(), h.DB())
	}
	return fmt.Sprintf("the state database %s is damaged (%s) and will not be served: run `burst server restore %s` (the damaged store is kept aside), then run your command again; snapshots in %s, newest first: %s",
		h.DB(), detail, snaps[len(snaps)-1], h.Backups(), listSnapshots(snaps))
}

// listSnapshots names snapshots, newest first, by their file names: eight
// at most, then how many more.
func listSnapshots(snaps []string) string {
	const most = 8
	var names []string
	for i := len(snaps) - 1; i >= 0 && len(names) < most; i-- {
		names = append(names, filepath.Base(snaps[i]))
	}
	s := strings.Join(names, ", ")
	if len(snaps) > most {
		s += fmt.Sprintf(" and %d older", len(snaps)-most)
	}
	return s
}

// Snapshots lists the snapshots in h's backups directory, oldest first.
func Snapshots(h home.Home) []string {
	ents, err := os.ReadDir(h.Backups())
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, snapshotPrefix) && strings.HasSuffix(n, snapshotSuffix) {
			out = append(out, filepath.Join(h.Backups(), n))
		}
	}
	sort.Strings(out)
	return out
}

// BackupTo writes a consistent copy of the store to dst, a new file, while
// the server goes on serving (GET /v1/backup, burst server backup).
// One copy is made at a time (copies.go): a request waits backupWait for
// the one under way, then is refused with api.ErrCopyBusy; a copy that
// would leave the disk nearly full is refused with *apierr.NoSpace.
func (s *Server) BackupTo(ctx context.Context, dst string) error {
	return s.copyStore(ctx, s.home.Backups(), dst, backupWait)
}

// BackupDir is where a copy on its way to a client is written.
func (s *Server) BackupDir() string { return s.home.Backups() }

// snapshotLoop takes a snapshot every d while the store was written
// since the last one, and prunes to the newest keep. It ends with ctx.
func (s *Server) snapshotLoop(ctx context.Context, d time.Duration, keep int) {
	if d <= 0 {
		return
	}
	var last time.Time // of the last snapshot this server took
	if snaps := Snapshots(s.home); len(snaps) > 0 {
		if fi, err := os.Stat(snaps[len(snaps)-1]); err == nil {
			last = fi.ModTime()
		}
	}
	every(ctx, d, false, nil, func() {
		if !written(s.home.DB(), last) {
			return
		}
		now := time.Now()
		path, err := s.snapshotStore(ctx, now)
		if err != nil {
			var ns *apierr.NoSpace
			switch {
			case ctx.Err() != nil:
			case errors.As(err, &ns):
				s.log.Warn("snapshot of the store skipped: the disk is nearly full", "err", ns.Msg)
			default:
				s.log.Warn("snapshot of the store failed", "err", err)
			}
			return
		}
		last = now
		s.log.Info("snapshot of the store", "path", path)
		pruneSnapshots(s.home, keep)
	})
}

// written reports whether the store (its file or its WAL) changed after t.
func written(db string, t time.Time) bool {
	for _, p := range []string{db, db + "-wal"} {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(t) {
			return true
		}
	}
	return false
}

// snapshotStore copies the store into backups/ under a name it gets only once
// whole (a crash mid-copy leaves a .tmp file no listing shows).
func (s *Server) snapshotStore(ctx context.Context, now time.Time) (string, error) {
	dir := s.home.Backups()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	name := filepath.Join(dir, snapshotPrefix+now.UTC().Format(snapshotTime)+snapshotSuffix)
	tmp := name + ".tmp"
	os.Remove(tmp)
	if err := s.copyStore(ctx, dir, tmp, 0); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return name, nil
}

// pruneSnapshots removes all but the newest keep snapshots, and, an hour
// old, copies left half-made by a server that died while writing them.
func pruneSnapshots(h home.Home, keep int) {
	snaps := Snapshots(h)
	for len(snaps) > keep {
		os.Remove(snaps[0])
		snaps = snaps[1:]
	}
	tmps, _ := filepath.Glob(filepath.Join(h.Backups(), snapshotPrefix+"*"+snapshotSuffix+".tmp"))
	// and copies a server that died while sending them left (api/backup.go)
	downloads, _ := filepath.Glob(filepath.Join(h.Backups(), ".download-*.db"))
	for _, t := range append(tmps, downloads...) {
		if fi, err := os.Stat(t); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.Remove(t)
		}
	}
}
