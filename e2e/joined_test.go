package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// A cluster of the joined provider on the test hosts: burst starts none of
// its machines; two join with tokens for it, announce their own size, and
// are machines of the cluster's project, priced by the configured local
// rates as pilots of no catalog type are; a map runs on them; `burst
// machine stop` makes the machine's agent exit, and `burst machine start`
// says how a machine joins instead of starting one.
func TestJoinedCluster(t *testing.T) {
	t.Parallel()
	h := startHostServer(t)
	h.mustRun("project", "create", "mars", "--budget", "100")
	h.mustRun("cluster", "create", "lab", "--provider", "joined", "--project", "mars")
	cs := decodeJSON[[]burst.Cluster](t, h.mustRun("cluster", "list", "-o", "json"))
	found := false
	for _, c := range cs {
		if c.Name == "lab" {
			found = true
			if c.Provider != "joined" || c.Project != "mars" || c.Live != 0 {
				t.Fatalf("cluster lab: %+v; want provider joined, project mars, no machine before one joins", c)
			}
		}
	}
	if !found {
		t.Fatalf("cluster list has no lab:\n%+v", cs)
	}
	a := h.startHostAgent(1, "--machine", "bh1-lab", "--cluster", "lab", "--cpus", "2")
	b := h.startHostAgent(2, "--machine", "bh2-lab", "--cluster", "lab", "--cpus", "1")
	h.waitRegistered(a)
	h.waitRegistered(b)

	ms := h.machines("lab")
	if len(ms) != 2 {
		t.Fatalf("machine list --cluster lab: %d machines, want the 2 that joined: %+v", len(ms), ms)
	}
	for _, m := range ms {
		want := map[string]int{"bh1-lab": 2, "bh2-lab": 1}[m.ID]
		if m.Project != "mars" || m.CPUs != want || m.PriceUSDPerHour <= 0 || m.PriceBasis == "" || m.State != burst.MachineRunning {
			t.Errorf("machine %s: project %q, %d CPUs, $%g/h (%s), %s; want project mars, %d CPUs (its own), a price and its basis, running",
				m.ID, m.Project, m.CPUs, m.PriceUSDPerHour, m.PriceBasis, m.State, want)
		}
	}
	if r := h.mustRun("machine", "list", "--cluster", "lab"); !strings.Contains(r.stdout, "bh1-lab  lab      joined") || !strings.Contains(r.stdout, "per use") {
		t.Errorf("machine list --cluster lab should show the machines as joined, with their price:\n%s", r)
	}

	// A map on the cluster runs on the two machines only.
	c := h.command("map", "--on", "lab", "--project", "mars", "--quiet", "--", "true", ":::", "1", "2", "3", "4", "5", "6")
	c.Dir = "/" // the job's working directory must exist on the hosts
	r := h.exec(c)
	if r.code != 0 {
		t.Fatalf("map on lab:\n%s", r)
	}
	j := h.showTasks(jobIDFrom(t, r), 6)
	if j.State != "succeeded" || len(j.TaskList) != 6 {
		t.Fatalf("map on lab: %s, %d tasks", j.State, len(j.TaskList))
	}
	for _, task := range j.TaskList {
		if task.Machine != "bh1-lab" && task.Machine != "bh2-lab" {
			t.Errorf("task %d ran on %q, not a machine of lab", task.Index, task.Machine)
		}
	}

	// burst starts none: start names how a machine joins.
	if r := h.run("machine", "start", "--cluster", "lab"); r.code == 0 || !strings.Contains(r.stderr, "burst join-token create --cluster lab") {
		t.Errorf("machine start --cluster lab should refuse naming burst join-token create:\n%s", r)
	}

	// Stop: the agent is asked to exit, and does.
	h.mustRun("machine", "stop", "bh2-lab")
	h.waitFor("the agent of bh2-lab to exit", 30*time.Second, b.exited)
	h.waitMachine("bh2-lab", burst.MachineStopped)
	if a.exited() {
		t.Errorf("stopping bh2-lab ended bh1-lab's agent too: %s", a.exitStatus())
	}
}

