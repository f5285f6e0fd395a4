package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCacheRerunMap reruns a staged map with --cache: unchanged, it
// computes nothing; with one input changed, exactly that task. What ran is
// counted outside burst: each run of the command appends its input's name
// to a file of this host.
func TestCacheRerunMap(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const n = 20
	var files []string
	for i := range n {
		f := fmt.Sprintf("in/%02d.txt", i)
		stageFile(t, h.dir, f, []byte(fmt.Sprintf("input %d\n", i)), 0o644)
		files = append(files, f)
	}
	starts := filepath.Join(h.root, "starts.log")
	script := `set -e; echo "$1" >> "$2"; tr a-z A-Z < "$1" > r.out`
	mapArgs := append([]string{"map", "--quiet", "--cache", "--out", "r.out", "--", "sh", "-c", script, "_", "{}", starts, ":::"}, files...)
	ran := func() []string {
		b, _ := os.ReadFile(starts)
		return strings.Fields(string(b))
	}

	first := jobIDFrom(t, h.mustRun(mapArgs...))
	if got := ran(); len(got) != n {
		t.Fatalf("the first run computed %d tasks, want %d", len(got), n)
	}
	if s := h.mustRun("show", idArg(first)).stdout; !strings.Contains(s, "0 hits, 20 misses") || !strings.Contains(s, "no earlier run of this command") {
		t.Fatalf("burst show of the first run should say 20 misses, none run before:\n%s", s)
	}

	again := jobIDFrom(t, h.mustRun(mapArgs...))
	if got := ran(); len(got) != n {
		t.Fatalf("an unchanged rerun computed %d tasks, want 0", len(got)-n)
	}
	s := h.mustRun("show", idArg(again)).stdout
	if !strings.Contains(s, "20 hits, 0 misses") || !strings.Contains(s, "succeeded") {
		t.Fatalf("burst show of the rerun should say 20 hits:\n%s", s)
	}
	out := filepath.Join(h.root, "out")
	h.mustRun("results", idArg(again), "--fetch", out)
	if b, err := os.ReadFile(filepath.Join(out, "7", "r.out")); err != nil || string(b) != "INPUT 7\n" {
		t.Fatalf("a hit's output: %q, %v; want the first run's", b, err)
	}

	stageFile(t, h.dir, files[7], []byte("changed\n"), 0o644)
	third := jobIDFrom(t, h.mustRun(mapArgs...))
	got := ran()
	if len(got) != n+1 || got[n] != files[7] {
		t.Fatalf("a rerun with in/07.txt changed computed %v, want exactly in/07.txt", got[n:])
	}
	s = h.mustRun("show", idArg(third)).stdout
	if !strings.Contains(s, "19 hits, 1 miss") || !strings.Contains(s, "input in/07.txt changed (sha256:") {
		t.Fatalf("burst show should say 19 hits and why task 7 missed:\n%s", s)
	}
	st := h.mustRun("cache", "stats").stdout
	if !strings.Contains(st, "default") || !strings.Contains(st, "21") {
		t.Fatalf("burst cache stats should count 21 entries:\n%s", st)
	}
}

