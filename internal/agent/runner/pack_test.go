package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// packSpec is a Spec whose logs are burst's own (N.out, N.err in dir),
// started afresh, their small output allowed into pack files.
func packSpec(dir string, n int, script string) Spec {
	return Spec{
		Argv:     []string{"sh", "-c", script},
		Env:      os.Environ(),
		Stdout:   filepath.Join(dir, fmt.Sprint(n)+".out"),
		Stderr:   filepath.Join(dir, fmt.Sprint(n)+".err"),
		Truncate: true,
		PackAs:   "m1",
		Grace:    300 * time.Millisecond,
		Name:     fmt.Sprintf("pack%d", n),
	}
}

// readPacked reads p's range, failing when it is not within the file.
func readPacked(t *testing.T, p Packed) string {
	t.Helper()
	b, err := os.ReadFile(p.Path)
	if err != nil {
		t.Fatalf("the pack %s: %v", p.Path, err)
	}
	if p.From < 0 || p.From > p.To || p.To > int64(len(b)) {
		t.Fatalf("range [%d, %d) of %s, which holds %d bytes", p.From, p.To, p.Path, len(b))
	}
	return string(b[p.From:p.To])
}

func noFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s exists (%v): a packed output needs no file of its own", path, err)
	}
}

// A task with small output: both streams in the pack files of its
// directory, read back from the ranges its Result names, and no log file of
// its own; its bytes are counted as before.
func TestPackSmallOutput(t *testing.T) {
	dir := t.TempDir()
	r := run(t, packSpec(dir, 7, "echo out; echo err >&2"))
	if r.State != burst.Succeeded {
		t.Fatalf("%s: %s", r.State, r.Reason)
	}
	if r.StdoutPacked.Path != filepath.Join(dir, "pack-m1.out") || r.StderrPacked.Path != filepath.Join(dir, "pack-m1.err") {
		t.Fatalf("packed at %+v and %+v; want pack-m1.out and pack-m1.err in %s", r.StdoutPacked, r.StderrPacked, dir)
	}
	if got := readPacked(t, r.StdoutPacked); got != "out\n" {
		t.Errorf("stdout %q, want %q", got, "out\n")
	}
	if got := readPacked(t, r.StderrPacked); got != "err\n" {
		t.Errorf("stderr %q, want %q", got, "err\n")
	}
	if r.OutBytes != 8 {
		t.Errorf("OutBytes %d, want 8", r.OutBytes)
	}
	noFile(t, filepath.Join(dir, "7.out"))
	noFile(t, filepath.Join(dir, "7.err"))
}

// A task that prints nothing packs nothing.
func TestPackNoOutput(t *testing.T) {
	dir := t.TempDir()
	r := run(t, packSpec(dir, 0, "true"))
	if r.StdoutPacked != (Packed{}) || r.StderrPacked != (Packed{}) || r.OutBytes != 0 {
		t.Errorf("a silent task: packed %+v, %+v, %d bytes; want nothing", r.StdoutPacked, r.StderrPacked, r.OutBytes)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("a silent task left %d files in its log directory", len(ents))
	}
}

// Output larger than the copier's buffer goes to the task's own log, whole,
// as without packing.
func TestPackSpillsBySize(t *testing.T) {
	dir := t.TempDir()
	r := run(t, packSpec(dir, 1, "head -c 200000 /dev/zero | tr '\\0' x; echo small >&2"))
	if r.StdoutPacked.Path != "" {
		t.Errorf("200000 bytes were packed (%+v); want them in the task's own log", r.StdoutPacked)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "1.out")); err != nil || len(b) != 200000 || strings.Trim(string(b), "x") != "" {
		t.Errorf("its log: %d bytes (%v), want 200000 x's", len(b), err)
	}
	if got := readPacked(t, r.StderrPacked); got != "small\n" {
		t.Errorf("its small stderr %q, want %q in the pack", got, "small\n")
	}
	if r.OutBytes != 200006 {
		t.Errorf("OutBytes %d, want 200006", r.OutBytes)
	}
}

