package provider

import (
	"context"
	"fmt"
	"os/exec"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/slurm"
)

// SlurmNodes runs elastic Slurm nodes: a machine is the slurmd of one node
// of a Slurm cluster that declares its nodes State=CLOUD, started and
// stopped by Slurm's power saving through `burst slurm resume|suspend`. Here
// the slurmd runs on this host, as the local stand-in for a cloud VM that
// boots one; it has no burst agent and runs from the moment it starts.
type SlurmNodes struct {
	Host burst.Resources // this host's cores and memory
}

// Name implements Provider.
func (n *SlurmNodes) Name() string { return SlurmNodesName }

// Caps implements Provider: slices of this host, no agent, started and
// stopped by Slurm (the autoscaler leaves them alone).
func (n *SlurmNodes) Caps() Caps { return Caps{SharesHost: true, ScaledOutside: true} }

// Check implements Provider: a node's slice must fit this host, and slurmd
// and unshare must be installed.
func (n *SlurmNodes) Check(ctx context.Context, s Spec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := RefuseOptions(n.Name(), s.Options); err != nil {
		return err
	}
	if s.Partition != "" || s.TimeLimit > 0 {
		return fmt.Errorf("--partition and --time-limit are for the slurm provider: Slurm itself puts jobs on elastic nodes (give the partition in slurm.conf)")
	}
	if err := fitsHost(n.Host, s.Res); err != nil {
		return err
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return fmt.Errorf("elastic Slurm nodes run slurmd under unshare, which is not installed: install util-linux")
	}
	if slurmd() == "" {
		return fmt.Errorf("elastic Slurm nodes run slurmd, which is not installed: install it (Debian: slurmd), or use --provider slurm for pilot jobs")
	}
	return nil
}

func slurmd() string {
	if p, err := exec.LookPath("slurmd"); err == nil {
		return p
	}
	if p, err := exec.LookPath("/usr/sbin/slurmd"); err == nil {
		return p
	}
	return ""
}

// Start implements Provider: it runs the node's slurmd (named s.ID), once
// Slurm says it has such a node. A name slurm.conf does not declare (a
// typo in `burst slurm resume`, or `burst machine start --cluster` without
// one) ran a slurmd that exited at once: its machine read running, then
// lost.
func (n *SlurmNodes) Start(ctx context.Context, s Spec, c Connect) (Handle, error) {
	if err := ctx.Err(); err != nil {
		return Handle{}, err
	}
	if _, err := (slurm.Client{Timeout: 30 * time.Second}).Run(ctx, "scontrol", "show", "node", s.ID); err != nil {
		return Handle{}, fmt.Errorf("Slurm has no node %s (%v): a machine of a slurm-nodes cluster is one of slurm.conf's State=CLOUD nodes, started by Slurm through `burst slurm resume NODELIST`", s.ID, err)
	}
	cmd := SlurmdCommand(s.ID)
	return spawn(c, s.ID, cmd[0], cmd[1:])
}

// SlurmdCommand runs the slurmd of elastic Slurm node name. Two quirks of
// Slurm 22.05 (see scripts/slurm-dev.sh): slurmctld ignores a resumed node
// whose boot time is older than the resume request, so slurmd runs in a new
// time namespace whose boot clock starts now, a moment after the request;
// and it must not inherit slurmctld's blocked signals, which os/exec
// already clears.
func SlurmdCommand(name string) []string {
	return []string{"sh", "-c", `sleep 2; slurmd=$(command -v slurmd || echo /usr/sbin/slurmd)
exec unshare --time --boottime "-$(cut -d. -f1 /proc/uptime)" --fork --kill-child=SIGTERM "$slurmd" -D -N "$1"`,
		"slurmd-" + name, name}
}

// Stop implements Provider: SIGTERM to the slurmd, SIGKILL after 5 s.
func (n *SlurmNodes) Stop(ctx context.Context, h Handle) error { return stopProcess(ctx, h) }

// Alive implements Provider: the slurmd's process lives.
func (n *SlurmNodes) Alive(ctx context.Context, h Handle) bool {
	return (&Local{}).Alive(ctx, h)
}
