package cli

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadFlagValuesNameTheFix: a flag value that does not parse gets one
// line naming the flag, the value and what to write, without Go's parser
// error, and the usage exit status. No server is needed: flags are
// parsed before anything connects.
func TestBadFlagValuesNameTheFix(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "-d", "--cpus", "", "--", "true"}, 2, `burst: --cpus "": give a whole number, e.g. --cpus 4 (see ` + "`burst run --help`)"},
		{[]string{"run", "-d", "--cpus", "ⅷ", "--", "true"}, 2, `burst: --cpus "ⅷ": give a whole number, e.g. --cpus 4`},
		{[]string{"run", "-d", "--cpus", "99999999999999999999", "--", "true"}, 2, `burst: --cpus "99999999999999999999": the number is out of range`},
		{[]string{"map", "-j", "x", "--", "echo", "{}", ":::", "a"}, 255, `burst: -j x: not a count; give a count (4; 0 for as many as possible), or +N, -N or N% of this machine`},
		// A value glued with = keeps its =, as GNU parallel 20221122 reads it (it refuses -j=2 and -l=2).
		{[]string{"map", "-kj=2", "--", "echo", ":::", "a"}, 255, `burst: -j =2: not a count (-j=4 is -j '=4', as GNU parallel reads it and refuses it: write -j 4 or --jobs=4)`},
		{[]string{"map", "-n=2", "--", "echo", ":::", "a"}, 255, `burst: -n =2: a value glued to -n with = keeps its =, as GNU parallel reads it: write -n 2 or --max-args=2`},
		{[]string{"map", "-l=3", "--", "echo", ":::", "a"}, 255, `burst: -l =3: a value glued to -l with = keeps its =, as GNU parallel reads it: write -l 3 or --max-lines=3`},
		{[]string{"map", "--compress", "--", "echo", ":::", "a"}, 255, "burst: --compress is GNU parallel's: burst map does not take it; leave it out: "},
		// parallel -E END stops before the line END: sed's /^END$/,$d leaves out END and what follows (its q would pass END on)
		{[]string{"map", "-E", "END", "--", "echo", ":::", "a"}, 255, "burst: -E is GNU parallel's: burst map does not take it; give only the inputs before the end string: cut them there first (sed '/^END$/,$d' FILE | burst map -- CMD {} :::: -)"},
		{[]string{"map", "--memfree", "1G", "--", "echo", ":::", "a"}, 255, "burst: --memfree is GNU parallel's: burst map does not take it; burst places tasks by the memory each asks for"},
		{[]string{"map", "--delay", "2auto", "--", "echo", ":::", "a"}, 255, "burst: --delay 2auto: burst does not tune the delay itself: give a fixed time, such as --delay 2"},
		{[]string{"map", "--delay", "-1", "--", "echo", ":::", "a"}, 255, `burst: --delay "-1": give the time between two task starts in seconds (0.5)`},
		{[]string{"map", "--delay", "2d", "--", "echo", ":::", "a"}, 255, `burst: --delay "2d": give the time between two task starts`},
		{[]string{"map", "-S", "host1", "--", "echo", ":::", "a"}, 255, "burst: -S is GNU parallel's: burst map does not take it; burst runs tasks on its clusters' machines: --on CLUSTER"},
		{[]string{"run", "-d", "--time", "25:x", "--", "true"}, 2, `burst: --time: time limit "25:x": write e.g. 10m, 2h`},
		{[]string{"run", "-d", "-o", "json", "--", "true"}, 2, "burst: -o json: burst run's -o is sbatch's --output (a batch script's output file), not a format; for the job as JSON, submit it with -d (which prints its id) and run `burst show -o json ID`"},
		// GNU parallel's -d DELIM (parallelValues), as parallel reads it, and its paragraph mode.
		{[]string{"map", "--delimiter", "", "--", "echo", ":::", "a"}, 255, "burst: --delimiter '': an empty delimiter is not taken (GNU parallel reads it as Perl's paragraph mode)"},
		{[]string{"map", "-N", "-1", "--", "echo", "foo", ":::", "a"}, 255, "burst: -N -1: give each task 1 or more inputs, or 0 for none (parallel's -N0: seq 10 | burst map -N0 -- CMD runs CMD 10 times)"},
		{[]string{"map", "-N0", "--", "echo", "{%}", ":::", "a"}, 255, "burst: -N 0: {%} is known only when a task starts: read $PARALLEL_JOBSLOT in the command instead"},
		{[]string{"map", "-N0", "--", "echo", ":::", "a", ":::", "b"}, 255, "burst: -N 0 runs the command once per input of one group"},
		{[]string{"map", "--extensionreplace", "X", "--", "echo", ":::", "a"}, 255, "burst: --extensionreplace is GNU parallel's: burst map does not take it; write {.} in the command where its string stands"},
		{[]string{"map", "--slotreplace", "X", "--", "echo", ":::", "a"}, 255, "burst: --slotreplace is GNU parallel's: burst map does not take it; write {%} in the command where its string stands"},
		{[]string{"map", "--minversion", "20130722"}, 255, "burst: --minversion is GNU parallel's: burst map does not take it; burst version says which burst this is"},
		// A missing argument whose name has its own hint: one parenthesis, not
		// "(see `burst machine list`) (see `burst machine stop --help`)".
		{[]string{"machine", "stop"}, 2, "burst: burst machine stop: missing machine id (see `burst machine list`, and `burst machine stop --help`)\n"},
		{[]string{"map", "--", "echo", "{= s/a/b/ =}", ":::", "a"}, 255, "burst: \"{= s/a/b/ =}\": {= ... =} is GNU parallel's Perl expression, which burst map does not run"},
	} {
		var out, errb bytes.Buffer
		code := Main(c.args, &out, &errb)
		msg := errb.String()
		if code != c.code || !strings.HasPrefix(msg, c.want) || strings.Count(msg, "\n") != 1 || strings.Contains(msg, "strconv") {
			t.Errorf("burst %q: exit %d, %q; want exit %d and one line starting %q", c.args, code, msg, c.code, c.want)
		}
	}
}

