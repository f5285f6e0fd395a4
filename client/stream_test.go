package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/burst-sh/burst/client"
)

// A stream whose server met an error after its answer began (its status
// already sent) fails with the server's message, though every byte sent
// arrived: `burst results` on a store damaged mid-way must not print part
// of the output and exit 0. It is the server's word: not asked again.
func TestStreamErrorTrailer(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Trailer", client.ErrorTrailer)
		w.WriteHeader(200)
		fmt.Fprint(w, "task 0\ntask 1\n")
		w.(http.Flusher).Flush()
		w.Header().Set(client.ErrorTrailer, "job 3: reading task 2: database disk image is malformed")
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, client.WithRetry(fast))
	for _, s := range []struct {
		name string
		call func(*bytes.Buffer) error
	}{
		{"Output", func(b *bytes.Buffer) error { return c.Output(testCtx(t), 3, 0, false, b) }},
		{"Logs", func(b *bytes.Buffer) error { return c.Logs(testCtx(t), 3, client.LogsQuery{Follow: true}, b) }},
	} {
		n.Store(0)
		var buf bytes.Buffer
		err := s.call(&buf)
		var ae *client.Error
		if !errors.As(err, &ae) || !strings.Contains(ae.Message, "malformed") {
			t.Errorf("%s: err = %v, want the server's error", s.name, err)
		}
		if buf.String() != "task 0\ntask 1\n" || n.Load() != 1 {
			t.Errorf("%s: wrote %q in %d requests, want both lines in 1", s.name, buf.String(), n.Load())
		}
	}
}

// A reconnect that says no server can be had (client.ErrNoServer) ends the
// call at once with its reason, not after the call's patience.
func TestReconnectNoServerEndsCall(t *testing.T) {
	var reconnects atomic.Int32
	why := fmt.Errorf("cannot start a local server: disk full: %w", client.ErrNoServer)
	c := newClient(t, deadAddr(t), client.WithRetry(client.Retry{Patience: time.Hour, First: time.Millisecond, Max: 5 * time.Millisecond}),
		client.WithReconnect(func(ctx context.Context) (string, string, error) {
			reconnects.Add(1)
			return "", "", why
		}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.Jobs(ctx, client.JobsQuery{})
	if !errors.Is(err, client.ErrNoServer) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Jobs: err = %v, want the reconnect's reason", err)
	}
	if ctx.Err() != nil || reconnects.Load() != 1 {
		t.Errorf("%d reconnects, context ended: %v; want 1 reconnect and an answer at once", reconnects.Load(), ctx.Err())
	}
}
