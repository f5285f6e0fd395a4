// Command slurm benchmarks burst's Slurm pilots against Slurm itself, in
// one run on the same Slurm with the same config: N tasks of `true`, run
//
//   - by burst: a cluster of pilots (`burst cluster create hpc --provider
//     slurm --partition debug --cpus 2 --mem 512M --max 2`) in a fresh
//     BURST_HOME, then `burst map --on hpc -- true :::: INPUTS` and `burst
//     wait`. The clock runs from the submission of the map to the return of
//     `burst wait`, so it includes the pilots' start-up (sbatch, Slurm's
//     scheduling of the pilot jobs, the agents connecting back): no pilot
//     runs before the map is submitted, which is the fair comparison;
//   - natively: one job array, `sbatch --parsable --array=0-(N-1) --wrap
//     true -p debug -o /dev/null`. The clock runs from the submission until
//     every element has left the queue, polling `squeue -h -r -t all -o "%i
//     %T"` (filtered on the client side to the array's elements, which stay
//     listed as COMPLETED etc. for MinJobAge) every 250 ms.
//
// burst runs first; its pilots are cancelled and the queue is empty before
// the array is submitted. For each it prints the wall time, the time to
// the first task's start, tasks/s and the wall time per task, then the
// ratio native / burst.
//
// Before either is timed, one batch job (`sbatch --wait --wrap true`)
// runs through Slurm, so that its
// start-up (nodes registering, the scheduler's first pass) is charged to
// neither.
//
// The Slurm is the project's own (scripts/slurm-dev.sh: nodes c1, c2 in
// partition debug, each declaring this host's CPUs; SchedulerParameters
// tuned for fast scheduling), started in a temporary directory on
// BURST_SLURM_PORT=24817 (-port) so that it does not clash with the one the
// tests use, and stopped at the end, also on failure or Ctrl-C. Starting it
// (and installing Slurm with apt-get if missing) needs root.
//
// Usage (from the repository root, as root):
//
//	go run ./bench/slurm [-burst bin/burst] [-n 1000] [-port 24817]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/bench/internal/burstbin"
)

// maxArray is Slurm's default MaxArraySize (1001): indices 0..1000.
const maxArray = 1001

