package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/mapspec"
)

// dryRunMap runs burst map --dry-run with args (flags, then the command
// and inputs) and returns its stdout, stderr and exit status.
func dryRunMap(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return dryRunMapIn(t, nil, args...)
}

// dryRunMapIn is dryRunMap with env's variables set, and none of GNU
// parallel's defaults but env's (its config files in an empty $HOME).
func dryRunMapIn(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	t.Setenv("BURST_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	for _, k := range []string{"PARALLEL", "PARALLEL_CSH", "PARALLEL_HOME", "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS"} {
		t.Setenv(k, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code := Main(append([]string{"map", "--dry-run"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// dryRun is a map's arguments and what burst map --dry-run prints for them.
type dryRun struct {
	args []string
	want string
}

// wantDryRuns checks that each map's --dry-run exits 0 and prints its want.
func wantDryRuns(t *testing.T, cases []dryRun) {
	t.Helper()
	wantDryRunsIn(t, nil, cases)
}

// wantDryRunsIn is wantDryRuns with env's variables set (dryRunMapIn).
func wantDryRunsIn(t *testing.T, env map[string]string, cases []dryRun) {
	t.Helper()
	for _, c := range cases {
		out, errb, code := dryRunMapIn(t, env, c.args...)
		if code != 0 || out != c.want {
			t.Errorf("%v burst map --dry-run %q: exit %d, %q (stderr %q); want %q", env, c.args, code, out, errb, c.want)
		}
	}
}

// A command's words run in a shell when one is a redirection, && or ||
// (as GNU parallel runs every command in one), glued to its target too
// when that names the input ('>{.}.txt'); a > or < after an option is its
// value (grep -c '>' {}), and --quote (parallel's -q) passes every word as
// it is. The shell's script is printed as it is, the words of a command
// run without one each quoted.
func TestMapRedirectionWords(t *testing.T) {
	wantDryRuns(t, []dryRun{
		{[]string{"echo", "{}", ">", "{}.txt", ":::", "a"}, "echo a > a.txt\n"},
		{[]string{"echo", "{}", ">{.}.txt", ":::", "a.b"}, "echo a.b >a.txt\n"},
		{[]string{"samtools", "view", "{}", "2>/dev/null", ":::", "a"}, "samtools view a 2>/dev/null\n"},
		{[]string{"cmd", "{}", "2>>log.{#}", ":::", "a"}, "cmd a 2>>log.1\n"},
		{[]string{"wc", "-l", "<{}", ":::", "a"}, "wc -l <a\n"},
		{[]string{"cut", "-d", ">", "-f2", "{}", ":::", "x"}, "cut -d '>' -f2 x\n"},
		// A flag before a redirection leaves it one (it was taken for the
		// flag's value, and the output went to burst's log).
		{[]string{"sort", "-n", "{}", "-r", ">", "{}.sorted", ":::", "x"}, "sort -n x -r > x.sorted\n"},
		{[]string{"python3", "fit.py", "{}", "--quiet", ">", "out/{.}.txt", ":::", "x.csv"}, "python3 fit.py x.csv --quiet > out/x.txt\n"},
		{[]string{"wc", "-l", "<", "{}", ":::", "a"}, "wc -l < a\n"},
		{[]string{"cmd", "{}", "-v", "2>", "{}.err", ":::", "a"}, "cmd a -v 2> a.err\n"},
		{[]string{"grep", "-A1", ">{}", "genome.fa", ":::", "chr1"}, "grep -A1 '>chr1' genome.fa\n"}, // a FASTA header, as before
		{[]string{"grep", "-A1", ">chr1", "{}", ":::", "x.fa"}, "grep -A1 '>chr1' x.fa\n"},
		{[]string{"awk", "$1>=5", "{}", ":::", "x"}, "awk '$1>=5' x\n"},
		{[]string{"--quote", "echo", "{}", ">", "{}.txt", ":::", "a"}, "echo a '>' a.txt\n"},
		// A word quoted whole, as written for parallel's shell (its
		// tutorial: perl -e \''print "@ARGV\n"'\'), is a shell's.
		{[]string{"perl", "-e", `'print "@ARGV\n"'`, ":::", "a"}, "perl -e 'print \"@ARGV\\n\"' a\n"},
		{[]string{"echo", `"$HOME"`, "{}", ":::", "a"}, "echo \"$HOME\" a\n"},
		{[]string{"--quote", "echo", `"x"`, ":::", "a"}, "echo '\"x\"' a\n"},
		{[]string{"--quote", "echo {} | wc", ":::", "a"}, "'echo a | wc'\n"},
	})
}

// Words written for GNU parallel's shell to expand run in a shell, as
// parallel runs them: a variable (man parallel: echo
// seq:\$PARALLEL_SEQ; man env_parallel: --env myvar echo '$myvar'), a
// command's output or arithmetic quoted whole ($(basename {} .txt),
// $(({}*2)), `cmd`), a glob beside a replacement string (sourmash ... -o
// {}.sig DIR/{}/*.fastq.gz), and a quote that opens in one word and closes
// in a later one (echo \"{} "<-- a number"\"). A $ in a program's script
// (awk '$1>=5', sed 's/$/x/', perl -e 'print $x') and a * in a word with no
// replacement string (find -name '*.txt') stay arguments.
func TestMapExpansionWords(t *testing.T) {
	wantDryRuns(t, []dryRun{
		{[]string{"-N2", "echo", "seq:$PARALLEL_SEQ", "arg1:{1}", "arg2:{2}", ":::", "1", "2"}, "echo seq:$PARALLEL_SEQ arg1:1 arg2:2\n"},
		{[]string{"echo", "$myvar", ":::", "work"}, "echo $myvar work\n"},
		{[]string{"echo", "${HOME}/{}", "$$", ":::", "a"}, "echo ${HOME}/a $$\n"},
		{[]string{"echo", "$(basename {} .txt)", ":::", "d/a b.txt"}, "echo $(basename 'd/a b.txt' .txt)\n"},
		{[]string{"echo", "$(({}*2))", ":::", "3"}, "echo $((3*2))\n"},
		{[]string{"echo", "`date`", "{}", ":::", "a"}, "echo `date` a\n"},
		{[]string{"cat", "data/{}/*.fastq.gz", ":::", "s 1"}, "cat data/'s 1'/*.fastq.gz\n"},
		{[]string{"echo", `"{}`, `<-- a number"`, ":::", "1"}, "echo \"1 <-- a number\"\n"},
		{[]string{"echo", `"a`, ">", `b"`, "{}", ":::", "1"}, "echo \"a > b\" 1\n"},
		{[]string{"awk", "$1>=5", "{}", ":::", "x"}, "awk '$1>=5' x\n"},
		{[]string{"awk", "$NF>3", "{}", ":::", "x"}, "awk '$NF>3' x\n"},
		{[]string{"sed", "s/$/x/", "{}", ":::", "x"}, "sed 's/$/x/' x\n"},
		{[]string{"perl", "-e", "print $x", "{}", ":::", "x"}, "perl -e 'print $x' x\n"},
		{[]string{"find", "{}", "-name", "*.txt", ":::", "d"}, "find d -name '*.txt'\n"},
		{[]string{"tr", "-d", `"`, ":::", "x"}, "tr -d '\"' x\n"},
		{[]string{"--quote", "echo", "$HOME", "{}/*", ":::", "a"}, "echo '$HOME' 'a/*'\n"},
	})
}

// What test, [, [[ and expr compare stays theirs (a > is a comparison, as
// parallel -q gives it); a comparison followed by && or || (man parallel:
// [ -f {1}:{2} ] "||" echo {1}:{2} does not exist) runs in a shell, as
// parallel runs it, where a lone > is a redirection again, refused when it
// would write over a file named alone, save inside bash's [[ ]].
func TestMapComparisonWords(t *testing.T) {
	wantDryRuns(t, []dryRun{
		{[]string{"[", "-f", "{1}:{2}", "]", "||", "echo", "{1}:{2}", "does", "not", "exist", ":::", "a", ":::", "c"}, "[ -f a:c ] || echo a:c does not exist\n"},
		{[]string{"test", "-e", "{}", "&&", "echo", "{}", ":::", "a b"}, "test -e 'a b' && echo 'a b'\n"},
		{[]string{"[[", "{}", ">", "b", "]]", "&&", "echo", "yes", ":::", "c"}, "[[ c > b ]] && echo yes\n"},
		{[]string{"test", "{}", ">", "b", ":::", "a"}, "test a '>' b\n"},
		{[]string{"[", "{}", ">", "b", "]", ":::", "a"}, "'[' a '>' b ']'\n"},
		{[]string{"expr", "{}", "<", "2", ":::", "1"}, "expr 1 '<' 2\n"},
	})
	if _, errb, code := dryRunMap(t, "[", "{}", ">", "b", "]", "||", "echo", "no", ":::", "a"); code != 255 || !strings.Contains(errb, "would write over that file") {
		t.Errorf("[ {} > b ] || echo no: exit %d, stderr %q; want it refused: a shell would write over b", code, errb)
	}
}

// A ; that GNU parallel's users escape (\;) to end one command before
// another runs the command in a shell, as parallel runs it: glued after a
// replacement string before a program or builtin, or ending a word (or
// alone) before a word that names one. A ; in a program's script (perl,
// sed) or before a word that names no program (find -exec ... \; -print)
// stays an argument, as parallel -q passes it.
func TestMapSemicolonWords(t *testing.T) {
	wantDryRuns(t, []dryRun{
		{[]string{"echo", "baz;", "eval", "{}", ":::", "echo foo; echo bar"}, "echo baz; eval 'echo foo; echo bar'\n"},
		{[]string{"echo", "Starting", "{};echo", "done", ":::", "1"}, "echo Starting 1;echo done\n"},
		{[]string{"echo", "job{#}", "val", "{};exit", "{}", ":::", "3"}, "echo job1 val 3;exit 3\n"},
		{[]string{"sleep", "{};", "echo", "{}", ":::", "0.1"}, "sleep 0.1; echo 0.1\n"},
		{[]string{"echo", "a", ";", "echo", "{}", ":::", "b"}, "echo a ; echo b\n"},
		{[]string{"perl", "-ne", "print;exit", "{}", ":::", "f"}, "perl -ne 'print;exit' f\n"},
		{[]string{"sed", "s/a/b/;", "{}", ":::", "f"}, "sed 's/a/b/;' f\n"},
		{[]string{"awk", "{x=1; print}", "{}", ":::", "f"}, "awk '{x=1; print}' f\n"},
		{[]string{"find", "{}", "-exec", "rm", "{}", ";", "-print", ":::", "d"}, "find d -exec rm d ';' -print\n"},
		{[]string{"--quote", "echo", "baz;", "eval", "{}", ":::", "x"}, "echo 'baz;' eval x\n"},
	})
}

// A command that is only {} (cat cmds.txt | parallel -j 8 {}) runs each
// input as a shell command, as with no command given; one that starts
// with a shell's builtin (parallel --joblog log exit ::: 1 2 3 0) runs in
// a shell, the inputs quoted: no program is named so.
func TestMapInputAsCommandAndBuiltins(t *testing.T) {
	wantDryRuns(t, []dryRun{
		{[]string{"{}", ":::", "echo x > o1.txt", "echo y"}, "echo x > o1.txt\necho y\n"},
		{[]string{"-I", ",,", ",,", ":::", "echo a | wc -c"}, "echo a | wc -c\n"},
		{[]string{"exit", ":::", "1", "0"}, "exit 1\nexit 0\n"},
		{[]string{"eval", "echo {}", ":::", "a"}, "eval echo a\n"}, // shell text, as parallel's
		{[]string{"export", "X={}", ":::", "a b"}, "export X='a b'\n"},
		{[]string{"echo", "{}", "{}", ":::", "a b"}, "echo 'a b' 'a b'\n"}, // a program: as it was
	})
}

// -N0 (GNU parallel's: a task per input, given none of them) runs the
// command once per input, its {#} and {##} filled, {} empty, nothing
// appended; in a shell when its words are a shell's.
func TestMapNoInputs(t *testing.T) {
	wantDryRuns(t, []dryRun{
		{[]string{"-N0", "echo", "hi", ":::", "a", "b"}, "echo hi\necho hi\n"},
		{[]string{"-N", "0", "echo", "x{}y", "{#}/{##}", "a b", ":::", "a", "b"}, "echo xy 1/2 'a b'\necho xy 2/2 'a b'\n"},
		{[]string{"-N0", "echo", "{#}", ">", "o{#}.txt", ":::", "a"}, "echo 1 > o1.txt\n"},
		{[]string{"-N0", "--tag", "echo", "hi", ":::", "a"}, "\techo hi\n"}, // no input, an empty tag
	})
}

// A > into the task's input itself (grep '>' {}: a pattern, written for
// parallel -q) would write over the input file in a shell: it is refused,
// naming --quote, before anything runs.
func TestMapRedirectionIntoTheInputIsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"grep", ">", "{}", ":::", "x.fa"},
		{"grep", "-c", ">", "{}", ":::", "x.fa"},
		{"sort", "{1}", ">", "{1}", ":::", "x"},
		{"grep", ">", "genome.fa", ":::", "x"}, // a pattern, or a file to write: said, not guessed
	} {
		out, errb, code := dryRunMap(t, args...)
		if code != 255 || out != "" || !strings.Contains(errb, "add --quote") || !strings.Contains(errb, "would write over") {
			t.Errorf("burst map %q: exit %d, stdout %q, stderr %q; want it refused, naming --quote", args, code, out, errb)
		}
	}
	if out, errb, code := dryRunMap(t, "--quote", "grep", ">", "{}", ":::", "x.fa"); code != 0 || out != "grep '>' x.fa\n" {
		t.Errorf("--quote grep > {}: exit %d, %q %q", code, out, errb)
	}
}

// -X, -m and --xargs give a task as many inputs as fit, dealt out evenly
// to -j's tasks (-j 0: one each), as GNU parallel's: -X repeats a word
// holding {} for each input, -m puts them all where {} is.
func TestMapMultipleArguments(t *testing.T) {
	wantDryRuns(t, []dryRun{
		{[]string{"-j", "2", "-X", "echo", "x{}y", ":::", "a", "b", "c", "d", "e"}, "echo xay xby xcy\necho xdy xey\n"},
		{[]string{"-j", "2", "-m", "echo", "x{}y", ":::", "a", "b", "c", "d", "e"}, "echo xa b cy\necho xd ey\n"},
		{[]string{"-j", "3", "-X", "echo", "{#}", "{}", ":::", "a", "b", "c", "d", "e", "f", "g"}, "echo 1 a b c\necho 2 d e f\necho 3 g\n"},
		{[]string{"-j", "0", "-X", "echo", ":::", "a", "b"}, "echo a\necho b\n"},
		{[]string{"-j", "4", "--xargs", "echo", ":::", "a", "b", "c"}, "echo a b c\n"},
		{[]string{"-j", "2", "-X", "-N", "2", "echo", "x{}y", ":::", "a", "b", "c", "d", "e"}, "echo xay xby\necho xcy xdy\necho xey\n"},
	})
	// Each task's line within what parallel fills: 1157 inputs of 50 bytes,
	// their context repeated, then the rest.
	in := []string{"-j", "1", "-X", "echo", "ab{}cd", ":::"}
	for range 1200 {
		in = append(in, strings.Repeat("x", 50))
	}
	out, _, code := dryRunMap(t, in...)
	if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); code != 0 || len(lines) != 2 || len(strings.Fields(lines[0])) != 1+1157 {
		t.Errorf("-X over 1200 inputs of 50 bytes: exit %d, %d lines, the first of %d words; want 2, 1158", code, len(lines), len(strings.Fields(lines[0])))
	}
	if _, errb, code := dryRunMap(t, "-X", "echo", ":::", "a", ":::", "b"); code != 255 || !strings.Contains(errb, "one :::") {
		t.Errorf("-X over two groups: exit %d %q; want it refused, naming one group", code, errb)
	}
}

// --plus's strings that take text of their own ({%.gz}, {/a/b}) are
// filled, in the command and --tagstring, as GNU parallel 20221122's
// --dry-run printed them (parallel --plus --dry-run echo {%.gz} {1/a/b}
// ::: a.gz: echo a b.gz); without --plus they are text; one whose regular
// expression RE2 cannot run is refused, named.
func TestMapPlusBashLike(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--plus", "echo", "{%.gz}", "{1/a/b}", ":::", "a.gz"}, "echo a b.gz\n"},
		{[]string{"--plus", "--tagstring", "{:-x}", "echo", ":::", ""}, "x\techo ''\n"},
		{[]string{"--plus", "echo", "{:-a b}", ":::", ""}, "echo 'a b'\n"},
		{[]string{"--plus", "echo", "{/ /_}", ":::", "a b"}, "echo a_b\n"},
		{[]string{"echo", "{%.gz}", ":::", "a.gz"}, "echo '{%.gz}' a.gz\n"}, // as parallel -q's
		{[]string{"--plus", "-N0", "echo", "{%.gz}", "x", "{:-d}", ":::", "a"}, "echo  x \n"},
		// a > before one is a shell's, writing to the file it names
		{[]string{"--plus", "gunzip", "-c", "{}", ">", "{%.gz}", ":::", "a.gz", "b c.gz"}, "gunzip -c a.gz > a\ngunzip -c 'b c.gz' > 'b c'\n"},
		{[]string{"--plus", "--shell", "zcat {} > {%.gz}.txt", ":::", "b c.gz"}, "zcat 'b c.gz' > 'b c'.txt\n"},
	} {
		if out, errb, code := dryRunMap(t, tc.args...); code != 0 || out != tc.want {
			t.Errorf("burst map --dry-run %q: exit %d, %q %q; want %q", tc.args, code, out, errb, tc.want)
		}
	}
	if out, errb, code := dryRunMap(t, "--plus", "echo", `{%(.)\1}`, ":::", "abb"); code != 255 || out != "" || !strings.Contains(errb, `{%(.)\1}: GNU parallel reads`) {
		t.Errorf("burst map --plus echo {%%(.)\\1}: exit %d, %q %q; want it refused, named", code, out, errb)
	}
	// --plus's strings that are no function of a task's inputs and
	// numbers are refused, named; without --plus they are text, as in
	// parallel (parallel echo {host} ::: a prints {host} a).
	for _, s := range []string{"{host}", "{sshlogin}", "{hgrp}", "{agrp}", "{uniq}", "{choose_k}"} {
		if out, errb, code := dryRunMap(t, "--plus", "echo", s, ":::", "a"); code != 255 || out != "" || !strings.Contains(errb, "--plus's "+s+":") {
			t.Errorf("burst map --plus echo %s: exit %d, %q %q; want it refused, naming it", s, code, out, errb)
		}
		if out, errb, code := dryRunMap(t, "echo", s, ":::", "a"); code != 0 || !strings.Contains(out, s) || !strings.HasSuffix(out, " a\n") {
			t.Errorf("burst map echo %s (no --plus): exit %d, %q %q; want it as text", s, code, out, errb)
		}
	}
	if out, errb, code := dryRunMap(t, "--plus", "--shell", "f={}; echo ${f%.gz} {..}", ":::", "a.tar.gz"); code != 0 || out != "f=a.tar.gz; echo ${f%.gz} a\n" {
		t.Errorf("--plus --shell with ${f%%.gz}: exit %d, %q %q", code, out, errb)
	}
}

// --shuf runs every task in a random order, numbered in that order, as
// GNU parallel's: each input's task once, {#} from 1 up.
func TestMapShuf(t *testing.T) {
	args := []string{"--shuf", "echo", "{#}", "{1}{2}", ":::"}
	var want []string
	for i := range 10 {
		args = append(args, strconv.Itoa(i))
		for _, g := range []string{"a", "b"} {
			want = append(want, strconv.Itoa(i)+g)
		}
	}
	args = append(args, ":::", "a", "b")
	out, errb, code := dryRunMap(t, args...)
	var got []string
	for k, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || f[1] != strconv.Itoa(k+1) {
			t.Fatalf("--shuf: line %d is %q; want echo %d INPUT (exit %d, %q)", k+1, l, k+1, code, errb)
		}
		got = append(got, f[2])
	}
	if slices.Equal(got, want) {
		t.Errorf("--shuf ran 20 tasks in input order")
	}
	slices.Sort(got)
	slices.Sort(want)
	if code != 0 || !slices.Equal(got, want) {
		t.Errorf("--shuf: exit %d, tasks %q; want each of %q once", code, got, want)
	}
	if _, errb, code := dryRunMap(t, "--shuf", "--joblog", "x", "--resume", "echo", ":::", "a"); code != 255 || !strings.Contains(errb, "--shuf orders the tasks anew") {
		t.Errorf("--shuf --resume: exit %d %q", code, errb)
	}
}

