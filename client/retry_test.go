package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// fast is a Retry for tests: short waits, patience enough for a loaded
// machine.
var fast = client.Retry{Patience: 10 * time.Second, First: time.Millisecond, Max: 10 * time.Millisecond}

// breakConn ends the request without an answer: the server closes the
// connection (net/http does so for http.ErrAbortHandler).
func breakConn() { panic(http.ErrAbortHandler) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newClient(t *testing.T, url string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(url, "tok", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A read whose connection closes before the answer is asked again until
// it gets one.
func TestReadAskedAgainAfterBrokenConnections(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 3 {
			breakConn()
		}
		fmt.Fprint(w, `{"id": 7, "state": "running"}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, client.WithRetry(fast))
	j, err := c.Job(testCtx(t), 7)
	if err != nil {
		t.Fatalf("Job after 3 broken connections: %v", err)
	}
	if j.ID != 7 || j.State != burst.Running {
		t.Errorf("job %+v, want 7 running", j)
	}
	if got := n.Load(); got != 4 {
		t.Errorf("server saw %d requests, want 4 (3 broken, 1 answered)", got)
	}
}

// A submit whose connection breaks after it was sent is not sent again:
// the server cannot tell a second copy from a second job.
func TestSubmitNotSentAgainOnceSent(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		breakConn()
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, client.WithRetry(fast))
	_, err := c.Submit(testCtx(t), &burst.JobSpec{Argv: []string{"true"}})
	if err == nil {
		t.Fatal("Submit succeeded against a server that never answers")
	}
	if !strings.Contains(err.Error(), "not sent again") {
		t.Errorf("Submit error %q should say it was not sent again and may have been taken", err)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("server got the submit %d times, want once", got)
	}
}

// deadAddr is an address nothing listens on: a dial is refused.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close()
	return addr
}

// A submit that could not be sent (the server was down) is sent once the
// reconnect has found the server, and only once.
func TestSubmitSentWhenItNeverLeft(t *testing.T) {
	var submits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/v1/jobs" {
			http.NotFound(w, r)
			return
		}
		submits.Add(1)
		w.WriteHeader(201)
		fmt.Fprint(w, `{"id": 12, "state": "queued"}`)
	}))
	defer srv.Close()
	var reconnects atomic.Int32
	c := newClient(t, deadAddr(t), client.WithRetry(fast), client.WithReconnect(func(ctx context.Context) (string, string, error) {
		reconnects.Add(1) // e.g. started the server again
		return srv.URL, "tok", nil
	}))
	j, err := c.Submit(testCtx(t), &burst.JobSpec{Argv: []string{"true"}})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if j.ID != 12 || submits.Load() != 1 || reconnects.Load() != 1 {
		t.Errorf("job %d, %d submits, %d reconnects: want job 12, 1 submit after 1 reconnect", j.ID, submits.Load(), reconnects.Load())
	}
	// The reconnect is shared: the next call goes to the new address at once.
	if _, err := c.Submit(testCtx(t), &burst.JobSpec{Argv: []string{"true"}}); err != nil || reconnects.Load() != 1 {
		t.Errorf("second Submit: %v after %d reconnects, want no error and no new reconnect", err, reconnects.Load())
	}
}

// The server's own answers are final, whatever the status.
func TestServerAnswerNotAskedAgain(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(500)
		fmt.Fprint(w, `{"error": "disk full"}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, client.WithRetry(fast))
	_, err := c.Jobs(testCtx(t), client.JobsQuery{})
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != 500 || ae.Message != "disk full" {
		t.Fatalf("Jobs = %v, want the server's 500 disk full", err)
	}
	if n.Load() != 1 {
		t.Errorf("server saw %d requests, want 1", n.Load())
	}
}

// A log whose answer breaks in the middle goes on from the byte it had
// reached: every byte arrives once.
func TestLogsGoOnFromWhereTheyBroke(t *testing.T) {
	const text = "line one\nline two\nline three\n"
	var mu sync.Mutex
	var offsets []string
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		off := r.URL.Query().Get("offset")
		mu.Lock()
		offsets = append(offsets, off)
		mu.Unlock()
		var o int
		fmt.Sscan(off, &o)
		rest := text[o:]
		if n.Add(1) <= 2 {
			// Promise the rest, send 5 bytes of it, and break.
			w.Header().Set("Content-Length", fmt.Sprint(len(rest)))
			w.Write([]byte(rest[:5]))
			w.(http.Flusher).Flush()
			breakConn()
		}
		fmt.Fprint(w, rest)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, client.WithRetry(fast))
	var buf bytes.Buffer
	if err := c.Logs(testCtx(t), 3, client.LogsQuery{Follow: true}, &buf); err != nil {
		t.Fatalf("Logs: %v", err)
	}
	if buf.String() != text {
		t.Errorf("Logs wrote %q, want %q", buf.String(), text)
	}
	if strings.Join(offsets, ",") != "0,5,10" {
		t.Errorf("offsets asked %v, want 0,5,10", offsets)
	}
}

// Output has no offset: an answer that broke after its first byte is not
// asked again (its bytes would come twice).
func TestOutputNotAskedAgainAfterFirstByte(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Length", "100")
		w.Write([]byte("abc"))
		w.(http.Flusher).Flush()
		breakConn()
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, client.WithRetry(fast))
	var buf bytes.Buffer
	if err := c.Output(testCtx(t), 3, 0, false, &buf); err == nil {
		t.Fatal("Output succeeded on a broken answer")
	}
	if buf.String() != "abc" || n.Load() != 1 {
		t.Errorf("Output wrote %q in %d requests, want abc in 1", buf.String(), n.Load())
	}
}

// Patience bounds how long a call rides out a server that is gone, and
// Retry{} asks once.
func TestPatienceRunsOut(t *testing.T) {
	var reconnects atomic.Int32
	addr := deadAddr(t)
	reconnect := client.WithReconnect(func(ctx context.Context) (string, string, error) {
		reconnects.Add(1)
		return "", "", errors.New("no server to start")
	})
	c := newClient(t, addr, client.WithRetry(client.Retry{Patience: 100 * time.Millisecond, First: time.Millisecond, Max: 5 * time.Millisecond}), reconnect)
	start := time.Now()
	if _, err := c.Jobs(testCtx(t), client.JobsQuery{}); err == nil {
		t.Fatal("Jobs succeeded with no server")
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("gave up after %v, before its patience (100ms)", d)
	}
	if reconnects.Load() < 2 {
		t.Errorf("%d reconnects in 100ms of patience, want several", reconnects.Load())
	}
	reconnects.Store(0)
	if _, err := c.WithRetry(client.Retry{}).Jobs(testCtx(t), client.JobsQuery{}); err == nil || reconnects.Load() != 0 {
		t.Errorf("Retry{}: err %v after %d reconnects, want an error and none", err, reconnects.Load())
	}
}

// A call ends when its context does, not when its patience does.
func TestRetryEndsWithContext(t *testing.T) {
	c := newClient(t, deadAddr(t), client.WithRetry(client.Retry{Patience: time.Hour, First: time.Millisecond, Max: 10 * time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Job(ctx, 1); err == nil {
		t.Fatal("Job succeeded with no server")
	}
	if ctx.Err() == nil {
		t.Error("Job returned before its context ended, with an hour of patience left")
	}
}

// A submit turned away unread (503 with Retry-After: the server is taking
// in other large bodies) is sent again and made once; a 503 without
// Retry-After, which says nothing of whether the request was read, is not.
func TestSubmitSentAgainWhenTurnedAwayUnread(t *testing.T) {
	for _, retryAfter := range []bool{true, false} {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) <= 2 {
				if retryAfter {
					w.Header().Set("Retry-After", "1")
				}
				w.WriteHeader(503)
				fmt.Fprint(w, `{"error": "busy"}`)
				return
			}
			w.WriteHeader(201)
			fmt.Fprint(w, `{"id": 7}`)
		}))
		c := newClient(t, srv.URL, client.WithRetry(fast))
		j, err := c.Submit(testCtx(t), &burst.JobSpec{Argv: []string{"true"}})
		srv.Close()
		switch {
		case retryAfter && (err != nil || j.ID != 7 || n.Load() != 3):
			t.Errorf("with Retry-After: job %v, %v after %d requests; want job 7 after 3", j, err, n.Load())
		case !retryAfter && (err == nil || n.Load() != 1):
			t.Errorf("without Retry-After: %v after %d requests; want the 503 after 1", err, n.Load())
		}
	}
}

