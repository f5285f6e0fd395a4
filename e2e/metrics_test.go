package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPrometheusScrape: a real Prometheus (Debian's `prometheus`) scrapes
// the server's /metrics with a metrics-only credential, and what it stores
// is what burst itself says: the tasks that ran, a budgeted project's
// spending as `burst budget -o json` tells it, its guardrail. A target
// with a wrong token is down (401), the other up.
func TestPrometheusScrape(t *testing.T) {
	t.Parallel()
	bin := prometheusBinary(t)
	h := newHarness(t)
	h.writePrices("local: {core_hour: 36}\n") // this host at a cent a CPU-second: mars spends
	h.mustRun("project", "create", "mars", "--budget", "100")
	h.mustRun("user", "add", "prom", "--metrics")
	tok := strings.TrimSpace(h.mustRun("user", "token", "prom").stdout)
	if !strings.HasPrefix(tok, "burst_u_") {
		t.Fatalf("burst user token prom printed %q", tok)
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "burst.token"), filepath.Join(dir, "wrong.token")
	writeFile(t, good, tok+"\n", 0o600)
	writeFile(t, bad, "burst_u_"+strings.Repeat("x", 43)+"\n", 0o600)
	target := strings.TrimPrefix(h.serverInfo().Addr, "http://")
	prom := startPrometheus(t, bin, dir, fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: burst
    authorization: {credentials_file: %s}
    static_configs: [{targets: ['%s']}]
  - job_name: burst-wrong
    authorization: {credentials_file: %s}
    static_configs: [{targets: ['%s']}]
`, good, target, bad, target))

	// Work: a map of 12 tasks, a run that takes 2 s (it costs mars 2 cents).
	args := []string{"map", "--project", "mars", "--", "true", ":::"}
	for i := range 12 {
		args = append(args, strconv.Itoa(i))
	}
	h.mustRun(args...)
	h.mustRun("run", "--project", "mars", "--", "sleep", "2")

	promWait(t, prom, `up{job="burst"}`, "1", func(v float64) bool { return v == 1 })
	promWait(t, prom, `up{job="burst-wrong"}`, "0", func(v float64) bool { return v == 0 })
	promWait(t, prom, `sum(burst_tasks_ended_total{project="mars",state="succeeded"})`, "13",
		func(v float64) bool { return v == 13 })
	promWait(t, prom, `sum(burst_tasks_dispatched_total{project="mars"})`, "13", func(v float64) bool { return v == 13 })
	promWait(t, prom, `sum(burst_jobs_ended_total{project="mars",state="succeeded"})`, "2", func(v float64) bool { return v == 2 })
	promWait(t, prom, `burst_project_guardrail{project="mars",level="ok"}`, "1", func(v float64) bool { return v == 1 })
	promWait(t, prom, `burst_machines{cluster="local",state="running"}`, "1", func(v float64) bool { return v == 1 })
	promWait(t, prom, `burst_store_commit_seconds_count`, "> 0", func(v float64) bool { return v > 0 })

	// What mars spent, as `burst budget` says, once the scrape after it
	// has arrived (its storage accrues by the tick: within a cent's
	// thousandth).
	var spent float64
	promWait(t, prom, `burst_project_spent_dollars{project="mars"}`, "burst budget's spent", func(v float64) bool {
		var b struct {
			Spent float64 `json:"spent_usd"`
		}
		if err := json.Unmarshal([]byte(h.mustRun("budget", "mars", "-o", "json").stdout), &b); err != nil {
			t.Fatal(err)
		}
		spent = b.Spent
		return math.Abs(v-b.Spent) < 1e-5
	})
	if spent < 0.01 {
		t.Errorf("mars spent $%f: a 2-second task at $36 an hour spends 2 cents", spent)
	}
	// The wrong token's target is down for its 401, not for anything else.
	if e := promTargetError(t, prom, "burst-wrong"); !strings.Contains(e, "401") {
		t.Errorf("the wrong token's target: last error %q, want a 401", e)
	}
}

// TestMetricsCredential: a metrics credential reads /metrics and nothing
// else; an admin reads it too; other users get 403, nobody 401.
func TestMetricsCredential(t *testing.T) {
	t.Parallel()
	l := newLabOn(t)
	h := l.h
	h.mustRun("user", "add", "prom", "--metrics")
	prom := strings.TrimSpace(h.mustRun("user", "token", "prom").stdout)
	if r := h.run("project", "grant", "mars", "prom", "--role", "viewer"); r.code == 0 || !strings.Contains(r.stderr, "metrics user") {
		t.Errorf("a role for a metrics user should be refused, saying why:\n%s", r)
	}
	if r := h.run("user", "add", "both", "--metrics", "--admin"); r.code == 0 || !strings.Contains(r.stderr, "exclude each other") {
		t.Errorf("--metrics with --admin should be refused:\n%s", r)
	}
	if r := h.mustRun("user", "list"); !strings.Contains(r.stdout, "metrics only") {
		t.Errorf("user list should say prom is for metrics only:\n%s", r.stdout)
	}
	for _, c := range []struct {
		who, secret string
		want        int
	}{{"prom", prom, 200}, {"the admin", l.admin, 200}, {"an owner", l.tokens["bob"], 403},
		{"a viewer", l.tokens["vic"], 403}, {"nobody", "", 401}, {"a wrong credential", "burst_u_nope", 401}} {
		code, msg := l.call(t, c.secret, "GET", "/metrics", "")
		if code != c.want {
			t.Errorf("GET /metrics as %s: %d %.200q, want %d", c.who, code, msg, c.want)
		}
		if code == 200 && !strings.Contains(msg, `burst_machines{cluster="local",state="running"} 1`) {
			t.Errorf("GET /metrics as %s: no running machine of cluster local in %.300q", c.who, msg)
		}
	}
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/health", ""}, {"GET", "/v1/whoami", ""}, {"GET", "/v1/jobs", ""}, {"GET", "/v1/projects/mars", ""},
		{"GET", "/v1/projects", ""}, {"POST", "/v1/jobs", `{"argv":["true"],"project":"mars"}`}, {"GET", "/v1/users", ""},
		{"POST", "/v1/agent/lease", `{"machine":"x"}`}, {"GET", "/v1/blobs/sha256:" + strings.Repeat("0", 64), ""},
		{"POST", "/v1/ui/code", ""}, {"GET", "/v1/nothing-here", ""},
	} {
		code, msg := l.call(t, prom, r.method, r.path, r.body)
		if code != 403 || !strings.Contains(msg, "reads /metrics only") {
			t.Errorf("%s %s with a metrics credential: %d %.200q, want 403 saying it reads /metrics only", r.method, r.path, code, msg)
		}
	}
}

// prometheusBinary is Debian's prometheus; missing, the test is skipped
// loudly, and fails under BURST_CI=1 (.ci/run installs it).
func prometheusBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		msg := "no prometheus binary (apt-get install prometheus): the scrape by a real Prometheus is NOT tested"
		if os.Getenv("BURST_CI") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// startPrometheus runs bin with config, its data under dir, on a free
// loopback port, until the test ends; its API's base URL, once it answers.
func startPrometheus(t *testing.T, bin, dir, config string) string {
	t.Helper()
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, config, 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr, "--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus's log:\n%s", tail(string(b), 3000))
		}
	})
	base := "http://" + addr
	waitFor(t, "prometheus to answer", 30*time.Second, func() bool {
		select {
		case <-exited:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("prometheus exited:\n%s", tail(string(b), 3000))
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return base
}

// promWait queries Prometheus' HTTP API until expr's one value satisfies
// ok (want says what that is, for the failure).
func promWait(t *testing.T, base, expr, want string, ok func(float64) bool) {
	t.Helper()
	last := "no answer"
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, got, err := promQuery(base, expr)
		switch {
		case err != nil:
			last = err.Error()
		case got:
			last = strconv.FormatFloat(v, 'g', -1, 64)
			if ok(v) {
				return
			}
		default:
			last = "no series"
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus: %s is %s after 60 s, want %s", expr, last, want)
		}
		time.Sleep(200 * time.Millisecond) // polling Prometheus' API; each try is a fresh query
	}
}

// promQuery is expr's single value now; got false when it has no series.
func promQuery(base, expr string) (v float64, got bool, err error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		}
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		return 0, false, fmt.Errorf("query %s: %d %.300s", expr, resp.StatusCode, body)
	}
	switch len(r.Data.Result) {
	case 0:
		return 0, false, nil
	case 1:
		s, _ := r.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil, err
	}
	return 0, false, fmt.Errorf("query %s: %d series, want one: %.300s", expr, len(r.Data.Result), body)
}

// promTargetError is the last scrape error of job's target.
func promTargetError(t *testing.T, base, job string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/targets")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			ActiveTargets []struct {
				ScrapePool string `json:"scrapePool"`
				LastError  string `json:"lastError"`
			} `json:"activeTargets"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	for _, tg := range r.Data.ActiveTargets {
		if tg.ScrapePool == job {
			return tg.LastError
		}
	}
	return "no target " + job
}