// Join tokens are made only for clusters whose machines join by
// themselves, and say how to make one; without --cluster the default
// cluster "joined" (project default) is made on demand. A joined cluster
// takes no size and no --min/--max: its machines bring their own.
func TestJoinTokenClusters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if r := h.run("join-token", "create", "--cluster", "nosuch"); r.code == 0 || !strings.Contains(r.stderr, "no cluster nosuch") ||
		!strings.Contains(r.stderr, "burst cluster create nosuch --provider joined --project") {
		t.Errorf("join-token for a missing cluster:\n%s", r)
	}
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--max", "1")
	if r := h.run("join-token", "create", "--cluster", "work"); r.code == 0 || !strings.Contains(r.stderr, "do not join") ||
		!strings.Contains(r.stderr, "--provider joined") {
		t.Errorf("join-token for a cluster of the local provider:\n%s", r)
	}
	for _, bad := range [][]string{{"--max", "3"}, {"--min", "1"}, {"--type", "t2.micro"}, {"--spot"}} {
		r := h.run(append([]string{"cluster", "create", "j", "--provider", "joined"}, bad...)...)
		if r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 || !strings.Contains(r.stderr, bad[0]) {
			t.Errorf("cluster create --provider joined %v: want a one-line refusal naming %s:\n%s", bad, bad[0], r)
		}
	}
	tok := h.joinToken()
	if tok.Cluster != "joined" {
		t.Fatalf("a join token without --cluster is for cluster %q, want joined", tok.Cluster)
	}
	for _, c := range decodeJSON[[]burst.Cluster](t, h.mustRun("cluster", "list", "-o", "json")) {
		if c.Name == "joined" {
			if c.Provider != "joined" || c.Project != "default" {
				t.Fatalf("the default cluster: %+v; want provider joined, project default", c)
			}
			h.joinToken() // a second one finds it made
			return
		}
	}
	t.Fatal("join-token create without --cluster made no cluster joined")
}

// A cluster of joined machines says what it is: machines join by
// themselves and each is priced by its own size, so `cluster create`
// names no count or price and says which project pays, `cluster list`
// shows the machines that joined as a count and no cluster-wide price,
// and --idle-stop (which burst could not apply: the hosts are not its to
// stop) is refused naming why.
func TestJoinedClusterFigures(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.mustRun("cluster", "create", "lab", "--provider", "joined")
	if !strings.Contains(r.stdout, "machines join by themselves (burst join-token create --cluster lab); each is priced by its own size when it joins; charged to project default (--project P charges another)") ||
		strings.Contains(r.stdout, "0 to 0") || strings.Contains(r.stdout, "/h") {
		t.Fatalf("cluster create --provider joined:\n%s", r)
	}
	if r := h.run("cluster", "create", "lab2", "--provider", "joined", "--idle-stop", "5m"); r.code != 2 || !strings.Contains(r.stderr, "--idle-stop: burst does not stop machines of the joined provider") {
		t.Fatalf("cluster create --provider joined --idle-stop 5m:\n%s", r)
	}
	// A name taken by a cluster burst starts machines for: the fix is
	// another name, not creating the taken one.
	if r := h.run("join-token", "create", "--cluster", "local"); r.code == 0 || strings.Contains(r.stderr, "cluster create local") ||
		!strings.Contains(r.stderr, "make a cluster of another name for machines that join (burst cluster create NEWNAME --provider joined") {
		t.Fatalf("join-token create --cluster local:\n%s", r)
	}
	row := func() []string {
		for _, l := range strings.Split(h.mustRun("cluster", "list").stdout, "\n") {
			if f := strings.Fields(l); len(f) > 0 && f[0] == "lab" {
				return f
			}
		}
		t.Fatal("cluster list has no lab")
		return nil
	}
	// NAME PROVIDER TYPE("own size") PROJECT MACHINES QUEUED $/H IDLE-STOP SCHEDULE
	if f := row(); strings.Join(f[4:9], " ") != "default 0 0 - -" {
		t.Fatalf("cluster list, lab before a machine joins: %q, want MACHINES 0, $/H -, IDLE-STOP -", f)
	}
	h.joiner("box").start("agent", "--join", h.joinToken("--cluster", "lab").URL, "--machine", "box")
	h.waitMachine("box", burst.MachineRunning)
	if f := row(); strings.Join(f[4:9], " ") != "default 1 0 - -" {
		t.Fatalf("cluster list, lab with one machine: %q, want MACHINES 1, $/H -", f)
	}
}
