package server

import (
	"context"
	"log/slog"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// Staging, the server's part (docs/staging.md): a staged job's inputs
// reach its agents in the lease (the job's shared ones in its context,
// a map task's own in its assignment), and the outputs an agent reports
// with a task's end are kept per task (store.SaveOutputs) in the batch
// that records that end, for `burst results --fetch`.

// stagedInputs splits a spec's inputs into those every task gets and those
// of each map task, once per job.
func (j *jobRT) stagedInputs() (shared []burst.Input) {
	if j.perTask != nil || len(j.row.Spec.Inputs) == 0 {
		return j.shared
	}
	j.perTask = map[int][]burst.Input{}
	for _, in := range j.row.Spec.Inputs {
		if in.Task == nil {
			j.shared = append(j.shared, in)
			continue
		}
		j.perTask[*in.Task] = append(j.perTask[*in.Task], in)
	}
	return j.shared
}

// taskInputs are the inputs staged for task idx alone.
func (j *jobRT) taskInputs(idx int) []burst.Input {
	j.stagedInputs()
	return j.perTask[idx]
}

// recordOutputs puts into b the outputs the attempt of t that ended
// reported (none clears an earlier attempt's). A file whose path or
// digest is not one burst makes is dropped and said: results --fetch
// writes at these paths on the user's machine.
func (b *batch) recordOutputs(t *taskRT, ev client.TaskEvent) {
	if !t.job.row.Spec.Staged() {
		return
	}
	out := client.TaskOutputs{Task: t.row.Index, Attempt: t.row.Attempt}
	for _, f := range ev.Outputs {
		if burst.CheckRelPath("output", f.Path) != nil || !burst.ValidDigest(f.Digest) || f.Size < 0 {
			b.log(slog.LevelWarn, "an agent reported an output that is not a relative path and digest: dropped",
				"job", t.row.JobID, "task", t.row.Index, "path", f.Path, "digest", f.Digest)
			continue
		}
		out.Files = append(out.Files, client.OutputFile{Path: f.Path, Digest: f.Digest, Size: f.Size, Mode: f.Mode & 0o777})
	}
	b.outputs = append(b.outputs, out)
	b.outJobs = append(b.outJobs, t.row.JobID)
}

// Outputs lists the outputs of tasks from to from+n-1 of job id.
func (b backend) Outputs(ctx context.Context, id int64, from, n int) ([]client.TaskOutputs, error) {
	return b.st.Outputs(ctx, id, from, n)
}
