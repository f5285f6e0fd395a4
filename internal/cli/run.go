package cli

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/sbatch"
	"github.com/burst-sh/burst/internal/shellquote"
	"github.com/burst-sh/burst/internal/sysuser"
)

// resFlags are the resource flags shared by commands that submit work.
type resFlags struct {
	cpus    int
	mem     string
	gpus    string
	time    string
	name    string
	project string
	retries int
	on      string
	stack   string
	keep    bool
	// shares says --cpus 0 is taken: the tasks reserve no CPU
	// (JobSpec.SharedCPUs), as burst map's may.
	shares bool
	// profileJ says -J is a flag of its own (nameJ), not --name's short
	// name: burst map's, which GNU parallel's -J (--profile) may mean
	// (mapProfile). Its value goes to name too.
	profileJ bool
	afterFlags
}

func (f *resFlags) add(c *cobra.Command) {
	fl := c.Flags()
	fl.IntVarP(&f.cpus, "cpus", "c", 1, "CPU cores for each task")
	fl.StringVar(&f.mem, "mem", "", "memory for each task, e.g. 512M or 8G (enforced; default: not limited)")
	fl.StringVarP(&f.gpus, "gpus", "G", "", "`N` GPUs for each task, or TYPE:N (default 0; CUDA_VISIBLE_DEVICES names the ones given)")
	fl.StringVarP(&f.time, "time", "t", "", "time limit, e.g. 90s, 10m, 2h, 1:30:00 or 2-00:00:00 (then SIGTERM, SIGKILL)")
	if f.profileJ {
		fl.StringVar(&f.name, "name", "", "job name (default: the program's name; -J NAME too)")
		fl.StringVarP(&f.name, nameJ, "J", "", "--name NAME, unless NAME is a GNU parallel profile (refused)")
		fl.MarkHidden(nameJ)
	} else {
		fl.StringVarP(&f.name, "name", "J", "", "job name (default: the program's name)")
	}
	fl.StringVar(&f.project, "project", "", "project the job belongs to (default: default)")
	fl.IntVar(&f.retries, "retries", 0, "run a failed task again up to this many times")
	fl.StringVar(&f.on, "on", "", "the `CLUSTER` to run on (default: local, this machine; 'burst cluster list' shows the others)")
	f.afterFlags.add(c)
	fl.StringVar(&f.stack, "stack", "", "run each task inside this software `STACK` (NAME, NAME:V or NAME@sha256:HEX; see `burst stack`), in /work")
	fl.BoolVar(&f.keep, "keep-changes", false, "with --stack: a writable root whose changes each task keeps, for burst stack commit JOB --as NAME")
}

// apply puts the flags the user set into spec, over whatever a script's
// directives put there (command-line flags win, as with sbatch).
func (f *resFlags) apply(c *cobra.Command, spec *burst.JobSpec) error {
	ch := c.Flags().Changed
	if ch("mem") && ch("mem-per-cpu") {
		return usage("--mem and --mem-per-cpu cannot both be given (as with sbatch): keep one of them")
	}
	if ch("cpus") || spec.Resources.CPUs == 0 {
		switch {
		case f.cpus == 0 && f.shares:
			spec.SharedCPUs = true // burst map --cpus 0: each task shares the machine's
		case f.cpus < 0 && f.shares:
			return usage("--cpus %d: ask for 1 CPU or more each, or 0 for tasks that reserve none and share the machine's", f.cpus)
		case f.cpus < 1:
			return usage("--cpus %d: ask for at least 1 CPU (burst map's tasks may ask for 0)", f.cpus)
		}
		spec.Resources.CPUs = f.cpus
		if b := spec.Batch; b != nil && ch("cpus") {
			// On a batch script --cpus is sbatch's -c: CPUs per Slurm task.
			b.CPUsPerTask = f.cpus
			spec.Resources.CPUs = max(1, b.NTasks) * f.cpus
			if b.MemPerCPU > 0 { // --mem-per-cpu is per CPU: of the CPUs given here
				spec.Resources.MemBytes = b.MemPerCPU * int64(spec.Resources.CPUs)
			}
		}
	}
	if ch("mem") {
		m, err := burst.ParseMem(f.mem)
		if err != nil {
			return usage("--mem: %v", err)
		}
		spec.Resources.MemBytes = m
		if b := spec.Batch; b != nil {
			b.MemPerCPU = 0  // --mem wins over a directive's --mem-per-cpu
			b.MemAll = false // and over its --mem=0
		}
	}
	if ch("gpus") {
		n, err := parseGPUs(f.gpus)
		if err != nil {
			return err
		}
		spec.Resources.GPUs = n
	}
	if ch("time") {
		d, err := burst.ParseTimeLimit(f.time)
		if err != nil {
			return usage("--time: %v", err)
		}
		spec.Resources.TimeLimit = int64((d + time.Second - 1) / time.Second)
		if spec.Batch != nil {
			spec.Resources.TimeLimit = sbatch.MinuteLimit(d) // as sbatch keeps it
		}
	}
	if ch("name") || f.profileJ && ch(nameJ) {
		spec.Name = f.name
	}
	if ch("project") {
		spec.Project = f.project
	}
	if ch("retries") {
		if f.retries < 0 {
			return usage("--retries %d: use 0 or more", f.retries)
		}
		spec.Retries = f.retries
	}
	if ch("on") {
		if f.on == "" {
			return usage("--on needs a cluster name: see `burst cluster list`")
		}
		spec.Cluster = f.on
	}
	if ch("stack") {
		r, err := stackFlag(f.stack)
		if err != nil {
			return err
		}
		spec.Stack = r
	}
	if ch("keep-changes") && f.keep {
		if spec.Stack == nil {
			return usage("--keep-changes keeps what tasks change in their stack: give the stack with --stack NAME")
		}
		spec.Stack.Keep = true
	}
	return f.afterFlags.apply(c, spec)
}

