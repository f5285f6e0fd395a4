package runner

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/burst-sh/burst"
)

// A task whose log (burst's own, not a file the task writes itself) meets a
// full filesystem is lost, not failed: the disk is its machine's fault, and
// it runs again once there is room, using none of its retries. (Before: it
// failed, and a map on a home whose disk filled failed every task that
// ended meanwhile; found by a hostile run.)
func TestLogOnFullDiskIsLost(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("BURST_CI") != "" {
			t.Fatal("not root: a tmpfs cannot be mounted, and BURST_CI is set: CI must not skip")
		}
		t.Skip("SKIPPED: not root: a small tmpfs cannot be mounted")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount a tmpfs: %v", err)
	}
	defer syscall.Unmount(dir, syscall.MNT_DETACH)
	fill, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := fill.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	fill.Close()
	task, err := Start(Spec{Argv: []string{"sh", "-c", "head -c 100000 /dev/zero"}, Env: os.Environ(), Stdout: filepath.Join(dir, "logs", "0.out")})
	var r Result
	if err == nil {
		r = task.Wait()
	}
	if err != nil || r.State != burst.Lost || !strings.Contains(r.Reason, "no space left") {
		t.Errorf("a task whose log met a full disk: %v, %s (%q); want lost, naming the full disk", err, r.State, r.Reason)
	}
}
