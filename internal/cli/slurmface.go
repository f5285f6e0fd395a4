package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/sbatch"
	"github.com/burst-sh/burst/internal/shellquote"
	"github.com/burst-sh/burst/internal/slurmface"
	"github.com/burst-sh/burst/internal/slurmtime"
	"github.com/burst-sh/burst/internal/sysuser"
)

// SlurmNames are the Slurm commands burst answers to, as `burst slurm NAME`
// and as argv[0] (a symlink named after one: burst slurm link).
var SlurmNames = slurmface.Commands

// slurmFaceCmds are the Slurm personality's commands. Those that take
// options read them as Slurm's do (withGetopt); sbatch and srun parse
// their own, since their options end where the script or command begins.
func slurmFaceCmds() []*cobra.Command {
	cmds := []*cobra.Command{newSbatchCmd(), newSrunCmd(), newSlurmLinkCmd()}
	for _, c := range []*cobra.Command{newSqueueCmd(), newScancelCmd(), newSacctCmd(), newScontrolCmd(),
		newSinfoCmd(), newSacctmgrCmd(), newSstatCmd()} {
		cmds = append(cmds, withGetopt(c))
	}
	for _, c := range cmds {
		withTimeFormat(c)
	}
	return cmds
}

// withTimeFormat makes a personality command print times as
// SLURM_TIME_FORMAT says, as Slurm's commands do (slurmface.SetTimeFormat),
// naming a value they refuse in their words the first time a time is
// printed.
func withTimeFormat(c *cobra.Command) {
	run := c.RunE
	c.RunE = func(c *cobra.Command, args []string) error {
		v := os.Getenv("SLURM_TIME_FORMAT")
		slurmface.SetTimeFormat(v, func() {
			fmt.Fprintf(c.ErrOrStderr(), "%s: error: invalid SLURM_TIME_FORMAT = '%s'\n", c.Name(), v)
		})
		return run(c, args)
	}
}

// sbatchHarmless are sbatch options workflow engines pass that change
// nothing burst does: accepted and ignored, without a word. The node
// layout ones (sockets, cores, --tmp, ...) come from Snakemake's --cluster
// strings: `sbatch --cores 1` is sbatch's --cores-per-socket. burst has
// no licenses to count (-L, NERSC's `-L SCRATCH`).
var sbatchHarmless = []string{"mail-type", "mail-user", "quiet", "qos",
	"propagate", "nice", "hint", "no-kill", "ntasks-per-core",
	"threads-per-core", "acctg-freq", "wckey", "reservation", "priority", "constraint",
	"cores-per-socket", "sockets-per-node", "ntasks-per-socket", "extra-node-info", "mincpus", "tmp",
	"exclude", "contiguous", "overcommit", "spread-job", "use-min-nodes", "licenses",
	// what Slurm 22.05's sbatch takes that changes nothing on burst's
	// machines: frequency, binding, core and thread reservations, switch
	// and network placement, profiling, node reboots and power, MCS
	// labels, federation constraints, #PBS lines (burst reads none).
	"cpu-freq", "gpu-bind", "gres-flags", "thread-spec", "core-spec", "switches", "network", "profile",
	"delay-boot", "ignore-pbs", "reboot", "power", "mcs-label", "cluster-constraint", "wait-all-nodes"}

// partitionCluster is the burst cluster a Slurm partition names: the
// cluster of that name, or "" (the default cluster) when none is, as a
// script from another site names that site's partitions (-p defq).
func partitionCluster(ctx context.Context, cl *client.Client, part string) string {
	if cs, err := cl.Clusters(ctx); err == nil && slices.ContainsFunc(cs, func(x burst.Cluster) bool { return x.Name == part }) {
		return part
	}
	return ""
}

// sbatchOwn are sbatch options the personality itself handles (not the
// #SBATCH parser): they say how to submit rather than what to run.
var sbatchOwn = []string{"wrap", "parsable", "account", "partition", "dependency", "kill-on-invalid-dep", "wait",
	"test-only", "verbose", "help", "usage", "clusters"}

func newSbatchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sbatch [OPTIONS] [SCRIPT [ARGS...]]",
		Short: "Submit a batch script (or --wrap CMD) as Slurm's sbatch does, to burst",
		Long: `Submit a job as sbatch does: the script's #SBATCH directives, then the
options given here over them, go through the same parser as ` + "`burst run SCRIPT`" + `.
It prints "Submitted batch job N" (or N alone with --parsable) and returns.
A SCRIPT named without a slash that is not here is looked for in PATH, as
sbatch looks for it.

Honoured: -J, -o, -e (%j %x %A %a %u %N %%, zero padding as %4j), -D,
-a/--array, -c, -n, -N 1, --mem, --mem-per-cpu, -t, --gres=gpu:N,
-G/--gpus, --export, --open-mode, --get-user-env, --wrap, --parsable,
--test-only (check the job and say when it would start; nothing is
submitted), -v (print the options defined), -A (the burst project),
-p (the burst cluster of that name; a partition no cluster is named
after runs the job on the default cluster, and squeue, scontrol and
sacct show that partition as its own), -W/--wait (exits with the job's
status), --signal=[B:]SIG[@TIME] (SIG TIME seconds before the time limit,
to the batch shell with B:, else to the job's steps), -d/--dependency
(afterok, afterany, afternotok, after, singleton;
"," for all, "?" for any one; a job whose dependency can never be met stays
pending, Reason DependencyNeverSatisfied, as with Slurm, unless
--kill-on-invalid-dep=yes cancels it), --deadline=TIME (a bad or past
time is refused, as sbatch refuses it; a job not started by the time it
could no longer end by then, its --time-min or else its -t from now,
never starts: it ends as DEADLINE; one held or waiting for a dependency
is looked at once let go, as Slurm looks at it), --time-min=TIME (with
--deadline: the job starts with its time limit cut to end by then, as
Slurm starts it; one with a deadline and no -t takes a minute),
-M/--clusters (burst is one cluster:
the id is printed with its name, "N;burst" with --parsable), -b/--begin=TIME
(now+1hour, 16:00, 2026-12-24T09:00, ...), -i/--input (the batch script's
stdin), --container=STACK[:VERSION] (a burst stack the script runs inside,
not Slurm's OCI bundle directory), -H/--hold (held, Reason JobHeldUser, until
scontrol release), -m/--distribution (told to the job as
SLURM_DISTRIBUTION, as Slurm writes it back; one machine places nothing
by it), --comment (kept: squeue's %k, scontrol's Comment=). Accepted and
ignored: --mail-type, --mail-user, --(no-)requeue, -Q, --qos, --propagate,
--nice, --exclusive, --hint, -k, --ntasks-per-core, --threads-per-core,
--acctg-freq, --wckey, --reservation, --priority, -C, and the node
layout ones: --cores-per-socket (--cores), --sockets-per-node,
--ntasks-per-socket, -B, --mincpus, --tmp, -x, --contiguous,
-O, -s, --spread-job, --use-min-nodes; -L/--licenses (burst counts no
licenses), and --cpu-freq,
--gpu-bind, --gres-flags, --thread-spec, --core-spec, --switches,
--network, --profile, --delay-boot, --ignore-pbs, --reboot, --power,
--mcs-label, --cluster-constraint, --wait-all-nodes. Refused, with a
message: every other option.

SBATCH_* variables (SBATCH_ACCOUNT, SBATCH_PARTITION, SBATCH_TIMELIMIT,
SBATCH_EXPORT, SBATCH_JOB_NAME, ...) set options too, as sbatch reads them:
over the script's #SBATCH lines, under the command line.

With no SCRIPT and no --wrap, the script is read from stdin.`,
		Example: `  burst slurm sbatch --parsable --wrap 'python3 fit.py'
  burst slurm sbatch -J fit -c 4 --mem 8G -t 1:00:00 -o 'logs/%x-%j.out' job.sbatch in.csv
  sbatch --array=0-99%10 job.sbatch        # as argv[0]: see burst slurm link
  sbatch --test-only -v job.sbatch         # what it asks for; nothing submitted
  jid=$(sbatch --parsable a.sh); sbatch -d afterok:$jid b.sh   # b once a succeeded`,
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			return runSbatch(c, args)
		},
	}
}

// sbatchArgs is sbatch's command line, parsed.
type sbatchArgs struct {
	sets     [][2]string // options for the #SBATCH parser, in order
	wrap     string
	hasWrap  bool
	parsable bool
	account  string
	part     string
	wait     bool
	after    []burst.Dependency // -d/--dependency
	afterAny bool               // "?" between them
	kill     bool               // --kill-on-invalid-dep=yes
	testOnly bool               // --test-only: check, say when it would start, submit nothing
	verbose  int                // -v: print the options defined
	clusters bool               // -M/--clusters: burst is one cluster; the id is printed with its name
	times    sbatchTimes        // --deadline, --time-min
	rest     []string           // SCRIPT ARGS...
}

