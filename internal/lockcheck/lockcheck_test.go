package lockcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/burst-sh/burst"

// inChild marks the test run TestServerLock starts without -race.
const inChild = "BURST_LOCKCHECK_CHILD"

// The analysis finds what the fixture holds, and only that: each Bad*
// method, none of the Good* ones.
func TestFixture(t *testing.T) {
	vs, err := Check(Config{Dir: ".", Package: module + "/internal/lockcheck/testdata/fixture", Module: module, Field: "mu"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, v := range vs {
		name := v.Path[0]
		name = name[strings.LastIndex(name, ".")+1:]
		got[name] = true
		if strings.HasPrefix(name, "Good") {
			t.Errorf("flagged a good region: %s", v)
		}
	}
	for _, want := range []string{"BadDirect", "BadIndirect", "BadBranch", "BadClosure"} {
		if !got[want] {
			t.Errorf("missed %s; found %v", want, vs)
		}
	}
}

// TestServerLock is the server's rule: nothing it runs while holding its
// lock (s.mu) reaches the operating system — no store write outside the
// group commit, no provider call, no fork, no file, no log line. The
// analysis follows calls through the control type, closures, interfaces
// and the module's other packages; a violation is printed with its path.
func TestServerLock(t *testing.T) {
	if testing.Short() {
		t.Skip("loads and analyses the whole server (a minute or more): not in -short")
	}
	if raceEnabled && os.Getenv(inChild) == "" {
		// The analysis runs on one goroutine: the race detector finds
		// nothing in it and makes it several times slower (three minutes
		// of a CI run's two cores, beside the e2e suite). The same test
		// runs in a binary built without it; its verdict is this test's.
		// The go that runs this test, and its verdict only if it ran it.
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "test", "-count=1", "-v", "-run", "^"+t.Name()+"$", ".")
		cmd.Env = append(os.Environ(), inChild+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("go test -run %s (no -race):\n%s", t.Name(), out)
		if err != nil {
			t.Fatalf("the analysis, without -race: %v", err)
		}
		if !strings.Contains(string(out), "--- PASS: "+t.Name()+" ") {
			t.Fatalf("the run without -race did not pass %s (it did not run it?)", t.Name())
		}
		return
	}
	vs, err := Check(Config{Dir: ".", Package: module + "/internal/server", Module: module, Field: "mu"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Errorf("system call under the server's lock: %s", v)
	}
	if len(vs) > 0 {
		t.Logf("%d paths; move the call before s.mu.Lock() or into an effect the shell runs after apply releases the lock (docs/control-plane.md)", len(vs))
	}
}
