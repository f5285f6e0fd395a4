package session_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/session"
	"github.com/burst-sh/burst/internal/home"
	"github.com/burst-sh/burst/internal/server"
)

// owner runs nothing: it keeps what it was handed as running until the
// test ends it, as an agent whose processes are slow would.
type owner struct {
	mu      sync.Mutex
	sess    *session.Session
	running map[client.TaskRef]bool
	handed  chan client.TaskRef
	killed  chan client.TaskRef
}

func (o *owner) Registration(r *client.Register) {
	for ref := range o.running {
		r.Running = append(r.Running, client.RunningTask{TaskRef: ref, PID: 1})
	}
}

func (o *owner) Handle(l *client.Leased) {
	for _, as := range l.Tasks {
		now := time.Now().UTC()
		o.mu.Lock()
		if o.running[as.TaskRef] {
			o.mu.Unlock()
			continue // handed out again
		}
		o.running[as.TaskRef] = true
		o.sess.EmitLocked(client.TaskEvent{TaskRef: as.TaskRef, Kind: client.EventStarted, PID: 1, StartedAt: &now})
		o.mu.Unlock()
		o.sess.Wake()
		o.handed <- as.TaskRef
	}
}

func (o *owner) Kill(ref client.TaskRef) { o.killed <- ref }

// end ends a task the way an agent does: it leaves the running set and its
// exit is queued in one critical section.
func (o *owner) end(ref client.TaskRef, code int) {
	now := time.Now().UTC()
	o.mu.Lock()
	delete(o.running, ref)
	o.sess.EmitLocked(client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Succeeded,
		ExitCode: &code, StartedAt: &now, EndedAt: &now})
	o.mu.Unlock()
	o.sess.Wake()
}

