// Command workflow benchmarks burst's Slurm personality against Slurm
// itself the way a workflow engine (Nextflow's grid executor) drives a
// scheduler: N jobs submitted one by one with `sbatch --parsable --wrap
// true`, then `squeue --noheader -o '%i %t' -t all -u USER` polled until
// every one of them has ended (left PD and R). Both sides run the same
// code with the same commands; only PATH differs:
//
//   - burst: a directory made by `burst slurm link` first on PATH (sbatch,
//     squeue, ... are burst), with a fresh BURST_HOME whose local server
//     is started before the clock runs;
//   - Slurm: the project's own (scripts/slurm-dev.sh: nodes c1, c2 in
//     partition debug, each declaring this host's CPUs; scheduling tuned
//     with batch_sched_delay=0,sched_min_interval=0), started in a
//     temporary directory on BURST_SLURM_PORT=24817 (-port), warmed up by
//     one `sbatch --wait` job, and stopped at the end.
//
// The clock runs from the first sbatch to the poll that finds every job
// ended. It prints both times, jobs/s, and the ratio Slurm / burst, and
// fails if any job did not complete (CD). Starting Slurm needs root.
//
// Usage (from the repository root, as root):
//
//	go run ./bench/workflow [-burst bin/burst] [-n 500] [-poll 250ms] [-port 24817]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/bench/internal/cleanup"
	"github.com/burst-sh/burst/internal/slurmtest"
)

func main() {
	bin := flag.String("burst", "", "burst binary (default: build one)")
	n := flag.Int("n", 500, "jobs per side")
	poll := flag.Duration("poll", 250*time.Millisecond, "time between squeue polls")
	port := flag.Int("port", 24817, "first of 5 TCP ports for the benchmark's Slurm (BURST_SLURM_PORT)")
	limit := flag.Duration("timeout", 15*time.Minute, "give up on a side after this long")
	flag.Parse()
	if *n < 1 {
		fail(fmt.Errorf("-n %d: give 1 or more jobs", *n))
	}
	if _, err := os.Stat("scripts/slurm-dev.sh"); err != nil {
		fail(fmt.Errorf("scripts/slurm-dev.sh not found: run from the repository root (%v)", err))
	}
	tmp, err := os.MkdirTemp("", "burst-bench-workflow-")
	check(err)
	*bin, err = burstbin.Binary(*bin, tmp)
	check(err)

	root, _ := os.Getwd()
	conf, stopSlurm, why := slurmtest.Start(root, *port)
	atExit(func() { os.RemoveAll(tmp) })
	atExit(stopSlurm)
	if why != "" {
		fail(fmt.Errorf("cannot start Slurm: %s", why))
	}
	home := filepath.Join(tmp, "home")
	check(os.MkdirAll(home, 0o700))
	burstEnv := burstbin.Env(home)
	stopBurst := func() {
		c := exec.Command(*bin, "server", "stop")
		c.Env = burstEnv
		c.Run()
	}
	atExit(stopBurst)
	go func() { // Ctrl-C: still stop Slurm and the burst server
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		runExits()
		os.Exit(130)
	}()
	defer runExits()

	slurmEnv := append(os.Environ(), "SLURM_CONF="+conf)
	warm := exec.Command("sbatch", "--wait", "-o", "/dev/null", "--wrap", "true")
	warm.Env = slurmEnv
	if out, err := warm.CombinedOutput(); err != nil {
		fail(fmt.Errorf("Slurm warm-up job: %v: %s", err, out))
	}

	links := filepath.Join(tmp, "slurm-bin")
	mustRun(exec.Command(*bin, "slurm", "link", links), burstEnv)
	mustRun(exec.Command(*bin, "jobs"), burstEnv) // starts the local server before the clock runs

	user := os.Getenv("USER")
	if user == "" {
		user = "root"
	}
	fmt.Printf("%d x `sbatch --parsable --wrap true`, then `squeue --noheader -o '%%i %%t' -t all -u %s` every %v until all ended\n\n", *n, user, *poll)
	b := side("burst slurm (personality)", links, burstEnv, filepath.Join(tmp, "burst-work"), *n, *poll, user, *limit)
	s := side("Slurm 22.05 (scripts/slurm-dev.sh)", "", slurmEnv, filepath.Join(tmp, "slurm-work"), *n, *poll, user, *limit)
	fmt.Printf("\n  %-36s %9s %9s %10s\n", "", "submit", "wall", "jobs/s")
	for _, r := range []result{b, s} {
		fmt.Printf("  %-36s %8.2fs %8.2fs %10.1f\n", r.name, r.submit.Seconds(), r.wall.Seconds(), float64(*n)/r.wall.Seconds())
	}
	fmt.Printf("\nburst's personality is %.1fx Slurm end to end (Slurm wall / burst wall: %.2fs / %.2fs)\n",
		s.wall.Seconds()/b.wall.Seconds(), s.wall.Seconds(), b.wall.Seconds())
}

type result struct {
	name         string
	submit, wall time.Duration
}

// side submits n jobs with sbatch and polls squeue until all ended, in
// dir: the sbatch and squeue of bin (a directory; "": those on PATH).
func side(name, bin string, env []string, dir string, n int, poll time.Duration, user string, limit time.Duration) result {
	check(os.MkdirAll(dir, 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	run := func(args ...string) string {
		path := args[0]
		if bin != "" {
			path = filepath.Join(bin, path)
		}
		c := exec.CommandContext(ctx, path, args[1:]...)
		c.Env, c.Dir = env, dir
		var stderr strings.Builder
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			fail(fmt.Errorf("%s: %s: %v: %s", name, strings.Join(args, " "), err, stderr.String()))
		}
		return string(out)
	}
	start := time.Now()
	ids := map[string]bool{}
	for range n {
		id := strings.TrimSpace(run("sbatch", "--parsable", "--wrap", "true"))
		ids[id] = true
	}
	submit := time.Since(start)
	for {
		states := map[string]string{}
		for _, l := range strings.Split(run("squeue", "--noheader", "-o", "%i %t", "-t", "all", "-u", user), "\n") {
			if f := strings.Fields(l); len(f) == 2 && ids[f[0]] {
				states[f[0]] = f[1]
			}
		}
		active, bad := 0, 0
		for id := range ids {
			switch states[id] {
			case "PD", "R", "CG", "CF":
				active++
			case "CD":
			default:
				bad++
			}
		}
		if active == 0 {
			wall := time.Since(start)
			if bad > 0 {
				fail(fmt.Errorf("%s: %d of %d jobs did not complete (CD)", name, bad, n))
			}
			fmt.Printf("%s: %d jobs submitted in %.2fs, all completed after %.2fs\n", name, n, submit.Seconds(), wall.Seconds())
			return result{name, submit, wall}
		}
		time.Sleep(poll)
	}
}

func mustRun(c *exec.Cmd, env []string) {
	c.Env = env
	if out, err := c.CombinedOutput(); err != nil {
		fail(fmt.Errorf("%s: %v: %s", strings.Join(c.Args, " "), err, out))
	}
}

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func atExit(f func()) { cleanup.At(f) }

func runExits() { cleanup.Run() }

func fail(err error) { cleanup.Fail("bench/workflow", err) }
