package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/mapspec"
)

// stageFlags are --in and --out (docs/staging.md).
type stageFlags struct {
	in, out        []string
	cache, noCache bool // --cache, --no-cache (docs/cache.md)
}

func (f *stageFlags) add(c *cobra.Command) {
	c.Flags().StringArrayVar(&f.in, "in", nil, "stage `PATH` (a file or a directory's files, uploaded once; or s3://BUCKET/KEY[#sha256:HEX], fetched by the machine with its own AWS credentials and staged under the key's base name) into each task's private directory at the same relative path (repeatable)")
	c.Flags().BoolVar(&f.cache, "cache", false, "reuse the result of a finished successful task with the same command, environment, inputs and resources instead of running it again; burst show says hit or miss, and why (docs/cache.md)")
	c.Flags().BoolVar(&f.noCache, "no-cache", false, "run every task even if the project uses the cache by default")
	c.Flags().StringArrayVar(&f.out, "out", nil, "after each task, upload the files matching `GLOB` (relative to its directory; a matched directory gives its files) as its outputs (repeatable)")
}

// staging is what --in and --out make of a job: the local files to hash
// and upload before it is submitted, and its inputs once they are.
type staging struct {
	files []localInput
	urls  []burst.Input
}

// localInput is a file of this machine to stage at path (for one map task
// when task is set).
type localInput struct {
	path string // relative, slash-separated
	src  string // where it is here
	mode uint32
	task *int
}

// empty reports whether nothing is staged.
func (s *staging) empty() bool { return len(s.files) == 0 && len(s.urls) == 0 }