// parseGPUs reads --gpus: N, or TYPE:N as sbatch's --gpus takes it (the
// type is not matched: any GPU of the machine serves).
func parseGPUs(v string) (int, error) {
	c := v
	if _, n, ok := strings.Cut(v, ":"); ok {
		c = n
	}
	n, err := strconv.Atoi(c)
	if err != nil || n < 0 {
		return 0, usage("--gpus %s: give a number of GPUs (0 or more), e.g. --gpus 1 or --gpus a100:2", v)
	}
	return n, nil
}

// batchFlags are sbatch's options that `burst run SCRIPT` takes on its
// command line, where (as with sbatch) they override the script's #SBATCH
// lines. They go through the directives' own parser.
var batchFlags = []struct {
	name, short string
	takes       bool   // takes a value
	usage       string // its back-quoted word is the value's name in --help
}{
	{"array", "a", true, "batch scripts: run as a job array over `INDEXES`, e.g. 0-99, 1,3,5, 0-15:4, or 0-99%10 (10 at once)"},
	{"output", "o", true, "batch scripts: write stdout (and stderr, without --error) to `PATTERN`, e.g. out-%j.txt (default slurm-%j.out; arrays slurm-%A_%a.out)"},
	{"error", "e", true, "batch scripts: write stderr to `PATTERN`, e.g. err-%j.txt"},
	{"input", "i", true, "batch scripts: the script's standard input is the file `PATTERN`, e.g. in-%a.txt (default /dev/null)"},
	{"ntasks", "n", true, "batch scripts: `N` Slurm tasks; the job gets N times --cpus CPUs on one machine"},
	{"nodes", "N", true, "batch scripts: `N` nodes; a job runs on one machine, more is warned about"},
	{"export", "", true, "batch scripts: environment `VARS`: ALL (default), NONE (a fresh login's), or NAME,NAME=value,..."},
	{"partition", "p", true, "batch scripts: Slurm `PARTITION`, accepted with a warning (choose where to run with --on)"},
	{"open-mode", "", true, "batch scripts: `MODE` append or truncate (default) for the output files"},
	{"chdir", "D", true, "batch scripts: working `DIR` of the script (relative to this one)"},
	{"gres", "", true, "batch scripts: generic resources `LIST`; gpu[:TYPE]:N gives GPUs, others are warned about"},
	{"mem-per-cpu", "", true, "batch scripts: memory per CPU, a `SIZE` such as 2G (instead of --mem)"},
	{"get-user-env", "", false, "batch scripts: start from your login environment, with your variables over it (sbatch's =TIMEOUT is accepted)"},
}

// switchValue is a flag given alone or with any value, kept as written.
type switchValue struct{ v string }

func (s *switchValue) String() string     { return s.v }
func (s *switchValue) Set(v string) error { s.v = v; return nil }
func (s *switchValue) Type() string       { return "bool" } // so --help shows no value
func (s *switchValue) IsBoolFlag() bool   { return true }

