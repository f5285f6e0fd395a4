package cli

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/mapspec"
	"github.com/burst-sh/burst/internal/shellquote"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// parallelOnly are GNU parallel's options burst map does not take, by
// name as given (without dashes; each of an option's names), with what to
// do instead. A command line
// written for parallel that uses one is refused with this, not with
// "unknown flag".
func parallelOnly() map[string]string {
	m := map[string]string{}
	for _, o := range []struct{ names, fix string }{
		{"pipe", "burst map runs a command per input, not per block of standard input: for a stream dealt out to N copies of a command in blocks of whole lines, burst pipe 'cat big.txt | --parallel N CMD'; or split the stream into files first (split -l 1000 big.txt part.) and map over them: burst map -- CMD {} ::: part.*"},
		{"pipe-part pipepart", "see --pipe: split the file first (split -l 1000 big.txt part.) and map over the pieces"},
		{"block block-size round-robin group-by tee shard recend", "see --pipe: split the input into files first and map over them"},
		{"load", "burst places tasks by the CPUs and memory each asks for: give --cpus N and --mem SIZE"},
		{"memfree noswap memsuspend", "burst places tasks by the memory each asks for: give --mem SIZE"},
		{"S sshlogin slf sshloginfile ssh sshdelay filter-hosts hostgroup controlmaster M", "burst runs tasks on its clusters' machines: --on CLUSTER (burst cluster list)"},
		{"transferfile transfer tf", "files travel to the machines with --in PATH and back with --out GLOB"},
		{"return", "files come back from the machines with --out GLOB (burst results JOB --fetch)"},
		{"trc", "files travel with --in PATH and come back with --out GLOB"},
		{"basefile bf B", "files every task needs travel with --in PATH (-B is parallel's retired --bf)"},
		{"onall nonall", "burst runs a task once, on the machine that has room for it"},
		{"files", "--results DIR saves each task's output in files"},
		{"retry-failed", "burst map --joblog FILE --resume-failed -- CMD ... runs again what failed (with the same command and inputs)"},
		{"semaphore", "burst map is no semaphore: submit each command with burst run -d, and -j caps a map's tasks"},
		{"fg", "leave it out: burst map waits for its tasks unless -d is given"},
		{"bg", "burst map -d submits and returns at once"},
		{"E eof e", "give only the inputs before the end string: cut them there first (sed '/^END$/,$d' FILE | burst map -- CMD {} :::: -)"},
		{"termseq term-seq", "leave it out: a task past --time gets SIGTERM, then SIGKILL"},
		{"limit", "-j N caps how many tasks run at once"},
		{"cleanup", "a staged task's private directory is removed after its --out files are uploaded"},
		{"wd workdir W", "a task runs in the directory burst map was started in (staged: a private one); cd in the command (--shell) for another"},
		{"s max-chars exit x", "each task gets one input, or n with -N n"},
		{"rpl", "burst takes {} {.} {/} {//} {/.} {#} {%} {n}, and --plus's {..} {+/} {+.} {##} {0#} ...: compute other forms in the command (--shell)"},
		{"tmux tmuxpane", "follow a task's output with burst logs JOB --task N -f"},
		{"fifo", "a task reads its input as an argument ({}), not a fifo"},
		{"cat", "a task reads its input as an argument ({}), not a file of it"},
		{"compress", "leave it out: burst keeps tasks' output on the machine's disk as it is, and prints it as the tasks wrote it"},
		{"ctag", "--tag begins each line with the task's inputs"},
		{"csv", "--colsep , splits each input at commas (quoted fields are not read as CSV's)"},
		{"sqlmaster sqlworker sqlandworker", "burst keeps every task in its own store: burst results JOB -o json"},
		{"p interactive", "--dry-run prints each task's command without running it"},
		{"tty open-tty o T", "a task has no terminal: burst runs it on whatever machine has room (-T is parallel's retired --tty)"},
		{"number-of-cpus number-of-cores number-of-threads number-of-sockets", "burst machine list shows each machine's CPUs"},
		{"show-limits", "burst's limits are in docs/guarantees.md"},
		{"total-jobs", "leave it out: burst counts the inputs itself ({##} is their number)"},
		{"citation bibtex", "leave it out: burst prints no citation notice"},
		{"minversion", "burst version says which burst this is; burst map takes parallel's syntax whatever its version"},
		{"extensionreplace er U", "write {.} in the command where its string stands (parallel --extensionreplace ,, echo ,, ::: x is burst map -- echo {.} ::: x)"},
		{"basenamereplace bnr", "write {/} in the command where its string stands (parallel --basenamereplace ,, echo ,, ::: x is burst map -- echo {/} ::: x)"},
		{"dirnamereplace dnr", "write {//} in the command where its string stands (parallel --dirnamereplace ,, echo ,, ::: x is burst map -- echo {//} ::: x)"},
		{"basenameextensionreplace bner", "write {/.} in the command where its string stands (parallel --basenameextensionreplace ,, echo ,, ::: x is burst map -- echo {/.} ::: x)"},
		{"seqreplace", "write {#} in the command where its string stands (parallel --seqreplace ,, echo ,, ::: x is burst map -- echo {#} ::: x)"},
		{"slotreplace", "write {%} in the command where its string stands (parallel --slotreplace ,, echo ,, ::: x is burst map -- echo {%} ::: x)"},
		{"silent", "--quiet hides burst's progress line; -v prints each task's command"},
		{"shellquote", "--dry-run prints each task's command quoted as parallel quotes it"},
		{"record-env session", "leave it out: every task starts with the environment burst map was started in"},
		{"skip-first-line", "the first line of a :::: FILE is an input: skip it with tail -n +2 FILE | burst map ... :::: -, or name the columns with --header :"},
		{"version V", "burst version prints burst's"},
		{"latest-line", "burst prints each task's output whole when it ends; burst logs JOB --task N -f follows one as it runs"},
		{"color", "burst prints each task's output as it wrote it: --tag or --tagstring STR begins each line with the task's inputs"},
		{"no-keep-order", "leave out -k: each task's output is printed when it ends"},
		{"template", "write the file in the command (--shell: sed 's/X/{}/' tmpl > out.{#})"},
		{"ctrl-c", "leave it out: burst map cancels its tasks on the first Ctrl-C"},
		{"use-sockets-instead-of-threads use-cores-instead-of-threads", "-j 50%, +1 and -1 count this machine's CPU threads: give -j N for another count"},
		{"max-line-length-allowed", "-X and -m fill a task's command line to about 64 KB, as parallel does"},
		{"process-slot-var", "$PARALLEL_JOBSLOT (or {%}) is each task's job slot"},
		{"shell-completion", "burst completion SHELL prints burst's"},
		{"shebang Y", "run burst map -- CMD {} :::: FILE from the script (-Y is parallel's retired --shebang)"},
		// Not in parallel's options_hash: it reads --shebang-wrap first, as a
		// script's #!/usr/bin/parallel --shebang-wrap PROGRAM line.
		{"shebang-wrap shebangwrap", "run the script's program over the arguments: burst map -- PROGRAM script {} ::: ARGS (for #!/usr/bin/parallel --shebang-wrap /usr/bin/python3 in script.py: burst map -- /usr/bin/python3 script.py {} ::: a b c)"},
		{"parens", "burst does not run {= ... =}: compute the value in the command with --shell"},
		{"debug D", "burst show JOB and burst logs JOB say what each task did"},
		{"profile", "give the options on the command line (a shell alias or script keeps them)"},
		{"embed", "install burst where the script runs, or call burst map from it"},
		{"filter", "leave out the inputs first (grep, awk) and give the rest: burst map -- CMD {} :::: -"},
		{"H", "parallel retired -H (its error says so too): give --halt (--halt now,fail=1)"},
		{"g", "parallel retired -g (its error says so too): each task's output is printed whole when it ends, as parallel's --group does; leave it out"},
		{"tollef", "parallel retired --tollef (it refuses it too, unless --gnu): leave it out"},
		{"linkinputsource xapplyinputsource", "a group after :::+ (a file after ::::+) is paired with the one before it; --link pairs every group"},
		{"bug", "burst version says which burst this is, for a report of a bug"},
	} {
		for _, n := range strings.Fields(o.names) {
			m[n] = o.fix
		}
	}
	return m
}

