package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func newMachineCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "machine",
		Short: "List, start, stop and terminate machines",
		Long: `A machine runs a burst agent and the tasks it is given. Machines of a
cluster go pending → running → stopping → stopped (they can start again) or
terminated (gone for good); the autoscaler starts and stops them with the
work, and these commands do it by hand.

A running machine is charged for every hour it runs: each task pays its
share (its CPUs and GPUs as a part of the machine), what no task used is
idle time, charged to the cluster's project. The built-in machine local-1
(this host) is charged per use only.`,
		Example: `  burst machine list
  burst machine start --cluster work
  burst machine stop work-1 --drain
  burst machine terminate work-1`,
		RunE: parentRun,
	}
	c.AddCommand(newMachineListCmd(), newMachineStartCmd(), newMachineStopCmd(), newMachineTerminateCmd(), newMachineRevokeCmd())
	return c
}

func newMachineListCmd() *cobra.Command {
	var (
		out     string
		cluster string
	)
	c := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List machines with their state, tasks, price and cost so far",
		Example: `  burst machine list
  burst machine list --cluster work -o json
  burst machine list --no-headers -o wide | awk '{print $1, $14}'
  burst machine stop $(burst machine list -q --cluster work)`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]burst.Machine, error) {
				return cl.MachinesIn(ctx, cluster)
			}, machineTable)
		},
	}
	listFlags(c, &out)
	c.Flags().StringVar(&cluster, "cluster", "", "only the machines of this cluster")
	return c
}

func machineTable(w io.Writer, ms []burst.Machine) error {
	tw := table(w)
	fmt.Fprintln(tw, "ID\tCLUSTER\tTYPE\tSTATE\tTASKS\tCPUS\tMEM\t$/H\tCOST\tUPTIME\tFILES\tHANDLE"+
		wideCells(w, "PROVIDER", "HOST", "GPUS", "SEEN"))
	for _, m := range ms {
		typ := m.Type
		if typ == "" && m.PerUse {
			typ = "this host"
		}
		price := rate(m.PriceUSDPerHour)
		if m.PerUse {
			price += " per use"
		}
		// FILES: whether it sees the server's home ("shared") or its
		// tasks' output is shipped back ("own").
		files := "shared"
		if m.Remote {
			files = "own"
		}
		seen := "-"
		if m.SeenAt != nil {
			seen = ago(*m.SeenAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s%s\n", m.ID, dash(m.Cluster), dash(typ), machineState(m),
			m.Tasks, m.CPUs, bytesHuman(m.MemBytes), price, usd(m.CostUSD), uptime(m), files, dash(m.Handle),
			wideCells(w, dash(m.Provider), dash(clean(m.Host)), strconv.Itoa(len(m.GPUs)), seen))

	}
	return tw.Flush()
}

func newMachineStartCmd() *cobra.Command {
	var (
		out     string
		cluster string
	)
	c := &cobra.Command{
		Use:   "start MACHINE\n  burst machine start --cluster CLUSTER",
		Short: "Start a stopped machine again, or a new machine in a cluster",
		Long: `Start a stopped machine again, or with --cluster a machine in that cluster
(a stopped one again if it has one, else a new one). The machine is pending
until its agent registers. A stopped machine that joined by itself (the
BURST_JOIN_URL='URL' burst agent that burst join-token create printed) is
let back: its agent may register again (run that same line again). It is refused when the cluster runs its --max, or
when an hour of the machine (or its idle-stop, if shorter) would cost more
than its project has left.`,
		Example: `  burst machine start work-1
  burst machine start --cluster work`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOut(c, out); err != nil {
				return err
			}
			switch {
			case cluster == "" && len(args) == 0:
				return usage("say which machine: `burst machine start MACHINE`, or `burst machine start --cluster CLUSTER` for one in a cluster")
			case cluster != "" && len(args) > 0:
				return usage("give a machine or --cluster, not both")
			case len(args) > 1:
				return usage("start one machine at a time: `burst machine start MACHINE`")
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*burst.Machine, error) {
				if cluster != "" {
					return cl.StartInCluster(ctx, cluster)
				}
				return cl.StartMachine(ctx, args[0])
			}, func(w io.Writer, m *burst.Machine) error {
				if m.Provider == joinedProvider && m.State == burst.MachineStopped {
					// burst does not start a joined machine: it lets its agent back.
					fmt.Fprintf(w, "machine %s may come back: its agent may register again (run its agent again with the same join URL, or restart it)\n", m.ID)
					return nil
				}
				fmt.Fprintf(w, "machine %s (%s, %s/h) is %s\n", m.ID, dash(m.Type), rate(m.PriceUSDPerHour), m.State)
				return nil
			})
		},
	}
	outFlag(c, &out)
	c.Flags().StringVar(&cluster, "cluster", "", "start a machine in this cluster")
	return c
}

func newMachineStopCmd() *cobra.Command {
	var (
		out   string
		drain bool
	)
	c := &cobra.Command{
		Use:   "stop MACHINE...",
		Short: "Stop machines: their tasks are requeued, or with --drain finish first",
		Long: `Stop machines. A machine stops at once: the tasks it runs are requeued (their
output so far is kept) and run again on another machine or when it is back;
that does not count as one of a job's --retries. With --drain the machine
takes no new task, lets the ones it runs finish, then stops. A stopped
machine costs nothing and stays stopped until you start it again (burst
machine start): the autoscaler never restarts a machine a person stopped,
after a server restart too (burst machine list shows who stopped it),
though waiting work may start another machine of its cluster, within --max.
A requeued task restarts from the beginning.`,
		Example: `  burst machine stop work-1
  burst machine stop work-1 work-2 --drain`,
		Args: argsAtLeast(1, "machine id (see `burst machine list`)"),
		RunE: func(c *cobra.Command, args []string) error {
			return machineAction(c, args, out, func(ctx context.Context, cl *client.Client, id string) (*burst.Machine, error) {
				return cl.StopMachine(ctx, id, drain)
			}, func(m *burst.Machine) string {
				if drain && (m.State == burst.MachineRunning || m.State == burst.MachinePending) {
					return fmt.Sprintf("machine %s drains: it takes no new task and stops once its tasks end", m.ID)
				}
				if m.State == burst.MachineStopping {
					return stopMessage(m)
				}
				return fmt.Sprintf("machine %s is %s", m.ID, m.State)
			})
		},
	}
	outFlag(c, &out)
	c.Flags().BoolVar(&drain, "drain", false, "let the machine's tasks finish first (it takes no new ones)")
	return c
}

func newMachineTerminateCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "terminate MACHINE...",
		Short: "Stop machines for good: they cannot start again",
		Long: `Terminate machines: as stop, and the machine cannot start again (its tasks
are requeued). A cluster that needs one starts a new machine.`,
		Example: `  burst machine terminate work-1`,
		Args:    argsAtLeast(1, "machine id (see `burst machine list`)"),
		RunE: func(c *cobra.Command, args []string) error {
			return machineAction(c, args, out, func(ctx context.Context, cl *client.Client, id string) (*burst.Machine, error) {
				return cl.TerminateMachine(ctx, id)
			}, func(m *burst.Machine) string {
				if m.State == burst.MachineStopping {
					return fmt.Sprintf("machine %s is terminating (any tasks it ran are requeued)", m.ID)
				}
				return fmt.Sprintf("machine %s is %s", m.ID, m.State)
			})
		},
	}
	outFlag(c, &out)
	return c
}

// machineAction does act to each machine, printing what became of it; it
// goes on past a machine it fails on, and then exits 2.
func machineAction(c *cobra.Command, ids []string, out string, act func(context.Context, *client.Client, string) (*burst.Machine, error),
	say func(*burst.Machine) string) error {
	if err := checkOut(c, out); err != nil {
		return err
	}
	cl, err := connect(c.Context(), c.ErrOrStderr())
	if err != nil {
		return err
	}
	var failed error
	done := []*burst.Machine{}
	for _, id := range ids {
		m, err := act(c.Context(), cl, id)
		if err != nil {
			if len(ids) == 1 {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "burst: %v\n", err)
			failed = &ExitError{Code: 2}
			continue
		}
		if out != fmtTable {
			done = append(done, m)
			continue
		}
		fmt.Fprintln(c.OutOrStdout(), say(m))
	}
	if out != fmtTable {
		if len(ids) == 1 && len(done) == 1 {
			if err := writeOut(c.OutOrStdout(), out, done[0]); err != nil {
				return err
			}
		} else if err := writeOut(c.OutOrStdout(), out, done); err != nil {
			return err
		}
	}
	return failed
}

// machineState is a machine's state, with why it waits when its provider
// says (a Slurm pilot's pending reason).
func machineState(m burst.Machine) string {
	switch {
	case m.Revoked && m.State == burst.MachineLost:
		return "revoked" // its credential was revoked (burst machine revoke)
	case m.Interrupted != nil && m.State == burst.MachineStopping:
		return "interrupted (spot; goes at " + m.Interrupted.Local().Format("15:04:05") + ")"
	case m.Interrupted != nil:
		return m.State + " (spot interruption)"
	case m.Waiting != "":
		return m.State + " (" + m.Waiting + ")"
	case m.StoppedBy != "" && (m.State == burst.MachineStopped || m.State == burst.MachineStopping):
		return m.State + " (by " + m.StoppedBy + ")"
	}
	return m.State
}

// stopMessage says what a person's stop does to machine m and its work.
func stopMessage(m *burst.Machine) string {
	msg := fmt.Sprintf("machine %s is stopping; it stays stopped until you start it again (burst machine start %s)", m.ID, m.ID)
	if m.Provider == joinedProvider {
		msg = fmt.Sprintf("machine %s is stopping: its agent exits and is refused until you let it back (burst machine start %s, then run its agent again)", m.ID, m.ID)
	}
	switch m.Tasks {
	case 0:
		return msg
	case 1:
		return msg + "; its 1 task is requeued and restarts from the beginning on another machine (or when you start this one again)"
	}
	return msg + fmt.Sprintf("; its %d tasks are requeued and restart from the beginning on another machine (or when you start this one again)", m.Tasks)
}

func newMachineRevokeCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "revoke MACHINE...",
		Short: "Revoke a joined machine's credential: its agent is refused at once",
		Long: `Revoke the credential of machines that joined with a join token (the
BURST_JOIN_URL='URL' burst agent that burst join-token create printed). The server refuses their agents from the next request on (a lease
they hold open ends), and their agents exit saying so; the machines are
lost and their tasks requeued, each once, to run elsewhere. To serve again
a machine must join with a new token (burst join-token create).`,
		Example: `  burst machine revoke laptop-7`,
		Args:    argsAtLeast(1, "machine id (see `burst machine list`)"),
		RunE: func(c *cobra.Command, args []string) error {
			return machineAction(c, args, out, func(ctx context.Context, cl *client.Client, id string) (*burst.Machine, error) {
				return cl.RevokeMachine(ctx, id)
			}, func(m *burst.Machine) string {
				return fmt.Sprintf("machine %s: credential revoked; the machine is %s and its tasks are requeued", m.ID, m.State)
			})
		},
	}
	outFlag(c, &out)
	return c
}

// joinedProvider is the provider of machines that join by themselves
// (burst agent --join): burst neither starts nor stops their hosts.
const joinedProvider = "joined"
