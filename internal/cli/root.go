// Package cli is burst's command line: one file per command, each parsing
// its flags, making one client call and rendering the answer for people
// (tables) or programs (-o json, -o yaml), by one set of output
// conventions (output.go); complete.go answers the shells' TAB.
//
// It holds no scheduling or storage logic; everything goes through the API.
package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/sbatch"
	"github.com/burst-sh/burst/internal/slurmface"
	"github.com/burst-sh/burst/internal/suggest"
)

// ExitError ends the program with Code after printing Msg (if any).
type ExitError struct {
	Code   int
	Msg    string
	usage  bool // made by usage: what was typed is wrong (Slurm's commands exit 1 then)
	getopt bool // an option getopt refused (sbatch and srun exit 255 then)
	bare   bool // Msg is printed as it is: a Slurm command's own words without its name ("Node x not found")
	// arraySpec: an --array that cannot be read (sbatch.ErrArraySpec),
	// which sbatch tells in the controller's words.
	arraySpec bool
}

func (e *ExitError) Error() string { return e.Msg }

// usage is an error in what the user typed: exit status 2.
func usage(format string, a ...any) error {
	return &ExitError{Code: 2, Msg: fmt.Sprintf(format, a...), usage: true}
}

// optUsage is usage for an error of slurmface's option parsing, marked
// when getopt itself refused an option.
func optUsage(err error) error {
	var ge *slurmface.GetoptError
	// -m or -t that Slurm's option checks refuse ends sbatch and srun as
	// getopt's refusals do: exit(-1).
	return &ExitError{Code: 2, Msg: err.Error(), usage: true, getopt: errors.As(err, &ge) || sbatch.Fatal(err),
		arraySpec: errors.Is(err, sbatch.ErrArraySpec)}
}

// slurmVersionLine is what the Slurm personality's commands answer to
// --version (-V): the Slurm release whose behaviour they follow.
const slurmVersionLine = "slurm " + slurmface.Version + " (burst)"

// Main runs the command line and returns the process exit status.
// Slurm's commands (the Slurm face: burst slurm NAME) exit 1 on any error
// of their own, a bad option or an unreachable server included, where
// burst's exit 2 for what was typed wrong; a job's exit status that
// srun or sbatch --wait passes on is kept.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && slices.Contains(SlurmNames, args[0]) {
		// burst sbatch job.sh, as a Slurm user guesses it: burst slurm sbatch.
		args = append([]string{"slurm"}, args...)
	}
	slurm := len(args) > 1 && args[0] == "slurm" && slices.Contains(SlurmNames, args[1])
	if slurm && len(args) == 3 && (args[2] == "--version" || args[2] == "-V") {
		fmt.Fprintln(stdout, slurmVersionLine) // tools probe for Slurm with it (sbatch --version)
		return 0
	}
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-V") {
		args = []string{"version"} // what most tools answer it with; burst's own word is burst version
	}
	args, defaultsFrom, dee := parallelDefaults(commandFirst(args), os.Getenv)
	if dee != nil { // an option of $PARALLEL's or a config file's refused
		fmt.Fprintln(stderr, prefixed(dee.Msg))
		return dee.Code
	}
	args = parallelResumeArgs(args)
	root := newRootFor(stdout, stderr, args)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	defaultsSaid(err, defaultsFrom)
	if word, ok := cobraUnknownCommand(err); ok {
		// burst jbos: cobra's own error (exit 1, "for \"burst\""), told as
		// every other unknown subcommand is: a usage error, exit 2.
		err = unknownCommand("burst", root, word, SlurmNames)
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		switch {
		case ee.bare:
			fmt.Fprintln(stderr, ee.Msg)
		case ee.Msg != "":
			fmt.Fprintln(stderr, prefixed(ee.Msg))
		}
		if slurm && ee.getopt && (args[1] == "sbatch" || args[1] == "srun") {
			return 255 // as Slurm 22.05's: exit(-1) for an option getopt refused
		}
		if slurm && ee.usage {
			return 1
		}
		return ee.Code
	}
	var ae *client.Error
	if errors.As(err, &ae) {
		fmt.Fprintln(stderr, "burst: "+ae.Message)
		if ae.Status >= 400 && ae.Status < 500 && !slurm {
			return 2
		}
		return 1
	}
	fmt.Fprintln(stderr, "burst: "+unreachable(err))
	return 1
}

