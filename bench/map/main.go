// Command map benchmarks `burst map` side by side with its peers in one
// run and prints ratios. Two modes:
//
// Rounds (the default): N tasks of `true` and of `sh -c 'echo x'`, each
// with 2 workers, run by
//
//   - a bare Go loop: 2 goroutines calling os/exec (the floor: no
//     bookkeeping at all),
//   - xargs -P2 -n1,
//   - GNU parallel -j2 (skipped, loudly, if not installed),
//   - burst map -j 2 on the embedded default (every task durably recorded),
//     and with -burst-before a second burst binary the same way, each with
//     its own fresh home and warm server.
//
// Every method runs once per workload in each of -rounds rounds,
// interleaved (the order rotates from round to round, so that no method
// always follows the same one), and the figures printed are each round's
// rates and ratios to that round's bare loop, then the median over the
// rounds.
//
// -big N: one map of N `true` tasks (read from a file with ::::) run to
// completion by each burst binary, with the server's RSS sampled every
// 100 ms (VmRSS of /proc/PID/status; VmHWM read at the end), `burst jobs`
// (the real CLI) timed every -jobs-every while the map runs, and its rate
// against the bare loop measured on a sample of -big-sample tasks before
// and after each map (the ratio is one of rates).
//
// Usage:
//
//	go run ./bench/map [-burst bin/burst] [-burst-before OLD] [-n 5000] [-rounds 3]
//	go run ./bench/map [-burst bin/burst] [-burst-before OLD] -big 1000000 [-big-sample 50000]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	burstapi "github.com/burst-sh/burst"
	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/bench/internal/stat"
)

// workers is what every method gets: 2 at once.
const workers = 2

// side is one burst binary under test, with its own home and server.
type side struct {
	label, bin, home string
	env              []string
}

func (s *side) cmd(args ...string) *exec.Cmd {
	c := exec.Command(s.bin, args...)
	c.Env = s.env
	return c
}

// start warms s up: the first command starts its server and agent.
func (s *side) start() {
	if out, err := s.cmd("run", "--", "true").CombinedOutput(); err != nil {
		fail("%s: warm-up `burst run -- true`: %v\n%s", s.label, err, tail(out))
	}
}

func main() {
	bin := flag.String("burst", "", "burst binary (default: build one from ./cmd/burst)")
	before := flag.String("burst-before", "", `a second burst binary, measured in the same run and labelled "burst (before)"`)
	n := flag.Int("n", 5000, "tasks per run (rounds mode)")
	rounds := flag.Int("rounds", 3, "rounds; every method runs once per workload in each")
	big := flag.Int("big", 0, "run one map of this many `true` tasks to completion instead (e.g. 1000000)")
	sample := flag.Int("big-sample", 50000, "with -big: tasks of the bare loop's sample, run before and after each map")
	every := flag.Duration("jobs-every", 2*time.Second, "with -big: how often `burst jobs` is timed while the map runs")
	flag.Parse()
	if *n < 1 || *rounds < 1 || *big < 0 || *sample < 1 {
		fail("-n, -rounds and -big-sample must be at least 1, -big at least 0")
	}

	sc, err := burstbin.NewScratch("burst-bench-map-")
	check(err)
	scratch = sc
	defer sc.Close()
	tmp := sc.Dir
	builds, err := burstbin.Builds(*bin, *before, tmp)
	check(err)
	var sides []*side
	for i, b := range builds {
		home := sc.Home(fmt.Sprintf("home%d", i))
		sides = append(sides, &side{label: b.Label, bin: b.Bin, home: home, env: burstbin.Env(home)})
	}
	if *big > 0 {
		bigRun(tmp, sides, *big, min(*sample, *big), *every)
		return
	}
	roundsRun(sides, *n, *rounds)
}

type workload struct {
	name string
	argv []string
}

var workloads = []workload{{"true", []string{"true"}}, {"sh -c 'echo x'", []string{"sh", "-c", "echo x"}}}

// method runs n tasks of a workload, 2 at once, and returns when all
// have ended.
type method struct {
	name string
	cmd  string // the command line, for the reader
	run  func(w workload, inputs []string)
	// cpu, for burst: the CPU time its server, its agents and the CLI
	// used during the last run.
	cpu func() cpuUse
}

