package e2e

import (
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/internal/testfs"
)

// A task whose output fills BURST_HOME's filesystem (found by a hostile
// run: before, the store held its writes, the task was counted lost and
// ran again, filling the disk each time, and a cancel of it was refused
// with 507; only deleting its log by hand got the server going). Now it
// fails at once on its first attempt, naming the cause, retried as a
// failure under --retries; its log gives back room, marked at its end;
// the server takes new work again by itself and its store is whole. And
// a cancel while the disk is full stops a running task at once, recorded
// once there is room.
func TestFaultDiskFilledByTask(t *testing.T) {
	t.Parallel()
	h := diskHarness(t, "64m")
	// sleep starts a task that writes nothing and sleeps; its job and pid.
	sleep := func(name string) (id int64, pid int) {
		pidFile := filepath.Join(h.dir, strings.ReplaceAll(name, " ", "-")+".pid") // outside the full filesystem
		id = mustID(t, strings.TrimSpace(h.mustRun("run", "-d", "--", "sh", "-c", "echo $$ > "+pidFile+"; exec sleep 1000").stdout))
		h.waitFor(name+" running", 30*time.Second, func() bool {
			b, _ := os.ReadFile(pidFile)
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			return pid > 0
		})
		return id, pid
	}
	// recorded frees the disk and checks that job id was recorded
	// cancelled on its first attempt.
	recorded := func(id int64, row *faultRow) {
		if err := os.Remove(filepath.Join(h.home, "filler")); err != nil {
			t.Fatal(err)
		}
		h.waitFor("the cancel recorded", 30*time.Second, func() bool { return h.show(id).State == "cancelled" })
		if task := h.show(id).task0(t); task.State != "cancelled" || task.Attempt != 1 {
			row.FailedWrongly++
			t.Errorf("job %d after space returned: %s, attempt %d; want cancelled on attempt 1", id, task.State, task.Attempt)
		}
	}
	sleeper, pid := sleep("sleeper")

	row := faultRow{Fault: "a task's output fills BURST_HOME: it fails, the server goes on", Tasks: 3}
	for _, c := range []struct {
		retries string
		attempt int
	}{{"0", 1}, {"1", 2}} {
		start := time.Now()
		id := mustID(t, strings.TrimSpace(h.mustRun("run", "-d", "--retries", c.retries, "--", "head", "-c", "200M", "/dev/zero").stdout))
		if r := h.run("wait", idArg(id)); r.code == 0 {
			t.Errorf("burst wait of a task that filled the disk: want a failure, got %s", r)
		}
		task := h.show(id).task0(t)
		t.Logf("--retries %s: %s after %s, attempt %d: %s", c.retries, task.State, time.Since(start).Round(time.Millisecond), task.Attempt, task.Reason)
		if task.State != "failed" || task.Attempt != c.attempt ||
			!strings.Contains(task.Reason, "its output filled the filesystem of "+h.home) ||
			!strings.Contains(task.Reason, "free space or write less") || !strings.Contains(task.Reason, "cut at") {
			row.FailedWrongly++
			t.Errorf("--retries %s: task %s, attempt %d, %q; want failed on attempt %d naming the full filesystem %s and the cut",
				c.retries, task.State, task.Attempt, task.Reason, c.attempt, h.home)
		}
		if !logEndsWith(t, filepath.Join(h.home, "logs", idArg(id)), ": the disk was full]\n") {
			t.Errorf("job %d: no log under %s ends with the cut's mark", id, filepath.Join(h.home, "logs", idArg(id)))
		}
		// New work is taken again, with no one freeing space.
		h.waitFor("new work taken again", 30*time.Second, func() bool {
			return h.run("run", "--", "true").code == 0
		})
	}
	if !alive(pid) {
		t.Errorf("the sleeper, which wrote nothing, died while another task filled the disk")
	}
	checkIntegrity(t, filepath.Join(h.home, "state.db"))

	// A cancel while the store holds writes for a full disk: answered at
	// once, the task stopped at once, recorded once there is room.
	testfs.Fill(t, filepath.Join(h.home, "filler"))
	h.waitFor("the store holding writes", 20*time.Second, func() bool {
		r := h.run("run", "-d", "--", "true")
		return r.code != 0 && strings.Contains(r.stderr, "is full since")
	})
	r := h.run("cancel", idArg(sleeper))
	t.Logf("cancel during a hold: %s", strings.TrimSpace(r.stdout))
	if r.code != 0 || !strings.Contains(r.stdout, "recorded once the store can write again") {
		t.Errorf("burst cancel during a hold: want it taken, saying when it is recorded; got %s", r)
	}
	h.waitFor("the cancelled task's process gone, the disk still full", 30*time.Second, func() bool { return !alive(pid) })
	if r := h.run("run", "-d", "--", "true"); r.code == 0 || !strings.Contains(r.stderr, "is full since") {
		t.Errorf("the hold ended before space returned (the test proves nothing): %s", r)
	}
	recorded(sleeper, &row)
	checkIntegrity(t, filepath.Join(h.home, "state.db"))

	// A cancel whose own write is the first to meet the full disk (the
	// store has not said it holds writes yet): answered at once too, not
	// after the write is held and the client has given up (it waited 75 s
	// for room and stopped nothing).
	sleeper2, pid2 := sleep("second sleeper")
	testfs.Fill(t, filepath.Join(h.home, "filler"))
	r = h.run("cancel", idArg(sleeper2))
	t.Logf("cancel on a disk just filled: %s", strings.TrimSpace(r.stdout))
	if r.code != 0 || !strings.Contains(r.stdout, "told to stop now") {
		t.Errorf("burst cancel on a disk just filled: want it taken at once, saying its tasks were told to stop; got %s", r)
	}
	h.waitFor("the second sleeper gone, the disk still full", 30*time.Second, func() bool { return !alive(pid2) })
	recorded(sleeper2, &row)
	recordFault(t, row)
}

