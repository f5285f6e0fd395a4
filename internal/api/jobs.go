package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/store"
)

// jobRoutes serves jobs, their tasks, logs and results.
func (h *handler) jobRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/jobs", h.handleSubmit)
	mux.HandleFunc("POST /v1/jobs/check", h.handleCheck)
	mux.HandleFunc("GET /v1/jobs", h.handleJobs)
	mux.HandleFunc("GET /v1/jobs/{id}", h.handleJob)
	mux.HandleFunc("GET /v1/jobs/{id}/tasks", h.handleTasks)
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", h.handleCancel)
	mux.HandleFunc("POST /v1/jobs/{id}/requeue", h.handleRequeue)
	mux.HandleFunc("POST /v1/jobs/{id}/requeuehold", h.handleRequeue)
	mux.HandleFunc("POST /v1/jobs/{id}/hold", h.handleHold(true))
	mux.HandleFunc("POST /v1/jobs/{id}/release", h.handleHold(false))
	mux.HandleFunc("POST /v1/jobs/{id}/update", h.handleUpdate)
	mux.HandleFunc("POST /v1/jobs/{id}/signal", h.handleSignal)
	mux.HandleFunc("POST /v1/jobs/{id}/notify", h.handleNotify)
	mux.HandleFunc("GET /v1/ids/{ref}", func(w http.ResponseWriter, r *http.Request) {
		ref, err := h.b.ResolveID(r.Context(), r.PathValue("ref"))
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, ref)
	})
	mux.HandleFunc("GET /v1/jobs/{id}/wait", h.handleWait)
	mux.HandleFunc("GET /v1/jobs/{id}/logs", h.handleLogs)
	mux.HandleFunc("GET /v1/jobs/{id}/attach", h.handleAttach)
	mux.HandleFunc("GET /v1/jobs/{id}/results", h.handleResults)
	mux.HandleFunc("GET /v1/jobs/{id}/output", h.handleOutput)
	mux.HandleFunc("GET /v1/jobs/{id}/outputs", h.handleOutputs)
	mux.HandleFunc("POST /v1/jobs/{id}/resume", h.handleResume)
}

func (h *handler) handleSubmit(w http.ResponseWriter, r *http.Request) {
	spec, ok := submitted(w, r)
	if !ok {
		return
	}
	j, err := h.b.Submit(r.Context(), actorOf(r), spec)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 201, answerJob(r, j))
}

// handleCheck runs every check of a submit and records nothing (sbatch
// --test-only): the spec as it would be admitted, its defaults filled. A
// route of its own, so that a server without it refuses (405) rather
// than submitting.
func (h *handler) handleCheck(w http.ResponseWriter, r *http.Request) {
	spec, ok := submitted(w, r)
	if !ok {
		return
	}
	if err := h.b.CheckSubmit(r.Context(), spec); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, spec)
}

// submitted reads a job's spec from r's body and checks that the caller
// may submit to its project (default when it names none, as
// JobSpec.Defaults); false once it has answered.
func submitted(w http.ResponseWriter, r *http.Request) (*burst.JobSpec, bool) {
	var spec burst.JobSpec
	if !decode(w, r, &spec) {
		return nil, false
	}
	return &spec, allowBody(w, r, auth.Submit, cmp.Or(spec.Project, "default"))
}

// answerJob is j as the request asks for it: without its spec with
// ?spec=false (a CLI that follows the job it submitted has the spec, and
// encoding and decoding it twice cost a `burst run` more than its wait).
func answerJob(r *http.Request, j *burst.Job) burst.Job {
	out := *j
	if r.URL.Query().Get("spec") == "false" {
		out.Spec = nil
	}
	return out
}

func (h *handler) handleJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.JobFilter{Project: q.Get("project"), Projects: visible(r.Context())}
	states, ok := stateParams(w, q["state"])
	if !ok {
		return
	}
	f.States = states
	n, ok := listLimit(w, q.Get("limit"))
	if !ok {
		return
	}
	f.Limit = n
	rows, err := h.b.JobList(r.Context(), f)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]burst.Job, len(rows))
	ptrs := make([]*burst.Job, len(rows))
	for i, row := range rows {
		out[i] = row.Job
		ptrs[i] = &out[i]
	}
	if err := h.b.JobCosts(r.Context(), ptrs); err != nil {
		writeErr(w, err)
		return
	}
	h.b.FillWaiting(ptrs)
	for i := range out {
		out[i].Waiting = h.hideWaiting(r.Context(), out[i].Waiting)
	}
	writeJSON(w, 200, out)
}

