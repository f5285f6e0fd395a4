package sbatch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/shellquote"
)

// Slurm's --container=PATH names an OCI bundle directory on the node
// (runc's layout: config.json beside rootfs/). burst runs tasks inside
// stacks (docs/stacks.md): named, versioned root filesystems kept in its
// blob store. --container takes a stack reference (NAME, NAME:V,
// NAME@sha256:HEX) and runs the job inside that stack, as burst run
// --stack does; a path (an OCI bundle or a root filesystem) is refused
// with the `burst stack create` command that makes a stack of it.

// containerRef checks --container's value: a stack reference, returned
// as written; a path is refused naming the fix.
func containerRef(v string) (string, error) {
	if isPath(v) {
		rootfs := v
		if fi, err := os.Stat(filepath.Join(v, "rootfs")); err == nil && fi.IsDir() {
			rootfs = filepath.Join(v, "rootfs") // an OCI bundle: its root filesystem
		}
		name := stackNameFor(v)
		return "", fmt.Errorf("%s is a path: burst runs jobs inside stacks, not OCI bundles; make one of it with `burst stack create %s --from-dir %s` and give --container=%s", v, name, shellquote.Quote(rootfs), name)
	}
	if _, err := burst.ParseStackRef(v); err != nil {
		return "", fmt.Errorf("%v (--container takes a stack: NAME, NAME:V or NAME@sha256:HEX; see `burst stack list`)", err)
	}
	return v, nil
}

// isPath says whether a --container value is a path rather than a stack
// reference: one with a slash, . or .., or a directory that is there.
func isPath(v string) bool {
	if strings.ContainsRune(v, '/') || v == "." || v == ".." {
		return true
	}
	fi, err := os.Stat(v)
	return err == nil && fi.IsDir()
}

// stackNameFor is a stack name for the bundle at path, for the message:
// its directory's name in a stack name's letters, else "NAME".
func stackNameFor(path string) string {
	n := strings.ToLower(filepath.Base(filepath.Clean(path)))
	n = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, n)
	n = strings.TrimLeft(n, ".-_")
	if burst.CheckStackName(n) != nil {
		return "NAME"
	}
	return n
}

// applyContainer runs spec inside the stack --container names (resolved
// to a version at submit, as --stack).
func (s *Script) applyContainer(spec *burst.JobSpec) {
	if s.Container == "" {
		return
	}
	spec.Stack, _ = burst.ParseStackRef(s.Container) // checked when it was read
}
