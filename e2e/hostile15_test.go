package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// A machine that joined from the server's own host sees the server's home
// (its agent reads server.json there: Register.Remote is false), so a task
// there runs as a user who can read $BURST_HOME/token, the admin's. A job
// of a member (a user who is not an admin) is never placed on it unless
// the admin trusts members on its cluster: it waits, saying why and what
// to do, while the admin's job on the same machine runs.
func TestMemberOffHomeMachines(t *testing.T) {
	l := newLabOn(t)
	h := l.h
	h.mustRun("cluster", "create", "lab", "--provider", "joined", "--project", "mars")
	tok := h.joinToken("--cluster", "lab")
	box := h.joiner("box")
	box.start("agent", "--join", tok.URL, "--machine", "box")
	h.waitMachine("box", burst.MachineRunning)
	row := faultRow{Fault: "member job on a joined machine that sees the server's home"}

	r := l.as("alice", "run", "--project", "mars", "--on", "lab", "-d", "--", "sh", "-c", "cat $BURST_HOME/token")
	id := detachedID(t, r)
	var waiting string
	h.waitFor("alice's job to say why it waits", 30*time.Second, func() bool {
		var j struct {
			State   string `json:"state"`
			Waiting string `json:"waiting"`
		}
		json.Unmarshal([]byte(h.mustRun("show", "-o", "json", idArg(id)).stdout), &j)
		if j.State != "queued" {
			waiting = "state " + j.State
			return true
		}
		waiting = j.Waiting
		return waiting != ""
	})
	// The admin's job on the same machine runs: the machine takes work,
	// only not hers.
	if r := h.run("run", "--project", "mars", "--on", "lab", "--", "true"); r.code != 0 {
		t.Errorf("the admin's job on lab:\n%s", r)
	}
	row.Tasks++
	if j := h.show(id); j.State != "queued" || !strings.Contains(waiting, "share the server's files") || !strings.Contains(waiting, "--trust-members-on") {
		row.FailedWrongly++
		t.Errorf("alice's job on a machine that sees the server's home: %s, waiting %q; want queued, saying why and naming --trust-members-on", j.State, waiting)
	}
	h.mustRun("cancel", idArg(id))
	recordFault(t, row)
}
