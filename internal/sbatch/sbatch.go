package sbatch

import (
	"cmp"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	burst "github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/shellquote"
	"github.com/burst-sh/burst/internal/slurmtime"
)

// Script is a parsed batch script.
type Script struct {
	Path          string // as given
	Text          string // whole file contents
	JobName       string // --job-name/-J
	Output        string // --output/-o pattern, "" if not set
	Error         string // --error/-e pattern
	Input         string // --input/-i pattern: the script's standard input, "" for /dev/null
	NTasks        int    // --ntasks/-n, 0 if not set
	NTasksPerNode int    // --ntasks-per-node, 0 if not set
	// Nodes is --nodes/-N (its minimum, of MIN-MAX), 0 if not set. A burst
	// job runs on one machine: the tasks Slurm would spread over the
	// nodes run there together (NTasks).
	Nodes int
	// ntasksGiven: --ntasks was given; else NTasks is what the nodes and
	// --ntasks-per-node make (deriveTasks).
	ntasksGiven bool
	// gpusPerNode: GPUs came from --gres or --gpus-per-node, which count
	// per node (--gpus counts for the whole job).
	gpusPerNode bool
	CPUsPerTask int           // --cpus-per-task/-c, 0 if not set
	MemBytes    int64         // --mem, 0 if not set
	MemAll      bool          // --mem=0: all the memory of the machine it runs on
	MemPerCPU   int64         // --mem-per-cpu, 0 if not set
	TimeLimit   time.Duration // --time/-t, 0 if not set
	GPUs        int           // from --gres=gpu[:type]:N (gpu alone = 1) or --gpus=[type:]N
	GPUType     string
	Partition   string // --partition/-p
	Array       string // --array raw value, "" if none
	Chdir       string // --chdir/-D
	Export      string // --export raw value, "" if not set
	OpenMode    string // --open-mode: "append" or "truncate" (the default), "" if not set
	NoRequeue   bool   // --no-requeue (the last of it and --requeue wins)
	Comment     string // --comment
	Exclusive   bool   // --exclusive alone (=user and =mcs share the node)
	GetUserEnv  bool   // --get-user-env: start from the user's login environment
	// Distribution is --distribution/-m as the job is told it
	// (Distribution), "" if not set; PlaneSize its plane=N.
	Distribution string
	PlaneSize    int
	Account      string // --account/-A: the burst project, "" if not set
	// Dependency is --dependency/-d as written (checked by
	// burst.ParseDependencies), "" if not set; KillOnInvalidDep is
	// --kill-on-invalid-dep: "yes", "no" or "" if not set.
	Dependency       string
	KillOnInvalidDep string
	// Begin is --begin/-b: when the job may start, read as sbatch reads it
	// (Slurm's parse_time looking ahead, at the time it was parsed); zero
	// if not set.
	Begin     time.Time
	Container string         // --container: a burst stack reference (container.go), "" if not set
	Wait      bool           // --wait/-W: sbatch returns once the job ended, with its exit code
	Parsable  bool           // --parsable: sbatch prints the job's id alone
	Hold      bool           // --hold/-H: the job is held until released (scontrol release)
	Warn      *burst.Warning // --signal: a signal before the time limit; nil if not set
	Warnings  []string       // one per directive burst cannot honour
	// Args are the arguments of every #SBATCH line, in order: what sbatch
	// hands to getopt, which refuses the script when one is no option it
	// knows (the personality's sbatch does too: burst run only warns).
	Args []string
}

// maxCount bounds task, CPU and GPU counts so that products of them stay far
// from overflowing.
const maxCount = 1_000_000

