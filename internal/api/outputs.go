package api

import (
	"context"
	"net/http"

	"github.com/burst-sh/burst/client"
)

// Outputs are the files staged tasks uploaded (docs/staging.md).
type Outputs interface {
	// Outputs lists the outputs of tasks from to from+n-1 of a job.
	Outputs(ctx context.Context, job int64, from, n int) ([]client.TaskOutputs, error)
}

// handleOutputs lists the outputs of a job's tasks, a page of tasks at a
// time (from, limit: task indexes), by task and path.
func (h *handler) handleOutputs(w http.ResponseWriter, r *http.Request) {
	j, ok := h.getJob(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	from, limit, ok := page(w, q)
	if !ok {
		return
	}
	out, err := h.b.Outputs(r.Context(), j.ID, max(from, 0), limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	if out == nil {
		out = []client.TaskOutputs{}
	}
	writeJSON(w, 200, out)
}
