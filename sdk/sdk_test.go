package sdk_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/sdk"
)

// The functions the tests map. The test binary is its own worker: TestMain
// calls sdk.Main, which runs one of these and exits when burst started the
// binary as a task.
var (
	square = sdk.Register("square", func(ctx context.Context, n int) (int, error) {
		return n * n, nil
	})
	failOn3 = sdk.Register("fail-on-3", func(ctx context.Context, n int) (int, error) {
		if n == 3 {
			return 0, fmt.Errorf("three is not allowed (got %d)", n)
		}
		return n, nil
	})
	panicOn2 = sdk.Register("panic-on-2", func(ctx context.Context, n int) (int, error) {
		if n == 2 {
			var m map[string]int
			m["boom"] = n // a nil-map write: a runtime panic
		}
		return -n, nil
	})
	// noisy prints on stdout, which must not spoil its result.
	noisy = sdk.Register("noisy", func(ctx context.Context, p point) (point, error) {
		fmt.Println("some chatter on stdout")
		fmt.Fprintln(os.Stderr, "and on stderr")
		return point{X: p.Y, Y: p.X, Label: strings.ToUpper(p.Label)}, nil
	})
	// sleepy waits for its context unless told not to.
	sleepy = sdk.Register("sleepy", func(ctx context.Context, wait bool) (string, error) {
		if !wait {
			return "quick", nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Minute):
			return "slow", nil
		}
	})
	length = sdk.Register("length", func(ctx context.Context, s string) (int, error) {
		return len(s), nil
	})
	// crash exits without a word, as a process killed or crashed would.
	crash = sdk.Register("crash", func(ctx context.Context, code int) (int, error) {
		if code != 0 {
			os.Exit(code)
		}
		return 0, nil
	})
)

type point struct {
	X, Y  float64
	Label string
}

// tagVar is set, with a value unique to this run, in the test process's
// environment; the server, agent and tasks inherit it, which is how cleanup
// finds them. (Not BURST_*: Map does not pass those on to tasks.)
const tagVar = "SDK_TEST_TAG"

// burstHome is the BURST_HOME of this run.
var burstHome string

func TestMain(m *testing.M) {
	sdk.Main() // as a worker: runs the function and exits
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if runtime.GOOS != "linux" {
		fmt.Println("sdk: skipped: burst runs tasks on Linux")
		return 0
	}
	// Not t.TempDir: a short path keeps the unix socket under 108 bytes.
	root, err := os.MkdirTemp("", "bsdk-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdk test:", err)
		return 1
	}
	defer os.RemoveAll(root)
	bin := filepath.Join(root, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "burst"), "./cmd/burst")
	build.Dir = ".."
	build.Env = append(os.Environ(), "GOFLAGS=-buildmode=exe", "CGO_ENABLED=0") // as make build
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "sdk test: go build ./cmd/burst: %v\n%s", err, out)
		return 1
	}
	b := make([]byte, 8)
	rand.Read(b)
	tag := hex.EncodeToString(b)
	burstHome = filepath.Join(root, "home")
	os.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	os.Setenv("BURST_HOME", burstHome)
	os.Setenv("BURST_PORT", "0")
	os.Setenv(tagVar, tag)
	os.Unsetenv("BURST_SERVER")
	os.Unsetenv("BURST_TOKEN")
	os.Unsetenv(sdk.EnvFunc)
	code := m.Run()
	if code != 0 {
		for _, f := range []string{filepath.Join(burstHome, "server.log"), filepath.Join(burstHome, "agents", "local-1.log")} {
			if b, err := os.ReadFile(f); err == nil {
				fmt.Fprintf(os.Stderr, "--- tail of %s:\n%s\n", f, tailOf(string(b), 3000))
			}
		}
	}
	if err := cleanup(burstHome, tag); err != nil {
		fmt.Fprintln(os.Stderr, "sdk test: cleanup:", err)
		code = 1
	}
	return code
}

