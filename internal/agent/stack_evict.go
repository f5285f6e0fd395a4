package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// stackTrees are the unpacked stacks of this machine (CACHE/stacks/HEX,
// docs/stacks.md), shared by the agents of one home and counted against a
// limit: when a new unpack would pass it, the least recently used trees
// that no task holds are removed first. Each tree's unpacked size is
// recorded in HEX/size when its unpack completes (a tree found without it,
// unpacked before sizes were kept, is measured once at the agent's start
// and the file written). Its last use is the modification time of its lock
// file, CACHE/stacks/HEX.lock, touched when a task takes and lets go of it,
// so that every agent of the home sees the same order.
//
// A task holds its stack from when it asks for its root until it ends: a
// shared flock on the lock file through its own descriptor, taken before it
// looks for the tree (and before it unpacks it). The evictor takes the lock
// exclusive without waiting, so a tree that any task of any agent of the
// home holds cannot be locked and is skipped; one it locks is renamed to a
// trash name (CACHE/stacks/.trash-*) before the lock is let go, so that no
// task ever starts in a half-removed tree, and removed after, outside any
// mutex. A task that waited for its shared lock while its tree was evicted
// finds it gone and unpacks it again.
type stackTrees struct {
	dir   string // CACHE/stacks
	limit int64
	log   *slog.Logger

	making unpacks // each tree unpacked by one task of this agent at a time

	// mu serialises this agent's evictions (a scan, locks and renames:
	// never a removal) and guards what follows.
	mu      sync.Mutex
	pending map[string]int64 // trees this agent is unpacking: their blob's size
	over    bool             // over the limit for want of anything to evict (said once)
}

const (
	stackSizeFile = "size"    // HEX/size: the tree's unpacked bytes, in decimal
	stackTrash    = ".trash-" // an evicted tree being removed
)

// newStackTrees opens the unpacked stacks in dir: it removes the trash an
// earlier eviction left (an agent that stopped while removing) and
// measures the trees that have no size recorded.
func newStackTrees(dir string, limit int64, log *slog.Logger) *stackTrees {
	s := &stackTrees{dir: dir, limit: limit, log: log, pending: map[string]int64{}}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), stackTrash) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	s.scan("")
	return s
}

// stackTree is one unpacked tree as the evictor sees it.
type stackTree struct {
	hex  string
	size int64
	last time.Time // its lock file's modification time: its last use
}

// scan lists the complete trees in s.dir but skip's, sizes measured (and
// recorded) for those that lack one.
func (s *stackTrees) scan(skip string) []stackTree {
	ents, _ := os.ReadDir(s.dir)
	var out []stackTree
	for _, e := range ents {
		hex := e.Name()
		if !e.IsDir() || hex == skip || strings.HasPrefix(hex, ".") {
			continue
		}
		base := filepath.Join(s.dir, hex)
		if _, err := os.Lstat(filepath.Join(base, "rootfs")); err != nil {
			continue // being unpacked (its unpack-* directory), or evicted meanwhile
		}
		size, err := readSize(base)
		if err != nil {
			if size, err = treeSize(filepath.Join(base, "rootfs")); err != nil {
				continue
			}
			writeSize(base, size)
		}
		t := stackTree{hex: hex, size: size}
		if fi, err := os.Stat(filepath.Join(s.dir, hex+".lock")); err == nil {
			t.last = fi.ModTime()
		}
		out = append(out, t)
	}
	return out
}

// evictOrder is the order in which trees are evicted: least recently used
// first.
func evictOrder(trees []stackTree) []stackTree {
	out := slices.Clone(trees)
	slices.SortStableFunc(out, func(a, b stackTree) int { return a.last.Compare(b.last) })
	return out
}

// use returns the root filesystem of tree hex (CACHE/stacks/HEX/rootfs),
// made with unpack (which writes the tree into the directory it is given;
// need is its expected size, its blob's) when it is not there, and held
// until release is called. Callers that want the same tree wait for the
// one unpacking it, each as long as ctx lasts.
func (s *stackTrees) use(ctx context.Context, hex string, need int64, unpack func(dir string) error) (root string, release func(), err error) {
	lock, err := s.hold(ctx, hex)
	if err != nil {
		return "", nil, err
	}
	release = sync.OnceFunc(func() {
		touch(lock.Name())
		lock.Close()
	})
	base := filepath.Join(s.dir, hex)
	root = filepath.Join(base, "rootfs")
	// Looked for under the shared lock: an evictor may have removed it
	// while this task waited for the lock.
	there := func() bool { _, err := os.Lstat(root); return err == nil }
	err = s.making.do(ctx, hex, there, func() error {
		s.makeRoom(hex, need)
		defer func() {
			s.mu.Lock()
			delete(s.pending, hex)
			s.mu.Unlock()
		}()
		return s.unpack(base, root, unpack)
	})
	if err != nil {
		release()
		return "", nil, err
	}
	return root, release, nil
}

