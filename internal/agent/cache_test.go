package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// blobOf is a blob's key and a fetch that writes it, counting its calls
// (the blob store's own FetchBlob is tested with the store).
func blobOf(t *testing.T, data []byte, calls *atomic.Int32, gate <-chan struct{}) (string, fetchFunc) {
	t.Helper()
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), func(ctx context.Context, dst string) error {
		calls.Add(1)
		if gate != nil {
			<-gate
		}
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return err
		}
		return os.Rename(tmp, dst)
	}
}

func TestCacheOneFetchForManyAtOnce(t *testing.T) {
	c := newCache(t.TempDir(), 1<<20, slog.Default())
	var calls atomic.Int32
	gate := make(chan struct{})
	data := []byte("a reference genome")
	key, fetch := blobOf(t, data, &calls, gate)
	var wg sync.WaitGroup
	paths := make([]string, 10)
	errs := make([]error, 10)
	for i := range 10 {
		wg.Go(func() { paths[i], errs[i] = c.acquire(context.Background(), key, int64(len(data)), fetch) })
	}
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	for i := range 10 {
		if errs[i] != nil || paths[i] != paths[0] {
			t.Fatalf("acquire %d: %q, %v", i, paths[i], errs[i])
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d fetches for 10 tasks at once, want 1", n)
	}
	fi, err := os.Stat(paths[0])
	if err != nil || fi.Mode().Perm() != 0o444 {
		t.Fatalf("cached file: %v, mode %v; want read-only", err, fi.Mode())
	}
	if c.entries[key].uses != 10 {
		t.Fatalf("uses %d, want 10", c.entries[key].uses)
	}
}

func TestCacheCorruptFileIsFetchedAgain(t *testing.T) {
	c := newCache(t.TempDir(), 1<<20, slog.Default())
	var calls atomic.Int32
	data := []byte("good bytes")
	key, fetch := blobOf(t, data, &calls, nil)
	p, err := c.acquire(context.Background(), key, int64(len(data)), fetch)
	if err != nil {
		t.Fatal(err)
	}
	c.release(key)
	os.Chmod(p, 0o644)
	time.Sleep(10 * time.Millisecond) // a later modification time than the verified one
	if err := os.WriteFile(p, []byte("bad  bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	p2, err := c.acquire(context.Background(), key, int64(len(data)), fetch)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p2)
	if string(got) != string(data) || calls.Load() != 2 {
		t.Fatalf("after corruption: %q with %d fetches; want %q fetched again", got, calls.Load(), data)
	}
}

func TestCacheFoundAtStartIsVerified(t *testing.T) {
	dir := t.TempDir()
	data := []byte("left by an earlier agent")
	var calls atomic.Int32
	key, fetch := blobOf(t, data, &calls, nil)
	c := newCache(dir, 1<<20, slog.Default())
	if _, err := c.acquire(context.Background(), key, int64(len(data)), fetch); err != nil {
		t.Fatal(err)
	}
	c2 := newCache(dir, 1<<20, slog.Default()) // the next agent
	if c2.used != int64(len(data)) {
		t.Fatalf("used %d, want %d", c2.used, len(data))
	}
	if _, err := c2.acquire(context.Background(), key, int64(len(data)), fetch); err != nil || calls.Load() != 1 {
		t.Fatalf("intact file found at the start: %v, %d fetches; want it adopted (1 fetch)", err, calls.Load())
	}
	p := c2.pathOf(key)
	c2.release(key)
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte("tampered with, same len!"), 0o644)
	c3 := newCache(dir, 1<<20, slog.Default())
	if _, err := c3.acquire(context.Background(), key, int64(len(data)), fetch); err != nil || calls.Load() != 2 {
		t.Fatalf("bad file found at the start: %v, %d fetches; want it fetched again", err, calls.Load())
	}
}

func TestCacheEvictsLeastRecentlyUsedNeverInUse(t *testing.T) {
	c := newCache(t.TempDir(), 25, slog.Default())
	var calls atomic.Int32
	a, fa := blobOf(t, []byte("aaaaaaaaaa"), &calls, nil)
	b, fb := blobOf(t, []byte("bbbbbbbbbb"), &calls, nil)
	d, fd := blobOf(t, []byte("dddddddddd"), &calls, nil)
	ctx := context.Background()
	pa, _ := c.acquire(ctx, a, 10, fa) // held throughout
	if _, err := c.acquire(ctx, b, 10, fb); err != nil {
		t.Fatal(err)
	}
	c.release(b)
	if _, err := c.acquire(ctx, d, 10, fd); err != nil { // 30 > 25: b goes, not a
		t.Fatal(err)
	}
	if _, err := os.Stat(pa); err != nil {
		t.Fatalf("a blob in use was evicted: %v", err)
	}
	if _, err := os.Stat(c.pathOf(b)); !os.IsNotExist(err) {
		t.Fatalf("the unused blob stayed: %v", err)
	}
	if c.used != 20 {
		t.Fatalf("used %d, want 20", c.used)
	}
	if _, err := c.acquire(ctx, "sha256:"+hex.EncodeToString(make([]byte, 32)), 26, fd); err == nil {
		t.Fatal("a blob larger than the cache was taken")
	}
}

func TestMatchOutputs(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"results/a.csv", "results/b.csv", "results/sub/c.txt", "log.txt"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), []byte(f), 0o640)
	}
	os.Symlink("/etc/passwd", filepath.Join(dir, "results", "x.csv"))
	files, empty := matchOutputs(dir, []string{"results/*.csv", "results/sub", "log.txt", "*.bam", "log.txt"})
	var got []string
	for _, f := range files {
		got = append(got, f.Path)
	}
	want := []string{"log.txt", "results/a.csv", "results/b.csv", "results/sub/c.txt"}
	if len(got) != len(want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("files %v, want %v", got, want)
		}
	}
	if files[0].Mode != 0o640 {
		t.Fatalf("mode %o, want 640", files[0].Mode)
	}
	if len(empty) != 1 || empty[0] != "'*.bam'" {
		t.Fatalf("globs that matched nothing: %v, want '*.bam'", empty)
	}
}