func newRunCmd() *cobra.Command {
	var (
		rf     resFlags
		sf     stageFlags
		detach bool
		native bool
	)
	c := &cobra.Command{
		Use:   "run [flags] -- COMMAND [ARGS...]\n  burst run [flags] SCRIPT [ARGS...]",
		Short: "Run one job and follow it to the end",
		Long: `Run a command, or an existing Slurm batch script, as a job.

The command runs directly (never through a shell) with your environment and
working directory, on a machine with the resources asked for; a command
given as one word of shell text that names no program ('sort x | uniq -c',
quoted whole) runs in sh -c, as sbatch --wrap runs its text. Its output
streams here as it runs; burst exits with the job's exit status (124 if the
time limit was reached, 130 if it was cancelled, 128+N if a signal N killed
it). The job id goes to stderr. Ctrl-C cancels the job, and so do SIGTERM
and SIGHUP (a closed terminal); a second one stops waiting (or a submit
that hangs). Under nohup, SIGHUP is left ignored. When nobody reads the
output any more (| head -1, a closed SSH session) the job is cancelled and
burst exits 141, as a pipeline's writer dies of SIGPIPE.

A SCRIPT (any file with a shebang) is read for #SBATCH directives, which
set resources as they would under sbatch; sbatch's options given here
(--array, -o, -e, -n, -N, --export, -p, --open-mode, -D, --gres, ...)
override them, as with sbatch. #SBATCH --account (-A) is the project the
job is charged to, unless --project is given. Directives burst cannot
honour (mail, qos, ...) are reported, not fatal. The script gets the SLURM_*
variables it expects; its output goes to sbatch's files (slurm-%j.out by
default) and streams here too (an --array's goes to its tasks' files
alone). Each task of an --array is a job of its own to the script (its
SLURM_JOB_ID), which show, logs and cancel accept.
Deliberately different: a job runs on one machine, and --partition does not
choose it (--on does).

Data that follows the work: --in stages files (a directory: its files;
s3://BUCKET/KEY: fetched by the machine itself with its own credentials,
staged under the key's base name; s3://BUCKET/KEY#sha256:HEX also checks
its content) into a private directory
the task runs in, at the same relative paths, on any machine, including
one that shares nothing with this one; they are uploaded once (by
content) and cached per machine. --out uploads the files matching its
globs after the task, and without -d they are fetched back here when the
job succeeds (burst results JOB --fetch does it later). docs/staging.md.

Dependencies: --after ok:12 holds the job queued (asking for no machine,
costing nothing) until job 12 succeeded; any:12 until it ended, however;
notok:12 until it ended otherwise (failed, cancelled, timed out, lost);
started:12 until it started. Several: ok:12:13,any:14 (all of them) or
ok:12?ok:13 (any one). corr:12 on a map: each task starts once the task
of the same index of map 12 succeeded, the others run meanwhile; ok:12_4
waits for task 4 of map 12 alone. --dependency takes sbatch's syntax
(afterok:12, aftercorr:12, singleton). A job whose dependency can never be
met (it needed job 12 to succeed, and 12 failed) is cancelled, its reason
naming job 12 (with corr:, the one task whose task failed); one that
already cannot be is refused. burst show and burst jobs say what a held
job waits for.

Deferred start: --begin TIME holds the job queued the same way (asking for
no machine, costing nothing) until TIME, read as sbatch --begin reads it:
now+1hour, now+90 (seconds), now+2days, 16:00 (today, or tomorrow if 16:00
has passed), 10:00 PM, midnight, noon tomorrow, tomorrow, 12/24 (this year,
or next once past), 2026-12-24T08:00; in this machine's time zone, at most
a year ahead. A time already past starts it at once. With --after, both
must hold. The server releases it within 2 s of TIME; burst show and burst
jobs say "waiting until TIME".`,
		Example: `  burst run -- python3 -c 'print(6*7)'
  burst run --cpus 2 --mem 1G --time 10m -- ./fit.sh data.csv
  burst run -- sh -c 'exit 3'; echo $?     # 3
  burst run -d -- sleep 100               # prints the job id and returns
  burst run job.sbatch input.csv           # #SBATCH lines honoured
  burst run --array=1-100%10 -o 'out/%A_%a.txt' job.sbatch
  burst run --in data.csv --in refs/ --out 'results/*.csv' -- ./fit.sh data.csv
  burst run --in s3://lab-data/ref.fa --out out.bam -- ./align ref.fa
  a=$(burst run -d -- ./prepare.sh); burst run -d --after ok:$a -- ./fit.sh   # fit once prepare succeeded
  burst run -d --begin now+1hour -- ./nightly.sh   # start in an hour (or --begin 02:00: the next 2 a.m.)
  burst run --in s3://lab-data/ref.fa#sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 -- ./align ref.fa`,
		RunE: func(c *cobra.Command, args []string) error {
			spec, err := buildRunSpec(c, &rf, args)
			var st *staging
			if err == nil {
				st, err = sf.plan(spec.Workdir, spec)
			}
			if err == nil && !st.empty() {
				spec.Local = unstagedLocal(spec.Local, st)
			}
			if err == nil && native {
				if spec.Cluster == "" {
					return usage("--native needs --on CLUSTER: a cluster of the slurm provider (`burst cluster list`)")
				}
				spec.Native = true
			}
			if err != nil {
				return err
			}
			return submitAndFollow(c, spec, detach, st, true)
		},
	}
	c.Flags().SetInterspersed(false)
	rf.add(c)
	sf.add(c)
	for _, f := range batchFlags {
		if f.takes {
			c.Flags().StringP(f.name, f.short, "", f.usage)
			continue
		}
		// A switch that also takes sbatch's optional value
		// (--get-user-env=10L): shown in --help as a plain switch.
		c.Flags().VarPF(&switchValue{}, f.name, f.short, f.usage).NoOptDefVal = "true"
	}
	c.Flags().BoolVarP(&detach, "detach", "d", false, "submit, print the job id and return at once")
	c.Flags().BoolVar(&native, "native", false, "with --on a Slurm cluster: submit the job to Slurm itself (sbatch), to live in Slurm's accounting, instead of running it in a pilot")
	return c
}

