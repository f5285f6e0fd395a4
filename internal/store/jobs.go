package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// ErrNotFound is returned when a job or task does not exist.
var ErrNotFound = errors.New("not found")

// JobRow is a job with the bookkeeping the server needs beside what users see.
type JobRow struct {
	burst.Job
	Dispatched      int  // tasks [0, Dispatched) have rows
	CancelRequested bool // no task of the job starts any more
	Stopped         bool // ...because --max-failures was exceeded, not by a user
	// LetRun: a user's stop that let the tasks already handed out run to
	// their end (scancel -t PENDING): a restart keeps them running.
	LetRun bool
	// Halted: a map stopped because its --halt success= or done= was met
	// (burst.MapSpec.HaltOn); it lets run what its HaltSoon says.
	Halted bool
	IDSpan int // job ids it holds (IDSpan): an array's tasks' own ids follow its id
}

// TaskRow is a task with the facts used to re-attach to its process.
type TaskRow struct {
	burst.Task
	PIDStart  uint64 // process start time (clock ticks since boot): pid + this identify the process
	LostCount int    // times the task's machine vanished under it
	// CancelRequested: this task alone was cancelled while it ran (see
	// the server's CancelTask); it must not run again.
	CancelRequested bool
}

// InsertJob records a new job (creating its project on first use) and
// returns its id.
func InsertJob(tx *Tx, spec *burst.JobSpec, user string, now time.Time) (int64, error) {
	pid, err := ensureProject(tx, spec.Project, now)
	if err != nil {
		return 0, err
	}
	stored := *spec
	if spec.Map != nil { // inputs live in job_inputs
		m := *spec.Map
		m.Sources = nil
		stored.Map = &m
	}
	js, err := json.Marshal(&stored)
	if err != nil {
		return 0, err
	}
	// Ids are handed out after the last job's span, so that an array's
	// tasks own the ids after their job's (see ResolveID).
	res, err := tx.exec(`INSERT INTO jobs (id, id_span, name, project_id, kind, spec, state, cpus, mem_bytes, gpus,
		time_limit_s, submitted_at, n_tasks, user, cluster, srun_step, partition) VALUES (
		COALESCE((SELECT id + id_span FROM jobs ORDER BY id DESC LIMIT 1), 1),?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		IDSpan(spec), spec.Name, pid, spec.Kind, js, burst.Queued, spec.Resources.CPUs, spec.Resources.MemBytes,
		spec.Resources.GPUs, spec.Resources.TimeLimit, now.UnixMicro(), spec.Tasks, user, spec.Cluster, spec.SrunStep,
		spec.SlurmPartition())
	if err != nil {
		return 0, fmt.Errorf("insert job: %w", err)
	}
	return res.LastInsertId()
}

// IDSpan is how many job ids a job holds: one per task for a Slurm job
// array, whose every task is a job to the script (SLURM_JOB_ID, %j), else 1.
func IDSpan(spec *burst.JobSpec) int {
	if spec.Map != nil && spec.Map.Array && spec.Tasks > 1 {
		return spec.Tasks
	}
	return 1
}

// ResolveID finds the job holding id: the job itself (index -1), or the
// array job whose task index holds it. ErrNotFound when none does.
func (s *Store) ResolveID(ctx context.Context, id int64) (job int64, index int, err error) {
	var span int64
	err = s.r.QueryRowContext(ctx, `SELECT id, id_span FROM jobs WHERE id <= ? ORDER BY id DESC LIMIT 1`, id).Scan(&job, &span)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, 0, ErrNotFound
	case err != nil:
		return 0, 0, err
	case job == id:
		return job, -1, nil
	case id < job+span:
		return job, int(id - job), nil
	}
	return 0, 0, ErrNotFound
}

func ensureProject(tx *Tx, name string, now time.Time) (int64, error) {
	if _, err := tx.exec(`INSERT INTO projects(name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING`,
		name, now.UnixMicro()); err != nil {
		return 0, fmt.Errorf("create project %s: %w", name, err)
	}
	var id int64
	err := tx.QueryRow(`SELECT id FROM projects WHERE name = ?`, name).Scan(&id)
	return id, err
}

// SaveInputs stores a map's input sources.
func SaveInputs(tx *Tx, jobID int64, sources [][]string) error {
	for i, src := range sources {
		b, err := json.Marshal(burst.WireStrings(src)) // byte for byte: inputs may be any bytes but NUL
		if err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO job_inputs(job_id, source, data) VALUES (?, ?, ?)`, jobID, i, b); err != nil {
			return fmt.Errorf("save inputs of job %d: %w", jobID, err)
		}
	}
	return nil
}

