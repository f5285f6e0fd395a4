package api

import (
	"context"
	"net/http"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

// Users is people, their credentials and their roles per project.
type Users interface {
	Users() []client.User
	AddUser(ctx context.Context, actor, name string, admin, metrics bool) (*client.User, error)
	RemoveUser(ctx context.Context, actor, name string) error
	// NewUserToken is a new credential, shown once; revokeAll cuts the
	// user's others first.
	NewUserToken(ctx context.Context, actor, name string, revokeAll bool) (*client.UserToken, error)
	RevokeUserTokens(ctx context.Context, actor, name string) (int, error)
	Members(project string) ([]client.Grant, error)
	Grant(ctx context.Context, actor string, g client.Grant) (*client.Grant, error)
	Ungrant(ctx context.Context, actor, project, user string) error
	// PrincipalOfCredential is the user whose credential has that
	// SHA-256 (hex), or nil: a dashboard session made with it.
	PrincipalOfCredential(hash string) *auth.Principal
}

// userRoutes serves users, their credentials and projects' members.
func (h *handler) userRoutes(mux *http.ServeMux) {
	b := h.b
	mux.HandleFunc("GET /v1/users", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, b.Users()) })
	mux.HandleFunc("POST /v1/users", func(w http.ResponseWriter, r *http.Request) {
		var u client.User
		if decode(w, r, &u) {
			respond(w, 201)(b.AddUser(r.Context(), actorOf(r), u.Name, u.Admin, u.Metrics))
		}
	})
	mux.HandleFunc("DELETE /v1/users/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := b.RemoveUser(r.Context(), actorOf(r), r.PathValue("name")); err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, struct{}{})
	})
	mux.HandleFunc("POST /v1/users/{name}/tokens", func(w http.ResponseWriter, r *http.Request) {
		all := r.URL.Query().Get("revoke_all")
		respond(w, 201)(b.NewUserToken(r.Context(), actorOf(r), r.PathValue("name"), all == "1" || all == "true"))
	})
	mux.HandleFunc("POST /v1/users/{name}/revoke", func(w http.ResponseWriter, r *http.Request) {
		n, err := b.RevokeUserTokens(r.Context(), actorOf(r), r.PathValue("name"))
		respond(w, 200)(&client.UserToken{User: r.PathValue("name"), Revoked: n}, err)
	})
	mux.HandleFunc("GET /v1/projects/{name}/members", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.Members(r.PathValue("name")))
	})
	mux.HandleFunc("PUT /v1/projects/{name}/members/{user}", func(w http.ResponseWriter, r *http.Request) {
		var g client.Grant
		if decode(w, r, &g) {
			g.Project, g.User = r.PathValue("name"), r.PathValue("user")
			respond(w, 200)(b.Grant(r.Context(), actorOf(r), g))
		}
	})
	mux.HandleFunc("DELETE /v1/projects/{name}/members/{user}", func(w http.ResponseWriter, r *http.Request) {
		if err := b.Ungrant(r.Context(), actorOf(r), r.PathValue("name"), r.PathValue("user")); err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, struct{}{})
	})
}
