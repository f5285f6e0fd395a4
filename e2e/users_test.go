package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
)

// A lab on one server (issue #15, item 3): the admin (the home's token)
// adds users and grants roles; each user acts with their own credential
// (BURST_SERVER and BURST_TOKEN), and what they may do is what their role
// in the project allows (docs/security-users.md).

// lab is a server with users alice (member of mars), bob (owner), vic
// (viewer) and nora (no role), each with a credential. Its server runs
// with --trust-members-on local, so that members' jobs may run on this
// host (newLabOn starts one without).
type lab struct {
	h      *harness
	addr   string
	admin  string            // the home's token
	tokens map[string]string // user → credential
	tr     http.RoundTripper // what reaches addr (one that trusts the server's CA over TLS); nil: the default
	ca     []byte            // the server's CA (PEM) when it serves TLS
	caFile string            // and its file, for the users' CLI (BURST_CA)
}

func newLab(t *testing.T) *lab {
	return newLabOn(t, "--trust-members-on", "local")
}

// newLabVenus is a lab with a second project, venus, whose member is
// nora (of no role in mars).
func newLabVenus(t *testing.T) *lab {
	l := newLab(t)
	l.h.mustRun("project", "create", "venus")
	l.h.mustRun("project", "grant", "venus", "nora", "--role", "member")
	return l
}

// newLabOn is a lab whose server runs with serverArgs.
func newLabOn(t *testing.T, serverArgs ...string) *lab {
	h := newHarness(t)
	srv := h.startCmd(h.command(append([]string{"server"}, serverArgs...)...))
	// Wait for this server's server.json before any command runs: a
	// command run earlier (e.g. `burst jobs`) finds no server yet and
	// starts one of its own, without serverArgs, which then takes the
	// home while this one gives up (a CI run lost --trust-members-on so).
	pid := srv.p.cmd.Process.Pid
	h.waitFor("the server to write server.json", 30*time.Second, func() bool {
		if srv.exited() {
			return true
		}
		b, err := os.ReadFile(filepath.Join(h.home, "server.json"))
		var in serverInfo
		return err == nil && json.Unmarshal(b, &in) == nil && in.PID == pid
	})
	if srv.exited() {
		t.Fatalf("burst server %s exited: %v\n%s", strings.Join(serverArgs, " "), srv.err, srv.res)
	}
	h.mustRun("jobs")
	return labOf(t, h)
}

// newLabTLS is a lab whose server listens on the test hosts' bridge, so
// serving TLS with the CA it made (and trusting members on local): users
// reach it as from another machine, verifying its certificate.
func newLabTLS(t *testing.T) *lab {
	h := startHostServer(t, "--trust-members-on", "local")
	l := labOf(t, h)
	var info struct {
		CA string `json:"ca"`
	}
	b, err := os.ReadFile(filepath.Join(h.home, "server.json"))
	if err == nil {
		err = json.Unmarshal(b, &info)
	}
	if err == nil {
		l.caFile = info.CA
		l.ca, err = os.ReadFile(info.CA)
	}
	pool := x509.NewCertPool()
	if err != nil || !pool.AppendCertsFromPEM(l.ca) || !strings.HasPrefix(l.addr, "https://") {
		t.Fatalf("the server on the bridge: addr %s, CA %q: %v", l.addr, info.CA, err)
	}
	l.tr = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	return l
}

// labOf adds project mars and the lab's users to h's running server.
func labOf(t *testing.T, h *harness) *lab {
	h.mustRun("project", "create", "mars", "--budget", "100")
	l := &lab{h: h, tokens: map[string]string{}}
	for user, role := range map[string]string{"alice": "member", "bob": "owner", "vic": "viewer", "nora": ""} {
		h.mustRun("user", "add", user)
		r := h.mustRun("user", "token", user)
		tok := strings.TrimSpace(r.stdout)
		if !strings.HasPrefix(tok, "burst_u_") || len(tok) < 40 {
			t.Fatalf("burst user token %s printed %q, want a burst_u_ credential", user, tok)
		}
		l.tokens[user] = tok
		if role != "" {
			h.mustRun("project", "grant", "mars", user, "--role", role)
		}
	}
	l.addr = h.serverInfo().Addr
	b, err := os.ReadFile(filepath.Join(h.home, "token"))
	if err != nil {
		t.Fatal(err)
	}
	l.admin = strings.TrimSpace(string(b))
	return l
}

// as runs burst as user, with their credential against the lab's server.
func (l *lab) as(user string, args ...string) result {
	l.h.t.Helper()
	c := l.h.command(args...)
	c.Env = append(c.Env, "BURST_SERVER="+l.addr, "BURST_TOKEN="+l.tokens[user])
	if l.caFile != "" {
		c.Env = append(c.Env, "BURST_CA="+l.caFile)
	}
	return l.h.exec(c)
}

