package cli

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/mapspec"
	"github.com/burst-sh/burst/internal/shellquote"
)

// noInputs is what a map with no inputs says at a terminal.
const noInputs = "burst: no inputs (an empty :::: file, --over list or standard input): nothing to run, no job submitted"

func newMapCmd() *cobra.Command {
	var (
		rf           resFlags
		sf           stageFlags
		shell        bool
		keepOrder    bool
		lineBuffer   bool // --lb
		ungroup      bool // -u
		maxFailures  string
		resume       int64
		over         []string
		quiet        bool
		quoted       bool
		detach       bool
		jobs         string
		link         bool
		colsep       string
		argFiles     []string
		argSep       string
		argFileSep   string
		dryRun       bool
		null         bool
		delimiter    string
		cite         bool
		timeout      string
		halt         string
		tag          bool
		joblogPath   string
		maxArgs      int
		maxLines     int
		maxLinesCtx  int
		replace      string
		verbose      bool
		verboseErr   bool
		resumeJoblog bool
		resumeFailed bool
		resultsName  string
		header       string
		tmpdir       string   // parallel's --tmpdir, checked as it checks it
		envNames     []string // parallel's --env NAMEs: --env _ is checked as it checks it
		skipBlank    bool
		trimFlag     string
		tagString    string
		delay        string
		nice         int
		ctxReplace   bool
		multiArgs    bool
		xargs        bool
		plus         bool
		shuf         bool
	)
	c := &cobra.Command{
		Use:   "map [flags] [--] COMMAND [ARGS with {}...] ::: INPUTS... [::: INPUTS...] [:::: FILE]",
		Short: "Run a command once per input, in parallel (GNU parallel's syntax)",
		Long: `Run a command over many inputs, as GNU parallel does: one task per input, as
many at once as the machines' free CPUs allow, or as -j says. The inputs
follow ::: (as arguments) or :::: (one per line of each file, - for standard
input), or come from --over GLOB; with none of these, lines of standard input
are the inputs. Several ::: groups, and each file after ::::, make every
combination (the last varies fastest). No input runs nothing and exits 0.
As in parallel, burst's flags end at the first word that is none, so --
before the command is optional (burst map gzip -9 ::: a.csv b.csv); a
command starting with - needs it.
With no command, each input is a shell command (burst map :::: jobs.txt
runs a file of commands, a line each, in $SHELL; with several groups their
values joined by spaces), as parallel runs its input lines; so does a
command that is only {} (cat jobs.txt | burst map -j 8 {}). A group after :::+ (or a file after ::::+) is paired with the one before it,
input by input, as far as the shorter goes; --link pairs every group, as far
as the longest goes, the shorter ones starting over. --colsep REGEXP splits
each input into columns ('': each character, and an empty one after them), {1} {2} ... numbering the columns of all groups in
turn (each trimmed of white space unless --trim n; a column an input lacks is empty, and a word of
nothing else no argument, as parallel's shell drops it, unless --quote); --trim l, r or lr
trims each input. -a FILE is :::: FILE before the
::: groups; --arg-sep SEP and --arg-file-sep SEP put SEP where ::: and
:::: go (SEP+ where :::+ and ::::+), as parallel's; -0 ends the inputs of files and standard input at NUL bytes
(find -print0); --dry-run prints each task's command and runs nothing;
--timeout SECONDS is --time (a task it kills is said on stderr, as
parallel's "This job was killed because it timed out:" and its command); --delay SECONDS starts a task at most every
SECONDS (0.5, 2s, 1m), on whatever machines; --halt now,fail=N (or soon,fail=N, which lets
started tasks end) is --max-failures N-1, exiting as parallel does; --halt now,success=1
stops the map at its first success, exit 0 (done=N: once N ended, whatever their end);
each task --halt counts is named on stderr as it ends, as parallel's "This job failed:"
(with soon, then how many still run: "Starting no more jobs. Waiting for N jobs to finish.").
--results DIR saves each task's stdout, stderr and number under
DIR/1/INPUT/... instead of printing them (with {} in DIR: each task's own
files; with --lb, each task's stdout file is named on stdout, as parallel's); --header : names the columns after the first line of each group,
for {NAME} in the command (--header 0: each :::: file's path names its
number among the files); -X and -m give a task as many inputs of one
group as fit on a command line (about 64 KB, at most 4096), dealt out
evenly to -j's tasks (this machine's CPU threads unless -j says; -j 0: one
each): -X repeats a word holding {} for each input (x{}y: xay xby), -m
puts them all where {} is (xa by); --xargs is -m filling each task in
turn; --shuf runs the tasks in a random order, numbered in it; --tag
begins each output line with the task's
inputs and a tab, --tagstring STR with STR filled for the task (--tagstring
'{#}:{1}'); -I R makes R stand for the input; -v prints
each task's command before its output; --joblog FILE --resume (no job
id: parallel's) runs only what FILE has no line for (--resume-failed:
also what failed), each task keeping its {#}.

-j N runs N tasks at once, as parallel's -j (-P, --jobs, --max-procs): up
to this host's CPU threads (the default, as parallel's) each task reserves
a CPU; above them, or with -j 0 (as many as possible), the tasks reserve
none and share the machine's CPUs, as with --cpus 0 (at most 1024 at once,
whatever -j says: burst says so when -j asks for more), so that
burst map -j 8 -- wget {} ::: URLS runs 8 downloads at once on 2 cores.
--cpus N given keeps N reserved for each task, and no more run at once
than the CPUs hold (said on stderr when -j asks for more). -j 50%, +1 or
-1 counts this machine's CPU threads, as parallel does.

Replacement strings in the command, as in GNU parallel:
  {}     the input (one argument per input group)
  {.}    without extension     {/}  basename     {//}  dirname
  {/.}   basename, no extension                  {#}   task number (1-based;
                                                       $PARALLEL_SEQ too)
  {%}    job slot: no two tasks running at once share one, -j N uses 1
         to N ($PARALLEL_JOBSLOT too; --dry-run leaves it as written);
         a program that reads $PARALLEL_JOBSLOT itself keeps within 1
         to N only when {%} or $PARALLEL_JOBSLOT is in the command
         (burst map -j 2 -- env SLOT={%} ./train.sh {}): else short
         tasks may wait at a machine holding a slot of their own
  {1} {2} ...               the n-th input group (also {1.} {1/} {1//} {1/.})
GNU parallel's --plus strings too, with --plus or without:
  {..} {...}  without two, three extensions     {/..} {/...}  of the basename
  {+/} the directory ('' for none)  {+.} {+..} {+...}  what {.} {..} {...} drop
  {##} the number of tasks; {0#} {0%}  {#} and {%} zero-padded
With --plus only, its bash-like strings (also {2%.gz} ... for a group):
  {:-str} str for an empty input    {:n} {:n:m}  from byte n (m bytes)
  {#re} {##re}  without the shortest, longest prefix re matches
  {%re} {%%re}  without the shortest, longest suffix: {%.gz}
  {/re/str} {//re/str}  the first, every match replaced by str
  {/#re/str} {/%re/str}  at the start, end   {^re} {^^re} {,re} {,,re}
  the match at the start, every match in upper, lower case (ASCII)
(re is a Perl regular expression there, Go's RE2 here: \1, (?= ... are
refused; with --plus, {slot} is {%}; {host} {uniq} {choose_k} ... are refused).
With none of them, the inputs are appended as arguments.

Unlike parallel, an input is one argument, never shell text: burst map -- CMD
is parallel -q CMD, and an input '; rm -rf ~' is just a strange file name.
A command given as one word of shell text that names no program
('gzip -9 {} && rm {}', quoted whole) runs as with --shell, and so does one
with a redirection, && or || as a word (echo {} '>' {}.txt), or glued to a
target made of a replacement string ('>{.}.out', '2>/dev/null'), or with
a ; ending one command before another (echo {}\; sleep 1, {}\;exit 1), or
that starts with a shell's builtin (exit, eval, cd), or with a word quoted
whole for parallel's shell to unquote (perl -e \''print "@ARGV\n"'\'), or
a quote opened in one word and closed in a later one (echo \"{} "<- n"\"),
or with a word for parallel's shell to expand: a variable (seq:\$PARALLEL_SEQ,
'$myvar', $$), a command's output or arithmetic quoted whole
('$(basename {} .txt)', '$(({}*2))'), or a * beside a replacement string
('data/{}/*.fq.gz': each input's files), as parallel would run it; a $ or
* in a program's script or pattern stays its argument (awk '$1>=5', sed
's/$/x/', find -name '*.txt'); a ; inside a program's script stays its argument (perl -ne 'print;exit'
{}, find -exec ... \; -print); a > before a word starting with - is its value
(cut -d '>' -f2), '>{}' glued is an argument (grep's FASTA header), and a
lone > into the input itself or a plain name (grep -c '>' {}) is refused,
naming -q (--quote, parallel's -q), which passes every word as it is.
--shell runs the command as shell text in $PARALLEL_SHELL or $SHELL, as
parallel does (sh where that is no POSIX shell), with every input
shell-quoted as parallel quotes it: as it is when made of letters, digits
and _ . + / - (so 'echo $(({}*2))' computes), in single quotes otherwise,
and quoted further inside the command's own quotes ('{}', "{} n", a
backquoted command): an input's '; rm ...' or $(...) stays data there.

Each task's output is printed when it ends, whole: its stdout, then its stderr
(parallel's default --group); -k prints in input order instead. stderr starts
with "burst: job N (M tasks)". On a terminal a progress line on stderr, below
the output, shows done of total (ok, failed, cancelled), running, queued, the
rate, the time left and the cost so far; --quiet hides it.

Exit status, as parallel's: 0 if every task succeeded; else the number of
tasks that failed, up to 100; 101 if more did (the summary names their inputs
and how to see their logs); 130 if cancelled; 255 for any other error, and
where a task's command line is longer than parallel takes (63664 bytes as
--dry-run prints it; with --quote, as parallel -q counts it, three for each
byte unquoted): the tasks before it run, as parallel's, and none after.

With --in or --out the map is staged (docs/staging.md): each task runs in a
private directory holding the --in files and, of its {} inputs, those that
name files here (relative paths) or s3:// objects (fetched by the machine,
staged at BUCKET/KEY, which {} then reads as), each task only its own; the
files matching --out are uploaded after it; burst results JOB --fetch
brings them back.

--resume JOB runs again the tasks of map JOB that failed or never ran, printing
their output only (a job array's none: its tasks write to their files, as
burst run --array leaves them); --max-failures and -j given with it replace the map's own,
and flags that would change its tasks are refused.

GNU parallel's command lines run as they are: its other names of the flags
below are taken, and not listed there: -P (-j), --xapply (--link), -L N
(-N N) and -l N or --max-lines N (-n N), each joining a line that ends in
white space with the next, as parallel's (-l alone is -l 1; -L 0 is -n 0,
joining none), --dryrun,
--res (--results), -i (-I), -N (-n, repeating a word that holds {}),
--halt-on-error (--halt), --no-notice and --nn (--will-cite), and --resume
with --joblog (no job id), --lb and --linebuffer (--line-buffer). So are
flags that change nothing here: --progress, --eta and --bar (the progress
line shows on a terminal), --group (a task's output is printed whole, the
default),
--env NAME (every task has the whole environment), --tmpdir,
--use-cpus-instead-of-cores and --gnu (--env _ where parallel's
--record-env recorded nothing, and a --tmpdir where no file can be made,
stop the map before it starts, as they stop parallel, with its exit
status; a $TMPDIR where none can, which stops parallel too, does not stop
burst map, which keeps no file there). Long flags are read whatever their
case, as parallel reads its (--Keep-Order), and by any start of one of
parallel's names that no other of its options shares (--dry, --keep-o).
-J NAME names the job, as --name;
parallel's -J NAME is --profile NAME, its options read from a file
(~/.parallel/NAME, in $PARALLEL_HOME, or NAME itself when it starts with /
or ./), which burst does not read: where that file exists, -J NAME is
refused, naming --name NAME and the options to give instead. Without -J,
the options of parallel's config files (~/.parallel/config,
$PARALLEL_HOME/config, ~/.parallelrc, /etc/parallel/config) and then of
$PARALLEL come before the command line's, as in parallel; --plain reads
none of them.`,
		Example: `  burst map -- ./simulate --seed {} ::: $(seq 1 1000)
  burst map -j 8 -- wget -q {} :::: urls.txt                # 8 at once, whatever the CPUs (they share them)
  burst map --cpus 2 -- python3 fit.py {} :::: samples.txt
  burst map -- gzip -9 {} ::: data/*.csv
  burst map --over 'data/*.csv' -- gzip -9 {}
  burst map -d --after ok:12 -- ./fit.sh {} ::: 1 2 3   # once job 12 succeeded (see burst help run)
  burst map -d --begin 22:00 -- ./fit.sh {} ::: 1 2 3    # from 10 p.m. on (see burst help run)
  burst map -- convert {} {.}.png ::: img/*.tif
  burst map -- ./sweep {1} {2} ::: 0.1 0.2 0.3 ::: a b
  burst map --retries 2 --max-failures 5% -- ./flaky {} ::: $(seq 100)
  burst map -k -- sh -c 'echo $1 | md5sum' _ {} ::: a b c   # outputs in input order
  burst map -- ./fit {1} {2} :::: alphas.txt seeds.txt      # every combination of two files' lines
  burst map -- ./fit {1} {2} ::: a b c :::+ 1 2 3           # paired: a 1, b 2, c 3
  burst map --colsep , -- ./fit {2} {1} :::: table.csv      # the columns of each line
  burst map --header : --colsep , -- ./fit {alpha} :::: t.csv   # columns named by the first line
  burst map --results out -- ./fit {} ::: a b               # out/1/a/stdout, out/1/a/stderr, out/1/a/seq
  burst map --resume 12                                     # rerun what failed or never ran
  burst map --resume 12 --max-failures 100%                 # ... past the failures that stopped it
  burst map --in refs/ --out '*.out' -- ./fit {} ::: data/*.csv   # each task gets its own csv, and refs/
  burst map --out '*.out' -- ./fit {} ::: s3://lab-data/a.csv s3://lab-data/b.csv   # each fetches its own object`,
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			o := followOpts{output: outputDone, quiet: quiet, halt: halt}
			switch {
			case keepOrder:
				o.output = outputOrdered
			case ungroup:
				o.output = outputRaw
			case lineBuffer:
				o.output = outputLines
			}
			if c.Flags().Changed("resume") && resume <= 0 {
				return usage("--resume %d: give the id of the map to resume (burst jobs lists them), or --resume alone with --joblog FILE", resume)
			}
			if resume > 0 {
				if len(args) > 0 {
					return usage("--resume %d takes no command: the job keeps its own", resume)
				}
				opts, err := resumeOptions(c, maxFailures, jobs, &o)
				if err != nil {
					return err
				}
				if j, err := doneMap(ctx, c, resume); err != nil || j != nil {
					return err // nothing to resume is no failure (exit 0), as in parallel --resume-failed
				}
				return startMap(c, detach, &o, func(ctx context.Context, cl *client.Client) (*burst.Job, error) {
					if !detach {
						prev, err := cl.Job(ctx, resume)
						if err != nil {
							return nil, err
						}
						if prev.Spec != nil && prev.Spec.Map != nil && prev.Spec.Map.Array {
							// A job array's tasks write to their files, as sbatch's
							// do: burst run --array prints none of it, nor does its resume.
							o.output = outputNone
						} else if o.skip, err = succeededTasks(ctx, cl, prev); err != nil {
							// Its earlier successes printed their output then: not again.
							return nil, err
						}
						if opts.MaxFailures == nil {
							resumeHalt(ctx, cl, prev, &o)
						}
					}
					return cl.ResumeWith(ctx, resume, opts)
				})
			}
			if c.Flags().Changed(nameJ) && !c.Flags().Changed("name") {
				if err := mapProfile(rf.name); err != nil {
					return err
				}
			}
			// What GNU parallel checks as it starts, stopping before any job runs.
			// A --tmpdir given; not $TMPDIR, which parallel checks too: burst
			// keeps no file there, and a stale one (left by an ended Slurm
			// job's environment) would stop every map.
			if c.Flags().Changed("tmpdir") {
				if err := parallelTmpdir(tmpdir, "--tmpdir "+tmpdir); err != nil {
					return err
				}
			}
			if err := parallelEnvAll(envNames, os.Getenv); err != nil {
				return err
			}
			spec, err := baseSpec()
			if err != nil {
				return err
			}
			// The command may come without -- (burst map echo {} ::: a b), as
			// parallel takes it: options end at the first word that is none.
			// (-d DELIM was read as --delimiter before: parallelValues.)
			delim := mapspec.Lines
			if null {
				delim = "\x00"
			}
			if c.Flags().Changed("delimiter") { // after -0, as in parallel
				if delim, err = mapspec.Delimiter(delimiter); err != nil {
					return usage("%v", err)
				}
			}
			// No command (burst map ::: 'cmd a' 'cmd b', or a file of
			// commands on :::: or standard input): each input is the
			// shell command a task runs, as with GNU parallel.
			if len(argFiles) > 0 {
				// -a F: an input group of F's lines before the ::: groups, as parallel's.
				at := slices.IndexFunc(args, mapspec.Separators(argSep, argFileSep))
				if at < 0 {
					at = len(args)
				}
				args = slices.Concat(args[:at], append([]string{argFileSep}, argFiles...), args[at:])
			}
			tmpl, sources, linked, err := mapspec.ParseSeparated(args, readInputFile(c.InOrStdin()), delim, argSep, argFileSep)
			if err != nil {
				return usage("%v", err)
			}
			commands := len(tmpl) == 0
			if commands && (c.Flags().Changed("replace-str") || c.Flags().Changed("replace")) {
				return usage("-I names the input in the command, and none was given: put the command after --, e.g. `burst map -I %% -- gzip %% ::: a b`")
			}
			if c.Flags().Changed("replace-str") || c.Flags().Changed("replace") {
				// parallel -I R: R stands for the input, where {} does.
				if replace == "" {
					return usage("-I: give the string that stands for the input, such as -I %% (then: burst map -I %% -- gzip %% ::: a b)")
				}
				tmpl = mapspec.ReplaceWith(tmpl, replace)
			}
			if plus {
				if err := plusStrings(tmpl, &tagString, &resultsName); err != nil {
					return err
				}
			}
			if slices.Equal(tmpl, []string{"{}"}) {
				// parallel {} (cat cmds.txt | parallel -j 8 {}): the input
				// is the command, run in a shell as with no command given.
				tmpl, commands = nil, true
			}
			if !commands && !quoted {
				// One word of shell text ('gzip -9 {} && rm {}'), or words
				// that are a shell's redirections and pipes (echo {} \> {}.txt):
				// a shell runs it, inputs quoted, as GNU parallel runs every
				// command. --quote (parallel -q) passes the words as they are.
				redir, err := redirects(tmpl, plus)
				if err != nil {
					return err
				}
				// A shell's builtin (parallel --joblog log exit ::: 1 2 3 0)
				// names no program: only a shell runs it.
				shell = shell || redir || shellText(tmpl) || shellquote.Builtin(tmpl[0])
			}
			if !commands && !shell && bashFunction(tmpl[0], spec.Env) {
				// A function of bash's exported with export -f, as parallel's
				// users call them: bash runs it (sh would drop the function).
				shell = true
				if spec.Env["PARALLEL_SHELL"] == "" {
					// /bin/bash where this host has it (any Linux machine a
					// task may land on does), else this host's bash.
					bash := "/bin/bash"
					if _, err := os.Stat(bash); err != nil {
						bash, _ = exec.LookPath("bash")
					}
					if bash != "" {
						spec.Env["PARALLEL_SHELL"] = bash
					}
				}
			}
			var sep *regexp.Regexp
			if c.Flags().Changed("colsep") {
				if sep, err = regexp.Compile(colsep); err != nil {
					return usage("--colsep %q: %v", colsep, err)
				}
			}
			for _, pat := range over {
				files, err := filepath.Glob(pat)
				if err != nil {
					return usage("--over %q: %v", pat, err)
				}
				if len(files) == 0 {
					return usage("--over %q matches no file: check the pattern (quote it so that burst, not the shell, expands it)", pat)
				}
				sources = append(sources, files)
			}
			if len(sources) == 0 {
				if f, ok := c.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					return usage("no inputs: give them after ::: (e.g. `::: a b c`), after :::: FILE, with --over GLOB, or on standard input")
				}
				data, err := readInputs(c.InOrStdin(), "standard input")
				if err != nil {
					return usage("read inputs from standard input: %v", err)
				}
				_, src, _, err := mapspec.ParseLinked([]string{"x", "::::", "-"}, func(string) ([]byte, error) { return data, nil }, delim)
				if err != nil {
					return usage("%v", err)
				}
				sources = src
			}
			var names []string        // --header's: a column's, by position
			var byName map[string]int // --header's: a name's position
			if c.Flags().Changed("header") {
				// parallel 20221122 (without --pipe) takes any --header but 0
				// as --header :, its documented '.*\n' too.
				if maxArgs > 0 {
					return usage("--header names the columns of each input group: it cannot name -N's inputs")
				}
				if sep == nil {
					sep = regexp.MustCompile("\t") // as parallel: --header splits at tabs unless --colsep says
				}
				byName = map[string]int{}
				if header == "0" {
					// parallel's --header 0: each input file's name, as
					// given, names its number ({f.txt} for :::: f.txt); no
					// line is a header.
					byName = mapspec.FileGroups(args, argSep, argFileSep)
				}
				for g, src := range sources {
					if len(src) == 0 || header == "0" {
						continue
					}
					// Its line's "\r" is not a name's, as parallel drops it there.
					for _, n := range mapspec.SplitColumns(sep, strings.TrimSuffix(src[0], "\r")) {
						names = append(names, n)
						if _, dup := byName[n]; !dup {
							byName[n] = len(names)
						}
					}
					sources[g] = src[1:]
				}
				tmpl = mapspec.Named(tmpl, byName)
			}
			perLine := false // -L: a word holding {} repeated, as -N
			// -L 0: as parallel 20221122 reads it, -n 0 (a task per input,
			// given none of them), no line going on with the next.
			noLines := c.Flags().Changed("max-lines-replace") && maxLinesCtx == 0
			if c.Flags().Changed("max-lines") || c.Flags().Changed("max-lines-replace") {
				if maxLinesCtx < 0 || maxLines < 0 {
					return usage("-L and -l: give each task 1 or more lines (-L 1)")
				}
				if !c.Flags().Changed("max-args") && !c.Flags().Changed("max-replace-args") {
					// parallel: -n or -N given wins; -L is -N (a word holding {}
					// repeated, unless -m or --xargs says not), -l is -n, and
					// -l 0 is -l 1.
					maxArgs = max(maxLines, 1)
					if c.Flags().Changed("max-lines-replace") {
						maxArgs, perLine = maxLinesCtx, !multiArgs && !xargs
					}
				}
				for g, src := range sources {
					if !noLines {
						sources[g] = mapspec.ContinueLines(src)
					}
				}
			}
			if skipBlank {
				// parallel -r: an input that is empty or only white space
				// (Perl's \s) is skipped, in each group as it is read.
				for g, src := range sources {
					sources[g] = slices.DeleteFunc(src, func(v string) bool { return strings.Trim(v, " \t\n\r\f\v") == "" })
				}
			}
			sources = mapspec.FillEmpty(sources)
			positions := len(sources) // {1} ... {n}: one a group, linked or not
			noInputs := false         // -N0: each task's input is its command, none the user gave
			if (c.Flags().Changed("max-args") || c.Flags().Changed("max-replace-args") || noLines) && maxArgs < 1 {
				if maxArgs < 0 {
					return usage("-N %d: give each task 1 or more inputs, or 0 for none (parallel's -N0: seq 10 | burst map -N0 -- CMD runs CMD 10 times)", maxArgs)
				}
				if sources, err = withoutInputs(tmpl, shell, plus, sources); err != nil {
					return err
				}
				tmpl, commands, shell, noInputs = nil, true, false, true
			}
			if maxArgs > 0 {
				if len(sources) != 1 {
					return usage("-N %d takes its inputs from one group: put them all after one ::: (or in one :::: file)", maxArgs)
				}
				positions = maxArgs
			}
			multi := ctxReplace || multiArgs || xargs // parallel's -X, -m, --xargs: a task takes as many inputs as fit
			if multi && maxArgs == 0 {
				if len(sources) != 1 {
					return usage("-X, -m and --xargs give each task many inputs of one group: put them all after one ::: (or in one :::: file), or give -N 1 for one of each group")
				}
				positions = math.MaxInt32 // {1} {2} ...: as many as a task has
			}
			if sep != nil {
				positions = math.MaxInt32 // one a column, as many as an input has
			}
			if err := mapspec.Validate(tmpl, positions, plus); err != nil && !commands {
				return usage("%v", err)
			}
			// total is what the tasks' {##} {0#} and {0%} need, known once
			// they are counted; numbers are a task's numbers.
			total := mapspec.Numbers{Plus: plus}
			numbers := func(seq int64, slot int) mapspec.Numbers {
				n := total
				n.Seq, n.Slot = seq, slot
				return n
			}
			// parallel -N (not -n) repeats a word holding {} for each input of the task: pict{}.jpg.
			perInput := maxArgs > 0 && (c.Flags().Changed("max-replace-args") || perLine) || ctxReplace
			// tagOf is what each output line of a task begins with (nil: nothing).
			var tagOf func(in []string, n mapspec.Numbers) string
			switch {
			case tagString != "": // parallel --tagstring STR: STR filled for the task (--tag or not)
				ts := resultsTemplate(tagString, replace, byName)
				if err := mapspec.Validate([]string{ts}, positions, plus); err != nil {
					return usage("--tagstring: %v", err)
				}
				if !mapspec.HasReplacementWith(ts, plus) { // Expand would append the inputs
					tagOf = func([]string, mapspec.Numbers) string { return ts + "\t" }
					break
				}
				tagOf = func(in []string, n mapspec.Numbers) string {
					if !perInput {
						return strings.Join(mapspec.ExpandWith([]string{ts}, in, n, false, false, false), " ") + "\t"
					}
					return tagWords(ts, in, n) + "\t"
				}
			case tag:
				tagOf = func(in []string, _ mapspec.Numbers) string { return tagText(in) }
			}
			if f := tagOf; noInputs && f != nil {
				// -N0's tasks are given no input: their tag holds none (parallel's is empty too).
				tagOf = func(_ []string, n mapspec.Numbers) string { return f([]string{""}, n) }
			}
			for g, src := range sources { // NUL is what joins columns: none may be an input's own
				if i := slices.IndexFunc(src, func(v string) bool { return strings.IndexByte(v, 0) >= 0 }); i >= 0 {
					return usage("input %d of group %d holds a NUL byte, which no program can receive: remove it, or give -0 if NUL ends each input", i+1, g+1)
				}
			}
			trim := mapspec.TrimNone
			if c.Flags().Changed("colsep") {
				// parallel's --colsep trims each column unless --trim says
				// otherwise; --header's tabs alone do not (parallel 20221122:
				// --header : echo '[{h}]' ::: h ' a ' prints [ a ]).
				trim = mapspec.TrimBoth
			}
			if c.Flags().Changed("trim") {
				if trim, err = mapspec.ParseTrim(trimFlag); err != nil {
					return usage("%v", err)
				}
			}
			sources, columns := mapspec.Combine(sources, linked, link, sep, trim)
			if maxArgs > 0 {
				sources, columns = mapspec.Chunk(sources[0], maxArgs), true
			}
			m := &burst.MapSpec{Template: tmpl, Shell: shell && !commands, Columns: columns, Commands: commands, PerInput: perInput, Quoted: quoted, Plus: plus}
			if m.Shell {
				if err := mapspec.ShellSafe(m.Template, m.Plus); err != nil {
					return usage("%v", err) // as the server refuses it, --dry-run too
				}
			}
			for _, s := range sources {
				m.Sources = append(m.Sources, s)
			}
			haltGiven := c.Flags().Changed("halt") || c.Flags().Changed("halt-on-error")
			if haltGiven {
				if c.Flags().Changed("max-failures") {
					return usage("--halt and --max-failures both say when to stop: give one of them")
				}
				if maxFailures, err = parallelHalt(halt, m); err != nil {
					return err
				}
				m.Halt = halt // for a resume's follower (resumeHalt)
			}
			if err := parseMaxFailures(maxFailures, m); err != nil {
				return err
			}
			spec.Map = m
			spec.Nice = min(max(nice, -20), 19) // as nice(1) clamps it
			if c.Flags().Changed("jobs") || c.Flags().Changed("max-procs") {
				if jobs, o.procfile, err = jobsValue(jobs, runtime.NumCPU()); err != nil {
					return err
				}
				if spec.MaxRunning, err = parallelJobs(jobs, runtime.NumCPU()); err != nil {
					return procfileSays(o.procfile, err)
				}
			}
			if multi && maxArgs == 0 {
				// As parallel: the inputs dealt out evenly to -j's tasks
				// (this machine's CPU threads unless given; -j 0: one each),
				// or all to one with --xargs, each task's command line kept
				// within what parallel takes.
				jobs := runtime.NumCPU()
				switch {
				case xargs:
					jobs = 1
				case c.Flags().Changed("jobs") || c.Flags().Changed("max-procs"):
					jobs = cmp.Or(spec.MaxRunning, len(sources[0]))
				}
				sources, columns = fillLines(m, sources[0], (len(sources[0])+jobs-1)/max(jobs, 1)), true
				m.Sources, m.Columns = [][]string{sources[0]}, true
			}
			if c.Flags().Changed("delay") {
				d, ok := parallelSeconds(delay)
				switch {
				case strings.HasSuffix(delay, "auto"):
					return usage("--delay %s: burst does not tune the delay itself: give a fixed time, such as --delay %s", delay, cmp.Or(strings.TrimSuffix(delay, "auto"), "1"))
				case !ok || d > burst.MaxDelay:
					return usage("--delay %q: give the time between two task starts in seconds (0.5), or with a unit (2s, 1m), at most a day", delay)
				}
				m.DelayMS = d.Milliseconds()
				if d > 0 && m.DelayMS == 0 {
					m.DelayMS = 1 // under a millisecond: the least burst spaces starts by
				}
			}
			if c.Flags().Changed("timeout") {
				// parallel's --timeout: seconds, or with a unit (s, m, h, d).
				if c.Flags().Changed("time") {
					return usage("--timeout and --time are one limit: give one of them")
				}
				t, pct, err := parallelTimeout(timeout)
				if err != nil {
					return err
				}
				m.TimeoutPct = pct
				if t != "" { // 0: no time-out, as parallel's
					c.Flags().Set("time", t)
				}
			}
			if f := c.Flags().Lookup("time"); f.Changed {
				if _, err := burst.ParseTimeLimit(f.Value.String()); err != nil {
					return usage("-t/--time %q: burst map's -t is the time limit of each task (10m, 2h), as sbatch's; GNU parallel's -t, which prints each command on stderr, is --verbose here", f.Value.String())
				}
			}
			if err := rf.apply(c, spec); err != nil {
				return err
			}
			o.reruns = spec.Retries > 0
			if err := shareCPUs(spec, c.Flags().Changed("cpus"), c.Flags().Changed("jobs") || c.Flags().Changed("max-procs"), runtime.NumCPU()); err != nil {
				return err
			}
			if pf := o.procfile; pf != nil {
				// The file may ask for more than the CPUs hold later: its
				// tasks share them from the start, as parallel's do.
				if !c.Flags().Changed("cpus") && onThisHost(spec) {
					spec.SharedCPUs, spec.Resources.CPUs = true, 0
				}
				pf.n = spec.MaxRunning
				if spec.SharedCPUs {
					pf.maxRuns = burst.MaxSharedRunning
				}
				if detach {
					fmt.Fprintf(c.ErrOrStderr(), "burst: -j %s is read once: a detached map (-d) does not read it again as its tasks end\n", pf.path)
				}
			}
			spec.Defaults()
			if ps := os.Getenv("PARALLEL_SHELL"); ps != "" && (shell || commands) && onThisHost(spec) {
				if _, err := exec.LookPath(ps); err != nil { // as parallel: "Shell '...' not found"
					return usage("PARALLEL_SHELL=%s: no such shell here: unset PARALLEL_SHELL, or name an installed one such as /bin/bash", ps)
				}
			}
			if relativeJobs(jobs) && !onThisHost(spec) {
				return usage("-j %s counts this machine's CPU threads, not those of --on %s: give the number of tasks at once, such as -j %d", jobs, spec.Cluster, spec.MaxRunning)
			}
			if err := spec.Validate(); err != nil {
				return usage("%v", err)
			}
			n, err := mapspec.Count(sources, 10_000_000)
			if err != nil {
				return usage("%v", err)
			} else if n == 0 {
				// No input runs nothing and succeeds, silently, as with GNU
				// parallel (scripts rely on it); a person at a terminal is
				// told, since an empty :::: file or standard input is more
				// often a mistake than a wish.
				if isTerminal(c.ErrOrStderr()) {
					fmt.Fprintln(c.ErrOrStderr(), noInputs)
				}
				return nil
			}
			if shuf {
				// parallel --shuf: every task made, then run in a random
				// order, numbered ({#}) in that order.
				if resumeJoblog || resumeFailed {
					return usage("--shuf orders the tasks anew at each run, so --resume cannot tell which ran: leave out --shuf, or shuffle the inputs once into a file (shuf list.txt > order.txt) and map over it")
				}
				rows := make([]string, n)
				for k, i := range rand.Perm(int(n)) {
					rows[k] = strings.Join(mapspec.Inputs(sources, int64(i), columns), mapspec.ColumnSep)
				}
				sources, columns = []mapspec.Source{rows}, true
				m.Sources, m.Columns = [][]string{rows}, true
			}
			// task is task i's inputs and number: i's own, or, resuming from a
			// joblog, those of the i-th task left to run.
			task := func(i int64) ([]string, int64) { return mapspec.Inputs(sources, i, columns), i + 1 }
			if resumeJoblog || resumeFailed {
				left, err := joblogLeft(joblogPath, resumeFailed, n)
				if err != nil {
					return err
				}
				if len(left) == 0 {
					return nil // every task ran (succeeded, with --resume-failed): nothing to do, exit 0
				}
				joblogPath = "+" + strings.TrimPrefix(joblogPath, "+") // appended to
				if int64(len(left)) < n {
					all, cols := sources, columns
					task = func(i int64) ([]string, int64) { return mapspec.Inputs(all, left[i], cols), left[i] + 1 }
					sources, columns, n = numbered(m, left, task), true, int64(len(left))
				}
			}
			if haltGiven && m.MaxFailuresPct > 0 {
				haltShare(m, n)
			}
			if haltGiven {
				o.haltAt, o.haltSoon = haltAt(m, n), m.HaltSoon
			}
			total = mapspec.Numbers{Total: n, Slots: spec.MaxRunning, Plus: plus}
			// A task whose command line is longer than parallel takes: it
			// stops there (exit 255), having run the tasks before it.
			var tooLong error
			if k, msg := longLine(m, sources, task, numbers, n); msg != "" {
				tooLong = mapStatusError{&ExitError{Code: 255}}
				fmt.Fprintf(c.ErrOrStderr(), "burst: %s\n", msg)
				if k == 0 {
					return tooLong
				}
				before := make([]int64, k)
				for i := range before {
					before[i] = int64(i)
				}
				sources, columns, n = numbered(m, before, task), true, k
			}
			o.note = jobsAboveCPUs(spec, n, runtime.NumCPU())
			if dryRun {
				var verbose io.Writer // parallel --dry-run --verbose: each command on stderr too, first
				if verboseErr {
					verbose = c.ErrOrStderr()
				}
				if err := printDryRun(c.OutOrStdout(), verbose, m, task, numbers, n, tagOf); err != nil {
					return err
				}
				return tooLong
			}
			// command is a task's command as parallel writes it in its
			// joblog and prints it with -v: {%} is the slot it ran in.
			command := func(t burst.Task) (string, int64) {
				in, seq := task(int64(t.Index))
				return dryRunLine(m, in, numbers(seq, t.Slot)), seq
			}
			if joblogPath != "" {
				if detach {
					return usage("--joblog is written as the tasks end, by the command that follows the map: leave out -d")
				}
				o.joblog = &joblog{task: command}
				if joblogToStdout(joblogPath) {
					// As parallel's --joblog -: the header first, each
					// task's line after its output.
					if _, err := io.WriteString(c.OutOrStdout(), joblogHeader); err != nil {
						return err
					}
				} else {
					f, err := openJoblog(joblogPath)
					if err != nil {
						return err
					}
					defer f.Close()
					o.joblog.w = f
				}
			}
			if c.Flags().Changed("results") || c.Flags().Changed("res") {
				if detach {
					return usage("--results are saved as the tasks end, by the command that follows the map: leave out -d")
				}
				if o.results, err = newResults(resultsName); err != nil {
					return err
				}
				o.results.header = names
				o.results.paths = lineBuffer // parallel --lb --results prints each task's stdout file
				if maxArgs > 0 || multi {
					o.results.oneGroup = true
				}
				o.results.name = resultsTemplate(resultsName, replace, byName)
				if !mapspec.HasReplacement(o.results.name) {
					if err := os.MkdirAll(o.results.name, 0o755); err != nil { // refused before any task runs
						return usage("--results: %v", err)
					}
				}
				o.results.task = func(i int) ([]string, int64) { return task(int64(i)) }
				o.results.numbers = numbers
			}
			o.command = func(t burst.Task) string {
				line, _ := command(t)
				return line
			}
			if verbose || verboseErr {
				o.verbose, o.verboseErr = o.command, verboseErr
			}
			if tagOf != nil && !ungroup { // parallel's -u prints no tag (-k or not)
				o.tag = func(t burst.Task) string {
					in, seq := task(int64(t.Index))
					return tagOf(in, numbers(seq, t.Slot))
				}
			}
			st, err := sf.plan(spec.Workdir, spec) // --cache and --no-cache too, staged or not
			if err != nil {
				return err
			}
			if len(sf.in) > 0 || len(sf.out) > 0 {
				if err := st.addMapInputs(spec.Workdir, sources, n, columns); err != nil {
					return err
				}
			} else if st.empty() {
				st = nil // nothing to upload
			}
			err = startMap(c, detach, &o, func(ctx context.Context, cl *client.Client) (*burst.Job, error) {
				if st != nil {
					if err := st.upload(ctx, cl, spec); err != nil {
						return nil, err
					}
					if err := spec.Validate(); err != nil {
						return nil, usage("%v", err)
					}
				}
				job, err := cl.Submit(ctx, spec)
				if err != nil {
					return nil, projectHint(c, cl, spec, err)
				}
				return job, nil
			})
			var ms mapStatusError
			switch {
			case tooLong == nil:
			case err == nil:
				err = tooLong
			case errors.As(err, &ms):
				ms.ExitError.Code = 255 // parallel's, whatever the tasks before it did
			}
			return err
		},
	}
	// Any error but the tasks' failures exits 255, GNU parallel's "other error".
	run := c.RunE
	c.RunE = func(c *cobra.Command, args []string) error {
		defer startProfile("map")() // $BURST_CPUPROFILE.map: where the CLI's time goes
		return parallelStatus(run(c, args))
	}
	c.SetFlagErrorFunc(mapFlagError)
	c.Flags().SetInterspersed(false)
	rf.shares, rf.profileJ = true, true
	rf.add(c)
	sf.add(c)
	f := c.Flags()
	f.Lookup("cpus").Usage = "CPU cores each task reserves; 0: none, each shares the machine's CPUs and -j bounds how many run at once (0 too when -j is above this host's CPUs and --cpus is not given)"
	f.BoolVar(&shell, "shell", false, "run the command as shell text in $PARALLEL_SHELL or $SHELL (else sh), inputs shell-quoted")
	f.BoolVarP(&keepOrder, "keep-order", "k", false, "print the tasks' outputs in input order (default: as each task ends)")
	f.StringVar(&maxFailures, "max-failures", "", "stop the map once more tasks failed than this: a count (5) or a share (5%)")
	f.Int64Var(&resume, "resume", 0, "run again the tasks of map `JOB` that failed or never ran")
	f.StringArrayVar(&over, "over", nil, "inputs: the files matching `GLOB` (burst expands it; repeatable)")
	f.BoolVar(&quiet, "quiet", false, "no progress line, even on a terminal (not -q: that is --quote, as GNU parallel's -q)")
	f.BoolVarP(&detach, "detach", "d", false, "submit, print the job id and return at once")
	f.StringVarP(&jobs, "jobs", "j", "", "run `N` tasks at once, as GNU parallel's -j: above this host's CPUs, or 0 (as many as possible, at most 1024), the tasks share its CPUs; N%, +N and -N count its CPU threads; a FILE holding one of these is read again as tasks end (default: as many as the CPUs hold)")
	f.StringVarP(&jobs, "max-procs", "P", "", "-j")
	f.MarkHidden("max-procs")
	f.BoolVar(&link, "link", false, "pair the input groups input by input (the longest sets the count, the others start over) instead of making every combination")
	f.BoolVar(&link, "xapply", false, "--link, by its older name")
	f.StringVarP(&colsep, "colsep", "C", "", "split each input into columns where `REGEXP` matches: {1} {2} ... are the columns")
	f.StringArrayVarP(&argFiles, "arg-file", "a", nil, "inputs: the lines of `FILE`, a group before the ::: ones (as :::: FILE; repeatable)")
	f.BoolVar(&dryRun, "dry-run", false, "print the command each task would run, as shell text, and run nothing")
	f.BoolVar(&dryRun, "dryrun", false, "--dry-run")
	f.BoolVarP(&null, "null", "0", false, "inputs from files and standard input end at NUL bytes, not line ends (find -print0)")
	f.StringVar(&argSep, "arg-sep", ":::", "`SEP` separates the command from its input groups and the groups from each other, where ::: does (SEP+ where :::+ does), ::: then being a value, as GNU parallel's --arg-sep")
	f.StringVar(&argFileSep, "arg-file-sep", "::::", "`SEP` comes before input files, where :::: does (SEP+ where ::::+ does), as GNU parallel's --arg-file-sep")
	f.StringVar(&delimiter, "delimiter", "", "inputs end at `DELIM`, not at line ends, and a ::: value is cut at it, as GNU parallel's -d DELIM: \\t \\n \\r, \\0 and octal \\NNN are read as parallel reads them; -d DELIM is this where DELIM is a few characters and no letter or digit (-d , or -d '\\t'), else -d is --detach")
	var shown bool
	for _, n := range []string{"progress", "eta", "bar"} {
		f.BoolVar(&shown, n, false, "accepted for GNU parallel's command lines: burst's progress line shows on a terminal (--quiet hides it)")
		f.MarkHidden(n)
	}
	f.BoolVarP(&quoted, "quote", "q", false, "pass the command's words as they are, as GNU parallel's -q: no word is shell text (a redirection, &&, ||, ;, $ or *)")
	f.BoolVarP(&skipBlank, "no-run-if-empty", "r", false, "skip inputs that are empty or only white space, as GNU parallel's -r")
	f.StringVar(&trimFlag, "trim", "", "remove the white space at the left (l), right (r) or both ends (lr) of each input, or with --colsep of each column (then lr unless given; n: none), as GNU parallel's --trim")
	f.StringArrayVar(&envNames, "env", nil, "accepted for GNU parallel's command lines: every task starts with the environment burst map was started in")
	f.MarkHidden("env")
	f.BoolVar(&cite, "will-cite", false, "accepted for GNU parallel's command lines: burst prints no citation notice")
	f.BoolVar(&cite, "no-notice", false, "--will-cite")
	f.BoolVar(&cite, "nn", false, "--will-cite")
	f.MarkHidden("nn")
	var cpus bool
	f.BoolVar(&cpus, "use-cpus-instead-of-cores", false, "accepted for GNU parallel's command lines: -j 50%, +1 and -1 count this machine's CPU threads")
	f.MarkHidden("use-cpus-instead-of-cores")
	f.StringVar(&tmpdir, "tmpdir", "", "accepted for GNU parallel's command lines (where it buffers output): burst keeps each task's output itself")
	f.MarkHidden("tmpdir")
	f.IntVar(&nice, "nice", 0, "run each task, and all it starts, at niceness `N` (GNU parallel's --nice; clamped to -20..19 as nice(1) does)")
	f.StringVar(&delay, "delay", "", "start a task at most every `DURATION` (seconds, or 0.5s, 2m, 1h), on whatever machines, as GNU parallel's --delay")
	f.StringVar(&timeout, "timeout", "", "GNU parallel's --timeout: kill a task that runs longer than `SECONDS` (or 90s, 10m, 2h, 1d; --time is the same), or than N% of the median run time of the tasks that succeeded (200%)")
	f.IntVarP(&maxArgs, "max-args", "n", 0, "give each task `N` inputs (the last may get fewer): {1} ... {N} are they, {} all of them; 0: a task per input, given none of them (parallel's -N0)")
	f.IntVarP(&maxArgs, "max-replace-args", "N", 0, "-n N, and a word holding {} is repeated for each input (pict{}.jpg: picta.jpg pictb.jpg)")
	f.MarkHidden("max-replace-args")
	f.IntVarP(&maxLinesCtx, "max-lines-replace", "L", 0, "GNU parallel's -L N: -N N, a line that ends in white space going on with the next (-L 0: -n 0, none going on)")
	f.MarkHidden("max-lines-replace")
	f.IntVarP(&maxLines, "max-lines", "l", 0, "GNU parallel's -l N (--max-lines N): -n N, a line that ends in white space going on with the next (-l 0, or -l with no number: -l 1)")
	f.MarkHidden("max-lines")
	f.BoolVarP(&ctxReplace, "context-replace", "X", false, "give each task as many inputs as fit, dealt out evenly to -j's tasks, a word holding {} repeated for each (x{}y: xay xby), as GNU parallel's -X")
	f.BoolVarP(&multiArgs, "multiple-args", "m", false, "give each task as many inputs as fit, dealt out evenly to -j's tasks, {} standing for all of them (x{}y: xa by), as GNU parallel's -m")
	f.BoolVar(&plus, "plus", false, "GNU parallel's --plus: its bash-like strings {%.gz} {#pre} {/a/b} {:-default} {:2:3} {^a} {,A} ({2%.gz} of a column) and {slot} are filled only with it; {..} {...} {/..} {/...} {+/} {+.} {+..} {+...} {##} {0#} {0%} with it or without")
	f.BoolVar(&shuf, "shuf", false, "run the tasks in a random order, numbered ({#}) in that order, as GNU parallel's --shuf")
	f.BoolVar(&xargs, "xargs", false, "-m, every input to one task as far as its command line allows, as GNU parallel's --xargs")
	f.StringVar(&joblogPath, "joblog", "", "write GNU parallel's job log to `FILE` as the tasks end (+FILE appends; - is standard output)")
	f.StringVarP(&replace, "replace-str", "I", "", "`R` stands for the input in the command, where {} does (GNU parallel's -I)")
	f.StringVarP(&replace, "replace", "i", "", "-I, its value optional (--replace=R; alone: {})")
	f.Lookup("replace").NoOptDefVal = "{}"
	f.MarkHidden("replace")
	f.StringVar(&resultsName, "results", "", "save each task's stdout, stderr and number in files under `DIR` instead of printing them (DIR/1/INPUT/stdout ...), as GNU parallel's --results; with {} in it, name each task's files")
	f.StringVar(&resultsName, "res", "", "--results")
	f.MarkHidden("res")
	f.StringVar(&header, "header", "", "`:` takes the first line (or ::: value) of each input group as its column names, for {NAME} in the command and --results, as GNU parallel's --header : (any value but 0 is :, as there; 0: each :::: file's path names its number among the files, {data/a.txt})")
	f.BoolVar(&resumeJoblog, "resume-joblog", false, "GNU parallel's --resume (burst map --resume with no job id): run only the tasks --joblog FILE has no line for")
	f.MarkHidden("resume-joblog")
	f.BoolVar(&resumeFailed, "resume-failed", false, "with --joblog FILE, run only the tasks it has no line for or whose run failed, as GNU parallel's --resume-failed")
	f.BoolVarP(&verbose, "print-commands", "v", false, "print each task's command (as --dry-run does) before its output, as GNU parallel's -v")
	f.BoolVar(&verboseErr, "verbose", false, "print each task's command on stderr as it starts (untagged, not saved by --results), as GNU parallel's --verbose (its -t)")
	f.BoolVar(&lineBuffer, "line-buffer", false, "print the tasks' output lines as they come, whole lines of running tasks interleaved, as GNU parallel's --lb (with -k, or --retries: each whole, in input order or as it ends)")
	for _, n := range []string{"lb", "linebuffer"} {
		f.BoolVar(&lineBuffer, n, false, "--line-buffer")
		f.MarkHidden(n)
	}
	f.BoolVarP(&ungroup, "ungroup", "u", false, "print the tasks' output as it comes, untagged, lines of running tasks mixed, as GNU parallel's -u (with -k, or --retries: each whole, in input order or as it ends)")
	f.Bool("group", false, "accepted for GNU parallel's command lines: each task's output printed whole as it ends is the default (--group)")
	f.MarkHidden("group")
	f.BoolVar(&tag, "tag", false, "begin each output line with the task's inputs and a tab, as GNU parallel's --tag")
	f.StringVar(&tagString, "tagstring", "", "begin each output line with `STR` and a tab, its replacement strings ({} {.} {#} {%} {1} ...) filled for the task, as GNU parallel's --tagstring")
	f.StringVar(&halt, "halt", "", "GNU parallel's --halt: `WHEN,fail=N` (or N%): stop once N tasks failed, cancelling those that run (now) or letting them end (soon); WHEN,success=N once N succeeded (exit 0), WHEN,done=N once N ended; never; 1, 2, -1 and -2 as parallel reads them")
	f.StringVar(&halt, "halt-on-error", "", "--halt, by its older name")
	f.Bool("gnu", false, "accepted for GNU parallel's command lines (its --gnu changes nothing there either)")
	plainFlag(c)
	for _, n := range []string{"dryrun", "xapply", "no-notice", "halt-on-error", "gnu"} {
		f.MarkHidden(n) // other names of flags listed
	}
	f.SetNormalizeFunc(mapFlagNames) // parallel's other spellings: --line-buffered, --jl, --col-sep ...
	return c
}