// parallelSpellings are GNU parallel's other spellings of its options
// (20221122), by the name burst map takes the option under, or the name
// parallelOnly refuses it by. burst map reads them so (mapFlagNames).
func parallelSpellings() map[string]string {
	return map[string]string{
		"joblog":                         "jl",
		"results":                        "result",
		"resume-failed":                  "resumefailed",
		"keep-order":                     "keeporder",
		"line-buffer":                    "line-buffered linebuffered",
		"dry-run":                        "dr",
		"tagstring":                      "tag-string",
		"max-procs":                      "maxprocs",
		"colsep":                         "col-sep",
		"arg-file":                       "argfile",
		"no-run-if-empty":                "norunifempty",
		"max-args":                       "maxargs",
		"max-replace-args":               "maxreplaceargs",
		"will-cite":                      "willcite nonotice",
		"tmpdir":                         "tempdir",
		"use-cpus-instead-of-cores":      "usecpusinsteadofcores",
		"retry-failed":                   "retryfailed",
		"skip-first-line":                "skipfirstline",
		"number-of-cpus":                 "numberofcpus",
		"number-of-cores":                "numberofcores",
		"number-of-threads":              "numberofthreads",
		"number-of-sockets":              "numberofsockets",
		"show-limits":                    "showlimits",
		"shellquote":                     "shell-quote",
		"filter-hosts":                   "filterhosts filter-host",
		"transferfile":                   "transfer-file transfer-files transferfiles",
		"workdir":                        "work-dir",
		"sshdelay":                       "ssh-delay",
		"arg-sep":                        "argsep",
		"arg-file-sep":                   "argfilesep",
		"record-env":                     "recordenv",
		"max-chars":                      "maxchars",
		"max-lines":                      "maxlines",
		"pipe":                           "spreadstdin",
		"round-robin":                    "roundrobin round",
		"block-size":                     "blocksize block-timeout blocktimeout bt",
		"group-by":                       "groupby",
		"shard":                          "bin",
		"tmuxpane":                       "tmux-pane",
		"total-jobs":                     "total totaljobs",
		"ctag":                           "ctag-string ctagstring",
		"sqlmaster":                      "sql sql-master",
		"sqlworker":                      "sql-worker",
		"sqlandworker":                   "sql-and-worker",
		"semaphore":                      "semaphore-name semaphorename id semaphore-timeout semaphoretimeout st wait",
		"files":                          "output-as-files outputasfiles",
		"shebang":                        "hashbang",
		"latest-line":                    "latestline ll",
		"color":                          "colour color-failed colour-failed colorfailed colourfailed color-fail colour-fail colorfail colourfail cf",
		"recend":                         "recstart regexp regex remove-rec-sep removerecsep rrs",
		"hostgroup":                      "hgrp hostgrp hostgroups",
		"template":                       "tmpl",
		"ctrl-c":                         "ctrlc no-ctrl-c no-ctrlc noctrlc",
		"compress":                       "use-compress-program usecompressprogram compressprogram compress-program use-decompress-program usedecompressprogram decompressprogram decompress-program",
		"transfer":                       "rsync-opts rsyncopts",
		"use-sockets-instead-of-threads": "usesocketsinsteadofthreads",
		"use-cores-instead-of-threads":   "usecoresinsteadofthreads",
		"max-line-length-allowed":        "maxlinelengthallowed",
		"process-slot-var":               "processslotvar",
		"shell-completion":               "shellcompletion",
		"no-keep-order":                  "nok no-k nokeeporder",
	}
}