// Parse reads #SBATCH directives the way sbatch does: only lines that start
// with "#SBATCH" before the first line that is neither blank nor a comment
// (the shebang counts as a comment). Within a directive line, whitespace
// separates arguments, quotes group them, a backslash escapes the next
// character, and an unquoted '#' begins a comment, even inside an argument.
// Options take the "--opt=value", "--opt value", "-c 4" and "-c4" forms,
// several to a line, and long names may be abbreviated as sbatch allows.
//
// A malformed directive that burst honours is an error naming PATH:LINE and
// the fix; options burst does not honour, or that sbatch does not know,
// become Warnings.
func Parse(path string, data []byte) (*Script, error) {
	text := string(data)
	if _, err := Interpreter(text); err != nil {
		return nil, fmt.Errorf("%s:1: %v", path, err)
	}
	if i := strings.Index(text, "\r\n"); i >= 0 {
		return nil, fmt.Errorf("%s:%d: the script has DOS line breaks (\\r\\n): convert it with dos2unix", path, lineOf(text, i))
	}
	if i := strings.IndexByte(text, 0); i >= 0 {
		return nil, fmt.Errorf("%s:%d: the script contains a NUL byte: give the text of a shell script, not a binary", path, lineOf(text, i))
	}
	p := &parser{s: &Script{Path: path, Text: text}}
	for line := range strings.SplitSeq(text, "\n") {
		p.line++
		if rest, ok := strings.CutPrefix(line, "#SBATCH"); ok {
			if err := p.directive(rest); err != nil {
				return nil, err
			}
			continue
		}
		if t := strings.TrimLeft(line, spaces); t != "" && t[0] != '#' {
			break // the first command: sbatch reads no further
		}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p.s, nil
}

// SetOption sets one option given on the command line (long name without
// "--", as sbatch spells it, e.g. "array", "output", "ntasks"), over what the
// directives said: sbatch's command-line options override the script's. An
// error names the option and the fix.
func (s *Script) SetOption(name, value string) error {
	o, _ := lookupLong(name)
	if o == nil || o.eg == "" {
		return fmt.Errorf("--%s is not an sbatch option burst honours", name)
	}
	if o.arg != required && value == "" {
		value = "set"
	}
	if value == "" {
		return fmt.Errorf("--%s needs a value, e.g. %s", name, o.eg)
	}
	p := &parser{s: s}
	if err := p.set(o.names[0], value); err != nil {
		return fmt.Errorf("--%s: %w", name, err)
	}
	switch o.names[0] { // one memory option wins: the command line's
	case "mem":
		s.MemPerCPU = 0
	case "mem-per-cpu":
		s.MemBytes, s.MemAll = 0, false
	}
	if o.names[0] == "nodes" || o.names[0] == "ntasks-per-node" || o.names[0] == "ntasks" {
		p.deriveTasks()
	}
	return nil
}

// WantsUserEnv reports whether the job starts from the user's login
// environment rather than the submitter's alone: --get-user-env, or any
// --export but ALL itself: NONE (which sbatch documents as "as if
// --get-user-env was specified"), a list of variables (--export=FOO,BAR=1),
// and ALL with variables (--export=ALL,FOO=1, FOO,ALL): Slurm 22.05 loads
// the login environment under them, so that the script has the user's
// HOME, USER, LOGNAME and MAIL, whatever the submitter lacked (measured
// with the suite's real sbatch: ALL,FOO=1 gave a USER the submitter had
// not, ALL none).
func (s *Script) WantsUserEnv() bool {
	return s.GetUserEnv || s.Export != "" && !strings.EqualFold(s.Export, "ALL")
}

// ExportsNone reports whether --export names NONE: the submitter's own
// variables are not passed.
func (s *Script) ExportsNone() bool {
	for item := range strings.SplitSeq(s.Export, ",") {
		if strings.EqualFold(item, "NONE") {
			return true
		}
	}
	return false
}

// Interpreter reads a script's "#!" line as Linux's execve does: the
// interpreter's path, then everything after it up to the end of the line,
// with the blanks around it removed, as one optional argument.
// "#!/usr/bin/env bash" gives [/usr/bin/env bash]; "#!/bin/bash -l -x"
// gives [/bin/bash "-l -x"], exactly what the kernel passes. Agents run
// batch scripts through it, so that no task execs a file another may hold
// open for writing.
func Interpreter(text string) ([]string, error) {
	line, ok := strings.CutPrefix(text, "#!")
	if !ok {
		return nil, errors.New("not a batch script: the first line must be a shebang such as #!/bin/bash")
	}
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = strings.Trim(line, " \t")
	if line == "" {
		return nil, errors.New("the #! line names no interpreter: write e.g. #!/bin/bash")
	}
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		return []string{line[:i], strings.Trim(line[i:], " \t")}, nil
	}
	return []string{line}, nil
}

