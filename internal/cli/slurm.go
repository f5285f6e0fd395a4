package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/slurm"
)

func newSlurmCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "slurm",
		Short: "Slurm's commands on burst (sbatch, squeue, ...), and elastic Slurm clusters",
		Long: `burst speaks Slurm: sbatch, srun, squeue, scancel, sacct, scontrol, sinfo,
sstat and sacctmgr accept the options workflow engines use and print what Slurm prints, for
jobs on any burst cluster. Run them as ` + "`burst slurm sbatch ...`" + `, or make a
directory of symlinks that makes burst look like Slurm (docs/slurm-personality.md):

  burst slurm link "${BURST_HOME:-$HOME/.burst}/slurm-bin" && export PATH="${BURST_HOME:-$HOME/.burst}/slurm-bin:$PATH"
  jid=$(sbatch --parsable --wrap 'python3 fit.py')
  squeue --noheader -o '%i %t' -t all -u $USER
  sacct -X -P -n --format=JobIdRaw,State,ExitCode -j $jid
  scontrol show job $jid; scancel $jid

Slurm's power saving starts nodes declared State=CLOUD when jobs wait for
them (ResumeProgram) and stops them when idle (SuspendProgram). Point those
at burst, and burst starts and stops a machine of a slurm-nodes cluster for
each node, through its provider, metered and under its project's budget:

  burst cluster create elastic --type c5.large --provider slurm-nodes --max 10

  # slurm.conf
  ResumeProgram=/etc/slurm/burst-resume      # exec env BURST_HOME=... burst slurm resume --cluster elastic "$@"
  SuspendProgram=/etc/slurm/burst-suspend    # exec env BURST_HOME=... burst slurm suspend "$@"
  NodeName=cl[1-10] State=CLOUD ...

Each machine is named after its node and runs that node's slurmd (the
slurm-nodes provider runs it on this host, in a time namespace of its own; a
cloud provider would boot a VM whose slurmd registers as the node).`,
		RunE: parentRun, // burst slurm sprio: unknown, listing what there is (it printed this help, exit 0)
	}
	c.AddCommand(newSlurmResumeCmd(), newSlurmSuspendCmd())
	c.AddCommand(slurmFaceCmds()...)
	return c
}

// hostnames expands a Slurm hostlist such as cl[1-3],gpu1 with scontrol.
func hostnames(ctx context.Context, list string) ([]string, error) {
	names, err := slurm.Client{Timeout: 30 * time.Second}.Hostnames(ctx, list)
	if err != nil {
		return nil, usage("cannot read the node list %q: %v", list, err)
	}
	return names, nil
}

func newSlurmResumeCmd() *cobra.Command {
	var cluster string
	c := &cobra.Command{
		Use:     "resume NODELIST --cluster CLUSTER",
		Short:   "Start the machines of Slurm cloud nodes (Slurm's ResumeProgram)",
		Example: `  burst slurm resume 'cl[1-2]' --cluster elastic`,
		Args:    argsAtLeast(1, "node list"),
		RunE: func(c *cobra.Command, args []string) error {
			if cluster == "" {
				return usage("--cluster: name the cluster of --provider slurm-nodes whose machines serve these nodes")
			}
			return eachNode(c, args, "start", func(cl *client.Client, n string) (*burst.Machine, error) {
				return cl.StartNamed(c.Context(), cluster, n)
			})
		},
	}
	c.Flags().StringVar(&cluster, "cluster", "", "the cluster of --provider slurm-nodes whose machines serve these nodes")
	return c
}

func newSlurmSuspendCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "suspend NODELIST",
		Short:   "Stop the machines of Slurm cloud nodes (Slurm's SuspendProgram)",
		Example: `  burst slurm suspend 'cl[1-2]'`,
		Args:    argsAtLeast(1, "node list"),
		RunE: func(c *cobra.Command, args []string) error {
			return eachNode(c, args, "stop", func(cl *client.Client, n string) (*burst.Machine, error) {
				return cl.StopMachine(c.Context(), n, false)
			})
		},
	}
}

// eachNode applies act to the machine of every node the node lists name,
// printing each machine's state; it goes on past failures and fails at the
// end if any did (Slurm then marks those nodes down).
func eachNode(c *cobra.Command, lists []string, verb string, act func(*client.Client, string) (*burst.Machine, error)) error {
	cl, err := connect(c.Context(), c.ErrOrStderr())
	if err != nil {
		return err
	}
	var failed []string
	for _, list := range lists {
		nodes, err := hostnames(c.Context(), list)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			m, err := act(cl, n)
			if err != nil {
				fmt.Fprintf(c.ErrOrStderr(), "burst: %s: %v\n", n, err)
				failed = append(failed, n)
				continue
			}
			fmt.Fprintf(c.OutOrStdout(), "%s %s\n", m.ID, m.State)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not %s %s", verb, strings.Join(failed, ", "))
	}
	return nil
}
