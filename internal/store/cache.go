package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/cost"
)

// CacheEntry is a finished successful task's result, by its key
// (internal/cache): what a task with the same key is given instead of
// running. Shared names the parts every task of its job shares (kept once,
// in cache_shared); Parts are the task's own.
type CacheEntry struct {
	Key, Project, Name string
	Job                int64
	Task               int
	Shared             string
	Parts              json.RawMessage
	Result             client.CacheResult
	CostNUSD           int64
	Hits               int64
	SavedNUSD          int64
	CreatedAt          time.Time
}

// SaveCacheEntry records e, and its job's shared parts unless kept.
func SaveCacheEntry(tx *Tx, e *CacheEntry, shared json.RawMessage) error {
	res, err := json.Marshal(&e.Result)
	if err != nil {
		return err
	}
	if _, err := tx.exec(`INSERT OR IGNORE INTO cache_shared (digest, parts) VALUES (?, ?)`, e.Shared, string(shared)); err != nil {
		return fmt.Errorf("save cache entry: %w", err)
	}
	if _, err := tx.exec(`INSERT OR REPLACE INTO cache_entries (key, project, name, job, task, shared, parts, result, cost_nusd, hits, saved_nusd, created_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, e.Key, e.Project, e.Name, e.Job, e.Task, e.Shared, string(e.Parts), string(res),
		e.CostNUSD, e.Hits, e.SavedNUSD, e.CreatedAt.UnixMicro()); err != nil {
		return fmt.Errorf("save cache entry: %w", err)
	}
	return nil
}

// CacheHit counts a hit of entry key, which saved nusd (0 or more). What
// the entry saved stays at the most an int64 holds once it gets there:
// SQLite would turn the overflowing sum into a float, which no longer
// reads back as one (cost.NUSD.Plus).
func CacheHit(tx *Tx, key string, nusd int64) error {
	_, err := tx.exec(`UPDATE cache_entries SET hits = hits + 1,
		saved_nusd = CASE WHEN saved_nusd > 9223372036854775807 - ?1 THEN 9223372036854775807 ELSE saved_nusd + ?1 END
		WHERE key = ?2`, max(nusd, 0), key)
	return err
}

// savedSum is the SQL of the sum of cache_uses' saved_nusd (u), in two
// parts, whole dollars and the nano-dollars left, read as two int64s
// joined by cost.Join: SQLite's SUM of them in one fails ("integer
// overflow") past the limit of an int64, and the server reads these sums
// at start.
const savedSum = `SUM(u.saved_nusd / 1000000000), SUM(u.saved_nusd % 1000000000)`

// DropCacheEntries deletes the entries of keys.
func DropCacheEntries(tx *Tx, keys []string) error {
	for _, k := range keys {
		if _, err := tx.exec(`DELETE FROM cache_entries WHERE key = ?`, k); err != nil {
			return err
		}
	}
	return nil
}

// SaveCacheUse records whether task of job was a hit and why.
func SaveCacheUse(tx *Tx, job int64, u client.CacheUse) error {
	_, err := tx.exec(`INSERT OR REPLACE INTO cache_uses (job, task, hit, why, saved_nusd) VALUES (?,?,?,?,?)`,
		job, u.Task, u.Hit, u.Why, u.SavedNUSD)
	return err
}

// SetCacheDefault sets project's default (on, off; "" forgets it).
func SetCacheDefault(tx *Tx, project, v string) error {
	if v == "" {
		_, err := tx.exec(`DELETE FROM cache_projects WHERE project = ?`, project)
		return err
	}
	_, err := tx.exec(`INSERT OR REPLACE INTO cache_projects (project, cache) VALUES (?, ?)`, project, v)
	return err
}

// CacheState is everything the server keeps of the cache in memory.
type CacheState struct {
	Entries  []*CacheEntry
	Shared   map[string]json.RawMessage
	Defaults map[string]string
}

// LoadCache reads the cache's entries, their shared parts and projects'
// defaults (at the server's start).
func (s *Store) LoadCache(ctx context.Context) (*CacheState, error) {
	st := &CacheState{Shared: map[string]json.RawMessage{}, Defaults: map[string]string{}}
	rows, err := s.r.QueryContext(ctx, `SELECT key, project, name, job, task, shared, parts, result, cost_nusd, hits, saved_nusd, created_at
		FROM cache_entries ORDER BY created_at, key`)
	if err != nil {
		return nil, fmt.Errorf("load cache: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e := &CacheEntry{}
		var parts, res string
		var at int64
		if err := rows.Scan(&e.Key, &e.Project, &e.Name, &e.Job, &e.Task, &e.Shared, &parts, &res, &e.CostNUSD, &e.Hits, &e.SavedNUSD, &at); err != nil {
			return nil, err
		}
		e.Parts = json.RawMessage(parts)
		if err := json.Unmarshal([]byte(res), &e.Result); err != nil {
			return nil, fmt.Errorf("load cache entry %s: %w", e.Key, err)
		}
		e.CreatedAt = time.UnixMicro(at).UTC()
		st.Entries = append(st.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sh, err := s.r.QueryContext(ctx, `SELECT digest, parts FROM cache_shared`)
	if err != nil {
		return nil, err
	}
	defer sh.Close()
	for sh.Next() {
		var d, p string
		if err := sh.Scan(&d, &p); err != nil {
			return nil, err
		}
		st.Shared[d] = json.RawMessage(p)
	}
	if err := sh.Err(); err != nil {
		return nil, err
	}
	pr, err := s.r.QueryContext(ctx, `SELECT project, cache FROM cache_projects`)
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	for pr.Next() {
		var p, v string
		if err := pr.Scan(&p, &v); err != nil {
			return nil, err
		}
		st.Defaults[p] = v
	}
	return st, pr.Err()
}

// CacheUses lists job's cached tasks' hits and misses, by task.
func (s *Store) CacheUses(ctx context.Context, job int64) ([]client.CacheUse, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT task, hit, why, saved_nusd FROM cache_uses WHERE job = ? ORDER BY task`, job)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []client.CacheUse
	for rows.Next() {
		var u client.CacheUse
		var nusd int64
		if err := rows.Scan(&u.Task, &u.Hit, &u.Why, &nusd); err != nil {
			return nil, err
		}
		u.SavedNUSD, u.SavedUSD = nusd, float64(nusd)/1e9
		out = append(out, u)
	}
	return out, rows.Err()
}

