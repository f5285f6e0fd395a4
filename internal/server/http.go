package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/store"
)

func (s *Server) routes() (http.Handler, error) {
	mux := http.NewServeMux()
	if err := s.uiRoutes(mux); err != nil {
		return nil, err
	}
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s.health()) })
	mux.HandleFunc("POST /v1/jobs", s.handleSubmit)
	mux.HandleFunc("GET /v1/jobs", s.handleJobs)
	mux.HandleFunc("GET /v1/jobs/{id}", s.handleJob)
	mux.HandleFunc("GET /v1/jobs/{id}/tasks", s.handleTasks)
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", s.handleCancel)
	mux.HandleFunc("GET /v1/ids/{ref}", func(w http.ResponseWriter, r *http.Request) {
		ref, err := s.ResolveID(r.Context(), r.PathValue("ref"))
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, ref)
	})
	mux.HandleFunc("GET /v1/jobs/{id}/wait", s.handleWait)
	mux.HandleFunc("GET /v1/jobs/{id}/logs", s.handleLogs)
	mux.HandleFunc("GET /v1/jobs/{id}/results", s.handleResults)
	mux.HandleFunc("GET /v1/jobs/{id}/output", s.handleOutput)
	mux.HandleFunc("POST /v1/jobs/{id}/resume", s.handleResume)
	s.moneyRoutes(mux)
	mux.HandleFunc("POST /v1/agent/register", agentHandler(s.Register))
	mux.HandleFunc("POST /v1/agent/lease", agentHandler(s.Lease))
	mux.HandleFunc("POST /v1/agent/report", func(w http.ResponseWriter, r *http.Request) {
		var rep client.Report
		if !decode(w, r, &rep) {
			return
		}
		if err := s.Report(r.Context(), &rep); err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, struct{}{})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, client.Error{Message: "no such endpoint: " + r.Method + " " + r.URL.Path + " (see docs/api.md)"})
	})
	return s.auth(mux), nil
}

// auth refuses every request without the server's bearer token.
func (s *Server) auth(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/ui/") || r.URL.Path == "/ui" {
			next.ServeHTTP(w, r) // the dashboard checks its sessions itself
			return
		}
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			if actor, ok := s.uiAPI(w, r); ok {
				if actor != "" { // a signed-in page calls the API
					next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, actor)))
				}
				return
			}
			writeJSON(w, http.StatusUnauthorized, client.Error{Message: "missing or wrong token: send \"Authorization: Bearer TOKEN\" with the token from " + s.home.Token()})
			return
		}
		user := r.Header.Get("X-Burst-User")
		if !burst.ValidName(user) {
			user = s.user
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, user)))
	})
}

type actorKey struct{}

// actorOf is who made a request: the user the client names (it holds the
// server's token, so it is trusted to), else the server's own user.
func actorOf(r *http.Request) string { return actorFrom(r.Context()) }

func actorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok {
		return a
	}
	return "server"
}

func agentHandler[In, Out any](fn func(context.Context, *In) (*Out, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in In
		if !decode(w, r, &in) {
			return
		}
		out, err := fn(r.Context(), &in)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, out)
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, 400, client.Error{Message: "bad request body: " + err.Error()})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	var br *errBadRequest
	switch {
	case errors.As(err, &br):
		writeJSON(w, 400, client.Error{Message: br.msg})
	case errors.Is(err, errConflict):
		writeJSON(w, 409, client.Error{Message: err.Error()})
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, 404, client.Error{Message: err.Error()})
	case errors.As(err, new(*errNoJob)), errors.As(err, new(*errNotFoundMsg)):
		writeJSON(w, 404, client.Error{Message: err.Error()})
	default:
		writeJSON(w, 500, client.Error{Message: err.Error()})
	}
}

// errNoJob is a job id that does not exist (HTTP 404).
type errNoJob struct{ id int64 }

func (e *errNoJob) Error() string {
	return "no job " + strconv.FormatInt(e.id, 10) + ": see `burst jobs` for the jobs that exist"
}

// readJob reads a job from the store, with errNoJob for an unknown id.
func (s *Server) readJob(ctx context.Context, id int64) (*store.JobRow, error) {
	j, err := s.st.GetJob(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &errNoJob{id}
	}
	return j, err
}

func jobID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeJSON(w, 400, client.Error{Message: "job id " + strconv.Quote(r.PathValue("id")) + " is not a job number: see `burst jobs`"})
		return 0, false
	}
	return id, true
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) (*store.JobRow, bool) {
	id, ok := jobID(w, r)
	if !ok {
		return nil, false
	}
	j, err := s.readJob(r.Context(), id)
	if err != nil {
		writeErr(w, err)
		return nil, false
	}
	return j, true
}

func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) {
	var spec burst.JobSpec
	if !decode(w, r, &spec) {
		return
	}
	j, err := s.Submit(r.Context(), actorOf(r), &spec)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 201, j)
}

func (s *Server) handleJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.JobFilter{Project: q.Get("project")}
	for _, st := range q["state"] {
		f.States = append(f.States, burst.State(st))
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			writeJSON(w, 400, client.Error{Message: "limit must be a positive number"})
			return
		}
		f.Limit = n
	}
	rows, err := s.st.ListJobs(r.Context(), f)
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
	if err := s.jobCosts(r.Context(), ptrs); err != nil {
		writeErr(w, err)
		return
	}
	s.fillWaiting(ptrs)
	writeJSON(w, 200, out)
}

