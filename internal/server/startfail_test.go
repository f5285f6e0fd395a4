package server

import (
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// A start that failed for want of its machine's descriptors, memory or
// processes is the machine's fault; a missing command, a refused exec or a
// program's own exit is the task's (issue 14: a flood on an agent failed 44
// of 100 tasks with "pipe2: too many open files").
func TestMachineShort(t *testing.T) {
	code := func(c int) *int { return &c }
	for _, c := range []struct {
		name string
		ev   client.TaskEvent
		want bool
	}{
		{"fork/exec EMFILE, exit 127", client.TaskEvent{State: burst.Failed, ExitCode: code(127),
			Reason: "cannot start: fork/exec /usr/bin/true: too many open files"}, true},
		{"pipe2 before the process", client.TaskEvent{State: burst.Failed, Reason: "pipe2: too many open files"}, true},
		{"log file, ENFILE", client.TaskEvent{State: burst.Failed, Reason: "open /h/logs/1.out: too many open files in system"}, true},
		{"fork ENOMEM", client.TaskEvent{State: burst.Failed, ExitCode: code(127),
			Reason: "cannot start: fork/exec /bin/sh: cannot allocate memory"}, true},
		{"fork EAGAIN", client.TaskEvent{State: burst.Failed, ExitCode: code(127),
			Reason: "cannot start: fork/exec /bin/sh: resource temporarily unavailable"}, true},
		{"batch script EMFILE", client.TaskEvent{State: burst.Failed,
			Reason: "cannot write the batch script: open /h/s: too many open files"}, true},
		{"missing command", client.TaskEvent{State: burst.Failed, ExitCode: code(127),
			Reason: "cannot start: exec: \"nope\": executable file not found in $PATH"}, false},
		{"not executable", client.TaskEvent{State: burst.Failed, ExitCode: code(127),
			Reason: "cannot start: fork/exec ./x: permission denied"}, false},
		{"bad directory", client.TaskEvent{State: burst.Failed, ExitCode: code(127),
			Reason: "cannot start: chdir /gone: no such file or directory"}, false},
		{"program exit that says EMFILE", client.TaskEvent{State: burst.Failed, ExitCode: code(1),
			Reason: "exit 1: too many open files"}, false},
		{"killed by a signal", client.TaskEvent{State: burst.Failed, Signal: 9, Reason: "out of memory: cannot allocate memory"}, false},
		{"succeeded", client.TaskEvent{State: burst.Succeeded, ExitCode: code(0)}, false},
		{"timeout", client.TaskEvent{State: burst.Timeout, Reason: "cannot start: x: too many open files"}, false},
	} {
		if got := machineShort(c.ev); got != c.want {
			t.Errorf("%s: machineShort = %v, want %v", c.name, got, c.want)
		}
	}
}

// A task whose start failed for want of its machine's resources runs again
// without using a retry (lost, attempt kept); one that failed for its own
// reason fails under --retries 0; and an agent that reports such a start as
// lost itself gets the same.
func TestStartShortageRequeues(t *testing.T) {
	code := func(c int) *int { return &c }
	for _, c := range []struct {
		name      string
		ev        func(ref client.TaskRef, at time.Time) client.TaskEvent
		state     burst.State
		attempt   int
		lostCount int
	}{
		{"EMFILE at fork", func(ref client.TaskRef, at time.Time) client.TaskEvent {
			return client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Failed, ExitCode: code(127),
				Reason: "cannot start: fork/exec /usr/bin/true: too many open files", EndedAt: &at}
		}, burst.Queued, 1, 1},
		{"EMFILE before the process", func(ref client.TaskRef, at time.Time) client.TaskEvent {
			return client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Failed,
				Reason: "pipe2: too many open files", EndedAt: &at}
		}, burst.Queued, 1, 1},
		{"reported lost by the agent", func(ref client.TaskRef, at time.Time) client.TaskEvent {
			return client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Lost,
				Reason: "cannot start: fork/exec /usr/bin/true: too many open files (this machine is short of resources, not the task's fault)", EndedAt: &at}
		}, burst.Queued, 1, 1},
		{"missing command", func(ref client.TaskRef, at time.Time) client.TaskEvent {
			return client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Failed, ExitCode: code(127),
				Reason: "cannot start: exec: \"nope\": executable file not found in $PATH", EndedAt: &at}
		}, burst.Failed, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.register("a", 1)
			id := h.submit(1, retries(0))
			h.place()
			_, refs := h.startAll("a", 0)
			if len(refs) != 1 {
				t.Fatalf("started %d tasks, want 1", len(refs))
			}
			h.tick(time.Second)
			h.report("a", c.ev(refs[0], h.now))
			if c.state != burst.Queued {
				h.wantTask(id, 0, c.state, c.attempt, c.lostCount)
				return
			}
			if row := h.task(id, 0); row.State == burst.Failed || row.LostCount != c.lostCount {
				t.Fatalf("task after its start failed: %s lost %d (%s), want requeued, lost %d", row.State, row.LostCount, row.Reason, c.lostCount)
			}
			// Under --retries 0 it still runs again (on the same machine)
			// and succeeds: the failed start used no retry.
			h.drive("a", 5, always(0))
			h.wantTask(id, 0, burst.Succeeded, c.attempt+1, c.lostCount)
			h.wantJob(id, burst.Succeeded, 0)
		})
	}
}

// A machine that cannot start a task at all reports its failure with no
// "started" event before it (EMFILE opening its log, /dev/null, pipe2, or
// writing its batch script). Each such report is a lost machine of a
// delivered task: it counts, and after maxLost of them the task is given up
// as lost instead of being requeued forever (review of issue 14's flood
// fix: 50 such reports under --retries 0 reached attempt 51, lost 0).
func TestStartShortageWithoutStartedIsBounded(t *testing.T) {
	for _, c := range []struct {
		name string
		ev   func(ref client.TaskRef, at time.Time) client.TaskEvent
	}{
		{"failed: pipe2 EMFILE", func(ref client.TaskRef, at time.Time) client.TaskEvent {
			return client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Failed,
				Reason: "pipe2: too many open files", EndedAt: &at}
		}},
		{"lost, reported by the agent", func(ref client.TaskRef, at time.Time) client.TaskEvent {
			return client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Lost,
				Reason: "open /h/logs/1.out: too many open files (this machine is short of resources, not the task's fault)", EndedAt: &at}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.register("a", 1)
			id := h.submit(1, retries(0))
			var seq uint64
			reports := 0
			for range 50 {
				h.place()
				l := h.lease("a", seq)
				if l == nil || len(l.Tasks) == 0 {
					break
				}
				seq = l.Seq
				h.tick(time.Second)
				h.report("a", c.ev(l.Tasks[0].TaskRef, h.now))
				reports++
			}
			if reports != maxLost {
				t.Fatalf("the task was delivered %d times, want %d (maxLost)", reports, maxLost)
			}
			h.wantTask(id, 0, burst.Lost, maxLost, maxLost)
			if j := h.job(id); j.Tasks.Lost != 1 || !j.State.Terminal() {
				t.Fatalf("job %s with %d lost tasks (%s), want it ended with 1 lost", j.State, j.Tasks.Lost, j.Reason)
			}
		})
	}
}
