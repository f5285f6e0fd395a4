package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/store"
)

// readTasks waits for the writes queued before it: a task's end the
// control recorded (enqueued, not yet committed) before a job watched it
// is read as ended, not as running. A job that is not there says so.
func TestReadTasksWaitsForQueuedWrites(t *testing.T) {
	s := fleetServer(t)
	ctx := context.Background()
	now := time.Now().UTC()
	spec := &burst.JobSpec{Kind: burst.KindMap, Name: "a", Project: "default", Tasks: 2,
		Resources: burst.Resources{CPUs: 1}, Map: &burst.MapSpec{Template: []string{"echo", "{}"}}}
	var id int64
	if err := s.st.Write(ctx, func(tx *store.Tx) error {
		var err error
		if id, err = store.InsertJob(tx, spec, "ann", now); err != nil {
			return err
		}
		return store.SaveTask(tx, &store.TaskRow{Task: burst.Task{JobID: id, Index: 0, State: burst.Running, Attempt: 1, StartedAt: &now}})
	}); err != nil {
		t.Fatal(err)
	}
	// Task 0's end, enqueued; its commit waits for gate.
	gate := make(chan struct{})
	s.st.Enqueue(func(tx *store.Tx) error {
		<-gate
		return store.SaveTask(tx, &store.TaskRow{Task: burst.Task{JobID: id, Index: 0, State: burst.Succeeded, Attempt: 1, StartedAt: &now, EndedAt: &now}})
	})
	got := make(chan map[int64]tasksRead, 1)
	go func() { got <- s.readTasks(ctx, []int64{id, id + 100}) }()
	var reads map[int64]tasksRead
	select {
	case reads = <-got: // it did not wait: what it read must still be right
		close(gate)
	case <-time.After(200 * time.Millisecond):
		close(gate)
		reads = <-got
	}
	r := reads[id]
	if r.err != nil || len(r.tasks) != 1 || r.tasks[0] != (store.TaskState{Index: 0, State: burst.Succeeded}) {
		t.Fatalf("read of job %d: %+v (err %v), want task 0 succeeded", id, r.tasks, r.err)
	}
	if gone := reads[id+100]; !errors.Is(gone.err, store.ErrNotFound) {
		t.Fatalf("read of a job that is not there: err %v, want store.ErrNotFound", gone.err)
	}
}
