// Command jobs times `burst map -j J -- sleep S` side by side with GNU
// parallel -j J and xargs -P J in one run, and prints each one's wall time
// and its ratio to the ideal (N tasks of S seconds, J at once: ceil(N/J)
// × S) and burst's to the others. With J above this host's CPU threads
// burst's tasks reserve no CPU and J run at once, as with parallel and
// xargs; before, each reserved one and no more ran than the CPUs hold.
//
// Every method runs once in each of -rounds rounds, the order rotating
// from round to round; the figures are the medians over the rounds.
//
// Usage:
//
//	go run ./bench/jobs [-burst bin/burst] [-burst-before OLD] [-j 8] [-n 32] [-sleep 0.2] [-rounds 3]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/bench/internal/stat"
)

// method is one way to run the n sleeps, j at once.
type method struct {
	name string
	argv []string // the command, without its inputs
	env  []string // nil: this process's
}

func main() {
	bin := flag.String("burst", "", "burst binary (default: build one from ./cmd/burst)")
	before := flag.String("burst-before", "", `a second burst binary, measured in the same run and labelled "burst (before)"`)
	j := flag.Int("j", 8, "tasks at once")
	n := flag.Int("n", 32, "tasks per run")
	sleep := flag.String("sleep", "0.2", "seconds each task sleeps")
	rounds := flag.Int("rounds", 3, "rounds; every method runs once in each")
	flag.Parse()
	secs, err := strconv.ParseFloat(*sleep, 64)
	if *j < 1 || *n < 1 || *rounds < 1 || err != nil || secs <= 0 {
		fail(fmt.Errorf("-j, -n and -rounds must be at least 1, -sleep a number of seconds above 0"))
	}
	sc, err := burstbin.NewScratch("burst-bench-jobs-")
	check(err)
	scratch = sc
	defer sc.Close()
	builds, err := burstbin.Builds(*bin, *before, sc.Dir)
	check(err)

	js := strconv.Itoa(*j)
	var methods []method
	for i, b := range builds {
		env := burstbin.Env(sc.Home(fmt.Sprintf("home%d", i)))
		warm := exec.Command(b.Bin, "jobs") // its server up before the clock runs
		warm.Env = env
		check(warm.Run())
		methods = append(methods, method{name: b.Label + " map -j " + js, argv: []string{b.Bin, "map", "--quiet", "-j", js, "--", "sleep", "{}", ":::"}, env: env})
	}
	if p, err := exec.LookPath("parallel"); err == nil {
		methods = append(methods, method{name: "parallel -j " + js, argv: []string{p, "--will-cite", "-j", js, "sleep", "{}", ":::"}})
	} else {
		fmt.Fprintln(os.Stderr, "SKIPPED: GNU parallel is not installed (apt-get install parallel): burst is not compared with it")
	}
	xargs, err := exec.LookPath("xargs")
	check(err)
	methods = append(methods, method{name: "xargs -P " + js, argv: []string{xargs, "-P", js, "-n", "1", "sleep"}})

	inputs := make([]string, *n)
	for i := range inputs {
		inputs[i] = *sleep
	}
	times := make([][]time.Duration, len(methods))
	for r := range *rounds {
		for k := range methods {
			i := (k + r) % len(methods)
			d, err := run(methods[i], inputs)
			check(err)
			times[i] = append(times[i], d)
		}
	}
	ideal := time.Duration(float64((*n+*j-1) / *j) * secs * float64(time.Second))
	fmt.Printf("%d tasks of sleep %s, %d at once, on %d CPU threads; ideal %s; median of %d rounds\n",
		*n, *sleep, *j, runtime.NumCPU(), ideal, *rounds)
	med := make([]time.Duration, len(methods))
	for i, m := range methods {
		med[i] = stat.Median(times[i])
		fmt.Printf("  %-28s %8s   %.2fx the ideal\n", m.name, med[i].Round(time.Millisecond), float64(med[i])/float64(ideal))
	}
	for i, m := range methods {
		if !strings.HasPrefix(m.name, "burst") {
			continue
		}
		for k, o := range methods {
			if !strings.HasPrefix(o.name, "burst") {
				fmt.Printf("  %s takes %.2fx the time of %s\n", m.name, float64(med[i])/float64(med[k]), o.name)
			}
		}
	}
}

// run runs m over inputs (as arguments after its :::, or on xargs's
// standard input) and returns its wall time.
func run(m method, inputs []string) (time.Duration, error) {
	argv := m.argv
	c := exec.Command(argv[0])
	if strings.HasSuffix(argv[0], "xargs") {
		c.Stdin = strings.NewReader(strings.Join(inputs, "\n") + "\n")
	} else {
		argv = append(append([]string(nil), argv...), inputs...)
	}
	c.Args = argv
	c.Env = m.env
	var errb strings.Builder // burst's job line and notes: shown on a failure
	c.Stderr = &errb
	start := time.Now()
	if err := c.Run(); err != nil {
		return 0, fmt.Errorf("%s: %w\n%s", m.name, err, errb.String())
	}
	return time.Since(start), nil
}

func check(err error) {
	if err != nil {
		fail(err)
	}
}

// scratch is stopped and removed on a failure too: no server outlives
// the benchmark.
var scratch *burstbin.Scratch

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/jobs:", err)
	scratch.Close()
	os.Exit(1)
}
