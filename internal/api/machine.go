package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

// A machine credential serves the agent protocol only, and only for the
// machine (and cluster) it was issued for: an agent cannot submit jobs,
// read logs or budgets, or speak for another machine
// (docs/security-join.md). Which routes a machine may call at all is the
// policy table's (policy.go, auth.Allow); which machine it speaks for, here.

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
// another machine or cluster. A registration that names no cluster is put
// in the credential's: the credential, not the request, says which
// cluster a joined machine serves, so an empty one means "the cluster I
// joined" (and can no longer drop the machine into the default cluster,
// whose project's work it was never meant to run). Filling it in rather
// than refusing keeps an agent whose configuration names no cluster
// working.
func ownMachine(ctx context.Context, v identified) error {
	p := auth.From(ctx)
	if p == nil || p.Kind != auth.Machine {
		return nil
	}
	if r, ok := v.(*client.Register); ok && r.Cluster == "" {
		r.Cluster = p.Cluster
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
