package slurm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst/internal/shellquote"
)

// Batch is one sbatch submission: the options burst sets and what runs.
// Options given on sbatch's command line override a script's #SBATCH
// lines, as sbatch's manual says, so a script keeps the options burst does
// not set. Zero fields are left out: Slurm's defaults apply.
type Batch struct {
	Name        string        // --job-name
	Comment     string        // --comment
	Output      string        // --output; burst's own path, so a '%' in it is no Slurm pattern
	Error       string        // --error; as Output
	Append      bool          // --open-mode=append (Slurm truncates otherwise)
	Dir         string        // --chdir
	NTasks      int           // --ntasks
	CPUsPerTask int           // --cpus-per-task
	MemBytes    int64         // --mem (per node), in MiB rounded up
	MemPerCPU   int64         // --mem-per-cpu, in MiB rounded up
	MemAll      bool          // --mem=0: all of the node's memory (MemBytes then unused)
	Time        time.Duration // --time, in minutes rounded up (Slurm ends the job then, never sooner)
	TimeMin     time.Duration // --time-min, in minutes rounded up
	Deadline    time.Time     // --deadline, as uts<seconds since 1970> (no time zone to agree on)
	GPUs        int           // --gpus: the job's total
	GRES        string        // --gres, e.g. "gpu:2" (per node)
	Partition   string        // --partition
	Export      string        // --export, e.g. "ALL"

	Script     string   // the batch script's path ...
	ScriptArgs []string // ... and its arguments
	Wrap       []string // or the command to run, given to sbatch --wrap quoted for sh

	Env []string // sbatch's environment (--export=ALL passes it to the job); nil: this process's
}

// Options are b's sbatch options, each one argument in --name=value form.
func (b Batch) Options() []string {
	var o []string
	add := func(name, v string) {
		if v != "" {
			o = append(o, "--"+name+"="+v)
		}
	}
	num := func(name string, n int64) {
		if n > 0 {
			add(name, strconv.FormatInt(n, 10))
		}
	}
	add("job-name", b.Name)
	add("comment", b.Comment)
	add("output", slurmPath(b.Output))
	add("error", slurmPath(b.Error))
	if b.Append {
		add("open-mode", "append")
	}
	add("chdir", b.Dir)
	num("ntasks", int64(b.NTasks))
	num("cpus-per-task", int64(b.CPUsPerTask))
	switch {
	case b.MemAll:
		add("mem", "0")
	case b.MemBytes > 0:
		add("mem", fmt.Sprintf("%dM", mib(b.MemBytes)))
	}
	if b.MemPerCPU > 0 {
		add("mem-per-cpu", fmt.Sprintf("%dM", mib(b.MemPerCPU)))
	}
	num("time", int64((b.Time+time.Minute-1)/time.Minute))
	num("time-min", int64((b.TimeMin+time.Minute-1)/time.Minute))
	if !b.Deadline.IsZero() {
		add("deadline", "uts"+strconv.FormatInt(b.Deadline.Unix(), 10))
	}
	num("gpus", int64(b.GPUs))
	add("gres", b.GRES)
	add("partition", b.Partition)
	add("export", b.Export)
	return o
}

// Args are sbatch's arguments for b: --parsable (Submit reads the id), the
// options, then the script and its arguments, or --wrap.
func (b Batch) Args() ([]string, error) {
	switch {
	case b.Script == "" && len(b.Wrap) == 0:
		return nil, errors.New("nothing to run: no command and no batch script")
	case b.Script != "" && len(b.Wrap) > 0:
		return nil, errors.New("a batch script and a command to wrap: give one")
	}
	args := append([]string{"--parsable"}, b.Options()...)
	if b.Script != "" {
		return append(append(args, b.Script), b.ScriptArgs...), nil
	}
	return append(args, "--wrap="+shellquote.Join(b.Wrap)), nil
}

// mib is n bytes in MiB, rounded up.
func mib(n int64) int64 { return (n + (1 << 20) - 1) >> 20 }

// slurmPath escapes '%' in a path for --output/--error, where Slurm expands
// %j and the like (burst expanded them already).
func slurmPath(p string) string { return strings.ReplaceAll(p, "%", "%%") }
