package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst"
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

	// A second stop finds nothing to stop and says so, at once: a socket
	// nobody answers on is no server, not one to wait for (the client's
	// retry is off for that question; with it on, this took 5 s).
	began := time.Now()
	r = h.mustRun("server", "stop", "--all")
	if !strings.Contains(r.stdout, "no burst server ran") || !strings.Contains(r.stdout, "no agent ran") {
		t.Errorf("a second server stop --all should find nothing:\n%s", r)
	}
	if d := time.Since(began); d > 4*time.Second {
		t.Errorf("a server stop with no server took %v: it should not wait for one", d)
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

// The dashboard offers a machine's Stop or Start button only when the API
// would take it: local-1 (this host) cannot be stopped, so it has none; a
// machine of a cluster has Stop while it runs and Start once stopped. Its
// error pages (not found, forbidden) are drawn in its own layout.
func TestDashboardButtonsAndErrorPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "work", "--type", "t2.micro", "--min", "1", "--idle-stop", "0")
	h.waitFor("work-1 to run", 60*time.Second, func() bool {
		return countState(h.machines("work"), burst.MachineRunning) == 1
	})
	job := strings.TrimSpace(h.mustRun("run", "-d", "--on", "local", "--", "true").stdout)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	base := h.signIn(c) // lands on /ui/
	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const (
		stopLocal = `data-url="/v1/machines/local-1/stop"`
		stopWork  = `data-url="/v1/machines/work-1/stop"`
		startWork = `data-url="/v1/machines/work-1/start"`
	)
	_, page := get("/ui/clusters")
	if strings.Contains(page, stopLocal) {
		t.Errorf("the clusters page offers to stop local-1, which the API refuses")
	}
	if !strings.Contains(page, stopWork) || strings.Contains(page, startWork) {
		t.Errorf("the clusters page should offer Stop (only) for the running work-1:\n%s", tail(page, 4000))
	}
	// The API agrees: it refuses to stop local-1.
	if r := h.run("machine", "stop", "local-1"); r.code != 2 || !strings.Contains(r.stderr, "cannot be stopped") {
		t.Errorf("stopping local-1 should be refused:\n%s", r)
	}
	h.mustRun("machine", "stop", "work-1")
	h.waitFor("work-1 to stop", 60*time.Second, func() bool {
		return countState(h.machines("work"), burst.MachineStopped) == 1
	})
	_, page = get("/ui/clusters")
	if !strings.Contains(page, startWork) || strings.Contains(page, stopWork) || strings.Contains(page, stopLocal) {
		t.Errorf("the clusters page should offer Start (only) for the stopped work-1, and nothing for local-1:\n%s", tail(page, 4000))
	}
	// The project page lists work-1 under its project (default) the same way.
	if _, page = get("/ui/projects/default"); !strings.Contains(page, startWork) {
		t.Errorf("the project page should offer Start for the stopped work-1:\n%s", tail(page, 4000))
	}

	// Error pages: the dashboard's layout (its header and navigation), the
	// status, and a message that says what is wrong.
	layout := []string{`<header class="top">`, `<a href="/ui/clusters"`, `<main id="live"`, `<link rel="stylesheet"`}
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/ui/no-such-page", 404, "There is no page /ui/no-such-page"},
		{"/ui/projects/no-such-project", 404, "There is no project no-such-project"},
		{"/ui/jobs/999", 404, "999"},
		{"/ui/jobs/abc", 404, "not a job id"},
		{"/ui/jobs/" + job + "?task=abc", 400, `task &#34;abc&#34; is not a task number`}, // it showed task 0 as the one asked for
		{"/ui/jobs/" + job + "?task=-1", 400, `task &#34;-1&#34; is not a task number`},
	} {
		code, body := get(tc.path)
		if code != tc.status {
			t.Errorf("GET %s: %d, want %d", tc.path, code, tc.status)
		}
		for _, w := range append([]string{tc.want}, layout...) {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: the page lacks %q:\n%s", tc.path, w, tail(body, 2000))
			}
		}
	}
	// A form posted without its CSRF token: forbidden, as a page.
	req, _ := http.NewRequest("POST", base+"/ui/logout", strings.NewReader("csrf=wrong"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("POST /ui/logout without the CSRF token: %d, want 403", resp.StatusCode)
	}
	for _, w := range append([]string{"CSRF token"}, layout...) {
		if !strings.Contains(string(b), w) {
			t.Errorf("the forbidden page lacks %q:\n%s", w, tail(string(b), 2000))
		}
	}
}

