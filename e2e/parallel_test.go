package e2e

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// These tests run GNU parallel and `burst map` on the same command and
// inputs and compare what they print and how they exit. Each names the
// place in parallel's manual (man parallel) that it checks. parallel runs
// with -q ("Quote command": the command's words reach it as they are, not
// as shell text), which is what `burst map -- COMMAND` does without --shell.

// parallelHome is the HOME of every GNU parallel the suite runs (made by
// TestMain), as a user's runs share theirs: parallel keeps in
// ~/.parallel/tmp what it learned of the host (its CPUs, how many processes
// it may start). A fresh HOME each run made it find all that out again
// (lscpu, four sleeps, shells): about 1 s of CPU a run instead of 0.3 s,
// the most of the suite's GNU parallel time.
var parallelHome string

// parallelRun runs GNU parallel with args in dir and returns its stdout,
// stderr and exit status; it skips the test (fails it under BURST_CI, whose
// .ci/run installs parallel) when parallel is not installed.
func parallelRun(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	bin, err := exec.LookPath("parallel")
	if err != nil {
		if os.Getenv("BURST_CI") != "" {
			t.Fatalf("GNU parallel is not installed (apt-get install parallel): this test compares burst map with it")
		}
		t.Skip("SKIPPED: GNU parallel is not installed (apt-get install parallel); burst map is not compared with it")
	}
	c := exec.Command(bin, append([]string{"--will-cite"}, args...)...)
	c.Dir = dir
	c.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + parallelHome}, env...)
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	err = c.Run()
	r := result{args: args, stdout: out.String(), stderr: loadWarnings.ReplaceAllString(errb.String(), "")}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("parallel %q: %v", args, err)
	}
	return r
}

// loadWarnings are what parallel says of a slow machine (a loaded CI
// host), not of the command: left out of the comparison.
var loadWarnings = regexp.MustCompile(`(?m)^parallel: Warning: (Starting \d+ processes took > \d+ sec\.|Consider adjusting -j\. Press CTRL-C to stop\.)\n`)

// burstMap runs `burst map` with flags, then -- and args (parallel's
// command and inputs), with env added.
func (h *harness) burstMap(env []string, flags []string, args ...string) result {
	h.t.Helper()
	c := h.command(append(append(append([]string{"map"}, flags...), "--"), args...)...)
	c.Env = append(c.Env, env...)
	return h.exec(c)
}

// taskStderr is a map's stderr without its job line and summary: what its
// tasks wrote.
func taskStderr(s string) string {
	s = mapJobLine.ReplaceAllString(s, "")
	var keep []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, "burst: ") && l != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

