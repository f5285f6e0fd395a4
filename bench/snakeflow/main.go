// Command snakeflow benchmarks a real Snakemake workflow on burst's Slurm
// personality against the same workflow on real Slurm: Snakemake 7 (from
// Debian) runs e2e/testdata/engines/Snakefile.tiny, N independent tiny
// jobs and one that gathers them, with its generic cluster executor and
// Slurm's commands, exactly as a Slurm user runs it:
//
//	snakemake --jobs J --cluster 'sbatch --parsable -A bench -c 1 --mem {resources.mem_mb} ...' \
//	    --cluster-status e2e/testdata/engines/slurm-status.py --cluster-cancel scancel
//
// Both sides run the same command; only PATH differs: burst's `burst slurm
// link` symlinks (fresh BURST_HOME, local server started before the clock)
// or the project's own Slurm (scripts/slurm-dev.sh on -port, warmed up by
// one `sbatch --wait` job). Rounds interleave the sides.
//
// Every Slurm command Snakemake and its status script run goes through this
// same program, linked as sbatch, sacct, ... in a shim directory: it runs
// the real command and records its CPU time. So for burst's side the
// benchmark knows the CPU that burst itself spent (the server, the agent,
// the personality's commands) and the whole (Snakemake and everything it
// started, the server, the agent and the tasks the agent ran), and prints
// burst's share. Each cluster job is a `python3 -m snakemake` of its own
// (about 1 s of CPU), which bounds either side on a small host.
//
// CI=true is set for Snakemake, which then waits 1 s between rounds of
// status checks instead of 10 s (its own constant).
//
// Usage (from the repository root, as root):
//
//	go run ./bench/snakeflow [-burst bin/burst] [-n 500] [-jobs 100] [-rounds 1] [-port 23817]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/bench/internal/cleanup"
	"github.com/burst-sh/burst/internal/slurmtest"
)

// slurmCommands are the commands the shim stands in front of.
var slurmCommands = []string{"sbatch", "squeue", "scancel", "sacct", "scontrol", "sinfo"}

func main() {
	if isShim() {
		os.Exit(shim())
	}
	bin := flag.String("burst", "", "burst binary (default: build one)")
	n := flag.Int("n", 500, "tiny jobs in the workflow (plus one that gathers them)")
	jobs := flag.Int("jobs", 100, "snakemake --jobs: cluster jobs at once")
	rounds := flag.Int("rounds", 1, "rounds, each running burst then Slurm")
	port := flag.Int("port", 23817, "first of 5 TCP ports for the benchmark's Slurm (BURST_SLURM_PORT)")
	noSlurm := flag.Bool("burst-only", false, "run burst's side alone (no Slurm, no root needed)")
	limit := flag.Duration("timeout", 30*time.Minute, "give up on a run after this long")
	flag.Parse()
	if *n < 1 || *jobs < 1 || *rounds < 1 {
		fail(fmt.Errorf("-n, -jobs and -rounds take 1 or more"))
	}
	root, _ := os.Getwd()
	flow := filepath.Join(root, "e2e", "testdata", "engines")
	if _, err := os.Stat(filepath.Join(flow, "Snakefile.tiny")); err != nil {
		fail(fmt.Errorf("e2e/testdata/engines/Snakefile.tiny not found: run from the repository root (%v)", err))
	}
	if _, err := os.Stat("/usr/bin/snakemake"); err != nil {
		fail(fmt.Errorf("snakemake is missing: apt-get install -y --no-install-recommends snakemake"))
	}
	self, err := os.Executable()
	check(err)

	tmp, err := os.MkdirTemp("", "burst-bench-snakeflow-")
	check(err)
	atExit(func() { os.RemoveAll(tmp) })
	go func() { // Ctrl-C: still stop Slurm and the burst server
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		runExits()
		os.Exit(130)
	}()
	*bin, err = burstbin.Binary(*bin, tmp)
	check(err)

	home := filepath.Join(tmp, "home")
	atExit(func() { burstbin.Stop(home) })
	burstEnv := burstbin.Env(home)
	links := filepath.Join(tmp, "slurm-bin")
	mustRun(exec.Command(*bin, "slurm", "link", links), burstEnv)
	mustRun(exec.Command(*bin, "project", "create", "bench"), burstEnv) // also starts the server
	sides := []side{{name: "burst slurm (personality)", real: links, env: burstEnv, home: home}}

	if !*noSlurm {
		if _, err := os.Stat("scripts/slurm-dev.sh"); err != nil {
			fail(fmt.Errorf("scripts/slurm-dev.sh not found: run from the repository root (%v)", err))
		}
		conf, stop, why := slurmtest.Start(root, *port)
		atExit(stop)
		if why != "" {
			fail(fmt.Errorf("cannot start Slurm: %s (-burst-only runs burst's side alone)", why))
		}
		slurmEnv := append(withoutBurst(os.Environ()), "SLURM_CONF="+conf)
		warm := exec.Command("sbatch", "--wait", "-o", "/dev/null", "--wrap", "true")
		warm.Env = slurmEnv
		if out, err := warm.CombinedOutput(); err != nil {
			fail(fmt.Errorf("Slurm warm-up job: %v: %s", err, out))
		}
		sides = append(sides, side{name: "Slurm 22.05 (scripts/slurm-dev.sh)", real: "/usr/bin", env: slurmEnv})
	}

	fmt.Printf("Snakemake %s: %d tiny jobs + 1 gather, --jobs %d, through sbatch/sacct/scontrol; %d round(s)\n\n",
		version(), *n, *jobs, *rounds)
	var results []result
	for r := 1; r <= *rounds; r++ {
		for i := range sides {
			res := sides[i].run(self, flow, filepath.Join(tmp, fmt.Sprintf("run-%d-%d", r, i)), *n, *jobs, *limit)
			res.print()
			results = append(results, res)
		}
	}
	summary(results, len(sides))
	runExits()
}