// startMap connects, starts the map with start (a submit or a resume), and
// prints its id (-d) or follows it to the end.
func startMap(c *cobra.Command, detach bool, o *followOpts, start func(context.Context, *client.Client) (*burst.Job, error)) error {
	ctx, stderr := c.Context(), c.ErrOrStderr()
	var in *interrupts
	if !detach {
		ctx, in = holdSignals(ctx, stderr)
		defer in.release()
	}
	cl, err := connect(ctx, stderr)
	if err != nil {
		return cmp.Or(submitStopped(ctx), err)
	}
	j, err := start(ctx, cl)
	if err != nil {
		return cmp.Or(submitStopped(ctx), err)
	}
	if detach {
		fmt.Fprintln(c.OutOrStdout(), j.ID)
		return nil
	}
	return followTasks(ctx, c, follows(cl), j, *o, in) // o as start left it
}

// mapStatusError is how a map's tasks ended, as its exit status says.
type mapStatusError struct{ *ExitError }

func (e mapStatusError) Unwrap() error { return e.ExitError }

// parallelStatus turns every error but the tasks' own failures (and an
// interrupt, or a closed output) into exit status 255, GNU parallel's "Other error".
func parallelStatus(err error) error {
	var ee *ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mapStatusError{}):
		return err
	case errors.As(err, &ee):
		if ee.Code == 130 || ee.Code == 141 { // cancelled; its output's reader gone (as parallel dies of SIGPIPE)
			return err
		}
		return &ExitError{Code: 255, Msg: ee.Msg, usage: ee.usage}
	}
	var ae *client.Error
	if errors.As(err, &ae) {
		return &ExitError{Code: 255, Msg: ae.Message}
	}
	return &ExitError{Code: 255, Msg: err.Error()}
}

