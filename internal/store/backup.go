package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Backup writes a consistent copy of the store to dst, while the store
// serves: `VACUUM INTO` reads one snapshot of the database (WAL lets the
// writer go on meanwhile) and writes it compacted, as a database of its own
// with nothing pending. dst must not exist, or be empty; it is created 0600
// (the store holds every job's environment). A copy that fails is removed.
func (s *Store) Backup(ctx context.Context, dst string) error {
	// A connection of its own: the writer's stays free for the server's
	// writes, and the readers' are query_only, which VACUUM INTO refuses.
	// Through openDB: a snapshot reads every page, so it finds a damaged
	// one even where no request has looked yet.
	db, err := openDB("file:" + s.path + "?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("back up %s: %w", s.path, err)
	}
	defer db.Close()
	return backup(ctx, db, s.path, dst)
}

// backup writes db's database, src, to dst with VACUUM INTO.
func backup(ctx context.Context, db *sql.DB, src, dst string) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists: name a new file, or remove it first", dst)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	f.Close()
	ok := false
	defer func() {
		if !ok {
			os.Remove(dst)
		}
	}()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("back up %s to %s: %w", src, dst, err)
	}
	if err := syncFile(dst); err != nil {
		return fmt.Errorf("back up %s to %s: %w", src, dst, err)
	}
	ok = true
	return nil
}

// Restore replaces the store at dst with a copy of the backup at src. It
// checks first that src is a whole burst store (CheckBackup), and makes the
// copy beside dst with VACUUM INTO from a read-only connection: the copy
// holds what src holds with its WAL (a store copied with its -wal file),
// and src, its WAL included, is left as it was. Then it moves dst, with its
// -wal and -shm files, aside as dst.damaged-TIME (kept, not deleted, and
// not opened: it may hold history the backup lacks), and puts the synced
// copy in its place with a rename. It returns the name the old store was
// moved to ("" if there was none). No server may hold dst open: the caller
// checks that none runs.
func Restore(ctx context.Context, src, dst string, now time.Time) (aside string, err error) {
	if err := CheckBackup(ctx, src); err != nil {
		var ce *CorruptError
		switch {
		case errors.As(err, &ce):
			return "", fmt.Errorf("cannot restore from %s: it is not a whole burst store (%s): choose another backup or snapshot", src, ce.Detail)
		case errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("cannot restore from %s: no such file", src)
		}
		return "", fmt.Errorf("cannot restore from %s: %w", src, err)
	}
	tmp := dst + ".restore"
	os.Remove(tmp)
	db, err := openReadOnly(src)
	if err != nil {
		return "", fmt.Errorf("cannot restore from %s: %w", src, err)
	}
	err = backup(ctx, db, src, tmp)
	db.Close()
	if err != nil {
		return "", fmt.Errorf("cannot restore from %s: %w", src, err)
	}
	stamp := now.UTC().Format("20060102T150405Z")
	if _, err := os.Lstat(dst); err == nil {
		aside = dst + ".damaged-" + stamp
		if err := os.Rename(dst, aside); err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("cannot move %s aside: %w", dst, err)
		}
	}
	// The old store's WAL must not be applied to the restored one.
	for _, sfx := range []string{"-wal", "-shm"} {
		if _, err := os.Lstat(dst + sfx); err == nil {
			target := aside + sfx
			if aside == "" {
				target = dst + sfx + ".damaged-" + stamp
			}
			if err := os.Rename(dst+sfx, target); err != nil {
				os.Remove(tmp)
				return aside, fmt.Errorf("cannot move %s aside: %w", dst+sfx, err)
			}
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return aside, fmt.Errorf("cannot put the restored store in place: %w", err)
	}
	// The mark of damage was about the store moved aside.
	if err := ClearDamaged(dst); err != nil {
		return aside, fmt.Errorf("restored %s, but its mark of damage stays: remove %s: %w", dst, DamagedMark(dst), err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync()
		d.Close()
	}
	return aside, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// MaxJobID is the highest job id the store at path holds (0 for none),
// read through a read-only connection: after a restore, logs of jobs above
// it belong to jobs the restored store never had, whose ids it will give
// again.
func MaxJobID(ctx context.Context, path string) (int64, error) {
	db, err := openReadOnly(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var id sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT max(id) FROM jobs").Scan(&id); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return id.Int64, nil
}

// MoveLogsAbove moves the log folders under logs (one per job, named by
// its id) of the jobs the store at path does not have, those above its
// highest job id, into dir (made when there are some; dir.2, dir.3, ...
// when dir is there already), and returns the folder they went to and
// their ids in the order moved: their ids will be given again, and their
// logs must not become a new job's. After a restore such jobs are expected;
// at a server's start they tell a store that lost what it recorded.
func MoveLogsAbove(ctx context.Context, path, logs, dir string) (string, []int64, error) {
	top, err := MaxJobID(ctx, path)
	if err != nil {
		return "", nil, err
	}
	above, err := namesAbove(logs, top)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil, nil
		}
		return "", nil, err
	}
	var moved []int64
	made := false
	for _, id := range above {
		name := strconv.FormatInt(id, 10)
		if fi, err := os.Lstat(filepath.Join(logs, name)); err != nil || !fi.IsDir() {
			continue
		}
		if !made {
			// A folder of its own, even when a move of the same second made
			// one of that name.
			base := dir
			for n := 2; ; n++ {
				err := os.Mkdir(dir, 0o700)
				if err == nil {
					break
				}
				if !errors.Is(err, fs.ErrExist) || n > 100 {
					return dir, moved, err
				}
				dir = fmt.Sprintf("%s.%d", base, n)
			}
			made = true
		}
		if err := os.Rename(filepath.Join(logs, name), filepath.Join(dir, name)); err != nil {
			return dir, moved, fmt.Errorf("move the logs of job %d aside: %w", id, err)
		}
		moved = append(moved, id)
	}
	if !made {
		return "", nil, nil
	}
	return dir, moved, nil
}

// namesAbove lists the entries of dir named by a job id above top, the
// lowest first. It reads names alone, a batch at a time, unsorted:
// every server start reads the logs folder, one entry per job the home
// ever ran (100,000 folders on the 2-core test machine: 27 ms a scan, where
// os.ReadDir, which sorts and types each, took 79 ms; go test -run - -bench
// LogsFolderScan -benchtime 10x ./internal/store/).
func namesAbove(dir string, top int64) ([]int64, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ids []int64
	for {
		names, err := f.Readdirnames(4096)
		for _, n := range names {
			if id, err := strconv.ParseInt(n, 10, 64); err == nil && id > top && n == strconv.FormatInt(id, 10) {
				ids = append(ids, id)
			}
		}
		if err == io.EOF {
			slices.Sort(ids)
			return ids, nil
		}
		if err != nil {
			return ids, err
		}
	}
}
