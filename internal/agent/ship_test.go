package agent

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
)

// shipAgainst ships one spool file of output to a server that answers
// every chunk with status, the agent's context being ctx, and returns
// what finish said, how long it took and how many chunks the server saw.
func shipAgainst(t *testing.T, ctx context.Context, status int, giveUp time.Duration, stop func()) (bool, time.Duration, int64) {
	t.Helper()
	var chunks atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if chunks.Add(1) == 2 && stop != nil {
			stop()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(`{"error":"refused by the test"}`))
	}))
	defer srv.Close()
	cl, err := client.New(srv.URL, "t")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "1.0.1.out")
	if err := os.WriteFile(path, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sh := &shipper{cl: cl, machine: "m1", boot: func() string { return "b" }, ref: client.TaskRef{Job: 1, Attempt: 1},
		ctx: ctx, log: slog.New(slog.DiscardHandler), giveUp: giveUp}
	sh.add(client.StreamStdout, path, false, true)
	sh.start()
	begun := time.Now()
	done := make(chan bool, 1)
	go func() { done <- sh.finish() }()
	select {
	case ok := <-done:
		return ok, time.Since(begun), chunks.Load()
	case <-time.After(30 * time.Second):
		t.Fatalf("finish still waits after 30s with the server answering %d to every chunk (%d chunks): the task's end would never be reported", status, chunks.Load())
	}
	return false, 0, 0
}

// A 4xx other than a gap (416), "gone" (410) or "register again" (409) is
// final: the chunk is not sent again and the task's end is reported. It
// used to be sent again forever, holding the task's CPUs.
func TestShipRefusedIsFinal(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusUnauthorized, http.StatusRequestEntityTooLarge} {
		ok, _, chunks := shipAgainst(t, context.Background(), status, time.Hour, nil)
		if !ok || chunks != 1 {
			t.Errorf("answered %d: finish %v after %d chunks, want true after the one", status, ok, chunks)
		}
	}
}

// A server answering 5xx is given the agent's give-up time, then the
// stream is given up and the task's end reported.
func TestShipGivesUpOn5xx(t *testing.T) {
	ok, took, chunks := shipAgainst(t, context.Background(), http.StatusInternalServerError, 500*time.Millisecond, nil)
	if !ok || chunks < 2 || took < 500*time.Millisecond {
		t.Fatalf("finish %v after %s and %d chunks, want true after trying again for the give-up time", ok, took, chunks)
	}
}

// An agent that stops while output is unshipped says so (finish false),
// so that its spool file is kept, not removed as if shipped.
func TestShipStoppedIsNotComplete(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ok, _, _ := shipAgainst(t, ctx, http.StatusInternalServerError, time.Hour, cancel)
	if ok {
		t.Fatal("finish said shipping was over though the agent stopped with the output unshipped")
	}
}

// A task's BURST_AGENT marks its agent without naming the agent's work
// directory (where a joined machine's credential lies): the same
// directory gives the same mark, another directory another.
func TestAgentMarkHidesWorkDir(t *testing.T) {
	m := agentMark("/home/ada/.burst")
	if strings.Contains(m, "/") || strings.Contains(m, "ada") || m != agentMark("/home/ada/.burst") || m == agentMark("/home/bob/.burst") {
		t.Fatalf("agentMark: %q", m)
	}
}