// plan checks --in and --out against the working directory wd and puts the
// outputs into spec; the files are uploaded by upload, once connected.
func (f *stageFlags) plan(wd string, spec *burst.JobSpec) (*staging, error) {
	st := &staging{}
	switch {
	case f.cache && f.noCache:
		return nil, usage("--cache and --no-cache contradict each other: keep one")
	case f.cache:
		spec.Cache = burst.CacheOn
	case f.noCache:
		spec.Cache = burst.CacheOff
	}
	for _, g := range f.out {
		if err := checkOutGlob(g); err != nil {
			return nil, err
		}
	}
	spec.Outputs = f.out
	for _, p := range f.in {
		if strings.HasPrefix(p, "s3://") {
			in, err := s3Input(p)
			if err != nil {
				return nil, err
			}
			in.Path = path.Base(strings.SplitN(in.URL[len("s3://"):], "/", 2)[1])
			st.urls = append(st.urls, in)
			continue
		}
		if err := st.addLocal(wd, p, nil, "--in"); err != nil {
			return nil, err
		}
	}
	if len(f.in) > 0 || len(f.out) > 0 || spec.Stack != nil { // a stack's task runs in its private /work
		if err := st.addProgram(wd, spec); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// addProgram stages the program a staged job runs when it is a file here
// named by a relative path (./fit.sh, bin/tool) that no --in stages yet: a
// staged task runs in a private directory holding only what is staged, and
// its own program is always meant to be there. A program found on PATH, an
// absolute one, or one a {} fills in is left alone.
func (st *staging) addProgram(wd string, spec *burst.JobSpec) error {
	var argv0 string
	switch {
	case spec.Map != nil && !spec.Map.Shell && !spec.Map.Commands && len(spec.Map.Template) > 0:
		argv0 = spec.Map.Template[0]
	case spec.Map == nil && spec.Script == "" && len(spec.Argv) > 0:
		argv0 = spec.Argv[0]
	}
	rel := filepath.ToSlash(filepath.Clean(argv0))
	if argv0 == "" || filepath.IsAbs(argv0) || !strings.Contains(argv0, "/") || strings.Contains(argv0, "{") ||
		rel == ".." || strings.HasPrefix(rel, "../") {
		return nil
	}
	for _, f := range st.files {
		if f.path == rel {
			return nil
		}
	}
	if fi, err := os.Stat(filepath.Join(wd, rel)); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	return st.addLocal(wd, rel, nil, "the program")
}

// s3Input reads an s3:// --in: s3://BUCKET/KEY, pinned to a digest by
// #sha256:HEX at its end (checked on arrival).
func s3Input(p string) (burst.Input, error) {
	in := burst.Input{URL: p}
	if i := strings.LastIndex(p, "#sha256:"); i >= 0 {
		in.URL, in.Digest = p[:i], p[i+1:]
		if !burst.ValidDigest(in.Digest) {
			return in, usage("--in %s: the pin %s is not sha256:<64 lowercase hex> (e.g. from `sha256sum`)", p, in.Digest)
		}
	}
	if bucket, key, _ := strings.Cut(in.URL[len("s3://"):], "/"); bucket == "" || key == "" || strings.HasSuffix(key, "/") {
		return in, usage("--in %s: give an object as s3://BUCKET/KEY (a prefix is not staged: name each object)", p)
	}
	return in, nil
}

// checkOutGlob refuses an --out that can never match: absolute, leaving
// the task's directory, or not a glob.
func checkOutGlob(g string) error {
	clean := filepath.ToSlash(filepath.Clean(g))
	if filepath.IsAbs(g) || clean == ".." || strings.HasPrefix(clean, "../") {
		return usage("--out %q can never match: outputs are found in the task's own directory; give a glob relative to it, e.g. --out 'results/*.csv'", g)
	}
	if err := burst.CheckRelPath("--out", clean); err != nil {
		return usage("%v", err)
	}
	return nil
}

// addLocal adds the file or directory p (relative to wd) as staged input(s).
func (st *staging) addLocal(wd, p string, task *int, flag string) error {
	if filepath.IsAbs(p) {
		return usage("%s %s is absolute: staged files keep their path relative to the task's directory; cd to a directory above it and give it relative (e.g. cd %s && burst ... %s %s)",
			flag, p, filepath.Dir(p), flag, filepath.Base(p))
	}
	rel := filepath.ToSlash(filepath.Clean(p))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return usage("%s %s leaves the current directory: run burst from a directory above it and give the path from there", flag, p)
	}
	if rel == "." {
		return usage("%s .: stage the files you need by name (the whole directory would be staged into itself)", flag)
	}
	src := filepath.Join(wd, rel)
	fi, err := os.Stat(src)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return usage("%s %s: no such file or directory here (%s): check the path", flag, p, wd)
		}
		return usage("%s %s: %v", flag, p, err)
	}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return usage("%s %s is not a regular file: stage files or directories of files", flag, p)
		}
		st.files = append(st.files, localInput{path: rel, src: src, mode: uint32(fi.Mode().Perm()), task: task})
		return nil
	}
	return filepath.WalkDir(src, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return usage("%s %s: %v", flag, p, err)
		}
		if d.IsDir() {
			return nil
		}
		fi, err := os.Stat(q) // a link to a file stages the file
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		r, _ := filepath.Rel(wd, q)
		st.files = append(st.files, localInput{path: filepath.ToSlash(r), src: q, mode: uint32(fi.Mode().Perm()), task: task})
		return nil
	})
}

