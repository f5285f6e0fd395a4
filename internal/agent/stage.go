package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/backoff"
)

// Staging (docs/staging.md). A task of a job with inputs or outputs runs in
// a private directory on every machine, local ones too: work/JOB/TASK
// under the agent's home, holding its inputs at their relative paths,
// linked read-only from the machine's blob cache (cache.go; copied where a
// link cannot be made, and for executables, which keep their mode). After
// its process ended, the files its --out globs match are uploaded as
// outputs before its end is reported, and its exit event lists them.

// stageTask is what staging holds for one task.
type stageTask struct {
	dir   string
	own   bool     // dir was made by staging (not prepareRemote's): staging removes it
	keep  bool     // leave dir after the task (BURST_KEEP_WORKDIR=1)
	pins  []string // cache keys the task holds
	notes []string // what its end says of its inputs (an s3:// object's digest)
	globs []string
	who   client.BlobPut
	// Of a task that keeps its stack changes (stackexec.go): its
	// overlay's state directory, and the changes' tar once uploaded.
	changes string
	changed *client.OutputFile
}

// errStageLost marks a staging failure that is the machine's (its cache,
// its disk, the server unreachable), not the task's: the task runs again,
// as on a lost machine, without using a retry.
type errStageLost struct{ error }

func (e errStageLost) Unwrap() error { return e.error }

// staged reports whether a task runs in a private directory with staging.
func staged(as client.Assignment, jc *client.JobContext) bool {
	return jc.Staged() || len(as.Inputs) > 0
}

// privateDir makes a task's private directory afresh: work/JOB/TASK under
// the agent's home.
func (a *Agent) privateDir(as client.Assignment) (string, error) {
	dir := filepath.Join(a.cfg.WorkDir, "work", strconv.FormatInt(as.Job, 10), strconv.Itoa(as.Index))
	os.RemoveAll(dir) // an earlier attempt's
	os.Remove(dir + keptSuffix)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("cannot make the task's private directory %s: %w", dir, err)
	}
	return dir, nil
}

// startStaged stages a task's inputs (waiting for fetches, so not on the
// lease's path) and then starts it in its private directory.
func (a *Agent) startStaged(as client.Assignment, jc *client.JobContext, o *opening) {
	a.mu.Lock()
	o.ctx, o.stop = context.WithCancel(a.runCtx) // a cancel ends the fetches
	if o.cancelled {
		o.stop()
	}
	a.mu.Unlock()
	defer o.stop()
	st := &stageTask{globs: jc.Outputs, keep: slices.Contains(jc.Env, KeepWorkdirEnv+"=1"),
		who: client.BlobPut{Project: jc.Project, Kind: "output", Job: as.Job, Task: as.Index, Attempt: as.Attempt}}
	if o.remote != nil {
		st.dir = o.remote.dir // removed with the rest of the remote task
	} else {
		dir, err := a.privateDir(as)
		if err != nil {
			a.endOpening(as, o, err.Error(), errStageLost{err})
			return
		}
		st.dir, st.own = dir, true
	}
	if err := a.stageInputs(o.ctx, st, append(slices.Clip(jc.Inputs), as.Inputs...)); err != nil {
		a.unstage(st)
		a.endOpening(as, o, "staging its inputs: "+err.Error(), err)
		return
	}
	if jc.Stack != nil {
		root, held, err := a.stackRoot(o.ctx, jc.Stack)
		if err != nil {
			a.unstage(st)
			a.endOpening(as, o, err.Error(), err)
			return
		}
		o.stackRoot, o.stackHeld = root, held
		if jc.Stack.Keep {
			st.changes = changesDir(st.dir)
			if err := newChangesDir(st.changes); err != nil {
				a.unstage(st)
				a.endOpening(as, o, err.Error(), errStageLost{err})
				return
			}
			o.stackState = st.changes
		}
	}
	a.mu.Lock()
	o.stage = st
	a.mu.Unlock()
	c := *jc
	c.Dir = st.dir
	a.launch(as, &c, nil, nil, o, nil)
}

