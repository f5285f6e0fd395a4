package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An idle agent whose server is gone exits after BURST_AGENT_IDLE_EXIT
// (2 minutes by default), and says so in its log once, not at every retry.
func TestIdleAgentExitsWithoutServer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.setEnv("BURST_AGENT_IDLE_EXIT", "3s")
	h.mustRun("run", "--", "true")
	agent := h.waitAgent(0)
	stopping := time.Now()
	r := h.mustRun("server", "stop")
	if !strings.Contains(r.stdout, "running jobs go on") {
		t.Errorf("server stop without --all should say that jobs go on:\n%s", r)
	}
	if !alive(agent) {
		t.Fatalf("the agent died with its server; it should outlive it while it may be needed")
	}
	h.waitFor("the idle agent to exit", 60*time.Second, func() bool { return !alive(agent) })
	if d := time.Since(stopping); d < 3*time.Second {
		t.Errorf("the agent exited %s after its server, before its idle exit of 3s", d)
	}
	b, err := os.ReadFile(filepath.Join(h.home, "agents", "local-1.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if n := strings.Count(log, "server unreachable;"); n != 1 {
		t.Errorf("the agent logged %d lines about its unreachable server in 3 s, want 1 (then one a minute):\n%s", n, tail(log, 3000))
	}
	if !strings.Contains(log, "exits once the server has been gone 3s") || !strings.Contains(log, "the agent exits") {
		t.Errorf("the agent's log should say when it exits, and that it does:\n%s", tail(log, 3000))
	}
	if pids := taggedPIDs(h.tag); len(pids) != 0 {
		t.Errorf("after the agent's exit, processes of this test run:%s", describePIDs(pids))
	}
}

// `burst server stop --all` stops the server and this host's agents, and
// says what happens to the tasks they ran: ended, and run again from the
// beginning when a server starts. The test checks that this is what happens.
func TestServerStopAllStopsAgents(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	marker := newMarker()
	starts := filepath.Join(h.dir, "starts")
	id := h.submit("--", "sh", "-c", "echo start >> "+starts+"; sleep "+marker)
	h.waitRunning(id)
	h.waitFor("the task's sleep", 30*time.Second, func() bool { return len(sleepers(marker)) == 1 })
	server, agent := h.serverPID(), h.agentPID()

	r := h.mustRun("server", "stop", "--all")
	want := "stopped 1 agent (local-1): its running task was ended (SIGTERM, then SIGKILL after 2 s) and will run again from the beginning when a server starts"
	if !strings.Contains(r.stdout, want) {
		t.Errorf("server stop --all should say %q:\n%s", want, r)
	}
	// The command returns once all of it has stopped.
	for _, p := range []int{server, agent} {
		if alive(p) {
			t.Errorf("pid %d still runs after server stop --all:%s", p, describePIDs([]int{p}))
		}
	}
	if pids := taggedPIDs(h.tag); len(pids) != 0 {
		t.Errorf("after server stop --all, processes of this test run:%s", describePIDs(pids))
	}

	// A second stop finds nothing to stop and says so.
	r = h.mustRun("server", "stop", "--all")
	if !strings.Contains(r.stdout, "no burst server ran") || !strings.Contains(r.stdout, "no agent ran") {
		t.Errorf("a second server stop --all should find nothing:\n%s", r)
	}

	// The next command starts a server; the task runs again from the start.
	h.mustRun("jobs")
	h.waitFor("the task to start again", 60*time.Second, func() bool {
		b, _ := os.ReadFile(starts)
		return string(b) == "start\nstart\n"
	})
	h.waitFor("its sleep", 30*time.Second, func() bool { return len(sleepers(marker)) == 1 })
	if j := h.show(id); j.State != "running" {
		t.Errorf("job %d is %s, want running again", id, j.State)
	}
	h.mustRun("cancel", idArg(id))
}

// A prices file the server cannot read stops the server from starting, and
// the command that started it says so in one line naming the file, the line
// and the fix, never "started a local server" first. Exit 2: the user's
// setup is wrong.
func TestBadPricesFileOneMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if err := os.MkdirAll(h.home, 0o700); err != nil {
		t.Fatal(err)
	}
	prices := filepath.Join(h.home, "prices.yaml")
	writeFile(t, prices, "types:\n  c5.large:\n    on_demandd: 0.1\n", 0o600)
	r := h.run("run", "--", "true")
	if r.code != 2 {
		t.Errorf("want exit 2:\n%s", r)
	}
	msg := oneLine(t, r)
	for _, want := range []string{prices, "line 3", "unknown key on_demandd", "on_demand", "fix it"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message should say %q:\n%s", want, r)
		}
	}
	if strings.Contains(r.stderr, "started") {
		t.Errorf("a server that did not start was said to have started:\n%s", r)
	}

	// Fixed, the next command starts the server and says so once.
	writeFile(t, prices, "types:\n  c5.large:\n    on_demand: 0.1\n", 0o600)
	r = h.mustRun("run", "--", "true")
	if n := strings.Count(r.stderr, "burst: started a local server"); n != 1 {
		t.Errorf("want one line saying the server started:\n%s", r)
	}
}