// countingListener counts the bytes the server reads from its connections.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// A large body asks before it is sent (Expect: 100-continue): a server
// that turns it away unread answers before a byte of it crosses, so the
// client reads the 503 (not a broken pipe under a half-sent body) and
// sends it again; the body crosses once, when it is taken.
func TestLargeBodyAsksBeforeItIsSent(t *testing.T) {
	var n atomic.Int32
	var read atomic.Int64
	var readBefore int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Expect"); got != "100-continue" {
			t.Errorf("a body of %d bytes was sent with Expect %q, want 100-continue", r.ContentLength, got)
		}
		if n.Add(1) <= 2 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
			fmt.Fprint(w, `{"error": "busy"}`)
			return
		}
		readBefore = read.Load() // what crossed before this body was asked for
		var j burst.JobSpec
		if err := json.NewDecoder(r.Body).Decode(&j); err != nil || len(j.Script) != 2<<20 {
			t.Errorf("the taken body: script of %d bytes, %v", len(j.Script), err)
		}
		w.WriteHeader(201)
		fmt.Fprint(w, `{"id": 7}`)
	}))
	srv.Listener = countingListener{srv.Listener, &read}
	srv.Start()
	defer srv.Close()
	c := newClient(t, srv.URL, client.WithRetry(fast))
	j, err := c.Submit(testCtx(t), &burst.JobSpec{Argv: []string{"sh", "x"}, Script: strings.Repeat("x", 2<<20)})
	if err != nil || j.ID != 7 || n.Load() != 3 {
		t.Fatalf("job %v, %v after %d requests; want job 7 after 3", j, err, n.Load())
	}
	// Three requests' headers (a few hundred bytes each) and no body.
	if readBefore > 64<<10 {
		t.Errorf("the server read %d bytes over the two requests it turned away and the third's headers; want no body (under 64 KiB)", readBefore)
	}
}

