package server

import (
	"os"
	"path/filepath"
	"testing"
)

// resolvePath follows links before "..", as the kernel does: a/L/../x with
// L -> b/c is b/x, not a/x (which filepath.Clean first would give).
func TestResolvePath(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"a", "b/c"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "b", "c"), filepath.Join(root, "a", "L")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(root, "a", "D")) // dangling
	for _, c := range []struct{ in, want string }{
		{root + "/a/L/../x", root + "/b/x"},
		{root + "/a/L/x/../../y", root + "/b/y"},
		{root + "/a/./L//z", root + "/b/c/z"},
		{root + "/a/new/../k", root + "/a/k"},
		{root + "/a/D/../k", root + "/a/k"}, // a dangling link cannot be gone through: lexical from there
	} {
		if got := resolvePath(c.in); got != c.want {
			t.Errorf("resolvePath(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	if !within(root+"/b/x", root+"/b") || within(root+"/bb", root+"/b") || !within(root+"/b", root+"/b") {
		t.Error("within")
	}
}
