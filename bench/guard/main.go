// Command guard measures how fast a budget guardrail acts, from outside
// the server, on the benchmark's own clock: from the instant a project's
// spending crosses its budget to the instant the benchmark sees the
// guardrail's action (its event, printed by a real `burst events -f`) and
// sees every machine of the project's cluster stopped (the provider has
// ended it: its state, polled every -poll through the API). A real server,
// real agents of the local provider and a real task on the machine.
//
// Each round creates a project with a budget, a one-machine cluster whose
// type is priced (by a prices.yaml in a fresh BURST_HOME) so that the
// budget is spent -after after the machine starts, and submits `sleep
// 600` to it. The server's own timestamps are not used: the crossing
// instant is known from outside only within a window. The machine cannot
// start before the submission, so the crossing is no earlier than
// submission + after; and it is metered no later than the moment the
// benchmark first sees the task running, so the crossing is no later than
// that + after. Each latency is printed as the range these two give
// (lowest-highest); the goal is judged on the highest, the upper bound.
//
// Usage: go run ./bench/guard [-burst bin/burst] [-n 5] [-after 3s] [-poll 10ms]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/bench/internal/stat"
	"github.com/burst-sh/burst/client"
)

var (
	tmpDir string
	home   string
	srv    *exec.Cmd
)

// cleanup stops the server (SIGINT, then waits), then the agents of its
// machines, each by its pid, and removes the files.
func cleanup() {
	if srv != nil && srv.Process != nil {
		srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
		}
		srv = nil
	}
	if home != "" {
		for _, pid := range burstbin.AgentPIDs(home) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
}

// span is a latency known within a window: [lo, hi].
type span struct{ lo, hi time.Duration }

func (s span) String() string {
	return fmt.Sprintf("%s-%s", s.lo.Round(time.Millisecond), s.hi.Round(time.Millisecond))
}

