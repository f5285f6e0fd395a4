package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/store"
)

// standIn is a stand-in for the server: the Backend methods a test sets
// answer; any other panics (the embedded interface is nil), so that a
// handler reaching for more than the test expects fails loudly.
type standIn struct {
	Backend
	submit  func(ctx context.Context, actor string, spec *burst.JobSpec) (*burst.Job, error)
	lease   func(ctx context.Context, l *client.Lease) (*client.Leased, error)
	report  func(ctx context.Context, r *client.Report) error
	job     func(ctx context.Context, id int64) (*store.JobRow, error)
	session func(ctx context.Context, idHash string) (*store.SessionRow, error)
}

func (f *standIn) Health() client.Health { return client.Health{Version: "test"} }

// PrincipalOfCredential: the stand-in knows no user.
func (f *standIn) PrincipalOfCredential(string) *auth.Principal { return nil }

func (f *standIn) Submit(ctx context.Context, actor string, spec *burst.JobSpec) (*burst.Job, error) {
	return f.submit(ctx, actor, spec)
}

func (f *standIn) Lease(ctx context.Context, l *client.Lease) (*client.Leased, error) {
	return f.lease(ctx, l)
}

func (f *standIn) Report(ctx context.Context, r *client.Report) error {
	return f.report(ctx, r)
}

// Principal: the stand-in knows no credential but the home's token.
func (f *standIn) Principal(ctx context.Context, secret string) (*auth.Principal, error) {
	return nil, nil
}

func (f *standIn) Job(ctx context.Context, id int64) (*store.JobRow, error) { return f.job(ctx, id) }

func (f *standIn) JobHead(ctx context.Context, id int64, kinds ...string) (*store.JobRow, error) {
	j, err := f.job(ctx, id)
	if err != nil || slices.Contains(kinds, j.Kind) {
		return j, err
	}
	head := *j
	head.Spec = nil
	return &head, nil
}

func (f *standIn) Session(ctx context.Context, idHash string) (*store.SessionRow, error) {
	if f.session == nil {
		return nil, nil
	}
	return f.session(ctx, idHash)
}

const (
	token     = "s3cret"
	tokenFile = "/home/ada/.burst/token"
)

func newTest(t *testing.T, b Backend) http.Handler {
	t.Helper()
	h, err := New(b, Options{Token: token, TokenFile: tokenFile, ServerLog: "/tmp/server.log", User: "ada", Addr: "http://127.0.0.1:7780"})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// call serves one request and returns its status and body.
func call(h http.Handler, method, path, body string, hdr map[string]string) (int, string) {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if _, ok := hdr["Authorization"]; !ok {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

func errMessage(t *testing.T, body string) string {
	t.Helper()
	var e client.Error
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("body %q is not an error in JSON: %v", body, err)
	}
	return e.Message
}

// Every API route wants the bearer token (docs/api.md, "Authentication");
// without it the answer is a 401 that says what to send and where the
// token is, without the path of the token's file: whoever asks learns no
// path of the server's host.
func TestAuth(t *testing.T) {
	h := newTest(t, &standIn{})
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"missing", "", 401},
		{"wrong token", "Bearer nope", 401},
		{"not bearer", token, 401},
		{"right token", "Bearer " + token, 200},
		{"scheme in lower case", "bearer " + token, 200}, // RFC 9110: the scheme is case-insensitive
		{"scheme in capitals", "BEARER " + token, 200},
		{"scheme alone", "bearer ", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(h, "GET", "/v1/health", "", map[string]string{"Authorization": tc.auth})
			if code != tc.want {
				t.Fatalf("status %d, want %d (%s)", code, tc.want, body)
			}
			if code == 401 {
				msg := errMessage(t, body)
				if !strings.Contains(msg, `"Authorization: Bearer TOKEN"`) || !strings.Contains(msg, "token of its BURST_HOME") {
					t.Fatalf("401 says %q: want the header to send and where the token is", msg)
				}
				if strings.Contains(body, tokenFile) || strings.Contains(body, filepath.Dir(tokenFile)) {
					t.Fatalf("401 says %q: it names the token file's path", msg)
				}
			}
		})
	}
}

