package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// joiner is h with a BURST_HOME of its own: a machine that shares no
// state with the server's home, as one that joins from elsewhere.
func (h *harness) joiner(name string) *harness {
	c := *h
	c.env = append([]string(nil), h.env...)
	c.setEnv("BURST_HOME", filepath.Join(h.root, name))
	return &c
}

func (h *harness) joinToken(args ...string) client.JoinToken {
	h.t.Helper()
	return decodeJSON[client.JoinToken](h.t, h.mustRun(append([]string{"join-token", "create", "-o", "json"}, args...)...))
}

func (h *harness) waitMachine(id, state string) {
	h.t.Helper()
	h.waitFor("machine "+id+" "+state, 30*time.Second, func() bool {
		for _, m := range h.machines("") {
			if m.ID == id && m.State == state {
				return true
			}
		}
		return false
	})
}

// A machine joins with a one-time token (kubeadm join's model: the token
// is exchanged for the machine's own credential), runs a map, and the
// token cannot serve a second machine; a token past its time is refused
// naming when it expired; a revoked machine's agent exits at once and its
// running task runs again elsewhere, to one end.
func TestJoin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "lab", "--provider", "joined")
	tok := h.joinToken("--cluster", "lab")
	if !strings.HasPrefix(tok.URL, "http://127.0.0.1:") || !strings.Contains(tok.URL, "/"+client.JoinTokenPrefix) ||
		tok.Command != client.JoinCommand(tok.URL) || tok.Cluster != "lab" {
		t.Fatalf("join token of a loopback server: %+v", tok)
	}
	if r := h.mustRun("join-token", "create", "--ttl", "2h"); !strings.Contains(r.stdout, "loopback only") || !strings.Contains(r.stdout, "burst server --listen") {
		t.Fatalf("a loopback server's token should say how to listen beyond loopback:\n%s", r)
	}
	if r := h.run("join-token", "create", "--ttl", "25h"); r.code != 2 || !strings.Contains(r.stderr, "at most 24h") {
		t.Fatalf("--ttl 25h:\n%s", r)
	}

	box := h.joiner("box")
	agent := box.start("agent", "--join", tok.URL, "--machine", "box")
	h.waitMachine("box", burst.MachineRunning)
	state := filepath.Join(box.root, "box", "joined.json")
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the joined agent's state %s: %v, %v; want 0600", state, fi, err)
	}
	b, _ := os.ReadFile(state)
	if !strings.Contains(string(b), client.MachineCredentialPrefix) || strings.Contains(string(b), tok.Token) {
		t.Fatalf("joined.json should hold the machine credential, not the token:\n%s", b)
	}

	// A map on the joined machine's cluster runs there.
	id, err := strconv.ParseInt(strings.TrimSpace(h.mustRun("map", "-d", "--on", "lab", "--", "echo", "{}", ":::", "1", "2", "3").stdout), 10, 64)
	if err != nil {
		t.Fatalf("burst map -d should print the job id: %v", err)
	}
	h.mustRun("wait", idArg(id))
	j := h.show(id)
	if j.State != "succeeded" || len(j.TaskList) != 3 {
		t.Fatalf("the map on the joined machine: %+v", j)
	}
	for _, task := range j.TaskList {
		if task.Machine != "box" {
			t.Fatalf("task %d ran on %q, want the joined machine box", task.Index, task.Machine)
		}
	}

	// The token again, from another machine: refused.
	other := h.joiner("other")
	r := other.run("agent", "--join", tok.URL, "--machine", "other")
	if r.code == 0 || !strings.Contains(r.stderr, "join token already used") {
		t.Fatalf("a used token:\n%s", r)
	}
	if strings.Contains(h.mustRun("machine", "list").stdout, "other") {
		t.Fatal("a machine joined with a used token")
	}
	recordFault(t, faultRow{Fault: "join token reused", Tasks: len(j.TaskList)})

	// Expired: wait until the list says so, then join.
	short := h.joinToken("--cluster", "lab", "--ttl", "1s")
	h.waitFor("the 1s token to expire", 30*time.Second, func() bool {
		for _, ti := range decodeJSON[[]client.JoinTokenInfo](t, h.mustRun("join-token", "list", "-o", "json")) {
			if ti.Expires.Equal(short.Expires) && ti.State(time.Now()) == "expired" {
				return true
			}
		}
		return false
	})
	if r := other.run("agent", "--join", short.URL); r.code == 0 || !strings.Contains(r.stderr, "join token expired at") ||
		!strings.Contains(r.stderr, "burst join-token create") {
		t.Fatalf("an expired token:\n%s", r)
	}
	// Made up: not this server's.
	if r := other.run("agent", "--join", strings.Replace(tok.URL, client.JoinTokenPrefix, client.JoinTokenPrefix+"00", 1)); r.code == 0 ||
		!strings.Contains(r.stderr, "not a join token of this server") {
		t.Fatalf("an unknown token:\n%s", r)
	}
	recordFault(t, faultRow{Fault: "join token expired or unknown"})

	// Revoke while a task runs on box: the agent exits saying so, and the
	// task runs again on a machine that joins later, to one end.
	count, done, gate := filepath.Join(h.root, "count"), filepath.Join(h.root, "done"), filepath.Join(h.root, "go")
	script := "echo run >> " + count + "; while [ ! -e " + gate + " ]; do sleep 0.05; done; echo done >> " + done
	long := h.submit("--on", "lab", "--", "sh", "-c", script)
	h.waitFor("the task to start on box", 30*time.Second, func() bool { b, _ := os.ReadFile(count); return len(b) > 0 })
	if r := h.mustRun("machine", "revoke", "box"); !strings.Contains(r.stdout, "credential revoked") {
		t.Fatalf("machine revoke:\n%s", r)
	}
	ar := agent.result(t)
	if ar.code == 0 || !strings.Contains(ar.stderr, client.MachineRevoked) {
		t.Fatalf("the revoked machine's agent:\n%s", ar)
	}
	h.waitMachine("box", burst.MachineLost)
	// Listed as revoked, not as lost (which would suggest it may come back).
	for _, l := range strings.Split(h.mustRun("machine", "list").stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "box" && !strings.Contains(l, " revoked ") && !strings.HasSuffix(l, " revoked") {
			t.Fatalf("machine list shows the revoked machine as:\n%s", l)
		}
	}
	// Its saved credential is refused too, at once.
	if r := box.run("agent", "--join", tok.URL); r.code == 0 || !strings.Contains(r.stderr, client.MachineRevoked) {
		t.Fatalf("the revoked machine reconnecting:\n%s", r)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	box2 := h.joiner("box2")
	box2.start("agent", "--join", h.joinToken("--cluster", "lab").URL, "--machine", "box2")
	h.mustRun("wait", idArg(long))
	lj := h.show(long)
	task := lj.task0(t)
	runs, _ := os.ReadFile(count)
	ends, _ := os.ReadFile(done)
	if lj.State != "succeeded" || task.Machine != "box2" || strings.Count(string(runs), "run") != 2 {
		t.Fatalf("the revoked machine's task: %+v, runs %q", lj, runs)
	}
	recordFault(t, faultRow{Fault: "revoked machine reconnecting", Tasks: 1,
		Lost: boolInt(lj.State != "succeeded"), Duplicated: max(0, strings.Count(string(ends), "done")-1)})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A stopped joined machine comes back the ways its messages say: `burst
// machine stop` says how, `burst machine start` lets its agent register
// again (with the credential saved at its join), and a new token given to
// the agent joins anew instead of reusing the stopped machine's saved
// credential. --cluster with --join is refused (the token names it), and
// so is a --machine other than the one the saved credential is for.
func TestJoinedStopStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "lab", "--provider", "joined")
	tok := h.joinToken("--cluster", "lab")
	box := h.joiner("box")
	if r := box.run("agent", "--join", tok.URL, "--cluster", "lab"); r.code != 2 || !strings.Contains(r.stderr, "leave out --cluster") {
		t.Fatalf("--join with --cluster:\n%s", r)
	}
	agent := box.start("agent", "--join", tok.URL, "--machine", "box")
	h.waitMachine("box", burst.MachineRunning)
	if r := box.run("agent", "--join", tok.URL, "--machine", "other"); r.code != 2 || !strings.Contains(r.stderr, "joined") ||
		!strings.Contains(r.stderr, "as machine box") || !strings.Contains(r.stderr, "leave out --machine") {
		t.Fatalf("a saved credential with another --machine:\n%s", r)
	}

	if r := h.mustRun("machine", "stop", "box"); !strings.Contains(r.stdout, "until you let it back (burst machine start box") {
		t.Fatalf("machine stop of a joined machine:\n%s", r)
	}
	if ar := agent.result(t); ar.code == 0 || !strings.Contains(ar.stderr, "burst machine start box") {
		t.Fatalf("the stopped machine's agent should exit saying how it comes back:\n%s", ar)
	}
	h.waitMachine("box", burst.MachineStopped)
	if r := box.run("agent", "--join", tok.URL); r.code == 0 || !strings.Contains(r.stderr, "burst machine start box") {
		t.Fatalf("the stopped machine's agent before machine start:\n%s", r)
	}
	if r := h.mustRun("machine", "start", "box"); !strings.Contains(r.stdout, "may register again") {
		t.Fatalf("machine start of a stopped joined machine:\n%s", r)
	}
	again := box.start("agent", "--join", tok.URL)
	h.waitMachine("box", burst.MachineRunning)

	// Stopped again; this time the agent gets a new token: it joins anew.
	h.mustRun("machine", "stop", "box")
	if ar := again.result(t); !strings.Contains(ar.stderr, "serving "+strings.SplitN(tok.URL, "/"+client.JoinTokenPrefix, 2)[0]+" again as machine box") {
		t.Fatalf("the agent with the saved credential should say it serves again:\n%s", ar)
	}
	box.start("agent", "--join", h.joinToken("--cluster", "lab").URL, "--machine", "box")
	h.waitMachine("box-2", burst.MachineRunning)
}
