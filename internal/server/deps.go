package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/auth"
	"github.com/burst-sh/burst/internal/store"
)

// Job dependencies (JobSpec.After: burst run --after, sbatch --dependency).
// A job that waits for others is held: it stays queued, asks the scheduler
// and the autoscaler for nothing (jobRT.pending is 0) and so costs nothing,
// until release finds its dependencies met. One that can never be met (it
// needed a job to succeed, and that job failed) is cancelled, saying which
// job and why, unless its spec keeps it (KeepUnsatisfiable: sbatch's
// default, Slurm's DependencyNeverSatisfied), when it waits until someone
// cancels it. A dependency is read from memory while its job is active,
// and from afterRT.ended once it has left memory: its end is recorded
// there when it leaves (forgetJob), or by the shell from the store (at
// submit and after a restart: learnEnded).
//
// A job deferred by --begin (JobSpec.Begin after its submission) is held
// the same way until its time comes, and until its dependencies, if it has
// any, are met too: release looks at it again once the clock reaches its
// Begin. release runs at every placement, at the latest on the scheduler's
// tick (every 2 s: scheduleLoop), so a deferred job is released within 2 s
// after its Begin; one whose Begin passed while the server was down is
// released at the first placement after the restart.

// afterRT is what a held job knows of the jobs it waits for.
type afterRT struct {
	ended map[int64]jobEnd // dependencies that ended and left memory, as they ended
	// arrays are the job arrays among them (sbatch --array), which Slurm
	// names ID_* in a dependency's text.
	arrays map[int64]bool
	never  string // kept waiting though a dependency can never be met: why
	// met: its dependencies and begin time had let it go when its user
	// held it (holdJob): only the hold keeps it, and they are not asked
	// again (one that ended and left memory would be unknown here).
	met bool
}

// depsRT is control's index of held jobs.
type depsRT struct {
	held    map[int64]*jobRT               // jobs held by their dependencies
	waiters map[int64][]*jobRT             // held jobs by an active job they wait for
	singles map[singleKey]map[int64]*jobRT // held jobs with a singleton dependency, by their user and name
	check   map[int64]bool                 // held jobs for release to look at: what they wait for changed
	timed   map[int64]*jobRT               // held jobs whose Begin is still to come
	// wakes are the held jobs whose after:ID+MINUTES comes due later,
	// when it does (the earliest of its unmet ones).
	wakes map[int64]time.Time
	next  time.Time // the earliest Begin of timed, or time of wakes
	// now is the time of the last release: what unmet (a listing) reads a
	// delay against; a delay that came due since is at most a tick late.
	now time.Time
	// Task-level dependencies (corr.go): what the tasks of watched jobs
	// came to, by job; the jobs that watch them, by watched job; gated
	// maps, and those of them whose gates to look at.
	logs   map[int64]*taskEnds
	tw     map[int64][]*jobRT
	gated  map[int64]*jobRT
	gdirty map[int64]bool
}

// singleKey is what a singleton dependency waits on: the jobs of one user
// and name (sbatch --dependency=singleton).
type singleKey struct{ user, name string }

func singleOf(j *jobRT) singleKey { return singleKey{j.row.User, j.row.Name} }

// touch has release look at the jobs that wait for j, which ended or
// started (and at the singletons of its user and name: only a job of
// theirs can free their way), and at j.
func (d *depsRT) touch(j *jobRT) {
	if len(d.held) == 0 {
		return
	}
	id := j.row.ID
	if d.held[id] != nil {
		d.check[id] = true // it ends held (cancelled): let go of it
	}
	for _, w := range d.waiters[id] {
		d.check[w.row.ID] = true
	}
	for sid := range d.singles[singleOf(j)] {
		d.check[sid] = true
	}
}

// hold holds j, just queued or restored, until its dependencies are met;
// a job its user held, until released, even once some of its tasks have
// started (an array held while it ran: the rest wait).
func (c *control) hold(j *jobRT) {
	deferred := j.row.Spec.Begin.After(j.row.SubmittedAt)
	started := j.begun()
	if len(j.row.Spec.After) == 0 && !deferred && !j.row.Spec.Held || j.finished || j.row.CancelRequested || started && (!j.row.Spec.Held || j.queued() == 0) {
		return
	}
	d := &c.deps
	if d.held == nil {
		d.held, d.waiters, d.singles, d.check = map[int64]*jobRT{}, map[int64][]*jobRT{}, map[singleKey]map[int64]*jobRT{}, map[int64]bool{}
		d.timed, d.wakes = map[int64]*jobRT{}, map[int64]time.Time{}
	}
	if deferred {
		d.timed[j.row.ID] = j
		d.soon(j.row.Spec.Begin)
	}
	// One that started had its dependencies and begin time met: only
	// the hold keeps it.
	j.after = &afterRT{ended: map[int64]jobEnd{}, met: started}
	d.held[j.row.ID] = j
	for _, dep := range j.row.Spec.After {
		switch {
		case dep.Kind == burst.Singleton:
			k := singleOf(j)
			if d.singles[k] == nil {
				d.singles[k] = map[int64]*jobRT{}
			}
			d.singles[k][j.row.ID] = j
		case c.jobs[dep.Job] != nil:
			d.waiters[dep.Job] = append(d.waiters[dep.Job], j)
		}
	}
	d.check[j.row.ID] = true
}

