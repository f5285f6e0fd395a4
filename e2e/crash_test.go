package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Killing the server (kill -9) loses no running task: the agent keeps it
// running, the next command starts a new server, which re-attaches it; the
// job ends with its own status and output, on its first attempt.
func TestServerKillReattachesRunningTask(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.submit("--", "sh", "-c", `while [ ! -e release ]; do sleep 0.05; done; echo survived; exit 5`)
	before := h.waitRunning(id).task0(t)
	agent := h.agentPID()
	old := h.serverPID()
	h.kill9(old, "server")

	// The next command starts a new server, which re-attaches the task.
	j := h.show(id)
	if pid := h.serverPID(); pid == old {
		t.Fatalf("server.json still names the killed server %d", old)
	}
	if got := j.task0(t); j.State != "running" || got.Attempt != 1 || got.PID != before.PID {
		t.Errorf("after the restart: job %s, task attempt %d pid %d; want running, attempt 1, pid %d (re-attached)",
			j.State, got.Attempt, got.PID, before.PID)
	}
	if !alive(before.PID) {
		t.Errorf("the task process %d died with the server", before.PID)
	}
	writeFile(t, filepath.Join(h.dir, "release"), "", 0o644)

	r := h.run("wait", idArg(id))
	if r.code != 5 {
		t.Errorf("wait: want the job's exit status 5:\n%s", r)
	}
	if out := h.mustRun("logs", idArg(id)).stdout; !strings.Contains(out, "survived") {
		t.Errorf("logs = %q, want it to contain \"survived\"", out)
	}
	j = h.show(id)
	if got := j.task0(t); j.State != "failed" || got.Attempt != 1 || got.PID != before.PID {
		t.Errorf("final: job %s, task attempt %d pid %d; want failed (exit 5) on attempt 1 with pid %d",
			j.State, got.Attempt, got.PID, before.PID)
	}
	if h.agentPID() != agent {
		t.Errorf("the agent was replaced (%d -> %d): it should have outlived the server", agent, h.agentPID())
	}
}

// Same, with the task ending while no server runs: the agent keeps the exit
// and reports it to the next server.
func TestServerKillTaskEndsWhileServerDown(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.submit("--", "sh", "-c", `while [ ! -e release ]; do sleep 0.05; done; echo survived; exit 5`)
	before := h.waitRunning(id).task0(t)
	h.kill9(h.serverPID(), "server")
	writeFile(t, filepath.Join(h.dir, "release"), "", 0o644)
	waitFor(t, "the task to exit", 30*time.Second, func() bool { return !alive(before.PID) })

	r := h.run("wait", idArg(id))
	if r.code != 5 {
		t.Errorf("wait (starting a new server): want the job's exit status 5:\n%s", r)
	}
	if out := h.mustRun("logs", idArg(id)).stdout; out != "survived\n" {
		t.Errorf("logs = %q, want %q", out, "survived\n")
	}
	if got := h.show(id).task0(t); got.Attempt != 1 {
		t.Errorf("task attempt %d: it ran to the end on attempt 1 and must not be rerun", got.Attempt)
	}
}

// An attached `burst run` rides out a server crash: it still prints the
// job's output and exits with its status.
func TestAttachedRunSurvivesServerKill(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marker := newMarker()
	run := h.start("run", "--", "sh", "-c", `echo before; while [ ! -e release ]; do sleep 0.05; done; echo after; exit 4`, marker)
	h.waitFor("the attached job to run", 30*time.Second, func() bool { return len(markerPIDs(marker)) == 1 })
	time.Sleep(100 * time.Millisecond) // let "before" reach the attached run (not required for the outcome)
	h.kill9(h.serverPID(), "server")
	writeFile(t, filepath.Join(h.dir, "release"), "", 0o644)
	r := run.result(t)
	if r.code != 4 {
		t.Errorf("attached run across a server crash: want the job's exit status 4:\n%s", r)
	}
	if r.stdout != "before\nafter\n" {
		t.Errorf("attached run stdout = %q, want %q (each line once)", r.stdout, "before\nafter\n")
	}
}

// agentRetryScript runs long on attempt 1 and succeeds at once on later
// attempts.
func agentRetryScript(marker string) []string {
	return []string{"sh", "-c", `echo "attempt $BURST_ATTEMPT"; if [ "$BURST_ATTEMPT" = 1 ]; then sleep ` + marker + `; fi; echo ok`}
}