func (h *handler) handleJob(w http.ResponseWriter, r *http.Request) {
	if j, ok := h.getJob(w, r); ok {
		h.writeJob(w, r, &j.Job)
	}
}

// writeJob answers with the job as people see it: its stored row with what
// it cost so far, why it waits and the figures of its running tasks.
func (h *handler) writeJob(w http.ResponseWriter, r *http.Request, j *burst.Job) {
	if err := h.b.JobCosts(r.Context(), []*burst.Job{j}); err != nil {
		writeErr(w, err)
		return
	}
	h.b.FillWaiting([]*burst.Job{j})
	j.Waiting = h.hideWaiting(r.Context(), j.Waiting)
	h.b.LiveJobFigures(j)
	writeJSON(w, 200, answerJob(r, j))
}

// handleTasks lists task rows and fills in the tasks never dispatched as
// queued, so that every index in range is shown.
func (h *handler) handleTasks(w http.ResponseWriter, r *http.Request) {
	j, ok := h.getJob(w, r)
	if !ok {
		return
	}
	from, limit, ok := page(w, r.URL.Query())
	if !ok {
		return
	}
	if _, ok := stateParams(w, r.URL.Query()["state"]); !ok {
		return
	}
	if states := r.URL.Query()["state"]; len(states) > 0 {
		rows, err := h.b.TaskRowsIn(r.Context(), j.ID, from, limit, states)
		if err != nil {
			writeErr(w, err)
			return
		}
		out := make([]burst.Task, len(rows))
		for i, t := range rows {
			out[i] = t.Task
		}
		writeJSON(w, 200, h.tasksFor(r.Context(), h.b.LiveTasks(j.ID, out)))
		return
	}
	rows, err := h.b.TaskRows(r.Context(), j.ID, from, limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]burst.Task, 0, limit)
	next := 0
	for idx := max(from, 0); idx < j.Tasks.Total && len(out) < limit; idx++ {
		if next < len(rows) && rows[next].Index == idx {
			out = append(out, rows[next].Task)
			next++
			continue
		}
		st := burst.Queued
		if j.CancelRequested || j.State.Terminal() {
			st = burst.Cancelled
		}
		out = append(out, burst.Task{JobID: j.ID, Index: idx, State: st})
	}
	writeJSON(w, 200, h.tasksFor(r.Context(), h.b.LiveTasks(j.ID, out)))
}

// handleResume serves POST /v1/jobs/{id}/resume; a body, if any, holds
// client.ResumeOptions.
func (h *handler) handleResume(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	var o client.ResumeOptions
	if r.ContentLength != 0 && !decode(w, r, &o) {
		return
	}
	j, err := h.b.ResumeWith(r.Context(), id, o)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, j)
}

// handleCancel cancels a job, or with ?task=N one task of it (an array
// task, named by its own id: see ResolveID), or with ?waiting=1 its tasks
// not yet started (scancel -t PENDING). A cancel taken while the
// server's disk is full is answered 202: its tasks were told to stop, and
// it is recorded once there is room (CancelResult.Held says so).
func (h *handler) handleCancel(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	var res *client.CancelResult
	var err error
	if t := r.URL.Query().Get("task"); t == "" && r.URL.Query().Get("waiting") != "" {
		res, err = h.b.CancelWaiting(r.Context(), id)
	} else if t == "" {
		res, err = h.b.Cancel(r.Context(), id)
	} else if idx, aerr := strconv.Atoi(t); aerr != nil {
		err = apierr.BadRequestf("task %q is not a task number", t)
	} else {
		res, err = h.b.CancelTask(r.Context(), id, idx)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	code := 200
	if res.Held != "" {
		code = 202
	}
	writeJSON(w, code, res)
}

// handleHold holds a job none of whose tasks has started until it is
// released (on), or releases it: scontrol hold and release.
func (h *handler) handleHold(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := jobID(w, r)
		if !ok {
			return
		}
		if err := h.b.Hold(r.Context(), id, on, r.URL.Query().Get("user") == "1"); err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, struct {
			ID   int64 `json:"id"`
			Held bool  `json:"held"`
		}{id, on})
	}
}