// Apply fills spec from the directives. Only fields a directive sets are
// touched; the caller applies its command-line flags afterwards, as they
// override directives. CPUs are ntasks × cpus-per-task; memory is --mem or
// --mem-per-cpu × CPUs; a relative --chdir is resolved against spec.Workdir
// (the submit directory); stderr goes where stdout goes unless --error is set,
// as in sbatch; spec.Env is filtered by --export as sbatch does; --account
// is the project the job is charged to.
//
// A job array (--array) becomes a map over the array's indices: one task per
// index, given to the script as SLURM_ARRAY_TASK_ID, with --array's %N as
// the cap on tasks running at once.
func (s *Script) Apply(spec *burst.JobSpec) error {
	if s.Array != "" {
		idx, throttle, err := ParseArray(s.Array)
		if err != nil {
			return fmt.Errorf("%s: #SBATCH --array: %w", s.Path, err)
		}
		src := make([]string, len(idx))
		for i, v := range idx {
			src[i] = strconv.Itoa(v)
		}
		spec.Map = &burst.MapSpec{Array: true, Sources: [][]string{src}}
		spec.MaxRunning = throttle
	}
	// A job of several nodes runs on one machine: it holds what they would
	// (--mem and --gres count per node; --mem-per-cpu and --gpus do not
	// need to).
	nodes := max(1, s.Nodes)
	cpus := s.Tasks() * max(1, s.CPUsPerTask)
	mem := s.MemBytes
	if mem > 0 && nodes > 1 {
		if mem > math.MaxInt64/int64(nodes) {
			return fmt.Errorf("%s: #SBATCH --mem times %d nodes is too large: ask for less memory", s.Path, nodes)
		}
		mem *= int64(nodes)
	}
	if s.MemPerCPU > 0 {
		if s.MemPerCPU > math.MaxInt64/int64(cpus) {
			return fmt.Errorf("%s: #SBATCH --mem-per-cpu times %d CPUs is too large: ask for less memory", s.Path, cpus)
		}
		mem = s.MemPerCPU * int64(cpus)
	}

	if s.JobName != "" {
		spec.Name = s.JobName
	}
	if s.Account != "" {
		spec.Project = s.Account // Slurm's account is burst's project
	}
	if s.Dependency != "" {
		// Checked when it was read. A dependency that can never be met
		// cancels the job (burst's way) unless the script keeps it
		// pending (Slurm's, which sbatch itself applies).
		spec.After, spec.AfterAnyOf, _ = burst.ParseDependencies(s.Dependency, burst.AfterAny)
		spec.KeepUnsatisfiable = s.KillOnInvalidDep == "no"
	}
	if !s.Begin.IsZero() {
		spec.Begin = s.Begin
	}
	spec.Held = s.Hold
	if s.NTasks > 0 || s.CPUsPerTask > 0 || nodes > 1 {
		spec.Resources.CPUs = cpus
	}
	if mem > 0 {
		spec.Resources.MemBytes = mem
	}
	if s.GPUs > 0 {
		spec.Resources.GPUs = s.GPUs
		if s.gpusPerNode {
			spec.Resources.GPUs = s.GPUs * nodes
		}
	}
	if s.TimeLimit > 0 {
		spec.Resources.TimeLimit = MinuteLimit(s.TimeLimit)
	}
	if s.Output != "" {
		spec.Stdout = s.Output
		spec.Stderr = s.Output
	}
	if s.Error != "" {
		spec.Stderr = s.Error
	}
	if s.Chdir != "" {
		dir := s.Chdir
		if !filepath.IsAbs(dir) && spec.Workdir != "" {
			dir = filepath.Join(spec.Workdir, dir)
		}
		spec.Workdir = dir
	}
	if spec.Batch == nil {
		spec.Batch = &burst.BatchOptions{}
	}
	spec.Batch.NTasks = s.NTasks
	spec.Batch.NTasksPerNode = s.NTasksPerNode * nodes // the tasks on the one machine
	if s.NTasks == 0 && nodes > 1 {
		spec.Batch.Nodes = nodes
	}
	spec.Batch.CPUsPerTask = s.CPUsPerTask
	spec.Batch.MemPerCPU = s.MemPerCPU
	spec.Batch.MemAll = s.MemAll
	spec.Batch.Input = s.Input
	spec.Batch.Account = s.Account
	spec.Batch.Comment = s.Comment
	if s.Array != "" {
		spec.Batch.ArrayStep = ArrayStep(s.Array)
	}
	spec.Batch.Partition = s.Partition
	spec.Batch.Distribution, spec.Batch.PlaneSize = s.Distribution, s.PlaneSize
	spec.Batch.Append = strings.EqualFold(s.OpenMode, "append")
	spec.Batch.NoRequeue = s.NoRequeue
	spec.Batch.Exclusive = s.Exclusive
	if s.OpenMode != "" {
		spec.Batch.OpenMode = s.OpenMode[:1] // "a" or "t", as 22.05 tells the job
	}
	spec.Batch.Warn = s.Warn
	spec.Batch.Export, spec.Batch.UserEnv = s.Export, s.GetUserEnv
	if s.Export != "" {
		spec.Env = ExportEnv(spec.Env, s.Export)
	}
	s.applyContainer(spec)
	return nil
}