// cpuUse is the CPU time (user + system) burst's processes spent on one
// run, their tasks' own processes left out: what the bookkeeping costs.
// It hardly depends on how busy the machine is, unlike rates and ratios.
type cpuUse struct{ server, agent, cli time.Duration }

// cpuOf is what the server and the agents of home have used so far.
func cpuOf(home string) cpuUse {
	u := cpuUse{server: burstbin.CPU(burstbin.ServerPID(home))}
	for _, pid := range burstbin.AgentPIDs(home) {
		u.agent += burstbin.CPU(pid)
	}
	return u
}

func roundsRun(sides []*side, n, rounds int) {
	inputs := make([]string, n)
	for i := range inputs {
		inputs[i] = strconv.Itoa(i)
	}
	for _, s := range sides {
		s.start()
	}
	methods := []method{
		{"bare Go os/exec loop", "2 goroutines: exec.Command(CMD, INPUT).Run()", func(w workload, in []string) { bareLoop(w.argv, in) }, nil},
		{"xargs -P2 -n1", "xargs -P2 -n1 CMD < INPUTS", func(w workload, in []string) {
			c := exec.Command("xargs", append([]string{"-P2", "-n1"}, w.argv...)...)
			c.Stdin = strings.NewReader(strings.Join(in, "\n"))
			run(c)
		}, nil},
	}
	if _, err := exec.LookPath("parallel"); err == nil {
		methods = append(methods, method{"GNU parallel -j2", "parallel -j2 CMD ::: INPUTS", func(w workload, in []string) {
			c := exec.Command("parallel", append(append([]string{"-j2"}, w.argv...), ":::")...)
			c.Args = append(c.Args, in...)
			run(c)
		}, nil})
	} else {
		fmt.Println("GNU parallel: SKIPPED, not installed (apt-get install parallel)")
	}
	for _, s := range sides {
		var used cpuUse
		methods = append(methods, method{s.label + " map -j 2", s.bin + " map --quiet -j 2 -- CMD ::: INPUTS", func(w workload, in []string) {
			c := s.cmd(append(append([]string{"map", "--quiet", "-j", strconv.Itoa(workers), "--"}, w.argv...), ":::")...)
			c.Args = append(c.Args, in...)
			before := cpuOf(s.home)
			run(c)
			after := cpuOf(s.home)
			used = cpuUse{server: after.server - before.server, agent: after.agent - before.agent,
				cli: c.ProcessState.UserTime() + c.ProcessState.SystemTime()}
		}, func() cpuUse { return used }})
	}

	fmt.Printf("burst map against its peers: %d tasks per run, %d workers each, %d rounds, interleaved (the order rotates each round)\n", n, workers, rounds)
	for _, m := range methods {
		fmt.Printf("  %-26s %s\n", m.name, m.cmd)
	}
	fmt.Printf("  (CMD: %s; INPUTS: 0..%d, one argument per task)\n\n", `true, then sh -c 'echo x'`, n-1)

	// rate[w][m] and ratio[w][m] hold one figure per round; so do the
	// CPU times per task (ms) of burst's server, agent and CLI, cpu[w][m][0..2].
	rate := make([][][]float64, len(workloads))
	ratio := make([][][]float64, len(workloads))
	cpu := make([][][3][]float64, len(workloads))
	for wi := range workloads {
		rate[wi] = make([][]float64, len(methods))
		ratio[wi] = make([][]float64, len(methods))
		cpu[wi] = make([][3][]float64, len(methods))
	}
	for r := range rounds {
		order := rotation(r, len(methods))
		names := make([]string, len(order))
		for i, mi := range order {
			names[i] = methods[mi].name
		}
		fmt.Printf("round %d of %d (order: %s)\n", r+1, rounds, strings.Join(names, ", "))
		for wi, w := range workloads {
			took := make([]time.Duration, len(methods))
			for _, mi := range order {
				s := time.Now()
				methods[mi].run(w, inputs)
				took[mi] = time.Since(s)
			}
			fmt.Printf("  %d x %s\n", n, w.name)
			for mi, m := range methods {
				rt := float64(n) / took[mi].Seconds()
				x := took[0].Seconds() / took[mi].Seconds() // rate / the bare loop's rate
				rate[wi][mi] = append(rate[wi][mi], rt)
				ratio[wi][mi] = append(ratio[wi][mi], x)
				fmt.Printf("    %-26s %7.2fs %8.0f tasks/s   %.2fx the bare loop", m.name, took[mi].Seconds(), rt, x)
				if m.cpu != nil {
					u := m.cpu()
					for k, d := range []time.Duration{u.server, u.agent, u.cli} {
						cpu[wi][mi][k] = append(cpu[wi][mi][k], ms(d)/float64(n))
					}
					fmt.Printf("   CPU per task: server %.3f ms, agent %.3f ms, CLI %.3f ms", ms(u.server)/float64(n), ms(u.agent)/float64(n), ms(u.cli)/float64(n))
				}
				fmt.Println()
			}
		}
		fmt.Println()
	}

	fmt.Printf("overall, %d rounds: the median of the rounds' rates, and the median of the rounds' ratios to the bare loop (lowest-highest)\n", rounds)
	for wi, w := range workloads {
		fmt.Printf("  %d x %s\n", n, w.name)
		for mi, m := range methods {
			fmt.Printf("    %-26s %8.0f tasks/s   %.2fx the bare loop (%.2f-%.2f)",
				m.name, stat.Median(rate[wi][mi]), stat.Median(ratio[wi][mi]), stat.Pct(ratio[wi][mi], 0), stat.Max(ratio[wi][mi]))
			if strings.HasPrefix(m.name, "burst") {
				fmt.Printf("   goal >= 0.9x: %s", met(stat.Median(ratio[wi][mi]) >= 0.9))
			}
			fmt.Println()
		}
		for mi, m := range methods {
			if m.cpu != nil {
				c := cpu[wi][mi]
				fmt.Printf("    %-26s CPU per task (median of the rounds; the tasks' own processes not counted): server %.3f ms, agent %.3f ms, CLI %.3f ms\n",
					m.name, stat.Median(c[0]), stat.Median(c[1]), stat.Median(c[2]))
			}
		}
		first := len(methods) - len(sides) // the first burst
		for mi := first; mi < len(methods); mi++ {
			if methods[first-1].name == "GNU parallel -j2" {
				fmt.Printf("    %s is %.1fx GNU parallel (median of the rounds)\n", methods[mi].name, medianOfRatios(rate[wi][mi], rate[wi][first-1]))
			}
		}
		if len(sides) == 2 {
			fmt.Printf("    burst / burst (before): %.2fx the rate (median of the rounds)\n", medianOfRatios(rate[wi][first], rate[wi][first+1]))
		}
	}
}