// unpack makes tree base with unpack, in a temporary directory renamed
// into place when it is complete, its size recorded first.
func (s *stackTrees) unpack(base, root string, unpack func(dir string) error) error {
	if err := os.MkdirAll(base, 0o755); err != nil {
		return errStageLost{err}
	}
	tmp, err := os.MkdirTemp(base, "unpack-")
	if err != nil {
		return errStageLost{err}
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "rootfs")
	if err := unpack(dir); err != nil {
		return err
	}
	size, err := treeSize(dir)
	if err != nil {
		return errStageLost{err}
	}
	if err := writeSize(base, size); err != nil {
		return errStageLost{err}
	}
	if err := os.Rename(dir, root); err != nil && !errors.Is(err, os.ErrExist) {
		return errStageLost{err}
	}
	return nil
}

// hold takes a shared lock on tree hex's lock file through a descriptor of
// its own, waiting while an evictor holds it (until ctx ends), and marks
// the tree used.
func (s *stackTrees) hold(ctx context.Context, hex string) (*os.File, error) {
	path := filepath.Join(s.dir, hex+".lock")
	f, err := lockFile(ctx, path, unix.LOCK_SH) // an evictor renames the tree away: a moment
	if errors.Is(err, fs.ErrNotExist) {
		// The directory is made at the first use, not at every task's
		// (or again, when someone removed it under the agent).
		if err = os.MkdirAll(s.dir, 0o755); err == nil {
			f, err = lockFile(ctx, path, unix.LOCK_SH)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, errStageLost{fmt.Errorf("locking %s: %w", path, err)}
	}
	// Not touched here: a held tree is never evicted, and release marks
	// its use when the task ends.
	return f, nil
}

// makeRoom evicts the least recently used trees that no task of any agent
// holds until the trees, with need bytes more for hex (about to be
// unpacked), are within the limit; when that cannot be, it says so once
// and lets the unpack go on. The evicted trees are renamed under s.mu and
// removed after, outside it.
func (s *stackTrees) makeRoom(hex string, need int64) {
	var trash []string
	s.mu.Lock()
	s.pending[hex] = need
	var used int64
	for _, n := range s.pending {
		used += n
	}
	trees := s.scan(hex)
	for _, t := range trees {
		used += t.size
	}
	for _, t := range evictOrder(trees) {
		if used <= s.limit {
			break
		}
		if p, ok := s.evict(t.hex); ok {
			trash = append(trash, p)
			used -= t.size
			s.log.Info("evicted an unpacked stack, the least recently used, to make room for another", "tree", t.hex, "bytes", t.size, "unpacking", hex)
		}
	}
	switch {
	case used <= s.limit:
		s.over = false
	case !s.over:
		s.over = true
		s.log.Warn("the unpacked stacks are over their limit with every tree in use: the unpack goes on, and trees are evicted as tasks end and stacks are unpacked", "bytes", used, "limit", s.limit, "dir", s.dir)
	}
	s.mu.Unlock()
	for _, p := range trash {
		if err := os.RemoveAll(p); err != nil {
			s.log.Warn("removing an evicted stack", "dir", p, "err", err)
		}
	}
}

// evict renames tree hex to a trash name if no task holds it, and says
// where it went.
func (s *stackTrees) evict(hex string) (string, bool) {
	f, err := os.OpenFile(filepath.Join(s.dir, hex+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", false
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return "", false // in use by a task of this agent or another
	}
	base := filepath.Join(s.dir, hex)
	if _, err := os.Lstat(filepath.Join(base, "rootfs")); err != nil {
		return "", false // another agent evicted it meanwhile
	}
	trash := filepath.Join(s.dir, stackTrash+hex+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Rename(base, trash); err != nil {
		return "", false
	}
	return trash, true
}

// treeSize is the bytes of the files below dir (their apparent sizes).
func treeSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

func readSize(base string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(base, stackSizeFile))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

func writeSize(base string, n int64) error {
	return os.WriteFile(filepath.Join(base, stackSizeFile), []byte(strconv.FormatInt(n, 10)+"\n"), 0o644)
}

// touch marks path used now.
func touch(path string) {
	now := time.Now()
	os.Chtimes(path, now, now)
}