// addMapInputs stages, for each task of a map, its {} inputs that name
// files here (relative to wd) or s3:// objects: each task gets only its
// own. An object lies at BUCKET/KEY in the task's directory, and {} reads
// as that path: sources (the spec's) are rewritten so.
func (st *staging) addMapInputs(wd string, sources []mapspec.Source, n int64, columns bool) error {
	staged := map[string]burst.Input{} // URL as given → the input
	for _, src := range sources {
		for _, v := range mapspec.Columns(src) { // each column of each input (--colsep, linked groups)
			if strings.HasPrefix(v, "s3://") {
				in, err := s3Input(v)
				if err != nil {
					return err
				}
				in.Path = in.URL[len("s3://"):]
				staged[v] = in
			}
		}
	}
	for i := int64(0); i < n; i++ {
		for _, v := range mapspec.Inputs(sources, i, columns) {
			if in, ok := staged[v]; ok {
				in.Task = new(int)
				*in.Task = int(i)
				st.urls = append(st.urls, in)
				continue
			}
			if v == "" || strings.HasPrefix(v, "-") {
				continue
			}
			at := v
			if !filepath.IsAbs(at) {
				at = filepath.Join(wd, v)
			}
			if fi, err := os.Stat(at); err != nil || fi.IsDir() {
				continue // not a file here: an argument like any other
			}
			task := int(i)
			if err := st.addLocal(wd, v, &task, "the map input"); err != nil {
				return err
			}
		}
	}
	for _, src := range sources {
		for k, v := range src {
			if !columns {
				if in, ok := staged[v]; ok {
					src[k] = in.Path
				}
				continue
			}
			cols := strings.Split(v, mapspec.ColumnSep) // each column of an input on its own
			for c, col := range cols {
				if in, ok := staged[col]; ok {
					cols[c] = in.Path
				}
			}
			src[k] = strings.Join(cols, mapspec.ColumnSep)
		}
	}
	return nil
}

// upload hashes and uploads the local files (each content once) and puts
// every input into spec. A file that changes while it is read is refused:
// its hash would name neither version.
func (st *staging) upload(ctx context.Context, cl *client.Client, spec *burst.JobSpec) error {
	spec.Inputs = append(spec.Inputs[:0], st.urls...)
	if len(st.files) == 0 {
		return nil
	}
	type stamp struct {
		size  int64
		mtime int64
	}
	before := make([]stamp, len(st.files))
	var srcs []string
	at := map[string]int{} // src → index in srcs: a file given twice is sent once
	for i, f := range st.files {
		fi, err := os.Stat(f.src)
		if err != nil {
			return usage("%s: %v", f.path, err)
		}
		before[i] = stamp{fi.Size(), fi.ModTime().UnixNano()}
		if _, ok := at[f.src]; !ok {
			at[f.src] = len(srcs)
			srcs = append(srcs, f.src)
		}
	}
	refs, err := cl.UploadFiles(ctx, srcs, client.BlobPut{Project: spec.Project, Kind: "input"})
	if err != nil {
		return fmt.Errorf("uploading the inputs: %w", err)
	}
	if len(refs) != len(srcs) {
		return fmt.Errorf("uploading the inputs: the server answered for %d of %d files", len(refs), len(srcs))
	}
	for i, f := range st.files {
		fi, err := os.Stat(f.src)
		if err != nil || fi.Size() != before[i].size || fi.ModTime().UnixNano() != before[i].mtime {
			return usage("%s changed while it was being uploaded: wait until whatever writes it is done, then submit again", f.path)
		}
		ref := refs[at[f.src]]
		if ref.Size != fi.Size() {
			return usage("%s changed while it was being uploaded (%d bytes hashed, %d now): wait until whatever writes it is done, then submit again", f.path, ref.Size, fi.Size())
		}
		spec.Inputs = append(spec.Inputs, burst.Input{Path: f.path, Digest: ref.Digest, Size: ref.Size, Mode: f.mode, Task: f.task})
	}
	return nil
}

// unstagedLocal is spec.Local less the paths that staging puts in the
// task's directory: a machine that shares nothing has those.
func unstagedLocal(local []string, st *staging) []string {
	if st == nil || st.empty() {
		return local
	}
	return slices.DeleteFunc(local, func(p string) bool {
		c := filepath.ToSlash(filepath.Clean(p))
		for _, f := range st.files {
			if f.path == c || strings.HasPrefix(f.path, c+"/") {
				return true
			}
		}
		return false
	})
}

