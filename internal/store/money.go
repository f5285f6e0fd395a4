package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
)

// ProjectRow is a project as stored: money in exact nano-dollars.
type ProjectRow struct {
	burst.Project
	BudgetNUSD int64
	Exhausted  bool // its guardrail stopped it; cleared when the budget is raised
}

const projectCols = `name, description, tags, budget_nusd, ends_at, warn, on_exhausted, exhausted, created_at`

func scanProject(row scanner) (*ProjectRow, error) {
	var (
		p       ProjectRow
		tags    string
		warn    string
		ends    sql.NullInt64
		created int64
	)
	if err := row.Scan(&p.Name, &p.Description, &tags, &p.BudgetNUSD, &ends, &warn, &p.OnExhausted,
		&p.Exhausted, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &p.Tags); err != nil {
		return nil, fmt.Errorf("project %s: bad tags: %w", p.Name, err)
	}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	for _, f := range strings.Split(warn, ",") {
		if v, err := strconv.ParseFloat(f, 64); err == nil {
			p.Warn = append(p.Warn, v)
		}
	}
	p.BudgetUSD = float64(p.BudgetNUSD) / 1e9
	p.Ends = fromMicros(ends)
	p.CreatedAt = time.UnixMicro(created).UTC()
	return &p, nil
}

// SaveProject inserts or updates a project.
func SaveProject(tx *Tx, p *ProjectRow) error {
	tags, _ := json.Marshal(p.Tags)
	warn := make([]string, len(p.Warn))
	for i, w := range p.Warn {
		warn[i] = strconv.FormatFloat(w, 'g', -1, 64)
	}
	_, err := tx.exec(`INSERT INTO projects (name, description, tags, budget_nusd, ends_at, warn, on_exhausted,
		exhausted, created_at) VALUES (?,?,?,?,?,?,?,?,?)
		ON CONFLICT(name) DO UPDATE SET description=excluded.description, tags=excluded.tags,
		budget_nusd=excluded.budget_nusd, ends_at=excluded.ends_at, warn=excluded.warn,
		on_exhausted=excluded.on_exhausted, exhausted=excluded.exhausted`,
		p.Name, p.Description, string(tags), p.BudgetNUSD, toMicros(p.Ends), strings.Join(warn, ","),
		p.OnExhausted, p.Exhausted, p.CreatedAt.UnixMicro())
	if err != nil {
		return fmt.Errorf("save project %s: %w", p.Name, err)
	}
	return nil
}