// handleUpdate changes a job that has not ended: scontrol update.
func (h *handler) handleUpdate(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	var o client.UpdateOptions
	if !decode(w, r, &o) {
		return
	}
	if err := h.b.Update(r.Context(), id, o); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, struct {
		ID int64 `json:"id"`
	}{id})
}

// handleRequeue stops a running task (?task=N, default 0) and runs it
// again from the start, its attempt not counted against --retries
// (scontrol requeue); at .../requeuehold the job is held as well, until
// released (scontrol requeuehold: a route of its own, so that a server
// without it refuses rather than requeue unheld).
func (h *handler) handleRequeue(w http.ResponseWriter, r *http.Request) {
	id, idx, ok := jobTask(w, r)
	if !ok {
		return
	}
	if err := h.b.Requeue(r.Context(), id, idx, strings.HasSuffix(r.URL.Path, "/requeuehold")); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, struct {
		ID   int64 `json:"id"`
		Task int   `json:"task"`
	}{id, idx})
}

// handleSignal sends a signal to a job's running tasks (scancel
// --signal): ?signal=N, ?scope=steps|batch|all (default steps), ?task=I.
func (h *handler) handleSignal(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	sig, err := strconv.Atoi(q.Get("signal"))
	if err != nil {
		writeErr(w, apierr.BadRequestf("signal %q is not a signal number: give e.g. ?signal=10", q.Get("signal")))
		return
	}
	idx := -1
	if t := q.Get("task"); t != "" {
		if idx, err = strconv.Atoi(t); err != nil || idx < 0 {
			writeErr(w, apierr.BadRequestf("task %q is not a task number", t))
			return
		}
	}
	scope := client.SignalScope(cmp.Or(q.Get("scope"), string(client.SignalSteps)))
	res, err := h.b.Signal(r.Context(), id, idx, sig, scope)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, res)
}

// jobTask is a request's job id and ?task=N, a task's index (0 when not
// given); false, answered, when either is none.
func jobTask(w http.ResponseWriter, r *http.Request) (int64, int, bool) {
	id, ok := jobID(w, r)
	if !ok {
		return 0, 0, false
	}
	t := r.URL.Query().Get("task")
	if t == "" {
		return id, 0, true
	}
	idx, err := strconv.Atoi(t)
	if err != nil || idx < 0 {
		writeErr(w, apierr.BadRequestf("task %q is not a task number", t))
		return 0, 0, false
	}
	return id, idx, true
}

// handleNotify writes a message into a running job's error file
// (scontrol notify): {"message": "..."}, ?task=I (default 0).
func (h *handler) handleNotify(w http.ResponseWriter, r *http.Request) {
	id, idx, ok := jobTask(w, r)
	if !ok {
		return
	}
	var body struct {
		Message string `json:"message"`
	}
	if !decode(w, r, &body) {
		return
	}
	res, err := h.b.Notify(r.Context(), id, idx, body.Message)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, res)
}

