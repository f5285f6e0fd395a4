package session_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/session"
)

// quiet is an owner with nothing to run.
type quiet struct{}

func (quiet) Registration(*client.Register) {}
func (quiet) Handle(*client.Leased)         {}
func (quiet) Kill(client.TaskRef)           {}

// TestStartWaitsForItsExit checks that a task's started event waits
// (StartLinger) for its exit, so that a short task costs its server one
// report and one write, not two; and that the exit itself is not held.
func TestStartWaitsForItsExit(t *testing.T) {
	var mu sync.Mutex
	var reports [][]client.TaskEvent
	got := make(chan struct{}, 16)
	registered := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/agent/register":
			io.Copy(io.Discard, r.Body)
			w.Write([]byte(`{"boot_id":"b"}`))
			once.Do(func() { close(registered) })
		case "/v1/agent/lease":
			select { // nothing to hand out
			case <-r.Context().Done():
			case <-time.After(100 * time.Millisecond):
			}
			w.Write([]byte(`{"tasks":[]}`))
		case "/v1/agent/report":
			var rep client.Report
			if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
				t.Errorf("report: %v", err)
			}
			mu.Lock()
			reports = append(reports, rep.Events)
			mu.Unlock()
			got <- struct{}{}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cl, err := client.New(srv.URL, "t")
	if err != nil {
		t.Fatal(err)
	}
	var lock sync.Mutex
	s := session.New(session.Config{Client: cl, Mu: &lock, StartLinger: time.Hour, Register: client.Register{Machine: "m"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, quiet{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	<-registered

	ref := client.TaskRef{Job: 1, Index: 0, Attempt: 1}
	now := time.Now().UTC()
	s.Emit(client.TaskEvent{TaskRef: ref, Kind: client.EventStarted, PID: 42, StartedAt: &now})
	// Time enough for a reporter that does not wait to send the start alone.
	time.Sleep(50 * time.Millisecond)
	code := 0
	s.Emit(client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Succeeded, ExitCode: &code, EndedAt: &now})
	n := 0
	for n < 2 { // both events reported: the exit was not held (StartLinger is an hour)
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("events not reported within 10s: %v", reports)
		}
		mu.Lock()
		n = 0
		for _, r := range reports {
			n += len(r)
		}
		mu.Unlock()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 1 {
		t.Errorf("a task's start and exit went in %d reports, want 1: %v", len(reports), reports)
	}
}
