package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// StackRow is one version of a software stack (docs/stacks.md).
type StackRow struct {
	Name        string    `json:"name"`
	Version     int       `json:"version"`
	Digest      string    `json:"digest"`
	Size        int64     `json:"size"`
	Parent      int       `json:"parent,omitempty"` // the version it was made from (0: none)
	Project     string    `json:"project"`
	Author      string    `json:"author"`
	Description string    `json:"description,omitempty"`
	Job         int64     `json:"job,omitempty"` // the job whose changes made it (burst stack commit)
	CreatedAt   time.Time `json:"created_at"`
	// Manifest is its files, as JSON (stack.File), for diff; read only
	// by StackManifest.
	Manifest json.RawMessage `json:"-"`
}

const stackCols = `name, version, digest, size, parent, project, author, description, job, created_at`

// AddStack stores row as the next version of its name (row.Version is set
// to it) inside tx, with the blob reference that keeps its bytes: kind
// "stack" of its project, job 0.
func AddStack(tx *Tx, row *StackRow, location string) error {
	var have int
	if err := tx.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM stacks WHERE name = ?`, row.Name).Scan(&have); err != nil {
		return err
	}
	row.Version = have + 1
	if _, err := tx.exec(`INSERT INTO stacks(`+stackCols+`, manifest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		row.Name, row.Version, row.Digest, row.Size, row.Parent, row.Project, row.Author, row.Description, row.Job,
		row.CreatedAt.UnixMicro(), string(row.Manifest)); err != nil {
		return err
	}
	return nil
}

// StackProject is the project of name's latest version; "" when name has
// no version.
func StackProject(tx *Tx, name string) (string, error) {
	var p string
	err := tx.QueryRow(`SELECT project FROM stacks WHERE name = ? ORDER BY version DESC LIMIT 1`, name).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return p, err
}

