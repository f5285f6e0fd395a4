package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// initChild, set in the environment, makes this test binary exit as soon
// as every package is initialised: what a start of burst runs before main.
const initChild = "BURST_TEST_INIT_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(initChild) != "" {
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Budgets of burst's own package initialisers, in allocations (a count,
// unlike a time, the same on every machine): every process started from
// this binary (each `burst run`, each task's `burst` helper) runs them all
// before main. A package-level regexp alone costs 30 to 800 allocations;
// what a command needs goes in a function called at its first use
// (docs/benchmarks.md, `burst run`). Raise a budget only for a reason that
// every start must pay.
const (
	ownInitAllocs     = 300 // all of github.com/burst-sh/burst/... together
	packageInitAllocs = 110 // any one of them
)

// TestOwnInitIsSmall starts this binary (all of burst's packages and
// libraries linked, as in burst itself) with GODEBUG=inittrace=1 and holds
// burst's own initialisers to their budgets. The libraries' are reported,
// not judged: burst cannot change them short of not linking them.
func TestOwnInitIsSmall(t *testing.T) {
	initLine := regexp.MustCompile(`^init (\S+) @\S+ ms, \S+ ms clock, \d+ bytes, (\d+) allocs$`)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), initChild+"=1", "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	own, others, lines := 0, 0, 0
	for line := range strings.SplitSeq(string(out), "\n") {
		m := initLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		lines++
		n, _ := strconv.Atoi(m[2])
		if !strings.HasPrefix(m[1], "github.com/burst-sh/burst") {
			others += n
			continue
		}
		own += n
		if n > packageInitAllocs {
			t.Errorf("%s's initialisers make %d allocations at every start (budget %d): build what they make at its first use", m[1], n, packageInitAllocs)
		}
	}
	if lines < 100 {
		t.Fatalf("only %d init lines in GODEBUG=inittrace=1's output: is the format still %s?\n%s", lines, initLine, out)
	}
	if own > ownInitAllocs {
		t.Errorf("burst's own initialisers make %d allocations at every start (budget %d)", own, ownInitAllocs)
	}
	t.Logf("initialisers at every start: burst's own %d allocations, its libraries' and Go's %d", own, others)
}
