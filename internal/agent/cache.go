package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/burst-sh/burst/client"
)

// cache is this machine's store of the blobs that tasks stage
// ($BURST_HOME/cache): each blob is fetched once per machine, however many
// tasks want it at the same moment (the first fetches, the others wait for
// it), kept read-only, and evicted least recently used when the cache
// passes its size limit, never while a task holds it. A file is trusted
// only as it was when verified (its size and modification time): one that
// changed since (a task that wrote through its read-only link, a disk
// error, a person) is evicted and fetched again. Agents of one home share
// the directory; a lock file per blob makes a second agent wait for the
// first one's fetch rather than fetch it again.
type cache struct {
	dir   string
	limit int64
	log   *slog.Logger

	mu      sync.Mutex
	entries map[string]*centry
	used    int64 // bytes of the entries on disk or being fetched
	tick    uint64
	over    bool // the limit was passed for want of anything to evict (said once)
}

// centry is one blob of the cache.
type centry struct {
	key   string
	path  string
	size  int64
	mtime int64         // ns, as verified: 0 until it is (a file found at the start)
	uses  int           // tasks holding it
	last  uint64        // when it was last acquired (c.tick)
	ready chan struct{} // closed when its fetch ended (nil: no fetch runs)
	err   error         // that fetch's error, for those who waited for it
}

// fetchFunc writes a blob to dst, atomically and verified.
type fetchFunc func(ctx context.Context, dst string) error

// errCacheTooSmall: a blob larger than the whole cache.
var errCacheTooSmall = errors.New("larger than this machine's blob cache")

// newCache opens the cache in dir, counting what an earlier agent left
// there (verified when first used).
func newCache(dir string, limit int64, log *slog.Logger) *cache {
	c := &cache{dir: dir, limit: limit, log: log, entries: map[string]*centry{}}
	for _, kind := range []string{"sha256", "s3"} {
		filepath.WalkDir(filepath.Join(dir, kind), func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || strings.Contains(d.Name(), ".") {
				return nil // lock files (another agent of this home may hold one), a fetch's temporary files
			}
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			key := kind + ":" + d.Name()
			c.entries[key] = &centry{key: key, path: p, size: fi.Size()}
			c.used += fi.Size()
			return nil
		})
	}
	return c
}

// pathOf is where blob key lies: DIR/KIND/ab/HEX.
func (c *cache) pathOf(key string) string {
	kind, h, _ := strings.Cut(key, ":")
	return filepath.Join(c.dir, kind, h[:2], h)
}

// acquire returns the path of blob key of size bytes, fetched with fetch
// unless the cache holds it intact, and holds it until release.
func (c *cache) acquire(ctx context.Context, key string, size int64, fetch fetchFunc) (string, error) {
	if size > c.limit {
		return "", fmt.Errorf("%s is %d bytes, %w (%d bytes): raise the agent's --cache-size", key, size, errCacheTooSmall, c.limit)
	}
	for {
		c.mu.Lock()
		e := c.entries[key]
		if e != nil && e.ready != nil {
			ch := e.ready
			c.mu.Unlock()
			select { // another task fetches it: wait for that fetch
			case <-ctx.Done():
				return "", ctx.Err()
			case <-ch:
			}
			if e.err != nil && !errors.Is(e.err, context.Canceled) && !errors.Is(e.err, context.DeadlineExceeded) {
				return "", e.err
			}
			continue // fetched (or its fetcher gave up): look again
		}
		if e != nil && e.mtime != 0 {
			if c.intact(e) {
				e.uses++
				c.tick++
				e.last = c.tick
				c.mu.Unlock()
				return e.path, nil
			}
			c.log.Warn("a cached blob changed since it was verified: evicted and fetched again", "blob", key, "file", e.path)
			c.dropLocked(e)
		}
		if e != nil { // found at the start, not verified yet: fill verifies it
			c.used -= e.size
		}
		e = &centry{key: key, path: c.pathOf(key), size: size, uses: 1, ready: make(chan struct{})}
		c.entries[key] = e
		c.used += size
		c.makeRoomLocked()
		c.mu.Unlock()
		err := c.fill(ctx, e, fetch)
		c.mu.Lock()
		e.err = err
		close(e.ready)
		e.ready = nil
		if err != nil {
			delete(c.entries, key)
			c.used -= size
		} else {
			c.tick++
			e.last = c.tick
		}
		c.mu.Unlock()
		if err != nil {
			return "", err
		}
		return e.path, nil
	}
}

