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