// parseSbatchArgs reads sbatch's options as getopt_long does
// (slurmface.Getopt over sbatch's own table: long names and unambiguous
// prefixes, -c4 and -c 4, grouped short flags, --opt=v and --opt v) up to
// the first argument that is not one: the script.
func parseSbatchArgs(args []string) (*sbatchArgs, error) {
	got, rest, err := slurmface.Getopt("sbatch", sbatchOpts(), args, true)
	if err != nil {
		return nil, optUsage(err)
	}
	a := &sbatchArgs{rest: rest}
	for _, g := range got {
		o, _, _ := sbatch.LongOption(g.Opt.Name())
		if err := a.set(o, g.Value); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// sbatchOpts are sbatch's options (internal/sbatch's table) for Getopt,
// made at the first use, not at every start of the binary.
var sbatchOpts = sync.OnceValue(func() []slurmface.Opt {
	var opts []slurmface.Opt
	for _, o := range sbatch.Options() {
		for i, name := range append([]string{o.Name}, o.Aliases...) {
			op := slurmface.Opt{Long: name, Arg: slurmface.Arg(o.Value)}
			if i == 0 {
				op.Short = o.Short
			} else {
				op.Of = o.Name
			}
			opts = append(opts, op)
		}
	}
	return opts
})

func (a *sbatchArgs) set(o sbatch.Option, v string) error {
	switch o.Name {
	case "wrap":
		a.wrap, a.hasWrap = v, true
	case "parsable":
		a.parsable = true
	case "account":
		a.account = v
	case "partition":
		a.part = v
	case "wait":
		a.wait = true
	case "test-only":
		a.testOnly = true
	case "clusters":
		a.clusters = true // any name, or all: burst is one cluster
	case "verbose":
		a.verbose++
	case "dependency":
		deps, anyOf, err := burst.ParseDependencies(v, burst.AfterAny)
		if err != nil {
			// sbatch's words (the controller refuses it), and why.
			return &ExitError{Code: 1, Msg: fmt.Sprintf("sbatch: error: Batch job submission failed: Job dependency problem (%v)", err)}
		}
		a.after, a.afterAny = deps, anyOf
	case "kill-on-invalid-dep":
		switch strings.ToLower(v) {
		case "yes":
			a.kill = true
		case "no":
			a.kill = false
		default:
			return usage("sbatch: --kill-on-invalid-dep=%s: give yes or no", v)
		}
	case "deadline", "time-min":
		return a.times.set(o.Name, v)
	case "help", "usage":
		return usage("sbatch: see `burst slurm sbatch --help`... as `burst help slurm sbatch`")
	default:
		switch {
		case o.Honoured:
			a.sets = append(a.sets, [2]string{o.Name, v})
		case slices.Contains(sbatchHarmless, o.Name):
		default:
			return usage("sbatch: --%s is not supported by burst (%s)", o.Name, sbatchSupported())
		}
	}
	return nil
}

// sbatchTimes are an sbatch job's --deadline and --time-min, from its
// command line or its script's #SBATCH lines: checked as sbatch checks
// them, the job's JobSpec.Deadline and TimeMin.
type sbatchTimes struct {
	deadline time.Time
	timeMin  *time.Duration // nil: not given
}

// set takes --deadline or --time-min's value v; one sbatch cannot read is
// refused in its words, exit 255, as Slurm 22.05's sbatch refuses
// `--time-min=abc` ("sbatch: error: Invalid --time-min specification").
func (t *sbatchTimes) set(name, v string) error {
	if name == "deadline" {
		d, err := sbatchDeadline(v)
		t.deadline = d
		return err
	}
	d, err := burst.ParseTimeLimit(v)
	if err != nil {
		return &ExitError{Code: 255, Msg: "sbatch: error: Invalid --time-min specification: " +
			"give a time as -t takes one, e.g. 30, 1:30:00 or 2-00:00:00"}
	}
	t.timeMin = &d
	return nil
}

// over is t (the command line's) over the script's: each one t gives wins.
func (t sbatchTimes) over(script sbatchTimes) sbatchTimes {
	if t.deadline.IsZero() {
		t.deadline = script.deadline
	}
	if t.timeMin == nil {
		t.timeMin = script.timeMin
	}
	return t
}

// apply sets spec's Deadline and TimeMin, refusing a --time-min that
// exceeds the job's time limit, or that could no longer end by its
// deadline from now, in Slurm 22.05's words (exit 1, nothing submitted:
// checked beside it, `-t 120 --time-min=150` and `--deadline=now+1hour
// --time-min=61` both are). A job with a deadline and neither -t nor
// --time-min takes a minute, as Slurm gives it TimeMin=00:01:00.
func (t sbatchTimes) apply(spec *burst.JobSpec, now time.Time) error {
	spec.Deadline = t.deadline
	limit := time.Duration(spec.Resources.TimeLimit) * time.Second
	switch {
	case t.timeMin != nil:
		spec.TimeMin = int64(*t.timeMin / time.Second)
	case !t.deadline.IsZero() && limit == 0:
		spec.TimeMin = 60
	}
	tm := time.Duration(spec.TimeMin) * time.Second
	if limit > 0 && tm > limit || !t.deadline.IsZero() && tm > 0 && now.Add(tm).After(t.deadline) {
		return &ExitError{Code: 1, Msg: "sbatch: error: Batch job submission failed: Invalid time-min specification " +
			"(exceeds job's time or other limits) (--time-min " + burst.FormatTimeLimit(tm) + ": give one no longer than -t, that fits before --deadline)"}
	}
	return nil
}

// sbatchDeadline reads --deadline's time as sbatch does (parse_time, as
// --begin): one it cannot read is refused in its words, exit 255, as
// Slurm 22.05's sbatch refuses `--deadline=xyz` on the command line or in
// an #SBATCH line ("sbatch: error: Invalid --deadline specification").
func sbatchDeadline(v string) (time.Time, error) {
	t, err := slurmtime.Begin(v, time.Now())
	if err != nil {
		return t, &ExitError{Code: 255, Msg: "sbatch: error: Invalid --deadline specification: " +
			"give a time as --begin takes one, e.g. now+2hours, 16:00 or 2026-12-05T10:00"}
	}
	return t, nil
}

// pastDeadline refuses a job whose --deadline (the command line's, else
// the script's) has passed, as Slurm 22.05's controller refuses it (a
// deadline of now is taken, one a second past is not). A job with a
// deadline still to come is taken, and never starts once it could no
// longer end by then (the server's endMissedDeadlines).
func pastDeadline(cmdline, script time.Time, now time.Time) error {
	d := cmp.Or(cmdline, script)
	if !d.IsZero() && d.Before(now.Truncate(time.Second)) {
		return &ExitError{Code: 1, Msg: "sbatch: error: Batch job submission failed: Requested time limit is invalid " +
			"(missing or exceeds some limit) (--deadline " + d.Format("2006-01-02T15:04:05") + " has passed)"}
	}
	return nil
}

func sbatchSupported() string {
	return "burst honours -J -o -e -D -a -c -n -N --mem --mem-per-cpu -t --gres --gpus --export --open-mode --no-requeue --requeue --exclusive --oversubscribe " +
		"--get-user-env --begin --signal --container --wrap --parsable --test-only -A -p -W -d --kill-on-invalid-dep -M; see `burst help slurm sbatch`"
}

// killOnInvalidDep says whether the script's own #SBATCH lines ask for
// --kill-on-invalid-dep=yes.
func killOnInvalidDep(script []byte) bool {
	sc, err := sbatch.Parse("", script)
	return err == nil && sc.KillOnInvalidDep == "yes"
}

// scriptOnPath is where sbatch finds a script named without a slash that
// is not in the working directory: the first readable file of that name in
// a directory of PATH, as Slurm's sbatch searches it (`sbatch align.sh` with
// align.sh in ~/bin). Otherwise name as given.
func scriptOnPath(name string) string {
	if strings.ContainsRune(name, '/') {
		return name
	}
	if _, err := os.Stat(name); err == nil {
		return name
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && unix.Access(p, unix.R_OK) == nil {
			return p
		}
	}
	return name
}

// arraySpecRefusal is how sbatch refuses an --array it cannot read
// (sbatch.ErrArraySpec): the controller's words, as for a dependency, then
// why.
func arraySpecRefusal(why error) string {
	return "sbatch: error: Batch job submission failed: " + sbatch.ErrArraySpec.Error() + " (" + why.Error() + ")"
}

// scriptDirectives refuses a script sbatch refuses, in its words: an empty
// one, one that is no batch script (sbatch.Parse's reasons), and one whose
// #SBATCH lines sbatch refuses, as its getopt reads them: an option it does not know (a typo, --ntask=4
// where --ntasks was meant, another site's --nvps) or a word that is no
// option (sbatch: error: Invalid directive found in batch script: WORD),
// exit 255, nothing submitted. burst run SCRIPT only warns of them.
func scriptDirectives(path string, data []byte) (times sbatchTimes, err error) {
	if len(data) == 0 {
		return times, &ExitError{Code: 1, Msg: "sbatch: error: Batch script is empty!"}
	}
	sc, err := sbatch.Parse(path, data)
	if errors.Is(err, sbatch.ErrArraySpec) {
		return times, &ExitError{Code: 1, Msg: arraySpecRefusal(err)}
	}
	if err != nil { // no shebang, DOS line breaks, a NUL: refused as sbatch refuses them, with burst's fix
		code := 1
		if sbatch.Fatal(err) {
			code = 255 // as the command line's -m or -t: sbatch's exit(-1)
		}
		return times, &ExitError{Code: code, Msg: "sbatch: error: " + err.Error()}
	}
	got, rest, err := slurmface.Getopt("sbatch", sbatchOpts(), sc.Args, true)
	if err != nil {
		return times, optUsage(err)
	}
	if len(rest) > 0 {
		return times, &ExitError{Code: 255, Msg: "sbatch: error: Invalid directive found in batch script: " + rest[0]}
	}
	for _, g := range got {
		if n := g.Opt.Name(); n == "deadline" || n == "time-min" {
			if err := times.set(n, g.Value); err != nil {
				return times, err
			}
		}
	}
	return times, nil
}

// wrapScript is the script sbatch --wrap makes of a command.
func wrapScript(cmd string) string {
	return "#!/bin/sh\n# This script was created by sbatch --wrap.\n\n" + cmd + "\n"
}

func runSbatch(c *cobra.Command, args []string) error {
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		return c.Help()
	}
	env, from := sbatchEnvArgs(lookupEnv)
	if err := checkSbatchEnv(env, from); err != nil {
		return err
	}
	a, err := parseSbatchArgs(append(env, args...)) // the command line's win
	if err != nil {
		return err
	}
	spec, err := baseSpec()
	if err != nil {
		return err
	}
	var path string
	var data []byte
	switch {
	case a.hasWrap:
		if len(a.rest) > 0 { // as sbatch: the command is --wrap's alone
			return &ExitError{Code: 1, Msg: "sbatch: error: Script arguments not permitted with --wrap option"}
		}
		path, data = "--wrap", []byte(wrapScript(a.wrap))
	case len(a.rest) > 0:
		path = scriptOnPath(a.rest[0])
		data, err = os.ReadFile(path)
		if err != nil { // sbatch's words, then why
			return usage("sbatch: error: Unable to open file %s: %v", path, errors.Unwrap(err))
		}
		spec.Argv = a.rest[1:]
	default:
		path = "stdin"
		data, err = io.ReadAll(c.InOrStdin())
		if err != nil {
			return fmt.Errorf("sbatch: reading the script from stdin: %w", err)
		}
	}
	script, err := scriptDirectives(path, data)
	if err != nil {
		return err
	}
	if err := pastDeadline(a.times.deadline, script.deadline, time.Now()); err != nil {
		return err
	}
	sc, err := applyScript(c, spec, path, data, a.sets, a.verbose == 0)
	var ee *ExitError
	if errors.As(err, &ee) && ee.arraySpec {
		ee.Code, ee.Msg = 1, arraySpecRefusal(ee)
	}
	if errors.As(err, &ee) && !strings.HasPrefix(ee.Msg, "sbatch: ") {
		ee.Msg = "sbatch: error: " + ee.Msg // an option's value sbatch refuses, in its words' frame
	}
	if err != nil {
		return err
	}
	a.wait = a.wait || sc.Wait // #SBATCH --wait and --parsable, as on the command line
	a.parsable = a.parsable || sc.Parsable
	if err := a.times.over(script).apply(spec, time.Now()); err != nil {
		return err
	}
	if path == "--wrap" || path == "stdin" {
		spec.ScriptRef = ""
		if spec.Name == "" {
			spec.Name = map[string]string{"--wrap": "wrap", "stdin": "sbatch"}[path]
		}
	}
	if a.account != "" {
		spec.Project = a.account
	}
	// Slurm keeps a job whose dependency can never be met pending
	// (DependencyNeverSatisfied) unless told to kill it.
	if len(a.after) > 0 { // the command line's wins over the script's
		spec.After, spec.AfterAnyOf = a.after, a.afterAny
	}
	spec.KeepUnsatisfiable = len(spec.After) > 0 && !a.kill && !killOnInvalidDep(data)
	spec.DropUnknownDeps = len(spec.After) > 0 // as sbatch: a job it does not know is waited for no more

	spec.Local = localPaths(spec.Workdir, spec.Argv)
	if a.verbose > 0 {
		if sc, err := sbatch.Parse(path, data); err == nil {
			for _, s := range a.sets {
				sc.SetOption(s[0], s[1]) // applyScript took them: no error here
			}
			for _, l := range slurmface.DefinedOptions(sc) {
				fmt.Fprintln(c.ErrOrStderr(), "sbatch: "+l)
			}
		}
	}
	ctx := c.Context()
	cl, err := connect(ctx, c.ErrOrStderr())
	if err != nil {
		return err
	}
	if a.part != "" {
		spec.Batch.Partition = a.part
		spec.Cluster = partitionCluster(ctx, cl, a.part)
	}
	say := ""
	if a.verbose > 0 || isTerminal(c.ErrOrStderr()) { // as the script's other warnings
		say = "sbatch: warning: "
	}
	scriptAccount(ctx, cl, spec, c.ErrOrStderr(), say)
	spec.Defaults()
	if err := spec.Validate(); err != nil {
		return usage("sbatch: %v", err)
	}
	if a.testOnly {
		// sbatch(1): "Validate the batch script and return an estimate of
		// when a job would be scheduled to run ... No job is actually
		// submitted." The server checks it as it would a submit; the
		// estimate is now (or its begin time).
		checked, err := cl.CheckSubmit(ctx, spec)
		if err != nil {
			err = projectHint(c, cl, spec, err)
			var ae *client.Error
			if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
				// sbatch's slurm_perror("allocation failure"), unprefixed;
				// burst's reason in place of Slurm's error string.
				fmt.Fprintln(c.ErrOrStderr(), "allocation failure: "+ae.Message)
				return &ExitError{Code: 1}
			}
			return err
		}
		part := cmp.Or(a.part, checked.Cluster, "local")
		at := time.Now()
		if checked.Begin.After(at) {
			at = checked.Begin // deferred: no earlier than its begin time
		}
		fmt.Fprintln(c.ErrOrStderr(), "sbatch: "+slurmface.WillRun(0, at, max(1, checked.Resources.CPUs), part, part))
		return nil
	}
	job, err := cl.Submit(ctx, spec)
	var ae *client.Error
	if errors.As(err, &ae) && strings.HasPrefix(ae.Message, "job dependency problem: ") {
		return &ExitError{Code: 1, Msg: "sbatch: error: Batch job submission failed: Job dependency problem (" +
			strings.TrimPrefix(ae.Message, "job dependency problem: ") + ")"}
	}
	if err != nil {
		err = projectHint(c, cl, spec, err)
		if errors.As(err, &ae) && (ae.Status >= 400 && ae.Status < 500 || ae.Status == http.StatusInsufficientStorage) {
			// Refused (no machine could run it, no such project or
			// cluster, no room for it in the store, ...): sbatch's
			// words and status, burst's reason.
			return &ExitError{Code: 1, Msg: "sbatch: error: Batch job submission failed: " + ae.Message}
		}
		return err
	}
	// With -M sbatch names the cluster it submitted to: engines that pass
	// --clusters split "ID;CLUSTER" at the ";" (Snakemake, Open OnDemand).
	switch {
	case a.parsable && a.clusters:
		fmt.Fprintf(c.OutOrStdout(), "%d;%s\n", job.ID, slurmface.ClusterName)
	case a.parsable:
		fmt.Fprintln(c.OutOrStdout(), job.ID)
	case a.clusters:
		fmt.Fprintf(c.OutOrStdout(), "Submitted batch job %d on cluster %s\n", job.ID, slurmface.ClusterName)
	default:
		fmt.Fprintf(c.OutOrStdout(), "Submitted batch job %d\n", job.ID)
	}
	if !a.wait {
		return nil
	}
	j, err := follows(cl).Wait(ctx, job.ID)
	if err != nil {
		return err
	}
	if code, err := sbatchWaitCode(ctx, cl, j); err != nil || code != 0 {
		return cmp.Or(err, error(&ExitError{Code: code}))
	}
	return nil
}

// sbatchWaitCode is sbatch --wait's exit status for an ended job, as
// sbatch(1) gives it: the job's exit code; 1 for one a signal ended (a
// cancel, the time limit, a kill); for a job array the highest of its
// tasks'.
func sbatchWaitCode(ctx context.Context, cl *client.Client, j *burst.Job) (int, error) {
	code := 0
	if err := forTasks(ctx, cl, j.ID, 0, max(j.Tasks.Total, 1), nil, func(t burst.Task) {
		code = max(code, slurmface.TaskExit(t))
	}); err != nil {
		return 0, err
	}
	if code == 0 && j.State != burst.Succeeded {
		code = 1 // ended without a task's failure to show: cancelled before it ran
	}
	return code, nil
}

// faceJobs turns burst jobs into Slurm's view of them.
type faceJobs struct {
	ctx context.Context // bounds the passwd lookups of job owners' uids
}

func newFaceJobs(ctx context.Context) *faceJobs {
	return &faceJobs{ctx: ctx}
}

// ids are the uid and gid of a user name on this host (this process's own
// when it has none here). sysuser keeps what it found, and what it did
// not, for the life of the process.
func (f *faceJobs) ids(name string) (int, int) {
	if u, err := sysuser.Lookup(f.ctx, name); err == nil {
		return u.UID, u.GID
	}
	return os.Getuid(), os.Getgid()
}

func (f *faceJobs) job(j *burst.Job) slurmface.Job {
	uid, gid := f.ids(j.User)
	fj := slurmface.Job{
		RawID: j.ID, Name: j.Name, User: j.User, UID: uid, GID: gid, Account: j.Project,
		State: j.State, Reason: j.Reason, Waiting: j.Waiting != "", Dependency: j.Dependency,
		ExitCode: j.ExitCode, Submit: j.SubmittedAt, TimeLimit: time.Duration(j.TimeLimitS) * time.Second,
		CPUs: max(j.CPUs, 1), Shared: j.CPUs == 0, MemBytes: j.MemBytes, GPUs: j.GPUs, CancelledBy: uid,
		CPUTime: time.Duration(j.CPUSeconds * float64(time.Second)), MaxRSS: j.MaxRSSBytes, OneTask: j.Tasks.Total <= 1,
		Steps: j.Steps, SrunStep: j.SrunStep,
	}
	fj.OOM, fj.MissedDeadline = slurmface.EndedBy(j.State, j.Reason)
	if j.State == burst.Cancelled {
		// Cancelled because a dependency can never be met: Slurm keeps
		// saying which (--kill-on-invalid-dep).
		fj.Dependency = slurmface.NeverMetText(j.Reason)
	}
	fj.TaskDeps = j.TaskDependencies
	if j.StartedAt != nil {
		fj.Start = *j.StartedAt
	}
	fj.Begin = j.Begin
	if j.Spec != nil && !j.Spec.Begin.IsZero() {
		fj.Begin = j.Spec.Begin
	}
	fj.Deferred = j.State == burst.Queued && j.Deferred                       // the server's clock says, not this host's
	fj.Held = (j.State == burst.Queued || j.State == burst.Running) && j.Held // an array held while it ran: its tasks yet to start wait
	fj.HeldByAdmin = fj.Held && j.HeldByAdmin
	fj.HeldRequeued = fj.Held && j.HeldRequeued
	if j.EndedAt != nil {
		fj.End = *j.EndedAt
	}
	if s := j.Spec; s != nil {
		fj.HasSpec = true
		fj.WorkDir = s.Workdir
		fj.Deadline, fj.TimeMin = s.Deadline, time.Duration(s.TimeMin)*time.Second
		if b := s.Batch; b != nil {
			fj.NoRequeue, fj.Exclusive, fj.Comment = b.NoRequeue, b.Exclusive, b.Comment
			fj.NTasks = b.NTasks
			fj.Batch = &slurmface.BatchLayout{Tasks: max(b.NTasks, b.Nodes), CPUsPerTask: b.CPUsPerTask,
				TasksPerNode: b.NTasksPerNode, MemPerCPU: b.MemPerCPU, MemAll: b.MemAll}
		}
		fj.Command = s.ScriptRef
		if s.ScriptRef != "" && len(s.Argv) > 0 {
			// The script and its arguments, joined by spaces with no
			// quoting, as Slurm 22.05 shows Command= and squeue %o.
			fj.Command += " " + strings.Join(s.Argv, " ")
		}
	}
	fj.Partition = partitionOf(j)
	if j.State == burst.Running || !fj.Start.IsZero() {
		fj.Node = clusterOf(j) // without asking for its tasks: the cluster it runs on
	}
	return fj
}

// clusterOf is the cluster job j runs on: "local" when it named none.
func clusterOf(j *burst.Job) string {
	c := j.Cluster
	if j.Spec != nil {
		c = cmp.Or(j.Spec.Cluster, c)
	}
	return cmp.Or(c, "local")
}

// partitionOf is j's Slurm partition, as %P, scontrol's Partition= and
// sacct's Partition show it and squeue -p, sacct -r and scancel -p select
// it: the one it was submitted with (sbatch -p defq runs on the default
// cluster and is a job of defq, as Slurm 22.05 shows it), else its
// cluster.
func partitionOf(j *burst.Job) string {
	p := j.Partition
	if j.Spec != nil {
		p = cmp.Or(j.Spec.SlurmPartition(), p)
	}
	return cmp.Or(p, clusterOf(j))
}

// stdinOf is a batch job's --input file as scontrol shows it: its pattern
// expanded for j, under the job's working directory; "" (/dev/null) when it
// has none.
func stdinOf(spec *burst.JobSpec, j *slurmface.Job) string {
	if spec == nil || spec.Batch == nil || spec.Batch.Input == "" {
		return ""
	}
	return batchPath(spec, spec.Batch.Input, j)
}

// squeueFilesOf are a batch job's -o, -e and -i as squeue -O STDOUT,
// STDERR and STDIN show them, run or not: the patterns as written, nothing
// expanded, under the job's working directory; without -o slurm-ID.out,
// ID the job's own (an array task's too, not %A_%a), -e following -o; ""
// without -i (/dev/null), and no -o or -e for a job that is no batch job
// (burst's own logs). Checked beside Slurm 22.05's squeue:
// /tmp/w/o_%j_%N_%t_%x.out for -o o_%j_%N_%t_%x.out, slurm-15.out for
// task 13_1 (whose own id is 15).
func squeueFilesOf(spec *burst.JobSpec, j *slurmface.Job) (out, errs, in string) {
	if spec == nil || spec.Batch == nil {
		return "", "", ""
	}
	under := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(spec.Workdir, p)
	}
	in = under(spec.Batch.Input)
	if spec.Batch.Logs {
		return "", "", in
	}
	o := cmp.Or(spec.Stdout, "slurm-"+strconv.FormatInt(j.RawID, 10)+".out")
	return under(o), under(cmp.Or(spec.Stderr, o)), in
}

