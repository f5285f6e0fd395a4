package store

import (
	"context"
	"fmt"

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
