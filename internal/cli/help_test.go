package cli

import (
	"bytes"
	"io"
	"regexp"
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

// TestHelpTopics: burst help NAME prints what NAME's --help prints, for
// Slurm's commands as burst runs them (burst sbatch is burst slurm
// sbatch), and exits 0; a topic that is no command is a usage error that
// names the closest commands and lists them all (cobra's "Unknown help
// topic" exited 0).
func TestHelpTopics(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(args, &out, &errb)
		return code, out.String(), errb.String()
	}
	for _, topic := range append([]string{"run", "project create", "slurm sbatch"}, SlurmNames...) {
		words := strings.Fields(topic)
		code, got, stderr := run(append([]string{"help"}, words...)...)
		_, want, _ := run(append(words, "--help")...)
		if code != 0 || stderr != "" || got != want || !strings.Contains(got, "Usage:") {
			t.Errorf("burst help %s: exit %d, stderr %q, stdout:\n%s\nwant exit 0 and what burst %s --help prints:\n%s", topic, code, stderr, got, topic, want)
		}
	}
	for _, c := range []struct{ args, want string }{
		{"help jbos", `burst: burst help: unknown command "jbos" (did you mean jobs?): use agent, budget, cache, cancel, cluster, completion, cost, events, help, jobs,`},
		{"help sbath", `burst: burst help: unknown command "sbath" (did you mean sbatch?): use `},
		{"help project creat", `burst: burst help: unknown command "creat" (did you mean create?): use create, grant, list, revoke, set, show (see ` + "`burst project --help`)\n"},
	} {
		code, out, stderr := run(strings.Fields(c.args)...)
		if code != 2 || out != "" || !strings.HasPrefix(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("burst %s: exit %d, stdout %q, stderr %q; want exit 2 and one line starting %q", c.args, code, out, stderr, c.want)
		}
	}
}

// TestMapHelpNamesHiddenFlags: burst map takes GNU parallel's other
// names of its flags (-P, --xapply, --progress, --line-buffer, -u, --env,
// ...), hidden from the flag list; its help names each (the README says
// they are accepted, and --help left them out).
func TestMapHelpNamesHiddenFlags(t *testing.T) {
	c := newMapCmd()
	n := 0
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden || f.Name == "resume-joblog" { // what --resume with no job id becomes (parallelResumeArgs): named so
			return
		}
		n++
		name := "--" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand
		}
		if !regexp.MustCompile(`(^|[\s(])` + regexp.QuoteMeta(name) + `\b`).MatchString(c.Long) {
			t.Errorf("burst map --help does not name %s (hidden: %s)", name, f.Name)
		}
	})
	if n < 10 {
		t.Fatalf("%d hidden flags only: the test misses them", n)
	}
}