func main() {
	bin := flag.String("burst", "", "burst binary (default: build one)")
	n := flag.Int("n", 1000, fmt.Sprintf("tasks per run (1..%d: Slurm's default MaxArraySize)", maxArray))
	port := flag.Int("port", 24817, "first of 5 TCP ports for the benchmark's Slurm (BURST_SLURM_PORT)")
	limit := flag.Duration("timeout", 15*time.Minute, "give up on a run after this long")
	burstOnly := flag.Bool("burst-only", false, "time burst alone (any -n; no native array to compare with)")
	pilotCPUs := flag.Int("pilot-cpus", 2, "CPUs of each of the 2 pilots")
	flag.Parse()
	if *n < 1 || (*n > maxArray && !*burstOnly) {
		fail(fmt.Errorf("-n %d: use 1..%d (a Slurm job array holds at most %d elements by default)", *n, maxArray, maxArray))
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench/slurm: must run as root: it starts its own Slurm (munged, slurmctld, two slurmd) with scripts/slurm-dev.sh, which may also install Slurm with apt-get")
		os.Exit(1)
	}
	if _, err := os.Stat("scripts/slurm-dev.sh"); err != nil {
		fail(fmt.Errorf("scripts/slurm-dev.sh not found: run from the repository root (%v)", err))
	}
	go func() { // Ctrl-C: still stop Slurm and the burst server
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		s := <-sig
		fmt.Fprintf(os.Stderr, "\nbench/slurm: %v: cleaning up\n", s)
		cleanup()
		os.Exit(130)
	}()

	tmp, err := os.MkdirTemp("", "burst-bench-slurm-")
	check(err)
	atExit(func() { os.RemoveAll(tmp) })
	*bin, err = burstbin.Binary(*bin, tmp)
	check(err)

	// Slurm.
	sdir := filepath.Join(tmp, "slurm")
	startSlurm(sdir, *port)
	version, _ := output(exec.Command("sinfo", "--version"))
	nodes, _ := output(exec.Command("sinfo", "-h", "-N", "-p", "debug", "-o", "%N:%c"))
	fmt.Printf("Slurm: %s, partition debug = %s CPUs (this host has %d), own cluster in %s\n",
		strings.TrimSpace(version), strings.Join(strings.Fields(nodes), " + "), numCPU(), sdir)
	// Slurm's first job after its start waits for the nodes' first
	// registration and the scheduler's first pass (~2.5 s here): one probe
	// job, run to its end, takes that out of whichever method goes first.
	t0 := time.Now()
	if _, err := output(exec.Command("sbatch", "--wait", "-p", "debug", "-o", "/dev/null", "--wrap", "true")); err != nil {
		fail(fmt.Errorf("warm-up job (sbatch --wait -p debug --wrap true): %v", err))
	}
	fmt.Printf("%d x true (Slurm warmed up by one batch job first: %.2fs)\n\n", *n, time.Since(t0).Seconds())

	inputs := filepath.Join(tmp, "inputs")
	var b strings.Builder
	for i := 1; i <= *n; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	check(os.WriteFile(inputs, []byte(b.String()), 0o600))

	bres := runBurst(*bin, filepath.Join(tmp, "home"), inputs, *n, *pilotCPUs, *limit)
	if *burstOnly {
		fmt.Printf("burst map --on hpc (2 pilots x %d CPUs): %d tasks in %.2fs (first task after %.2fs): %.1f tasks/s, %.1f ms per task\n",
			*pilotCPUs, *n, bres.wall.Seconds(), bres.first.Seconds(), float64(*n)/bres.wall.Seconds(), bres.wall.Seconds()*1000/float64(*n))
		cleanup()
		return
	}
	nres := runNative(*n, *limit)

	fmt.Printf("  %-44s %9s %12s %9s %11s\n", "", "wall", "first task", "tasks/s", "per task")
	row := func(name string, r result) {
		fmt.Printf("  %-44s %8.2fs %11.2fs %9.1f %8.1f ms\n", name, r.wall.Seconds(), r.first.Seconds(),
			float64(*n)/r.wall.Seconds(), r.wall.Seconds()*1000/float64(*n))
	}
	row(fmt.Sprintf("burst map --on hpc (2 pilots x %d CPUs)", *pilotCPUs), bres)
	row(fmt.Sprintf("sbatch --array=0-%d --wrap true (native)", *n-1), nres)
	fmt.Println()
	fmt.Printf("burst, pilot start-up included, is %.1fx native Slurm (native wall / burst wall: %.2fs / %.2fs)\n",
		nres.wall.Seconds()/bres.wall.Seconds(), nres.wall.Seconds(), bres.wall.Seconds())
	if d := bres.wall - bres.first; d > 0 {
		fmt.Printf("burst once its first pilot ran a task: %d tasks in %.2fs = %.0f tasks/s\n", *n, d.Seconds(), float64(*n)/d.Seconds())
	}
	if d := nres.wall - nres.first; d > 0 {
		fmt.Printf("native once its first element started:   %d tasks in %.2fs = %.1f tasks/s\n", *n, d.Seconds(), float64(*n)/d.Seconds())
	}
	fmt.Println("note: native time is dominated by Slurm's scheduling, not by `true` (~15 ms once allocated): slurmctld")
	fmt.Println("      starts about one element per free CPU per scheduling pass, even tuned as here")
	fmt.Println("      (batch_sched_delay=0,sched_min_interval=0; shared/notes/slurm.md: ~2 jobs/s on 2 CPUs);")
	fmt.Println("      burst pays Slurm's scheduling once per pilot, then its agents pull tasks directly.")
	cleanup()
}

type result struct {
	wall  time.Duration // submission to the end of the last task
	first time.Duration // submission to the start of the first task
}