// handleWait answers when the job is finished, or with its current state
// after timeout_ms (default 25 s) so that clients can poll without holding
// a connection forever.
func (h *handler) handleWait(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	timeout := 25 * time.Second
	if v, err := strconv.Atoi(r.URL.Query().Get("timeout_ms")); err == nil && v >= 0 {
		timeout = min(time.Duration(v)*time.Millisecond, 60*time.Second)
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	if h.awaitEnd(r.Context(), id, deadline.C) != nil {
		return
	}
	h.answerJob(w, r)
}

// awaitEnd returns once job id is no longer active (its row is final) or
// over fires (nil: never), or with ctx's error. The job is read from the
// store once, by the caller, when it has ended or the wait is over: a busy
// map changes hundreds of times a second, and reading it at each change
// cost the server more than running its tasks.
func (h *handler) awaitEnd(ctx context.Context, id int64, over <-chan time.Time) error {
	for ch := h.b.Watch(id); ch != nil; ch = h.b.Watch(id) { // nil: no longer active
		select {
		case <-ch:
		case <-over:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// answerJob answers the job of the request's path as it is now, without
// its spec when asked ?spec=false.
func (h *handler) answerJob(w http.ResponseWriter, r *http.Request) {
	var kinds []string // answered without the spec: none read
	if r.URL.Query().Get("spec") != "false" {
		kinds = []string{burst.KindRun, burst.KindMap, burst.KindPipe}
	}
	if j, ok := h.getJobHead(w, r, kinds...); ok {
		h.writeJob(w, r, &j.Job) // what the job view says: burst map's follower draws its progress from it
	}
}

// handleLogs streams a task's stdout or stderr file from offset. With
// follow it keeps streaming until the task has ended, reading the file in
// small chunks so that output of any size costs the server no memory.
func (h *handler) handleLogs(w http.ResponseWriter, r *http.Request) {
	// A run's spec is not needed (startsAfresh is false for it): the job is
	// read with its spec for a map or a pipe alone, in one query.
	j, ok := h.getJobHead(w, r, burst.KindMap, burst.KindPipe)
	if !ok {
		return
	}
	q := r.URL.Query()
	idx, err := strconv.Atoi(cmp.Or(q.Get("task"), "0"))
	if err != nil { // read as task 0, it streamed another task's log than the one asked for
		writeJSON(w, 400, client.Error{Message: fmt.Sprintf("task %q is not a task number: give ?task=N, N from 0 (see `burst show %d`)", q.Get("task"), j.ID)})
		return
	}
	if idx < 0 || idx >= j.Tasks.Total {
		writeJSON(w, 404, client.Error{Message: "job " + strconv.FormatInt(j.ID, 10) + " has no task " + strconv.Itoa(idx) + " (tasks are numbered from 0)"})
		return
	}
	stream := q.Get("stream")
	if stream == "" {
		stream = "stdout"
	}
	if stream != "stdout" && stream != "stderr" {
		writeJSON(w, 400, client.Error{Message: "stream must be stdout or stderr"})
		return
	}
	follow := q.Get("follow") == "true" || q.Get("follow") == "1"
	offset, ok := logOffset(w, q.Get("offset"))
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// An error met once the answer has begun goes in this trailer: the
	// client fails with it rather than take a cut log for the whole one.
	w.Header().Set("Trailer", client.ErrorTrailer)
	failed := streamFailed(w, r)
	flusher, _ := w.(http.Flusher)
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
			h.files.give()
		}
	}()
	buf := make([]byte, 64<<10)
	wrote := false
	var start, end, pos int64 // where the task's output begins and ends in its file, when known (others may append after it); where we are
	var settle time.Time      // until when an ended task's row is waited for
	var rs restartCheck
	// Only a task whose log starts afresh when it runs again (a pipe's
	// stage, a map task in burst's own logs) can have its streamed bytes
	// overwritten: the check of both halves below is armed for those alone.
	fresh := startsAfresh(j.Spec)
	// lost ends the answer for a log that lost bytes the task wrote (its
	// file removed or cut since): 410, or the error trailer once bytes
	// were sent.
	lost := func(format string, a ...any) {
		if wrote {
			failed(format, a...)
		} else {
			writeJSON(w, 410, client.Error{Message: fmt.Sprintf(format, a...)})
		}
	}
	for {
		if !h.stillReads(r.Context(), j.Project, j.User) {
			failed("%s", accessEnded(j.ID))
			return
		}
		active, ch := h.b.TaskActive(j.ID, idx)
		if f == nil {
			t, err := h.b.TaskRow(r.Context(), j.ID, idx)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				failed("job %d: reading task %d: %v", j.ID, idx, err)
				return
			}
			if err == nil && !active && t.State == burst.Running && (settle.IsZero() || time.Now().Before(settle)) {
				// It has ended, and its row says so once the end is
				// committed, a moment from now (the job's next change,
				// ch, taken before the read): its byte range and path
				// are final then. A second at most.
				if settle.IsZero() {
					settle = time.Now().Add(time.Second)
				}
				timer := time.NewTimer(20 * time.Millisecond)
				select {
				case <-r.Context().Done():
					timer.Stop()
					return
				case <-ch:
				case <-timer.C:
				}
				timer.Stop()
				continue
			}
			if err == nil {
				path, from, to := t.Stdout, t.StdoutFrom, t.StdoutTo
				if stream == "stderr" {
					path, from, to = t.Stderr, t.StderrFrom, t.StderrTo
				}
				start, end = from, to
				// offset counts from where this task's output begins (a
				// file appended to holds earlier jobs' output before it,
				// known once the task has started).
				if t.StartedAt == nil && !t.State.Terminal() {
					path = ""
				}
				if offset > 0 && t.Attempt > 1 && fresh {
					// Asked again from the middle (the connection broke) of a
					// task that ran again: the bytes the reader has may be an
					// earlier attempt's, which this one's must not be spliced to.
					if wrote {
						panic(http.ErrAbortHandler)
					}
					writeJSON(w, 409, client.Error{Message: ranAgain(&j.Job, idx)})
					return
				}
				if path != "" && offset > math.MaxInt64-from {
					// offset+from would wrap to a negative position.
					if wrote {
						failed("offset %d is past the end of any log", offset)
					} else {
						writeJSON(w, 400, client.Error{Message: fmt.Sprintf("offset %d is past the end of any log: give the number of bytes already read", offset)})
					}
					return
				}
				if path != "" {
					// pos stays within this task's bytes: never before
					// from (an appended file's earlier jobs' output) nor
					// past to, once known.
					pos = offset + from
					if to > 0 && pos > to {
						pos = to
					}
					switch {
					case wrote && !h.files.wait(r.Context().Done()):
						return // the stream has begun: it waits for a place
					case !wrote && !h.files.take():
						h.files.full(w)
						return
					}
					if f, err = os.Open(path); err != nil {
						h.files.give()
					}
					switch {
					case err == nil:
						if pos > 0 {
							f.Seek(pos, io.SeekStart)
						}
					case noFile(err):
						// Not written yet: a task's files are made at its
						// first byte (or never: a task whose output could
						// not be saved says so in its reason). Or removed
						// since, which the task's own record shows.
						if gone := logGone(path, from, to); gone != nil && t.State.Terminal() {
							lost("job %d: the %s of task %d is gone: %v", j.ID, stream, idx, gone)
							return
						}
					default:
						failed("job %d: the %s of task %d could not be opened: %v", j.ID, stream, idx, err)
						return
					}
					if follow && fresh {
						rs.begin(t.Attempt, pos, ch)
					}
				}
			}
		} else if !active && end == 0 {
			// It has ended: where its output ends is known now.
			t, err := h.b.TaskRow(r.Context(), j.ID, idx)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				failed("job %d: reading task %d: %v", j.ID, idx, err)
				return
			}
			if err == nil {
				end = t.StdoutTo
				if stream == "stderr" {
					end = t.StderrTo
				}
			}
		}
		if f != nil && follow && rs.verifying {
			if ok, done := rs.verify(f, pos, buf); !done && active {
				goto wait // the new attempt has not written as much yet
			} else if !ok {
				h.log.Warn("a task's output changed when it ran again, after part of it was streamed: stream ended", "job", j.ID, "task", idx, "streamed", pos-rs.start)
				failed("%s", ranAgain(&j.Job, idx)) // the client must not take this for the whole output
				return
			}
		}
		if f != nil {
			for end == 0 || pos < end {
				b := buf
				if end > 0 && int64(len(b)) > end-pos {
					b = b[:end-pos]
				}
				n, err := f.Read(b)
				if n > 0 && rs.changed(r.Context(), h.b, j.ID, idx, active) {
					// The task runs again (a pipe restarts whole): its log
					// starts afresh, and what was read may be the new
					// attempt's bytes at the old attempt's offset.
					f.Seek(pos, io.SeekStart)
					goto wait
				}
				pos += int64(n)
				if n > 0 {
					if _, werr := w.Write(b[:n]); werr != nil {
						return
					}
					rs.sent.Write(b[:n])
					wrote = true
				}
				if err != nil {
					if err != io.EOF {
						failed("job %d: the %s of task %d could not be read: %v", j.ID, stream, idx, err)
						return
					}
					break
				}
			}
			if flusher != nil && wrote {
				flusher.Flush()
			}
		}
		if f != nil && !active && end > 0 && pos < end {
			// It has ended, and its file ends before its bytes do.
			if fi, err := f.Stat(); err == nil {
				if cut := logCut(f.Name(), start, end, fi.Size()); cut != nil {
					lost("job %d: the %s of task %d is cut: %v", j.ID, stream, idx, cut)
					return
				}
			}
		}
		if !follow || !active {
			if f == nil && !follow {
				if !wrote {
					w.WriteHeader(200)
				}
			}
			return
		}
	wait:
		if !wrote {
			w.WriteHeader(200) // let the client know the stream is open
			if flusher != nil {
				flusher.Flush()
			}
			wrote = true
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ch:
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

// listLimit parses a listing's ?limit=: 0 (the listing's default) to
// burst.MaxListRows, so that one request cannot ask the server to read and
// encode every row it has.
func listLimit(w http.ResponseWriter, v string) (int, bool) {
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > burst.MaxListRows {
		writeJSON(w, 400, client.Error{Message: fmt.Sprintf("limit %.40q: give 0 (the default) to %d rows", v, burst.MaxListRows)})
		return 0, false
	}
	return n, true
}

// page parses a page of a job's tasks, results or outputs: ?from= and
// ?limit= (pageFrom, pageLimit).
func page(w http.ResponseWriter, q url.Values) (from, limit int, ok bool) {
	if from, ok = pageFrom(w, q.Get("from")); !ok {
		return 0, 0, false
	}
	limit, ok = pageLimit(w, q.Get("limit"))
	return from, limit, ok
}

// pageFrom parses a page's ?from= (the first task, output or result to
// give): 0 or more. A negative or unreadable one was read as 0 without a
// word, where ?offset=-1 of the logs is refused.
func pageFrom(w http.ResponseWriter, v string) (int, bool) {
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		writeJSON(w, 400, client.Error{Message: fmt.Sprintf("from %.40q: give the index to start at, 0 or more", v)})
		return 0, false
	}
	return n, true
}

// stateParams parses ?state= filters: an unknown state was taken as a
// filter no job or task matches, an empty listing where `burst jobs
// --state` names the states.
func stateParams(w http.ResponseWriter, vs []string) ([]burst.State, bool) {
	var out []burst.State
	for _, v := range vs {
		st := burst.State(v)
		if !st.Valid() {
			writeJSON(w, 400, client.Error{Message: fmt.Sprintf("state %.40q: give queued, running, succeeded, failed, cancelled, timeout or lost", v)})
			return nil, false
		}
		out = append(out, st)
	}
	return out, true
}

// pageLimit is listLimit for a job's tasks and results, whose default is
// 1,000 rows: a limit past burst.MaxListRows is refused as the other
// listings refuse it (it was cut to 1,000 without a word, which a client
// could take for every row there is).
func pageLimit(w http.ResponseWriter, v string) (int, bool) {
	n, ok := listLimit(w, v)
	if n == 0 {
		n = 1000
	}
	return n, ok
}

// logOffset parses a log request's offset: a count of bytes already read,
// 0 or more (a negative one would reach back into the bytes before the
// task's own, an earlier job's output in a file appended to).
func logOffset(w http.ResponseWriter, v string) (int64, bool) {
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		writeJSON(w, 400, client.Error{Message: fmt.Sprintf("offset %.40q: give the number of bytes already read, 0 or more", v)})
		return 0, false
	}
	return n, true
}

// startsAfresh says whether a task's log files start afresh when it runs
// again, as the server assigns them (internal/server/env.go): a pipe
// restarts whole; a map task retried or requeued gets its own logs anew
// unless they were named (--output, an #SBATCH pattern), which keep every
// attempt's bytes one after the other.
func startsAfresh(spec *burst.JobSpec) bool {
	if spec == nil {
		return false
	}
	if spec.Pipe != nil {
		return true
	}
	return spec.Map != nil && spec.Stdout == "" && spec.Stderr == "" && (spec.Batch == nil || spec.Native)
}

// ranAgain is what a reader of task idx is told when the bytes it was sent
// may be an attempt's that is gone, with the command that prints the task's
// output as it is now.
func ranAgain(j *burst.Job, idx int) string {
	id := strconv.FormatInt(j.ID, 10)
	cmd := "burst logs " + id
	what := "job " + id
	if j.Spec == nil || j.Spec.Pipe == nil {
		cmd += " --task " + strconv.Itoa(idx)
		what += " task " + strconv.Itoa(idx)
	}
	return what + " ran again after part of its output had been streamed, and its new attempt wrote other bytes: " +
		"what was printed is an earlier attempt's; the output as it is now: " + cmd
}

// restartCheck keeps a followed log honest when its task runs again (a
// pipe restarts whole after a machine is lost; a map task is retried): the
// new attempt's log starts afresh at the same path, so the bytes already
// streamed belong to an attempt that is gone. The stream goes on only if
// the new attempt writes the same bytes first (a deterministic pipeline
// does): then the reader gets each byte once, exactly as the shell would
// have written them. Otherwise the stream breaks off rather than splice
// two attempts' outputs at an offset.
type restartCheck struct {
	attempt   int             // the attempt whose bytes were streamed
	start     int64           // where in the file the stream began
	seen      <-chan struct{} // the job's change channel when attempt was read
	sent      maphash.Hash    // of the bytes streamed
	verifying bool            // a new attempt's first bytes are being compared
	at        int64           // how far they were
	again     maphash.Hash    // of them
}

func (c *restartCheck) begin(attempt int, start int64, ch <-chan struct{}) {
	c.attempt, c.start, c.seen = attempt, start, ch
	c.sent.SetSeed(maphash.MakeSeed())
}

// changed says whether the task now runs as another attempt. It asks
// the server's memory first (no store read: a busy map's job changes with
// every task, and a read at each change was a store read per chunk); the
// task's row is read only when the task no longer runs as the attempt
// streamed and its job changed since the last look. A task that ended and
// will not run again disarms the check.
func (c *restartCheck) changed(ctx context.Context, b Backend, job int64, idx int, active bool) bool {
	if c.seen == nil || c.attempt == 0 {
		return false
	}
	if m, ok := b.(taskAttempts); ok {
		if a, running := m.TaskAttempt(job, idx); running && a == c.attempt {
			// It still runs as the attempt streamed: the next one, which
			// starts the file afresh, has not begun, so the bytes just
			// read are this one's.
			return false
		}
	}
	select {
	case <-c.seen:
	default:
		return false
	}
	_, c.seen = b.TaskActive(job, idx)
	t, err := b.TaskRow(ctx, job, idx)
	if err != nil || t.Attempt == c.attempt {
		if err == nil && !active {
			c.attempt = 0 // it has ended for good as the attempt streamed
		}
		return false
	}
	c.attempt, c.verifying, c.at = t.Attempt, true, c.start
	c.again.SetSeed(c.sent.Seed())
	return true
}

// taskAttempts is what a backend can say from memory, at no cost, of the
// attempt a task runs as (running false: as none).
type taskAttempts interface {
	TaskAttempt(job int64, idx int) (attempt int, running bool)
}

// verify compares the new attempt's bytes up to pos with those streamed:
// done once it has them all (ok: they are the same).
func (c *restartCheck) verify(f *os.File, pos int64, buf []byte) (ok, done bool) {
	for c.at < pos {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), pos-c.at)], c.at)
		c.again.Write(buf[:n])
		c.at += int64(n)
		if err != nil {
			break
		}
	}
	if c.at < pos {
		return false, false
	}
	c.verifying = false
	return c.again.Sum64() == c.sent.Sum64(), true
}

// tasksFor is ts as the caller may see them: hideWaiting on each task's
// reason, and no log paths on the server's host for a caller who may not
// see them (auth.SeesHostPaths; their output comes through the logs route).
func (h *handler) tasksFor(ctx context.Context, ts []burst.Task) []burst.Task {
	paths := auth.SeesHostPaths(auth.From(ctx))
	for i := range ts {
		ts[i].Reason = h.hideWaiting(ctx, ts[i].Reason)
		if !paths {
			ts[i].Stdout, ts[i].Stderr = "", ""
		}
	}
	return ts
}