// Output of a task that runs longer than spillAfter goes to its own log,
// and is there while the task still runs (a follower sees it nearly live).
func TestPackSpillsByTime(t *testing.T) {
	dir := t.TempDir()
	release := filepath.Join(dir, "go-on")
	task := start(t, packSpec(dir, 2, fmt.Sprintf("echo first; while [ ! -e %s ]; do sleep 0.05; done; echo second", release)))
	log := filepath.Join(dir, "2.out")
	deadline := time.Now().Add(spillAfter + 10*time.Second)
	for {
		if b, _ := os.ReadFile(log); string(b) == "first\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first line of a running task is not in its log %s after %s", log, time.Since(deadline.Add(-spillAfter-10*time.Second)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-task.done:
		t.Fatal("the task ended before it was let go")
	default:
	}
	os.WriteFile(release, nil, 0o644)
	r := task.Wait()
	if r.StdoutPacked.Path != "" {
		t.Errorf("a spilled output was also packed: %+v", r.StdoutPacked)
	}
	if got := readFile(t, log); got != "first\nsecond\n" {
		t.Errorf("its log holds %q, want %q", got, "first\nsecond\n")
	}
}

// Many tasks at once append to one pack: each range holds its own task's
// bytes, the ranges do not overlap, and together they are the whole file.
func TestPackConcurrentTasks(t *testing.T) {
	dir := t.TempDir()
	const n = 40
	res := make([]Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = run(t, packSpec(dir, i, fmt.Sprintf("echo task %d; echo oops %d >&2", i, i)))
		}()
	}
	wg.Wait()
	for _, stream := range []string{"out", "err"} {
		var ranges []Packed
		for i, r := range res {
			p, want := r.StdoutPacked, fmt.Sprintf("task %d\n", i)
			if stream == "err" {
				p, want = r.StderrPacked, fmt.Sprintf("oops %d\n", i)
			}
			if got := readPacked(t, p); got != want {
				t.Errorf("task %d's std%s: %q, want %q", i, stream, got, want)
			}
			ranges = append(ranges, p)
		}
		sort.Slice(ranges, func(a, b int) bool { return ranges[a].From < ranges[b].From })
		var at int64
		for _, p := range ranges {
			if p.From != at {
				t.Errorf("std%s: a range begins at %d, the one before ended at %d", stream, p.From, at)
			}
			at = p.To
		}
		if st, err := os.Stat(filepath.Join(dir, "pack-m1."+stream)); err != nil || st.Size() != at {
			t.Errorf("the std%s pack: %v, want %d bytes, the ranges' sum", stream, err, at)
		}
	}
}

// stdout and stderr that go to one file share one range.
func TestPackSharedFile(t *testing.T) {
	dir := t.TempDir()
	s := packSpec(dir, 3, "echo a; echo b >&2")
	s.Stderr = s.Stdout
	r := run(t, s)
	if r.StdoutPacked != r.StderrPacked || readPacked(t, r.StdoutPacked) != "a\nb\n" {
		t.Errorf("stdout %+v and stderr %+v of one file; want one range holding %q", r.StdoutPacked, r.StderrPacked, "a\nb\n")
	}
}

// A task that cannot start says why in its packed stderr.
func TestPackCannotStart(t *testing.T) {
	dir := t.TempDir()
	s := packSpec(dir, 4, "")
	s.Argv = []string{"/no/such/program"}
	r := run(t, s)
	if r.State != burst.Failed || !strings.Contains(readPacked(t, r.StderrPacked), "cannot start") {
		t.Errorf("%s, stderr packed at %+v; want failed, its reason in the pack", r.State, r.StderrPacked)
	}
}

// An agent that died after writing a task's output to the pack, before it
// reported the task, left bytes no row names; its successor (another
// descriptor, another process) appends after them, and the ranges of both
// the earlier tasks and its own read back right. A reported range is on
// disk when Wait returns: read through a descriptor of its own.
func TestPackAfterACrash(t *testing.T) {
	dir := t.TempDir()
	before := run(t, packSpec(dir, 5, "echo reported"))
	// The dead agent's last, unreported write, through a descriptor of its own.
	f, err := os.OpenFile(filepath.Join(dir, "pack-m1.out"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("never reported\n")
	f.Close()
	after := run(t, packSpec(dir, 5, "echo again"))
	if got := readPacked(t, before.StdoutPacked); got != "reported\n" {
		t.Errorf("the reported range reads %q, want %q", got, "reported\n")
	}
	if got := readPacked(t, after.StdoutPacked); got != "again\n" {
		t.Errorf("the task run again reads %q, want %q", got, "again\n")
	}
	if after.StdoutPacked.From != before.StdoutPacked.To+int64(len("never reported\n")) {
		t.Errorf("the rerun's range %+v does not follow the unreported bytes (the first range: %+v)", after.StdoutPacked, before.StdoutPacked)
	}
}

// A pack no task uses is closed after packIdle: a finished map holds no
// descriptor.
func TestPackClosedWhenIdle(t *testing.T) {
	dir := t.TempDir()
	r := run(t, packSpec(dir, 6, "echo x"))
	deadline := time.Now().Add(packIdle + 10*time.Second)
	for {
		packs.Lock()
		p := packs.m[r.StdoutPacked.Path]
		packs.Unlock()
		if p == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pack %s is still open %s after its last task", r.StdoutPacked.Path, packIdle+10*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A task run again whose output is packed empties the log its earlier
// attempt wrote (a follower of that file learns its bytes are gone).
func TestPackEmptiesAnEarlierAttemptsLog(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "8.out")
	if err := os.WriteFile(log, []byte("attempt 1, a long output\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, packSpec(dir, 8, "echo attempt 2"))
	if got := readPacked(t, r.StdoutPacked); got != "attempt 2\n" {
		t.Errorf("packed %q, want %q", got, "attempt 2\n")
	}
	if got := readFile(t, log); got != "" {
		t.Errorf("the earlier attempt's log still holds %q", got)
	}
}
