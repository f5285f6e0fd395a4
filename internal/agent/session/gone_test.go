package session_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/session"
	"github.com/burst-sh/burst/internal/pki"
)

// A joined machine whose server answers with another CA than its join
// URL pinned (the server's home removed and made again: a new CA) stops
// asking at once: its credential can never serve again. Before, it asked
// again every few seconds, for 2 minutes when idle and for good while a
// task ran. An unreachable server still waits (a restart looks the same).
func TestSessionExitsWhenItsServerIsAnother(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the server was asked %s %s past a pin that does not match", r.Method, r.URL)
	}))
	defer srv.Close()
	other := "sha256:" + strings.Repeat("ab", 32) // the CA this machine joined: not the one that answers now
	cl, err := client.New(srv.URL+"#"+other, "machine-credential")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	s := session.New(session.Config{Client: cl, Mu: &mu, LeaseWait: time.Second,
		Register: client.Register{Machine: "joined", Cluster: "remote", Host: "test", CPUs: 1, MemBytes: 1 << 30},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil))}, &owner{running: map[client.TaskRef]bool{}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = s.Run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("the session asked for 30 s a server whose CA is not the one it joined (Run: %v)", err)
	}
	if !errors.Is(err, pki.ErrPinMismatch) || !strings.Contains(err.Error(), "join again") {
		t.Errorf("Run: %v; want the pin mismatch, and how to join again", err)
	}
}
