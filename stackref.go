package burst

import (
	"fmt"
	"regexp"
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

var stackName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// CheckStackName says whether name may name a stack: 1 to 63 of a-z 0-9 .
// _ -, beginning with a letter or digit.
func CheckStackName(name string) error {
	if !stackName.MatchString(name) {
		return fmt.Errorf("stack name %s: use 1 to 63 of a-z 0-9 . _ -, beginning with a letter or digit (e.g. pytorch-2.3)", quoteShort(name))
	}
	return nil
}

// validateStack checks a resolved stack reference.
func (s *JobSpec) validateStack() error {
	r := s.Stack
	if r == nil {
		return nil
	}
	if s.Native {
		return fmt.Errorf("--stack needs burst's agents: drop --native")
	}
	if err := CheckStackName(r.Name); err != nil {
		return err
	}
	if r.Digest != "" && !ValidDigest(r.Digest) {
		return fmt.Errorf("stack %s: digest %s is not sha256:<64 hex>", r.Name, quoteShort(r.Digest))
	}
	return nil
}
