package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestLoneCommandTree checks that a command run from the root with it
// alone (newRootFor, what Main makes when args name a command) is the
// command of the whole tree: the same name, and for it and every
// subcommand under it the same --help, flags, completions included.
func TestLoneCommandTree(t *testing.T) {
	full := newRoot(&bytes.Buffer{}, &bytes.Buffer{})
	if got, want := len(full.Commands()), len(commands); got < want {
		t.Fatalf("the whole tree has %d commands, the table %d", got, want)
	}
	help := func(root *cobra.Command, out *bytes.Buffer, path []string) string {
		t.Helper()
		out.Reset()
		root.SetArgs(append(append([]string{}, path...), "--help"))
		if err := root.Execute(); err != nil {
			t.Fatalf("%s --help: %v", strings.Join(path, " "), err)
		}
		return out.String()
	}
	n := 0
	for _, mk := range commands {
		var fullOut bytes.Buffer
		full := newRoot(&fullOut, &fullOut)
		c, _, err := full.Find([]string{mk.name})
		if err != nil || c.Name() != mk.name || c.GroupID != mk.group {
			t.Fatalf("commands names %q (group %s): the tree has %v (group %s), %v", mk.name, mk.group, c.Name(), c.GroupID, err)
		}
		var walk func(c *cobra.Command, path []string)
		walk = func(c *cobra.Command, path []string) {
			var loneOut bytes.Buffer
			lone := newRootFor(&loneOut, &loneOut, path)
			if got := len(lone.Commands()); got > 2 { // the command, and completion
				t.Errorf("%s: the lone tree has %d commands", strings.Join(path, " "), got)
			}
			want := help(full, &fullOut, path)
			if !strings.Contains(want, "Usage:") {
				t.Fatalf("burst %s --help printed no usage: %q", strings.Join(path, " "), want)
			}
			if got := help(lone, &loneOut, path); got != want {
				t.Errorf("burst %s --help differs alone:\n%s\nin the whole tree:\n%s", strings.Join(path, " "), got, want)
			}
			n++
			for _, s := range c.Commands() {
				walk(s, append(append([]string{}, path...), s.Name()))
			}
		}
		walk(c, []string{mk.name})
	}
	if n < len(commands)*2 {
		t.Fatalf("compared %d commands only: the walk misses subcommands", n)
	}
}

// BenchmarkRoot is what making the command tree costs each burst command:
// the whole tree, and the root with `run` alone (as Main makes it for
// `burst run`).
func BenchmarkRoot(b *testing.B) {
	for _, bc := range []struct {
		name string
		args []string
	}{{"whole", nil}, {"run-alone", []string{"run", "--", "true"}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				newRootFor(io.Discard, io.Discard, bc.args)
			}
		})
	}
}

// burst --version (and -V, as the Slurm commands take it) prints what
// burst version prints, instead of refusing an unknown flag.
func TestVersionFlag(t *testing.T) {
	var want bytes.Buffer
	if code := Main([]string{"version"}, &want, io.Discard); code != 0 || !strings.HasPrefix(want.String(), "burst ") {
		t.Fatalf("burst version: exit %d, %q", code, want.String())
	}
	for _, flag := range []string{"--version", "-V"} {
		var out, errOut bytes.Buffer
		if code := Main([]string{flag}, &out, &errOut); code != 0 || out.String() != want.String() {
			t.Errorf("burst %s: exit %d, stdout %q, stderr %q; want exit 0 and %q", flag, code, out.String(), errOut.String(), want.String())
		}
	}
}

// TestCommandFirst: flags before the command go after its name, so that
// `burst -q -o json jobs` reads as `burst jobs -q -o json` (it said
// unknown command "json"); nothing moves without a command, after --, or
// when the first word is no flag.
func TestCommandFirst(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"-q -o json jobs", "jobs -q -o json"},
		{"-o json jobs --all", "jobs -o json --all"},
		{"--cpus 2 run -- true", "run --cpus 2 -- true"},
		{"jobs -q", "jobs -q"},
		{"-x -- jobs", "-x -- jobs"},
		{"-q nothing", "-q nothing"},
		{"--help", "--help"},
	} {
		if got := strings.Join(commandFirst(strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
	// Through Main: the command's own refusal of a flag it does not take,
	// not an unknown command made of a flag's value.
	var errOut bytes.Buffer
	if code := Main([]string{"-Q", "-o", "json", "version"}, io.Discard, &errOut); code != 2 || strings.Contains(errOut.String(), "unknown command") || !strings.Contains(errOut.String(), "-Q") {
		t.Errorf("burst -Q -o json version: exit %d, %q; want exit 2 naming -Q", code, errOut.String())
	}
}
