package session_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/home"
)

// olderServer stands before a real server as one that predates the srun
// steps of a task's end: its registration's answer says nothing of them,
// and a body that carries them is refused as such a server's strict
// decoding refuses it (400, json: unknown field "steps").
func olderServer(t *testing.T, addr string) *httptest.Server {
	t.Helper()
	return refusingServer(t, addr, "steps")
}

// refusingServer stands before a real server as one that does not know
// field of a task event: its registration's answer names no field (as
// for steps), and a report whose event carries it is refused whole (400).
func refusingServer(t *testing.T, addr, field string) *httptest.Server {
	t.Helper()
	return unknownFieldServer(t, addr, func(p *httputil.ReverseProxy) {
		p.ModifyResponse = func(r *http.Response) error {
			if r.Request.URL.Path != "/v1/agent/register" || r.StatusCode != 200 {
				return nil
			}
			var m map[string]json.RawMessage
			if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
				return err
			}
			delete(m, field)
			b, _ := json.Marshal(m)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			r.Header.Del("Content-Length")
			return nil
		}
	}, func(_ *http.Request, body []byte) string {
		var m struct {
			Events []map[string]json.RawMessage `json:"events"`
		}
		if json.Unmarshal(body, &m) == nil {
			for _, ev := range m.Events {
				if _, ok := ev[field]; ok {
					return field
				}
			}
		}
		return ""
	})
}

// unknownFieldServer is a proxy to a real server, set up by setup, that
// answers a request whose body carries a field refused names (refused
// returns "" for none) as a server that refused fields it did not know
// answered it: 400 `json: unknown field "F"`.
func unknownFieldServer(t *testing.T, addr string, setup func(*httputil.ReverseProxy), refused func(r *http.Request, body []byte) string) *httptest.Server {
	t.Helper()
	u, err := url.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	setup(p)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if f := refused(r, body); f != "" {
			w.WriteHeader(400)
			w.Write([]byte(`{"error":"bad request body: json: unknown field \"` + f + `\""}`))
			return
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// A batch task's end carries its srun steps to a server that keeps them,
// and goes without them to one that predates them: such a server refused
// the whole report (an unknown field), the agent dropped it, and the
// task stayed running there for good, its machine billed.
func TestSessionStepsOnlyToServerThatKeepsThem(t *testing.T) {
	for _, c := range []struct {
		name  string
		older bool
	}{{"current", false}, {"older", true}} {
		t.Run(c.name, func(t *testing.T) {
			h := home.Home(t.TempDir()) // a server of its own: no other session's machine takes the task
			srv := startServer(t, h)
			defer srv.Shutdown()
			direct := newClient(t, h)
			tok, err := h.ReadToken()
			if err != nil {
				t.Fatal(err)
			}
			cl := direct
			if c.older {
				if cl, err = client.New(olderServer(t, srv.Addr()).URL, tok); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := runOwner(t, ctx, cl, "s-"+c.name)

			job, err := direct.Submit(ctx, &burst.JobSpec{Argv: []string{"true"}, Workdir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			ref := recv(t, o.handed, "task handed to the session")
			now := time.Now().UTC()
			step := burst.Step{ID: 0, Name: "sh", State: burst.Failed, ExitCode: 3, Tasks: 1, CPUs: 1, StartedAt: now, EndedAt: now}
			o.mu.Lock()
			delete(o.running, ref)
			o.sess.EmitLocked(client.TaskEvent{TaskRef: ref, Kind: client.EventExited, State: burst.Succeeded,
				ExitCode: new(int), StartedAt: &now, EndedAt: &now, Steps: []burst.Step{step}})
			o.mu.Unlock()
			o.sess.Wake()

			j := waitState(t, direct, job.ID, func(j *burst.Job) bool { return j.State.Terminal() })
			if j.State != burst.Succeeded {
				t.Fatalf("job %s, want succeeded", j.State)
			}
			want := 1
			if c.older {
				want = 0 // it could not have kept them
			}
			if len(j.Steps) != want || want == 1 && j.Steps[0].ExitCode != 3 {
				t.Fatalf("job's steps %+v, want %d", j.Steps, want)
			}
		})
	}
}
