package runner

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// TestWarnLeader: --signal=B:USR1@T reaches the task's own process (the
// batch shell) T before the time limit, and only it: its trap runs while
// its child, which would die of USR1, is left alone until the end.
func TestWarnLeader(t *testing.T) {
	t.Parallel()
	s := spec(t, "sh", "-c", `trap 'echo shell-got; kill -0 $child && echo child-alive; exit 3' USR1; sleep 100 & child=$!; wait`)
	s.TimeLimit = time.Minute
	s.Warn = &Warning{Signal: syscall.SIGUSR1, Before: time.Minute - 300*time.Millisecond, Leader: true}
	task := start(t, s)
	r := task.Wait()
	if r.State != burst.Failed || code(r) != "3" {
		t.Errorf("got %+v, exit %s; want exit 3 from the trap", r, code(r))
	}
	if out := readFile(t, s.Stdout); out != "shell-got\nchild-alive\n" {
		t.Errorf("stdout %q", out)
	}
	assertGroupGone(t, task.PID())
}

// TestMain lets this test binary stand for srun (burst's own executable,
// which a step's signal skips): with RUNNER_TEST_SRUN set it runs its
// arguments as a child and exits as the child did.
func TestMain(m *testing.M) {
	if os.Getenv("RUNNER_TEST_SRUN") != "" {
		c := exec.Command(os.Args[1], os.Args[2:]...)
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		signal.Notify(make(chan os.Signal, 1), syscall.SIGUSR1) // caught, not ignored: its child starts with the default
		if err := c.Run(); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestWarnSteps: --signal=USR1@T reaches the job's steps, the processes
// srun started (not srun itself), and not the batch shell nor what the
// shell started without srun (Slurm's batch step): the step's trap runs,
// the shell's own child lives on, and the shell goes on.
func TestWarnSteps(t *testing.T) {
	t.Parallel()
	srun, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := spec(t, "sh", "-c", `sleep 100 & bare=$!
RUNNER_TEST_SRUN=1 "$0" sh -c 'trap "echo step-got; exit 0" USR1; sleep 100 & wait'; echo shell-after-$?
kill -0 $bare && echo bare-alive; kill $bare`, srun)
	s.TimeLimit = time.Minute
	s.Warn = &Warning{Signal: syscall.SIGUSR1, Before: time.Minute - 300*time.Millisecond}
	r := run(t, s)
	if r.State != burst.Succeeded {
		t.Errorf("got %+v, exit %s", r, code(r))
	}
	if out := readFile(t, s.Stdout); out != "step-got\nshell-after-0\nbare-alive\n" {
		t.Errorf("stdout %q", out)
	}
}

// TestNotice: a Direct stderr gets Spec.Notice's line when the time limit
// stops the task, before what the task writes as it stops; a cancel and an
// out-of-memory end have lines of their own.
func TestNotice(t *testing.T) {
	t.Parallel()
	notice := func(n Notice, at time.Time) string { return fmt.Sprintf("notice %d", n) }
	// The sleep is started before the trap is set: a child forked after
	// it holds the trap until it execs, and a loaded host's time limit
	// could reach it there (it printed "trapped" twice).
	s := spec(t, "sh", "-c", `sleep 100 & trap 'echo trapped >&2; exit 1' TERM; wait`)
	s.Direct, s.Notice, s.TimeLimit = true, notice, 500*time.Millisecond
	if r := run(t, s); r.State != burst.Timeout {
		t.Errorf("got %+v", r)
	}
	if got := readFile(t, s.Stderr); got != "notice 1\ntrapped\n" {
		t.Errorf("stderr after the time limit: %q", got)
	}

	s = spec(t, "sleep", "100")
	s.Direct, s.Notice = true, notice
	task := start(t, s)
	task.Cancel()
	if r := task.Wait(); r.State != burst.Cancelled {
		t.Errorf("got %+v", r)
	}
	if got := readFile(t, s.Stderr); got != "notice 2\n" {
		t.Errorf("stderr after a cancel: %q", got)
	}

	// Not Direct (burst's own logs): no line.
	s = spec(t, "sleep", "100")
	s.Notice = notice
	task = start(t, s)
	task.Cancel()
	task.Wait()
	if got, _ := readFileIfAny(s.Stderr); strings.Contains(got, "notice") {
		t.Errorf("a piped stderr got the notice: %q", got)
	}
}

func readFileIfAny(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// TestWarnOnceWhateverTheLimit: a --signal warning already sent is not
// sent again when the time limit changes after it (scontrol update), even
// by two updates in a row, the last one leaving the warning's time behind.
func TestWarnOnceWhateverTheLimit(t *testing.T) {
	t.Parallel()
	s := spec(t, "sh", "-c", `trap 'echo warned' USR1; while :; do sleep 0.05; done`)
	s.TimeLimit = time.Hour
	s.Warn = &Warning{Signal: syscall.SIGUSR1, Before: time.Hour - 300*time.Millisecond, Leader: true} // at 1 s
	task := start(t, s)
	deadline := time.Now().Add(30 * time.Second)
	for b, _ := os.ReadFile(s.Stdout); !strings.Contains(string(b), "warned"); b, _ = os.ReadFile(s.Stdout) { // made at its first write
		if time.Now().After(deadline) {
			t.Fatal("no warning within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	task.SetTimeLimit(time.Hour + 2*time.Second)
	task.SetTimeLimit(3 * time.Second)
	r := task.Wait()
	if r.State != burst.Timeout {
		t.Errorf("got %+v, want a timeout at the last limit", r)
	}
	if out := readFile(t, s.Stdout); strings.Count(out, "warned") != 1 {
		t.Errorf("stdout %q: want the warning once", out)
	}
}
