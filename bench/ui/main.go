// Command ui benchmarks the dashboard's projects overview: how long a real
// server takes to answer GET /ui/ (gathering every project's live budget,
// machines and jobs, and rendering the page) with 20 projects, 200 machines
// and 10,000 jobs. Goal: under 100 ms.
//
// The server runs in this process on a fresh BURST_HOME, with no agent of
// its own. The 200 machines are agents that register and lease through
// the API (10 clusters of 20) but run nothing: the tasks they are given
// stay running; 10,000 jobs are submitted through the API to their
// clusters, where they are placed on those machines or wait. Then a signed-
// in client (a sign-in code, a session cookie) fetches /ui/ -n times; the
// median, the 90th percentile and the worst are printed against the goal,
// with the time to render the fragment alone (?fragment=1).
//
// Then, unless -map 0, the pages are measured while a map of 100,000 tasks
// updates them (see live).
//
// Usage: go run ./bench/ui [-n 50] [-jobs 10000] [-map 100000] [-window 30s] [-burst bin/burst]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"slices"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/home"
	"github.com/burst-sh/burst/internal/server"
)

func main() {
	n := flag.Int("n", 50, "requests per page")
	jobs := flag.Int("jobs", 10000, "jobs")
	mapN := flag.Int("map", 100000, "tasks of the map that updates the pages in the second part (0: skip it)")
	window := flag.Duration("window", 30*time.Second, "how long the pages are measured while the map runs")
	bin := flag.String("burst", "", "burst binary for the second part (default: build one)")
	flag.Parse()
	if *mapN > 0 {
		defer live(*bin, *mapN, *window)
	}
	dir, err := os.MkdirTemp("", "burst-bench-ui-")
	check(err)
	defer os.RemoveAll(dir)
	ctx := context.Background()
	srv, err := server.Start(ctx, server.Config{Home: home.Home(dir), Port: 0, NoLocalAgent: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	check(err)
	defer srv.Shutdown()
	tok, err := home.Home(dir).ReadToken()
	check(err)
	cl, err := client.New(srv.Addr(), tok)
	check(err)

	t0 := time.Now()
	for p := 0; p < 20; p++ {
		budget := float64(100 + 50*p)
		ends := time.Now().AddDate(0, 2, 0).Format("2006-01-02")
		desc := fmt.Sprintf("Project %d of the benchmark", p)
		_, err := cl.CreateProject(ctx, &burst.ProjectSpec{Name: fmt.Sprintf("p%02d", p), BudgetUSD: &budget, Ends: &ends,
			Description: &desc, Tags: &[]string{"bench", fmt.Sprintf("group%d", p%4)}})
		check(err)
	}
	for c := 0; c < 10; c++ {
		for m := 0; m < 20; m++ {
			name := fmt.Sprintf("c%d-m%02d", c, m)
			reg, err := cl.Register(ctx, &client.Register{Machine: name, Cluster: fmt.Sprintf("c%d", c),
				Host: "bench", CPUs: 4, MemBytes: 8 << 30})
			check(err)
			go func() { // an agent that leases (and so stays alive) but runs nothing
				var ack uint64
				for {
					l, err := cl.Lease(ctx, &client.Lease{Machine: name, BootID: reg.BootID, WaitMS: 5000, Ack: ack})
					if err != nil {
						time.Sleep(time.Second)
						continue
					}
					if l.Seq > 0 {
						ack = l.Seq
					}
				}
			}()
		}
	}
	for i := 0; i < *jobs; i++ {
		_, err := cl.Submit(ctx, &burst.JobSpec{Argv: []string{"true"}, Project: fmt.Sprintf("p%02d", i%20),
			Cluster: fmt.Sprintf("c%d", i%10), Workdir: dir})
		check(err)
	}
	ms, _ := cl.Machines(ctx)
	fmt.Printf("set up in %s: 20 projects, %d machines, %d jobs\n\n", time.Since(t0).Round(time.Second), len(ms), *jobs)

	code, err := cl.UICode(ctx)
	check(err)
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar}
	resp, err := web.Get(code.URL)
	check(err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		fail(fmt.Errorf("sign in: %s", resp.Status))
	}
	for _, path := range []string{"/ui/", "/ui/?fragment=1", "/ui/projects/p00", "/ui/clusters"} {
		var ds []time.Duration
		size := 0
		for i := 0; i < *n; i++ {
			start := time.Now()
			resp, err := web.Get(srv.Addr() + path)
			check(err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ds = append(ds, time.Since(start))
			if resp.StatusCode != 200 {
				fail(fmt.Errorf("GET %s: %s", path, resp.Status))
			}
			size = len(b)
		}
		slices.Sort(ds)
		fmt.Printf("  GET %-18s median %7.2f ms   p90 %7.2f ms   worst %7.2f ms   (%d KiB)\n", path,
			ms2(ds[len(ds)/2]), ms2(ds[len(ds)*9/10]), ms2(ds[len(ds)-1]), size>>10)
		if path == "/ui/" {
			verdict := "met"
			if ds[len(ds)/2] >= 100*time.Millisecond {
				verdict = "NOT met"
			}
			defer fmt.Printf("\noverview, 20 projects / %d machines / %d jobs: median %.2f ms (goal: under 100 ms: %s)\n",
				len(ms), *jobs, ms2(ds[len(ds)/2]), verdict)
		}
	}
}

func ms2(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/ui:", err)
	os.Exit(1)
}
