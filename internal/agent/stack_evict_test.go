package agent

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// unixEpoch is a last use long ago.
var unixEpoch = time.Unix(0, 0)

// treeBytes is the size of each test tree: one file of that many bytes.
const treeBytes = 1000

// stackBench is a stackTrees over a real directory with a limit of
// limit trees, its log kept, and a count of the unpacks of each tree.
type stackBench struct {
	t     *testing.T
	s     *stackTrees
	log   *bytes.Buffer
	mu    sync.Mutex
	made  map[string]int
	trees string
}

func newStackBench(t *testing.T, dir string, limit int) *stackBench {
	b := &stackBench{t: t, log: &bytes.Buffer{}, made: map[string]int{}, trees: dir}
	b.s = newStackTrees(dir, int64(limit)*treeBytes, slog.New(slog.NewTextHandler(b.log, nil)))
	return b
}

// use takes tree hex, unpacking it if need be, and checks its file is
// there; it returns the release.
func (b *stackBench) use(hex string) func() {
	b.t.Helper()
	root, release, err := b.s.use(context.Background(), hex, treeBytes, func(dir string) error {
		b.mu.Lock()
		b.made[hex]++
		b.mu.Unlock()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "data"), bytes.Repeat([]byte{'x'}, treeBytes), 0o644)
	})
	if err != nil {
		b.t.Fatalf("using stack %s: %v", hex, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "data")); err != nil || fi.Size() != treeBytes {
		b.t.Fatalf("stack %s's root %s lacks its file: %v", hex, root, err)
	}
	return release
}

// present says which of hexes are unpacked, and checks no trash is left.
func (b *stackBench) present(hexes ...string) map[string]bool {
	b.t.Helper()
	out := map[string]bool{}
	for _, h := range hexes {
		_, err := os.Stat(filepath.Join(b.trees, h, "rootfs"))
		out[h] = err == nil
	}
	ents, _ := os.ReadDir(b.trees)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), stackTrash) {
			b.t.Fatalf("an evicted tree was left: %s", e.Name())
		}
	}
	return out
}

func (b *stackBench) warnings() int {
	return strings.Count(b.log.String(), "level=WARN")
}

// Three stacks over a limit of two: the least recently used one (not the
// first unpacked: it was used again since) is evicted.
func TestStackEvictLRU(t *testing.T) {
	b := newStackBench(t, t.TempDir(), 2)
	b.use("aa")()
	b.use("bb")()
	b.use("aa")() // aa is used again: bb is now the least recent
	b.use("cc")()
	if p := b.present("aa", "bb", "cc"); !p["aa"] || p["bb"] || !p["cc"] {
		t.Fatalf("after aa, bb, aa, cc over a limit of two: present %v, want aa and cc", p)
	}
	if b.made["aa"] != 1 || b.made["cc"] != 1 {
		t.Fatalf("unpacks %v: aa and cc once each", b.made)
	}
	if n, err := readSize(filepath.Join(b.trees, "cc")); err != nil || n != treeBytes {
		t.Fatalf("cc's recorded size: %d, %v; want %d", n, err, treeBytes)
	}
	if b.warnings() != 0 {
		t.Fatalf("warned with room to make:\n%s", b.log)
	}
}

// Held stacks are never evicted: the unpack goes on over the limit with
// one warning line, and a held tree is evicted once let go.
func TestStackEvictNeverHeld(t *testing.T) {
	b := newStackBench(t, t.TempDir(), 2)
	relA := b.use("aa")
	relB := b.use("bb")
	relC := b.use("cc")
	if p := b.present("aa", "bb", "cc"); !p["aa"] || !p["bb"] || !p["cc"] {
		t.Fatalf("three held stacks over a limit of two: present %v, want all", p)
	}
	if n := b.warnings(); n != 1 {
		t.Fatalf("%d warning lines over the limit, want 1:\n%s", n, b.log)
	}
	relA()
	relD := b.use("dd") // aa, let go, goes; bb and cc are held
	if p := b.present("aa", "bb", "cc", "dd"); p["aa"] || !p["bb"] || !p["cc"] || !p["dd"] {
		t.Fatalf("with bb and cc held, aa let go: present %v, want bb, cc, dd", p)
	}
	if n := b.warnings(); n != 1 {
		t.Fatalf("still over the limit: %d warning lines, want the first one only:\n%s", n, b.log)
	}
	relB()
	relC()
	relD()
}

