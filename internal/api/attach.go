package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// handleAttach follows one task of a job to its end in one answer: its
// stdout and stderr as they are written, then the job once it has ended,
// in frames (client.FrameStdout ...). It is what `burst run` follows a job
// with: one request where it took three (the two logs and the wait), each
// a connection, a goroutine and reads of the job on the server.
//
// Each stream is GET /v1/jobs/{id}/logs?follow=true, run here into a
// frame of its own kind: the same checks, offsets (?stdout=N&stderr=M:
// the bytes the client has) and answers, an error before a stream began
// in its end frame. An error about the whole request met before anything
// was sent (no such job or task, no right to read it, no room for the
// streams: wholeRefusal) is the answer's own status, as the logs would
// have answered it.
func (h *handler) handleAttach(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	names := []string{"stdout", "stderr"}
	if q.Has("streams") { // none: the streams had ended when the answer broke, the job had not come
		names = nil
		if v := q.Get("streams"); v != "" {
			names = strings.SplitN(v, ",", 3) // a third is one too many
		}
	}
	for i, n := range names {
		if (n != "stdout" && n != "stderr") || slices.Contains(names[:i], n) {
			writeJSON(w, 400, client.Error{Message: fmt.Sprintf("streams %.40q: give stdout, stderr or both, each once", q.Get("streams"))})
			return
		}
	}
	// The job as its logs read it, once for both: no such job (404), or
	// one the caller may not read, is the answer's status.
	j, ok := h.getJobHead(w, r, burst.KindMap, burst.KindPipe)
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(context.WithValue(r.Context(), jobHeadKey{}, *j))
	defer cancel()
	out := &attachOut{w: w, cancel: cancel}
	out.fl, _ = w.(http.Flusher)
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() {
			lq := url.Values{"task": {q.Get("task")}, "stream": {name}, "offset": {q.Get(name)}, "follow": {"true"}}
			out.stream(ctx, name, func(fw http.ResponseWriter) {
				r2 := r.Clone(ctx)
				r2.URL.RawQuery = lq.Encode()
				h.handleLogs(fw, r2)
			}, h.files)
		})
	}
	wg.Wait()
	if out.panicked != nil {
		panic(out.panicked) // net/http recovers it, as for any handler
	}
	if out.aborted {
		panic(http.ErrAbortHandler) // the client asks again from where each stream was
	}
	if out.failed || r.Context().Err() != nil {
		return
	}
	// The task's streams are over: the job ends with it, or soon after
	// (another try of the task, which these streams did not follow).
	out.opened() // streams= (none left): the header must not wait for the job's end
	if h.awaitEnd(r.Context(), id, nil) != nil {
		return
	}
	jw := &frameWriter{header: http.Header{}}
	h.answerJob(jw, r)
	if jw.status != http.StatusOK {
		out.end(client.AttachEnd{Stream: "job", Status: jw.status, Message: errorMessage(jw.body.Bytes())})
		return
	}
	_ = out.frame(client.FrameJob, bytes.TrimSuffix(jw.body.Bytes(), []byte("\n")))
}

// attachOut is an attach answer, written by its streams: one frame at a
// time, its header sent with the first frame or as soon as a stream began
// (its checks passed), so that the client knows the answer is coming.
type attachOut struct {
	w        http.ResponseWriter
	fl       http.Flusher
	cancel   context.CancelFunc
	mu       sync.Mutex
	began    bool  // the answer's 200 was sent
	failed   bool  // the answer is an error (sent): nothing more goes
	aborted  bool  // a stream's handler aborted: so does the answer
	werr     error // the first write to the client that failed: every stream stops
	panicked any   // what a stream's handler panicked with: so does the answer's
}

// begin sends the answer's header if it was not. Called with o.mu held.
func (o *attachOut) begin() {
	if !o.began {
		o.w.Header().Set("Content-Type", client.AttachContentType)
		o.w.Header().Set("X-Content-Type-Options", "nosniff")
		o.w.WriteHeader(http.StatusOK)
		o.began = true
	}
}

// frame sends one frame and flushes it.
func (o *attachOut) frame(kind byte, p []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failed || o.werr != nil {
		return o.werr
	}
	o.begin()
	var head [5]byte
	head[0] = kind
	binary.BigEndian.PutUint32(head[1:], uint32(len(p)))
	if _, o.werr = o.w.Write(head[:]); o.werr != nil {
		return o.werr
	}
	if _, o.werr = o.w.Write(p); o.werr != nil {
		return o.werr
	}
	if o.fl != nil {
		o.fl.Flush()
	}
	return nil
}

