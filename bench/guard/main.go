// Command guard measures how fast a budget guardrail acts: from the instant
// a project's spending crosses its budget to the instant every machine of
// its cluster is stopped (the provider has ended the machine and the meter
// stopped), with a real server, real agents of the local provider and a
// real task running on the machine.
//
// Each round creates a project with a budget, a one-machine cluster whose
// type is priced (by a prices.yaml in a fresh BURST_HOME) so that the
// budget is spent about -after seconds after the machine comes up, and runs
// `sleep 600` on it. The crossing instant is the machine's start (when its
// agent registered and the meter started) plus budget / price: nothing else
// is charged to the project. It prints the latency of each round, the
// median and the worst, and for comparison the refresh interval of the
// usual cloud budget alerts (AWS Budgets: about three times a day).
//
// Usage: go run ./bench/guard [-burst bin/burst] [-n 5] [-after 3s]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/bench/internal/burstbin"
	"github.com/burst-sh/burst/client"
)

func main() {
	bin := flag.String("burst", "", "burst binary (default: build one)")
	n := flag.Int("n", 5, "rounds")
	after := flag.Duration("after", 3*time.Second, "how long after the machine starts the budget is spent")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "burst-guard-")
	check(err)
	defer os.RemoveAll(tmp)
	*bin, err = burstbin.Binary(*bin, tmp)
	check(err)
	const price = 360.0 // $/h: 10 cents a second
	budget := price / 3600 * after.Seconds()
	home := filepath.Join(tmp, "home")
	check(os.MkdirAll(home, 0o700))
	check(os.WriteFile(filepath.Join(home, "prices.yaml"), []byte(fmt.Sprintf("types:\n  t2.micro: {on_demand: %g}\n", price)), 0o600))
	env := burstbin.Env(home)
	srv := exec.Command(*bin, "server")
	srv.Env = env
	check(srv.Start())
	defer func() {
		srv.Process.Signal(os.Interrupt)
		srv.Wait()
		exec.Command("pkill", "-f", "--", "--token-file "+filepath.Join(home, "token")).Run()
	}()
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
			check(fmt.Errorf("server did not come up: %v", err))
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("guardrail latency: budget $%.2f, machine at $%.0f/h (spent %s after it starts), %d rounds\n\n", budget, price, after, *n)
	fmt.Printf("%-6s %-14s %-14s %-14s\n", "round", "detect", "all stopped", "overspend")
	var lat []time.Duration
	for r := 1; r <= *n; r++ {
		name := fmt.Sprintf("p%d", r)
		_, err := cl.CreateProject(ctx, &burst.ProjectSpec{Name: name, BudgetUSD: &budget})
		check(err)
		_, err = cl.CreateCluster(ctx, &burst.ClusterSpec{Name: "c" + name, Type: "t2.micro", Project: name, Max: 1, IdleStopS: 1})
		check(err)
		_, err = cl.Submit(ctx, &burst.JobSpec{Argv: []string{"sleep", "600"}, Project: name, Cluster: "c" + name})
		check(err)
		var m burst.Machine
		deadline := time.Now().Add(2*time.Minute + *after)
		for {
			ms, err := cl.MachinesIn(ctx, "c"+name)
			check(err)
			if len(ms) == 1 && ms[0].State == burst.MachineStopped && ms[0].StartedAt != nil {
				m = ms[0]
				break
			}
			if time.Now().After(deadline) {
				check(fmt.Errorf("round %d: machine did not stop: %+v", r, ms))
			}
			time.Sleep(20 * time.Millisecond)
		}
		crossing := m.StartedAt.Add(time.Duration(budget / price * float64(time.Hour)))
		var detect time.Time
		evs, err := cl.Events(ctx, client.EventsQuery{Project: name})
		check(err)
		for _, e := range evs {
			if e.Kind == "guardrail.exhausted" {
				detect = e.At
			}
		}
		d := m.StoppedAt.Sub(crossing)
		lat = append(lat, d)
		fmt.Printf("%-6d %-14s %-14s $%.4f\n", r, detect.Sub(crossing).Round(time.Millisecond), d.Round(time.Millisecond), m.CostUSD-budget)
	}
	sort.Slice(lat, func(i, k int) bool { return lat[i] < lat[k] })
	fmt.Printf("\ncrossing → all machines stopped: median %s, worst %s (goal: under 1 s)\n",
		lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	fmt.Printf("for comparison, AWS Budgets evaluates spend about every 8–12 h: %.0f× slower than this median\n",
		(8*time.Hour).Seconds()/lat[len(lat)/2].Seconds())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "guard:", err)
		os.Exit(1)
	}
}
