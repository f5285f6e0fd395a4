package e2e

import (
	"encoding/json"
	"io"
	"net/http"
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
	t.Parallel()
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

// register posts an agent's registration for machine of cluster with
// secret, and answers the status and body.
func register(t *testing.T, addr, secret, machine, cluster string) (int, string) {
	t.Helper()
	body := `{"machine":"` + machine + `","cluster":"` + cluster + `","host":"far","pid":4242,"cpus":1,"mem_bytes":1073741824}`
	req, _ := http.NewRequest("POST", addr+"/v1/agent/register", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Deleting a cluster revokes its joined machines' credentials: the
// machine is lost, and its agent can neither register again nor land in a
// later cluster of the same name made for another project.
func TestDeleteClusterRevokesMachines(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("project", "create", "venus")
	addr := h.serverInfo().Addr
	h.mustRun("cluster", "create", "lab", "--provider", "joined")
	tok := h.joinToken("--cluster", "lab")
	resp, err := http.Post(addr+"/v1/join", "application/json", strings.NewReader(`{"token":"`+tok.Token+`","machine":"m1"}`))
	if err != nil {
		t.Fatal(err)
	}
	var j struct{ Machine, Credential string }
	json.NewDecoder(resp.Body).Decode(&j)
	resp.Body.Close()
	if code, msg := register(t, addr, j.Credential, j.Machine, "lab"); code != 200 {
		t.Fatalf("the joined machine's register: %d %s", code, msg)
	}
	h.waitMachine(j.Machine, burst.MachineRunning)
	row := faultRow{Fault: "machine credential outlives its deleted cluster"}
	h.mustRun("cluster", "delete", "lab")
	row.Tasks++
	if code, msg := register(t, addr, j.Credential, j.Machine, ""); code != 401 || !strings.Contains(msg, "revoked") {
		row.FailedWrongly++
		t.Errorf("register after its cluster was deleted: %d %s, want 401 saying revoked", code, msg)
	}
	h.mustRun("cluster", "create", "lab", "--provider", "joined", "--project", "venus")
	row.Tasks++
	if code, msg := register(t, addr, j.Credential, j.Machine, "lab"); code != 401 {
		row.FailedWrongly++
		t.Errorf("register into a new lab of venus: %d %s, want 401", code, msg)
	}
	for _, m := range h.machines("lab") {
		if m.State != burst.MachineLost || m.Project == "venus" {
			t.Errorf("the new lab holds machine %s (%s, project %s), want none but the deleted lab's lost one", m.ID, m.State, m.Project)
		}
	}
	recordFault(t, row)
}

// A project's owner cannot take over the default cluster "joined": if
// "joined" is not of project default, `burst join-token create` without
// --cluster refuses naming its project, instead of joining the admin's
// machines to that project; the token's output always names the project.
func TestJoinTokenDefaultClusterProject(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("project", "create", "venus")
	if r := h.mustRun("join-token", "create"); !strings.Contains(r.stdout, "cluster joined (project default") {
		t.Errorf("join-token create should name the cluster's project:\n%s", r)
	}
	h.mustRun("cluster", "delete", "joined")
	h.mustRun("cluster", "create", "joined", "--provider", "joined", "--project", "venus")
	row := faultRow{Fault: "default joined cluster taken over by a project"}
	row.Tasks++
	if r := h.run("join-token", "create"); r.code == 0 || !strings.Contains(r.stderr, "belongs to project venus") || !strings.Contains(r.stderr, "--cluster") {
		row.FailedWrongly++
		t.Errorf("join-token create without --cluster, joined of venus: want a refusal naming venus and --cluster\n%s", r)
	}
	if r := h.mustRun("join-token", "create", "--cluster", "joined"); !strings.Contains(r.stdout, "cluster joined (project venus") {
		t.Errorf("join-token create --cluster joined should name project venus:\n%s", r)
	}
	recordFault(t, row)
}

// `burst machine revoke` on a machine revoked already says so, instead of
// "only joined machines have one".
func TestRevokeTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun("cluster", "create", "lab", "--provider", "joined")
	addr := h.serverInfo().Addr
	tok := h.joinToken("--cluster", "lab")
	resp, err := http.Post(addr+"/v1/join", "application/json", strings.NewReader(`{"token":"`+tok.Token+`","machine":"m1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h.mustRun("machine", "revoke", "m1")
	if r := h.run("machine", "revoke", "m1"); r.code == 0 || !strings.Contains(r.stderr, "revoked already") || strings.Contains(r.stderr, "only joined machines") {
		t.Errorf("revoking m1 again: want a refusal saying it is revoked already\n%s", r)
	}
}