func TestMapAsGNUParallel(t *testing.T) {
	t.Parallel()
	h, f1, f2, _, sameAs, same := newParallelLab(t)
	// man parallel, :::: argfiles: "Another way to write --arg-file argfile1 --arg-file argfile2 ...";
	// --arg-file: "If multiple --arg-file are given, each input-file will be treated as an input source,
	// and all combinations of input sources will be generated."
	t.Run("argfiles_are_groups", func(t *testing.T) {
		same(t, []string{"-k"}, "echo", "{1}-{2}", "::::", f1, f2)
	})

	// man parallel, ::: arguments: "parallel gzip ::: file1 file2" is "(echo file1; echo file2) |
	// parallel gzip": a value's lines are inputs of their own, as a file's; -0: "Use NUL as delimiter
	// ... useful for processing arguments that may contain \n (newline)".
	t.Run("value_lines_are_inputs", func(t *testing.T) {
		same(t, []string{"-k"}, "echo", "{#}", "{}", ":::", "x\ny", "z", ":::", "1\n", "2")
		same(t, []string{"-k", "--dry-run"}, "echo", "{}", ":::", "x\ny")
		same(t, []string{"-k", "--colsep", ","}, "echo", "{2}", ":::", "a,b\nc,d")
		same(t, []string{"-k", "-0"}, "echo", "{#}", "{}", ":::", "x\ny", "z")
	})

	// man parallel, --delimiter delim (-d delim): "Input items are terminated by delim. The specified
	// delimiter may be characters, C-style character escapes such as \n, or octal (\012) or hexadecimal
	// (\x0A) escape codes." (parallel 20221122 reads \t \n \r and octal, not \x: its unquote_printf.)
	// burst's -d is --detach; -d DELIM is --delimiter where DELIM is no command (-d , -d '\t').
	t.Run("delimiter", func(t *testing.T) {
		d1, d2 := filepath.Join(h.dir, "d1"), filepath.Join(h.dir, "d2")
		writeFile(t, d1, "a,,b\n,c", 0o644)
		writeFile(t, d2, "p\r\nq\tr\r\n", 0o644)
		same(t, []string{"-k", "-d", ","}, "echo", "{#}", "[{}]", "::::", d1)
		same(t, []string{"-k", "-d,"}, "echo", "{#}", "[{}]", ":::", "x,", "p\nq,r", ":::", "1,2")
		same(t, []string{"-k", "--delimiter", `\r\n`}, "echo", "[{}]", "::::", d2)
		same(t, []string{"-k", `-d\t`}, "echo", "[{}]", "::::", d2)
		// Without -d a line ends at its \n alone: parallel 20221122 keeps a \r before it (printf
		// 'a\r\n' | parallel echo {} prints a, \r, \n), printed and quoted as any byte.
		same(t, []string{"-k"}, "echo", "[{}]", "::::", d2)
		same(t, []string{"-k", "--dry-run"}, "echo", "[{}]", "::::", d2)
		same(t, []string{"-k", "-d", `\011`, "--tag"}, "echo", "{}", ":::", "x\ty")
		same(t, []string{"-k", "-0", "--delimiter", "XY"}, "echo", "[{}]", ":::", "aXYbXY")
		same(t, []string{"-k", "-d", `\n`}, "echo", "[{}]", "::::", d1)
		// A dot, a slash, escapes alone, and -d after a long option's
		// value given as parallel abbreviates it (--colse).
		same(t, []string{"-k", "-d", "."}, "echo", "[{}]", ":::", "10.0.0.1")
		same(t, []string{"-k", "-d", "/"}, "echo", "[{}]", ":::", "usr/local/bin")
		same(t, []string{"-k", "-d", `\303\251`}, "echo", "[{}]", ":::", "aéb")
		same(t, []string{"-k", "--colse", "x", "-d", ","}, "echo", "{1}", "::::", d1)
	})

	// A value glued to a short option with = keeps its = in parallel 20221122 (Perl's Getopt::Long
	// with bundling): -C=, splits at "=,", -I=X replaces "=X"; -j=2 and -l=2 stop it, exit 255
	// (-j "=2" is no count; -l=2 is -l, then an unknown option =). burst map reads them so, and says
	// how to write the value.
	t.Run("glued_values", func(t *testing.T) {
		same(t, []string{"-k", "-C=,"}, "echo", "[{1}]", "[{2}]", ":::", "a=,b", "c,d")
		same(t, []string{"-k", "-I=X"}, "echo", "=X", "X", ":::", "a")
		for _, flag := range []string{"-j=2", "-kj=2", "-l=2"} {
			p := parallelRun(t, h.dir, nil, flag, "echo", ":::", "a")
			b := h.burstMap(nil, []string{flag}, "echo", ":::", "a")
			if p.code != 255 || b.code != 255 || b.stdout != "" || !strings.Contains(b.stderr, " =2") {
				t.Errorf("%s: parallel exit %d stderr %q; burst exit %d stdout %q stderr %q", flag, p.code, p.stderr, b.code, b.stdout, b.stderr)
			}
		}
	})

	// man parallel, --tmpdir dirname: "Directory for temporary files" ($TMPDIR without it); --env var:
	// "If var is _ ... all environment variables are transferred except for the ones mentioned in
	// ~/.parallel/ignored_vars" (written by --record-env). parallel 20221122 checks both as it starts
	// and stops before any job runs: a --tmpdir (or $TMPDIR) it can make no file in, exit 2 where it
	// is missing, 20 where it is a file (Perl's errno); --env _ with no ignored_vars, exit 255. burst
	// says so in its own words, with the same status, and runs where parallel runs. A $TMPDIR alone
	// does not stop burst map, which keeps no file there (a stale one would stop every map).
	t.Run("start_checks", func(t *testing.T) {
		notDir := filepath.Join(h.dir, "a-file")
		writeFile(t, notDir, "", 0o644)
		ph := filepath.Join(h.dir, "env-home")
		if err := os.MkdirAll(ph, 0o755); err != nil {
			t.Fatal(err)
		}
		home := []string{"PARALLEL_HOME=" + ph}
		cases := []struct {
			env   []string
			flags []string
			want  int // parallel's status, checked so that the case shows what it claims
		}{
			{nil, []string{"--tmpdir", filepath.Join(h.dir, "none")}, 2},
			{nil, []string{"--tmpdir", notDir}, 20},
			{nil, []string{"--tmpdir", h.dir}, 0},
			{home, []string{"--env", "_"}, 255},
			{home, []string{"--env", "HOME,_"}, 255},
			{home, []string{"--env", "HOME"}, 0},
		}
		check := func(env, flags []string, want int) {
			t.Helper()
			p := parallelRun(t, h.dir, env, append(append([]string{"-q", "-k"}, flags...), "echo", ":::", "a", "b")...)
			b := h.burstMap(env, append([]string{"-k"}, flags...), "echo", ":::", "a", "b")
			if p.code != want {
				t.Fatalf("parallel %q %q: exit %d (stderr %q), want %d", env, flags, p.code, p.stderr, want)
			}
			refused := !strings.Contains(b.stderr, "burst: job ") && strings.Contains(b.stderr, "GNU parallel")
			if b.code != p.code || b.stdout != p.stdout || refused != (want != 0) {
				t.Errorf("%q %q: parallel exit %d stdout %q stderr %q; burst exit %d stdout %q stderr %q", env, flags, p.code, p.stdout, p.stderr, b.code, b.stdout, b.stderr)
			}
		}
		for _, c := range cases {
			check(c.env, c.flags, c.want)
		}
		if b := h.burstMap([]string{"TMPDIR=" + filepath.Join(h.dir, "none")}, []string{"-k"}, "echo", ":::", "a", "b"); b.code != 0 || b.stdout != "a\nb\n" {
			t.Errorf("a $TMPDIR that does not exist: burst map exit %d stdout %q stderr %q; want it to run", b.code, b.stdout, b.stderr)
		}
		// parallel --record-env wrote ignored_vars: --env _ runs.
		writeFile(t, filepath.Join(ph, "ignored_vars"), "PATH\n", 0o644)
		check(home, []string{"--env", "_"}, 0)
	})

	// man parallel, --profile profilename (-J): "Use profile profilename for options ... profilename
	// corresponds to the file ~/.parallel/profilename" ($PARALLEL_HOME first); with no such file
	// parallel 20221122 runs as without it. burst's -J names the job (as --name): where the file
	// exists, the map is refused (exit 255) naming --name and the profile's options, not run without
	// them; where none does, both run alike, and burst's job has the name.
	t.Run("J_is_parallels_profile", func(t *testing.T) {
		ph := filepath.Join(h.dir, "parallel-home")
		if err := os.MkdirAll(filepath.Join(ph, "adir"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(ph, "tagit"), "--tag\n", 0o644)
		env := []string{"PARALLEL_HOME=" + ph}
		if p := parallelRun(t, h.dir, env, "-q", "-J", "tagit", "echo", ":::", "a"); p.code != 0 || p.stdout != "a\ta\n" {
			t.Fatalf("parallel -J tagit did not read its profile: exit %d, stdout %q, stderr %q", p.code, p.stdout, p.stderr)
		}
		b := h.burstMap(env, []string{"-J", "tagit"}, "echo", ":::", "a")
		if b.code != 255 || b.stdout != "" || !strings.Contains(b.stderr, "(--tag)") || !strings.Contains(b.stderr, "--name tagit") {
			t.Errorf("burst map -J tagit, a profile: exit %d, stdout %q, stderr %q; want 255, refused naming --name tagit", b.code, b.stdout, b.stderr)
		}
		for _, name := range []string{"mapname", "adir"} { // none, and a directory (parallel reads nothing from it)
			p := parallelRun(t, h.dir, env, "-q", "-k", "-J", name, "echo", ":::", "a", "b")
			b := h.burstMap(env, []string{"-k", "-J", name}, "echo", ":::", "a", "b")
			if b.code != p.code || b.stdout != p.stdout {
				t.Errorf("-J %s: parallel exit %d stdout %q; burst exit %d stdout %q (stderr %q)", name, p.code, p.stdout, b.code, b.stdout, b.stderr)
				continue
			}
			m := regexp.MustCompile(`burst: job (\d+)`).FindStringSubmatch(b.stderr)
			if m == nil {
				t.Fatalf("no job line in %q", b.stderr)
			}
			if r := h.mustRun("show", m[1], "-o", "json"); !strings.Contains(r.stdout, `"name": "`+name+`"`) && !strings.Contains(r.stdout, `"name":"`+name+`"`) {
				t.Errorf("burst map -J %s: the job is not named so: %s", name, r.stdout)
			}
		}
	})

	// man parallel, {}: replaced by the input; with several input sources each input is its own quoted
	// word, so the command gets one argument per source.
	t.Run("braces_over_two_groups", func(t *testing.T) {
		same(t, []string{"-k"}, "printf", `[%s]\n`, "{}", ":::", "a b", "c", ":::", "1", "2")
		same(t, []string{"-k"}, "printf", `[%s]\n`, "x{}y", ":::", "a", ":::", "1")
	})

	// man parallel, :::+ and ::::+: "Like ::: but linked like --link to the previous input source"
	// (as far as the shorter goes, in parallel 20221122); --link: "Link input sources ... If one of the
	// input sources is too short, its values will wrap"; --colsep: "The input will be treated as a
	// table with regexp separating the columns ... the columns from each input source will be linear".
	t.Run("linked_groups_and_columns", func(t *testing.T) {
		csv := filepath.Join(h.dir, "t.csv")
		writeFile(t, csv, "a,b\nc,d,e\nf\n", 0o644)
		same(t, []string{"-k"}, "echo", ":::", "a", "b", "c", ":::+", "1", "2")
		same(t, []string{"-k"}, "echo", ":::", "a", "b", ":::", "x", "y", ":::+", "1", "2")
		same(t, []string{"-k"}, "echo", "{2}", ":::", "a", "b", "c", "::::+", f2)
		same(t, []string{"-k", "--link"}, "echo", ":::", "a", "b", ":::", "1", "2", "3", ":::", "x")
		// A first group after ::::+ or :::+ has none to link to (man parallel_examples:
		// parallel echo {1} - {2} ::::+ <(head -n -1 in.txt) <(tail -n +2 in.txt)).
		same(t, []string{"-k"}, "echo", "{1}", "-", "{2}", "::::+", f2, f2)
		same(t, []string{"-k"}, "echo", ":::+", "a", "b", ":::", "1", "2")
		same(t, []string{"-k", "--colsep", ","}, "echo", "{1}-{2}-{3}", "::::", csv)
		same(t, []string{"-k", "--colsep", ","}, "echo", "::::", csv, ":::", "p,q")
		same(t, []string{"-k", "-C", " +"}, "printf", `[%s]\n`, "{2}", "{1}", ":::", "x  y", "z w")
		// A separator's capture groups are columns too, as in Perl's split.
		same(t, []string{"-k", "--colsep", "(,)|(;)"}, "echo", "[{1}][{2}][{3}][{4}]", ":::", "a,b", "c;d", "e")
		// --colsep trims the white space around each column (parallel's --trim lr).
		same(t, []string{"-k", "--colsep", ","}, "printf", "[%s]", "{1}", "{2}", ":::", " a , b ", "c,\td ")
		same(t, []string{"-k", "--colsep", " +"}, "printf", "[%s]", "{1}", "{2}", "{3}", ":::", " a b ")
		// --colsep '': Perl's split //, $_, -1, each byte a column and an empty one after them.
		same(t, []string{"-k", "--colsep", ""}, "printf", "[%s]", "{1}", "{2}", "{3}", "{4}", "{5}", "\n", ":::", " a b", "abcd")
		same(t, []string{"-k", "-C", ""}, "printf", "[%s]", ":::", "abc")
		// parallel splits bytes: an é is two columns, each half of it.
		same(t, []string{"-k", "-C", ""}, "printf", "[%s]", "{1}", "{2}", "{3}", "\n", ":::", "aéb")
		same(t, []string{"-k", "-C", "", "--header", ":"}, "echo", "{b}{a}", ":::", "ab", "xy")
	})

	// man parallel, -N max-args: "Like -n but also makes replacement strings {1} .. {max-args} that
	// represents argument 1 .. max-args. If too few args the {n} will be empty"; parallel 20221122 writes them as
	// nothing in its shell text, so a word of nothing else is no argument (echo prints "c x", not "c  x"),
	// and a column an input lacks (--colsep) too; with -q (--quote) it is an empty argument. Compared
	// with parallel without -q, as the command lines are written.
	t.Run("lacking_values", func(t *testing.T) {
		for _, flags := range [][]string{{"-k", "-N2"}, {"-k", "-N2", "--dry-run"}, {"-k", "-N2", "--quote"}, {"-k", "-N2", "--quote", "--dry-run"}} {
			sameAs(t, nil, flags, "echo", "{1}", "{2}", "x", "{2}x", ":::", "a", "b", "c")
		}
		sameAs(t, nil, []string{"-k", "--colsep", ","}, "echo", "{1}", "{2}", "{3}", "x", ":::", "a,b", "c")
		sameAs(t, nil, []string{"-k", "--colsep", ",", "--dry-run"}, "echo", "{3.}", "{2}", "x", ":::", "a,b", "c")
		sameAs(t, nil, []string{"-k", "-N2"}, `echo {1} {2} "{2}" x{2}y '{2}' z`, ":::", "a", "b", "c")
	})

	// man parallel, --arg-sep sep-str: "Use sep-str instead of ::: as separator string. Useful if :::
	// is used for something else by the command"; --arg-file-sep sep-str: "Use sep-str instead of ::::
	// as separator string between command and argument files".
	t.Run("arg_sep", func(t *testing.T) {
		same(t, []string{"-k", "--arg-sep", ",,"}, "echo", "{}", ",,", "a", ":::", "b")
		same(t, []string{"-k", "--arg-sep", ",,"}, "echo", "{1}", "{2}", ",,", "a", "b", ",,+", "1", "2")
		same(t, []string{"-k", "--argsep", ",,", "-a", f1}, "echo", ",,", "p")
		same(t, []string{"-k", "--arg-file-sep", "//"}, "echo", "{}", "//", f2, ":::", "x", "::::")
		same(t, []string{"-k", "--arg-file-sep", "//"}, "echo", "{1}{2}", "//", f2, "//+", f1)
		same(t, []string{"-k", "--arg-file-sep", "//", "-a", f1}, "echo", ":::", "z")
	})

	// man parallel: --dry-run "Print the job to run on stdout (standard output), but do not run the
	// job"; -a input-file "Use input-file as input source"; -0 "Use NUL as delimiter"; --will-cite.
	t.Run("dry_run_arg_file_null", func(t *testing.T) {
		nul := filepath.Join(h.dir, "nul")
		writeFile(t, nul, "a b\x00c\nd\x00", 0o644)
		same(t, []string{"--dry-run", "-k"}, "echo", "{}", "x", ":::", "it's", "$x", "a*b", "") // -k: parallel's own order varies
		same(t, []string{"--dry-run", "--tag", "-k"}, "echo", "{1}", ":::", "a", "b c", ":::", "1")
		same(t, []string{"-k", "-a", f1}, "echo", ":::", "p", "q")
		same(t, []string{"-k", "-0"}, "printf", "[%s]\n", "::::", nul)
		same(t, []string{"-k", "--will-cite"}, "echo", ":::", "z")
	})

	// man parallel, --joblog logfile: "Logfile for executed jobs ... in the following TAB separated
	// format: sequence number, sshlogin, start time as seconds since epoch, run time in seconds, bytes
	// in files transferred, bytes in files returned, exit status, signal, and command run". The
	// columns that do not depend on the clock or the host must agree.
	t.Run("joblog", func(t *testing.T) {
		args := []string{"sh", "-c", "echo $1; exit $2", "_", ":::", "a", "b c", ":::", "0", "3"}
		pl, bl := filepath.Join(h.dir, "p.joblog"), filepath.Join(h.dir, "b.joblog")
		p := parallelRun(t, h.dir, nil, append([]string{"-q", "-k", "-j1", "--joblog", pl}, args...)...)
		b := h.burstMap(nil, []string{"-k", "-j1", "--joblog", bl}, args...)
		if b.code != p.code {
			t.Errorf("exit %d, parallel's %d", b.code, p.code)
		}
		fields := func(path string) []string { return joblogColumns(t, path, 0, 4, 5, 6, 7, 8) }
		if pf, bf := fields(pl), fields(bl); !slices.Equal(pf, bf) {
			t.Errorf("joblogs differ (Seq|Send|Receive|Exitval|Signal|Command):\nparallel %q\nburst    %q", pf, bf)
		}
		// --joblog -: the log on stdout, its header first, each task's line
		// after its output (Host, Starttime and JobRuntime masked).
		p = parallelRun(t, h.dir, nil, append([]string{"-q", "-k", "-j1", "--joblog", "-"}, args...)...)
		b = h.burstMap(nil, []string{"-k", "-j1", "--joblog", "-"}, args...)
		mask := func(out string) string {
			var lines []string
			for _, l := range strings.Split(out, "\n") {
				if f := strings.Split(l, "\t"); len(f) == 9 && f[0] != "Seq" {
					f[1], f[2], f[3] = "HOST", "START", "RUNTIME"
					l = strings.Join(f, "\t")
				}
				lines = append(lines, l)
			}
			return strings.Join(lines, "\n")
		}
		if pm, bm := mask(p.stdout), mask(b.stdout); b.code != p.code || pm != bm || !strings.HasPrefix(pm, "Seq\t") {
			t.Errorf("--joblog -: parallel exit %d stdout\n%s\nburst exit %d stdout\n%s", p.code, pm, b.code, bm)
		}
		if _, err := os.Stat(filepath.Join(h.dir, "-")); err == nil {
			t.Errorf("--joblog - wrote a file named -")
		}
	})

}

// TestMapAsGNUParallelCommands: the second part of TestMapAsGNUParallel (-N, -X, {%}, commands as
// inputs, options as parallel spells and abbreviates them, words a shell would expand).
func TestMapAsGNUParallelCommands(t *testing.T) {
	t.Parallel()
	h, _, f2, empty, sameAs, same := newParallelLab(t)
	// man parallel, -N max-args: "Use at most max-args arguments per command line. Like -n but also
	// makes replacement strings {1} .. {max-args} that represents argument 1 .. max-args."
	t.Run("max_args", func(t *testing.T) {
		same(t, []string{"-k", "-N", "2"}, "echo", "{1}-{2}", ":::", "a", "b", "c")
		same(t, []string{"-k", "-N", "2"}, "echo", ":::", "a", "b", "c")
		same(t, []string{"-k", "-N", "3"}, "echo", "{}", "{#}", ":::", "a", "b", "c", "d")
		// -N repeats a word holding {} for each input (pict{}.jpg: picta.jpg pictb.jpg), -n does not.
		same(t, []string{"-k", "-N", "3"}, "printf", "<%s>", "pict{}.jpg", ":::", "a", "b", "c", "d")
		same(t, []string{"-k", "-n", "3"}, "printf", "<%s>", "pict{}.jpg", ":::", "a", "b", "c", "d")
		same(t, []string{"-k", "-N", "2"}, "printf", "<%s>", "x{#}y{}", "{.}", "--in={}", ":::", "d/a.x", "e/b.y", "c")
		same(t, []string{"-k", "-N", "2", "--dry-run"}, "echo", "x{}y", ":::", "a", "b")
		// man parallel, -L recsize: "Use at most recsize nonblank input lines per command line. Trailing
		// blanks cause an input line to be logically continued on the next input line"; --max-lines (-l):
		// the same, as -n where -L is -N (parallel 20221122: -l 0 is -l 1; -n and -N win over both).
		lines := filepath.Join(h.dir, "lines")
		writeFile(t, lines, "a \nb\nc\t\nd\ne\nf \n", 0o644)
		same(t, []string{"-k", "-L", "2"}, "printf", "<%s>", "x{}y", "\n", "::::", lines)
		same(t, []string{"-k", "-L1"}, "echo", "x{}y", "::::", lines)
		same(t, []string{"-k", "-l", "2"}, "printf", "<%s>", "x{}y", "{1}", "\n", "::::", lines)
		same(t, []string{"-k", "--max-lines", "0"}, "echo", "x{}y", ":::", "a", "b ", "c")
		same(t, []string{"-k", "-L", "2", "-N", "1"}, "echo", "x{}y", ":::", "a", "b", "c")
		same(t, []string{"-kl2"}, "echo", ":::", "a", "b", "c")
		same(t, []string{"-k", "-L2", "-m"}, "echo", "x{}y", ":::", "a", "b", "c") // -m: {} is all of them, as -n
		// -l and --max-lines take a value only where it looks like a number: alone (before the
		// command, or another option) each is -l 1, and -l -0 is -l 1 and -0. -L 0 is -n 0 (a task
		// per input, given none), no line going on with the next; -n given wins.
		nul := filepath.Join(h.dir, "nul")
		writeFile(t, nul, "p q\x00r \x00s", 0o644)
		for _, flags := range [][]string{{"-k", "-l"}, {"-kl"}, {"-l", "-k"}, {"-k", "--max-lines"}} {
			same(t, flags, "echo", "x{}y", ":::", "a", "b ", "c")
		}
		same(t, []string{"-k", "-l", "-0"}, "echo", "[{}]", "::::", nul)
		same(t, []string{"-k", "-L", "0"}, "echo", "x{}y", "{#}", ":::", "a", "b ", "c")
		same(t, []string{"-k", "-L0", "-n", "2"}, "echo", ":::", "a ", "b", "c")
	})

	// man parallel, -X: "Multiple arguments with context replace. Insert as many arguments as the command
	// line length permits. If multiple jobs are being run in parallel: distribute the arguments evenly
	// among the jobs"; -m: "Multiple arguments" ({} is all of them); --xargs: as many as fit, undistributed.
	// parallel --max-line-length-allowed: "Print maximal command line length"; parallel 20221122 uses
	// (that - 3000)/2 of it (63664 on Linux) and stops at a job whose command line is as long: "Command
	// line too long (63664 >= 63664) at input 0: aaa...", exit 255, after the jobs before it ran.
	t.Run("line_too_long", func(t *testing.T) {
		if p := parallelRun(t, h.dir, nil, "--max-line-length-allowed"); strings.TrimSpace(p.stdout) != "130329" {
			t.Skipf("GNU parallel's longest command line here is %q, not Linux's 130329 (whose usable 63664 burst map takes)", p.stdout)
		}
		long := filepath.Join(h.dir, "long")
		writeFile(t, long, "x\nz\n"+strings.Repeat("a", 63659)+"\ny\n", 0o644) // echo and it: 63664 bytes
		fits := filepath.Join(h.dir, "fits")
		writeFile(t, fits, strings.Repeat("a", 63658)+"\n", 0o644)
		// How many jobs before it parallel runs depends on how far it reads ahead, which -j and
		// --dry-run change (all of them with -j1, checked each time); burst map runs all of them.
		stops := func(parallelFlags, flags []string, file string, want string) {
			t.Helper()
			p := parallelRun(t, h.dir, nil, append(append(parallelFlags, flags...), "echo", "::::", file)...)
			b := h.burstMap(nil, flags, "echo", "::::", file)
			if p.code != 255 || !strings.Contains(p.stderr, "Command line too long ("+want+" >= 63664)") {
				t.Fatalf("parallel %q: exit %d stderr %.200q: want it to stop at the long line", flags, p.code, p.stderr)
			}
			if b.code != p.code || b.stdout != p.stdout || !strings.Contains(b.stderr, "command line too long ("+want+" >= 63664) at task ") {
				t.Errorf("%q: parallel exit %d stdout %q; burst exit %d stdout %q stderr %.300q", flags, p.code, p.stdout, b.code, b.stdout, b.stderr)
			}
		}
		// Without -q: parallel counts the command line as it runs it, quoted (burst's --dry-run line).
		stops(nil, []string{"-k", "-j1"}, long, "63664")
		// -X with -j1: with two job slots parallel's -X may stop before "echo x z" runs (it printed
		// nothing once in five runs here, and in one CI run); with one it runs it each time.
		stops(nil, []string{"-k", "-X", "-j1"}, long, "63664")
		sameAs(t, nil, []string{"-k", "--dry-run"}, "echo", "::::", fits)
		// parallel -q (burst's --quote) counts three bytes for each of the command line's, unquoted:
		// echo and 21216 bytes fit (63663), 21217 do not.
		for _, n := range []int{21216, 21217} {
			f := filepath.Join(h.dir, "q"+strconv.Itoa(n))
			writeFile(t, f, "x\n"+strings.Repeat("a", n)+"\n", 0o644)
			if n == 21216 {
				sameAs(t, []string{"-q"}, []string{"-k", "-j1", "--quote"}, "echo", "::::", f)
			} else {
				stops([]string{"-q"}, []string{"-k", "-j1", "--quote"}, f, "63666")
			}
		}
	})

	t.Run("multiple_args", func(t *testing.T) {
		in := []string{":::", "a", "b", "c", "d", "e"}
		same(t, []string{"-k", "-j", "2", "-X"}, append([]string{"printf", "<%s>", "x{}y", "{#}"}, in...)...)
		same(t, []string{"-k", "-j", "2", "-m"}, append([]string{"printf", "<%s>", "x{}y", "{#}"}, in...)...)
		same(t, []string{"-k", "-j", "3", "-X", "--tag"}, append([]string{"echo", "{/.}"}, in...)...)
		same(t, []string{"-k", "--xargs"}, append([]string{"echo"}, in...)...)
		same(t, []string{"-k", "-j", "0", "-X"}, append([]string{"echo"}, in...)...)
	})

	// man parallel, --plus: "Activate additional replacement strings: {+/} {+.} {+..} {+...} {..} {...} {/..}
	// {/...} {##}. The idea being that '{+foo}' matches the opposite of '{foo}' ... {##} is the total number
	// of jobs to be run ... {0%} zero-padded jobslot ... {0#} zero-padded sequence number."
	t.Run("plus", func(t *testing.T) {
		in := []string{":::", "d/a.tar.gz", "b.c", "e", "x.y/a.b.c.d", "d.x/a", "/r.tar.gz/"}
		same(t, []string{"-k", "--plus"}, append([]string{"printf", "[%s]", "{..}", "{...}", "{/..}", "{/...}", "{+/}", "{+.}", "{+..}", "{+...}", "{1..}", "{-1+/}"}, in...)...)
		same(t, []string{"-k", "-j", "1", "--plus"}, append([]string{"echo", "{##}", "{0#}", "{0%}"}, append(in, in[1:]...)...)...)
		same(t, []string{"-k", "--plus", "--tagstring", "{0#}/{##}"}, append([]string{"echo", "{/..}"}, in...)...)
		same(t, []string{"--dry-run", "--plus", "-k"}, append([]string{"echo", "{+.}", "{##}"}, in...)...)
		// {slot}: the job slot in the command (no input appended), the
		// text ${PARALLEL_JOBSLOT} in --tagstring.
		sameAs(t, nil, []string{"-k", "-j", "1", "--plus"}, "echo", "{slot}", "x{slot}", ":::", "a", "b")
		same(t, []string{"-k", "-j", "1", "--plus", "--tagstring", "{slot}"}, "echo", "x", ":::", "a", "b")
		// man parallel, --plus: its bash-like strings, {:-str} {:n} {:n:m} {#str} {##str} {%str} {%%str}
		// {/str1/str2} {//str1/str2} {/#str1/str2} {/%str1/str2} {^str} {^^str} {,str} {,,str}, str a Perl
		// regular expression (made ungreedy in {#str} and {%str}: {#*.} drops one byte); a position may lead.
		bash := []string{"{%.gz}", "{%%.*}", "{#*.}", "{##*.}", "{#a*.}", "{/a/X}", "{//a/X}", "{/#d/X}", "{/%z/X}", "{:2}", "{:1:3}", "{:-none}", "{^d}", "{^^a}", "{,A}", "{,,A}", "{-1%.gz}"}
		same(t, []string{"-k", "--plus"}, append(append([]string{"printf", "[%s]"}, bash...), ":::", "d/a.tar.gz", "", "Aa", "x.Aligned.sortedByCoord.out.bam", "0", "a b.gz")...)
		same(t, []string{"-k", "--plus"}, "echo", "{/Aligned.sortedByCoord.out/_Cbr}", "{2/actual/expected}", ":::", "x.Aligned.sortedByCoord.out.bam", ":::", "out/actual.txt")
		same(t, []string{"--dry-run", "--plus", "-k", "--tagstring", "{%.gz}"}, "echo", "{:-a b}", ":::", "a.gz", "")
		// Without --plus they are text, the input appended.
		same(t, []string{"-k"}, "echo", "{%.gz}", ":::", "a.gz")
	})

	// man parallel, --tag: "Tag lines with arguments. Each output line will be prepended with the
	// arguments and TAB (\t)", stdout and stderr alike.
	// man parallel, {%}: "Job slot number. This replacement string will be replaced by the job's slot number
	// between 1 and number of jobs to run in parallel. There will never be 2 jobs running at the same time with
	// the same job slot number."; $PARALLEL_JOBSLOT is the same. -v and --joblog show the slot the job ran in.
	t.Run("job_slot", func(t *testing.T) {
		same(t, []string{"-k", "-j1"}, "sh", "-c", "echo $1 $PARALLEL_JOBSLOT $PARALLEL_SEQ", "_", "{%}", ":::", "a", "b", "c")
		same(t, []string{"-k", "-j1", "-v"}, "echo", "slot{%}", "{}", ":::", "a", "b")
		same(t, []string{"-k", "-j1", "--verbose"}, "echo", "{}", ":::", "a", "b c") // parallel's --verbose is -t: stderr
		// -j 2: each task holds a lock named after its slot for its whole
		// run; a second task in a slot still held would print "clash".
		args := []string{"sh", "-c", `flock -n "slot.$1" sleep 0.3 && echo "$1" || echo clash "$1"`, "_", "{%}", ":::"}
		for i := 1; i <= 8; i++ {
			args = append(args, strconv.Itoa(i))
		}
		for _, side := range []struct {
			name string
			run  func() result
		}{
			{"parallel", func() result { return parallelRun(t, h.dir, nil, append([]string{"-q", "-j2"}, args...)...) }},
			{"burst map", func() result { return h.burstMap(nil, []string{"-j2"}, args...) }},
		} {
			r := side.run()
			slots := strings.Fields(r.stdout)
			slices.Sort(slots)
			if r.code != 0 || len(slots) != 8 || slots[0] != "1" || slots[7] != "2" {
				t.Errorf("%s -j2: want 8 tasks in slots 1 and 2 (both used), none sharing a slot at once: exit %d, slots %q\n%s", side.name, r.code, slots, r)
			}
		}
	})

	// man parallel: "If command is not given, the line of input is executed" (a file of commands, a line
	// each, is the common case); with several input sources, their values joined by spaces. Compared with
	// parallel without -q: its -q would quote the command itself.
	t.Run("inputs_are_commands", func(t *testing.T) {
		cmds := filepath.Join(h.dir, "cmds")
		writeFile(t, cmds, "echo one; echo two\nexit 3\necho 'it''s' \"$((6*7))\"\n", 0o644)
		for _, c := range []struct{ flags, args []string }{
			{[]string{"-k"}, []string{":::", "echo a; echo b", "echo c"}},
			{[]string{"-k"}, []string{"::::", cmds}},
			{[]string{"-k"}, []string{":::", "echo", "printf %s-", ":::", "1", "2"}},
			{[]string{"--dry-run"}, []string{":::", "echo a; echo b"}},
			{[]string{"-k", "--tag"}, []string{":::", "echo q"}},
			{nil, []string{"::::", empty}},
		} {
			sameAs(t, nil, c.flags, c.args...)
		}
	})

	// The command quoted whole as one word of shell text, as parallel's tutorials write it (parallel
	// 'zcat {} | wc -l' ::: *.gz): parallel runs every command with a shell, so burst runs such a word
	// with one too (a word naming a program still runs directly). Compared with parallel without -q.
	t.Run("one_word_of_shell_text", func(t *testing.T) {
		writeFile(t, filepath.Join(h.dir, "in 1.txt"), "a\nb\n", 0o644)
		for _, c := range []struct{ flags, args []string }{
			{[]string{"-k"}, []string{"echo {} | wc -c", ":::", "short", "a b", "it's", "$HOME"}},
			{[]string{"-k"}, []string{"wc -l < {} && echo done {.}", ":::", "in 1.txt"}},
			{[]string{"-k"}, []string{"printf '[%s]'", ":::", "x y", "z"}},
			{[]string{"-k"}, []string{"echo $((6*{}))", ":::", "7"}},
			{[]string{"-k", "--dry-run"}, []string{"echo {} | wc -c", ":::", "a b", "it's"}}, // -k: parallel prints a dry run in its own order
			{[]string{"-k"}, []string{"exit {}", ":::", "0", "3"}},
		} {
			sameAs(t, nil, c.flags, c.args...)
		}
	})

	// A script with no #! line runs in /bin/sh, as parallel (through its shell) and xargs (execvp)
	// run it; a program found that cannot be run exits 126, as they say it (not found is 127): the
	// status --halt now,fail=1 exits with.
	t.Run("scripts_without_shebang_and_programs_that_cannot_run", func(t *testing.T) {
		nohash, plain := filepath.Join(h.dir, "nohash"), filepath.Join(h.dir, "plain")
		writeFile(t, nohash, "echo \"hi $1\"\n", 0o755)
		writeFile(t, plain, "echo hi\n", 0o644)
		same(t, []string{"-k"}, nohash, ":::", "a", "b")
		for _, prog := range []string{plain, h.dir, "no-such-program-here"} {
			flags, args := []string{"--halt", "now,fail=1"}, []string{prog, ":::", "a"}
			p := parallelRun(t, h.dir, nil, append(append([]string{"-q"}, flags...), args...)...)
			if b := h.burstMap(nil, flags, args...); b.code != p.code || b.stdout != p.stdout || p.code == 0 {
				t.Errorf("%s: parallel exit %d stdout %q; burst exit %d stdout %q stderr %q", prog, p.code, p.stdout, b.code, b.stdout, b.stderr)
			}
		}
	})

	// --halt-on-error is --halt by the manual's older name, --gnu changes nothing.
	t.Run("older_names_and_quiet", func(t *testing.T) {
		args := []string{"sh", "-c", "echo out {}; echo err {} >&2; exit {}", ":::", "0", "2", "0"}
		flags := []string{"-j1", "-k", "--gnu", "--halt-on-error", "now,fail=1"}
		p := parallelRun(t, h.dir, nil, append(append([]string{"-q"}, flags...), args...)...)
		b := h.burstMap(nil, append([]string{"--quiet"}, flags...), args...)
		const tasks = "err 0\nerr 2\n" // then each tool's word on the failure
		if b.code != p.code || b.stdout != p.stdout || !strings.HasPrefix(p.stderr, tasks) || !strings.HasPrefix(taskStderr(b.stderr), tasks) {
			t.Errorf("parallel: exit %d stdout %q stderr %q\nburst --quiet: exit %d stdout %q stderr %q (want the same)",
				p.code, p.stdout, p.stderr, b.code, b.stdout, b.stderr)
		}
	})

	// parallel reads its long options whatever their case (Getopt::Long: --Keep-Order, --TAG), and
	// refuses its retired ones (-g, -T, -H, -Y, -B, --tollef) with exit 255; burst does so too,
	// naming what to do.
	t.Run("option_case_and_retired_names", func(t *testing.T) {
		same(t, []string{"--Keep-Order", "--TAG", "--Col-Sep", ","}, "echo", "{2}", ":::", "a,b", "c,d")
		for _, flags := range [][]string{{"-g"}, {"-T"}, {"-H", "1"}, {"-Y"}, {"-B", "x"}, {"--tollef"}} {
			p := parallelRun(t, h.dir, nil, append(append([]string{"-q"}, flags...), "echo", ":::", "a")...)
			b := h.burstMap(nil, flags, "echo", ":::", "a")
			if p.code != 255 || b.code != 255 || b.stdout != "" || !strings.Contains(b.stderr, "is GNU parallel's: burst map does not take it; ") {
				t.Errorf("%q: parallel exit %d (stderr %q); burst exit %d, stdout %q, stderr %q; want both 255, burst naming what to do", flags, p.code, p.stderr, b.code, b.stdout, b.stderr)
			}
		}
	})

	// parallel reads a long option by any start of its names that names no other option (Perl's
	// Getopt::Long, auto_abbrev): --keep-o is --keep-order, --dry --dry-run, --k -k; a start that
	// several options share is refused, exit 255 ("Option ta is ambiguous (tag, tag-string,
	// tagstring)"), as is an option's start that burst refuses the option of.
	t.Run("abbreviated_options", func(t *testing.T) {
		same(t, []string{"--keep-o", "--tagst", "<{}>", "--hal", "now,fail=1"}, "echo", "{}", ":::", "a", "b")
		same(t, []string{"--k", "--colse", ","}, "echo", "{2}", ":::", "a,b", "c,d")
		same(t, []string{"--ke", "--dry"}, "echo", ":::", "a", "b")
		for _, flags := range [][]string{{"--ta"}, {"--jo", "2"}} {
			p := parallelRun(t, h.dir, nil, append(append([]string{"-q"}, flags...), "echo", ":::", "a")...)
			b := h.burstMap(nil, flags, "echo", ":::", "a")
			if p.code != 255 || b.code != 255 || b.stdout != "" { // parallel prints its usage on stdout
				t.Errorf("%q: parallel exit %d (stderr %q); burst exit %d, stdout %q, stderr %q; want both 255", flags, p.code, p.stderr, b.code, b.stdout, b.stderr)
			}
			if first, _, _ := strings.Cut(p.stderr, "\n"); strings.HasPrefix(first, "Option") && !strings.Contains(b.stderr, first) {
				t.Errorf("%q: parallel says %q, burst %q", flags, first, b.stderr)
			}
		}
		if b := h.burstMap(nil, []string{"--pipe-p"}, "echo", ":::", "a"); b.code != 255 || !strings.Contains(b.stderr, "--pipe-p (--pipe-part) is GNU parallel's") {
			t.Errorf("--pipe-p: burst exit %d, stderr %q; want 255, refused as --pipe-part", b.code, b.stderr)
		}
	})

	// man parallel, ENVIRONMENT VARIABLES, $PARALLEL: "The environment variable $PARALLEL will be used as
	// default options for GNU parallel"; PROFILE FILES: "If --profile set, GNU parallel will read the
	// profile from that file rather than the global or user configuration files"; options on the
	// command line win. burst map reads them so; one it refuses is refused naming $PARALLEL.
	t.Run("default_options", func(t *testing.T) {
		home := filepath.Join(h.dir, "default-options-home")
		if err := os.MkdirAll(filepath.Join(home, ".parallel"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(home, ".parallel", "config"), "# as a user keeps it\n-k --tagstring '<{}>'\n", 0o644)
		for _, c := range []struct{ env, flags []string }{
			{[]string{"PARALLEL=--tag"}, []string{"-k"}},
			{[]string{"PARALLEL=-N2 --tag"}, []string{"-k", "--tagstring", "[{1}]"}},
			{[]string{"HOME=" + home}, nil},
			{[]string{"HOME=" + home, "PARALLEL=--tagstring {#}"}, nil},
			{[]string{"HOME=" + home}, []string{"--plain", "-k"}},
			{[]string{"HOME=" + home, "PARALLEL=--tag"}, []string{"-J", "nosuchprofile", "-k"}},
		} {
			p := parallelRun(t, h.dir, c.env, append(append([]string{"-q"}, c.flags...), "echo", ":::", "a", "b", "c")...)
			b := h.burstMap(c.env, c.flags, "echo", ":::", "a", "b", "c")
			if b.code != p.code || b.stdout != p.stdout {
				t.Errorf("%q %q: parallel exit %d, stdout %q; burst exit %d, stdout %q (stderr %q)", c.env, c.flags, p.code, p.stdout, b.code, b.stdout, b.stderr)
			}
		}
		if b := h.burstMap([]string{"PARALLEL=--sshlogin host"}, nil, "echo", ":::", "a"); b.code != 255 || b.stdout != "" || !strings.Contains(b.stderr, "$PARALLEL (--sshlogin host)") {
			t.Errorf("PARALLEL=--sshlogin host: burst exit %d, stdout %q, stderr %q; want 255, naming $PARALLEL", b.code, b.stdout, b.stderr)
		}
	})

	// A redirection, && or || given as a word of its own (echo {} \> {}.txt) is the shell's, as
	// parallel runs every command in a shell: the files are written, not "a > a.txt" printed. A lone |
	// stays an argument (cut -d '|'), as with parallel -q, burst's default.
	// man parallel and its tutorial write a ; between two commands escaped (echo {}\; sleep {}),
	// call a shell's builtin (parallel --joblog /tmp/log exit ::: 1 2 3 0) and give the input as the
	// command (cat jobs | parallel {}): parallel runs each in a shell; so does burst map. A ; in a
	// program's script stays its argument, as parallel -q gives it.
	t.Run("semicolons_builtins_and_input_commands", func(t *testing.T) {
		for _, args := range [][]string{
			{"echo", "baz;", "eval", "{}", ":::", "echo foo; echo bar"},
			{"echo", "Starting", "{};echo", "done", ":::", "1", "2"},
			{"sleep", "{};", "echo", "{}", ":::", "0.1", "0.2"},
			{"exit", ":::", "1", "2", "0"},
			{"{}", ":::", "echo a", "echo b; exit 3"},
		} {
			sameAs(t, nil, []string{"-k"}, args...)
		}
		same(t, []string{"-k"}, "perl", "-ne", "print;exit", "{}", ":::", f2)
	})

	// man parallel, -N0: "read 1 argument but insert 0" (parallel_tutorial: parallel -N0 sleep 1 :::: num8).
	t.Run("N0_no_inputs", func(t *testing.T) {
		same(t, []string{"-k", "-N0"}, "echo", "hi", ":::", "a", "b", "c")
		same(t, []string{"-k", "-N0"}, "echo", "x{}y", "{#}", ":::", "a", "b")
		same(t, []string{"-k", "-N0", "--tag"}, "echo", "hi", ":::", "a", "b")
		sameAs(t, nil, []string{"-k", "-N0"}, "echo", "{#}", "&&", "echo", "done", "::::", f2)
		// {} alone in a word is no argument then (parallel's shell drops
		// the empty word), an empty one with -q.
		sameAs(t, nil, []string{"-k", "-n0"}, "printf", "[%s]", "a", "{}", "{.}{/}", "b", "c{}", ":::", "x", "y")
		same(t, []string{"-k", "-n0", "--quote"}, "printf", "[%s]", "a", "{}", "{.}{/}", "b", "c{}", ":::", "x", "y")
		// With no command, an empty one for each input (parallel 20221122 -n0 ::: a b: exit 0,
		// -v prints an empty line for each, --dry-run too).
		sameAs(t, nil, []string{"-k", "-n0", "-v"}, ":::", "a", "b")
		sameAs(t, nil, []string{"-k", "-N0", "--dry-run"}, ":::", "a", "b")
	})

	// Words written for parallel's shell to expand are expanded, as parallel's shell expands them:
	// man parallel ($PARALLEL_SEQ): seq 10 | parallel -N2 echo seq:\$PARALLEL_SEQ arg1:{1} arg2:{2};
	// man env_parallel: parallel --env myvar echo '$myvar' ::: work; a command's output and arithmetic
	// quoted whole; a glob beside a replacement string (sourmash sketch ... data/fastq/{}/*.fastq.gz
	// ::: $samples); a quote across words (echo \"{} "<-- a number"\" ::: `seq 1 5`).
	t.Run("expansions_as_words", func(t *testing.T) {
		if err := os.MkdirAll(filepath.Join(h.dir, "fq", "s 1"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(h.dir, "fq", "s 1", "a.fastq.gz"), "", 0o644)
		writeFile(t, filepath.Join(h.dir, "fq", "s 1", "b.fastq.gz"), "", 0o644)
		sameAs(t, nil, []string{"-k", "-N2"}, "echo", "seq:$PARALLEL_SEQ", "arg1:{1}", "arg2:{2}", ":::", "1", "2", "3", "4")
		for _, args := range [][]string{
			{"echo", "$(basename {} .txt)", "$(({#}*2))", "`echo {#}`", ":::", "d/a.txt", "d/b c.txt"},
			{"echo", "-o", "{}.sig", "fq/{}/*.fastq.gz", ":::", "s 1"},
			{"echo", `"{}`, `<-- a number"`, ":::", "1", "2"},
		} {
			sameAs(t, nil, []string{"-k"}, args...)
		}
		env := []string{"myvar=variables with  two spaces"}
		args := []string{"-k", "--env", "myvar", "echo", "$myvar", "{}", ":::", "work"}
		p := parallelRun(t, h.dir, env, args...)
		if b := h.burstMap(env, args[:3], args[3:]...); b.code != p.code || b.stdout != p.stdout || p.stdout != "variables with two spaces work\n" {
			t.Errorf("--env myvar echo $myvar: parallel: exit %d, %q; burst: exit %d, %q (stderr %q)", p.code, p.stdout, b.code, b.stdout, b.stderr)
		}
	})

	// A real script's `for s in *.sam; do echo do_idx $s; done | parallel --nice 10` (man parallel,
	// --nice: "Run the command at this niceness ... --nice will make sure all sub commands are
	// niced"): inputs that are commands, a command given, and a shell's child, each at the niceness
	// parallel runs them at (nice(1) clamps 30 to 19). burst refused --nice.
	t.Run("nice", func(t *testing.T) {
		cmds := filepath.Join(h.dir, "nice_cmds")
		writeFile(t, cmds, "nice\nsh -c 'echo at $(nice)'\n", 0o644)
		p := parallelRun(t, h.dir, nil, "-k", "--nice", "10", "::::", cmds)
		if p.stdout != "10\nat 10\n" {
			t.Fatalf("parallel --nice 10: %q", p.stdout)
		}
		if b := h.burstMap(nil, []string{"-k", "--nice", "10"}, "::::", cmds); b.code != p.code || b.stdout != p.stdout {
			t.Errorf("--nice 10 :::: cmds: burst exit %d, %q (stderr %q); parallel exit %d, %q", b.code, b.stdout, b.stderr, p.code, p.stdout)
		}
		for _, n := range []string{"7", "30"} {
			same(t, []string{"-k", "--nice", n}, "sh", "-c", "nice; sh -c nice; echo {}", ":::", "a", "b")
		}
	})

	t.Run("redirections_as_words", func(t *testing.T) {
		for _, c := range []struct{ flags, args []string }{
			{[]string{"-k"}, []string{"wc", "-c", "<", "{}", "&&", "echo", "done", "{}", ":::", "f1", "f2"}},
			{[]string{"-k"}, []string{"ls", "{}", "2>&1", "||", "echo", "no", "{}", ":::", "f1", "none"}},
			// man parallel's example: [ ] then "||" is a shell's, as what [ compares is not.
			{[]string{"-k"}, []string{"[", "-f", "{1}:{2}", "]", "||", "echo", "{1}:{2}", "does", "not", "exist", ":::", "f1", "a", ":::", "x", "y"}},
			{[]string{"-k"}, []string{"test", "-e", "{}", "&&", "echo", "has", "{}", ":::", "f1", "none"}},
			// parallel_tutorial: perl -e \''print "@ARGV\n"'\' ::: This works, too: a word quoted
			// whole is for parallel's shell to unquote.
			{[]string{"-k"}, []string{"perl", "-e", `'print "@ARGV\n"'`, ":::", "This", "works,", "too"}},
			{[]string{"-k"}, []string{"echo", `'x  y'`, "{}", ":::", "a", "b"}},
		} {
			sameAs(t, nil, c.flags, c.args...)
		}
		writeFile(t, filepath.Join(h.dir, "bars"), "a|b|c\n", 0o644)
		same(t, []string{"-k"}, "cut", "-d", "|", "-f2", "{}", ":::", "bars")
		// A redirection glued to a target made of a replacement string is the shell's too, as parallel
		// runs it; a > before an option's word is that option's value (cut -d '>' -f2); a lone > whose
		// target is the input itself (grep -c '>' {}, written for parallel -q, which counts FASTA
		// records) is refused, naming --quote, which is parallel's -q: every word as it is. The
		// input is never written over.
		for _, c := range [][]string{
			{"sh", "-c", "echo $1; echo e$1 >&2", "_", "{}", "2>/dev/null", ":::", "a", "b"},
			{"echo", "{}", "2>&1", ":::", "a"},
		} {
			sameAs(t, nil, []string{"-k"}, c...)
		}
		fa := filepath.Join(h.dir, "x.fa")
		writeFile(t, fa, ">s1\nACGT\n>s2\nAC\n", 0o644)
		if b := h.burstMap(nil, []string{"-k"}, "grep", "-c", ">", "{}", ":::", fa); b.code != 255 || !strings.Contains(b.stderr, "add --quote") {
			t.Errorf("grep -c '>' {}: want it refused, naming --quote: exit %d, stderr %q", b.code, b.stderr)
		}
		p := parallelRun(t, h.dir, nil, "-q", "-k", "grep", "-c", ">", "{}", ":::", fa)
		if b := h.burstMap(nil, []string{"-k", "--quote"}, "grep", "-c", ">", "{}", ":::", fa); b.code != p.code || b.stdout != p.stdout || p.stdout != "2\n" {
			t.Errorf("grep -c '>' {}: parallel -q printed %q (exit %d); burst map --quote %q (exit %d)", p.stdout, p.code, b.stdout, b.code)
		}
		same(t, []string{"-k"}, "cut", "-d", ">", "-f2", "{}", ":::", fa)
		if data, err := os.ReadFile(fa); err != nil || len(data) != 16 {
			t.Errorf("grep -c '>' {} changed its input: %q, %v", data, err)
		}
		p = parallelRun(t, h.dir, nil, "-q", "-k", "echo", "{}", ">", "{}.txt", ":::", "a")
		if b := h.burstMap(nil, []string{"-k", "--quote"}, "echo", "{}", ">", "{}.txt", ":::", "a"); b.code != p.code || b.stdout != p.stdout || p.stdout != "a > a.txt\n" {
			t.Errorf("--quote: parallel -q printed %q (exit %d); burst map --quote %q (exit %d)", p.stdout, p.code, b.stdout, b.code)
		}
		dir := t.TempDir()
		for _, redir := range [][]string{{">", filepath.Join(dir, "{}.txt")}, {">" + filepath.Join(dir, "{}.glued")}} {
			b := h.burstMap(nil, []string{"-k"}, append(append([]string{"echo", "{}"}, redir...), ":::", "a", "b")...)
			ext := filepath.Ext(redir[len(redir)-1])
			for _, in := range []string{"a", "b"} {
				if got, err := os.ReadFile(filepath.Join(dir, in+ext)); b.code != 0 || b.stdout != "" || string(got) != in+"\n" {
					t.Errorf("echo {} %q: %s%s = %q, %v; burst exit %d stdout %q", redir, in, ext, got, err, b.code, b.stdout)
				}
			}
		}
	})

	// man parallel, --quote (-q): "Quote command. If your command contains special characters that
	// should not be interpreted by the shell ... use -q". A command line copied from a script runs
	// as it is, burst map for parallel (no -- added): -q alone, in a cluster (-kq, -qk) and beside
	// -k. The wanted outputs are what parallel 20221122 printed; each is checked against a run of it.
	t.Run("q_is_quote", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"-q", "echo", "$HOME", ":::", "a"}, "$HOME a\n"},
			{[]string{"-q", "echo", "a;b", ":::", "x"}, "a;b x\n"},
			{[]string{"-q", "printf", `%s\n`, "*", ":::", "x"}, "*\nx\n"},
			{[]string{"-kq", "echo", "$HOME", "{}", ":::", "a", "b"}, "$HOME a\n$HOME b\n"},
			{[]string{"-qk", "echo", "$(echo hi)", ">", "out", ":::", "a"}, "$(echo hi) > out a\n"},
			{[]string{"-q", "-k", "echo", "a;b", "{}", ":::", "a", "b"}, "a;b a\na;b b\n"},
		} {
			p := parallelRun(t, h.dir, nil, c.args...)
			b := h.exec(h.command(append([]string{"map"}, c.args...)...))
			if p.code != 0 || p.stdout != c.want || b.code != p.code || b.stdout != p.stdout || taskStderr(b.stderr) != p.stderr {
				t.Errorf("%q: parallel exit %d stdout %q stderr %q (want %q); burst map exit %d stdout %q stderr %q",
					c.args, p.code, p.stdout, p.stderr, c.want, b.code, b.stdout, b.stderr)
			}
		}
		if _, err := os.Stat(filepath.Join(h.dir, "out")); err == nil {
			t.Errorf("-qk echo ... '>' out: a file out was written; -q passes > as a word")
		}
	})

	// A function exported with bash's export -f, called as a command (parallel's manual: "export -f
	// my_func; parallel my_func ::: 1 2 3"): run by bash, even where $SHELL is sh.
	t.Run("exported_bash_function", func(t *testing.T) {
		fn := "BASH_FUNC_my_func%%=() {  echo \"f [$1]\"\n}"
		env := []string{fn, "SHELL=/bin/bash"}
		args := []string{"my_func", ":::", "a", "b c"}
		p := parallelRun(t, h.dir, env, append([]string{"-k"}, args...)...)
		for _, shell := range []string{"/bin/bash", "/bin/sh"} {
			b := h.burstMap([]string{fn, "SHELL=" + shell}, []string{"-k"}, args...)
			if b.code != p.code || b.stdout != p.stdout || p.stdout != "f [a]\nf [b c]\n" {
				t.Errorf("an exported function, SHELL=%s: parallel exit %d stdout %q; burst exit %d stdout %q stderr %q",
					shell, p.code, p.stdout, b.code, b.stdout, b.stderr)
			}
		}
	})

}

