package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A log cut short after its task ended (truncated, or replaced by a
// shorter file) is reported as cut, naming the file and how much of the
// task's output it still holds, by logs, logs -f and results alike: before,
// they printed what was left and exited 0, as if it were the whole output
// (a removed log was already reported as gone). A map's small outputs kept
// in a pack file are told the same.
func TestLogsOfACutFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "sh", "-c", "echo hello; echo oops >&2")
	var rs []struct {
		Stdout string `json:"stdout_path"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("results", "1", "-o", "json").stdout), &rs); err != nil || len(rs) != 1 {
		t.Fatalf("results -o json: %v %v", err, rs)
	}
	for _, size := range []int64{2, 0} {
		if err := os.Truncate(rs[0].Stdout, size); err != nil {
			t.Fatal(err)
		}
		cut := rs[0].Stdout + " holds " + string(rune('0'+size)) + " of the 6 bytes the task wrote there"
		for _, args := range [][]string{{"logs", "1"}, {"logs", "1", "-f"}, {"results", "1"}} {
			r := h.run(args...)
			if r.code == 0 || !strings.Contains(r.stderr, cut) {
				t.Errorf("burst %s of a log cut to %d bytes: want a failure saying %q:\n%s", strings.Join(args, " "), size, cut, r)
			}
		}
	}
	if r := h.mustRun("logs", "1", "--stderr"); r.stdout != "oops\n" {
		t.Errorf("logs --stderr beside a cut stdout: %s", r)
	}

	for _, p := range packedMap(t, h, "2") {
		if err := os.Truncate(p, 3); err != nil {
			t.Fatal(err)
		}
	}
	if r := h.run("results", "2"); r.code == 0 || !strings.Contains(r.stderr, "of the 2 bytes the task wrote there: cut") {
		t.Errorf("results of a map whose pack was cut: %s", r)
	}
}

// A store that lost what it recorded while no server ran (its -wal file
// cut at a commit, or an older state.db put in its place by hand) is read
// by SQLite as whole. The jobs it lost still have logs in the home: the
// next server says which jobs are lacking and where their logs went, on
// the stderr of the command that started it, and moves those logs aside
// so that the new jobs given the same ids do not take them. Before, the
// accepted jobs vanished without a word and a new job's log overwrote
// the lost one's.
func TestFaultStoreBehindItsLogs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "echo", "one")
	h.mustRun("server", "stop", "--all")
	db := filepath.Join(h.home, "state.db")
	old := map[string][]byte{}
	for _, sfx := range []string{"", "-wal"} {
		if b, err := os.ReadFile(db + sfx); err == nil {
			old[sfx] = b
		}
	}
	h.mustRun("run", "--", "echo", "two")
	h.mustRun("run", "--", "echo", "three")
	h.mustRun("server", "stop", "--all")
	os.Remove(db + "-wal")
	os.Remove(db + "-shm")
	for sfx, b := range old {
		writeFile(t, db+sfx, string(b), 0o600)
	}

	r := h.mustRun("jobs")
	if !strings.Contains(r.stderr, "lacks jobs 2 to 3") || !strings.Contains(r.stderr, "burst server restore FILE") {
		t.Fatalf("the server on a store behind its logs does not say which jobs it lacks, naming the fix:\n%s", r)
	}
	kept, _ := filepath.Glob(filepath.Join(h.home, "logs-ahead-of-store-*", "2", "0", "0.out"))
	if len(kept) != 1 || !strings.Contains(r.stderr, filepath.Dir(filepath.Dir(filepath.Dir(kept[0])))) {
		t.Fatalf("job 2's log is not kept aside where the message says: %v\n%s", kept, r)
	}
	if b, _ := os.ReadFile(kept[0]); string(b) != "two\n" {
		t.Errorf("job 2's log kept aside holds %q, want %q", b, "two\n")
	}
	if r := h.mustRun("run", "--", "echo", "four"); !strings.Contains(r.stderr, "job 2") {
		t.Fatalf("the next job: %s; want job 2 again", r)
	}
	if r := h.mustRun("logs", "2"); r.stdout != "four\n" {
		t.Errorf("logs of the new job 2: %q, want its own output alone", r.stdout)
	}
	if r := h.mustRun("jobs"); strings.Contains(r.stderr, "lacks") {
		t.Errorf("said again by a command that started no server: %s", r)
	}
}

// A server whose home is removed under it (rm -rf ~/.burst while it
// serves) stops within a few seconds, rather than serve on with a store no
// one can reach again while the next command starts a second server at the
// home: before, both ran, the old one recording everything into a
// deleted file.
func TestFaultHomeRemovedUnderServer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.submit("--", "sleep", newMarker())
	old := h.serverPID()
	if err := os.RemoveAll(h.home); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the server of the removed home to stop", 15*time.Second, func() bool { return !alive(old) })
	r := h.mustRun("run", "--", "echo", "fresh")
	if r.stdout != "fresh\n" || !strings.Contains(r.stderr, "job 1") {
		t.Errorf("the first job of the new home: %s", r)
	}
	if pid := h.serverPID(); pid == old {
		t.Errorf("server.json names the old server %d", pid)
	}

	// Removed again, and a command at once: the next server starts while
	// the old one still runs. The old one, stopping, leaves the new one's
	// socket, server.json and store alone: it used to remove them by path
	// (the socket and server.json in its close, SQLite the -wal file), and
	// the new server, its job and every later command were lost.
	old = h.serverPID()
	if err := os.RemoveAll(h.home); err != nil {
		t.Fatal(err)
	}
	if r := h.mustRun("run", "--", "echo", "newer"); r.stdout != "newer\n" {
		t.Errorf("the first job of the home made again: %s", r)
	}
	newer := h.serverPID()
	h.waitFor("the server of the removed home to stop", 15*time.Second, func() bool { return !alive(old) })
	r = h.mustRun("jobs", "-q")
	if r.stdout != "1\n" || h.serverPID() != newer || !alive(newer) {
		t.Errorf("after the old server stopped: jobs %q, server %d (want the newer one, %d, still serving its job 1)", r.stdout, h.serverPID(), newer)
	}
}
