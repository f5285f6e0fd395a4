package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/diskroom"
	"github.com/burst-sh/burst/internal/testfs"

	"github.com/burst-sh/burst"
)

// A task whose log (burst's own, not a file the task writes itself) meets a
// full filesystem fails, as its own failure, naming the filesystem. (It
// was lost before, and ran again: a task that fills the disk filled it at
// every run, holding the server's writes each time; found by a hostile run.)
func TestLogOnFullDiskFails(t *testing.T) {
	dir := testfs.SmallDisk(t, "", "64k", nil)
	testfs.Fill(t, filepath.Join(dir, "fill"))
	task, err := Start(Spec{Argv: []string{"sh", "-c", "head -c 100000 /dev/zero"}, Env: os.Environ(), Stdout: filepath.Join(dir, "logs", "0.out")})
	var r Result
	if err == nil {
		r = task.Wait()
	}
	if err != nil || r.State != burst.Failed || !strings.Contains(r.Reason, "the filesystem of "+dir+" was full when it wrote its output") ||
		!strings.Contains(r.Reason, "its log had 0 bytes") {
		t.Errorf("a task whose log met a disk something else filled: %v, %s (%q); want failed, naming the filesystem %s and not blaming the task", err, r.State, r.Reason, dir)
	}
}

// A task that writes without end fills its log's filesystem: it is stopped
// at once (not at its end, which never comes), fails naming the cause, and
// its log gives back twice diskroom.MinFree, marked at its end.
func TestLogFillingTheDiskStopsTheTask(t *testing.T) {
	dir := testfs.SmallDisk(t, "", "2m", nil)
	log := filepath.Join(dir, "0.out")
	task, err := Start(Spec{Argv: []string{"yes"}, Env: os.Environ(), Stdout: log, Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	select {
	case <-task.done:
		r = task.Wait()
	case <-time.After(30 * time.Second):
		task.Cancel()
		t.Fatalf("a task filling its log's filesystem still runs after 30 s")
	}
	if r.State != burst.Failed || !strings.Contains(r.Reason, "its output filled the filesystem of "+dir) ||
		!strings.Contains(r.Reason, "free space or write less") || !strings.Contains(r.Reason, "cut at") {
		t.Errorf("%s (%q); want failed, naming the filesystem and the cut", r.State, r.Reason)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if tail := string(b[max(0, len(b)-80):]); !strings.HasSuffix(tail, ": the disk was full]\n") || !strings.Contains(tail, "[burst: output cut at ") {
		t.Errorf("the log does not end with the cut's mark: %q", tail)
	}
	free, total, _ := diskroom.Space(dir)
	if free < diskroom.MinFree(total) {
		t.Errorf("the filesystem has %d bytes free after the cut; want at least %d", free, diskroom.MinFree(total))
	}
	// It keeps at most MinFree of its start: the next tasks find the room
	// it took, not a disk still nearly full of it.
	if int64(len(b)) > int64(diskroom.MinFree(total))+100 {
		t.Errorf("the cut log keeps %d bytes; want at most %d (1/20 of the filesystem) and its mark", len(b), diskroom.MinFree(total))
	}
}

// A filesystem that keeps no blocks (/proc, /sys) is not "full": an output
// file there that could not be written was said to be on a full disk.
func TestFullFSOfProc(t *testing.T) {
	if fullFS("/proc") || fullFS("/sys") {
		t.Error("/proc or /sys read as a full filesystem")
	}
	if fullFS(t.TempDir()) {
		t.Error("a temporary directory read as a full filesystem")
	}
}