// baseSpec is a spec with the submitter's environment and directory, which
// tasks inherit (sbatch's --export=ALL).
func baseSpec() (*burst.JobSpec, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("current directory: %w", err)
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && !strings.HasPrefix(k, "BURST_") {
			env[k] = v
		}
	}
	return &burst.JobSpec{Workdir: wd, Env: env}, nil
}

func buildRunSpec(c *cobra.Command, rf *resFlags, args []string) (*burst.JobSpec, error) {
	spec, err := baseSpec()
	if err != nil {
		return nil, err
	}
	dash := c.ArgsLenAtDash()
	switch {
	case len(args) == 0:
		return nil, usage("no command given: put it after --, e.g. `burst run -- python3 fit.py`, or name a batch script")
	case shellText(args) && dash <= 0:
		// One word of shell text naming no file or program (burst run --
		// 'sort x | uniq -c'): sh runs it, as sbatch --wrap does.
		spec.Argv = []string{"sh", "-c", args[0]}
		spec.Name = shellTextName(args[0])
	case dash == 0:
		spec.Argv = args
	case dash > 0:
		return nil, usage("unexpected %q before --: put the whole command after --", args[0])
	default:
		if err := readScript(c, spec, args); err != nil {
			return nil, err
		}
		spec.Argv = args[1:]
	}
	if spec.Batch == nil {
		if o := c.Flags().Lookup("output").Value.String(); c.Flags().Changed("output") && slices.Contains([]string{fmtTable, fmtWide, fmtJSON, fmtYAML}, o) {
			// -o json, as the listings take it: burst run prints the job's own output.
			return nil, usage("-o %s: burst run's -o is sbatch's --output (a batch script's output file), not a format; for the job as JSON, submit it with -d (which prints its id) and run `burst show -o %s ID`", o, o)
		}
		for _, f := range batchFlags {
			if c.Flags().Changed(f.name) {
				return nil, usage("--%s is sbatch's and applies to batch scripts: name one (`burst run --%s ... job.sbatch`); for many inputs use `burst map`", f.name, f.name)
			}
		}
	}
	if err := rf.apply(c, spec); err != nil {
		return nil, err
	}
	spec.Local = localPaths(spec.Workdir, spec.Argv) // checked on machines that do not share this filesystem
	spec.Defaults()
	if err := spec.Validate(); err != nil {
		return nil, usage("%v", err)
	}
	return spec, nil
}

// shellText reports whether a command given as args is one word of shell
// text (shellquote.IsText) that names no file here and no program on PATH:
// a command meant for a shell, which a task runs with sh -c.
func shellText(args []string) bool {
	if len(args) != 1 || !shellquote.IsText(args[0]) {
		return false
	}
	if _, err := exec.LookPath(args[0]); err == nil {
		return false
	}
	_, err := os.Stat(args[0])
	return errors.Is(err, fs.ErrNotExist)
}

// shellTextName names a job of shell text after its program: the first
// word that is no assignment (VAR=1), without the ( or { that opens a
// group; "sh" when there is none ('sort x | uniq -c' is sort). --name,
// applied after, wins.
func shellTextName(text string) string {
	for _, w := range strings.Fields(text) {
		if w = strings.TrimLeft(w, "({!"); w == "" || strings.Contains(w, "=") {
			continue
		}
		if n := burst.BaseName(strings.TrimRight(w, ";&|)}")); n != "" {
			return n
		}
	}
	return "sh"
}

// bashFunction reports whether name is a function that bash exported to
// env (export -f name: BASH_FUNC_name%%) and no program on PATH.
func bashFunction(name string, env map[string]string) bool {
	if _, ok := env["BASH_FUNC_"+name+"%%"]; !ok || strings.Contains(name, "/") {
		return false
	}
	_, err := exec.LookPath(name)
	return err != nil
}