// commandFirst moves the flags given before the command after its name:
// `burst -q -o json jobs` is `burst jobs -q -o json`, as `burst -o json
// jobs` already read (burst has no flags of its own but --help and
// --version). Without it, a flag cobra does not know before the command
// swallowed the next word as its value, and the command was looked for in
// the one after ("unknown command \"json\""). Nothing moves when no word
// names a command: the error then names the first word.
func commandFirst(args []string) []string {
	if len(args) == 0 || !strings.HasPrefix(args[0], "-") || args[0] == "-" {
		return args
	}
	for i, a := range args {
		if a == "--" {
			return args
		}
		if strings.HasPrefix(a, "-") {
			continue
		}
		for _, c := range commands {
			if c.name == a {
				return slices.Concat(args[i:i+1], args[:i], args[i+1:])
			}
		}
	}
	return args
}

// unreachable says what to check when a request could not reach its server
// at all (refused, no route, no such host, timed out): Go's own message
// (`Get "http://...": dial tcp ...: connect: connection refused`) names the
// request, not the fix. What an error wraps around it (an agent's "the
// server has been gone 3s: the agent exits: ...") is kept. Any other error
// is returned as it is.
func unreachable(err error) string {
	var ue *url.Error
	var oe *net.OpError
	if !errors.As(err, &ue) || !errors.As(err, &oe) || oe.Op != "dial" {
		return err.Error()
	}
	server := ue.URL
	if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
		server = u.Scheme + "://" + u.Host
	}
	why := oe.Err.Error()
	if se, ok := oe.Err.(*os.SyscallError); ok {
		why = se.Err.Error()
	}
	fix := fmt.Sprintf("cannot reach the server at %s (%s): check that it runs and that BURST_SERVER or your `burst login` names it (unset BURST_SERVER to use this host's own server)", server, why)
	msg := err.Error()
	if i := strings.Index(msg, ue.Error()); i >= 0 {
		return msg[:i] + fix + msg[i+len(ue.Error()):]
	}
	return fix
}

// commands are burst's commands, by help's group, in the order help lists
// them, each with the name it is called by.
var commands = []struct {
	name, group string
	make        func() *cobra.Command
}{
	{"run", "jobs", newRunCmd}, {"map", "jobs", newMapCmd}, {"pipe", "jobs", newPipeCmd},
	{"results", "jobs", newResultsCmd}, {"jobs", "jobs", newJobsCmd}, {"show", "jobs", newShowCmd},
	{"logs", "jobs", newLogsCmd}, {"cancel", "jobs", newCancelCmd}, {"wait", "jobs", newWaitCmd},
	{"stack", "jobs", newStackCmd},
	{"project", "money", newProjectCmd}, {"budget", "money", newBudgetCmd}, {"cluster", "money", newClusterCmd},
	{"machine", "money", newMachineCmd}, {"types", "money", newTypesCmd}, {"cost", "money", newCostCmd},
	{"events", "money", newEventsCmd}, {"ui", "money", newUICmd}, {"storage", "money", newStorageCmd},
	{"cache", "money", newCacheCmd},
	{"server", "admin", newServerCmd}, {"agent", "admin", newAgentCmd}, {"join-token", "admin", newJoinTokenCmd},
	{"slurm", "admin", newSlurmCmd}, {"login", "admin", newLoginCmd}, {"logout", "admin", newLogoutCmd},
	{"whoami", "admin", newWhoamiCmd}, {"version", "admin", newVersionCmd}, {"user", "admin", newUserCmd},
}