// Inputs reads a map's input sources (nil for other jobs).
func (s *Store) Inputs(ctx context.Context, jobID int64) ([][]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT data FROM job_inputs WHERE job_id = ? ORDER BY source`, jobID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		var src burst.WireStrings
		if err := json.Unmarshal(b, &src); err != nil {
			return nil, fmt.Errorf("job %d: bad inputs: %w", jobID, err)
		}
		out = append(out, src)
	}
	return out, rows.Err()
}

const saveJobSQL = `UPDATE jobs SET state=?, exit_code=?, reason=?, started_at=?, ended_at=?,
		n_dispatched=?, n_running=?, n_succeeded=?, n_failed=?, n_cancelled=?, n_timeout=?, n_lost=?,
		cpu_us=?, max_rss=?, cancel_requested=?, steps=? WHERE id=?`

// SaveJob writes a job's mutable columns.
func SaveJob(tx *Tx, j *JobRow) error {
	c := j.Tasks
	_, err := tx.exec(saveJobSQL,
		j.State, intPtr(j.ExitCode), j.Reason, toMicros(j.StartedAt), toMicros(j.EndedAt),
		j.Dispatched, c.Running, c.Succeeded, c.Failed, c.Cancelled, c.Timeout, c.Lost,
		int64(j.CPUSeconds*1e6), j.MaxRSSBytes, cancelCode(j), stepsText(j.Steps), j.ID)
	if err != nil {
		return fmt.Errorf("save job %d: %w", j.ID, err)
	}
	return nil
}

// SaveUpdate saves what scontrol update changes of a job beside its spec
// (SaveSpec): the columns that repeat its name and time limit.
func SaveUpdate(tx *Tx, id int64, spec *burst.JobSpec) error {
	if _, err := tx.exec(`UPDATE jobs SET name = ?, time_limit_s = ? WHERE id = ?`, spec.Name, spec.Resources.TimeLimit, id); err != nil {
		return fmt.Errorf("update job %d: %w", id, err)
	}
	return SaveSpec(tx, id, spec)
}

// SaveSpec replaces a job's stored spec (a resume's new settings); a map's
// inputs stay where they are.
func SaveSpec(tx *Tx, id int64, spec *burst.JobSpec) error {
	stored := *spec
	if spec.Map != nil {
		m := *spec.Map
		m.Sources = nil
		stored.Map = &m
	}
	js, err := json.Marshal(&stored)
	if err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE jobs SET spec = ? WHERE id = ?`, string(js), id); err != nil {
		return fmt.Errorf("save job %d's spec: %w", id, err)
	}
	return nil
}

// cancel_requested: 0 no, 1 by a user, 2 stopped by --max-failures, 3 by a
// user for the tasks not yet handed out (LetRun), 4 halted by its
// --halt success= or done= (Halted).
func cancelCode(j *JobRow) int {
	switch {
	case j.CancelRequested && j.Halted:
		return 4
	case j.CancelRequested && j.Stopped:
		return 2
	case j.CancelRequested && j.LetRun:
		return 3
	case j.CancelRequested:
		return 1
	}
	return 0
}