// readScript loads the batch script args[0] (args[1:] are its arguments)
// and its #SBATCH directives into spec.
func readScript(c *cobra.Command, spec *burst.JobSpec, args []string) error {
	path := args[0]
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && slices.Contains(args[1:], "--"):
		// burst run --time 2 hours -- CMD: a flag's value of two words.
		return usage("unexpected %q before --: put the whole command after --, and give a flag's value as one word (--time 2h, --mem 8G) or quoted", path)
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := exec.LookPath(path); lerr != nil || strings.Contains(path, "/") {
			// No program either: a script looked for in the wrong directory.
			wd, _ := os.Getwd()
			return usage("%s: no such file in %s (a batch script is read from the directory burst runs in): cd to its directory or give its path; to run a program instead put it after --, e.g. `%s`",
				path, wd, runDashDash(c, args))
		}
		return usage("%s: no such file; to run a command put it after --, e.g. `%s`", path, runDashDash(c, args))
	case errors.Is(err, fs.ErrPermission):
		return usage("%s: cannot read it (permission denied): fix its permissions", path)
	case err != nil:
		if st, serr := os.Stat(path); serr == nil && st.IsDir() {
			return usage("%s is a directory, not a script", path)
		}
		return usage("%s: %v", path, err)
	}
	if !bytes.HasPrefix(data, []byte("#!")) && bytes.IndexByte(data[:min(len(data), 512)], 0) >= 0 {
		// A program (ELF) or other binary data, which the shebang check
		// would call a script without a #! line.
		cmd := slices.Clone(args)
		if !strings.Contains(path, "/") {
			cmd[0] = "./" + path
		}
		return usage("%s is a program or binary data, not a batch script: to run a program put it after --, e.g. `%s`", path, runDashDash(c, cmd))
	}
	var sets [][2]string
	for _, f := range batchFlags { // the command line overrides the directives
		if c.Flags().Changed(f.name) {
			sets = append(sets, [2]string{f.name, c.Flags().Lookup(f.name).Value.String()})
		}
	}
	_, err = applyScript(c, spec, path, data, sets, false)
	return err
}

// runDashDash is the command line that runs argv as a program with the
// flags c was given: `burst run --cpus 2 -- python3 -c 'print(1)'`, for a
// command typed without -- and so taken for a batch script. Flags come in
// pflag's order, each as --NAME VALUE (--NAME=VALUE for one whose value
// is optional), shell-quoted, so that the line can be pasted as it is.
func runDashDash(c *cobra.Command, argv []string) string {
	line := []string{c.CommandPath()}
	c.Flags().Visit(func(f *pflag.Flag) {
		name := "--" + f.Name
		switch v := f.Value.(type) {
		case pflag.SliceValue: // --in a --in b
			for _, x := range v.GetSlice() {
				line = append(line, name, shellquote.Quote(x))
			}
		default:
			switch {
			case f.NoOptDefVal != "" && v.String() == f.NoOptDefVal:
				line = append(line, name)
			case f.NoOptDefVal != "":
				line = append(line, shellquote.Quote(name+"="+v.String()))
			default:
				line = append(line, name, shellquote.Quote(v.String()))
			}
		}
	})
	return strings.Join(line, " ") + " -- " + shellquote.Join(argv)
}

// applyScript puts a batch script's #SBATCH directives into spec, with
// sbatch's options sets (name, value) given on a command line over them.
// burst run SCRIPT and burst slurm sbatch share it. What burst ignores is
// printed on stderr, and kept in spec.Batch.Ignored; with quiet (sbatch,
// which accepts such directives silently) it is printed only on a terminal:
// scripts read sbatch's output, `$(sbatch job.sh 2>&1 | awk '{print $NF}')`.
func applyScript(c *cobra.Command, spec *burst.JobSpec, path string, data []byte, sets [][2]string, quiet bool) (*sbatch.Script, error) {
	sc, err := sbatch.Parse(path, data)
	if err != nil {
		return nil, optUsage(err)
	}
	for _, s := range sets {
		if err := sc.SetOption(s[0], s[1]); err != nil {
			return nil, optUsage(err)
		}
	}
	if err := sc.Apply(spec); err != nil {
		return nil, optUsage(err)
	}
	if sc.WantsUserEnv() {
		// sbatch(1): --export=NONE starts from the login environment alone;
		// with --get-user-env "environment variables already set in sbatch's
		// environment will take precedence" over the login's.
		env := loginEnv(c.Context(), sc.Export)
		if !sc.ExportsNone() {
			maps.Copy(env, spec.Env)
		}
		spec.Env = env
	}
	abs, _ := filepath.Abs(path)
	spec.Script, spec.ScriptRef = sc.Text, abs
	if spec.Batch == nil {
		spec.Batch = &burst.BatchOptions{}
	}
	submittedFrom(c.Context(), spec.Batch)
	warnings := sc.Warnings
	if sc.Wait && !quiet { // sbatch's --wait: burst run follows the job unless -d
		warnings = append(warnings, path+": #SBATCH --wait: burst run follows the job to its end unless given -d; ignored")
	}
	if p := spec.Batch.Partition; p != "" && p != "local" {
		warnings = append(warnings, fmt.Sprintf("%s: partition %q is not a burst cluster; running on local", path, p))
	}
	if !quiet || isTerminal(c.ErrOrStderr()) {
		for _, w := range warnings {
			fmt.Fprintln(c.ErrOrStderr(), "burst: warning: "+w)
		}
	}
	spec.Batch.Ignored = warnings
	return sc, nil
}

