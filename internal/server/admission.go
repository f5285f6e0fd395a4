package server

import (
	"slices"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/sched"
)

func clusterName(c string) string {
	if c == "" {
		return localCluster
	}
	return c
}

// admit checks that the job's project exists and may spend, and that its
// cluster could ever run it. A refusal is recorded in the audit trail.
func (s *Server) admit(actor string, spec *burst.JobSpec, now time.Time) error {
	s.mu.Lock()
	err := s.admitLocked(spec, now)
	if err != nil {
		var b batch
		ev := s.newEvent(actor, "job.submit", spec.Project, "", err.Error())
		ev.Result = "refused"
		b.event(ev)
		s.apply(&b) // unlocks
		return err
	}
	s.mu.Unlock()
	return nil
}

func (s *Server) admitLocked(spec *burst.JobSpec, now time.Time) error {
	p := s.projects[spec.Project]
	if p == nil {
		s.mu.Unlock()
		err := s.noProject(spec.Project)
		s.mu.Lock()
		return &errBadRequest{err.Error()}
	}
	name := clusterName(spec.Cluster)
	c := s.clusters[name]
	views := s.admissionViews(now)
	if spec.Native {
		if c == nil || c.def.Provider != "slurm" {
			return badRequest("--native runs a job with sbatch on a cluster of the slurm provider; %s is not one (see `burst cluster list`)", name)
		}
		if spec.Kind == burst.KindMap {
			return badRequest("--native runs single jobs: run maps and #SBATCH --array scripts on the cluster's pilots (drop --native)")
		}
		nat := nativeCluster(name)
		if slices.ContainsFunc(views, func(m sched.Machine) bool { return m.Cluster == nat && m.Accepting }) {
			if err := sched.Feasible(spec.Resources, nat, views); err != nil {
				return &errBadRequest{err.Error()}
			}
		}
		return s.forecastJob(p, spec)
	}
	if spec.Pipe != nil {
		if err := s.admitPipe(spec, func(res burst.Resources, cluster string) error {
			return s.feasibleOn(res, clusterName(cluster), views)
		}); err != nil {
			return err
		}
		if err := s.gangFeasible(spec, views, now); err != nil {
			return err
		}
		return s.forecastJob(p, spec)
	}
	if err := s.feasibleOn(spec.Resources, name, views); err != nil {
		return &errBadRequest{err.Error()}
	}
	return s.forecastJob(p, spec)
}

// feasibleOn says whether some machine of cluster name, running or one the
// cluster could start, could ever run a task of res. Called with s.mu held
// (which it releases for a moment when the cluster does not exist).
func (s *Server) feasibleOn(res burst.Resources, name string, views []sched.Machine) error {
	c := s.clusters[name]
	if c == nil && !slices.ContainsFunc(views, func(m sched.Machine) bool { return m.Cluster == name && m.Accepting }) {
		// Agents that joined by themselves with --cluster NAME make a
		// cluster of that name too.
		s.mu.Unlock()
		err := s.noCluster(name)
		s.mu.Lock()
		return err
	}
	if c != nil && !c.def.BuiltIn && c.def.Max > 0 {
		// The cluster can grow: a machine of its type counts, running or not.
		views = append(views, sched.Machine{ID: name + " (a new machine)", Name: c.typ.Name, Cluster: name, Capacity: c.res()})
	}
	return sched.Feasible(res, name, views)
}

// admissionViews are the machines a new job may count on: all but lost
// remote ones (the local machine comes back by itself). Called with s.mu
// held.
func (s *Server) admissionViews(now time.Time) []sched.Machine {
	var out []sched.Machine
	for _, v := range s.machineViews(now) {
		if m := s.machines[v.ID]; m.local || m.row.State != "lost" {
			out = append(out, v)
		}
	}
	return out
}