// call sends one API request with a bearer secret; status and the error
// message (or the body).
func (l *lab) call(t *testing.T, secret, method, path, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, l.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := (&http.Client{Transport: l.tr}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e struct {
		Message string `json:"error"`
	}
	if resp.StatusCode >= 400 && json.Unmarshal(b, &e) == nil && e.Message != "" {
		return resp.StatusCode, e.Message
	}
	return resp.StatusCode, string(b)
}

// The user story, through the CLI of each user: alice (member)
// submits and cancels her own job, cannot cancel bob's (403 naming the
// role), cannot change the budget; vic (viewer) cannot submit; nora (no
// role) is told mars does not exist for her; the audit trail names alice
// even when her client claims to be mallory; cost --by user groups by the
// authenticated submitter.
func TestUsersRoles(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	h := l.h

	mine := detachedID(t, l.as("alice", "run", "--project", "mars", "-d", "--", "sleep", "300"))
	bobs := detachedID(t, l.as("bob", "run", "--project", "mars", "-d", "--", "sleep", "300"))

	attacks := 0
	r := l.as("alice", "cancel", idArg(bobs))
	attacks++
	if r.code == 0 || !strings.Contains(r.stderr, "cancelling bob's job in mars needs the owner role; you are a member") {
		t.Errorf("alice cancelling bob's job: want a refusal naming the owner role\n%s", r)
	}
	r = l.as("alice", "project", "set", "mars", "--budget", "1000")
	attacks++
	if r.code == 0 || !strings.Contains(r.stderr, "needs the owner role; you are a member") {
		t.Errorf("alice changing the budget: want a refusal naming the owner role\n%s", r)
	}
	r = l.as("vic", "run", "--project", "mars", "-d", "--", "true")
	attacks++
	if r.code == 0 || !strings.Contains(r.stderr, "submitting work to mars needs the member role; you are a viewer") {
		t.Errorf("vic submitting: want a refusal naming the member role\n%s", r)
	}
	r = l.as("nora", "jobs", "--project", "mars")
	attacks++
	if r.code == 0 || !strings.Contains(r.stderr, "no project mars") {
		t.Errorf("nora listing mars: want mars not to exist for her\n%s", r)
	}
	r = l.as("alice", "user", "add", "eve", "--admin")
	attacks++
	if r.code == 0 || !strings.Contains(r.stderr, "needs an admin") {
		t.Errorf("alice adding an admin: want a refusal\n%s", r)
	}
	// The refused work did not happen: bob's job still runs, the budget is 100.
	if st := h.show(bobs).State; st != "running" && st != "queued" {
		t.Errorf("bob's job after alice's refused cancel: %s", st)
	}
	var p struct {
		BudgetUSD *float64 `json:"budget_usd"`
	}
	json.Unmarshal([]byte(h.mustRun("project", "show", "mars", "-o", "json").stdout), &p)
	if p.BudgetUSD == nil || *p.BudgetUSD != 100 {
		t.Errorf("mars's budget after alice's refused change: %v, want 100", p.BudgetUSD)
	}
	// Her own: cancelled.
	if r := l.as("alice", "cancel", idArg(mine)); r.code != 0 {
		t.Fatalf("alice cancelling her own job:\n%s", r)
	}
	h.waitFor("alice's job cancelled", 30*time.Second, func() bool { return h.show(mine).State == "cancelled" })
	if r := l.as("bob", "cancel", idArg(bobs)); r.code != 0 {
		t.Fatalf("bob cancelling his job:\n%s", r)
	}

	// The actor is who the credential belongs to, whatever the client says.
	code, body := l.call(t, l.tokens["alice"], "POST", "/v1/jobs", `{"argv":["true"],"project":"mars"}`, "X-Burst-User", "mallory")
	if code != 201 {
		t.Fatalf("alice's submit with X-Burst-User: mallory: %d %s", code, body)
	}
	var j struct {
		ID   int64  `json:"id"`
		User string `json:"user"`
	}
	json.Unmarshal([]byte(body), &j)
	if j.User != "alice" {
		t.Errorf("job submitted with alice's credential and X-Burst-User: mallory records user %q, want alice", j.User)
	}
	h.waitFor("the job ends", 30*time.Second, func() bool { return terminal(h.show(j.ID).State) })
	var evs []struct {
		Actor, Kind, Target string
	}
	json.Unmarshal([]byte(h.mustRun("events", "--project", "mars", "-o", "json").stdout), &evs)
	actors := map[string]string{}
	for _, e := range evs {
		if e.Kind == "job.submit" {
			actors[e.Target] = e.Actor
		}
		if e.Actor == "mallory" {
			t.Errorf("an event names the actor the client asserted: %+v", e)
		}
	}
	if a := actors["job "+idArg(j.ID)]; a != "alice" {
		t.Errorf("the audit event of job %d names %q, want alice (events: %+v)", j.ID, a, evs)
	}
	// cost --by user: by the authenticated submitter.
	var rep struct {
		Lines []struct{ Key string } `json:"lines"`
	}
	h.waitFor("cost by user names alice and bob", 30*time.Second, func() bool {
		json.Unmarshal([]byte(l.as("alice", "cost", "--by", "user", "-o", "json").stdout), &rep)
		keys := map[string]bool{}
		for _, l := range rep.Lines {
			keys[l.Key] = true
		}
		return keys["alice"] && keys["bob"] && !keys["mallory"]
	})

	// A removed user is refused at once; so is a revoked credential.
	h.mustRun("user", "token", "revoke", "vic")
	if code, msg := l.call(t, l.tokens["vic"], "GET", "/v1/projects", ""); code != 401 || !strings.Contains(msg, "burst user token NAME") {
		t.Errorf("vic's revoked credential: %d %s, want 401", code, msg)
	}
	// What the server is, any user may ask; where it keeps its files on its
	// host, only an admin.
	for who, secret := range map[string]string{"alice": l.tokens["alice"], "the admin": l.admin} {
		code, body := l.call(t, secret, "GET", "/v1/health", "")
		var got client.Health
		if code != 200 || json.Unmarshal([]byte(body), &got) != nil || got.Version == "" {
			t.Errorf("GET /v1/health as %s: %d %s", who, code, body)
			continue
		}
		if shown := got.Home != "" || got.Socket != "" || got.PID != 0; shown != (who == "the admin") {
			t.Errorf("GET /v1/health as %s names the server's home, socket or pid: %v, want %v (%s)", who, shown, who == "the admin", body)
		}
	}
	h.mustRun("user", "rm", "nora")
	if code, msg := l.call(t, l.tokens["nora"], "GET", "/v1/health", ""); code != 401 {
		t.Errorf("removed nora's credential: %d %s, want 401", code, msg)
	}
	attacks += 2
	// The jobs that went through the refusals: each ended as its owner
	// asked (cancelled by its own submitter, or run to success), none lost
	// nor cut by a refused request.
	row := faultRow{Fault: "user calling an action above their role"}
	for id, want := range map[int64]string{mine: "cancelled", bobs: "cancelled", j.ID: "succeeded"} {
		row.Tasks++
		if st := h.show(id).State; st != want {
			row.FailedWrongly++
			t.Errorf("job %d ended %s, want %s", id, st, want)
		}
	}
	recordFault(t, row)
	t.Logf("%d attacks refused", attacks)
}

// A member's task on this host runs as the server's Unix user and could
// read $BURST_HOME/token, the admin's: without --trust-members-on, a job
// of a user who is not an admin is refused on the built-in local cluster,
// and the refusal names the way out (a joined or Slurm cluster, or the
// admin's opt-in). A job names only clusters of its own project: alice
// (member of mars) cannot put mars's work on venus's cluster vbox, by the
// job's cluster or a pipe stage's --on, and the refusal neither confirms
// vbox nor names venus; it lists mars's clusters only. The home's token
// still runs anything on local.
func TestMembersClusters(t *testing.T) {
	t.Parallel()
	l := newLabOn(t)
	h := l.h
	h.mustRun("project", "create", "venus")
	h.mustRun("cluster", "create", "vbox", "--type", "t2.micro", "--project", "venus", "--max", "1")
	h.mustRun("cluster", "create", "lab", "--provider", "joined", "--project", "mars")
	row := faultRow{Fault: "member job on the server's host or another project's cluster"}

	r := l.as("alice", "run", "--project", "mars", "-d", "--", "sh", "-c", "cat $BURST_HOME/token")
	row.Tasks++
	if r.code == 0 || !strings.Contains(r.stderr, "--trust-members-on local") || !strings.Contains(r.stderr, "joined machines") ||
		!strings.Contains(r.stderr, "(--on NAME; yours: lab)") {
		row.FailedWrongly++
		t.Errorf("alice's job on local without --trust-members-on: want a refusal naming the fix\n%s", r)
	}
	// An admin user is trusted as the admin: local is hers.
	h.mustRun("user", "add", "ada", "--admin")
	ada := strings.TrimSpace(h.mustRun("user", "token", "ada").stdout)
	if code, msg := l.call(t, ada, "POST", "/v1/jobs", `{"argv":["true"],"project":"mars"}`); code != 201 {
		t.Errorf("an admin user's job on local: %d %s, want 201", code, msg)
	}
	for _, body := range []string{
		`{"argv":["true"],"project":"mars","cluster":"vbox"}`,
		`{"project":"mars","cluster":"lab","pipe":{"stages":[{"name":"a","argv":["true"]},{"name":"b","argv":["cat"],"cluster":"vbox"}]}}`,
	} {
		code, msg := l.call(t, l.tokens["alice"], "POST", "/v1/jobs", body)
		row.Tasks++
		if code != 400 || !strings.Contains(msg, `no cluster "vbox" for project mars`) || !strings.Contains(msg, "may use for it are lab") ||
			strings.Contains(msg, "venus") {
			row.FailedWrongly++
			t.Errorf("alice's job of mars naming venus's vbox (%s): %d %q, want 400 listing lab only, naming no venus", body, code, msg)
		}
	}
	// An admin user is told whose it is.
	if code, msg := l.call(t, ada, "POST", "/v1/jobs", `{"argv":["true"],"project":"mars","cluster":"vbox"}`); code != 400 || !strings.Contains(msg, "belongs to project venus") {
		t.Errorf("an admin user's job of mars on vbox: %d %q, want 400 naming venus", code, msg)
	}
	// Nothing of the refused was recorded: mars holds ada's job only.
	var jobs []struct{ User string }
	json.Unmarshal([]byte(h.mustRun("jobs", "--project", "mars", "-o", "json").stdout), &jobs)
	if len(jobs) != 1 || jobs[0].User != "ada" {
		t.Errorf("mars's jobs after the refusals: %+v, want ada's only", jobs)
	}
	// Her job may go to mars's own cluster: past those checks, it meets
	// the one that lab has no machine yet.
	if code, msg := l.call(t, l.tokens["alice"], "POST", "/v1/jobs", `{"argv":["true"],"project":"mars","cluster":"lab"}`); code != 400 || !strings.Contains(msg, "cluster lab has no machine yet") {
		t.Errorf("alice's job on mars's lab: %d %s, want 400 saying lab has no machine yet", code, msg)
	}
	// The home's token still runs on local.
	if r := h.run("run", "--project", "mars", "--", "true"); r.code != 0 {
		t.Errorf("the admin's job on local:\n%s", r)
	}
	recordFault(t, row)
}

// The role matrix (issue #15: "every API route × owner/member/viewer/
// none"): every route of the policy table, called by the admin (the
// home's token), an owner, a member, a viewer and a user with no role in
// the project, against the real server. What each may do is what
// docs/security-users.md's table says; the matrix is printed.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	h := l.h
	h.mustRun("cluster", "create", "lab", "--type", "t2.micro", "--project", "mars", "--max", "1")
	job := detachedID(t, l.as("bob", "run", "--project", "mars", "-d", "--", "true"))
	h.waitFor("bob's job ends", 30*time.Second, func() bool { return terminal(h.show(job).State) })
	jid := idArg(job)
	// A machine of mars's cluster, for the machine routes.
	if code, msg := l.call(t, l.admin, "POST", "/v1/clusters/lab/start", ""); code != 201 {
		t.Fatalf("start a machine in lab: %d %s", code, msg)
	}
	var ms []struct {
		ID string `json:"id"`
	}
	_, msg := l.call(t, l.admin, "GET", "/v1/machines?cluster=lab", "")
	if json.Unmarshal([]byte(msg), &ms); len(ms) == 0 {
		t.Fatalf("no machine in lab: %s", msg)
	}
	mid := ms[0].ID
	// A machine's own credential, as a machine that joined mars's cluster
	// of joined machines holds it (POST /v1/join with a join token).
	mach, machName := joinedCredential(t, l, "mars")
	// A blob mars holds (an input put by hand), for the blob and storage
	// routes; another digest for uploads that the store does not hold.
	dg := h.blobFile("matrix.bin", 4096)
	h.mustRun("storage", "put", "matrix.bin", "--project", "mars")
	fresh := "sha256:" + strings.Repeat("0", 64)
	// A stack of mars, for the routes that edit one (the server reads a
	// version's manifest from its tar: the blob must be one).
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "tool"), []byte("echo tool\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.mustRun("stack", "create", "marsstack", "--from-dir", rootfs, "--project", "mars")

	// want: for each of admin, owner, member, viewer, none, machine: "ok"
	// (past the policy: any answer but its refusals), "403" or "404". A
	// machine's credential serves the agent protocol and the health alone.
	type row struct {
		method, path, body string
		want               [6]string
	}
	all := [6]string{"ok", "ok", "ok", "ok", "ok", "403"}
	seen := [6]string{"ok", "ok", "ok", "ok", "404", "403"}
	member := [6]string{"ok", "ok", "ok", "403", "404", "403"}
	owner := [6]string{"ok", "ok", "403", "403", "404", "403"}
	admin := [6]string{"ok", "403", "403", "403", "403", "403"}
	notUsers := [6]string{"ok", "403", "403", "403", "403", "ok"}
	rows := []row{
		{"GET", "/v1/health", "", [6]string{"ok", "ok", "ok", "ok", "ok", "ok"}},
		{"GET", "/metrics", "", admin}, // and a metrics credential (TestMetricsCredential)
		{"GET", "/v1/types", "", all},
		{"GET", "/v1/tiers", "", all},
		{"GET", "/v1/whoami", "", all},
		{"GET", "/v1/nothing-here", "", all},
		{"GET", "/v1/jobs", "", all},
		{"GET", "/v1/jobs?project=mars", "", seen},
		{"GET", "/v1/jobs/" + jid, "", seen},
		{"GET", "/v1/jobs/" + jid + "/tasks", "", seen},
		{"GET", "/v1/ids/" + jid, "", seen},
		{"GET", "/v1/jobs/" + jid + "/wait?timeout_ms=1", "", seen},
		{"GET", "/v1/jobs/" + jid + "/logs", "", seen},
		{"GET", "/v1/jobs/" + jid + "/attach", "", seen},
		{"GET", "/v1/jobs/" + jid + "/results", "", seen},
		{"GET", "/v1/jobs/" + jid + "/output", "", seen},
		{"POST", "/v1/jobs/" + jid + "/signal?signal=10", "", owner},       // as cancel: bob's job, others need the owner role
		{"POST", "/v1/jobs/" + jid + "/notify", `{"message":"hi"}`, owner}, // as signal
		{"POST", "/v1/jobs/" + jid + "/cancel", "", owner},                 // bob's job: others need the owner role
		{"POST", "/v1/jobs/" + jid + "/requeue", "", owner},                // as cancel (bob's job has ended: refused past the policy)
		{"POST", "/v1/jobs/" + jid + "/requeuehold", "", owner},            // as requeue
		{"POST", "/v1/jobs/" + jid + "/hold", "", owner},                   // as cancel (ended: refused past the policy)
		{"POST", "/v1/jobs/" + jid + "/release", "", owner},                // as cancel
		{"POST", "/v1/jobs/" + jid + "/update", `{"name":"x"}`, owner},     // as cancel (ended: refused past the policy)
		{"POST", "/v1/jobs/" + jid + "/resume", "{}", owner},
		{"POST", "/v1/jobs", `{"argv":["true"],"project":"mars"}`, member},
		{"POST", "/v1/jobs/check", `{"argv":["true"],"project":"mars"}`, member},
		{"GET", "/v1/projects", "", all},
		{"POST", "/v1/projects", `{"name":"p-NAME"}`, admin},
		{"GET", "/v1/projects/mars", "", seen},
		{"PATCH", "/v1/projects/mars", `{"budget_usd":100}`, owner},
		{"GET", "/v1/projects/mars/budget", "", seen},
		{"GET", "/v1/projects/mars/members", "", seen},
		{"PUT", "/v1/projects/mars/members/alice", `{"role":"member"}`, owner},
		{"DELETE", "/v1/projects/mars/members/nobody", "", owner},
		{"GET", "/v1/cost", "", all},
		{"GET", "/v1/cost?project=mars&by=user", "", seen},
		{"GET", "/v1/events", "", all},
		{"GET", "/v1/events?project=mars", "", seen},
		{"GET", "/v1/clusters", "", all},
		{"POST", "/v1/clusters", `{"name":"c-NAME","type":"t2.micro","project":"mars","max":1}`, owner},
		{"POST", "/v1/clusters/lab/start", "", owner},
		{"GET", "/v1/machines", "", all},
		{"GET", "/v1/machines?cluster=lab", "", seen},
		{"POST", "/v1/machines/" + mid + "/start", "", owner},
		{"POST", "/v1/machines/" + mid + "/stop", "", owner},
		{"POST", "/v1/machines/" + mid + "/terminate", "", owner},
		{"DELETE", "/v1/clusters/c-admin", "", owner},
		{"GET", "/v1/users", "", admin},
		{"POST", "/v1/users", `{"name":"u-NAME"}`, admin},
		{"POST", "/v1/users/nora/tokens", "", admin},
		{"POST", "/v1/users/u-admin/revoke", "", admin},
		{"DELETE", "/v1/users/u-admin", "", admin},
		{"GET", "/v1/backup", "", admin},
		{"POST", "/v1/agent/register", "{}", notUsers},
		{"POST", "/v1/agent/lease", "{}", notUsers},
		{"POST", "/v1/agent/report", "{}", notUsers},
		{"POST", "/v1/ui/code", "", all},
		{"POST", "/v1/agent/output?machine=lab-1&boot=b&job=" + jid + "&task=0&attempt=1&stream=stdout&offset=0", "x", notUsers},
		{"POST", "/v1/join-tokens", `{"cluster":"lab","ttl":"1m"}`, admin},
		{"GET", "/v1/join-tokens", "", admin},
		{"DELETE", "/v1/join-tokens/999", "", admin},
		// The exchange takes no bearer token: the join token in its body
		// is the credential, and a wrong one is refused whoever asks.
		{"POST", "/v1/join", `{"token":"burst_j_wrong"}`, [6]string{"401?", "401?", "401?", "401?", "401?", "401?"}},
		{"GET", "/v1/jobs/" + jid + "/outputs", "", seen},
		{"POST", "/v1/agent/interrupted", "{}", notUsers},
		// Blobs: who may depends on what holds them (internal/server/blobs.go).
		{"POST", "/v1/blobs/uploads", `{"project":"mars","kind":"input","blobs":[{"digest":"` + fresh + `","size":1}]}`, member},
		{"PUT", "/v1/blobs/" + fresh + "?project=mars&kind=input", "x", member},
		{"POST", "/v1/blobs?project=mars&kind=input&size=1", "x", member}, // a new file sent in one pass, named by the server
		{"POST", "/v1/blobs/" + fresh + "/done?project=mars&kind=input&size=1", "", member},
		{"GET", "/v1/blobs/" + dg, "", [6]string{"ok", "ok", "ok", "ok", "404", "404"}}, // a machine reads only what its tasks use
		{"GET", "/v1/storage", "", admin},
		{"PUT", "/v1/storage", `{"url":"embedded"}`, admin},
		{"GET", "/v1/storage/blobs?project=mars", "", seen},
		{"POST", "/v1/storage/rm", `{"project":"mars","digests":["` + dg + `"],"dry_run":true}`, member},
		{"POST", "/v1/storage/tier", `{"project":"mars","all":true,"to":"ssd","dry_run":true}`, member},
		{"PUT", "/v1/storage/rules", `{"project":"mars","action":"delete","after_s":86400}`, owner},
		{"GET", "/v1/jobs/" + jid + "/cache", "", seen},
		{"GET", "/v1/cache", "", all},
		{"GET", "/v1/cache?project=mars", "", seen},
		{"GET", "/v1/cache/stats?project=mars", "", seen},
		{"POST", "/v1/cache/rm", `{"project":"mars","all":true}`, member},
		{"PUT", "/v1/cache/default", `{"project":"mars","cache":"on"}`, owner},
		// Stacks: every user sees them; making a version takes a member of
		// its project (the body names it), removing one too.
		{"GET", "/v1/stacks", "", all},
		{"GET", "/v1/stacks/nosuch", "", all},
		{"GET", "/v1/stacks/nosuch/diff?other=nosuch:2", "", all},
		{"POST", "/v1/stacks", `{"name":"s-NAME","project":"mars"}`, member},
		{"DELETE", "/v1/stacks/nosuch", "", [6]string{"ok", "ok", "ok", "ok", "ok", "403"}}, // a stack no one has: "no stack", but never to a machine
		{"POST", "/v1/jobs/" + jid + "/stack-commit", `{"as":"s-NAME"}`, member},            // no stack: refused past the policy
		{"POST", "/v1/stacks/marsstack/share", `{"ttl":"1h"}`, member},                      // links 1 to 3
		{"GET", "/v1/stack-links", "", all},
		{"DELETE", "/v1/stack-links/1", "", member}, // alice revokes it; bob and the admin are told it was
		// A stack link's secret is the pull routes' credential: a user's
		// or a machine's token is no link, refused whoever sends it.
		{"GET", "/v1/stack-pull", "", [6]string{"401?", "401?", "401?", "401?", "401?", "401?"}},
		{"GET", "/v1/stack-pull/blobs/" + dg, "", [6]string{"401?", "401?", "401?", "401?", "401?", "401?"}},
		{"DELETE", "/v1/stacks/marsstack", "", member},                                           // mars's: its members only (alice removes it; bob then finds none)
		{"GET", "/v1/dist/burst?arch=nosuch", "", [6]string{"ok", "ok", "ok", "ok", "ok", "ok"}}, // no credential needed
		{"POST", "/v1/machines/" + mid + "/revoke", "", owner},                                   // last: it loses the machine
	}
	// To nora (no role in mars) mars's job, cluster and machine are answered
	// in the very words an unknown one gets, naming no project.
	for _, c := range []struct{ real, unknown, a, b string }{
		{"/v1/jobs/" + jid, "/v1/jobs/987654", jid, "987654"},
		{"/v1/ids/" + jid, "/v1/ids/987654", jid, "987654"},
		{"/v1/jobs/" + jid + "/logs", "/v1/jobs/987654/logs", jid, "987654"},
		{"/v1/jobs/" + jid + "/attach", "/v1/jobs/987654/attach", jid, "987654"},
		{"/v1/machines?cluster=lab", "/v1/machines?cluster=nosuch", "lab", "nosuch"},
		{"/v1/machines/" + mid + "/stop", "/v1/machines/nosuch-1/stop", mid, "nosuch-1"},
		{"/v1/clusters/lab/start", "/v1/clusters/nosuch/start", "lab", "nosuch"},
	} {
		method := "GET"
		if strings.HasSuffix(c.real, "/stop") || strings.HasSuffix(c.real, "/start") {
			method = "POST"
		}
		code1, m1 := l.call(t, l.tokens["nora"], method, c.real, "")
		code2, m2 := l.call(t, l.tokens["nora"], method, c.unknown, "")
		if code1 != 404 || code1 != code2 || strings.ReplaceAll(m1, c.a, "X") != strings.ReplaceAll(m2, c.b, "X") || strings.Contains(m1, "mars") {
			t.Errorf("nora's %s: %d %q; an unknown one (%s): %d %q: want the same 404, naming no project", c.real, code1, m1, c.unknown, code2, m2)
		}
	}
	who := [6]string{"admin", "bob", "alice", "vic", "nora", machName}
	roles := [6]string{"admin", "owner", "member", "viewer", "none", "machine"}
	var tbl strings.Builder
	var names []string
	fmt.Fprintf(&tbl, "%-48s %-7s %-7s %-7s %-7s %-7s %-7s\n", "route", roles[0], roles[1], roles[2], roles[3], roles[4], roles[5])
	for _, rw := range rows {
		fmt.Fprintf(&tbl, "%-48s", rw.method+" "+rw.path)
		// The refused first, so that what one allowed does not change what
		// the next one is asked (the owner deletes the cluster the admin
		// then finds gone: still past the policy).
		var got [6]string
		for i := 5; i >= 0; i-- {
			secret, path, body := l.admin, rw.path, strings.ReplaceAll(rw.body, "NAME", roles[i])
			switch {
			case i == 5:
				// The machine speaks for itself on the agent routes, as
				// its agent does (another machine's name is refused there
				// by the handler, not the policy).
				secret, path = mach, strings.ReplaceAll(path, "machine=lab-1", "machine="+machName)
				if strings.HasPrefix(path, "/v1/agent/") && body == "{}" {
					body = `{"machine":"` + machName + `"}`
				}
			case i > 0:
				secret = l.tokens[who[i]]
			}
			code, msg := l.call(t, secret, rw.method, path, body)
			switch {
			case code == 403 && strings.HasPrefix(msg, "403:"):
				got[i] = "403"
			case code == 404 && (strings.HasPrefix(msg, "404: no project mars") || strings.HasPrefix(msg, "no job "+jid+":") ||
				strings.HasSuffix(msg, "see `burst cluster list` for the clusters you may use") || strings.HasPrefix(msg, `no machine "`+mid+`":`)):
				// What a job, cluster or machine of a project she holds no
				// role in gets: what an unknown one gets (checked above).
				got[i] = "404"
			case code == 403 && strings.HasPrefix(rw.path, "/v1/blobs"):
				got[i] = "403" // the server decides who may, by what holds the blob (fromBlob)
			case code == 404 && strings.HasPrefix(msg, "no blob "):
				got[i] = "404" // what a blob one may not read gets: what an unknown one gets
			case code == 401, code == 403, code == 500:
				got[i] = fmt.Sprintf("%d?", code)
			default:
				got[i] = "ok"
			}
			if got[i] != rw.want[i] {
				t.Errorf("%s %s as %s (%s): %d %q, want %s", rw.method, rw.path, who[i], roles[i], code, msg, rw.want[i])
			}
		}
		for i := range got {
			fmt.Fprintf(&tbl, " %-7s", got[i])
		}
		tbl.WriteString("\n")
		names = append(names, rw.method+" "+rw.path)
	}
	t.Logf("role matrix (ok: past the policy; 403: refused, naming the role; 404: the project does not exist for them):\n%s", tbl.String())
	checkTableCovers(t, names)
	uiMatrix(t, l, jid, mach)
}