// Killing the agent (kill -9) makes the server kill the orphaned task, start
// a new agent and run the task again.
func TestAgentKillRequeuesTask(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marker := newMarker()
	id := h.submit(append([]string{"--"}, agentRetryScript(marker)...)...)
	h.waitRunning(id)
	h.waitFor("the task's sleep", 30*time.Second, func() bool { return len(sleepers(marker)) == 1 })
	server := h.serverPID()
	old := h.agentPID()
	h.kill9(old, "agent")

	r := h.run("wait", idArg(id))
	if r.code != 0 {
		t.Errorf("wait: want the job to succeed on a second attempt:\n%s", r)
	}
	j := h.show(id)
	if got := j.task0(t); j.State != "succeeded" || got.Attempt != 2 {
		t.Errorf("job %s on attempt %d, want succeeded on attempt 2", j.State, got.Attempt)
	}
	if out := h.mustRun("logs", idArg(id)).stdout; !strings.Contains(out, "attempt 2\nok\n") {
		t.Errorf("logs = %q, want attempt 2 to have printed ok", out)
	}
	h.waitFor("the orphaned first attempt to be killed", 30*time.Second, func() bool { return len(markerPIDs(marker)) == 0 })
	if h.serverPID() != server {
		t.Errorf("the server changed; only the agent was killed")
	}
	if h.waitAgent(old) == old {
		t.Errorf("no new agent")
	}
}

// Killing server and agent together: the next command starts everything
// again, the orphaned attempt is killed, the task runs again and nothing of
// the first attempt stays running.
func TestServerAndAgentKillRecovers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marker := newMarker()
	id := h.submit(append([]string{"--"}, agentRetryScript(marker)...)...)
	h.waitRunning(id)
	h.waitFor("the task's sleep", 30*time.Second, func() bool { return len(sleepers(marker)) == 1 })
	oldServer, oldAgent := h.serverPID(), h.agentPID()
	// Server first, so that it cannot notice the agent's death and act.
	h.kill9(oldServer, "server")
	h.kill9(oldAgent, "agent")
	if len(sleepers(marker)) != 1 {
		t.Fatalf("the task should outlive both (it is in its own session)")
	}

	r := h.run("wait", idArg(id))
	if r.code != 0 {
		t.Errorf("wait: want the job to succeed on a second attempt:\n%s", r)
	}
	j := h.show(id)
	if got := j.task0(t); j.State != "succeeded" || got.Attempt != 2 {
		t.Errorf("job %s on attempt %d, want succeeded on attempt 2", j.State, got.Attempt)
	}
	h.waitFor("the orphaned first attempt to be killed", 30*time.Second, func() bool { return len(markerPIDs(marker)) == 0 })

	server := h.serverPID()
	agent := h.waitAgent(oldAgent)
	if server == oldServer {
		t.Errorf("server pid unchanged")
	}
	// Nothing but the new server and the new agent runs for this home.
	var extra []int
	for _, p := range taggedPIDs(h.tag) {
		if p != server && p != agent {
			extra = append(extra, p)
		}
	}
	if len(extra) > 0 {
		t.Errorf("after recovery, processes other than server %d and agent %d run:%s", server, agent, describePIDs(extra))
	}
}

// Several commands at once in a fresh home start exactly one server, and
// every one of them succeeds (as when a script submits jobs in parallel).
// The race is retried in a few fresh homes, as one round may not hit it.
func TestConcurrentCommandsStartOneServer(t *testing.T) {
	t.Parallel()
	for round := range 3 {
		h := newHarness(t)
		var runs []*bg
		for range 4 {
			runs = append(runs, h.start("jobs", "-o", "json"))
		}
		failed := false
		for _, b := range runs {
			if r := b.result(t); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
				t.Errorf("round %d: concurrent first command: want exit 0 and an empty list:\n%s", round, r)
				failed = true
			}
		}
		servers := func() []int {
			var out []int
			for _, p := range taggedPIDs(h.tag) {
				if a := procArgs(p); len(a) >= 2 && a[0] == burstBin && a[1] == "server" {
					out = append(out, p)
				}
			}
			return out
		}
		// Losers of the race exit on their own; give them time.
		deadline := time.Now().Add(20 * time.Second)
		for len(servers()) > 1 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		s := servers()
		if len(s) != 1 {
			t.Fatalf("round %d: want exactly one server, found %d:%s", round, len(s), describePIDs(s))
		}
		if pid := h.serverPID(); !slices.Contains(s, pid) {
			t.Errorf("round %d: server.json names %d, but the running server is %v", round, pid, s)
		}
		if r := h.run("run", "--", "echo", "hi"); r.code != 0 || r.stdout != "hi\n" {
			t.Errorf("round %d: run after the race:\n%s", round, r)
		}
		if failed {
			return
		}
	}
}