// ParseSignal reads --signal=[{R|B}:]SIG[@TIME] (sbatch(1)): SIG a
// signal's number or name (USR1, SIGUSR1), sent TIME seconds (0 to 65535,
// 60 when left out) before the job's time limit; B: to the batch shell
// alone, else to the job's steps. R: (reservations) changes nothing here.
func ParseSignal(v string) (*burst.Warning, error) {
	w := &burst.Warning{BeforeS: 60}
	rest := v
	for _, pre := range []string{"RB:", "BR:", "R:", "B:"} {
		if len(rest) >= len(pre) && strings.EqualFold(rest[:len(pre)], pre) {
			w.Shell = strings.ContainsAny(pre, "Bb")
			rest = rest[len(pre):]
			break
		}
	}
	name, at, hasAt := strings.Cut(rest, "@")
	bad := fmt.Errorf("%q is not a signal specification: write [B:]SIGNAL[@SECONDS], e.g. --signal=B:USR1@120 (USR1 to the batch shell 120 s before the time limit)", v)
	var err error
	if w.Signal, err = SignalNumber(name); err != nil {
		return nil, bad
	}
	if hasAt {
		n, err := strconv.Atoi(at)
		if err != nil || !isDigits(at) || n > 0xffff {
			return nil, bad
		}
		w.BeforeS = n
	}
	return w, nil
}

// SignalNumber reads a signal as Slurm's commands take it: its number, or
// its name with or without SIG, in any case (USR1, sigusr1, 10).
func SignalNumber(s string) (int, error) {
	n := 0
	if isDigits(s) && s != "" {
		n, _ = strconv.Atoi(s)
	} else if s != "" {
		up := strings.ToUpper(s)
		if !strings.HasPrefix(up, "SIG") {
			up = "SIG" + up
		}
		n = int(unix.SignalNum(up))
	}
	if n < 1 || n > 64 {
		return 0, fmt.Errorf("%q is not a signal: give its name or number, e.g. USR1 or 10", s)
	}
	return n, nil
}

// MinuteLimit is a time limit in seconds rounded up to a whole minute, as
// Slurm keeps them ("--time=0:30" is one minute); 0 stays 0 (no limit).
func MinuteLimit(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d+time.Minute-1)/time.Minute) * 60
}