// TestBinaryAsScriptNamesRunDashDash: a program given where a batch
// script goes is named as one, with the command that runs it.
func TestBinaryAsScriptNamesRunDashDash(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog")
	if err := os.WriteFile(prog, []byte("\x7fELF\x02\x01\x01\x00\x00\x00rest"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := Main([]string{"run", "-d", prog}, &out, &errb)
	want := "burst: " + prog + " is a program or binary data, not a batch script: to run a program put it after --, e.g. `burst run --detach -- " + prog + "`\n"
	if code != 2 || errb.String() != want {
		t.Errorf("exit %d, %q; want 2, %q", code, errb.String(), want)
	}
}

// TestRunWithoutDashDashRepeatsTheCommand: a command typed without --
// (taken for a batch script that is not there) is answered with the
// whole command line that runs it, flags and arguments kept and quoted
// as a shell reads them back: copied as printed, it runs what was meant.
func TestRunWithoutDashDashRepeatsTheCommand(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	t.Chdir(t.TempDir())
	for _, c := range []struct {
		args       []string
		prog, want string
	}{
		{[]string{"run", "python3", "-c", "print(1)"}, "python3", "burst run -- python3 -c 'print(1)'"},
		{[]string{"run", "--cpus", "1", "echo", "hi"}, "echo", "burst run --cpus 1 -- echo hi"},
		{[]string{"run", "-J", "my job", "--in", "a.txt", "--in", "b c", "--get-user-env", "sleep", "1"}, "sleep",
			"burst run --get-user-env --in a.txt --in 'b c' --name 'my job' -- sleep 1"},
		{[]string{"run", "--get-user-env=10L", "printf", "it's"}, "printf", `burst run --get-user-env=10L -- printf 'it'"'"'s'`},
	} {
		var out, errb bytes.Buffer
		code := Main(c.args, &out, &errb)
		want := "burst: " + c.prog + ": no such file; to run a command put it after --, e.g. `" + c.want + "`\n"
		if code != 2 || errb.String() != want {
			t.Errorf("burst %q: exit %d, %q; want 2, %q", c.args, code, errb.String(), want)
		}
	}
}

// TestRunMissingScriptNamesTheDirectory: a batch script that is not in the
// directory burst run is started in (no program of that name either: it
// was typed in the wrong directory) is named with that directory and the
// fix, not only as a command that wanted a --; a word that is no file
// before a -- is a flag's value of two words.
func TestRunMissingScriptNamesTheDirectory(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	dir := t.TempDir()
	t.Chdir(dir)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "job.sbatch"}, "job.sbatch: no such file in " + dir +
			" (a batch script is read from the directory burst runs in): cd to its directory or give its path; to run a program instead put it after --, e.g. `burst run -- job.sbatch`"},
		// A flag's value of two words leaves one before the --.
		{[]string{"run", "--time", "2", "hours", "--", "./fit.sh"}, `unexpected "hours" before --: put the whole command after --, and give a flag's value as one word (--time 2h, --mem 8G) or quoted`},
		{[]string{"run", "--cpus", "1", "scripts/job.sh", "x"}, "scripts/job.sh: no such file in " + dir +
			" (a batch script is read from the directory burst runs in): cd to its directory or give its path; to run a program instead put it after --, e.g. `burst run --cpus 1 -- scripts/job.sh x`"},
	} {
		var out, errb bytes.Buffer
		code := Main(c.args, &out, &errb)
		if want := "burst: " + c.want + "\n"; code != 2 || errb.String() != want {
			t.Errorf("burst %q: exit %d, %q; want 2, %q", c.args, code, errb.String(), want)
		}
	}
}