// stageInputs puts each input at its path in st.dir, from the cache.
func (a *Agent) stageInputs(ctx context.Context, st *stageTask, ins []burst.Input) error {
	for _, in := range ins {
		key, fetch, size, check, err := a.source(ctx, in)
		if err != nil {
			if errors.As(err, new(errS3)) || ctx.Err() != nil {
				return err
			}
			return errStageLost{err} // the store's trouble (an S3 server error): it runs again
		}
		src, err := a.cache.acquire(ctx, key, size, fetch)
		if err != nil {
			if errors.Is(err, errCacheTooSmall) || errors.As(err, new(errS3)) {
				return err
			}
			var ce *client.Error
			if errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 {
				return fmt.Errorf("%s: %w", in.Path, err) // refused: the job's, not the machine's
			}
			return errStageLost{fmt.Errorf("%s: %w", in.Path, err)}
		}
		st.pins = append(st.pins, key)
		if check != nil {
			note, err := check()
			if err != nil {
				if !errors.As(err, new(errS3)) {
					err = errStageLost{err}
				}
				return err
			}
			if note != "" {
				st.notes = append(st.notes, note)
			}
		}
		dst := filepath.Join(st.dir, filepath.FromSlash(in.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("%s: %w", in.Path, err)
		}
		if err := place(src, dst, in.Mode); err != nil {
			return errStageLost{fmt.Errorf("%s: %w", in.Path, err)}
		}
	}
	return nil
}

// source is where input in comes from: its cache key, how to fetch it,
// its size, and (nil for the store's blobs, which their key checks) a
// check of the cached file that gives what the task's end says of it.
func (a *Agent) source(ctx context.Context, in burst.Input) (string, fetchFunc, int64, func() (string, error), error) {
	if in.URL == "" {
		ref := client.BlobRef{Digest: in.Digest, Size: in.Size}
		return in.Digest, func(ctx context.Context, dst string) error { return a.cfg.Client.FetchBlob(ctx, ref, dst) }, in.Size, nil, nil
	}
	return s3Source(ctx, in, a.cfg.Log)
}

// place puts the cached file src at dst: a hard link (read-only, as the
// cache keeps it) where the file system allows, else a copy; an
// executable (mode with x bits) is copied with its mode, as a link would
// share the cache's.
func place(src, dst string, mode uint32) error {
	if mode&0o111 == 0 {
		if err := os.Link(src, dst); err == nil {
			return nil
		}
	}
	if mode == 0 {
		mode = 0o444
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(mode))
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// unstage lets go of what staging holds for a task that ended (or never
// ran): its cache entries and, if staging made it, its directory.
func (a *Agent) unstage(st *stageTask) {
	for _, k := range st.pins {
		a.cache.release(k)
	}
	st.pins = nil
	if st.own && !st.keep {
		os.RemoveAll(st.dir)
		if st.changes != "" {
			os.RemoveAll(st.changes)
		}
	}
}

// finishStage uploads the outputs of a task whose process ended and says
// how that changes its end: the files (for its exit event), a note for
// globs that matched nothing (not a failure: docs/staging.md), or an
// error when the outputs could not be uploaded.
func (a *Agent) finishStage(st *stageTask) ([]client.OutputFile, string, error) {
	defer a.unstage(st)
	said := st.notes
	if st.changes != "" {
		note, err := a.packChanges(st)
		if err != nil {
			return nil, "", err
		}
		if note != "" {
			said = append(slices.Clip(said), note)
		}
	}
	if len(st.globs) == 0 {
		return nil, strings.Join(said, "; "), nil
	}
	files, empty := matchOutputs(st.dir, st.globs)
	if len(empty) > 0 {
		said = append(said, "--out "+strings.Join(empty, ", ")+" matched no file")
	}
	note := strings.Join(said, "; ")
	if len(files) == 0 {
		return nil, note, nil
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(st.dir, filepath.FromSlash(f.Path))
	}
	refs, err := a.upload(st.who, paths)
	if err != nil {
		return nil, note, err
	}
	for i := range files {
		files[i].Digest, files[i].Size = refs[i].Digest, refs[i].Size
	}
	return files, note, nil
}

// upload sends files to the blob store as who's. The server may be away
// a while (a restart): tried again for as long as the agent itself waits
// for it.
func (a *Agent) upload(who client.BlobPut, paths []string) ([]client.BlobRef, error) {
	b := backoff.New(200*time.Millisecond, 5*time.Second)
	for {
		refs, err := a.cfg.Client.UploadFiles(a.runCtx, paths, who)
		if err == nil && len(refs) == len(paths) {
			return refs, nil
		}
		if err == nil {
			err = fmt.Errorf("the server answered for %d of %d files", len(refs), len(paths))
		}
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 || b.Elapsed() > a.cfg.IdleExit {
			return nil, fmt.Errorf("its outputs could not be uploaded: %w", err)
		}
		a.cfg.Log.Warn("uploading a task's outputs failed: trying again", "job", who.Job, "task", who.Task, "err", err)
		if b.Wait(a.runCtx) != nil {
			return nil, errStageLost{fmt.Errorf("the agent stopped before its outputs were uploaded: %w", err)}
		}
	}
}

// matchOutputs finds the regular files under dir that globs match (a
// matched directory gives every regular file below it), sorted, each once;
// symbolic links are never followed (one could lead out of dir). empty
// lists the globs that matched nothing.
func matchOutputs(dir string, globs []string) (files []client.OutputFile, empty []string) {
	seen := map[string]bool{}
	add := func(p string, fi fs.FileInfo) {
		rel, err := filepath.Rel(dir, p)
		if err != nil || seen[rel] || !fi.Mode().IsRegular() {
			return
		}
		seen[rel] = true
		files = append(files, client.OutputFile{Path: filepath.ToSlash(rel), Mode: uint32(fi.Mode().Perm())})
	}
	for _, g := range globs {
		matched := false
		ms, _ := filepath.Glob(filepath.Join(dir, filepath.FromSlash(g)))
		for _, m := range ms {
			fi, err := os.Lstat(m)
			if err != nil || fi.Mode()&fs.ModeSymlink != 0 {
				continue
			}
			matched = true
			if !fi.IsDir() {
				add(m, fi)
				continue
			}
			filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					if fi, err := d.Info(); err == nil {
						add(p, fi)
					}
				}
				return nil
			})
		}
		if !matched {
			empty = append(empty, "'"+g+"'")
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, empty
}

// stagedStartHint adds to the reason a staged task (its directory dir)
// could not start for
// (its program, named by a relative path, is not in its directory) what
// holds there and how to stage it.
func stagedStartHint(reason, dir string, argv []string) string {
	if !strings.HasPrefix(reason, "cannot start: ") || !strings.Contains(reason, "no such file or directory") ||
		len(argv) == 0 || !strings.Contains(argv[0], "/") || filepath.IsAbs(argv[0]) {
		return reason
	}
	if _, err := os.Stat(filepath.Join(dir, argv[0])); err == nil {
		return reason // it is there: its interpreter (#!) is what is missing
	}
	return reason + ": a staged task runs in a private directory holding only what is staged: stage the program too (--in " + argv[0] + ")"
}
