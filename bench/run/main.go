// Command run benchmarks `burst run` on the embedded default, side by side
// with the plain shell in the same run, and prints ratios:
//
//  1. latency: `burst run -- true` end to end with a warm server (median
//     and p90 over -n runs, and the median CPU, user + system, the process
//     used: what a loaded machine inflates least), with beside it `burst version` (the binary's
//     bare start: what starting the burst binary alone costs here), the
//     same job submitted and awaited through the Go client in-process (the
//     server's and agent's share), a static Go "hello" (the floor of any
//     Go binary's start here) and `sh -c true`, all interleaved;
//  2. throughput: -submit detached submissions `burst run -d -- true`, then
//     `burst wait` on all of them, against the same number of sequential
//     `sh -c true`; and the server's RSS afterwards.
//
// With -burst-before a second binary (its own fresh home and warm server)
// is measured in the same run, interleaved with the first, so that before
// and after figures come from one run.
//
// Usage: go run ./bench/run [-burst bin/burst] [-burst-before OLD] [-n 200] [-submit 1000]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	burstapi "github.com/burst-sh/burst"
	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/bench/internal/stat"
	"github.com/burst-sh/burst/client"
)

func apiClient(home string) *client.Client {
	tok, err := os.ReadFile(filepath.Join(home, "token"))
	check(err)
	c, err := client.New("unix://"+filepath.Join(home, "burst.sock"), strings.TrimSpace(string(tok)))
	check(err)
	return c
}

// side is one burst binary under test, with its own home and warm server.
type side struct {
	label, bin, home string
	env              []string
	api              *client.Client
}

func (s *side) cmd(args ...string) *exec.Cmd {
	c := exec.Command(s.bin, args...)
	c.Env = s.env
	return c
}

func main() {
	bin := flag.String("burst", "", "burst binary (default: build one from ./cmd/burst)")
	before := flag.String("burst-before", "", `a second burst binary, measured in the same run and labelled "burst (before)"`)
	n := flag.Int("n", 200, "latency samples per method")
	submit := flag.Int("submit", 1000, "detached submissions for the throughput test (0: none)")
	flag.Parse()
	if *n < 1 || *submit < 0 {
		fail("-n must be at least 1 and -submit at least 0")
	}

	sc, err := burstbin.NewScratch("burst-bench-")
	check(err)
	scratch = sc
	defer sc.Close()
	builds, err := burstbin.Builds(*bin, *before, sc.Dir)
	check(err)
	for i, b := range builds {
		s := &side{label: b.Label, bin: copyBin(b.Bin, filepath.Join(sc.Dir, fmt.Sprintf("burst%d", i))), home: sc.Home(fmt.Sprintf("home%d", i))}
		s.env = burstbin.Env(s.home)
		sides = append(sides, s)
		// Warm up: start the server and the agent, fill caches.
		for range 5 {
			mustRun(s.cmd("run", "--", "true"))
		}
		s.api = apiClient(s.home)
	}

	hello := buildHello(sc.Dir)
	ctx := context.Background()
	tRun := make([][]time.Duration, len(sides))
	tVersion := make([][]time.Duration, len(sides))
	cRun := make([][]time.Duration, len(sides)) // the process's CPU (user + system)
	cVersion := make([][]time.Duration, len(sides))
	tAPI := make([][]time.Duration, len(sides))
	var tShell, cShell, tHello, cHello []time.Duration
	for i := range *n {
		for k := range sides {
			si := (k + i) % len(sides) // alternate which binary goes first
			s := sides[si]
			wall, cpu := timed(s.cmd("run", "--", "true"))
			tRun[si], cRun[si] = append(tRun[si], wall), append(cRun[si], cpu)
			wall, cpu = timed(s.cmd("version"))
			tVersion[si], cVersion[si] = append(tVersion[si], wall), append(cVersion[si], cpu)
			t0 := time.Now()
			j, err := s.api.Submit(ctx, &burstapi.JobSpec{Argv: []string{"true"}})
			check(err)
			_, err = s.api.Wait(ctx, j.ID)
			check(err)
			tAPI[si] = append(tAPI[si], time.Since(t0))
		}
		wall, cpu := timed(exec.Command("sh", "-c", "true"))
		tShell, cShell = append(tShell, wall), append(cShell, cpu)
		wall, cpu = timed(exec.Command(hello))
		tHello, cHello = append(tHello, wall), append(cHello, cpu)
	}
	fmt.Printf("latency with a warm server (%d runs each, interleaved)\n", *n)
	row := func(name string, d, cpu []time.Duration, goal string) {
		c := "               "
		if cpu != nil {
			c = fmt.Sprintf("   cpu %6.2f ms", ms2(stat.Median(cpu)))
		}
		fmt.Printf("  %-54s median %7.2f ms   p90 %7.2f ms%s%s\n", name, ms2(stat.Median(d)), ms2(stat.Pct(d, 90)), c, goal)
	}
	for si, s := range sides {
		goal := "   goal <= 10 ms: met"
		if stat.Median(tRun[si]) > 10*time.Millisecond {
			goal = "   goal <= 10 ms: NOT met"
		}
		row(s.label+" run -- true", tRun[si], cRun[si], goal)
		row(s.label+" version (the binary's bare start)", tVersion[si], cVersion[si], "")
		row(s.label+": Go client submit + wait (in-process)", tAPI[si], nil, "")
	}
	row("sh -c true", tShell, cShell, "")
	row("a static Go hello (any Go binary's start)", tHello, cHello, "")
	for si, s := range sides {
		fmt.Printf("  ratio %s run / sh: %.1fx\n", s.label, float64(stat.Median(tRun[si]))/float64(stat.Median(tShell)))
	}
	if len(sides) == 2 {
		fmt.Printf("  burst run / burst (before) run: %.2fx the median time, %.2fx the median CPU\n",
			float64(stat.Median(tRun[0]))/float64(stat.Median(tRun[1])), float64(stat.Median(cRun[0]))/float64(stat.Median(cRun[1])))
	}
	fmt.Println()
	if *submit == 0 {
		return
	}

	fmt.Printf("throughput (%d jobs; each binary in turn, then the shell)\n", *submit)
	for _, s := range sides {
		start := time.Now()
		ids := make([]string, 0, *submit)
		for range *submit {
			out, err := s.cmd("run", "-d", "--", "true").Output()
			check(err)
			ids = append(ids, strings.TrimSpace(string(out)))
		}
		submitted := time.Since(start)
		mustRun(s.cmd(append([]string{"wait"}, ids...)...))
		total := time.Since(start)
		fmt.Printf("  %-36s %7.0f jobs/s  (submitted in %.2fs, all done in %.2fs); server RSS after: %.1f MiB\n",
			s.label+" run -d -- true; wait", float64(*submit)/total.Seconds(), submitted.Seconds(), total.Seconds(),
			float64(burstbin.Status(burstbin.ServerPID(s.home), "VmRSS"))/(1<<20))
	}
	start := time.Now()
	for range *submit {
		check(exec.Command("sh", "-c", "true").Run())
	}
	shell := time.Since(start)
	fmt.Printf("  %-36s %7.0f runs/s  (%.2fs)\n", "sh -c true (sequential)", float64(*submit)/shell.Seconds(), shell.Seconds())
}

