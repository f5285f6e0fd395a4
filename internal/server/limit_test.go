package server

import (
	"reflect"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// TestUpdateRunningJobsLimit: scontrol update TimeLimit= of a running job
// reaches the agent that holds its tasks: each lease carries the new limit
// until one is acknowledged, an agent registering again (the server
// restarted, a lease lost) hears it again, and the tasks leased after the
// update start with it.
func TestUpdateRunningJobsLimit(t *testing.T) {
	h := newHarness(t)
	h.register("m", 2)
	j := h.submit(4, func(s *burst.JobSpec) { s.Resources.TimeLimit = 600 })
	h.place()
	seq, refs := h.startAll("m", 0)
	if len(refs) != 2 {
		t.Fatalf("started %v, want 2 tasks", refs)
	}
	update := func(lim int64, admin bool) error {
		var err error
		h.do(func(b *batch) {
			err = h.c.updateJob(j, client.UpdateOptions{TimeLimit: &lim}, admin, nil, "ann", h.now, b)
		})
		return err
	}
	if err := update(1200, false); err == nil {
		t.Fatal("a user raised a running job's limit: only an admin may")
	}
	if err := update(1200, true); err != nil {
		t.Fatalf("an admin raising a running job's limit: %v", err)
	}
	want := []client.JobLimit{{Job: j, TimeLimitS: 1200}}
	l := h.lease("m", seq)
	if l == nil || !reflect.DeepEqual(l.Limits, want) {
		t.Fatalf("the lease after the update: %+v, want limits %v", l, want)
	}
	// Lost on the way (not acknowledged): the next lease carries it again,
	// and a second update replaces it rather than adding one.
	if err := update(900, false); err != nil {
		t.Fatalf("a user lowering a running job's limit: %v", err)
	}
	want[0].TimeLimitS = 900
	l = h.lease("m", seq)
	if l == nil || !reflect.DeepEqual(l.Limits, want) {
		t.Fatalf("the lease after an unacknowledged one: %+v, want limits %v", l, want)
	}
	if l2 := h.lease("m", l.Seq); l2 != nil && len(l2.Limits) > 0 {
		t.Fatalf("an acknowledged limit was sent again: %v", l2.Limits)
	}
	// The tasks leased from now on start with it.
	h.finish("m", refs, exitOf(nil))
	h.place()
	l = h.lease("m", l.Seq)
	if l == nil || len(l.Tasks) == 0 || l.Jobs[j] == nil || l.Jobs[j].TimeLimitS != 900 {
		t.Fatalf("tasks leased after the update: %+v, want their job's context with limit 900", l)
	}
	// Its agent registering again hears the limit of what it runs again.
	var running []client.RunningTask
	for _, a := range l.Tasks {
		running = append(running, client.RunningTask{TaskRef: a.TaskRef, PID: 2000 + a.Index, PIDStart: 7})
	}
	h.register("m", 2, running...)
	l = h.lease("m", 0)
	if l == nil || !reflect.DeepEqual(l.Limits, want) {
		t.Fatalf("the lease after the agent registered again: %+v, want limits %v", l, want)
	}
}
