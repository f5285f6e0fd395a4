package sbatch

import (
	"slices"
	"strings"
)

// argKind says whether an option takes a value, as getopt_long does.
type argKind int

const (
	noArg    argKind = iota
	required         // "--opt=v", "--opt v", "-ov" or "-o v"
	optional         // only "--opt=v" or "-ov"
)

// option is one sbatch option. eg is set for the options burst honours and
// shows how to write them.
type option struct {
	names []string // long names, canonical first
	short byte     // 0 when it has none
	arg   argKind
	eg    string
}

// options lists sbatch's options; those with eg are honoured by burst, the
// rest are recognised so that they are skipped with a warning.
var options = []option{
	{names: []string{"job-name"}, short: 'J', arg: required, eg: "--job-name=fit"},
	{names: []string{"output"}, short: 'o', arg: required, eg: "--output=slurm-%j.out"},
	{names: []string{"error"}, short: 'e', arg: required, eg: "--error=slurm-%j.err"},
	{names: []string{"ntasks", "tasks"}, short: 'n', arg: required, eg: "--ntasks=4"},
	{names: []string{"ntasks-per-node", "tasks-per-node"}, arg: required, eg: "--ntasks-per-node=4"},
	{names: []string{"cpus-per-task"}, short: 'c', arg: required, eg: "--cpus-per-task=8"},
	{names: []string{"mem"}, arg: required, eg: "--mem=16G"},
	{names: []string{"mem-per-cpu"}, arg: required, eg: "--mem-per-cpu=2G"},
	{names: []string{"time"}, short: 't', arg: required, eg: "--time=1:00:00"},
	{names: []string{"gres"}, arg: required, eg: "--gres=gpu:1"},
	{names: []string{"gpus"}, short: 'G', arg: required, eg: "--gpus=1"},
	{names: []string{"gpus-per-node"}, arg: required, eg: "--gpus-per-node=1"},
	{names: []string{"partition"}, short: 'p', arg: required, eg: "--partition=gpu"},
	{names: []string{"array"}, short: 'a', arg: required, eg: "--array=0-99"},
	{names: []string{"chdir", "workdir"}, short: 'D', arg: required, eg: "--chdir=/scratch/run"},
	{names: []string{"export"}, arg: required, eg: "--export=ALL"},
	{names: []string{"nodes"}, short: 'N', arg: required, eg: "--nodes=1"},
	{names: []string{"open-mode"}, arg: required, eg: "--open-mode=append"},
	{names: []string{"get-user-env"}, arg: optional, eg: "--get-user-env"},
	{names: []string{"account"}, short: 'A', arg: required, eg: "--account=lab"},

	{names: []string{"acctg-freq"}, arg: required},
	{names: []string{"batch"}, arg: required},
	{names: []string{"bb"}, arg: required},
	{names: []string{"bbf"}, arg: required},
	{names: []string{"begin"}, short: 'b', arg: required, eg: "--begin=now+1hour"},
	{names: []string{"cluster-constraint"}, arg: required},
	{names: []string{"clusters", "cluster"}, short: 'M', arg: required},
	{names: []string{"comment"}, arg: required, eg: `--comment="run 3"`},
	{names: []string{"constraint"}, short: 'C', arg: required},
	{names: []string{"container"}, arg: required, eg: "--container=tools:2"},
	{names: []string{"container-id"}, arg: required},
	{names: []string{"contiguous"}},
	{names: []string{"core-spec"}, short: 'S', arg: required},
	{names: []string{"cores-per-socket"}, arg: required},
	{names: []string{"cpu-freq"}, arg: required},
	{names: []string{"cpus-per-gpu"}, arg: required},
	{names: []string{"deadline"}, arg: required},
	{names: []string{"delay-boot"}, arg: required},
	{names: []string{"dependency"}, short: 'd', arg: required, eg: "--dependency=afterok:12"},
	{names: []string{"distribution"}, short: 'm', arg: required, eg: "--distribution=block:cyclic"},
	{names: []string{"exclude"}, short: 'x', arg: required},
	{names: []string{"exclusive"}, arg: optional, eg: "--exclusive"},
	{names: []string{"export-file"}, arg: required},
	{names: []string{"extra"}, arg: required},
	{names: []string{"extra-node-info"}, short: 'B', arg: required},
	{names: []string{"gid"}, arg: required},
	{names: []string{"gpu-bind"}, arg: required},
	{names: []string{"gpu-freq"}, arg: required},
	{names: []string{"gpus-per-socket"}, arg: required},
	{names: []string{"gpus-per-task"}, arg: required},
	{names: []string{"gres-flags"}, arg: required},
	{names: []string{"help"}, short: 'h'},
	{names: []string{"hint"}, arg: required},
	{names: []string{"hold"}, short: 'H', eg: "--hold"},
	{names: []string{"ignore-pbs"}},
	{names: []string{"input"}, short: 'i', arg: required, eg: "--input=in-%a.txt"},
	{names: []string{"kill-on-invalid-dep"}, arg: required, eg: "--kill-on-invalid-dep=yes"},
	{names: []string{"licenses"}, short: 'L', arg: required},
	{names: []string{"mail-type"}, arg: required},
	{names: []string{"mail-user"}, arg: required},
	{names: []string{"mcs-label"}, arg: required},
	{names: []string{"mem-bind", "mem_bind"}, arg: required},
	{names: []string{"mem-per-gpu"}, arg: required},
	{names: []string{"mincpus"}, arg: required},
	{names: []string{"network"}, arg: required},
	{names: []string{"nice"}, arg: optional},
	{names: []string{"no-kill"}, short: 'k', arg: optional},
	{names: []string{"no-requeue"}, eg: "--no-requeue"},
	{names: []string{"nodefile"}, short: 'F', arg: required},
	{names: []string{"nodelist"}, short: 'w', arg: required},
	{names: []string{"ntasks-per-core"}, arg: required},
	{names: []string{"ntasks-per-gpu"}, arg: required},
	{names: []string{"ntasks-per-socket"}, arg: required},
	{names: []string{"oom-kill-step"}, arg: optional},
	{names: []string{"overcommit"}, short: 'O'},
	{names: []string{"oversubscribe", "share"}, short: 's', eg: "--oversubscribe"},
	{names: []string{"parsable"}, eg: "--parsable"},
	{names: []string{"power"}, arg: required},
	{names: []string{"prefer"}, arg: required},
	{names: []string{"priority"}, arg: required},
	{names: []string{"profile"}, arg: required},
	{names: []string{"propagate"}, arg: optional},
	{names: []string{"qos"}, short: 'q', arg: required},
	{names: []string{"quiet"}, short: 'Q'},
	{names: []string{"reboot"}},
	{names: []string{"requeue"}, eg: "--requeue"},
	{names: []string{"reservation"}, arg: required},
	{names: []string{"resv-ports"}, arg: optional},
	{names: []string{"segment"}, arg: required},
	{names: []string{"signal"}, arg: required, eg: "--signal=B:USR1@120"},
	{names: []string{"sockets-per-node"}, arg: required},
	{names: []string{"spread-job"}},
	{names: []string{"switches"}, arg: required},
	{names: []string{"test-only"}},
	{names: []string{"thread-spec"}, arg: required},
	{names: []string{"threads-per-core"}, arg: required},
	{names: []string{"time-min"}, arg: required},
	{names: []string{"tmp"}, arg: required},
	{names: []string{"tres-bind"}, arg: required},
	{names: []string{"tres-per-task"}, arg: required},
	{names: []string{"uid"}, arg: required},
	{names: []string{"usage"}, short: 'u'},
	{names: []string{"use-min-nodes"}},
	{names: []string{"verbose"}, short: 'v'},
	{names: []string{"version"}, short: 'V'},
	{names: []string{"wait"}, short: 'W', eg: "--wait"},
	{names: []string{"wait-all-nodes"}, arg: required},
	{names: []string{"wckey"}, arg: required},
	{names: []string{"wrap"}, arg: required},
}