// release lets go of a blob a task held. One that changed while the task
// ran (written through its link) is evicted: the next task fetches it again.
func (c *cache) release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || e.ready != nil {
		return
	}
	e.uses--
	if !c.intact(e) {
		c.log.Warn("a task changed a staged input (read-only, linked from the cache): evicted from the cache", "blob", key)
		c.dropLocked(e)
	}
	c.makeRoomLocked()
}

// intact reports whether e's file is as verified (c.mu held: a stat).
func (c *cache) intact(e *centry) bool {
	fi, err := os.Stat(e.path)
	return err == nil && fi.Size() == e.size && fi.ModTime().UnixNano() == e.mtime
}

// dropLocked forgets e and removes its file; tasks that hold it keep their
// own links.
func (c *cache) dropLocked(e *centry) {
	os.Remove(e.path)
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
		c.used -= e.size
	}
}

// makeRoomLocked evicts the least recently used blobs no task holds until
// the cache is within its limit.
func (c *cache) makeRoomLocked() {
	for c.used > c.limit {
		var lru *centry
		for _, e := range c.entries {
			if e.uses == 0 && e.ready == nil && (lru == nil || e.last < lru.last) {
				lru = e
			}
		}
		if lru == nil {
			if !c.over {
				c.over = true
				c.log.Warn("the blob cache is over its limit with every blob in use: it shrinks as tasks end", "used", c.used, "limit", c.limit)
			}
			return
		}
		c.dropLocked(lru)
	}
	c.over = false
}

// fill puts blob e in place: a file already there (an earlier agent's, or
// another agent's of this home that fetched it meanwhile) if its hash is
// right, else a fresh fetch. The blob's lock file keeps two agents of one
// home from fetching it both.
func (c *cache) fill(ctx context.Context, e *centry, fetch fetchFunc) error {
	if err := os.MkdirAll(filepath.Dir(e.path), 0o700); err != nil {
		return fmt.Errorf("blob cache: %w", err)
	}
	lock, err := lockFile(ctx, e.path+".lock", unix.LOCK_EX)
	if err != nil {
		return fmt.Errorf("blob cache: %w", err)
	}
	defer lock.Close()
	if ok := c.adopt(e); ok {
		return nil
	}
	os.Remove(e.path)
	if err := fetch(ctx, e.path); err != nil {
		os.Remove(e.path)
		return err
	}
	if err := os.Chmod(e.path, 0o444); err != nil {
		return fmt.Errorf("blob cache: %w", err)
	}
	fi, err := os.Stat(e.path)
	if err != nil {
		return fmt.Errorf("blob cache: %w", err)
	}
	if fi.Size() != e.size {
		os.Remove(e.path)
		return fmt.Errorf("%s arrived with %d bytes, not %d: not used", e.key, fi.Size(), e.size)
	}
	e.mtime = fi.ModTime().UnixNano()
	return nil
}

// adopt takes a file found in e's place when its content is e's (a
// sha256 blob whose hash is right); it says whether it did.
func (c *cache) adopt(e *centry) bool {
	kind, want, _ := strings.Cut(e.key, ":")
	if kind != "sha256" {
		return false // an s3 object is fetched afresh: only its own ETag names it
	}
	fi, err := os.Stat(e.path)
	if err != nil || fi.Size() != e.size {
		return false
	}
	if ref, err := client.HashFile(e.path); err != nil || ref.Digest != "sha256:"+want {
		c.log.Warn("a cached blob's content is not its hash: fetched again", "blob", e.key)
		return false
	}
	os.Chmod(e.path, 0o444)
	e.mtime = fi.ModTime().UnixNano()
	return true
}

// lockFile takes a lock on path (made if need be), exclusive or shared
// (how: unix.LOCK_EX or LOCK_SH), through a descriptor of its own, waiting
// for it until ctx ends.
func lockFile(ctx context.Context, path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for waited := false; ; waited = true {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if h := lockWaitHook; h != nil && !waited {
			h(path)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lockWaitHook, when set (tests only), is called once per lockFile that
// finds its lock held by another and starts to wait for it.
var lockWaitHook func(path string)

// DefaultCacheSize is the blob cache's size when none is given: half the
// space free where it lies, within 1 GiB to 50 GiB.
func DefaultCacheSize(dir string) int64 {
	const lo, hi = 1 << 30, 50 << 30
	for d := dir; ; d = filepath.Dir(d) {
		var st unix.Statfs_t
		if unix.Statfs(d, &st) == nil {
			return min(max(int64(st.Bavail)*int64(st.Bsize)/2, lo), hi)
		}
		if d == filepath.Dir(d) {
			return lo
		}
	}
}