// shownFilesOf are a batch job's -o and -e as scontrol shows them, run
// or not: %A %a %j %u %x expanded and the other patterns left as they are
// (slurmface.ShownStdio), under the job's working directory; "" for a job
// that is no batch job.
func shownFilesOf(spec *burst.JobSpec, j *slurmface.Job) (string, string) {
	return stdioOf(spec, j, func(p string) string {
		if p = slurmface.ShownStdio(p, *j); !filepath.IsAbs(p) {
			p = filepath.Join(spec.Workdir, p)
		}
		return p
	})
}

// stdioOf are a batch job's -o and -e (sbatch's default without, -e
// following -o), each as path makes it; "" for a job that is no batch job.
func stdioOf(spec *burst.JobSpec, j *slurmface.Job, path func(pattern string) string) (string, string) {
	if spec == nil || spec.Batch == nil || spec.Batch.Logs {
		return "", ""
	}
	out := spec.Stdout
	if out == "" {
		out = "slurm-%j.out"
		if j.ArrayJobID != 0 {
			out = "slurm-%A_%a.out"
		}
	}
	return path(out), path(cmp.Or(spec.Stderr, out))
}

// batchPath is pattern expanded for j (as the server expands it at the
// task's start), under the job's working directory.
func batchPath(spec *burst.JobSpec, pattern string, j *slurmface.Job) string {
	info := sbatch.TaskInfo{JobID: j.RawID, JobName: j.Name, User: j.User, NodeName: j.Node, ArrayTaskID: -1}
	if j.ArrayJobID != 0 {
		info.ArrayJobID, info.ArrayTaskID = j.ArrayJobID, j.ArrayTaskID
		if j.ArrayPending != "" { // the record of an array's pending tasks (the array's id): no %a, as Slurm shows it
			info.ArrayTaskID = -1
		}
	}
	p := sbatch.Expand(pattern, info)
	if !filepath.IsAbs(p) {
		p = filepath.Join(spec.Workdir, p)
	}
	return p
}

// maxArrayLines bounds the tasks of one job array that squeue and sacct
// list (one page of the server's task listing).
const maxArrayLines = 10000

// expand turns listed burst jobs into Slurm's: a job array into one job
// per task (slurmface.Elements), any other job into one.
func (f *faceJobs) expand(ctx context.Context, cl *client.Client, list []burst.Job) (out []slurmface.Job) {
	for i := range list {
		j := &list[i]
		if j.Kind == burst.KindMap && j.Spec == nil { // listings carry no spec: is it an array?
			if full, err := cl.Job(ctx, j.ID); err == nil {
				j = full
			}
		}
		fj := f.job(j)
		s := j.Spec
		if s == nil || s.Map == nil || !s.Map.Array {
			out = append(out, fj)
			continue
		}
		tasks, err := cl.Tasks(ctx, j.ID, 0, maxArrayLines)
		var res []client.Result
		if err == nil {
			res, err = cl.Results(ctx, j.ID, 0, maxArrayLines, false)
		}
		if err != nil {
			out = append(out, fj)
			continue
		}
		indices := make([]int, len(res))
		for k, r := range res {
			if k == r.Index && len(r.Input) == 1 {
				indices[k], _ = strconv.Atoi(r.Input[0])
			}
		}
		out = append(out, slurmface.Elements(fj, tasks, indices, s.MaxRunning)...)
	}
	return out
}

// withTask adds what only a job's first task tells: its machine, its
// output files, the signal that killed it.
func (f *faceJobs) withTask(ctx context.Context, cl *client.Client, fj *slurmface.Job) {
	ts, err := cl.Tasks(ctx, fj.RawID, 0, 1)
	if err != nil || len(ts) == 0 {
		return
	}
	t := ts[0]
	if t.Machine != "" {
		fj.Node = t.Machine
	}
	fj.StdOut, fj.StdErr, fj.Signal = t.Stdout, t.Stderr, t.Signal
	fj.Restarts = slurmface.RestartsOf(t)
	if fj.OneTask {
		fj.Usage(t)
	}
	if fj.State == burst.Failed && t.ExitCode == nil && t.Signal != 0 {
		fj.ExitCode = nil
	}
}

// faceFetchers is how many jobs withSpecs and withTasks ask the server
// about at once.
const faceFetchers = 8

// fetchEach runs fetch(0) to fetch(n-1), faceFetchers at a time.
func fetchEach(n int, fetch func(int)) {
	var wg sync.WaitGroup
	sema := make(chan struct{}, faceFetchers)
	for i := range n {
		wg.Add(1)
		sema <- struct{}{}
		go func() {
			defer func() { <-sema; wg.Done() }()
			fetch(i)
		}()
	}
	wg.Wait()
}

// withSpecs fills what only a job's spec says (its begin time, working
// directory, command, files as squeue shows them) for the jobs of js at idx, listed without it (ended
// jobs are listed without their specs): each job fetched once (an
// array's tasks share their array's), several at a time.
func (f *faceJobs) withSpecs(ctx context.Context, cl *client.Client, js []slurmface.Job, idx []int) {
	specOf := func(fj *slurmface.Job) int64 {
		if fj.ArrayJobID != 0 {
			return fj.ArrayJobID
		}
		return fj.RawID
	}
	var ids []int64
	at := map[int64]int{} // id -> its place in ids and got
	for _, i := range idx {
		if _, ok := at[specOf(&js[i])]; !ok {
			at[specOf(&js[i])] = len(ids)
			ids = append(ids, specOf(&js[i]))
		}
	}
	got := make([]*burst.Job, len(ids))
	fetchEach(len(ids), func(k int) {
		got[k], _ = cl.Job(ctx, ids[k]) // a job gone meanwhile keeps what the listing said
	})
	for _, i := range idx {
		fj := &js[i]
		j := got[at[specOf(fj)]]
		if j == nil || j.Spec == nil {
			continue
		}
		full := f.job(j)
		fj.Begin, fj.WorkDir, fj.Command, fj.NTasks, fj.HasSpec = full.Begin, full.WorkDir, full.Command, full.NTasks, true
		fj.Exclusive, fj.NoRequeue, fj.Batch, fj.Comment = full.Exclusive, full.NoRequeue, full.Batch, full.Comment
		fj.Deadline, fj.TimeMin = full.Deadline, full.TimeMin
		fj.StdOut, fj.StdErr, fj.StdIn = squeueFilesOf(j.Spec, fj)
	}
}

// withTasks adds what only its first task tells (withTask) to each job of
// js that need names and that is no array's task (those came with their
// tasks'), several at a time.
func (f *faceJobs) withTasks(ctx context.Context, cl *client.Client, js []slurmface.Job, need func(slurmface.Job) bool) {
	var idx []int
	for i := range js {
		if js[i].ArrayJobID == 0 && need(js[i]) {
			idx = append(idx, i)
		}
	}
	fetchEach(len(idx), func(k int) { f.withTask(ctx, cl, &js[idx[k]]) })
}

// listFace lists the jobs Slurm's listing commands may show: every job
// the server keeps, newest first, up to burst's listing limit.
func listFace(ctx context.Context, cl *client.Client, states []burst.State) ([]burst.Job, error) {
	return cl.Jobs(ctx, client.JobsQuery{States: states, Limit: burst.MaxListRows})
}

// burstStates are the burst states a set of Slurm states needs listed
// (nil: all of them). PENDING lists running jobs too: an array that runs
// some of its tasks is a running job whose other tasks pend, and squeue -t
// PD shows them (`12_[5-6]`), as Slurm 22.05's does.
func burstStates(set map[string]bool) []burst.State {
	out := activeStates(set)
	if len(out) != len(set) {
		return nil
	}
	if set[slurmface.Pending] && !set[slurmface.RunningS] {
		out = append(out, burst.Running)
	}
	return out
}

// arrayRange reads a JOBID_[1-3,7] argument of scancel: the job's id and
// the indices it names (ok false for any other argument); a range that is
// not one is refused in scancel's words.
func arrayRange(a string) (id string, idx []int, ok bool, err error) {
	id, rng, ok := strings.Cut(a, "_[")
	if !ok || !strings.HasSuffix(rng, "]") {
		return a, nil, false, nil
	}
	if idx, _, err = sbatch.ParseArray(strings.TrimSuffix(rng, "]")); err != nil {
		return "", nil, false, &ExitError{Code: 1, Msg: fmt.Sprintf("scancel: error: Invalid job id %s (%v)", a, err)}
	}
	return id, idx, true, nil
}

// scancelVerb is what scancel -v says it does to a job, before the id:
// "Terminating job", "Signal 10 to batch job", ... (Slurm 22.05's words:
// -b the batch shell, -f the full job; sig the number given to -s, KILL
// too, 0 when none was).
func scancelVerb(sig int, batch, full bool) string {
	whose := "job"
	switch {
	case batch:
		whose = "batch job"
	case full:
		whose = "full job"
	}
	if sig == 0 {
		return "Terminating " + whose
	}
	return fmt.Sprintf("Signal %d to %s", sig, whose)
}

// expandArrayRefs writes each JOBID_[1-3,7] of args as the tasks it names
// that the array has (JOBID_1 JOBID_3), or as JOBID when it names every
// one, as scancel takes them. indices gives an array's indices (false: no
// such job, or no array). A range naming any index the array lacks (or a
// job that is none) is also in missing, for scancel -v to say "Invalid job
// id specified" of it once, as Slurm 22.05's does while it cancels the
// tasks there are. The requests made follow the tasks there are, not the
// range: 12_[0-4000000] of an array of ten asks ten.
func expandArrayRefs(args []string, indices func(id string) ([]int, bool)) (out, missing []string, err error) {
	for _, a := range args {
		id, idx, ok, err := arrayRange(a)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			out = append(out, a)
			continue
		}
		have, ok := indices(id)
		if !ok {
			missing = append(missing, a)
			continue
		}
		var named []string
		for _, i := range have {
			if _, found := slices.BinarySearch(idx, i); found {
				named = append(named, id+"_"+strconv.Itoa(i))
			}
		}
		switch {
		case len(named) == len(have):
			out = append(out, id)
		default:
			out = append(out, named...)
		}
		if len(named) < len(idx) {
			missing = append(missing, a)
		}
	}
	return out, missing, nil
}

// arrayIndices is expandArrayRefs' lookup: the indices of array job id.
func arrayIndices(ctx context.Context, cl *client.Client) func(string) ([]int, bool) {
	return func(id string) ([]int, bool) {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, false
		}
		j, err := cl.Job(ctx, n)
		if err != nil || j.Spec == nil || j.Spec.Map == nil || !j.Spec.Map.Array {
			return nil, false
		}
		var idx []int // each task's input is its index
		for from := 0; ; from += maxArrayLines {
			res, err := cl.Results(ctx, n, from, maxArrayLines, false)
			if err != nil {
				return nil, false
			}
			for _, r := range res {
				if len(r.Input) == 1 {
					if i, err := strconv.Atoi(r.Input[0]); err == nil {
						idx = append(idx, i)
					}
				}
			}
			if len(res) < maxArrayLines {
				break
			}
		}
		slices.Sort(idx)
		return idx, true
	}
}

