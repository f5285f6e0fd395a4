// Command cloud measures the time burst adds to a job's start on a new
// cloud machine, and to a spot interruption, with the aws provider talking
// to the EC2 stand-in (a test double: cmd/ec2-standin, docs/ec2-standin.md)
// whose instances are namespace hosts of scripts/hosts.sh. Root is needed.
//
// It runs a stand-in (instances on hosts 101 and up), a burst server with
// TLS on the hosts' bridge, an aws cluster (--spot --min 0 --max 1) and a
// local cluster (--min 0 --max 1: the floor of burst's own dispatch). Each
// of -rounds rounds, interleaved (the order alternates):
//
//   - local: a job submitted to the empty local cluster, submit → running;
//   - cloud start: the same job submitted to the empty aws cluster, the time
//     from submit to running broken into phases from the server's events,
//     the stand-in's timed call log (GET /standin/log) and the instance's
//     log (watched by this program): the server decides and RunInstances
//     reaches the stand-in; the stand-in "boots" (its host is made, then
//     the set -boot-delay: the stand-in's part, subtracted); the user-data
//     fetches burst (GET /v1/dist/burst), checks and starts the agent; the
//     agent joins; it registers; its task is leased and running;
//   - interruption: a spot notice (the stand-in's control API) on that
//     instance: the agent reads it from IMDS (its poll interval is a phase
//     of its own), the server requeues the machine's task as preempted, and
//     the replacement's RunInstances reaches the stand-in. The job then
//     ends on the replacement, which stops idle before the next round.
//
// It prints every round's phases, their medians, the total burst adds to
// a start against the goal (≤ 1 s) and its ratio to the local floor, and
// the interruption's total against its goal (≤ 2 s).
//
// -launches N instead launches N machines at once, with a burst of
// throttling midway (scale.go: at 1,000 machines). With BURST_CPUPROFILE
// set, the server writes its CPU profile there when it stops.
//
// Usage (as root, from the module's root):
//
//	go run ./bench/cloud [-burst bin/burst] [-rounds 5] [-boot-delay 2s]
//	go run ./bench/cloud [-burst bin/burst] -launches 1000 [-throttle 6]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	burstapi "github.com/burst-sh/burst"
	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/bench/internal/stat"
	"github.com/burst-sh/burst/internal/agent"
	"github.com/burst-sh/burst/internal/ec2standin"
)

const (
	bridge = "10.251.0.1" // the hosts' bridge, root side: the server listens there
	// hostsLock is held shared while the hosts are used (scripts/hosts.sh).
	hostsLock = "/run/lock/burst-hosts.lock"
	image     = "ami-0a000000000000001" // the stand-in's amd64 image
	// job: its first attempt runs until stopped, a later one ends at once.
	job = `if [ "$BURST_ATTEMPT" = 1 ]; then exec sleep 600; fi`
)

var (
	scratch *burstbin.Scratch
	stopAll []func() // run at exit, last first
)