// Errors the server returns become the statuses docs/api.md lists, with
// the server's message as the body.
func TestErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"bad request", apierr.BadRequestf("--cpus %d: give 1 or more", 0), 400, "--cpus 0: give 1 or more"},
		{"bad request wrapped", fmt.Errorf("admit: %w", &apierr.BadRequest{Msg: "raise the budget"}), 400, "raise the budget"},
		{"no job", &apierr.NoJob{ID: 42}, 404, "no job 42: see `burst jobs` for the jobs that exist"},
		{"named thing missing", &apierr.NotFound{Msg: "no project \"x\""}, 404, "no project \"x\""},
		{"store row missing", store.ErrNotFound, 404, store.ErrNotFound.Error()},
		{"conflict", apierr.ErrConflict, 409, apierr.ErrConflict.Error()},
		{"disk full", fmt.Errorf("submit: %w", &apierr.NoSpace{Msg: "free 1 MiB on /srv"}), 507, "free 1 MiB on /srv"},
		{"anything else", errors.New("disk full"), 500, "disk full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &standIn{submit: func(context.Context, string, *burst.JobSpec) (*burst.Job, error) { return nil, tc.err }}
			code, body := call(newTest(t, b), "POST", "/v1/jobs", `{"argv":["true"]}`, nil)
			if code != tc.code {
				t.Fatalf("status %d, want %d (%s)", code, tc.code, body)
			}
			if got := errMessage(t, body); got != tc.msg {
				t.Fatalf("message %q, want %q", got, tc.msg)
			}
			if Status(tc.err) != tc.code {
				t.Fatalf("Status(%v) = %d, want %d", tc.err, Status(tc.err), tc.code)
			}
		})
	}
}

// A body the API cannot read is the client's to fix: 400, naming what is
// wrong, and the backend is never asked.
func TestDecodeErrors(t *testing.T) {
	asked := false
	b := &standIn{
		submit: func(context.Context, string, *burst.JobSpec) (*burst.Job, error) {
			asked = true
			return &burst.Job{}, nil
		},
		lease: func(context.Context, *client.Lease) (*client.Leased, error) {
			asked = true
			return &client.Leased{}, nil
		},
		report: func(context.Context, *client.Report) error {
			asked = true
			return nil
		},
	}
	h := newTest(t, b)
	for _, tc := range []struct {
		name, path, body, want string
	}{
		{"unknown field", "/v1/jobs", `{"argv":["true"],"colour":"red"}`, `unknown field "colour"`},
		{"not JSON", "/v1/jobs", `{"argv":`, "unexpected EOF"},
		{"no body", "/v1/jobs", ``, "the request has no body: send a JSON object"},
		{"report: no body", "/v1/agent/report", " \n", "the request has no body: send a JSON object"},
		{"wrong type", "/v1/agent/lease", `{"machine":7}`, `cannot unmarshal number into "machine": it must be a string`},
		{"an array for a job", "/v1/jobs", `[]`, "the body is a JSON array; it must be an object"},
		// A report is read by hand when it has the common shape
		// (client.Report.DecodeJSON); anything else gets encoding/json's
		// answer, as before.
		{"report: wrong type", "/v1/agent/report", `{"machine":7}`, "cannot unmarshal number"},
		{"report: a fraction", "/v1/agent/report", `{"machine":"m","events":[{"job":1.5}]}`, "cannot unmarshal number 1.5"},
		{"report: two values", "/v1/agent/report", `{"machine":"m","events":[]} {}`, "something follows the JSON value"},
		{"report: cut short", "/v1/agent/report", `{"machine":"m","events":[{"job":1`, "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(h, "POST", tc.path, tc.body, nil)
			msg := errMessage(t, body)
			if code != 400 || !strings.HasPrefix(msg, "bad request body: ") || !strings.Contains(msg, tc.want) {
				t.Fatalf("status %d %q, want 400 with %q", code, msg, tc.want)
			}
		})
	}
	if asked {
		t.Fatal("the backend was asked with a body that could not be read")
	}
}