// cancelInStates is scancel -t STATES of one job: Slurm's states are each
// task's of an array, so a job whose active tasks are all in the states is
// cancelled whole, and of one that also holds others only its tasks in the
// states (-t RUNNING: those running; -t PENDING: those not started, the
// running ones going on). An array task named alone is cancelled when it
// is in them. Nothing in the states: a result with nothing done.
func cancelInStates(ctx context.Context, cl *client.Client, ref *client.IDRef, active []burst.State) (*client.CancelResult, error) {
	if ref.Task >= 0 {
		ts, err := cl.Tasks(ctx, ref.JobID, ref.Task, 1)
		if err != nil || len(ts) == 0 || ts[0].Index != ref.Task || !slices.Contains(active, ts[0].State) {
			return &client.CancelResult{ID: ref.JobID}, err
		}
		return cl.CancelTask(ctx, ref.JobID, ref.Task)
	}
	j, err := cl.Job(ctx, ref.JobID)
	if err != nil {
		return nil, err
	}
	if j.State.Terminal() {
		return &client.CancelResult{ID: ref.JobID, State: j.State, AlreadyFinished: true}, nil
	}
	queued, running := slices.Contains(active, burst.Queued), slices.Contains(active, burst.Running)
	switch {
	case (j.Tasks.Queued == 0 || queued) && (j.Tasks.Running == 0 || running):
		return cl.Cancel(ctx, ref.JobID)
	case queued && j.Tasks.Queued > 0:
		return cl.CancelWaiting(ctx, ref.JobID)
	}
	res := &client.CancelResult{ID: ref.JobID, State: j.State}
	if !running || j.Tasks.Running == 0 {
		return res, nil // nothing of it in the states: a running job under -t PENDING
	}
	idx, err := runningTasks(ctx, cl, ref.JobID)
	for _, i := range idx {
		if err == nil {
			_, err = cl.CancelTask(ctx, ref.JobID, i)
		}
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// runningTasks lists the indices of job id's running tasks, all of them,
// a page of rows at a time.
func runningTasks(ctx context.Context, cl *client.Client, id int64) ([]int, error) {
	var out []int
	for from := 0; ; {
		ts, err := cl.Tasks(ctx, id, from, burst.MaxListRows, burst.Running)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			out = append(out, t.Index)
		}
		if len(ts) < burst.MaxListRows {
			return out, nil
		}
		from = ts[len(ts)-1].Index + 1
	}
}

// activeStates are the burst states of the pending and running Slurm
// states in set, which only active jobs are in.
func activeStates(set map[string]bool) []burst.State {
	var out []burst.State
	for _, s := range []struct {
		name  string
		state burst.State
	}{{slurmface.Pending, burst.Queued}, {slurmface.RunningS, burst.Running}} {
		if set[s.name] {
			out = append(out, s.state)
		}
	}
	return out
}

// stateUsage is err of a -t (sacct -s) list as command cmd refuses it: a
// state it does not know in Slurm 22.05's words (slurmface.BadState).
func stateUsage(cmd string, err error) error {
	var bad *slurmface.BadState
	if errors.As(err, &bad) {
		return usage("%s", bad.Words(cmd))
	}
	return usage("%s: -t: %v", cmd, err)
}

// jobSel is what -j selects (squeue(1), sacct(1): "job_id[_array_id]"):
// jobs by id, where an array's id is all its tasks and an array task's own
// id (its SLURM_JOB_ID) that task alone, and single tasks of arrays as
// ARRAYID_INDEX or ARRAYID_[RANGES], e.g. -j 12,14_3,15_[1-4].
type jobSel struct {
	ids   map[int64]bool
	tasks map[int64]map[int]bool // array id -> its array indices selected
}

// parseJobSel reads -j's comma lists; nil when none was given. A bad id
// is refused in the words of cmd (squeue or sacct) as Slurm 22.05's say
// it ("squeue: error: Invalid job id: abc", "sacct: fatal: Bad job/step
// specified: abc"), burst's fix after them.
func parseJobSel(cmd string, list []string) (*jobSel, error) {
	bad := func(item, fix string) error {
		words := "squeue: error: Invalid job id: "
		if cmd == "sacct" {
			words = "sacct: fatal: Bad job/step specified: "
		}
		return usage("%s%s (%s)", words, item, fix)
	}
	if len(list) == 0 {
		return nil, nil
	}
	s := &jobSel{ids: map[int64]bool{}, tasks: map[int64]map[int]bool{}}
	for _, l := range list {
		for _, item := range slurmface.SplitList(l) {
			head, index, isTask := strings.Cut(item, "_")
			id, err := strconv.ParseInt(head, 10, 64)
			if err != nil || id <= 0 {
				return nil, bad(item, "job ids are numbers, or an array's ID_INDEX, e.g. -j 12,13_4")
			}
			if !isTask {
				s.ids[id] = true
				continue
			}
			indices, _, err := sbatch.ParseArray(strings.TrimSuffix(strings.TrimPrefix(index, "["), "]"))
			if err != nil {
				return nil, bad(item, "after the array's id comes the task's index, e.g. 13_4 or 13_[1-4]")
			}
			if s.tasks[id] == nil {
				s.tasks[id] = map[int]bool{}
			}
			for _, i := range indices {
				s.tasks[id][i] = true
			}
		}
	}
	return s, nil
}

// holds says whether s selects j (every job when s is nil).
func (s *jobSel) holds(j slurmface.Job) bool {
	return s == nil || s.ids[j.RawID] || j.ArrayJobID != 0 && (s.ids[j.ArrayJobID] || s.tasks[j.ArrayJobID][j.ArrayTaskID])
}

// collapse is slurmface.CollapsePending but for the pending tasks s names
// by their index (12_3), which keep a line each, as real squeue shows them.
func (s *jobSel) collapse(jobs []slurmface.Job) []slurmface.Job {
	if s == nil || len(s.tasks) == 0 {
		return slurmface.CollapsePending(jobs)
	}
	var named, rest []slurmface.Job
	for _, j := range jobs {
		if j.ArrayJobID != 0 && !s.ids[j.ArrayJobID] && !s.ids[j.RawID] && s.tasks[j.ArrayJobID][j.ArrayTaskID] {
			named = append(named, j)
		} else {
			rest = append(rest, j)
		}
	}
	return append(slurmface.CollapsePending(rest), named...)
}

// jobs are the ids of the jobs s names, sorted: those it names whole and
// the arrays whose tasks it names; none when s is nil.
func (s *jobSel) jobs() []int64 {
	if s == nil {
		return nil
	}
	out := slices.Collect(maps.Keys(s.ids))
	for id := range s.tasks {
		if !s.ids[id] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func splitList(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, l := range list {
		for item := range strings.SplitSeq(l, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out[item] = true
			}
		}
	}
	return out
}

// unknownUsers are those of users (names or uids, lists allowed) that
// neither the system nor burst knows: Slurm's commands refuse them (squeue
// says so and goes on, sacct and scancel stop). A name this host lacks is
// still a user when a job the server lists is hers: a burst user of a
// shared server need not be an account of the host that asks (the server
// is asked only then).
func unknownUsers(ctx context.Context, cl *client.Client, users []string) []string {
	var out []string
	for u := range splitList(users) {
		var err error
		if uid, nerr := strconv.Atoi(u); nerr == nil {
			_, err = sysuser.LookupID(ctx, uid)
		} else {
			_, err = sysuser.Lookup(ctx, u)
		}
		if err != nil {
			out = append(out, u)
		}
	}
	if len(out) > 0 && cl != nil {
		if list, err := listFace(ctx, cl, nil); err == nil {
			out = slices.DeleteFunc(out, func(u string) bool {
				return slices.ContainsFunc(list, func(j burst.Job) bool { return j.User == u })
			})
		}
	}
	slices.Sort(out)
	return out
}

// userSet is splitList of -u's users, a number also naming the user of
// that uid here: "The list can consist of user names or user id numbers"
// (squeue(1), scancel(1), sacct(1)); squeue -u $UID.

func userSet(ctx context.Context, users []string) map[string]bool {
	set := splitList(users)
	for u := range set {
		if uid, err := strconv.Atoi(u); err == nil {
			if su, err := sysuser.LookupID(ctx, uid); err == nil {
				set[su.Name] = true
			}
		}
	}
	return set
}

func newSqueueCmd() *cobra.Command {
	var o squeueOpts
	c := &cobra.Command{
		Use:   "squeue [OPTIONS]",
		Short: "List jobs as Slurm's squeue does",
		Long: `List burst's jobs as squeue does: pending and running ones by default,
others with -t (e.g. -t all). Honoured: -h/--noheader, -o/--format (%i %j
%t %T %M %l %L %D %R %u %P %a %A %F %C %c %m %b %e %E %S %V %Z %o %r %N %B %U %K %q %f %n %Y, with
widths such as %.18i), -O/--Format (jobid, state, name, ... with :width),
-t/--states, -j/--jobs, -u/--user, --me, -n/--name, -p/--partition (a
cluster, or the partition a job was submitted with),
-A/--account (the burst project), -w/--nodelist (machines, a hostlist such
as local-[1-2], or their hosts; an unknown one is refused), -q/--qos (burst's jobs are all "normal"), -S/--sort
(squeue's letters, e.g. -S -t,i; default P,t,-p), --start (pending jobs, as
--format="%.18i %.9P %.8j %.8u %.2t %.19S %.6D %20Y %R" --sort=S -t PD),
-s/--steps (a running job's batch step, ID.batch: burst knows no other
steps), -i/--iterate SECONDS, -l, -a, -r/--array, -M/--clusters (burst is
one cluster: the listing follows a CLUSTER: line), -R/--reservation and
-L/--licenses (burst has neither: nothing is listed). The partition is the
burst cluster; the node is the machine. Each task of a job array that runs
or ended is a line of its own (ID_INDEX); its pending tasks share one line
(ID_[4-9]), or with -r have one each. %r says Dependency for a job waiting
for others (DependencyNeverSatisfied when one can never be met), and %E
what it waits for (afterok:12(unfulfilled)). SQUEUE_FORMAT, SQUEUE_FORMAT2,
SQUEUE_SORT, SQUEUE_STATES, SQUEUE_USERS, SQUEUE_NAMES, SQUEUE_PARTITION,
SQUEUE_ACCOUNT and SQUEUE_QOS set -o, -O, -S, -t, -u, -n, -p, -A and -q
when not given, SQUEUE_ARRAY -r, SQUEUE_ARRAY_UNIQUE --array-unique.`,
		Example: `  burst slurm squeue
  squeue --noheader -o '%i %t' -t all -u $USER
  squeue -j 12,13 -t all
  squeue --me --start
  squeue -u $USER -S -V -i 10`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return o.run(c)
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&o.noHeader, "noheader", "h", false, "no header line")
	fl.BoolVarP(&o.long, "long", "l", false, "squeue -l's columns")
	fl.BoolVar(&o.me, "me", false, "only my jobs")
	fl.BoolVarP(&o.array, "array", "r", false, "one line per task of a job array, pending ones too (default: an array's pending tasks share one line, ID_[4-9])")
	fl.BoolVar(&o.array, "array-unique", false, "one line per pending task of a job array (as -r: the running ones have theirs anyway)")
	fl.BoolP("all", "a", false, "all partitions (burst lists them all anyway)")
	fl.StringVarP(&o.format, "format", "o", "", "`FORMAT` such as '%.18i %.2t %R'")
	fl.StringVarP(&o.fields, "Format", "O", "", "`FIELDS` such as jobid:10,state")
	fl.StringVarP(&o.states, "states", "t", "", "`STATES` such as PD,R or all")
	fl.StringArrayVarP(&o.jobs, "jobs", "j", nil, "only these job `IDS` (an array's task: ID_INDEX or its own id)")
	fl.StringSliceVarP(&o.users, "user", "u", nil, "only these `USERS`' jobs")
	fl.StringSliceVarP(&o.names, "name", "n", nil, "only jobs with these `NAMES`")
	fl.StringSliceVarP(&o.parts, "partition", "p", nil, "only jobs on these burst clusters")
	fl.StringSliceVarP(&o.accounts, "account", "A", nil, "only jobs of these burst projects")
	fl.StringArrayVarP(&o.nodes, "nodelist", "w", nil, "only jobs on these machines (a hostlist: local-[1-2])")
	fl.StringSliceVarP(&o.qos, "qos", "q", nil, "only jobs of this QOS (burst's are all normal)")
	fl.StringVarP(&o.resv, "reservation", "R", "", "only jobs in this reservation (burst has none)")
	fl.StringVarP(&o.licenses, "licenses", "L", "", "only jobs using these licenses (burst has none)")
	fl.StringVarP(&o.sort, "sort", "S", "", "`FIELDS` to sort by, such as -t,i or P,-V")
	fl.BoolVar(&o.start, "start", false, "pending jobs and when they are expected to start")
	fl.StringVarP(&o.steps, "steps", "s", "", "list job steps (`STEPS`: ID.batch, or jobs' ids)")
	fl.Lookup("steps").NoOptDefVal = allSteps
	fl.IntVarP(&o.iterate, "iterate", "i", 0, "list again every `SECONDS` until interrupted")
	fl.StringVarP(&o.clusters, "clusters", "M", "", "burst is one cluster (any name, or all)")
	fl.CountVarP(&o.verbose, "verbose", "v", "print the date before the listing")
	for _, name := range []string{"priority", "hide", "local", "sibling", "federation", "noconvert"} {
		fl.Bool(name, false, "accepted: changes nothing in burst")
	}
	fl.Lookup("priority").Shorthand = "P"
	fl.Bool("usage", false, "a short usage line")
	fl.BoolP("help", "", false, "help for squeue") // -h is --noheader, as in Slurm
	return c
}

// allSteps is -s without a list: every step.
const allSteps = "*"

// squeueOpts are squeue's options, as typed.
type squeueOpts struct {
	noHeader, long, me, array, start bool
	format, fields, states, sort     string
	steps, resv, licenses, clusters  string
	jobs, users, names, parts        []string
	accounts, nodes, qos             []string
	iterate, verbose                 int
}

// fromEnv takes what the command line left unset from squeue's input
// variables, as squeue(1) reads them: SQUEUE_FORMAT (-o), SQUEUE_FORMAT2
// (-O), SQUEUE_SORT (-S), SQUEUE_STATES (-t), SQUEUE_USERS (-u),
// SQUEUE_NAMES (-n), SQUEUE_PARTITION (-p), SQUEUE_ACCOUNT (-A),
// SQUEUE_QOS (-q), SQUEUE_ARRAY (-r) and SQUEUE_ARRAY_UNIQUE (--array-unique,
// when set at all); sites and users
// set them in their profiles, and a format given either way on the command
// line wins over both formats.
func (o *squeueOpts) fromEnv() {
	if o.format == "" && o.fields == "" {
		o.format = os.Getenv("SQUEUE_FORMAT")
		if o.format == "" {
			o.fields = os.Getenv("SQUEUE_FORMAT2")
		}
	}
	o.sort = cmp.Or(o.sort, os.Getenv("SQUEUE_SORT"))
	o.states = cmp.Or(o.states, os.Getenv("SQUEUE_STATES"))
	list := func(dst *[]string, name string) {
		if v := os.Getenv(name); len(*dst) == 0 && v != "" {
			*dst = strings.Split(v, ",")
		}
	}
	if !o.me { // --me wins over SQUEUE_USERS, as -u does
		list(&o.users, "SQUEUE_USERS")
	}
	list(&o.names, "SQUEUE_NAMES")
	list(&o.parts, "SQUEUE_PARTITION")
	list(&o.accounts, "SQUEUE_ACCOUNT")
	list(&o.qos, "SQUEUE_QOS")
	for _, v := range []string{"SQUEUE_ARRAY", "SQUEUE_ARRAY_UNIQUE"} {
		if _, ok := os.LookupEnv(v); ok { // set, whatever its value: -r, --array-unique
			o.array = true
		}
	}
}

func (o *squeueOpts) run(c *cobra.Command) error {
	if u, _ := c.Flags().GetBool("usage"); u {
		fmt.Fprintln(c.OutOrStdout(), "Usage: squeue [-A account] [--clusters names] [-i seconds] [--job jobid]\n"+
			"              [-n name] [-o format] [-p partitions] [--qos qos]\n"+
			"              [--reservation reservation] [--sort fields] [--start]\n"+
			"              [--step step_id] [-t states] [-u user_name] [--usage]\n"+
			"              [-L licenses] [-w nodes] [-ahjlrsv]")
		return nil
	}
	o.fromEnv()
	if o.iterate < 0 {
		return usage("squeue: -i %d: the seconds between listings are a whole number above 0, e.g. -i 10", o.iterate)
	}
	steps := c.Flags().Changed("steps")
	if o.start {
		// --start is --format=... --sort=S --states=PENDING, each unless given.
		o.format = cmp.Or(o.format, slurmface.SqueueStart)
		o.sort = cmp.Or(o.sort, "S")
		o.states = cmp.Or(o.states, "PD")
	}
	var f slurmface.Format
	var bad []string
	switch {
	case steps && o.format != "":
		f, bad = slurmface.ParseStepFormat(o.format)
	case steps:
		f, bad = slurmface.ParseStepFormat(slurmface.DefaultSteps)
	case o.fields != "":
		f, bad = slurmface.ParseSqueueFields(o.fields)
	case o.format != "":
		f, bad = slurmface.ParseSqueueFormat(o.format)
	case o.long:
		f, bad = slurmface.ParseSqueueFormat(slurmface.SqueueLong)
	default:
		f, bad = slurmface.ParseSqueueFormat(slurmface.DefaultSqueue)
	}
	for _, b := range bad { // as squeue: said, and the rest listed all the same
		fmt.Fprintf(c.ErrOrStderr(), "squeue: error: Invalid job format specification: %s\n", b)
	}
	defaultSort := slurmface.DefaultSqueueSort
	if steps {
		defaultSort = slurmface.DefaultStepSort
	}
	order, err := slurmface.ParseSqueueSort(cmp.Or(o.sort, defaultSort))
	if err != nil {
		return &ExitError{Code: 1, Msg: fmt.Sprintf("squeue: error: %v: -S takes letters of -o's format, e.g. -S -t,i", err)}
	}
	set, err := slurmface.States(o.states)
	if err != nil {
		return stateUsage("squeue", err)
	}
	if steps {
		set = map[string]bool{slurmface.RunningS: true} // a step runs
	}
	ids, err := parseJobSel("squeue", o.jobs)
	if err != nil {
		return err
	}
	nodes, err := hostSet("squeue: -w", o.nodes)
	if err != nil {
		return err
	}
	users := o.users
	if o.me {
		if u, err := sysuser.Current(c.Context()); err == nil {
			users = append(users, u.Name)
		}
	}
	cl, err := connect(c.Context(), c.ErrOrStderr())
	if err != nil {
		return err
	}
	if nodes != nil {
		ms, err := cl.Machines(c.Context())
		if err != nil {
			return err
		}
		if nodes, err = knownNodes(ms, "squeue", o.nodes); err != nil {
			return err
		}
	}
	for _, u := range unknownUsers(c.Context(), cl, o.users) { // as squeue: said, and the others listed
		fmt.Fprintf(c.ErrOrStderr(), "squeue: error: Invalid user: %s\n\n", u)
	}
	w := c.OutOrStdout()
	dated := !o.noHeader && (o.iterate > 0 || o.verbose > 0 || o.long && o.format == "" && o.fields == "")
	return relist(c.Context(), w, o.iterate, dated, o.clusters != "", func() error {
		list, err := o.list(c.Context(), cl, set, ids, users, nodes, f, order, steps)
		if err != nil {
			return err
		}
		if js := ids.jobs(); ids != nil && len(list) == 0 && len(js) == 1 && !steps {
			// squeue -j of a job it does not know, or no longer keeps
			// (MinJobAge after it ended), whatever -t says, in its words
			if j, err := selectedJob(c.Context(), cl, js[0]); err != nil || forgotten(j) {
				return &ExitError{Code: 1, Msg: "slurm_load_jobs error: Invalid job id specified"}
			}
		}
		return slurmface.Squeue(w, list, f, o.noHeader, time.Now())
	})
}

// relist writes a listing of squeue or sinfo: once, or with iterate > 0
// again every iterate seconds until ctx ends, as they do: the date first
// when dated, a "CLUSTER: burst" line for -M, and an empty line after each
// listing when iterating.
func relist(ctx context.Context, w io.Writer, iterate int, dated, clusters bool, list func() error) error {
	for {
		if dated {
			fmt.Fprintln(w, time.Now().Format("Mon Jan 02 15:04:05 2006"))
		}
		if clusters {
			fmt.Fprintf(w, "CLUSTER: %s\n", slurmface.ClusterName)
		}
		if err := list(); err != nil {
			return err
		}
		if iterate <= 0 {
			return nil
		}
		fmt.Fprintln(w)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(iterate) * time.Second):
		}
	}
}

