package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// Hostile and oversize input (issue #14, item 8): every field of a submitted
// job has a limit and every number a range (docs/guarantees.md#hostile-and-oversize-input), the
// server refuses what is past them with the limit named, whether the CLI or a
// raw HTTP client with the token sends it, and it stays small and fast after.
// Each attack records a row of Tasks 0; a job the server accepted from it
// counts as FailedWrongly (it should have been refused).

// rawSubmit posts body to the server's /v1/jobs with the token and returns
// the status and the error message of the answer.
func rawSubmit(t *testing.T, h *harness, body []byte) (int, string) {
	t.Helper()
	status, msg, err := rawRequest(t, h, "POST", "/v1/jobs", body)
	if err != nil {
		t.Fatalf("POST /v1/jobs (%d bytes): %v", len(body), err)
	}
	return status, msg
}

// rawRequest sends method path with body (nil: none) and the token, and
// returns the status and the error message of the answer, or why no
// answer came (the server broke the connection: a handler panicked).
func rawRequest(t *testing.T, h *harness, method, path string, body []byte) (int, string, error) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, h.serverInfo().Addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.serverToken())
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(b, &e)
	if e.Error == "" {
		e.Error = string(b)
	}
	return resp.StatusCode, e.Error, nil
}

// counter is the value of counter name (no labels) in the server's
// /metrics.
func (h *harness) counter(name string) float64 {
	h.t.Helper()
	status, text, err := rawRequest(h.t, h, "GET", "/metrics", nil)
	if err != nil || status != http.StatusOK {
		h.t.Fatalf("GET /metrics: %d %v %.300q", status, err, text)
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				h.t.Fatalf("/metrics: %s: %v", line, err)
			}
			return f
		}
	}
	h.t.Fatalf("/metrics has no %s", name)
	return 0
}

// waitPasses waits until the server's counter name (burst_scheduler_passes_total,
// burst_autoscaler_rounds_total) has risen by n+1 from now: each pass counts
// itself at its end, so the first may have begun before this call; the n
// after it began after it, and each saw what was submitted before it. It
// replaces a fixed sleep before a check that something did not happen.
func (h *harness) waitPasses(name string, n int) {
	h.t.Helper()
	from := h.counter(name)
	h.waitFor(fmt.Sprintf("%d more of %s", n+1, name), 60*time.Second, func() bool { return h.counter(name) >= from+float64(n+1) })
}

// jobCount is how many jobs `burst jobs` lists, and how long it took.
func jobCount(t *testing.T, h *harness) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	r := h.mustRun("jobs", "-o", "json")
	took := time.Since(start)
	var jobs []json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &jobs); err != nil {
		t.Fatalf("burst jobs -o json: %v: %q", err, tail(r.stdout, 300))
	}
	if len(r.stdout) > 1<<20 {
		t.Errorf("burst jobs printed %d bytes for %d jobs", len(r.stdout), len(jobs))
	}
	return len(jobs), took
}

