package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
)

// A server older than the client refuses a field it does not know (a
// user's body is read strictly): the error says so and names the fix.
// Before, `burst sbatch` with `--time-min` against an older server
// printed only `bad request body: json: unknown field "time_min"`.
func TestOlderServerNamed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		w.Write([]byte(`{"error":"bad request body: json: unknown field \"time_min\""}`))
	}))
	defer srv.Close()
	c, err := New(srv.URL, "tok", WithRetry(Retry{}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Submit(context.Background(), &burst.JobSpec{Argv: []string{"true"}})
	const want = `bad request body: json: unknown field "time_min": the server runs an older burst than this client`
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "upgrade the server") {
		t.Fatalf("Submit: %v; want it to begin %q and name the fix", err, want)
	}
}

// A server newer than the client answers with a job whose spec carries a
// field the client does not know: the job is read without it. Before,
// `burst show` and `burst logs` of a newer CLI's `sbatch --time-min` job
// failed on an older CLI with `decode GET /v1/jobs/4: json: unknown
// field "time_min"` (a spec is read strictly, as a request is).
func TestNewerServerJobRead(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"id":9007199254740993,"name":"a<b","state":"queued","spec":{"argv":["true"],"time_min":5,` +
			`"batch":{"ntasks":2,"colour":"red"},"name":"a<b"},"later":{"time_min":1}}`))
	}))
	defer srv.Close()
	c, err := New(srv.URL, "tok", WithRetry(Retry{}))
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.Job(context.Background(), 1)
	if err != nil {
		t.Fatalf("Job: %v; want the job read without the fields this client does not know", err)
	}
	if j.ID != 9007199254740993 || j.Name != "a<b" || j.Spec == nil || len(j.Spec.Argv) != 1 || j.Spec.Argv[0] != "true" || j.Spec.Name != "a<b" || j.Spec.Batch == nil || j.Spec.Batch.NTasks != 2 {
		t.Fatalf("read %+v (spec %+v); want id 9007199254740993, name a<b, argv [true], 2 tasks", j, j.Spec)
	}
}

// A field this client sends that an older server refuses and the job can
// do without (a map's halt, a batch job's comment) is left out and the
// job submitted again; others are not. Before, `burst map --halt
// soon,fail=1` and `sbatch --comment` were refused by a server one build
// older (`json: unknown field "halt"`), where they had worked.
func TestOlderServerOptionalFieldsLeftOut(t *testing.T) {
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		for _, f := range []string{"halt", "comment", "time_min"} {
			if strings.Contains(string(b), `"`+f+`":`) {
				w.WriteHeader(400)
				fmt.Fprintf(w, `{"error":"bad request body: json: unknown field \"%s\""}`, f)
				return
			}
		}
		w.Write([]byte(`{"id":7,"state":"queued"}`))
	}))
	defer srv.Close()
	c, err := New(srv.URL, "tok", WithRetry(Retry{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []*burst.JobSpec{
		{Kind: burst.KindMap, Map: &burst.MapSpec{Template: []string{"echo"}, Halt: "soon,fail=1", MaxFailures: 0}},
		{Kind: burst.KindRun, Batch: &burst.BatchOptions{Comment: "run 3"}},
	} {
		bodies = nil
		j, err := c.Submit(context.Background(), spec)
		if err != nil || j.ID != 7 || len(bodies) != 2 {
			t.Fatalf("Submit: job %v, %v after %d requests; want job 7 after 2", j, err, len(bodies))
		}
		if (spec.Map != nil && spec.Map.Halt == "") || (spec.Batch != nil && spec.Batch.Comment == "") {
			t.Fatal("Submit changed the caller's spec")
		}
	}
	bodies = nil
	_, err = c.Submit(context.Background(), &burst.JobSpec{Kind: burst.KindRun, TimeMin: 60, Batch: &burst.BatchOptions{}})
	if err == nil || len(bodies) != 1 {
		t.Fatalf("a field the job cannot do without (time_min): %v after %d requests; want the refusal after 1", err, len(bodies))
	}
}
