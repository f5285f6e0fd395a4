package server

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/sched"
)

// admit is the submit event's decision, before the job is recorded: its
// project exists and may spend (not exhausted, and a job with a time limit
// fits in what is left), and its cluster (each stage's, for a pipe) could
// ever run it, with the machines there are or that the cluster could
// start. A refusal is written to b's audit trail, for actor; the error
// says what to change.
func (c *control) admit(spec *burst.JobSpec, actor string, now time.Time, b *batch) error {
	err := c.admission(spec, now)
	if err != nil {
		ev := eventAt(now, actor, "job.submit", spec.Project, "", err.Error())
		ev.Result = "refused"
		b.event(ev)
	}
	return err
}

func (c *control) admission(spec *burst.JobSpec, now time.Time) error {
	p := c.projects[spec.Project]
	if p == nil {
		return badRequest("no project %q: the projects are %s (create one with `burst project create %s --budget AMOUNT`)",
			spec.Project, strings.Join(slices.Sorted(maps.Keys(c.projects)), ", "), spec.Project)
	}
	name := clusterName(spec.Cluster)
	views := c.admissionViews(now)
	if spec.Native {
		if cl := c.clusters[name]; cl == nil || !cl.caps().Native {
			return badRequest("--native runs a job with sbatch on a cluster of the slurm provider; %s is not one (see `burst cluster list`)", name)
		}
		if spec.Kind == burst.KindMap {
			return badRequest("--native runs single jobs: run maps and #SBATCH --array scripts on the cluster's pilots (drop --native)")
		}
		nat := nativeCluster(name)
		if slices.ContainsFunc(views, func(m sched.Machine) bool { return m.Cluster == nat && m.Accepting }) {
			if err := sched.Feasible(spec.Resources, nat, views); err != nil {
				return &errBadRequest{Msg: err.Error()}
			}
		}
		return c.x.forecastJob(p, spec)
	}
	if spec.Pipe != nil {
		if err := c.admitPipe(spec, func(res burst.Resources, cluster string) error {
			return c.feasibleOn(res, clusterName(cluster), views)
		}); err != nil {
			return err
		}
		if err := c.gangFeasible(spec, views, now); err != nil {
			return err
		}
		return c.x.forecastJob(p, spec)
	}
	if err := c.feasibleOn(spec.Resources, name, views); err != nil {
		return &errBadRequest{Msg: err.Error()}
	}
	return c.x.forecastJob(p, spec)
}

// clusterName is the cluster a job or stage that names none runs on.
func clusterName(c string) string {
	if c == "" {
		return localCluster
	}
	return c
}

// feasibleOn says whether some machine of cluster name, running or one the
// cluster could start, could ever run a task of res.
func (c *control) feasibleOn(res burst.Resources, name string, views []sched.Machine) error {
	cl := c.clusters[name]
	if cl == nil && !slices.ContainsFunc(views, func(m sched.Machine) bool { return m.Cluster == name && m.Accepting }) {
		// Agents that joined by themselves with --cluster NAME make a
		// cluster of that name too.
		return fmt.Errorf("no cluster %q: the clusters are %s (create one with `burst cluster create NAME --type TYPE`)",
			name, strings.Join(slices.Sorted(maps.Keys(c.clusters)), ", "))
	}
	if cl != nil && cl.prov != nil && !cl.caps().Agent {
		// Its machines run no burst agent (elastic Slurm nodes: Slurm starts
		// them for its own jobs): nothing of burst's can ever run there.
		return fmt.Errorf("cluster %s is made of %s machines, which run no burst agent: Slurm starts them for its own jobs (sbatch), and burst's work goes to another cluster (`burst cluster list`)",
			name, cl.def.Provider)
	}
	if cl != nil && !cl.def.BuiltIn && cl.def.Max > 0 {
		// The cluster can grow: a machine of its type counts, running or not.
		views = append(views, sched.Machine{ID: name + " (a new machine)", Name: cl.typ.Name, Cluster: name, Capacity: cl.res()})
	}
	return sched.Feasible(res, name, views)
}

// admissionViews are the machines a new job may count on: all but lost
// remote ones (the local machine comes back by itself).
func (c *control) admissionViews(now time.Time) []sched.Machine {
	var out []sched.Machine
	for _, v := range c.machineViews(now) {
		if m := c.machines[v.ID]; m.local || m.row.State != "lost" {
			out = append(out, v)
		}
	}
	return out
}