// list is one listing: the jobs (or with steps their steps running: the
// batch step and srun's) that the options select, in their order.
func (o *squeueOpts) list(ctx context.Context, cl *client.Client, set map[string]bool, ids *jobSel,
	users []string, nodes map[string]bool, f slurmface.Format, order slurmface.SqueueSort, steps bool) ([]slurmface.Job, error) {
	list, err := listFace(ctx, cl, burstStates(set))
	if err != nil {
		return nil, err
	}
	fj := newFaceJobs(ctx)
	all := fj.expand(ctx, cl, list)
	us, ns, ps, as := userSet(ctx, users), splitList(o.names), splitList(o.parts), splitList(o.accounts)
	qs := splitList(o.qos)
	stepSel := map[string]bool{}
	if steps && o.steps != allSteps {
		stepSel = splitList([]string{o.steps})
	}
	var out []slurmface.Job
	now, age := time.Now(), minJobAge()
	for _, j := range all {
		if slurmface.Forgotten(j.End, now, age) || !set[j.StateName()] || !ids.holds(j) || us != nil && !us[j.User] ||
			ns != nil && !ns[j.Name] || as != nil && !as[j.Account] ||
			qs != nil && !qs["normal"] || o.resv != "" || o.licenses != "" ||
			len(stepSel) > 0 && !stepSel[j.JobID()] && !slices.ContainsFunc(j.RunningSteps(), func(s slurmface.Job) bool { return stepSel[s.StepID()] }) {
			continue
		}
		out = append(out, j)
	}
	if ps != nil {
		out = inPartitions(out, ps)
	}
	if !o.array {
		out = ids.collapse(out)
	}
	// The listing names a job's cluster: its machine is its first task's
	// (and so are its restarts and the signal that ended it).
	fj.withTasks(ctx, cl, out, func(j slurmface.Job) bool {
		return j.Node != "" && (nodes != nil || f.NeedsTask(j))
	})
	if nodes != nil {
		out = slices.DeleteFunc(out, func(j slurmface.Job) bool { return !nodes[j.Node] })
	}
	if f.NeedsSpec() || f.ShowsFiles() { // %Z, %o, -O STDIN ...: the listing carries no spec
		var idx []int
		for i := range out {
			if !out[i].HasSpec || f.ShowsFiles() { // the files are the spec's patterns (squeueFilesOf): read for each
				idx = append(idx, i)
			}
		}
		fj.withSpecs(ctx, cl, out, idx)
	}
	if !steps {
		order.Sort(out, time.Now())
		return out, nil
	}
	var lines []slurmface.Job // each job's steps running, sorted as steps (-S, else P,i)
	for _, j := range out {
		for _, s := range j.RunningSteps() {
			if len(stepSel) == 0 || stepSel[j.JobID()] || stepSel[s.StepID()] {
				lines = append(lines, s)
			}
		}
	}
	order.SortSteps(lines, time.Now())
	return lines, nil
}

// inPartitions are the jobs of js in the partitions ps (squeue -p, sacct
// -r): each job's partition as the listing carries it (partitionOf), with
// no job read one by one. A job submitted with a partition no cluster is
// named after (sbatch -p defq) is a job of that partition, not of the
// cluster it runs on: Nextflow's `process.queue` polls `squeue -t all -p
// defq -u USER` and took a job its queue did not list for one that had
// vanished.
func inPartitions(js []slurmface.Job, ps map[string]bool) []slurmface.Job {
	return slices.DeleteFunc(js, func(j slurmface.Job) bool { return !ps[j.Partition] })
}

func newScancelCmd() *cobra.Command {
	var (
		users, names []string
		part, acct   string
		quiet, me    bool
		batch, full  bool
		stateList    string
		sigName      string
		verbose      int
	)
	c := &cobra.Command{
		Use:   "scancel [OPTIONS] [JOBID...]",
		Short: "Cancel jobs as Slurm's scancel does",
		Long: `Cancel burst jobs as scancel does: by id (a job array's ARRAYID_INDEX
cancels that task), or every pending and running job of -u USER, -n NAME,
-p PARTITION (a burst cluster) or -A ACCOUNT (a project), all of those
given (--me: yours; -t STATES: only jobs in those states, such as
-t PENDING, yours unless -u says whose). -b/--batch is accepted: the job's
processes are ended whole. -s/--signal SIG sends SIG to the running jobs
instead of cancelling them (SIG a name or number; KILL cancels): as
scancel, to the job's steps (what srun started; not the batch shell nor
what it started without srun), with -b to the batch shell alone, with
-f/--full to every process of the job. -M/--clusters is accepted (burst is
one cluster). Like Slurm 22.05's scancel it prints nothing on success, and
nothing for a job that has ended or an id burst does not know (exit 0;
-v names those ids), except with -s or -b, where such an id is an error
("Invalid job id specified", exit 1); other errors (a job you may not
cancel) are printed unless -Q, and exit 1. -v also names each job as it
is sent ("Terminating job 12", "Signal 10 to batch job 12").`,
		Example: `  burst slurm scancel 12 13
  scancel -u $USER
  scancel -b -s USR1 12      # the batch shell's trap: checkpoint now`,
		RunE: func(c *cobra.Command, args []string) error {
			var plain []string // the ranges are read once connected: by the tasks their arrays have
			for _, a := range args {
				id, _, _, err := arrayRange(a)
				if err != nil {
					return err
				}
				plain = append(plain, id)
			}
			for _, a := range plain { // as scancel says it (xargs scancel fed squeue's header: JOBID)
				if checkJobRefs([]string{a}) != nil {
					return &ExitError{Code: 1, Msg: fmt.Sprintf("scancel: error: Invalid job id %s (a job id is a number, 12, or an array's id and index, 12_3; see squeue -h -o %%i)", a)}
				}
			}
			sig, given := 0, 0 // given: -s's number, KILL too (0: none)
			if sigName != "" {
				n, err := sbatch.SignalNumber(sigName)
				if err != nil {
					return usage("scancel: -s: %v", err)
				}
				if given = n; n != int(syscall.SIGKILL) { // scancel -s KILL cancels
					sig = n
				}
			}
			scope := client.SignalSteps
			switch {
			case full:
				scope = client.SignalAll
			case batch:
				scope = client.SignalBatch
			}
			active := []burst.State{burst.Queued, burst.Running}
			if stateList != "" {
				set, err := slurmface.States(stateList)
				if err != nil {
					var bad *slurmface.BadState
					if errors.As(err, &bad) { // bare, as scancel prints it
						fmt.Fprintln(c.ErrOrStderr(), bad.Words("scancel"))
						return &ExitError{Code: 1}
					}
					return usage("scancel: -t: %v", err)
				}
				// Only pending and running jobs can be cancelled: other
				// states name none.
				if active = activeStates(set); len(active) == 0 {
					return nil // as scancel: nothing in those states to cancel
				}
			}
			filters := len(users) > 0 || len(names) > 0 || part != "" || acct != ""
			if me || stateList != "" && len(args) == 0 && !filters {
				if u, err := sysuser.Current(c.Context()); err == nil {
					users = append(users, u.Name)
				}
				filters = true
			}
			if len(args) == 0 && !filters {
				return usage("scancel: no job identification given: name job ids, -u USER, -n NAME, -p PARTITION, -A ACCOUNT, --me or -t STATES")
			}
			ctx := c.Context()
			cl, err := connect(ctx, c.ErrOrStderr())
			if err != nil {
				return err
			}
			if bad := unknownUsers(ctx, cl, users); len(bad) > 0 { // as scancel: a user nobody knows is an error
				return &ExitError{Code: 1, Msg: fmt.Sprintf("scancel: error: Invalid user name: %s", bad[0])}
			}
			// strict: scancel's path for a signal (-s, KILL too) or the
			// batch shell (-b), where an id naming no active job is an
			// error (exit 1), said unless -Q; a plain cancel says it only
			// with -v and exits 0. Checked with Slurm 22.05's scancel.
			strict := sigName != "" || batch
			say := func(format string, a ...any) {
				if !quiet {
					fmt.Fprintf(c.ErrOrStderr(), format, a...)
				}
			}
			var failed error
			invalid := func(a string) {
				if strict || verbose > 0 {
					say("scancel: error: Kill job error on job id %s: Invalid job id specified\n", a)
				}
				if strict {
					failed = &ExitError{Code: 1}
				}
			}
			// -v names each job as it is sent: a plain cancel each id as
			// given (a range once), before it knows whether the id names a
			// job; a signal only the jobs it reached.
			what := scancelVerb(given, batch, full)
			if verbose > 0 && !strict {
				for _, a := range args {
					say("scancel: %s %s\n", what, a)
				}
			}
			args, missing, err := expandArrayRefs(args, arrayIndices(ctx, cl))
			if err != nil {
				return err
			}
			for _, a := range missing {
				invalid(a)
			}
			if stateList != "" && len(args) > 0 && sig != 0 {
				// -t -s with ids: only those of them in the states.
				var keep []string
				for _, a := range args {
					ref, err := resolveJob(ctx, cl, a)
					if err != nil {
						keep = append(keep, a) // said below, as without -t
						continue
					}
					if j, err := cl.Job(ctx, ref.JobID); err != nil || slices.Contains(active, j.State) {
						keep = append(keep, a)
					}
				}
				args = keep
			}
			us, ns := userSet(ctx, users), splitList(names)
			match := func(j *burst.Job) bool { // every filter given, as scancel's "ALL job filters"
				return (us == nil || us[j.User]) && (ns == nil || ns[j.Name]) && (part == "" || part == partitionOf(j)) &&
					(acct == "" || acct == j.Project)
			}
			switch {
			case filters && len(args) > 0: // the ids whose jobs pass the filters
				var keep []string
				for _, a := range args {
					ref, err := resolveJob(ctx, cl, a)
					if err != nil {
						keep = append(keep, a) // said below
						continue
					}
					if j, err := cl.Job(ctx, ref.JobID); err != nil || match(j) {
						keep = append(keep, a)
					}
				}
				args = keep
			case filters:
				listed := active
				if sig == 0 { // an array's tasks each have their state: cancelInStates picks them
					listed = []burst.State{burst.Queued, burst.Running}
				}
				list, err := listFace(ctx, cl, listed)
				if err != nil {
					return err
				}
				for _, j := range list {
					if match(&j) {
						id := strconv.FormatInt(j.ID, 10)
						if verbose > 0 && !strict {
							say("scancel: %s %s\n", what, id)
						}
						args = append(args, id)
					}
				}
			}
			for _, a := range args {
				ref, err := resolveJob(ctx, cl, a)
				var res *client.CancelResult
				switch {
				case err == nil && sig == 0 && stateList != "":
					res, err = cancelInStates(ctx, cl, ref, active)
				case err == nil && sig != 0:
					var sr *client.SignalResult
					if sr, err = cl.Signal(ctx, ref.JobID, ref.Task, sig, scope); err == nil {
						res = &client.CancelResult{ID: sr.ID, State: sr.State, AlreadyFinished: sr.AlreadyFinished}
					}
					if err == nil && sr.State == burst.Queued {
						// Slurm 22.05 refuses a signal (other than KILL)
						// to a pending job: scancel retries, then says this
						// and exits 228 (ESLURM_TRANSITION_STATE_NO_UPDATE,
						// 2020, as an exit status), checked with real Slurm.
						say("scancel: error: Kill job error on job id %s: Job can not be altered now, try again later\n", a)
						failed = &ExitError{Code: 228}
						continue
					}
				case err == nil && ref.Task >= 0:
					res, err = cl.CancelTask(ctx, ref.JobID, ref.Task)
				case err == nil:
					res, err = cl.Cancel(ctx, ref.JobID)
				}
				var ce *client.Error
				switch {
				case err == nil && res != nil && res.AlreadyFinished && strict:
					invalid(a) // a signal's path knows no ended job
				case err == nil:
					// As scancel: a job already ended is no error; -v
					// says so in scancel's words.
					if res != nil && res.AlreadyFinished && verbose > 0 {
						say("scancel: error: Kill job error on job id %s: Job/step already completing or completed\n", a)
					} else if strict && verbose > 0 {
						say("scancel: %s %s\n", what, a)
					}
				case errors.As(err, &ce) && ce.Status == http.StatusNotFound:
					// As Slurm 22.05's scancel: a job it does not know (or
					// no longer keeps) is no error for a cancel; -v says so.
					invalid(a)
				default:
					say("scancel: error: Kill job error on job id %s: %v\n", a, err)
					failed = &ExitError{Code: 1}
				}
			}
			return failed
		},
	}
	c.Flags().StringSliceVarP(&users, "user", "u", nil, "cancel these `USERS`' pending and running jobs")
	c.Flags().StringSliceVarP(&names, "name", "n", nil, "cancel the pending and running jobs of these `NAMES`")
	c.Flags().StringVarP(&part, "partition", "p", "", "cancel the pending and running jobs in this `PARTITION` (a burst cluster; one name, as scancel)")
	c.Flags().StringVarP(&acct, "account", "A", "", "cancel the pending and running jobs of this `ACCOUNT` (a project; one name, as scancel)")
	c.Flags().BoolVarP(&quiet, "quiet", "Q", false, "no error messages")
	c.Flags().CountVarP(&verbose, "verbose", "v", "name each job as it is sent, and the ids that named no job or an ended one (no error for a plain cancel, as scancel)")
	c.Flags().BoolVar(&me, "me", false, "cancel your pending and running jobs")
	c.Flags().StringVarP(&stateList, "state", "t", "", "only jobs in these `STATES` (PENDING, RUNNING, or PD,R)")
	c.Flags().BoolVarP(&batch, "batch", "b", false, "with -s: the batch shell alone (a cancel ends the job's processes whole)")
	c.Flags().BoolVarP(&full, "full", "f", false, "with -s: every process of the job, the batch shell too")
	c.Flags().StringVarP(&sigName, "signal", "s", "", "send `SIG` (USR1, 10, ...) to the running jobs instead of cancelling them")
	c.Flags().StringP("clusters", "M", "", "accepted: burst is one cluster (any name, or all)")
	return c
}

