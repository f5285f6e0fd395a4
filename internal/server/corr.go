package server

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/store"
)

// Dependencies on single tasks: a job that waits for one task of an array
// (afterok:12_4), and a map (a job array) each of whose tasks waits for the
// task of the same index of another job (aftercorr:12). deps.go holds the
// rules for whole jobs; this file the task-level ones.
//
// What the tasks of a waited-for job came to is kept in a taskEnds, one per
// such job, shared by every job that waits on its tasks: the control fills
// it as the job's tasks start and end for good (taskStarted, taskEnded) and
// when the job leaves memory (done); the shell fills in, from the store,
// the tasks that had ended before anyone watched (loadTasks: after a
// submit, an update, a resume and a restart). Until then it is not
// loaded, and what waits on it waits. A read that failed, or that the
// control finds behind what it knows (an end not yet durable), is read
// again from the scheduler's tick (rereads).
//
// A map with an aftercorr dependency is gated (gateRT): its tasks are
// handed out only through its requeue line, which a task joins once the
// task it corresponds to succeeded; its cursor (Dispatched) stays at 0 and
// every task that has a row, or joined the line, is in its skip set (so
// that a restarted server finds them again: TasksAhead). A task whose
// corresponding task did not succeed can never start: it is cancelled
// alone, or, kept (KeepUnsatisfiable, sbatch's default), waits with
// Slurm's DependencyNeverSatisfied until someone cancels it. Its other
// dependencies are the job's as a whole: it is held until they are met.

// taskEnds is what the tasks of one job came to.
type taskEnds struct {
	tasks  bool  // it is a map or an array: it has tasks to correspond to
	ids    []int // its array indices, ascending (nil: its tasks' positions)
	total  int
	state  map[int]burst.State // by array index: Running once started, the final state once ended for good
	loaded bool                // the tasks that ended before it was watched are read
	retry  bool                // its last read failed or was stale: read it again
	done   bool                // the job ended: a task with no state never ran
	end    burst.State         // how the job ended, once done
}

// has says whether the job has a task of array index id.
func (e *taskEnds) has(id int) bool {
	if !e.tasks {
		return false
	}
	if e.ids == nil {
		return id >= 0 && id < e.total
	}
	_, ok := slices.BinarySearch(e.ids, id)
	return ok
}

// task is what task id came to, as depState tells afterVerdict: its
// state, whether it started, whether it is known.
func (e *taskEnds) task(id int) (burst.State, bool, bool) {
	if e == nil || !e.loaded {
		return "", false, false
	}
	if st, ok := e.state[id]; ok {
		return st, true, true
	}
	if e.done {
		return burst.Cancelled, false, true // never dispatched: cancelled with its job
	}
	return burst.Queued, false, true
}

// whole is what the whole job came to, as task says it of one task.
func (e *taskEnds) whole() (burst.State, bool, bool) {
	switch {
	case e == nil || !e.loaded:
		return "", false, false
	case e.done:
		return e.end, true, true
	}
	return burst.Queued, false, true
}

// idOf is the array index of task position pos of j (its position, for a
// map that is no array).
func idOf(j *jobRT, pos int) int {
	if idx := j.arrayIndices(); idx != nil && pos < len(idx) {
		return idx[pos]
	}
	return pos
}

// posOf is the position of j's task of array index id, -1 if it has none.
func posOf(j *jobRT, id int) int {
	if idx := j.arrayIndices(); idx != nil {
		if p, ok := slices.BinarySearch(idx, id); ok {
			return p
		}
		return -1
	}
	if id < 0 || id >= j.row.Tasks.Total {
		return -1
	}
	return id
}

// hasTasks says whether spec's job is a map or an array, whose tasks other
// jobs' may correspond to.
func hasTasks(spec *burst.JobSpec) bool { return spec != nil && spec.Map != nil && spec.Pipe == nil }

// gateRT is what a gated map knows of its tasks' gates.
type gateRT struct {
	all   bool           // look at every task still waiting
	ids   map[int]bool   // look at the tasks of these array indices
	never map[int]string // kept tasks that can never start, by position: why
}

// gated says whether spec's job is a map whose tasks wait task by task.
func gated(spec *burst.JobSpec) bool {
	return spec.Map != nil && spec.Pipe == nil &&
		slices.ContainsFunc(spec.After, func(d burst.Dependency) bool { return d.Kind == burst.AfterCorr })
}

