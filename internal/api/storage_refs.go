package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

// StorageRefs is what a project holds in the blob store, to see, remove
// and move between tiers, and its lifecycle rules (docs/storage.md). A
// Backend that implements it serves /v1/storage/blobs, /rm, /tier and
// /rules.
type StorageRefs interface {
	StorageBlobs(ctx context.Context, q client.StorageQuery) (*client.StorageList, error)
	StorageRemove(ctx context.Context, actor string, e *client.StorageEdit) (*client.StorageEdited, error)
	StorageTier(ctx context.Context, actor string, e *client.StorageEdit) (*client.StorageEdited, error)
	SetStorageRule(ctx context.Context, actor string, r *client.StorageRule) ([]client.StorageRule, error)
}

func (h *handler) storageRoutes(mux *http.ServeMux) {
	b, ok := h.b.(StorageRefs)
	if !ok {
		return
	}
	mux.HandleFunc("GET /v1/storage/blobs", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sq := client.StorageQuery{Project: q.Get("project"), Kind: q.Get("kind"), Tier: q.Get("tier"), NoBlobs: q.Get("blobs") == "none"}
		if s := q.Get("job"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				writeJSON(w, 400, client.Error{Message: "job " + strconv.Quote(s) + ": a job is its number, e.g. --job 12"})
				return
			}
			sq.Job = n
		}
		respond(w, 200)(b.StorageBlobs(r.Context(), sq))
	})
	edit := func(do func(ctx context.Context, actor string, e *client.StorageEdit) (*client.StorageEdited, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var e client.StorageEdit
			if !decode(w, r, &e) || !allowBody(w, r, auth.Submit, e.Project) {
				return
			}
			respond(w, 200)(do(r.Context(), actorOf(r), &e))
		}
	}
	mux.HandleFunc("POST /v1/storage/rm", edit(b.StorageRemove))
	mux.HandleFunc("POST /v1/storage/tier", edit(b.StorageTier))
	mux.HandleFunc("PUT /v1/storage/rules", func(w http.ResponseWriter, r *http.Request) {
		var rule client.StorageRule
		if !decode(w, r, &rule) || !allowBody(w, r, auth.Settings, rule.Project) {
			return
		}
		respond(w, 200)(b.SetStorageRule(r.Context(), actorOf(r), &rule))
	})
}

// storageRules are project's lifecycle rules in words, for its page.
func (h *handler) storageRules(ctx context.Context, project string) []string {
	b, ok := h.b.(StorageRefs)
	if !ok {
		return nil
	}
	l, err := b.StorageBlobs(ctx, client.StorageQuery{Project: project, NoBlobs: true})
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range l.Rules {
		out = append(out, r.Words())
	}
	return out
}
