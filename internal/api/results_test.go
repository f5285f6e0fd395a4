package api

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/store"
)

// sparseRows stands in for the store of a cancelled array of many tasks,
// most of which never ran and so have no row: the rows it holds are those
// of rowAt, and it counts the queries.
type sparseRows struct {
	*standIn
	rows    []*store.TaskRow
	queries int
}

func (f *sparseRows) TaskRows(ctx context.Context, job int64, from, limit int) ([]*store.TaskRow, error) {
	f.queries++
	var out []*store.TaskRow
	for _, r := range f.rows {
		if r.Index >= from && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *sparseRows) Watch(id int64) <-chan struct{} { return nil } // the job has ended

// The output of a job of 300,000 tasks of which two have rows (ran) and
// the rest none (cancelled before they ran) is read with a query per page
// of rows, not one per task: a cancelled array of 4,000,001 tasks kept the
// server busy for minutes, its client answered nothing.
func TestOutputSkipsRowlessTasksInPages(t *testing.T) {
	out := outputFiles(t)
	f := &sparseRows{standIn: &standIn{}, rows: []*store.TaskRow{
		{Task: burst.Task{Index: 3, State: burst.Succeeded, Stdout: out("3.out", "three\n")}},
		{Task: burst.Task{Index: 250_000, State: burst.Succeeded, Stdout: out("250000.out", "many\n")}},
	}}
	f.job = func(ctx context.Context, id int64) (*store.JobRow, error) {
		return &store.JobRow{Job: burst.Job{ID: id, State: burst.Cancelled, Spec: &burst.JobSpec{},
			Tasks: burst.TaskCounts{Total: 300_000, Succeeded: 2, Cancelled: 299_998}}}, nil
	}
	r := httptest.NewRequest("GET", "/v1/jobs/7/output", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	newTest(t, f).ServeHTTP(w, r)
	if w.Body.String() != "three\nmany\n" || w.Result().Trailer.Get("X-Burst-Next-Task") != "300000" {
		t.Fatalf("output %q, next task %q; want both tasks' output and the end", w.Body.String(), w.Result().Trailer.Get("X-Burst-Next-Task"))
	}
	if f.queries > 3 {
		t.Errorf("%d queries of task rows to walk 300,000 tasks holding 2 rows; want a page's few", f.queries)
	}
}

// endingRows stands in for a job whose task 1 runs and ends, and the job
// with it, while task 0's output is being streamed.
type endingRows struct {
	sparseRows
	watched int
	later   *store.TaskRow
}

func (f *endingRows) Watch(id int64) <-chan struct{} {
	f.watched++
	if f.watched == 1 {
		return make(chan struct{}) // active while task 0 is read
	}
	if f.later != nil {
		f.rows, f.later = append(f.rows, f.later), nil
	}
	return nil // ended, task 1 with it
}

// A followed job that ends while its output streams: the tasks that ran
// after the page of rows was read are read, not skipped as never run.
func TestOutputFollowReadsRowsOfAJobThatEnded(t *testing.T) {
	write := outputFiles(t)
	f := &endingRows{sparseRows: sparseRows{standIn: &standIn{}, rows: []*store.TaskRow{
		{Task: burst.Task{Index: 0, State: burst.Succeeded, Stdout: write("0.out", "zero\n")}},
	}}, later: &store.TaskRow{Task: burst.Task{Index: 1, State: burst.Succeeded, Stdout: write("1.out", "one\n")}}}
	f.job = func(ctx context.Context, id int64) (*store.JobRow, error) {
		return &store.JobRow{Job: burst.Job{ID: id, State: burst.Running, Spec: &burst.JobSpec{}, Tasks: burst.TaskCounts{Total: 2, Running: 1, Succeeded: 1}}}, nil
	}
	r := httptest.NewRequest("GET", "/v1/jobs/7/output?follow=true", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	newTest(t, f).ServeHTTP(w, r)
	if w.Body.String() != "zero\none\n" {
		t.Fatalf("followed output %q; want both tasks' (task 1 ran and ended after the page was read)", w.Body.String())
	}
}

// outputFiles writes a task's output file, by name, in a directory of the
// test's, and returns its path.
func outputFiles(t *testing.T) func(name, text string) string {
	dir := t.TempDir()
	return func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
}