// resumeOptions are the flags given with --resume that change how the rest
// of the map runs; flags that would change what its tasks are (their
// command, inputs or resources) are refused.
func resumeOptions(c *cobra.Command, maxFailures string, jobs string, fo *followOpts) (client.ResumeOptions, error) {
	var o client.ResumeOptions
	var bad []string
	c.Flags().Visit(func(f *pflag.Flag) { // every flag given, so that none added later is silently ignored
		switch f.Name {
		case "resume", "max-failures", "jobs", "max-procs", "keep-order", "quiet", "detach", "gnu":
		default:
			name := "--" + f.Name
			switch f.Name {
			case "resume-joblog":
				name = "--resume without a job id"
			case nameJ:
				name = "-J"
			}
			bad = append(bad, name)
		}
	})
	if len(bad) > 0 {
		return o, usage("%s cannot change on --resume: the resumed tasks keep their command, inputs and resources; with --resume give only --max-failures, -j, -k, --quiet or -d", strings.Join(bad, ", "))
	}
	if c.Flags().Changed("max-failures") {
		var m burst.MapSpec
		if err := parseMaxFailures(maxFailures, &m); err != nil {
			return o, err
		}
		o.MaxFailures, o.MaxFailuresPct = &m.MaxFailures, &m.MaxFailuresPct
	}
	if c.Flags().Changed("jobs") || c.Flags().Changed("max-procs") {
		v, pf, err := jobsValue(jobs, runtime.NumCPU())
		if err != nil {
			return o, err
		}
		n, err := parallelJobs(v, runtime.NumCPU())
		if err != nil {
			return o, procfileSays(pf, err)
		}
		o.MaxRunning = &n
		if pf != nil {
			pf.n = n
			fo.procfile = pf
		}
	}
	return o, nil
}