var (
	scratch *burstbin.Scratch // the benchmark's files and servers, for fail to clean up
	sides   []*side
)

// copyBin copies the binary src to dst and returns dst: both binaries
// compared are then files written the same way. A binary as the linker left
// it started up to 1 ms slower here than a copy of the same bytes
// (docs/benchmarks.md), which would favour a copied "before".
func copyBin(src, dst string) string {
	data, err := os.ReadFile(src)
	check(err)
	check(os.WriteFile(dst, data, 0o755))
	return dst
}

// buildHello builds a static Go program that prints one line, in dir:
// the start every Go binary pays here (runtime, no package of burst's).
func buildHello(dir string) string {
	src := filepath.Join(dir, "hello")
	check(os.MkdirAll(src, 0o755))
	check(os.WriteFile(filepath.Join(src, "go.mod"), []byte("module hello\n\ngo 1.21\n"), 0o644))
	check(os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello\\n\") }\n"), 0o644))
	bin := filepath.Join(src, "hello")
	c := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	c.Dir, c.Env = src, append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	mustRun(c)
	return bin
}

// timed runs c and returns its wall time and its CPU time (user + system,
// its children's included): the CPU is what a loaded machine inflates
// least.
func timed(c *exec.Cmd) (wall, cpu time.Duration) {
	s := time.Now()
	mustRun(c)
	return time.Since(s), c.ProcessState.UserTime() + c.ProcessState.SystemTime()
}

func mustRun(c *exec.Cmd) {
	if out, err := c.CombinedOutput(); err != nil {
		fail("%v: %v\n%s", c.Args, err, out)
	}
}

func ms2(d time.Duration) float64 { return float64(d) / 1e6 }

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

// fail prints the error, stops the servers and exits 1 (deferred calls do
// not run on os.Exit).
func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "run: "+format+"\n", a...)
	scratch.Close()
	os.Exit(1)
}
