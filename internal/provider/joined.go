package provider

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Joined is the provider of machines that burst does not start: each
// joins by itself with a one-time token (`burst join-token create
// --cluster C` prints the command it runs), its agent announces its own
// CPUs, memory and GPUs when it registers, and it belongs to its
// cluster's project from then on. Start refuses, naming that command;
// the server asks a machine's agent to exit when it stops one (its next
// registration is refused), and Stop only forgets it here.
type Joined struct {
	mu     sync.Mutex
	agents map[string]bool // machine → registered and not stopped
}

// joinedHandle prefixes a joined machine's name in its handle.
const joinedHandle = "joined:"

// JoinedHandle is the handle of joined machine id.
func JoinedHandle(id string) Handle { return Handle{External: joinedHandle + id} }

// Registered records that machine id's agent registered: Alive says so
// from now until Stop.
func (j *Joined) Registered(id string) Handle {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.agents == nil {
		j.agents = map[string]bool{}
	}
	j.agents[id] = true
	return JoinedHandle(id)
}

// Name implements Provider.
func (j *Joined) Name() string { return JoinedName }

// Caps implements Provider: machines with an agent, started and stopped
// by whoever runs them (the autoscaler leaves them alone), each of its
// own size, joining with a token.
func (j *Joined) Caps() Caps { return Caps{Agent: true, ScaledOutside: true, Sized: true, Joins: true} }

// Check implements Provider: a joined machine is whatever joins, so the
// options of providers that start machines are refused, naming them.
func (j *Joined) Check(ctx context.Context, s Spec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := RefuseOptions(j.Name(), s.Options); err != nil {
		return err
	}
	var opts []string
	if s.Partition != "" {
		opts = append(opts, "--partition")
	}
	if s.TimeLimit > 0 {
		opts = append(opts, "--time-limit")
	}
	if s.Spot {
		opts = append(opts, "--spot")
	}
	if len(opts) > 0 {
		return fmt.Errorf("%s: machines of the joined provider are not started by burst (drop them, or use --provider slurm for pilot jobs)", strings.Join(opts, ", "))
	}
	return nil
}

// Start implements Provider: it refuses, naming how such a machine joins.
func (j *Joined) Start(ctx context.Context, s Spec, c Connect) (Handle, error) {
	if err := ctx.Err(); err != nil {
		return Handle{}, err
	}
	return Handle{}, fmt.Errorf("machines of cluster %s join by themselves: burst join-token create --cluster %s, then run the command it prints on the machine", s.Cluster, s.Cluster)
}

// Stop implements Provider: the server has already refused the machine's
// agent (it exits at its next registration); here it is forgotten.
func (j *Joined) Stop(ctx context.Context, h Handle) error {
	id, ok := strings.CutPrefix(h.External, joinedHandle)
	if !ok {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.agents, id)
	return nil
}

// Alive implements Provider: whether the machine's agent registered and
// was not stopped since, from what this provider was told (no I/O).
func (j *Joined) Alive(ctx context.Context, h Handle) bool {
	id, ok := strings.CutPrefix(h.External, joinedHandle)
	if !ok {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.agents[id]
}