// parallelAliases is parallelSpellings by spelling, made at its first use
// (a map made at every start costs every command: TestOwnInitIsSmall).
func parallelAliases() map[string]string {
	aliases.once.Do(func() {
		aliases.m = map[string]string{}
		for name, spellings := range parallelSpellings() {
			for _, s := range strings.Fields(spellings) {
				aliases.m[s] = name
			}
		}
	})
	return aliases.m
}

var aliases struct {
	once sync.Once
	m    map[string]string
}

// mapFlagNames reads GNU parallel's other spellings of an option
// (--line-buffered, --jl, --col-sep ...) as the name burst map takes it
// under; any other name is as given. A long name is read whatever its
// case, as parallel reads its long options (--Keep-Order, --TAG); a
// one-letter one is not (-k and -K differ there too). In a command line
// (f parsed), a name that is none of burst map's is read as parallel's
// Getopt::Long reads it: one of parallel's names (--k is -k), or the
// start of the names of one option only (--dry is --dry-run, --keep-o
// --keep-order); the start of several options' names is left as it is,
// and mapFlagError says which (parallelHits).
func mapFlagNames(f *pflag.FlagSet, name string) pflag.NormalizedName {
	if len(name) > 1 {
		name = strings.ToLower(name)
	}
	if n, ok := parallelAliases()[name]; ok {
		return pflag.NormalizedName(n)
	}
	if f != nil && f.Parsed() && !ownFlag(f, name) {
		if hits, options := parallelHits(name); options == 1 {
			return pflag.NormalizedName(parallelAsMaps(f, hits))
		}
	}
	return pflag.NormalizedName(name)
}

// ownFlag says whether name is the name of one of f's flags (looked up
// without f's normalising, which would ask mapFlagNames again).
func ownFlag(f *pflag.FlagSet, name string) bool {
	own := false
	f.VisitAll(func(fl *pflag.Flag) { own = own || fl.Name == name })
	return own
}

// parallelOptionNames are GNU parallel 20221122's options (its
// options_hash, without its internal _names), each a word of its names
// joined by |.
const parallelOptionNames = `B E H I L T U W X Y arg-file-sep|argfilesep arg-file|argfile|a arg-sep|argsep bar basefile|bf
basenameextensionreplace|bner basenamereplace|bnr bg bin block-size|blocksize|block
block-timeout|blocktimeout|bt bug cat cleanup col-sep|colsep|C
color-failed|colour-failed|colorfailed|colourfailed|color-fail|colour-fail|colorfail|colourfail|cf
color|colour compress controlmaster|M csv ctag ctag-string|ctagstring ctrl-c|ctrlc debug|D delay
delimiter|d dirnamereplace|dnr dry-run|dryrun|dr embed env eof|e eta exit|x extensionreplace|er fg
fifo filter filter-hosts|filterhosts|filter-host g gnu group group-by|groupby
halt-on-error|haltonerror|halt header help|h hgrp|hostgrp|hostgroup|hostgroups interactive|p
joblog|jl jobs|j keep-order|keeporder|k latest-line|latestline|ll limit
line-buffer|line-buffered|linebuffer|linebuffered|lb linkinputsource|xapplyinputsource link|xapply
load m max-args|maxargs|n max-chars|maxchars|s max-line-length-allowed|maxlinelengthallowed
max-lines|maxlines|l max-procs|maxprocs|P max-replace-args|maxreplaceargs|N memfree memsuspend
min-version|minversion nice no-ctrl-c|no-ctrlc|noctrlc no-keep-order|nokeeporder|nok|no-k
no-run-if-empty|norunifempty|r nonall noswap null|0 number-of-cores|numberofcores
number-of-cpus|numberofcpus number-of-sockets|numberofsockets number-of-threads|numberofthreads
onall open-tty|o output-as-files|outputasfiles|files parens pipe-part|pipepart pipe|spreadstdin
plain plus process-slot-var|processslotvar profile|J progress quote|q recend recordenv|record-env
recstart regexp|regex remove-rec-sep|removerecsep|rrs replace|i results|result|res resume
resume-failed|resumefailed retries retry-failed|retryfailed return round-robin|roundrobin|round rpl
rsync-opts|rsyncopts semaphore semaphore-name|semaphorename|id semaphore-timeout|semaphoretimeout|st
seqreplace session shard shebang|hashbang shell-completion|shellcompletion
shell-quote|shellquote|shell_quote show-limits|showlimits shuf silent skip-first-line|skipfirstline
slotreplace sql sql-and-worker|sqlandworker sql-master|sqlmaster sql-worker|sqlworker ssh
ssh-delay|sshdelay sshloginfile|slf sshlogin|S tag tag-string|tagstring tee template|tmpl
term-seq|termseq timeout tmpdir|tempdir tmux tmux-pane|tmuxpane tollef total-jobs|totaljobs|total
transfer transfer-file|transferfile|transfer-files|transferfiles|tf trc trim tty ungroup|u
use-compress-program|compress-program|usecompressprogram|compressprogram
use-cores-instead-of-threads|usecoresinsteadofthreads
use-cpus-instead-of-cores|usecpusinsteadofcores
use-decompress-program|decompress-program|usedecompressprogram|decompressprogram
use-sockets-instead-of-threads|usesocketsinsteadofthreads v verbose|t version|V wait
will-cite|willcite|nn|nonotice|no-notice work-dir|workdir|wd xargs`