// runBurst times `burst map -d --on hpc -- true :::: inputs` + `burst wait`
// with a fresh home and a fresh cluster of Slurm pilots, then stops the
// server and cancels the pilots so that the queue is empty for the native
// run.
func runBurst(bin, home, inputs string, n, pilotCPUs int, limit time.Duration) result {
	check(os.MkdirAll(home, 0o700))
	env := burstbin.Env(home)
	cmd := func(ctx context.Context, args ...string) *exec.Cmd {
		c := exec.CommandContext(ctx, bin, args...)
		c.Env = env
		return c
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd(ctx, "server", "stop").Run()
			cancelSlurmJobs()
			exec.Command("pkill", "-f", "--", "--token-file "+filepath.Join(home, "token")).Run()
		})
	}
	atExit(stop)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	mustRun(cmd(ctx, "cluster", "create", "hpc", "--provider", "slurm", "--partition", "debug", "--cpus", strconv.Itoa(pilotCPUs),
		"--mem", "512M", "--max", "2", "--time-limit", "30m", "--idle-stop", "30s"), home)

	start := time.Now()
	out := mustRun(cmd(ctx, "map", "-d", "--quiet", "--on", "hpc", "--", "true", "::::", inputs), home)
	id := strings.TrimSpace(out)
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		fail(fmt.Errorf("burst map -d answered %q, not a job id", out))
	}
	mustRun(cmd(ctx, "wait", id), home)
	wall := time.Since(start)

	out = mustRun(cmd(ctx, "show", id, "-o", "json", "--tasks", "0"), home)
	var j burst.Job
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		fail(fmt.Errorf("burst show %s -o json: %v", id, err))
	}
	if j.State != burst.Succeeded || j.Tasks.Succeeded != n {
		fail(fmt.Errorf("burst job %s: %s, %d of %d tasks succeeded", id, j.State, j.Tasks.Succeeded, n))
	}
	r := result{wall: wall}
	if j.StartedAt != nil { // the server's clock: this host's, as ours
		r.first = j.StartedAt.Sub(start)
	}
	stop()
	return r
}

// runNative times one job array of n `true` from sbatch until every
// element has left the queue.
func runNative(n int, limit time.Duration) result {
	start := time.Now()
	out := mustRun(exec.Command("sbatch", "--parsable", fmt.Sprintf("--array=0-%d", n-1), "--wrap", "true",
		"-p", "debug", "-o", "/dev/null"), "")
	id := strings.TrimSpace(strings.SplitN(strings.TrimSpace(out), ";", 2)[0])
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		fail(fmt.Errorf("sbatch answered %q, not a job id", out))
	}
	atExit(func() { exec.Command("scancel", id).Run() })
	var r result
	ended := map[string]string{} // element → terminal state; kept even if squeue forgets it (MinJobAge)
	deadline := start.Add(limit)
	for {
		out, err := output(exec.Command("squeue", "-h", "-r", "-t", "all", "-o", "%i %T"))
		now := time.Since(start)
		if err != nil {
			fail(fmt.Errorf("squeue: %v", err))
		}
		active, pending := 0, 0
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) != 2 || (f[0] != id && !strings.HasPrefix(f[0], id+"_")) {
				continue
			}
			switch f[1] {
			case "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE", "PREEMPTED", "SPECIAL_EXIT", "REVOKED":
				ended[f[0]] = f[1]
			case "PENDING":
				pending++
				active++
			default:
				active++
			}
		}
		if r.first == 0 && (active > pending || len(ended) > 0) {
			r.first = now
		}
		if active == 0 && len(ended) >= n {
			r.wall = now
			break
		}
		if active == 0 && len(ended) > 0 {
			fail(fmt.Errorf("array %s: nothing left in the queue, but only %d of %d elements seen ending", id, len(ended), n))
		}
		if time.Now().After(deadline) {
			fail(fmt.Errorf("array %s: %d of %d elements done after %s", id, len(ended), n, limit))
		}
		time.Sleep(250 * time.Millisecond)
	}
	bad := 0
	for _, st := range ended {
		if st != "COMPLETED" {
			bad++
		}
	}
	if bad > 0 {
		fail(fmt.Errorf("array %s: %d of %d elements did not complete", id, bad, n))
	}
	return r
}

