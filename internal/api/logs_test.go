package api

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/store"
)

// taskLog stands in for the server under a followed log: one task whose
// row says attempt, running until its log has been read through; its job
// changes all the time (closed channel), as a busy map's does.
type taskLog struct {
	*standIn
	mu       sync.Mutex
	row      store.TaskRow
	running  int // the attempt it runs as in memory (0: none)
	active   int // TaskActive answers true this many times more
	rowReads int
}

func (f *taskLog) TaskRow(ctx context.Context, job int64, idx int) (*store.TaskRow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rowReads++
	r := f.row
	return &r, nil
}

func (f *taskLog) TaskActive(id int64, idx int) (bool, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	close(ch)
	f.active--
	if f.active < 0 {
		f.running = 0
		f.row.State = burst.Succeeded
	}
	return f.active >= 0, ch
}

func (f *taskLog) TaskAttempt(job int64, idx int) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running, f.running != 0
}

func newTaskLog(t *testing.T, spec *burst.JobSpec, attempt int, data []byte) *taskLog {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.out")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	f := &taskLog{standIn: &standIn{}, running: attempt, active: 1,
		row: store.TaskRow{Task: burst.Task{Index: 0, Attempt: attempt, State: burst.Running, Stdout: path, StartedAt: &now}}}
	f.job = func(ctx context.Context, id int64) (*store.JobRow, error) {
		kind := burst.KindRun // as the store has it for every job (JobSpec.Defaults)
		switch {
		case spec.Pipe != nil:
			kind = burst.KindPipe
		case spec.Map != nil:
			kind = burst.KindMap
		}
		return &store.JobRow{Job: burst.Job{ID: id, Kind: kind, State: burst.Running, Spec: spec, Tasks: burst.TaskCounts{Total: 1, Running: 1}}}, nil
	}
	return f
}

func logsRequest(t *testing.T, f *taskLog, query string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "/v1/jobs/7/logs?task=0&"+query, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	newTest(t, f).ServeHTTP(w, r)
	return w
}

// Following a running map task's 4 MiB log while its job changes at every
// chunk reads its row a bounded number of times, not once per 64 KiB
// chunk: before, each change of the job cost a store read while the log
// was streamed (64 and more here).
func TestLogsFollowNoStoreReadPerChunk(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef\n"), (4<<20)/17)
	for _, c := range []struct {
		name string
		spec *burst.JobSpec
	}{
		{"map", &burst.JobSpec{Map: &burst.MapSpec{}}},
		{"run", &burst.JobSpec{}},
	} {
		f := newTaskLog(t, c.spec, 1, data)
		w := logsRequest(t, f, "follow=true")
		if !bytes.Equal(w.Body.Bytes(), data) {
			t.Fatalf("%s: %d bytes streamed, want the log's %d", c.name, w.Body.Len(), len(data))
		}
		if f.rowReads > 4 {
			t.Errorf("%s: %d store reads of the task's row to follow %d chunks; want a few, none per chunk", c.name, f.rowReads, len(data)>>16)
		}
	}
}

// A resumed request (offset > 0, the connection broke) for a map task that
// ran again is refused as a pipe's is, naming the command that prints the
// task's output as it is now: before, it got the new attempt's bytes from
// the old attempt's offset, spliced, with status 200.
func TestLogsResumeAfterRetryRefused(t *testing.T) {
	f := newTaskLog(t, &burst.JobSpec{Map: &burst.MapSpec{}}, 2, []byte("second attempt\n"))
	w := logsRequest(t, f, "follow=true&offset=6")
	if w.Code != 409 || !strings.Contains(w.Body.String(), "burst logs 7 --task 0") {
		t.Fatalf("resumed request of a retried map task: status %d, body %q; want 409 naming burst logs 7 --task 0", w.Code, w.Body.String())
	}
	// A run's logs keep every attempt: nothing to refuse.
	f = newTaskLog(t, &burst.JobSpec{}, 2, []byte("first\nsecond\n"))
	if w := logsRequest(t, f, "follow=true&offset=6"); w.Code != 200 || w.Body.String() != "second\n" {
		t.Fatalf("resumed request of a run: status %d, body %q; want 200 and %q", w.Code, w.Body.String(), "second\n")
	}
}

