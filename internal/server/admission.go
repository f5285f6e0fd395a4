package server

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/provider"
	"github.com/burst-sh/burst/internal/sched"
)

// admit is the submit event's decision, before the job is recorded: its
// project exists and may spend (not exhausted, and a job with a time limit
// fits in what is left), and its cluster (each stage's, for a pipe) could
// ever run it, with the machines there are or that the cluster could
// start; and who submits it may use each cluster it names (mayUse). A
// refusal is written to b's audit trail, for actor; the error says what
// to change.
func (c *control) admit(spec *burst.JobSpec, who *auth.Principal, actor string, now time.Time, b *batch) error {
	err := c.mayUseAll(spec, who)
	if err == nil {
		err = c.boundAll(spec)
	}
	if err == nil {
		err = c.admission(spec, who, now)
	}
	if err != nil {
		ev := eventAt(now, actor, "job.submit", spec.Project, "", err.Error())
		ev.Result = "refused"
		b.event(ev)
	}
	return err
}

func (c *control) admission(spec *burst.JobSpec, who *auth.Principal, now time.Time) error {
	p := c.projects[spec.Project]
	if p == nil {
		return badRequest("no project %q: the projects are %s (create one with `burst project create %s --budget AMOUNT`)",
			spec.Project, strings.Join(slices.Sorted(maps.Keys(c.projects)), ", "), spec.Project)
	}
	name := clusterName(spec.Cluster)
	views := c.admissionViews(now)
	if who != nil && who.Kind == auth.User {
		// What a refusal lists (other clusters, machines) is what the
		// caller may use: other projects' clusters are not named.
		views = slices.DeleteFunc(views, func(m sched.Machine) bool { return c.mayUse(who, spec.Project, m.Cluster) != nil })
	}
	if spec.Native {
		if cl := c.clusters[name]; cl == nil {
			return badRequest("--native runs a job with sbatch on a cluster of the slurm provider; there is no cluster %s (see `burst cluster list`; make one with `burst cluster create %s --provider slurm ...`)", name, name)
		} else if !cl.caps().Native {
			return badRequest("--native runs a job with sbatch on a cluster of the slurm provider; %s is a cluster of the %s provider (see `burst cluster list`)", name, cl.def.Provider)
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
	if b := spec.Batch; b != nil && (b.Exclusive || b.MemAll) {
		// sbatch --exclusive: a whole machine; --mem=0: all its memory;
		// of the largest of the cluster's machines (running, or one it
		// could start) that fits the rest.
		spec.Resources, _ = sched.Whole(spec.Resources, name, c.couldRun(name, views), sched.Take{CPUs: b.Exclusive, Mem: b.MemAll})
	}
	if err := c.feasibleOn(spec.Resources, name, views); err != nil {
		return &errBadRequest{Msg: err.Error()}
	}
	return c.x.forecastJob(p, spec)
}

// couldRun are the machines of views with, when cluster name can grow, one
// of its type it could start.
func (c *control) couldRun(name string, views []sched.Machine) []sched.Machine {
	if cl := c.clusters[name]; cl != nil && cl.unusable == "" && !cl.def.BuiltIn && cl.def.Max > 0 {
		return append(slices.Clip(views), sched.Machine{ID: name + " (a new machine)", Name: cl.typ.Name, Cluster: name, Capacity: cl.res()})
	}
	return views
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
	if cl != nil && cl.caps().Joins && !slices.ContainsFunc(views, func(m sched.Machine) bool { return m.Cluster == name && m.Accepting }) {
		return fmt.Errorf("cluster %s has no machine yet: machines join it themselves (an admin runs `burst join-token create --cluster %s` and the machine runs the line it prints)", name, name)
	}
	if cl != nil && cl.unusable != "" {
		// Only its machines up now can take it: none is started, and a
		// stopped one is not started again.
		up := slices.DeleteFunc(slices.Clone(views), func(m sched.Machine) bool { return m.Cluster == name && !m.Accepting })
		if err := sched.Feasible(res, name, up); err != nil {
			return fmt.Errorf("%w; and cluster %s starts no machine: %s", err, name, cl.unusable)
		}
		return nil
	}
	// The cluster can grow: a machine of its type counts, running or not.
	return sched.Feasible(res, name, c.couldRun(name, views))
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

// boundAll refuses a job that names a cluster of joined machines of
// another project than its own (the job's cluster, or a stage's): the
// scheduler never places it there (sched.Machine.Project), whoever
// submits it, the home's token too.
func (c *control) boundAll(spec *burst.JobSpec) error {
	names := []string{clusterName(spec.Cluster)}
	if spec.Pipe != nil {
		for _, st := range spec.Pipe.Stages {
			if st.Cluster != "" {
				names = append(names, st.Cluster)
			}
		}
	}
	for _, name := range names {
		cl := c.clusters[name]
		if cl == nil || !cl.caps().Joins || cl.def.Project == spec.Project {
			continue
		}
		return badRequest("cluster %s is made of machines that joined for project %s and run only its work (a task there can read the machine's credential): submit the job to project %s (--project %s), or run it on a cluster of project %s",
			name, cl.def.Project, cl.def.Project, cl.def.Project, spec.Project)
	}
	return nil
}

// mayUseAll checks mayUse for every cluster spec names: the job's, and
// each pipe stage's --on.
func (c *control) mayUseAll(spec *burst.JobSpec, who *auth.Principal) error {
	if err := c.mayUse(who, spec.Project, clusterName(spec.Cluster)); err != nil {
		return err
	}
	if spec.Pipe != nil {
		for _, st := range spec.Pipe.Stages {
			if st.Cluster == "" {
				continue
			}
			if err := c.mayUse(who, spec.Project, st.Cluster); err != nil {
				return badRequest("stage %s: %v", st.Name, err)
			}
		}
	}
	return nil
}

// mayUse is nil when who may run work of project on cluster name.
//
// A user (admin users too) runs a project's work on that project's
// clusters only: their machines are what the project pays for, so a job
// of mars on venus's cluster would spend venus's money, and its tasks
// would share venus's machines and files. The home's token (Kind Admin,
// and nil for work no request asked for) is exempt: it is the host's
// owner, who made every cluster and may place work anywhere, as before
// there were users. The built-in local cluster is everyone's (it is the
// host, charged per use to the job's project).
//
// On a cluster whose machines share the server's host (Caps.SharesHost:
// the built-in local one among them), a task runs as the server's Unix
// user and can read $BURST_HOME/token, the admin's: a user who is not an
// admin runs nothing there unless the admin started the server with
// --trust-members-on that cluster.
//
// A cluster of another project is, to a user without the admin flag, as
// one that does not exist: its name is not confirmed, and the refusal
// lists only the clusters they may use.
func (c *control) mayUse(who *auth.Principal, project, name string) error {
	if who == nil || who.Kind != auth.User {
		return nil
	}
	cl := c.clusters[name]
	if cl == nil || (!cl.def.BuiltIn && cl.def.Project != project) {
		if cl != nil && who.IsAdmin {
			return badRequest("cluster %s belongs to project %s: a job of %s runs on %s's clusters (%s), or submit it to project %s (--project %s)",
				name, cl.def.Project, project, project, c.usableList(who, project), cl.def.Project, cl.def.Project)
		}
		return badRequest("no cluster %q for project %s: the clusters you may use for it are %s (an owner of %s creates one with `burst cluster create NAME --provider joined --project %s`)",
			name, project, c.usableList(who, project), project, project)
	}
	if cl.caps().SharesHost && !who.IsAdmin && !c.trustMembers[name] {
		return badRequest("cluster %s runs tasks on the server's own host as its Unix user, where a task could read the admin's token: it takes admins' work only. Run on a cluster of joined machines or Slurm of project %s (--on NAME; yours: %s), or ask the admin (to start the server with --trust-members-on %s, which makes every member as trusted as the admin)",
			name, project, c.usableList(who, project), name)
	}
	if cl.def.Provider == provider.SlurmName && !who.IsAdmin && !c.trustMembers[name] {
		return badRequest("cluster %s is Slurm: its pilots and sbatch jobs run as the server's Unix user on nodes that share its files, where a task could read the admin's token: it takes admins' work only. Run on a cluster of joined machines of project %s (--on NAME; yours: %s), or ask the admin to start the server with --trust-members-on %s (which makes every member as trusted as the admin)",
			name, project, c.usableList(who, project), name)
	}
	return nil
}

// usableList names the clusters who may run project's work on, for a
// refusal: "none" when there are none.
func (c *control) usableList(who *auth.Principal, project string) string {
	var out []string
	for name, cl := range c.clusters {
		if (cl.def.BuiltIn || cl.def.Project == project) && ((!cl.caps().SharesHost && cl.def.Provider != provider.SlurmName) || who.IsAdmin || c.trustMembers[name]) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
