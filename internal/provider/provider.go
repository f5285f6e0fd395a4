// Package provider is how burst gets machines: a Provider starts a machine
// (whose agent then registers with the server by itself), stops it, and says
// whether it still exists. The server's autoscaler and the machine commands
// go through this interface only; the local provider (agents on this host,
// each owning a slice of it) is one implementation, Slurm pilots and cloud
// APIs are others.
package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// Spec is a machine to start.
type Spec struct {
	ID      string          // the machine's name, unique in the server
	Cluster string          // the cluster it belongs to
	Type    string          // catalog type name
	Res     burst.Resources // what the machine offers (the type's)
	Spot    bool
	// Where the provider should put it and for how long it may live (a
	// Slurm partition and allocation time limit); zero: its defaults.
	Partition string
	TimeLimit time.Duration
	// Command, when set, is what the machine runs instead of a burst agent
	// (a slurmd for an elastic Slurm node): the machine has no agent, and is
	// running from the moment it starts.
	Command []string
}

// Connect is how a started agent reaches its server.
type Connect struct {
	Server    string // URL: unix:///path or http://host:port
	TokenFile string
	Exe       string // the burst binary
	Home      string // BURST_HOME for the agent
	LogDir    string // where agent logs go
}

// Handle identifies a started machine to its provider: a process, a Slurm
// job, a VM id. It is stored with the machine and survives server restarts.
type Handle struct {
	PID      int
	PIDStart uint64
	External string // provider's own id (Slurm job id, instance id)
}

func (h Handle) String() string {
	if h.External != "" {
		return h.External
	}
	if h.PID > 0 {
		return fmt.Sprintf("pid %d", h.PID)
	}
	return ""
}

// RestoreHandle is the inverse of Handle.String for a machine whose
// agent's process (pid, start) is also known: what a server restarting
// reads back from its store. A provider's own id is kept whatever the pid.
func RestoreHandle(s string, pid int, pidStart uint64) Handle {
	h := Handle{PID: pid, PIDStart: pidStart}
	if s != "" && !strings.HasPrefix(s, "pid ") {
		h.External = s
	}
	return h
}

// Provider starts and stops machines.
type Provider interface {
	// Name is the provider's name as users give it with --provider.
	Name() string
	// Check says whether machines like s could ever run here (s.ID is
	// empty); its error is for people and names the fix.
	Check(s Spec) error
	// Start asks for a machine. It returns once the request is made; the
	// machine's agent registers with the server when it is up.
	Start(ctx context.Context, s Spec, c Connect) (Handle, error)
	// Stop ends the machine and everything it runs, as powering it off
	// does. It returns once the machine is gone or the request is made.
	Stop(ctx context.Context, h Handle) error
	// Alive reports whether the machine still exists (it may not have
	// registered yet).
	Alive(h Handle) bool
}

// Patient is implemented by providers whose machines may wait long before
// they come up (a Slurm queue): how long a started machine may stay pending.
type Patient interface {
	PendingLimit() time.Duration
}

// Explainer is implemented by providers that can say why a machine is not
// up yet (a Slurm job's pending reason).
type Explainer interface {
	Why(h Handle) string
}

// Registry holds the providers by name.
type Registry map[string]Provider

// Get returns a provider or an error naming the known ones.
func (r Registry) Get(name string) (Provider, error) {
	if p, ok := r[name]; ok {
		return p, nil
	}
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("unknown provider %q: use one of %s", name, strings.Join(names, ", "))
}

// Immediate is a Provider whose Start returns at once and may look at the
// server's machines (Local checks the host's free share through Used): the
// server calls its Start holding its lock, so that what Start sees cannot
// change under it. Other providers' Start (an sbatch, a cloud API call)
// runs without the server's lock.
type Immediate interface{ Immediate() }
