package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/home"
)

// live measures the dashboard while a map of n tasks of `true` updates it:
// the real burst binary's server and agent run the map (every task a real
// process, durably recorded) while a signed-in client does what an open
// browser tab does. It listens to /ui/events and, on each change, fetches
// the job page's and the overview's fragments (as app.js does), and it
// also loads the project page every 250 ms, as a person clicking around.
// After the window the map is cancelled and the server stopped.
func live(bin string, n int, window time.Duration) {
	tmp, err := os.MkdirTemp("", "burst-bench-ui-live-")
	check(err)
	defer os.RemoveAll(tmp)
	bin, err = burstbin.Binary(bin, tmp)
	check(err)
	dir := filepath.Join(tmp, "home")
	env := burstbin.Env(dir)
	burstCmd := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		c.Env = env
		return c
	}
	var id int64
	cleanup := func() {
		if id > 0 {
			burstCmd("cancel", strconv.FormatInt(id, 10)).Run()
		}
		burstCmd("server", "stop").Run()
		// The agent outlives a stopped server (for a while): end it too,
		// by its pid.
		for _, pid := range burstbin.AgentPIDs(dir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	defer cleanup()
	fail := func(err error) { cleanup(); fail(err) }
	check := func(err error) {
		if err != nil {
			fail(err)
		}
	}

	inputs := filepath.Join(tmp, "inputs")
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	check(os.WriteFile(inputs, []byte(b.String()), 0o600))
	out, err := burstCmd("map", "-d", "--quiet", "--", "true", "::::", inputs).Output()
	if err != nil {
		fail(fmt.Errorf("burst map -d: %v", err))
	}
	if id, err = strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err != nil {
		fail(fmt.Errorf("burst map -d answered %q, not a job id", out))
	}

	h := home.Home(dir)
	tok, err := h.ReadToken()
	check(err)
	cl, err := client.New("unix://"+h.Socket(), tok)
	check(err)
	ctx := context.Background()
	code, err := cl.UICode(ctx)
	check(err)
	base := strings.SplitN(code.URL, "/ui/", 2)[0]
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar}
	_, err = timedGet(web, code.URL) // signs in: the session cookie is in the jar
	check(err)

	before, err := cl.Job(ctx, id)
	check(err)
	wctx, stop := context.WithTimeout(ctx, window)
	defer stop()
	var (
		mu                  sync.Mutex
		jobF, overF, clicks []time.Duration
		changes             int
		wg                  sync.WaitGroup
	)
	wg.Add(2)
	go func() { // the open tab: change events, then its fragments
		defer wg.Done()
		req, _ := http.NewRequestWithContext(wctx, "GET", base+"/ui/events", nil)
		resp, err := web.Do(req)
		if err != nil {
			fail(fmt.Errorf("GET /ui/events: %v", err))
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() != "event: change" {
				continue
			}
			j, err := timedGet(web, fmt.Sprintf("%s/ui/jobs/%d?fragment=1", base, id))
			check(err)
			o, err := timedGet(web, base+"/ui/?fragment=1")
			check(err)
			mu.Lock()
			changes++
			jobF, overF = append(jobF, j), append(overF, o)
			mu.Unlock()
		}
	}()
	go func() { // a person clicking: the project page, whole
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-tick.C:
			}
			d, err := timedGet(web, base+"/ui/projects/default")
			check(err)
			mu.Lock()
			clicks = append(clicks, d)
			mu.Unlock()
		}
	}()
	wg.Wait()
	after, err := cl.Job(ctx, id)
	check(err)

	done := after.Tasks.Done() - before.Tasks.Done()
	fmt.Printf("\nwhile a %d-task map of `true` runs (real server and agent): %d tasks ended in the %s window (%.0f tasks/s)\n",
		n, done, window, float64(done)/window.Seconds())
	fmt.Printf("  change events to an open page: %d (%.1f/s; the server sends at most 2/s)\n", changes, float64(changes)/window.Seconds())
	worst := time.Duration(0)
	for _, r := range []struct {
		name string
		ds   []time.Duration
	}{
		{fmt.Sprintf("job %d fragment, on each change", id), jobF},
		{"overview fragment, on each change", overF},
		{"project page, every 250 ms", clicks},
	} {
		if len(r.ds) == 0 {
			fail(fmt.Errorf("%s: no request completed in the window", r.name))
		}
		slices.Sort(r.ds)
		p90 := r.ds[len(r.ds)*9/10]
		worst = max(worst, p90)
		fmt.Printf("  %-40s median %7.2f ms   p90 %7.2f ms   worst %7.2f ms   (%d requests)\n", r.name,
			ms2(r.ds[len(r.ds)/2]), ms2(p90), ms2(r.ds[len(r.ds)-1]), len(r.ds))
	}
	verdict := "met"
	if worst >= 100*time.Millisecond {
		verdict = "NOT met"
	}
	fmt.Printf("\npages during the map: slowest p90 %.2f ms (goal: responsive, under 100 ms: %s)\n", ms2(worst), verdict)
}

// timedGet fetches url whole and says how long it took; anything but 200
// is an error.
func timedGet(web *http.Client, url string) (time.Duration, error) {
	start := time.Now()
	resp, err := web.Get(url)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return time.Since(start), nil
}
