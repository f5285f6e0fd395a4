package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// BlobRefRow is one holder of a blob: a project's input (Job 0 before a
// job used it), or a task's output or log. Location is where the bytes
// were stored when it was recorded ("embedded", "s3://bucket/prefix").
type BlobRefRow struct {
	Project, Kind string
	Job           int64
	Task, Attempt int
	Digest        string
	Size          int64
	Location      string
	CreatedAt     time.Time
}

// AddBlobRef records r. first says whether the project held no blob of
// that digest as that kind before: its bytes are then added to the
// project's storage on tier, in the same transaction, so that the count
// and the references cannot part. A blob the project holds already (as
// any kind) stays on the tier it is on: a project's copy of a digest is
// charged on one tier.
func (t *Tx) AddBlobRef(r BlobRefRow, tier string) (first bool, err error) {
	first, _, err = t.AddBlobRefOn(r, tier)
	return first, err
}

// AddBlobRefOn is AddBlobRef, and says the tier the reference is charged on.
func (t *Tx) AddBlobRefOn(r BlobRefRow, tier string) (first bool, on string, err error) {
	var n int
	if err := t.QueryRow(`SELECT COUNT(*) FROM blob_refs WHERE project = ? AND kind = ? AND digest = ?`,
		r.Project, r.Kind, r.Digest).Scan(&n); err != nil {
		return false, "", err
	}
	var held string
	err = t.QueryRow(`SELECT tier FROM blob_refs WHERE project = ? AND digest = ? AND tier != '' LIMIT 1`, r.Project, r.Digest).Scan(&held)
	switch {
	case err == nil:
		tier = held
	case !errors.Is(err, sql.ErrNoRows):
		return false, "", err
	}
	if _, err := t.exec(`INSERT OR IGNORE INTO blob_refs (project, kind, job, task, attempt, digest, size, location, created_at, tier)
		VALUES (?,?,?,?,?,?,?,?,?,?)`, r.Project, r.Kind, r.Job, r.Task, r.Attempt, r.Digest, r.Size, r.Location, r.CreatedAt.UnixMicro(), tier); err != nil {
		return false, "", err
	}
	if n > 0 {
		return false, tier, nil
	}
	return true, tier, AddStorage(t, r.Project, tier, r.Size)
}

// BlobHolders are the projects that hold digest, and where its bytes were
// stored most recently ("" when nobody holds it).
func (s *Store) BlobHolders(ctx context.Context, digest string) (projects []string, location string, err error) {
	rows, err := s.r.QueryContext(ctx, `SELECT project, location FROM blob_refs WHERE digest = ? ORDER BY created_at`, digest)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p, &location); err != nil {
			return nil, "", err
		}
		if !seen[p] {
			seen[p] = true
			projects = append(projects, p)
		}
	}
	return projects, location, rows.Err()
}

// BlobUsedByJobs says whether a job of jobs holds digest.
func (s *Store) BlobUsedByJobs(ctx context.Context, digest string, jobs []int64) (bool, error) {
	if len(jobs) == 0 {
		return false, nil
	}
	args := []any{digest}
	for _, j := range jobs {
		args = append(args, j)
	}
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM blob_refs WHERE digest = ? AND job IN (?`+
		strings.Repeat(",?", len(jobs)-1)+`)`, args...).Scan(&n)
	return n > 0, err
}

// BlobUsage is what one project holds as one kind, where.
type BlobUsage struct {
	Project, Kind, Location string
	Count                   int
	Bytes                   int64
}

// BlobUsages are the blobs held per project, kind and location, each
// digest counted once per project and kind.
func (s *Store) BlobUsages(ctx context.Context) ([]BlobUsage, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT project, kind, location, COUNT(*), COALESCE(SUM(size), 0) FROM
		(SELECT project, kind, digest, MAX(size) AS size, MIN(location) AS location FROM blob_refs GROUP BY project, kind, digest)
		GROUP BY project, kind, location ORDER BY project, kind, location`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BlobUsage
	for rows.Next() {
		var u BlobUsage
		if err := rows.Scan(&u.Project, &u.Kind, &u.Location, &u.Count, &u.Bytes); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// BlobStorageRow is where new blobs go: URL "embedded" or
// "s3://bucket/prefix", with the S3 endpoint and region.
type BlobStorageRow struct {
	URL, Endpoint, Region, SetBy string
	SetAt                        time.Time
}

// SetBlobStorage records where new blobs go.
func (t *Tx) SetBlobStorage(r BlobStorageRow) error {
	_, err := t.exec(`INSERT OR REPLACE INTO blob_storage (id, url, endpoint, region, set_by, set_at) VALUES (1,?,?,?,?,?)`,
		r.URL, r.Endpoint, r.Region, r.SetBy, r.SetAt.UnixMicro())
	return err
}

// BlobStorage is where new blobs go; nil when it was never set (embedded).
func (s *Store) BlobStorage(ctx context.Context) (*BlobStorageRow, error) {
	var r BlobStorageRow
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT url, endpoint, region, set_by, set_at FROM blob_storage WHERE id = 1`).
		Scan(&r.URL, &r.Endpoint, &r.Region, &r.SetBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.SetAt = time.UnixMicro(at).UTC()
	return &r, nil
}

// BlobsOfSize are the digests and locations of up to limit blobs of size
// bytes that are referenced: a file of that size can be a blob the store
// holds only if it is one of them (a streamed upload asks).
func (s *Store) BlobsOfSize(ctx context.Context, size int64, limit int) (digests, locations []string, err error) {
	rows, err := s.r.QueryContext(ctx, `SELECT digest, MIN(location) FROM blob_refs WHERE size = ? GROUP BY digest LIMIT ?`, size, limit)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var d, l string
		if err := rows.Scan(&d, &l); err != nil {
			return nil, nil, err
		}
		digests, locations = append(digests, d), append(locations, l)
	}
	return digests, locations, rows.Err()
}
