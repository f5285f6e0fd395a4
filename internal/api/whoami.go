package api

import (
	"net/http"
	"sort"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

// whoamiRoutes serves GET /v1/whoami: who the server takes the caller for,
// from the principal its credential established (never a name the client
// asserts, except for the home's own token, whose holder may name the
// user it acts for).
func (h *handler) whoamiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/whoami", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, whoami(auth.From(r.Context()), actorOf(r)))
	})
}

// whoami describes p; a request with no principal is a dashboard page's
// (a signed-in session), named by its actor.
func whoami(p *auth.Principal, actor string) client.Whoami {
	if p == nil {
		return client.Whoami{Name: actor, Kind: "session"}
	}
	out := client.Whoami{Name: p.Name, Kind: string(p.Kind), Admin: p.IsAdmin}
	for project, role := range p.Roles {
		out.Grants = append(out.Grants, client.Grant{Project: project, User: p.Name, Role: role})
	}
	sort.Slice(out.Grants, func(i, j int) bool { return out.Grants[i].Project < out.Grants[j].Project })
	return out
}
