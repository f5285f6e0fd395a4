package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/store"
)

// attachClient serves f's API over a loopback listener and returns a
// client of it.
func attachClient(t *testing.T, f Backend) *client.Client {
	t.Helper()
	srv := httptest.NewServer(newTest(t, f))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, token, client.WithRetry(client.Retry{Patience: 5 * time.Second, First: time.Millisecond, Max: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func attachCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// One attach answer carries a task's stdout, its stderr and the job: the
// same bytes as the logs would send, the job read once for both streams.
func TestAttachFollowsTaskAndJob(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef\n"), (1<<20)/17)
	f := newTaskLog(t, &burst.JobSpec{}, 1, data)
	f.row.Stderr = f.row.Stdout + ".err"
	if err := os.WriteFile(f.row.Stderr, []byte("a warning\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var heads sync.Mutex
	reads := 0
	job := f.job
	f.job = func(ctx context.Context, id int64) (*store.JobRow, error) {
		heads.Lock()
		reads++
		heads.Unlock()
		return job(ctx, id)
	}
	var out, errb bytes.Buffer
	j, cut, err := attachClient(t, f).Attach(attachCtx(t), 7, 0, &out, &errb)
	if err != nil || cut != nil {
		t.Fatalf("Attach: cut %v, err %v", cut, err)
	}
	if reads != 2 {
		t.Errorf("the job was read %d times, want twice: once for both streams, once as it ended", reads)
	}
	if !bytes.Equal(out.Bytes(), data) || errb.String() != "a warning\n" {
		t.Errorf("stdout %d bytes (want the log's %d), stderr %q", out.Len(), len(data), errb.String())
	}
	if j == nil || j.ID != 7 {
		t.Errorf("job %+v, want job 7", j)
	}
}

// What stops the logs before they began stops the attach whole, with the
// logs' own status and message; a stream asked for twice, or one that is
// not a stream, is refused.
func TestAttachRefusedWhole(t *testing.T) {
	f := newTaskLog(t, &burst.JobSpec{}, 1, []byte("x\n"))
	c := attachClient(t, f)
	_, _, err := c.Attach(attachCtx(t), 7, 3, &bytes.Buffer{}, &bytes.Buffer{})
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != 404 || !strings.Contains(ae.Message, "has no task 3") {
		t.Errorf("task 3 of a job of one: err %v, want the logs' 404", err)
	}
	for _, q := range []string{"streams=stdout,stdout", "streams=stdin", "streams=stdout,"} {
		r := httptest.NewRequest("GET", "/v1/jobs/7/attach?task=0&"+q, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		newTest(t, f).ServeHTTP(w, r)
		if w.Code != 400 || !strings.Contains(w.Body.String(), "give stdout, stderr or both") {
			t.Errorf("%s: status %d, body %q; want 400 naming the streams to give", q, w.Code, w.Body.String())
		}
	}
}

// An attach asked again from the middle (?stdout=N) goes on from byte N;
// for a map task that ran again meanwhile, that stream ends refused as the
// logs refuse it (409, naming burst logs), and the job still comes.
func TestAttachOffsets(t *testing.T) {
	f := newTaskLog(t, &burst.JobSpec{}, 1, []byte("first\nsecond\n"))
	frames := attachFrames(t, f, "task=0&streams=stdout&stdout=6")
	if got := string(frames[client.FrameStdout]); got != "second\n" {
		t.Errorf("from byte 6: %q, want %q", got, "second\n")
	}
	if len(frames[client.FrameJob]) == 0 {
		t.Error("no job frame")
	}
	f = newTaskLog(t, &burst.JobSpec{Map: &burst.MapSpec{}}, 2, []byte("second attempt\n"))
	frames = attachFrames(t, f, "task=0&streams=stdout&stdout=6")
	if end := string(frames[client.FrameStreamEnd]); !strings.Contains(end, `"status":409`) || !strings.Contains(end, "burst logs 7 --task 0") {
		t.Errorf("a retried map task from byte 6: end frame %q, want 409 naming burst logs 7 --task 0", end)
	}
	if len(frames[client.FrameStdout]) != 0 || len(frames[client.FrameJob]) == 0 {
		t.Errorf("a retried map task from byte 6: stdout %q, job %q; want no bytes and the job", frames[client.FrameStdout], frames[client.FrameJob])
	}
}

// A followed map task whose new attempt wrote other bytes ends its stream
// with the logs' error (the trailer they would send), not spliced.
func TestAttachRetryChangedOutput(t *testing.T) {
	f := newTaskLog(t, &burst.JobSpec{Map: &burst.MapSpec{}}, 1, []byte("first\n"))
	f.active = 3
	var once sync.Once
	var out bytes.Buffer
	_, cut, err := attachClient(t, &retryOnRead{taskLog: f, retry: func() {
		once.Do(func() {
			f.mu.Lock()
			f.row.Attempt, f.running = 2, 2
			f.mu.Unlock()
			os.WriteFile(f.row.Stdout, []byte("other bytes\n"), 0o600)
		})
	}}).Attach(attachCtx(t), 7, 0, &out, nil)
	if err != nil || out.String() != "first\n" || cut == nil || !strings.Contains(cut.Error(), "burst logs 7 --task 0") {
		t.Errorf("stdout %q, cut %v, err %v; want the first attempt's bytes alone, cut naming burst logs 7 --task 0", out.String(), cut, err)
	}
}

// attachFrames serves one attach request to f and gathers its frames'
// payloads by kind.
func attachFrames(t *testing.T, f Backend, query string) map[byte][]byte {
	t.Helper()
	r := httptest.NewRequest("GET", "/v1/jobs/7/attach?"+query, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	newTest(t, f).ServeHTTP(w, r)
	if w.Code != 200 || w.Header().Get("Content-Type") != client.AttachContentType {
		t.Fatalf("status %d, %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	frames := map[byte][]byte{}
	b := w.Body.Bytes()
	for len(b) > 0 {
		if len(b) < 5 {
			t.Fatalf("a cut frame head: %q", b)
		}
		n := binary.BigEndian.Uint32(b[1:5])
		if uint32(len(b)-5) < n {
			t.Fatalf("a frame of %d bytes with %d left", n, len(b)-5)
		}
		frames[b[0]] = append(frames[b[0]], b[5:5+n]...)
		b = b[5+n:]
	}
	return frames
}

// Watch: the job has ended once its task's streams are over.
func (f *taskLog) Watch(int64) <-chan struct{} { return nil }

// The job's answer: no costs, nothing waited for, no live figures.
func (f *taskLog) JobCosts(context.Context, []*burst.Job) error { return nil }
func (f *taskLog) FillWaiting([]*burst.Job)                     {}
func (f *taskLog) LiveJobFigures(*burst.Job)                    {}

// startsLate is a map task that had not started at each stream's first
// read of its row (the first read waits for the second), and runs as
// attempt 2 at every read after: a stream that had begun from an offset
// then aborts the answer (its bytes may be the old attempt's).
type startsLate struct {
	*taskLog
	mu    sync.Mutex
	reads int
	both  chan struct{}
}

func (s *startsLate) TaskRow(ctx context.Context, job int64, idx int) (*store.TaskRow, error) {
	s.mu.Lock()
	s.reads++
	n := s.reads
	s.mu.Unlock()
	switch n {
	case 1:
		select {
		case <-s.both:
		case <-ctx.Done():
		}
	case 2:
		close(s.both)
	}
	r, err := s.taskLog.TaskRow(ctx, job, idx)
	if n <= 2 {
		r.StartedAt, r.Attempt = nil, 1
	}
	return r, err
}

// When one stream aborts the answer (asked again from the middle of a map
// task that ran again), the other, still following a running task, is
// not said to have ended whole: the client would not ask for it again
// and lose the rest of its output.
func TestAttachAbortLeavesOtherStreamOpen(t *testing.T) {
	f := newTaskLog(t, &burst.JobSpec{Map: &burst.MapSpec{}}, 2, []byte("first\nsecond\n"))
	f.active = 1 << 30 // it runs throughout
	f.row.Stderr = f.row.Stdout + ".err"
	if err := os.WriteFile(f.row.Stderr, []byte("warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/v1/jobs/7/attach?task=0&streams=stdout,stderr&stdout=6&stderr=0", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Fatalf("panic %v, want the answer aborted (http.ErrAbortHandler)", p)
			}
		}()
		newTest(t, &startsLate{taskLog: f, both: make(chan struct{})}).ServeHTTP(w, r)
	}()
	for b := w.Body.Bytes(); len(b) >= 5; {
		n := binary.BigEndian.Uint32(b[1:5])
		if b[0] == client.FrameStreamEnd {
			t.Errorf("an end frame before the abort: %s; want none (the client asks again for both)", b[5:5+n])
		}
		b = b[5+n:]
	}
}

// endless is a job that goes on after its task's streams ended (another
// try of the task).
type endless struct{ *taskLog }

func (endless) Watch(int64) <-chan struct{} { return make(chan struct{}) }

// An attach asked again with no stream left (streams=: they had ended
// when the answer broke) answers its header at once, not at the job's
// end: the client gives up on an answer whose header does not come.
func TestAttachNoStreamsHeaderAtOnce(t *testing.T) {
	srv := httptest.NewServer(newTest(t, endless{newTaskLog(t, &burst.JobSpec{}, 1, []byte("x\n"))}))
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 10 * time.Second}}
	req, _ := http.NewRequestWithContext(attachCtx(t), "GET", srv.URL+"/v1/jobs/7/attach?task=0&streams=", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("streams= of a job that goes on: %v, want its header", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != client.AttachContentType {
		t.Errorf("status %d, %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// brokenPipe is a client that went away: every write fails.
type brokenPipe struct {
	h      http.Header
	writes int
}

func (b *brokenPipe) Header() http.Header { return b.h }
func (b *brokenPipe) WriteHeader(int)     {}
func (b *brokenPipe) Write([]byte) (int, error) {
	b.writes++
	return 0, errors.New("broken pipe")
}
func (b *brokenPipe) Flush() {}

// A stream whose client went away stops at the first write that failed,
// as the logs do: it does not read a 4 MiB log through for nobody.
func TestAttachStopsAtBrokenConnection(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef\n"), (4<<20)/17)
	for _, path := range []string{"/v1/jobs/7/logs?task=0&follow=true", "/v1/jobs/7/attach?task=0&streams=stdout"} {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := &brokenPipe{h: http.Header{}}
		newTest(t, newTaskLog(t, &burst.JobSpec{}, 1, data)).ServeHTTP(w, r)
		if w.writes > 3 {
			t.Errorf("%s: %d writes to a broken connection, want it to stop at the first", path, w.writes)
		}
	}
}

// rowPanics is a backend with a bug: reading a task's row panics.
type rowPanics struct{ *taskLog }

func (rowPanics) TaskRow(context.Context, int64, int) (*store.TaskRow, error) { panic("a bug") }

// A panic in a stream (a bug) costs its connection, as it does a logs
// request, not the server: it was raised again on the stream's own
// goroutine, where nothing recovers it.
func TestAttachStreamPanicKeepsServer(t *testing.T) {
	srv := httptest.NewServer(newTest(t, rowPanics{newTaskLog(t, &burst.JobSpec{}, 1, []byte("x\n"))}))
	defer srv.Close()
	for range 2 {
		req, _ := http.NewRequestWithContext(attachCtx(t), "GET", srv.URL+"/v1/jobs/7/attach?task=0", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Errorf("an attach whose stream panicked answered %d, want its connection cut", resp.StatusCode)
		}
	}
}