// parallelHits are the names of GNU parallel's options that a long option
// given as --name stands for, as its Getopt::Long (auto_abbrev) reads it:
// name itself where it is one, else every name that begins with it; and
// how many options they name. Two or more is parallel's "Option NAME is
// ambiguous (HITS)", exit 255.
func parallelHits(name string) (hits []string, options int) {
	for _, option := range strings.Fields(parallelOptionNames) {
		found := false
		for n := range strings.SplitSeq(option, "|") {
			if n == name {
				return []string{n}, 1
			}
			if strings.HasPrefix(n, name) {
				hits, found = append(hits, n), true
			}
		}
		if found {
			options++
		}
	}
	slices.Sort(hits)
	return hits, options
}

// parallelAsMaps is the name burst map has for the GNU parallel option
// one of whose names is hits[0]: the one of its names that burst map
// takes, reads as another (an alias) or refuses; a letter that is one of
// its flags' short names (--m is -m); else hits[0] as it is.
func parallelAsMaps(f *pflag.FlagSet, hits []string) string {
	var option []string
	for o := range strings.FieldsSeq(parallelOptionNames) {
		if names := strings.Split(o, "|"); slices.Contains(names, hits[0]) {
			option = names
			break
		}
	}
	for _, n := range option {
		if ownFlag(f, n) {
			return n
		}
		if a, ok := parallelAliases()[n]; ok {
			return a
		}
		if _, ok := parallelOnly()[n]; ok {
			return n
		}
	}
	for _, n := range option {
		if len(n) != 1 {
			continue
		}
		if fl := f.ShorthandLookup(n); fl != nil {
			return fl.Name
		}
	}
	return hits[0]
}

// nameJ is burst map's -J flag: --name, unless its value names a GNU
// parallel profile (mapProfile). Hidden: --name's help says -J.
const nameJ = "name-or-profile"

// mapProfile refuses burst map's -J NAME where GNU parallel's -J NAME
// (--profile) would read options from a file: run without them, the map
// would quietly differ from what parallel runs. parallel reads NAME itself
// when it starts with / or ./, else NAME in the first of its config
// directories that holds it; where there is no such file it runs as with
// no -J, and burst names the job (-J's meaning here, as run's and sbatch's).
func mapProfile(name string) error {
	p := parallelProfile(name, os.Getenv)
	if p == "" {
		return nil
	}
	opts := ""
	if data, err := os.ReadFile(p); err == nil {
		if opts = strings.Join(strings.Fields(string(data)), " "); len(opts) > 200 {
			opts = opts[:200] + "..."
		}
		if opts != "" {
			opts = " (" + opts + ")"
		}
	}
	return usage("-J %s: %s is a GNU parallel profile (parallel's -J is --profile), whose options%s burst map does not read: give them on the command line; "+
		"burst's -J names the job: to name it %s, write --name %s", name, p, opts, name, shellquote.Quote(name))
}

// parallelProfile is the file GNU parallel 20221122 reads for --profile
// NAME (-J NAME): NAME when it starts with / or ./, else NAME in the first
// of $PARALLEL_HOME, $XDG_CONFIG_HOME/parallel, each of
// $XDG_CONFIG_DIRS/parallel and ~/.parallel that holds it; "" where none
// does. A directory of that name is none (parallel reads nothing from it).
func parallelProfile(name string, getenv func(string) string) string {
	file := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.Mode().IsRegular()
	}
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, "./") {
		if file(name) {
			return name
		}
		return ""
	}
	if name == "" {
		return ""
	}
	for _, d := range parallelConfigDirs(getenv) {
		if file(filepath.Join(d, name)) {
			return filepath.Join(d, name)
		}
	}
	return ""
}