// A job still queued when the server is killed is not forgotten: the next
// server runs it once there is room; `logs -f` started while it waited
// follows it through the restart.
func TestServerKillKeepsQueuedJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	all := strconv.Itoa(runtime.NumCPU())
	marker := newMarker()
	a := h.submit("--cpus", all, "--", "sh", "-c", `while [ ! -e release ]; do sleep 0.05; done`, marker)
	h.waitRunning(a)
	b := h.submit("--", "sh", "-c", "echo queued-job-ran")
	if j := h.show(b); j.State != "queued" {
		t.Fatalf("job %d should wait while job %d holds all %s CPUs; it is %s", b, a, all, j.State)
	}
	follow := h.start("logs", "-f", idArg(b))
	h.kill9(h.serverPID(), "server")
	writeFile(t, filepath.Join(h.dir, "release"), "", 0o644)

	if r := h.run("wait", idArg(b)); r.code != 0 {
		t.Errorf("wait on the queued job after a server crash: want exit 0:\n%s", r)
	}
	if out := h.mustRun("logs", idArg(b)).stdout; out != "queued-job-ran\n" {
		t.Errorf("logs = %q, want %q", out, "queued-job-ran\n")
	}
	if j := h.show(b); j.task0(t).Attempt != 1 {
		t.Errorf("queued job ran as attempt %d, want 1", j.task0(t).Attempt)
	}
	if r := follow.result(t); r.code != 0 || r.stdout != "queued-job-ran\n" {
		t.Errorf("logs -f started while the job was queued, across a server crash:\n%s", r)
	}
}

// Commands started together with no server running all get one: the
// servers that lose the race to start exit with their own status and the
// commands that started them use the one that won, whatever the shared
// server log says last.
func TestAutostartRace(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for round := 0; round < 3; round++ {
		if round > 0 {
			h.kill9(h.serverPID(), "server")
		}
		var bs []*bg
		for range 4 {
			bs = append(bs, h.start("jobs"))
		}
		for _, b := range bs {
			if r := b.result(t); r.code != 0 {
				t.Fatalf("round %d: a command started with others and no server failed:\n%s", round, r)
			}
		}
	}
}

// A server just killed holds its home's lock until its last thread has
// exited, a moment after it looks dead; a server started meanwhile finds the
// home locked and exits. The command that started it must start another
// once the lock is free, not wait 20 s for an answer that never comes (it
// did: `burst jobs` right after a kill -9 of a busy server failed so once).
func TestAutostartAfterLockReleased(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if err := os.MkdirAll(h.home, 0o700); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(h.home, "server.lock")
	// flock(1) holds the lock for a second, as the dying server did.
	holder := exec.Command("flock", lock, "sleep", "1")
	if err := holder.Start(); err != nil {
		t.Fatalf("flock(1) is needed for this test: %v", err)
	}
	defer holder.Wait()
	h.waitFor("flock(1) to hold the lock", 10*time.Second, func() bool {
		return exec.Command("flock", "-n", lock, "true").Run() != nil
	})
	if r := h.run("jobs"); r.code != 0 {
		t.Fatalf("a command run while a dead server's lock is still held should start a server once it is free:\n%s", r)
	}
}

