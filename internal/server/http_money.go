package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/store"
)

// moneyRoutes serves projects, budgets, clusters, machines, the price
// catalog, cost reports and the audit trail.
func (s *Server) moneyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/projects", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s.Projects()) })
	mux.HandleFunc("POST /v1/projects", func(w http.ResponseWriter, r *http.Request) {
		var spec burst.ProjectSpec
		if decode(w, r, &spec) {
			respond(w, 201)(s.CreateProject(r.Context(), actorOf(r), &spec))
		}
	})
	mux.HandleFunc("GET /v1/projects/{name}", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(s.Project(r.PathValue("name")))
	})
	mux.HandleFunc("PATCH /v1/projects/{name}", func(w http.ResponseWriter, r *http.Request) {
		var spec burst.ProjectSpec
		if decode(w, r, &spec) {
			spec.Name = r.PathValue("name")
			respond(w, 200)(s.UpdateProject(r.Context(), actorOf(r), &spec))
		}
	})
	mux.HandleFunc("GET /v1/projects/{name}/budget", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(s.Budget(r.PathValue("name")))
	})
	mux.HandleFunc("GET /v1/clusters", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s.Clusters()) })
	mux.HandleFunc("POST /v1/clusters", func(w http.ResponseWriter, r *http.Request) {
		var spec burst.ClusterSpec
		if decode(w, r, &spec) {
			respond(w, 201)(s.CreateCluster(r.Context(), actorOf(r), &spec))
		}
	})
	mux.HandleFunc("DELETE /v1/clusters/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.DeleteCluster(r.Context(), actorOf(r), r.PathValue("name")); err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, struct{}{})
	})
	mux.HandleFunc("POST /v1/clusters/{name}/start", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 201)(s.StartInCluster(r.Context(), actorOf(r), r.PathValue("name"), r.URL.Query().Get("machine")))
	})
	mux.HandleFunc("GET /v1/machines", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(s.Machines(r.Context(), r.URL.Query().Get("cluster")))
	})
	mux.HandleFunc("POST /v1/machines/{id}/start", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(s.StartMachine(r.Context(), actorOf(r), r.PathValue("id")))
	})
	mux.HandleFunc("POST /v1/machines/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		drain := r.URL.Query().Get("drain") == "1" || r.URL.Query().Get("drain") == "true"
		respond(w, 200)(s.StopMachine(r.Context(), actorOf(r), r.PathValue("id"), drain, false))
	})
	mux.HandleFunc("POST /v1/machines/{id}/terminate", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(s.StopMachine(r.Context(), actorOf(r), r.PathValue("id"), false, true))
	})
	mux.HandleFunc("GET /v1/types", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, s.Types(r.URL.Query().Get("gpu") != ""))
	})
	mux.HandleFunc("GET /v1/tiers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, s.Tiers())
	})
	mux.HandleFunc("GET /v1/cost", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		respond(w, 200)(s.Cost(r.Context(), q.Get("by"), q.Get("project")))
	})
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := store.EventFilter{Project: q.Get("project")}
		f.After, _ = strconv.ParseInt(q.Get("after"), 10, 64)
		f.Limit, _ = strconv.Atoi(q.Get("limit"))
		wait, _ := strconv.Atoi(q.Get("wait_ms"))
		if f.Project != "" {
			if err := s.hasProject(f.Project); err != nil {
				writeErr(w, err)
				return
			}
		}
		respond(w, 200)(s.Events(r.Context(), f, min(time.Duration(wait)*time.Millisecond, 30*time.Second)))
	})
}

// respond writes a handler's result, or its error.
func respond(w http.ResponseWriter, status int) func(any, error) {
	return func(v any, err error) {
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, status, v)
	}
}