// mapFlagError is the map's flag error: a GNU parallel option it does
// not take is named as parallel's, with what to do instead; an unknown
// one with the closest flags of burst map; any other is said as flags'
// errors are. Either exits 255, parallel's "other error".
func mapFlagError(c *cobra.Command, err error) error {
	var ne *pflag.NotExistError
	if errors.As(err, &ne) {
		name := ne.GetSpecifiedName()
		dash, long := "-", ne.GetSpecifiedShortnames() == ""
		if long {
			dash = "--"
		}
		// A start of parallel's names may be a mistyped flag of burst's
		// (--retry is parallel's --retry-failed, and burst's --retries).
		meant := ""
		if s := didYouMean(c, err); s != "" {
			meant = "; or " + s
		}
		if fix, ok := parallelOnly()[string(mapFlagNames(c.Flags(), name))]; ok {
			if hits, _ := parallelHits(strings.ToLower(name)); long && len(hits) > 0 && hits[0] != strings.ToLower(name) {
				name += " (--" + hits[0] + ")" // --pipe-p, --memf: an option's start
				fix += meant
			}
			return &ExitError{Code: 255, Msg: fmt.Sprintf("%s%s is GNU parallel's: burst map does not take it; %s", dash, name, fix)}
		}
		if hits, n := parallelHits(strings.ToLower(name)); long && n > 1 {
			// --ta: parallel's own words (lower case, as it says them), and exit.
			return &ExitError{Code: 255, Msg: fmt.Sprintf("Option %s is ambiguous (%s): GNU parallel reads no shorter start of its options' names%s", strings.ToLower(name), strings.Join(hits, ", "), meant)}
		}
	}
	var iv *pflag.InvalidValueError
	if errors.As(err, &iv) && iv.GetFlag() != nil && strings.HasPrefix(iv.GetValue(), "=") && iv.GetFlag().Shorthand != "" && strings.Contains(parallelValued, iv.GetFlag().Shorthand) {
		// -n=2 (parallelValues): parallel reads the value with its =.
		f, v := iv.GetFlag(), cmp.Or(strings.TrimPrefix(iv.GetValue(), "="), "N")
		return &ExitError{Code: 255, Msg: fmt.Sprintf("-%s %s: a value glued to -%s with = keeps its =, as GNU parallel reads it: write -%s %s or --%s=%s", f.Shorthand, iv.GetValue(), f.Shorthand, f.Shorthand, v, f.Name, v)}
	}
	if errors.As(err, &iv) && iv.GetFlag() != nil && iv.GetFlag().Name == "max-lines" {
		// parallel's -l takes no value where none looks like a number
		// (parallel -l echo: -l 1), which burst map's does not read.
		return &ExitError{Code: 255, Msg: fmt.Sprintf("-l %s: -l takes a number here: give -l 1 (one line a task, as parallel's -l alone) or -l N", iv.GetValue())}
	}
	if s := didYouMean(c, err); s != "" {
		return &ExitError{Code: 255, Msg: fmt.Sprintf("%s (%s)", err, s)}
	}
	return &ExitError{Code: 255, Msg: fmt.Sprintf("%s; see `burst help map`", flagValueError(err))}
}

// delimiterLike says whether s, given where burst map's -d stood, reads as
// GNU parallel's -d DELIM: a few characters, none a letter or digit (",",
// ":", "|"), or an escape ("\\n", "\\t", "\\0"), or escapes alone of any
// length ('\\303\\251', an é); never -- or a separator of inputs (:::).
func delimiterLike(s string) bool {
	if onlyEscapes(s) {
		return true
	}
	if s == "" || len([]rune(s)) > 4 || s == "--" || strings.HasPrefix(s, ":::") {
		return false
	}
	// A dot or a slash is no command's name either (-d . splits addresses,
	// -d / paths); a program's path has a letter or digit in it.
	return s[0] == '\\' || !strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
}

// onlyEscapes says whether s is Delimiter's escapes alone: \\t \\n \\r,
// octal \\N to \\NNN (no regexp: one made at start costs every command,
// TestOwnInitIsSmall).
func onlyEscapes(s string) bool {
	if s == "" {
		return false
	}
	for s != "" {
		if len(s) < 2 || s[0] != '\\' {
			return false
		}
		if strings.IndexByte("tnr", s[1]) >= 0 {
			s = s[2:]
			continue
		}
		n := 0
		for n < 3 && 1+n < len(s) && s[1+n] >= '0' && s[1+n] <= '7' {
			n++
		}
		if n == 0 {
			return false
		}
		s = s[1+n:]
	}
	return true
}

// parallelValues reads the options of a map (words, after map) whose
// value GNU parallel takes only where one looks like it. -d DELIM is
// --delimiter=DELIM where DELIM reads as one (delimiterLike: -d , -d '\\t'
// -d, -kd';'); burst map's -d is --detach otherwise (-d echo, -d -- CMD).
// -l and --max-lines take a number (parallel's :f, and -l -0 is -l 1 -0),
// and without one are -l 1 (parallel -l echo ::: a b), which the flag
// parse cannot read alone. A value glued to one of parallel's short
// options with = is the value with its = (Perl's Getopt::Long: -C=, splits
// at "=,", -I=X replaces "=X", and -j=2 is refused as -j =2 is), where the
// flag parse would drop the =. The map's flags tell the options that take a
// value (whose value is no option) from those that do not; options end at
// the first word that is none, or at --.
func parallelValues(words []string) []string {
	if !slices.ContainsFunc(words, func(w string) bool {
		return len(w) > 1 && w[0] == '-' && (strings.ContainsAny(w, "dlL") || w[1] != '-' && strings.Contains(w, "="))
	}) {
		return words // no -d, -l or -X=V: no flags to look up (most maps)
	}
	f := newMapCmd().Flags()
	out := make([]string, 0, len(words))
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" || len(w) < 2 || w[0] != '-' {
			return append(out, words[i:]...)
		}
		if strings.HasPrefix(w, "--") {
			out = append(out, w)
			name, _, valued := strings.Cut(w[2:], "=")
			fl := f.Lookup(name)
			if hits, options := parallelHits(strings.ToLower(name)); fl == nil && options == 1 {
				fl = f.Lookup(parallelAsMaps(f, hits)) // --colse X, as the parse reads it (mapFlagNames)
			}
			if fl != nil && fl.Name == "max-lines" && !valued && (i+1 == len(words) || !lineCount(words[i+1])) {
				out = append(out, "1") // --max-lines alone: 1
				continue
			}
			if fl != nil && !valued && fl.NoOptDefVal == "" && i+1 < len(words) {
				i++
				out = append(out, words[i]) // its value
			}
			continue
		}
		skip := 0 // words after w that are its: a value, or -d's DELIM
		for j := 1; j < len(w); j++ {
			fl := f.ShorthandLookup(w[j : j+1])
			if fl == nil {
				break // refused as it is, when parsed
			}
			if fl.Name == "detach" {
				delim := w[j+1:] // -d, -d'\t'
				if delim == "" && i+1 < len(words) {
					delim, skip = words[i+1], 1 // -d ,
				}
				if !delimiterLike(delim) {
					skip = 0
					break
				}
				if j > 1 {
					out = append(out, w[:j]) // -kd , is -k, then -d ,
				}
				w = "--delimiter=" + delim
				break
			}
			if fl.Name == "max-lines" && j+1 == len(w) && (i+1 == len(words) || !lineCount(words[i+1])) {
				out = append(out, w, "1") // -l alone (-kl): -l 1
				w = ""
				break
			}
			if fl.NoOptDefVal == "" { // takes a value: the rest of w, or the next word
				if j+1 < len(w) && w[j+1] == '=' && strings.Contains(parallelValued, w[j:j+1]) {
					out = append(out, w[:j+1]) // -C=, is -C "=,"
					w = w[j+1:]
					break
				}
				if j+1 == len(w) {
					skip = 1
					out = append(out, w)
					w = ""
				}
				break
			}
		}
		if w != "" {
			out = append(out, w)
		}
		if skip == 1 && i+1 < len(words) {
			if !strings.HasPrefix(w, "--delimiter=") {
				out = append(out, words[i+1])
			}
			i++
		}
	}
	return out
}