func main() {
	bin := flag.String("burst", "", "burst binary (default: build one from ./cmd/burst)")
	rounds := flag.Int("rounds", 5, "rounds; each runs the local start, the cloud start and the interruption")
	boot := flag.Duration("boot-delay", 2*time.Second, "the stand-in's simulated boot, subtracted from what burst adds")
	notice := flag.Duration("notice", 15*time.Second, "how long before its end an interrupted instance gets its notice")
	launches := flag.Int("launches", 0, "instead: launch this many machines at once (instances that run nowhere), with a burst of throttling midway")
	throttle := flag.Int("throttle", 30, "with -launches: RunInstances calls answered RequestLimitExceeded once half are launched")
	flag.Parse()
	if *rounds < 1 || *boot < 0 || *notice < time.Second {
		fail("-rounds must be at least 1, -boot-delay at least 0, -notice at least 1s")
	}
	if os.Getuid() != 0 {
		fail("bench/cloud needs root (the stand-in's instances are network namespaces): run it with sudo")
	}
	sc, err := burstbin.NewScratch("burst-bench-cloud-")
	check(err)
	scratch = sc
	defer cleanup()
	bin0, err := burstbin.Binary(*bin, sc.Dir)
	check(err)
	standinBin := filepath.Join(sc.Dir, "ec2-standin")
	build := exec.Command("go", "build", "-o", standinBin, "./cmd/ec2-standin")
	if out, err := build.CombinedOutput(); err != nil {
		fail("go build ./cmd/ec2-standin: %v\n%s", err, out)
	}
	hostsUp()
	if *launches > 0 {
		atScale(bin0, standinBin, *launches, *throttle)
		return
	}
	sd := startStandin(standinBin, sc.Dir)
	ctx := context.Background()
	check(sd.Control.SetBootDelay(ctx, *boot))
	b := startServer(bin0, sc.Home("home"), sd)
	b.must("cluster", "create", "cloud", "--provider", "aws", "--type", "m5.large", "--spot", "--min", "0", "--max", "1",
		"--image", image, "--idle-stop", "1s")
	b.must("cluster", "create", "floor", "--type", "m5.large", "--min", "0", "--max", "1", "--idle-stop", "1s")
	fi, err := os.Stat(bin0)
	check(err)

	fmt.Printf("burst on a new cloud machine: the aws provider against the EC2 stand-in (a test double), %d rounds\n", *rounds)
	fmt.Printf("  stand-in boot delay %s (subtracted), spot notice %s ahead, burst binary %.1f MiB (what the user-data fetches)\n",
		*boot, *notice, float64(fi.Size())/(1<<20))
	fmt.Printf("  job: sh -c '%s'\n\n", job)

	var local []time.Duration
	starts := map[string][]time.Duration{}
	stops := map[string][]time.Duration{}
	var adds, inter []time.Duration
	for r := range *rounds {
		fmt.Printf("round %d of %d\n", r+1, *rounds)
		var l time.Duration
		if r%2 == 0 {
			l = b.localStart()
		}
		st, in := b.cloudRound(sd, *notice)
		if r%2 == 1 {
			l = b.localStart()
		}
		local = append(local, l)
		fmt.Printf("  local cluster: submit → running %s\n", ms(l))
		fmt.Printf("  cloud start:\n")
		for _, p := range st {
			fmt.Printf("    %-62s %s\n", p.name, ms(p.d))
			starts[p.name] = append(starts[p.name], p.d)
		}
		adds = append(adds, added(st))
		fmt.Printf("    %-62s %s\n", "burst adds (all but the stand-in's boot)", ms(added(st)))
		fmt.Printf("  interruption:\n")
		var tot time.Duration
		for _, p := range in {
			fmt.Printf("    %-62s %s\n", p.name, ms(p.d))
			stops[p.name] = append(stops[p.name], p.d)
			tot += p.d
		}
		inter = append(inter, tot)
		fmt.Printf("    %-62s %s\n\n", "notice → replacement requested", ms(tot))
	}

	fmt.Printf("medians over %d rounds\n", *rounds)
	fmt.Printf("  cloud start, submit → running, by phase:\n")
	for _, name := range startPhases {
		fmt.Printf("    %-62s %s\n", name, ms(stat.Median(starts[name])))
	}
	ma, ml := stat.Median(adds), stat.Median(local)
	fmt.Printf("  burst adds to a start on a new cloud machine: %s (lowest %s, highest %s)   goal <= 1 s: %s\n",
		ms(ma), ms(stat.Pct(adds, 0)), ms(stat.Max(adds)), met(ma <= time.Second))
	fmt.Printf("  the local floor (same job, new local machine): %s; the cloud start adds %.1fx it\n", ms(ml), ma.Seconds()/ml.Seconds())
	fmt.Printf("  interruption, by phase:\n")
	for _, name := range stopPhases {
		fmt.Printf("    %-62s %s\n", name, ms(stat.Median(stops[name])))
	}
	mi := stat.Median(inter)
	fmt.Printf("  notice → every task requeued and the replacement requested: %s (lowest %s, highest %s)   goal <= 2 s: %s\n",
		ms(mi), ms(stat.Pct(inter, 0)), ms(stat.Max(inter)), met(mi <= 2*time.Second))
}

// phase is one step of a start or an interruption and how long it took.
type phase struct {
	name string
	d    time.Duration
}

const standinBoot = "stand-in boot: set delay, host made (the stand-in's, not burst's)"

var startPhases = []string{
	"submit → server decides, RunInstances received",
	standinBoot,
	"user-data: fetch burst over TLS, check sha256, start the agent",
	"agent starts and joins (one-time token)",
	"agent registers",
	"task leased → running",
}