// watchTasks has j watch the tasks of the jobs it waits on task by task,
// and gates it if it is a gated map: j was just queued, restored or given
// new dependencies.
func (c *control) watchTasks(j *jobRT) {
	d := &c.deps
	c.unwatch(j)
	if j.finished || j.row.CancelRequested {
		return
	}
	gate := gated(j.row.Spec)
	for _, dep := range j.row.Spec.After {
		if dep.Task == nil && (dep.Kind != burst.AfterCorr || !gate) || j.tlogs[dep.Job] != nil {
			continue
		}
		if d.logs == nil {
			d.logs, d.tw, d.gated, d.gdirty = map[int64]*taskEnds{}, map[int64][]*jobRT{}, map[int64]*jobRT{}, map[int64]bool{}
		}
		e := d.logs[dep.Job]
		if e == nil {
			e = &taskEnds{state: map[int]burst.State{}}
			if o := c.jobs[dep.Job]; o != nil {
				e.tasks, e.ids, e.total = hasTasks(o.row.Spec), o.arrayIndices(), o.row.Tasks.Total
			}
			d.logs[dep.Job] = e
		}
		if j.tlogs == nil {
			j.tlogs = map[int64]*taskEnds{}
		}
		j.tlogs[dep.Job] = e
		d.tw[dep.Job] = append(d.tw[dep.Job], j)
	}
	if gate {
		j.gate = &gateRT{all: true, ids: map[int]bool{}, never: map[int]string{}}
		if j.skip == nil {
			j.skip = map[int]bool{}
		}
		d.gated[j.row.ID] = j
		d.gdirty[j.row.ID] = true
	}
}

// unwatch lets go of what j watched (watchTasks).
func (c *control) unwatch(j *jobRT) {
	d := &c.deps
	for id := range j.tlogs {
		d.tw[id] = slices.DeleteFunc(d.tw[id], func(w *jobRT) bool { return w == j })
		if len(d.tw[id]) == 0 {
			delete(d.tw, id)
			delete(d.logs, id)
		}
	}
	j.tlogs, j.gate = nil, nil
	delete(d.gated, j.row.ID)
	delete(d.gdirty, j.row.ID)
}

