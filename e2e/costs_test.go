package e2e

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// The suite's own cost, test by test: how long each test that made a
// harness ran, and how many burst commands it ran and their CPU (user +
// system, from the exit status). At its end the suite prints the longest
// tests and the totals, and writes them to the file BURST_TEST_COSTS names
// (the Makefile prints it after the suite), so that a slow run says where
// its minutes went.

// testCost is one test's cost.
type testCost struct {
	name   string
	wall   time.Duration
	cli    int           // burst commands run to their end
	cliCPU time.Duration // their CPU
}

var costs struct {
	sync.Mutex
	rows []testCost
}

// harnessCost is what a harness's test has cost so far.
type harnessCost struct {
	born   time.Time // when the test made its harness
	mu     sync.Mutex
	cli    int           // burst commands run to their end
	cliCPU time.Duration // their CPU
}

// noteCLI counts one burst command of h's test that used cpu.
func (h *harness) noteCLI(cpu time.Duration) {
	h.spent.mu.Lock()
	h.spent.cli++
	h.spent.cliCPU += cpu
	h.spent.mu.Unlock()
}

// noteCost records h's test's cost; called at its cleanup.
func (h *harness) noteCost() {
	c := h.spent
	c.mu.Lock()
	row := testCost{name: h.t.Name(), wall: time.Since(c.born), cli: c.cli, cliCPU: c.cliCPU}
	c.mu.Unlock()
	costs.Lock()
	costs.rows = append(costs.rows, row)
	costs.Unlock()
}

// printCosts prints the longest tests and the totals, and writes them to
// $BURST_TEST_COSTS.
func printCosts() {
	costs.Lock()
	rows := append([]testCost(nil), costs.rows...)
	costs.Unlock()
	if len(rows) == 0 {
		return
	}
	var b strings.Builder
	writeCosts(&b, rows, 25)
	fmt.Print(b.String())
	if path := os.Getenv("BURST_TEST_COSTS"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: writing the test costs:", err)
		}
	}
}

// writeCosts writes the n longest of rows, then the totals of all.
func writeCosts(w io.Writer, rows []testCost, n int) {
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].wall > rows[j].wall })
	var sum testCost
	for _, r := range rows {
		sum.wall += r.wall
		sum.cli += r.cli
		sum.cliCPU += r.cliCPU
	}
	width := len("all")
	for _, r := range rows[:min(n, len(rows))] {
		width = max(width, len(r.name))
	}
	fmt.Fprintf(w, "the %d longest of the %d tests with a harness:\n", min(n, len(rows)), len(rows))
	fmt.Fprintf(w, "  %-*s  %9s  %14s  %9s\n", width, "test", "wall", "burst commands", "their CPU")
	line := func(name string, r testCost) {
		fmt.Fprintf(w, "  %-*s  %8.1fs  %14d  %8.1fs\n", width, name, r.wall.Seconds(), r.cli, r.cliCPU.Seconds())
	}
	for _, r := range rows[:min(n, len(rows))] {
		line(r.name, r)
	}
	line("all", sum)
}
