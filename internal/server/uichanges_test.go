package server

import (
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// TestUIChangesByProject: a dashboard user who sees project mars alone is
// told of mars's changes (its job queued, started, its progress, its end)
// and of none of venus's: the live pages' change count (/ui/events) says
// nothing of another project's work. An admin's count grows with both.
func TestUIChangesByProject(t *testing.T) {
	h := newHarness(t)
	h.register("m", 4)
	mars := func(p string) bool { return p == "mars" }
	all := func(string) bool { return true }
	inVenus := func(s *burst.JobSpec) { s.Project = "venus" }

	before, adminBefore := h.ui.version(mars), h.ui.version(all)
	v := h.submit(2, inVenus)
	h.place()
	_, refs := h.startAll("m", 0)
	h.report("m", client.TaskEvent{TaskRef: refs[0], Kind: client.EventProgress, UserUS: 1000})
	h.tick(time.Second)
	h.finish("m", refs, exitOf(nil))
	h.wantJob(v, burst.Succeeded, 0)
	if got := h.ui.version(mars); got != before {
		t.Fatalf("a mars viewer's change count went %d -> %d while only venus's job ran", before, got)
	}
	if h.ui.version(all) == adminBefore {
		t.Fatal("an admin's change count did not grow while venus's job ran")
	}

	m := h.submit(1, func(s *burst.JobSpec) { s.Project = "mars" })
	queued := h.ui.version(mars)
	if queued == before {
		t.Fatal("mars's job queued: a mars viewer's change count did not grow")
	}
	h.place()
	_, refs = h.startAll("m", 0)
	started := h.ui.version(mars)
	if started == queued {
		t.Fatal("mars's task started: a mars viewer's change count did not grow")
	}
	h.report("m", client.TaskEvent{TaskRef: refs[0], Kind: client.EventProgress, UserUS: 2000})
	if h.ui.version(mars) == started {
		t.Fatal("mars's task reported progress (held in memory alone): a mars viewer's change count did not grow")
	}
	h.tick(time.Second)
	h.finish("m", refs, exitOf(nil))
	h.wantJob(m, burst.Succeeded, 0)
}