// When a followed map task runs again and its new attempt writes other
// bytes, the stream ends with the error trailer naming burst logs JOB
// --task N, not spliced and not a clean end.
func TestLogsFollowRetryChangedOutput(t *testing.T) {
	f := newTaskLog(t, &burst.JobSpec{Map: &burst.MapSpec{}}, 1, []byte("first\n"))
	f.active = 3
	var once sync.Once
	h := newTest(t, &retryOnRead{taskLog: f, retry: func() {
		once.Do(func() {
			f.mu.Lock()
			f.row.Attempt, f.running = 2, 2
			f.mu.Unlock()
			os.WriteFile(f.row.Stdout, []byte("other bytes\n"), 0o600)
		})
	}})
	r := httptest.NewRequest("GET", "/v1/jobs/7/logs?task=0&follow=true", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if got := w.Body.String(); got != "first\n" {
		t.Errorf("streamed %q, want the first attempt's %q alone", got, "first\n")
	}
	if msg := w.Result().Trailer.Get(client.ErrorTrailer); !strings.Contains(msg, "burst logs 7 --task 0") {
		t.Errorf("trailer %q, want the error naming burst logs 7 --task 0", msg)
	}
}

// retryOnRead retries the task (attempt 2, other bytes) the second time
// the handler asks whether it is active: after the first attempt's bytes
// were sent.
type retryOnRead struct {
	*taskLog
	retry func()
	calls int
}

func (f *retryOnRead) TaskActive(id int64, idx int) (bool, <-chan struct{}) {
	f.calls++
	if f.calls == 2 {
		f.retry()
	}
	return f.taskLog.TaskActive(id, idx)
}

// A log offset is a count of bytes already read, within the task's own
// bytes of a shared file: before, offset=-3 read the earlier job's output
// that an appended file holds before the task's, and an offset near the
// largest int64 wrapped offset+from and panicked on a slice bound.
func TestLogsOffsetRange(t *testing.T) {
	data := []byte("earlier job\nours\n")
	for _, c := range []struct {
		offset string
		code   int
		want   string
	}{
		{"", 200, "ours\n"},
		{"2", 200, "rs\n"},
		{"5", 200, ""},
		{"99", 200, ""}, // past the task's end: nothing, never the bytes after it
		{"-3", 400, ""},
		{"-9223372036854775808", 400, ""},
		{"abc", 400, ""},
		{"9223372036854775807", 400, ""},
		{"9223372036854775795", 200, ""}, // MaxInt64 - from: the last that does not wrap
	} {
		f := newTaskLog(t, &burst.JobSpec{}, 1, append(data, "later job\n"...))
		f.row.State = burst.Succeeded
		f.active = 0
		f.running = 0
		f.row.StdoutFrom, f.row.StdoutTo = 12, 17
		w := logsRequest(t, f, "offset="+c.offset)
		if w.Code != c.code {
			t.Errorf("offset=%s: status %d, want %d: %s", c.offset, w.Code, c.code, w.Body)
			continue
		}
		if c.code == 200 && w.Body.String() != c.want {
			t.Errorf("offset=%s: read %q, want %q", c.offset, w.Body, c.want)
		}
		if c.code == 400 && !strings.Contains(w.Body.String(), "offset") {
			t.Errorf("offset=%s: %s does not name the offset", c.offset, w.Body)
		}
	}
}

// A task that is not a number is refused naming ?task=, not read as task
// 0 (before, ?task=abc or ?task=1x streamed task 0's log as the one asked
// for).
func TestLogsTaskNotANumber(t *testing.T) {
	for _, task := range []string{"abc", "1x", "../../token", " 0"} {
		f := newTaskLog(t, &burst.JobSpec{}, 1, []byte("task zero\n"))
		r := httptest.NewRequest("GET", "/v1/jobs/7/logs?task="+url.QueryEscape(task), nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		newTest(t, f).ServeHTTP(w, r)
		if w.Code != 400 || !strings.Contains(w.Body.String(), "give ?task=N") {
			t.Errorf("task=%q: %d %s", task, w.Code, w.Body)
		}
	}
}

// heldLog is a task that runs until stop is closed.
type heldLog struct {
	*taskLog
	stop chan struct{}
}

func (f *heldLog) TaskActive(id int64, idx int) (bool, <-chan struct{}) {
	select {
	case <-f.stop:
		return false, f.stop
	default:
		return true, f.stop
	}
}

// Streams hold at most StreamFiles logs open, whoever sends them: one past
// it is answered 503 naming the bound (before, 256 followed logs took all
// 512 descriptors of a server and it answered nobody, its agents neither),
// and is taken again once a stream has ended.
func TestStreamFilesBounded(t *testing.T) {
	f := &heldLog{taskLog: newTaskLog(t, &burst.JobSpec{Kind: burst.KindRun}, 1, []byte("hello\n")), stop: make(chan struct{})}
	h, err := New(f, Options{Token: token, TokenFile: tokenFile, User: "ada", Addr: "http://127.0.0.1:7780", StreamFiles: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var once sync.Once
	end := func() { once.Do(func() { close(f.stop) }) }
	defer end() // before srv.Close: the followed log ends
	get := func(query string) *http.Response {
		t.Helper()
		r, _ := http.NewRequest("GET", srv.URL+"/v1/jobs/7/logs?task=0"+query, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	follow := get("&follow=1")
	line, err := bufio.NewReader(follow.Body).ReadString('\n')
	if err != nil || line != "hello\n" {
		t.Fatalf("the followed log: %q, %v", line, err)
	}
	second := get("")
	body, _ := io.ReadAll(second.Body)
	second.Body.Close()
	if second.StatusCode != 503 || second.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "holds 1 logs open for streams") {
		t.Fatalf("a log past the bound, while one is followed: %d %q", second.StatusCode, body)
	}
	end()
	io.Copy(io.Discard, follow.Body)
	follow.Body.Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		third := get("")
		body, _ = io.ReadAll(third.Body)
		third.Body.Close()
		if third.StatusCode == 200 && string(body) == "hello\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log once the followed one ended: %d %q", third.StatusCode, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The dashboard's log stream (server-sent events) ends with the error of a
// log that cannot be sent, in its end event, as it ends a stream broken
// off: the 503 of a log past the bound on open files was sent as the log's
// own text (an event "log" holding the JSON error, its id counting the
// error's bytes), so the page showed it as the job's output, and a
// reconnection from that id skipped as many bytes of the real log.
func TestUILogErrorIsNoOutput(t *testing.T) {
	f := &heldLog{taskLog: newTaskLog(t, &burst.JobSpec{Kind: burst.KindRun}, 1, []byte("hello\n")), stop: make(chan struct{})}
	const id = "cookie-id"
	f.session = func(_ context.Context, idHash string) (*store.SessionRow, error) {
		if idHash != hashHex(id) {
			return nil, nil
		}
		return &store.SessionRow{IDHash: idHash, User: "ada", CSRF: "csrf", TokenHash: hashHex(token), Expires: time.Now().Add(time.Hour)}, nil
	}
	h, err := New(f, Options{Token: token, TokenFile: tokenFile, User: "ada", Addr: "http://127.0.0.1:7780", StreamFiles: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer close(f.stop) // before srv.Close: the followed log ends
	r, _ := http.NewRequest("GET", srv.URL+"/v1/jobs/7/logs?task=0&follow=1", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	follow, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer follow.Body.Close()
	if line, err := bufio.NewReader(follow.Body).ReadString('\n'); err != nil || line != "hello\n" {
		t.Fatalf("the followed log: %q, %v", line, err)
	}
	// The one place is held: the page's stream is turned away.
	r, _ = http.NewRequest("GET", srv.URL+"/ui/jobs/7/log", nil)
	r.Header.Set("Cookie", sessionCookie+"="+id)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ev := string(body)
	if strings.Contains(ev, "event: log") || !strings.Contains(ev, "event: end") || !strings.Contains(ev, "holds 1 logs open") {
		t.Fatalf("the page's log stream past the bound:\n%s\nwant no log event, and an end event naming the bound", ev)
	}
}
