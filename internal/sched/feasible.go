package sched

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/burst-sh/burst"
)

// maxListed is how many machines an error message names.
const maxListed = 5

// Take says what of a machine Whole gives a task: its CPUs and GPUs
// (sbatch --exclusive), its memory (sbatch --mem=0), or both.
type Take struct{ CPUs, Mem bool }

// Whole is res made a whole machine's, for a task that takes one (sbatch
// --exclusive) or all of its memory (--mem=0), as take says: the CPUs and
// GPUs, or the memory, of the machine of cluster, of those that exist
// (accepting or not), with the most CPUs (then GPUs, then memory) that
// could run res; the rest of res is kept (Slurm allocates an exclusive job
// the memory it asked for). ok is false, and res as it is, where none
// could.
func Whole(res burst.Resources, cluster string, machines []Machine, take Take) (_ burst.Resources, ok bool) {
	res = normalize(res)
	var best burst.Resources
	for i := range machines {
		m := &machines[i]
		c := capacity(m)
		if m.Cluster != cluster || !fits(res, c) {
			continue
		}
		if !ok || c.CPUs > best.CPUs || c.CPUs == best.CPUs && (c.GPUs > best.GPUs || c.GPUs == best.GPUs && c.MemBytes > best.MemBytes) {
			best, ok = c, true
		}
	}
	if !ok {
		return res, false
	}
	if take.CPUs {
		res.CPUs, res.GPUs = best.CPUs, best.GPUs
	}
	if take.Mem {
		res.MemBytes = best.MemBytes
	}
	return res, true
}

// Feasible reports whether some machine that exists (accepting or not) could
// ever run a task of res; with cluster set, only that cluster's machines
// count. Otherwise it returns an error for people that names what exists and
// the fix. Resources are read as Place reads them.
func Feasible(res burst.Resources, cluster string, machines []Machine) error {
	res = normalize(res)
	scope := machines
	if cluster != "" {
		scope = nil
		for _, m := range machines {
			if m.Cluster == cluster {
				scope = append(scope, m)
			}
		}
		if len(scope) == 0 {
			return unknownCluster(cluster, machines)
		}
	}
	if len(scope) == 0 {
		return errors.New("no machine exists yet to run it; add a cluster first")
	}
	var most burst.Resources
	for i := range scope {
		c := capacity(&scope[i])
		if fits(res, c) {
			return nil
		}
		most = burst.Resources{CPUs: max(most.CPUs, c.CPUs), MemBytes: max(most.MemBytes, c.MemBytes), GPUs: max(most.GPUs, c.GPUs)}
	}

	var short, atMost, fixes []string
	if res.CPUs > most.CPUs {
		short = append(short, count(res.CPUs, "CPU"))
		atMost = append(atMost, count(most.CPUs, "CPU"))
	}
	if res.MemBytes > most.MemBytes {
		short = append(short, size(res.MemBytes)+" memory")
		atMost = append(atMost, size(most.MemBytes)+" memory")
	}
	noGPU := res.GPUs > 0 && most.GPUs == 0
	if res.GPUs > most.GPUs {
		short = append(short, count(res.GPUs, "GPU"))
		if !noGPU {
			atMost = append(atMost, count(most.GPUs, "GPU"))
		}
	}
	var head string
	switch {
	case len(short) == 0:
		head = "no single machine can offer " + joinAnd(asked(res)) + " together"
		fixes = append(fixes, "ask for at most what one machine has")
	case noGPU && len(short) == 1:
		head = "no machine has a GPU"
	default:
		head = "no machine can offer " + joinAnd(short)
	}
	if len(atMost) > 0 {
		fixes = append(fixes, "ask for at most "+joinAnd(atMost))
	}
	if noGPU {
		fixes = append(fixes, "run without --gpus or add a cluster with GPUs")
	}
	if cluster != "" {
		for i := range machines {
			if m := &machines[i]; m.Cluster != cluster && fits(res, capacity(m)) {
				fixes = append(fixes, "cluster "+m.Cluster+" can run it")
				break
			}
		}
	}
	return fmt.Errorf("%s: %s; %s", head, listMachines(scope), strings.Join(fixes, "; "))
}

// unknownCluster is the error for a cluster no machine belongs to.
func unknownCluster(cluster string, machines []Machine) error {
	var names []string
	for _, m := range machines {
		if !slices.Contains(names, m.Cluster) {
			names = append(names, m.Cluster)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("no cluster named %q: no clusters exist yet; add one first", cluster)
	}
	slices.Sort(names)
	return fmt.Errorf("no cluster named %q: the clusters are %s; use one of them", cluster, joinAnd(names))
}

// listMachines describes the first few machines, e.g. "local-1 (cluster
// local) has 2 CPUs, 23.5 GiB memory, 0 GPUs".
func listMachines(ms []Machine) string {
	var parts []string
	for i := range ms[:min(len(ms), maxListed)] {
		m := &ms[i]
		name := m.Name
		if name == "" {
			name = m.ID
		}
		c := capacity(m)
		parts = append(parts, fmt.Sprintf("%s (cluster %s) has %s, %s memory, %s",
			name, m.Cluster, count(c.CPUs, "CPU"), size(c.MemBytes), count(c.GPUs, "GPU")))
	}
	if n := len(ms) - maxListed; n > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", n))
	}
	return strings.Join(parts, "; ")
}

// asked lists what res asks for, e.g. ["8 CPUs", "64 GiB memory", "1 GPU"].
func asked(res burst.Resources) []string {
	s := []string{count(res.CPUs, "CPU")}
	if res.CPUs == 0 {
		s = []string{"a share of a machine's CPUs"} // it reserves none
	}
	if res.MemBytes > 0 {
		s = append(s, size(res.MemBytes)+" memory")
	}
	if res.GPUs > 0 {
		s = append(s, count(res.GPUs, "GPU"))
	}
	return s
}

// count writes n of unit, e.g. "1 CPU" or "2 CPUs".
func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// size formats b in binary units with one decimal, rounded down so that
// "at most" advice is never too much, e.g. "23.5 GiB".
func size(b int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i, div := 0, int64(1)
	for i < len(units)-1 && b/div >= 1024 {
		i, div = i+1, div*1024
	}
	s := strconv.FormatInt(b/div, 10)
	if tenth := b % div * 10 / div; tenth != 0 {
		s += "." + strconv.FormatInt(tenth, 10)
	}
	return s + " " + units[i]
}

// joinAnd joins s as in "a, b and c".
func joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
