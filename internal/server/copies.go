package server

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/burst-sh/burst/internal/api"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/diskroom"
	"github.com/burst-sh/burst/internal/web"
)

// Copies of the store (snapshots, backups sent to a client) are full
// copies written under the home, on the store's own filesystem: one at a
// time (copyGate), and none that would leave that filesystem with less
// than diskroom.MinFree, the free space below which new work is refused (disk.go).
// A snapshot that has no room is skipped with a warning in the log; a
// backup is answered 507 naming the filesystem and the space it needs.

// backupWait is how long a backup request waits for the copy under way
// before it is answered 503 with Retry-After.
const backupWait = 30 * time.Second

// copyGate lets one copy of the store be made at a time.
type copyGate chan struct{}

func newCopyGate() copyGate { return make(copyGate, 1) }

// acquire waits for the gate until ctx ends or wait passes (wait <= 0:
// only ctx), and returns the release.
func (g copyGate) acquire(ctx context.Context, wait time.Duration) (func(), error) {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case g <- struct{}{}:
		return func() { <-g }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timeout:
		return nil, fmt.Errorf("%w: waited %s for the one under way; try again later", api.ErrCopyBusy, wait)
	}
}

// copyStore writes a consistent copy of the store to dst (a new file in
// dir) when the gate lets it, and when dir's filesystem has room for it.
func (s *Server) copyStore(ctx context.Context, dir, dst string, wait time.Duration) error {
	release, err := s.copies.acquire(ctx, wait)
	if err != nil {
		return err
	}
	defer release()
	if err := s.roomForCopy(dir); err != nil {
		return err
	}
	return s.st.Backup(ctx, dst)
}

// roomForCopy reads the free space of dir's filesystem and the store's
// size (its file and WAL: about what a copy takes), and says whether a
// copy fits (nil) or not (*apierr.NoSpace). Unreadable: nil, the copy's
// own errors will say.
func (s *Server) roomForCopy(dir string) error {
	db := s.st.Path()
	var size uint64
	for _, p := range []string{db, db + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			size += uint64(fi.Size())
		}
	}
	free, total, ok := diskroom.Space(dir)
	if !ok || free >= size+diskroom.MinFree(total) {
		return nil
	}
	return copyRoom(diskroom.MountPoint(dir), dir, size, free, total) // the mount table is read only to refuse
}

// copyRoom is the rule: a copy of size bytes fits in a filesystem with
// free of total bytes free when at least diskroom.MinFree(total) is left after it.
func copyRoom(mount, dir string, size, free, total uint64) error {
	need := size + diskroom.MinFree(total)
	if free >= need {
		return nil
	}
	return &apierr.NoSpace{Msg: fmt.Sprintf(
		"no room for a copy of the store (%s) in %s: the filesystem %s has %s free, and burst keeps %s free there; free at least %s there (or keep fewer snapshots: BURST_SNAPSHOT_KEEP)",
		web.Bytes(int64(size)), dir, mount, web.Bytes(int64(free)), web.Bytes(int64(diskroom.MinFree(total))), web.Bytes(int64(need-free)))}
}
