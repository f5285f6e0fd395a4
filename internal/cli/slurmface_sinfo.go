package cli

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/slurmface"
)

func newSinfoCmd() *cobra.Command {
	var (
		noHeader, nodes, long, summarize bool
		responding, dead, reasons        bool
		format, fields, states, clusters string
		sortSpec                         string
		parts, hosts                     []string
		iterate, verbose                 int
	)
	c := &cobra.Command{
		Use:   "sinfo [OPTIONS]",
		Short: "List burst's clusters as Slurm's sinfo lists partitions",
		Long: `List burst's clusters as sinfo lists partitions: PARTITION (the cluster;
the default one starred), AVAIL, TIMELIMIT, NODES (its running machines),
STATE (idle, mix or alloc) and NODELIST (machine ids, as a hostlist), one
line per cluster and state. Honoured: -h/--noheader, -o/--format with %P %R
%a %l %D %t %T %N %c %m %G %F %s %r %h %g %z %d %w %f %E (widths as %.10l;
%#P as wide as the longest value), -O/--Format (partition, available,
timelimit, nodes, statecompact, statelong, nodelist, cpus, memory, gres,
nodeaiot, ... with :WIDTH), -N/--Node (one line per machine), -s/--summarize
(NODES(A/I/O/T) per cluster), -l/--long (sinfo -l's columns, and the date),
-p/--partition, -n/--nodes (a hostlist), -t/--states (idle, mix, alloc:
a running machine is one of them), -r/--responding (all are), -d/--dead and
-R/--list-reasons (none are: burst lists running machines), -S/--sort
(sinfo's letters, + or - before each, #P the clusters as listed: P, c, m,
D, F, N, t, T; the others are alike on every line here), -i/--iterate
SECONDS, -M/--clusters (burst is one cluster: a CLUSTER: line first), -a,
-e, -v.`,
		Example: `  burst slurm sinfo
  sinfo -o %P                  # partitions; the default one starred
  sinfo -s
  sinfo -N -h -o '%N %c %m %G'
  sinfo -N -S -c               # machines, the most CPUs first`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if u, _ := c.Flags().GetBool("usage"); u {
				fmt.Fprintln(c.OutOrStdout(), "Usage: sinfo [-adelNRrsv] [-i seconds] [-t states] [-p partition] [-n nodes]\n"+
					"             [-S fields] [-o format] [-O Format] [--federation] [--local]")
				return nil
			}
			if iterate < 0 {
				return usage("sinfo: -i %d: the seconds between listings are a whole number above 0, e.g. -i 10", iterate)
			}
			// sinfo's input variables, as it reads them: SINFO_FORMAT
			// for its default and -l listings (-N, -s and -R keep
			// theirs), SINFO_SORT, SINFO_PARTITION.
			if format == "" && fields == "" && !nodes && !summarize && !reasons {
				format = os.Getenv("SINFO_FORMAT")
			}
			sortSpec = cmp.Or(sortSpec, os.Getenv("SINFO_SORT"))
			if v := os.Getenv("SINFO_PARTITION"); len(parts) == 0 && v != "" {
				parts = strings.Split(v, ",")
			}
			var f slurmface.SinfoFormat
			var bad []string
			switch {
			case fields != "":
				f, bad = slurmface.ParseSinfoFields(fields)
			case format != "":
				f, bad = slurmface.ParseSinfoFormat(format)
			case reasons:
				f, bad = slurmface.ParseSinfoFormat(slurmface.SinfoReasons)
			case summarize:
				f, bad = slurmface.ParseSinfoFormat(slurmface.SinfoSummarize)
			case nodes && long:
				f, bad = slurmface.ParseSinfoFormat(slurmface.SinfoLongNodes)
			case nodes:
				f, bad = slurmface.ParseSinfoFormat(slurmface.SinfoNodes)
			case long:
				f, bad = slurmface.ParseSinfoFormat(slurmface.SinfoLong)
			default:
				f, bad = slurmface.ParseSinfoFormat(slurmface.DefaultSinfo)
			}
			for _, b := range bad { // in sinfo 22.05's words, which differ for -o and -O
				if fields != "" {
					fmt.Fprintf(c.ErrOrStderr(), "sinfo: error: Invalid job format specification: %s\n", b)
				} else {
					fmt.Fprintf(c.ErrOrStderr(), "Invalid node format specification: %s\n", b)
				}
			}
			stateSet, err := slurmface.NodeStates(states)
			if err != nil {
				return &ExitError{Code: 1, Msg: "sinfo: error: " + err.Error()}
			}
			only, err := hostSet("sinfo: -n", hosts)
			if err != nil {
				return err
			}
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			want := splitList(parts)
			dated := !noHeader && (iterate > 0 || verbose > 0 || long)
			return relist(c.Context(), w, iterate, dated, clusters != "", func() error {
				ms, err := cl.Machines(c.Context())
				if err != nil {
					return err
				}
				var ns []slurmface.Node
				var none []slurmface.Node // partitions none of whose machines is in -t's states
				for _, n := range faceNodes(ms) {
					if want != nil && !want[n.Partition] || only != nil && !only[n.Name] {
						continue
					}
					if stateSet != nil && !dead && !reasons && !n.InStates(stateSet) {
						if !slices.ContainsFunc(none, func(e slurmface.Node) bool { return e.Partition == n.Partition }) {
							none = append(none, slurmface.Node{Partition: n.Partition, Default: n.Default, Empty: true})
						}
						continue
					}
					if dead || reasons {
						continue // a running machine responds and is up
					}
					ns = append(ns, n)
				}
				if !nodes { // as sinfo: such a partition still has its line, 0 nodes, n/a
					for _, e := range none {
						if !slices.ContainsFunc(ns, func(n slurmface.Node) bool { return n.Partition == e.Partition }) {
							ns = append(ns, e)
						}
					}
				}
				slices.SortStableFunc(ns, func(a, b slurmface.Node) int { return strings.Compare(a.Partition, b.Partition) })
				return slurmface.SinfoSorted(w, ns, f, noHeader, nodes, sortSpec)
			})
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&noHeader, "noheader", "h", false, "no header line")
	fl.BoolVarP(&nodes, "Node", "N", false, "one line per machine")
	fl.BoolVarP(&long, "long", "l", false, "sinfo -l's columns, after the date")
	fl.BoolVarP(&summarize, "summarize", "s", false, "one line per cluster: its machines allocated/idle/other/total")
	fl.StringVarP(&format, "format", "o", "", "`FORMAT` such as '%P %.6D %t'")
	fl.StringVarP(&fields, "Format", "O", "", "`FIELDS` such as partition:12,nodes")
	fl.StringSliceVarP(&parts, "partition", "p", nil, "only these burst clusters")
	fl.StringArrayVarP(&hosts, "nodes", "n", nil, "only these machines (a hostlist: local-[1-2])")
	fl.StringVarP(&states, "states", "t", "", "only machines in these `STATES` (idle, mix, alloc)")
	fl.StringVarP(&sortSpec, "sort", "S", "", "order the lines by these fields' `LETTERS`, e.g. -c or #P,-t")
	fl.BoolVarP(&responding, "responding", "r", false, "only responding machines (all are)")
	fl.BoolVarP(&dead, "dead", "d", false, "only machines not responding (none are)")
	fl.BoolVarP(&reasons, "list-reasons", "R", false, "why machines are down (none are)")
	fl.IntVarP(&iterate, "iterate", "i", 0, "list again every `SECONDS` until interrupted")
	fl.StringVarP(&clusters, "clusters", "M", "", "burst is one cluster (any name, or all)")
	fl.CountVarP(&verbose, "verbose", "v", "print the date before the listing")
	fl.BoolP("all", "a", false, "all partitions (burst shows them all anyway)")
	fl.BoolP("exact", "e", false, "accepted: machines alike are grouped exactly already")
	for _, name := range []string{"hide", "local", "federation", "noconvert"} {
		fl.Bool(name, false, "accepted: changes nothing in burst")
	}
	fl.Bool("usage", false, "a short usage line")
	fl.BoolP("help", "", false, "help for sinfo")
	return c
}

// faceNodes are the running machines as Slurm's nodes (sinfo, scontrol
// show node): a burst cluster is their partition. A machine whose tasks
// all reserve no CPU (burst map --cpus 0) has one allocated, as a node
// running jobs of sbatch --oversubscribe does: mixed, not idle.
func faceNodes(ms []burst.Machine) []slurmface.Node {
	var ns []slurmface.Node
	for _, m := range ms {
		if m.State != burst.MachineRunning {
			continue
		}
		n := slurmface.Node{Name: m.ID, Host: m.Host, Partition: m.Cluster, Default: m.Cluster == "local",
			CPUs: m.CPUs, UsedCPUs: max(m.Used.CPUs, min(m.Tasks, 1)), MemBytes: m.MemBytes, UsedMem: m.Used.MemBytes, GPUs: len(m.GPUs),
			UsedGPUs: m.Used.GPUs, OS: m.OS, Load: m.Load}
		if m.StartedAt != nil {
			n.Started = *m.StartedAt
		}
		if m.IdleSince != nil {
			n.LastBusy = *m.IdleSince
		}
		ns = append(ns, n)
	}
	return ns
}