const saveTaskSQL = `INSERT INTO tasks (job_id, idx, state, attempt, lost_count, machine, pid, pid_start,
		exit_code, signal, reason, gpu_ids, started_at, ended_at, user_us, sys_us, max_rss, stdout, stderr,
		read_bytes, wrote_bytes, cost_nusd, cancel, out_from, err_from, out_to, err_to, slot, steps)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(job_id, idx) DO UPDATE SET state=excluded.state, attempt=excluded.attempt,
		lost_count=excluded.lost_count, machine=excluded.machine, pid=excluded.pid, pid_start=excluded.pid_start,
		exit_code=excluded.exit_code, signal=excluded.signal, reason=excluded.reason, gpu_ids=excluded.gpu_ids,
		started_at=excluded.started_at, ended_at=excluded.ended_at, user_us=excluded.user_us,
		sys_us=excluded.sys_us, max_rss=excluded.max_rss, stdout=excluded.stdout, stderr=excluded.stderr,
		read_bytes=excluded.read_bytes, wrote_bytes=excluded.wrote_bytes, cost_nusd=excluded.cost_nusd,
		cancel=excluded.cancel, out_from=excluded.out_from, err_from=excluded.err_from,
		out_to=excluded.out_to, err_to=excluded.err_to, slot=excluded.slot, steps=excluded.steps`

// SaveTask inserts or replaces a task's row.
func SaveTask(tx *Tx, t *TaskRow) error {
	_, err := tx.exec(saveTaskSQL,
		t.JobID, t.Index, t.State, t.Attempt, t.LostCount, t.Machine, t.PID, int64(t.PIDStart),
		intPtr(t.ExitCode), t.Signal, t.Reason, joinInts(t.GPUIDs), toMicros(t.StartedAt), toMicros(t.EndedAt),
		int64(t.UserSeconds*1e6), int64(t.SysSeconds*1e6), t.MaxRSSBytes, t.Stdout, t.Stderr, t.ReadBytes, t.WroteBytes,
		int64(math.Round(t.CostUSD*1e9)), t.CancelRequested, t.StdoutFrom, t.StderrFrom,
		t.StdoutTo, t.StderrTo, t.Slot, stepsText(t.Steps))
	if err != nil {
		return fmt.Errorf("save task %d.%d: %w", t.JobID, t.Index, err)
	}
	return nil
}

// stepsText is steps as their column holds them: JSON, "" for none.
func stepsText(steps []burst.Step) string {
	if len(steps) == 0 {
		return ""
	}
	b, err := json.Marshal(steps)
	if err != nil {
		return ""
	}
	return string(b)
}

// stepsOf reads a steps column back; nothing when it is empty or unreadable.
func stepsOf(s string) []burst.Step {
	if s == "" {
		return nil
	}
	var out []burst.Step
	if json.Unmarshal([]byte(s), &out) != nil {
		return nil
	}
	return out
}

const jobCols = `j.id, j.name, p.name, j.kind, j.spec, j.state, j.exit_code, j.reason, j.cpus, j.mem_bytes, j.gpus,
	j.time_limit_s, j.submitted_at, j.started_at, j.ended_at, j.n_tasks, j.n_dispatched, j.n_running,
	j.n_succeeded, j.n_failed, j.n_cancelled, j.n_timeout, j.n_lost, j.cpu_us, j.max_rss, j.cancel_requested, j.user,
	j.id_span, j.cluster, j.steps, j.srun_step, j.partition`

// jobListCols are jobCols with an empty spec in the spec's place.
var jobListCols = strings.Replace(jobCols, "j.spec,", "'',", 1)

type scanner interface{ Scan(...any) error }