func newSacctCmd() *cobra.Command {
	var o sacctOpts
	c := &cobra.Command{
		Use:   "sacct [OPTIONS]",
		Short: "Report jobs as Slurm's sacct does",
		Long: `Report burst's jobs as sacct does (burst keeps every job: no accounting
database is needed). Each job that started is followed by its batch step,
ID.batch, as in Slurm (-X/--allocations: the jobs alone): what the job
used is on it (MaxRSS, AveRSS, NTasks, AveCPU; TotalCPU, UserCPU and
SystemCPU on both lines). A job array is a line per task that ran or ended,
ID_INDEX, and one for its pending tasks, ID_[4-9].

Honoured: -j/--jobs (ID, ID_INDEX, ID.batch), -X, -P/--parsable2,
-p/--parsable, --delimiter, -n/--noheader, -o/--format/--fields (JobID,
JobIDRaw, JobName, State, ExitCode, Elapsed, Start, End, Submit, MaxRSS,
TotalCPU, ... with %WIDTH; a field may be shortened: Exit, Elap), -b/--brief,
-l/--long, -e/--helpformat, -s/--state, -u/--user, -a/--allusers, --name,
-A/--accounts (projects), -r/--partition (clusters), -g/--group,
-N/--nodelist (machines), -I/--ncpus and -i/--nnodes (N or MIN-MAX),
-k/--timelimit-min and -K/--timelimit-max, -q/--qos, -R/--reason,
-S/--starttime, -E/--endtime, --units=[KMGTP], --noconvert,
-B/--batch-script and --env-vars (with -j), -M/--clusters and -L (burst is
one cluster), --usage. -C/--constraints and -W/--wckeys select nothing
(burst records neither); -c, -D, -F, -T, -v, -x, --local, --federation,
--use-local-uid and --whole-hetjob change nothing. State of a cancelled job
reads "CANCELLED by UID"; ExitCode is "STATUS:SIGNAL".

As sacct's manual has it, without -j it lists your own jobs (-a or -u for
others'; root sees everyone's) pending or running since midnight; -j lists
those jobs since the epoch; -s alone looks at now only (sacct -s CD lists
nothing until -S and -E say when). -S/-E take sacct's time formats:
2026-12-04T10:00, 12/04, 10:00, midnight, now-2hours, ...`,
		Example: `  burst slurm sacct -X -P -n --format=JobIdRaw,State,ExitCode -j 12
  sacct -j 12 --format=JobID,JobName%30,State,Elapsed,MaxRSS,TotalCPU
  sacct -a -S now-2days -s F,TO,OOM -E now     # every failure of the last two days
  sacct -j 12 -B                                # the batch script it ran`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return o.run(c)
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&o.allocs, "allocations", "X", false, "jobs only, not their batch steps")
	fl.BoolVarP(&o.brief, "brief", "b", false, "JobID, State and ExitCode")
	fl.BoolVarP(&o.long, "long", "l", false, "sacct -l's fields")
	fl.BoolVarP(&o.helpFormat, "helpformat", "e", false, "list the fields --format takes")
	fl.BoolVarP(&o.allUsers, "allusers", "a", false, "every user's jobs (default: your own; root's: everyone's)")
	fl.BoolVarP(&o.parsable, "parsable", "p", false, "fields separated by |, one after the last too")
	fl.BoolVarP(&o.parsable2, "parsable2", "P", false, "fields separated by |")
	fl.StringVar(&o.delimiter, "delimiter", "", "what separates fields with -p or -P (default |)")
	fl.BoolVarP(&o.noHeader, "noheader", "n", false, "no header")
	fl.StringVarP(&o.format, "format", "o", "", "`FIELDS` such as JobIDRaw,State,ExitCode")
	fl.StringVarP(&o.states, "state", "s", "", "only jobs in these `STATES`")
	fl.StringVarP(&o.start, "starttime", "S", "", "jobs pending or running after `TIME` (default: midnight; with -j the epoch; with -s now)")
	fl.StringVarP(&o.end, "endtime", "E", "", "jobs pending or running before `TIME` (default: now)")
	fl.StringArrayVarP(&o.jobs, "jobs", "j", nil, "only these job `IDS` (an array's task: ID_INDEX or its own id; a batch step: ID.batch)")
	fl.StringSliceVarP(&o.users, "user", "u", nil, "only these `USERS`' jobs")
	fl.StringSliceVar(&o.names, "name", nil, "only jobs with these `NAMES`")
	fl.StringSliceVarP(&o.accounts, "accounts", "A", nil, "only jobs of these burst projects")
	fl.StringSliceVarP(&o.parts, "partition", "r", nil, "only jobs on these burst clusters")
	fl.StringSliceVarP(&o.groups, "group", "g", nil, "only jobs of these groups (names or gids)")
	fl.StringArrayVarP(&o.nodes, "nodelist", "N", nil, "only jobs that ran on these machines (a hostlist)")
	fl.StringVarP(&o.ncpus, "ncpus", "I", "", "only jobs of `N` (or MIN-MAX) CPUs")
	fl.StringVarP(&o.nnodes, "nnodes", "i", "", "only jobs of `N` (or MIN-MAX) nodes (a burst job has one)")
	fl.StringVarP(&o.tlMin, "timelimit-min", "k", "", "only jobs with this time limit (the least, with -K)")
	fl.StringVarP(&o.tlMax, "timelimit-max", "K", "", "with -k, the greatest time limit")
	fl.StringSliceVarP(&o.qos, "qos", "q", nil, "only jobs of this QOS (burst's are all normal)")
	fl.StringSliceVarP(&o.reasons, "reason", "R", nil, "only jobs pending (or that were) for these reasons")
	fl.StringVarP(&o.constraints, "constraints", "C", "", "only jobs with these constraints (burst records none)")
	fl.StringVarP(&o.wckeys, "wckeys", "W", "", "only jobs with these wckeys (burst records none)")
	fl.StringVar(&o.units, "units", "", "write memory in `K`, M, G, T or P")
	fl.BoolVar(&o.noConvert, "noconvert", false, "memory in the unit it was measured in")
	fl.BoolVarP(&o.script, "batch-script", "B", false, "print the batch script of each job -j names")
	fl.BoolVar(&o.env, "env-vars", false, "print the environment of each job -j names")
	fl.StringVarP(&o.file, "file", "f", "", "refused: burst keeps its own jobs")
	fl.Bool("json", false, "refused: use -P --format")
	fl.Bool("yaml", false, "refused: use -P --format")
	fl.StringP("clusters", "M", "", "accepted: burst is one cluster (all, burst, any name)")
	fl.BoolP("allclusters", "L", false, "accepted: burst is one cluster")
	fl.StringP("associations", "x", "", "accepted: changes nothing")
	fl.StringP("flags", "F", "", "accepted: changes nothing")
	for _, b := range []struct{ name, short string }{{"completion", "c"}, {"duplicates", "D"}, {"truncate", "T"}} {
		fl.BoolP(b.name, b.short, false, "accepted: changes nothing in burst")
	}
	fl.CountP("verbose", "v", "accepted")
	for _, name := range []string{"local", "federation", "use-local-uid"} {
		fl.Bool(name, false, "accepted: changes nothing in burst")
	}
	fl.String("whole-hetjob", "", "accepted: burst has no heterogeneous jobs")
	fl.Lookup("whole-hetjob").NoOptDefVal = "yes"
	fl.Bool("usage", false, "a short usage line")
	// sacct's other names for the same options.
	fl.StringVar(&o.format, "fields", "", "--format")
	fl.StringSliceVar(&o.users, "uid", nil, "--user")
	fl.StringSliceVar(&o.groups, "gid", nil, "--group")
	fl.BoolVar(&o.helpFormat, "help-fields", false, "--helpformat")
	fl.String("cluster", "", "--clusters")
	for _, n := range []string{"fields", "uid", "gid", "help-fields", "cluster"} {
		fl.MarkHidden(n)
	}
	return c
}

// sacctLong is sacct -l's --format (sacct's --help spells it so).
const sacctLong = "jobid,jobidraw,jobname,partition,maxvmsize,maxvmsizenode,maxvmsizetask,avevmsize,maxrss," +
	"maxrssnode,maxrsstask,averss,maxpages,maxpagesnode,maxpagestask,avepages,mincpu,mincpunode,mincputask,avecpu," +
	"ntasks,alloccpus,elapsed,state,exitcode,avecpufreq,reqcpufreqmin,reqcpufreqmax,reqcpufreqgov,reqmem," +
	"consumedenergy,maxdiskread,maxdiskreadnode,maxdiskreadtask,avediskread,maxdiskwrite,maxdiskwritenode," +
	"maxdiskwritetask,avediskwrite,reqtres,alloctres,tresusageinave,tresusageinmax,tresusageinmaxn,tresusageinmaxt," +
	"tresusageinmin,tresusageinminn,tresusageinmint,tresusageintot,tresusageoutmax,tresusageoutmaxn," +
	"tresusageoutmaxt,tresusageoutave,tresusageouttot"

// sacctOpts are sacct's options, as typed.
type sacctOpts struct {
	allocs, brief, long, helpFormat, allUsers bool
	parsable, parsable2, noHeader, noConvert  bool
	script, env                               bool
	delimiter, format, states, start, end     string
	ncpus, nnodes, tlMin, tlMax, units, file  string
	constraints, wckeys                       string
	jobs, users, names, accounts, parts       []string
	groups, nodes, qos, reasons               []string
}

func (o *sacctOpts) run(c *cobra.Command) error {
	w := c.OutOrStdout()
	fl := c.Flags()
	switch {
	case o.helpFormat:
		fmt.Fprint(w, slurmface.AcctFieldList())
		return nil
	case flagSet(fl, "usage"):
		fmt.Fprint(w, "Usage: sacct [options]\n\tUse --help for help\n")
		return nil
	case flagSet(fl, "json") || flagSet(fl, "yaml"):
		return usage("sacct: --json and --yaml are not supported by burst: use -P --format=FIELDS (or `burst jobs -o json`)")
	case o.file != "":
		return usage("sacct: -f %s reads the jobcomp/filetxt plugin's log; burst keeps its jobs itself: leave -f out", o.file)
	case (o.script || o.env) && len(o.jobs) == 0:
		return usage("sacct: --batch-script and --env-vars need the jobs named: add -j ID")
	}
	format := o.format
	switch {
	case format != "":
	case o.long:
		format = sacctLong
	case o.brief:
		format = slurmface.SacctBrief
	case os.Getenv("SACCT_FORMAT") != "": // as sacct, with no -o, -l or -b: sites set it in users' profiles
		format = os.Getenv("SACCT_FORMAT")
		if _, err := slurmface.ParseAcctFormat(format); err != nil {
			return usage("sacct: %s (SACCT_FORMAT, from the environment)", strings.TrimPrefix(err.Error(), "--format: "))
		}
	default:
		format = slurmface.DefaultSacct
	}
	f, err := slurmface.ParseAcctFormat(format)
	if err != nil {
		return usage("sacct: %v", err)
	}
	opts := slurmface.SacctOptions{Parsable: slurmface.ParsableOf(o.parsable, o.parsable2), Delimiter: o.delimiter,
		NoHeader: o.noHeader, NoConvert: o.noConvert}
	if o.units != "" {
		if opts.Units, err = slurmface.ParseUnits(o.units); err != nil {
			return usage("sacct: %v", err)
		}
	}
	var set map[string]bool
	if o.states != "" {
		if set, err = slurmface.States(o.states); err != nil {
			return stateUsage("sacct", err)
		}
	}
	jobArgs, steps := splitSteps(o.jobs)
	ids, err := parseJobSel("sacct", jobArgs)
	if err != nil {
		return err
	}
	cpus, err := countRange("-I", o.ncpus)
	if err != nil {
		return err
	}
	nnodes, err := countRange("-i", o.nnodes)
	if err != nil {
		return err
	}
	limits, err := limitRange(o.tlMin, o.tlMax)
	if err != nil {
		return err
	}
	nodes, err := hostSet("-N", o.nodes)
	if err != nil {
		return err
	}
	ctx := c.Context()
	cl, err := connect(ctx, c.ErrOrStderr())
	if err != nil {
		return err
	}
	if bad := unknownUsers(ctx, cl, o.users); len(bad) > 0 { // as sacct: an error, exit 1, nothing listed
		return &ExitError{Code: 1, Msg: "sacct: error: Invalid user id: " + bad[0]}
	}
	win, err := slurmface.DefaultAcctWindow(time.Now(), o.start, o.end, ids != nil, set != nil)
	if err != nil {
		// sacct exits 1 for a time it cannot read (its
		// ESLURM_INVALID_TIME_VALUE), not 2 as for a bad option.
		return fmt.Errorf("sacct: %w", err)
	}
	users := acctUsers(o.users, o.allUsers, ids != nil, os.Getuid(), func() []string { return myNames(ctx, cl) })
	list, err := acctJobs(ctx, cl, ids)
	if err != nil {
		return err
	}
	fj := newFaceJobs(ctx)
	all := fj.expand(ctx, cl, list)
	us, ns, as, ps := userSet(ctx, users), splitList(o.names), splitList(o.accounts), splitList(o.parts)
	gs, qs, rs := splitList(o.groups), splitList(o.qos), lowerSet(o.reasons)
	var out []slurmface.Job
	var needSpec []int // of out: listed without the spec the format needs
	for _, j := range all {
		if !ids.holds(j) || set != nil && !set[j.StateName()] || us != nil && !us[j.User] ||
			ns != nil && !ns[j.Name] || !win.Holds(j) || as != nil && !as[j.Account] ||
			gs != nil && !gs[strconv.Itoa(j.GID)] && !gs[slurmface.GroupName(j.GID)] || !cpus.holds(j.CPUs) ||
			!nnodes.holds(1) || !limits.holds(j.TimeLimit) || qs != nil && !qs["normal"] ||
			rs != nil && !rs[strings.ToLower(j.Reason)] && !rs[strings.ToLower(slurmface.ReasonOf(j))] ||
			o.constraints != "" || o.wckeys != "" {
			continue
		}
		out = append(out, j)
	}
	if ps != nil {
		out = inPartitions(out, ps)
	}
	for i, j := range out {
		if f.NeedsSpec() && !j.HasSpec {
			needSpec = append(needSpec, i)
		}
	}
	fj.withSpecs(ctx, cl, out, needSpec)
	out = ids.collapse(out)
	// What only a job's first task says: the signal that ended a failed
	// job -j names, its user and system time, its machine.
	fj.withTasks(ctx, cl, out, func(j slurmface.Job) bool {
		return j.State == burst.Failed && ids != nil || j.OneTask && f.NeedsCPUSplit() ||
			j.Node != "" && (nodes != nil || f.NeedsNode())
	})
	if nodes != nil {
		out = slices.DeleteFunc(out, func(j slurmface.Job) bool { return !nodes[j.Node] })
	}
	withOwnSteps(out, os.Getenv)
	slices.SortStableFunc(out, acctOrder)
	if o.script || o.env {
		return writeScripts(ctx, cl, w, out, o.script)
	}
	return slurmface.Sacct(w, withSteps(out, steps, o.allocs), f, opts, time.Now())
}

// flagSet says whether a bool flag of fl was given.
func flagSet(fl *pflag.FlagSet, name string) bool {
	v, _ := fl.GetBool(name)
	return v
}

// lowerSet is splitList in lower case (nil when list is empty).
func lowerSet(list []string) map[string]bool {
	var set map[string]bool
	for k := range splitList(list) {
		if set == nil {
			set = map[string]bool{}
		}
		set[strings.ToLower(k)] = true
	}
	return set
}

// handedOut says whether the job ref names (its task, or its first) has
// been handed to a machine to run: its job reads pending until the agent
// reports the start, a moment late, but the task runs (a script's own
// `scontrol requeue $SLURM_JOB_ID` in its first line was refused as for a
// pending job).
func handedOut(ctx context.Context, cl *client.Client, ref *client.IDRef) bool {
	ts, err := cl.Tasks(ctx, ref.JobID, max(ref.Task, 0), 1)
	return err == nil && len(ts) == 1 && ts[0].State == burst.Running
}

// splitSteps takes the steps off sacct -j's items (12.batch, 12_3.0):
// the jobs' ids, and which step each item named (by the job's id as
// typed).
func splitSteps(items []string) ([]string, map[string]string) {
	var jobs []string
	steps, whole := map[string]string{}, map[string]bool{}
	for _, l := range items {
		var kept []string
		for _, item := range slurmface.SplitList(l) {
			if id, step, ok := strings.Cut(item, "."); ok {
				steps[id], item = step, id
			} else {
				whole[item] = true
			}
			kept = append(kept, item)
		}
		jobs = append(jobs, strings.Join(kept, ","))
	}
	for id := range whole { // -j 12,12.batch: the job and its steps
		delete(steps, id)
	}
	return jobs, steps
}

// withOwnSteps gives the job sacct runs in (a batch task's: its
// SLURM_JOB_ID) the steps its srun calls recorded so far on this machine
// (ownSteps), ended and running, while it runs: the server learns them at
// the task's end, and a script ending in `sacct -j $SLURM_JOB_ID` lists
// them, as Slurm's does.
func withOwnSteps(jobs []slurmface.Job, getenv func(string) string) {
	for i, j := range jobs {
		if j.State == burst.Running && len(j.Steps) == 0 {
			jobs[i].Steps = ownSteps(j.RawID, getenv)
		}
	}
}

// withSteps puts after each job the lines of its steps (StepLines: its
// batch step once it started, its srun steps) unless allocs, as sacct
// lists them; a job that -j named by a step (12.batch) is that step
// alone, or nothing for a step burst does not have (12.7).
func withSteps(jobs []slurmface.Job, steps map[string]string, allocs bool) []slurmface.Job {
	var out []slurmface.Job
	for _, j := range jobs {
		step, named := steps[j.JobID()]
		if !named {
			step, named = steps[strconv.FormatInt(j.RawID, 10)]
		}
		if !named {
			out = append(out, j)
		}
		if allocs && !named {
			continue
		}
		for _, s := range j.StepLines() {
			if !named || step == s.Step {
				out = append(out, s)
			}
		}
	}
	return out
}