// A map on this host whose -j is above what its CPUs hold says that fewer
// run at once than parallel's -j would; nothing when -j fits, when the map
// has no more tasks than fit, or on another cluster.
func TestJobsAboveCPUs(t *testing.T) {
	for _, c := range []struct {
		cluster    string
		jobs, cpus int
		tasks      int64
		hostCPUs   int
		want       string
	}{
		{"", 8, 1, 20, 2, "-j 8: each task reserves 1 CPU (--cpus) and this host has 2: at most 2 run here at once; leave out --cpus, or give --cpus 0, to run 8 at once sharing the CPUs, as GNU parallel's -j 8 does"},
		{"local", 3, 2, 3, 4, "at most 2 run here at once"},
		{"", 2, 1, 20, 2, ""},
		{"", 0, 1, 20, 2, ""},
		{"", 8, 1, 2, 2, ""},
		{"gpu", 8, 1, 20, 2, ""},
	} {
		spec := &burst.JobSpec{Cluster: c.cluster, MaxRunning: c.jobs, Resources: burst.Resources{CPUs: c.cpus}}
		got := jobsAboveCPUs(spec, c.tasks, c.hostCPUs)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q, want %q", c, got, c.want)
		}
	}
	shared := &burst.JobSpec{MaxRunning: 8, SharedCPUs: true}
	if got := jobsAboveCPUs(shared, 20, 2); got != "" {
		t.Errorf("tasks that reserve no CPU: %q, want nothing (8 run at once)", got)
	}
	shared.MaxRunning = 100000
	if got := jobsAboveCPUs(shared, 5000, 2); !strings.Contains(got, "-j 100000: tasks that reserve no CPU run at most 1024 at once") {
		t.Errorf("-j 100000 of tasks that reserve no CPU: %q, want the bound said", got)
	}
	if got := jobsAboveCPUs(shared, 1000, 2); got != "" {
		t.Errorf("-j 100000 of 1,000 tasks: %q, want nothing (all run at once)", got)
	}
}