// unloaded are the jobs whose tasks some job watches and the store is
// still to tell of (loadTasks).
func (c *control) unloaded() []int64 {
	var out []int64
	for id, e := range c.deps.logs {
		if !e.loaded {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// rereads are the watched jobs whose last read failed or was stale: the
// shell reads them again on the scheduler's tick.
func (c *control) rereads() []int64 {
	var out []int64
	for id, e := range c.deps.logs {
		if e.retry && !e.loaded {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// tasksRead is what the store tells of a watched job: its row, its array
// indices (nil if it is none) and the states of its tasks that started;
// or why it could not be read (store.ErrNotFound: the job is gone).
type tasksRead struct {
	row   store.JobRow
	ids   []int
	tasks []store.TaskState
	err   error
}

// learnTasks fills in the watched job id's tasks from what the store read
// of it. What the control recorded meanwhile stands. A read that failed,
// or that is behind what memory knows of a job still in it (a task that
// left its line reads as not ended, or fewer tasks read as ended than
// have: their ends are not durable yet), leaves it unloaded, to be read
// again.
func (c *control) learnTasks(id int64, r tasksRead) {
	e := c.deps.logs[id]
	if e == nil || e.loaded {
		return
	}
	o := c.jobs[id]
	switch {
	case errors.Is(r.err, store.ErrNotFound) && o == nil:
		// Gone (purged): nothing of it runs again, as of a job cancelled
		// before its tasks ran.
		e.done, e.end, e.loaded, e.retry = true, burst.Cancelled, true, false
		c.taskNews(id, -1)
		return
	case r.err != nil:
		e.retry = true
		return
	case o == nil: // it ended and left memory: the store knows all
		e.tasks = hasTasks(r.row.Spec)
		e.ids, e.total = r.ids, r.row.Tasks.Total
		e.done, e.end = r.row.State.Terminal(), r.row.State
	}
	stale := false
	var line map[int]bool // o's tasks in line to run again
	waits := func(pos int) bool {
		if o.running[pos] != nil || o.cache != nil && o.cache.parked[pos] != "" {
			return true
		}
		if line == nil {
			line = make(map[int]bool, len(o.requeue))
			for _, q := range o.requeue {
				line[int(q.index)] = true
			}
		}
		return line[pos]
	}
	for _, t := range r.tasks {
		k := t.Index
		if r.ids != nil && k < len(r.ids) {
			k = r.ids[k]
		}
		switch _, ok := e.state[k]; {
		case t.State.Terminal():
			e.state[k] = t.State
		case o != nil && !waits(t.Index):
			stale = true
		case t.State == burst.Running && !ok:
			e.state[k] = burst.Running
		}
	}
	if o != nil && hasTasks(o.row.Spec) && !o.row.CancelRequested && !stale {
		ended := 0
		for _, st := range e.state {
			if st.Terminal() {
				ended++
			}
		}
		stale = ended < o.row.Tasks.Done()
	}
	if stale {
		e.retry = true
		return
	}
	e.loaded, e.retry = true, false
	c.taskNews(id, -1)
}

// learnAllTasks is learnTasks for each job read.
func (c *control) learnAllTasks(reads map[int64]tasksRead) {
	for id, r := range reads {
		c.learnTasks(id, r)
	}
}

// taskStarted records that task pos of j started, for those that watch it.
func (c *control) taskStarted(j *jobRT, pos int) {
	if e := c.deps.logs[j.row.ID]; e != nil {
		id := idOf(j, pos)
		if _, ok := e.state[id]; !ok {
			e.state[id] = burst.Running
			c.taskNews(j.row.ID, id)
		}
	}
}

// taskEnded records that task pos of j ended for good in st.
func (c *control) taskEnded(j *jobRT, pos int, st burst.State) {
	if e := c.deps.logs[j.row.ID]; e != nil {
		id := idOf(j, pos)
		e.state[id] = st
		c.taskNews(j.row.ID, id)
	}
}

// tasksReopened records that watched job j was resumed: its tasks that
// did not succeed run again, and what they came to counts no more.
func (c *control) tasksReopened(j *jobRT) {
	e := c.deps.logs[j.row.ID]
	if e == nil {
		return
	}
	e.done, e.end = false, ""
	for id, st := range e.state {
		if st != burst.Succeeded {
			delete(e.state, id)
		}
	}
	c.taskNews(j.row.ID, -1)
}

// tasksDone records that watched job j ended and leaves memory.
func (c *control) tasksDone(j *jobRT) {
	if e := c.deps.logs[j.row.ID]; e != nil {
		e.done, e.end = true, j.row.State
		c.taskNews(j.row.ID, -1)
	}
}

// taskNews has the jobs that watch job id's tasks look again: at task id
// (-1: at all of them).
func (c *control) taskNews(job int64, id int) {
	d := &c.deps
	for _, w := range d.tw[job] {
		if d.held[w.row.ID] != nil {
			d.check[w.row.ID] = true
		}
		if g := w.gate; g != nil {
			if id < 0 {
				g.all = true
			} else {
				g.ids[id] = true
			}
			d.gdirty[w.row.ID] = true
		}
	}
}

// openGates lets the tasks of gated maps whose corresponding tasks
// succeeded join their line, and cancels (or, kept, marks) those that can
// never start. Called by release.
func (c *control) openGates(now time.Time, b *batch) {
	d := &c.deps
	ids := make([]int64, 0, len(d.gdirty))
	for id := range d.gdirty {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		j := d.gated[id]
		if j == nil || j.after != nil { // still held as a whole: looked at once released
			continue
		}
		delete(d.gdirty, id)
		if j.finished || j.row.CancelRequested {
			continue
		}
		c.openGate(j, now, b)
	}
}

func (c *control) openGate(j *jobRT, now time.Time, b *batch) {
	g := j.gate
	var look []int
	if g.all {
		for p := range j.row.Tasks.Total {
			look = append(look, p)
		}
	} else {
		for id := range g.ids {
			if p := posOf(j, id); p >= 0 {
				look = append(look, p)
			}
		}
		slices.Sort(look)
	}
	g.all = false
	clear(g.ids)
	changed := false
	for _, p := range look {
		if j.skip[p] || j.finished {
			continue
		}
		// A task kept as never able to start is looked at again too: the
		// job it waits on may have been resumed since.
		ok, never := c.corrVerdict(j, p)
		switch {
		case ok:
			delete(g.never, p)
			j.skip[p] = true
			j.requeue = append(j.requeue, retry{index: int32(p)})
			changed = true
		case never != "" && j.row.Spec.KeepUnsatisfiable:
			if g.never[p] != never {
				g.never[p] = never
				changed = true
			}
		case never != "":
			c.cancelAhead(j, p, "cancelled: "+never, now, b)
		case g.never[p] != "": // it may start again: it waits
			delete(g.never, p)
			changed = true
		}
	}
	if changed {
		b.job(j) // watchers see its tasks' waits change
	}
}

// corrVerdict says whether task pos of gated map j may start, or why it
// never can: every aftercorr dependency of j met for it.
func (c *control) corrVerdict(j *jobRT, pos int) (bool, string) {
	id := idOf(j, pos)
	for _, dep := range j.row.Spec.After {
		if dep.Kind != burst.AfterCorr {
			continue
		}
		st, started, known := c.corrState(j, dep, id)
		if !known {
			return false, ""
		}
		if ok, never := dep.Met(st, started); never {
			return false, corrOf(dep, id, j.tlogs[dep.Job]).NeverMet(st, id)
		} else if !ok {
			return false, ""
		}
	}
	return true, ""
}

// corrState is what the task of array index id of the job dep names came
// to: the whole job's, when it has no such task (Slurm 22.05 does so).
func (c *control) corrState(j *jobRT, dep burst.Dependency, id int) (burst.State, bool, bool) {
	e := j.tlogs[dep.Job]
	if dep.Task != nil {
		return e.task(*dep.Task)
	}
	if e != nil && e.has(id) {
		return e.task(id)
	}
	return e.whole()
}

// corrOf is dep as it bears on the task of array index id: on that task
// of its job, if it has one.
func corrOf(dep burst.Dependency, id int, e *taskEnds) burst.Dependency {
	if dep.Task == nil && e != nil && e.has(id) {
		dep.Task = &id
	}
	return dep
}

// gateWaits counts the tasks of gated map j still behind their gates, and
// of them those that never can start. Every listing asks it, under the
// lock: it counts nothing one by one. A gated map's skip set holds only
// its tasks past their gates (positions below Total), and a task leaves
// never as it passes (openGate, cancelAhead).
func gateWaits(j *jobRT) (waiting, never int) {
	if j.gate == nil || j.row.CancelRequested {
		return 0, 0
	}
	return j.row.Tasks.Total - len(j.skip), len(j.gate.never)
}

// corrText is the aftercorr dependencies of j, each with a status as
// squeue's %E shows it, for its tasks that wait: "(failed)" when every one
// of them can never start. "" when none waits.
func (c *control) corrText(j *jobRT) string {
	waiting, never := gateWaits(j)
	if waiting == 0 {
		return ""
	}
	status := "(unfulfilled)"
	if never == waiting {
		status = "(failed)"
	}
	return c.corrDeps(j, status)
}

// corrDeps writes j's aftercorr dependencies with status.
func (c *control) corrDeps(j *jobRT, status string) string {
	var parts []string
	for _, dep := range j.row.Spec.After {
		if dep.Kind == burst.AfterCorr {
			parts = append(parts, c.depText(j, dep)+status)
		}
	}
	return strings.Join(parts, ",")
}

// depText is dep as Slurm writes it in %E: a whole array as ID_*.
func (c *control) depText(j *jobRT, dep burst.Dependency) string {
	text := burst.FormatDependencies([]burst.Dependency{dep}, false)
	if dep.Task != nil {
		return text
	}
	if o := c.jobs[dep.Job]; o != nil && isArray(o) || j.after != nil && j.after.arrays[dep.Job] || c.endedArray(j, dep.Job) {
		if dep.Delay > 0 {
			return strings.TrimSuffix(text, "+"+strconv.Itoa(dep.Delay)) + "_*+" + strconv.Itoa(dep.Delay)
		}
		return text + "_*" // all of an array's tasks, as Slurm writes it: afterok:12_*
	}
	return text
}

// endedArray says whether job id, which j watches task by task and which
// left memory, was an array.
func (c *control) endedArray(j *jobRT, id int64) bool {
	e := j.tlogs[id]
	return e != nil && e.ids != nil
}

// gateWait says, for people, why the tasks of gated map j that wait do.
func (c *control) gateWait(j *jobRT) string {
	waiting, never := gateWaits(j)
	if waiting == 0 {
		return ""
	}
	var wants []string
	for _, dep := range j.row.Spec.After {
		if dep.Kind == burst.AfterCorr {
			wants = append(wants, dep.Wants())
		}
	}
	why := burst.Plural(waiting, "task") + " waiting for " + strings.Join(wants, " and ")
	if never > 0 {
		why += "; " + strconv.Itoa(never) + " of them can never start (DependencyNeverSatisfied): cancel them with `burst cancel " + strconv.FormatInt(j.row.ID, 10) + "` or one by one"
	}
	return why
}

// taskDependency is what task pos of j, queued, still waits for in
// squeue's %E syntax ("" if nothing: it waits for a machine), and why, for
// people.
func (c *control) taskDependency(j *jobRT, pos int) (string, string) {
	g := j.gate
	if g == nil || j.after != nil {
		return c.afterText(j), ""
	}
	if j.skip[pos] {
		return "", ""
	}
	if never := g.never[pos]; never != "" {
		return c.corrDeps(j, "(failed)"), never + ": it can never start (DependencyNeverSatisfied)"
	}
	id := idOf(j, pos)
	var wants []string
	for _, dep := range j.row.Spec.After {
		if dep.Kind == burst.AfterCorr {
			wants = append(wants, corrOf(dep, id, j.tlogs[dep.Job]).Wants())
		}
	}
	return c.corrDeps(j, "(unfulfilled)"), "waiting for " + strings.Join(wants, " and ")
}