func TestFaultInputRawHTTP(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "true") // starts the server; one job
	before, _ := jobCount(t, h)

	spec := func(f func(m map[string]any)) []byte {
		m := map[string]any{"argv": []string{"true"}, "resources": map[string]any{"cpus": 1}}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	big := strings.Repeat("n", 60_000_000)
	hundredMB := append([]byte(`{"argv":["true"],"script":"`), bytes.Repeat([]byte("x"), 100_000_000)...)
	hundredMB = append(hundredMB, `"}`...)
	for _, a := range []struct {
		fault  string
		body   []byte
		status int
		want   string
	}{
		{"input: 60 MB job name", spec(func(m map[string]any) { m["name"] = big }), 400, "job name is 60000000 bytes; the limit is 255"},
		{"input: 100 MB request body", hundredMB, 413, "more than 67108864 bytes (64 MiB), the limit"},
		{"input: time limit of 584 years", spec(func(m map[string]any) {
			m["resources"] = map[string]any{"cpus": 1, "time_limit_s": int64(18_446_744_074)}
		}),
			400, "the limit is 3153600000 s (100 years of 365 days)"},
		{"input: time limit past int64", []byte(`{"argv":["true"],"resources":{"cpus":1,"time_limit_s":1e30}}`), 400, "time_limit_s"},
		{"input: 2^40 CPUs", spec(func(m map[string]any) { m["resources"] = map[string]any{"cpus": int64(1) << 40} }), 400, "ask for 1 to 65536 CPUs"},
		{"input: 10^9 retries", spec(func(m map[string]any) { m["retries"] = 1_000_000_000 }), 400, "give 0 to 10000"},
		{"input: empty argv[0]", spec(func(m map[string]any) { m["argv"] = []string{"", "x"} }), 400, "names no program"},
		{"input: NUL in argv", spec(func(m map[string]any) { m["argv"] = []string{"echo", "a\x00b"} }), 400, "holds a NUL byte"},
		{"input: env key with =", spec(func(m map[string]any) { m["env"] = map[string]string{"A=B": "1"} }), 400, "cannot hold '=' or NUL"},
		{"input: env key with NUL", spec(func(m map[string]any) { m["env"] = map[string]string{"A\x00B": "1"} }), 400, "cannot hold '=' or NUL"},
		{"input: job name .", spec(func(m map[string]any) { m["name"] = "." }), 400, "names no file"},
		{"input: job name ..", spec(func(m map[string]any) { m["name"] = ".." }), 400, "names no file"},
		{"input: escape sequence in a name", spec(func(m map[string]any) { m["name"] = "\x1b]0;owned\x07\x1b[2J" }), 400, "control character U+001B"},
		{"input: 2 MB map input", spec(func(m map[string]any) {
			delete(m, "argv")
			m["map"] = map[string]any{"template": []string{"echo", "{}"}, "sources": [][]string{{"a", strings.Repeat("i", 2<<20)}}}
		}), 400, "input 2 of group 1 is 2097152 bytes; the limit is 131071"},
		{"input: pipe stage ..", spec(func(m map[string]any) {
			delete(m, "argv")
			m["pipe"] = map[string]any{"stages": []map[string]any{{"name": "..", "argv": []string{"true"}}}}
		}), 400, "not . or .."},
	} {
		status, msg := rawSubmit(t, h, a.body)
		accepted := 0
		if status == 201 {
			accepted = 1
		}
		if status != a.status || !strings.Contains(msg, a.want) {
			t.Errorf("%s: status %d %q; want %d saying %q", a.fault, status, tail(msg, 300), a.status, a.want)
		}
		if len(msg) > 1000 {
			t.Errorf("%s: the message is %d bytes; want one short line", a.fault, len(msg))
		}
		recordFault(t, faultRow{Fault: a.fault + " (raw HTTP)", FailedWrongly: accepted})
	}
	big, hundredMB = "", nil

	// Attacks on the other routes (review of the input slice): agents'
	// routes, log offsets, listing limits. Each is refused with 400 and a
	// message; none breaks the connection (a handler's panic did).
	jobs := h.mustRun("jobs", "-o", "json").stdout
	var listed []struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(jobs), &listed); err != nil || len(listed) == 0 {
		t.Fatalf("burst jobs -o json: %v %q", err, tail(jobs, 300))
	}
	logs := fmt.Sprintf("/v1/jobs/%d/logs?task=0&offset=", listed[0].ID)
	for _, a := range []struct {
		fault, method, path string
		body                []byte
		want                string
	}{
		{"input: agent named with an escape, 2^40 CPUs, 2^62 bytes", "POST", "/v1/agent/register",
			[]byte(`{"machine":"\u001b[2J` + strings.Repeat("x", 300) + `","cpus":1099511627776,"mem_bytes":4611686018427387904}`), "machine name"},
		{"input: agent of 2^40 CPUs", "POST", "/v1/agent/register",
			[]byte(`{"machine":"evil","cpus":1099511627776,"mem_bytes":4611686018427387904}`), "a machine has 0 to 65536"},
		{"input: agent event reason of 1 MiB", "POST", "/v1/agent/report",
			[]byte(`{"machine":"evil","events":[{"job":1,"kind":"exited","reason":"` + strings.Repeat("r", 1<<20) + `"}]}`), "the limit is 8192"},
		{"input: agent event of negative output", "POST", "/v1/agent/report",
			[]byte(`{"machine":"evil","events":[{"job":1,"kind":"exited","out_bytes":-5}]}`), "out_bytes -5 is negative"},
		{"input: job kind unknown", "POST", "/v1/jobs", []byte(`{"argv":["true"],"kind":"evil"}`), "give run, map or pipe"},
		{"input: job kind map of a run", "POST", "/v1/jobs", []byte(`{"argv":["true"],"kind":"map"}`), "does not match the spec"},
		{"input: 2 MiB script of control bytes (12 MiB as JSON)", "POST", "/v1/jobs",
			[]byte(`{"argv":[],"script":"#!/bin/sh\n` + strings.Repeat(`\u0001`, 2<<20) + `"}`), "as stored; the limit is 8388608"},
		{"input: log offset -13", "GET", logs + "-13", nil, "give the number of bytes already read"},
		// Past the task's end: nothing (before, the handler panicked on a
		// slice bound, and offset+from wrapped for a shared file).
		{"input: log offset 2^63-1", "GET", logs + "9223372036854775807", nil, ""},
		{"input: jobs limit 10^9", "GET", "/v1/jobs?limit=1000000000", nil, "give 0 (the default) to 10000 rows"},
		{"input: events limit 10^9", "GET", "/v1/events?limit=1000000000", nil, "give 0 (the default) to 10000 rows"},
	} {
		status, msg, err := rawRequest(t, h, a.method, a.path, a.body)
		taken := 0
		switch {
		case err != nil:
			t.Errorf("%s: no answer: %v", a.fault, err)
		case a.want == "" && (status != 200 || msg != ""):
			t.Errorf("%s: status %d %q; want 200 and nothing", a.fault, status, tail(msg, 300))
		case a.want != "" && (status != 400 || !strings.Contains(msg, a.want)):
			t.Errorf("%s: status %d %q; want 400 saying %q", a.fault, status, tail(msg, 300), a.want)
			if status < 300 {
				taken = 1
			}
		}
		recordFault(t, faultRow{Fault: a.fault + " (raw HTTP)", FailedWrongly: taken})
	}
	if r := h.mustRun("machine", "list", "-o", "json"); strings.Contains(r.stdout, "evil") || strings.Contains(r.stdout, "\u001b") {
		t.Errorf("a refused agent is listed:\n%s", tail(r.stdout, 500))
	}

	// Nothing was stored: the listing has the one job it had, and is fast.
	after, took := jobCount(t, h)
	if after != before {
		t.Errorf("burst jobs lists %d jobs after the attacks, %d before: some were accepted", after, before)
	}
	if took > 5*time.Second {
		t.Errorf("burst jobs took %v after the attacks", took)
	}
	// The server holds none of it: its memory comes back (the 60 MB name
	// once stayed, three times over, for good: 835 MB).
	pid := h.serverPID()
	const most = 100 << 20
	rss := vmRSS(t, pid)
	t.Logf("the server's RSS after the attacks: %d MiB", rss>>20)
	waitFor(t, fmt.Sprintf("the server's RSS below %d MiB", most>>20), 30*time.Second, func() bool { rss = vmRSS(t, pid); return rss < most })
	t.Logf("the server's RSS: %d MiB", rss>>20)
	// And it still serves.
	if r := h.run("run", "--", "echo", "still here"); r.code != 0 || r.stdout != "still here\n" {
		t.Errorf("a job after the attacks:\n%s", r)
	}
}

