package server

import (
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/store"
)

// progressHarness is a server holding one running pipe (job 7) with stage 0
// on machine m, attempt 2, started.
func progressHarness() (*Server, *machineRT, *taskRT) {
	s := &Server{}
	s.control = newControl("boot", "host", "/logs", "/agents", s)
	m := &machineRT{tasks: map[taskKey]*taskRT{}, registered: true}
	s.machines["m"] = m
	j := newJobRT(store.JobRow{Job: burst.Job{ID: 7, State: burst.Running,
		Spec: &burst.JobSpec{Pipe: &burst.PipeSpec{Text: "a | b"}}}})
	s.jobs[7] = j
	t := &taskRT{job: j, machine: m, started: true, delivered: true,
		row: store.TaskRow{Task: burst.Task{JobID: 7, Index: 0, Attempt: 2, State: burst.Running}}}
	j.running[0] = t
	m.tasks[taskKey{7, 0}] = t
	return s, m, t
}

func progress(idx, attempt int, userUS, rss, read, wrote int64) client.TaskEvent {
	return client.TaskEvent{TaskRef: client.TaskRef{Job: 7, Index: idx, Attempt: attempt}, Kind: client.EventProgress,
		UserUS: userUS, SysUS: userUS / 2, MaxRSS: rss, ReadBytes: read, WroteBytes: wrote}
}

// A progress event sets a running task's figures in memory, without a
// store write; a later sample never lowers them.
func TestProgressSetsRunningFigures(t *testing.T) {
	s, m, task := progressHarness()
	var b batch
	s.applyEvents(m, []client.TaskEvent{progress(0, 2, 2_000_000, 5<<20, 100, 200)}, time.Now(), &b)
	if !b.empty() {
		t.Errorf("a progress event queued a store write: %+v", b)
	}
	r := task.row
	if r.UserSeconds != 2 || r.SysSeconds != 1 || r.MaxRSSBytes != 5<<20 || r.ReadBytes != 100 || r.WroteBytes != 200 {
		t.Fatalf("figures %+v; want 2s user, 1s sys, 5 MiB, 100 read, 200 written", r.Task)
	}
	// A descendant that left the tree took its CPU time with it: the
	// figures stay at their largest.
	s.applyEvents(m, []client.TaskEvent{progress(0, 2, 1_000_000, 4<<20, 300, 150)}, time.Now(), &b)
	r = task.row
	if r.UserSeconds != 2 || r.SysSeconds != 1 || r.MaxRSSBytes != 5<<20 || r.ReadBytes != 300 || r.WroteBytes != 200 {
		t.Fatalf("figures %+v after a lower sample; want 2s, 1s, 5 MiB, 300 read, 200 written", r.Task)
	}

	// The API's rows (read from the store, where the task has no figures)
	// get the live ones; a row of another attempt or state keeps its own.
	rows := []burst.Task{
		{JobID: 7, Index: 0, Attempt: 2, State: burst.Running},
		{JobID: 7, Index: 1, Attempt: 1, State: burst.Succeeded, UserSeconds: 9},
	}
	s.liveFigures(7, rows)
	if rows[0].UserSeconds != 2 || rows[0].WroteBytes != 200 || rows[0].ReadBytes != 300 || rows[0].MaxRSSBytes != 5<<20 {
		t.Errorf("running row %+v; want the live figures", rows[0])
	}
	if rows[1].UserSeconds != 9 {
		t.Errorf("ended row %+v changed", rows[1])
	}
	stale := []burst.Task{{JobID: 7, Index: 0, Attempt: 1, State: burst.Running}}
	s.liveFigures(7, stale)
	if stale[0].UserSeconds != 0 {
		t.Errorf("a row of an earlier attempt took attempt 2's figures: %+v", stale[0])
	}
	job := burst.Job{ID: 7, CPUSeconds: 10, MaxRSSBytes: 1 << 20}
	s.liveJobFigures(&job)
	if job.CPUSeconds != 13 || job.MaxRSSBytes != 5<<20 {
		t.Errorf("job figures %.1fs, %d; want 13s (10 ended + 3 running), 5 MiB", job.CPUSeconds, job.MaxRSSBytes)
	}
}

// A progress event of an earlier attempt, of a task that has ended, of a
// task on another machine or of one whose start was never reported changes
// nothing, and, unlike a stray started event, asks no agent to kill
// anything: the exit's figures are the last word.
func TestProgressIgnoredUnlessRunning(t *testing.T) {
	s, m, task := progressHarness()
	var b batch
	s.applyEvents(m, []client.TaskEvent{progress(0, 1, 9e6, 9<<20, 9, 9)}, time.Now(), &b)
	if task.row.UserSeconds != 0 || task.row.WroteBytes != 0 {
		t.Errorf("attempt 1's progress changed attempt 2: %+v", task.row.Task)
	}

	other := &machineRT{tasks: map[taskKey]*taskRT{}, registered: true}
	s.applyEvents(other, []client.TaskEvent{progress(0, 2, 9e6, 9<<20, 9, 9)}, time.Now(), &b)
	if task.row.UserSeconds != 0 {
		t.Errorf("another machine's progress changed the task: %+v", task.row.Task)
	}

	task.started = false
	s.applyEvents(m, []client.TaskEvent{progress(0, 2, 9e6, 9<<20, 9, 9)}, time.Now(), &b)
	if task.row.UserSeconds != 0 {
		t.Errorf("progress applied to a task not started: %+v", task.row.Task)
	}
	task.started = true

	// The task ends (as endTask leaves it: out of the running set, with
	// its exit's figures); a late progress event leaves them alone.
	delete(task.job.running, 0)
	delete(m.tasks, taskKey{7, 0})
	task.row.State, task.row.UserSeconds, task.row.WroteBytes = burst.Succeeded, 4, 400
	s.applyEvents(m, []client.TaskEvent{progress(0, 2, 9e6, 9<<20, 9, 900)}, time.Now(), &b)
	if task.row.UserSeconds != 4 || task.row.WroteBytes != 400 {
		t.Errorf("a late progress overwrote the exited task: %+v", task.row.Task)
	}
	if !b.empty() || len(m.cancels) > 0 || len(other.cancels) > 0 {
		t.Errorf("stray progress events wrote %+v or cancelled %v %v", b, m.cancels, other.cancels)
	}
}