// submittedFrom records in b where a batch job is submitted from, as its
// SLURM_SUBMIT_DIR, SLURM_SUBMIT_HOST, SLURM_JOB_USER and
// SLURM_PRIO_PROCESS (its nice) tell it.
func submittedFrom(ctx context.Context, b *burst.BatchOptions) {
	b.SubmitDir, _ = os.Getwd()
	b.SubmitHost, _ = os.Hostname()
	b.PrioProcess = sysuser.Nice()
	if u, err := sysuser.Current(ctx); err == nil {
		b.User = u.Name
	}
}

// submitAndFollow submits spec and, unless detached, streams the job's
// output until it ends and exits with its status.
// st, when not nil, is what --in and --out stage: its files are uploaded
// once connected, and the outputs of a followed job that succeeds are
// fetched into the working directory. jobLine says whether "burst: job N"
// goes first to stderr (srun's stderr is its command's alone).
func submitAndFollow(c *cobra.Command, spec *burst.JobSpec, detach bool, st *staging, jobLine bool) error {
	ctx := c.Context()
	stderr := c.ErrOrStderr()
	var in *interrupts
	if !detach {
		ctx, in = holdSignals(ctx, stderr)
		defer in.release()
	}
	cl, err := connect(ctx, stderr)
	if err != nil {
		return cmp.Or(submitStopped(ctx), err)
	}
	scriptAccount(ctx, cl, spec, stderr, "burst: warning: ")
	if st != nil {
		if err := st.upload(ctx, cl, spec); err != nil {
			return cmp.Or(submitStopped(ctx), err)
		}
		if !st.empty() || len(spec.Outputs) > 0 { // buildRunSpec validated it without these
			if err := spec.Validate(); err != nil {
				return usage("%v", err)
			}
		}
	}
	sub := cl
	if spec.Map == nil && spec.Pipe == nil {
		// One task, followed below: the answers' spec is the one sent.
		sub = cl.WithoutSpec()
	}
	job, err := sub.Submit(ctx, spec)
	if err != nil {
		return cmp.Or(submitStopped(ctx), projectHint(c, cl, spec, err))
	}
	if detach {
		fmt.Fprintln(c.OutOrStdout(), job.ID)
		return nil
	}
	// Followed, and given data on stdin: said before its output, which
	// the data should have made (detached runs, as in a `while read`
	// loop, are left quiet).
	f, ok := c.InOrStdin().(*os.File)
	unread := ok && spec.Map == nil && stdinWaiting(f)
	if spec.Map != nil { // a job array runs as a map
		return followTasks(ctx, c, follows(cl), job, followOpts{}, in) // no task output: sbatch writes it to files
	}
	if spec.Pipe != nil {
		if unread {
			fmt.Fprintln(stderr, pipeStdinNote)
		}
		return followPipe(ctx, c, follows(cl), job.ID, spec.Pipe, in)
	}
	if jobLine {
		fmt.Fprintf(stderr, "burst: job %d\n", job.ID)
	}
	if unread {
		fmt.Fprintln(stderr, stdinNote)
	}
	streams := []string{"stdout", "stderr"}
	if spec.Batch != nil && !spec.Batch.Logs && (spec.Stderr == "" || spec.Stderr == spec.Stdout) {
		streams = streams[:1] // one file holds both (sbatch's default): show each line once
	}
	err = follow(ctx, c, follows(sub), job.ID, in, streams...)
	if err == nil && len(spec.Outputs) > 0 {
		return fetchAfter(ctx, c, cl, job.ID, 1, ".")
	}
	return err
}