// side is one scheduler to run the workflow on.
type side struct {
	name string
	real string   // directory of its sbatch, sacct, ...
	env  []string // its environment (BURST_HOME or SLURM_CONF)
	home string   // burst's home; "" for Slurm
}

// result is one run of the workflow on a side.
type result struct {
	name          string
	wall          time.Duration
	calls         map[string]*callStats // Slurm commands run, by name
	snakemake     time.Duration         // Snakemake and all it started (the shims' own time taken out)
	commands      time.Duration         // the Slurm commands themselves (for burst: the personality)
	shims         time.Duration         // the shims' own time, left out of everything
	server, agent time.Duration         // burst's server and agent (burst's side only)
	tasks         time.Duration         // the processes the agent ran (burst's side only)
	burst         bool
}

func (s side) run(self, flow, dir string, n, jobs int, limit time.Duration) result {
	check(os.MkdirAll(filepath.Join(dir, "logs"), 0o755))
	shimDir := filepath.Join(dir, "shim")
	check(os.MkdirAll(shimDir, 0o755))
	for _, c := range slurmCommands {
		check(os.Symlink(self, filepath.Join(shimDir, c)))
	}
	log := filepath.Join(dir, "calls.log")
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	c := exec.CommandContext(ctx, "/usr/bin/snakemake", "-s", filepath.Join(flow, "Snakefile.tiny"), "-d", dir,
		"--config", fmt.Sprintf("n=%d", n), "--jobs", strconv.Itoa(jobs), "--latency-wait", "30", "--quiet",
		"--max-status-checks-per-second", "100", "--nocolor",
		"--cluster", "sbatch --parsable -A bench -c 1 --mem {resources.mem_mb} -t {resources.runtime} -J tiny -o logs/%j.out",
		"--cluster-status", filepath.Join(flow, "slurm-status.py"), "--cluster-cancel", "scancel")
	c.Dir = dir
	c.Env = append(append([]string(nil), s.env...), "CI=true", "SNAKEFLOW_REAL="+s.real, "SNAKEFLOW_LOG="+log,
		"PATH="+shimDir+":"+os.Getenv("PATH"))
	var server, agent int
	var server0, agent0, tasks0 time.Duration
	if s.home != "" {
		server = burstbin.ServerPID(s.home)
		if a := burstbin.AgentPIDs(s.home); len(a) == 1 {
			agent = a[0]
		}
		server0, agent0, tasks0 = burstbin.CPU(server), burstbin.CPU(agent), burstbin.ChildrenCPU(agent)
	}
	start := time.Now()
	out, err := c.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		fail(fmt.Errorf("%s: snakemake: %v\n%s", s.name, err, tail(string(out), 3000)))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "gathered.txt")); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(n) {
		fail(fmt.Errorf("%s: gathered.txt should count %d outputs: %q %v", s.name, n, b, err))
	}
	r := result{name: s.name, wall: wall, calls: map[string]*callStats{}, burst: s.home != ""}
	r.commands, r.shims = readCalls(log, r.calls)
	r.snakemake = c.ProcessState.UserTime() + c.ProcessState.SystemTime() - r.shims
	if s.home != "" {
		if a := burstbin.AgentPIDs(s.home); len(a) != 1 || a[0] != agent || burstbin.ServerPID(s.home) != server {
			fail(fmt.Errorf("%s: burst's server or agent changed during the run: CPU times cannot be compared", s.name))
		}
		r.server = burstbin.CPU(server) - server0
		r.agent = burstbin.CPU(agent) - agent0
		r.tasks = burstbin.ChildrenCPU(agent) - tasks0
	}
	return r
}