// resumeHalt sets o to follow a resume of map j as it followed j, when j
// was made with --halt: each task the halt counts named, with its command
// (as --dry-run prints it, its inputs asked of the server as it ends), and
// the exit status parallel gives (followTasks). A map of some of
// another's tasks, each keeping its number (MapSpec.Numbered), has its
// tasks named by no command: its numbers are not asked for.
func resumeHalt(ctx context.Context, cl *client.Client, j *burst.Job, o *followOpts) {
	if j.Spec == nil || j.Spec.Map == nil || j.Spec.Map.Halt == "" {
		return
	}
	m := j.Spec.Map
	o.halt = m.Halt
	o.haltAt, o.haltSoon = haltAt(m, int64(j.Tasks.Total)), m.HaltSoon
	if m.Numbered {
		return
	}
	slots := j.Spec.MaxRunning
	o.command = func(t burst.Task) string {
		var in []string
		if r, err := cl.Results(ctx, j.ID, t.Index, 1, false); err == nil && len(r) == 1 && r[0].Index == t.Index {
			in = r[0].Input
		}
		return dryRunLine(m, in, mapspec.Numbers{Seq: int64(t.Index) + 1, Slot: t.Slot, Total: int64(j.Tasks.Total), Slots: slots, Plus: m.Plus})
	}
}