// The agent protocol's bodies take fields the server does not know, and
// the server acts on those it knows: an agent newer than its server is
// served (docs/api.md, Versions). Before, a lease with the load a newer
// agent tells was refused, `unknown field "load"`, and the agent never
// got work. A user's body stays strict (TestDecodeErrors).
func TestAgentBodiesTakeUnknownFields(t *testing.T) {
	var leased, reported []string
	h := newTest(t, &standIn{
		lease: func(_ context.Context, l *client.Lease) (*client.Leased, error) {
			leased = append(leased, l.Machine)
			return &client.Leased{}, nil
		},
		report: func(_ context.Context, r *client.Report) error {
			reported = append(reported, r.Machine)
			return nil
		},
	})
	for _, tc := range []struct{ path, body string }{
		{"/v1/agent/lease", `{"machine":"m","boot_id":"b","wait_ms":0,"ack":0,"colour":{"r":1}}`},
		{"/v1/agent/report", `{"machine":"m","boot_id":"b","events":[],"colour":1}`},
		{"/v1/agent/report", `{"machine":"m","boot_id":"b","events":[{"job":1,"index":0,"attempt":1,"kind":"progress","colour":[1]}]}`},
	} {
		if code, body := call(h, "POST", tc.path, tc.body, nil); code != 200 {
			t.Errorf("POST %s %s: %d %s, want 200", tc.path, tc.body, code, body)
		}
	}
	if !slices.Equal(leased, []string{"m"}) || !slices.Equal(reported, []string{"m", "m"}) {
		t.Fatalf("the backend leased for %q and took reports of %q; want [m] and [m m]", leased, reported)
	}
}

// A report reaches the backend the same whether the API reads it by hand
// (the common shape) or with encoding/json (a key in another case, an
// escaped string: what the hand-written reader leaves to it).
func TestReportReadEitherWay(t *testing.T) {
	var got []client.Report
	h := newTest(t, &standIn{report: func(_ context.Context, r *client.Report) error {
		got = append(got, *r)
		return nil
	}})
	at := time.Date(2026, 12, 4, 20, 0, 0, 5000, time.UTC)
	code := 0
	want := client.Report{Machine: "m<1>", BootID: "b", SentAt: &at, Events: []client.TaskEvent{{TaskRef: client.TaskRef{Job: 2, Index: 3, Attempt: 1},
		Kind: client.EventExited, State: burst.Succeeded, ExitCode: &code, EndedAt: &at, OutPack: "/h/pack-m.out", OutFrom: 5, OutTo: 7}}}
	fast, err := want.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	fast = bytes.ReplaceAll(fast, []byte(`\u003c`), []byte("<"))
	fast = bytes.ReplaceAll(fast, []byte(`\u003e`), []byte(">"))
	slow := bytes.Replace(bytes.Replace(fast, []byte(`"machine"`), []byte(`"Machine"`), 1), []byte("m<1>"), []byte(`m\u003c1\u003e`), 1)
	var r client.Report
	if !r.DecodeJSON(fast) || r.DecodeJSON(slow) {
		t.Fatalf("the bodies do not take the two ways: %s and %s", fast, slow)
	}
	for _, body := range [][]byte{fast, slow} {
		if code, resp := call(h, "POST", "/v1/agent/report", string(body), nil); code != 200 {
			t.Fatalf("POST %s: %d %s", body, code, resp)
		}
	}
	if len(got) != 2 || !reflect.DeepEqual(got[0], want) || !reflect.DeepEqual(got[1], want) {
		t.Fatalf("the backend got %+v, want %+v twice", got, want)
	}
}

