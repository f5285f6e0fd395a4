package server

import (
	"fmt"
	"testing"

	"github.com/burst-sh/burst"
)

// demandOf is what the control reports waiting, as "cluster:cpus×count".
func demandOf(h *harness) []string {
	var out []string
	for _, d := range h.c.demand() {
		out = append(out, fmt.Sprintf("%s:%d×%d", d.Cluster, d.Res.CPUs, d.Count))
	}
	return out
}

func wantDemand(t *testing.T, h *harness, want ...string) {
	t.Helper()
	if got := demandOf(h); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("demand %v, want %v", got, want)
	}
}

// pipeSpec is a pipe of two stages, gen (1 CPU, on cluster on) and sum
// (2 CPUs, 2 copies, on the job's cluster).
func pipeSpec(on string) *burst.JobSpec {
	return &burst.JobSpec{Kind: burst.KindPipe, Name: "p", Project: "default", Tasks: 3,
		Pipe: &burst.PipeSpec{Text: "gen | sum", Stages: []burst.PipeStage{
			{Name: "gen", Argv: []string{"gen"}, Resources: burst.Resources{CPUs: 1}, Cluster: on},
			{Name: "sum", Argv: []string{"sum"}, Resources: burst.Resources{CPUs: 2}, Parallel: 2},
		}}}
}

// The autoscaler's demand is each job's tasks that could be placed now,
// on the job's cluster: within its -j cap, less what runs, nothing for a
// job being cancelled or whose project's budget is spent (and its demand
// back once the budget is raised); a pipe asks for all its stages at once
// until it starts.
func TestDemand(t *testing.T) {
	t.Run("waiting tasks, in submission order", func(t *testing.T) {
		h := newHarness(t)
		h.submit(5)
		h.submitSpec(2, &burst.JobSpec{Kind: burst.KindRun, Name: "g", Project: "default", Cluster: "gpu", Tasks: 1,
			Argv: []string{"train"}, Resources: burst.Resources{CPUs: 8}})
		wantDemand(t, h, "local:1×5", "gpu:8×1")
	})
	t.Run("-j caps it", func(t *testing.T) {
		h := newHarness(t)
		h.submit(10, maxRunning(3))
		wantDemand(t, h, "local:1×3")
	})
	t.Run("placed tasks leave it", func(t *testing.T) {
		h := newHarness(t)
		h.register("a", 4)
		h.submit(10)
		h.place()
		wantDemand(t, h, "local:1×6")
		h.startAll("a", 0)
		wantDemand(t, h, "local:1×6")
	})
	t.Run("-j counts what runs", func(t *testing.T) {
		h := newHarness(t)
		h.register("a", 4)
		h.submit(10, maxRunning(3))
		h.place()
		h.startAll("a", 0)
		wantDemand(t, h)
	})
	t.Run("a requeued task asks again", func(t *testing.T) {
		h := newHarness(t)
		h.register("a", 1)
		h.submit(1)
		h.place()
		h.startAll("a", 0)
		wantDemand(t, h)
		h.do(func(b *batch) { h.c.loseMachine(h.c.machines["a"], "gone", h.now, b) })
		wantDemand(t, h, "local:1×1")
	})
	t.Run("cancelled", func(t *testing.T) {
		h := newHarness(t)
		id := h.submit(4)
		h.do(func(b *batch) { h.c.cancelJob(id, "ann", h.now, b) })
		wantDemand(t, h)
	})
	t.Run("held by a spent budget, then raised", func(t *testing.T) {
		h := newHarness(t)
		h.project("mars", 10, "")
		h.submit(2)
		h.submitSpec(2, &burst.JobSpec{Kind: burst.KindRun, Name: "m", Project: "mars", Tasks: 1,
			Argv: []string{"x"}, Resources: burst.Resources{CPUs: 2}})
		wantDemand(t, h, "local:1×2", "local:2×1")
		h.c.projects["mars"].row.Exhausted = true
		wantDemand(t, h, "local:1×2")
		h.c.projects["mars"].row.Exhausted = false
		wantDemand(t, h, "local:1×2", "local:2×1")
	})
	t.Run("a pipe asks for its whole gang until it starts", func(t *testing.T) {
		h := newHarness(t)
		h.register("a", 8)
		h.submitSpec(1, pipeSpec("edge"))
		wantDemand(t, h, "edge:1×1", "local:2×2")
		h.c.jobs[1].row.Spec.Pipe.Stages[0].Cluster = "" // all of it on a, which has room
		h.place()
		if len(h.c.jobs[1].running) != 3 {
			t.Fatalf("pipe not placed: %d running", len(h.c.jobs[1].running))
		}
		wantDemand(t, h)
	})
}