func scanJob(row scanner, withSpec bool) (*JobRow, error) {
	var (
		j              JobRow
		spec           string
		exit           sql.NullInt64
		sub            int64
		started, ended sql.NullInt64
		cpuUS          int64
		cancel         int
		steps          string
	)
	c := &j.Tasks
	err := row.Scan(&j.ID, &j.Name, &j.Project, &j.Kind, &spec, &j.State, &exit, &j.Reason, &j.CPUs,
		&j.MemBytes, &j.GPUs, &j.TimeLimitS, &sub, &started, &ended, &c.Total, &j.Dispatched, &c.Running,
		&c.Succeeded, &c.Failed, &c.Cancelled, &c.Timeout, &c.Lost, &cpuUS, &j.MaxRSSBytes, &cancel, &j.User,
		&j.IDSpan, &j.Cluster, &steps, &j.SrunStep, &j.Partition)
	if err != nil {
		return nil, err
	}
	j.Steps = stepsOf(steps)
	if exit.Valid {
		v := int(exit.Int64)
		j.ExitCode = &v
	}
	j.SubmittedAt = time.UnixMicro(sub).UTC()
	j.StartedAt, j.EndedAt = fromMicros(started), fromMicros(ended)
	j.CPUSeconds = float64(cpuUS) / 1e6
	j.CancelRequested, j.Stopped, j.LetRun, j.Halted = cancel > 0, cancel == 2, cancel == 3, cancel == 4
	c.Queued = c.Total - c.Done() - c.Running
	if c.Queued < 0 {
		c.Queued = 0
	}
	if withSpec && spec != "" { // "": left unread (GetJobHead)
		j.Spec = new(burst.JobSpec)
		if err := json.Unmarshal([]byte(spec), j.Spec); err != nil {
			return nil, fmt.Errorf("job %d: bad spec: %w", j.ID, err)
		}
	}
	return &j, nil
}

