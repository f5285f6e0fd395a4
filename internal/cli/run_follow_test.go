package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// olderServer makes mux answer as a server without GET .../attach answers
// a path it does not know.
func olderServer(mux *http.ServeMux) {
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(404)
		json.NewEncoder(w).Encode(client.Error{Message: "no such endpoint: " + r.Method + " " + r.URL.Path + " (see docs/api.md)"})
	})
}

// TestFollowWaitsAlongsideStreams: an attached run on an older server
// (no attach: the streams and the wait apart) asks for the job's end
// while its output streams, not after: this server ends the streams only
// once the wait has arrived, which a follow that waited in turn would
// never see (it fails at the deadline). The output and exit are exact.
func TestFollowWaitsAlongsideStreams(t *testing.T) {
	waitAsked := make(chan struct{})
	mux := http.NewServeMux()
	olderServer(mux)
	mux.HandleFunc("GET /v1/jobs/7/wait", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-waitAsked:
		default:
			close(waitAsked)
		}
		code := 3
		json.NewEncoder(w).Encode(&burst.Job{ID: 7, State: burst.Failed, ExitCode: &code})
	})
	mux.HandleFunc("GET /v1/jobs/7/logs", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-waitAsked:
		case <-r.Context().Done():
			return
		}
		w.Write([]byte(r.URL.Query().Get("stream") + " line\n"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cl, err := client.New(srv.URL, strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	c := &cobra.Command{}
	c.SetOut(&stdout)
	c.SetErr(&stderr)
	err = follow(ctx, c, cl, 7, nil)
	var ee *ExitError
	if ctx.Err() != nil || !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("follow: %v (ctx %v), want exit status 3 before the deadline", err, ctx.Err())
	}
	if stdout.String() != "stdout line\n" || !strings.Contains(stderr.String(), "stderr line\n") {
		t.Errorf("stdout %q, stderr %q: want each stream's line once", stdout.String(), stderr.String())
	}
}

// TestFollowSaysTheReasonOnce: a task that could not start has the reason
// written to its stderr by the agent ("burst: cannot start: ..."), which
// an attached run prints; the run's last line then says the job failed
// without that reason again. A reason the stderr does not end with is
// said.
func TestFollowSaysTheReasonOnce(t *testing.T) {
	const reason = `cannot start: exec: "fit.sh": executable file not found in $PATH (fit.sh is in the working directory, which is not searched for programs: run it as ./fit.sh)`
	for _, c := range []struct {
		taskErr, wantMsg string
		older            bool
	}{
		{"burst: " + reason + "\n", "job 7 failed (exit 127)", false},
		{"something else\n", "job 7 failed: " + reason, false},
		{"burst: " + reason + "\n", "job 7 failed (exit 127)", true},
		{"something else\n", "job 7 failed: " + reason, true},
	} {
		mux := http.NewServeMux()
		if c.older {
			olderServer(mux)
		} else {
			mux.HandleFunc("GET /v1/jobs/7/attach", func(w http.ResponseWriter, r *http.Request) {
				frame := func(kind byte, p []byte) {
					w.Write(append([]byte{kind, 0, 0, byte(len(p) >> 8), byte(len(p))}, p...))
				}
				frame(client.FrameStderr, []byte(c.taskErr))
				for _, s := range []string{"stdout", "stderr"} {
					end, _ := json.Marshal(client.AttachEnd{Stream: s, Status: 200})
					frame(client.FrameStreamEnd, end)
				}
				code := 127
				job, _ := json.Marshal(&burst.Job{ID: 7, State: burst.Failed, ExitCode: &code, Reason: reason})
				frame(client.FrameJob, job)
			})
		}
		mux.HandleFunc("GET /v1/jobs/7/wait", func(w http.ResponseWriter, r *http.Request) {
			code := 127
			json.NewEncoder(w).Encode(&burst.Job{ID: 7, State: burst.Failed, ExitCode: &code, Reason: reason})
		})
		mux.HandleFunc("GET /v1/jobs/7/logs", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("stream") == "stderr" {
				w.Write([]byte(c.taskErr))
			}
		})
		srv := httptest.NewServer(mux)
		cl, err := client.New(srv.URL, strings.Repeat("ab", 32))
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		cmd := &cobra.Command{}
		cmd.SetOut(&stdout)
		cmd.SetErr(&stderr)
		err = follow(t.Context(), cmd, cl, 7, nil)
		srv.Close()
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 127 || ee.Msg != c.wantMsg {
			t.Errorf("task stderr %q (older server %t): follow: %#v, want exit 127 and %q", c.taskErr, c.older, err, c.wantMsg)
		}
		if stderr.String() != c.taskErr {
			t.Errorf("older server %t: stderr %q, want the task's %q", c.older, stderr.String(), c.taskErr)
		}
	}
}
