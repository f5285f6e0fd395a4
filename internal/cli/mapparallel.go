package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"
)

// parallelOnly are GNU parallel's options burst map does not take, by
// name as given (without dashes), with what to do instead. A command line
// written for parallel that uses one is refused with this, not with
// "unknown flag".
var parallelOnly = map[string]string{
	"pipe":         "burst map runs a command per input, not per block of standard input: split the stream into files first (split -l 1000 big.txt part.) and map over them: burst map -- CMD {} ::: part.*",
	"pipe-part":    "see --pipe: split the file first (split -l 1000 big.txt part.) and map over the pieces",
	"pipepart":     "see --pipe: split the file first (split -l 1000 big.txt part.) and map over the pieces",
	"block":        "see --pipe: split the input into files first and map over them",
	"X":            "each task gets one input, or n with -N n (burst map -N 100 -- CMD {} ::: ...)",
	"m":            "each task gets one input, or n with -N n (burst map -N 100 -- CMD {} ::: ...)",
	"xargs":        "each task gets one input, or n with -N n (burst map -N 100 -- CMD {} ::: ...)",
	"delay":        "burst starts tasks as machines free up; -j N caps how many run at once",
	"load":         "burst places tasks by the CPUs and memory each asks for: give --cpus N and --mem SIZE",
	"memfree":      "burst places tasks by the memory each asks for: give --mem SIZE",
	"noswap":       "burst places tasks by the memory each asks for: give --mem SIZE",
	"nice":         "burst does not renice tasks; give them --cpus so that they do not crowd each other",
	"shuf":         "tasks start in input order: shuffle the inputs first (shuf list.txt | burst map -- CMD)",
	"S":            "burst runs tasks on its clusters' machines: --on CLUSTER (burst cluster list)",
	"sshlogin":     "burst runs tasks on its clusters' machines: --on CLUSTER (burst cluster list)",
	"slf":          "burst runs tasks on its clusters' machines: --on CLUSTER (burst cluster list)",
	"transferfile": "files travel to the machines with --in PATH and back with --out GLOB",
	"transfer":     "files travel to the machines with --in PATH and back with --out GLOB",
	"return":       "files come back from the machines with --out GLOB (burst results JOB --fetch)",
	"trc":          "files travel with --in PATH and come back with --out GLOB",
	"basefile":     "files every task needs travel with --in PATH",
	"onall":        "burst runs a task once, on the machine that has room for it",
	"nonall":       "burst runs a task once, on the machine that has room for it",
	"files":        "--results DIR saves each task's output in files",
	"retry-failed": "burst map --joblog FILE --resume-failed -- CMD ... runs again what failed (with the same command and inputs)",
	"semaphore":    "burst map is no semaphore: submit each command with burst run -d, and -j caps a map's tasks",
	"fg":           "burst map waits for its tasks unless -d is given",
	"bg":           "burst map -d submits and returns at once",
	"plus":         "burst takes {} {.} {/} {//} {/.} {#} and {n}: compute other forms in the command (--shell)",
	"E":            "give the inputs that should be read, or cut the input file first (head, sed '/^END$/q')",
	"eof":          "give the inputs that should be read, or cut the input file first (head, sed '/^END$/q')",
	"tmpdir":       "burst keeps tasks' output itself: --results DIR saves it in files",
	"termseq":      "a task past --time gets SIGTERM, then SIGKILL",
	"term-seq":     "a task past --time gets SIGTERM, then SIGKILL",
	"limit":        "-j N caps how many tasks run at once",
}

// mapFlagError is the map's flag error: a GNU parallel option it does
// not take is named as parallel's, with what to do instead; any other is
// said as flags' errors are. Either exits 255, parallel's "other error".
func mapFlagError(err error) error {
	var ne *pflag.NotExistError
	if errors.As(err, &ne) {
		name := ne.GetSpecifiedName()
		if fix, ok := parallelOnly[name]; ok {
			dash := "--"
			if len(name) == 1 {
				dash = "-"
			}
			return &ExitError{Code: 255, Msg: fmt.Sprintf("%s%s is GNU parallel's: burst map does not take it; %s", dash, name, fix)}
		}
	}
	return &ExitError{Code: 255, Msg: fmt.Sprintf("%s; see `burst help map`", flagValueError(err))}
}