// GetProject reads one project; ErrNotFound if there is none.
func (s *Store) GetProject(ctx context.Context, name string) (*ProjectRow, error) {
	p, err := scanProject(s.r.QueryRowContext(ctx, `SELECT `+projectCols+` FROM projects WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return p, err
}

// ListProjects lists every project by name.
func (s *Store) ListProjects(ctx context.Context) ([]*ProjectRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+projectCols+` FROM projects ORDER BY name`)
	return collect(rows, err, scanProject)
}

// SaveCluster inserts a cluster or replaces its definition.
func SaveCluster(tx *Tx, c *burst.Cluster) error {
	off, _ := json.Marshal(c.Off)
	on, _ := json.Marshal(c.On)
	opts, _ := json.Marshal(clusterOptions{c.Partition, c.TimeLimitS, c.MachineCPUs, c.MachineMemBytes, c.MachineGPUs, c.SlurmNodes, c.Options})
	_, err := tx.exec(`INSERT INTO clusters (name, provider, type, project, min, max, idle_stop_s, spot, sched_off,
		sched_on, created_at, options, fallback) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(name) DO UPDATE SET provider=excluded.provider, type=excluded.type, project=excluded.project,
		min=excluded.min, max=excluded.max, idle_stop_s=excluded.idle_stop_s, spot=excluded.spot,
		sched_off=excluded.sched_off, sched_on=excluded.sched_on, options=excluded.options,
		fallback=excluded.fallback`,
		c.Name, c.Provider, c.Type, c.Project, c.Min, c.Max, c.IdleStopS, c.Spot, string(off), string(on),
		c.CreatedAt.UnixMicro(), string(opts), c.Fallback)
	if err != nil {
		return fmt.Errorf("save cluster %s: %w", c.Name, err)
	}
	return nil
}

// clusterOptions are a cluster's provider options, stored as JSON.
type clusterOptions struct {
	Partition  string `json:"partition,omitempty"`
	TimeLimitS int64  `json:"time_limit_s,omitempty"`
	CPUs       int    `json:"cpus,omitempty"`
	MemBytes   int64  `json:"mem_bytes,omitempty"`
	GPUs       int    `json:"gpus,omitempty"`
	SlurmNodes bool   `json:"slurm_nodes,omitempty"`
	// Provider are the provider's own options (burst.Cluster.Options).
	Provider map[string]string `json:"provider,omitempty"`
}

// DeleteCluster removes a cluster's definition (its machines' rows stay,
// for the record and the meter).
func DeleteCluster(tx *Tx, name string) error {
	_, err := tx.exec(`DELETE FROM clusters WHERE name = ?`, name)
	return err
}

// ListClusters lists every cluster by name.
func (s *Store) ListClusters(ctx context.Context) ([]*burst.Cluster, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, provider, type, project, min, max, idle_stop_s, spot,
		sched_off, sched_on, created_at, options, fallback FROM clusters ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*burst.Cluster
	for rows.Next() {
		var (
			c             burst.Cluster
			off, on, opts string
			created       int64
			o             clusterOptions
		)
		if err := rows.Scan(&c.Name, &c.Provider, &c.Type, &c.Project, &c.Min, &c.Max, &c.IdleStopS, &c.Spot,
			&off, &on, &created, &opts, &c.Fallback); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(opts), &o)
		c.Partition, c.TimeLimitS, c.MachineCPUs, c.MachineMemBytes, c.MachineGPUs = o.Partition, o.TimeLimitS, o.CPUs, o.MemBytes, o.GPUs
		c.SlurmNodes, c.Options = o.SlurmNodes, o.Provider
		json.Unmarshal([]byte(off), &c.Off)
		json.Unmarshal([]byte(on), &c.On)
		c.CreatedAt = time.UnixMicro(created).UTC()
		out = append(out, &c)
	}
	return out, rows.Err()
}

// AppendEvent adds an entry to the audit trail and returns its id.
func AppendEvent(tx *Tx, e *burst.Event) error {
	res, err := tx.exec(`INSERT INTO events (at, actor, kind, project, target, message, result) VALUES (?,?,?,?,?,?,?)`,
		e.At.UnixMicro(), e.Actor, e.Kind, e.Project, e.Target, e.Message, e.Result)
	if err != nil {
		return fmt.Errorf("record event %s: %w", e.Kind, err)
	}
	e.ID, err = res.LastInsertId()
	return err
}

// EventFilter selects events.
type EventFilter struct {
	Project string
	After   int64 // only ids above
	Limit   int   // 0 = 200: the newest Limit events (with After: the oldest Limit after it), oldest first
	// Projects, when not nil, keeps only events of these projects (as
	// JobFilter.Projects).
	Projects []string
}

// ListEvents lists events, oldest first.
func (s *Store) ListEvents(ctx context.Context, f EventFilter) ([]burst.Event, error) {
	q := `SELECT id, at, actor, kind, project, target, message, result FROM events WHERE id > ?`
	args := []any{f.After}
	if f.Project != "" {
		q += ` AND project = ?`
		args = append(args, f.Project)
	}
	if f.Projects != nil {
		q += ` AND project IN (` + inList(len(f.Projects)) + `)`
		for _, p := range f.Projects {
			args = append(args, p)
		}
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	if f.After > 0 {
		// Following: the oldest events after the last one seen, so that
		// none is skipped however many arrive between two polls.
		q += ` ORDER BY id LIMIT ?`
	} else {
		q = `SELECT * FROM (` + q + ` ORDER BY id DESC LIMIT ?) ORDER BY id`
	}
	args = append(args, f.Limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []burst.Event
	for rows.Next() {
		var (
			e  burst.Event
			at int64
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Kind, &e.Project, &e.Target, &e.Message, &e.Result); err != nil {
			return nil, err
		}
		e.At = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// CostKey says whom a charge goes to. Job 0 is no job: Kind tells idle
// machine time from storage.
type CostKey struct {
	Day     string // YYYY-MM-DD, UTC
	Project string
	Machine string
	User    string
	Job     int64
	Kind    string // task, idle, storage, preemption
}

const addCostSQL = `INSERT INTO costs (day, project, machine, user, job_id, kind, nusd) VALUES (?,?,?,?,?,?,?)
	ON CONFLICT(day, project, machine, user, job_id, kind) DO UPDATE SET nusd = nusd + excluded.nusd`

// AddCost adds a charge to the ledger.
func AddCost(tx *Tx, k CostKey, nusd int64) error {
	_, err := tx.exec(addCostSQL, k.Day, k.Project, k.Machine, k.User, k.Job, k.Kind, nusd)
	return err
}

// AddStorage adds bytes a project keeps on a tier.
func AddStorage(tx *Tx, project, tier string, bytes int64) error {
	// Held at the largest integer: past it SQLite's sum becomes a real,
	// which Storage could not read, and no server would start.
	_, err := tx.exec(`INSERT INTO storage (project, tier, bytes) VALUES (?,?,?)
		ON CONFLICT(project, tier) DO UPDATE SET bytes = CASE WHEN excluded.bytes > 0 AND bytes > 9223372036854775807 - excluded.bytes
			THEN 9223372036854775807 ELSE bytes + excluded.bytes END`, project, tier, bytes)
	return err
}

// Storage lists bytes kept per project and tier (a sum an earlier server
// let pass the largest integer, a real, read as the largest integer).
func (s *Store) Storage(ctx context.Context) (map[string]map[string]int64, error) {
	return s.byTwoKeys(ctx, `SELECT project, tier, CAST(bytes AS INTEGER) FROM storage`)
}

// byTwoKeys reads rows of (key, key, number) into nested maps.
func (s *Store) byTwoKeys(ctx context.Context, q string) (map[string]map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var (
			a, b string
			n    int64
		)
		if err := rows.Scan(&a, &b, &n); err != nil {
			return nil, err
		}
		if out[a] == nil {
			out[a] = map[string]int64{}
		}
		out[a][b] = n
	}
	return out, rows.Err()
}

// CostGroup is a ledger total for one key of a grouping.
type CostGroup struct {
	Key  string
	NUSD int64
	Name string // by job: the job's name
}

// costGroupBy maps a grouping to its SQL expression.
var costGroupBy = map[string]string{
	"job":     `CASE WHEN c.job_id > 0 THEN CAST(c.job_id AS TEXT) ELSE c.kind END`,
	"machine": `CASE WHEN c.kind = 'storage' THEN 'storage' ELSE c.machine END`,
	"user":    `CASE WHEN c.user != '' THEN c.user ELSE c.kind END`,
	"day":     `c.day`,
	"project": `c.project`,
	"kind":    kindTier,
	"tier":    kindTier, // the same: kind, with storage per tier
}

// kindTier is a charge's kind, with storage split per tier: task, idle,
// preemption, storage:ssd, storage:cold_hdd, ... (a storage charge's
// machine is "storage:TIER").
const kindTier = `CASE WHEN c.kind = 'storage' AND c.machine LIKE 'storage:%' THEN c.machine ELSE c.kind END`

// CostBy totals the ledger by job, machine, user, day, project or kind,
// for one project or all ("").
func (s *Store) CostBy(ctx context.Context, by, project string) ([]CostGroup, error) {
	return costBy(ctx, s.r, by, project, nil)
}

// SetFlushed records, in the transaction that writes the meter's flush
// number gen to the ledger, that it is there.
func SetFlushed(tx *Tx, gen int64) error {
	_, err := tx.exec(`UPDATE meter_flush SET gen = ?`, gen)
	return err
}

// Flushed is the number of the last meter flush in the ledger.
func (s *Store) Flushed(ctx context.Context) (int64, error) {
	var gen int64
	err := s.r.QueryRowContext(ctx, `SELECT gen FROM meter_flush`).Scan(&gen)
	return gen, err
}

// ledgerRead runs read in one read transaction and answers the number of
// the last meter flush that transaction sees (SetFlushed): what read saw
// holds that flush and every one before it, and none after. A server that
// adds the charges it holds in memory to what it read adds those of later
// flushes alone, and so counts each charge once, however its flushes and
// this read interleave.
func (s *Store) ledgerRead(ctx context.Context, read func(q querier, flushed int64) error) (int64, error) {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() // read only: nothing to keep
	var gen int64
	if err := tx.QueryRowContext(ctx, `SELECT gen FROM meter_flush`).Scan(&gen); err != nil {
		return 0, err
	}
	return gen, read(tx, gen)
}

// CostByFlushed is CostBy with the number of the last meter flush the
// totals hold (ledgerRead).
func (s *Store) CostByFlushed(ctx context.Context, by, project string) (groups []CostGroup, flushed int64, err error) {
	flushed, err = s.ledgerRead(ctx, func(q querier, _ int64) error {
		groups, err = costBy(ctx, q, by, project, nil)
		return err
	})
	return groups, flushed, err
}

// CostByPending is CostBy with charges not yet in the ledger added as if
// they were: pending answers them, given the number of the last meter
// flush the read sees (ledgerRead), so that a flush on its way to the
// ledger is counted once, whether the read saw it or not.
func (s *Store) CostByPending(ctx context.Context, by, project string, pending func(flushed int64) map[CostKey]int64) (groups []CostGroup, err error) {
	_, err = s.ledgerRead(ctx, func(q querier, flushed int64) error {
		groups, err = costBy(ctx, q, by, project, pending(flushed))
		return err
	})
	return groups, err
}

// CostBy is Store.CostBy inside a write transaction: the ledger as it is
// once what was queued before this write is written, and nothing after.
func (t *Tx) CostBy(by, project string) ([]CostGroup, error) {
	return costBy(context.Background(), t.Tx, by, project, nil)
}

func costBy(ctx context.Context, r querier, by, project string, pending map[CostKey]int64) ([]CostGroup, error) {
	expr, ok := costGroupBy[by]
	if !ok {
		return nil, fmt.Errorf("cannot group costs by %q: use job, machine, user, day, project, kind or tier", by)
	}
	// By job: jobs in the order of their ids (10 after 9), with their
	// names, then what no job used (idle, storage) by name.
	name, order := `''`, `k`
	if by == "job" {
		name, order = `COALESCE(MAX(j.name), '')`, `MAX(c.job_id) = 0, MAX(c.job_id), k`
	}
	from, args, err := ledgerWith(pending)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + expr + ` AS k, SUM(c.nusd), ` + name + ` FROM ` + from + ` c LEFT JOIN jobs j ON j.id = c.job_id`
	if project != "" {
		q += ` WHERE c.project = ?`
		args = append(args, project)
	}
	q += ` GROUP BY k ORDER BY ` + order
	rows, err := r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CostGroup
	for rows.Next() {
		var g CostGroup
		if err := rows.Scan(&g.Key, &g.NUSD, &g.Name); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// ledgerWith is the ledger as a table to read from, with the charges of
// pending added to it (one parameter, as JSON, however many they are).
func ledgerWith(pending map[CostKey]int64) (from string, args []any, err error) {
	if len(pending) == 0 {
		return `costs`, nil, nil
	}
	rows := make([][7]any, 0, len(pending))
	for k, n := range pending {
		rows = append(rows, [7]any{k.Day, k.Project, k.Machine, k.User, k.Job, k.Kind, n})
	}
	js, err := json.Marshal(rows)
	if err != nil {
		return "", nil, err
	}
	return `(SELECT day, project, machine, user, job_id, kind, nusd FROM costs UNION ALL
		SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6 FROM json_each(?))`, []any{string(js)}, nil
}

// ProjectCosts totals the ledger per project and kind, storage per tier:
// project → kind (task, idle, preemption, storage:TIER) → nusd.
func (s *Store) ProjectCosts(ctx context.Context) (map[string]map[string]int64, error) {
	return s.byTwoKeys(ctx, `SELECT c.project, `+kindTier+` AS k, SUM(c.nusd) FROM costs c GROUP BY c.project, k`)
}

// JobCosts totals the ledger for the given jobs, with the number of the
// last meter flush the totals hold (ledgerRead).
func (s *Store) JobCosts(ctx context.Context, ids []int64) (costs map[int64]int64, flushed int64, err error) {
	costs = map[int64]int64{}
	if len(ids) == 0 {
		return costs, 0, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	flushed, err = s.ledgerRead(ctx, func(q querier, _ int64) error {
		rows, err := q.QueryContext(ctx, `SELECT job_id, SUM(nusd) FROM costs WHERE job_id IN (`+
			strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+`) GROUP BY job_id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, n int64
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			costs[id] = n
		}
		return rows.Err()
	})
	return costs, flushed, err
}

// DayCost is a ledger total of one day, project, machine and job.
type DayCost struct {
	Day     string
	Project string
	Machine string
	Job     int64
	NUSD    int64
}

// CostsSince totals the ledger from day since (YYYY-MM-DD) on, per day,
// project, machine and job: the recent history a forecast reads.
func (s *Store) CostsSince(ctx context.Context, since string) ([]DayCost, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT day, project, machine, job_id, SUM(nusd) FROM costs WHERE day >= ?
		GROUP BY day, project, machine, job_id`, since)
	return collect(rows, err, func(r scanner) (DayCost, error) {
		var c DayCost
		err := r.Scan(&c.Day, &c.Project, &c.Machine, &c.Job, &c.NUSD)
		return c, err
	})
}
