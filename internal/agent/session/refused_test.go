package session_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/session"
	"github.com/burst-sh/burst/internal/home"
)

// A report the server refuses (4xx) no longer takes every task end in it
// along: each event is sent alone, one refused alone is sent bare (an
// older server refuses a field it does not know), and only what is
// refused even so is dropped. Before, two tasks' ends went in one report,
// the server refused it for a field one of them carried, the agent dropped
// both, and both tasks stayed running there for good, their machine
// billed.
func TestSessionRefusedReportEndsItsTasks(t *testing.T) {
	h := home.Home(t.TempDir())
	srv := startServer(t, h)
	defer srv.Shutdown()
	direct := newClient(t, h)
	tok, err := h.ReadToken()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(refusingServer(t, srv.Addr(), "outputs").URL, tok)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := runOwner(t, ctx, cl, "refused")

	var jobs []int64
	var refs []client.TaskRef
	for range 2 {
		job, err := direct.Submit(ctx, &burst.JobSpec{Argv: []string{"true"}, Workdir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, job.ID)
		refs = append(refs, recv(t, o.handed, "task handed to the session"))
	}
	now := time.Now().UTC()
	three := 3
	o.mu.Lock()
	for i, ref := range refs {
		delete(o.running, ref)
		ev := client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Succeeded, ExitCode: new(int), StartedAt: &now, EndedAt: &now}
		if i == 0 { // the one the server refuses: it failed, and says so bare
			ev.State, ev.ExitCode = burst.Failed, &three
			ev.Outputs = []client.OutputFile{{Path: "out.csv", Digest: "sha256:00", Size: 1}}
		}
		o.sess.EmitLocked(ev)
	}
	o.mu.Unlock()
	o.sess.Wake()

	for i, id := range jobs {
		j := waitState(t, direct, id, func(j *burst.Job) bool { return j.State.Terminal() })
		want := burst.Succeeded
		if i == 0 {
			want = burst.Failed
		}
		if j.State != want {
			t.Errorf("job %d: %s, want %s", id, j.State, want)
		}
	}
}

// runOwner runs a session for machine through cl, with an owner that
// records what it is handed, until the test ends or ctx is cancelled.
func runOwner(t *testing.T, ctx context.Context, cl *client.Client, machine string) *owner {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	o := &owner{running: map[client.TaskRef]bool{}, handed: make(chan client.TaskRef, 8), killed: make(chan client.TaskRef, 8)}
	o.sess = session.New(session.Config{Client: cl, Mu: &o.mu, LeaseWait: time.Second,
		Register: client.Register{Machine: machine, Cluster: "local", Host: "test", CPUs: 2, MemBytes: 1 << 30},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil))}, o)
	done := make(chan error, 1)
	go func() { done <- o.sess.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return o
}
