package server

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/store"
)

// updateJob is Update under the lock; admin says the caller may raise the
// time limit, ended is how the new dependencies that ended did.
func (c *control) updateJob(id int64, o client.UpdateOptions, admin bool, ended map[int64]jobEnd, actor string, now time.Time, b *batch) error {
	j := c.jobs[id]
	if j == nil || j.finished || j.row.CancelRequested {
		return badRequest("job %d has already finished: only a job that has not ended can be updated", id)
	}
	started := j.begun()
	spec := *j.row.Spec // a new spec: readers outside the lock keep the one they have
	var what []string
	if o.TimeLimit != nil {
		lim := *o.TimeLimit
		switch {
		case lim < 0 || lim > burst.MaxTimeLimitS:
			return badRequest("time limit %d s: give 0 (none) to %d s", lim, int64(burst.MaxTimeLimitS))
		case spec.Pipe != nil:
			return badRequest("job %d is a pipe: its stages have time limits of their own; run it again with new ones", id)
		case spec.Map != nil && spec.Map.TimeoutPct > 0:
			return badRequest("job %d's time limit follows its --timeout %g%%, a share of the median run time of its tasks that succeeded: it cannot be set (cancel the map and resume it with `burst map --resume %d` to start the median afresh)", id, spec.Map.TimeoutPct, id)
		case !admin && spec.Resources.TimeLimit > 0 && (lim == 0 || lim > spec.Resources.TimeLimit):
			return &auth.Denied{Msg: fmt.Sprintf("only an admin may raise a job's time limit (job %d's is %s): give one no longer", id, burst.FormatTimeLimit(time.Duration(spec.Resources.TimeLimit)*time.Second))}
		}
		spec.Resources.TimeLimit = lim
		what = append(what, "time limit "+burst.FormatTimeLimit(time.Duration(lim)*time.Second))
	}
	if o.MaxRunning != nil {
		switch n := *o.MaxRunning; {
		case spec.Map == nil:
			return badRequest("job %d is not an array (a map): it has no throttle", id)
		case n < 0 || n > burst.MaxTasks:
			return badRequest("throttle %d: give 0 (none) to %d", n, burst.MaxTasks)
		}
		if err := sharedCap(&spec, *o.MaxRunning, "throttle"); err != nil {
			return err
		}
		spec.MaxRunning = *o.MaxRunning
		what = append(what, "throttle "+strconv.Itoa(spec.MaxRunning))
	}
	if o.After != nil {
		if started {
			return badRequest("job %d has started: its dependencies can be changed only while it waits", id)
		}
		spec.After, spec.AfterAnyOf = nil, false
		if strings.TrimSpace(*o.After) != "" {
			// Checked by Update, before the lock.
			spec.After, spec.AfterAnyOf, _ = burst.ParseDependencies(*o.After, burst.AfterAny)
			spec.KeepUnsatisfiable = true // as sbatch keeps a job whose dependency can never be met
			if via := c.waitsFor(spec.After, id); via != 0 {
				return badRequest("job dependency problem: job %d would wait for itself (through job %d, which waits for it): give a job that does not", id, via)
			}
		}
		what = append(what, "dependencies "+burst.FormatDependencies(spec.After, spec.AfterAnyOf))
	}
	if o.Requeue != nil {
		if spec.Batch == nil {
			return badRequest("job %d was not submitted by sbatch: Requeue= is a batch job's (scontrol requeue requeues it as it is)", id)
		}
		bo := *spec.Batch // a new one: readers outside the lock keep the one they have
		bo.NoRequeue = !*o.Requeue
		spec.Batch = &bo
		what = append(what, fmt.Sprintf("requeue %t", *o.Requeue))
	}
	rename := o.Name != nil && *o.Name != spec.Name
	if rename {
		if *o.Name == "" {
			return badRequest("an empty job name: give one (JobName=NAME)")
		}
		if err := burst.CheckName("job name", *o.Name, "JobName="); err != nil {
			return badRequest("%v", err)
		}
		spec.Name = *o.Name
		what = append(what, "name "+spec.Name)
	}
	if len(what) == 0 {
		return nil
	}
	d := &c.deps
	d.touch(j) // the jobs waiting for it, and the singletons of its (old) name, look again
	switch {
	case o.After != nil:
		if d.held[id] != nil {
			d.drop(j) // held again below, by what holds it now
		}
		j.row.Spec, j.row.Name = &spec, spec.Name
		c.hold(j)
		c.watchTasks(j)
		c.learnEndedOf(j, ended)
	case rename && d.held[id] != nil:
		// Its dependencies stay as they were (one that ended and left
		// memory is known only to j.after); a singleton waits among the
		// jobs of its new name.
		old := singleOf(j)
		j.row.Spec, j.row.Name = &spec, spec.Name
		if s := d.singles[old]; s != nil && s[id] != nil {
			delete(s, id)
			if len(s) == 0 {
				delete(d.singles, old)
			}
			k := singleOf(j)
			if d.singles[k] == nil {
				d.singles[k] = map[int64]*jobRT{}
			}
			d.singles[k][id] = j
		}
	default:
		j.row.Spec, j.row.Name = &spec, spec.Name
	}
	c.respec(j, o.TimeLimit != nil && started, b)
	b.job(j)
	b.event(eventAt(now, actor, "job.update", j.row.Project, "job "+strconv.FormatInt(id, 10),
		fmt.Sprintf("job %d (%s) updated: %s", id, j.row.Name, strings.Join(what, ", "))))
	return nil
}

// respec makes j's spec, set anew, the one its tasks leased from now on
// take and the store keeps; with newLimit, its running tasks and those
// queued on machines take its time limit, each counted from its own start
// (as Slurm counts a job's from its start).
func (c *control) respec(j *jobRT, newLimit bool, b *batch) {
	spec := j.row.Spec
	j.row.TimeLimitS = spec.Resources.TimeLimit
	j.ctx = nil
	if newLimit {
		c.sendLimit(j)
	}
	id := j.row.ID
	b.cacheWrite(func(tx *store.Tx) error { return store.SaveUpdate(tx, id, spec) })
}

// waitsFor is the job of deps through which job id would wait for itself,
// following the dependencies of the jobs that have not ended (an ended job
// waits for nothing); 0 when none does. A job's dependencies name jobs
// that existed when it was submitted, so only an update can close a cycle.
func (c *control) waitsFor(deps []burst.Dependency, id int64) int64 {
	seen := map[int64]bool{}
	for _, d := range deps {
		stack := []int64{d.Job}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == id {
				return d.Job
			}
			if n == 0 || seen[n] {
				continue
			}
			seen[n] = true
			if j := c.jobs[n]; j != nil && !j.finished {
				for _, e := range j.row.Spec.After {
					stack = append(stack, e.Job)
				}
			}
		}
	}
	return 0
}