// succeededTasks marks, by index, the tasks of map j that succeeded.
func succeededTasks(ctx context.Context, cl *client.Client, j *burst.Job) ([]bool, error) {
	done := make([]bool, j.Tasks.Total)
	err := forTasks(ctx, cl, j.ID, 0, j.Tasks.Total, []burst.State{burst.Succeeded}, func(t burst.Task) {
		if t.Index >= 0 && t.Index < len(done) {
			done[t.Index] = true
		}
	})
	return done, err
}

// readInputFile reads a :::: file, "-" being standard input.
func readInputFile(stdin io.Reader) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if p == "-" {
			return readInputs(stdin, "standard input")
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readInputs(f, p)
	}
}

// readInputs reads a map's inputs from r (name says which file) up to
// what one submission carries: a larger stream could never be submitted,
// and read whole it would take the memory of a stream that has no end.
func readInputs(r io.Reader, name string) ([]byte, error) {
	buf := new(bytes.Buffer)
	if f, ok := r.(*os.File); ok {
		// A file's size known, one buffer of it: io.ReadAll's growth held
		// twice a 60 MB file for a moment (the CLI's peak). Not
		// buf.Grow: built with -race, it allocates twice.
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() <= burst.MaxSubmitBytes {
			buf = bytes.NewBuffer(make([]byte, 0, fi.Size()+bytes.MinRead)) // ReadFrom wants MinRead free before it sees the end
		}
	}
	_, err := buf.ReadFrom(io.LimitReader(r, burst.MaxSubmitBytes+1))
	data := buf.Bytes()
	if err == nil && len(data) > burst.MaxSubmitBytes {
		// split -C: parts of whole lines by their bytes (-l counts lines,
		// which says nothing of the size of a part of long lines).
		return nil, tooLarge(fmt.Sprintf("%s holds more than %d MiB of inputs, more than one submission carries: split it (split -C %dM FILE part.) and map each part, or give the inputs as files (--over 'data/*')",
			name, burst.MaxSubmitBytes>>20, burst.MaxSubmitBytes>>21))
	}
	return data, err
}

