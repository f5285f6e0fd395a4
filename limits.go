package burst

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what one job may ask for. They are far above what a real job
// needs and low enough that no field can exhaust the server's memory, make
// every listing slow, or overflow a number on its way to a deadline or a
// price. docs/guarantees.md lists them; every refusal names the limit.
const (
	// MaxNameBytes bounds a job's name, a batch script's partition, host
	// and user (a file name's limit, NAME_MAX).
	MaxNameBytes = 255
	// MaxArgBytes bounds one argument, one map input and one KEY=VALUE of
	// the environment: the longest string exec takes, Linux's
	// MAX_ARG_STRLEN (131,072) less the NUL that ends it.
	MaxArgBytes = 128<<10 - 1
	// MaxArgs and MaxArgvBytes bound a command's arguments: their count,
	// and their size together (a NUL each included), half of Linux's usual
	// ARG_MAX of 2 MiB; the environment may take the other half.
	MaxArgs      = 65536
	MaxArgvBytes = 1 << 20
	// MaxEnvVars and MaxEnvBytes bound the environment (KEY=VALUE and a
	// NUL each).
	MaxEnvVars  = 16384
	MaxEnvBytes = 1 << 20
	// MaxPathBytes bounds a path (working directory, output templates, a
	// pipe's files): Linux's PATH_MAX.
	MaxPathBytes = 4096
	// MaxScriptBytes bounds a batch script: Slurm's default
	// max_script_size (slurm.conf SchedulerParameters).
	MaxScriptBytes = 4 << 20
	// MaxSpecBytes bounds a whole job as stored (JSON, a map's inputs
	// apart), which writes each control byte as six.
	MaxSpecBytes = 8 << 20
	// MaxListRows bounds what one listing (jobs, events, tasks) returns.
	MaxListRows = 10_000
	// MaxTextBytes bounds a pipe's text as written.
	MaxTextBytes = 1 << 20
	// MaxTasks bounds a job's tasks (a map's input combinations).
	MaxTasks = 10_000_000
	// MaxMapInputs bounds the inputs a map reads from its files and
	// standard input: more than one submission (64 MiB) carries, each
	// input taking two bytes of it at least. Read whole, a stream of
	// empty inputs (1 GB of commas under -d ,) would take tens of GB.
	MaxMapInputs = 32 << 20
	// MaxSubmitBytes bounds one request's body, a submission with its
	// map's inputs: room for a map of 1,000,000 inputs of up to 60 bytes
	// each, and well below what would make the server hold hundreds of
	// megabytes for one request. A map's input files and standard input
	// are read no further.
	MaxSubmitBytes = 64 << 20
	// MaxArrayIndex bounds a job array's index: the largest Slurm can be
	// configured to allow (slurm.conf MaxArraySize is at most 4000001).
	MaxArrayIndex = 4_000_000
	// MaxInputGroups bounds a map's input groups (::: and ::::), which are
	// the inputs of each task.
	MaxInputGroups = 1024
	// MaxColumns is how many columns one input of a map may hold (linked
	// groups, --colsep, -N: MapSpec.Columns).
	MaxColumns = 4096
	// MaxSharedRunning bounds how many tasks of a map whose tasks reserve
	// no CPU (JobSpec.SharedCPUs) run at once, whatever its -j (-j 0: GNU
	// parallel's "as many as possible", which its file handles and
	// processes bound, is that many): enough for any I/O-bound fan-out,
	// few enough that a map of a million inputs does not fork a million
	// processes.
	MaxSharedRunning = 1024
	// MaxStages bounds a pipe's stages.
	MaxStages = 64
	// MaxParallel bounds the copies of one pipe stage.
	MaxParallel = 1024
	// MaxCPUs, MaxGPUs and MaxMemBytes bound what one task asks for: ten
	// times the largest machines built today.
	MaxCPUs     = 65536
	MaxGPUs     = 1024
	MaxMemBytes = 1 << 50 // 1 PiB
	// MaxTimeLimitS bounds a time limit: 100 years, as ParseTimeLimit
	// does, well inside what a time.Duration holds (292 years).
	MaxTimeLimitS = 100 * 365 * 24 * 3600
	// MaxBeginAhead bounds how far ahead --begin may defer a job: a year
	// (366 days) after it is submitted.
	MaxBeginAhead = 366 * 24 * time.Hour
	// MaxRetries bounds --retries.
	MaxRetries = 10_000
	// MaxDescriptionBytes bounds a project's description, MaxTags its
	// tags and MaxWordBytes each tag, provider, type and schedule entry.
	MaxDescriptionBytes = 4096
	MaxTags             = 64
	MaxWordBytes        = 64
	// MaxBudgetUSD bounds a budget: what a nano-dollar int64 holds with
	// room to spare (cost's ParseUSD takes no more).
	MaxBudgetUSD = 9_000_000_000
	// MaxMachines bounds a cluster's --min and --max.
	MaxMachines = 100_000
	// MaxReasonBytes bounds why a task ended, as an agent reports it: room
	// for a path of MaxPathBytes and the words around it.
	MaxReasonBytes = 8 << 10
	// MaxAgentTasks bounds the tasks one agent reports at once (running,
	// or events not yet reported): a pipe's processes (MaxStages times
	// MaxParallel) many times over.
	MaxAgentTasks = 1 << 20
)

