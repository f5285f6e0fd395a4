// Command map benchmarks `burst map` side by side with its peers in one
// run and prints ratios: N tasks of `true` and of `sh -c 'echo x'`, each
// with 2 workers, run by
//
//   - a bare Go loop: 2 goroutines calling os/exec (the floor: no
//     bookkeeping at all),
//   - xargs -P2 -n1,
//   - GNU parallel -j2 (skipped, loudly, if not installed),
//   - burst map on the embedded default (every task durably recorded).
//
// Usage: go run ./bench/map [-burst bin/burst] [-n 5000]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/burst-sh/burst/bench/internal/burstbin"
)

func main() {
	bin := flag.String("burst", "", "burst binary (default: build one)")
	n := flag.Int("n", 5000, "tasks per run")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "burst-bench-map-")
	check(err)
	defer os.RemoveAll(tmp)
	*bin, err = burstbin.Binary(*bin, tmp)
	check(err)
	home := filepath.Join(tmp, "home")
	env := burstbin.Env(home)
	defer stop(home)
	warm := exec.Command(*bin, "run", "--", "true")
	warm.Env = env
	check(warm.Run())

	inputs := make([]string, *n)
	for i := range inputs {
		inputs[i] = strconv.Itoa(i)
	}
	_, haveParallel := exec.LookPath("parallel")
	for _, w := range []struct {
		name string
		argv []string
	}{{"true", []string{"true"}}, {"sh -c 'echo x'", []string{"sh", "-c", "echo x"}}} {
		fmt.Printf("%d x %s, 2 workers\n", *n, w.name)
		floor := timeIt(func() { bareLoop(w.argv, *n) })
		row := func(name string, d time.Duration) {
			fmt.Printf("  %-22s %7.2fs %8.0f tasks/s   %.2fx the bare loop\n", name, d.Seconds(), float64(*n)/d.Seconds(), floor.Seconds()/d.Seconds())
		}
		row("bare Go os/exec loop", floor)
		row("xargs -P2 -n1", timeIt(func() {
			c := exec.Command("xargs", append([]string{"-P2", "-n1"}, w.argv...)...)
			c.Stdin = strings.NewReader(strings.Join(inputs, "\n"))
			run(c)
		}))
		var par time.Duration
		if haveParallel == nil {
			par = timeIt(func() {
				c := exec.Command("parallel", append([]string{"-j2"}, append(w.argv, ":::")...)...)
				c.Args = append(c.Args, inputs...)
				run(c)
			})
			row("GNU parallel -j2", par)
		} else {
			fmt.Println("  GNU parallel           SKIPPED: not installed (apt-get install parallel)")
		}
		b := timeIt(func() {
			c := exec.Command(*bin, append(append([]string{"map", "-q", "--"}, w.argv...), ":::")...)
			c.Args = append(c.Args, inputs...)
			c.Env = env
			run(c)
		})
		row("burst map", b)
		if par > 0 {
			fmt.Printf("  burst map is %.1fx GNU parallel\n", par.Seconds()/b.Seconds())
		}
		fmt.Println()
	}
}

// bareLoop runs argv n times from 2 goroutines: the floor for starting
// processes from Go on this machine.
func bareLoop(argv []string, n int) {
	var wg sync.WaitGroup
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				c := exec.Command(argv[0], argv[1:]...)
				check(c.Run())
			}
		}()
	}
	wg.Wait()
}

func timeIt(f func()) time.Duration {
	s := time.Now()
	f()
	return time.Since(s)
}

func run(c *exec.Cmd) {
	if out, err := c.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n%s", c.Args[0], err, tail(out))
		os.Exit(1)
	}
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}

func stop(home string) {
	for _, f := range []string{"agents/local-1.pid"} {
		if b, err := os.ReadFile(filepath.Join(home, f)); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(home, "server.json")); err == nil {
		s := string(b)
		if i := strings.Index(s, `"pid":`); i >= 0 {
			var pid int
			fmt.Sscanf(s[i+6:], "%d", &pid)
			if pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
