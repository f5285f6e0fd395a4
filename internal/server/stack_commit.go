package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/apierr"
	"github.com/burst-sh/burst/internal/stack"
	"github.com/burst-sh/burst/internal/store"
)

// Committing a task's stack changes (burst stack commit, docs/stacks.md).
// A task of a job that keeps its changes (StackRef.Keep) runs on a
// writable overlay; its agent uploads the upper layer as a changes tar
// and reports it with the task's end (TaskEvent.StackChanges), which the
// batch that records that end keeps per task (store.SaveStackChanges).
// CommitStack then, outside the state machine and its lock, unpacks the
// version the job ran in, applies the changes, packs the tree and stores
// it as the next version of the name asked for, its parent the job's
// version (when the name is the same) and its provenance the job.

// recordStackChanges puts into b the stack changes the attempt of t that
// ended reported (none clears an earlier attempt's).
func (b *batch) recordStackChanges(t *taskRT, ev client.TaskEvent) {
	sr := t.job.row.Spec.TaskStack(t.row.Index) // a pipe's: its stage's
	if sr == nil || !sr.Keep {
		return
	}
	var c *store.StackChanges
	if f := ev.StackChanges; f != nil {
		if !burst.ValidDigest(f.Digest) || f.Size <= 0 {
			b.log(slog.LevelWarn, "an agent reported stack changes that are not a digest and size: dropped",
				"job", t.row.JobID, "task", t.row.Index, "digest", f.Digest)
		} else {
			c = &store.StackChanges{Attempt: t.row.Attempt, Digest: f.Digest, Size: f.Size}
		}
	}
	job, idx := t.row.JobID, t.row.Index
	b.writes = append(b.writes, func(tx *store.Tx) error { return store.SaveStackChanges(tx, job, idx, c) })
}

