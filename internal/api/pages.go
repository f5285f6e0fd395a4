package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/store"
	"github.com/burst-sh/burst/internal/web"
)

// htmlOut ends a page: the renderer writes nothing when it fails, so the
// answer is then a plain 500, and the log says why.
func (h *handler) htmlOut(w http.ResponseWriter, r *http.Request, ss *session, err error) {
	if err != nil {
		h.log.Error("render a dashboard page", "err", err)
		h.uiError(w, r, ss, http.StatusInternalServerError, "This page could not be drawn: the server's log ("+h.o.ServerLog+") says why.")
	}
}

func (h *handler) uiOverview(w http.ResponseWriter, r *http.Request, ss *session) {
	v := h.b.Overview()
	v.Page = h.page(r, ss, "Projects", "projects")
	v.Projects = projectsOf(r.Context(), v.Projects)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	h.htmlOut(w, r, ss, h.ui.r.Overview(w, v))
}

func (h *handler) uiProject(w http.ResponseWriter, r *http.Request, ss *session) {
	name := r.PathValue("name")
	p, err := h.b.Project(r.Context(), name)  // this project's report alone, not every project's
	if err != nil || !auth.Sees(ss.p, name) { // one the user holds no role in does not exist for them
		h.uiError(w, r, ss, http.StatusNotFound, "There is no project "+name+": the projects page lists those that exist.")
		return
	}
	ctx := r.Context()
	v := &web.ProjectView{Page: h.page(r, ss, p.Name, "projects"), Project: *p, JobTasks: map[int64][]burst.Task{}}
	if rep, err := h.b.Cost(ctx, "day", p.Name); err == nil {
		sort.Slice(rep.Lines, func(i, j int) bool { return rep.Lines[i].Key < rep.Lines[j].Key })
		total := 0.0
		for _, l := range rep.Lines {
			d, err := time.Parse("2006-01-02", l.Key)
			if err != nil {
				continue
			}
			total += l.USD
			v.Spend = append(v.Spend, web.SpendPoint{Day: d, Cumulative: total})
		}
	}
	rows, err := h.b.JobList(ctx, store.JobFilter{Project: p.Name, Limit: 50})
	if err == nil {
		ptrs := make([]*burst.Job, len(rows))
		for _, row := range rows {
			if row.Kind == burst.KindPipe {
				if full, err := h.b.Job(ctx, row.ID); err == nil {
					row = full
				}
				if ts, err := h.b.TaskRows(ctx, row.ID, 0, 64); err == nil {
					for _, t := range ts {
						v.JobTasks[row.ID] = append(v.JobTasks[row.ID], t.Task)
					}
				}
			}
			v.Jobs = append(v.Jobs, row.Job)
		}
		for i := range v.Jobs {
			ptrs[i] = &v.Jobs[i]
		}
		h.b.JobCosts(ctx, ptrs)
	}
	if evs, err := h.b.RecentEvents(ctx, store.EventFilter{Project: p.Name, Limit: 20}); err == nil {
		for i := len(evs) - 1; i >= 0; i-- {
			v.Events = append(v.Events, evs[i])
		}
	}
	v.Rules = h.storageRules(ctx, p.Name) // storage_refs.go
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	h.htmlOut(w, r, ss, h.ui.r.Project(w, v))
}

