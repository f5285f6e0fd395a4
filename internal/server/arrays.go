package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/sbatch"
	"github.com/burst-sh/burst/internal/store"
)

// checkOutputs refuses a job whose output files would land inside burst's
// own directory ($BURST_HOME), where a task could overwrite the store, the
// token or another job's logs. The patterns are expanded as at dispatch
// (ids and indices are digits, so they cannot move a path elsewhere) and
// symbolic links in the existing part of the path are followed. This is the
// early, friendly refusal; the agent checks again the file it really opened
// (runner's Private), which no link made later can get around.
func (s *Server) checkOutputs(spec *burst.JobSpec) error {
	if spec.Stdout == "" && spec.Stderr == "" && spec.Batch == nil {
		return nil // burst's own log files
	}
	home := s.realHome
	info := sbatch.TaskInfo{JobID: 1, JobName: spec.Name, ArrayTaskID: -1}
	info.NodeName, _ = os.Hostname() // %N where it runs: this host's name is the likeliest (agents check again)
	if b := spec.Batch; b != nil {
		info.User = b.User
	}
	for _, p := range []string{spec.Stdout, spec.Stderr} {
		if p == "" {
			continue
		}
		path := sbatch.Expand(p, info)
		if !filepath.IsAbs(path) {
			path = filepath.Join(spec.Workdir, path)
		}
		switch filepath.Clean(path) {
		case "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/1", "/dev/fd/2", "/proc/self/fd/1", "/proc/self/fd/2":
			return badRequest("output file %s: a job's output cannot go to a terminal (it runs on a machine of its own): leave --output out, and burst run shows it as it runs and burst logs JOB later", p)
		}
		if within(resolvePath(path), home) {
			return badRequest("output file %s is inside burst's own directory %s: write it elsewhere, e.g. -o slurm-%%j.out in your working directory", p, s.home)
		}
	}
	if within(resolvePath(spec.Workdir), home) && (spec.Stdout == "" || spec.Stderr == "") {
		return badRequest("the job's working directory %s is inside burst's own directory %s, where its slurm-%%j.out would go: run it from another directory or give --chdir", spec.Workdir, s.home)
	}
	return nil
}

// resolvePath is where path leads on this machine: its components are
// followed one by one, symbolic links resolved as they are met and ".."
// taken from where they led (as the kernel does, which filepath.Clean
// before resolving would not); the part that does not exist yet is kept as
// written.
func resolvePath(path string) string {
	cur := "/"
	exists := true
	for _, c := range strings.Split(path, "/") {
		switch {
		case c == "" || c == ".":
			continue
		case c == "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, c)
		if exists {
			if r, err := filepath.EvalSymlinks(next); err == nil {
				cur = r
				continue
			}
			exists = false
		}
		cur = next
	}
	return cur
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(os.PathSeparator))
}

// ResolveID says which job, and which task of it, ref names: a job id, the
// id of one task of a job array (each holds its own, as in Slurm), or
// Slurm's ARRAYID_INDEX form (e.g. 100_7: array job 100's index 7).
func (s *Server) ResolveID(ctx context.Context, ref string) (*client.IDRef, error) {
	bad := badRequest("%q is not a job id: job ids are numbers (12), or an array's id and index (12_3); see `burst jobs`", ref)
	arr, index, isArray := strings.Cut(ref, "_")
	id, err := strconv.ParseInt(arr, 10, 64)
	if err != nil || id <= 0 {
		return nil, bad
	}
	if isArray {
		// ARRAYID_INDEX names an array by its own id, not a task's.
		if job, idx, err := s.st.ResolveID(ctx, id); err == nil && idx >= 0 {
			return nil, badRequest("%d is a task of job array %d, not an array: write %d_INDEX, or %d alone for that task", id, job, job, id)
		}
	}
	if !isArray {
		job, idx, err := s.st.ResolveID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, &errNoJob{ID: id}
		}
		if err != nil {
			return nil, err
		}
		r := &client.IDRef{JobID: job, Task: idx, ArrayIndex: -1}
		if idx >= 0 {
			if r.ArrayIndex, err = s.arrayIndexOf(ctx, job, idx); err != nil {
				return nil, err
			}
		}
		return r, nil
	}
	a, err := strconv.Atoi(index)
	if err != nil || a < 0 {
		return nil, bad
	}
	idx, err := s.arrayIndices(ctx, id)
	if err != nil {
		return nil, err
	}
	if idx == nil {
		return nil, badRequest("job %d is not a job array: name it by its id alone (%d)", id, id)
	}
	pos, ok := slices.BinarySearch(idx, a)
	if !ok {
		return nil, badRequest("job array %d has no index %d (its indices run from %d to %d)", id, a, idx[0], idx[len(idx)-1])
	}
	return &client.IDRef{JobID: id, Task: pos, ArrayIndex: a}, nil
}

// arrayIndices are the indices of job array id (nil if it is not one).
func (s *Server) arrayIndices(ctx context.Context, id int64) ([]int, error) {
	s.mu.Lock()
	if j := s.jobs[id]; j != nil {
		idx := j.arrayIndices()
		s.mu.Unlock()
		return idx, nil
	}
	s.mu.Unlock()
	row, err := s.readJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if row.Spec == nil || row.Spec.Map == nil || !row.Spec.Map.Array {
		return nil, nil
	}
	src, err := s.st.Inputs(ctx, id)
	if err != nil || len(src) != 1 {
		return nil, err
	}
	idx := make([]int, len(src[0]))
	for i, v := range src[0] {
		idx[i], _ = strconv.Atoi(v)
	}
	return idx, nil
}

func (s *Server) arrayIndexOf(ctx context.Context, job int64, task int) (int, error) {
	idx, err := s.arrayIndices(ctx, job)
	if err != nil || task >= len(idx) {
		return -1, err
	}
	return idx[task], nil
}