// joinedCredential is a machine credential (burst_m_) of a cluster of
// joined machines in project, got as a machine gets it: a join token
// exchanged at POST /v1/join; and the machine's name.
func joinedCredential(t *testing.T, l *lab, project string) (secret, machine string) {
	t.Helper()
	l.h.mustRun("cluster", "create", "joinlab", "--provider", "joined", "--project", project)
	tok := l.h.joinToken("--cluster", "joinlab")
	resp, err := http.Post(l.addr+"/v1/join", "application/json", strings.NewReader(`{"token":"`+tok.Token+`","machine":"matrix-m"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j struct{ Machine, Credential string }
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || resp.StatusCode != 200 || !strings.HasPrefix(j.Credential, "burst_m_") {
		t.Fatalf("POST /v1/join: %d %+v %v; want a burst_m_ credential", resp.StatusCode, j, err)
	}
	return j.Credential, j.Machine
}

// uiMatrix is the role matrix of the dashboard's pages: each user signed
// in with their own credential (the admin with the server's token), the
// machine with its credential as a bearer token, which the dashboard does
// not take (it is sent to sign in, and its credential signs nobody in).
func uiMatrix(t *testing.T, l *lab, jid, mach string) {
	t.Helper()
	all := [6]string{"ok", "ok", "ok", "ok", "ok", "login"}
	seen := [6]string{"ok", "ok", "ok", "ok", "404", "login"}
	rows := []struct {
		path string
		want [6]string
	}{
		{"/ui/", all},
		{"/ui/clusters", all},
		{"/ui/events", all},
		{"/ui/projects/mars", seen},
		{"/ui/jobs/" + jid, seen},
		{"/ui/jobs/" + jid + "/log?task=0", seen},
		{"/ui/no-such-page", [6]string{"404", "404", "404", "404", "404", "login"}},
		{"/ui/login", [6]string{"home", "home", "home", "home", "home", "ok"}}, // signed in: sent to the overview
	}
	who := [6]string{"admin", "bob", "alice", "vic", "nora", "machine"}
	var clients [6]*http.Client
	for i := 0; i < 5; i++ {
		secret := l.admin
		if i > 0 {
			secret = l.tokens[who[i]]
		}
		clients[i] = l.signInWith(t, who[i], secret)
	}
	// A machine's credential signs nobody in.
	if c := l.trySignIn(t, mach); c != nil {
		t.Errorf("a machine credential signed in on the dashboard")
	}
	clients[5] = &http.Client{}
	var tbl strings.Builder
	for _, rw := range rows {
		fmt.Fprintf(&tbl, "%-48s", "GET "+rw.path)
		for i, c := range clients {
			c = &http.Client{Jar: c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, _ := http.NewRequest("GET", l.addr+rw.path, nil)
			req.Header.Set("Accept", "text/html")
			if i == 5 {
				req.Header.Set("Authorization", "Bearer "+mach)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close() // a stream (events, a log) is not read: its status says enough
			got := fmt.Sprintf("%d?", resp.StatusCode)
			switch {
			case resp.StatusCode == 200:
				got = "ok"
			case resp.StatusCode == 303 && resp.Header.Get("Location") == "/ui/login":
				got = "login"
			case resp.StatusCode == 303 && resp.Header.Get("Location") == "/ui/":
				got = "home"
			case resp.StatusCode == 404:
				got = "404"
			}
			if got != rw.want[i] {
				t.Errorf("GET %s as %s: %d (%s), want %s", rw.path, who[i], resp.StatusCode, resp.Header.Get("Location"), rw.want[i])
			}
			fmt.Fprintf(&tbl, " %-7s", got)
		}
		tbl.WriteString("\n")
	}
	t.Logf("dashboard matrix (admin owner member viewer none machine; login: sent to sign in; home: to the overview):\n%s", tbl.String())
}

// checkTableCovers fails when a route of internal/api's policy table is
// not in the matrix: a route added there must be added here too.
func checkTableCovers(t *testing.T, rows []string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(moduleDir, "internal", "api", "policy.go"))
	if err != nil {
		t.Fatal(err)
	}
	pat := regexp.MustCompile(`"((?:GET|POST|PUT|PATCH|DELETE) /v1/[^"]*)":`)
	var missing []string
	for _, m := range pat.FindAllStringSubmatch(string(src), -1) {
		segs := strings.Split(m[1], "/")
		for i, seg := range segs {
			if strings.HasPrefix(seg, "{") {
				segs[i] = "[^/?]+"
			} else {
				segs[i] = regexp.QuoteMeta(seg)
			}
		}
		re := regexp.MustCompile("^" + strings.Join(segs, "/") + `(\?.*)?$`)
		found := false
		for _, r := range rows {
			found = found || re.MatchString(r)
		}
		if !found {
			missing = append(missing, m[1])
		}
	}
	if len(missing) > 0 {
		t.Errorf("routes of the policy table missing from the role matrix: %s", strings.Join(missing, ", "))
	}
}

