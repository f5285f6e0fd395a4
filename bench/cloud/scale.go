package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/burst-sh/burst/bench/internal/stat"
	"github.com/burst-sh/burst/internal/ec2standin"
)

// At scale (-launches N): N machines at once. A map of N tasks of 2 CPUs
// on an aws cluster of m5.large (2 vCPUs) with --max N makes the
// autoscaler launch N instances; the stand-in runs them nowhere (--hosts
// none: the API alone, pending then running, never joining), with quotas
// that fit. Once half are launched, the next -throttle RunInstances calls
// are answered RequestLimitExceeded (the stand-in's throttling control).
// Printed: the time to N launches and their rate, the calls EC2 received
// (throttled ones included), and how long `burst jobs` took meanwhile:
// the server answers while it launches, throttled or not.
func atScale(bin, standinBin string, n, throttle int) {
	ctx := context.Background()
	dir := filepath.Join(scratch.Dir, "scale")
	check(os.MkdirAll(dir, 0o755))
	cfg := filepath.Join(dir, "standin-config.json")
	q := float64(4 * n)
	check(os.WriteFile(cfg, fmt.Appendf(nil, `{"quotas":{"L-1216C47A":%g,"L-34B43A08":%g}}`, q, q), 0o600))
	sd := startStandin(standinBin, dir, "--hosts", "none", "--config", cfg)
	b := startServer(bin, scratch.Home("scale-home"), sd)
	b.must("cluster", "create", "many", "--provider", "aws", "--type", "m5.large", "--min", "0", "--max", strconv.Itoa(n),
		"--image", image, "--idle-stop", "30m")
	args := []string{"map", "-d", "--quiet", "--on", "many", "--cpus", "2", "--", "sleep", "600", ":::"}
	for i := range n {
		args = append(args, strconv.Itoa(i))
	}
	fmt.Printf("%d machines at once: the aws provider against the EC2 stand-in (a test double; instances run nowhere)\n", n)
	fmt.Printf("  burst map -d --on many --cpus 2 -- sleep 600 ::: 0..%d  (cluster many: m5.large, --max %d)\n", n-1, n)
	fmt.Printf("  once %d are launched, the next %d RunInstances are answered RequestLimitExceeded\n\n", n/2, throttle)
	t0 := time.Now()
	b.must(args...)
	submitted := time.Since(t0)

	var jobs []time.Duration // `burst jobs` while launching
	throttled, half := false, time.Duration(0)
	var last time.Time
	ok := 0
	for deadline := t0.Add(10 * time.Minute); ok < n; {
		if time.Now().After(deadline) {
			fail("%d of %d launches after 10 minutes (burst machine list: %d machines)", ok, n, len(b.machines()))
		}
		s := time.Now()
		b.must("jobs")
		jobs = append(jobs, time.Since(s))
		calls, err := sd.Control.Log(ctx)
		check(err)
		ok = 0
		for _, c := range calls {
			if c.Action == "RunInstances" && c.Code == "" && !c.At.Before(t0) {
				ok++
				last = c.At
			}
		}
		if !throttled && ok >= n/2 && throttle > 0 {
			check(sd.Control.Fail(ctx, ec2standin.FailRule{Action: "RunInstances", Code: "RequestLimitExceeded", Count: throttle}))
			throttled, half = true, time.Since(t0)
		}
		time.Sleep(200 * time.Millisecond)
	}
	calls, err := sd.Control.Log(ctx)
	check(err)
	refused := 0
	var first, lastRefused time.Time
	for _, c := range calls {
		if c.Action == "RunInstances" && c.Code != "" && !c.At.Before(t0) {
			refused++
			if first.IsZero() {
				first = c.At
			}
			lastRefused = c.At
		}
	}
	total := last.Sub(t0)
	fmt.Printf("  burst map (%d tasks) submitted in %s\n", n, ms(submitted))
	fmt.Printf("  %d launches (RunInstances answered) %s after the submit: %.0f launches/s; half of them after %s\n",
		n, ms(total), float64(n)/total.Seconds(), ms(half))
	if refused > 0 {
		fmt.Printf("  RunInstances calls throttled (RequestLimitExceeded): %d, from %s to %s after the submit; the last launch %s after the last of them\n",
			refused, ms(first.Sub(t0)), ms(lastRefused.Sub(t0)), ms(last.Sub(lastRefused)))
	} else {
		fmt.Printf("  no RunInstances call was throttled (all were launched before the throttling was set)\n")
	}
	fmt.Printf("  burst jobs while launching: %d calls, median %s, highest %s\n", len(jobs), ms(stat.Median(jobs)), ms(stat.Max(jobs)))
	events := 0
	fmt.Printf("  the failed starts:\n")
	for _, e := range b.events() {
		if e.Kind == "machine.start" && e.Result == "failed" {
			events++
			fmt.Printf("    %s after the submit: %s\n", ms(e.At.Sub(t0)), e.Message)
		}
	}
	fmt.Printf("  machine.start events that failed (each a throttled launch): %d\n", events)
}
