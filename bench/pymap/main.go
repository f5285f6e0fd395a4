// Command pymap compares the Python client's map of a function with `burst
// map` of `python3 -c` over the same inputs, side by side in one run, and
// prints their rates and the ratio (the goal: the Python map at 0.5x or
// more).
//
//   - burst map: `burst map -j 2 -- PYTHON -c 'import sys; print(int(sys.argv[1])**2)' {} :::: inputs`,
//     one interpreter per input, the output printed in order;
//   - python map: `PYTHON -c 'import burst; burst.connect().map(lambda x: x*x, range(N))'`, with
//     PYTHONPATH=python (cloudpickle sends the lambda when it imports there), checked against the
//     squares; -chunksize passes map's chunksize (default 0: map's own default, calls grouped as
//     multiprocessing.Pool.map groups them; 1: a task per call, as burst map runs them).
//
// Both use one server (a fresh home, warm) and each command is timed whole,
// its own start included. The two run once in each of -rounds rounds,
// interleaved (the first of a round alternates), and the figure is the
// median over the rounds of each round's ratio.
//
// Usage (from the repository's root):
//
//	go run ./bench/pymap [-burst bin/burst] [-python /usr/bin/python3] [-n 1000] [-rounds 3] [-chunksize 0]
//	go run ./bench/pymap -n 10000
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/bench/internal/stat"
)

// squareArg is the `python3 -c` program of the burst map side.
const squareArg = "import sys; print(int(sys.argv[1])**2)"

func main() {
	bin := flag.String("burst", "", "burst binary (default: build one from ./cmd/burst)")
	py := flag.String("python", "/usr/bin/python3", "the interpreter both sides run")
	n := flag.Int("n", 1000, "inputs per run (10000 is the issue's figure)")
	rounds := flag.Int("rounds", 3, "rounds (each runs both sides once)")
	chunk := flag.Int("chunksize", 0, "the Python map's chunksize (0: map's default)")
	flag.Parse()

	sc, err := burstbin.NewScratch("burst-pymap-")
	check(err)
	scratch = sc
	defer sc.Close()
	b, err := burstbin.Binary(*bin, sc.Dir)
	check(err)
	home := sc.Home("home")
	env := append(burstbin.Env(home), "BURST_BIN="+b, "PYTHONPATH="+mustAbs("python"))
	inputs := filepath.Join(sc.Dir, "inputs")
	var in strings.Builder
	for i := 0; i < *n; i++ {
		in.WriteString(strconv.Itoa(i) + "\n")
	}
	check(os.WriteFile(inputs, []byte(in.String()), 0o644))
	run := func(name string, argv ...string) time.Duration {
		c := exec.Command(argv[0], argv[1:]...)
		c.Env, c.Dir = env, sc.Dir
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		t0 := time.Now()
		if err := c.Run(); err != nil {
			fail("%s: %v\n%s%s", name, err, tail(out.Bytes()), tail(errb.Bytes()))
		}
		d := time.Since(t0)
		if name == "burst map" {
			if got := strings.Count(out.String(), "\n"); got != *n {
				fail("burst map printed %d lines, want %d", got, *n)
			}
		}
		return d
	}
	// Warm up: the server, its agent, and both sides' first start.
	run("warm-up", b, "run", "--", *py, "-c", "pass")
	burstMap := []string{b, "map", "-j", "2", "--", *py, "-c", squareArg, "{}", "::::", inputs}
	chunkArg := "None"
	if *chunk > 0 {
		chunkArg = strconv.Itoa(*chunk)
	}
	pyMap := []string{*py, "-c", fmt.Sprintf(`import burst
n = %d
r = burst.connect().map(lambda x: x * x, range(n), chunksize=%s, progress=False)
assert r == [x * x for x in range(n)], "wrong results"`, *n, chunkArg)}
	fmt.Printf("pymap: %d inputs, %d rounds, python %s, chunksize %s, %d CPUs\n", *n, *rounds, *py, chunkArg, numCPU())
	var ratios, rm, rp []float64
	for r := 0; r < *rounds; r++ {
		var dm, dp time.Duration
		if r%2 == 0 {
			dm = run("burst map", burstMap...)
			dp = run("python map", pyMap...)
		} else {
			dp = run("python map", pyMap...)
			dm = run("burst map", burstMap...)
		}
		m, p := float64(*n)/dm.Seconds(), float64(*n)/dp.Seconds()
		rm, rp, ratios = append(rm, m), append(rp, p), append(ratios, p/m)
		fmt.Printf("round %d: burst map %.1f/s (%.1fs), python map %.1f/s (%.1fs), ratio %.2f\n", r+1, m, dm.Seconds(), p, dp.Seconds(), p/m)
	}
	fmt.Printf("median: burst map %.1f/s, python map %.1f/s, ratio %.2f (goal >= 0.5)\n", stat.Median(rm), stat.Median(rp), stat.Median(ratios))
}

func numCPU() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 0
	}
	v, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return v
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	check(err)
	if _, err := os.Stat(filepath.Join(a, "burst", "__init__.py")); err != nil {
		fail("run from the repository's root (no %s/burst/__init__.py)", a)
	}
	return a
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "pymap: "+format+"\n", a...)
	if scratch != nil {
		scratch.Close()
	}
	os.Exit(1)
}

// scratch holds the benchmark's files and server, for fail to stop.
var scratch *burstbin.Scratch