// rewait has the held jobs that wait for j, back in memory (resumed), wait
// for it again: how it ended before counts no more (an afterok on it that
// could never be met may be now), and its next end releases them.
func (c *control) rewait(j *jobRT) {
	d := &c.deps
	for _, h := range d.held {
		if h.after == nil || !slices.ContainsFunc(h.row.Spec.After, func(dep burst.Dependency) bool { return dep.Job == j.row.ID }) {
			continue
		}
		delete(h.after.ended, j.row.ID)
		h.after.never = ""
		if !slices.Contains(d.waiters[j.row.ID], h) {
			d.waiters[j.row.ID] = append(d.waiters[j.row.ID], h)
		}
		d.check[h.row.ID] = true
	}
}

// unresolved are the jobs j waits for that are neither in memory nor known
// to have ended: the shell reads how they ended from the store.
func (c *control) unresolved(j *jobRT) []int64 {
	if j.after == nil {
		return nil
	}
	var out []int64
	for _, dep := range j.row.Spec.After {
		if _, ok := j.after.ended[dep.Job]; dep.Job != 0 && !ok && c.jobs[dep.Job] == nil {
			out = append(out, dep.Job)
		}
	}
	return out
}

// jobEnd is how a job waited for ended, as a held job keeps it once that
// job left memory: its state, and when an after dependency on it was met
// (it started, or ended without starting), from which after:ID+MINUTES
// counts.
type jobEnd struct {
	state burst.State
	since time.Time
}

// endOf is the jobEnd of job r, which ended.
func endOf(r *burst.Job) jobEnd { return jobEnd{r.State, afterSince(r)} }

// afterSince is when an after dependency on job r was met: when it
// started, or when it ended without starting (Slurm: "start or are
// cancelled"); zero while neither.
func afterSince(r *burst.Job) time.Time {
	switch {
	case r.StartedAt != nil:
		return *r.StartedAt
	case r.EndedAt != nil && r.State.Terminal():
		return *r.EndedAt
	}
	return time.Time{}
}

