package api

import (
	"context"
	"errors"
	"fmt"
	"github.com/burst-sh/burst/internal/auth"
	"io"
	"io/fs"
	"math"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/mapspec"
	"github.com/burst-sh/burst/internal/store"
	"github.com/burst-sh/burst/internal/tasklog"
)

// maxInline bounds the stdout a results request returns inline per task.
const maxInline = 1 << 20

// taskPage walks a job's tasks in index order, a page of rows at a time,
// filling in the tasks that have no row (never dispatched).
type taskPage struct {
	b    Backend
	job  *store.JobRow
	rows []*store.TaskRow
	next int // the first task the page covers
	end  int // the task after the last it covers: a task in [next, end) without a row has none
	// readEnded: the page was read once the job had ended (handleOutput),
	// so a task without a row in it never ran; one read before may miss
	// rows written since.
	readEnded bool

	// files reads the outputs of the page's tasks; it is closed when the
	// page is read again, so that the bytes it keeps are only ever those
	// of tasks that had ended before it read them (tasklog.Files).
	files tasklog.Files
}

// at returns task idx as stored now (re-reading its page if needed).
func (p *taskPage) at(ctx context.Context, idx int, fresh bool) (*store.TaskRow, error) {
	if fresh || idx < p.next || idx >= p.end {
		// A page of the next 1000 rows from idx covers every task up to
		// the last of them, or all after idx when there are fewer: the
		// tasks between rows have none (never dispatched), and are not
		// asked for one by one (a cancelled array of 4,000,001 tasks
		// cost a query each).
		p.files.Close()
		const pageRows = 1000
		rows, err := p.b.TaskRows(ctx, p.job.ID, idx, pageRows)
		if err != nil {
			return nil, err
		}
		p.rows, p.next, p.end = rows, idx, math.MaxInt
		if len(rows) == pageRows {
			p.end = rows[len(rows)-1].Index + 1
		}
	}
	for _, r := range p.rows {
		if r.Index == idx {
			return r, nil
		}
		if r.Index > idx {
			break
		}
	}
	return nil, nil
}

// handleResults lists tasks in input order with their inputs, how they
// ended and where their output is; inline=true adds stdout (up to 1 MiB).
func (h *handler) handleResults(w http.ResponseWriter, r *http.Request) {
	j, ok := h.getJob(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	from, limit, ok := page(w, q)
	if !ok {
		return
	}
	inline := q.Get("inline") == "true"
	sources, err := h.b.Inputs(r.Context(), j.ID)
	if err != nil {
		writeErr(w, err)
		return
	}
	srcs := make([]mapspec.Source, len(sources))
	for i, src := range sources {
		srcs[i] = src
	}
	columns := j.Spec != nil && j.Spec.Map != nil && j.Spec.Map.Columns   // linked groups, --colsep
	numbered := j.Spec != nil && j.Spec.Map != nil && j.Spec.Map.Numbered // each value's last column is the task's number
	p := &taskPage{b: h.b, job: j}
	defer p.files.Close()
	paths := auth.SeesHostPaths(auth.From(r.Context())) // as tasksFor
	out := make([]client.Result, 0, min(limit, j.Tasks.Total))
	for idx := max(from, 0); idx < j.Tasks.Total && len(out) < limit; idx++ {
		row, err := p.at(r.Context(), idx, false)
		if err != nil {
			writeErr(w, err)
			return
		}
		res := client.Result{Index: idx, State: burst.Queued}
		if len(srcs) > 0 {
			res.Input, _ = mapspec.Task(srcs, int64(idx), columns, numbered)
		}
		switch {
		case row != nil:
			res.State, res.Attempt, res.ExitCode, res.Reason = row.State, row.Attempt, row.ExitCode, row.Reason
			res.Stdout, res.Stderr = row.Stdout, row.Stderr
			res.StdoutFrom, res.StdoutTo, res.StderrFrom, res.StderrTo = row.StdoutFrom, row.StdoutTo, row.StderrFrom, row.StderrTo
			if inline && row.State.Terminal() {
				res.Output = readInline(&p.files, row.Stdout, row.StdoutFrom, row.StdoutTo)
			}
			if !paths {
				res.Stdout, res.Stderr = "", ""
			}
		case j.CancelRequested || j.State.Terminal():
			res.State = burst.Cancelled
		}
		out = append(out, res)
	}
	writeJSON(w, 200, out)
}

// streamFailed returns how a streaming handler reports an error it met
// once its answer had begun (its status sent): in the client.ErrorTrailer
// trailer, which the handler declared, so that the client fails with it
// rather than take a cut stream for the whole one. The first error is
// kept; none is set once the client has gone (its request's context
// ended: the error is then the client's own leaving).
func streamFailed(w http.ResponseWriter, r *http.Request) func(format string, a ...any) {
	return func(format string, a ...any) {
		if r.Context().Err() == nil && w.Header().Get(client.ErrorTrailer) == "" {
			w.Header().Set(client.ErrorTrailer, fmt.Sprintf(format, a...))
		}
	}
}

func readInline(files *tasklog.Files, path string, from, to int64) *string {
	f, err := files.Range(path, from, to)
	if err != nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(f, maxInline))
	s := string(b)
	return &s
}