// The README's pipeline file gives the counts the same stages give in a
// shell. Its first stage (./align, a program of the reader's) becomes cat,
// its cluster (on: hpc) this host, and its sizes go; the rest runs as
// written, with the stage it splits over copies.
func TestREADMEPipelineFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b, err := os.ReadFile(filepath.Join(moduleDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, "A pipeline file:\n\n```yaml\n")
	if i < 0 {
		t.Fatal("README.md has no pipeline file example (\"A pipeline file:\" and a yaml block)")
	}
	yml := readme[i+len("A pipeline file:\n\n```yaml\n"):]
	yml = yml[:strings.Index(yml, "```")]
	if !strings.Contains(yml, "parallel:") {
		t.Fatalf("the example should show a stage split over copies:\n%s", yml)
	}
	var lines []string
	for _, l := range strings.Split(yml, "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(l, "on:") || strings.HasPrefix(t, "cpus:") || strings.HasPrefix(t, "mem:") {
			continue // this host may be smaller than the reader's cluster
		}
		lines = append(lines, strings.Replace(l, "run: ./align -", "run: cat", 1))
	}
	writeFile(t, filepath.Join(h.dir, "pipeline.yaml"), strings.Join(lines, "\n"), 0o644)
	// Reads whose third field repeats, in no order: enough lines that each
	// copy of the split stage gets several blocks of them.
	var in strings.Builder
	for k := range 60000 {
		fmt.Fprintf(&in, "read%d\t+\tchr%d\n", k, (k*7919)%13)
	}
	writeFile(t, filepath.Join(h.dir, "reads.txt"), in.String(), 0o644)
	h.mustRun("pipe", "-f", "pipeline.yaml")
	got, err := os.ReadFile(filepath.Join(h.dir, "counts.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The same stages in a shell: what the file means.
	var stages []string
	for _, l := range lines {
		if s := strings.TrimSpace(l); strings.HasPrefix(s, "- run: ") {
			cmd := strings.TrimPrefix(s, "- run: ")
			if j := strings.Index(cmd, "#"); j >= 0 {
				cmd = cmd[:j]
			}
			stages = append(stages, strings.TrimSpace(cmd))
		}
	}
	sh := exec.Command("sh", "-c", "< reads.txt "+strings.Join(stages, " | "))
	sh.Dir = h.dir
	want, err := sh.Output()
	if err != nil {
		t.Fatalf("%s: %v", sh, err)
	}
	if string(got) != string(want) || len(want) == 0 {
		t.Errorf("the README's pipeline file counts\n%s\nwhere its stages in a shell (%s) count\n%s", got, strings.Join(stages, " | "), want)
	}
}

// burst jobs --project NAME of a project that does not exist says so (the
// projects there are, how to make one), exit 2: it showed an empty table,
// exit 0, as for a project with no jobs.
func TestJobsOfUnknownProject(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if r := h.run("jobs", "--project", "nope"); r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, `no project "nope"`) {
		t.Errorf("jobs of a project that does not exist:\n%s", r)
	}
	if r := h.run("jobs", "--project", "default"); r.code != 0 {
		t.Errorf("jobs of an existing project with none: exit 0 and an empty table:\n%s", r)
	}
}

// Commands started together on a home with no server each start one, and
// one of those servers wins the home: only the command whose server won
// says "started a local server" (seven of forty said so), and every
// command's job runs.
func TestConcurrentAutostartSaysStartedOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const n = 12
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = h.run("run", "--", "echo", strconv.Itoa(i)) })
	}
	wg.Wait()
	said := 0
	for i, r := range results {
		if r.code != 0 || strings.TrimSpace(r.stdout) != strconv.Itoa(i) {
			t.Errorf("command %d:\n%s", i, r)
		}
		said += strings.Count(r.stderr, "started a local server")
	}
	if said != 1 {
		t.Errorf("%d of %d commands said they started the server; one did", said, n)
	}
}

// A server started by a command run at a nice above 0 (nice -n 7 burst
// jobs) keeps that nice, and so do its agent and every task it runs
// later, which nothing said: the start says so and how to start afresh
// (its agents too, which outlive a plain server stop); one started at
// nice 0 says nothing of it and runs tasks at 0.
func TestServerStartedAtNiceSaysSo(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	nice, err := exec.LookPath("nice")
	if err != nil {
		t.Fatal(err)
	}
	c := h.command("jobs")
	c.Args = append([]string{"nice", "-n", "7", c.Path}, c.Args[1:]...)
	c.Path = nice
	r := h.exec(c)
	if r.code != 0 || !strings.Contains(r.stderr, "started at nice 7") || !strings.Contains(r.stderr, "burst server stop --all") {
		t.Fatalf("a server started at nice 7 should say so and how to start afresh:\n%s", r)
	}
	if r := h.mustRun("run", "--", "nice"); r.stdout != "7\n" {
		t.Errorf("a task of that server runs at its nice, 7: %s", r)
	}
	h.mustRun("server", "stop", "--all") // the agent too: a plain stop leaves it, at nice 7, for the next server
	r = h.mustRun("run", "--", "nice")
	if r.stdout != "0\n" || strings.Contains(r.stderr, "nice") {
		t.Errorf("a server started at nice 0: its task at 0, and no word of nice: %s", r)
	}
}
