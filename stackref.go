package burst

import (
	"fmt"
	"strconv"
	"strings"
)

// StackRef is the software stack a job's tasks run inside (docs/stacks.md),
// resolved when the job is submitted: a job keeps the version and digest it
// was given even after its stack's name moves on to a newer version.
// Digest ("sha256:<hex>") names the stack's root filesystem blob.
type StackRef struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Digest  string `json:"digest"`
	Size    int64  `json:"size"`
	// Keep: each task runs on a writable root whose changes are kept,
	// for `burst stack commit` (burst run --keep-changes).
	Keep bool `json:"keep,omitempty"`
}

// String is NAME:VERSION.
func (r *StackRef) String() string { return fmt.Sprintf("%s:%d", r.Name, r.Version) }

// CheckStackName says whether name may name a stack: 1 to 63 of a-z 0-9 .
// _ -, beginning with a letter or digit.
func CheckStackName(name string) error {
	if !stackName(name) {
		return fmt.Errorf("stack name %s: use 1 to 63 of a-z 0-9 . _ -, beginning with a letter or digit (e.g. pytorch-2.3)", quoteShort(name))
	}
	return nil
}

// ParseStackRef reads a stack reference as people write it: NAME (its
// latest version when resolved), NAME:V or NAME@sha256:HEX.
func ParseStackRef(ref string) (*StackRef, error) {
	r := &StackRef{Name: ref}
	if n, d, ok := strings.Cut(ref, "@"); ok {
		r.Name, r.Digest = n, d
		if !ValidDigest(d) {
			return nil, fmt.Errorf("stack %s: a digest is sha256:<64 hex> (see `burst stack list`)", quoteShort(ref))
		}
	} else if n, v, ok := strings.Cut(ref, ":"); ok {
		x, err := strconv.Atoi(v)
		if err != nil || x < 1 {
			return nil, fmt.Errorf("stack %s: a version is a number from 1 (NAME:3)", quoteShort(ref))
		}
		r.Name, r.Version = n, x
	}
	if err := CheckStackName(r.Name); err != nil {
		return nil, err
	}
	return r, nil
}

// Stacks are the stack references of the job: its own, and each pipe
// stage's (pointers into s).
func (s *JobSpec) Stacks() []*StackRef {
	var out []*StackRef
	if s.Stack != nil {
		out = append(out, s.Stack)
	}
	if s.Pipe != nil {
		for i := range s.Pipe.Stages {
			if r := s.Pipe.Stages[i].Stack; r != nil {
				out = append(out, r)
			}
		}
	}
	return out
}

// TaskStack is the stack task idx of a job of s runs inside: for a pipe,
// its stage's; else the job's (nil: none).
func (s *JobSpec) TaskStack(idx int) *StackRef {
	if s.Pipe == nil {
		return s.Stack
	}
	if st, _ := s.Pipe.StageOf(idx); st >= 0 {
		return s.Pipe.Stages[st].Stack
	}
	return nil
}

// validateStack checks the resolved stack references.
func (s *JobSpec) validateStack() error {
	for _, r := range s.Stacks() {
		if s.Native {
			return fmt.Errorf("--stack needs burst's agents: drop --native")
		}
		if err := CheckStackName(r.Name); err != nil {
			return err
		}
		if r.Digest != "" && !ValidDigest(r.Digest) {
			return fmt.Errorf("stack %s: digest %s is not sha256:<64 hex>", r.Name, quoteShort(r.Digest))
		}
	}
	return nil
}

// stackName is ^[a-z0-9][a-z0-9._-]{0,62}$ as a loop: as a regexp, its
// 62 optional copies cost every start of the binary about 800 allocations.
func stackName(name string) bool {
	if len(name) < 1 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}
