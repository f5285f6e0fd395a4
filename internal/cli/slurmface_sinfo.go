package cli

import (
	"slices"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/slurmface"
)

func newSinfoCmd() *cobra.Command {
	var (
		noHeader, nodes bool
		format, fields  string
		parts           []string
	)
	c := &cobra.Command{
		Use:   "sinfo [OPTIONS]",
		Short: "List burst's clusters as Slurm's sinfo lists partitions",
		Long: `List burst's clusters as sinfo lists partitions: PARTITION (the cluster;
the default one starred), AVAIL, TIMELIMIT, NODES (its running machines),
STATE (idle, mix or alloc) and NODELIST (machine ids), one line per
cluster and state. Honoured: -h/--noheader, -o/--format with %P %R %a %l
%D %t %T %N %c %m %G (widths as %.10l), -O/--Format (partition, available,
timelimit, nodes, statecompact, statelong, nodelist, cpus, memory, gres
with :WIDTH), -N/--Node (one line per machine), -p/--partition, -a/--all,
-l/--long (accepted).`,
		Example: `  burst slurm sinfo
  sinfo -o %P                  # partitions; the default one starred
  sinfo -N -h -o '%N %c %m %G'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			var f slurmface.SinfoFormat
			var err error
			switch {
			case fields != "":
				f, err = slurmface.ParseSinfoFields(fields)
			case format != "":
				f, err = slurmface.ParseSinfoFormat(format)
			case nodes:
				f, err = slurmface.ParseSinfoFormat(slurmface.SinfoNodes)
			default:
				f, err = slurmface.ParseSinfoFormat(slurmface.DefaultSinfo)
			}
			if err != nil {
				return usage("sinfo: %v", err)
			}
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			ms, err := cl.Machines(c.Context())
			if err != nil {
				return err
			}
			want := splitList(parts)
			var ns []slurmface.Node
			for _, m := range ms {
				if m.State != burst.MachineRunning || want != nil && !want[m.Cluster] {
					continue
				}
				ns = append(ns, slurmface.Node{Name: m.ID, Partition: m.Cluster, Default: m.Cluster == "local",
					CPUs: m.CPUs, UsedCPUs: m.Used.CPUs, MemBytes: m.MemBytes, GPUs: len(m.GPUs)})
			}
			slices.SortStableFunc(ns, func(a, b slurmface.Node) int {
				if a.Partition < b.Partition {
					return -1
				} else if a.Partition > b.Partition {
					return 1
				}
				return 0
			})
			return slurmface.Sinfo(c.OutOrStdout(), ns, f, noHeader, nodes)
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&noHeader, "noheader", "h", false, "no header line")
	fl.BoolVarP(&nodes, "Node", "N", false, "one line per machine")
	fl.StringVarP(&format, "format", "o", "", "`FORMAT` such as '%P %.6D %t'")
	fl.StringVarP(&fields, "Format", "O", "", "`FIELDS` such as partition:12,nodes")
	fl.StringSliceVarP(&parts, "partition", "p", nil, "only these burst clusters")
	fl.BoolP("all", "a", false, "all partitions (burst shows them all anyway)")
	fl.BoolP("long", "l", false, "accepted")
	fl.BoolP("help", "", false, "help for sinfo")
	return c
}
