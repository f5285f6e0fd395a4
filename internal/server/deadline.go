package server

import (
	"fmt"
	"strconv"
	"time"

	"github.com/burst-sh/burst"
)

// Deadlines (JobSpec.Deadline: sbatch --deadline). A job's tasks that have
// not started by the time they could no longer end by its deadline never
// start: the job is cancelled, its Reason burst.ReasonDeadline's, the
// tasks that started (an array's) running to their end. As Slurm's
// scheduler does it, the test is made only of a job free to start: one
// held, by its user or its dependencies, or deferred by --begin, is left
// alone until it is let go, and is cancelled then if its deadline can no
// longer be met (Slurm 22.05: a job held behind a dependency past its
// deadline ends as DEADLINE when the dependency is met, and a held one
// when it is released; one whose -t cannot fit before its deadline is
// taken at submit and ends so at once). It runs at every placement, so at
// the latest on the scheduler's tick.

// deadlineLimit is the time a job's task is taken to need: its time
// limit, or a minute without one, as Slurm takes a job with none
// (slurmctld's "time_min 1").
func deadlineLimit(spec *burst.JobSpec) time.Duration {
	if s := spec.Resources.TimeLimit; s > 0 {
		return time.Duration(s) * time.Second
	}
	return time.Minute
}

// pastDeadline says whether a task of spec starting at now could no longer
// end by its Deadline.
func pastDeadline(spec *burst.JobSpec, now time.Time) bool {
	return !spec.Deadline.IsZero() && now.Add(deadlineLimit(spec)).After(spec.Deadline)
}

// endMissedDeadlines cancels the jobs free to start whose tasks not yet
// started could no longer end by their deadline. Free to start is
// pending's: not held, its dependencies met, not cancelled, with a task
// waiting to be placed that is past its aftercorr gate and within the
// job's cap on tasks at once (an array's %N): a task that waits on
// anything else is looked at once it no longer does. It runs at every
// placement: a job without a deadline costs one test.
func (c *control) endMissedDeadlines(now time.Time, b *batch) {
	var missed []*jobRT
	for _, id := range c.order {
		j := c.jobs[id]
		if j == nil || j.row.Spec.Deadline.IsZero() || j.pending() == 0 || !pastDeadline(j.row.Spec, now) {
			continue
		}
		missed = append(missed, j)
	}
	for _, j := range missed {
		spec := j.row.Spec
		reason := burst.ReasonDeadline + fmt.Sprintf("it could no longer end by its --deadline %s (time limit %s)",
			spec.Deadline.Format(time.RFC3339), burst.FormatTimeLimit(deadlineLimit(spec)))
		c.stopJobAs(j, reason, false, true, now, b) // an array's tasks that started run to their end
		b.event(eventAt(now, "", "job.cancel", j.row.Project, "job "+strconv.FormatInt(j.row.ID, 10),
			fmt.Sprintf("job %d (%s) cancelled: %s", j.row.ID, j.row.Name, reason)))
	}
}
