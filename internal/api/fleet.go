package api

import (
	"net/http"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/auth"
)

// fleetRoutes serves clusters and their machines.
func (h *handler) fleetRoutes(mux *http.ServeMux) {
	b := h.b
	mux.HandleFunc("GET /v1/clusters", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, clustersOf(r.Context(), b.Clusters()))
	})
	mux.HandleFunc("POST /v1/clusters", func(w http.ResponseWriter, r *http.Request) {
		var spec burst.ClusterSpec
		if !decode(w, r, &spec) {
			return
		}
		project := spec.Project
		if project == "" {
			project = "default" // as CreateCluster
		}
		if allowBody(w, r, auth.ClusterManage, project) {
			respond(w, 201)(b.CreateCluster(r.Context(), actorOf(r), &spec))
		}
	})
	mux.HandleFunc("DELETE /v1/clusters/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := b.DeleteCluster(r.Context(), actorOf(r), r.PathValue("name")); err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, struct{}{})
	})
	mux.HandleFunc("POST /v1/clusters/{name}/start", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 201)(b.StartInCluster(r.Context(), actorOf(r), r.PathValue("name"), r.URL.Query().Get("machine")))
	})
	mux.HandleFunc("GET /v1/machines", func(w http.ResponseWriter, r *http.Request) {
		ms, err := b.Machines(r.Context(), r.URL.Query().Get("cluster"))
		respond(w, 200)(h.machinesOf(r.Context(), ms, err))
	})
	mux.HandleFunc("POST /v1/machines/{id}/start", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.StartMachine(r.Context(), actorOf(r), r.PathValue("id")))
	})
	mux.HandleFunc("POST /v1/machines/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		drain := r.URL.Query().Get("drain") == "1" || r.URL.Query().Get("drain") == "true"
		respond(w, 200)(b.StopMachine(r.Context(), actorOf(r), r.PathValue("id"), drain, false))
	})
	mux.HandleFunc("POST /v1/machines/{id}/terminate", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.StopMachine(r.Context(), actorOf(r), r.PathValue("id"), false, true))
	})
}
