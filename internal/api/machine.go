package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/burst-sh/burst/internal/auth"
)

// A machine credential serves the agent protocol only, and only for the
// machine (and cluster) it was issued for: an agent cannot submit jobs,
// read logs or budgets, or speak for another machine
// (docs/security-join.md).

// machineScope is the answer to a machine credential used beyond the
// agent protocol.
const machineScope = "a machine credential serves the agent protocol only"

// machineMay is nil when p may make request r as far as being a machine
// goes: any principal but a machine's may; a machine's only POST
// /v1/agent/*.
func machineMay(p *auth.Principal, r *http.Request) error {
	if p == nil || p.Kind != auth.Machine {
		return nil
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/agent/") {
		return nil
	}
	return &Refused{Status: http.StatusForbidden, Msg: machineScope + ": " + r.Method + " " + r.URL.Path + " needs a user's or the server's token"}
}

// identified is an agent request: it names the machine (and perhaps the
// cluster) it speaks for.
type identified interface {
	Identity() (machine, cluster string)
}

// asOwn is fn refusing (403) a machine credential that speaks for another
// machine or cluster than its own.
func asOwn[In any, PIn interface {
	*In
	identified
}, Out any](fn func(context.Context, *In) (*Out, error)) func(context.Context, *In) (*Out, error) {
	return func(ctx context.Context, in *In) (*Out, error) {
		if err := ownMachine(ctx, PIn(in)); err != nil {
			return nil, err
		}
		return fn(ctx, in)
	}
}

// ownMachine is nil unless ctx's principal is a machine and v names
// another machine or cluster.
func ownMachine(ctx context.Context, v identified) error {
	p := auth.From(ctx)
	if p == nil || p.Kind != auth.Machine {
		return nil
	}
	m, c := v.Identity()
	if m != p.Machine {
		return &Refused{Status: http.StatusForbidden, Msg: fmt.Sprintf("the credential of machine %s cannot speak for machine %s", p.Machine, m)}
	}
	if c != "" && c != p.Cluster {
		return &Refused{Status: http.StatusForbidden, Msg: fmt.Sprintf("machine %s joined cluster %s, not %s", p.Machine, p.Cluster, c)}
	}
	return nil
}
