package slurmface

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst/internal/sbatch"
)

// DefinedOptions is what sbatch -v prints of a job's options (the script's
// directives with the command line's over them), in its words: a
// "defined options" block, one "NAME : VALUE" line per option set.
func DefinedOptions(sc *sbatch.Script) []string {
	var kv [][2]string
	add := func(name, v string) {
		if v != "" && v != "0" {
			kv = append(kv, [2]string{name, v})
		}
	}
	add("account", sc.Account)
	add("array", sc.Array)
	if !sc.Begin.IsZero() {
		add("begin", Date(sc.Begin))
	}
	add("chdir", sc.Chdir)
	add("cpus-per-task", strconv.Itoa(sc.CPUsPerTask))
	add("dependency", sc.Dependency)
	add("error", sc.Error)
	add("export", sc.Export)
	if sc.GPUs > 0 {
		add("gpus", strings.TrimPrefix(sc.GPUType+":"+strconv.Itoa(sc.GPUs), ":"))
	}
	add("job-name", sc.JobName)
	if sc.MemBytes > 0 {
		add("mem", Mem(sc.MemBytes))
	}
	if sc.MemPerCPU > 0 {
		add("mem-per-cpu", Mem(sc.MemPerCPU))
	}
	add("ntasks", strconv.Itoa(sc.NTasks))
	add("open-mode", sc.OpenMode)
	add("output", sc.Output)
	add("partition", sc.Partition)
	if sc.TimeLimit > 0 {
		add("time", LongDuration(sc.TimeLimit))
	}
	rule := fmt.Sprintf("%-20s %-20s", strings.Repeat("-", 20), strings.Repeat("-", 20))
	out := []string{"defined options", rule}
	for _, p := range kv {
		out = append(out, fmt.Sprintf("%-20s: %s", p[0], p[1]))
	}
	return append(out, rule, "end of defined options")
}

// WillRun is sbatch --test-only's answer (on stderr): when the job would
// start, on how many processors, where.
func WillRun(id int64, at time.Time, cpus int, nodes, partition string) string {
	return fmt.Sprintf("Job %d to start at %s using %d processors on nodes %s in partition %s", id, Date(at), cpus, nodes, partition)
}
