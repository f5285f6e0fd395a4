package api

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/store"
)

// pagedRows answers a job's task rows from rows, and fails every read from
// index failAt on, as a store damaged in its middle does.
type pagedRows struct {
	*standIn
	rows   []*store.TaskRow
	failAt int
}

func (p *pagedRows) TaskRows(ctx context.Context, job int64, from, limit int) ([]*store.TaskRow, error) {
	if from >= p.failAt {
		return nil, errors.New("database disk image is malformed")
	}
	return p.rows[from:min(from+limit, p.failAt)], nil
}

func (p *pagedRows) Watch(int64) <-chan struct{} { return nil }

// A store error met after the output stream began (its status sent) is in
// the error trailer, not a clean end: the stream had printed 1,096 of
// 5,000 tasks and exited 0.
func TestOutputStoreErrorMidStream(t *testing.T) {
	dir := t.TempDir()
	const total, failAt = 2500, 1000
	b := &pagedRows{standIn: &standIn{}, failAt: failAt}
	for i := range total {
		path := filepath.Join(dir, "out")
		b.rows = append(b.rows, &store.TaskRow{Task: burst.Task{Index: i, State: burst.Succeeded, Stdout: path}})
	}
	if err := os.WriteFile(filepath.Join(dir, "out"), []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.job = func(ctx context.Context, id int64) (*store.JobRow, error) {
		return &store.JobRow{Job: burst.Job{ID: id, State: burst.Succeeded, Tasks: burst.TaskCounts{Total: total, Succeeded: total}}}, nil
	}
	h := newTest(t, b)
	r := httptest.NewRequest("GET", "/v1/jobs/7/output?from=0", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	if got := strings.Count(w.Body.String(), "\n"); got != failAt || res.StatusCode != 200 {
		t.Fatalf("status %d, %d lines: want 200 and the %d tasks read before the damage", res.StatusCode, got, failAt)
	}
	if msg := res.Trailer.Get(client.ErrorTrailer); !strings.Contains(msg, "task 1000") || !strings.Contains(msg, "malformed") {
		t.Errorf("trailer %s = %q, want the store's error at task 1000", client.ErrorTrailer, msg)
	}
}
