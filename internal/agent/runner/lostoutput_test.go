package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/burst-sh/burst/internal/testfs"

	"github.com/burst-sh/burst"
)

// A task whose log (burst's own, not a file the task writes itself) meets a
// full filesystem is lost, not failed: the disk is its machine's fault, and
// it runs again once there is room, using none of its retries. (Before: it
// failed, and a map on a home whose disk filled failed every task that
// ended meanwhile; found by a hostile run.)
func TestLogOnFullDiskIsLost(t *testing.T) {
	dir := testfs.SmallDisk(t, "", "64k", nil)
	testfs.Fill(t, filepath.Join(dir, "fill"))
	task, err := Start(Spec{Argv: []string{"sh", "-c", "head -c 100000 /dev/zero"}, Env: os.Environ(), Stdout: filepath.Join(dir, "logs", "0.out")})
	var r Result
	if err == nil {
		r = task.Wait()
	}
	if err != nil || r.State != burst.Lost || !strings.Contains(r.Reason, "no space left") {
		t.Errorf("a task whose log met a full disk: %v, %s (%q); want lost, naming the full disk", err, r.State, r.Reason)
	}
}
