// Package provider is how burst gets machines: a Provider starts a machine
// (whose agent then registers with the server by itself), stops it, and says
// whether it still exists. The server's autoscaler and the machine commands
// go through this interface only, and decide from what each provider's Caps
// declares (docs/providers.md): local (agents on this host, each owning a
// slice of it), slurm (pilot jobs), slurm-nodes (elastic Slurm nodes) and
// joined (machines that join by themselves with a token) implement it,
// and providertest checks a new one against the contract.
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
}

// Connect is how a started agent reaches its server.
type Connect struct {
	Server    string // URL: unix:///path, http://host:port or https://host:port#sha256:CAHASH
	TokenFile string // the home's token; "" when JoinURL is set
	Exe       string // the burst binary
	Home      string // BURST_HOME for the agent
	LogDir    string // where agent logs go
	// JoinURL, when set, is how the machine's agent joins instead of
	// reading TokenFile (burst agent --join): a one-time join token minted
	// for this machine alone, on a server that serves TLS. It is a secret:
	// a provider keeps it where only the server's owner reads it, and out
	// of command lines and logs.
	JoinURL string
	// HomeID is the home's identity (store.Identity), which the agent and
	// its tasks carry (runner.HomeIDEnv): its server signals no process
	// without it.
	HomeID string
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

// Provider starts and stops machines. It is the whole contract between the
// server and where machines come from (docs/providers.md): the server holds
// no provider's name in its logic, only what Caps declares. Every call that
// may block takes a context, and the server never makes one holding its
// lock, so it may block (an sbatch on a slow slurmctld, a cloud API) as long
// as it honours ctx. Name and Caps are constant answers, and Explainer's Why
// a read of what the provider already knows: they must not block.
type Provider interface {
	// Name is the provider's name as users give it with --provider.
	Name() string
	// Caps is what the provider can do; the server reads nothing else. It
	// returns the same value every time, without I/O.
	Caps() Caps
	// Check says whether machines like s could ever run here (s.ID is
	// empty): the size fits, and the provider's options in s (Partition,
	// TimeLimit, Spot) are ones it takes. Its error is for people and names
	// the fix.
	Check(ctx context.Context, s Spec) error
	// Start asks for a machine. It returns once the request is made; the
	// machine's agent registers with the server when it is up (Caps.Agent),
	// or the machine runs from then on (no agent).
	Start(ctx context.Context, s Spec, c Connect) (Handle, error)
	// Stop ends the machine and everything it runs, as powering it off
	// does. It returns once the machine is gone or the request is made.
	// Stopping a machine that is gone already is no error.
	Stop(ctx context.Context, h Handle) error
	// Alive reports whether the machine still exists (it may not have
	// registered yet). When it cannot tell (ctx ends, the provider does not
	// answer) it says true: a machine is given up only on evidence.
	Alive(ctx context.Context, h Handle) bool
}

// Caps is what a provider declares it can do. The server decides from
// these, never from a provider's name.
type Caps struct {
	// SharesHost: machines are slices of the server's own host. The server
	// counts them against the host's cores and memory (a cluster's --min
	// must fit, the autoscaler waits for room) and their agents reach it on
	// its unix socket; other providers' agents get its TCP address.
	SharesHost bool
	// Agent: a machine runs a burst agent that registers with the server
	// and takes its tasks. Without one (slurm-nodes: a slurmd) a machine
	// runs from the moment Start returns and lives while Alive says so.
	Agent bool
	// TimeLimit: a machine lives for a limited time (an allocation's time
	// limit, Spec.TimeLimit): its agent leaves PilotMargin before the end and
	// the scheduler places no task whose limit reaches past that.
	TimeLimit bool
	// Native: the provider's own batch system also takes jobs (burst run
	// --native): the server runs one native agent per cluster beside its
	// machines.
	Native bool
	// Patient is how long a started machine may stay pending before it is
	// given up (a Slurm queue can hold it for hours); zero: the server's
	// default (two minutes).
	Patient time.Duration
	// Explains: the provider implements Explainer (why a machine is not up
	// yet).
	Explains bool
	// ScaledOutside: someone else starts and stops the machines, naming
	// them (Slurm's power saving through burst slurm resume|suspend): the
	// autoscaler leaves the cluster alone and --min does not apply.
	ScaledOutside bool
	// Sized: machines may be sized by the cluster's --cpus/--mem/--gpus
	// instead of a catalog --type (a Slurm allocation of that size).
	// Without it a cluster needs a --type.
	Sized bool
	// Joins: burst never starts the machines; each joins by itself with a
	// join token (burst join-token create --cluster C), announces its own
	// size and belongs to the cluster's project. Join tokens are made only
	// for clusters whose provider declares it, and --type, --min and --max
	// do not apply.
	Joins bool
}

// Explainer is implemented by providers that can say why a machine is not
// up yet (a Slurm job's pending reason); Caps.Explains says so. Why answers
// from what the provider already knows (its last look at its queue), without
// I/O: the server asks it while listing machines.
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

// Names of the built-in providers, for defaults and aliases only: the
// server decides from Caps.
const (
	LocalName      = "local"
	SlurmName      = "slurm"
	SlurmNodesName = "slurm-nodes"
	JoinedName     = "joined"
)