// GetJob reads one job with its spec.
func (s *Store) GetJob(ctx context.Context, id int64) (*JobRow, error) {
	row := s.r.QueryRowContext(ctx, getJobSQL, id)
	j, err := scanJob(row, true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return j, err
}

// GetJobHead is GetJob with the spec read only for a job whose kind is
// one of kinds (none: for no job; the others' Spec is nil): what a reader
// that needs only the job's state, counts and times reads, without
// decoding a spec that holds the submitter's whole environment, in one
// query whatever the kind.
func (s *Store) GetJobHead(ctx context.Context, id int64, kinds ...string) (*JobRow, error) {
	// Its text is made here, not at start: every command of the binary
	// would pay for it (cmd/burst's TestOwnInit).
	cols, args := jobListCols, []any{}
	if len(kinds) > 0 {
		cols = strings.Replace(jobCols, "j.spec,", "CASE WHEN j.kind IN (?"+strings.Repeat(", ?", len(kinds)-1)+") THEN j.spec ELSE '' END,", 1)
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	j, err := scanJob(s.r.QueryRowContext(ctx, `SELECT `+cols+` FROM jobs j JOIN projects p ON p.id = j.project_id WHERE j.id = ?`, append(args, id)...), true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return j, err
}

const getJobSQL = `SELECT ` + jobCols + ` FROM jobs j JOIN projects p ON p.id = j.project_id WHERE j.id = ?`

// JobFilter selects jobs for ListJobs.
type JobFilter struct {
	Project string
	States  []burst.State
	Limit   int   // 0 = 100
	Before  int64 // only ids below this (paging); 0 = none
	// Projects, when not nil, keeps only jobs of these projects (a user
	// sees the projects they hold a role in); empty but not nil: none.
	Projects []string
}

// ListJobs lists jobs, newest first, without specs.
func (s *Store) ListJobs(ctx context.Context, f JobFilter) ([]*JobRow, error) {
	// The spec is left unread: a listing does not show it, and a job's
	// may be megabytes.
	q := `SELECT ` + jobListCols + ` FROM jobs j JOIN projects p ON p.id = j.project_id WHERE 1=1`
	var args []any
	if f.Project != "" {
		q += ` AND p.name = ?`
		args = append(args, f.Project)
	}
	if f.Projects != nil {
		q += ` AND p.name IN (` + inList(len(f.Projects)) + `)`
		for _, p := range f.Projects {
			args = append(args, p)
		}
	}
	if len(f.States) > 0 {
		q += ` AND j.state IN (` + strings.TrimSuffix(strings.Repeat("?,", len(f.States)), ",") + `)`
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	if f.Before > 0 {
		q += ` AND j.id < ?`
		args = append(args, f.Before)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q += ` ORDER BY j.id DESC LIMIT ?`
	args = append(args, f.Limit)
	return s.queryJobs(ctx, false, q, args...)
}

// ActiveJobs lists every job that is not finished, oldest first, with specs.
func (s *Store) ActiveJobs(ctx context.Context) ([]*JobRow, error) {
	return s.queryJobs(ctx, true, `SELECT `+jobCols+` FROM jobs j JOIN projects p ON p.id = j.project_id
		WHERE j.state IN ('queued', 'running') ORDER BY j.id`)
}

func (s *Store) queryJobs(ctx context.Context, withSpec bool, q string, args ...any) ([]*JobRow, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	return collect(rows, err, func(r scanner) (*JobRow, error) { return scanJob(r, withSpec) })
}

const taskCols = `job_id, idx, state, attempt, lost_count, machine, pid, pid_start, exit_code, signal, reason,
	gpu_ids, started_at, ended_at, user_us, sys_us, max_rss, stdout, stderr, read_bytes, wrote_bytes, cost_nusd, cancel,
	out_from, err_from, out_to, err_to, slot, steps`

func scanTask(row scanner) (*TaskRow, error) {
	var (
		t              TaskRow
		pidStart       int64
		exit           sql.NullInt64
		gpus           string
		started, ended sql.NullInt64
		userUS, sysUS  int64
		costNUSD       int64
		steps          string
	)
	err := row.Scan(&t.JobID, &t.Index, &t.State, &t.Attempt, &t.LostCount, &t.Machine, &t.PID, &pidStart,
		&exit, &t.Signal, &t.Reason, &gpus, &started, &ended, &userUS, &sysUS, &t.MaxRSSBytes, &t.Stdout, &t.Stderr,
		&t.ReadBytes, &t.WroteBytes, &costNUSD, &t.CancelRequested, &t.StdoutFrom, &t.StderrFrom,
		&t.StdoutTo, &t.StderrTo, &t.Slot, &steps)
	if err != nil {
		return nil, err
	}
	t.Steps = stepsOf(steps)
	t.PIDStart = uint64(pidStart)
	t.CostUSD = float64(costNUSD) / 1e9
	if exit.Valid {
		v := int(exit.Int64)
		t.ExitCode = &v
	}
	t.GPUIDs = splitInts(gpus)
	t.StartedAt, t.EndedAt = fromMicros(started), fromMicros(ended)
	t.UserSeconds, t.SysSeconds = float64(userUS)/1e6, float64(sysUS)/1e6
	return &t, nil
}

// GetTask reads one task row; ErrNotFound if it was never dispatched.
func (s *Store) GetTask(ctx context.Context, jobID int64, idx int) (*TaskRow, error) {
	t, err := scanTask(s.r.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE job_id=? AND idx=?`, jobID, idx))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return t, err
}

// ListTasks lists a job's task rows from index from, at most limit.
func (s *Store) ListTasks(ctx context.Context, jobID int64, from, limit int) ([]*TaskRow, error) {
	return s.queryTasks(ctx, `SELECT `+taskCols+` FROM tasks WHERE job_id=? AND idx>=? ORDER BY idx LIMIT ?`, jobID, from, limit)
}

// TasksInState lists a job's task rows in the given states, from index
// from, at most limit.
func (s *Store) TasksInState(ctx context.Context, jobID int64, from, limit int, states []string) ([]*TaskRow, error) {
	args := []any{jobID, from}
	for _, st := range states {
		args = append(args, st)
	}
	args = append(args, limit)
	return s.queryTasks(ctx, `SELECT `+taskCols+` FROM tasks WHERE job_id=? AND idx>=? AND state IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(states)), ",")+`) ORDER BY idx LIMIT ?`, args...)
}

// TaskState is one task's state, by its index.
type TaskState struct {
	Index int
	State burst.State
}

// TaskStates lists the states of a job's tasks that have started or ended
// (not those queued), by index: what the jobs that wait on single tasks of
// it need, two columns of a row, for a map of a million tasks.
func (s *Store) TaskStates(ctx context.Context, jobID int64) ([]TaskState, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT idx, state FROM tasks WHERE job_id=? AND state != 'queued' ORDER BY idx`, jobID)
	return collect(rows, err, func(r scanner) (TaskState, error) {
		var t TaskState
		err := r.Scan(&t.Index, &t.State)
		return t, err
	})
}

// ReopenTasks makes the tasks of a finished job that did not succeed
// queued again (for resume) and returns them. Of a job whose tasks wait
// each behind a gate (gated: aftercorr), those that never ran lose their
// row instead: a task with no row is behind its gate, which decides anew
// whether it may start (as a restarted server finds it: TasksAhead).
func ReopenTasks(tx *Tx, jobID int64, gated bool) ([]*TaskRow, error) {
	if gated {
		if _, err := tx.exec(`DELETE FROM tasks WHERE job_id = ? AND attempt = 0
			AND state NOT IN ('succeeded', 'queued', 'running')`, jobID); err != nil {
			return nil, err
		}
	}
	if _, err := tx.exec(`UPDATE tasks SET state = 'queued', reason = 'resumed'
		WHERE job_id = ? AND state NOT IN ('succeeded', 'queued', 'running')`, jobID); err != nil {
		return nil, err
	}
	return scanTasks(tx.Query(`SELECT `+taskCols+` FROM tasks WHERE job_id = ? AND state = 'queued' ORDER BY idx`, jobID))
}

// CancelledAhead lists the indices of job's tasks at or after from that were
// cancelled before they were ever dispatched (one task of an array, cancelled
// alone): the dispatcher skips them.
func (s *Store) CancelledAhead(ctx context.Context, jobID int64, from int) ([]int, error) {
	return s.indices(ctx, `SELECT idx FROM tasks WHERE job_id=? AND idx>=? AND state='cancelled' ORDER BY idx`, jobID, from)
}

// TasksAhead lists the indices of job's tasks at or after from that have a
// row, in any state: a map whose tasks are let through one by one, out of
// order (aftercorr), keeps its cursor at 0 and skips these.
func (s *Store) TasksAhead(ctx context.Context, jobID int64, from int) ([]int, error) {
	return s.indices(ctx, `SELECT idx FROM tasks WHERE job_id=? AND idx>=? ORDER BY idx`, jobID, from)
}

func (s *Store) indices(ctx context.Context, q string, jobID int64, from int) ([]int, error) {
	rows, err := s.r.QueryContext(ctx, q, jobID, from)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// RunTimes lists the run times of job's tasks that succeeded at or after
// sinceUS (Unix microseconds), in the order they ended: what a map's
// --timeout N% keeps the median of. A cache hit (started and ended at the
// same instant: it never ran) is left out.
func (s *Store) RunTimes(ctx context.Context, jobID, sinceUS int64) ([]time.Duration, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT ended_at - started_at FROM tasks WHERE job_id=? AND state='succeeded'
		AND ended_at > started_at AND ended_at >= ? ORDER BY ended_at, idx`, jobID, sinceUS)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Duration
	for rows.Next() {
		var us int64
		if err := rows.Scan(&us); err != nil {
			return nil, err
		}
		out = append(out, time.Duration(us)*time.Microsecond)
	}
	return out, rows.Err()
}

// ActiveTasks lists every task row that is queued (requeued) or running.
func (s *Store) ActiveTasks(ctx context.Context) ([]*TaskRow, error) {
	return s.queryTasks(ctx, `SELECT `+taskCols+` FROM tasks WHERE state IN ('queued', 'running') ORDER BY job_id, idx`)
}

func (s *Store) queryTasks(ctx context.Context, q string, args ...any) ([]*TaskRow, error) {
	return scanTasks(s.r.QueryContext(ctx, q, args...))
}

func scanTasks(rows *sql.Rows, err error) ([]*TaskRow, error) { return collect(rows, err, scanTask) }

// collect reads every row of a query with scan, and closes the rows.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func intPtr(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func splitInts(s string) []int {
	if s == "" {
		return nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		if v, err := strconv.Atoi(f); err == nil {
			out = append(out, v)
		}
	}
	return out
}