// parallelValued are the short options of burst map that take a value,
// and are GNU parallel's too, which reads a value glued to one with = as
// the value with its = (parallelValues).
const parallelValued = "jPCanNLlIi"

// lineCount says whether w is a value GNU parallel's -l takes (Perl's
// Getopt::Long optional number): digits, signed or not. -0 is none: parallel
// reads -l -0 as -l 1 and -0.
func lineCount(w string) bool {
	d := strings.TrimLeft(w, "+-")
	return len(w)-len(d) <= 1 && d != "" && strings.Trim(d, "0123456789") == "" && w != "-0"
}

// redirects says whether a map's command, given as several words, is
// meant for a shell, as GNU parallel runs every command in one: a word is
// a redirection (echo {} \> {}.txt, or glued to its target: '>{.}.txt',
// '2>/dev/null', 2>&1), && or ||, or a ; that ends a command before
// another (endsCommand: echo {}\; sleep 1). Not a lone |, which cut -d, awk
// -F and sort -t take as a delimiter, nor & and a ; that find -exec takes; nor
// anything given to test, [ or expr, whose < and > compare; nor a lone
// operator before a word that starts with - (cut -d '>' -f2: a value); nor
// a glued one whose target is not a file name made of a replacement
// string ('>chr1' and '>{}' are grep's patterns), /dev/null or a
// descriptor; a word quoted whole ('print "@ARGV\n"', "$HOME": quotedWhole)
// is meant for a shell too. A lone > (or >>) decides by its target: one made of a
// replacement string ({}.sorted, out/{.}.txt) or /dev/null is written to;
// the input as it is ({} or {n}: grep -c '>' {}) or a name alone (grep '>'
// genome.fa) is refused, naming both ways: run in a shell, it would write
// over that file, where parallel -q's reader meant a pattern. With plus
// (--plus), a target of its bash-like strings ({%.gz}) is one written to.
func redirects(words []string, plus bool) (bool, error) {
	if len(words) == 0 {
		return false, nil
	}
	from := 1
	switch burst.BaseName(words[0]) {
	case "test", "[", "[[", "expr":
		// What they compare (< and >, as test {} \> b) is theirs, as
		// parallel -q gives it, unless the comparison ends (at its ] or
		// ]], or an && or ||) before more: then a shell runs it, as
		// parallel does (man parallel: [ -f {1}:{2} ] "||" echo {1}:{2}
		// does not exist), where a lone > in it is a redirection again,
		// looked at as any other; in bash's [[ ]], a comparison still.
		end := comparisonEnd(words)
		if end < 0 {
			return false, nil
		}
		if words[0] == "[[" {
			from = end
		}
	}
	shell := false
	for i := from; i < len(words); i++ {
		w := words[i]
		if quotedWhole(w) || expands(w) || globs(w) {
			shell = true // quoted for parallel's shell to unquote, or to expand
			continue
		}
		if j := quoteCloses(words, i); j > i {
			shell, i = true, j // echo \"{} "<-- a number"\": one quoted span
			continue
		}
		switch w {
		case "||", "&&", "2>&1", ">&2", "1>&2":
			shell = true
			continue
		case ">", ">>", "<", "2>", "2>>", "&>", "&>>":
		default:
			if _, _, ok := gluedRedirect(w); ok || endsCommand(words, i) {
				shell = true
			}
			continue
		}
		target := ""
		if i+1 < len(words) {
			target = words[i+1]
		}
		if strings.HasPrefix(target, "-") && target != "-" {
			continue // an option's value: cut -d '>' -f2
		}
		if (w == ">" || w == ">>") && target != "/dev/null" && (target == "" || mapspec.IsInput(target) || !mapspec.HasReplacementWith(target, plus)) {
			over := "that file"
			if mapspec.IsInput(target) {
				over = "each task's input file " + target
			}
			return false, usage("%s %s would write over %s, as a shell runs it: to give %s to the program as an argument (grep -c '%s' {}), add --quote; "+
				"to write into the file, quote the whole command as one word ('CMD %s %s')", w, target, over, w, w, w, target)
		}
		shell = true
	}
	return shell, nil
}