// A wait turned away while its caller holds too many streams open (503
// with Retry-After and SlotHeader) is asked again past Patience, for as
// long as the caller waits: the caller's other streams end in their own
// time (sbatch --wait and srun exited non-zero after 30 s, their jobs
// running on). A plain 503 with Retry-After still gives up after Patience.
func TestWaitForSlotPastPatience(t *testing.T) {
	for _, slot := range []bool{true, false} {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) <= 40 {
				w.Header().Set("Retry-After", "1")
				if slot {
					w.Header().Set(client.SlotHeader, "1")
				}
				w.WriteHeader(503)
				fmt.Fprint(w, `{"error": "too many streams"}`)
				return
			}
			fmt.Fprint(w, `{"id": 7, "state": "succeeded"}`)
		}))
		c := newClient(t, srv.URL, client.WithRetry(client.Retry{Patience: 20 * time.Millisecond, First: time.Millisecond, Max: 2 * time.Millisecond}))
		j, err := c.Job(testCtx(t), 7)
		srv.Close()
		switch {
		case slot && (err != nil || j.ID != 7 || n.Load() != 41):
			t.Errorf("waiting for a slot: job %v, %v after %d requests; want job 7 after 41", j, err, n.Load())
		case !slot && err == nil:
			t.Errorf("a plain 503: job %v after %d requests; want the 503 once patience ran out", j, n.Load())
		}
	}
}
