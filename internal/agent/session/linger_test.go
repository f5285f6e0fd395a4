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

// fakeServer answers an agent's session: it registers it, leases it
// nothing, and records each report's events. The first report waits for
// hold, when set, before it is answered.
type fakeServer struct {
	mu      sync.Mutex
	reports [][]client.TaskEvent
	got     chan struct{}
	reg     chan struct{}
	hold    chan struct{}
}

func newFake(t *testing.T, hold chan struct{}, linger time.Duration, opts ...func(*session.Config)) (*fakeServer, *session.Session) {
	f := &fakeServer{got: make(chan struct{}, 16), reg: make(chan struct{}), hold: hold}
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/agent/register":
			io.Copy(io.Discard, r.Body)
			w.Write([]byte(`{"boot_id":"b"}`))
			once.Do(func() { close(f.reg) })
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
			f.mu.Lock()
			f.reports = append(f.reports, rep.Events)
			first := len(f.reports) == 1
			f.mu.Unlock()
			f.got <- struct{}{}
			if first && f.hold != nil {
				<-f.hold
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	cl, err := client.New(srv.URL, "t")
	if err != nil {
		t.Fatal(err)
	}
	var lock sync.Mutex
	cfg := session.Config{Client: cl, Mu: &lock, StartLinger: linger, Register: client.Register{Machine: "m"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	s := session.New(cfg, quiet{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	<-f.reg
	return f, s
}

// waitEvents waits until n events in all were reported, and returns the
// reports.
func (f *fakeServer) waitEvents(t *testing.T, n int) [][]client.TaskEvent {
	t.Helper()
	for {
		f.mu.Lock()
		got := 0
		for _, r := range f.reports {
			got += len(r)
		}
		reports := append([][]client.TaskEvent(nil), f.reports...)
		f.mu.Unlock()
		if got >= n {
			return reports
		}
		select {
		case <-f.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d events not reported within 10s: %v", n, reports)
		}
	}
}

func started(ref client.TaskRef) client.TaskEvent {
	now := time.Now().UTC()
	return client.TaskEvent{TaskRef: ref, Kind: client.EventStarted, PID: 42, StartedAt: &now}
}

func exited(ref client.TaskRef) client.TaskEvent {
	now, code := time.Now().UTC(), 0
	return client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Succeeded, ExitCode: &code, EndedAt: &now}
}

// TestStartWaitsForItsExit checks that a task's started event waits
// (StartLinger) for its exit, so that a short task costs its server one
// report and one write, not two; and that the exit itself is not held
// (StartLinger is an hour here).
func TestStartWaitsForItsExit(t *testing.T) {
	f, s := newFake(t, nil, time.Hour)
	ref := client.TaskRef{Job: 1, Index: 0, Attempt: 1}
	s.Emit(started(ref))
	// Time enough for a reporter that does not wait to send the start alone.
	time.Sleep(50 * time.Millisecond)
	s.Emit(exited(ref))
	if reports := f.waitEvents(t, 2); len(reports) != 1 {
		t.Errorf("a task's start and exit went in %d reports, want 1: %v", len(reports), reports)
	}
}

// TestStartWaitsAfterAReportInFlight: a task started while the report
// before it is in flight (under -j 2, the next task of a map starts while
// the last one's exit is being reported) also waits for its exit: it used
// to go alone, in the report that followed at once.
func TestStartWaitsAfterAReportInFlight(t *testing.T) {
	hold := make(chan struct{})
	f, s := newFake(t, hold, time.Hour)
	a, b := client.TaskRef{Job: 1, Index: 0, Attempt: 1}, client.TaskRef{Job: 1, Index: 1, Attempt: 1}
	s.Emit(exited(a))
	f.waitEvents(t, 1) // the first report is in flight, held by the server
	s.Emit(started(b))
	close(hold)
	time.Sleep(50 * time.Millisecond) // time enough to send the start alone
	s.Emit(exited(b))
	reports := f.waitEvents(t, 3)
	if len(reports) != 2 || len(reports[1]) != 2 {
		t.Errorf("want b's start and exit in the second report: %v", reports)
	}
}

// TestStartStaysQueuedPastOtherExits: under -j 2 a task's exit is reported
// while the next task runs; that task's start stays queued for its own
// exit (or StartLinger) instead of riding along, which would cost a read
// of its process's start time and a second write of its row.
func TestStartStaysQueuedPastOtherExits(t *testing.T) {
	f, s := newFake(t, nil, time.Hour)
	a, b := client.TaskRef{Job: 1, Index: 0, Attempt: 1}, client.TaskRef{Job: 1, Index: 1, Attempt: 1}
	s.Emit(started(b))
	s.Emit(exited(a))
	f.waitEvents(t, 1)
	s.Emit(exited(b))
	reports := f.waitEvents(t, 3)
	if len(reports) != 2 || len(reports[0]) != 1 || reports[0][0].TaskRef != a ||
		len(reports[1]) != 2 || reports[1][0].Kind != client.EventStarted || reports[1][1].Kind != client.EventExited {
		t.Errorf("want [a's exit] then [b's start, b's exit]: %v", reports)
	}
}

// TestStartOfALongTaskIsReported: a start whose task goes on running is
// reported once StartLinger has passed, with nothing else to wake it.
func TestStartOfALongTaskIsReported(t *testing.T) {
	f, s := newFake(t, nil, 20*time.Millisecond)
	a, b := client.TaskRef{Job: 1, Index: 0, Attempt: 1}, client.TaskRef{Job: 1, Index: 1, Attempt: 1}
	s.Emit(started(b))
	s.Emit(exited(a)) // reported at once, b's start left queued
	reports := f.waitEvents(t, 2)
	if len(reports) != 2 || reports[1][0].TaskRef != b || reports[1][0].Kind != client.EventStarted {
		t.Errorf("want [a's exit] then [b's start]: %v", reports)
	}
}

// TestLingerBeforeEveryReport: while its tasks end faster than a report's
// round trip, a busy agent lingers before each report, not only the first
// after a wake, so that the exits of several round trips go together.
// Before, the report that followed one in flight went as soon as that one
// was answered, with whatever one round trip had gathered (b's exit
// alone, here), and a map of short tasks sent reports back to back.
func TestLingerBeforeEveryReport(t *testing.T) {
	const linger = time.Second
	hold := make(chan struct{})
	f, s := newFake(t, hold, 0, func(c *session.Config) {
		c.Linger = func() time.Duration { return linger }
	})
	a, b, c := client.TaskRef{Job: 1, Index: 0, Attempt: 1}, client.TaskRef{Job: 1, Index: 1, Attempt: 1},
		client.TaskRef{Job: 1, Index: 2, Attempt: 1}
	s.Emit(exited(a))
	f.waitEvents(t, 1) // the first report is in flight, held by the server
	s.Emit(exited(b))
	close(hold)
	time.Sleep(linger / 10) // b's report lingers: c's exit, well within it, goes along
	s.Emit(exited(c))
	reports := f.waitEvents(t, 3)
	if len(reports) != 2 || len(reports[1]) != 2 || reports[1][0].TaskRef != b || reports[1][1].TaskRef != c {
		t.Errorf("want [a's exit] then [b's exit, c's exit] together: %v", reports)
	}
}

// TestStartGoesBeforeAFailure: a start is not held past the exit of a task
// that failed after it. Under -j 2 --halt soon,fail=, that failure stops
// the map, and the server lets run only the tasks it knows started: with
// b's start held, b (started before a's failure) was cancelled as never
// started, its output dropped while a later task's was printed (-k printed
// 0 1 3 where parallel prints 0 1 2 3).
func TestStartGoesBeforeAFailure(t *testing.T) {
	f, s := newFake(t, nil, time.Hour)
	a, b := client.TaskRef{Job: 1, Index: 0, Attempt: 1}, client.TaskRef{Job: 1, Index: 1, Attempt: 1}
	failed := exited(a)
	code := 3
	failed.State, failed.ExitCode = burst.Failed, &code
	s.Emit(started(b))
	s.Emit(failed)
	reports := f.waitEvents(t, 2)
	if len(reports) != 1 || len(reports[0]) != 2 || reports[0][0].TaskRef != b || reports[0][0].Kind != client.EventStarted ||
		reports[0][1].TaskRef != a {
		t.Errorf("want [b's start, a's exit] in one report: %v", reports)
	}
}
