package client

import (
	"context"
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