// A body past MaxBody is answered 413 with the limit named, and the
// backend is never asked; one just within it is read whole. (Before, the
// body was cut at the limit and answered 400 "unexpected EOF".)
func TestBodyLimit(t *testing.T) {
	var got int
	b := &standIn{submit: func(_ context.Context, _ string, s *burst.JobSpec) (*burst.Job, error) {
		got = len(s.Script)
		return &burst.Job{ID: 1}, nil
	}}
	h := newTest(t, b)
	body := func(n int) string {
		const head, tail = `{"argv":["true"],"script":"`, `"}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	code, out := call(h, "POST", "/v1/jobs", body(MaxBody+1), nil)
	if msg := errMessage(t, out); code != 413 || !strings.Contains(msg, "more than 67108864 bytes (64 MiB), the limit") {
		t.Fatalf("a body of MaxBody+1 bytes: status %d %q; want 413 naming the limit", code, msg)
	}
	if got != 0 {
		t.Fatal("the backend was asked with a body past the limit")
	}
	if code, out := call(h, "POST", "/v1/jobs", body(MaxBody), nil); code != 201 || got != MaxBody-len(`{"argv":["true"],"script":""}`) {
		t.Fatalf("a body of MaxBody bytes: status %d (%.200s), script of %d bytes read", code, out, got)
	}
}

// A body holds one JSON value: a second one after it is refused, not
// dropped (`{...} {...}` was answered 201 for the first alone).
func TestBodyOneValue(t *testing.T) {
	calls := 0
	b := &standIn{submit: func(_ context.Context, _ string, s *burst.JobSpec) (*burst.Job, error) {
		calls++
		return &burst.Job{ID: 1}, nil
	}}
	h := newTest(t, b)
	for _, body := range []string{`{"argv":["true"]} {"argv":["false"]}`, `{"argv":["true"]} x`} {
		code, out := call(h, "POST", "/v1/jobs", body, nil)
		if msg := errMessage(t, out); code != 400 || !strings.Contains(msg, "send one value") {
			t.Errorf("%s: status %d %q; want 400 saying one value", body, code, msg)
		}
	}
	if calls != 0 {
		t.Errorf("the backend was asked %d times with a body of two values", calls)
	}
	if code, out := call(h, "POST", "/v1/jobs", "{\"argv\":[\"true\"]}\n  \n", nil); code != 201 {
		t.Errorf("one value and white space: status %d %s; want 201", code, out)
	}
}

// The actor is the user the client names in X-Burst-User when that is a
// valid name, else the server's own user.
func TestActor(t *testing.T) {
	var got string
	b := &standIn{submit: func(ctx context.Context, actor string, _ *burst.JobSpec) (*burst.Job, error) {
		got = actor
		return &burst.Job{ID: 1}, nil
	}}
	h := newTest(t, b)
	for _, tc := range []struct{ user, want string }{{"", "ada"}, {"grace", "grace"}, {"no such/user", "ada"}} {
		code, body := call(h, "POST", "/v1/jobs", `{"argv":["true"]}`, map[string]string{"X-Burst-User": tc.user})
		if code != 201 || got != tc.want {
			t.Fatalf("X-Burst-User %q: status %d (%s), actor %q; want 201 and %q", tc.user, code, body, got, tc.want)
		}
	}
}

// Paths that name no job, and paths that name no endpoint.
func TestPaths(t *testing.T) {
	b := &standIn{job: func(_ context.Context, id int64) (*store.JobRow, error) { return nil, &apierr.NoJob{ID: id} }}
	h := newTest(t, b)
	for _, tc := range []struct {
		method, path string
		code         int
		msg          string
	}{
		{"GET", "/v1/jobs/abc", 400, `job id "abc" is not a number: see ` + "`burst jobs`"},
		{"GET", "/v1/jobs/0/tasks", 400, `job id "0" is not a number: see ` + "`burst jobs`"},
		{"DELETE", "/v1/join-tokens/0", 400, `join token id "0" is not a number: see ` + "`burst join-token list`"},
		{"GET", "/v1/jobs/9/results", 404, "no job 9: see `burst jobs` for the jobs that exist"},
		{"GET", "/v1/nothing", 404, "no such endpoint: GET /v1/nothing (see docs/api.md)"},
	} {
		code, body := call(h, tc.method, tc.path, "", nil)
		if code != tc.code || errMessage(t, body) != tc.msg {
			t.Fatalf("%s %s: status %d %s; want %d %q", tc.method, tc.path, code, body, tc.code, tc.msg)
		}
	}
}

// The dashboard wants a session: a browser without one is sent to sign
// in, a script gets 401; a signed-in page may call the API with its
// cookie, but a POST without the session's CSRF token is refused.
func TestDashboardSession(t *testing.T) {
	const id, csrf = "cookie-id", "csrf-token"
	b := &standIn{
		session: func(_ context.Context, idHash string) (*store.SessionRow, error) {
			made := token
			switch idHash {
			case hashHex(id):
			case hashHex("old"): // made before the token changed
				made = "the old token"
			default:
				return nil, nil
			}
			return &store.SessionRow{IDHash: idHash, User: "ui-ada", CSRF: csrf, TokenHash: hashHex(made), Expires: time.Now().Add(time.Hour)}, nil
		},
		submit: func(_ context.Context, actor string, _ *burst.JobSpec) (*burst.Job, error) {
			return &burst.Job{ID: 7, Project: actor}, nil
		},
	}
	h := newTest(t, b)
	cookie := sessionCookie + "=" + id
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		code               int
		want               string // in the body, or the Location
	}{
		{"browser signs in first", "GET", "/ui/", map[string]string{"Accept": "text/html"}, 303, "/ui/login"},
		{"script signs in first", "GET", "/ui/clusters", nil, 401, "sign in first"},
		{"no token, no session", "POST", "/v1/jobs", map[string]string{"Authorization": ""}, 401, "missing or wrong token"},
		{"page without CSRF", "POST", "/v1/jobs", map[string]string{"Authorization": "", "Cookie": cookie}, 403, "CSRF"},
		{"page with wrong CSRF", "POST", "/v1/jobs", map[string]string{"Authorization": "", "Cookie": cookie, "X-CSRF-Token": "nope"}, 403, "CSRF"},
		{"page from another site", "POST", "/v1/jobs", map[string]string{"Authorization": "", "Cookie": cookie, "X-CSRF-Token": csrf, "Origin": "http://evil.example"}, 403, "CSRF"},
		{"page with CSRF", "POST", "/v1/jobs", map[string]string{"Authorization": "", "Cookie": cookie, "X-CSRF-Token": csrf}, 201, `"project":"ui-ada"`},
		{"unknown session", "POST", "/v1/jobs", map[string]string{"Authorization": "", "Cookie": sessionCookie + "=other", "X-CSRF-Token": csrf}, 401, "missing or wrong token"},
		{"session of another token", "POST", "/v1/jobs", map[string]string{"Authorization": "", "Cookie": sessionCookie + "=old", "X-CSRF-Token": csrf}, 401, "missing or wrong token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{"argv":["true"]}`))
			r.Header.Set("Authorization", "Bearer "+token)
			for k, v := range tc.hdr {
				r.Header.Del(k)
				if v != "" {
					r.Header.Set(k, v)
				}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			got := w.Body.String() + w.Header().Get("Location")
			if w.Code != tc.code || !strings.Contains(got, tc.want) {
				t.Fatalf("status %d %q; want %d with %q", w.Code, got, tc.code, tc.want)
			}
		})
	}
}