// quotedWhole says whether w is quoted whole, as a word of a command line
// written for GNU parallel's shell: the perl program of parallel's tutorial
// (perl -e, then the program in single quotes inside single quotes), or
// "$VAR". parallel's shell takes the quotes away; given to the program as
// they are (parallel -q), they would turn a program into a string that
// does nothing.
func quotedWhole(w string) bool {
	return len(w) >= 2 && (w[0] == '\'' || w[0] == '"') && w[len(w)-1] == w[0]
}

// expands says whether w holds a shell's expansion, written for GNU
// parallel's shell to make: a variable (man parallel: echo
// seq:\$PARALLEL_SEQ; $myvar, ${HOME}/x, $$) in a word otherwise made of a
// path's characters and replacement strings, or a command's output or
// arithmetic quoted whole ($(basename {} .txt), $(({}*2)), `date`). Not a $
// in a program's script, which holds other characters (awk '$1>=5' or
// '$NF>3', sed 's/$/x/', perl -e 'print $x'), nor one before a digit
// (awk's $1).
func expands(w string) bool {
	switch {
	case len(w) > 3 && strings.HasPrefix(w, "$(") && strings.HasSuffix(w, ")"),
		len(w) > 2 && w[0] == '`' && w[len(w)-1] == '`':
		return true
	case !pathWord(w, ""):
		return false
	}
	for i := 0; i+1 < len(w); i++ {
		if c := w[i+1]; w[i] == '$' && (c == '_' || c == '{' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return true
		}
	}
	return false
}

// globs says whether w is a path with a * for GNU parallel's shell to
// expand beside a replacement string (sourmash sketch ... data/{}/*.fastq.gz,
// cat {}*R1.fastq.gz): the files of each input. Not a * in a word with no
// replacement string (find -name '*.txt', grep 'a*b': the program's pattern).
func globs(w string) bool {
	return strings.Contains(w, "*") && mapspec.HasReplacement(w) && pathWord(w, "*")
}

// pathWord says whether w is made only of a path's characters, replacement
// strings, $ and the characters in more: nothing a shell would take for
// syntax of its own (white space, quotes, ( ) < > | ; & and the like).
func pathWord(w, more string) bool {
	return strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.,/+-=:@%#~{}$"+more) == ""
}

// quoteCloses is the index of the word that closes a quote opened at the
// start of words[i] and left open there, as a command line for GNU
// parallel's shell quotes across words (echo \"{} "<-- a number"\": one
// argument to its shell, "1 <-- a number"); -1 where words[i] opens none
// or no later word ends with its close.
func quoteCloses(words []string, i int) int {
	w := words[i]
	if len(w) < 2 || (w[0] != '"' && w[0] != '\'') || strings.Count(w, w[:1])%2 == 0 {
		return -1
	}
	for j := i + 1; j < len(words); j++ {
		if strings.Count(words[j], w[:1])%2 == 1 {
			if strings.HasSuffix(words[j], w[:1]) {
				return j
			}
			return -1
		}
	}
	return -1
}

// comparisonEnd is the index of the first word after the comparison of a
// command of test, [, [[ or expr in words: the word after its closing ]
// (]] for [[), else its first && or || (which none of them compares); -1
// if the command is the comparison alone.
func comparisonEnd(words []string) int {
	closing := map[string]string{"[": "]", "[[": "]]"}[burst.BaseName(words[0])]
	for i := 1; i < len(words); i++ {
		switch {
		case closing != "" && words[i] == closing:
			if i+1 < len(words) {
				return i + 1
			}
			return -1
		case words[i] == "&&" || words[i] == "||":
			return i
		}
	}
	return -1
}

// endsCommand says whether words[i] holds a shell's ; that ends one command
// before another, as GNU parallel's users write it escaped (\;): glued after
// a replacement string and before a program or builtin ({}\;exit, Starting
// {}\;date), or ending the word, or alone, before a word that names one (baz\;
// eval {}, a \; echo b). Not a ; inside a word of white space or with no
// replacement string before it (perl -ne 'print;exit', sed 's/a/b/;s/c/d/':
// a program's script, as parallel -q passes it), nor one before a word that
// names no program (find -exec rm {} \; -print).
func endsCommand(words []string, i int) bool {
	w := words[i]
	at := strings.LastIndexByte(w, ';')
	if at < 0 || strings.ContainsAny(w, " \t\n") {
		return false
	}
	if head, tail := w[:at], w[at+1:]; tail != "" {
		return mapspec.HasReplacement(head) && names(tail)
	}
	return i+1 < len(words) && names(words[i+1])
}

// names says whether s names a command a shell runs: a builtin (exit, eval,
// cd) or a program found on PATH (echo, sleep, ./run.sh).
func names(s string) bool {
	if shellquote.Builtin(s) {
		return true
	}
	_, err := exec.LookPath(s)
	return s != "" && err == nil
}

