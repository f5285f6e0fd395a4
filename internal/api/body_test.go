package api

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/auth"
)

// countingReader counts what the server read of a body.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// A body that says it is past MaxBody is answered 413 before a byte of it
// is read: before, 64 MiB of a 100 MB body were read and decoded (about a
// second of CPU) to find it too large.
func TestBodyPastLimitRefusedUnread(t *testing.T) {
	asked := false
	h := newTest(t, &standIn{submit: func(context.Context, string, *burst.JobSpec) (*burst.Job, error) {
		asked = true
		return &burst.Job{ID: 1}, nil
	}})
	body := &countingReader{r: io.MultiReader(strings.NewReader(`{"argv":["true"],"script":"`), bytes.NewReader(make([]byte, 100_000_000)))}
	r := httptest.NewRequest("POST", "/v1/jobs", body)
	r.ContentLength = 100_000_000
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 413 || !strings.Contains(w.Body.String(), "67108864 bytes (64 MiB), the limit") {
		t.Fatalf("status %d %s; want 413 naming the limit", w.Code, w.Body)
	}
	if body.n != 0 || asked {
		t.Errorf("%d bytes of the body read (backend asked: %t); want none", body.n, asked)
	}
}

// Large bodies are taken in while their bytes in flight stay within the
// gate's bound; one more is turned away unread with 503 and Retry-After,
// and small ones (an agent's report) always pass.
func TestBodyGate(t *testing.T) {
	in, out := make(chan struct{}), make(chan struct{})
	g := &bodyGate{max: 5 << 20}
	h := g.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > smallBody {
			in <- struct{}{}
			<-out
		}
		io.Copy(io.Discard, r.Body)
	}))
	send := func(n int64) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/v1/jobs", bytes.NewReader(make([]byte, n)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	done := make(chan int, 2)
	for range 2 {
		go func() { done <- send(2 << 20).Code }()
		<-in
	}
	if w := send(2 << 20); w.Code != 503 || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "send this one again") {
		t.Errorf("a third large body while two are in: status %d %q %s; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if w := send(1000); w.Code != 200 {
		t.Errorf("a small body while two large are in: status %d, want 200", w.Code)
	}
	close(out)
	for range 2 {
		if c := <-done; c != 200 {
			t.Errorf("a large body taken in: status %d, want 200", c)
		}
	}
	if g.inUse != 0 {
		t.Errorf("%d bytes still counted in flight after every request ended", g.inUse)
	}
	go func() { <-in }() // out is closed: it goes through
	if w := send(2 << 20); w.Code != 200 {
		t.Errorf("a large body once the others ended: status %d, want 200", w.Code)
	}
}

// A blob's bytes go to the store as they come, whatever their size: a
// streamed upload (POST /v1/blobs, chunked, its digest in the trailer)
// passes the gate as a blob's PUT does. Before, it counted as a chunked
// JSON body of MaxBody, the whole gate: turned away while any large body
// was in, and holding every large submit off (503) for as long as it took
// to send, minutes for a large file.
func TestStreamedBlobPassesTheGate(t *testing.T) {
	in, out := make(chan struct{}), make(chan struct{})
	g := &bodyGate{max: 5 << 20}
	h := g.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/jobs" {
			in <- struct{}{}
			<-out
		}
		io.Copy(io.Discard, r.Body)
	}))
	done := make(chan int, 1)
	go func() { // owned by the test: it ends once out is closed
		r := httptest.NewRequest("POST", "/v1/jobs", bytes.NewReader(make([]byte, 4<<20)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		done <- w.Code
	}()
	<-in // a large submit is in
	for _, c := range []struct{ method, path string }{{"POST", "/v1/blobs?size=8388608"}, {"PUT", "/v1/blobs/sha256:ab?size=8388608"}} {
		r := httptest.NewRequest(c.method, c.path, bytes.NewReader(make([]byte, 8<<20)))
		r.ContentLength = -1 // chunked
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Errorf("%s %s while a large submit is in: status %d %s; want 200 (a blob is streamed to the store, not held)", c.method, c.path, w.Code, w.Body)
		}
	}
	close(out)
	if c := <-done; c != 200 {
		t.Errorf("the large submit: status %d, want 200", c)
	}
	if g.inUse != 0 {
		t.Errorf("%d bytes still counted in flight after every request ended", g.inUse)
	}
}