// handleOutput streams the stdout of the job's tasks, in input order, from
// task `from`. With follow=true it waits for each task to end before
// sending its output, until the last; without, it stops at the first task
// that has not ended. The X-Burst-Next-Task trailer says where to resume.
func (h *handler) handleOutput(w http.ResponseWriter, r *http.Request) {
	j, ok := h.getJob(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	from, ok := pageFrom(w, q.Get("from"))
	if !ok {
		return
	}
	follow := q.Get("follow") == "true"
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Trailer", "X-Burst-Next-Task, "+client.ErrorTrailer)
	flusher, _ := w.(http.Flusher)
	p := &taskPage{b: h.b, job: j}
	defer p.files.Close()
	failed := streamFailed(w, r)
	buf := make([]byte, 64<<10)
	idx := max(from, 0)
	defer func() { w.Header().Set("X-Burst-Next-Task", strconv.Itoa(idx)) }()
	w.WriteHeader(200)
	fresh := false
	for idx < j.Tasks.Total {
		if !h.stillReads(r.Context(), j.Project, j.User) {
			failed("%s", accessEnded(j.ID))
			return
		}
		ch := h.b.Watch(j.ID)
		if fresh && ch == nil {
			p.readEnded = true // this read sees every row the job will have
		}
		row, err := p.at(r.Context(), idx, fresh)
		if err != nil {
			failed("job %d: reading task %d: %v", j.ID, idx, err)
			return
		}
		fresh = false
		switch {
		case row != nil && row.State.Terminal():
			if err := copyFile(w, &p.files, row.Stdout, row.StdoutFrom, row.StdoutTo, buf); err != nil {
				var re *readError
				if !errors.As(err, &re) {
					return // the client went away
				}
				// The rest of the job's output still comes; the client
				// fails at its end, naming what it missed.
				failed("job %d: the output of task %d could not be read: %v", j.ID, idx, re.err)
			}
			idx++
			continue
		case row == nil && ch == nil && !p.readEnded:
			// The job ended after the page was read: tasks past its rows
			// may have run since. Read them as the job ended.
			fresh = true
			continue
		case row == nil && ch == nil: // never ran and never will (the job ended)
			idx++
			continue
		}
		if flusher != nil {
			flusher.Flush()
		}
		if !follow {
			return
		}
		if ch == nil { // the job ended meanwhile: read its final rows
			fresh = true
			continue
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ch:
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		t.Stop()
		fresh = true
	}
}

// noFile says that err, of opening a task's output, means there is no such
// file: none was ever made there (ENOENT), or what should hold it is not a
// directory (ENOTDIR: the task's output could not be saved, and its reason
// says so). Any other error is one of the file, to report.
func noFile(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// copyFile copies bytes [from, to) of the file at path (to 0: its end) to
// w, through files (which keeps it open for the next task); a file that
// does not exist is empty when the task wrote nothing there, and a
// *readError (logGone) when it held bytes once. An error of the file is a
// *readError, one of w is not.
func copyFile(w io.Writer, files *tasklog.Files, path string, from, to int64, buf []byte) error {
	if path == "" {
		return nil
	}
	f, err := files.Range(path, from, to)
	if noFile(err) {
		if gone := logGone(path, from, to); gone != nil {
			return &readError{gone}
		}
		return nil
	}
	if err != nil {
		return &readError{err}
	}
	n, err := io.CopyBuffer(w, readerOnly{f}, buf)
	if err == nil {
		if cut := logCut(path, from, to, from+n); cut != nil {
			return &readError{cut}
		}
	}
	return err
}

// logGone says, for a task that has ended and whose file at path does not
// exist, whether that file held output once: bytes [from, to) were written
// there, so it was removed or moved since (by a person, or by the task's
// own script). Its error names the file and what it held; nil when the
// task wrote nothing there.
func logGone(path string, from, to int64) error {
	if to <= from {
		return nil
	}
	return fmt.Errorf("%s, which held its %d bytes, is no longer there: removed or moved since the task wrote it (burst keeps no other copy)", path, to-from)
}

// logCut says, for a task that has ended and whose file at path ends at
// got, whether that file lost part of its output since: bytes [from, to)
// were written there whole (to is recorded only then), so a file that ends
// before to was truncated or replaced by a shorter one (by a person, a
// tool that rotates logs, or another job whose -o names the same file). Its error names the file and what is left;
// nil when the file holds the task's bytes whole, or when to is unknown.
func logCut(path string, from, to, got int64) error {
	if to <= from || got >= to {
		return nil
	}
	return fmt.Errorf("%s holds %d of the %d bytes the task wrote there: cut (truncated or replaced) since the task wrote it (burst keeps no other copy); "+
		"if another job's -o/-e names the same file, it began it again: give each its own (%%j, %%A_%%a in the name) or --open-mode=append", path, max(got-from, 0), to-from)
}

// readError is an error reading a task's output file.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }

// readerOnly marks the errors of a file read as readErrors (and hides its
// WriteTo, so that io.CopyBuffer reads through Read).
type readerOnly struct{ f io.Reader }

func (r readerOnly) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	if err != nil && err != io.EOF {
		err = &readError{err}
	}
	return n, err
}