// GNU parallel's -j N runs N at once whatever the CPUs (man parallel,
// --jobs): a map's -j above this host's CPU threads, or -j 0 ("as many as
// possible"), with no --cpus given, makes its tasks reserve no CPU, on
// this host; -j within the CPUs, --cpus given, or another cluster keep a
// CPU reserved a task; --cpus 0 needs a -j.
func TestShareCPUs(t *testing.T) {
	for _, c := range []struct {
		name                 string
		cluster              string
		jobs, cpus           int
		cpusGiven, jobsGiven bool
		shared               bool
	}{
		{"-j 8 on 2 CPUs", "", 8, 1, false, true, true},
		{"-j 0: as many as possible", "local", 0, 1, false, true, true},
		{"-j 2 on 2 CPUs", "", 2, 1, false, true, false},
		{"no -j: parallel's default, one a CPU thread", "", 0, 1, false, false, false},
		{"--cpus 1 -j 8", "", 8, 1, true, true, false},
		{"--cpus 0 -j 2", "", 2, 0, true, true, true},
		{"-j 8 on another cluster", "hpc", 8, 1, false, true, false},
	} {
		spec := &burst.JobSpec{Cluster: c.cluster, MaxRunning: c.jobs, Resources: burst.Resources{CPUs: c.cpus}, SharedCPUs: c.cpus == 0}
		if err := shareCPUs(spec, c.cpusGiven, c.jobsGiven, 2); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if spec.SharedCPUs != c.shared || c.shared && spec.Resources.CPUs != 0 {
			t.Errorf("%s: SharedCPUs %v with %d CPUs, want shared %v", c.name, spec.SharedCPUs, spec.Resources.CPUs, c.shared)
		}
	}
	if _, errb, code := dryRunMap(t, "--cpus", "0", "sleep", "{}", ":::", "1"); code != 255 || !strings.Contains(errb, "give -j N (such as -j") {
		t.Errorf("--cpus 0 without -j: exit %d %q", code, errb)
	}
	if out, errb, code := dryRunMap(t, "--cpus", "0", "-j", "8", "sleep", "{}", ":::", "1"); code != 0 || out != "sleep 1\n" {
		t.Errorf("--cpus 0 -j 8: exit %d %q %q", code, out, errb)
	}
	if _, errb, code := dryRunMap(t, "--cpus", "-1", "-j", "8", "sleep", "{}", ":::", "1"); code != 255 || !strings.Contains(errb, "or 0 for tasks that reserve none") {
		t.Errorf("--cpus -1: exit %d %q", code, errb)
	}
	// parallel's -j procfile: its content is -j's value (e2e
	// TestMapJobsProcfile follows it as it changes); a content that is no
	// count is refused naming the file, as parallel refuses it (255).
	procfile := filepath.Join(t.TempDir(), "procs")
	if err := os.WriteFile(procfile, []byte("4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errb, code := dryRunMap(t, "-j", procfile, "sleep", "{}", ":::", "1"); code != 0 || out != "sleep 1\n" {
		t.Errorf("-j procfile holding 4: exit %d %q %q", code, out, errb)
	}
	if err := os.WriteFile(procfile, []byte("4x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errb, code := dryRunMap(t, "-j", procfile, "sleep", "{}", ":::", "1"); code != 255 || !strings.Contains(errb, "-j "+procfile+": its content is no count") {
		t.Errorf("-j procfile holding 4x: exit %d %q", code, errb)
	}
}

// GNU parallel's -J NAME is --profile NAME: options read from a file. burst
// map's -J names the job; where parallel would read a profile it is
// refused, naming --name and the profile's options, and --name NAME is
// still burst's. Where there is no such file (or a directory of that name)
// parallel runs as without -J, and so does burst.
func TestMapDashJProfile(t *testing.T) {
	ph := t.TempDir()
	env := map[string]string{"PARALLEL_HOME": ph}
	if err := os.WriteFile(filepath.Join(ph, "nice_profile"), []byte("-j-1 nice\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(ph, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, errb, code := dryRunMapIn(t, env, "-J", "nice_profile", "echo", ":::", "a")
	if code != 255 || !strings.Contains(errb, "--name nice_profile") || !strings.Contains(errb, "(-j-1 nice)") || !strings.Contains(errb, "--profile") {
		t.Errorf("-J nice_profile, a profile: exit %d, stderr %q; want 255 naming --name and its options", code, errb)
	}
	for _, args := range [][]string{{"--name", "nice_profile"}, {"-J", "other"}, {"-J", "adir"}, {"-J", "nice_profile", "--name", "x"}} {
		out, errb, code := dryRunMapIn(t, env, append(args, "echo", ":::", "a")...)
		if code != 0 || out != "echo a\n" {
			t.Errorf("%q: exit %d, %q (stderr %q); want the map run", args, code, out, errb)
		}
	}
}

// parallelProfile finds the file GNU parallel 20221122 reads for -J NAME:
// NAME itself when it starts with / or ./, else in the first of
// $PARALLEL_HOME, $XDG_CONFIG_HOME/parallel, $XDG_CONFIG_DIRS/parallel and
// ~/.parallel that holds it.
func TestParallelProfile(t *testing.T) {
	root := t.TempDir()
	dir := func(p string) string {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ph, xdg, sys1, sys2, home := dir("ph"), dir("xdg"), dir("sys1"), dir("sys2"), dir("home")
	put := func(d, name string) string {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, []byte("--tag\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dir("home/.parallel")
	dir("xdg/parallel")
	dir("sys2/parallel")
	inHome, inXDG, inSys2, inPH := put(filepath.Join(home, ".parallel"), "a"), put(filepath.Join(xdg, "parallel"), "b"), put(filepath.Join(sys2, "parallel"), "c"), put(ph, "a")
	put(filepath.Join(home, ".parallel"), "b")
	abs := put(root, "abs")
	env := map[string]string{"HOME": home}
	getenv := func(k string) string { return env[k] }
	for _, c := range []struct {
		name, want string
		with       map[string]string
	}{
		{"a", inHome, nil},
		{"b", filepath.Join(home, ".parallel", "b"), nil},
		{"none", "", nil},
		{"", "", nil},
		{abs, abs, nil},
		{"/no/such/profile", "", nil},
		{"a", inPH, map[string]string{"PARALLEL_HOME": ph}},
		{"b", inXDG, map[string]string{"XDG_CONFIG_HOME": xdg}},
		{"c", inSys2, map[string]string{"XDG_CONFIG_DIRS": sys1 + ":" + sys2}},
	} {
		for k, v := range c.with {
			env[k] = v
		}
		if got := parallelProfile(c.name, getenv); got != c.want {
			t.Errorf("parallelProfile(%q) with %v = %q, want %q", c.name, c.with, got, c.want)
		}
		for k := range c.with {
			delete(env, k)
		}
	}
	t.Chdir(root)
	if got := parallelProfile("./abs", os.Getenv); got != "./abs" {
		t.Errorf("parallelProfile(./abs) = %q", got)
	}
}

// GNU parallel reads a long option by any start of its names that names
// no other option (Getopt::Long's auto_abbrev): --dry is --dry-run, --k
// is -k. A start shared by several options is refused as parallel refuses
// it (its words, exit 255); a start of an option burst map refuses is
// refused naming the option. burst map's own names are never read as the
// start of parallel's (--time is not --timeout, --on not --onall).
// parallel 20221122 prints the same for each (checked by hand and in e2e
// TestMapAsGNUParallel/abbreviated_options).
func TestParallelAbbreviations(t *testing.T) {
	wantDryRuns(t, []dryRun{
		{[]string{"--keep-o", "--tagst", "<{}>", "echo", ":::", "a"}, "<a>\techo a\n"},
		{[]string{"--Keep-O", "--ke", "--k", "--hal", "now,fail=1", "--jobl", "/dev/null", "echo", ":::", "a"}, "echo a\n"},
		{[]string{"--m", "--j", "1", "echo", ":::", "a", "b"}, "echo a b\n"},
		{[]string{"--colse", ",", "--jobs=2", "echo", "{2}", ":::", "a,b"}, "echo b\n"},
		{[]string{"--time", "5", "--in", "/dev/null", "echo", ":::", "a"}, "echo a\n"},
	})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ta"}, "burst: Option ta is ambiguous (tag, tag-string, tagstring): "},
		{[]string{"--TA=1"}, "burst: Option ta is ambiguous (tag, tag-string, tagstring): "},
		{[]string{"--jo", "2"}, "burst: Option jo is ambiguous (joblog, jobs): "},
		{[]string{"--he", ":"}, "burst: Option he is ambiguous (header, help): "},
		{[]string{"--pipe-p"}, "burst: --pipe-p (--pipe-part) is GNU parallel's: burst map does not take it; "},
		{[]string{"--memf", "1G"}, "burst: --memf (--memfree) is GNU parallel's: burst map does not take it; "},
		{[]string{"--sess"}, "burst: --sess (--session) is GNU parallel's: burst map does not take it; "},
		{[]string{"--tollef"}, "burst: --tollef is GNU parallel's: burst map does not take it; "},
		// A script's #!/usr/bin/parallel --shebang-wrap /usr/bin/python3 line: not in parallel's
		// options_hash, read before them.
		{[]string{"--shebang-wrap", "/usr/bin/python3"}, "burst: --shebang-wrap is GNU parallel's: burst map does not take it; run the script's program over the arguments: burst map -- PROGRAM script {}"},
		{[]string{"--fg"}, "burst: --fg is GNU parallel's: burst map does not take it; leave it out"},
		{[]string{"--record-env"}, "burst: --record-env is GNU parallel's: burst map does not take it; leave it out"},
		{[]string{"--citation"}, "burst: --citation is GNU parallel's: burst map does not take it; leave it out"},
		// parallel's -l takes a number (alone it is -l 1: parallelValues), which burst reads as an int.
		{[]string{"-l", "99999999999999999999"}, "burst: -l 99999999999999999999: -l takes a number here: give -l 1"},
	} {
		if out, errb, code := dryRunMap(t, append(c.args, "echo", ":::", "a")...); code != 255 || out != "" || !strings.HasPrefix(errb, c.want) {
			t.Errorf("burst map %q: exit %d, stdout %q, stderr %q; want 255 and %q", c.args, code, out, errb, c.want)
		}
	}
	// Every option of parallel's is burst map's, read as another, or refused.
	f := newMapCmd().Flags()
	for o := range strings.FieldsSeq(parallelOptionNames) {
		if slices.ContainsFunc(strings.Split(o, "|"), func(n string) bool {
			_, alias := parallelAliases()[n]
			_, refused := parallelOnly()[n]
			return alias || refused || f.Lookup(n) != nil || len(n) == 1 && f.ShorthandLookup(n) != nil || n == "help"
		}) {
			continue
		}
		t.Errorf("GNU parallel's --%s is neither burst map's nor refused", o)
	}
}

// -q is GNU parallel's -q (--quote): the command's words as they are, alone,
// in a cluster of flags and beside -d DELIM; --quiet is long only. The
// wanted lines are what parallel 20221122 --dry-run printed.
func TestMapDashQIsQuote(t *testing.T) {
	wantDryRuns(t, []dryRun{
		{[]string{"-q", "echo", "$HOME", ":::", "a"}, "echo '$HOME' a\n"},
		{[]string{"-kq", "echo", "$HOME", ":::", "a"}, "echo '$HOME' a\n"},
		{[]string{"-qk", "echo", "a;b", "{}", ":::", "a"}, "echo 'a;b' a\n"},
		{[]string{"-kqd", ",", "echo", "a;b", "{}", ":::", "x,y"}, "echo 'a;b' x\necho 'a;b' y\n"},
		{[]string{"--quiet", "echo", "$HOME", ":::", "a"}, "echo $HOME a\n"}, // parallel's without -q
	})
	f := newMapCmd().Flags()
	if q, quiet := f.ShorthandLookup("q"), f.Lookup("quiet"); q == nil || q.Name != "quote" || quiet == nil || quiet.Shorthand != "" {
		t.Errorf("-q is %v, --quiet's shorthand %v: want -q to be --quote and --quiet long only", q, quiet)
	}
}

// GNU parallel's -d DELIM is read as --delimiter where DELIM reads as one,
// in two words or one, after other flags and in a cluster of them; burst
// map's -d stays --detach before a command, --, or a separator, and a
// flag's value or a word after the options is never read as -d. -l with no
// number after it is -l 1.
func TestParallelValues(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"-d", ",", "echo", ":::", "a"}, []string{"--delimiter=,", "echo", ":::", "a"}},
		{[]string{"-d,", "--", "echo"}, []string{"--delimiter=,", "--", "echo"}},
		{[]string{`-d\t`, "echo"}, []string{`--delimiter=\t`, "echo"}},
		{[]string{"-k", "-d", `\0`, "-j", "2", "echo"}, []string{"-k", `--delimiter=\0`, "-j", "2", "echo"}},
		{[]string{"-kd", ";", "echo"}, []string{"-k", "--delimiter=;", "echo"}},
		{[]string{"-j", "2", "-d", "|", "echo"}, []string{"-j", "2", "--delimiter=|", "echo"}},
		{[]string{"--jobs", "2", "-d", ":", "echo"}, []string{"--jobs", "2", "--delimiter=:", "echo"}},
		// A long flag as parallel's Getopt::Long takes it (a unique start
		// of its name, any case, another of its names) takes its value.
		{[]string{"--colse", "x", "-d", ",", "echo"}, []string{"--colse", "x", "--delimiter=,", "echo"}},
		{[]string{"--COLSEP", "x", "-d", ",", "echo"}, []string{"--COLSEP", "x", "--delimiter=,", "echo"}},
		{[]string{"--max-procs", "2", "-d", ",", "echo"}, []string{"--max-procs", "2", "--delimiter=,", "echo"}},
		{[]string{"--tagstr", "{}", "-d", ",", "echo"}, []string{"--tagstr", "{}", "--delimiter=,", "echo"}},
		// A dot or a slash, no command's name, as parallel splits
		// addresses and paths (-d . or -d /).
		{[]string{"-d", ".", "echo"}, []string{"--delimiter=.", "echo"}},
		{[]string{"-d/", "echo"}, []string{"--delimiter=/", "echo"}},
		{[]string{"-d", "./", "echo"}, []string{"--delimiter=./", "echo"}},
		// Escapes alone, however many (an é in octal).
		{[]string{"-d", `\303\251`, "echo"}, []string{`--delimiter=\303\251`, "echo"}},
		{[]string{"-d", `\r\n\r\n`, "echo"}, []string{`--delimiter=\r\n\r\n`, "echo"}},
		// --detach: before a command, --, a separator, or nothing.
		{[]string{"-d", "echo", ",", ":::", "a"}, []string{"-d", "echo", ",", ":::", "a"}},
		{[]string{"-d", "--", "echo"}, []string{"-d", "--", "echo"}},
		{[]string{"-d", ":::", "a"}, []string{"-d", ":::", "a"}},
		{[]string{"-kd", "echo"}, []string{"-kd", "echo"}},
		{[]string{"-d"}, []string{"-d"}},
		// A flag's value, or a word past the options, is not -d.
		{[]string{"-I", "-d", ",", "echo"}, []string{"-I", "-d", ",", "echo"}},
		{[]string{"--tagstring", "-d", ",", "echo"}, []string{"--tagstring", "-d", ",", "echo"}},
		{[]string{"-Id", ",", "echo"}, []string{"-Id", ",", "echo"}},
		{[]string{"echo", "-d", ","}, []string{"echo", "-d", ","}},
		{[]string{"--", "cut", "-d", ",", "-f1"}, []string{"--", "cut", "-d", ",", "-f1"}},
		// -l and --max-lines alone are -l 1; -l -0 is -l 1 -0 (parallel 20221122).
		{[]string{"-l", "echo"}, []string{"-l", "1", "echo"}},
		{[]string{"-kl", "-j", "2"}, []string{"-kl", "1", "-j", "2"}},
		{[]string{"-l"}, []string{"-l", "1"}},
		{[]string{"-l", "-0", "echo"}, []string{"-l", "1", "-0", "echo"}},
		{[]string{"--max-lines", "--", "echo"}, []string{"--max-lines", "1", "--", "echo"}},
		{[]string{"-l", "2", "echo"}, []string{"-l", "2", "echo"}},
		{[]string{"-l2", "echo"}, []string{"-l2", "echo"}},
		{[]string{"--max-lines", "+3", "echo"}, []string{"--max-lines", "+3", "echo"}},
		{[]string{"--max-lines=0", "echo"}, []string{"--max-lines=0", "echo"}},
		{[]string{"-I", "-l", "echo"}, []string{"-I", "-l", "echo"}},
		// A value glued with = keeps its = (parallel 20221122: -C=, splits at "=,", -j=2 fails
		// to parse, -l=2 is -l 1 and an unknown option =); burst's own flags and long ones are as given.
		{[]string{"-C=,", "echo"}, []string{"-C", "=,", "echo"}},
		{[]string{"-kj=2", "echo"}, []string{"-kj", "=2", "echo"}},
		{[]string{"-l=2", "echo"}, []string{"-l", "=2", "echo"}},
		{[]string{"-I=X", "echo", "-j=2"}, []string{"-I", "=X", "echo", "-j=2"}},
		{[]string{"-c=2", "echo"}, []string{"-c=2", "echo"}},
		{[]string{"--jobs=2", "echo"}, []string{"--jobs=2", "echo"}},
		{[]string{"-j2", "-C", "=", "echo"}, []string{"-j2", "-C", "=", "echo"}},
	} {
		if got := parallelValues(slices.Clone(c.in)); !slices.Equal(got, c.want) {
			t.Errorf("parallelValues(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A map's inputs are read from a file or standard input no further than
// one submission carries: a stream with no end is refused once past it,
// naming the fix, instead of taking all memory; one that fits is read whole.
func TestReadInputsBounded(t *testing.T) {
	zeros := func(n int64) io.Reader { return io.LimitReader(zeroReader{}, n) }
	if _, err := readInputs(zeros(burst.MaxSubmitBytes+1), "standard input"); err == nil || !strings.Contains(err.Error(), "standard input holds more than 64 MiB") || !strings.Contains(err.Error(), "split") {
		t.Errorf("past the limit: %v; want a refusal naming the limit and split", err)
	}
	if _, err := readInputs(zeroReader{}, "standard input"); err == nil {
		t.Error("a stream with no end: read, want a refusal")
	}
	if b, err := readInputs(zeros(burst.MaxSubmitBytes), "f"); err != nil || len(b) != burst.MaxSubmitBytes {
		t.Errorf("at the limit: %d bytes, %v; want all of it", len(b), err)
	}
	// A file of 10,000 lines of 100 KB is as large as one of millions of
	// short ones: the parts it suggests are cut by their bytes (split -C),
	// and :::: passes the refusal on alone, not telling to check the path.
	dir := t.TempDir()
	big := filepath.Join(dir, "big.txt")
	line := append(bytes.Repeat([]byte("y"), 100_000), '\n')
	if err := os.WriteFile(big, bytes.Repeat(line, burst.MaxSubmitBytes/len(line)+1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := mapspec.ParseSeparated([]string{"echo", "::::", big}, readInputFile(nil), "", ":::", "::::")
	if want := ":::: " + big + " holds more than 64 MiB of inputs, more than one submission carries: split it (split -C 32M FILE part.)"; err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "check the path") {
		t.Errorf("a file of long lines past the limit: %v; want %q...", err, want)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A file of inputs is read into one buffer of its size: io.ReadAll's
// growth held about twice a 60 MB file at the CLI's peak.
func TestReadInputsFileOneCopy(t *testing.T) {
	p := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(p, bytes.Repeat([]byte("input line\n"), 800_000), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b, err := readInputs(f, p)
	runtime.ReadMemStats(&after)
	if err != nil || len(b) != 8_800_000 {
		t.Fatalf("read %d bytes, %v; want 8800000", len(b), err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > uint64(len(b)+len(b)/10) {
		t.Errorf("reading %d bytes allocated %d; want one buffer of the file's size", len(b), n)
	}
}
