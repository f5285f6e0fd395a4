package api

import (
	"context"
	"net/http"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

// Cache is the result cache (docs/cache.md). A Backend that implements it
// serves /v1/cache, /v1/cache/stats, /rm, /default and
// /v1/jobs/{id}/cache. Listings are filtered to the projects the caller
// sees (ctx's principal).
type Cache interface {
	CacheUses(ctx context.Context, job int64) ([]client.CacheUse, error)
	CacheList(ctx context.Context, project string) ([]client.CacheEntry, error)
	CacheStats(ctx context.Context, project string) ([]client.CacheStats, error)
	CacheRemove(ctx context.Context, actor string, r *client.CacheRemove) (*client.CacheRemoved, error)
	SetCacheDefault(ctx context.Context, actor string, d *client.CacheDefault) (*client.CacheStats, error)
}

func (h *handler) cacheRoutes(mux *http.ServeMux) {
	b, ok := h.b.(Cache)
	if !ok {
		return
	}
	mux.HandleFunc("GET /v1/jobs/{id}/cache", func(w http.ResponseWriter, r *http.Request) {
		j, ok := h.getJob(w, r)
		if !ok {
			return
		}
		out, err := b.CacheUses(r.Context(), j.ID)
		if out == nil {
			out = []client.CacheUse{}
		}
		respond(w, 200)(out, err)
	})
	mux.HandleFunc("GET /v1/cache", func(w http.ResponseWriter, r *http.Request) {
		out, err := b.CacheList(r.Context(), r.URL.Query().Get("project"))
		if out == nil {
			out = []client.CacheEntry{}
		}
		respond(w, 200)(out, err)
	})
	mux.HandleFunc("GET /v1/cache/stats", func(w http.ResponseWriter, r *http.Request) {
		out, err := b.CacheStats(r.Context(), r.URL.Query().Get("project"))
		if out == nil {
			out = []client.CacheStats{}
		}
		respond(w, 200)(out, err)
	})
	mux.HandleFunc("POST /v1/cache/rm", func(w http.ResponseWriter, r *http.Request) {
		var rm client.CacheRemove
		if !decode(w, r, &rm) {
			return
		}
		if rm.Project == "" {
			rm.Project = "default"
		}
		if !allowBody(w, r, auth.Submit, rm.Project) {
			return
		}
		respond(w, 200)(b.CacheRemove(r.Context(), actorOf(r), &rm))
	})
	mux.HandleFunc("PUT /v1/cache/default", func(w http.ResponseWriter, r *http.Request) {
		var d client.CacheDefault
		if !decode(w, r, &d) || !allowBody(w, r, auth.Settings, d.Project) {
			return
		}
		respond(w, 200)(b.SetCacheDefault(r.Context(), actorOf(r), &d))
	})
}