// tooLarge is readInputs' refusal: mapspec.ErrTooLarge, with its words.
type tooLarge string

func (e tooLarge) Error() string { return string(e) }
func (e tooLarge) Unwrap() error { return mapspec.ErrTooLarge }

func parseMaxFailures(s string, m *burst.MapSpec) error {
	if s == "" {
		return nil
	}
	bad := usage("--max-failures %q: give a count (5) or a share of the tasks (5%%)", s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || v > 100 {
			return bad
		}
		m.MaxFailuresPct = v
		if v == 0 {
			m.MaxFailures = 0
			m.MaxFailuresPct = 1e-9 // 0%: the first failure stops the map
		}
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return bad
	}
	if v == 0 {
		m.MaxFailuresPct = 1e-9 // 0: the first failure stops the map
		return nil
	}
	m.MaxFailures = v
	return nil
}

// doneMap returns map id when every one of its tasks succeeded (there is
// nothing to resume), after saying so; nil when there is something to run.
func doneMap(ctx context.Context, c *cobra.Command, id int64) (*burst.Job, error) {
	cl, err := connect(ctx, c.ErrOrStderr())
	if err != nil {
		return nil, err
	}
	j, err := cl.Job(ctx, id)
	if err != nil || j.Tasks.Total == 0 || j.Tasks.Succeeded != j.Tasks.Total {
		return nil, nil // the resume itself says what is wrong, if anything
	}
	fmt.Fprintf(c.ErrOrStderr(), "burst: job %d: all %s succeeded; there is nothing to resume\n", id, burst.Plural(j.Tasks.Total, "task"))
	return j, nil
}