// Stacks lists every version of name ("" every stack's), by name and version.
func (s *Store) Stacks(ctx context.Context, name string) ([]StackRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+stackCols+` FROM stacks WHERE ? = '' OR name = ? ORDER BY name, version`, name, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StackRow
	for rows.Next() {
		var r StackRow
		var at int64
		if err := rows.Scan(&r.Name, &r.Version, &r.Digest, &r.Size, &r.Parent, &r.Project, &r.Author, &r.Description, &r.Job, &at); err != nil {
			return nil, err
		}
		r.CreatedAt = time.UnixMicro(at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// StackManifest is the manifest of name:version (JSON), or ErrNotFound.
func (s *Store) StackManifest(ctx context.Context, name string, version int) (json.RawMessage, error) {
	var m string
	err := s.r.QueryRowContext(ctx, `SELECT manifest FROM stacks WHERE name = ? AND version = ?`, name, version).Scan(&m)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return json.RawMessage(m), err
}

// RemoveStack deletes every version of name (version 0) or one version,
// and says how many it deleted. The blobs stay as their project's until
// `burst storage rm` or a lifecycle rule removes them; links to what is
// removed answer "removed".
func RemoveStack(tx *Tx, name string, version int) (int64, error) {
	res, err := tx.exec(`DELETE FROM stacks WHERE name = ? AND (? = 0 OR version = ?)`, name, version, version)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// BlobLocation is where digest's bytes lie (any project's reference), or
// ErrNotFound.
func BlobLocation(tx *Tx, digest string) (string, error) {
	var loc string
	err := tx.QueryRow(`SELECT location FROM blob_refs WHERE digest = ? LIMIT 1`, digest).Scan(&loc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return loc, err
}

// ProjectHolds reports whether project holds digest in the blob store.
func ProjectHolds(tx *Tx, project, digest string) (bool, error) {
	var n int
	err := tx.QueryRow(`SELECT COUNT(*) FROM blob_refs WHERE project = ? AND digest = ?`, project, digest).Scan(&n)
	return n > 0, err
}

// UseStack records that job id of project runs inside the stack whose
// blob is digest: a reference (kind input) that lets its machines read
// the blob and keeps it while the job needs it.
func UseStack(tx *Tx, id int64, project, digest string, size int64, now time.Time) error {
	loc, err := BlobLocation(tx, digest)
	if err != nil {
		return fmt.Errorf("the stack's root filesystem %s is no longer in the blob store: make the stack again (`burst stack create`)", digest)
	}
	_, err = tx.AddBlobRef(BlobRefRow{Project: project, Kind: "input", Job: id, Task: 0, Digest: digest, Size: size, Location: loc, CreatedAt: now}, "")
	return err
}

// StackChanges is what a task's attempt changed in its stack (migration
// 23): the blob of its changes' tar.
type StackChanges struct {
	Attempt int
	Digest  string
	Size    int64
}

// SaveStackChanges records the changes of the attempt of task idx of job
// that ended; nil clears an earlier attempt's.
func SaveStackChanges(tx *Tx, job int64, idx int, c *StackChanges) error {
	if _, err := tx.exec(`DELETE FROM stack_changes WHERE job_id = ? AND idx = ?`, job, idx); err != nil || c == nil {
		return err
	}
	_, err := tx.exec(`INSERT INTO stack_changes (job_id, idx, attempt, digest, size) VALUES (?, ?, ?, ?, ?)`,
		job, idx, c.Attempt, c.Digest, c.Size)
	return err
}

// TaskStackChanges reads what task idx of job changed in its stack (nil:
// nothing recorded).
func (s *Store) TaskStackChanges(ctx context.Context, job int64, idx int) (*StackChanges, error) {
	var c StackChanges
	err := s.r.QueryRowContext(ctx, `SELECT attempt, digest, size FROM stack_changes WHERE job_id = ? AND idx = ?`, job, idx).
		Scan(&c.Attempt, &c.Digest, &c.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &c, err
}

// StackLinkRow is a link that shares a stack (migration 21's
// stack_links), kept as the SHA-256 of its secret, as join tokens are.
// Version 0 shares every version of Name.
type StackLinkRow struct {
	ID        int64
	Hash      string
	Name      string
	Version   int
	CreatedBy string
	Created   time.Time
	Expires   time.Time
	Revoked   *time.Time
}

// AddStackLink stores r and returns its id.
func AddStackLink(tx *Tx, r StackLinkRow) (int64, error) {
	res, err := tx.exec(`INSERT INTO stack_links(hash, name, version, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.Hash, r.Name, r.Version, r.CreatedBy, r.Created.UnixMicro(), r.Expires.UnixMicro())
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

const stackLinkCols = `id, hash, name, version, created_by, created_at, expires_at, revoked_at`

func scanStackLink(row scanner) (StackLinkRow, error) {
	var r StackLinkRow
	var created, expires int64
	var revoked sql.NullInt64
	if err := row.Scan(&r.ID, &r.Hash, &r.Name, &r.Version, &r.CreatedBy, &created, &expires, &revoked); err != nil {
		return r, err
	}
	r.Created, r.Expires = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	if revoked.Valid {
		t := time.UnixMicro(revoked.Int64).UTC()
		r.Revoked = &t
	}
	return r, nil
}

// StackLinks lists the links made, by id.
func (s *Store) StackLinks(ctx context.Context) ([]StackLinkRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+stackLinkCols+` FROM stack_links ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StackLinkRow
	for rows.Next() {
		r, err := scanStackLink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// StackLink reads the link of id, or of hash when id is 0 (ErrNotFound:
// none).
func (s *Store) StackLink(ctx context.Context, id int64, hash string) (StackLinkRow, error) {
	r, err := scanStackLink(s.r.QueryRowContext(ctx, `SELECT `+stackLinkCols+` FROM stack_links WHERE id = ? OR (? = 0 AND hash = ?)`, id, id, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// RevokeStackLink marks link id revoked at now (ErrNotFound: no such link
// not revoked yet).
func RevokeStackLink(tx *Tx, id int64, now time.Time) error {
	res, err := tx.exec(`UPDATE stack_links SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, now.UnixMicro(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