// rotation is the order of n methods in round r (from 0): each round
// starts one method later than the one before.
func rotation(r, n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = (i + r) % n
	}
	return order
}

// medianOfRatios is the median over rounds of a[r]/b[r].
func medianOfRatios(a, b []float64) float64 {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = a[i] / b[i]
	}
	return stat.Median(r)
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// bareLoop runs argv INPUT for every input from 2 goroutines: the floor
// for starting processes from Go on this machine.
func bareLoop(argv []string, inputs []string) {
	var wg sync.WaitGroup
	next := make(chan string, len(inputs))
	for _, in := range inputs {
		next <- in
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for in := range next {
				c := exec.Command(argv[0], append(argv[1:len(argv):len(argv)], in)...)
				if err := c.Run(); err != nil {
					fail("bare loop: %v", err)
				}
			}
		}()
	}
	wg.Wait()
}

// bareSample is the bare loop's rate on n `true` tasks, with its time.
func bareSample(n int) (float64, time.Duration) {
	in := make([]string, n)
	for i := range in {
		in[i] = strconv.Itoa(i)
	}
	s := time.Now()
	bareLoop([]string{"true"}, in)
	d := time.Since(s)
	return float64(n) / d.Seconds(), d
}

// bigRun runs a map of n `true` tasks to completion with each side in
// turn, between samples of the bare loop.
func bigRun(tmp string, sides []*side, n, sample int, every time.Duration) {
	file := filepath.Join(tmp, "inputs.txt")
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\n')
	}
	check(os.WriteFile(file, b.Bytes(), 0o600))
	fmt.Printf("one map of %d x true, -j %d, run to completion: `burst map --quiet -j %d -- true :::: FILE` (FILE: 1..%d, a line each)\n",
		n, workers, workers, n)
	fmt.Printf("the bare Go os/exec loop (%d workers) is measured on %d tasks before and after each map; the ratio is one of rates\n\n", workers, sample)

	rBefore, dBefore := bareSample(sample)
	fmt.Printf("bare loop, %d x true: %.2fs, %.0f tasks/s\n\n", sample, dBefore.Seconds(), rBefore)
	for _, s := range sides {
		res := bigOne(s, file, n, every)
		rAfter, dAfter := bareSample(sample)
		fmt.Printf("bare loop, %d x true: %.2fs, %.0f tasks/s\n", sample, dAfter.Seconds(), rAfter)
		bare := float64(2*sample) / (dBefore + dAfter).Seconds()
		fmt.Printf("\n%s, %d x true, -j %d, to completion:\n", s.label, n, workers)
		fmt.Printf("  accepted after %.2fs (the CLI's line `burst: job %d`), all done after %.2fs: %.0f tasks/s\n",
			res.accepted.Seconds(), res.job, res.wall.Seconds(), float64(n)/res.wall.Seconds())
		x := float64(n) / res.wall.Seconds() / bare
		fmt.Printf("  %.2fx the bare loop (%.0f tasks/s: its two samples around this map)   goal >= 0.9x: %s\n", x, bare, met(x >= 0.9))
		fmt.Printf("  server RSS: peak %.1f MiB sampled every 100 ms (%d samples), VmHWM %.1f MiB at the end   goal <= 256 MiB: %s\n",
			mib(res.peakRSS), res.samples, mib(res.hwm), met(max(res.peakRSS, res.hwm) <= 256<<20))
		fmt.Printf("  agent RSS: peak %.1f MiB sampled, VmHWM %.1f MiB at the end\n", mib(res.agentPeak), mib(res.agentHWM))
		fmt.Printf("  `burst jobs` while it ran (%d calls, every %s): median %.1f ms, max %.1f ms   goal < 100 ms: %s\n",
			len(res.jobs), every, ms(stat.Median(res.jobs)), ms(stat.Max(res.jobs)), met(len(res.jobs) > 0 && stat.Max(res.jobs) < 100*time.Millisecond))
		if res.jobsFailed > 0 {
			fmt.Printf("  `burst jobs` FAILED %d times\n", res.jobsFailed)
		}
		fmt.Printf("  recorded: %s\n\n", res.recorded)
		rBefore, dBefore = rAfter, dAfter
	}
}