// newRoot is the whole command tree.
func newRoot(stdout, stderr io.Writer) *cobra.Command { return newRootFor(stdout, stderr, nil) }

// newRootFor is the command tree that runs args: when args[0] names a
// command, the root with that command alone (which does, says and
// completes the same: making every command's flags costs more than a
// `burst run` spends on its own requests); otherwise (help, completion, a
// flag, a misspelt command to suggest a fix for) the whole tree.
func newRootFor(stdout, stderr io.Writer, args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "burst",
		Short: "Run research jobs anywhere: this laptop now, a Slurm cluster or the cloud later",
		Long: `burst runs your programs as jobs without a scheduler's syntax to learn.

A job is a command (or an existing #SBATCH script) with the resources it
needs. burst queues it durably, places it on a machine with free CPUs,
memory and GPUs, runs it in its own process group, keeps its output, and
records how it ended. Every command talks to a burst server; if none is
running, the first command starts one in the background for you.

State lives in $BURST_HOME (default ~/.burst). Point the CLI at another
server with 'burst login https://HOST:PORT#sha256:HASH', or with
BURST_SERVER (https://host:port, http://127.0.0.1:port or unix:///path) and
BURST_TOKEN, which come first.`,
		Example: `  burst run -- python3 -c 'print(6*7)'
  burst run --cpus 2 --mem 1G --time 10m -- ./fit.sh data.csv
  burst run -d -- sleep 100
  burst run job.sbatch
  burst map -- ./simulate --seed {} ::: $(seq 1 1000)
  burst pipe 'zcat reads.fq.gz | --cpus 4 ./align - | sort -k3 > out.txt'
  burst ui
  burst results 13
  burst jobs
  burst logs 12 -f`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(flagError)
	root.AddGroup(
		&cobra.Group{ID: "jobs", Title: "Jobs:"},
		&cobra.Group{ID: "money", Title: "Projects, budgets and machines:"},
		&cobra.Group{ID: "admin", Title: "Server and agents:"},
	)
	lone := -1
	for i, c := range commands {
		if len(args) > 0 && args[0] == c.name {
			lone = i
		}
	}
	for i, mk := range commands {
		if lone >= 0 && i != lone {
			continue
		}
		c := mk.make()
		c.GroupID = mk.group
		root.AddCommand(c)
	}
	root.SetHelpCommandGroupID("admin")
	if lone < 0 { // burst help ... (a lone command's tree never runs help)
		root.InitDefaultHelpCmd()
		for _, c := range root.Commands() {
			if c.Name() == "help" { // cobra's, with its completion; what it runs is burst's
				c.Run, c.RunE = nil, helpRun
			}
		}
	}
	root.SetCompletionCommandGroupID("admin")
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Short = "Print the shell completion script (bash, zsh, fish, powershell)"
			c.Long = completionHelp
			c.Example = completionExample
			c.Args, c.RunE = cobra.ArbitraryArgs, parentRun // burst completion bahs: the shells there are, exit 2
		}
	}
	addCompletions(root) // complete.go
	return root
}

const completionHelp = `Print the script that makes TAB complete burst's commands and flags, and
the job ids, project, cluster, machine and user names, storage tiers and
machine types the server knows (asked of it as your commands would, with
your credential; never starting a server, and giving up after 2 seconds).

Install it once (then open a new shell):

  bash   echo 'source <(burst completion bash)' >> ~/.bashrc
         (needs the bash-completion package; or, system-wide:
          burst completion bash | sudo tee /etc/bash_completion.d/burst)
  zsh    echo 'autoload -U compinit; compinit' >> ~/.zshrc   # if not there yet
         burst completion zsh > "${fpath[1]}/_burst"
  fish   burst completion fish > ~/.config/fish/completions/burst.fish
  pwsh   burst completion powershell | Out-String | Invoke-Expression

'burst completion SHELL --help' says more for each shell.`