// The same refusals through the CLI: the message names the limit, the
// command exits non-zero, and no job is made.
func TestFaultInputCLI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "true")
	before, _ := jobCount(t, h)

	longLine := filepath.Join(h.dir, "long-line")
	writeFile(t, longLine, "a\n"+strings.Repeat("i", 200_000)+"\n", 0o644)
	// A map whose request is past the body limit: 1,100,000 inputs of 60
	// bytes (one input each line, as :::: reads them).
	var sb strings.Builder
	for i := range 1_100_000 {
		fmt.Fprintf(&sb, "%060d\n", i)
	}
	tooMany := filepath.Join(h.dir, "too-many")
	writeFile(t, tooMany, sb.String(), 0o644)
	sb = strings.Builder{}

	for _, a := range []struct {
		fault string
		args  []string
		want  string
	}{
		{"input: 100 KB job name", []string{"run", "--name", strings.Repeat("n", 100_000), "--", "true"}, "job name is 100000 bytes; the limit is 255"},
		{"input: escape sequence in a name", []string{"run", "--name", "\x1b[2Jowned", "--", "true"}, "control character U+001B"},
		{"input: job name ..", []string{"run", "--name", "..", "--", "true"}, "names no file"},
		{"input: empty command", []string{"run", "--", ""}, "names no program"},
		{"input: 200 KB map input line", []string{"map", "--", "echo", "{}", "::::", longLine}, "input 2 of group 1 is 200000 bytes; the limit is 131071"},
		{"input: 70 MB map request", []string{"map", "-d", "--", "true", "{}", "::::", tooMany}, "more than 67108864 bytes (64 MiB), the limit"},
	} {
		r := h.run(a.args...)
		accepted := 0
		if r.code == 0 {
			accepted = 1
		}
		if r.code == 0 || !strings.Contains(r.stderr, a.want) {
			t.Errorf("%s: want a non-zero exit and a message saying %q:\n%s", a.fault, a.want, r)
		}
		if strings.Contains(r.stderr, "\x1b") {
			t.Errorf("%s: the message holds the escape character raw: %q", a.fault, tail(r.stderr, 300))
		}
		recordFault(t, faultRow{Fault: a.fault + " (CLI)", FailedWrongly: accepted})
	}
	if after, _ := jobCount(t, h); after != before {
		t.Errorf("burst jobs lists %d jobs after the refusals, %d before", after, before)
	}
}