// writeScripts prints each job's batch script (or its environment) as
// sacct -B (--env-vars) does.
func writeScripts(ctx context.Context, cl *client.Client, w io.Writer, jobs []slurmface.Job, script bool) error {
	const rule = "--------------------------------------------------------------------------------"
	specs := map[int64]*burst.JobSpec{} // an array's tasks share their array's
	for _, j := range jobs {
		id := j.RawID
		if j.ArrayJobID != 0 {
			id = j.ArrayJobID
		}
		if _, ok := specs[id]; !ok {
			specs[id] = nil
			if bj, err := cl.Job(ctx, id); err == nil {
				specs[id] = bj.Spec
			}
		}
		text := "NONE\n"
		if s := specs[id]; s != nil {
			switch {
			case script && s.Script != "":
				text = s.Script
			case !script && len(s.Env) > 0:
				var b strings.Builder
				for _, k := range slices.Sorted(maps.Keys(s.Env)) {
					fmt.Fprintf(&b, "%s=%s\n", k, s.Env[k])
				}
				text = b.String()
			}
		}
		if script {
			fmt.Fprintf(w, "Batch Script for %s\n%s\n%s\n", j.JobID(), rule, text)
		} else {
			fmt.Fprintf(w, "Environment used for %s (must be batch to display)\n%s\n%s\n", j.JobID(), rule, text)
		}
	}
	return nil
}

// countRange reads an N or MIN-MAX of sacct's -I and -i (nil: any).
func countRange(opt, v string) (*intRange, error) {
	if v == "" {
		return nil, nil
	}
	lo, hi, isRange := strings.Cut(v, "-")
	a, err1 := strconv.Atoi(lo)
	b, err2 := a, error(nil)
	if isRange {
		b, err2 = strconv.Atoi(hi)
	}
	if err1 != nil || err2 != nil || a < 0 || b < a {
		return nil, usage("sacct: %s %q: write a count or MIN-MAX, e.g. %s 2-8", opt, v, opt)
	}
	return &intRange{a, b}, nil
}

// intRange is MIN-MAX; a nil one holds every number.
type intRange struct{ lo, hi int }

func (r *intRange) holds(n int) bool { return r == nil || n >= r.lo && n <= r.hi }

// durRange is sacct's -k (and -K): a time limit, or a range of them.
type durRange struct{ lo, hi time.Duration }

func limitRange(lo, hi string) (*durRange, error) {
	if lo == "" {
		return nil, nil // -K alone is ignored, as sacct(1) says
	}
	a, err := burst.ParseTimeLimit(lo)
	if err != nil {
		return nil, usage("sacct: -k %q: %v", lo, err)
	}
	r := &durRange{a, a}
	if hi != "" {
		if r.hi, err = burst.ParseTimeLimit(hi); err != nil {
			return nil, usage("sacct: -K %q: %v", hi, err)
		}
	}
	return r, nil
}

func (r *durRange) holds(d time.Duration) bool { return r == nil || d >= r.lo && d <= r.hi }

// hostSet expands a hostlist option's values into a set (nil: none given).
func hostSet(opt string, lists []string) (map[string]bool, error) {
	if len(lists) == 0 {
		return nil, nil
	}
	hosts, err := hostNames(opt, lists)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, h := range hosts {
		set[h] = true
	}
	return set, nil
}

// hostNames expands a hostlist option's values, in their order.
func hostNames(opt string, lists []string) ([]string, error) {
	var all []string
	for _, l := range lists {
		hosts, err := slurmface.ExpandHostlist(l)
		if err != nil {
			return nil, usage("%s %q: %v", opt, l, err)
		}
		all = append(all, hosts...)
	}
	return all, nil
}

// knownNodes is squeue -w's hostlists as the machines they name: a
// machine's name, or its host's (every machine on that host, as squeue
// reads a NodeHostName); a name neither is refused in squeue's words,
// the first in the order given, as Slurm 22.05's squeue refuses it
// (`squeue: error: Invalid node name c3` for -w c[1-3], exit 1).
func knownNodes(ms []burst.Machine, cmd string, lists []string) (map[string]bool, error) {
	hosts, err := hostNames(cmd+": -w", lists)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, h := range hosts {
		found := false
		for _, m := range ms {
			if m.ID == h || m.Host == h {
				set[m.ID], found = true, true
			}
		}
		if !found {
			return nil, &ExitError{Code: 1, Msg: fmt.Sprintf("%s: error: Invalid node name %s", cmd, h)}
		}
	}
	return set, nil
}

// acctJobs are the jobs sacct looks at: those sel names (any number of
// them: the newest from one listing, the others one by one), or every job
// the server lists when sel is nil.
func acctJobs(ctx context.Context, cl *client.Client, sel *jobSel) ([]burst.Job, error) {
	var want []int64
	if sel != nil {
		want = sel.jobs()
	}
	var list []burst.Job
	seen := map[int64]bool{}
	add := func(j *burst.Job) {
		if !seen[j.ID] {
			list, seen[j.ID] = append(list, *j), true
		}
	}
	if sel == nil || len(want) > 16 {
		all, err := listFace(ctx, cl, nil)
		if err != nil || sel == nil {
			return all, err
		}
		for i := range all {
			if slices.Contains(want, all[i].ID) {
				add(&all[i])
			}
		}
	}
	for _, id := range want {
		if seen[id] {
			continue
		}
		if j, err := selectedJob(ctx, cl, id); err == nil { // older than the listing reaches
			add(j)
		}
	}
	return list, nil
}

// forgotten says whether squeue and scontrol no longer show j, ended
// more than MinJobAge ago, as slurmctld no longer keeps it.
func forgotten(j *burst.Job) bool {
	return j.EndedAt != nil && slurmface.Forgotten(*j.EndedAt, time.Now(), minJobAge())
}

// minJobAge is slurmface.MinJobAge, or the whole seconds of
// $BURST_SLURM_MIN_JOB_AGE where a site sets its own, as slurm.conf's
// MinJobAge (a value that is not one is ignored: the default holds).
func minJobAge() time.Duration {
	if n, err := strconv.Atoi(os.Getenv("BURST_SLURM_MIN_JOB_AGE")); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	return slurmface.MinJobAge
}

// selectedJob is the job id names for -j: that job, or the job array
// whose task's own id it is (an array task's SLURM_JOB_ID).
func selectedJob(ctx context.Context, cl *client.Client, id int64) (*burst.Job, error) {
	j, err := cl.Job(ctx, id)
	var ce *client.Error
	if err == nil || !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
		return j, err
	}
	ref, rerr := cl.ResolveID(ctx, strconv.FormatInt(id, 10))
	if rerr != nil || ref.JobID == id {
		return nil, err
	}
	return cl.Job(ctx, ref.JobID)
}

// acctUsers are the users whose jobs sacct lists (nil: everyone's), as its
// manual has it: those -u names; everyone's with -a, for jobs -j names, or
// for root (uid 0); otherwise the caller's own (mine).
func acctUsers(users []string, all, jobs bool, uid int, mine func() []string) []string {
	if len(users) > 0 || all || jobs || uid == 0 {
		return users
	}
	return mine()
}

// myNames are the user names the caller's jobs carry: who the server
// takes this client for, and the login name.
func myNames(ctx context.Context, cl *client.Client) []string {
	var names []string
	if w, err := cl.Whoami(ctx); err == nil && w.Name != "" {
		names = append(names, w.Name)
	}
	if u, err := sysuser.Current(ctx); err == nil {
		names = append(names, u.Name)
	}
	if len(names) == 0 {
		names = append(names, os.Getenv("USER"))
	}
	return names
}

// acctOrder is sacct's order: by job (an array's tasks under its id), an
// array's tasks by index, its pending ones last.
func acctOrder(a, b slurmface.Job) int {
	key := func(j slurmface.Job) (int64, int, int64) {
		if j.ArrayJobID == 0 {
			return j.RawID, 0, 0
		}
		if j.ArrayPending != "" {
			return j.ArrayJobID, 1, 0
		}
		return j.ArrayJobID, 0, int64(j.ArrayTaskID)
	}
	a1, a2, a3 := key(a)
	b1, b2, b3 := key(b)
	return cmp.Or(cmp.Compare(a1, b1), cmp.Compare(a2, b2), cmp.Compare(a3, b3))
}

// scontrolRequeue is scontrol requeue JOBID,...: each job's running task
// (an array's: the task named, or every running one of the array) is
// stopped and runs again from the start, its attempt not counted against
// --retries; a batch script that checkpoints on --signal then requeues
// itself goes on where it left off. Errors are scontrol's words (checked
// with Slurm 22.05's): "Invalid job id specified for job X", "Job is
// pending execution for job X", exit 1. Slurm requeues an ended batch job
// too; burst refuses it (run the script again). With hold (scontrol
// requeuehold) the job is held as well, until released: Reason "job
// requeued in held state", as Slurm 22.05 shows it; burst holds whole
// jobs, so one task of an array is refused as scontrol hold refuses it.
// scontrolHold is scontrol hold, uhold and release (verb) of whole jobs: a
// held job stays pending, Reason JobHeldUser (JobHeldAdmin when an admin
// held it, as Slurm's root does: then only an admin may release it; uhold
// is a hold its user may release) and priority 0, until released. Holding
// a running job changes nothing and is no error, as with Slurm; a job that
// has ended or never was, or an admin's hold released by a user, is named
// on stderr in Slurm 22.05's words, exit 1.
// scontrolNotify is `scontrol notify JOBID MESSAGE...`: the words of the
// message, joined by spaces, go to the job's running batch script's error
// file as slurmstepd writes them there ("slurmstepd: error: MESSAGE"); an
// array's id is its task 0, as the job record of that id is Slurm's. What
// it cannot tell is said in Slurm 22.05's words, exit 1 (checked beside
// it): no message, "too few arguments for keyword:notify"; then "job
// notify failure: " and "Invalid job id specified", "Requested operation
// is presently disabled" (the job waits) or "Job/step already completing
// or completed".
func scontrolNotify(c *cobra.Command, args []string) error {
	if len(args) < 2 {
		return &ExitError{Code: 1, Msg: "too few arguments for keyword:notify", bare: true}
	}
	ctx := c.Context()
	cl, err := connect(ctx, c.ErrOrStderr())
	if err != nil {
		return err
	}
	fail := func(why string) error {
		return &ExitError{Code: 1, Msg: "job notify failure: " + why, bare: true}
	}
	if checkJobRefs(args[:1]) != nil {
		return fail("Invalid job id specified")
	}
	ref, err := resolveJob(ctx, cl, args[0])
	if err != nil {
		return fail("Invalid job id specified")
	}
	res, err := cl.Notify(ctx, ref.JobID, ref.Task, strings.Join(args[1:], " "))
	var ae *client.Error
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return fail("Invalid job id specified")
	case err != nil:
		return err
	case res.Signalled > 0:
		return nil
	case res.AlreadyFinished:
		return fail("Job/step already completing or completed")
	}
	// The job runs on: its task may have ended (a task of an array).
	if ts, err := cl.Tasks(ctx, ref.JobID, max(ref.Task, 0), 1); err == nil && len(ts) == 1 && ts[0].State.Terminal() {
		return fail("Job/step already completing or completed")
	}
	return fail("Requested operation is presently disabled")
}

// scontrolTop is `scontrol top JOBID[,JOBID...]`, which puts pending jobs
// before their user's others. burst does not reorder its queue: a job that
// waits is refused naming what to do instead; the others are answered in
// Slurm 22.05's words, each on a line of its own, exit 1 (checked beside
// it): "Invalid job id specified for job 99", "Job is no longer pending
// execution for job 12" (running or ended), "Job is in held state, pending
// scheduler release for job 12".
func scontrolTop(c *cobra.Command, ids []string) error {
	ctx := c.Context()
	cl, err := connect(ctx, c.ErrOrStderr())
	if err != nil {
		return err
	}
	failed := false
	for _, a := range ids {
		if a == "" {
			continue
		}
		var j *burst.Job
		err := checkJobRefs([]string{a})
		if err == nil {
			var ref *client.IDRef
			if ref, err = resolveJob(ctx, cl, a); err == nil {
				j, err = cl.Job(ctx, ref.JobID)
			}
		}
		failed = true
		switch {
		case err != nil || forgotten(j):
			fmt.Fprintf(c.ErrOrStderr(), "Invalid job id specified for job %s\n", a)
		case j.State != burst.Queued:
			fmt.Fprintf(c.ErrOrStderr(), "Job is no longer pending execution for job %s\n", a)
		case j.Held:
			fmt.Fprintf(c.ErrOrStderr(), "Job is in held state, pending scheduler release for job %s\n", a)
		default:
			fmt.Fprintf(c.ErrOrStderr(), "scontrol: error: burst does not reorder its queue: job %s waits its turn; "+
				"to let it pass your other waiting jobs, hold them (scontrol hold ID) and release them once it runs\n", a)
		}
	}
	if failed {
		return &ExitError{Code: 1}
	}
	return nil
}

func scontrolHold(c *cobra.Command, ids []string, verb string) error {
	ctx := c.Context()
	cl, err := connect(ctx, c.ErrOrStderr())
	if err != nil {
		return err
	}
	last := ""
	for _, a := range ids {
		if a == "" {
			continue
		}
		var ref *client.IDRef
		var j *burst.Job
		msg := ""
		err := checkJobRefs([]string{a})
		if err == nil {
			if ref, err = resolveJob(ctx, cl, a); err == nil {
				j, err = cl.Job(ctx, ref.JobID)
			}
		}
		switch {
		case err != nil:
			msg = "Invalid job id specified"
		case ref.Task >= 0:
			fmt.Fprintf(c.ErrOrStderr(), "scontrol: error: burst holds and releases whole jobs: give %d, the array's id\n", ref.JobID)
			last = "Invalid job id specified"
			continue
		case j.State.Terminal():
			msg = "Job has already finished"
		case verb == "hold":
			err = cl.Hold(ctx, ref.JobID)
		case verb == "uhold":
			err = cl.UserHold(ctx, ref.JobID)
		default:
			err = cl.Release(ctx, ref.JobID)
		}
		var ae *client.Error
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusForbidden && msg == "":
			fmt.Fprintln(c.ErrOrStderr(), "scontrol: error: "+ae.Message)
			msg = "Access/permission denied" // as Slurm answers a user's release of an admin's hold
		case err != nil && msg == "":
			msg = err.Error()
		}
		if msg != "" {
			fmt.Fprintf(c.ErrOrStderr(), "%s for job %s\n", msg, a)
			last = msg
		}
	}
	if last != "" {
		return &ExitError{Code: 1, Msg: "slurm_suspend error: " + last, bare: true}
	}
	return nil
}

func scontrolRequeue(c *cobra.Command, ids []string, hold bool) error {
	ctx := c.Context()
	cl, err := connect(ctx, c.ErrOrStderr())
	if err != nil {
		return err
	}
	var failed error
	fail := func(format string, a ...any) {
		fmt.Fprintf(c.ErrOrStderr(), format+"\n", a...)
		failed = &ExitError{Code: 1}
	}
	for _, a := range ids {
		if a == "" {
			continue
		}
		var ref *client.IDRef
		var j *burst.Job
		err := checkJobRefs([]string{a})
		if err == nil {
			if ref, err = resolveJob(ctx, cl, a); err == nil {
				j, err = cl.Job(ctx, ref.JobID)
			}
		}
		var tasks []int
		switch {
		case err != nil:
			fail("Invalid job id specified for job %s", a)
			continue
		case j.State == burst.Queued && !handedOut(ctx, cl, ref):
			fail("Job is pending execution for job %s", a)
			continue
		case j.State.Terminal():
			fail("scontrol: error: requeue of job %s: it has ended (%s): burst requeues running jobs only; run it again", a, j.State)
			continue
		case j.Spec != nil && j.Spec.Batch != nil && j.Spec.Batch.NoRequeue:
			fail("Requested operation is presently disabled for job %s", a) // sbatch --no-requeue, as Slurm 22.05 refuses it
			continue
		case ref.Task >= 0 && hold:
			fail("scontrol: error: burst holds and releases whole jobs: give %d, the array's id", ref.JobID)
			continue
		case ref.Task >= 0:
			tasks = []int{ref.Task}
		case j.Tasks.Total == 1:
			tasks = []int{0}
		default:
			tasks, err = runningTasks(ctx, cl, ref.JobID)
		}
		for _, t := range tasks {
			switch {
			case err != nil:
			case hold:
				err = cl.RequeueHold(ctx, ref.JobID, t)
			default:
				err = cl.Requeue(ctx, ref.JobID, t)
			}
		}
		if err != nil {
			fail("scontrol: error: requeue of job %s: %v", a, err)
		}
	}
	return failed
}

