package burst

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Input is a file staged into a task's private directory before the task
// runs: a blob of the store (Digest, Size) or an object the agent fetches
// itself (URL s3://bucket/key, with its own credentials; Digest, when
// given too, is checked on arrival).
type Input struct {
	// Path is where the file lies in the task's directory: relative,
	// clean, never leaving it.
	Path   string `json:"path"`
	Digest string `json:"digest,omitempty"` // "sha256:<64 lowercase hex>"
	Size   int64  `json:"size,omitempty"`
	Mode   uint32 `json:"mode,omitempty"` // permission bits; 0 reads as 0644
	URL    string `json:"url,omitempty"`
	// Task, when set, stages the file for that task of a map alone (a
	// {} input that named a local file); nil stages it for every task.
	Task *int `json:"task,omitempty"`
}

// Staging limits.
const (
	// MaxOutputGlobs bounds a job's --out patterns.
	MaxOutputGlobs = 256
	// MaxInputs bounds a job's staged files (a map's per-task ones
	// included); the job's stored size (MaxSpecBytes) bounds them too.
	MaxInputs = 100_000
)

// Staged reports whether the job's tasks run in private directories
// holding inputs or producing outputs.
func (s *JobSpec) Staged() bool { return len(s.Inputs) > 0 || len(s.Outputs) > 0 }

// ValidDigest reports whether d is a blob digest as the store names them.
func ValidDigest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, c := range hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CheckRelPath checks a path that names a place inside a task's
// directory: relative, clean, and never above it. what names it in the
// message, which says the fix.
func CheckRelPath(what, p string) error {
	if err := checkPath(what, p); err != nil {
		return err
	}
	switch {
	case p == "":
		return fmt.Errorf("%s is empty: give a path relative to the task's directory", what)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%s %s is absolute: staged paths are relative to the task's directory; cd to the directory above it and give it relative (e.g. --in data/x.csv)", what, quoteShort(p))
	case p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/.."):
		return fmt.Errorf("%s %s leaves the task's directory (..): run burst from a directory above it and give the path from there", what, quoteShort(p))
	case path.Clean(p) != p || p == ".":
		return fmt.Errorf("%s %s is not a clean relative path: write it as %s", what, quoteShort(p), quoteShort(path.Clean(p)))
	}
	return nil
}

// validateStaging checks Inputs and Outputs.
func (s *JobSpec) validateStaging() error {
	if !s.Staged() {
		return nil
	}
	if s.Pipe != nil {
		return errors.New("--in and --out apply to run and map, not to a pipe's stages: stage the files of a pipe yourself")
	}
	if s.Native {
		return errors.New("--in and --out need burst's agents: drop --native")
	}
	if len(s.Inputs) > MaxInputs {
		return fmt.Errorf("the job stages %d files; the limit is %d: pack them into fewer (tar) or fetch them from s3:// URLs", len(s.Inputs), MaxInputs)
	}
	if len(s.Outputs) > MaxOutputGlobs {
		return fmt.Errorf("the job has %d --out patterns; the limit is %d: use wider globs", len(s.Outputs), MaxOutputGlobs)
	}
	type at struct {
		task int
		path string
	}
	seen := make(map[at]bool, len(s.Inputs))
	shared := map[string]bool{}
	for _, in := range s.Inputs {
		if err := CheckRelPath("--in", in.Path); err != nil {
			return err
		}
		if err := in.check(s.Map != nil); err != nil {
			return err
		}
		k := at{-1, in.Path}
		if in.Task != nil {
			k.task = *in.Task
		} else {
			shared[in.Path] = true
		}
		if seen[k] {
			return fmt.Errorf("--in %s is given twice: give each staged path once", quoteShort(in.Path))
		}
		seen[k] = true
	}
	for k := range seen {
		if k.task >= 0 && shared[k.path] {
			return fmt.Errorf("%s is both a shared --in and a task's own input: rename one of them", quoteShort(k.path))
		}
	}
	for _, g := range s.Outputs {
		if err := CheckRelPath("--out", g); err != nil {
			return err
		}
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("--out %s is not a valid glob (%v): see `burst help run`", quoteShort(g), err)
		}
	}
	return nil
}

// check checks one input's source and task.
func (in *Input) check(isMap bool) error {
	switch {
	case in.URL != "":
		rest, ok := strings.CutPrefix(in.URL, "s3://")
		if bucket, key, _ := strings.Cut(rest, "/"); !ok || bucket == "" || key == "" || strings.HasSuffix(key, "/") {
			return fmt.Errorf("--in %s: give an object as s3://BUCKET/KEY", quoteShort(in.URL))
		}
		if err := checkText("--in URL", in.URL, MaxPathBytes, "give a shorter one"); err != nil {
			return err
		}
		if in.Digest != "" && !ValidDigest(in.Digest) {
			return fmt.Errorf("--in %s: digest %s is not sha256:<64 hex>", quoteShort(in.Path), quoteShort(in.Digest))
		}
	case !ValidDigest(in.Digest):
		return fmt.Errorf("--in %s: digest %s is not sha256:<64 hex>: upload it with `burst run --in` (which hashes it)", quoteShort(in.Path), quoteShort(in.Digest))
	}
	if in.Size < 0 {
		return fmt.Errorf("--in %s: size %d is negative", quoteShort(in.Path), in.Size)
	}
	if in.Mode&^0o777 != 0 {
		return fmt.Errorf("--in %s: mode %o holds more than permission bits", quoteShort(in.Path), in.Mode)
	}
	if in.Task != nil {
		if !isMap {
			return fmt.Errorf("--in %s names task %d, but only a map's inputs belong to one task", quoteShort(in.Path), *in.Task)
		}
		// A map's count of tasks is known once its inputs are counted
		// (after this check, at the server): a task past it stages nothing.
		if *in.Task < 0 || *in.Task >= MaxTasks {
			return fmt.Errorf("--in %s names task %d: tasks are 0 to %d", quoteShort(in.Path), *in.Task, MaxTasks-1)
		}
	}
	return nil
}