const completionExample = `  source <(burst completion bash)
  burst completion zsh > "${fpath[1]}/_burst"
  burst completion fish > ~/.config/fish/completions/burst.fish
  burst show <TAB>          # the newest job ids, with their states and names
  burst run --on <TAB>      # the clusters`

// argsAtLeast turns a bad-argument count into a usage error.
func argsAtLeast(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			if w, ok := strings.CutSuffix(what, ")"); ok && strings.Contains(w, "(see ") {
				// what has its own hint: one parenthesis, not two in a row
				return usage("%s: missing %s, and `%s --help`)", c.CommandPath(), w, c.CommandPath())
			}
			return usage("%s: missing %s (see `%s --help`)", c.CommandPath(), what, c.CommandPath())
		}
		return nil
	}
}

func stderrOf(c *cobra.Command) io.Writer { return c.ErrOrStderr() }

// parentRun is the RunE of a command that only groups subcommands: with no
// argument it prints its help, with one it says the subcommand is unknown.
func parentRun(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return c.Help()
	}
	return unknownCommand(c.CommandPath(), c, args[0], nil)
}

// helpRun is burst help [COMMAND...]: the help of the command named, as
// its --help prints it. Slurm's commands are named as burst runs them
// (burst help sbatch is burst slurm sbatch --help). A command that is not
// there is a usage error that lists the commands there are (cobra's
// printed "Unknown help topic" and the whole usage, and exited 0).
func helpRun(c *cobra.Command, args []string) error {
	path := args
	if len(path) > 0 && slices.Contains(SlurmNames, path[0]) {
		path = append([]string{"slurm"}, path...)
	}
	root := c.Root()
	cmd, rest, err := root.Find(path)
	switch {
	case err != nil || cmd == nil:
		return unknownCommand(c.CommandPath(), root, path[0], SlurmNames)
	case len(rest) > 0 && cmd.HasAvailableSubCommands():
		return unknownCommand(c.CommandPath(), cmd, rest[0], nil)
	}
	cmd.InitDefaultHelpFlag() // as cobra's help does: so that --help is listed
	cmd.InitDefaultVersionFlag()
	return cmd.Help()
}

// unknownCommand is the usage error of what, which took word for a
// subcommand of parent that parent does not have: it names the closest
// ones (among them, more names it takes) and lists them all.
func unknownCommand(what string, parent *cobra.Command, word string, more []string) error {
	var names []string
	for _, s := range parent.Commands() {
		if s.IsAvailableCommand() || s.Name() == "help" {
			names = append(names, s.Name())
		}
	}
	mean := ""
	if s := suggest.Closest(word, append(slices.Clone(names), more...)); len(s) > 0 {
		mean = " (did you mean " + strings.Join(s, " or ") + "?)"
	}
	if what != "burst" { // burst's own is in the prefix every error has
		what += ": "
	} else {
		what = ""
	}
	return usage("%sunknown command %q%s: use %s (see `%s --help`)", what, word, mean, strings.Join(names, ", "), parent.CommandPath())
}

// cobraUnknownCommand is the word of cobra's error for a first word that
// names no command of burst's (`unknown command "jbos" for "burst"`).
func cobraUnknownCommand(err error) (string, bool) {
	var ee *ExitError
	if errors.As(err, &ee) {
		return "", false
	}
	rest, ok := strings.CutPrefix(err.Error(), "unknown command \"")
	if !ok {
		return "", false
	}
	word, _, ok := strings.Cut(rest, "\" for \"burst\"")
	return word, ok
}

// prefixed is msg as burst prints an error: after "burst: ", unless it is
// already in the words of one of Slurm's commands ("sbatch: error: ...",
// or an error of Slurm's API they print bare, "slurm_load_jobs error:
// ..."), which scripts and engines read as that command prints it.
func prefixed(msg string) string {
	if name, _, ok := strings.Cut(msg, ": "); ok && (slices.Contains(SlurmNames, name) || strings.HasPrefix(name, "slurm_")) {
		return msg
	}
	return "burst: " + msg
}