// ExportEnv applies an --export value (sbatch's, srun's) to env: ALL keeps every variable, NONE
// (or NIL) keeps none, NAME keeps that one, NAME=value sets it. With neither
// ALL nor NONE, only the named variables are kept.
func ExportEnv(env map[string]string, export string) map[string]string {
	keepAll := false
	keep := map[string]bool{}
	set := map[string]string{}
	for item := range strings.SplitSeq(export, ",") {
		switch name, value, ok := strings.Cut(item, "="); {
		case ok:
			set[name] = value
		case strings.EqualFold(item, "ALL"):
			keepAll = true
		case item != "" && !strings.EqualFold(item, "NONE") && !strings.EqualFold(item, "NIL"):
			keep[item] = true
		}
	}
	out := map[string]string{}
	for k, v := range env {
		if keepAll || keep[k] {
			out[k] = v
		}
	}
	for k, v := range set {
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// checkExport validates an --export value.
func checkExport(v string) error {
	for item := range strings.SplitSeq(v, ",") {
		name, _, ok := strings.Cut(item, "=")
		if item == "" || !ok && (strings.EqualFold(item, "ALL") || strings.EqualFold(item, "NONE") || strings.EqualFold(item, "NIL")) {
			continue
		}
		if !shellquote.IsName(name) {
			return fmt.Errorf("%q is not a variable name: write e.g. --export=ALL,OMP_NUM_THREADS=4", name)
		}
	}
	return nil
}

// parser holds the state of one Parse.
type parser struct {
	s             *Script
	line          int
	memLine       int // line of the last --mem, 0 if none
	memPerCPULine int // line of the last --mem-per-cpu, 0 if none
}

func (p *parser) warnf(format string, a ...any) {
	where := fmt.Sprintf("%s:%d: ", p.s.Path, p.line)
	if p.line == 0 { // an option given on the command line (SetOption)
		where = "command line: "
		format = strings.TrimPrefix(format, "#SBATCH ")
	}
	p.s.Warnings = append(p.s.Warnings, where+fmt.Sprintf(format, a...))
}

func (p *parser) errorf(format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", p.s.Path, p.line, fmt.Sprintf(format, a...))
}

// directive handles the text after "#SBATCH" on one line.
func (p *parser) directive(text string) error {
	args, err := fields(text)
	if err != nil {
		return p.errorf("#SBATCH line %v", err)
	}
	p.s.Args = append(p.s.Args, args...)
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			p.warnf("#SBATCH --: arguments after it are not options; ignored")
			return nil
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			o, candidates := lookupLong(name)
			switch {
			case o == nil && len(candidates) > 0:
				p.warnf("#SBATCH --%s is ambiguous (%s); ignored: write the option in full", name, strings.Join(candidates, ", "))
			case o == nil:
				p.warnf("#SBATCH --%s is not an sbatch option; ignored", name)
			}
			if o == nil {
				if !hasValue {
					skipValue(args, &i)
				}
				continue
			}
			if o.arg == required && !hasValue {
				value = nextArg(args, &i)
			}
			if err := p.option(o, "--"+name, value); err != nil {
				return err
			}
		case len(a) > 1 && a[0] == '-':
			if err := p.shortOptions(args, &i); err != nil {
				return err
			}
		default:
			p.warnf("#SBATCH %q is not an option; ignored", a)
		}
	}
	return nil
}

// shortOptions handles args[*i], a group of one-letter options such as "-c4"
// or "-HQ", taking a value from the next argument when the last one needs it.
func (p *parser) shortOptions(args []string, i *int) error {
	a := args[*i]
	for j := 1; j < len(a); j++ {
		o := lookupShort(a[j])
		if o == nil {
			p.warnf("#SBATCH %s is not an sbatch option; ignored", a)
			if len(a) == 2 {
				skipValue(args, i)
			}
			return nil
		}
		written := "-" + a[j:j+1]
		if o.arg == noArg {
			if err := p.option(o, written, ""); err != nil {
				return err
			}
			continue
		}
		value := a[j+1:]
		if o.arg == required && value == "" {
			value = nextArg(args, i)
		}
		return p.option(o, written, value)
	}
	return nil
}

