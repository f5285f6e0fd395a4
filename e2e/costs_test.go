package e2e

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The suite's own cost, test by test: how long each test that made a
// harness ran, and how many burst commands it ran and their CPU (user +
// system, from the exit status). At its end the suite prints the longest
// tests and the totals, and writes them to the file BURST_TEST_COSTS names
// (the Makefile prints it after the suite), so that a slow run says where
// its minutes went; beside it, in that name with ".timeline" added, every
// test in the order it started, with when it started and ended: which ran
// beside which, and which ended last.

// testCost is one test's cost.
type testCost struct {
	name   string
	start  time.Time // when it made its harness
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
	row := testCost{name: h.t.Name(), start: c.born, wall: time.Since(c.born), cli: c.cli, cliCPU: c.cliCPU}
	c.mu.Unlock()
	costs.Lock()
	costs.rows = append(costs.rows, row)
	costs.Unlock()
}

// cpuTimes are the machine's CPU times in clock ticks, from /proc/stat's
// first line: all of them, and those spent idle (idle and iowait).
type cpuTimes struct{ total, idle int64 }

// readCPUTimes reads them; zero where /proc/stat cannot be read.
func readCPUTimes() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var c cpuTimes
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		if i >= 8 { // guest and guest_nice are inside user and nice already
			break
		}
		c.total += n
		if i == 3 || i == 4 {
			c.idle += n
		}
	}
	return c
}

// busyLine says how busy the machine's CPUs were between two readings.
func busyLine(a, b cpuTimes) string {
	total := b.total - a.total
	if total <= 0 {
		return ""
	}
	return fmt.Sprintf("the machine's %d CPUs were busy %.0f%% of the time the tests ran (/proc/stat; -test.parallel %s)\n",
		runtime.NumCPU(), 100*float64(total-(b.idle-a.idle))/float64(total), flag.Lookup("test.parallel").Value)
}

// printCosts prints the longest tests and the totals, and how busy the
// machine was between before and after, and writes them to
// $BURST_TEST_COSTS.
func printCosts(before, after cpuTimes) {
	costs.Lock()
	rows := append([]testCost(nil), costs.rows...)
	costs.Unlock()
	if len(rows) == 0 {
		return
	}
	var b strings.Builder
	writeCosts(&b, rows, 25)
	b.WriteString(busyLine(before, after))
	fmt.Print(b.String())
	if path := os.Getenv("BURST_TEST_COSTS"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: writing the test costs:", err)
		}
		var tl strings.Builder
		writeTimeline(&tl, rows)
		if err := os.WriteFile(path+".timeline", []byte(tl.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: writing the tests' timeline:", err)
		}
	}
}

// writeTimeline writes every row in the order the tests started: its start
// and end in seconds from the first start, its wall time, and its burst
// commands and their CPU.
func writeTimeline(w io.Writer, rows []testCost) {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b testCost) int { return a.start.Compare(b.start) })
	if len(rows) == 0 {
		return
	}
	t0 := rows[0].start
	fmt.Fprintf(w, "%8s %8s %8s %6s %8s  %s\n", "start", "end", "wall", "cmds", "cmd CPU", "test")
	for _, r := range rows {
		from := r.start.Sub(t0).Seconds()
		fmt.Fprintf(w, "%8.1f %8.1f %8.1f %6d %8.1f  %s\n", from, from+r.wall.Seconds(), r.wall.Seconds(), r.cli, r.cliCPU.Seconds(), r.name)
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
	alone, span := ranAlone(rows)
	fmt.Fprintf(w, "%d tests ran alone, %.1fs in all; %d beside others, over %.1fs\n",
		len(alone), sumWall(alone).Seconds(), len(rows)-len(alone), span.Seconds())
	if len(alone) > 0 {
		fmt.Fprintf(w, "the longest that ran alone (no t.Parallel, or no other test then):\n")
		for _, r := range alone[:min(15, len(alone))] {
			line(r.name, r)
		}
	}
}

// ranAlone picks, in rows' order, those that no other test's harness
// overlapped in time (a test and its own subtests aside): the suite's
// sequential part, what t.Parallel would shorten; and the time from the
// first start to the last end of the others.
func ranAlone(rows []testCost) (alone []testCost, span time.Duration) {
	related := func(a, b string) bool {
		return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
	}
	var first, last time.Time
	for i, r := range rows {
		end := r.start.Add(r.wall)
		overlapped := false
		for j, o := range rows {
			if i != j && !related(r.name, o.name) && o.start.Before(end) && r.start.Before(o.start.Add(o.wall)) {
				overlapped = true
				break
			}
		}
		if !overlapped {
			alone = append(alone, r)
			continue
		}
		if first.IsZero() || r.start.Before(first) {
			first = r.start
		}
		if end.After(last) {
			last = end
		}
	}
	return alone, last.Sub(first)
}

func sumWall(rows []testCost) time.Duration {
	var d time.Duration
	for _, r := range rows {
		d += r.wall
	}
	return d
}

// TestRanAlone: the cost table's split of the suite into the tests that
// ran alone and those that ran beside others.
func TestRanAlone(t *testing.T) {
	t.Parallel()
	at := func(s int) time.Time { return time.Unix(1000+int64(s), 0) }
	rows := []testCost{
		{name: "TestA", start: at(0), wall: 10 * time.Second},     // alone
		{name: "TestB", start: at(10), wall: 10 * time.Second},    // its subtest inside it: alone
		{name: "TestB/sub", start: at(12), wall: 2 * time.Second}, // inside its parent: alone
		{name: "TestC", start: at(20), wall: 10 * time.Second},    // beside D
		{name: "TestD", start: at(25), wall: 10 * time.Second},    // beside C
	}
	var tl strings.Builder
	writeTimeline(&tl, []testCost{rows[3], rows[0]})
	if want := "   start      end     wall   cmds  cmd CPU  test\n     0.0     10.0     10.0      0      0.0  TestA\n    20.0     30.0     10.0      0      0.0  TestC\n"; tl.String() != want {
		t.Errorf("writeTimeline:\n%s\nwant\n%s", tl.String(), want)
	}
	if got := busyLine(cpuTimes{total: 100, idle: 50}, cpuTimes{total: 300, idle: 100}); !strings.Contains(got, "busy 75% of the time") {
		t.Errorf("busyLine of 200 ticks, 50 of them idle: %q", got)
	}
	alone, span := ranAlone(rows)
	var names []string
	for _, r := range alone {
		names = append(names, r.name)
	}
	if strings.Join(names, " ") != "TestA TestB TestB/sub" || span != 15*time.Second {
		t.Errorf("ranAlone: %v over %v; want TestA TestB TestB/sub, and 15s for C and D", names, span)
	}
}
