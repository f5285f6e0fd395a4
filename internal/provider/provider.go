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
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// Spec is a machine to start.
type Spec struct {
	ID      string          // the machine's name, unique in the server
	Cluster string          // the cluster it belongs to
	Project string          // the project it is charged to
	Max     int             // machines of its cluster at most (Check: quotas)
	Type    string          // catalog type name
	Res     burst.Resources // what the machine offers (the type's)
	Spot    bool
	// Where the provider should put it and for how long it may live (a
	// Slurm partition and allocation time limit); zero: its defaults.
	Partition string
	TimeLimit time.Duration
	// Options are the provider's own settings of the cluster (aws: region,
	// subnet, security-group, image), given with their own flags or --opt
	// key=value. A provider refuses in Check the keys it does not take
	// (RefuseOptions).
	Options map[string]string
}

// Connect is how a started agent reaches its server.
type Connect struct {
	Server    string // URL: unix:///path, http://host:port or https://host:port#sha256:CAHASH
	TokenFile string // the home's token; "" when JoinURL is set
	Exe       string // the burst binary
	Home      string // BURST_HOME for the agent
	LogDir    string // where agent logs go
	// CAFile, when the server serves TLS, is the PEM of the CA its
	// certificate chains to: what a machine that fetches anything from the
	// server before it joins (the burst binary) verifies it with.
	CAFile string
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
	// or the machine runs from then on (no agent). An error that only says
	// the provider's API is called too often is wrapped with Throttled.
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

// ThrottledError is a call the provider's API refused for the rate of
// calls (EC2's RequestLimitExceeded), not for what was asked: the same call
// soon after may well go through, so the server's autoscaler backs off
// briefly instead of as from a failure.
type ThrottledError struct{ Err error }

func (e *ThrottledError) Error() string { return e.Err.Error() }
func (e *ThrottledError) Unwrap() error { return e.Err }

// Throttled marks err as a throttled call (nil stays nil).
func Throttled(err error) error {
	if err == nil {
		return nil
	}
	return &ThrottledError{Err: err}
}

// IsThrottled reports whether err, or an error it wraps, is a throttled
// call.
func IsThrottled(err error) bool {
	var t *ThrottledError
	return errors.As(err, &t)
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
	// Spot: the provider launches spot machines when the cluster asks
	// (Spec.Spot): cheaper, and interrupted with a notice when the cloud
	// wants them back. Providers without it may still take --spot to price
	// a machine at its type's spot rate (local), or refuse it.
	Spot bool
	// ShipsBinary: each machine fetches and runs the server's own burst
	// binary (GET /v1/dist/burst) as it boots. A server whose binary is
	// dynamically linked cannot create such a cluster: the machine's image
	// may have an older C library than the build host's, and a machine
	// that cannot start burst never joins.
	ShipsBinary bool
}

// Pricer is implemented by providers whose prices move (a cloud's spot
// market): Prices reads, with I/O and within ctx, the current prices of
// machine types where a cluster with options opts would launch them. The
// server calls it outside its lock, on a timer and when a cluster is
// created, and puts the answers into the price catalog with their date and
// source.
type Pricer interface {
	Prices(ctx context.Context, types []string, opts map[string]string) ([]Price, error)
}

// Price is a machine type's price as a provider read it.
type Price struct {
	Type string
	// Spot is the $/h of the type on spot (0: not offered there); Zone is
	// where that price is (the cheapest of the region's zones).
	Spot float64
	Zone string
	// At is when the price took effect at the provider; Source says where
	// it was read ("aws DescribeSpotPriceHistory eu-west-2").
	At     time.Time
	Source string
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
	AWSName        = "aws"
)

// optionOwner names, for each provider option the CLI has a flag for, the
// provider that takes it: what a refusal by another provider names.
var optionOwner = map[string]string{
	"region": AWSName, "subnet": AWSName, "security-group": AWSName, "image": AWSName,
}

// RefuseOptions is provider prov's refusal of the options in opts it does
// not take (those not in takes), naming the provider that does; nil when
// it takes them all. Keys are checked in order, so the message is stable.
func RefuseOptions(prov string, opts map[string]string, takes ...string) error {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if slices.Contains(takes, k) {
			continue
		}
		if owner := optionOwner[k]; owner != "" && owner != prov {
			return fmt.Errorf("--%s is an option of the %s provider, not of %s: drop it, or give --provider %s", k, owner, prov, owner)
		}
		if len(takes) == 0 {
			return fmt.Errorf("--opt %s: the %s provider takes no options: drop it", k, prov)
		}
		return fmt.Errorf("--opt %s: the %s provider takes no such option (it takes %s): drop it or fix its name", k, prov, strings.Join(takes, ", "))
	}
	return nil
}