// nextArg consumes and returns the argument after args[*i], or "".
func nextArg(args []string, i *int) string {
	if *i+1 >= len(args) {
		return ""
	}
	*i++
	return args[*i]
}

// skipValue consumes the argument after an option sbatch does not know when
// it looks like that option's value rather than another option.
func skipValue(args []string, i *int) {
	if *i+1 < len(args) && !strings.HasPrefix(args[*i+1], "-") {
		*i++
	}
}

// option applies one option; written is how the script spelled it.
func (p *parser) option(o *option, written, value string) error {
	if o.eg == "" {
		p.warnf("#SBATCH --%s is not supported by burst; ignored", o.names[0])
		return nil
	}
	if value == "" && (o.arg == optional || o.arg == noArg) {
		value = "set" // a flag such as --get-user-env with its value left out, or --wait
	}
	if value == "" {
		return p.errorf("#SBATCH %s needs a value, e.g. %s", written, o.eg)
	}
	if err := p.set(o.names[0], value); err != nil {
		return fmt.Errorf("%s:%d: #SBATCH %s: %w", p.s.Path, p.line, written, err)
	}
	return nil
}

// set records the value of an option burst honours.
func (p *parser) set(name, v string) error {
	s := p.s
	var err error
	switch name {
	case "job-name":
		s.JobName = v
		where := "this line"
		if p.line == 0 { // the command line's (SetOption)
			where = "-J"
		}
		err = burst.CheckName("the name", v, where)
	case "output":
		s.Output = devNull(v)
	case "error":
		s.Error = devNull(v)
	case "input":
		s.Input = devNull(v)
	case "ntasks":
		s.NTasks, err = count(v, 1, "--ntasks=4")
		s.ntasksGiven = err == nil
	case "ntasks-per-node":
		s.NTasksPerNode, err = count(v, 1, "--ntasks-per-node=4")
	case "cpus-per-task":
		s.CPUsPerTask, err = count(v, 1, "--cpus-per-task=8")
	case "mem":
		s.MemBytes, err = burst.ParseMem(v)
		s.MemAll = err == nil && s.MemBytes == 0 // as Slurm: the node's memory, all of it
		p.memLine = p.line
	case "mem-per-cpu":
		s.MemPerCPU, err = burst.ParseMem(v)
		p.memPerCPULine = p.line
	case "time":
		var terr error
		if s.TimeLimit, terr = burst.ParseTimeLimit(v); terr != nil {
			err = fmt.Errorf("%w: %v", ErrTimeSpec, terr)
		}
	case "gres":
		s.GPUs, s.GPUType, err = p.gres(v)
		s.gpusPerNode = true
	case "gpus", "gpus-per-node":
		s.GPUs, s.GPUType, err = gpus(v, name)
		s.gpusPerNode = name == "gpus-per-node"
	case "partition":
		s.Partition = v
	case "distribution":
		var derr error
		if s.Distribution, s.PlaneSize, derr = Distribution(v); derr != nil {
			plane := ""
			if errors.Is(derr, ErrPlaneSize) {
				plane = ErrPlaneSize.Error() + "; "
			}
			err = fmt.Errorf("%q: %s%w: %s", v, plane, ErrDistribution, DistributionFix)
		}
	case "no-requeue", "requeue":
		s.NoRequeue = name == "no-requeue"
	case "oversubscribe":
		s.Exclusive = false // the last of it and --exclusive wins, as in Slurm
	case "exclusive":
		// Alone (or =exclusive, as 22.05 reads it): a whole node. =user
		// and =mcs let the node be shared with the same user's (or
		// group's) jobs, and allocate no more CPUs; =oversubscribe is
		// --oversubscribe: shared too.
		switch strings.ToLower(v) {
		case "set", "exclusive":
			s.Exclusive = true
		case "user", "mcs", "oversubscribe":
			s.Exclusive = false
		default:
			err = fmt.Errorf("%q: write --exclusive (a whole machine), or --exclusive=user, =mcs or =oversubscribe", v)
		}
	case "wait":
		s.Wait = true
	case "parsable":
		s.Parsable = true
	case "hold":
		s.Hold = true
	case "array":
		if _, _, err = parseArray(v); err == nil {
			s.Array = v
		}
	case "comment":
		s.Comment = v
	case "chdir":
		s.Chdir = v
	case "export":
		if err = checkExport(v); err == nil {
			s.Export = v
		}
	case "open-mode":
		switch strings.ToLower(v) {
		case "append", "a":
			s.OpenMode = "append"
		case "truncate", "t":
			s.OpenMode = "truncate"
		default:
			err = fmt.Errorf("%q: write --open-mode=append or --open-mode=truncate", v)
		}
	case "get-user-env":
		s.GetUserEnv = true
	case "account":
		s.Account = v
	case "dependency":
		if _, _, err = burst.ParseDependencies(v, burst.AfterAny); err == nil {
			s.Dependency = v
		}
	case "kill-on-invalid-dep":
		switch v = strings.ToLower(v); v {
		case "yes", "no":
			s.KillOnInvalidDep = v
		default:
			err = fmt.Errorf("%q: write --kill-on-invalid-dep=yes or no", v)
		}
	case "begin":
		var berr error
		if s.Begin, berr = slurmtime.Begin(v, time.Now()); berr != nil {
			err = fmt.Errorf("%w: %v", ErrBeginSpec, berr)
		}
	case "container":
		s.Container, err = containerRef(v)
	case "signal":
		s.Warn, err = ParseSignal(v)
	case "nodes":
		lo, _, _ := strings.Cut(v, "-")
		if n, cerr := count(lo, 1, "--nodes=2"); cerr != nil {
			p.warnf("#SBATCH --nodes=%s: burst reads a number of nodes or MIN-MAX; ignored: a job runs on one machine", v)
		} else if s.Nodes = n; n > 1 {
			p.warnf("#SBATCH --nodes=%s: a burst job runs on one machine: the tasks of its %d nodes run there together (SLURM_NNODES=1)", v, n)
		}
	}
	return err
}