// cleanup kills the server and the agent this run started (their pids are
// in server.json and agents/local-1.pid), then any other process carrying
// the run's tag (tasks), with SIGKILL: the server first, so that it does not
// start the agent again.
func cleanup(home, tag string) error {
	if b, err := os.ReadFile(filepath.Join(home, "server.json")); err == nil {
		var info struct {
			PID int `json:"pid"`
		}
		if json.Unmarshal(b, &info) == nil {
			killTagged(info.PID, tag)
		}
	}
	if b, err := os.ReadFile(filepath.Join(home, "agents", "local-1.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			killTagged(pid, tag)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		left := taggedPIDs(tag)
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of this run survive SIGKILL", left)
		}
		for _, p := range left {
			killTagged(p, tag)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killTagged kills pid if it carries tag (a pid from a file may have been
// reused by now).
func killTagged(pid int, tag string) {
	if pid > 0 && pid != os.Getpid() && hasTag(pid, tag) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func hasTag(pid int, tag string) bool {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	want := []byte(tagVar + "=" + tag + "\x00")
	return bytes.HasPrefix(env, want) || bytes.Contains(env, append([]byte{0}, want...))
}

// taggedPIDs lists the live processes, other than this one, with the tag.
func taggedPIDs(tag string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || !hasTag(pid, tag) {
			continue
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
				continue // a zombie: dead already
			}
		}
		out = append(out, pid)
	}
	return out
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func connect(t *testing.T) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := sdk.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestMapSquares(t *testing.T) {
	c := connect(t)
	in := make([]int, 24)
	for i := range in {
		in[i] = i - 5 // negative inputs too: "-5" must not look like a flag
	}
	if _, err := c.CreateProject(testCtx(t), &burst.ProjectSpec{Name: "sdk-test"}); err != nil {
		t.Fatal(err)
	}
	outs, errs, err := sdk.Map(testCtx(t), c, square, in, sdk.WithName("squares-test"), sdk.WithProject("sdk-test"))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != len(in) || len(errs) != len(in) {
		t.Fatalf("got %d outputs and %d errors for %d inputs", len(outs), len(errs), len(in))
	}
	for i, n := range in {
		if errs[i] != nil {
			t.Errorf("square(%d): %v", n, errs[i])
		}
		if outs[i] != n*n {
			t.Errorf("square(%d) = %d, want %d", n, outs[i], n*n)
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Errorf("errors.Join of the errors = %v, want nil", err)
	}
	jobs, err := c.Jobs(context.Background(), client.JobsQuery{Project: "sdk-test", Limit: 1})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs of project sdk-test: %v, %v", jobs, err)
	}
	if j := jobs[0]; j.Name != "squares-test" || j.Kind != burst.KindMap || j.Tasks.Total != len(in) || j.State != burst.Succeeded {
		t.Errorf("job = %+v, want a succeeded map named squares-test with %d tasks", j, len(in))
	}
}

func TestMapFunctionErrors(t *testing.T) {
	c := connect(t)
	in := []int{1, 2, 3, 4, 3, 5}
	outs, errs, err := sdk.Map(testCtx(t), c, failOn3, in)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range in {
		if n != 3 {
			if errs[i] != nil || outs[i] != n {
				t.Errorf("item %d (%d): got %d, %v; want %d, nil", i, n, outs[i], errs[i], n)
			}
			continue
		}
		var te *sdk.TaskError
		if !errors.As(errs[i], &te) {
			t.Fatalf("item %d (3): error %v (%T), want a *sdk.TaskError", i, errs[i], errs[i])
		}
		if got, want := errs[i].Error(), "three is not allowed (got 3)"; got != want {
			t.Errorf("item %d: error %q, want the function's message %q", i, got, want)
		}
		if te.Index != i || te.State != burst.Failed || te.ExitCode == nil || *te.ExitCode != 1 {
			t.Errorf("item %d: TaskError %+v, want index %d, failed, exit status 1", i, te, i)
		}
		if outs[i] != 0 {
			t.Errorf("item %d: output %d, want the zero value", i, outs[i])
		}
	}
}

func TestMapPanic(t *testing.T) {
	c := connect(t)
	outs, errs, err := sdk.Map(testCtx(t), c, panicOn2, []int{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[2] != nil || outs[0] != -1 || outs[2] != -3 {
		t.Errorf("items 0 and 2: %v %v, %v %v; want -1 -3 and no errors", outs[0], outs[2], errs[0], errs[2])
	}
	if errs[1] == nil || !strings.HasPrefix(errs[1].Error(), "panic: ") || !strings.Contains(errs[1].Error(), "nil map") {
		t.Errorf("item 1: error %v, want the panic", errs[1])
	}
}

func TestMapStructsAndStdoutChatter(t *testing.T) {
	c := connect(t)
	in := []point{{X: 1, Y: 2, Label: "a b"}, {X: -3.5, Y: 0, Label: `quote " and {} and '; rm -rf ~`}}
	outs, errs, err := sdk.Map(testCtx(t), c, noisy, in)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range in {
		want := point{X: p.Y, Y: p.X, Label: strings.ToUpper(p.Label)}
		if errs[i] != nil || outs[i] != want {
			t.Errorf("item %d: got %+v, %v; want %+v", i, outs[i], errs[i], want)
		}
	}
}

func TestMapTimeLimit(t *testing.T) {
	c := connect(t)
	// One item that waits for its context: a test binary built with -race
	// takes about a second just to start, so no item here races the limit.
	_, errs, err := sdk.Map(testCtx(t), c, sleepy, []bool{true}, sdk.WithTimeLimit(1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var te *sdk.TaskError
	if !errors.As(errs[0], &te) || te.State != burst.Timeout {
		t.Fatalf("item 0: %v, want a timeout", errs[0])
	}
	// 1.5 s is rounded up to whole seconds.
	if msg := te.Error(); !strings.Contains(msg, "timed out") || !strings.Contains(msg, "2s") {
		t.Errorf("item 0: error %q does not say it timed out after 2s", msg)
	}
}

func TestMapSilentCrash(t *testing.T) {
	c := connect(t)
	_, errs, err := sdk.Map(testCtx(t), c, crash, []int{0, 7})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil {
		t.Errorf("item 0: %v", errs[0])
	}
	var te *sdk.TaskError
	if !errors.As(errs[1], &te) || te.ExitCode == nil || *te.ExitCode != 7 {
		t.Fatalf("item 1: %v, want a failure with exit status 7", errs[1])
	}
	if msg := te.Error(); !strings.Contains(msg, "exit status 7") || !strings.Contains(msg, "burst logs") {
		t.Errorf("item 1: error %q, want the exit status and where the log is", msg)
	}
}

func TestMapCancelledByContext(t *testing.T) {
	c := connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, _, err := sdk.Map(ctx, c, sleepy, []bool{true, true})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Map = %v, want the context's deadline", err)
	}
	jobs, err := c.Jobs(context.Background(), client.JobsQuery{Limit: 1})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs: %v, %v", jobs, err)
	}
	j, err := c.Wait(testCtx(t), jobs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != burst.Cancelled {
		t.Errorf("job %d ended %s, want cancelled", j.ID, j.State)
	}
}

func TestMapRejectsLargeInput(t *testing.T) {
	big := strings.Repeat("x", sdk.MaxInput)
	// No server needed: the input is refused before anything is sent.
	_, _, err := sdk.Map(context.Background(), nil, length, []string{"small", big})
	if err == nil || !strings.Contains(err.Error(), "input 1") || !strings.Contains(err.Error(), "path") {
		t.Fatalf("Map with a %d-byte input = %v, want an error suggesting a path", len(big), err)
	}
}

func TestMapNoInputs(t *testing.T) {
	outs, errs, err := sdk.Map(context.Background(), nil, square, nil)
	if err != nil || len(outs) != 0 || len(errs) != 0 {
		t.Fatalf("Map over nothing = %v, %v, %v; want empty results", outs, errs, err)
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), `"square"`) {
			t.Errorf("registering square twice: panic %v, want one naming it", p)
		}
	}()
	sdk.Register("square", func(ctx context.Context, n int) (int, error) { return n, nil })
}

func TestConnectWithoutServerOrBinary(t *testing.T) {
	dir, err := os.MkdirTemp("", "bsdk-nohome-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	t.Setenv("BURST_HOME", dir)
	t.Setenv("PATH", dir) // no burst there
	_, err = sdk.Connect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "burst server") {
		t.Fatalf("Connect = %v, want an error telling to run `burst server`", err)
	}
}

func TestConnectBadServerAddress(t *testing.T) {
	t.Setenv("BURST_SERVER", "unix:///nonexistent/burst.sock")
	t.Setenv("BURST_TOKEN", "x")
	if _, err := sdk.Connect(context.Background()); err == nil || !strings.Contains(err.Error(), "BURST_SERVER") {
		t.Fatalf("Connect = %v, want an error naming BURST_SERVER", err)
	}
}

// The plain command client, against the same server.

func TestRunCommand(t *testing.T) {
	c := connect(t)
	ctx := testCtx(t)
	j, err := c.RunCommand(ctx, []string{"sh", "-c", `echo "hello $SDK_TEST_TAG"`}, burst.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := c.Logs(ctx, j.ID, client.LogsQuery{}, &out); err != nil {
		t.Fatal(err)
	}
	if want := "hello " + os.Getenv(tagVar) + "\n"; out.String() != want {
		t.Errorf("stdout %q, want %q (the caller's environment)", out.String(), want)
	}
	j, err = c.RunCommand(ctx, []string{"sh", "-c", "exit 3"}, burst.Resources{CPUs: 1})
	var je *client.JobError
	if !errors.As(err, &je) || j == nil || j.State != burst.Failed || j.ExitCode == nil || *j.ExitCode != 3 {
		t.Fatalf("exit 3: job %+v, error %v; want a failed job with exit status 3 and a *client.JobError", j, err)
	}
	if !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("error %q does not give the exit status", err)
	}
}

func TestMapCommand(t *testing.T) {
	c := connect(t)
	ctx := testCtx(t)
	in := []string{"a", "b c", "$HOME", "d"}
	j, err := c.MapCommand(ctx, []string{"sh", "-c", `[ "$1" != d ] || exit 4; printf '<%s>' "$1"`, "_", "{}"}, in, burst.Resources{})
	var je *client.JobError
	if !errors.As(err, &je) {
		t.Fatalf("MapCommand: %v, want a *client.JobError (one task fails)", err)
	}
	if j.Tasks.Total != 4 || j.Tasks.Succeeded != 3 || j.Tasks.Failed != 1 {
		t.Errorf("tasks %+v, want 3 succeeded and 1 failed", j.Tasks)
	}
	res, err := c.Results(ctx, j.ID, 0, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res[:3] {
		if r.Output == nil || *r.Output != "<"+in[i]+">" {
			t.Errorf("task %d: output %v, want <%s>", i, r.Output, in[i])
		}
	}
	if res[3].State != burst.Failed || res[3].ExitCode == nil || *res[3].ExitCode != 4 {
		t.Errorf("task 3: %+v, want failed with exit status 4", res[3])
	}
}