// CommitStack makes the changes task req.Task of job id made in its
// stack the next version of stack req.As.
func (s *Server) CommitStack(ctx context.Context, actor string, id int64, req *client.StackCommit) (*client.Stack, error) {
	if err := burst.CheckStackName(req.As); err != nil {
		return nil, badRequest("--as: %v", err)
	}
	if len(req.Description) > 1024 {
		return nil, badRequest("a stack's description is %d bytes; the limit is 1024: say it shorter", len(req.Description))
	}
	j, err := s.st.GetJob(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &apierr.NotFound{Msg: fmt.Sprintf("no job %d (see `burst jobs`)", id)}
	}
	if err != nil {
		return nil, err
	}
	if j.Spec.Pipe == nil && req.Stage != "" {
		return nil, badRequest("job %d is no pipe: it has no stages; name its task with --task N", id)
	}
	if j.Spec.Pipe != nil {
		task, msg := pipeCommitTask(id, j.Spec.Pipe, req.Stage, req.Task)
		if msg != "" {
			return nil, badRequest("%s", msg)
		}
		req.Task = task
	}
	sr := j.Spec.TaskStack(req.Task)
	switch {
	case req.Task < 0 || req.Task >= j.Spec.Tasks && j.Spec.Tasks > 0:
		return nil, badRequest("job %d has tasks 0 to %d: --task %d is none of them", id, j.Spec.Tasks-1, req.Task)
	case sr == nil:
		return nil, badRequest("job %d ran without a stack: only a job run with --stack NAME --keep-changes has changes to commit", id)
	case !sr.Keep:
		return nil, badRequest("job %d ran in stack %s without --keep-changes, so its changes were not kept: run it again with --keep-changes", id, sr)
	}
	ch, err := s.st.TaskStackChanges(ctx, id, req.Task)
	if err != nil {
		return nil, err
	}
	if ch == nil {
		return nil, badRequest("task %d of job %d kept no changes to stack %s (it changed nothing there, has not ended, or its changes could not be packed: `burst show %d`)", req.Task, id, sr, id)
	}
	// The changes are what the task's machine reported: a blob it uploaded
	// for this job. Any other digest (a machine may report what it likes)
	// would make another project's blob a stack everyone reads.
	if ok, err := s.st.BlobUsedByJobs(ctx, ch.Digest, []int64{id}); err != nil {
		return nil, err
	} else if !ok {
		return nil, badRequest("the stack changes task %d of job %d reported (%s) are no blob of that job: its machine did not upload them; nothing was committed (run the task again)", req.Task, id, ch.Digest)
	}
	parent, err := s.Stack(ctx, fmt.Sprintf("%s:%d", sr.Name, sr.Version))
	if err != nil {
		return nil, fmt.Errorf("the version job %d ran in: %w", id, err)
	}
	tmp, err := os.MkdirTemp("", "burst-commit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "rootfs")
	if err := s.openBlob(ctx, parent.Digest, func(r io.Reader) error { return stack.Unpack(r, root) }); err != nil {
		return nil, fmt.Errorf("unpack %s: %w", parent.Digest, err)
	}
	if err := s.openBlob(ctx, ch.Digest, func(r io.Reader) error { return stack.ApplyChanges(root, r) }); err != nil {
		if errors.Is(err, stack.ErrNotStack) {
			return nil, badRequest("the changes task %d of job %d kept cannot be applied: %v", req.Task, id, err)
		}
		return nil, err
	}
	out := filepath.Join(tmp, "rootfs.tar")
	f, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	p, err := stack.Pack(root, f)
	if err == nil {
		_, err = f.Seek(0, 0)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	who := client.BlobPut{Project: j.Project, Kind: client.BlobInput} // as `burst stack create` uploads a version
	err = s.PutBlob(ctx, who, client.BlobRef{Digest: p.Digest, Size: p.Size}, f)
	f.Close()
	if err != nil {
		return nil, err
	}
	man, err := json.Marshal(p.Manifest)
	if err != nil {
		return nil, err
	}
	row := store.StackRow{Name: req.As, Digest: p.Digest, Size: p.Size, Project: j.Project, Author: actor,
		Description: req.Description, Job: id, Manifest: man, CreatedAt: time.Now().UTC()}
	if req.As == parent.Name {
		row.Parent = parent.Version
	}
	if row.Description == "" {
		row.Description = fmt.Sprintf("%s:%d with the changes of job %d task %d", parent.Name, parent.Version, id, req.Task)
	}
	return s.addStack(ctx, actor, &row, "")
}

// pipeCommitTask is the task of pipe p (job id) whose changes `burst
// stack commit` takes: copy n of stage (by name or index) when one is
// named; else task n, or, when n is 0 and its stage kept no changes, the
// first task of the one stage that did. It returns a message naming the
// fix when there is none such.
func pipeCommitTask(id int64, p *burst.PipeSpec, stage string, n int) (int, string) {
	var keeping []string
	for _, st := range p.Stages {
		if st.Stack != nil && st.Stack.Keep {
			keeping = append(keeping, st.Name)
		}
	}
	if stage == "" {
		if st, _ := p.StageOf(n); n == 0 && st >= 0 && (p.Stages[st].Stack == nil || !p.Stages[st].Stack.Keep) && len(keeping) == 1 {
			return p.FirstTask(slices.IndexFunc(p.Stages, func(s burst.PipeStage) bool { return s.Name == keeping[0] })), ""
		}
		return n, ""
	}
	i := slices.IndexFunc(p.Stages, func(s burst.PipeStage) bool { return s.Name == stage })
	if k, err := strconv.Atoi(stage); i < 0 && err == nil && k >= 0 && k < len(p.Stages) {
		i = k
	}
	names := make([]string, len(p.Stages))
	for k, st := range p.Stages {
		names[k] = st.Name
	}
	switch {
	case i < 0:
		return 0, fmt.Sprintf("job %d has no stage %q: its stages are %s", id, stage, strings.Join(names, ", "))
	case n < 0 || n >= p.Stages[i].Copies():
		return 0, fmt.Sprintf("stage %s of job %d runs %s: --task %d is none of them (with --stage, --task counts its copies from 0)",
			p.Stages[i].Name, id, copies(p.Stages[i].Copies()), n)
	case p.Stages[i].Stack == nil || !p.Stages[i].Stack.Keep:
		hint := "run it again with --stack NAME --keep-changes among its stage options"
		if len(keeping) > 0 {
			hint = "the stages that kept theirs: " + strings.Join(keeping, ", ")
		}
		return 0, fmt.Sprintf("stage %s of job %d kept no stack changes: %s", p.Stages[i].Name, id, hint)
	}
	return p.FirstTask(i) + n, ""
}

func copies(n int) string {
	if n == 1 {
		return "1 copy"
	}
	return strconv.Itoa(n) + " copies"
}

// openBlob reads the blob digest from wherever the server keeps it.
func (s *Server) openBlob(ctx context.Context, digest string, read func(io.Reader) error) error {
	_, loc, err := s.st.BlobHolders(ctx, digest)
	if err != nil {
		return err
	}
	st, err := s.blobs.where(loc)
	if err != nil {
		return err
	}
	rc, _, err := st.Open(ctx, digest, 0)
	if err != nil {
		return blobErr(err)
	}
	defer rc.Close()
	return read(rc)
}
