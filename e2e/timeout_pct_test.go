package e2e

import (
	"testing"
	"time"
)

// TestMapTimeoutPctAcrossRestart: a map's --timeout N% (GNU parallel's
// share of the median run time of the tasks that succeeded) keeps its
// median across a server killed with kill -9: the restarted server reads
// the run times back from its store. One at a time, three tasks succeed in
// about 1 s (median 1 s: a limit of 2 s, rounded up to 3); the server dies
// while the fourth, 2 s long, runs; it succeeds, and the median of 1, 1, 1
// and 2 stays 1 s (the lower middle value): the fifth, 4 s long, is killed
// at 3 s. Had the new server started the median afresh, from the fourth
// alone, the limit would have become 5 s and the fifth would succeed.
func TestMapTimeoutPctAcrossRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := mustID(t, h.mustRun("map", "-d", "--quiet", "-k", "-j", "1", "--timeout", "200%", "--",
		"sh", "-c", `sleep "$1"; echo "$1"`, "_", ":::", "1", "1", "1", "2", "4").stdout)
	h.waitFor("three tasks to succeed and the fourth to run", 60*time.Second, func() bool {
		j := h.showTasks(id, 5)
		return j.Tasks.Succeeded == 3 && j.Tasks.Running == 1
	})
	h.kill9(h.serverPID(), "server")
	h.run("wait", idArg(id)) // starts a new server
	j := h.showTasks(id, 5)
	if j.Tasks.Succeeded != 4 || len(j.TaskList) != 5 || j.TaskList[4].State != "timeout" || j.TaskList[4].Reason != "time limit 3s reached" {
		t.Fatalf("after the restart: %d succeeded, tasks %+v; want 4 succeeded and the 4 s task timed out at 3 s (the median of 1, 1, 1 and 2 kept)", j.Tasks.Succeeded, j.TaskList)
	}
}

// TestMapTimeoutPctResume: `burst map --resume` of a map whose --timeout
// N% killed a task starts the median afresh, as a new run of parallel
// --resume-failed does: the task that ran past the limit runs to its end.
// It used to keep the last limit and time out the same task again, saying
// to resume once more. Two at a time: the 6 s task is killed at 3 s, once
// three 1 s tasks have set the median.
func TestMapTimeoutPctResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.run("map", "--quiet", "-k", "-j", "2", "--cpus", "0", "--timeout", "200%", "--", "sh", "-c", `sleep "$1"; echo "$1"`, "_", ":::", "6", "1", "1", "1")
	if r.code != 1 || r.stdout != "1\n1\n1\n" {
		t.Fatalf("the first run: %s; want exit 1 and the 6 s task killed", r)
	}
	id := mustID(t, h.mustRun("jobs", "-q", "--limit", "1").stdout)
	r = h.run("map", "--resume", idArg(id))
	if r.code != 0 || r.stdout != "6\n" {
		t.Fatalf("the resume: %s; want the 6 s task run to its end, exit 0", r)
	}

	// A server killed after the resume, while the rerun tasks run, reads
	// back the run times since the resume only. Here the first run's three
	// 1 s tasks set a 3 s limit that kills a 4 s and a 5 s task; resumed,
	// both run, the server dies, and the 4 s task's success makes the
	// median 4 s (a 9 s limit): the 5 s task succeeds. The server used to
	// read the first run's run times too (median 1 s of 1, 1, 1, 4) and
	// kill the 5 s task at 3 s again.
	r = h.run("map", "--quiet", "-k", "-j", "2", "--cpus", "0", "--timeout", "200%", "--", "sh", "-c", `sleep "$1"; echo "$1"`, "_", ":::", "1", "1", "1", "4", "5")
	if r.code != 2 || r.stdout != "1\n1\n1\n" {
		t.Fatalf("the second map's first run: %s; want exit 2, the 4 s and 5 s tasks killed", r)
	}
	id = mustID(t, h.mustRun("jobs", "-q", "--limit", "1").stdout)
	h.mustRun("map", "--resume", idArg(id), "--detach")
	h.waitFor("the resumed tasks to run", 30*time.Second, func() bool {
		return h.showTasks(id, 5).Tasks.Running == 2
	})
	h.kill9(h.serverPID(), "server")
	h.run("wait", idArg(id)) // starts a new server
	if j := h.showTasks(id, 5); j.Tasks.Succeeded != 5 {
		t.Fatalf("the resume across a restart: tasks %+v; want all 5 succeeded (no limit from the first run's median)", j.TaskList)
	}
}