// The dashboard signs a user in with their own credential and shows them
// only their projects: nora (no role in mars) does not see it, and mars's
// job pages are 404 for her; alice sees mars.
func TestUsersDashboard(t *testing.T) {
	t.Parallel()
	t.Run("loopback", func(t *testing.T) { usersDashboard(t, newLab(t)) })
	t.Run("bridge over TLS", func(t *testing.T) {
		l := newLabTLS(t)
		usersDashboard(t, l)
		dashboardFromHost(t, l)
	})
}

func usersDashboard(t *testing.T, l *lab) {
	h := l.h
	h.mustRun("project", "create", "venus")
	job := detachedID(t, l.as("alice", "run", "--project", "mars", "-d", "--", "true"))
	get := func(c *http.Client, path string) (int, string) {
		c = &http.Client{Jar: c.Jar, Transport: c.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", l.addr+path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	alice, nora := l.signIn(t, "alice"), l.signIn(t, "nora")
	if code, page := get(alice, "/ui/"); code != 200 || !strings.Contains(page, "/ui/projects/mars") || strings.Contains(page, "/ui/projects/venus") {
		t.Errorf("alice's overview: %d; want mars and not venus listed", code)
	}
	if code, page := get(nora, "/ui/"); code != 200 || strings.Contains(page, "/ui/projects/mars") {
		t.Errorf("nora's overview: %d; mars must not be listed", code)
	}
	if code, _ := get(alice, "/ui/jobs/"+idArg(job)); code != 200 {
		t.Errorf("alice's job page: %d, want 200", code)
	}
	for _, p := range []string{"/ui/jobs/" + idArg(job), "/ui/projects/mars"} {
		if code, _ := get(nora, p); code != 404 {
			t.Errorf("nora's %s: %d, want 404", p, code)
		}
	}
	// Her API calls from the page are hers too.
	req, _ := http.NewRequest("GET", l.addr+"/v1/projects", nil)
	resp, err := nora.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ps []struct{ Name string }
	json.NewDecoder(resp.Body).Decode(&ps)
	resp.Body.Close()
	if len(ps) != 0 {
		t.Errorf("nora's page lists projects %+v, want none", ps)
	}
	// A sign-in code she asked for before her credential was revoked.
	code, body := l.call(t, l.tokens["alice"], "POST", "/v1/ui/code", "")
	var ui struct{ Code string }
	if json.Unmarshal([]byte(body), &ui); code != 201 || ui.Code == "" {
		t.Fatalf("alice's sign-in code: %d %s", code, body)
	}
	// Revoking her credential ends the session made with it.
	h.mustRun("user", "token", "revoke", "alice")
	if code, _ := get(alice, "/ui/projects/mars"); code == 200 {
		t.Errorf("alice's session after her credential was revoked: %d, want a sign-in", code)
	}
	// Her code makes no session, and the page says why.
	jar, _ := cookiejar.New(nil)
	late := &http.Client{Jar: jar, Transport: l.tr}
	code, page := get(late, "/ui/login?code="+ui.Code)
	if code != 401 || !strings.Contains(page, "revoked") {
		t.Errorf("alice's code minted before the revoke: %d, want 401 saying it was revoked\n%s", code, page)
	}
	u, _ := url.Parse(l.addr)
	for _, c := range jar.Cookies(u) {
		if c.Name == "burst_session" {
			t.Errorf("alice's code minted before the revoke made a session")
		}
	}
}

// dashboardFromHost signs bob in on the dashboard from test host 1, as his
// browser on another machine would (curl, verifying the server's CA, which
// reaches the host in the script: the host sees nothing of the server's
// home): the session's cookie is Secure and HttpOnly, and his overview
// lists mars.
func dashboardFromHost(t *testing.T, l *lab) {
	script := `set -e
cat > /tmp/ca.pem <<'EOF'
` + string(l.ca) + `EOF
j=/tmp/cookies
c() { curl -sS --fail --cacert /tmp/ca.pem -c $j -b $j "$@"; }
csrf=$(c "$URL/ui/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
test -n "$csrf"
c -o /dev/null -H "Origin: $URL" --data-urlencode "csrf=$csrf" --data-urlencode "token=$TOKEN" "$URL/ui/login"
c "$URL/ui/" | grep -c '/ui/projects/mars'
grep burst_session $j
`
	cmd := l.h.hostExec(1, "sh", "-c", script)
	cmd.Env = append(cmd.Env, "URL="+l.addr, "TOKEN="+l.tokens["bob"])
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("signing in from test host 1: %v\n%s", err, out)
	}
	// curl's cookie file: #HttpOnly_DOMAIN FLAG PATH SECURE EXPIRES NAME VALUE
	var cookie []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 7 && f[5] == "burst_session" {
			cookie = f
		}
	}
	if cookie == nil || !strings.HasPrefix(cookie[0], "#HttpOnly_") || cookie[3] != "TRUE" {
		t.Errorf("the session cookie set over TLS: %q, want HttpOnly and Secure\n%s", cookie, out)
	}
}

