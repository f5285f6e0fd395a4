package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// SaveOutputs replaces what a task's outputs are with those of the attempt
// that just ended (an attempt that left none clears an earlier one's).
func SaveOutputs(tx *Tx, job int64, out *client.TaskOutputs) error {
	if _, err := tx.exec(`DELETE FROM task_outputs WHERE job_id = ? AND idx = ?`, job, out.Task); err != nil {
		return fmt.Errorf("save outputs of task %d.%d: %w", job, out.Task, err)
	}
	for _, f := range out.Files {
		if _, err := tx.exec(`INSERT INTO task_outputs (job_id, idx, attempt, path, digest, size, mode) VALUES (?,?,?,?,?,?,?)`,
			job, out.Task, out.Attempt, f.Path, f.Digest, f.Size, f.Mode); err != nil {
			return fmt.Errorf("save outputs of task %d.%d: %w", job, out.Task, err)
		}
	}
	return nil
}

// Outputs lists the outputs of tasks from to from+n-1 of a job, by task
// and path (tasks without outputs are absent).
func (s *Store) Outputs(ctx context.Context, job int64, from, n int) ([]client.TaskOutputs, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT idx, attempt, path, digest, size, mode FROM task_outputs
		WHERE job_id = ? AND idx >= ? AND idx < ? ORDER BY idx, path`, job, from, from+n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []client.TaskOutputs
	for rows.Next() {
		var idx, attempt int
		var f client.OutputFile
		if err := rows.Scan(&idx, &attempt, &f.Path, &f.Digest, &f.Size, &f.Mode); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].Task != idx {
			out = append(out, client.TaskOutputs{Task: idx, Attempt: attempt})
		}
		out[len(out)-1].Files = append(out[len(out)-1].Files, f)
	}
	return out, rows.Err()
}

// UseInputs records that job id uses the blobs of its staged inputs, which
// its project must hold already (uploaded as inputs by `burst run --in`):
// a machine that runs one of its tasks may then read them. A digest the
// project does not hold is refused, so that no job names another
// project's blob into reach.
func UseInputs(tx *Tx, id int64, project string, inputs []burst.Input, now time.Time) error {
	for _, in := range inputs {
		if in.URL != "" || in.Digest == "" {
			continue // an s3:// object the machine fetches itself (its digest, if any, a pin)
		}
		var location string
		err := tx.QueryRow(`SELECT location FROM blob_refs WHERE project = ? AND digest = ? LIMIT 1`, project, in.Digest).Scan(&location)
		if errors.Is(err, sql.ErrNoRows) {
			return &NotHeld{Path: in.Path, Digest: in.Digest, Project: project}
		}
		if err != nil {
			return err
		}
		task := 0
		if in.Task != nil {
			task = *in.Task
		}
		if _, err := tx.AddBlobRef(BlobRefRow{Project: project, Kind: "input", Job: id, Task: task, Digest: in.Digest,
			Size: in.Size, Location: location, CreatedAt: now}, ""); err != nil {
			return err
		}
	}
	return nil
}

// NotHeld is a staged input whose blob the job's project does not hold.
type NotHeld struct{ Path, Digest, Project string }

func (e *NotHeld) Error() string {
	return fmt.Sprintf("input %s (%s) is not in project %s's blob store: upload it with `burst run --in %s` (which hashes and sends it)", e.Path, e.Digest, e.Project, e.Path)
}
