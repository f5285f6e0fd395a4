package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

// Stacks is the software stacks' side of the server (docs/stacks.md); a
// Backend that implements it serves /v1/stacks. Every user sees every
// stack (they are shared software, as a registry's images are); making
// a version needs the right to submit to its project, removing one the
// same on the stack's project (the server checks: fromStack).
type Stacks interface {
	CreateStack(ctx context.Context, actor string, req *client.StackCreate) (*client.Stack, error)
	Stacks(ctx context.Context, name string) ([]client.Stack, error)
	Stack(ctx context.Context, ref string) (*client.Stack, error)
	RemoveStack(ctx context.Context, actor, ref string) (*client.StackRemoved, error)
	DiffStacks(ctx context.Context, a, b string) (*client.StackDiff, error)
	CommitStack(ctx context.Context, actor string, job int64, req *client.StackCommit) (*client.Stack, error)
	ShareStack(ctx context.Context, actor, ref string, req *client.StackShare) (*client.StackLink, error)
	StackLinks(ctx context.Context) ([]client.StackLink, error)
	UnshareStack(ctx context.Context, actor string, id int64) (*client.StackLink, error)
	// The routes a stack link reads with (its secret their bearer token).
	PulledStack(ctx context.Context, secret string) (*client.StackPulled, error)
	PulledBlob(ctx context.Context, secret, digest string, offset int64) (*BlobRead, error)
}

// stackPullPath starts the routes a stack link's secret is the credential
// of (no user's token: the auth middleware lets them through, as
// /v1/join).
const stackPullPath = "/v1/stack-pull"

func (h *handler) stackRoutes(mux *http.ServeMux) {
	b, ok := h.b.(Stacks)
	if !ok {
		return
	}
	mux.HandleFunc("POST /v1/stacks", func(w http.ResponseWriter, r *http.Request) {
		var req client.StackCreate
		if !decode(w, r, &req) {
			return
		}
		if req.Project == "" {
			req.Project = "default"
		}
		if !allowBody(w, r, auth.Submit, req.Project) {
			return
		}
		respond(w, 200)(b.CreateStack(r.Context(), actorOf(r), &req))
	})
	mux.HandleFunc("GET /v1/stacks", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.Stacks(r.Context(), r.URL.Query().Get("name")))
	})
	mux.HandleFunc("GET /v1/stacks/{ref}", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.Stack(r.Context(), r.PathValue("ref")))
	})
	mux.HandleFunc("DELETE /v1/stacks/{ref}", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.RemoveStack(r.Context(), actorOf(r), r.PathValue("ref")))
	})
	mux.HandleFunc("GET /v1/stacks/{ref}/diff", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.DiffStacks(r.Context(), r.PathValue("ref"), r.URL.Query().Get("to")))
	})
	mux.HandleFunc("POST /v1/jobs/{id}/stack-commit", func(w http.ResponseWriter, r *http.Request) {
		id, ok := jobID(w, r)
		if !ok {
			return
		}
		var req client.StackCommit
		if !decode(w, r, &req) {
			return
		}
		respond(w, 200)(b.CommitStack(r.Context(), actorOf(r), id, &req))
	})
	mux.HandleFunc("POST /v1/stacks/{ref}/share", func(w http.ResponseWriter, r *http.Request) {
		var req client.StackShare
		if decode(w, r, &req) {
			respond(w, 201)(b.ShareStack(r.Context(), actorOf(r), r.PathValue("ref"), &req))
		}
	})
	mux.HandleFunc("GET /v1/stack-links", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.StackLinks(r.Context()))
	})
	mux.HandleFunc("DELETE /v1/stack-links/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "stack link id", "burst stack links")
		if !ok {
			return
		}
		respond(w, 200)(b.UnshareStack(r.Context(), actorOf(r), id))
	})
	mux.HandleFunc("GET /v1/stack-pull", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.PulledStack(r.Context(), bearer(r)))
	})
	mux.HandleFunc("GET /v1/stack-pull/blobs/{digest}", func(w http.ResponseWriter, r *http.Request) {
		offset, ok := rangeStart(r.Header.Get("Range"))
		rd, err := b.PulledBlob(r.Context(), bearer(r), r.PathValue("digest"), offset)
		writeBlob(w, r, rd, err, ok)
	})
}

// bearer is the request's bearer token ("" for none).
func bearer(r *http.Request) string {
	s, _ := strings.CutPrefix(schemeBearer(r.Header.Get("Authorization")), "Bearer ")
	return s
}