// gluedRedirect splits a word that is a shell's redirection glued to its
// target ('>{.}.txt', '2>>log.{#}', '<{}', '2>/dev/null', '>&2') into the
// operator and the target; ok is false for any other word, and for one
// whose target has no replacement string ('>chr1', a pattern), save
// /dev/null and a descriptor (&2).
func gluedRedirect(w string) (op, target string, ok bool) {
	rest := strings.TrimLeft(w, "0123456789")
	if len(rest) < len(w)-1 {
		return "", "", false
	}
	if rest == w && strings.HasPrefix(rest, "&") {
		rest = rest[1:] // &>FILE
	}
	n := 0
	switch {
	case strings.HasPrefix(rest, ">>"):
		n = 2
	case strings.HasPrefix(rest, ">"), strings.HasPrefix(rest, "<"):
		n = 1
	default:
		return "", "", false
	}
	op, target = w[:len(w)-len(rest)+n], rest[n:]
	switch {
	case target == "" || strings.ContainsAny(target[:1], "<>=|&;") && !descriptor(target):
		return "", "", false
	case descriptor(target), target == "/dev/null", mapspec.HasReplacement(target) && !(strings.Contains(op, ">") && mapspec.IsInput(target)):
		return op, target, true // '<{}' reads the input; '>{}' is grep's pattern of a FASTA header
	}
	return "", "", false
}

// descriptor says whether s is &N, a redirection's file descriptor.
func descriptor(s string) bool {
	return len(s) > 1 && s[0] == '&' && strings.Trim(s[1:], "0123456789") == ""
}

// parallelTmpdir refuses a map whose --tmpdir GNU parallel 20221122 could make no file in: it makes its temporary
// files there as it starts, and where it cannot, stops before any job runs
// with Perl's error number as its exit status (2: no such directory, 20:
// not a directory, 13: no permission). burst keeps no file there; it is
// checked as parallel would find it, by making one and removing it. given
// is how the user gave dir (--tmpdir DIR).
func parallelTmpdir(dir, given string) error {
	f, err := os.CreateTemp(dir, "par*.arg")
	if err == nil {
		f.Close()
		return os.Remove(f.Name())
	}
	code := 255
	var errno syscall.Errno
	if errors.As(err, &errno) {
		code = int(errno)
	}
	return mapStatusError{&ExitError{Code: code, Msg: fmt.Sprintf("%s: %v: GNU parallel makes its temporary files there and stops where it cannot (exit %d), as burst map does: create the directory, or give one that is writable", given, errors.Unwrap(err), code)}}
}

// parallelEnvAll refuses --env _ (GNU parallel's: every variable that
// parallel --record-env did not record) where no variables were recorded:
// parallel 20221122 stops then, exit 255, with "Run 'parallel --record-env'
// in a clean environment first". Where they were, the map runs: each task
// of burst map starts with the whole environment anyway.
func parallelEnvAll(names []string, getenv func(string) string) error {
	all := slices.ContainsFunc(names, func(n string) bool { return slices.Contains(strings.Split(n, ","), "_") })
	if !all {
		return nil
	}
	dir := filepath.Join(cmp.Or(getenv("HOME"), "/tmp"), ".parallel")
	if d := getenv("PARALLEL_HOME"); d != "" {
		dir = d // parallel makes it, if it is not there, and then reads it
	} else if dirs := parallelConfigDirs(getenv); len(dirs) > 0 {
		dir = dirs[0] // the first that exists, as parallel's $Global::config_dir
	}
	f, err := os.Open(filepath.Join(dir, "ignored_vars"))
	if err == nil {
		return f.Close()
	}
	return usage("--env _ passes the variables that GNU parallel's --record-env did not record, and none were (no %s), so parallel stops: leave out --env _, as every task of burst map starts with the whole environment it was started in", filepath.Join(dir, "ignored_vars"))
}

// plusStrings reads GNU parallel's --plus strings in a map's command
// (words), --tagstring and --results as burst fills them: {slot} is
// the task's job slot, {%}; one that is no function of a task's inputs
// and numbers ({host}, {uniq} ...) is refused, named, with what to do
// instead. Its bash-like strings ({%.gz} {/a/b} ...) the map's tasks fill
// (burst.MapSpec.Plus); the rest ({..} {##} {0#} ...) burst fills with
// --plus or without.
func plusStrings(words []string, tag, results *string) error {
	all := append([]string{*tag, *results}, words...)
	for _, r := range []struct{ s, instead string }{
		{"{host}", "burst map runs no task over ssh (no -S): read the machine in the command, with --shell: $(hostname)"},
		{"{sshlogin}", "burst map runs no task over ssh (no -S): read the machine in the command, with --shell: $(hostname)"},
		{"{hgrp}", "burst map has no host groups (no -S)"},
		{"{agrp}", "burst map has no host groups (no -S)"},
		{"{uniq}", "burst map runs every combination of its inputs: leave out those with an input twice before the map (or skip them in the command)"},
		{"{choose_k}", "burst map runs every combination of its inputs: leave out those not in increasing order before the map (or skip them in the command)"},
	} {
		if slices.ContainsFunc(all, func(w string) bool { return strings.Contains(w, r.s) }) {
			return usage("--plus's %s: %s", r.s, r.instead)
		}
	}
	// {slot}: parallel writes the shell's ${PARALLEL_JOBSLOT}, the task's
	// job slot, a replacement string (no input is appended); as it is in
	// --tagstring and --results, which no shell reads (nor with -q, where
	// burst fills the slot).
	for i := range words {
		words[i] = strings.ReplaceAll(words[i], "{slot}", "{%}")
	}
	*tag = strings.ReplaceAll(*tag, "{slot}", "${PARALLEL_JOBSLOT}")
	*results = strings.ReplaceAll(*results, "{slot}", "${PARALLEL_JOBSLOT}")
	return nil
}