// A map's job slots ({%}) survive a server kill: the restarted server knows
// which slots its still-running tasks hold, and the task that starts when
// the one in slot 2 ends takes slot 2, not slot 1 of a task still running.
// Each task holds a lock named after its slot for its whole run; a second
// task in a slot still held writes "clash".
func TestMapJobSlotsSurviveServerKill(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	script := `if flock -n "slot.$1" sh -c 'while [ ! -e "release.$0" ]; do sleep 0.05; done' "$2"; then echo "$1" > "out.$2"; else echo clash > "out.$2"; fi`
	r := h.mustRun("map", "-d", "-j", "2", "--", "sh", "-c", script, "_", "{%}", "{}", ":::", "1", "2", "3", "4")
	id := jobIDFromStdout(t, r)
	h.waitFor("two tasks to run", 30*time.Second, func() bool { return h.show(id).Tasks.Running == 2 })
	h.kill9(h.serverPID(), "server")
	// Input 2 (task 1, slot 2) ends while no server runs; the next command
	// starts one, which hands out input 3.
	writeFile(t, filepath.Join(h.dir, "release.2"), "", 0o644)
	h.waitFor("input 3 to start after the restart", 30*time.Second, func() bool {
		for _, tk := range h.tasks(id) {
			if tk.Index == 2 && tk.State == "running" {
				return true
			}
		}
		return false
	})
	for _, in := range []string{"3", "1", "4"} {
		writeFile(t, filepath.Join(h.dir, "release."+in), "", 0o644)
	}
	if r := h.run("wait", idArg(id)); r.code != 0 {
		t.Fatalf("wait: %s", r)
	}
	got := map[string]string{}
	for _, in := range []string{"1", "2", "3", "4"} {
		b, err := os.ReadFile(filepath.Join(h.dir, "out."+in))
		if err != nil {
			t.Fatal(err)
		}
		got[in] = strings.TrimSpace(string(b))
	}
	if got["1"] != "1" || got["2"] != "2" || got["3"] != "2" || (got["4"] != "1" && got["4"] != "2") {
		t.Errorf("slots by input %v; want 1 and 2 for the first two, 2 for input 3 (the slot input 2 gave back), 1 or 2 for input 4, no clash", got)
	}
}

// TestCrashedServerComesBackWhereItListened: a server started with
// --listen (a lab's shared server), killed, is started again by the next
// command with the same options: it listens where it did, TLS and all.
// Any command started it again on loopback alone, plain HTTP, and users and
// joined machines could no longer reach it, without a word.
func TestCrashedServerComesBackWhereItListened(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := h.start("server", "--listen", addr, "--tls")
	want := "url      https://" + addr + "\n"
	// It answers once it listens, and keeps its options a moment after
	// (server-args.json): killed before that, it would come back plain.
	h.waitFor("the --listen server to answer and keep its options", 30*time.Second, func() bool {
		r := h.run("server", "info")
		_, err := os.Stat(filepath.Join(h.home, "server-args.json"))
		return r.code == 0 && strings.HasPrefix(r.stdout, want) && err == nil
	})
	h.kill9(h.serverPID(), "server")
	srv.result(t)
	r := h.mustRun("jobs")
	if !strings.Contains(r.stderr, "started the server again with its last options, --listen="+addr+" --tls=true") {
		t.Errorf("the restart should say it took the last server's options:\n%s", r)
	}
	if r := h.mustRun("server", "info"); !strings.HasPrefix(r.stdout, want) {
		t.Errorf("after a crash the server should listen where it did (%s):\n%s", want, r)
	}
	// Stopped on purpose, the next one is a plain local server.
	h.mustRun("server", "stop")
	if r := h.mustRun("jobs"); !strings.Contains(r.stderr, "burst: started a local server") {
		t.Errorf("after burst server stop, a command starts a plain local server:\n%s", r)
	}
	if r := h.mustRun("server", "info"); !strings.HasPrefix(r.stdout, "url      http://127.0.0.1:") {
		t.Errorf("after burst server stop, the next server listens on loopback, plain:\n%s", r)
	}
	// Options that no longer hold are named with the way out.
	h.mustRun("server", "stop")
	writeFile(t, filepath.Join(h.home, "server-args.json"), `["--listen=`+addr+`","--tls-cert=/nonexistent.pem","--tls-key=/nonexistent.key"]`, 0o600)
	if r := h.run("jobs"); r.code == 0 || !strings.Contains(r.stderr, "cannot start the server again with its last options") ||
		!strings.Contains(r.stderr, "server-args.json for a plain local one") {
		t.Errorf("last options that fail should be named, with the way out:\n%s", r)
	}
}