// TestCacheSavedMoney: a hit costs nothing, and what it saved (the cost of
// the run whose result it reused, exactly) is shown by `burst cost`,
// `burst budget`, `burst cache stats` and the dashboard's project (its
// JSON and its page).
func TestCacheSavedMoney(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	args := []string{"run", "--cache", "--", "sh", "-c", "sleep 1; echo fitted"}
	first := jobIDFrom(t, h.mustRun(args...))
	again := jobIDFrom(t, h.mustRun(args...))
	if s := h.mustRun("show", idArg(again)).stdout; !strings.Contains(s, "1 hit, 0 misses") {
		t.Fatalf("the rerun should be a hit:\n%s", s)
	}
	entries := decodeJSON[[]struct {
		Job      int64 `json:"job"`
		CostNUSD int64 `json:"cost_nusd"`
	}](t, h.mustRun("cache", "ls", "-o", "json"))
	if len(entries) != 1 || entries[0].Job != first || entries[0].CostNUSD <= 0 {
		t.Fatalf("cache ls: %+v; want job %d's result with what it cost (> 0)", entries, first)
	}
	want := entries[0].CostNUSD

	rep := decodeJSON[struct {
		Lines []struct {
			Key       string `json:"key"`
			NUSD      int64  `json:"nusd"`
			SavedNUSD int64  `json:"saved_nusd"`
		} `json:"lines"`
		CacheHits int64 `json:"cache_hits"`
		SavedNUSD int64 `json:"saved_nusd"`
	}](t, h.mustRun("cost", "-o", "json"))
	if rep.CacheHits != 1 || rep.SavedNUSD != want {
		t.Fatalf("cost -o json: %d hits, saved %d n$; want 1 hit saving %d n$ (what job %d cost)", rep.CacheHits, rep.SavedNUSD, want, first)
	}
	found := false
	for _, l := range rep.Lines {
		if l.Key == idArg(again) {
			found = true
			if l.NUSD != 0 || l.SavedNUSD != want {
				t.Fatalf("cost line of the hit's job: %+v; want cost 0, saved %d", l, want)
			}
		}
		if l.Key == idArg(first) && l.SavedNUSD != 0 {
			t.Fatalf("cost line of the job that computed it: %+v; it saved nothing", l)
		}
	}
	if !found {
		t.Fatalf("cost -o json has no line for job %d (served from the cache): %+v", again, rep.Lines)
	}
	if s := h.mustRun("cost").stdout; !strings.Contains(s, "SAVED") || !strings.Contains(s, "saved by the cache:") {
		t.Fatalf("burst cost should show a SAVED column and what the cache saved:\n%s", s)
	}

	st := decodeJSON[[]struct {
		Project   string `json:"project"`
		Hits      int64  `json:"hits"`
		SavedNUSD int64  `json:"saved_nusd"`
	}](t, h.mustRun("cache", "stats", "-o", "json"))
	if len(st) != 1 || st[0].Hits != 1 || st[0].SavedNUSD != want {
		t.Fatalf("cache stats: %+v; want 1 hit saving %d n$", st, want)
	}

	// The budget and the dashboard read it from the server's memory; it
	// survives a restart (read from the store at start).
	dash := dashboardClient(t, h)
	for _, restart := range []bool{false, true} {
		if restart {
			old := h.serverPID()
			h.kill9(old, "server")
			h.mustRun("jobs") // starts another
			if h.serverPID() == old {
				t.Fatal("the server was not replaced")
			}
		}
		b := decodeJSON[struct {
			CacheHits int64 `json:"cache_hits"`
			SavedNUSD int64 `json:"saved_nusd"`
		}](t, h.mustRun("budget", "default", "-o", "json"))
		if b.CacheHits != 1 || b.SavedNUSD != want {
			t.Fatalf("budget -o json (restarted %v): %+v; want 1 hit saving %d n$", restart, b, want)
		}
		if s := h.mustRun("budget", "default").stdout; !strings.Contains(s, "by the cache (1 hit; not spent)") {
			t.Fatalf("burst budget should say what the cache saved:\n%s", s)
		}
		var p struct {
			Budget struct {
				SavedNUSD int64 `json:"saved_nusd"`
			} `json:"budget"`
		}
		if err := json.Unmarshal([]byte(dash("/v1/projects/default", "application/json")), &p); err != nil {
			t.Fatalf("the dashboard's project JSON: %v", err)
		}
		if p.Budget.SavedNUSD != want {
			t.Fatalf("the dashboard's project JSON (restarted %v) says saved %d n$, want %d", restart, p.Budget.SavedNUSD, want)
		}
		page := dash("/ui/projects/default", "text/html")
		if !strings.Contains(page, `<div id="cache-saved"><dt>Saved by the cache</dt>`) {
			t.Fatalf("the dashboard's project page (restarted %v) does not show what the cache saved:\n%s", restart, tail(page, 3000))
		}
	}
}

// dashboardClient signs in to the dashboard (the link `burst ui` prints)
// and returns a GET of path as the dashboard's pages and scripts make it
// (accepting accept), which fails the test unless it answers 200. The
// session survives a restart of the server.
func dashboardClient(t *testing.T, h *harness) func(path, accept string) string {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	h.signIn(c)
	return func(path, accept string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", h.serverInfo().Addr+path, nil)
		req.Header.Set("Accept", accept)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s on the dashboard: %d\n%s", path, resp.StatusCode, tail(string(b), 2000))
		}
		return string(b)
	}
}

// --cache on a map that stages nothing: the rerun's tasks are hits whose
// output is the first run's (the flag was once read only with --in or --out).
func TestCacheUnstagedMap(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	args := []string{"map", "-k", "--cache", "--", "sh", "-c", "date +%s%N; echo $1", "_", "{}", ":::", "a", "b", "c"}
	first := h.mustRun(args...)
	again := h.mustRun(args...)
	if again.stdout != first.stdout || strings.Count(first.stdout, "\n") != 6 {
		t.Errorf("the rerun printed %q, the first run %q: want the cached output", again.stdout, first.stdout)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(mapJobLine.FindString(again.stderr), "burst: job "), "\n")
	id, _, _ = strings.Cut(id, " ")
	if s := h.mustRun("show", id).stdout; !strings.Contains(s, "3 hits, 0 misses") {
		t.Errorf("burst show of the rerun should say 3 hits:\n%s", s)
	}
}