var stopPhases = []string{
	"notice posted → agent reads it from IMDS (it polls every " + agent.SpotPoll.String() + ")",
	"agent tells the server → tasks requeued as preempted",
	"requeued → replacement RunInstances received",
}

// added is what burst adds to a start: all of it but the stand-in's boot.
func added(ps []phase) time.Duration {
	var d time.Duration
	for _, p := range ps {
		if p.name != standinBoot {
			d += p.d
		}
	}
	return d
}

// startStandin starts the stand-in (bin) with its files under dir.
func startStandin(bin, dir string, args ...string) *ec2standin.Process {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sd, err := ec2standin.StartProcess(ctx, bin, dir, hostsScript(), args...)
	check(err)
	stopAll = append(stopAll, func() {
		if err := sd.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench/cloud:", err)
		}
	})
	return sd
}

// burst is the server under test and its CLI.
type burst struct {
	bin, home string
	env       []string
}

func startServer(bin, home string, sd *ec2standin.Process) *burst {
	b := &burst{bin: bin, home: home, env: burstbin.Env(home)}
	b.env = append(b.env, sd.Env()...) // configured as for AWS: only the endpoint differs
	if p := os.Getenv("BURST_CPUPROFILE"); p != "" {
		b.env = append(b.env, "BURST_CPUPROFILE="+p) // the server's CPU profile, written when it stops
	}
	c := b.cmd("server", "--listen", bridge+":0")
	out, err := os.Create(filepath.Join(filepath.Dir(home), "server.out"))
	check(err)
	c.Stdout, c.Stderr = out, out
	check(c.Start())
	stopAll = append(stopAll, func() { b.cmd("server", "stop").Run(); c.Wait() })
	waitFor("the server to listen on "+bridge, 30*time.Second, func() bool {
		var in struct {
			Addr string `json:"addr"`
		}
		f, err := os.ReadFile(filepath.Join(home, "server.json"))
		return err == nil && json.Unmarshal(f, &in) == nil && strings.Contains(in.Addr, "//"+bridge+":")
	})
	return b
}

func (b *burst) cmd(args ...string) *exec.Cmd {
	c := exec.Command(b.bin, args...)
	c.Env = b.env
	return c
}