func (h *handler) uiClusters(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := r.Context()
	v := &web.ClustersView{Page: h.page(r, ss, "Clusters", "clusters")}
	ms, _ := h.b.Machines(ctx, "")
	evs, _ := h.b.RecentEvents(ctx, store.EventFilter{Limit: 500})
	for _, c := range clustersOf(ctx, h.b.Clusters()) {
		box := web.ClusterBox{Cluster: c}
		for _, m := range ms {
			if m.Cluster == c.Name {
				box.Machines = append(box.Machines, m)
			}
		}
		for i := len(evs) - 1; i >= 0 && len(box.Events) < 10; i-- {
			e := evs[i]
			if strings.HasPrefix(e.Kind, "machine.") && strings.HasPrefix(e.Target, c.Name+"-") || e.Target == c.Name {
				box.Events = append(box.Events, e)
			}
		}
		v.Clusters = append(v.Clusters, box)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	h.htmlOut(w, r, ss, h.ui.r.Clusters(w, v))
}

func (h *handler) uiJob(w http.ResponseWriter, r *http.Request, ss *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.uiError(w, r, ss, http.StatusNotFound, fmt.Sprintf("%q is not a job id: job ids are numbers.", r.PathValue("id")))
		return
	}
	ctx := r.Context()
	row, err := h.b.Job(ctx, id)
	if err == nil && !auth.Sees(ss.p, row.Project) {
		err = &apierr.NoJob{ID: id} // another project's job does not exist for this user
	}
	if err != nil {
		h.uiError(w, r, ss, http.StatusNotFound, err.Error())
		return
	}
	job := row.Job
	h.b.JobCosts(ctx, []*burst.Job{&job})
	h.b.FillWaiting([]*burst.Job{&job})
	job.Waiting = h.hideWaiting(auth.With(ctx, ss.p), job.Waiting)
	h.b.LiveJobFigures(&job)
	task := 0
	if t := r.URL.Query().Get("task"); t != "" {
		if task, err = strconv.Atoi(t); err != nil || task < 0 {
			h.uiError(w, r, ss, http.StatusBadRequest, fmt.Sprintf("task %q is not a task number: give ?task=N, N from 0", t))
			return
		}
	} else if p := job.Spec; p != nil && p.Pipe != nil {
		task = p.Pipe.FirstTask(len(p.Pipe.Stages) - 1) // the pipe's output
	}
	v := &web.JobView{Page: h.page(r, ss, fmt.Sprintf("Job %d", id), "projects"), Job: job, Task: task,
		LogURL: fmt.Sprintf("/ui/jobs/%d/log?task=%d", id, task)}
	if ts, err := h.b.TaskRows(ctx, id, 0, 200); err == nil {
		for _, t := range ts {
			v.Tasks = append(v.Tasks, t.Task)
		}
		v.Tasks = h.tasksFor(auth.With(ctx, ss.p), h.b.LiveTasks(id, v.Tasks))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	h.htmlOut(w, r, ss, h.ui.r.Job(w, v))
}

// sseLog frames what the log follower writes as server-sent events, each
// with the log's offset after it as its id: a browser that reconnects
// sends it back (Last-Event-ID) and the log goes on from there.
type sseLog struct {
	w     http.ResponseWriter
	h     http.Header // the follower's own headers, not sent
	off   int64
	carry []byte // the start of a character cut at a read's end
	// refused is the error the follower answered instead of the log
	// (a status of 400 or more: no such task, the log gone, no place
	// for it): the stream's end says it, it is no output of the job.
	refused []byte
	status  int
}

func (l *sseLog) Header() http.Header  { return l.h }
func (l *sseLog) WriteHeader(code int) { l.status = code }
func (l *sseLog) Flush()               { l.w.(http.Flusher).Flush() }
func (l *sseLog) Write(b []byte) (int, error) {
	n := len(b)
	if l.status >= 400 {
		l.refused = append(l.refused, b[:min(len(b), 4<<10-len(l.refused))]...)
		return n, nil
	}
	b = append(l.carry, b...)
	cut := len(b)
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				cut = i // send it whole with what follows
			}
			break
		}
	}
	l.carry = append([]byte(nil), b[cut:]...)
	b = b[:cut]
	if len(b) == 0 {
		return n, nil
	}
	data, _ := json.Marshal(string(b))
	l.off += int64(len(b))
	if _, err := fmt.Fprintf(l.w, "id: %d\nevent: log\ndata: %s\n\n", l.off, data); err != nil {
		return 0, err
	}
	l.Flush()
	return n, nil
}

func (h *handler) uiJobLog(w http.ResponseWriter, r *http.Request, ss *session) {
	if _, ok := w.(http.Flusher); !ok {
		http.Error(w, "streaming unsupported", 500)
		return
	}
	if id, err := strconv.ParseInt(r.PathValue("id"), 10, 64); err == nil {
		if row, err := h.b.Job(r.Context(), id); err == nil && !auth.Sees(ss.p, row.Project) {
			writeErr(w, &apierr.NoJob{ID: id})
			return
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	q := r.URL.Query()
	q.Set("follow", "true")
	var off int64
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		// An id that is not a count of bytes read (the browser sends back
		// what it was given, but anyone may send anything) starts over.
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n >= 0 {
			off = n
		}
		q.Set("offset", strconv.FormatInt(off, 10))
	}
	r.URL.RawQuery = q.Encode()
	sl := &sseLog{w: w, h: http.Header{}, off: off}
	h.handleLogs(sl, r)
	if len(sl.carry) > 0 { // the log ends inside a character: send its bytes anyway
		data, _ := json.Marshal(string(sl.carry))
		fmt.Fprintf(w, "id: %d\nevent: log\ndata: %s\n\n", sl.off+int64(len(sl.carry)), data)
	}
	// A stream broken off (the reader's access ended, the log could not
	// be read), or refused before it began, ends with what broke it, which
	// the page shows in place of the end of the output.
	why := sl.h.Get(client.ErrorTrailer)
	if sl.status >= 400 {
		var e client.Error
		if json.Unmarshal(sl.refused, &e) != nil || e.Message == "" {
			e.Message = http.StatusText(sl.status)
		}
		why = e.Message
	}
	end, _ := json.Marshal(struct {
		Error string `json:"error,omitempty"`
	}{why})
	fmt.Fprintf(w, "event: end\ndata: %s\n\n", end)
	w.(http.Flusher).Flush()
}

// uiEvents tells a page that something changed, at most twice a second:
// the page then fetches its fragment again. Changes are commits (jobs,
// tasks, machines, events) and the meter's charges.
func (h *handler) uiEvents(w http.ResponseWriter, r *http.Request, ss *session) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", 500)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	sees := func(project string) bool { return auth.Sees(ss.p, project) }
	last := h.b.Changes(sees)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		if ss = h.sessionOf(r); ss == nil {
			// Signed out, or its user removed or credential revoked since
			// the stream opened: it ends (the browser's reconnection then
			// finds no session), as a followed log does.
			return
		}
		if v := h.b.Changes(sees); v != last {
			last = v
			if _, err := fmt.Fprintf(w, "event: change\ndata: %d\n\n", v); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