// lookupLong finds a long option by its name or, as getopt_long does, by an
// unambiguous prefix of it. When the prefix is ambiguous it returns the
// names it could mean.
func lookupLong(name string) (*option, []string) {
	var matches []*option
	var names []string
	for i := range options {
		o := &options[i]
		for _, n := range o.names {
			if n == name {
				return o, nil
			}
			if name != "" && strings.HasPrefix(n, name) {
				names = append(names, "--"+n)
				if !slices.Contains(matches, o) {
					matches = append(matches, o)
				}
			}
		}
	}
	if len(matches) == 1 {
		return matches[0], nil
	}
	return nil, names
}

// lookupShort finds an option by its one-letter name.
func lookupShort(c byte) *option {
	for i := range options {
		if options[i].short == c {
			return &options[i]
		}
	}
	return nil
}

// Option describes one of sbatch's options for a parser of sbatch's own
// command line (burst slurm sbatch).
type Option struct {
	Name     string   // canonical long name
	Aliases  []string // its other long names (--tasks for --ntasks)
	Short    byte     // 0 when it has none
	Value    int      // 0: takes none, 1: required, 2: optional (only --opt=v)
	Honoured bool     // burst honours it (SetOption takes it)
}

// LongOption finds the option written --name (or an unambiguous prefix of
// it, as getopt_long allows); when the prefix is ambiguous it returns the
// names it could mean instead.
func LongOption(name string) (Option, []string, bool) {
	o, candidates := lookupLong(name)
	if o == nil {
		return Option{}, candidates, false
	}
	return o.info(), nil, true
}

// ShortOption finds the option written -c.
func ShortOption(c byte) (Option, bool) {
	o := lookupShort(c)
	if o == nil {
		return Option{}, false
	}
	return o.info(), true
}

func (o *option) info() Option {
	return Option{Name: o.names[0], Aliases: o.names[1:], Short: o.short, Value: int(o.arg), Honoured: o.eg != ""}
}

// Options are all of sbatch's options, for a parser of sbatch's own
// command line.
func Options() []Option {
	out := make([]Option, len(options))
	for i := range options {
		out[i] = options[i].info()
	}
	return out
}