// A map of 1,000,000 inputs of 60 bytes each, sent whole in its submit
// request, is within the body limit: the limit refuses attacks, not work.
func TestMapMillionInputsWithinBodyLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("submits a map of 1,000,000 inputs")
	}
	t.Parallel()
	h := newHarness(t)
	var sb strings.Builder
	for i := range 1_000_000 {
		fmt.Fprintf(&sb, "%060d\n", i)
	}
	inputs := filepath.Join(h.dir, "inputs")
	writeFile(t, inputs, sb.String(), 0o644)
	sb = strings.Builder{}
	r := h.mustRun("map", "-d", "-j", "1", "--", "true", "{}", "::::", inputs)
	id, err := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
	if err != nil {
		t.Fatalf("map -d: stdout should be the job id:\n%s", r)
	}
	h.mustRun("cancel", idArg(id))
	if j := h.show(id); j.Tasks.Total != 1_000_000 {
		t.Errorf("the map has %d tasks, want 1000000", j.Tasks.Total)
	}
}

// A job whose working directory is missing on its machine fails with the
// directory named (before: "fork/exec /usr/bin/true: no such file or
// directory", which blamed the program); a 401 names no path of the
// server's host.
func TestInputWorkdirAnd401(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "true")
	status, msg := rawSubmit(t, h, []byte(`{"argv":["true"],"workdir":"/nonexistent-burst-wd/x","resources":{"cpus":1}}`))
	if status != 201 {
		t.Fatalf("submit: status %d %q", status, msg)
	}
	var created struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(msg), &created); err != nil || created.ID == 0 {
		t.Fatalf("submit answered %q: no job id", msg)
	}
	var j jobJSON
	waitFor(t, "the job to end", cmdTimeout, func() bool { j = h.show(created.ID); return terminal(j.State) })
	want := "working directory /nonexistent-burst-wd/x does not exist on this machine"
	if j.State != "failed" || !strings.Contains(j.Reason, want) {
		t.Errorf("job %d: state %s, reason %q; want failed, saying %q", j.ID, j.State, j.Reason, want)
	}

	resp, err := http.Post(h.serverInfo().Addr+"/v1/jobs", "application/json", strings.NewReader(`{"argv":["true"]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || strings.Contains(string(b), h.root) || strings.Contains(string(b), "/token") {
		t.Errorf("without the token: status %d %q; want 401 naming no path", resp.StatusCode, b)
	}
}

// vmHWM is the peak resident size of process pid, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// Eight submits of 60 MiB at once (each refused after it is read: its
// script is past 4 MiB) take the server to a bounded peak: large bodies in
// flight are held to 64 MiB together (one such at a time), the rest turned
// away unread with 503 and sent again. Before, the eight were decoded at
// once: 1.49 GB; two at a time peaked at 460-554 MiB.
func TestFaultInputConcurrentBodies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("run", "--", "true")
	pid := h.serverPID()
	body := append([]byte(`{"argv":["true"],"script":"`), bytes.Repeat([]byte("x"), 60<<20)...)
	body = append(body, `"}`...)
	const n = 8
	type answer struct {
		status, busy, reset int
		msg                 string
		err                 error
	}
	answers := make(chan answer, n)
	for range n {
		go func() {
			var a answer
			deadline := time.Now().Add(2 * time.Minute)
			for {
				a.status, a.msg, a.err = rawRequest(t, h, "POST", "/v1/jobs", body)
				if a.err != nil && (errors.Is(a.err, syscall.EPIPE) || errors.Is(a.err, syscall.ECONNRESET)) && time.Now().Before(deadline) {
					// This client sends its body without asking first
					// (Expect: 100-continue, as burst's own client
					// does): turned away unread, it may find the
					// connection closed under the body it is still
					// writing rather than read the 503. Either way it
					// is sent again, as any HTTP client must.
					a.reset++
					time.Sleep(100 * time.Millisecond)
					continue
				}
				if a.err != nil || a.status != 503 || time.Now().After(deadline) {
					break
				}
				a.busy++
				time.Sleep(100 * time.Millisecond) // its Retry-After, shortened
			}
			answers <- a
		}()
	}
	taken, busy, reset := 0, 0, 0
	for range n {
		a := <-answers
		busy, reset = busy+a.busy, reset+a.reset
		switch {
		case a.err != nil:
			t.Errorf("no answer: %v", a.err)
		case a.status != 400 || !strings.Contains(a.msg, "the limit is 4194304"):
			t.Errorf("status %d %q; want 400 naming the script's limit", a.status, tail(a.msg, 200))
			if a.status < 300 {
				taken++
			}
		}
	}
	body = nil
	peak := vmHWM(t, pid)
	t.Logf("the server's peak RSS: %d MiB; %d answers were 503, %d connections closed under a body being sent (each sent again)", peak>>20, busy, reset)
	// One body of 60 MiB in flight, read and decoded: 250-330 MiB here;
	// eight at once were 1.49 GB in a map, 717 MiB here.
	if peak > 450<<20 {
		t.Errorf("the server's peak RSS is %d MiB with %d bodies of 60 MiB sent at once; want at most 450", peak>>20, n)
	}
	recordFault(t, faultRow{Fault: "input: 8 concurrent 60 MiB submits (raw HTTP)", FailedWrongly: taken})
}

// Arguments, map inputs and environment values reach the task byte for
// byte, whatever the bytes (issue #14 item 8, review): encoding/json alone
// replaced each byte that is not UTF-8 with EF BF BD, so printf %s
// $'x\xffy' printed x EF BF BD y and a map over a Latin-1 file name ran
// over another name.
func TestInputBytesExact(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bad := "x\xffy\xe9"
	if r := h.run("run", "--", "printf", "%s", bad); r.code != 0 || r.stdout != bad {
		t.Errorf("burst run -- printf %%s %q: printed %q (exit %d), want %q\n%s", bad, r.stdout, r.code, bad, r)
	}
	c := h.command("run", "--", "sh", "-c", `printf %s "$INPUT_T"`)
	c.Env = append(c.Env, "INPUT_T="+bad) // burst run passes its environment on, as sbatch --export=ALL
	if r := h.exec(c); r.code != 0 || r.stdout != bad {
		t.Errorf("an environment value %q: the task saw %q (exit %d)\n%s", bad, r.stdout, r.code, r)
	}
	latin1 := "caf\xe9.txt"
	if r := h.run("map", "-k", "--", "printf", "<%s>", "{}", ":::", latin1, "plain"); r.code != 0 || r.stdout != "<"+latin1+"><plain>" {
		t.Errorf("burst map over %q: printed %q (exit %d)\n%s", latin1, r.stdout, r.code, r)
	}
	recordFault(t, faultRow{Fault: "input: bytes that are not UTF-8 in argv, env and map inputs", Tasks: 4})
}

// A command that exec refuses for its length is a task that fails, saying
// why, never one left running: an exec error quoting a program named by a
// 128 KiB argument made a reason past what the server takes, the agent's
// report of the task's end was refused and dropped, and the task stayed
// "running" with no process until the agent stopped (its map never ended).
// burst map now refuses such a line before it runs, as GNU parallel does;
// the jobs are submitted through the API, as any client may.
func TestFaultInputTooLongForExec(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	long := strings.Repeat("x", 131_000)
	r := h.run("map", "-k", "--", strings.Repeat("y", 500)+"{}", ":::", long, "short")
	if r.code != 255 || !strings.Contains(r.stderr, "command line too long (131500 >= 63664)") {
		t.Errorf("burst map of a 131,500-byte command line: want it refused as GNU parallel refuses it, exit 255:\n%.2000s", r.stderr)
	}
	h.mustRun("jobs") // the refusal came before any server: one starts now
	cl, err := client.New("unix://"+filepath.Join(h.home, "burst.sock"), h.serverToken())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// A map through the API: the CLI's check is the CLI's.
	ended := func(template []string, inputs ...string) *burst.Job {
		t.Helper()
		j, err := cl.Submit(ctx, &burst.JobSpec{Kind: burst.KindMap, Tasks: len(inputs), Workdir: h.dir,
			Map: &burst.MapSpec{Template: template, Sources: [][]string{inputs}}})
		if err != nil {
			t.Fatal(err)
		}
		if j, err = cl.Wait(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		return j
	}
	j := ended([]string{strings.Repeat("y", 500) + "{}"}, long, "short")
	if j.State != burst.Failed || j.Tasks.Failed != 2 {
		t.Errorf("a map of a program no PATH holds, one input of 131,000 bytes: want both tasks failed: %s %+v", j.State, j.Tasks)
	}
	show := h.run("show", strconv.FormatInt(j.ID, 10), "-o", "json")
	if !strings.Contains(show.stdout, " bytes left out") || !strings.Contains(show.stdout, "executable file not found") {
		t.Errorf("the long reason is not kept cut (start and end, the bytes left out named):\n%.3000s", show.stdout)
	}
	// Each argument within the limit alone, their sum (one argument) past it: exec's E2BIG, named with the fix.
	j = ended([]string{"echo", "{}{}"}, strings.Repeat("z", 70_000))
	show = h.run("show", strconv.FormatInt(j.ID, 10), "-o", "json")
	if j.State != burst.Failed || !strings.Contains(show.stdout, "argument list too long (Linux runs a program with arguments of at most 131071 bytes each") {
		t.Errorf("an argument of 140,000 bytes: want the task failed, saying exec's limit and the fix: %s\n%.2000s", j.State, show.stdout)
	}
	recordFault(t, faultRow{Fault: "a command too long for exec", Tasks: 3})
}