// CheckText refuses a text field that would reach a terminal or a file
// name raw: more than limit bytes, bytes that are not UTF-8, control
// characters and the marks that reverse text. what names the field in the
// message, fix says what to do.
func CheckText(what, v string, limit int, fix string) error {
	return checkText(what, v, limit, fix)
}

// Validate checks the sizes, characters and ranges of a project's fields;
// the server checks their meaning (dates, thresholds) after.
func (p *ProjectSpec) Validate() error {
	if p.Description != nil {
		if err := checkLines("the description", *p.Description, MaxDescriptionBytes); err != nil {
			return err
		}
	}
	if p.Tags != nil {
		if len(*p.Tags) > MaxTags {
			return fmt.Errorf("%d tags; the limit is %d", len(*p.Tags), MaxTags)
		}
		for _, t := range *p.Tags {
			if err := checkText("a tag", t, MaxWordBytes, "give a short word"); err != nil {
				return err
			}
			if strings.Contains(t, ",") {
				return fmt.Errorf("tag %q: tags are single words or short phrases without commas (at most %d bytes)", t, MaxWordBytes)
			}
		}
	}
	if b := p.BudgetUSD; b != nil && *b > MaxBudgetUSD {
		return fmt.Errorf("budget $%.10g: the limit is $%d", *b, MaxBudgetUSD)
	}
	for _, f := range []struct {
		what string
		v    *string
	}{{"--ends", p.Ends}, {"--warn", p.Warn}, {"--on-exhausted", p.OnExhausted}} {
		if f.v != nil {
			if err := checkText(f.what, *f.v, MaxNameBytes, "see `burst project set --help`"); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate checks the sizes, characters and ranges of a cluster's fields;
// the server checks their meaning (provider, type, schedule) after.
func (c *ClusterSpec) Validate() error {
	for _, f := range []struct{ what, v string }{
		{"--provider", c.Provider}, {"--type", c.Type}, {"--partition", c.Partition}, {"--project", c.Project},
	} {
		if err := checkText(f.what, f.v, MaxNameBytes, "see `burst cluster create --help`"); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		what string
		v    []string
	}{{"--off", c.Off}, {"--on", c.On}} {
		if len(l.v) > MaxTags {
			return fmt.Errorf("%s has %d entries; the limit is %d", l.what, len(l.v), MaxTags)
		}
		for _, e := range l.v {
			if err := checkText(l.what, e, MaxWordBytes, "write e.g. 'Fri 18:00'"); err != nil {
				return err
			}
		}
	}
	switch {
	case c.Min < 0 || c.Max < 0:
		return errors.New("--min and --max cannot be negative")
	case c.IdleStopS < 0:
		return errors.New("--idle-stop cannot be negative: give e.g. 5m, or 0 to never stop idle machines")
	case c.TimeLimitS < 0 || c.MachineCPUs < 0 || c.MachineMemBytes < 0 || c.MachineGPUs < 0:
		return errors.New("--time-limit, --cpus, --mem and --gpus cannot be negative")
	case c.Min > MaxMachines || c.Max > MaxMachines:
		return fmt.Errorf("--min %d --max %d: the limit is %d machines", c.Min, c.Max, MaxMachines)
	case c.IdleStopS > MaxTimeLimitS:
		return fmt.Errorf("--idle-stop is %d s; the limit is %d s (100 years of 365 days)", c.IdleStopS, MaxTimeLimitS)
	case c.TimeLimitS > MaxTimeLimitS:
		return fmt.Errorf("--time-limit is %d s; the limit is %d s (100 years of 365 days)", c.TimeLimitS, MaxTimeLimitS)
	case c.Fallback != "" && c.Fallback != FallbackOnDemand:
		return fmt.Errorf("--fallback %.40q: the only fallback is on-demand (--fallback on-demand), or none", c.Fallback)
	case c.Fallback != "" && !c.Spot:
		return errors.New("--fallback on-demand replaces interrupted spot machines: give --spot too, or drop --fallback")
	case c.MachineCPUs > MaxCPUs || c.MachineGPUs > MaxGPUs || c.MachineMemBytes > MaxMemBytes:
		return fmt.Errorf("a machine of %d CPUs, %d GPUs and %d bytes: the limits are %d CPUs, %d GPUs and 1 PiB",
			c.MachineCPUs, c.MachineGPUs, c.MachineMemBytes, MaxCPUs, MaxGPUs)
	}
	return nil
}

// checkLines is checkText for text that may span lines and hold tabs.
func checkLines(what, v string, limit int) error {
	if len(v) > limit {
		return fmt.Errorf("%s is %d bytes; the limit is %d", what, len(v), limit)
	}
	for _, line := range strings.Split(v, "\n") {
		if err := checkText(what, strings.ReplaceAll(line, "\t", " "), limit, "write it without control characters"); err != nil {
			return err
		}
	}
	return nil
}

// checkText refuses what must not reach a terminal or a file name raw: more
// than limit bytes, bytes that are not UTF-8, control characters (escape
// sequences among them) and the marks that reverse the direction of text.
// what names the field for the message, fix says what to do.
func checkText(what, v string, limit int, fix string) error {
	if len(v) > limit {
		return fmt.Errorf("%s is %d bytes; the limit is %d: %s", what, len(v), limit, fix)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not valid UTF-8: %s", what, fix)
	}
	for _, r := range v {
		if unicode.IsControl(r) || isBidi(r) {
			return fmt.Errorf("%s holds the control character %U: %s", what, r, fix)
		}
	}
	return nil
}

// isBidi reports the characters that are not seen but change what a
// terminal shows: those that reorder text (U+202A to U+202E, U+2066 to
// U+2069, the marks U+200E, U+200F, U+061C) and the other format
// characters (Unicode's Cf: U+200B zero width space, U+FEFF, ...) and the
// line and paragraph separators (U+2028, U+2029), which can make a name
// read as another or break a table's columns.
func isBidi(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// checkName checks a job or stage name: text, not "." or "..", which name
// no file and which %x would turn into a directory.
func checkName(what, v string) error {
	return CheckName(what, v, "--name")
}

// CheckName is the check of a job's name, its fix naming how the name was
// given (where: "--name", or a script's "#SBATCH --job-name line").
func CheckName(what, v, where string) error {
	fix := "give another with " + where + ", in printable characters"
	if len(v) > MaxNameBytes {
		fix = "give a shorter one with " + where
	}
	if err := checkText(what, v, MaxNameBytes, fix); err != nil {
		return err
	}
	if v == "." || v == ".." {
		return fmt.Errorf("%s %q names no file: give another with %s", what, v, where)
	}
	return nil
}

// checkPath checks a path: at most MaxPathBytes, no NUL (which no file name
// holds).
func checkPath(what, v string) error {
	if len(v) > MaxPathBytes {
		return fmt.Errorf("%s is %d bytes; the limit is %d", what, len(v), MaxPathBytes)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return fmt.Errorf("%s holds a NUL byte, which no path can hold", what)
	}
	return nil
}

// checkArgv checks a command's arguments. A command (not a script's
// arguments) must name a program: argv[0] is not empty.
func checkArgv(what string, argv []string, command bool) error {
	if len(argv) > MaxArgs {
		return fmt.Errorf("%s has %d arguments; the limit is %d: pass long lists in a file", what, len(argv), MaxArgs)
	}
	if command && len(argv) > 0 && argv[0] == "" {
		return fmt.Errorf("%s names no program (its first word is empty): put the program after --, e.g. `burst run -- python3 fit.py`", what)
	}
	total := 0
	for i, a := range argv {
		if len(a) > MaxArgBytes {
			return fmt.Errorf("%s: argument %d is %d bytes; the limit is %d (exec refuses longer ones): pass it in a file", what, i+1, len(a), MaxArgBytes)
		}
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("%s: argument %d holds a NUL byte, which no program can receive: pass it in a file", what, i+1)
		}
		total += len(a) + 1
	}
	if total > MaxArgvBytes {
		return fmt.Errorf("%s: the arguments are %d bytes; the limit is %d: pass long lists in a file", what, total, MaxArgvBytes)
	}
	return nil
}

// checkEnv checks an environment: keys that a program can read back (not
// empty, no '=' and no NUL), values without NUL, and its size.
func checkEnv(env map[string]string) error {
	if len(env) > MaxEnvVars {
		return fmt.Errorf("the environment has %d variables; the limit is %d: pass fewer (--export)", len(env), MaxEnvVars)
	}
	total := 0
	for k, v := range env {
		switch {
		case k == "":
			return fmt.Errorf("the environment has a variable with an empty name: remove it")
		case !utf8.ValidString(k):
			return fmt.Errorf("environment variable %s: a name that is not UTF-8 cannot be sent (values can): rename it", quoteShort(k))
		case strings.ContainsAny(k, "=\x00"):
			return fmt.Errorf("environment variable %s: a name cannot hold '=' or NUL (a program would read another name): rename it", quoteShort(k))
		case strings.IndexByte(v, 0) >= 0:
			return fmt.Errorf("environment variable %s holds a NUL byte, which no program can receive: remove it", quoteShort(k))
		case len(k)+1+len(v) > MaxArgBytes:
			return fmt.Errorf("environment variable %s is %d bytes; the limit is %d (exec refuses longer ones): pass it in a file", quoteShort(k), len(k)+1+len(v), MaxArgBytes)
		}
		total += len(k) + len(v) + 2
	}
	if total > MaxEnvBytes {
		return fmt.Errorf("the environment is %d bytes; the limit is %d: run it with fewer variables (env -u NAME burst ..., or a batch script's --export)", total, MaxEnvBytes)
	}
	return nil
}

// checkResources checks the numbers of one task's ask. what prefixes the
// message ("" for a job, "stage 2 (sort): " for a pipe's stage); minCPUs is
// 1 for a job, 0 for a stage (which may reserve none).
func checkResources(what string, r Resources, minCPUs int) error {
	switch {
	case r.CPUs < minCPUs || r.CPUs > MaxCPUs:
		return fmt.Errorf("%s--cpus %d: ask for %d to %d CPUs", what, r.CPUs, max(minCPUs, 1), MaxCPUs)
	case r.MemBytes < 0:
		return fmt.Errorf("%s--mem must not be negative", what)
	case r.MemBytes > MaxMemBytes:
		return fmt.Errorf("%s--mem is %d bytes; the limit is %d (1 PiB)", what, r.MemBytes, int64(MaxMemBytes))
	case r.GPUs < 0 || r.GPUs > MaxGPUs:
		return fmt.Errorf("%s--gpus %d: ask for 0 to %d GPUs", what, r.GPUs, MaxGPUs)
	case r.TimeLimit < 0:
		return fmt.Errorf("%s--time must not be negative", what)
	case r.TimeLimit > MaxTimeLimitS:
		return fmt.Errorf("%s--time is %d s (%d years); the limit is %d s (100 years of 365 days): ask for less, or 0 for none",
			what, r.TimeLimit, r.TimeLimit/(365*24*3600), MaxTimeLimitS)
	}
	return nil
}

// checkCount checks a count that may be 0 (none) up to limit.
func checkCount(what string, v, limit int) error {
	if v < 0 || v > limit {
		return fmt.Errorf("%s %d: give 0 to %d", what, v, limit)
	}
	return nil
}

// quoteShort quotes s for a message, cut to 64 bytes.
func quoteShort(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", s[:64], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// CutReason shortens why a task ended to at most MaxReasonBytes, which is
// all the server takes: the start and the end are kept (an error names what
// failed first and why last), the middle replaced by how many bytes were
// left out, never a character cut in two. An agent reports every reason
// through it: a reason quoting a long command (an exec error of a program
// named by a 128 KiB argument) would otherwise make the server refuse the
// report and the task's end go unrecorded.
func CutReason(r string) string {
	r = strings.ToValidUTF8(r, "\uFFFD") // as JSON will write it: measured after
	if len(r) <= MaxReasonBytes {
		return r
	}
	keep := MaxReasonBytes/2 - 64
	end, start := keep, len(r)-keep
	for end > 0 && !utf8.RuneStart(r[end]) {
		end--
	}
	for start < len(r) && !utf8.RuneStart(r[start]) {
		start++
	}
	head, tail := r[:end], r[start:]
	return fmt.Sprintf("%s ...<%d bytes left out>... %s", head, len(r)-len(head)-len(tail), tail)
}