// startSlurm starts the benchmark's own Slurm in dir and sets SLURM_CONF for
// every command this process runs (the burst server included).
func startSlurm(dir string, port int) {
	c := exec.Command("scripts/slurm-dev.sh", "start", dir)
	c.Env = append(os.Environ(), "BURST_SLURM_PORT="+strconv.Itoa(port))
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	atExit(func() {
		// slurm-dev.sh stop also stops the munged that its start started, but
		// another Slurm started meanwhile (the tests', on another DIR) shares
		// that munged and would lose it: leave it running for them then.
		if pid := otherSlurm(dir); pid > 0 {
			if os.Remove(filepath.Join(dir, "run", "munged.pid")) == nil {
				fmt.Fprintf(os.Stderr, "bench/slurm: leaving munged running: another Slurm daemon (pid %d) uses it\n", pid)
			}
		}
		out, err := exec.Command("scripts/slurm-dev.sh", "stop", dir).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench/slurm: stopping Slurm: %v\n%s", err, out)
		}
	})
	if err := c.Run(); err != nil {
		fail(fmt.Errorf("scripts/slurm-dev.sh start %s: %v\n%s", dir, err, tail(stderr.Bytes())))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	conf, ok := strings.CutPrefix(last, "export SLURM_CONF=")
	if !ok || conf == "" {
		fail(fmt.Errorf("scripts/slurm-dev.sh start: last line %q is not export SLURM_CONF=...\n%s", last, tail(stderr.Bytes())))
	}
	check(os.Setenv("SLURM_CONF", conf))
}

// otherSlurm returns the pid of a slurmctld or slurmd of this host that is
// not the benchmark's own (whose command line names dir), or 0.
func otherSlurm(dir string) int {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if base := filepath.Base(args[0]); base != "slurmctld" && base != "slurmd" {
			continue // slurmctld's helper reads "slurmctld: slurmscriptd"
		}
		if !strings.Contains(string(b), dir+"/") {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return pid
		}
	}
	return 0
}

// cancelSlurmJobs cancels every job of the benchmark's own Slurm (the
// pilots) and waits, up to 30 s, until none is running or completing.
func cancelSlurmJobs() {
	out, _ := output(exec.Command("squeue", "-h", "-o", "%A"))
	if ids := strings.Fields(out); len(ids) > 0 {
		exec.Command("scancel", ids...).Run()
	}
	for i := 0; i < 300; i++ {
		out, err := output(exec.Command("squeue", "-h", "-t", "PD,R,CG,CF,S", "-o", "%A"))
		if err == nil && strings.TrimSpace(out) == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "bench/slurm: warning: Slurm jobs still in the queue 30 s after scancel")
}

// mustRun runs c and returns its stdout; on failure it prints stderr (and
// the burst server's log if home is set) and exits.
func mustRun(c *exec.Cmd, home string) string {
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		msg := fmt.Sprintf("%s: %v\n%s%s", strings.Join(c.Args, " "), err, tail(stdout.Bytes()), tail(stderr.Bytes()))
		if home != "" {
			if b, err := os.ReadFile(filepath.Join(home, "server.log")); err == nil {
				msg += "\n--- server.log (tail) ---\n" + string(tail(b))
			}
		}
		fail(fmt.Errorf("%s", msg))
	}
	return stdout.String()
}

func output(c *exec.Cmd) (string, error) {
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func numCPU() int {
	out, _ := output(exec.Command("nproc"))
	n, _ := strconv.Atoi(strings.TrimSpace(out))
	return n
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}

var (
	exitMu   sync.Mutex
	exitFns  []func()
	exitDone bool
)

// atExit registers f to run at cleanup, last registered first.
func atExit(f func()) {
	exitMu.Lock()
	exitFns = append(exitFns, f)
	exitMu.Unlock()
}

// cleanup runs the registered functions once: on success, failure and Ctrl-C.
func cleanup() {
	exitMu.Lock()
	defer exitMu.Unlock()
	if exitDone {
		return
	}
	exitDone = true
	for i := len(exitFns) - 1; i >= 0; i-- {
		exitFns[i]()
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/slurm:", err)
	cleanup()
	os.Exit(1)
}

func check(err error) {
	if err != nil {
		fail(err)
	}
}