type bigResult struct {
	job                 int64
	accepted, wall      time.Duration
	peakRSS, hwm        int64
	agentPeak, agentHWM int64
	samples             int
	jobs                []time.Duration
	jobsFailed          int
	recorded            string
}

func bigOne(s *side, file string, n int, every time.Duration) bigResult {
	s.start()
	defer burstbin.Stop(s.home)
	srv := burstbin.ServerPID(s.home)
	agents := burstbin.AgentPIDs(s.home)
	if srv == 0 || len(agents) == 0 {
		fail("%s: no server or agent pid in %s after the warm-up", s.label, s.home)
	}
	var res bigResult
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex // guards res's samples while the map runs

	wg.Add(1)
	go func() { // RSS, every 100 ms
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			r := burstbin.Status(srv, "VmRSS")
			var a int64
			for _, pid := range agents {
				a += burstbin.Status(pid, "VmRSS")
			}
			mu.Lock()
			res.peakRSS, res.agentPeak = max(res.peakRSS, r), max(res.agentPeak, a)
			res.samples++
			mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()

	start := time.Now()
	var jobID int64
	accepted := make(chan struct{})
	wg.Add(1)
	go func() { // `burst jobs`, every `every`, once the map is accepted
		defer wg.Done()
		select {
		case <-ctx.Done():
			return
		case <-accepted:
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			c, cancel := context.WithTimeout(ctx, time.Minute)
			cmd := exec.CommandContext(c, s.bin, "jobs")
			cmd.Env = s.env
			t0 := time.Now()
			out, err := cmd.Output()
			d := time.Since(t0)
			cancel()
			if ctx.Err() != nil {
				return
			}
			mu.Lock()
			if err != nil {
				res.jobsFailed++
			} else {
				res.jobs = append(res.jobs, d)
			}
			rss := res.peakRSS
			mu.Unlock()
			if i%5 == 4 { // a progress line about every 10 s
				fmt.Printf("  %6.0fs  tasks %s  server RSS peak %.1f MiB  burst jobs %.1f ms\n",
					time.Since(start).Seconds(), progress(out, jobID), mib(rss), ms(d))
			}
		}
	}()

	c := s.cmd("map", "--quiet", "-j", strconv.Itoa(workers), "--", "true", "::::", file)
	c.Stdout = io.Discard
	stderr, err := c.StderrPipe()
	check(err)
	check(c.Start())
	var errTail []string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		if jobID == 0 {
			if _, err := fmt.Sscanf(line, "burst: job %d", &jobID); err == nil {
				res.accepted = time.Since(start)
				close(accepted)
				continue
			}
		}
		if errTail = append(errTail, line); len(errTail) > 20 {
			errTail = errTail[1:]
		}
	}
	err = c.Wait()
	res.wall = time.Since(start)
	stop()
	wg.Wait()
	if err != nil {
		fail("%s map: %v\n%s", s.label, err, strings.Join(errTail, "\n"))
	}
	if jobID == 0 {
		fail("%s map: no `burst: job N` line on stderr", s.label)
	}
	res.job = jobID
	res.hwm = burstbin.Status(srv, "VmHWM")
	for _, pid := range agents {
		res.agentHWM += burstbin.Status(pid, "VmHWM")
	}
	res.recorded = recorded(s, jobID, n)
	return res
}

