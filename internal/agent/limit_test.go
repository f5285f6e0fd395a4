package agent

import (
	"testing"

	"github.com/burst-sh/burst/client"
)

// TestSetLimitReachesEveryTaskOfTheJob: a job's new time limit reaches
// its tasks queued here (each with a context of its own: the lease's is
// shared) and those still opening (staging their inputs), which take it
// once their process starts; another job's are left alone.
func TestSetLimitReachesEveryTaskOfTheJob(t *testing.T) {
	shared := &client.JobContext{TimeLimitS: 600}
	other := &client.JobContext{TimeLimitS: 600}
	open := &opening{ref: client.TaskRef{Job: 7, Index: 2}}
	a := &Agent{
		running: map[key]*running{},
		opening: map[key]*opening{{7, 2}: open, {8, 0}: {ref: client.TaskRef{Job: 8}}},
		queue: []queued{
			{as: client.Assignment{TaskRef: client.TaskRef{Job: 7, Index: 0}}, ctx: shared},
			{as: client.Assignment{TaskRef: client.TaskRef{Job: 7, Index: 1}}, ctx: shared},
			{as: client.Assignment{TaskRef: client.TaskRef{Job: 8, Index: 0}}, ctx: other},
		},
	}
	a.setLimit(client.JobLimit{Job: 7, TimeLimitS: 60})
	for i, q := range a.queue[:2] {
		if q.ctx.TimeLimitS != 60 {
			t.Errorf("queued task %d of job 7: limit %d, want 60", i, q.ctx.TimeLimitS)
		}
	}
	if a.queue[0].ctx == a.queue[1].ctx || shared.TimeLimitS != 600 {
		t.Error("the lease's shared context was changed in place")
	}
	if a.queue[2].ctx.TimeLimitS != 600 || a.opening[key{8, 0}].limit != nil {
		t.Error("another job's tasks took the limit")
	}
	if open.limit == nil || *open.limit != 60 {
		t.Errorf("the opening task of job 7: limit %v, want 60 once it starts", open.limit)
	}
}