func (s *Server) handleJob(w http.ResponseWriter, r *http.Request) {
	if j, ok := s.getJob(w, r); ok {
		if err := s.jobCosts(r.Context(), []*burst.Job{&j.Job}); err != nil {
			writeErr(w, err)
			return
		}
		s.fillWaiting([]*burst.Job{&j.Job})
		s.liveJobFigures(&j.Job)
		writeJSON(w, 200, j.Job)
	}
}

// handleTasks lists task rows and fills in the tasks never dispatched as
// queued, so that every index in range is shown.
func (s *Server) handleTasks(w http.ResponseWriter, r *http.Request) {
	j, ok := s.getJob(w, r)
	if !ok {
		return
	}
	from, _ := strconv.Atoi(r.URL.Query().Get("from"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	if states := r.URL.Query()["state"]; len(states) > 0 {
		rows, err := s.st.TasksInState(r.Context(), j.ID, from, limit, states)
		if err != nil {
			writeErr(w, err)
			return
		}
		out := make([]burst.Task, len(rows))
		for i, t := range rows {
			out[i] = t.Task
		}
		s.liveFigures(j.ID, out)
		writeJSON(w, 200, s.queuedWhy(j.ID, out))
		return
	}
	rows, err := s.st.ListTasks(r.Context(), j.ID, from, limit)
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
	s.liveFigures(j.ID, out)
	writeJSON(w, 200, s.queuedWhy(j.ID, out))
}

// handleResume serves POST /v1/jobs/{id}/resume; a body, if any, holds
// client.ResumeOptions.
func (s *Server) handleResume(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	var o client.ResumeOptions
	if r.ContentLength != 0 && !decode(w, r, &o) {
		return
	}
	j, err := s.ResumeWith(r.Context(), id, o)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, j)
}

// handleCancel cancels a job, or with ?task=N one task of it (an array
// task, named by its own id: see ResolveID).
func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	jobAction(func(ctx context.Context, id int64) (*client.CancelResult, error) {
		t := r.URL.Query().Get("task")
		if t == "" {
			return s.Cancel(ctx, id)
		}
		idx, err := strconv.Atoi(t)
		if err != nil {
			return nil, badRequest("task %q is not a task number", t)
		}
		return s.CancelTask(ctx, id, idx)
	})(w, r)
}

// jobAction serves POST /v1/jobs/{id}/ACTION with fn's answer.
func jobAction[T any](fn func(context.Context, int64) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := jobID(w, r)
		if !ok {
			return
		}
		res, err := fn(r.Context(), id)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, res)
	}
}

// handleWait answers when the job is finished, or with its current state
// after timeout_ms (default 25 s) so that clients can poll without holding
// a connection forever.
func (s *Server) handleWait(w http.ResponseWriter, r *http.Request) {
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
	for {
		ch := s.watch(id)
		j, ok := s.getJob(w, r)
		if !ok {
			return
		}
		if j.State.Terminal() || ch == nil {
			writeJSON(w, 200, j.Job)
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			writeJSON(w, 200, j.Job)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// handleLogs streams a task's stdout or stderr file from offset. With
// follow it keeps streaming until the task has ended, reading the file in
// small chunks so that output of any size costs the server no memory.
func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	j, ok := s.getJob(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	idx, _ := strconv.Atoi(q.Get("task"))
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
	offset, _ := strconv.ParseInt(q.Get("offset"), 10, 64)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	flusher, _ := w.(http.Flusher)
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	buf := make([]byte, 64<<10)
	wrote := false
	var end, pos int64 // where the task's output ends in its file, when known (others may append after it); where we are
	settle := 0
	for {
		active, ch := s.taskActive(j.ID, idx)
		if f == nil {
			t, err := s.st.GetTask(r.Context(), j.ID, idx)
			if err == nil && !active && t.State == burst.Running && settle < 50 {
				// It has ended, and its row says so once the end is
				// committed, a moment from now: its byte range and path
				// are final then.
				settle++
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
				continue
			}
			if err == nil {
				path, from, to := t.Stdout, t.StdoutFrom, t.StdoutTo
				if stream == "stderr" {
					path, from, to = t.Stderr, t.StderrFrom, t.StderrTo
				}
				end = to
				// offset counts from where this task's output begins (a
				// file appended to holds earlier jobs' output before it,
				// known once the task has started).
				if t.StartedAt == nil && !t.State.Terminal() {
					path = ""
				}
				if path != "" {
					if f, err = os.Open(path); err == nil && offset+from > 0 {
						f.Seek(offset+from, io.SeekStart)
					}
					pos = offset + from
				}
			}
		} else if !active && end == 0 {
			// It has ended: where its output ends is known now.
			if t, err := s.st.GetTask(r.Context(), j.ID, idx); err == nil {
				end = t.StdoutTo
				if stream == "stderr" {
					end = t.StderrTo
				}
			}
		}
		if f != nil {
			for end == 0 || pos < end {
				b := buf
				if end > 0 && int64(len(b)) > end-pos {
					b = b[:end-pos]
				}
				n, err := f.Read(b)
				pos += int64(n)
				if n > 0 {
					if _, werr := w.Write(b[:n]); werr != nil {
						return
					}
					wrote = true
				}
				if err != nil {
					break
				}
			}
			if flusher != nil && wrote {
				flusher.Flush()
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