// finish checks what only the whole script can tell.
func (p *parser) finish() error {
	if p.memLine > 0 && p.memPerCPULine > 0 {
		p.line = max(p.memLine, p.memPerCPULine)
		return p.errorf("#SBATCH --mem and --mem-per-cpu cannot both be set: keep one of them")
	}
	p.deriveTasks()
	return nil
}

// Tasks is how many tasks the job has: --ntasks (or what --ntasks-per-node
// makes of the nodes), else one per node.
func (s *Script) Tasks() int {
	if s.NTasks > 0 {
		return s.NTasks
	}
	return max(1, s.Nodes)
}

// deriveTasks sets the job's tasks when --ntasks was not given, as sbatch
// counts them: --ntasks-per-node times the nodes, or one per node. A job
// runs on one machine, so they all run there (SLURM_NNODES=1), rather than
// the fraction of them one node would have run: a script whose srun tasks
// split the work by SLURM_PROCID still does all of it.
func (p *parser) deriveTasks() {
	s := p.s
	if !s.ntasksGiven {
		s.NTasks = 0 // --nodes alone: a task per node (Tasks), SLURM_NTASKS unset
		if s.NTasksPerNode > 0 {
			s.NTasks = s.NTasksPerNode * max(1, s.Nodes)
		}
	}
}

// devNull maps sbatch's "none" output file to /dev/null.
func devNull(v string) string {
	if strings.EqualFold(v, "none") {
		return "/dev/null"
	}
	return v
}

// count parses a whole number from lo to maxCount.
func count(v string, lo int, eg string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || !isDigits(v) || n < lo || n > maxCount {
		return 0, fmt.Errorf("%q is not a whole number from %d to %d: write e.g. %s", v, lo, maxCount, eg)
	}
	return n, nil
}