// closedAddr is a loopback address where nothing listens: a dial there is
// refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestUnreachableNamesTheServer: a request that could not even connect
// names the server and what to check, not Go's request line.
func TestUnreachableNamesTheServer(t *testing.T) {
	addr := closedAddr(t)
	_, err := http.Get("http://" + addr + "/v1/jobs?limit=50")
	if err == nil {
		t.Fatal("a closed port answered")
	}
	got := unreachable(err)
	want := "cannot reach the server at http://" + addr + " (connection refused): check that it runs"
	if !strings.HasPrefix(got, want) || strings.Contains(got, "Get ") {
		t.Errorf("unreachable = %q; want it to start %q", got, want)
	}
	wrapped := fmt.Errorf("the server has been gone 3s: the agent exits: %w", err)
	if got := unreachable(wrapped); !strings.HasPrefix(got, "the server has been gone 3s: the agent exits: "+want) {
		t.Errorf("unreachable of a wrapped error = %q; want its context kept before %q", got, want)
	}
	if other := os.ErrClosed; unreachable(other) != other.Error() {
		t.Errorf("unreachable changed an error that is not a dial's: %q", unreachable(other))
	}
}

// TestMapNoInputsSaysSo: a map over an empty :::: file runs nothing and
// exits 0 and, off a terminal, says nothing, as GNU parallel does (at a
// terminal it says so: noInputs). (Inputs with no command are the
// commands, as with parallel: e2e TestMapAsGNUParallel/inputs_are_commands.)
func TestMapNoInputsSaysSo(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	empty := filepath.Join(t.TempDir(), "empty.txt")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"map", "--", "echo", "{}", "::::", empty}, &out, &errb); code != 0 ||
		errb.Len() != 0 || out.Len() != 0 {
		t.Errorf("map over an empty file: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// A PARALLEL_SHELL that names no shell here is refused before anything
// runs, as parallel refuses it ("Shell '...' not found").
func TestMapParallelShellMissing(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	t.Setenv("PARALLEL_SHELL", "/nonexistent/shell")
	var out, errb bytes.Buffer
	code := Main([]string{"map", "--shell", "--", "echo", "{}", ":::", "a"}, &out, &errb)
	if code != 255 || !strings.HasPrefix(errb.String(), "burst: PARALLEL_SHELL=/nonexistent/shell: no such shell here: unset PARALLEL_SHELL") {
		t.Errorf("exit %d, %q", code, errb.String())
	}
}

// TestSlurmNamesAtTheTop: `burst sbatch ...`, as a Slurm user guesses it,
// is `burst slurm sbatch ...` (it was an unknown command).
func TestSlurmNamesAtTheTop(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	for _, name := range SlurmNames {
		var out, errb bytes.Buffer
		if code := Main([]string{name, "--version"}, &out, &errb); code != 0 || out.String() != slurmVersionLine+"\n" {
			t.Errorf("burst %s --version: exit %d, %q %q", name, code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"squeue", "-S", "x"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "Invalid sort specification: x") {
		t.Errorf("burst squeue -S x: exit %d, %q (want squeue's refusal and its exit 1)", code, errb.String())
	}
}