func main() {
	bin := flag.String("burst", "", "burst binary (default: build one from ./cmd/burst)")
	n := flag.Int("n", 5, "rounds")
	after := flag.Duration("after", 3*time.Second, "how long after the machine starts the budget is spent")
	poll := flag.Duration("poll", 10*time.Millisecond, "how often the benchmark looks at the job's and the machine's state")
	flag.Parse()
	if *n < 1 || *after <= 0 || *poll <= 0 {
		fail("-n must be at least 1, -after and -poll more than 0")
	}
	tmp, err := os.MkdirTemp("", "burst-guard-")
	check(err)
	tmpDir = tmp
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cleanup()
		os.Exit(130)
	}()
	defer cleanup()
	*bin, err = burstbin.Binary(*bin, tmp)
	check(err)
	const price = 360.0 // $/h: 10 cents a second
	budget := price / 3600 * after.Seconds()
	home = filepath.Join(tmp, "home")
	check(os.MkdirAll(home, 0o700))
	check(os.WriteFile(filepath.Join(home, "prices.yaml"), []byte(fmt.Sprintf("types:\n  t2.micro: {on_demand: %g}\n", price)), 0o600))
	env := burstbin.Env(home)
	srv = exec.Command(*bin, "server")
	srv.Env = env
	check(srv.Start())
	ctx := context.Background()
	var cl *client.Client
	for i := 0; ; i++ {
		tok, err := os.ReadFile(filepath.Join(home, "token"))
		if err == nil {
			cl, _ = client.New("unix://"+filepath.Join(home, "burst.sock"), strings.TrimSpace(string(tok)))
			if _, err = cl.Health(ctx); err == nil {
				break
			}
		}
		if i > 200 {
			fail("server did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("guardrail latency, seen from outside the server: budget $%.2f, machine at $%.0f/h (spent %s after it starts), %d rounds\n", budget, price, *after, *n)
	fmt.Printf("the crossing lies between submission + %s and (task first seen running) + %s; each figure is lowest-highest\n\n", *after, *after)
	fmt.Printf("%-6s %-10s %-22s %-22s %s\n", "round", "up", "guard event seen", "machine seen stopped", "overspend")
	var stopHi, detectHi []time.Duration
	for r := 1; r <= *n; r++ {
		name := fmt.Sprintf("p%d", r)
		_, err := cl.CreateProject(ctx, &burst.ProjectSpec{Name: name, BudgetUSD: &budget})
		check(err)
		_, err = cl.CreateCluster(ctx, &burst.ClusterSpec{Name: "c" + name, Type: "t2.micro", Project: name, Max: 1, IdleStopS: 1})
		check(err)
		seen := follow(*bin, env, name)

		submitted := time.Now()
		j, err := cl.Submit(ctx, &burst.JobSpec{Argv: []string{"sleep", "600"}, Project: name, Cluster: "c" + name})
		check(err)
		deadline := submitted.Add(2*time.Minute + *after)
		var up time.Time
		for up.IsZero() {
			jj, err := cl.Job(ctx, j.ID)
			check(err)
			switch {
			case jj.State == burst.Running:
				up = time.Now()
			case jj.State.Terminal():
				fail("round %d: job %d ended %s before it was seen running: %s", r, j.ID, jj.State, jj.Reason)
			case time.Now().After(deadline):
				fail("round %d: job %d not running after 2 minutes", r, j.ID)
			}
			time.Sleep(*poll)
		}
		var stopped time.Time
		var m burst.Machine
		for stopped.IsZero() {
			ms, err := cl.MachinesIn(ctx, "c"+name)
			check(err)
			if len(ms) == 1 && ms[0].State == burst.MachineStopped {
				stopped, m = time.Now(), ms[0]
			} else if time.Now().After(deadline) {
				fail("round %d: machine did not stop: %+v", r, ms)
			}
			time.Sleep(*poll)
		}
		var detected time.Time
		select {
		case detected = <-seen.exhausted:
		case <-time.After(30 * time.Second):
			fail("round %d: `burst events -f` printed no guardrail.exhausted within 30 s of the machine stopping", r)
		}
		seen.stop()
		det, stp := window(submitted, up, *after, detected), window(submitted, up, *after, stopped)
		detectHi, stopHi = append(detectHi, det.hi), append(stopHi, stp.hi)
		fmt.Printf("%-6d %-10s %-22s %-22s $%.4f\n", r, up.Sub(submitted).Round(time.Millisecond), det, stp, m.CostUSD-budget)
	}
	fmt.Printf("\ncrossing -> guard event seen (upper bound): median %s, worst %s\n",
		stat.Median(detectHi).Round(time.Millisecond), stat.Max(detectHi).Round(time.Millisecond))
	med := stat.Median(stopHi)
	verdict := "met"
	if stat.Max(stopHi) >= time.Second {
		verdict = "NOT met"
	}
	fmt.Printf("crossing -> machine seen stopped (upper bound): median %s, worst %s (goal: under 1 s at worst: %s)\n",
		med.Round(time.Millisecond), stat.Max(stopHi).Round(time.Millisecond), verdict)
	fmt.Printf("(\"up\" is submission -> task first seen running; the state is polled every %s, the event followed by `burst events -f --project P -o json`)\n", *poll)
	fmt.Printf("for comparison, AWS Budgets evaluates spend about every 8-12 h: %.0fx slower than this median\n",
		(8*time.Hour).Seconds()/med.Seconds())
}

// window is how long after the crossing t is, seen from outside: the
// crossing is no earlier than submitted + after (the machine cannot start
// before the submission) and no later than up + after (the machine is
// metered before its task is seen running), so t is at most t-(submitted
// + after) and at least t-(up + after) after it.
func window(submitted, up time.Time, after time.Duration, t time.Time) span {
	return span{lo: t.Sub(up.Add(after)), hi: t.Sub(submitted.Add(after))}
}

// follower is a running `burst events -f` for one project.
type follower struct {
	exhausted chan time.Time // when its guardrail.exhausted line was read
	stop      func()
}

// follow starts `burst events -f --project project -o json` and returns
// once it has printed its first line (the project's creation), so that it
// is following before the round's clock starts.
func follow(bin string, env []string, project string) *follower {
	ctx, cancel := context.WithCancel(context.Background())
	c := exec.CommandContext(ctx, bin, "events", "-f", "--project", project, "-o", "json")
	c.Env = env
	out, err := c.StdoutPipe()
	check(err)
	check(c.Start())
	f := &follower{exhausted: make(chan time.Time, 1)}
	first := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		once := false
		for sc.Scan() {
			at := time.Now()
			if !once {
				once = true
				close(first)
			}
			var e burst.Event
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Kind == "guardrail.exhausted" {
				select {
				case f.exhausted <- at:
				default:
				}
			}
		}
	}()
	f.stop = func() {
		cancel()
		c.Wait()
		<-done
	}
	select {
	case <-first:
	case <-time.After(30 * time.Second):
		f.stop()
		fail("`burst events -f --project %s` printed nothing in 30 s (the project's creation was expected)", project)
	}
	return f
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

// fail prints the error, stops the server and its agents and exits 1
// (deferred calls do not run on os.Exit).
func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "guard: "+format+"\n", a...)
	cleanup()
	os.Exit(1)
}