// gres reads a --gres list such as "gpu:a100:2,nvme:1": "gpu" alone is one
// GPU, "gpu:a100" one A100. Only GPUs are honoured; other resources become
// warnings.
func (p *parser) gres(v string) (int, string, error) {
	n, typ := 0, ""
	for item := range strings.SplitSeq(v, ",") {
		name, rest, _ := strings.Cut(strings.TrimPrefix(item, "gres/"), ":")
		switch {
		case item == "none":
			continue
		case name != "gpu":
			p.warnf("#SBATCH --gres=%s is not supported by burst (only gpu is); ignored", item)
			continue
		case rest == "":
			rest = "1"
		case !strings.Contains(rest, ":") && !isDigits(rest):
			rest += ":1"
		}
		c, t, err := gpuCount(rest)
		if err != nil {
			return 0, "", fmt.Errorf("%q is not a GPU request: write e.g. --gres=gpu:2 or --gres=gpu:a100:2", item)
		}
		n, typ = n+c, cmp.Or(typ, t)
	}
	if n > maxCount {
		return 0, "", fmt.Errorf("%q asks for more than %d GPUs", v, maxCount)
	}
	return n, typ, nil
}

// GPURequest reads a --gres or --gpus (option) value as sbatch does: the
// GPUs it asks for and their type. Other generic resources of a --gres
// list are left out, as sbatch's directives leave them (with a warning
// there).
func GPURequest(option, v string) (int, string, error) {
	if option == "gres" {
		p := parser{s: &Script{}}
		return p.gres(v)
	}
	return gpus(v, option)
}

// gpus reads a --gpus value: "[type:]N", or a comma-separated list of them.
func gpus(v, name string) (int, string, error) {
	n, typ := 0, ""
	for item := range strings.SplitSeq(v, ",") {
		c, t, err := gpuCount(item)
		if err != nil {
			return 0, "", fmt.Errorf("%q is not a GPU request: write e.g. --%s=2 or --%s=a100:2", item, name, name)
		}
		n, typ = n+c, cmp.Or(typ, t)
	}
	if n > maxCount {
		return 0, "", fmt.Errorf("%q asks for more than %d GPUs", v, maxCount)
	}
	return n, typ, nil
}

// gpuCount parses "[type:]N".
func gpuCount(s string) (int, string, error) {
	typ, c, hasType := strings.Cut(s, ":")
	if !hasType {
		typ, c = "", s
	}
	n, err := strconv.Atoi(c)
	if err != nil || !isDigits(c) || n > maxCount || hasType && typ == "" {
		return 0, "", errors.New("bad GPU count")
	}
	return n, typ, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// spaces are the characters C's isspace accepts, which sbatch splits on.
const spaces = " \t\n\v\f\r"

// fields splits a directive line into arguments as sbatch does: whitespace
// separates them, single or double quotes group, a backslash escapes the next
// character, and an unquoted '#' begins a comment, wherever it is.
func fields(s string) ([]string, error) {
	var args []string
	var b strings.Builder
	in, quote, escaped := false, byte(0), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			b.WriteByte(c)
			escaped = false
		case c == '\\':
			escaped, in = true, true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case strings.IndexByte(spaces, c) >= 0:
			if in {
				args = append(args, b.String())
				b.Reset()
				in = false
			}
		case c == '#':
			// sbatch's _get_argument: an unquoted, unescaped '#' ends the
			// line, even inside an argument ("--time=10 #min", "-J a#b").
			if in {
				args = append(args, b.String())
			}
			return args, nil
		case c == '"' || c == '\'':
			quote, in = c, true
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("has an unmatched %c quote: close it or escape it with a backslash", quote)
	}
	if in {
		args = append(args, b.String())
	}
	return args, nil
}

// lineOf returns the 1-based line number of byte offset i of text.
func lineOf(text string, i int) int {
	return 1 + strings.Count(text[:i], "\n")
}
