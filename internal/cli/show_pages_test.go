package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// burst show --tasks N reads N tasks a page of at most burst.MaxListRows at
// a time, the server's bound on one listing (a larger limit is refused).
func TestShowTasksInPages(t *testing.T) {
	const total = 25_000
	var asked []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from, _ := strconv.Atoi(r.URL.Query().Get("from"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		asked = append(asked, limit)
		if limit > burst.MaxListRows {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(client.Error{Message: "limit too large"})
			return
		}
		var ts []burst.Task
		for i := from; i < min(from+limit, total); i++ {
			ts = append(ts, burst.Task{Index: i})
		}
		json.NewEncoder(w).Encode(ts)
	}))
	defer srv.Close()
	cl, err := client.New(srv.URL, "t")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := showTasks(context.Background(), cl, 1, 0, 100_000)
	if err != nil || len(ts) != total || ts[total-1].Index != total-1 {
		t.Fatalf("%d tasks, %v; want all %d", len(ts), err, total)
	}
	if len(asked) != 3 {
		t.Errorf("pages asked: %v; want 3 of at most %d", asked, burst.MaxListRows)
	}
}
