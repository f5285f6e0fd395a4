package api

import (
	"context"
	"net/http"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// Joins are join tokens and the machine credentials they are exchanged
// for (docs/security-join.md).
type Joins interface {
	// CreateJoinToken makes a join token for the caller (auth.From(ctx)).
	CreateJoinToken(ctx context.Context, spec *client.JoinTokenSpec) (*client.JoinToken, error)
	JoinTokens(ctx context.Context) ([]client.JoinTokenInfo, error)
	RevokeJoinToken(ctx context.Context, id int64) error
	// Join exchanges a join token for a machine credential: once.
	Join(ctx context.Context, r *client.JoinRequest) (*client.Joined, error)
	// RevokeMachine revokes a machine's credential and loses the machine.
	RevokeMachine(ctx context.Context, id string) (*burst.Machine, error)
}

// Refused is an error answered with its own status (401, 403) and
// message.
type Refused struct {
	Status int
	Msg    string
}

func (e *Refused) Error() string { return e.Msg }

// maxJoinBody bounds POST /v1/join's body: it is read before anyone is
// known, so a stranger gets no more room than a join takes.
const maxJoinBody = 4 << 10

// joinPath is the one route that takes no bearer token.
const joinPath = "/v1/join"

func (h *handler) joinRoutes(mux *http.ServeMux) {
	b := h.b
	mux.HandleFunc("POST /v1/join-tokens", func(w http.ResponseWriter, r *http.Request) {
		var spec client.JoinTokenSpec
		if decode(w, r, &spec) {
			respond(w, 201)(b.CreateJoinToken(r.Context(), &spec))
		}
	})
	mux.HandleFunc("GET /v1/join-tokens", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.JoinTokens(r.Context()))
	})
	mux.HandleFunc("DELETE /v1/join-tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "join token id", "burst join-token list")
		if !ok {
			return
		}
		if err := b.RevokeJoinToken(r.Context(), id); err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, 200, struct{}{})
	})
	mux.HandleFunc("POST /v1/join", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxJoinBody)
		var req client.JoinRequest
		if decodeAgent(w, r, &req) {
			respond(w, 200)(b.Join(r.Context(), &req))
		}
	})
	mux.HandleFunc("POST /v1/machines/{id}/revoke", func(w http.ResponseWriter, r *http.Request) {
		respond(w, 200)(b.RevokeMachine(r.Context(), r.PathValue("id")))
	})
}
