package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestFlagValueNames walks every command's flags and checks the value name
// --help shows for each. pflag's UnquoteUsage takes the first back-quoted
// word of a flag's usage as its value name ("--on burst cluster list" came
// of "... `burst cluster list` shows the others"), else the flag's type: a
// value name is one word, upper case or a type, and never a command.
func TestFlagValueNames(t *testing.T) {
	root := newRoot(io.Discard, io.Discard)
	n := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			n++
			name, _ := pflag.UnquoteUsage(f)
			if strings.ContainsAny(name, " \t'\"`") || strings.Contains(name, "burst") {
				t.Errorf("%s --%s: value name %q (from the back-quotes in its usage %q): rewrite the usage so that --help reads right",
					c.CommandPath(), f.Name, name, f.Usage)
			}
		}
		c.LocalFlags().VisitAll(check)
		c.PersistentFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if n < 50 {
		t.Fatalf("walked %d flags only: the walk misses commands", n)
	}
}