// unresolvedHeld are the jobs that held jobs wait for that are neither in
// memory nor known to have ended: a read of them failed (endedStates), and
// the shell reads them again on the scheduler's tick.
func (c *control) unresolvedHeld() []int64 {
	var out []int64
	for _, j := range c.deps.held {
		for _, id := range c.unresolved(j) {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// learnEnded records, for every held job, how the jobs of states ended,
// those that are not in memory (read from the store).
func (c *control) learnEnded(states map[int64]jobEnd) {
	for _, j := range c.deps.held {
		c.learnEndedOf(j, states)
	}
}

// learnEndedOf is learnEnded for j alone (a job just submitted: the held
// jobs before it know already how the jobs they wait for ended).
func (c *control) learnEndedOf(j *jobRT, states map[int64]jobEnd) {
	for _, dep := range j.row.Spec.After {
		if st, ok := states[dep.Job]; ok && c.jobs[dep.Job] == nil && j.after != nil {
			j.after.ended[dep.Job] = st
			c.deps.check[j.row.ID] = true
		}
	}
}

// forgetJob records the end of j, which leaves memory, in the jobs that
// wait for it.
func (c *control) forgetJob(j *jobRT) {
	c.deps.touch(j)
	c.tasksDone(j)
	c.unwatch(j)
	for _, w := range c.deps.waiters[j.row.ID] {
		if w.after != nil {
			w.after.ended[j.row.ID] = endOf(&j.row.Job)
			if isArray(j) {
				if w.after.arrays == nil {
					w.after.arrays = map[int64]bool{}
				}
				w.after.arrays[j.row.ID] = true
			}
		}
	}
	delete(c.deps.waiters, j.row.ID)
}

// release lets go of the held jobs whose dependencies are met, and cancels
// (or, kept, marks) those whose dependencies never can be. Called by place,
// before the scheduler's snapshot, so that a job's end and the start of
// the job waiting for it are one batch.
func (c *control) release(now time.Time, b *batch) {
	d := &c.deps
	d.now = now
	d.due(now)
	defer c.openGates(now, b) // once the held jobs released are known
	if len(d.check) == 0 {
		return
	}
	ids := make([]int64, 0, len(d.check))
	for id := range d.check {
		ids = append(ids, id)
	}
	clear(d.check)
	slices.Sort(ids)
	for _, id := range ids {
		j := d.held[id]
		if j == nil {
			continue
		}
		if j.finished || j.row.CancelRequested {
			d.drop(j)
			continue
		}
		met, never, wake := c.afterMet(j, now)
		if j.after.met {
			met, never = true, ""
		}
		if !met && !wake.IsZero() {
			d.wakes[id] = wake // after:ID+MINUTES: look again then
			d.soon(wake)
		}
		switch {
		case met && d.timed[id] == nil && !j.row.Spec.Held:
			d.drop(j)
			b.event(eventAt(now, "", "job.release", j.row.Project, "job "+strconv.FormatInt(id, 10),
				fmt.Sprintf("job %d (%s) released: %s", id, j.row.Name, releasedWhy(j.row.Spec))))
			b.job(j) // watchers see that it no longer waits for them
		case never != "" && j.row.Spec.KeepUnsatisfiable:
			if j.after.never == "" {
				j.after.never = never
				b.job(j)
			}
		case never != "":
			d.drop(j)
			reason := "cancelled: " + never
			c.stopJob(j, reason, false, now, b)
			b.event(eventAt(now, "", "job.cancel", j.row.Project, "job "+strconv.FormatInt(id, 10),
				fmt.Sprintf("job %d (%s) %s", id, j.row.Name, reason)))
		}
	}
}

// releasedWhy is what released a held job: its Begin came, its
// dependencies are met, or both.
func releasedWhy(spec *burst.JobSpec) string {
	why := []string{"its hold was released"} // as when nothing else held it
	if !spec.Begin.IsZero() || len(spec.After) > 0 {
		why = nil
	}
	if !spec.Begin.IsZero() {
		why = append(why, "its begin time ("+spec.Begin.Format(time.RFC3339)+") came")
	}
	if len(spec.After) > 0 {
		why = append(why, "its dependencies ("+burst.FormatDependencies(spec.After, spec.AfterAnyOf)+") are met")
	}
	return strings.Join(why, " and ")
}

// due has release look at the held jobs whose Begin, or the delay of an
// after:ID+MINUTES, came by now.
func (d *depsRT) due(now time.Time) {
	if len(d.timed)+len(d.wakes) == 0 || now.Before(d.next) {
		return
	}
	d.next = time.Time{}
	for id, j := range d.timed {
		if b := j.row.Spec.Begin; b.After(now) {
			d.soon(b)
			continue
		}
		delete(d.timed, id)
		d.check[id] = true
	}
	for id, t := range d.wakes {
		if t.After(now) {
			d.soon(t)
			continue
		}
		delete(d.wakes, id)
		d.check[id] = true
	}
}

// soon has due look again by t.
func (d *depsRT) soon(t time.Time) {
	if d.next.IsZero() || t.Before(d.next) {
		d.next = t
	}
}

// drop lets go of held job j. (Its entries among waiters go when the jobs
// it waited for leave memory.)
func (d *depsRT) drop(j *jobRT) {
	if j.gate != nil {
		d.gdirty[j.row.ID] = true // its gates open from now on
	}
	delete(d.held, j.row.ID)
	delete(d.timed, j.row.ID)
	delete(d.wakes, j.row.ID)
	k := singleOf(j)
	if s := d.singles[k]; s != nil {
		delete(s, j.row.ID)
		if len(s) == 0 {
			delete(d.singles, k)
		}
	}
	j.after = nil
}

// afterMet says whether j's dependencies are met at now, or why they
// never can be, and, when one is an after:ID+MINUTES that comes due later,
// when the earliest does.
func (c *control) afterMet(j *jobRT, now time.Time) (bool, string, time.Time) {
	return afterVerdict(j.row.Spec, now, c.depState(j))
}

// depSeen is what is known of the job (or task) a dependency names.
type depSeen struct {
	state   burst.State
	started bool      // it started; for Singleton: the way is free
	since   time.Time // when an after on it was met (it started, or ended unstarted); zero: not known
	known   bool      // anything is known of it at all (an unknown one is unmet)
}

// seen is a depSeen of (state, started, known), as taskEnds tells them.
func seen(st burst.State, started, known bool) depSeen {
	return depSeen{state: st, started: started, known: known}
}

// depState tells afterVerdict what c knows of the jobs j waits for.
func (c *control) depState(j *jobRT) func(burst.Dependency) depSeen {
	return func(dep burst.Dependency) depSeen {
		if dep.Kind == burst.Singleton {
			return depSeen{started: c.singletonFree(j), known: true}
		}
		switch {
		case dep.Kind == burst.AfterCorr && j.gate != nil:
			return seen(burst.Succeeded, true, true) // the gate of each task decides (corr.go)
		case dep.Task != nil:
			return seen(j.tlogs[dep.Job].task(*dep.Task))
		}
		if o := c.jobs[dep.Job]; o != nil {
			return depSeen{o.row.State, o.row.StartedAt != nil, afterSince(&o.row.Job), true}
		}
		e, ok := j.after.ended[dep.Job]
		return depSeen{state: e.state, since: e.since, known: ok}
	}
}

// afterVerdict decides spec's dependencies at now from what state tells of
// each dependency's job. It returns whether they are met, or why they
// never can be, and the earliest time an after:ID+MINUTES met but not yet
// due comes due (zero if none waits so).
func afterVerdict(spec *burst.JobSpec, now time.Time, state func(burst.Dependency) depSeen) (bool, string, time.Time) {
	var nevers []string
	var wake time.Time
	met := 0
	for _, dep := range spec.After {
		s := state(dep)
		var ok, never bool
		switch {
		case !s.known:
		case dep.Kind == burst.Singleton:
			ok = s.started
		default:
			ok, never = dep.Met(s.state, s.started)
		}
		if due := s.since.Add(time.Duration(dep.Delay) * time.Minute); ok && dep.Kind == burst.AfterStart && dep.Delay > 0 && !s.since.IsZero() && due.After(now) {
			ok = false // Slurm's +MINUTES after the start (or the end unstarted)
			if wake.IsZero() || due.Before(wake) {
				wake = due
			}
		}
		switch {
		case ok:
			met++
		case never:
			nevers = append(nevers, dep.NeverMet(s.state, -1))
		}
	}
	switch {
	case spec.AfterAnyOf && met > 0, !spec.AfterAnyOf && met == len(spec.After):
		return true, "", time.Time{}
	case spec.AfterAnyOf && len(nevers) == len(spec.After):
		return false, strings.Join(nevers, "; "), time.Time{}
	case !spec.AfterAnyOf && len(nevers) > 0:
		return false, nevers[0], time.Time{}
	}
	return false, "", wake
}

// singletonFree says whether no job of j's name and user submitted before it
// is still active (sbatch --dependency=singleton).
func (c *control) singletonFree(j *jobRT) bool {
	for _, id := range c.order {
		if id >= j.row.ID {
			continue
		}
		if o := c.jobs[id]; o != nil && !o.finished && o.row.Name == j.row.Name && o.row.User == j.row.User {
			return false
		}
	}
	return true
}

// deferred says j is held for its Begin now (squeue's Reason BeginTime).
func (c *control) deferred(j *jobRT) bool { return c.deps.timed[j.row.ID] != nil }

// afterWait says why held job j waits ("" if it is not held).
func (c *control) afterWait(j *jobRT) string {
	a := j.after
	if a == nil {
		return ""
	}
	if a.never != "" {
		return fmt.Sprintf("%s: it can never start (DependencyNeverSatisfied); cancel it with `burst cancel %d`", a.never, j.row.ID)
	}
	var wants []string
	deps, _ := c.unmet(j)
	for _, dep := range deps {
		wants = append(wants, dep.Wants())
	}
	join := " and "
	if j.row.Spec.AfterAnyOf {
		join = " or "
	}
	why := "waiting"
	if j.row.Spec.Held {
		why = fmt.Sprintf("held (sbatch -H, scontrol hold): `scontrol release %d` lets it start", j.row.ID)
		if c.deferred(j) || len(wants) > 0 {
			why += "; then waiting"
		}
	}
	if c.deferred(j) {
		why += " until " + j.row.Spec.Begin.Format(time.RFC3339) + " (--begin)"
		if len(wants) > 0 {
			why += " and"
		}
	}
	if len(wants) > 0 {
		why += " for " + strings.Join(wants, join)
	}
	return why
}

// unmet are j's dependencies not met yet, each with why it never can be
// ("" while it still may).
func (c *control) unmet(j *jobRT) ([]burst.Dependency, []string) {
	var deps []burst.Dependency
	var nevers []string
	if j.after != nil && j.after.met {
		return nil, nil
	}
	state := c.depState(j)
	for _, dep := range j.row.Spec.After {
		if met, never, _ := afterVerdict(&burst.JobSpec{After: []burst.Dependency{dep}}, c.deps.now, state); !met {
			deps, nevers = append(deps, dep), append(nevers, never)
		}
	}
	return deps, nevers
}

// afterText is what j still waits for in sbatch's syntax, each with its
// status as squeue's %E shows it: "afterok:12(unfulfilled)", "(failed)"
// for one that never can be met; "" when j is not held.
func (c *control) afterText(j *jobRT) string {
	if j.after == nil {
		return c.corrText(j)
	}
	sep := ","
	if j.row.Spec.AfterAnyOf {
		sep = "?"
	}
	deps, nevers := c.unmet(j)
	parts := make([]string, len(deps))
	for i, dep := range deps {
		status := "(unfulfilled)"
		if nevers[i] != "" {
			status = "(failed)"
		}
		parts[i] = c.depText(j, dep) + status
	}
	return strings.Join(parts, sep)
}

// isArray says whether j is a Slurm job array (sbatch --array).
func isArray(j *jobRT) bool {
	return j.row.Spec != nil && j.row.Spec.Map != nil && j.row.Spec.Map.Array
}

// holdJob holds job id until it is released (on), or releases it (scontrol
// hold, scontrol release): Spec.Held, saved with the job's spec. Of a job
// some of whose tasks have started, the rest wait (an array held while it
// runs, as Slurm holds its pending tasks); one with none left to start is
// not held, and nothing is said (Slurm's hold of a running job succeeds
// and changes nothing it runs); holding a
// held job, or releasing one that is not, changes nothing. A released job
// still waits for its dependencies and its begin time. It is an error only
// for a job that has ended or that no one ever submitted.
func (c *control) holdJob(id int64, on bool, by holder, actor string, now time.Time, b *batch) error {
	j := c.jobs[id]
	if j == nil || j.finished || j.row.CancelRequested {
		return errJobEnded(id)
	}
	admin := on && by.admin && !by.user // the hold it gets: an admin's, or its user's
	switch {
	case !on && j.row.Spec.Held && j.row.Spec.HeldByAdmin && !by.admin:
		return &auth.Denied{Msg: fmt.Sprintf("job %d was held by an admin (Reason JobHeldAdmin): only an admin may release it", id)}
	case on && j.row.Spec.Held && by.admin && j.row.Spec.HeldByAdmin != admin:
		// An admin's hold of a held job makes it an admin's hold, its
		// uhold its user's (one its owner may release), as in Slurm.
	case by.requeue:
		// requeuehold: its task goes back to the queue as it stops, held
		// there, whatever held it before.
	case j.row.Spec.Held == on || on && j.queued() == 0: // nothing left to start: nothing to hold
		return nil
	}
	spec := *j.row.Spec // a new spec: readers outside the lock keep the one they have
	spec.Held, spec.HeldByAdmin = on, admin
	spec.HeldRequeued = on && (by.requeue || spec.HeldRequeued) // a later hold keeps the requeue's reason, as Slurm's
	j.row.Spec = &spec
	kind, what := "job.hold", "held: it starts once released"
	if on {
		if d := &c.deps; d.held[id] == nil { // released already, or never held: the hold alone keeps it
			if d.held == nil {
				c.hold(j) // makes the index (Spec.Held is set)
			} else {
				d.held[id] = j
			}
			j.after = &afterRT{ended: map[int64]jobEnd{}, met: true}
		}
	} else {
		kind, what = "job.release", "released from its hold"
		if c.deps.held[id] != nil {
			c.deps.check[id] = true
		}
	}
	b.cacheWrite(func(tx *store.Tx) error { return store.SaveSpec(tx, id, &spec) })
	b.job(j) // watchers see it held, or no longer
	b.event(eventAt(now, actor, kind, j.row.Project, "job "+strconv.FormatInt(id, 10),
		fmt.Sprintf("job %d (%s) %s", id, j.row.Name, what)))
	return nil
}

// holder is who asks for a hold or a release: an admin (whose hold only an
// admin may release, Slurm's JobHeldAdmin), whether the hold is to be
// one its user may release all the same (scontrol uhold), and whether it
// comes with a requeue of the job's running task (scontrol requeuehold).
type holder struct{ admin, user, requeue bool }

// errJobEnded is a hold or release of a job that has ended (or is being
// cancelled): there is nothing to hold.
func errJobEnded(id int64) error {
	return badRequest("job %d has ended or is being cancelled: only a job that has not ended can be held or released", id)
}
