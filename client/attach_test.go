package client_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// frame writes one frame of an attach answer.
func frame(w http.ResponseWriter, kind byte, p []byte) {
	var head [5]byte
	head[0] = kind
	binary.BigEndian.PutUint32(head[1:], uint32(len(p)))
	w.Write(head[:])
	w.Write(p)
	w.(http.Flusher).Flush()
}

// An attach cut in the middle (the server went away) is asked again from
// the bytes each stream had, and a stream that had ended is not asked for
// again: each byte is written once, and the job comes at the end.
func TestAttachResumes(t *testing.T) {
	var n atomic.Int32
	var second string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		if n.Add(1) == 1 {
			frame(w, client.FrameStdout, []byte("abc"))
			frame(w, client.FrameStderr, []byte("oops\n"))
			end, _ := json.Marshal(client.AttachEnd{Stream: "stderr", Status: 200})
			frame(w, client.FrameStreamEnd, end)
			panic(http.ErrAbortHandler) // the connection breaks here
		}
		second = r.URL.RawQuery
		frame(w, client.FrameStdout, []byte("def"))
		end, _ := json.Marshal(client.AttachEnd{Stream: "stdout", Status: 200})
		frame(w, client.FrameStreamEnd, end)
		job, _ := json.Marshal(burst.Job{ID: 7, State: burst.Succeeded})
		frame(w, client.FrameJob, job)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, client.WithRetry(fast))
	var out, errb bytes.Buffer
	j, cut, err := c.Attach(testCtx(t), 7, 0, &out, &errb)
	if err != nil || cut != nil {
		t.Fatalf("Attach: cut %v, err %v", cut, err)
	}
	if out.String() != "abcdef" || errb.String() != "oops\n" || j.ID != 7 || j.State != burst.Succeeded {
		t.Errorf("stdout %q, stderr %q, job %d %s; want abcdef, oops, job 7 succeeded", out.String(), errb.String(), j.ID, j.State)
	}
	if n.Load() != 2 || !strings.Contains(second, "stdout=3") || strings.Contains(second, "stderr") {
		t.Errorf("%d requests, the second asked %q; want 2, the second for stdout from byte 3 alone", n.Load(), second)
	}
}

// A stream cut by the server's error is said (cut), and the job still
// comes; an older server, which has no attach, is told apart from a job
// that does not exist.
func TestAttachCutAndOlderServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/jobs/7/attach":
			w.WriteHeader(200)
			end, _ := json.Marshal(client.AttachEnd{Stream: "stdout", Status: 409, Message: "task 0 ran again: burst logs 7 --task 0"})
			frame(w, client.FrameStreamEnd, end)
			job, _ := json.Marshal(burst.Job{ID: 7, State: burst.Failed})
			frame(w, client.FrameJob, job)
		case "/v1/jobs/8/attach":
			w.WriteHeader(404)
			w.Write([]byte(`{"error":"job 8 not found"}`))
		default:
			w.WriteHeader(404)
			w.Write([]byte(`{"error":"no such endpoint: GET ` + r.URL.Path + ` (see docs/api.md)"}`))
		}
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, client.WithRetry(fast))
	var out bytes.Buffer
	j, cut, err := c.Attach(testCtx(t), 7, 0, &out, nil)
	var ae *client.Error
	if err != nil || j == nil || j.State != burst.Failed || !errors.As(cut, &ae) || ae.Status != 409 || !strings.Contains(ae.Message, "burst logs 7") {
		t.Errorf("a cut stream: job %v, cut %v, err %v; want the job and the 409", j, cut, err)
	}
	if _, _, err := c.Attach(testCtx(t), 8, 0, &out, nil); !errors.As(err, &ae) || ae.Status != 404 || errors.Is(err, client.ErrNoAttach) {
		t.Errorf("no such job: err %v, want the server's 404", err)
	}
	if _, _, err := c.Attach(testCtx(t), 9, 0, &out, nil); !errors.Is(err, client.ErrNoAttach) {
		t.Errorf("an older server: err %v, want ErrNoAttach", err)
	}
}

// The server's refusal of the job at the end of the answer (it was
// removed, or the right to read it ended) ends the call with its word: it
// was asked again until the call's patience ran out.
func TestAttachJobRefusalEnds(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(200)
		end, _ := json.Marshal(client.AttachEnd{Stream: "job", Status: 404, Message: "job 7 not found"})
		frame(w, client.FrameStreamEnd, end)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, client.WithRetry(fast))
	_, _, err := c.Attach(testCtx(t), 7, 0, &bytes.Buffer{}, &bytes.Buffer{})
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Message != "job 7 not found" || n.Load() != 1 {
		t.Errorf("err %v after %d requests, want the server's 404 after 1", err, n.Load())
	}
}