// fetchOutputs downloads every output of job id into dir at its relative
// path; when two tasks left the same path, every task's files go under
// dir/<task index>/ instead (said on w). A file already there with the
// same content is left alone. It returns what it fetched, for the summary.
func fetchOutputs(ctx context.Context, cl *client.Client, id int64, tasks int, dir string, w io.Writer) (fetched, kept int, bytes int64, err error) {
	var all []client.TaskOutputs
	for from := 0; from < max(tasks, 1); from += 1000 {
		page, err := cl.Outputs(ctx, id, from, 1000)
		if err != nil {
			return 0, 0, 0, err
		}
		all = append(all, page...)
	}
	owner := map[string]int{}
	split := false
	for _, t := range all {
		for _, f := range t.Files {
			if err := burst.CheckRelPath("output", f.Path); err != nil || !burst.ValidDigest(f.Digest) {
				return 0, 0, 0, fmt.Errorf("task %d's output %q is not a relative path and digest: not fetched", t.Task, f.Path)
			}
			if o, ok := owner[f.Path]; ok && o != t.Task {
				split = true
			}
			owner[f.Path] = t.Task
		}
	}
	if split {
		fmt.Fprintf(w, "burst: job %d: tasks left files at the same paths: each task's outputs go under %s/<task index>/\n", id, dir)
	}
	mask := umask() // once: read from /proc
	for _, t := range all {
		for _, f := range t.Files {
			dst := filepath.Join(dir, filepath.FromSlash(f.Path))
			if split {
				dst = filepath.Join(dir, fmt.Sprint(t.Task), filepath.FromSlash(f.Path))
			}
			if sameContent(dst, f) {
				kept++
				continue
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return fetched, kept, bytes, err
			}
			if err := cl.FetchBlob(ctx, client.BlobRef{Digest: f.Digest, Size: f.Size}, dst); err != nil {
				return fetched, kept, bytes, fmt.Errorf("fetch %s of task %d: %w", f.Path, t.Task, err)
			}
			if f.Mode != 0 {
				os.Chmod(dst, fetchedMode(f.Mode, mask))
			}
			fetched++
			bytes += f.Size
		}
	}
	return fetched, kept, bytes, nil
}

// fetchedMode is the mode a fetched output gets: the task's permission
// bits less the umask, as cp gives a copy without -p. A task cannot make
// a file it left world-writable, setuid or sticky where it is fetched.
func fetchedMode(task uint32, umask fs.FileMode) fs.FileMode {
	return fs.FileMode(task) & fs.ModePerm &^ umask
}

// umask is the process's file mode creation mask (Linux's
// /proc/self/status says it without changing it); 022 where unknown.
func umask() fs.FileMode {
	b, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return fs.FileMode(m) & fs.ModePerm
				}
			}
		}
	}
	return 0o022
}

// sameContent reports whether the file at p already holds f's bytes.
func sameContent(p string, f client.OutputFile) bool {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != f.Size {
		return false
	}
	ref, err := client.HashFile(p)
	return err == nil && ref.Digest == f.Digest
}

// showStaging adds a staged job's inputs and its tasks' outputs to burst
// show's rows: the shared inputs by name, a map's own by count.
func showStaging(row func(k, v string), s *burst.JobSpec, outs []client.TaskOutputs) {
	var own, ownBytes int64
	for _, in := range s.Inputs {
		if in.Task != nil {
			own++
			ownBytes += in.Size
			continue
		}
		if in.URL != "" {
			row("Input:", in.Path+" (from "+in.URL+")")
		} else {
			row("Input:", fmt.Sprintf("%s (%s)", in.Path, bytesHuman(in.Size)))
		}
	}
	if own > 0 {
		row("Inputs:", fmt.Sprintf("%d files of the tasks' own (%s)", own, bytesHuman(ownBytes)))
	}
	if len(s.Outputs) > 0 {
		row("Outputs:", strings.Join(s.Outputs, " "))
	}
	for _, t := range outs {
		for _, f := range t.Files {
			row("Output:", fmt.Sprintf("task %d: %s (%s)", t.Task, f.Path, bytesHuman(f.Size)))
		}
	}
}