// TestMapAsGNUParallelOutput: the third part of TestMapAsGNUParallel (--trim, --delay, --tag, --verbose,
// --halt, --timeout, exit status, output modes, --header, --results).
func TestMapAsGNUParallelOutput(t *testing.T) {
	t.Parallel()
	h, _, _, empty, sameAs, same := newParallelLab(t)
	// man parallel, --trim: "Trim white space in input. n No trim ... l Left trim ... r Right trim ...
	// lr/rl Both"; with --colsep it trims each column, lr unless given.
	t.Run("trim", func(t *testing.T) {
		lines := filepath.Join(h.dir, "ws")
		writeFile(t, lines, " x \n\t y\t\n", 0o644)
		for _, trim := range []string{"l", "r", "lr", "rl", "n"} {
			same(t, []string{"-k", "--trim", trim}, "printf", "[%s]\n", ":::", " a ", "\tb \t", "c", ":::", " 1")
			same(t, []string{"-k", "--trim", trim}, "printf", "[%s]\n", "::::", lines)
			same(t, []string{"-k", "--trim", trim, "--colsep", ","}, "printf", "[%s]", "{1}", "{2}", ":::", " a , b ")
		}
	})

	// man parallel, --delay duration: "Delay starting next job by duration. GNU parallel will not start
	// another job for the next duration." Four tasks with room for all at once start spread over at least
	// three delays (each task prints when it started); the outputs are parallel's.
	t.Run("delay", func(t *testing.T) {
		same(t, []string{"-k", "--delay", "0.1"}, "echo", ":::", "a", "b")
		r := h.exec(h.command("map", "--quiet", "-k", "-j", "4", "--delay", "0.5", "--", "sh", "-c", "date +%s.%N", "_", "{}", ":::", "1", "2", "3", "4"))
		var starts []float64
		for _, l := range strings.Fields(r.stdout) {
			if f, err := strconv.ParseFloat(l, 64); err == nil {
				starts = append(starts, f)
			}
		}
		slices.Sort(starts)
		if r.code != 0 || len(starts) != 4 {
			t.Fatalf("burst map --delay 0.5 of 4 tasks: %s", r)
		}
		// 1.5 s between the first start and the last, less what the first
		// process's own start may have lagged behind its dispatch.
		if span := starts[3] - starts[0]; span < 1.3 {
			t.Errorf("4 tasks with --delay 0.5 started within %.2f s (%v): not spaced", span, starts)
		}
	})

	// man parallel's synopsis, "parallel [options] [command [arguments]] ( ::: arguments ...": no --
	// before the command; the options end at the command, whose own -flags are its own.
	t.Run("command_without_dashes", func(t *testing.T) {
		for _, args := range [][]string{
			{"-k", "echo", "{}", ":::", "a", "b"},
			{"-k", "echo", "-n", "{}.", ":::", "a", "b"},
			{"-j", "1", "printf", "%s-%s\n", "-k", ":::", "x"},
			{"-k", "sh", "-c", "echo $0", "{}", ":::", "-j", "2"},
		} {
			p := parallelRun(t, h.dir, nil, append([]string{"-q"}, args...)...)
			b := h.exec(h.command(append([]string{"map"}, args...)...))
			if b.code != p.code || b.stdout != p.stdout || taskStderr(b.stderr) != p.stderr {
				t.Errorf("without --, %q: parallel exit %d stdout %q stderr %q; burst exit %d stdout %q stderr %q",
					args, p.code, p.stdout, p.stderr, b.code, b.stdout, taskStderr(b.stderr))
			}
		}
	})

	// man parallel, --tagstring str: "Tag lines with a string. Each output line will be prepended with str
	// and TAB (\t). str can contain replacement strings such as {}."
	t.Run("tag", func(t *testing.T) {
		same(t, []string{"-k", "--tag"}, "sh", "-c", `echo "$1 $2"; echo "e$1" >&2; printf 'x\ny\n'`, "_", ":::", "a", "b c", ":::", "1")
		same(t, []string{"-k", "-j", "1", "--tagstring", "[{1}|{2}|{#}|{%}|{1.}|{}]"}, "sh", "-c", `echo "$1"; echo e >&2`, "_", ":::", "a.x", "b c", ":::", "1")
		same(t, []string{"-k", "--colsep", ",", "--tagstring", "{2}"}, "echo", ":::", "a,b")
		same(t, []string{"-k", "--tagstring", ""}, "echo", ":::", "a")
		same(t, []string{"-k", "--tag", "--tagstring", "T"}, "echo", ":::", "a")
		same(t, []string{"--dry-run", "--tagstring", "{/.}"}, "echo", ":::", "d/e.f")
		// Under -X and -N, parallel fills STR as a command's words: each word holding {} once for each
		// input of the task (-N2 'x{} {}y' on a b: "xa xb ay by"), the spaces between words kept.
		for _, flags := range [][]string{{"-N2"}, {"-n2"}, {"-X", "-j1"}, {"-m", "-j1"}} {
			same(t, append([]string{"-k", "--tagstring", "x{} n{#}{.}  {}y p{2}"}, flags...), "echo", ":::", "a.1", "b", "c")
		}
	})

	// man parallel, --verbose (-t): "Print the job to be run on stderr (standard error)". parallel 20221122
	// prints it as the job starts, on its own stderr: before the job's output (its stdout and stderr on one
	// pipe, as on a terminal), without --tag's or --tagstring's tag, and not saved in --results' files;
	// with --dry-run, on stderr before the line on stdout.
	t.Run("verbose_before_output", func(t *testing.T) {
		// together runs parallel -q and burst map with flags on cmd, stdout and stderr on one pipe each
		// (the order they were written in), and fails t unless they agree and parallel printed want.
		together := func(flags, cmd []string, want string) {
			pc := exec.Command("parallel", append(append([]string{"--will-cite", "-q"}, flags...), cmd...)...)
			pc.Dir, pc.Env = h.dir, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + parallelHome}
			var p, b strings.Builder
			pc.Stdout, pc.Stderr = &p, &p
			if err := pc.Run(); err != nil {
				t.Skipf("parallel %q: %v", flags, err)
			}
			bc := h.command(append(append(append([]string{"map"}, flags...), "--"), cmd...)...)
			bc.Stdout, bc.Stderr = &b, &b
			if err := bc.Run(); err != nil {
				t.Fatalf("burst map %q: %v\n%s", flags, err, b.String())
			}
			if got := taskStderr(b.String()); got != p.String() || !strings.Contains(p.String(), want) {
				t.Errorf("%q, stdout and stderr together:\nparallel %q\nburst    %q", flags, p.String(), got)
			}
		}
		cmd := []string{"sh", "-c", "echo e$1 >&2; echo o$1", "_", "{}", ":::", "a", "b"}
		for _, flags := range [][]string{{"--verbose"}, {"--verbose", "--tag"}, {"--verbose", "--tagstring", "{#}"}, {"-v", "--tag"}, {"--dry-run", "--verbose", "--tag"}} {
			together(append([]string{"-k", "-j1"}, flags...), cmd, "b")
		}
		// -j 2: each command as its job starts, so both first, and the third's after the output of the
		// one whose end let it start (parallel 20221122: cmd 3, cmd 1, o1, cmd 0, o0, o3); with -k too,
		// before any output.
		slow := []string{"sh", "-c", "sleep $1; echo o$1", "_", ":::", "3", "1", "0"}
		together([]string{"-j2", "--verbose"}, slow, "o3\n")
		together([]string{"-j2", "-k", "--verbose"}, slow, "o3\n")
		// Both start at once, the first ends first: with -k too, the second's command comes before the
		// first's output (parallel 20221122: cmd 2, cmd 3, o2, o3). The first sleeps 2 s: one that ended
		// at once ended, on a loaded machine, before parallel itself had started the second (cmd 0, o0,
		// cmd 1, o1 from parallel in one CI run).
		together([]string{"-j2", "-k", "--verbose"}, []string{"sh", "-c", "sleep $1; echo o$1", "_", ":::", "2", "3"}, "o3\n")
		pd, bd := filepath.Join(h.dir, "vres", "p"), filepath.Join(h.dir, "vres", "b")
		p := parallelRun(t, h.dir, nil, "-q", "--verbose", "--results", pd, "echo", ":::", "a")
		b := h.burstMap(nil, []string{"--verbose", "--results", bd}, "echo", ":::", "a")
		if pt, bt := tree(t, pd), tree(t, bd); taskStderr(b.stderr) != p.stderr || len(pt) == 0 || !maps.Equal(pt, bt) {
			t.Errorf("--verbose --results: parallel stderr %q saved %v\nburst stderr %q saved %v", p.stderr, pt, taskStderr(b.stderr), bt)
		}
	})

	// man parallel, --halt: "now: kill all running jobs ... soon: wait for all running jobs to
	// complete, but start no new jobs"; fail=N or N%; the exit status as parallel 20221122 gives it
	// (fail=1: the failing job's; N%: the share that failed). On stderr, parallel names each job its
	// --halt counts as it ends ("parallel: This job failed:", then its command; "succeeded" with
	// success=, "finished" with done=), as burst does ("burst: This job failed:"), and with soon,
	// from the job that reaches the limit on, how many still run where any do ("Starting no more
	// jobs. Waiting for 2 jobs to finish."); the rest of their stderr differs (burst's summary).
	// With tasks beside each other, two that sleep as long end in either order: sorted then.
	said := func(stderr, prefix string, sorted bool) string {
		var out []string
		ls := strings.SplitAfter(stderr, "\n")
		for i, l := range ls {
			if strings.HasPrefix(l, prefix+"This job ") && i+1 < len(ls) {
				out = append(out, strings.TrimPrefix(l, prefix)+ls[i+1])
			}
			if strings.HasPrefix(l, prefix+"Starting no more jobs.") {
				out = append(out, strings.TrimPrefix(l, prefix))
			}
		}
		if sorted {
			slices.Sort(out)
		}
		return strings.Join(out, "")
	}
	t.Run("halt", func(t *testing.T) {
		for _, c := range []struct {
			j, halt   string
			in        []string
			unordered bool // without -k (with it, parallel prints nothing after a job it killed)
		}{{"1", "now,fail=1", nil, false}, {"1", "soon,fail=1", nil, false}, {"1", "now,fail=2", nil, false}, {"1", "2", nil, false}, {"1", "never", nil, false},
			{"1", "now,fail=30%", nil, false}, {"1", "soon,fail=50%", nil, false}, {"2", "soon,fail=1", nil, false},
			{"1", "now,fail=50%", []string{"1", "1", "0", "0"}, false}, {"1", "soon,fail=50%", []string{"0", "1", "0"}, false},
			// -j 2: 4 is running, and has printed, when 3 fails: now kills it, and neither prints it.
			{"2", "now,fail=1", []string{"4", "3"}, true},
			// -j 3: 2's failure (at 1 s) reaches the limit while 5 and 4 run; soon lets them end,
			// failing, and the exit status stays the one parallel fixed when it halted (2, 50).
			{"3", "soon,fail=2", []string{"1", "2", "5", "4"}, false}, {"3", "soon,fail=50%", []string{"1", "2", "5", "4"}, false},
			{"3", "50%", []string{"1", "2", "5", "4"}, false},
			// success=N and done=N: stop once N succeeded, or ended; the exit status is 0 on a
			// success= halt, else the number that failed (N%: their share, rounded up, halted or not).
			{"1", "now,success=1", []string{"3", "0", "4"}, false}, {"1", "soon,success=2", nil, false}, {"1", "now,done=2", nil, false},
			{"1", "-1", []string{"2", "0", "0"}, false}, {"1", "-2", []string{"2", "2"}, false}, {"1", "now,success=50%", nil, false},
			{"1", "soon,done=60%", nil, false}, {"1", "now,success=9", nil, false}, {"1", "soon,done=60%", []string{"0", "3", "0", "4", "0", "0"}, false},
			{"1", "now,success=40%", []string{"3", "4", "5", "0", "6"}, false}, {"1", "now,done=50%", []string{"0", "0"}, false},
			{"1", "soon,success=100%", []string{"0", "3", "0"}, false}, {"1", "now,done=2", []string{"3", "4", "0"}, false},
			// done= fixes the status when it halts: the failures then (their share with P%), or the
			// halting task's own where it counts one; what soon lets end after changes nothing.
			{"1", "now,done=1", []string{"3", "0"}, false}, {"1", "now,done=50%", []string{"3", "0"}, false},
			{"3", "soon,done=2", []string{"0", "3", "5", "4"}, false},
			{"3", "soon,done=50%", []string{"0", "3", "5", "4"}, false},
			// -j 3: 0 succeeds at once while 5 and 4 run (2 s); soon lets them end, failing, and
			// starts no more; now kills them.
			{"3", "soon,success=1", []string{"5", "4", "0", "6"}, false}, {"3", "now,success=1", []string{"5", "4", "0", "6"}, true}} {
			in := c.in
			if in == nil {
				in = []string{"0", "3", "0", "4", "0"}
			}
			// With -j 1 the tasks run one after another whatever they
			// take; with more, they sleep so that which have started when
			// one fails is the same for both tools.
			script := "echo $1; exit $1"
			if c.j != "1" {
				script = "echo started $1; sleep $(( $1 / 2 )); " + script
			}
			args := append([]string{"sh", "-c", script, "_", ":::"}, in...)
			flags := []string{"-k", "-j", c.j, "--halt", c.halt}
			if c.unordered {
				flags = flags[1:]
			}
			p := parallelRun(t, h.dir, nil, append([]string{"-q"}, append(flags, args...)...)...)
			b := h.burstMap(nil, flags, args...)
			if b.code != p.code || b.stdout != p.stdout || said(b.stderr, "burst: ", c.j != "1") != said(p.stderr, "parallel: ", c.j != "1") {
				t.Errorf("-j %s --halt %s: parallel exit %d stdout %q stderr %q; burst exit %d stdout %q stderr %q", c.j, c.halt, p.code, p.stdout, p.stderr, b.code, b.stdout, b.stderr)
			}
		}
	})

	// man parallel, --timeout duration: "If the command runs for longer than duration seconds it will
	// get killed"; a killed job counts as failed. parallel 20221122 says so on stderr, two lines for each
	// ("parallel: Warning: This job was killed because it timed out:", then its command, {%} filled),
	// which burst says as "burst: warning: " (and then its own summary).
	t.Run("timeout", func(t *testing.T) {
		for _, results := range []bool{false, true} {
			// -j 1: one slot, {%} 1 for both; with two, parallel's slot for the second is
			// whichever the first has freed by then, or not (its own timing).
			flags, pflags := []string{"-k", "-j", "1"}, []string{"-k", "-j", "1"}
			if results {
				flags, pflags = append(flags, "--results", "tres/b"), append(pflags, "--results", "tres/p")
			}
			args := []string{"sh", "-c", "sleep $1; echo $1", "_", "{}", "{%}", ":::", "0", "3"}
			p := parallelRun(t, h.dir, nil, append(append([]string{"-q", "--timeout", "1"}, pflags...), args...)...)
			b := h.burstMap(nil, append([]string{"--timeout", "1"}, flags...), args...)
			var warned []string
			for _, l := range strings.SplitAfter(b.stderr, "\n") {
				if strings.HasPrefix(l, "burst: warning: ") {
					warned = append(warned, l)
				}
			}
			pw := strings.ReplaceAll(p.stderr, "parallel: Warning: ", "burst: warning: ")
			if b.code != p.code || b.stdout != p.stdout || strings.Join(warned, "") != pw || !strings.Contains(pw, "timed out") {
				t.Errorf("--timeout 1 %q: parallel exit %d stdout %q stderr %q; burst exit %d stdout %q stderr %q", flags, p.code, p.stdout, p.stderr, b.code, b.stdout, b.stderr)
			}
		}
	})

	// man parallel, --timeout: "If duration is followed by a % then the timeout will dynamically be
	// computed as a percentage of the median average runtime of successful jobs." One at a time, the
	// first three succeed in about 1 s; the fourth, 8 s long, is killed at twice their median (burst
	// rounds the limit up to a whole second: 3 s), before it prints: both print the three and exit 1
	// (one failed). A map with no success yet has no limit: its one task ends.
	t.Run("timeout_pct", func(t *testing.T) {
		args := []string{"sh", "-c", "sleep $1; echo $1", "_", ":::", "1", "1", "1", "8"}
		p := parallelRun(t, h.dir, nil, append([]string{"-q", "-k", "-j", "1", "--timeout", "200%"}, args...)...)
		b := h.burstMap(nil, []string{"-k", "-j", "1", "--timeout", "200%"}, args...)
		if b.code != p.code || b.stdout != p.stdout || p.code != 1 {
			t.Errorf("--timeout 200%%: parallel exit %d stdout %q; burst exit %d stdout %q", p.code, p.stdout, b.code, b.stdout)
		}
		if !strings.Contains(b.stderr, "1 timed out") {
			t.Errorf("--timeout 200%%: burst's stderr should say a task timed out: %q", b.stderr)
		}
		first := []string{"sh", "-c", "sleep $1; echo $1", "_", ":::", "2"}
		p = parallelRun(t, h.dir, nil, append([]string{"-q", "--timeout", "10%"}, first...)...)
		b = h.burstMap(nil, []string{"--timeout", "10%"}, first...)
		if b.code != p.code || b.stdout != p.stdout || p.code != 0 {
			t.Errorf("--timeout 10%% of one task: parallel exit %d stdout %q; burst exit %d stdout %q", p.code, p.stdout, b.code, b.stdout)
		}
	})

	// No input runs nothing, and parallel exits 0; an empty source beside others that are not gives
	// one empty value (as parallel 20221122 does).
	t.Run("empty_input", func(t *testing.T) {
		same(t, nil, "echo", "{}", "::::", empty)
		same(t, nil, "echo", "{}", ":::")
		same(t, []string{"-k"}, "echo", "[{1}]", "[{2}]", ":::", "a", "b", "::::", empty)
		same(t, []string{"-k"}, "echo", "[{1}]", "[{2}]", ":::", ":::", "a", "b")
		// man parallel, -r: "If the stdin only contains whitespace, do not run the command": each input
		// that is empty or white space is skipped, in each group.
		blanks := filepath.Join(h.dir, "blanks")
		writeFile(t, blanks, "a\n\n  \t\nb\n", 0o644)
		same(t, []string{"-k", "-r"}, "echo", "x{}x", ":::", "a", "", " ", "b")
		same(t, []string{"-k", "-r"}, "echo", "x{1}x{2}x", "::::", blanks, ":::", "1", "", "2")
		same(t, []string{"-k", "-r"}, "echo", "x{}x", "::::", blanks)
	})

	// man parallel, EXIT STATUS: "1-100 Some of the jobs failed. The exit status gives the number of
	// failed jobs. 101 More than 100 jobs failed."
	t.Run("exit_status", func(t *testing.T) {
		same(t, nil, "sh", "-c", `exit $(( $1 % 2 ))`, "_", "{}", ":::", "1", "2", "3", "4", "5")
		// One task: the count of those that failed (1), not its own status.
		same(t, nil, "sh", "-c", `exit $1`, "_", "{}", ":::", "4")
		same(t, nil, "sh", "-c", `kill -9 $$`, ":::", "x")
		var many []string
		for i := range 102 {
			many = append(many, "x"+string(rune('a'+i%26)))
		}
		same(t, []string{"-j", "16"}, append([]string{"false", ":::"}, many...)...)
	})

	// man parallel, --group: "Output from each job is grouped together and is only printed when the
	// command is finished. Stdout (standard output) first followed by stderr". With -k in input order.
	t.Run("grouped_output", func(t *testing.T) {
		same(t, []string{"-k"}, "sh", "-c", `echo "o $1"; echo "e $1" >&2; echo "o2 $1"`, "_", ":::", "a", "b", "c")
	})

	// A command given as one string is shell text, and parallel quotes each replacement string only
	// where it needs it (letters, digits and _ . + / - stay as they are): $(({}*2)) computes, a value
	// with a space or a quote stays one word, a plain one joins the text around it.
	t.Run("shell_quotes_as_parallel", func(t *testing.T) {
		env := []string{"SHELL=/bin/sh"}
		for _, tc := range [][]string{
			{`echo $(({}*2))`, ":::", "1", "2", "30"},
			{`printf '[%s]\n' {} x{}y`, ":::", "a b", "it's", "1", "a.b/c", "$HOME", ""},
		} {
			p := parallelRun(t, h.dir, env, append([]string{"-k"}, tc...)...)
			b := h.burstMap(env, []string{"-k", "--shell"}, tc...)
			if p.code != 0 || b.stdout != p.stdout || b.code != p.code {
				t.Errorf("%q: parallel printed %q (exit %d), burst map --shell %q (exit %d)", tc, p.stdout, p.code, b.stdout, b.code)
			}
		}
	})

	// man parallel, $PARALLEL_SHELL: the shell that runs the command is, failing the others, "$SHELL. If
	// undefined use: /bin/sh". (parallel's first choice, the shell that started it, is looked for among
	// its ancestors: make test starts go test through env, not a shell, so that from CI there is none
	// and $SHELL decides.)
	t.Run("shell_is_SHELL", func(t *testing.T) {
		bash, err := exec.LookPath("bash")
		if err != nil {
			if os.Getenv("BURST_CI") != "" {
				t.Fatal("no bash: BURST_CI is set and CI must not skip")
			}
			t.Skip("SKIPPED: no bash")
		}
		env := []string{"SHELL=" + bash}
		script := `echo ${BASH_VERSION:+bash} {}`
		p := parallelRun(t, h.dir, env, "-k", script, ":::", "a", "it's")
		b := h.burstMap(env, []string{"-k", "--shell"}, script, ":::", "a", "it's")
		if p.stdout != "bash a\nbash it's\n" || b.stdout != p.stdout || b.code != 0 {
			t.Errorf("SHELL=%s: parallel printed %q, burst map --shell %q (exit %d); want both %q", bash, p.stdout, b.stdout, b.code, "bash a\nbash it's\n")
		}
		// $PARALLEL_SHELL wins over $SHELL (man parallel, $PARALLEL_SHELL).
		env = []string{"SHELL=/bin/sh", "PARALLEL_SHELL=" + bash}
		p = parallelRun(t, h.dir, env, "-k", script, ":::", "a", "it's")
		b = h.burstMap(env, []string{"-k", "--shell"}, script, ":::", "a", "it's")
		if p.stdout != "bash a\nbash it's\n" || b.stdout != p.stdout || b.code != 0 {
			t.Errorf("PARALLEL_SHELL=%s: parallel printed %q, burst map --shell %q (exit %d); want both %q", bash, p.stdout, b.stdout, b.code, "bash a\nbash it's\n")
		}
		// A function exported with bash's export -f (parallel's tutorial:
		// "export -f my_func; parallel my_func ::: 1 2 3") is bash's to
		// call: its environment entry (BASH_FUNC_f%%) reaches the shell.
		env = []string{"SHELL=" + bash, "BASH_FUNC_myf%%=() {  echo \"f:$1\"\n}"}
		p = parallelRun(t, h.dir, env, "-k", "myf {}", ":::", "a", "b c")
		b = h.burstMap(env, []string{"-k", "--shell"}, "myf {}", ":::", "a", "b c")
		if p.stdout != "f:a\nf:b c\n" || b.stdout != p.stdout || b.code != 0 {
			t.Errorf("an exported function: parallel printed %q, burst map --shell %q (exit %d, %q); want both %q", p.stdout, b.stdout, b.code, b.stderr, "f:a\nf:b c\n")
		}
	})

	// man parallel, --jobs N: "+N Add N to the number of CPU threads. -N Subtract N from the number of
	// CPU threads. N% Multiply N% with the number of CPU threads." parallel's job slots ({%}) show how
	// many it ran at once; burst show says the map's cap.
	t.Run("jobs_counted_from_cpus", func(t *testing.T) {
		inputs := []string{":::", "1", "2", "3", "4", "5", "6"}
		forms := []string{"50%", "150%", "+1", "+0", "3"}
		if runtime.NumCPU() >= 2 {
			forms = append(forms, "-1") // on one CPU thread both refuse it
		}
		for k, j := range forms {
			flag := "-j"
			if k%2 == 1 {
				flag = "-P" // parallel's other name for it
			}
			p := parallelRun(t, h.dir, nil, append([]string{"-q", flag, j, "sh", "-c", "sleep 0.3; echo $1", "_", "{%}"}, inputs...)...)
			slots := map[string]bool{}
			for _, l := range strings.Fields(p.stdout) {
				slots[l] = true
			}
			b := h.burstMap(nil, []string{"-d", flag, j}, append([]string{"true"}, inputs...)...)
			if b.code != 0 {
				t.Fatalf("-j %s: %s", j, b)
			}
			show := h.mustRun("show", strings.TrimSpace(b.stdout))
			m := regexp.MustCompile(`At once:\s+at most (\d+) task`).FindStringSubmatch(show.stdout)
			if m == nil {
				t.Fatalf("-j %s: burst show says no cap:\n%s", j, show.stdout)
			}
			capped, _ := strconv.Atoi(m[1])
			if got, want := min(capped, len(inputs)-1), len(slots); p.code != 0 || got != want {
				t.Errorf("%s %s: burst caps the map at %d tasks at once; parallel ran %d at once (slots %v, exit %d)", flag, j, capped, want, slots, p.code)
			}
		}
		p := parallelRun(t, h.dir, nil, "-j", "-99", "true", ":::", "1")
		b := h.burstMap(nil, []string{"-j", "-99"}, "true", ":::", "1")
		if p.code != 255 || b.code != 255 || !strings.Contains(b.stderr, "no task to run") {
			t.Errorf("-j -99: parallel exit %d; burst exit %d %q; want both 255", p.code, b.code, b.stderr)
		}
	})

	// man parallel, -I replace-str: "Use the replacement string replace-str instead of {}"; -v: "Print
	// the job to be run on stdout"; --line-buffer, --ungroup: how output may mix, which with -k (and
	// for --ungroup one task at a time) and whole lines changes nothing printed.
	t.Run("replace_verbose_output_modes", func(t *testing.T) {
		same(t, []string{"-k", "-I", "%"}, "echo", "x%", "%", ":::", "a", "b c")
		same(t, []string{"-k", "-I", "#"}, "echo", "{#}", "#", "{.}", ":::", "a.b") // replacement strings keep theirs
		same(t, []string{"-k", "-v", "--tag"}, "echo", ":::", "a", "b")
		same(t, []string{"-k"}, "sh", "-c", "echo $PARALLEL_SEQ $1", "_", ":::", "a", "b") // {#}, as parallel sets it
		same(t, []string{"-k", "-v"}, "sh", "-c", "echo $1", "_", ":::", "it's", "b")
		same(t, []string{"-k", "--line-buffer"}, "echo", ":::", "a", "b")
		// parallel -u prints what tasks write as they write it, -k or not (here it once printed b before a):
		// run one at a time (-j1 for parallel alone), its order is the inputs', as burst map's is.
		sameAs(t, []string{"-j1"}, []string{"-k", "-u"}, "echo", ":::", "a", "b")
		// parallel's other spellings of its options (its options_hash): the same options.
		same(t, []string{"--keeporder", "--col-sep", ",", "--tag-string", "{2}", "--line-buffered"}, "echo", "{1}", ":::", "a,b", "c,d")
	})

	// man parallel, --header regexp: "the matched header (typically the first line) will be split using
	// --colsep (which will default to '\t') and column names can be used as replacement variables:
	// {column name}, {column name/}, ..."; "--header : is an alias for --header '.*\n'".
	t.Run("header", func(t *testing.T) {
		tsv, csv := filepath.Join(h.dir, "h.tsv"), filepath.Join(h.dir, "h.csv")
		writeFile(t, tsv, "name\tage\nann\t3\nbob\t4\n", 0o644)
		writeFile(t, csv, "x,y\n1,d/f.g\n3,4\n", 0o644)
		same(t, []string{"-k", "--header", ":"}, "echo", "{name}-{age}", "{2}", "::::", tsv)
		same(t, []string{"-k", "--header", ":", "--colsep", ","}, "echo", "{y/.}{x}", "{1}", "{y//}", "::::", csv)
		same(t, []string{"-k", "--header", ":"}, "echo", "{a}-{b}", ":::", "a", "1", "2", ":::", "b", "3")
		same(t, []string{"-k", "--header", ":"}, "echo", "{age}", "{b}", "::::", tsv, ":::", "b", "x")
		same(t, []string{"-k", "--header", ":", "--colsep", "(,)"}, "echo", "{y}", ":::", "x,y", "1,2")
		// parallel 20221122: split at tabs for --header alone, values keep their white space (only
		// --colsep makes --trim lr the default); the header line's \r is no name's, a value's stays;
		// any --header but 0 takes the first line, as : does (man parallel: "--header : is an alias
		// for --header '.*\n'").
		crlf, spaced := filepath.Join(h.dir, "crlf.tsv"), filepath.Join(h.dir, "spaced.tsv")
		writeFile(t, crlf, "name\tage\r\nann\t3\r\n", 0o644)
		writeFile(t, spaced, "h\tg\n a \t b\n", 0o644)
		same(t, []string{"-k", "--header", ":"}, "echo", "[{h}]", "[{g}]", "::::", spaced)
		same(t, []string{"-k", "--header", ":"}, "echo", "[{h}]", ":::", "h", " a ")
		same(t, []string{"-k", "--header", ":", "--colsep", `\t`}, "echo", "[{h}]", "[{g}]", "::::", spaced)
		same(t, []string{"-k", "--header", ":", "--trim", "l"}, "echo", "[{h}]", "[{g}]", "::::", spaced)
		same(t, []string{"-k", "--header", ":"}, "echo", "[{name}]", "[{age}]", "::::", crlf)
		same(t, []string{"-k", "--header", `.*\n`}, "echo", "{age}", "::::", tsv)
		same(t, []string{"-k", "--header", "x"}, "echo", "{name}", "::::", tsv)
		// man parallel: "--header 0 is special: It will make replacement strings for files given with
		// --arg-file or ::::. It will make {foo/bar} for the file foo/bar" (no line is a header; with
		// parallel 20221122 splits at tabs then, as with --header :, and numbers the files alone: a
		// ::: group before a file shifts it).
		same(t, []string{"-k", "--header", "0"}, "echo", "{"+csv+"}", "{2}", "{"+tsv+"}", "::::", tsv, ":::", "p", "::::", csv)
		same(t, []string{"-k", "--header", "0", "--colsep", ","}, "echo", "{"+csv+"}", "::::", csv)
		same(t, []string{"-k", "--header", "0", "-a", tsv}, "echo", "{"+tsv+"}", "{2}", "{x}", ":::", "q")
	})

	// man parallel, --results name: "If name does not contain replacement strings and does not end in
	// .csv/.tsv, the output will be stored in a directory tree rooted at name ... name/<ARGS>/stdout
	// and name/<ARGS>/stderr, name/<ARGS>/seq"; "If name contains a replacement string and the replaced
	// result does not end in /, then the standard output will be stored in a file named by this result.
	// Standard error ... with '.err' added, and the sequence number ... with '.seq' added"; ending in /,
	// a directory. parallel 20221122 prints nothing of what it saves.
	t.Run("results", func(t *testing.T) {
		cmd := []string{"sh", "-c", "echo o$1; echo e$2 >&2", "_"}
		for i, c := range [][]string{
			{"out", ":::", "a", "b/c", "..", `x\y`, "", strings.Repeat("z", 300), ":::", "1", "2"},
			{"named", "--header", ":", ":::", "n", "p", "q", ":::", "m", "3"},
			{"my_{}/", ":::", "x", "y"},
			{"f/{1}.txt", ":::", "x", "y", ":::", "1"},
			{"sorted", "--header", ":", ":::", "10", "a", ":::", "9", "b", ":::", "x", "c"},
			{"r_{n}", "--header", ":", ":::", "n", "a", "b"},
			{"tab", ":::", "a\tb"},
			{"chunks", "-N", "2", ":::", "a", "b", "c"},
			{"verbose", "-v", ":::", "a"},
		} {
			name, rest := c[0], c[1:]
			flags := []string{"-k"}
			if rest[0] != ":::" {
				flags, rest = append(flags, rest[:len(rest)-len(rest[slices.Index(rest, ":::"):])]...), rest[slices.Index(rest, ":::"):]
			}
			pd, bd := filepath.Join(h.dir, "pres", strconv.Itoa(i)), filepath.Join(h.dir, "bres", strconv.Itoa(i))
			args := append(append([]string(nil), cmd...), rest...)
			p := parallelRun(t, h.dir, nil, append(append([]string{"-q", "--results", filepath.Join(pd, name)}, flags...), args...)...)
			b := h.burstMap(nil, append([]string{"--results", filepath.Join(bd, name)}, flags...), args...)
			pt, bt := tree(t, pd), tree(t, bd)
			if b.code != p.code || b.stdout != p.stdout || len(pt) == 0 || !maps.Equal(pt, bt) {
				t.Errorf("--results %s %q: parallel exit %d stdout %q saved %v\nburst exit %d stdout %q saved %v", name, rest, p.code, p.stdout, pt, b.code, b.stdout, bt)
			}
		}
		// With --lb (--line-buffer), parallel 20221122 prints the path of each job's stdout file
		// (its --tag first), joined as it joins them (NAME/ gives NAME//1/a/stdout): parallel -k --lb
		// --results out echo ::: a prints out/1/a/stdout.
		for _, c := range [][]string{{"lb"}, {"lbs/", "--tag"}, {"lb_{}/"}, {"lb_{1}.txt", "--tag"}} {
			flags := append([]string{"-k", "--lb"}, c[1:]...)
			args := append(append([]string(nil), cmd...), ":::", "a", "b/c", ":::", "1")
			p := parallelRun(t, h.dir, nil, append(append([]string{"-q", "--results", "plb/" + c[0]}, flags...), args...)...)
			b := h.burstMap(nil, append([]string{"--results", "blb/" + c[0]}, flags...), args...)
			if b.code != p.code || p.stdout == "" || strings.ReplaceAll(b.stdout, "blb/", "plb/") != p.stdout {
				t.Errorf("--lb --results %s: parallel exit %d stdout %q; burst exit %d stdout %q", c, p.code, p.stdout, b.code, b.stdout)
			}
		}
		if pt, bt := tree(t, filepath.Join(h.dir, "plb")), tree(t, filepath.Join(h.dir, "blb")); len(pt) == 0 || !maps.Equal(pt, bt) {
			t.Errorf("--lb --results: parallel saved %v\nburst saved %v", pt, bt)
		}
	})
}

