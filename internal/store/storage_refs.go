package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What a project holds in the blob store, as the storage commands see it
// (docs/storage.md): a project's blob is one digest held as one kind
// (input, output, log), however many references (jobs, tasks) point to
// it; it is charged once, on the tier its references record.

// StoredBlob is one blob a project holds as one kind.
type StoredBlob struct {
	Project, Kind, Digest string
	Size                  int64
	Tier                  string
	Location              string
	Jobs                  []int64 // the jobs that reference it (0: the project itself)
	LiveJob               int64   // a job not yet ended that uses it as an input (0: none)
	CreatedAt             time.Time
}

// BlobFilter narrows StoredBlobs; zero fields match everything.
type BlobFilter struct {
	Projects []string // nil: every project
	Job      int64
	Kind     string
	Tier     string
	Before   time.Time // first referenced before this (zero: any time)
}

// StoredBlobs lists the blobs f matches, by project, kind and age.
func (s *Store) StoredBlobs(ctx context.Context, f BlobFilter) ([]StoredBlob, error) {
	where, args := []string{"1"}, []any{}
	if f.Projects != nil {
		if len(f.Projects) == 0 {
			return nil, nil
		}
		where = append(where, "project IN (?"+strings.Repeat(",?", len(f.Projects)-1)+")")
		for _, p := range f.Projects {
			args = append(args, p)
		}
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Tier != "" {
		where, args = append(where, "tier = ?"), append(args, f.Tier)
	}
	var having []string
	if f.Job > 0 {
		having, args = append(having, "SUM(job = ?) > 0"), append(args, f.Job)
	}
	if !f.Before.IsZero() {
		having, args = append(having, "MIN(created_at) < ?"), append(args, f.Before.UnixMicro())
	}
	hv := ""
	if len(having) > 0 {
		hv = "HAVING " + strings.Join(having, " AND ")
	}
	rows, err := s.r.QueryContext(ctx, `SELECT project, kind, digest, MAX(size), MIN(tier), MIN(location), MIN(created_at),
		GROUP_CONCAT(DISTINCT job),
		MAX(CASE WHEN kind = 'input' AND job > 0 AND job IN (SELECT id FROM jobs WHERE ended_at IS NULL) THEN job ELSE 0 END) FROM blob_refs WHERE `+strings.Join(where, " AND ")+`
		GROUP BY project, kind, digest `+hv+` ORDER BY project, MIN(created_at), kind, digest`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StoredBlob
	for rows.Next() {
		var b StoredBlob
		var at int64
		var jobs string
		if err := rows.Scan(&b.Project, &b.Kind, &b.Digest, &b.Size, &b.Tier, &b.Location, &at, &jobs, &b.LiveJob); err != nil {
			return nil, err
		}
		b.CreatedAt = time.UnixMicro(at).UTC()
		for _, j := range strings.Split(jobs, ",") {
			if n, err := strconv.ParseInt(j, 10, 64); err == nil {
				b.Jobs = append(b.Jobs, n)
			}
		}
		slices.Sort(b.Jobs)
		out = append(out, b)
	}
	return out, rows.Err()
}

// RefSel picks a project's references: by digest, by job, those recorded
// before a time, or all of them. Exactly one is set.
type RefSel struct {
	Digests []string
	Job     int64
	Before  time.Time
	All     bool
}

func (r RefSel) where(project string) (string, []any) {
	args := []any{project}
	switch {
	case len(r.Digests) > 0:
		for _, d := range r.Digests {
			args = append(args, d)
		}
		return "project = ? AND digest IN (?" + strings.Repeat(",?", len(r.Digests)-1) + ")", args
	case r.Job > 0:
		return "project = ? AND job = ?", append(args, r.Job)
	case !r.Before.IsZero():
		return "project = ? AND created_at < ?", append(args, r.Before.UnixMicro())
	}
	return "project = ?", args
}

// StorageChange is a project's blob that a removal or a move changed:
// Gone, it no longer holds it (its bytes leave From); else its bytes moved
// from From to To.
type StorageChange struct {
	Kind, Digest string
	Size         int64
	From, To     string
	Gone         bool
}

// InputInUse refuses the removal of an input a job not yet ended uses.
type InputInUse struct {
	Job    int64
	Digest string
}

func (e *InputInUse) Error() string {
	return fmt.Sprintf("blob %s is an input of job %d, which has not ended: cancel it first (burst cancel %d), or wait for it to end", short(e.Digest), e.Job, e.Job)
}

// StackInUse refuses to remove a blob that is a stack version's root
// filesystem: the stack would stay listed, and every run of it fail.
type StackInUse struct {
	Name    string
	Version int
	Digest  string
}

func (e *StackInUse) Error() string {
	return fmt.Sprintf("blob %s is the root filesystem of stack %s:%d: remove that version instead (burst stack rm %s:%d), which lets its blob go",
		short(e.Digest), e.Name, e.Version, e.Name, e.Version)
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

// DropBlobRefs removes the references sel picks in project, refusing
// inputs of live jobs and, named by digest, a stack version's root
// filesystem (a selection by job or age leaves stacks alone: burst stack
// rm removes them). A blob the project then holds no more as a kind
// leaves its storage; a digest nobody holds any more is queued for
// deletion from each place it was stored (blob_deletes), to delete once
// this commits.
func (t *Tx) DropBlobRefs(project string, sel RefSel) (changes []StorageChange, deletes []BlobDelete, err error) {
	where, args := sel.where(project)
	if len(sel.Digests) == 0 { // a version's own blob stays; one a removed version left goes
		where += ` AND NOT (kind = 'stack' AND digest IN (SELECT digest FROM stacks WHERE project = ?))`
		args = append(args, project)
	}
	rows, err := t.Query(`SELECT kind, job, digest, size, tier, location FROM blob_refs WHERE `+where, args...)
	if err != nil {
		return nil, nil, err
	}
	type unit struct{ kind, digest string }
	units := map[unit]StorageChange{}
	var order []unit
	locs := map[string][]string{}
	var inputs []InputInUse
	stack := "" // a stack's root filesystem among them
	for rows.Next() {
		var kind, digest, tier, loc string
		var job, size int64
		if err := rows.Scan(&kind, &job, &digest, &size, &tier, &loc); err != nil {
			rows.Close()
			return nil, nil, err
		}
		if kind == "input" && job > 0 {
			inputs = append(inputs, InputInUse{Job: job, Digest: digest})
		}
		if kind == "stack" && stack == "" {
			stack = digest
		}
		u := unit{kind, digest}
		if _, ok := units[u]; !ok {
			order = append(order, u)
			units[u] = StorageChange{Kind: kind, Digest: digest, Size: size, From: tier, Gone: true}
		}
		if !slices.Contains(locs[digest], loc) {
			locs[digest] = append(locs[digest], loc)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(order) == 0 {
		return nil, nil, ErrNoMatch
	}
	if stack != "" {
		e := StackInUse{Digest: stack}
		err := t.QueryRow(`SELECT name, version FROM stacks WHERE digest = ? AND project = ? ORDER BY name, version LIMIT 1`, stack, project).Scan(&e.Name, &e.Version)
		if err == nil {
			return nil, nil, &e
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, nil, err
		}
	}
	for _, in := range inputs {
		var live bool
		err := t.QueryRow(`SELECT ended_at IS NULL FROM jobs WHERE id = ?`, in.Job).Scan(&live)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, nil, err
		}
		if live {
			return nil, nil, &in
		}
	}
	if _, err := t.Exec(`DELETE FROM blob_refs WHERE `+where, args...); err != nil {
		return nil, nil, err
	}
	now := time.Now().UTC().UnixMicro()
	for _, u := range order {
		var left int
		if err := t.QueryRow(`SELECT COUNT(*) FROM blob_refs WHERE project = ? AND kind = ? AND digest = ?`, project, u.kind, u.digest).Scan(&left); err != nil {
			return nil, nil, err
		}
		if left > 0 {
			continue
		}
		c := units[u]
		if err := AddStorage(t, project, c.From, -c.Size); err != nil {
			return nil, nil, err
		}
		changes = append(changes, c)
	}
	for _, u := range order {
		if locs[u.digest] == nil {
			continue
		}
		var held int
		if err := t.QueryRow(`SELECT COUNT(*) FROM blob_refs WHERE digest = ?`, u.digest).Scan(&held); err != nil {
			return nil, nil, err
		}
		if held == 0 {
			for _, loc := range locs[u.digest] {
				if _, err := t.Exec(`INSERT OR IGNORE INTO blob_deletes (digest, location, at) VALUES (?,?,?)`, u.digest, loc, now); err != nil {
					return nil, nil, err
				}
				deletes = append(deletes, BlobDelete{Digest: u.digest, Location: loc})
			}
		}
		delete(locs, u.digest)
	}
	return changes, deletes, nil
}

// MoveBlobRefs moves the project's blobs that sel picks (every kind of
// each digest) to tier to: their bytes leave their tier and join to.
func (t *Tx) MoveBlobRefs(project string, sel RefSel, to string) ([]StorageChange, error) {
	where, args := sel.where(project)
	rows, err := t.Query(`SELECT kind, digest, MAX(size), MIN(tier) FROM blob_refs WHERE project = ? AND digest IN
		(SELECT digest FROM blob_refs WHERE `+where+`) GROUP BY kind, digest ORDER BY digest, kind`, append([]any{project}, args...)...)
	if err != nil {
		return nil, err
	}
	var changes []StorageChange
	matched := false
	for rows.Next() {
		matched = true
		var c StorageChange
		if err := rows.Scan(&c.Kind, &c.Digest, &c.Size, &c.From); err != nil {
			rows.Close()
			return nil, err
		}
		if c.From != to {
			c.To = to
			changes = append(changes, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !matched {
		return nil, ErrNoMatch
	}
	for _, c := range changes {
		if _, err := t.Exec(`UPDATE blob_refs SET tier = ? WHERE project = ? AND kind = ? AND digest = ?`, to, project, c.Kind, c.Digest); err != nil {
			return nil, err
		}
		if err := AddStorage(t, project, c.From, -c.Size); err != nil {
			return nil, err
		}
		if err := AddStorage(t, project, to, c.Size); err != nil {
			return nil, err
		}
	}
	return changes, nil
}

// BlobDelete is a blob no project holds, to delete from where it was
// stored.
type BlobDelete struct{ Digest, Location string }

// BlobDeletes are the deletions queued and not yet done (a crash came
// between the commit and the delete).
func (s *Store) BlobDeletes(ctx context.Context) ([]BlobDelete, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT digest, location FROM blob_deletes ORDER BY at, digest`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BlobDelete
	for rows.Next() {
		var d BlobDelete
		if err := rows.Scan(&d.Digest, &d.Location); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// BlobDeleted forgets a queued deletion, done or moot.
func (t *Tx) BlobDeleted(d BlobDelete) error {
	_, err := t.Exec(`DELETE FROM blob_deletes WHERE digest = ? AND location = ?`, d.Digest, d.Location)
	return err
}

// BlobHeld says whether any project holds digest now.
func (s *Store) BlobHeld(ctx context.Context, digest string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM blob_refs WHERE digest = ?`, digest).Scan(&n)
	return n > 0, err
}

// FillBlobTiers gives references recorded before tiers were (tier ”)
// the tier they were charged on: the logs tier.
func (t *Tx) FillBlobTiers(tier string) error {
	_, err := t.Exec(`UPDATE blob_refs SET tier = ? WHERE tier = ''`, tier)
	return err
}

// StorageRule is a project's lifecycle rule: its blobs move to tier
// Action (or are deleted, Action "delete") After their first reference.
type StorageRule struct {
	Project, Action string
	After           time.Duration
	SetBy           string
	SetAt           time.Time
}

// RuleDelete is the action of a rule that deletes.
const RuleDelete = "delete"

// SetStorageRule records r, replacing the project's rule of that action.
func (t *Tx) SetStorageRule(r StorageRule) error {
	_, err := t.Exec(`INSERT OR REPLACE INTO storage_rules (project, action, after_s, set_by, set_at) VALUES (?,?,?,?,?)`,
		r.Project, r.Action, int64(r.After/time.Second), r.SetBy, r.SetAt.UnixMicro())
	return err
}

// DropStorageRules removes the project's rules (of action, or all when
// action is ""), and says how many there were.
func (t *Tx) DropStorageRules(project, action string) (int64, error) {
	res, err := t.Exec(`DELETE FROM storage_rules WHERE project = ? AND (? = '' OR action = ?)`, project, action, action)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// StorageRules are the lifecycle rules, by project and age.
func (s *Store) StorageRules(ctx context.Context) ([]StorageRule, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT project, action, after_s, set_by, set_at FROM storage_rules ORDER BY project, after_s`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StorageRule
	for rows.Next() {
		var r StorageRule
		var after, at int64
		if err := rows.Scan(&r.Project, &r.Action, &after, &r.SetBy, &at); err != nil {
			return nil, err
		}
		r.After, r.SetAt = time.Duration(after)*time.Second, time.UnixMicro(at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErrNoMatch is a selection that picks no reference.
var ErrNoMatch = errors.New("no blob matches")

// ErrDryRun rolls back a write that was only to see what it would do.
var ErrDryRun = errors.New("dry run")