// progress is the TASKS column (done/total) of job id in `burst jobs`'s
// table.
func progress(table []byte, id int64) string {
	sc := bufio.NewScanner(bytes.NewReader(table))
	var col = -1
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if col < 0 {
			for i, h := range f {
				if h == "TASKS" {
					col = i
				}
			}
			continue
		}
		if len(f) > col && f[0] == strconv.FormatInt(id, 10) {
			return f[col]
		}
	}
	return "?"
}

// recorded checks through the CLI that the server holds every task of job
// id as succeeded.
func recorded(s *side, id int64, n int) string {
	out, err := s.cmd("jobs", "-o", "json", "--limit", "5").Output()
	if err != nil {
		return fmt.Sprintf("`burst jobs -o json` failed: %v", err)
	}
	var jobs []burstapi.Job
	if err := json.Unmarshal(out, &jobs); err != nil {
		return fmt.Sprintf("`burst jobs -o json`: %v", err)
	}
	for _, j := range jobs {
		if j.ID == id {
			msg := fmt.Sprintf("job %d %s, %d of %d tasks succeeded (`burst jobs -o json`)", id, j.State, j.Tasks.Succeeded, j.Tasks.Total)
			if j.Tasks.Succeeded != n {
				msg += fmt.Sprintf(": WRONG, %d expected", n)
			}
			return msg
		}
	}
	return fmt.Sprintf("job %d not in `burst jobs -o json`", id)
}

func mib(b int64) float64        { return float64(b) / (1 << 20) }
func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func run(c *exec.Cmd) {
	if out, err := c.CombinedOutput(); err != nil {
		fail("%s: %v\n%s", c.Args[0], err, tail(out))
	}
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

// fail prints the error, stops the servers and exits 1. The deferred
// cleanup does not run on os.Exit, so it is called here.
func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "map: "+format+"\n", a...)
	scratch.Close()
	os.Exit(1)
}

// scratch holds the benchmark's files and servers, for fail to clean up.
var scratch *burstbin.Scratch