// must runs a command and returns its standard output; it fails the bench
// when the command fails.
func (b *burst) must(args ...string) string {
	var stderr strings.Builder
	c := b.cmd(args...)
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		fail("burst %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// submit submits the job to cluster and returns its id.
func (b *burst) submit(cluster string) int64 {
	out := b.must("run", "-d", "--on", cluster, "--", "sh", "-c", job)
	id, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		fail("burst run -d: not a job id: %q", out)
	}
	return id
}

// task is the job's task as burst show tells it.
func (b *burst) task(id int64) burstapi.Task {
	var j struct {
		State    string          `json:"state"`
		TaskList []burstapi.Task `json:"task_list"`
	}
	out := b.must("show", "-o", "json", "--tasks", "1", strconv.FormatInt(id, 10))
	if err := json.Unmarshal([]byte(out), &j); err != nil || len(j.TaskList) != 1 {
		fail("burst show -o json %d: %v\n%s", id, err, out)
	}
	return j.TaskList[0]
}

// waitTask waits until the job's task satisfies ok, and returns it.
func (b *burst) waitTask(id int64, what string, ok func(burstapi.Task) bool) burstapi.Task {
	var t burstapi.Task
	waitFor(fmt.Sprintf("job %d's task %s", id, what), 120*time.Second, func() bool {
		t = b.task(id)
		return ok(t)
	})
	return t
}

func (b *burst) machines() []burstapi.Machine {
	var ms []burstapi.Machine
	out := b.must("machine", "list", "-o", "json")
	check(json.Unmarshal([]byte(out), &ms))
	return ms
}

func (b *burst) events() []burstapi.Event {
	var evs []burstapi.Event
	out := b.must("events", "-o", "json", "--limit", "5000")
	check(json.Unmarshal([]byte(out), &evs))
	return evs
}

// event is the first event of kind on target at or after since.
func (b *burst) event(kind, target string, since time.Time) time.Time {
	for _, e := range b.events() {
		if e.Kind == kind && e.Target == target && !e.At.Before(since) && e.Result == "ok" {
			return e.At
		}
	}
	fail("no %s event of %s since %s", kind, target, since.Format(time.RFC3339Nano))
	return time.Time{}
}

// idle waits until no machine of cluster is pending, running or stopping:
// the next job starts a new one.
func (b *burst) idle(cluster string) {
	waitFor("cluster "+cluster+" to have no machine", 120*time.Second, func() bool {
		for _, m := range b.machines() {
			if m.Cluster == cluster && (m.State == "pending" || m.State == "running" || m.State == "stopping") {
				return false
			}
		}
		return true
	})
}

// newMachine checks that machine id registered after t0: the job started
// it, rather than finding it running.
func (b *burst) newMachine(id string, t0 time.Time) {
	for _, m := range b.machines() {
		if m.ID == id && m.StartedAt != nil && m.StartedAt.After(t0) {
			return
		}
	}
	fail("machine %s was not started for the job submitted at %s: %+v", id, t0.Format(time.RFC3339Nano), b.machines())
}

// localStart is submit → running of the job on the empty local cluster.
func (b *burst) localStart() time.Duration {
	b.idle("floor")
	t0 := time.Now()
	id := b.submit("floor")
	t := b.waitTask(id, "to run", func(t burstapi.Task) bool { return t.StartedAt != nil })
	b.must("cancel", strconv.FormatInt(id, 10))
	b.newMachine(t.Machine, t0)
	return t.StartedAt.Sub(t0)
}

// cloudRound starts the job on a new instance, interrupts it, and waits
// for the job to end on the replacement; it returns the two breakdowns.
func (b *burst) cloudRound(sd *ec2standin.Process, notice time.Duration) (start, stop []phase) {
	ctx := context.Background()
	b.idle("cloud")
	before := map[string]bool{}
	ins, err := sd.Control.Instances(ctx)
	check(err)
	for _, in := range ins {
		before[in.ID] = true
	}
	watch := make(chan watched, 1)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	go watchAgentStart(wctx, sd.Control, before, watch)

	t0 := time.Now()
	id := b.submit("cloud")
	t := b.waitTask(id, "to run", func(t burstapi.Task) bool { return t.StartedAt != nil && t.Attempt == 1 })
	w := <-watch
	if w.err != nil {
		fail("%v", w.err)
	}
	in, err := sd.Control.Instance(ctx, w.id)
	check(err)
	machine := in.Tags["burst:machine"]
	if machine != t.Machine {
		fail("the task runs on %q, the new instance %s is machine %q", t.Machine, in.ID, machine)
	}
	ri := firstCall(sd.Control, "RunInstances", t0)
	udStart := logTime(in.Log, "user-data starts at ")
	join := b.event("machine.join", machine, t0)
	var registered time.Time
	for _, m := range b.machines() {
		if m.ID == machine && m.StartedAt != nil {
			registered = *m.StartedAt
		}
	}
	start = []phase{
		{startPhases[0], ri.Sub(t0)},
		{startPhases[1], udStart.Sub(in.Launched)},
		{startPhases[2], w.agent.Sub(udStart)},
		{startPhases[3], join.Sub(w.agent)},
		{startPhases[4], registered.Sub(join)},
		{startPhases[5], t.StartedAt.Sub(registered)},
	}
	// The stand-in took the RunInstances at in.Launched: a check that the
	// call log and the instance agree.
	if d := in.Launched.Sub(ri); d < 0 || d > time.Second {
		fail("RunInstances received at %s, the instance launched at %s", ri, in.Launched)
	}

	// The notice comes at any point of the agent's poll, as EC2's does.
	time.Sleep(rand.N(2 * agent.SpotPoll))
	t1 := time.Now()
	_, err = sd.Control.Interrupt(ctx, in.ID, notice)
	check(err)
	t = b.waitTask(id, "to be requeued", func(t burstapi.Task) bool { return t.Attempt >= 2 || t.State != burstapi.Running })
	if t.Attempt < 2 && t.State != burstapi.Queued {
		fail("job %d: the spot interruption left its task %s (%s), not requeued as preempted", id, t.State, t.Reason)
	}
	var repl time.Time
	waitFor("the replacement's RunInstances", 60*time.Second, func() bool {
		repl = firstCallOr(sd.Control, "RunInstances", t1)
		return !repl.IsZero()
	})
	read := logTime(in.Log, "first read from IMDS at ")
	requeued := b.event("machine.interrupted", machine, t1)
	stop = []phase{
		{stopPhases[0], read.Sub(t1)},
		{stopPhases[1], requeued.Sub(read)},
		{stopPhases[2], repl.Sub(requeued)},
	}
	b.must("wait", strconv.FormatInt(id, 10))
	return start, stop
}

// watched is when the user-data of the first new instance said it
// started the agent.
type watched struct {
	id    string
	agent time.Time
	err   error
}

// watchAgentStart waits for an instance not in before, then for its log to
// say the user-data started the agent (polled every 5 ms: the time is
// known to that much), and sends what it saw.
func watchAgentStart(ctx context.Context, ctl *ec2standin.Control, before map[string]bool, out chan<- watched) {
	var id, log string
	for id == "" {
		ins, err := ctl.Instances(ctx)
		if err != nil {
			out <- watched{err: err}
			return
		}
		for _, in := range ins {
			if !before[in.ID] {
				id, log = in.ID, in.Log
			}
		}
		if id == "" && sleep(ctx, 10*time.Millisecond) != nil {
			out <- watched{err: fmt.Errorf("no instance launched: %v", ctx.Err())}
			return
		}
	}
	for {
		b, _ := os.ReadFile(log)
		if strings.Contains(string(b), "burst user-data: burst agent started") {
			out <- watched{id: id, agent: time.Now()}
			return
		}
		if sleep(ctx, 5*time.Millisecond) != nil {
			out <- watched{err: fmt.Errorf("instance %s's user-data did not start the agent:\n%s", id, b)}
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// firstCall is when the stand-in received the first successful call of
// action at or after since.
func firstCall(ctl *ec2standin.Control, action string, since time.Time) time.Time {
	at := firstCallOr(ctl, action, since)
	if at.IsZero() {
		fail("the stand-in received no %s since %s", action, since.Format(time.RFC3339Nano))
	}
	return at
}

func firstCallOr(ctl *ec2standin.Control, action string, since time.Time) time.Time {
	calls, err := ctl.Log(context.Background())
	check(err)
	for _, c := range calls {
		if c.Action == action && c.Code == "" && !c.At.Before(since) {
			return c.At
		}
	}
	return time.Time{}
}

// logTime is the time a line of the instance's log gives after marker
// (the stand-in's lines of when its user-data started, and when its
// interruption notice was first read from IMDS).
func logTime(log, marker string) time.Time {
	var at time.Time
	waitFor(fmt.Sprintf("%q in %s", marker, log), 30*time.Second, func() bool {
		f, err := os.Open(log)
		if err != nil {
			return false
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if _, s, ok := strings.Cut(sc.Text(), marker); ok {
				t, err := time.Parse(ec2standin.LogTimeLayout, s)
				check(err)
				at = t
				return true
			}
		}
		return false
	})
	return at
}

// hostsScript is scripts/hosts.sh of this module.
func hostsScript() string {
	p, err := filepath.Abs(filepath.Join("scripts", "hosts.sh"))
	check(err)
	if _, err := os.Stat(p); err != nil {
		fail("run the bench from burst's module root (scripts/hosts.sh): %v", err)
	}
	return p
}

// hostsUp makes the hosts' bridge (and host 1, which the e2e suite shares)
// holding the hosts' lock shared, so that nobody removes them meanwhile.
// The stand-in makes its own hosts, from 101 up.
func hostsUp() {
	check(os.MkdirAll(filepath.Dir(hostsLock), 0o755))
	f, err := os.OpenFile(hostsLock, os.O_RDWR|os.O_CREATE, 0o600)
	check(err)
	check(syscall.Flock(int(f.Fd()), syscall.LOCK_SH))
	stopAll = append(stopAll, func() { f.Close() })
	if out, err := exec.Command(hostsScript(), "start", "1").CombinedOutput(); err != nil {
		fail("scripts/hosts.sh start 1: %v\n%s", err, out)
	}
}

func waitFor(what string, timeout time.Duration, ok func() bool) {
	for deadline := time.Now().Add(timeout); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			fail("timed out after %s waiting for %s", timeout, what)
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%7.0f ms", float64(d)/float64(time.Millisecond)) }

func met(ok bool) string {
	if ok {
		return "MET"
	}
	return "NOT MET"
}

func cleanup() {
	for i := len(stopAll) - 1; i >= 0; i-- {
		stopAll[i]()
	}
	stopAll = nil
	if scratch != nil {
		scratch.Close()
	}
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/cloud: "+format+"\n", args...)
	cleanup()
	os.Exit(1)
}