// end sends a stream's end frame.
func (o *attachOut) end(e client.AttachEnd) {
	b, _ := json.Marshal(e)
	o.frame(client.FrameStreamEnd, b)
}

// opened sends the answer's header, flushed, once a stream has begun.
func (o *attachOut) opened() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.failed && !o.began {
		o.begin()
		if o.fl != nil {
			o.fl.Flush()
		}
	}
}

// refuse answers status and body for the whole attach, if nothing was sent
// yet: true then, and the other streams stop.
func (o *attachOut) refuse(status int, header http.Header, body []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.began || o.failed {
		return o.failed
	}
	o.failed = true
	for _, k := range []string{"Retry-After", client.SlotHeader} {
		if v := header.Get(k); v != "" {
			o.w.Header().Set(k, v)
		}
	}
	o.w.Header().Set("Content-Type", "application/json")
	o.w.WriteHeader(status)
	o.w.Write(body)
	o.cancel()
	return true
}

// stream runs one stream's logs handler (serve) into frames of its kind.
// A stream turned away for want of a file place (503) once the answer has
// begun waits for one and goes on: the client cannot ask again for it
// alone.
func (o *attachOut) stream(ctx context.Context, name string, serve func(http.ResponseWriter), files fileGate) {
	kind := client.FrameStdout
	if name == "stderr" {
		kind = client.FrameStderr
	}
	for {
		fw := &frameWriter{header: http.Header{}, data: func(p []byte) error { return o.frame(kind, p) }, opened: o.opened}
		if !o.run(fw, serve) || ctx.Err() != nil {
			return // aborted, refused or gone: not a stream that ended
		}
		switch {
		case fw.status == http.StatusOK || fw.status == 0:
			o.end(client.AttachEnd{Stream: name, Status: http.StatusOK, Message: fw.header.Get(client.ErrorTrailer)})
			return
		case wholeRefusal(fw.status) && o.refuse(fw.status, fw.header, fw.body.Bytes()):
			return
		case fw.status == http.StatusServiceUnavailable && fw.header.Get(client.SlotHeader) != "":
			if !files.wait(ctx.Done()) {
				return
			}
			files.give() // a place was free a moment ago: ask again
		default:
			o.end(client.AttachEnd{Stream: name, Status: fw.status, Message: errorMessage(fw.body.Bytes())})
			return
		}
	}
}

// wholeRefusal says whether a stream's error answer is about the whole
// request (no such job or task, no right to it, no room for streams now)
// rather than about its stream alone (its file gone, the task ran again):
// the first stops the attach if nothing was sent yet.
func wholeRefusal(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable:
		return true
	}
	return false
}

// run calls serve, and says false if it aborted the answer (a panic of
// http.ErrAbortHandler: its stream cannot go on from where it was).
func (o *attachOut) run(fw *frameWriter, serve func(http.ResponseWriter)) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			o.mu.Lock()
			o.aborted = true
			if p != http.ErrAbortHandler {
				o.panicked = p
			}
			o.mu.Unlock()
			o.cancel()
			ok = false
		}
	}()
	serve(fw)
	return true
}

// frameWriter is the http.ResponseWriter a stream's handler writes to:
// its body goes on as frames once it answered 200, and is kept otherwise
// (an error answer).
type frameWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
	data   func([]byte) error // nil: the body is kept
	opened func()
}

func (f *frameWriter) Header() http.Header { return f.header }

func (f *frameWriter) WriteHeader(status int) {
	if f.status == 0 {
		f.status = status
	}
}

func (f *frameWriter) Write(p []byte) (int, error) {
	f.WriteHeader(http.StatusOK)
	if f.status == http.StatusOK && f.data != nil {
		if len(p) > 0 {
			if err := f.data(p); err != nil {
				return 0, err
			}
		}
		return len(p), nil
	}
	return f.body.Write(p)
}

// Flush: a stream that answered 200 has begun, and the answer with it.
func (f *frameWriter) Flush() {
	if f.status == http.StatusOK && f.opened != nil {
		f.opened()
	}
}

// errorMessage is the message of an error answer's JSON body.
func errorMessage(body []byte) string {
	var e client.Error
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return strings.TrimSpace(string(body))
	}
	return e.Message
}