// newParallelLab is a harness whose server has started, files f1 (x, y),
// f2 (1, 2, 3) and empty in its directory, and sameAs, which runs
// burst map with flags and args and GNU parallel with parallelFlags too
// (-q: each input one argument, as burst's) in that directory and fails t
// unless exit status, stdout and the tasks' stderr agree; same is sameAs
// with -q. TestMapAsGNUParallel's three parts each make one, so that they
// run beside each other and other tests, not one after another.
func newParallelLab(t *testing.T) (h *harness, f1, f2, empty string, sameAs func(t *testing.T, parallelFlags, flags []string, args ...string), same func(t *testing.T, flags []string, args ...string)) {
	h = newHarness(t)
	h.jobsJSON() // start the server first: its note is not the map's
	f1, f2, empty = filepath.Join(h.dir, "f1"), filepath.Join(h.dir, "f2"), filepath.Join(h.dir, "empty")
	writeFile(t, f1, "x\ny\n", 0o644)
	writeFile(t, f2, "1\n2\n3\n", 0o644)
	writeFile(t, empty, "", 0o644)
	sameAs = func(t *testing.T, parallelFlags, flags []string, args ...string) {
		t.Helper()
		p := parallelRun(t, h.dir, nil, append(append(parallelFlags, flags...), args...)...)
		b := h.burstMap(nil, flags, args...)
		if b.code != p.code || b.stdout != p.stdout || taskStderr(b.stderr) != p.stderr {
			t.Errorf("burst map and GNU parallel differ on %q:\nparallel: exit %d, stdout %q, stderr %q\nburst:    exit %d, stdout %q, stderr %q",
				append(flags, args...), p.code, p.stdout, p.stderr, b.code, b.stdout, taskStderr(b.stderr))
		}
	}
	same = func(t *testing.T, flags []string, args ...string) {
		t.Helper()
		sameAs(t, []string{"-q"}, flags, args...)
	}
	return h, f1, f2, empty, sameAs, same
}