func startServer(t *testing.T, h home.Home) *server.Server {
	t.Helper()
	srv, err := server.Start(context.Background(), server.Config{Home: h, Port: 0, NoLocalAgent: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	return srv
}

func newClient(t *testing.T, h home.Home) *client.Client {
	t.Helper()
	tok, err := h.ReadToken()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New("unix://"+h.Socket(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func recv(t *testing.T, c chan client.TaskRef, what string) client.TaskRef {
	t.Helper()
	select {
	case ref := <-c:
		return ref
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s within 30 s", what)
		return client.TaskRef{}
	}
}

// A session against a real server: it registers, leases a task, reports
// its start; the server is then shut down, the task ends while no server
// runs, and a new server on the same home gets it from the session's
// registration (the task among those running, its exit among the events),
// so the job succeeds on its first attempt.
func TestSessionRidesOutServerRestart(t *testing.T) {
	h := home.Home(t.TempDir())
	srv := startServer(t, h)
	cl := newClient(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	o := &owner{running: map[client.TaskRef]bool{}, handed: make(chan client.TaskRef, 8), killed: make(chan client.TaskRef, 8)}
	o.sess = session.New(session.Config{Client: cl, Mu: &o.mu, LeaseWait: time.Second,
		Register: client.Register{Machine: "s1", Cluster: "local", Host: "test", CPUs: 2, MemBytes: 1 << 30},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil))}, o)
	done := make(chan error, 1)
	go func() { done <- o.sess.Run(ctx) }()

	// The server runs no agent of its own: the session's machine is the
	// only one of cluster local.
	job, err := cl.Submit(ctx, &burst.JobSpec{Argv: []string{"true"}, Workdir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ref := recv(t, o.handed, "task handed to the session")
	if ref.Job != job.ID || ref.Attempt != 1 {
		t.Fatalf("handed %+v, want job %d attempt 1", ref, job.ID)
	}
	waitState(t, cl, job.ID, func(j *burst.Job) bool { return j.Tasks.Running == 1 })

	srv.Shutdown()
	o.end(ref, 0) // while no server runs: the event waits in the session
	srv = startServer(t, h)
	defer srv.Shutdown()

	j := waitState(t, cl, job.ID, func(j *burst.Job) bool { return j.State.Terminal() })
	if j.State != burst.Succeeded || j.Tasks.Succeeded != 1 {
		t.Fatalf("job after the restart: %s, tasks %+v; want succeeded once", j.State, j.Tasks)
	}
	rs, err := cl.Results(ctx, job.ID, 0, 10, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Attempt != 1 {
		t.Fatalf("results %+v: want one, on attempt 1", rs)
	}
	select {
	case ref := <-o.killed:
		t.Fatalf("the new server asked to kill %+v", ref)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after its context ended: %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// GiveUp ends Run with its error once the server is unreachable.
func TestSessionGivesUp(t *testing.T) {
	h := home.Home(t.TempDir())
	srv := startServer(t, h)
	cl := newClient(t, h)
	srv.Shutdown()
	var mu sync.Mutex
	o := &owner{running: map[client.TaskRef]bool{}}
	calls := 0
	s := session.New(session.Config{Client: cl, Mu: &mu, Register: client.Register{Machine: "s1", Cluster: "c1"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		GiveUp: func(err error, unreachable time.Duration) error {
			calls++
			if calls == 3 {
				return err
			}
			return nil
		}}, o)
	o.sess = s
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Run(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("Run = %v (context: %v), want the unreachable server's error from GiveUp", err, ctx.Err())
	}
	if calls != 3 {
		t.Fatalf("GiveUp asked %d times, want 3", calls)
	}
}

func waitState(t *testing.T, cl *client.Client, id int64, ok func(*burst.Job) bool) *burst.Job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := cl.Job(context.Background(), id)
		if err == nil && ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d: condition not reached in 30 s (last: %+v, %v)", id, j, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An agent that came with no home id (started by hand) takes the server's
// from its first registration, before it leases anything, and carries it
// in its later registrations. One with another home's id is refused, and
// Run ends at once with the refusal instead of asking again.
func TestSessionAdoptsHomeID(t *testing.T) {
	h := home.Home(t.TempDir())
	srv := startServer(t, h)
	defer srv.Shutdown()
	cl := newClient(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	o := &owner{running: map[client.TaskRef]bool{}, handed: make(chan client.TaskRef, 8), killed: make(chan client.TaskRef, 8)}
	adopted := make(chan string, 1)
	o.sess = session.New(session.Config{Client: cl, Mu: &o.mu, LeaseWait: time.Second,
		Register: client.Register{Machine: "s1", Cluster: "local", Host: "test", CPUs: 2, MemBytes: 1 << 30},
		Adopt:    func(id string) { adopted <- id }, Log: quiet}, o)
	done := make(chan error, 1)
	go func() { done <- o.sess.Run(ctx) }()
	var id string
	select {
	case id = <-adopted:
	case <-ctx.Done():
		t.Fatal("the session never took the server's home id")
	}
	if id == "" {
		t.Fatal("adopted an empty home id")
	}
	if _, err := cl.Submit(ctx, &burst.JobSpec{Argv: []string{"true"}, Workdir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	recv(t, o.handed, "task handed to the session")

	// Another home's agent: refused, and Run returns without retrying.
	var mu sync.Mutex
	stranger := &owner{running: map[client.TaskRef]bool{}}
	s := session.New(session.Config{Client: cl, Mu: &mu, LeaseWait: time.Second,
		Register: client.Register{Machine: "s2", Cluster: "local", Host: "test", CPUs: 1, MemBytes: 1 << 30, HomeID: id + "-other"},
		Adopt:    func(string) { t.Error("an agent with a home id adopted another") }, Log: quiet}, stranger)
	stranger.sess = s
	err := s.Run(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "belongs to another home") {
		t.Fatalf("Run of another home's agent = %v (context: %v), want the refusal at once", err, ctx.Err())
	}
	cancel()
	<-done
}
