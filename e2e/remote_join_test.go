package e2e

import (
	"strings"
	"testing"

	"github.com/burst-sh/burst"
)

// A machine that joined for a project runs that project's work only: a
// task there runs as the agent's user and can read the machine's
// credential ($BURST_HOME/joined.json), with which it could lease what
// else is placed on the machine. So a job of another project is refused
// for the cluster, even from the home's token (which may otherwise place
// work anywhere), naming the fix; the cluster's own project's job runs
// there.
func TestJoinedMachineRunsOnlyItsProject(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("project", "create", "mars", "--budget", "100")
	h.mustRun("project", "create", "venus", "--budget", "100")
	h.mustRun("cluster", "create", "lab", "--provider", "joined", "--project", "mars")
	tok := h.joinToken("--cluster", "lab")
	box := h.joiner("box")
	box.start("agent", "--join", tok.URL, "--machine", "box")
	h.waitMachine("box", burst.MachineRunning)

	r := h.run("run", "--project", "venus", "--on", "lab", "--", "true")
	if r.code == 0 || !strings.Contains(r.stderr, "joined for project mars and run only its work") || !strings.Contains(r.stderr, "--project mars") {
		t.Fatalf("a venus job on mars's joined cluster should be refused, naming the fix:\n%s", r)
	}
	pipe := h.run("pipe", "--project", "venus", "true | --on lab cat")
	if pipe.code == 0 || !strings.Contains(pipe.stderr, "joined for project mars") {
		t.Fatalf("a venus pipe with a stage on mars's joined cluster should be refused:\n%s", pipe)
	}
	ok := h.mustRun("run", "--project", "mars", "--on", "lab", "--", "true")
	j := h.show(jobIDFrom(t, ok))
	if j.State != "succeeded" || len(j.TaskList) != 1 || j.TaskList[0].Machine != "box" {
		t.Fatalf("mars's job on lab: %s on %+v; want succeeded on box", j.State, j.TaskList)
	}
	recordFault(t, faultRow{Fault: "another project's job on a joined machine", Tasks: len(j.TaskList)})
}