// A listing's ?limit= is at most burst.MaxListRows, as the tasks route's:
// before, /v1/jobs and /v1/events read and encoded as many rows as asked.
func TestListLimits(t *testing.T) {
	h := newTest(t, &standIn{}) // no JobList nor Events: asking them would panic
	for _, path := range []string{"/v1/jobs?limit=10001", "/v1/events?limit=1000000000", "/v1/jobs?limit=-1", "/v1/events?limit=x"} {
		code, out := call(h, "GET", path, "", nil)
		if msg := errMessage(t, out); code != 400 || !strings.Contains(msg, "give 0 (the default) to 10000 rows") {
			t.Errorf("%s: status %d %q; want 400 naming the limit", path, code, msg)
		}
	}
	// A job's tasks and results too: they were cut to 1,000 rows without a
	// word, which a client asking for 20,000 could take for all there are.
	h = newTest(t, &standIn{job: func(context.Context, int64) (*store.JobRow, error) {
		return &store.JobRow{Job: burst.Job{ID: 1, Project: "default"}}, nil
	}})
	for _, path := range []string{"/v1/jobs/1/tasks?limit=20000", "/v1/jobs/1/results?limit=10001", "/v1/jobs/1/tasks?limit=-1", "/v1/jobs/1/outputs?limit=20000"} {
		code, out := call(h, "GET", path, "", nil)
		if msg := errMessage(t, out); code != 400 || !strings.Contains(msg, "give 0 (the default) to 10000 rows") {
			t.Errorf("%s: status %d %q; want 400 naming the limit", path, code, msg)
		}
	}
	// A negative or unreadable ?from= was read as 0 without a word (the
	// logs' ?offset=-1 is refused), and an unknown ?state= as a filter
	// nothing matches: an empty listing, where `burst jobs --state` names
	// the states.
	for path, want := range map[string]string{
		"/v1/jobs/1/tasks?from=-1":        `from "-1": give the index to start at, 0 or more`,
		"/v1/jobs/1/results?from=x":       `from "x"`,
		"/v1/jobs/1/outputs?from=-3":      `from "-3"`,
		"/v1/jobs/1/output?from=-3":       `from "-3"`,
		"/v1/jobs/1/tasks?state=bogus":    `state "bogus": give queued, running, succeeded, failed, cancelled, timeout or lost`,
		"/v1/jobs?state=running&state=ok": `state "ok"`,
	} {
		code, out := call(h, "GET", path, "", nil)
		if msg := errMessage(t, out); code != 400 || !strings.Contains(msg, want) {
			t.Errorf("%s: status %d %q; want 400 with %q", path, code, msg, want)
		}
	}
}
