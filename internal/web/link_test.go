package web

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBinaryKeepsDeadMethodsOut links burst and fails if anything in it
// can call a method by a name known only at run time
// (reflect.Value.MethodByName with a variable, as text/template's
// execution does for {{.Name}}). Once one such call is reachable, Go's
// linker must keep every exported method of every reachable type: the
// binary goes from ~27 MB to ~61 MB (the AWS SDK's clients alone have
// thousands), and every burst process pays for it at start. The linker
// marks such a function <ReflectMethod> in its -dumpdep graph; the test
// names each one and what reaches it.
//
// It links the whole binary (tens of seconds), so -short skips it, except
// under BURST_CI=1.
func TestBinaryKeepsDeadMethodsOut(t *testing.T) {
	if testing.Short() && os.Getenv("BURST_CI") != "1" {
		t.Skip("SKIP (-short): links ./cmd/burst to check it has no <ReflectMethod>; run without -short")
	}
	gobin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	cmd := exec.Command(gobin, "build", "-ldflags=-dumpdep", "-o", filepath.Join(t.TempDir(), "burst"), "github.com/burst-sh/burst/cmd/burst")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build ./cmd/burst: %v\n%s", err, tail(out.String(), 2000))
	}
	// Lines are "from -> to"; a function that calls a method by a run-time
	// name is marked "NAME <ReflectMethod>" on either side.
	const mark = " <ReflectMethod>"
	marked := map[string]string{} // name: a function that reaches it
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	edges := 0
	for sc.Scan() {
		from, to, ok := strings.Cut(sc.Text(), " -> ")
		if !ok {
			continue
		}
		edges++
		if name, ok := strings.CutSuffix(from, mark); ok && marked[name] == "" {
			marked[name] = "?"
		}
		if name, ok := strings.CutSuffix(to, mark); ok {
			marked[name] = strings.TrimSuffix(from, mark)
		}
	}
	if edges < 1000 {
		t.Fatalf("the linker's -dumpdep printed %d edges: the check is broken\n%s", edges, tail(out.String(), 2000))
	}
	if len(marked) > 0 {
		var lines []string
		for name, from := range marked {
			lines = append(lines, name+" (reached from "+from+")")
		}
		slices.Sort(lines)
		t.Errorf("burst links functions that call methods by run-time names, so the linker keeps every exported method "+
			"(text/template's execution, behind html/template, is one: render with templ or plain Go):\n\t%s", strings.Join(lines, "\n\t"))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
