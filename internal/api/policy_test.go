package api

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/store"
)

// Every route registered on the mux has an entry in the policy table: a
// route added without one fails here (and is refused with a 500 at run
// time), so that no route goes unchecked. The routes are read from the
// package's source: every mux.Handle/HandleFunc with a literal pattern.
func TestRouteTableComplete(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fs := gotoken.NewFileSet()
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fs, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok {
				t.Errorf("%s: a route whose pattern is not a literal: the policy table cannot be checked", fs.Position(call.Pos()))
				return true
			}
			pattern, _ := strconv.Unquote(lit.Value)
			seen++
			if _, ok := routes[pattern]; !ok {
				t.Errorf("%s: route %q has no entry in the policy table (policy.go: routes)", fs.Position(call.Pos()), pattern)
			}
			return true
		})
	}
	if seen < 40 {
		t.Fatalf("found only %d routes in the package's source: the test reads the wrong files", seen)
	}
}

// machineIn stands for a backend that knows one machine credential.
type machineIn struct{ standIn }

func (machineIn) Principal(_ context.Context, secret string) (*auth.Principal, error) {
	if secret == "burst_m_x" {
		return &auth.Principal{Kind: auth.Machine, Name: "m1", Machine: "m1", Cluster: "c"}, nil
	}
	return nil, nil
}

// A machine's credential is refused on every route but the agent
// protocol's (and the dashboard's own, which take no bearer token): the
// matrix's machine column, over the real handler and the real table.
func TestMachineRefusedOffAgentRoutes(t *testing.T) {
	h := newTest(t, &machineIn{})
	n := 0
	for pattern, ru := range routes {
		if ru.action == auth.Agent || ru.action == auth.Probe || ru.from == fromNobody || ru.from == fromSession {
			continue
		}
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			method, path = "GET", "/v1/anything"
		}
		path = strings.NewReplacer("{id}", "1", "{name}", "mars", "{ref}", "1", "{user}", "alice").Replace(path)
		code, body := call(h, method, path, "{}", map[string]string{"Authorization": "Bearer burst_m_x"})
		if code != 403 || !strings.Contains(body, "agent protocol only") {
			t.Errorf("%s as a machine: %d %s, want 403", pattern, code, body)
		}
		n++
	}
	t.Logf("%d routes refused to a machine credential", n)
}

// visibleOf, the one filter of listings, keeps what a user holds a role
// in, everything for an admin, and nothing of an unknown project ("": a
// machine of a cluster gone).
func TestVisibleOf(t *testing.T) {
	type x struct{ name, project string }
	xs := []x{{"a", "mars"}, {"b", "venus"}, {"c", ""}}
	proj := func(v x) string { return v.project }
	names := func(vs []x) string {
		var out []string
		for _, v := range vs {
			out = append(out, v.name)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		p    *auth.Principal
		want string
	}{
		{&auth.Principal{Kind: auth.User, Name: "alice", Roles: map[string]string{"mars": "viewer"}}, "a"},
		{&auth.Principal{Kind: auth.User, Name: "nora"}, ""},
		{&auth.Principal{Kind: auth.User, Name: "ann", IsAdmin: true}, "a,b,c"},
		{&auth.Principal{Kind: auth.Admin, Name: "owner", IsAdmin: true}, "a,b,c"},
	} {
		if got := names(visibleOf(auth.With(context.Background(), c.p), xs, proj)); got != c.want {
			t.Errorf("%s sees %q, want %q", c.p.Name, got, c.want)
		}
	}
}

// The policy reads a route's {wildcards} as the mux gives them to its
// handler: an escaped slash in a project's, cluster's or job's segment
// (mine%2F..%2Fvenus) is one value, never a prefix of it the policy would
// check while the handler acted on the whole.
func TestPathValuesAsTheMux(t *testing.T) {
	mux := http.NewServeMux()
	got := map[string]string{}
	for pattern := range routes {
		if !strings.Contains(pattern, "{") {
			continue
		}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			for k, v := range pathValues(pattern, r.URL) {
				if r.PathValue(k) != v {
					got[r.URL.EscapedPath()] = fmt.Sprintf("%s: policy %q, handler %q", k, v, r.PathValue(k))
				}
			}
			got[r.URL.EscapedPath()+" served"] = "ok"
		})
	}
	for _, c := range []struct{ method, path string }{
		{"PATCH", "/v1/projects/mine%2F..%2Fvenus"},
		{"PUT", "/v1/projects/mine%2Fx/members/bob"},
		{"DELETE", "/v1/clusters/lab%2Fother"},
		{"POST", "/v1/machines/m%2F1/stop"},
		{"GET", "/v1/jobs/7%2F8/logs"},
		{"GET", "/v1/jobs/%37"},
		{"GET", "/v1/ids/12_3"},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		mux.ServeHTTP(httptest.NewRecorder(), r)
		if got[c.path+" served"] != "ok" {
			t.Errorf("%s %s: no route served it", c.method, c.path)
		}
		if d, ok := got[c.path]; ok {
			t.Errorf("%s %s: %s", c.method, c.path, d)
		}
	}
}

// memberIn stands for a backend that knows alice, a member of mars, and
// job 1, bob's, in mars.
type memberIn struct{ standIn }

func (memberIn) Principal(_ context.Context, secret string) (*auth.Principal, error) {
	if secret == "burst_u_alice" {
		return &auth.Principal{Kind: auth.User, Name: "alice", Credential: "c1", Roles: map[string]string{"mars": "member"}}, nil
	}
	return nil, nil
}

func (memberIn) Job(context.Context, int64) (*store.JobRow, error) {
	return &store.JobRow{Job: burst.Job{ID: 1, Project: "mars", User: "bob"}}, nil
}

// A member acting on another's job is refused by every route that acts on
// one (the Cancel action), each naming what it would have done: before,
// a refused hold, signal, update or resume said "cancelling bob's job".
func TestJobRouteRefusalNamesItsAction(t *testing.T) {
	h := newTest(t, &memberIn{})
	want := map[string]string{
		"cancel": "cancelling", "requeue": "requeueing", "requeuehold": "requeueing and holding",
		"hold": "holding", "release": "releasing", "update": "updating", "signal": "signalling",
		"notify": "notifying", "resume": "resuming",
	}
	n := 0
	for pattern, ru := range routes {
		if ru.action != auth.Cancel {
			continue
		}
		method, path, _ := strings.Cut(pattern, " ")
		verb := path[strings.LastIndexByte(path, '/')+1:]
		path = strings.Replace(path, "{id}", "1", 1)
		code, body := call(h, method, path, "{}", map[string]string{"Authorization": "Bearer burst_u_alice"})
		msg := errMessage(t, body)
		w := "403: " + want[verb] + " bob's job in mars needs the owner role; you are a member"
		if code != 403 || msg != w || want[verb] == "" {
			t.Errorf("%s as a member on bob's job: %d %q, want 403 %q", pattern, code, msg, w)
		}
		n++
	}
	if n < 8 {
		t.Fatalf("only %d routes under the Cancel action: the test reads the wrong table", n)
	}
}
