package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func newClusterCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "cluster",
		Short: "Create, list and delete clusters: machines of one type that start and stop with the work",
		Long: `A cluster is a provider (local: agents on this host, each owning a slice of
it; slurm: pilot jobs that run agents; slurm-nodes: elastic Slurm nodes;
aws: EC2 instances, spot or on demand; joined: machines that join by
themselves), a machine type from the price catalog (burst types), the project its
machines are charged to, and bounds on how many machines run: --min always,
up to --max while work waits. The autoscaler starts a machine when queued
work fits none that runs, and stops one that was idle for --idle-stop. A
schedule (--off/--on, weekly) switches the cluster off: its machines stop and
none start until it is on again.

Jobs go to a cluster with ` + "`burst run --on NAME`" + `. The built-in cluster local is
this host: one machine, always on, priced per use.`,
		Example: `  burst cluster create work --type c5.xlarge --project mars --max 4 --idle-stop 5m
  burst cluster list
  burst cluster delete work`,
		RunE: parentRun,
	}
	c.AddCommand(newClusterCreateCmd(), newClusterListCmd(), newClusterDeleteCmd())
	return c
}

func newClusterCreateCmd() *cobra.Command {
	var (
		spec      burst.ClusterSpec
		idleStop  string
		timeLimit string
		mem       string
		out       string
		popts     []string
		awsOpts   [4]string // --region, --subnet, --security-group, --image
	)
	c := &cobra.Command{
		Use:   "create NAME (--type TYPE | --provider slurm [--cpus N --mem SIZE] | --provider joined)",
		Short: "Create a cluster",
		Long: `Create a cluster. Nothing starts until work waits for it (or --min asks for
machines that always run). Its machines are charged to --project for every
hour they run: what tasks use goes to their jobs, the rest is idle.

With --provider local each machine is a slice of this host, shared with the
built-in local-1 (which offers what the slices leave): a --min this host cannot
hold is refused, and a slice starts only when the host has room for it.

--off and --on take weekly switch points: a day (Mon..Sun, or daily,
weekdays, weekends) and a time, e.g. --off 'Fri 18:00' --on 'Mon 08:00'.

With --provider slurm each machine is a pilot: a Slurm job (in --partition,
for at most --time-limit) that runs a burst agent, which pulls tasks from
this server. Its size is --type's, or --cpus/--mem/--gpus; without a type it
is priced at the local rates of the price file, else the shadow price of the
cheapest catalog type that holds it. Pilots reach this server over TCP
(127.0.0.1 unless the server listens elsewhere).

With --provider joined burst starts no machine: each joins by itself
(burst join-token create --cluster NAME prints the command it runs),
announces its own CPUs, memory and GPUs, and is charged to --project,
priced as pilots without a type are. --type, --cpus, --min, --max and
--idle-stop do not apply (burst does not stop hosts it did not start);
burst machine stop makes its agent exit, and burst machine start lets it
register again.

With --provider aws each machine is an EC2 instance (spot with --spot) in
--region, launched from --image into --subnet with --security-group; its
user-data fetches burst from this server over TLS and joins it, so the
server must listen where instances reach it (burst server --listen
0.0.0.0:8443). burst cluster create checks the credentials, region, type,
image and vCPU quota first, and says what to fix (docs/aws.md). Spot prices
are read from EC2 every 15 minutes into the catalog (burst types).

A --spot machine may be taken back with notice (its agent runs with
--spot-notice): its tasks are requeued as preempted, not counted against
--retries, and the autoscaler replaces it with spot again; with
--fallback on-demand, with an on-demand machine instead while the
project's forecast with it still fits its budget. The event of the start
says which, and why.`,
		Example: `  burst cluster create work --type c5.xlarge --project mars --max 4 --idle-stop 5m
  burst cluster create gpu --type g4dn.xlarge --spot --max 2
  burst cluster create gpu --type g4dn.xlarge --spot --fallback on-demand --max 2
  burst cluster create office --type m5.large --min 1 --off 'weekdays 19:00' --on 'weekdays 07:00'
  burst cluster create hpc --provider slurm --partition debug --cpus 2 --mem 1G --max 20 --time-limit 1h --idle-stop 2m
  burst cluster create lab --provider joined --project mars
  burst cluster create gpu --provider aws --type g5.xlarge --spot --max 8 --region eu-west-2
  burst cluster create cpu --provider aws --type m5.large --max 20 --region eu-west-2 --subnet subnet-0abc --security-group sg-0abc --image ami-0abc`,
		Args: argsAtLeast(1, "cluster name"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOut(c, out); err != nil {
				return err
			}
			spec.Name = args[0]
			for i, k := range providerFlags {
				if awsOpts[i] != "" {
					setOpt(&spec, k, awsOpts[i])
				}
			}
			for _, kv := range popts {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usage("--opt %q: give key=value, e.g. --opt region=eu-west-2", kv)
				}
				setOpt(&spec, k, v)
			}
			if spec.SlurmNodes {
				if c.Flags().Changed("provider") && spec.Provider != "slurm-nodes" {
					return usage("--slurm-nodes means --provider slurm-nodes: give one of them, not --provider %s", spec.Provider)
				}
				spec.Provider, spec.SlurmNodes = "slurm-nodes", false
				fmt.Fprintln(c.ErrOrStderr(), "note: --slurm-nodes is --provider slurm-nodes")
			}
			if timeLimit != "" {
				n, err := parseSeconds("--time-limit", timeLimit)
				if err != nil {
					return err
				}
				spec.TimeLimitS = n
			}
			if mem != "" {
				b, err := burst.ParseMem(mem)
				if err != nil {
					return usage("--mem: %v", err)
				}
				spec.MachineMemBytes = b
			}
			if spec.Min < 0 {
				return usage("--min %d: use 0 or more", spec.Min)
			}
			if !c.Flags().Changed("max") {
				// The server makes it 1 when both are 0, but for providers
				// whose machines join by themselves (no --max at all).
				spec.Max = spec.Min
			} else if spec.Max < 1 {
				return usage("--max %d: use 1 or more", spec.Max)
			}
			n, err := parseSeconds("--idle-stop", idleStop)
			if err != nil {
				return err
			}
			if spec.Provider == joinedProvider && !c.Flags().Changed("idle-stop") {
				n = 0 // burst stops no joined machine for idleness (the server refuses --idle-stop)
			}
			spec.IdleStopS = n
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*burst.Cluster, error) {
				return cl.CreateCluster(ctx, &spec)
			}, func(w io.Writer, k *burst.Cluster) error {
				idle := "idle machines never stop"
				if k.IdleStopS > 0 {
					idle = "idle machines stop after " + durText(k.IdleStopS)
				}
				spot := ""
				if k.Spot {
					spot = " spot"
				}
				if k.Provider == joinedProvider {
					pays := "charged to project " + k.Project
					if !c.Flags().Changed("project") {
						pays += " (--project P charges another)"
					}
					fmt.Fprintf(w, "cluster %s created: machines join by themselves (burst join-token create --cluster %s); each is priced by its own size when it joins; %s\n", k.Name, k.Name, pays)
					return nil
				}
				fmt.Fprintf(w, "cluster %s created: %s%s on %s, %d to %d machines at %s/h each, %s; charged to project %s\n",
					k.Name, k.Type, spot, k.Provider, k.Min, k.Max, rate(k.PriceUSDPerHour), idle, k.Project)
				if k.Schedule != "" && k.Schedule != "always on" {
					fmt.Fprintf(w, "schedule: %s\n", scheduleText(*k))
					if !k.ScheduleOn {
						fmt.Fprintf(w, "it is switched off now: its work waits until the schedule switches it on (burst cluster list shows when)\n")
					}
				}
				if k.Provider == "slurm-nodes" {
					// Its machines are Slurm's nodes, started by Slurm for its jobs.
					fmt.Fprintf(w, "Slurm starts its machines: point slurm.conf's ResumeProgram at `burst slurm resume --cluster %s` and SuspendProgram at `burst slurm suspend` (see `burst slurm --help`); jobs reach it through Slurm, not `burst run --on`\n", k.Name)
					return nil
				}
				fmt.Fprintf(w, "run work on it with `burst run --on %s -- COMMAND`\n", k.Name)
				return nil
			})
		},
	}
	fl := c.Flags()
	fl.StringVar(&spec.Provider, "provider", "local", "where machines come from: local (agents on this host), slurm (pilot jobs), slurm-nodes (elastic Slurm nodes), aws (EC2 instances: docs/aws.md), joined (machines that join by themselves: burst join-token create --cluster NAME; no --type, --min, --max or --idle-stop); see docs/providers.md")
	fl.StringVar(&spec.Type, "type", "", "machine `TYPE` from the price catalog, e.g. c5.xlarge (see 'burst types')")
	fl.StringVar(&spec.Partition, "partition", "", "slurm: the partition pilots run in (default: Slurm's default)")
	fl.StringVar(&timeLimit, "time-limit", "", "slurm: each pilot's allocation time limit, e.g. 1h (default: the partition's)")
	fl.IntVar(&spec.MachineCPUs, "cpus", 0, "slurm without --type: CPUs of each pilot (default 1)")
	fl.StringVar(&mem, "mem", "", "slurm without --type: memory of each pilot, e.g. 2G")
	fl.IntVar(&spec.MachineGPUs, "gpus", 0, "slurm without --type: GPUs of each pilot")
	fl.BoolVar(&spec.SlurmNodes, "slurm-nodes", false, "the same as --provider slurm-nodes: elastic Slurm nodes, started and stopped by Slurm through 'burst slurm resume|suspend' (see 'burst slurm --help')")
	fl.StringVar(&spec.Project, "project", "default", "project its machines are charged to")
	fl.IntVar(&spec.Min, "min", 0, "machines that always run")
	fl.IntVar(&spec.Max, "max", 1, "most machines at once (--min when that is larger)")
	fl.StringVar(&idleStop, "idle-stop", "5m", "stop a machine idle for this long, e.g. 90s, 5m, 1h (0: never; not for --provider joined)")
	fl.BoolVar(&spec.Spot, "spot", false, "use spot machines (aws: spot instances, interrupted with notice; local: priced at the type's spot rate)")
	fl.StringVar(&awsOpts[0], "region", "", "aws: the EC2 region, e.g. eu-west-2 (default: AWS_REGION or the profile's)")
	fl.StringVar(&awsOpts[1], "subnet", "", "aws: the subnet id instances launch in (default: the region's default VPC)")
	fl.StringVar(&awsOpts[2], "security-group", "", "aws: security group ids, comma-separated; they must let instances reach the server's TLS port (default: the VPC's default group)")
	fl.StringVar(&awsOpts[3], "image", "", "aws: the AMI id, any Linux with sh and curl or wget (default: the newest Amazon Linux 2023 of the server's architecture)")
	fl.StringArrayVar(&popts, "opt", nil, "a provider's own option as `KEY=VALUE` (repeatable); --region and the like are the same as --opt region=...")
	fl.StringVar(&spec.Fallback, "fallback", "", "with --spot: on-demand replaces a machine lost to a spot interruption with an on-demand one while the project's forecast fits its budget (default: spot again)")
	fl.StringArrayVar(&spec.Off, "off", nil, "switch the cluster off at this weekly time, e.g. 'Fri 18:00' (repeatable)")
	fl.StringArrayVar(&spec.On, "on", nil, "switch it on again at this weekly time, e.g. 'Mon 08:00' (repeatable)")
	outFlag(c, &out)
	return c
}

func newClusterListCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List clusters: machines running, work waiting, price per machine-hour",
		Example: `  burst cluster list
  burst cluster list -o json | jq '.[] | {name, live, queued}'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]burst.Cluster, error) {
				return cl.Clusters(ctx)
			}, clusterTable)
		},
	}
	listFlags(c, &out)
	return c
}

func clusterTable(w io.Writer, cs []burst.Cluster) error {
	tw := table(w)
	fmt.Fprintln(tw, "NAME\tPROVIDER\tTYPE\tPROJECT\tMACHINES\tQUEUED\t$/H\tIDLE-STOP\tSCHEDULE"+
		wideCells(w, "MIN", "CPUS", "MEM", "GPUS", "FALLBACK", "CREATED"))
	for _, k := range cs {
		typ := k.Type
		if k.BuiltIn {
			typ = "this host"
		} else if k.Spot {
			typ += " (spot)"
		}
		idle := "-"
		if k.IdleStopS > 0 {
			idle = durText(k.IdleStopS)
		}
		machines, price := fmt.Sprintf("%d/%d", k.Live, k.Max), rate(k.PriceUSDPerHour)
		if k.Provider == joinedProvider {
			// No --max and no one price: each machine joins with its own size.
			machines, price, idle = strconv.Itoa(k.Live), "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s%s\n", k.Name, k.Provider, dash(typ), k.Project,
			machines, k.Queued, price, idle, scheduleText(k), wideCells(w, strconv.Itoa(k.Min), strconv.Itoa(k.CPUs),
				bytesHuman(k.MemBytes), strconv.Itoa(k.GPUs), dash(k.Fallback), timeOrDash(k.CreatedAt)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, k := range cs {
		if k.Unusable != "" {
			fmt.Fprintf(w, "cluster %s starts no machine: %s\n", k.Name, k.Unusable)
		}
		if k.BelowMin != "" {
			fmt.Fprintf(w, "cluster %s runs %d of its --min %d machines: %s\n", k.Name, k.Live, k.Min, k.BelowMin)
		}
	}
	return nil
}

// scheduleText is a cluster's schedule and whether it is on now.
func scheduleText(k burst.Cluster) string {
	if k.Schedule == "" || k.Schedule == "always on" {
		return "always on"
	}
	now := "off now"
	if k.ScheduleOn {
		now = "on now"
	}
	return k.Schedule + " (" + now + ")"
}

func newClusterDeleteCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a cluster: its machines stop, the tasks they ran are requeued",
		Long: `Delete a cluster. Its machines stop for good (the tasks they ran are
requeued, their output so far kept): burst machine list shows them
terminated, those stopped before too, and they cannot start again (machines
that joined by themselves are lost, their credentials revoked). The cluster
is forgotten; its jobs that wait go on waiting for a cluster of that name.
An elastic Slurm node's machine passes to the next cluster that starts it
(burst slurm resume).`,
		Example: `  burst cluster delete work`,
		Args:    argsAtLeast(1, "cluster name"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := cl.DeleteCluster(c.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "cluster %s deleted; its machines are stopping\n", args[0])
			return nil
		},
	}
	return c
}

// providerFlags are the options with flags of their own, in the order of
// the variables holding them.
var providerFlags = [4]string{"region", "subnet", "security-group", "image"}

func setOpt(spec *burst.ClusterSpec, k, v string) {
	if spec.Options == nil {
		spec.Options = map[string]string{}
	}
	spec.Options[k] = v
}