// man parallel, --resume: "Resumes from the last unfinished job. By reading --joblog ... GNU parallel will figure
// out the last unfinished job and continue from there"; --resume-failed: "Retry all failed and resume from the
// last unfinished job". parallel 20221122 runs the jobs its joblog has no line for (and, with --resume-failed,
// those whose line says they failed), each keeping its number ({#}), and appends to the joblog.
func TestMapResumeFromJoblogAsGNUParallel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	args := []string{"sh", "-c", "echo $1 $2 $3 $PARALLEL_SEQ; exit $2", "_", "{1}", "{2}", "{#}", ":::", "a", "b", "c", ":::", "0", "1"}
	first := filepath.Join(h.dir, "first.joblog")
	if p := parallelRun(t, h.dir, nil, append([]string{"-q", "--joblog", first}, args...)...); p.code != 3 {
		t.Fatalf("the first run: %s", p)
	}
	data, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	// Keep the header and the lines of tasks 1, 4 and 6: 2, 3 and 5 are left (4 and 6 failed).
	var kept []string
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if f := strings.SplitN(l, "\t", 2); f[0] == "Seq" || f[0] == "1" || f[0] == "4" || f[0] == "6" {
			kept = append(kept, l)
		}
	}
	for _, flag := range []string{"--resume", "--resume-failed"} {
		pl, bl := filepath.Join(h.dir, "p"+flag), filepath.Join(h.dir, "b"+flag)
		writeFile(t, bl, strings.Join(kept, ""), 0o644)
		// parallel itself, on a loaded machine, once left a job its joblog
		// had no line for to the next --resume (ran 2 and 3, not 5): its
		// run is taken again, once, when it ran fewer jobs than it had
		// lines left to run, and said so.
		var p result
		for try := range 2 {
			writeFile(t, pl, strings.Join(kept, ""), 0o644)
			p = parallelRun(t, h.dir, nil, append([]string{"-q", "-k", "--joblog", pl, flag}, args...)...)
			if n := len(joblogColumns(t, pl, 0)) - 1; n >= 6 || try == 1 {
				break
			}
			t.Logf("%s: GNU parallel's joblog holds %d jobs of 6 after its run: running it again", flag, len(joblogColumns(t, pl, 0))-1)
		}
		b := h.burstMap(nil, []string{"-k", "--joblog", bl, flag}, args...)
		if b.code != p.code || b.stdout != p.stdout || p.stdout == "" {
			t.Errorf("%s: parallel exit %d stdout %q; burst exit %d stdout %q", flag, p.code, p.stdout, b.code, b.stdout)
		}
		seqs := func(path string) []string { return joblogColumns(t, path, 0, 6, 8) }
		if ps, bs := seqs(pl), seqs(bl); !slices.Equal(ps, bs) {
			t.Errorf("%s: the joblogs differ (Seq|Exitval|Command):\nparallel %q\nburst    %q", flag, ps, bs)
		}
		if flag == "--resume" {
			// Run again: nothing is left, and both exit 0 running nothing.
			p = parallelRun(t, h.dir, nil, append([]string{"-q", "-k", "--joblog", pl, "--resume"}, args...)...)
			b = h.burstMap(nil, []string{"-k", "--joblog", bl, "--resume"}, args...)
			if p.code != 0 || b.code != 0 || b.stdout != p.stdout {
				t.Errorf("%s again: parallel exit %d %q; burst exit %d %q", flag, p.code, p.stdout, b.code, b.stdout)
			}
			continue
		}
		// The resumed map is a map like any other: its results name each
		// task's inputs (not its number), and burst's own --resume JOB runs
		// again what failed with the same inputs and numbers that
		// parallel's --resume-failed runs again.
		id := strings.TrimSuffix(strings.TrimPrefix(mapJobLine.FindString(b.stderr), "burst: job "), "\n")
		id, _, _ = strings.Cut(id, " ")
		res := h.mustRun("results", id, "-o", "json")
		var results []struct {
			Input []string `json:"input"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &results); err != nil || len(results) == 0 {
			t.Fatalf("burst results %s: %v\n%s", id, err, res.stdout)
		}
		for _, r := range results {
			if len(r.Input) != 2 {
				t.Errorf("burst results %s: a task's inputs %q, want its two ({1} and {2})", id, r.Input)
			}
		}
		// Each task left prints one line and fails, so parallel's exit
		// status counts its lines. A run whose lines and status disagree
		// (seen once here on a loaded host: 2 lines, exit 3) lost output
		// of its own; it is run again, from the joblog as it was.
		before, err := os.ReadFile(pl)
		if err != nil {
			t.Fatal(err)
		}
		for try := 1; ; try++ {
			p = parallelRun(t, h.dir, nil, append([]string{"-q", "-k", "--joblog", pl, flag}, args...)...)
			if strings.Count(p.stdout, "\n") == p.code || try == 3 {
				break
			}
			t.Logf("parallel %s printed %d lines and exited %d: running it again", flag, strings.Count(p.stdout, "\n"), p.code)
			writeFile(t, pl, string(before), 0o644)
		}
		b = h.run("map", "-k", "--resume", id)
		if b.code != p.code || b.stdout != p.stdout || p.stdout == "" {
			t.Errorf("burst map --resume %s after %s: exit %d %q; parallel %s again: exit %d %q", id, flag, b.code, b.stdout, flag, p.code, p.stdout)
		}
	}
	// Without --joblog, --resume with no job id names both fixes.
	if r := h.burstMap(nil, []string{"--resume"}, "echo", ":::", "a"); r.code != 255 || !strings.Contains(r.stderr, "--joblog") || !strings.Contains(r.stderr, "burst map --resume JOB") {
		t.Errorf("--resume without --joblog: %s", r)
	}
}

// A map made with --halt keeps it: `burst map --resume JOB` names each task
// the halt counts, with its command, and exits as parallel 20221122 does
// when --resume-failed runs the failed job again under the same --halt
// (parallel -j1 --halt soon,fail=1 --joblog log --resume-failed ... ::: 0 3 0 4 0,
// after a first run that stopped at 3: prints 3, "parallel: This job failed:",
// the command, and exits 3).
func TestMapResumeHaltAsGNUParallel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.jobsJSON() // start the server first: its note is not the map's
	args := []string{"sh", "-c", "echo $1; exit $1", "_", ":::", "0", "3", "0", "4", "0"}
	said := func(stderr, prefix string) string {
		var out []string
		ls := strings.SplitAfter(stderr, "\n")
		for i, l := range ls {
			if strings.HasPrefix(l, prefix+"This job ") && i+1 < len(ls) {
				out = append(out, strings.TrimPrefix(l, prefix)+ls[i+1])
			}
		}
		return strings.Join(out, "")
	}
	for _, halt := range []string{"soon,fail=1", "now,fail=1"} {
		log := filepath.Join(h.dir, "joblog-"+halt)
		flags := []string{"-k", "-j1", "--halt", halt}
		parallelRun(t, h.dir, nil, append(append([]string{"-q", "--joblog", log}, flags...), args...)...)
		p := parallelRun(t, h.dir, nil, append(append([]string{"-q", "--joblog", log, "--resume-failed"}, flags...), args...)...)
		first := h.burstMap(nil, flags, args...)
		id := strings.TrimSuffix(strings.TrimPrefix(mapJobLine.FindString(first.stderr), "burst: job "), "\n")
		id, _, _ = strings.Cut(id, " ")
		b := h.run("map", "-k", "--resume", id)
		if p.code != 3 || b.code != p.code || b.stdout != p.stdout || said(b.stderr, "burst: ") != said(p.stderr, "parallel: ") {
			t.Errorf("--halt %s, resumed: parallel exit %d stdout %q stderr %q; burst exit %d stdout %q stderr %q", halt, p.code, p.stdout, p.stderr, b.code, b.stdout, b.stderr)
		}
	}
}

// joblogColumns is each line of the joblog at path (its header too), the
// columns given joined by |.
func joblogColumns(t *testing.T, path string, cols ...int) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		f := strings.Split(l, "\t")
		if len(f) != 9 {
			t.Fatalf("%s: a line of %d fields: %q", path, len(f), l)
		}
		var keep []string
		for _, c := range cols {
			keep = append(keep, f[c])
		}
		out = append(out, strings.Join(keep, "|"))
	}
	return out
}

// tree is every file under dir, by its path from dir, with its contents.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(data)
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}
