package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Backup writes a consistent copy of the store to dst, while the store
// serves: `VACUUM INTO` reads one snapshot of the database (WAL lets the
// writer go on meanwhile) and writes it compacted, as a database of its own
// with nothing pending. dst must not exist, or be empty; it is created 0600
// (the store holds every job's environment). A copy that fails is removed.
func (s *Store) Backup(ctx context.Context, dst string) error {
	return backup(ctx, s.path, dst)
}

func backup(ctx context.Context, src, dst string) error {
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
	// A connection of its own: the writer's stays free for the server's
	// writes, and the readers' are query_only, which VACUUM INTO refuses.
	// Through openDB: a snapshot reads every page, so it finds a damaged
	// one even where no request has looked yet.
	db, err := openDB("file:" + src + "?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("back up %s: %w", src, err)
	}
	defer db.Close()
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
// checks first that src is a whole burst store (CheckBackup); then it moves
// dst, with its -wal and -shm files, aside as dst.damaged-TIME (kept, not
// deleted: it may hold history the backup lacks), and puts the copy in its
// place (written beside it, synced, then renamed). It returns the name the
// old store was moved to ("" if there was none). No server may hold dst
// open: the caller checks that none runs.
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
	if err := copyFile(src, tmp); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("cannot restore from %s: %w", src, err)
	}
	if _, err := os.Stat(dst); err == nil {
		aside = dst + ".damaged-" + now.UTC().Format("20060102T150405Z")
		if err := os.Rename(dst, aside); err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("cannot move %s aside: %w", dst, err)
		}
	}
	// The old store's WAL must not be applied to the restored one.
	for _, sfx := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(dst + sfx); err == nil {
			target := aside + sfx
			if aside == "" {
				target = dst + sfx + ".damaged-" + now.UTC().Format("20060102T150405Z")
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
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync()
		d.Close()
	}
	return aside, nil
}

// copyFile copies src to a new file dst (0600) and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