// signIn signs user in on the dashboard with their own credential, as a
// browser does (the sign-in form, its CSRF field); the client holds the
// session's cookie.
func (l *lab) signIn(t *testing.T, user string) *http.Client {
	t.Helper()
	return l.signInWith(t, user, l.tokens[user])
}

// signInWith signs in with secret (user names who it is, in messages).
func (l *lab) signInWith(t *testing.T, user, secret string) *http.Client {
	t.Helper()
	c := l.trySignIn(t, secret)
	if c == nil {
		t.Fatalf("%s could not sign in on the dashboard with their credential", user)
	}
	return c
}

// trySignIn submits the sign-in form with secret: the signed-in client,
// or nil when the dashboard did not sign it in.
func (l *lab) trySignIn(t *testing.T, secret string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: l.tr}
	resp, err := c.Get(l.addr + "/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field on the sign-in page: %s", page)
	}
	req, _ := http.NewRequest("POST", l.addr+"/ui/login", strings.NewReader(url.Values{"csrf": {string(m[1])}, "token": {secret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", l.addr)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/ui/" {
		return nil
	}
	return c
}

// detachedID is the job id `burst run -d` printed.
func detachedID(t *testing.T, r result) int64 {
	t.Helper()
	id, err := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
	if r.code != 0 || err != nil {
		t.Fatalf("want a job id on stdout:\n%s", r)
	}
	return id
}

// A burst user of a shared server need not be an account of the host that
// asks: squeue, sacct and scancel take -u alice when a job the server
// lists is hers, and refuse a name neither the host nor the server knows.
func TestSlurmUsersOfTheServer(t *testing.T) {
	t.Parallel()
	l := newLabVenus(t)
	if _, err := user.Lookup("nora"); err == nil {
		t.Skip("!!! SKIPPED: this host has an account named nora: the test needs a burst user the host lacks")
	}
	r := l.as("nora", "run", "-d", "--project", "venus", "--", "sleep", "30")
	if r.code != 0 {
		t.Fatalf("nora submits: %s", r)
	}
	id := strings.TrimSpace(r.stdout)
	if r := l.h.run("slurm", "squeue", "-h", "-u", "nora", "-o", "%i %u"); r.code != 0 || r.stdout != id+" nora\n" || r.stderr != "" {
		t.Errorf("squeue -u nora: %s", r)
	}
	if r := l.h.run("slurm", "sacct", "-X", "-n", "-P", "-u", "nora", "-o", "JobID,User"); r.code != 0 || r.stdout != id+"|nora\n" {
		t.Errorf("sacct -u nora: %s", r)
	}
	if r := l.h.run("slurm", "sacct", "-u", "no-such-user-here"); r.code != 1 || !strings.Contains(r.stderr, "Invalid user id: no-such-user-here") {
		t.Errorf("sacct -u of a user nobody knows: %s", r)
	}
	if r := l.h.run("slurm", "scancel", "-u", "nora"); r.code != 0 {
		t.Errorf("scancel -u nora: %s", r)
	}
}