// A tree another agent of the home holds (a second stackTrees on the same
// directory, and a bare shared flock through its own descriptor) is never
// evicted: the next least recent one goes instead.
func TestStackEvictOtherAgent(t *testing.T) {
	dir := t.TempDir()
	b := newStackBench(t, dir, 2)
	other := newStackBench(t, dir, 2)
	relA := other.use("aa") // the least recent, held by the other agent
	b.use("bb")()
	b.use("cc")()
	if p := b.present("aa", "bb", "cc"); !p["aa"] || p["bb"] || !p["cc"] {
		t.Fatalf("aa held by another agent: present %v, want aa and cc (bb evicted)", p)
	}
	relA()
	// Now a bare lock holder on aa, still the least recent.
	f, err := os.Open(filepath.Join(dir, "aa.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(dir, "aa.lock"), unixEpoch, unixEpoch)
	b.use("dd")()
	if p := b.present("aa", "cc", "dd"); !p["aa"] || p["cc"] || !p["dd"] {
		t.Fatalf("aa locked shared by another holder: present %v, want aa and dd (cc evicted)", p)
	}
}

// A tree evicted and wanted again is unpacked again; one found at the
// start without its size recorded is measured.
func TestStackEvictedUnpackedAgain(t *testing.T) {
	dir := t.TempDir()
	b := newStackBench(t, dir, 1)
	b.use("aa")()
	b.use("bb")()
	b.use("aa")()
	if p := b.present("aa", "bb"); !p["aa"] || p["bb"] {
		t.Fatalf("limit of one, aa wanted again: present %v, want aa only", p)
	}
	if b.made["aa"] != 2 {
		t.Fatalf("aa unpacked %d times, want twice (evicted between)", b.made["aa"])
	}
	os.Remove(filepath.Join(dir, "aa", stackSizeFile))
	os.MkdirAll(filepath.Join(dir, stackTrash+"aa-x", "rootfs"), 0o755) // an earlier agent's removal cut short
	newStackTrees(dir, treeBytes, slog.New(slog.DiscardHandler))
	if n, err := readSize(filepath.Join(dir, "aa")); err != nil || n != treeBytes {
		t.Fatalf("a tree found without its size: recorded %d, %v; want %d", n, err, treeBytes)
	}
	b.present() // and the trash is gone
}

// Least recently used first.
func TestStackEvictOrder(t *testing.T) {
	got := evictOrder([]stackTree{{hex: "b", last: unixEpoch.Add(2)}, {hex: "a", last: unixEpoch.Add(1)}, {hex: "c", last: unixEpoch.Add(3)}})
	if got[0].hex != "a" || got[1].hex != "b" || got[2].hex != "c" {
		t.Fatalf("order %v, want a, b, c", got)
	}
}

// A task that asks for a tree while an evictor holds its lock waits for
// it (or for its context), then finds the tree gone and unpacks it again.
func TestStackEvictWhileWaiting(t *testing.T) {
	dir := t.TempDir()
	b := newStackBench(t, dir, 2)
	b.use("aa")()
	// An evictor (of another agent) takes aa and renames it away.
	f, err := os.Open(filepath.Join(dir, "aa.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := b.s.use(ctx, "aa", treeBytes, func(string) error { return nil }); err != context.Canceled {
		t.Fatalf("asking for a tree an evictor holds, with an ended context: %v, want context.Canceled", err)
	}
	trash := filepath.Join(dir, stackTrash+"aa-test")
	if err := os.Rename(filepath.Join(dir, "aa"), trash); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{}, 1)
	lockWaitHook = func(path string) {
		if filepath.Base(path) == "aa.lock" {
			select {
			case waiting <- struct{}{}:
			default:
			}
		}
	}
	t.Cleanup(func() { lockWaitHook = nil })
	got := make(chan error, 1)
	go func() {
		_, release, err := b.s.use(context.Background(), "aa", treeBytes, func(dir string) error {
			b.mu.Lock()
			b.made["aa"]++
			b.mu.Unlock()
			return os.MkdirAll(dir, 0o755)
		})
		if err == nil {
			release()
		}
		got <- err
	}()
	select { // the task waits for the evictor's lock before it lets go
	case <-waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the task never waited for the lock the evictor holds")
	}
	os.RemoveAll(trash)
	f.Close() // the evictor lets go
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("asking for aa after its eviction: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a task waiting for an evicted tree's lock still waits 10 s after it was let go")
	}
	if b.made["aa"] != 2 {
		t.Fatalf("aa unpacked %d times, want twice (found gone after the wait)", b.made["aa"])
	}
}

// What holding a cached tree costs a task: a lock file opened, locked
// shared and touched, then touched and closed.
func BenchmarkStackUseCached(b *testing.B) {
	s := newStackTrees(b.TempDir(), 1<<30, slog.New(slog.DiscardHandler))
	mk := func(dir string) error { return os.MkdirAll(dir, 0o755) }
	for b.Loop() {
		_, release, err := s.use(context.Background(), "aa", 1, mk)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}