// CacheTally counts, per project, the cached tasks that were hits and
// misses and what the hits saved.
func (s *Store) CacheTally(ctx context.Context) (map[string]*client.CacheStats, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT p.name, u.hit, COUNT(*), `+savedSum+` FROM cache_uses u
		JOIN jobs j ON j.id = u.job JOIN projects p ON p.id = j.project_id GROUP BY p.name, u.hit`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*client.CacheStats{}
	for rows.Next() {
		var p string
		var hit bool
		var n, whole, nanos int64
		if err := rows.Scan(&p, &hit, &n, &whole, &nanos); err != nil {
			return nil, err
		}
		st := out[p]
		if st == nil {
			st = &client.CacheStats{Project: p}
			out[p] = st
		}
		if hit {
			st.Hits += n
			st.SavedNUSD = int64(cost.NUSD(st.SavedNUSD).Plus(cost.Join(whole, nanos)))
			st.SavedUSD = float64(st.SavedNUSD) / 1e9
		} else {
			st.Misses += n
		}
	}
	return out, rows.Err()
}

// HoldOutputs has task idx of job hold the blobs of files (outputs it was
// given from the cache) as outputs of project, where the store keeps them,
// at the size the store holds. Only a blob project holds already is held
// again: the files are what a machine reported, which may name any digest,
// and a hit must not make another project's blob this project's to read
// (docs/security-users.md). A blob the project no longer holds is skipped:
// the cache entry that named it goes with it (the server's cacheForget).
func HoldOutputs(tx *Tx, project string, job int64, idx int, files []client.OutputFile, now time.Time) error {
	for _, f := range files {
		var location string
		var size int64
		err := tx.QueryRow(`SELECT location, size FROM blob_refs WHERE digest = ? AND project = ? ORDER BY created_at DESC LIMIT 1`,
			f.Digest, project).Scan(&location, &size)
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			return err
		}
		if _, err := tx.AddBlobRef(BlobRefRow{Project: project, Kind: "output", Job: job, Task: idx, Attempt: 1,
			Digest: f.Digest, Size: size, Location: location, CreatedAt: now}, ""); err != nil {
			return err
		}
	}
	return nil
}

// CacheSaved is what the cache's hits saved one group of `burst cost`.
type CacheSaved struct {
	Key  string // job id, project or user; "" for every hit (other groupings)
	Name string // the job's name (by job)
	Hits int64
	NUSD int64
}

// cacheSavedBy groups the hits as the ledger's groups (CostBy) key them,
// for the groupings a hit belongs to one of.
var cacheSavedBy = map[string]string{
	"job":     `CAST(j.id AS TEXT)`,
	"project": `p.name`,
	"user":    `j.user`,
}

// CacheSavedBy totals what the cache's hits saved, of project (or all),
// grouped by job, project or user, in the order of job ids (by job) or
// keys; by anything else in one group of key "".
func (s *Store) CacheSavedBy(ctx context.Context, by, project string) ([]CacheSaved, error) {
	key, ok := cacheSavedBy[by]
	if !ok {
		key = `''`
	}
	order := `k`
	if by == "job" {
		order = `MAX(j.id)`
	}
	q := `SELECT ` + key + ` AS k, COALESCE(MAX(j.name), ''), COUNT(*), ` + savedSum + ` FROM cache_uses u
		JOIN jobs j ON j.id = u.job JOIN projects p ON p.id = j.project_id WHERE u.hit`
	var args []any
	if project != "" {
		q += ` AND p.name = ?`
		args = append(args, project)
	}
	rows, err := s.r.QueryContext(ctx, q+` GROUP BY k ORDER BY `+order, args...)
	if err != nil {
		return nil, fmt.Errorf("what the cache saved: %w", err)
	}
	defer rows.Close()
	var out []CacheSaved
	for rows.Next() {
		var g CacheSaved
		var whole, nanos int64
		if err := rows.Scan(&g.Key, &g.Name, &g.Hits, &whole, &nanos); err != nil {
			return nil, err
		}
		g.NUSD = int64(cost.Join(whole, nanos))
		if by != "job" {
			g.Name = ""
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