// On a real connection, a body past the limit is answered before it is
// sent: a client that asks to send it (Expect: 100-continue) hears 413 at
// once, not after its own wait for an answer (the server first read 256 KiB
// of the body it had not asked for, and said nothing to such a client).
func TestBodyPastLimitAnsweredBeforeItIsSent(t *testing.T) {
	h := newTest(t, &standIn{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST /v1/jobs HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer %s\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", token, MaxBody+1)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d before the body was sent; want 413", resp.StatusCode)
	}
}

// A large body that holds the gate's turn but does not come (a byte now
// and then; any credential could send one) loses the turn once another
// request waits for it: it is cut, answered 408, and its user gets no turn
// for a while, so that the waiting client's next try is taken. Before, one
// such request held every other large submit off (503) for as long as it
// went on.
func TestSlowBodyLosesItsTurn(t *testing.T) {
	var mu sync.Mutex
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	at := func(d time.Duration) { mu.Lock(); now = t0.Add(d); mu.Unlock() }
	g := &bodyGate{max: 5 << 20, now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	h := g.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if decode(w, r, &v) {
			writeJSON(w, 200, struct{}{})
		}
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := &auth.Principal{Kind: auth.User, Name: r.Header.Get("X-Test-User")}
		h.ServeHTTP(w, r.WithContext(auth.With(r.Context(), p)))
	}))
	defer srv.Close()
	body := append(append([]byte(`{"a":"`), bytes.Repeat([]byte("x"), 4<<20)...), `"}`...)
	send := func(user string) (int, string, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/jobs", bytes.NewReader(body))
		req.Header.Set("X-Test-User", user)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s's submit: %v", user, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
	}
	held := func() int { g.mu.Lock(); defer g.mu.Unlock(); return len(g.held) }
	waitFor := func(what string, cond func() bool) {
		for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("waited 30 s for %s", what)
			}
		}
	}

	// mallory's body: its headers and one byte of 4 MiB.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST /v1/jobs HTTP/1.1\r\nHost: b\r\nX-Test-User: mallory\r\nContent-Length: %d\r\n\r\n{", 4<<20)
	waitFor("mallory's body to hold a turn", func() bool { return held() == 1 })

	// Within the grace a body has to start, bob waits: nothing is cut.
	at(time.Second)
	if code, retry, msg := send("bob"); code != 503 || retry == "" {
		t.Fatalf("bob's submit while mallory's holds the gate: %d %q %s; want 503 with Retry-After", code, retry, msg)
	}
	g.mu.Lock()
	for b := range g.held {
		if b.cut.Load() {
			t.Errorf("mallory's body cut %s after it began; want it left its grace of %s", time.Second, slowBodyGrace)
		}
	}
	g.mu.Unlock()

	// Ten seconds on, one byte of it has come: bob's next try cuts it.
	at(10 * time.Second)
	if code, _, msg := send("bob"); code != 503 {
		t.Fatalf("bob's second submit: %d %s; want 503 (mallory's turn is freed as it is answered)", code, msg)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("mallory's trickled body was not answered: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "came too slowly (1 of its 4194304 bytes)") {
		t.Errorf("mallory's trickled body: %d %s; want 408 saying it came too slowly", resp.StatusCode, b)
	}
	waitFor("mallory's turn to be given back", func() bool { return held() == 0 })
	if code, _, msg := send("bob"); code != 200 {
		t.Errorf("bob's submit once mallory's body was cut: %d %s; want 200", code, msg)
	}

	// mallory gets no turn for a while, then one again.
	if code, retry, msg := send("mallory"); code != 503 || retry != "60" || !strings.Contains(msg, "came too slowly") {
		t.Errorf("mallory's next large submit: %d (Retry-After %q) %s; want 503 after 60 s, saying why", code, retry, msg)
	}
	at(10*time.Second + slowBodyCooldown)
	if code, _, msg := send("mallory"); code != 200 {
		t.Errorf("mallory's large submit after the cooldown: %d %s; want 200", code, msg)
	}
}