// fetchAfter fetches a job's outputs into dir, with a line on stderr.
func fetchAfter(ctx context.Context, c *cobra.Command, cl *client.Client, id int64, tasks int, dir string) error {
	n, kept, bytes, err := fetchOutputs(ctx, cl, id, tasks, dir, c.ErrOrStderr())
	if err != nil {
		return fmt.Errorf("job %d: fetching its outputs: %w (burst results %d --fetch tries again)", id, err, id)
	}
	msg := fmt.Sprintf("burst: job %d: fetched %s (%s) into %s", id, burst.Plural(n, "output"), bytesHuman(bytes), dir)
	if kept > 0 {
		msg += fmt.Sprintf("; %d already there", kept)
	}
	fmt.Fprintln(c.ErrOrStderr(), msg)
	return nil
}

// follow streams task 0's stdout and stderr until the job ends; Ctrl-C
// cancels the job, a second Ctrl-C stops waiting (in: the signals held
// while it was submitted). cl is a follow's client (follows): the output
// goes on across a server restart.
func follow(ctx context.Context, c *cobra.Command, cl *client.Client, id int64, in *interrupts, streams ...string) error {
	ctx, out, stop := cancelOnInterrupt(ctx, c.OutOrStdout(), c.ErrOrStderr(), cl, id, in)
	defer stop()
	stderr := out.stderr
	if len(streams) == 0 {
		streams = []string{"stdout", "stderr"}
	}
	defer showWaiting(ctx, cl, id, stderr)()
	taskErr := &lastLine{w: stderr}
	var streamOut, streamErr io.Writer
	if slices.Contains(streams, "stdout") {
		streamOut = out.stdout
	}
	if slices.Contains(streams, "stderr") {
		streamErr = taskErr
	}
	// One answer carries both streams and then the job as it ended.
	j, cut, err := cl.Attach(ctx, id, 0, streamOut, streamErr)
	switch {
	case errors.Is(err, client.ErrNoAttach): // an older server
		return followApart(ctx, cl, id, streams, out, stderr)
	case ctx.Err() != nil:
		return stoppedWaiting(ctx, id)
	case err != nil:
		// The output stopped short (a write to this end failed, the
		// server refused the rest): the job's end is still its status.
		cut = err
		if j, err = waitJob(ctx, cl, id); err != nil {
			if ctx.Err() != nil {
				return stoppedWaiting(ctx, id)
			}
			return serverGone(err, id)
		}
	}
	return followEnd(stderr, j, cut, taskErr.line())
}

// followApart is follow for a server that answers no attach: the two
// streams and the wait, each a request of its own.
func followApart(ctx context.Context, cl *client.Client, id int64, streams []string, out outputs, stderr io.Writer) error {
	// The wait goes out with the streams, not after them: the job's end is
	// then known as the streams end, one round trip sooner. Its answer is
	// read only once the streams have ended, so the output shown is whole.
	type waited struct {
		job *burst.Job
		err error
	}
	end := make(chan waited, 1)
	go func() {
		j, err := waitJob(ctx, cl, id)
		end <- waited{j, err}
	}()
	var cut firstErr
	var wg sync.WaitGroup
	taskErr := &lastLine{w: stderr}
	for _, s := range []struct {
		name string
		w    io.Writer
	}{{"stdout", out.stdout}, {"stderr", taskErr}} {
		if !slices.Contains(streams, s.name) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := streamLogs(ctx, cl, id, 0, s.name, s.w); ctx.Err() == nil {
				cut.set(err)
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		<-end // ended by ctx too
		return stoppedWaiting(ctx, id)
	}
	w := <-end
	if w.err != nil {
		if ctx.Err() != nil {
			return stoppedWaiting(ctx, id)
		}
		return serverGone(w.err, id)
	}
	return followEnd(stderr, w.job, cut.get(), taskErr.line())
}

// lastLine passes what is written on to w and keeps its last line (up to
// 64 KiB of it), once the writes are over.
type lastLine struct {
	w    io.Writer
	tail []byte
}

func (l *lastLine) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	l.tail = append(l.tail, p[:n]...)
	if len(l.tail) > 64<<10 {
		l.tail = append(l.tail[:0], l.tail[len(l.tail)-64<<10:]...)
	}
	return n, err
}

func (l *lastLine) line() string {
	t := bytes.TrimSuffix(l.tail, []byte("\n"))
	return string(t[bytes.LastIndexByte(t, '\n')+1:])
}

// firstErr keeps the first error of the streams a follow copies.
type firstErr struct {
	mu  sync.Mutex
	err error
}