// printDryRun prints the command each of the map's n tasks would run, a
// line a task (after its tag, with tagOf), as parallel --dry-run
// does: with --shell the script, else
// its words quoted as parallel quotes them (parallel -q --dry-run). With
// verbose, each line goes there too, untagged, before it goes to w.
func printDryRun(w, verbose io.Writer, m *burst.MapSpec, task func(int64) ([]string, int64), numbers func(int64, int) mapspec.Numbers, n int64, tagOf func([]string, mapspec.Numbers) string) error {
	bw := bufio.NewWriter(w)
	for i := range n {
		in, seq := task(i)
		line := dryRunLine(m, in, numbers(seq, 0)) // {%} as written: a task's slot is known when it starts
		if verbose != nil {
			if err := bw.Flush(); err != nil {
				return err
			}
			if _, err := io.WriteString(verbose, line+"\n"); err != nil {
				return err
			}
		}
		if tagOf != nil { // as parallel --dry-run --tag: the tag first
			bw.WriteString(tagOf(in, numbers(seq, 0)))
		}
		bw.WriteString(line)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// tagText is what --tag puts before each line of a task with inputs in:
// the inputs, space-separated, and a tab.
func tagText(in []string) string { return strings.Join(in, " ") + "\t" }

// dryRunLine is the command of the task with inputs in and numbers n (its
// slot 0: {%} left as written), as parallel --dry-run prints it.
func dryRunLine(m *burst.MapSpec, in []string, n mapspec.Numbers) string {
	if m.Commands {
		return strings.Join(in, " ") // the inputs are the shell text
	}
	words, lacking := mapspec.Words(m.Template, in, n, m.Shell, m.PerInput)
	if m.Shell {
		return strings.Join(words, " ") // the script
	}
	q := make([]string, len(words))
	for k, a := range words {
		if m.Quoted || !slices.Contains(lacking, k) { // a value the task lacks: nothing, as parallel writes it
			q[k] = shellquote.AsParallel(a)
		}
	}
	return strings.Join(q, " ")
}

// lineLimit is the longest command line (as --dry-run prints it) that -X
// and -m fill a task's up to: shorter than the 63664 bytes GNU parallel
// 20221122 finds usable on Linux (parallel --show-limits), as it fills them.
const lineLimit = 63663

// fillLines deals src's inputs out to tasks of at most most inputs each, as
// parallel's -X and -m do, each task's command line within lineLimit and
// its inputs within burst.MaxColumns.
func fillLines(m *burst.MapSpec, src mapspec.Source, most int) []mapspec.Source {
	one := mapspec.Numbers{Seq: 1, Plus: m.Plus}
	base := len(dryRunLine(m, nil, one))
	size := func(v string) int { // what one more input adds: its words, -X's context around each
		return len(dryRunLine(m, []string{v, v}, one)) - len(dryRunLine(m, []string{v}, one))
	}
	return mapspec.Fill(src, min(most, burst.MaxColumns), lineLimit, base, size)
}

// longLine finds the first of a map's n tasks whose command line (as
// --dry-run prints it; with --quote, parallel -q's count) is longer than
// lineLimit, the most GNU parallel 20221122 takes: it stops there, exit 255, with "Command line too long",
// having run the tasks before it. It returns the task's index and what to
// say ("" where none is), in parallel's words and burst's fix. Only a map
// with an input long enough for that is looked through.
func longLine(m *burst.MapSpec, sources []mapspec.Source, task func(int64) ([]string, int64), numbers func(int64, int) mapspec.Numbers, n int64) (int64, string) {
	longest := 0 // of every group's longest input: what a task's inputs hold at most
	for _, src := range sources {
		most := 0
		for _, v := range src {
			most = max(most, len(v))
		}
		longest += most + 2
	}
	words := strings.Join(m.Template, " ")
	places := strings.Count(words, "{") + 1
	quoteCount := m.Quoted && !m.Commands // parallel -q (--quote here): three bytes for each unquoted
	// within says whether a task whose inputs hold n bytes (2 more each)
	// cannot reach the limit: each place an input goes holds it, quoted
	// well within eight times its length (parallel's quotes write a ' as
	// four bytes, a shell's text quoted further inside its own quotes), or
	// as it is under parallel -q's count; {#} or {##} some digits.
	within := func(n int) bool {
		if quoteCount {
			return 3*(len(words)+places*(n+24)) <= lineLimit
		}
		return len(words)+places*(8*n+24) <= lineLimit
	}
	if within(longest) {
		return -1, ""
	}
	for i := range n {
		in, seq := task(i)
		held := 0 // the same bound for this task alone: most tasks of a map with one long input pass it
		for _, v := range in {
			held += len(v) + 2
		}
		if within(held) {
			continue
		}
		var size int
		if quoteCount {
			words, _ := mapspec.Words(m.Template, in, numbers(seq, 0), false, m.PerInput)
			size = 3 * len(strings.Join(words, " "))
		} else {
			size = len(dryRunLine(m, in, numbers(seq, 0)))
		}
		if size <= lineLimit {
			continue
		}
		arg := strings.Join(in, " ")
		if len(arg) > 50 {
			arg = arg[:50] + "..."
		}
		return i, fmt.Sprintf("command line too long (%d >= %d) at task %d: %s: GNU parallel runs no task from there on and exits 255 once those before it end, as burst map does: pass a long value in a file (its name as the input), or split it over several inputs", size, lineLimit+1, seq, arg)
	}
	return -1, ""
}

// withoutInputs is the one group of a map given -N 0 (GNU parallel's -N0: a
// task per input, given none of them): each task's command as shell text,
// its {#} and {##} filled and {} (any input's string) empty, so that the
// map runs as one of commands; with no command, an empty one (parallel
// -n0 ::: a b runs nothing twice, exit 0).
func withoutInputs(tmpl []string, shell, plus bool, sources []mapspec.Source) ([]mapspec.Source, error) {
	switch {
	case len(sources) != 1:
		return nil, usage("-N 0 runs the command once per input of one group: put them all after one ::: (or in one :::: file)")
	case mapspec.UsesSlot(tmpl):
		return nil, usage("-N 0: {%%} is known only when a task starts: read $PARALLEL_JOBSLOT in the command instead (burst map -N0 --shell -- 'CMD $PARALLEL_JOBSLOT')")
	}
	n := int64(len(sources[0]))
	out := make(mapspec.Source, n)
	m := &burst.MapSpec{Template: tmpl, Shell: shell}
	for i := range out {
		// No input: {} stands for nothing (a word of it alone is none, as
		// parallel's, -q or not: echo a {} b is echo a  b), and nothing
		// is appended.
		out[i] = dryRunLine(m, nil, mapspec.Numbers{Seq: int64(i) + 1, Total: n, Plus: plus})
	}
	return []mapspec.Source{out}, nil
}

// parallelResumeArgs tells GNU parallel's --resume, a flag (run what the
// --joblog has no line for), from burst's --resume JOB in a map's command
// line: a --resume before the command that no job id follows is made
// --resume-joblog.
func parallelResumeArgs(args []string) []string {
	if len(args) == 0 || args[0] != "map" {
		return args
	}
	var out []string
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if a == "--resume" && (i+1 == len(args) || !isJobID(args[i+1])) {
			a = "--resume-joblog"
		}
		out = append(out, a)
	}
	return out
}

// isJobID reports whether s is a job id: digits.
func isJobID(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// joblogLeft reads the --joblog of an earlier run as GNU parallel's
// --resume reads it: its first line is the header; a line that begins with
// a task number says that task ran (with failed, --resume-failed, only one
// whose Exitval and Signal are 0 does). A line in no joblog's format is
// refused, as parallel refuses it. It returns the indices of the map's n
// tasks left to run, in order; a joblog not made yet leaves every task.
func joblogLeft(path string, failed bool, n int64) ([]int64, error) {
	if path == "" {
		return nil, usage("--resume without a job id is GNU parallel's: it reads --joblog FILE to skip what ran; give --joblog, or resume a burst map by its id: burst map --resume JOB")
	}
	path = strings.TrimPrefix(path, "+")
	ran := map[int64]bool{}
	var f *os.File
	var err error
	if !joblogToStdout(path) { // a log written to stdout says nothing ran, as to parallel
		f, err = os.Open(path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		f, err = nil, nil // not made yet: every task is left
	}
	if err != nil {
		return nil, usage("--joblog %s: %v", path, err)
	}
	if f != nil {
		defer f.Close()
		// Read a line at a time: a million tasks' log is not held whole.
		r := bufio.NewReaderSize(f, 64<<10)
		res := joblogRes()
		for first := true; ; first = false {
			line, err := r.ReadString('\n')
			if err != nil && err != io.EOF {
				return nil, usage("--joblog %s: %v", path, err)
			}
			if line != "" && !first { // the first line is the header
				m := res[0].FindStringSubmatch(line)
				if failed {
					m = res[1].FindStringSubmatch(line)
				}
				if m == nil && !res[2].MatchString(line) {
					return nil, usage("--joblog %s: not a joblog's line (its format is GNU parallel's: Seq, Host, Starttime, JobRuntime, Send, Receive, Exitval, Signal, Command, tab-separated): %q", path, strings.TrimRight(line, "\r\n"))
				}
				if m != nil {
					if seq, err := strconv.ParseInt(m[1], 10, 64); err == nil {
						ran[seq] = true
					}
				}
			}
			if err == io.EOF {
				break
			}
		}
	}
	var left []int64
	for i := range n {
		if !ran[i+1] {
			left = append(left, i)
		}
	}
	return left, nil
}

// joblogRes are the lines of a joblog as parallel's --resume reads them:
// one that begins with a number, one of a task that succeeded (for
// --resume-failed), any joblog line.
// Compiled at the first resume, not at every start.
var joblogRes = sync.OnceValue(func() [3]*regexp.Regexp {
	return [3]*regexp.Regexp{
		regexp.MustCompile(`^(\d+)`),
		regexp.MustCompile(`^(\d+)(?:\t[^\t]+){5}\t0\t0\t`),
		regexp.MustCompile(`^\d+\s+\S+\s+(?:[-0-9.]+\s+){6}`),
	}
})

// numbered makes m the map of the tasks left (indices of the map as it
// was given), each keeping its number: one source whose inputs hold each
// task's inputs as columns and its number last (burst.MapSpec.Numbered).
// It returns the tasks' inputs without their numbers, for staging.
func numbered(m *burst.MapSpec, left []int64, task func(int64) ([]string, int64)) []mapspec.Source {
	rows, plain := make([]string, len(left)), make(mapspec.Source, len(left))
	for k := range left {
		in, seq := task(int64(k))
		plain[k] = strings.Join(in, mapspec.ColumnSep)
		rows[k] = plain[k] + mapspec.ColumnSep + strconv.FormatInt(seq, 10)
	}
	m.Sources, m.Columns, m.Numbered = [][]string{rows}, true, true
	return []mapspec.Source{plain}
}

// joblogToStdout says whether --joblog's FILE is -, standard output.
func joblogToStdout(path string) bool { return strings.TrimPrefix(path, "+") == "-" }

// openJoblog opens --joblog's file, its header written: truncated, or
// appended to with a leading + (as parallel's +FILE).
func openJoblog(path string) (*os.File, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if p, ok := strings.CutPrefix(path, "+"); ok {
		path, flags = p, os.O_WRONLY|os.O_CREATE|os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, usage("--joblog: %v", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, usage("--joblog: %v", err)
	}
	var start string
	switch {
	case fi.Size() == 0:
		start = joblogHeader
	case flags&os.O_APPEND != 0:
		// A log whose last line has no end (a run killed mid-write) gets
		// one, so that the first line added is a line of its own.
		last := make([]byte, 1)
		if r, err := os.Open(path); err == nil {
			if _, err := r.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
				start = "\n"
			}
			r.Close()
		}
	}
	if _, err := f.WriteString(start); err != nil {
		f.Close()
		return nil, usage("--joblog: %v", err)
	}
	return f, nil
}

// parallelJobs reads -j as GNU parallel does: N tasks at once (0: no
// cap), or counted from cpus, this machine's CPU threads: +N and -N add
// and take N, N% is that share rounded up. A relative form that leaves no
// task to run is refused, as parallel refuses it ("Cannot run any jobs").
func parallelJobs(v string, cpus int) (int, error) {
	bad := func(why string) error {
		return usage("-j %s: %s; give a count (4; 0 for as many as possible), or +N, -N or N%% of this machine's %d CPU threads", v, why, cpus)
	}
	sign, num, pct := jobsForm(v)
	if num == "" {
		if st, err := os.Stat(v); err == nil && st.Mode().IsRegular() {
			// A -j file whose content names a file: parallel reads no further.
			return 0, bad("a file's name, in a -j file")
		}
		if strings.HasPrefix(v, "=") {
			return 0, bad("not a count (-j=4 is -j '=4', as GNU parallel reads it and refuses it: write -j 4 or --jobs=4)")
		}
		return 0, bad("not a count") // as parallel refuses 1e2%, .5%, +1%, 1.5, 0x10
	}
	f, _ := strconv.ParseFloat(num, 64)
	var n float64
	switch {
	case pct:
		n = math.Ceil(float64(cpus) * f / 100)
	case sign == '+':
		n = float64(cpus) + f
	case sign == '-':
		n = float64(cpus) - f
	default:
		if f > burst.MaxTasks {
			return 0, bad(fmt.Sprintf("more than %d tasks", burst.MaxTasks))
		}
		return int(f), nil
	}
	switch {
	case n < 1:
		return 0, bad("that leaves no task to run")
	case n > burst.MaxTasks:
		return 0, bad(fmt.Sprintf("more than %d tasks", burst.MaxTasks))
	}
	return int(n), nil
}

// jobsForm splits -j's value as parallel reads it: N, +N, -N, or N% (N
// then may have a fraction: 50.5%); num is "" for anything else.
func jobsForm(v string) (sign byte, num string, pct bool) {
	if v != "" && (v[0] == '+' || v[0] == '-') {
		sign, v = v[0], v[1:]
	}
	num, pct = strings.CutSuffix(v, "%")
	whole, frac, dot := strings.Cut(num, ".")
	if !digits(whole) || dot && (!pct || !digits(frac)) || sign != 0 && pct {
		return 0, "", false
	}
	return sign, num, pct
}

// shareCPUs makes a map's tasks reserve no CPU (JobSpec.SharedCPUs) where
// GNU parallel's -j runs more at once than this host's CPUs hold, with no
// --cpus given: -j N above cpus, this host's CPU threads, or -j 0 ("as
// many as possible"), on this host (another cluster's machines have CPUs
// of their own: there each task reserves its --cpus). --cpus 0 given needs
// a -j, the only bound left on how many run.
func shareCPUs(spec *burst.JobSpec, cpusGiven, jobsGiven bool, cpus int) error {
	if spec.SharedCPUs && !jobsGiven {
		return usage("--cpus 0: the tasks reserve no CPU, so only -j bounds how many run at once: give -j N (such as -j %d), or -j 0 for as many as possible (at most %d)",
			2*cpus, burst.MaxSharedRunning)
	}
	if !cpusGiven && jobsGiven && onThisHost(spec) && (spec.MaxRunning == 0 || spec.MaxRunning > cpus) {
		spec.SharedCPUs, spec.Resources.CPUs = true, 0
	}
	return nil
}

// onThisHost reports whether spec runs on this host's cluster, the default.
func onThisHost(spec *burst.JobSpec) bool { return spec.Cluster == "" || spec.Cluster == "local" }

// jobsAboveCPUs is what to tell of a map on this host whose -j asks for
// more tasks at once than its CPUs hold, each task reserving the --cpus
// given: fewer run at once than parallel's -j would run ("" when -j is not
// above them, the map has no more tasks than fit, or its tasks reserve no
// CPU); or of a map of tasks of no CPU whose -j is above the most of them
// that run at once (burst.MaxSharedRunning).
func jobsAboveCPUs(spec *burst.JobSpec, tasks int64, cpus int) string {
	if spec.SharedCPUs && spec.MaxRunning > burst.MaxSharedRunning && tasks > burst.MaxSharedRunning {
		// As parallel says when its file handles hold fewer than -j.
		return fmt.Sprintf("burst: -j %d: tasks that reserve no CPU run at most %d at once: %d run at a time",
			spec.MaxRunning, burst.MaxSharedRunning, burst.MaxSharedRunning)
	}
	if !onThisHost(spec) || spec.SharedCPUs {
		return ""
	}
	per := max(spec.Resources.CPUs, 1)
	fit := max(cpus/per, 1)
	if spec.MaxRunning <= fit || tasks <= int64(fit) {
		return ""
	}
	return fmt.Sprintf("burst: -j %d: each task reserves %s (--cpus) and this host has %d: at most %d run here at once; leave out --cpus, or give --cpus 0, to run %d at once sharing the CPUs, as GNU parallel's -j %d does",
		spec.MaxRunning, burst.Plural(per, "CPU"), cpus, fit, spec.MaxRunning, spec.MaxRunning)
}

// digits reports whether s is one to 18 decimal digits, as GNU parallel's
// numbers (-j, --timeout) are written.
func digits(s string) bool { return s != "" && len(s) <= 18 && strings.Trim(s, "0123456789") == "" }

// relativeJobs reports whether -j's value counts CPU threads (+N, -N, N%).
func relativeJobs(v string) bool {
	return strings.HasSuffix(v, "%") || strings.HasPrefix(v, "+") || strings.HasPrefix(v, "-")
}

// parallelTimeout is parallel's --timeout value: a time as --time reads it
// (a bare number is seconds, where --time, as sbatch, reads minutes; units
// as parallelSeconds reads them), or N% (pct), a share of the median run
// time of the tasks that succeeded (burst.MapSpec.TimeoutPct).
func parallelTimeout(v string) (t string, pct float64, err error) {
	if n, ok := strings.CutSuffix(v, "%"); ok {
		// parallel takes digits, a point and more digits: 0% is none.
		whole, frac, dot := strings.Cut(n, ".")
		p, err := strconv.ParseFloat(n, 64)
		if err != nil || !digits(whole) || dot && !digits(frac) || !(p >= 0 && p <= burst.MaxTimeoutPct) {
			return "", 0, usage("--timeout %q: give a share of the median run time of the tasks that succeeded (200%% kills a task that runs twice as long as their median), or a time (30, 90s, 10m)", v)
		}
		return "", p, nil
	}
	d, ok := parallelSeconds(v)
	switch {
	case !ok || d < 0 || d == 0 && v != "0":
		return "", 0, usage("--timeout %q: give seconds (30), or with a unit: 90s, 10m, 2h, 1d, 1h30m; or a share of the median run time (200%%)", v)
	case d == 0:
		return "", 0, nil // parallel's --timeout 0: none
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s", 0, nil
}

// parallelSeconds reads a duration as GNU parallel does ("TIME POSTFIXES"
// in its manual): seconds as a decimal number, or numbers each followed by
// s, m, h or d (either case), summed, a last number without one seconds
// (100000 is 1d3.5h16.6m4s; 1m30 is 90). ok is false for any other text.
func parallelSeconds(v string) (d time.Duration, ok bool) {
	isNum := func(s string) bool {
		return s != "" && s != "." && strings.Trim(s, "0123456789.") == "" && strings.Count(s, ".") <= 1
	}
	if v == "" {
		return 0, false
	}
	v = strings.ToLower(v) // parallel's units take either case: 2M is 2m
	var secs float64
	for v != "" {
		i := strings.IndexAny(v, "smhd")
		if i < 0 {
			i = len(v) // a number without a unit: seconds (1m30 is 90 s)
		}
		if !isNum(v[:i]) {
			return 0, false
		}
		f, err := strconv.ParseFloat(v[:i], 64)
		if err != nil {
			return 0, false
		}
		if i == len(v) {
			secs += f
			break
		}
		switch v[i] {
		case 's':
			secs += f
		case 'm':
			secs += f * 60
		case 'h':
			secs += f * 3600
		case 'd':
			secs += f * 86400
		}
		v = v[i+1:]
	}
	if secs >= 1e9 { // past any time a task could wait
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}

// parallelHalt reads parallel's --halt into m: never (0), WHEN,fail=N,
// WHEN,success=N or WHEN,done=N with WHEN soon (started tasks run to their
// end) or now, and N a count or a share (N%); 1 is soon,fail=1, 2
// now,fail=1, -1 soon,success=1, -2 now,success=1, a bare N% soon,fail=N%.
// fail=N comes back as --max-failures (which stops once more than it
// failed: N-1), success= and done= as m's HaltOn.
func parallelHalt(v string, m *burst.MapSpec) (maxFailures string, err error) {
	switch v {
	case "never", "0":
		return "", nil
	case "1", "2":
		m.HaltSoon = v == "1"
		return "0", nil
	case "-1":
		v = "soon,success=1"
	case "-2":
		v = "now,success=1"
	}
	if strings.HasSuffix(v, "%") && !strings.Contains(v, ",") {
		v = "soon,fail=" + v // parallel's --halt 5%
	}
	when, cond, ok := strings.Cut(v, ",")
	if when != "now" && when != "soon" || !ok {
		return "", usage("--halt %q: give now,fail=N or soon,fail=N (or success=N, done=N; N a count or a share such as 10%%), or never", v)
	}
	m.HaltSoon = when == "soon"
	why, n, _ := strings.Cut(cond, "=")
	if why != "fail" && why != burst.HaltOnSuccess && why != burst.HaltOnDone {
		return "", usage("--halt %s: give fail=N (stop once N tasks failed), success=N (once N succeeded) or done=N (once N ended)", v)
	}
	if p, isPct := strings.CutSuffix(n, "%"); isPct {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || !(f > 0 && f <= 100) {
			return "", usage("--halt %s: give a share above 0%% and at most 100%%", v)
		}
		if why != "fail" {
			m.HaltOn, m.HaltAfterPct = why, f
			return "", nil
		}
		return strconv.FormatFloat(f, 'f', -1, 64) + "%", nil
	}
	k, err := strconv.Atoi(n)
	if err != nil || k < 1 {
		return "", usage("--halt %s: give %s=N with N a count of 1 or more, or a share such as 10%%", v, why)
	}
	if why != "fail" {
		m.HaltOn, m.HaltAfter = why, k
		return "", nil
	}
	return strconv.Itoa(k - 1), nil
}

// haltAt is how many of the tasks a map m of n tasks made with --halt
// counts (failed, succeeded or ended: HaltOn) stop it.
func haltAt(m *burst.MapSpec, n int64) int {
	if m.HaltOn != "" {
		return m.HaltCount(int(n))
	}
	return m.MaxFailures + 1 // fail=N as --max-failures N-1 (haltShare)
}

// haltShare turns --halt's fail=P% (in m as a share) into the count of
// failures that stop a map of n tasks, as parallel counts it: it halts
// once P% of the tasks or more failed, the first ceil(n*P/100)-th
// failure (where --max-failures P% stops only past that share).
func haltShare(m *burst.MapSpec, n int64) {
	k := burst.HaltShare(n, m.MaxFailuresPct)
	m.MaxFailures, m.MaxFailuresPct = k-1, 0
	if m.MaxFailures == 0 {
		m.MaxFailuresPct = 1e-9 // the first failure stops it (parseMaxFailures' 0)
	}
}