// logEndsWith reports whether a file under dir ends with suffix.
func logEndsWith(t *testing.T, dir, suffix string) bool {
	t.Helper()
	found := false
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return nil
		}
		defer f.Close()
		buf := make([]byte, 256)
		if st, err := f.Stat(); err == nil && st.Size() > int64(len(buf)) {
			f.Seek(st.Size()-int64(len(buf)), 0)
		}
		n, _ := f.Read(buf)
		if strings.HasSuffix(string(buf[:n]), suffix) {
			found = true
		}
		return nil
	})
	return found
}

// checkIntegrity runs PRAGMA integrity_check on the store at path
// (read-only, beside the running server) and fails unless it says ok.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Errorf("PRAGMA integrity_check of %s: %q, %v; want ok", path, res, err)
	}
}

// A map whose wanted output is more than the disk holds: once the
// filesystem of the logs has less than twice the new-work threshold free,
// no task starts (the server places none, and the agent starts none of the
// tasks it holds), so the tasks that could only fail wait instead, saying
// why; once there is room they run by themselves. Before, every task
// after the disk filled started and failed (21 of 40 here).
func TestFaultDiskNearlyFullHoldsStarts(t *testing.T) {
	t.Parallel()
	h := diskHarness(t, "48m")                // no task starts below 4.8 MiB free
	filler := filepath.Join(h.home, "filler") // what is freed: room for the rest
	if err := os.WriteFile(filler, make([]byte, 24<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 30
	inputs := make([]string, n)
	for i := range inputs {
		inputs[i] = strconv.Itoa(i)
	}
	id := mustID(t, strings.TrimSpace(h.mustRun(append([]string{"map", "-d", "--", "sh", "-c", "head -c 1000000 /dev/zero; sleep 0.1", ":::"}, inputs...)...).stdout))
	var waits string
	h.waitFor("the map to wait for room", 60*time.Second, func() bool {
		j := h.show(id)
		waits = j.Waiting
		return j.Tasks.Running == 0 && strings.Contains(waits, "no task starts while it has less than")
	})
	t.Logf("waits: %s", waits)
	if !strings.Contains(waits, h.home) || !strings.Contains(waits, "free at least") {
		t.Errorf("the wait does not name the filesystem %s and the space to free: %s", h.home, waits)
	}
	mid := h.show(id)
	t.Logf("while it waits: %d succeeded, %d failed", mid.Tasks.Succeeded, mid.Tasks.Failed)
	row := faultRow{Fault: "a map's output more than the disk holds: starts held", Tasks: n}
	// At most the tasks running when the disk filled fail (2 CPUs here).
	if mid.Tasks.Failed > 2 || mid.Tasks.Succeeded+mid.Tasks.Failed >= n {
		row.FailedWrongly += max(0, mid.Tasks.Failed-2)
		t.Errorf("with the disk nearly full: %d succeeded and %d failed of %d; want at most 2 failed and some left waiting", mid.Tasks.Succeeded, mid.Tasks.Failed, n)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	h.run("wait", idArg(id))
	end := h.show(id)
	if end.Tasks.Succeeded+end.Tasks.Failed != n || end.Tasks.Failed != mid.Tasks.Failed {
		t.Errorf("once there was room: %d succeeded, %d failed of %d; want the rest succeeded", end.Tasks.Succeeded, end.Tasks.Failed, n)
	}
	row.Lost = n - end.Tasks.Succeeded - end.Tasks.Failed
	recordFault(t, row)
}
