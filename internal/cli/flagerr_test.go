package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestUnknownFlagsSuggest: a mistyped flag is answered with the closest
// flags of its command, with the usage exit status (burst map's 255, as
// parallel's); one close to none points at --help. No server is needed:
// flags are parsed before anything connects.
func TestUnknownFlagsSuggest(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "--cpu", "2", "--", "true"}, 2, "burst: unknown flag: --cpu (did you mean --cpus?)\n"},
		{[]string{"run", "--cpu=2", "--", "true"}, 2, "burst: unknown flag: --cpu (did you mean --cpus?)\n"},
		{[]string{"run", "--mme", "1G", "--", "true"}, 2, "burst: unknown flag: --mme (did you mean --mem?)\n"},
		{[]string{"run", "--detatch", "--", "true"}, 2, "burst: unknown flag: --detatch (did you mean --detach?)\n"},
		{[]string{"run", "--zzzzzz", "--", "true"}, 2, "burst: unknown flag: --zzzzzz (see `burst run --help`)\n"},
		{[]string{"jobs", "--stat", "running"}, 2, "burst: unknown flag: --stat (did you mean --state?)\n"},
		{[]string{"jobs", "-state", "running"}, 2, "burst: unknown shorthand flag: 's' in -state (did you mean --state?)\n"},
		// parallel reads --retry as its --retry-failed (the only option whose names start so).
		{[]string{"map", "--retry", "2", "--", "echo", ":::", "a"}, 255, "burst: --retry (--retry-failed) is GNU parallel's: burst map does not take it; burst map --joblog FILE --resume-failed -- CMD ... runs again what failed (with the same command and inputs); or did you mean --retries?\n"},
		{[]string{"map", "--retris", "2", "--", "echo", ":::", "a"}, 255, "burst: unknown flag: --retris (did you mean --retries?)\n"},
		{[]string{"pipe", "--nmae", "x", "a"}, 2, "burst: unknown flag: --nmae (did you mean --name?)\n"},
		{[]string{"pipe", "--cpu", "2", "a | b"}, 2, "burst: burst pipe has no --cpu of its own: each stage asks for its resources (--cpus), before its command, inside the quotes: burst pipe 'gen | --cpus N filter'\n"},
		{[]string{"cluster", "create", "x", "--idle-stp", "2m"}, 2, "burst: unknown flag: --idle-stp (did you mean --idle-stop?)\n"},
		{[]string{"jbos"}, 2, "burst: unknown command \"jbos\" (did you mean jobs?): use agent, budget, cache, cancel, cluster, completion, cost, events, help, jobs, join-token, login, logout, logs, machine, map, pipe, project, results, run, server, show, slurm, stack, storage, types, ui, user, version, wait, whoami (see `burst --help`)\n"},
		{[]string{"sbtach", "job.sh"}, 2, "burst: unknown command \"sbtach\" (did you mean sbatch?): use agent, budget, cache, cancel, cluster, completion, cost, events, help, jobs, join-token, login, logout, logs, machine, map, pipe, project, results, run, server, show, slurm, stack, storage, types, ui, user, version, wait, whoami (see `burst --help`)\n"},
		{[]string{"show", "1", "--tasks", "-3"}, 2, "burst: --tasks -3: give a count of tasks, 0 or more\n"},
		// Slurm commands burst does not answer: said, not burst slurm's help and exit 0.
		{[]string{"slurm", "sprio"}, 2, "burst: burst slurm: unknown command \"sprio\": use link, resume, sacct, sacctmgr, sbatch, scancel, scontrol, sinfo, squeue, srun, sstat, suspend (see `burst slurm --help`)\n"},
		{[]string{"project", "creat", "mars"}, 2, "burst: burst project: unknown command \"creat\" (did you mean create?): use create, grant, list, revoke, set, show (see `burst project --help`)\n"},
	} {
		var out, errb bytes.Buffer
		if code := Main(c.args, &out, &errb); code != c.code || errb.String() != c.want {
			t.Errorf("burst %q: exit %d, %q; want exit %d, %q", c.args, code, errb.String(), c.code, c.want)
		}
	}
}

// TestEveryCommandSuggestsFlags: every command that parses its own flags
// (not the Slurm personality's, which read theirs as Slurm does) answers
// a flag mistyped by one letter with that flag.
func TestEveryCommandSuggestsFlags(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	n := 0
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() && s.Name() != "help" {
				walk(s, append(append([]string{}, path...), s.Name()))
			}
		}
		if len(path) == 0 || c.DisableFlagParsing {
			return
		}
		var flag string
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if flag == "" && !f.Hidden && f.Name != "help" {
				flag = f.Name
			}
		})
		if flag == "" {
			flag = "help"
		}
		args := append(append([]string{}, path...), "--"+flag+"x")
		var out, errb bytes.Buffer
		code := Main(args, &out, &errb)
		if code != 2 && code != 255 || !strings.Contains(errb.String(), "did you mean") || !strings.Contains(errb.String(), "--"+flag) {
			t.Errorf("burst %s: exit %d, %q; want a usage error that suggests --%s", strings.Join(args, " "), code, errb.String(), flag)
		}
		n++
	}
	walk(newRoot(io.Discard, io.Discard), nil)
	if n < 40 {
		t.Fatalf("tried %d commands only: the walk misses some", n)
	}
}

// TestEveryGroupRefusesUnknownSubcommand: a mistyped subcommand of any
// command that has subcommands (burst stack creat, burst storage st) is a
// usage error that lists them, exit 2, not the group's help and exit 0. No
// server is needed: nothing connects.
func TestEveryGroupRefusesUnknownSubcommand(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	var walk func(c *cobra.Command, path []string)
	n := 0
	walk = func(c *cobra.Command, path []string) {
		for _, s := range c.Commands() {
			if !s.IsAvailableCommand() || !s.HasAvailableSubCommands() {
				continue
			}
			p := append(append([]string{}, path...), s.Name())
			n++
			var out, errb bytes.Buffer
			code := Main(append(append([]string{}, p...), "frobnicate"), &out, &errb)
			want := "burst " + strings.Join(p, " ") + ": unknown command \"frobnicate\""
			if code != 2 || !strings.HasPrefix(errb.String(), "burst: "+want) {
				t.Errorf("burst %s frobnicate: exit %d, %q (stdout %d bytes); want exit 2, %q...", strings.Join(p, " "), code, errb.String(), out.Len(), want)
			}
			walk(s, p)
		}
	}
	walk(newRoot(io.Discard, io.Discard), nil)
	if n < 10 {
		t.Fatalf("walked %d groups: the walk found too few", n)
	}
}
