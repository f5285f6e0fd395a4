package stack

import (
	"errors"
	"fmt"
)

// Change is one difference between two versions' manifests.
type Change struct {
	Op   string `json:"op"` // "added", "removed" or "changed"
	Path string `json:"path"`
	Size int64  `json:"size"`          // its size in the newer version (removed: in the older)
	Was  int64  `json:"was,omitempty"` // changed: its size in the older version
}

// Diff lists what differs from a to b, in path order: a file is changed
// when its type, mode, bytes or link target differ.
func Diff(a, b []File) []Change {
	old := make(map[string]File, len(a))
	for _, f := range a {
		old[f.Path] = f
	}
	var out []Change
	seen := make(map[string]bool, len(b))
	for _, f := range b {
		seen[f.Path] = true
		o, ok := old[f.Path]
		switch {
		case !ok:
			out = append(out, Change{Op: "added", Path: f.Path, Size: f.Size})
		case o != f:
			out = append(out, Change{Op: "changed", Path: f.Path, Size: f.Size, Was: o.Size})
		}
	}
	for _, f := range a {
		if !seen[f.Path] {
			out = append(out, Change{Op: "removed", Path: f.Path, Size: f.Size})
		}
	}
	sortChanges(out)
	return out
}

func sortChanges(cs []Change) {
	// insertion of removals at their place: a plain sort by path
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].Path < cs[j-1].Path; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// ErrEmpty is a commit with nothing changed.
var ErrEmpty = errors.New("the task changed nothing in its stack")

// Describe is a change for people: "+ path (12 B)".
func (c Change) String() string {
	switch c.Op {
	case "added":
		return fmt.Sprintf("+ %s (%d B)", c.Path, c.Size)
	case "removed":
		return fmt.Sprintf("- %s (%d B)", c.Path, c.Size)
	}
	return fmt.Sprintf("~ %s (%d B -> %d B)", c.Path, c.Was, c.Size)
}
