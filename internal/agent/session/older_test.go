package session_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/session"
	"github.com/burst-sh/burst/internal/home"
)

// strictServer stands before a real server as one that predates fields
// of a registration or a lease and refused a field it did not know, as
// burst's servers did: a body that carries one of fields is answered 400
// `json: unknown field "F"`, the message such a server wrote.
func strictServer(t *testing.T, addr string, fields ...string) *httptest.Server {
	t.Helper()
	return unknownFieldServer(t, addr, func(*httputil.ReverseProxy) {}, func(r *http.Request, body []byte) string {
		var m map[string]json.RawMessage
		if (r.URL.Path == "/v1/agent/register" || r.URL.Path == "/v1/agent/lease") && json.Unmarshal(body, &m) == nil {
			for _, f := range fields {
				if _, ok := m[f]; ok {
					return f
				}
			}
		}
		return ""
	})
}

// olderSession runs a session for an agent that tells its kernel and its
// host's load, through a server that refuses fields, until the test ends;
// its Run's error comes on the channel returned.
func olderSession(t *testing.T, h home.Home, addr string, fields ...string) (*owner, chan error) {
	t.Helper()
	tok, err := h.ReadToken()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(strictServer(t, addr, fields...).URL, tok)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	idle := time.Now().Add(-time.Minute)
	o := &owner{running: map[client.TaskRef]bool{}, handed: make(chan client.TaskRef, 8), killed: make(chan client.TaskRef, 8)}
	o.sess = session.New(session.Config{Client: cl, Mu: &o.mu, LeaseWait: time.Second, HostLoad: true,
		Register: client.Register{Machine: "older", Cluster: "local", Host: "test", CPUs: 2, MemBytes: 1 << 30, OS: "Linux 6.1.0 #1 SMP", IdleSince: &idle},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil))}, o)
	done, ended := make(chan error, 1), make(chan struct{})
	go func() {
		done <- o.sess.Run(ctx)
		close(ended)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Error("the session did not end")
		}
	})
	return o, done
}

// An agent newer than its server is served: a server that refuses the
// kernel in its registration and the load in its leases (it predates
// them and refused unknown fields) gets them no more, and hands out
// work. Before, the registration was refused and the agent exited
// (`the server refused this agent: bad request body: json: unknown field
// "os"`), or, with a server that knew the kernel but not the load, it
// leased forever, refused each time, and ran nothing.
func TestSessionServesAnOlderServer(t *testing.T) {
	for _, fields := range [][]string{{"os", "load", "idle_since"}, {"idle_since"}, {"load"}} {
		t.Run(strings.Join(fields, ","), func(t *testing.T) {
			h := home.Home(t.TempDir())
			srv := startServer(t, h)
			defer srv.Shutdown()
			o, done := olderSession(t, h, srv.Addr(), fields...)
			job, err := newClient(t, h).Submit(context.Background(), &burst.JobSpec{Argv: []string{"true"}, Workdir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case ref := <-o.handed:
				if ref.Job != job.ID {
					t.Fatalf("handed %v, want a task of job %d", ref, job.ID)
				}
			case err := <-done:
				t.Fatalf("the session ended before it was handed the task: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("no task handed within 30 s")
			}
		})
	}
}

// A field the agent cannot do without, refused by an older server, ends
// the agent with the fix named, not a bare "unknown field".
func TestSessionNamesTheFixForAnOlderServer(t *testing.T) {
	h := home.Home(t.TempDir())
	srv := startServer(t, h)
	defer srv.Shutdown()
	_, done := olderSession(t, h, srv.Addr(), "cluster")
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), `unknown field "cluster": the server runs an older burst than this client`) ||
			!strings.Contains(err.Error(), "run the server's own burst binary as the agent") {
			t.Fatalf("the session ended with %v; want the older server and its fix named", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the session did not end within 30 s")
	}
}