// showNodes is scontrol show node [NAME] (nodes) or show partition [NAME]:
// burst's running machines, or its clusters of them; a name it does not
// know is said in scontrol's words, exit 1.
func showNodes(c *cobra.Command, nodes bool, names []string, oneLine bool) error {
	cl, err := connect(c.Context(), c.ErrOrStderr())
	if err != nil {
		return err
	}
	ms, err := cl.Machines(c.Context())
	if err != nil {
		return err
	}
	ns := faceNodes(ms)
	slices.SortStableFunc(ns, func(a, b slurmface.Node) int { return cmp.Compare(a.Name, b.Name) })
	name := ""
	if len(names) > 0 {
		name = names[0]
	}
	w := c.OutOrStdout()
	if nodes {
		if name != "" {
			// A machine by its name, else the first on a host of that name
			// ($SLURMD_NODENAME in a job is its host's): one record, as
			// scontrol gives for a node.
			i := slices.IndexFunc(ns, func(n slurmface.Node) bool { return n.Name == name })
			if i < 0 {
				i = slices.IndexFunc(ns, func(n slurmface.Node) bool { return n.Host == name })
			}
			if i < 0 {
				return &ExitError{Code: 1, Msg: fmt.Sprintf("Node %s not found", name), bare: true}
			}
			ns = ns[i : i+1]
		}
		for _, n := range ns {
			if err := slurmface.ShowNode(w, n, oneLine); err != nil {
				return err
			}
		}
		return nil
	}
	parts := map[string][]slurmface.Node{}
	var order []string
	for _, n := range ns {
		if parts[n.Partition] == nil {
			order = append(order, n.Partition)
		}
		parts[n.Partition] = append(parts[n.Partition], n)
	}
	// Clusters with no machine running (scaled to zero) are partitions too.
	if cs, err := cl.Clusters(c.Context()); err == nil {
		for _, cd := range cs {
			if _, ok := parts[cd.Name]; !ok {
				parts[cd.Name] = []slurmface.Node{}
				order = append(order, cd.Name)
			}
		}
	}
	slices.Sort(order)
	if name != "" {
		if _, ok := parts[name]; !ok {
			return &ExitError{Code: 1, Msg: fmt.Sprintf("Partition %s not found", name), bare: true}
		}
		order = []string{name}
	}
	for _, p := range order {
		if err := slurmface.ShowPartition(w, p, parts[p], oneLine); err != nil {
			return err
		}
	}
	return nil
}

func newScontrolCmd() *cobra.Command {
	var oneLine bool
	c := &cobra.Command{
		Use:   "scontrol show job [JOBID]",
		Short: "Show jobs as Slurm's scontrol show job does",
		Long: `Show burst jobs as ` + "`scontrol show job`" + ` does: Slurm 22.05's keys, in its order and
lines (-o: one line per job), with burst's values (Account is the project,
Partition the cluster, NodeList the machine) and Slurm's placeholders for
keys burst has no value for; -M/--clusters is accepted (burst is one
cluster). "show job" (and "show jobid", with -d/-dd accepted: the same
keys), "show step [ID[.STEP]]" (the steps running, as squeue -s lists them), "show node",
"show partition", "show hostnames", "show hostlist",
"requeue JOBID", "requeuehold JOBID" (requeued and held until released,
Reason "job requeued in held state"), "hold JOBID" (held until released, Reason JobHeldUser, or
JobHeldAdmin when burst's admin held it: then only an admin may release
it), "uhold JOBID" (a hold its user may release), "release JOBID", "update JobId=ID[,ID...] KEY=VALUE..."
(JobName, TimeLimit with +/-, Dependency, ArrayTaskThrottle; a running
job takes a new time limit at once, counted from its start; a dependency
only before the job starts; a time limit raised by an admin only),
"notify JOBID MESSAGE" (a line "slurmstepd: error: MESSAGE" in the running
batch job's error file), "top JOBID" (Slurm's answers for a job that does
not wait; burst does not reorder its queue: a waiting job is refused), "write batch_script JOBID [FILE]" (the
job's script to FILE, slurm-JOBID.sh by default, or - for stdout), "version" and "show config" with the few
keys clients read (SchedulerTimeSlice = 1 sec: Toil waits 1.2 times it
between status polls) are answered.`,
		Example: `  burst slurm scontrol show job 12
  scontrol -o show job 12
  scontrol show jobid -dd 12
  scontrol show config
  scontrol hold 12; scontrol release 12
  scontrol update JobId=12 TimeLimit=30 Dependency=afterok:11
  scontrol write batch_script $SLURM_JOB_ID -`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) >= 2 && args[0] == "show" && slurmface.ShowEntity(args[1]) != "" {
				args[1] = slurmface.ShowEntity(args[1]) // show hostname, show Jobs, show part: as scontrol reads them
			}
			if len(args) == 2 && args[0] == "show" && args[1] == "config" {
				return slurmface.ShowConfig(c.OutOrStdout(), time.Now(), minJobAge()) // Toil reads it at start
			}
			if len(args) == 1 && args[0] == "version" {
				fmt.Fprintln(c.OutOrStdout(), slurmVersionLine)
				return nil
			}
			if len(args) >= 2 && (args[0] == "requeue" || args[0] == "requeuehold") {
				return scontrolRequeue(c, strings.Split(strings.Join(args[1:], ","), ","), args[0] == "requeuehold")
			}
			if len(args) >= 1 && args[0] == "update" {
				return scontrolUpdate(c, args[1:])
			}
			if isWriteBatchScript(args) {
				return scontrolWriteBatchScript(c, args[2:])
			}
			if len(args) >= 2 && (args[0] == "hold" || args[0] == "uhold" || args[0] == "release") {
				return scontrolHold(c, strings.Split(strings.Join(args[1:], ","), ","), args[0])
			}
			if len(args) >= 1 && args[0] == "notify" {
				return scontrolNotify(c, args[1:])
			}
			if len(args) >= 2 && args[0] == "top" {
				return scontrolTop(c, strings.Split(strings.Join(args[1:], ","), ","))
			}
			if len(args) >= 2 && args[0] == "show" && strings.HasPrefix(args[1], "hostlist") || len(args) >= 2 && args[0] == "show" && args[1] == "hostnames" {
				return showHostlist(c, args[1], args[2:])
			}
			if len(args) >= 2 && args[0] == "show" && args[1] == "steps" {
				return showSteps(c, args[2:], oneLine)
			}
			if len(args) >= 2 && args[0] == "show" && (strings.HasPrefix(args[1], "node") || strings.HasPrefix(args[1], "partition")) {
				return showNodes(c, strings.HasPrefix(args[1], "node"), args[2:], oneLine)
			}
			if len(args) < 2 || args[0] != "show" || args[1] != "job" && args[1] != "jobid" && args[1] != "jobs" {
				return usage("scontrol: burst answers `scontrol show job [JOBID]`, `show node [NAME]`, `show partition [NAME]`, `requeue`, `requeuehold`, `hold`, `uhold` and `release JOBID[,JOBID...]`, `update JobId=ID KEY=VALUE...`, `notify JOBID MESSAGE`, `top JOBID`, `write batch_script JOBID [FILE]`, `show hostnames [LIST]`, `show hostlist LIST`, `show step [JOBID[.STEP]]`, `show config` and `version` only")
			}
			ctx := c.Context()
			cl, err := connect(ctx, c.ErrOrStderr())
			if err != nil {
				return err
			}
			var list []burst.Job
			only := int64(0) // an array task's own id: that task alone
			if len(args) > 2 {
				ref, err := resolveJob(ctx, cl, args[2])
				if err == nil && ref.Task >= 0 {
					only = ref.JobID + int64(ref.Task)
				}
				var j *burst.Job
				if err == nil {
					j, err = cl.Job(ctx, ref.JobID)
				} else if id, _, ok := strings.Cut(args[2], "_"); ok && isArray(ctx, cl, id) {
					return taskNotFound(c, args[2]) // an index the array does not have
				}
				if err != nil || forgotten(j) {
					return &ExitError{Code: 1, Msg: "slurm_load_jobs error: Invalid job id specified"}
				}
				list = []burst.Job{*j}
			} else if list, err = listFace(ctx, cl, nil); err != nil {
				return err
			}
			fj := newFaceJobs(c.Context())
			shown := false
			for i := range list {
				if list[i].Spec == nil {
					if full, err := cl.Job(ctx, list[i].ID); err == nil {
						list[i] = *full
					}
				}
				// An array's tasks are records of their own, its pending
				// ones one record, as scontrol shows them; a task named by
				// its id is its own record, pending or not.
				jobs := fj.expand(ctx, cl, list[i:i+1])
				if only == 0 {
					jobs = slurmface.CollapsePending(jobs)
				}
				for _, j := range jobs {
					if only != 0 && j.RawID != only || slurmface.Forgotten(j.End, time.Now(), minJobAge()) {
						continue
					}
					if j.ArrayJobID == 0 {
						fj.withTask(ctx, cl, &j)
					}
					if out, errs := shownFilesOf(list[i].Spec, &j); out != "" { // as Slurm 22.05 shows them, run or not
						j.StdOut, j.StdErr = out, errs
					}
					j.StdIn = stdinOf(list[i].Spec, &j)
					if err := slurmface.ShowJob(c.OutOrStdout(), j, oneLine, time.Now()); err != nil {
						return err
					}
					shown = true
				}
			}
			if only != 0 && !shown { // an array task cancelled before it started: Slurm keeps no record of it
				return taskNotFound(c, args[2])
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&oneLine, "oneliner", "o", false, "one line per job")
	c.Flags().CountP("details", "d", "accepted (-d, -dd): burst shows the same keys")
	c.Flags().StringP("clusters", "M", "", "accepted: burst is one cluster (any name, or all)")
	return c
}

// taskNotFound is scontrol show job's answer for an array task it has
// no record of (an index the array does not have, or a task cancelled
// before it started), as Slurm 22.05 writes it: "Job 78_5 not found" on
// stdout, exit 1.
func taskNotFound(c *cobra.Command, arg string) error {
	fmt.Fprintf(c.OutOrStdout(), "Job %s not found\n", arg)
	return &ExitError{Code: 1}
}

// isArray says whether id names a job array the server knows.
func isArray(ctx context.Context, cl *client.Client, id string) bool {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return false
	}
	j, err := cl.Job(ctx, n)
	return err == nil && !forgotten(j) && j.Spec != nil && j.Spec.Map != nil && j.Spec.Map.Array
}

// showSteps is scontrol show step[s] [ID[.STEP]]: the steps running
// (slurmface.StepsOfJob), of every job, of job ID, or its step STEP
// (batch: its batch step), one record each, in Slurm 22.05's words where
// there is none: "No job steps in the system" (exit 0), "Job step ID.STEP
// not found" (ID. for a job running none, exit 1; both on stdout), and for a job that
// slurmctld would not know (unknown, or ended MinJobAge ago)
// "slurm_get_job_steps error: Invalid job id specified" (exit 1). An ID
// that is no number is every job's, as scontrol reads it (strtol: job 0).
func showSteps(c *cobra.Command, args []string, oneLine bool) error {
	if len(args) > 1 {
		return &ExitError{Code: 1, Msg: "too many arguments for keyword:show", bare: true}
	}
	ctx := c.Context()
	cl, err := connect(ctx, c.ErrOrStderr())
	if err != nil {
		return err
	}
	var id, step string
	named := false
	if len(args) == 1 && args[0] != "" && args[0][0] >= '0' && args[0][0] <= '9' {
		id, step, named = strings.Cut(args[0], ".")
	}
	var list []burst.Job
	only := int64(0) // an array task's own id: that task alone
	if id != "" {
		ref, err := resolveJob(ctx, cl, id)
		var j *burst.Job
		if err == nil {
			j, err = cl.Job(ctx, ref.JobID)
		}
		if err != nil || forgotten(j) {
			return &ExitError{Code: 1, Msg: "slurm_get_job_steps error: Invalid job id specified"}
		}
		if ref.Task >= 0 {
			only = ref.JobID + int64(ref.Task)
		}
		list = []burst.Job{*j}
	} else if list, err = listFace(ctx, cl, []burst.State{burst.Running}); err != nil {
		return err
	}
	slices.SortFunc(list, func(a, b burst.Job) int { return cmp.Compare(a.ID, b.ID) })
	fj := newFaceJobs(ctx)
	var lines []slurmface.Job
	for _, j := range fj.expand(ctx, cl, list) {
		if j.State != burst.Running || j.ArrayPending != "" || only != 0 && j.RawID != only {
			continue
		}
		if j.ArrayJobID == 0 {
			fj.withTask(ctx, cl, &j) // its machine
		}
		for _, s := range slurmface.StepsOfJob(j) {
			if !named || step == cmp.Or(s.Step, "batch") {
				lines = append(lines, s)
			}
		}
	}
	if len(lines) == 0 {
		if id == "" {
			fmt.Fprintln(c.OutOrStdout(), "No job steps in the system")
			return nil
		}
		fmt.Fprintln(c.OutOrStdout(), "Job step "+id+"."+step+" not found") // on stdout, as scontrol writes it
		return &ExitError{Code: 1}
	}
	for _, s := range lines {
		if err := slurmface.ShowStep(c.OutOrStdout(), s, oneLine); err != nil {
			return err
		}
	}
	return nil
}

// showHostlist answers scontrol show hostnames [LIST] (one host a line;
// without LIST, $SLURM_NODELIST's, else $SLURM_JOB_NODELIST's), show
// hostlist LIST and show hostlistsorted LIST (slurmface.HostlistArg).
func showHostlist(c *cobra.Command, what string, args []string) error {
	if what != "hostnames" && what != "hostlist" && what != "hostlistsorted" {
		return usage("scontrol: show %s: burst answers show hostnames, hostlist and hostlistsorted", what)
	}
	list := strings.Join(args, ",")
	if list == "" && what == "hostnames" {
		list = cmp.Or(os.Getenv("SLURM_NODELIST"), os.Getenv("SLURM_JOB_NODELIST"))
	}
	hosts, err := slurmface.HostlistArg(list)
	switch {
	case err != nil:
		return &ExitError{Code: 1, Msg: "scontrol: error: " + err.Error()}
	case len(hosts) == 0 && what == "hostnames":
		// Slurm 22.05's scontrol says so and exits 0 (checked): outside a
		// job, hosts=$(scontrol show hostnames) under set -e goes on.
		fmt.Fprintln(c.ErrOrStderr(), "scontrol: error: host list is empty: give one (scontrol show hostnames node[1-4]), or run inside a job (SLURM_JOB_NODELIST)")
	case len(hosts) == 0:
		return &ExitError{Code: 1, Msg: "scontrol: error: host list is empty: give one (scontrol show " + what + " node[1-4]), or run inside a job (SLURM_JOB_NODELIST)"}
	case what == "hostnames":
		fmt.Fprintln(c.OutOrStdout(), strings.Join(hosts, "\n"))
	default:
		fmt.Fprintln(c.OutOrStdout(), slurmface.CompressHostlist(hosts, what == "hostlistsorted"))
	}
	return nil
}

func newSlurmLinkCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "link DIR",
		Short: "Make DIR a directory of sbatch, squeue, ... symlinks to burst",
		Long: `Make DIR (created if missing) hold symlinks named sbatch, squeue, scancel,
sacct, scontrol, sinfo, srun, sacctmgr and sstat to this burst binary. burst started under one of
those names runs that command of its Slurm personality, so with DIR first
on PATH, programs written for Slurm (Nextflow, Snakemake, Toil, ...) submit
to burst unchanged:

  burst slurm link "${BURST_HOME:-$HOME/.burst}/slurm-bin"
  export PATH="${BURST_HOME:-$HOME/.burst}/slurm-bin:$PATH"
  sbatch --wrap 'echo hi'          # Submitted batch job 1`,
		Example: `  burst slurm link "${BURST_HOME:-$HOME/.burst}/slurm-bin" && export PATH="${BURST_HOME:-$HOME/.burst}/slurm-bin:$PATH"`,
		Args:    argsAtLeast(1, "directory"),
		RunE: func(c *cobra.Command, args []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			dir := args[0]
			if err := slurmface.Link(dir, exe); err != nil {
				return usage("slurm link: %v", err)
			}
			// The PATH line names DIR whole: a relative entry would find the
			// commands only while the shell stays in this directory.
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "linked %s in %s: export PATH=%s:\"$PATH\"\n", strings.Join(SlurmNames, ", "), dir, shellquote.Quote(abs))
			return nil
		},
	}
}