func (r result) print() {
	fmt.Printf("%s: %.2fs wall\n    Slurm calls (count, mean and longest wall time): %s\n", r.name, r.wall.Seconds(), fmtCalls(r.calls))
	fmt.Printf("    CPU: snakemake and all it ran %.2fs, of which Slurm's commands %.2fs", r.snakemake.Seconds(), r.commands.Seconds())
	if r.burst {
		whole := r.snakemake + r.server + r.agent + r.tasks
		own := r.commands + r.server + r.agent
		fmt.Printf("; burst server %.2fs, agent %.2fs, tasks %.2fs\n", r.server.Seconds(), r.agent.Seconds(), r.tasks.Seconds())
		fmt.Printf("    burst's own share: %.2fs of %.2fs = %.1f%% (personality %.2fs + server %.2fs + agent %.2fs)\n",
			own.Seconds(), whole.Seconds(), 100*own.Seconds()/whole.Seconds(), r.commands.Seconds(), r.server.Seconds(), r.agent.Seconds())
	} else {
		fmt.Println("; slurmctld, slurmd and the jobs not measured")
	}
	fmt.Printf("    (the benchmark's shims took %.2fs more, left out)\n", r.shims.Seconds())
}

func summary(rs []result, sides int) {
	if sides < 2 {
		return
	}
	var b, s time.Duration
	for i, r := range rs {
		if i%2 == 0 {
			b += r.wall
		} else {
			s += r.wall
		}
	}
	fmt.Printf("\nwall, all rounds: burst %.2fs, Slurm %.2fs: burst takes %.2fx Slurm's time (Slurm / burst = %.2f)\n",
		b.Seconds(), s.Seconds(), b.Seconds()/s.Seconds(), s.Seconds()/b.Seconds())
}

// callStats is what the calls of one Slurm command took.
type callStats struct {
	n         int
	wall, max time.Duration
}

// readCalls sums the shim log: each line "COMMAND CPU_NS SHIM_CPU_NS
// WALL_NS", the CPU time of the real command, the shim's own, and the
// real command's wall time.
func readCalls(log string, calls map[string]*callStats) (real, shims time.Duration) {
	f, err := os.Open(log)
	check(err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var cmd string
		var r, s, w int64
		if _, err := fmt.Sscan(sc.Text(), &cmd, &r, &s, &w); err != nil {
			fail(fmt.Errorf("%s: bad line %q", log, sc.Text()))
		}
		st := calls[cmd]
		if st == nil {
			st = &callStats{}
			calls[cmd] = st
		}
		st.n++
		st.wall += time.Duration(w)
		st.max = max(st.max, time.Duration(w))
		real += time.Duration(r)
		shims += time.Duration(s)
	}
	check(sc.Err())
	return real, shims
}

func fmtCalls(calls map[string]*callStats) string {
	var s []string
	for _, c := range slurmCommands {
		if st := calls[c]; st != nil {
			s = append(s, fmt.Sprintf("%s %d, %.0f/%.0f ms", c, st.n, ms(st.wall/time.Duration(st.n)), ms(st.max)))
		}
	}
	return strings.Join(s, ", ")
}

// isShim says whether this process was started as one of slurmCommands,
// through a symlink in a run's shim directory.
func isShim() bool {
	base := filepath.Base(os.Args[0])
	for _, c := range slurmCommands {
		if base == c && os.Getenv("SNAKEFLOW_REAL") != "" {
			return true
		}
	}
	return false
}

// shim runs the real command of its name from $SNAKEFLOW_REAL with its
// arguments and standard streams, and appends its name, the real command's
// CPU time, its own and the real command's wall time to $SNAKEFLOW_LOG, in
// one write.
func shim() int {
	name := filepath.Base(os.Args[0])
	c := exec.Command(filepath.Join(os.Getenv("SNAKEFLOW_REAL"), name), os.Args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := c.Run()
	wall := time.Since(start)
	code := 0
	if err != nil {
		if c.ProcessState == nil {
			fmt.Fprintf(os.Stderr, "%s (bench/snakeflow shim): %v\n", name, err)
			return 127
		}
		code = c.ProcessState.ExitCode()
		if code < 0 {
			code = 128 + int(c.ProcessState.Sys().(syscall.WaitStatus).Signal())
		}
	}
	real := c.ProcessState.UserTime() + c.ProcessState.SystemTime()
	var self syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	own := time.Duration(self.Utime.Nano() + self.Stime.Nano())
	if f, err := os.OpenFile(os.Getenv("SNAKEFLOW_LOG"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
		f.WriteString(fmt.Sprintf("%s %d %d %d\n", name, real.Nanoseconds(), own.Nanoseconds(), wall.Nanoseconds()))
		f.Close()
	}
	return code
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func version() string {
	out, err := exec.Command("/usr/bin/snakemake", "--version").Output()
	if err != nil {
		return "(version unknown)"
	}
	return strings.TrimSpace(string(out))
}

func withoutBurst(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "BURST_") {
			out = append(out, e)
		}
	}
	return out
}

func mustRun(c *exec.Cmd, env []string) {
	c.Env = env
	if out, err := c.CombinedOutput(); err != nil {
		fail(fmt.Errorf("%s: %v: %s", strings.Join(c.Args, " "), err, out))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func atExit(f func()) { cleanup.At(f) }

func runExits() { cleanup.Run() }

func fail(err error) { cleanup.Fail("bench/snakeflow", err) }