func (f *firstErr) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *firstErr) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// followEnd is how a follow of job j ends: with the job's exit status
// (jobExit), unless the output it copied was cut by an error of the server
// (a store or a log file it could not read): a job that succeeded then
// exits 1, as the output printed is not all of it; one that failed keeps
// its own status, with a line on the cut. shown is the last line of the
// task's stderr that the follow printed: a reason the task's stderr ended
// with already ("burst: cannot start: ..." as the agent writes it there)
// is not printed a second time.
func followEnd(stderr io.Writer, j *burst.Job, cut error, shown string) error {
	exit := jobExit(j)
	if ee, ok := exit.(*ExitError); ok && j.State == burst.Failed && j.Reason != "" && shown == "burst: "+j.Reason {
		ee.Msg = fmt.Sprintf("job %d failed (exit %d)", j.ID, ee.Code)
	}
	if cut == nil {
		return exit
	}
	msg := fmt.Sprintf("job %d %s, but its output shown here is incomplete: %v (burst logs %d)", j.ID, j.State, cut, j.ID)
	if exit == nil {
		return &ExitError{Code: 1, Msg: msg}
	}
	fmt.Fprintln(stderr, "burst: "+msg)
	return exit
}

// streamLogs follows one stream; the client goes on from where it was if
// the server goes away (e.g. restarts) in the middle.
func streamLogs(ctx context.Context, cl *client.Client, id int64, task int, stream string, w io.Writer) error {
	return cl.Logs(ctx, id, client.LogsQuery{Task: task, Stream: stream, Follow: true}, w)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// waitJob waits for the job to end, riding out a server restart.
func waitJob(ctx context.Context, cl *client.Client, id int64) (*burst.Job, error) {
	return follows(cl).Wait(ctx, id)
}

// jobExit maps a finished job to burst's exit status, with a one-line note
// on stderr for anything but success.
func jobExit(j *burst.Job) error {
	switch j.State {
	case burst.Succeeded:
		return nil
	case burst.Timeout:
		return &ExitError{Code: 124, Msg: fmt.Sprintf("job %d timed out: %s", j.ID, j.Reason)}
	case burst.Cancelled:
		return &ExitError{Code: 130, Msg: fmt.Sprintf("job %d was cancelled", j.ID)}
	case burst.Lost:
		return &ExitError{Code: 125, Msg: fmt.Sprintf("job %d was lost: %s", j.ID, j.Reason)}
	}
	code := 1
	if j.ExitCode != nil && *j.ExitCode != 0 {
		// A failed job whose command exited 0 (its output was lost) still
		// failed: it exits 1, never 0.
		code = *j.ExitCode
	}
	msg := ""
	if j.Reason != "" {
		msg = fmt.Sprintf("job %d failed: %s", j.ID, j.Reason)
	}
	return &ExitError{Code: code, Msg: msg}
}

// scriptAccount runs in project default a batch script whose #SBATCH
// --account names no burst project, as a partition no cluster is named
// after runs on local: a script from another site names that site's
// account, and a Slurm that enforces no accounts takes any. It is said as
// an ignored directive (on w, after prefix, when prefix is not ""). An
// account given on the command line (-A, --project, SBATCH_ACCOUNT) is
// kept, and refused by the server when it is no project.
func scriptAccount(ctx context.Context, cl *client.Client, spec *burst.JobSpec, w io.Writer, prefix string) {
	b := spec.Batch
	if b == nil || b.Account == "" || spec.Project != b.Account {
		return
	}
	if _, err := cl.Project(ctx, b.Account); !client.IsNotFound(err) {
		return
	}
	msg := fmt.Sprintf("#SBATCH --account=%s: no burst project is named %s; the job runs in project default (`burst project create %s` makes it)", b.Account, b.Account, b.Account)
	spec.Project = "default"
	b.Ignored = append(b.Ignored, msg)
	if prefix != "" {
		fmt.Fprintln(w, prefix+msg)
	}
}

// projectHint is err, a submission's refusal, naming the projects the
// caller may submit to when the job named none and the default project is
// not one of them: a lab's user holds roles in the lab's projects, rarely
// in default. Any other error is returned as it is.
func projectHint(c *cobra.Command, cl *client.Client, spec *burst.JobSpec, err error) error {
	ctx := c.Context()
	var ae *client.Error
	if c.Flags().Changed("project") || spec.Project != "default" || !errors.As(err, &ae) || ae.Status != 404 || !strings.Contains(ae.Message, "no project default") {
		return err
	}
	who, werr := cl.Whoami(ctx)
	if werr != nil {
		return err
	}
	var yours []string
	for _, g := range who.Grants {
		if g.Role == client.RoleMember || g.Role == client.RoleOwner { // a viewer submits nowhere
			yours = append(yours, g.Project)
		}
	}
	if len(yours) == 0 {
		return err
	}
	slices.Sort(yours)
	e := *ae
	e.Message = fmt.Sprintf("you hold no role in project default, where a job without --project goes: pass --project P (yours: %s)", strings.Join(yours, ", "))
	return &e
}
