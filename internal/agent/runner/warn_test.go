package runner

import (
	"fmt"
	"os"
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

// TestWarnSteps: --signal=USR1@T reaches every process of the task but its
// own (the job's steps, not the batch shell), which goes on once its step
// ended by its trap.
func TestWarnSteps(t *testing.T) {
	t.Parallel()
	s := spec(t, "sh", "-c", `sh -c 'trap "echo step-got; exit 0" USR1; sleep 100 & wait'; echo shell-after-$?`)
	s.TimeLimit = time.Minute
	s.Warn = &Warning{Signal: syscall.SIGUSR1, Before: time.Minute - 300*time.Millisecond}
	r := run(t, s)
	if r.State != burst.Succeeded {
		t.Errorf("got %+v, exit %s", r, code(r))
	}
	if out := readFile(t, s.Stdout); out != "step-got\nshell-after-0\n" {
		t.Errorf("stdout %q", out)
	}
}

// TestNotice: a Direct stderr gets Spec.Notice's line when the time limit
// stops the task, before what the task writes as it stops; a cancel and an
// out-of-memory end have lines of their own.
func TestNotice(t *testing.T) {
	t.Parallel()
	notice := func(n Notice, at time.Time) string { return fmt.Sprintf("notice %d", n) }
	s := spec(t, "sh", "-c", `trap 'echo trapped >&2; exit 1' TERM; sleep 100 & wait`)
	s.Direct, s.Notice, s.TimeLimit = true, notice, 200*time.Millisecond
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
