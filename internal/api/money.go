package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/store"
)

// moneyRoutes serves projects, budgets, the price catalog, cost reports
// and the audit trail.
func (h *handler) moneyRoutes(mux *http.ServeMux) {
	b := h.b
	mux.HandleFunc("GET /v1/projects", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, projectsOf(r.Context(), b.Projects()))
	})
	mux.HandleFunc("POST /v1/projects", func(w http.ResponseWriter, r *http.Request) {
		var spec burst.ProjectSpec
		if decode(w, r, &spec) {
			respond(w, 201)(b.CreateProject(r.Context(), actorOf(r), &spec))
		}
	})
	mux.HandleFunc("GET /v1/projects/{name}", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.Project(r.Context(), r.PathValue("name")))
	})
	mux.HandleFunc("PATCH /v1/projects/{name}", func(w http.ResponseWriter, r *http.Request) {
		var spec burst.ProjectSpec
		if decode(w, r, &spec) {
			spec.Name = r.PathValue("name")
			respond(w, 200)(b.UpdateProject(r.Context(), actorOf(r), &spec))
		}
	})
	mux.HandleFunc("GET /v1/projects/{name}/budget", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.Budget(r.Context(), r.PathValue("name")))
	})
	mux.HandleFunc("GET /v1/types", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, b.Types(r.URL.Query().Get("gpu") != ""))
	})
	mux.HandleFunc("GET /v1/tiers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, b.Tiers())
	})
	mux.HandleFunc("GET /v1/cost", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		respond(w, 200)(h.costOf(r.Context(), q.Get("by"), q.Get("project")))
	})
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := store.EventFilter{Project: q.Get("project"), Projects: visible(r.Context())}
		f.After, _ = strconv.ParseInt(q.Get("after"), 10, 64)
		var ok bool
		if f.Limit, ok = listLimit(w, q.Get("limit")); !ok {
			return
		}
		wait, _ := strconv.Atoi(q.Get("wait_ms"))
		if f.Project != "" {
			if err := b.HasProject(f.Project); err != nil {
				writeErr(w, err)
				return
			}
		}
		respond(w, 200)(b.Events(r.Context(), f, min(time.Duration(wait)*time.Millisecond, 30*time.Second)))
	})
}
