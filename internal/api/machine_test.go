package api

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

// machineStandIn knows one machine credential: machine m1 of cluster lab.
type machineStandIn struct {
	standIn
	leases int
}

const machineCred = client.MachineCredentialPrefix + "m1"

func (f *machineStandIn) Principal(ctx context.Context, secret string) (*auth.Principal, error) {
	if secret == machineCred {
		return &auth.Principal{Kind: auth.Machine, Name: "m1", Machine: "m1", Cluster: "lab"}, nil
	}
	return nil, nil
}

func (f *machineStandIn) Lease(ctx context.Context, l *client.Lease) (*client.Leased, error) {
	f.leases++
	return &client.Leased{}, nil
}

// routes are every route the API's files register ("METHOD /path"),
// read from its source so that a route added later is covered too.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("*.go")
	re := regexp.MustCompile(`HandleFunc\("((GET|POST|PATCH|DELETE|PUT) /v1/[^"]*)"`)
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
	}
	if len(out) < 30 {
		t.Fatalf("found %d routes in the API's files: the pattern no longer matches how they are registered", len(out))
	}
	return out
}

// A machine credential serves the agent protocol only (issue #15: an
// agent cannot submit jobs, read other projects' logs or change budgets):
// every other route answers 403 before any handler runs (the stand-in
// panics if one does), and the agent routes refuse to speak for another
// machine or cluster.
func TestMachineScope(t *testing.T) {
	f := &machineStandIn{}
	h := newTest(t, f)
	bearer := map[string]string{"Authorization": "Bearer " + machineCred}
	checked := 0
	for _, rt := range registeredRoutes(t) {
		method, path, _ := strings.Cut(rt, " ")
		if strings.HasPrefix(path, "/v1/agent/") || rt == "GET /v1/health" {
			continue
		}
		path = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(path, "1")
		code, body := call(h, method, path, "{}", bearer)
		if code != http.StatusForbidden || !strings.Contains(errMessage(t, body), auth.MachineScope) {
			t.Errorf("%s %s with a machine credential: %d %s, want 403 %q", method, path, code, body, auth.MachineScope)
		}
		checked++
	}
	if checked < 30 {
		t.Fatalf("checked %d routes", checked)
	}
	for _, tc := range []struct {
		name, path, body string
		want             int
		msg              string
	}{
		{"register as another machine", "/v1/agent/register", `{"machine":"m2","cluster":"lab"}`, 403, "cannot speak for machine m2"},
		{"register in another cluster", "/v1/agent/register", `{"machine":"m1","cluster":"local"}`, 403, "joined cluster lab, not local"},
		{"lease as another machine", "/v1/agent/lease", `{"machine":"m2","boot_id":"b"}`, 403, "cannot speak for machine m2"},
		{"report as another machine", "/v1/agent/report", `{"machine":"m2","boot_id":"b","events":[]}`, 403, "cannot speak for machine m2"},
		{"lease as itself", "/v1/agent/lease", `{"machine":"m1","boot_id":"b"}`, 200, ""},
	} {
		code, body := call(h, "POST", tc.path, tc.body, bearer)
		if code != tc.want || (tc.msg != "" && !strings.Contains(errMessage(t, body), tc.msg)) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, code, body, tc.want, tc.msg)
		}
	}
	if f.leases != 1 {
		t.Fatalf("the backend saw %d leases, want the machine's own one", f.leases)
	}
}
