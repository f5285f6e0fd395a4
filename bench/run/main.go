// Command run benchmarks `burst run` on the embedded default, side by side
// with the plain shell in the same run, and prints ratios:
//
//  1. latency: `burst run -- true` end to end with a warm server, against
//     `sh -c true` (median, p90 over -n runs each, interleaved); beside them
//     `burst version` (what starting the burst binary alone costs here) and
//     the same job submitted and awaited through the Go client in-process
//     (the server's and agent's share);
//  2. throughput: -submit detached submissions `burst run -d -- true`, then
//     `burst wait` on all of them, against the same number of sequential
//     `sh -c true`; and the server's RSS afterwards.
//
// Usage: go run ./bench/run [-burst bin/burst] [-n 200] [-submit 1000]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	burstapi "github.com/burst-sh/burst"
	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/client"
)

func apiClient(home string) *client.Client {
	tok, err := os.ReadFile(filepath.Join(home, "token"))
	check(err)
	c, err := client.New("unix://"+filepath.Join(home, "burst.sock"), strings.TrimSpace(string(tok)))
	check(err)
	return c
}

func main() {
	bin := flag.String("burst", "", "burst binary (default: build one)")
	n := flag.Int("n", 200, "latency samples per method")
	submit := flag.Int("submit", 1000, "detached submissions for the throughput test")
	flag.Parse()

	tmp, err := os.MkdirTemp("", "burst-bench-")
	check(err)
	defer os.RemoveAll(tmp)
	*bin, err = burstbin.Binary(*bin, tmp)
	check(err)
	home := filepath.Join(tmp, "home")
	env := burstbin.Env(home)
	defer stopServer(home)

	burst := func(args ...string) *exec.Cmd {
		c := exec.Command(*bin, args...)
		c.Env = env
		return c
	}
	// Warm up: start the server and the agent, fill caches.
	for i := 0; i < 5; i++ {
		mustRun(burst("run", "--", "true"))
	}

	cl := apiClient(home)
	ctx := context.Background()
	var tBurst, tShell, tVersion, tAPI []time.Duration
	for i := 0; i < *n; i++ {
		tBurst = append(tBurst, timed(burst("run", "--", "true")))
		tShell = append(tShell, timed(exec.Command("sh", "-c", "true")))
		tVersion = append(tVersion, timed(burst("version")))
		s := time.Now()
		j, err := cl.Submit(ctx, &burstapi.JobSpec{Argv: []string{"true"}})
		check(err)
		_, err = cl.Wait(ctx, j.ID)
		check(err)
		tAPI = append(tAPI, time.Since(s))
	}
	mb, ms := median(tBurst), median(tShell)
	fmt.Printf("latency (%d runs each, interleaved)\n", *n)
	row := func(name string, d []time.Duration) {
		fmt.Printf("  %-34s median %7.2f ms   p90 %7.2f ms\n", name, ms2(median(d)), ms2(pct(d, 90)))
	}
	row("burst run -- true", tBurst)
	row("sh -c true", tShell)
	row("burst version (binary start only)", tVersion)
	row("Go client: submit + wait (in-proc)", tAPI)
	fmt.Printf("  ratio burst run / sh: %.1fx   (goal: burst run median <= 15 ms)\n\n", float64(mb)/float64(ms))

	start := time.Now()
	ids := make([]string, 0, *submit)
	for i := 0; i < *submit; i++ {
		out, err := burst("run", "-d", "--", "true").Output()
		check(err)
		ids = append(ids, strings.TrimSpace(string(out)))
	}
	submitted := time.Since(start)
	w := burst(append([]string{"wait"}, ids...)...)
	w.Stdout = nil
	check(w.Run())
	total := time.Since(start)

	start = time.Now()
	for i := 0; i < *submit; i++ {
		check(exec.Command("sh", "-c", "true").Run())
	}
	shell := time.Since(start)
	rss := serverRSS(home)
	fmt.Printf("throughput (%d jobs)\n", *submit)
	fmt.Printf("  %-28s %7.0f jobs/s  (submitted in %.2fs, all done in %.2fs)\n", "burst run -d -- true; wait",
		float64(*submit)/total.Seconds(), submitted.Seconds(), total.Seconds())
	fmt.Printf("  %-28s %7.0f runs/s  (%.2fs)\n", "sh -c true (sequential)", float64(*submit)/shell.Seconds(), shell.Seconds())
	fmt.Printf("  ratio burst/sh time: %.1fx\n", total.Seconds()/shell.Seconds())
	fmt.Printf("  server RSS after: %.1f MiB\n", float64(rss)/(1<<20))
}

func timed(c *exec.Cmd) time.Duration {
	s := time.Now()
	mustRun(c)
	return time.Since(s)
}

func mustRun(c *exec.Cmd) {
	if out, err := c.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "%v: %v\n%s", c.Args, err, out)
		os.Exit(1)
	}
}

func median(d []time.Duration) time.Duration { return pct(d, 50) }

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}

func ms2(d time.Duration) float64 { return float64(d) / 1e6 }

type info struct {
	PID int `json:"pid"`
}

func serverPID(home string) int {
	b, err := os.ReadFile(filepath.Join(home, "server.json"))
	if err != nil {
		return 0
	}
	var in info
	json.Unmarshal(b, &in)
	return in.PID
}

func serverRSS(home string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", serverPID(home)))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// stopServer kills the bench's server and its agent.
func stopServer(home string) {
	if pid := serverPID(home); pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if b, err := os.ReadFile(filepath.Join(home, "agents", "local-1.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
