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
//
// A job with a --time-min (sbatch gives one of a minute to a job with a
// deadline and no -t, as Slurm does) is taken to need that much, and
// starts with its time limit cut to end by its deadline (whole minutes,
// no less than its --time-min), as Slurm 22.05 starts it (checked beside
// it: --deadline=now+1hour -t 120 --time-min=59 runs with
// TimeLimit=01:00:00). An array's tasks are cut each as it starts, the
// job's limit with them, so that the tasks after it start with the cut
// one and are cut further if it no longer fits: 22.05 ran --array=1-3%1
// -t 120 --time-min=30 --deadline=now+1hour, each task 70 s, with
// TimeLimit=00:59:00 for task 1 and 00:58:00 for task 2 and the tasks
// still pending. (A task that runs keeps its limit; burst's scontrol
// shows it the job's latest, where 22.05 keeps each task's.)

// deadlineLimit is the time a job's task is taken to need: its
// --time-min, else its time limit, or a minute without one, as Slurm
// takes a job with none (slurmctld's "time_min 1").
func deadlineLimit(spec *burst.JobSpec) time.Duration {
	switch {
	case spec.TimeMin > 0:
		// No more than its time limit: scontrol update may have lowered
		// that below the --time-min (or the minute a deadline without -t
		// took) it was submitted with.
		if tl := spec.Resources.TimeLimit; tl > 0 && tl < spec.TimeMin {
			return time.Duration(tl) * time.Second
		}
		return time.Duration(spec.TimeMin) * time.Second
	case spec.Resources.TimeLimit > 0:
		return time.Duration(spec.Resources.TimeLimit) * time.Second
	}
	return time.Minute
}

// cutToDeadline gives a job whose task is about to start at now a time
// limit that ends by its deadline when its own (or none) would run past
// it: the whole minutes to its deadline, no less than its deadlineLimit
// (which endMissedDeadlines found fits). It changes nothing of a job
// without a deadline, a pipe, or one whose limit fits; the tasks of it
// that run keep theirs (respec tells them nothing).
func (c *control) cutToDeadline(j *jobRT, now time.Time, b *batch) {
	spec := j.row.Spec
	if spec.Deadline.IsZero() || spec.Pipe != nil {
		return
	}
	lim := time.Duration(spec.Resources.TimeLimit) * time.Second
	if lim > 0 && !now.Add(lim).After(spec.Deadline) {
		return
	}
	// From the second it starts in, as Slurm counts (its clock is in
	// seconds): a job started in the second it was submitted in, an hour
	// before its deadline, runs an hour, not 59 minutes.
	cut := max(spec.Deadline.Sub(now.Truncate(time.Second)).Truncate(time.Minute), deadlineLimit(spec))
	s := *spec // a new spec: readers outside the lock keep the one they have
	s.Resources.TimeLimit = int64(cut / time.Second)
	j.row.Spec = &s
	c.respec(j, false, b)
	b.job(j)
}

// cutPerTask says whether spec's tasks may each run with a time limit of
// their own: an array cut to its deadline as each task starts
// (cutToDeadline), whose job's limit is the one its latest task got.
func cutPerTask(spec *burst.JobSpec) bool { return !spec.Deadline.IsZero() && spec.Tasks > 1 }

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
