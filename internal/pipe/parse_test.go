package pipe

import (
	"errors"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// st builds an expected stage.
func st(col int, name string, argv ...string) Stage {
	return Stage{Col: col, Name: name, Argv: argv}
}

func (s Stage) cpus(n int) Stage             { s.CPUs = n; return s }
func (s Stage) gpus(n int) Stage             { s.GPUs = n; return s }
func (s Stage) mem(n int64) Stage            { s.MemBytes = n; return s }
func (s Stage) limit(d time.Duration) Stage  { s.TimeLimit = d; return s }
func (s Stage) on(c string) Stage            { s.Cluster = c; return s }
func (s Stage) parallel(n int) Stage         { s.Parallel = n; return s }
func (s Stage) stack(r string) Stage         { s.Stack = r; return s }
func (s Stage) keep() Stage                  { s.Keep = true; return s }
func pl(stages ...Stage) *Pipeline           { return &Pipeline{Stages: stages} }
func (p *Pipeline) in(f string) *Pipeline    { p.Stdin = f; return p }
func (p *Pipeline) out(f string) *Pipeline   { p.Stdout = f; return p }
func (p *Pipeline) appnd(f string) *Pipeline { p.Stdout, p.Append = f, true; return p }

// env is a fake Getenv over a map.
func env(m map[string]string) func(string) (string, bool) {
	return func(n string) (string, bool) {
		v, ok := m[n]
		return v, ok
	}
}

// globber is a fake Glob that records the patterns it was asked for.
type globber struct {
	matches map[string][]string
	err     map[string]error
	asked   []string
}

func (g *globber) glob(p string) ([]string, error) {
	g.asked = append(g.asked, p)
	if e := g.err[p]; e != nil {
		return nil, e
	}
	return g.matches[p], nil
}

var testEnv = map[string]string{
	"HOME": "/home/me",
	"A":    "1 2",
	"E":    "",
	"N":    "4",
	"S":    "*.txt",
	"OUT":  "/tmp/o",
	"SP":   "  x  ",
	"Q":    "it's",
}

func TestParseAccepted(t *testing.T) {
	full := Options{Getenv: env(testEnv), Home: "/home/me"}
	tests := []struct {
		name string
		in   string
		opt  Options
		glob map[string][]string
		want *Pipeline
	}{
		{"brief example", "generate_data | --cpus 8 filter1 --threshold 3 | --gpus 1 filter2 > result.bin", Options{}, nil,
			pl(st(1, "generate_data", "generate_data"), st(17, "filter1", "filter1", "--threshold", "3").cpus(8), st(50, "filter2", "filter2").gpus(1)).out("result.bin")},
		{"align example with glob", "zcat reads/*.fq.gz | --cpus 4 --mem 8G ./align - | sort -k3 | uniq -c > counts.txt", Options{},
			map[string][]string{"reads/*.fq.gz": {"reads/a.fq.gz", "reads/b.fq.gz"}},
			pl(st(1, "zcat", "zcat", "reads/a.fq.gz", "reads/b.fq.gz"), st(22, "align", "./align", "-").cpus(4).mem(8<<30),
				st(52, "sort", "sort", "-k3"), st(63, "uniq", "uniq", "-c")).out("counts.txt")},
		{"awk program in double quotes", `seq 1 100000000 | --cpus 2 awk "{s+=\$1} END {print s}"`, Options{}, nil,
			pl(st(1, "seq", "seq", "1", "100000000"), st(19, "awk", "awk", "{s+=$1} END {print s}").cpus(2))},
		{"stage in a stack", "gen | --stack tools:2 ./score | --stack=py@sha256:" + strings.Repeat("a", 64) + " sort", Options{}, nil,
			pl(st(1, "gen", "gen"), st(7, "score", "./score").stack("tools:2"), st(33, "sort", "sort").stack("py@sha256:"+strings.Repeat("a", 64)))},
		{"a stage keeping its stack changes", "gen | --keep-changes --stack tools ./fix", Options{}, nil,
			pl(st(1, "gen", "gen"), st(7, "fix", "./fix").stack("tools").keep())},
		{"parallel stage", "gen | --parallel 4 --cpus 1 ./score | sort -n", Options{}, nil,
			pl(st(1, "gen", "gen"), st(7, "score", "./score").parallel(4).cpus(1), st(39, "sort", "sort", "-n"))},
		{"program flags are not stage options", "sort --cpus 3 --mem 1G -k2", Options{}, nil,
			pl(st(1, "sort", "sort", "--cpus", "3", "--mem", "1G", "-k2"))},
		{"all options with =", "--cpus=2 --mem=512M --gpus=1 --time=90 --on=hpc --parallel=3 --name=step x", Options{}, nil,
			pl(st(1, "step", "x").cpus(2).mem(512 << 20).gpus(1).limit(90 * time.Minute).on("hpc").parallel(3))},
		{"time formats", "--time 1:30:00 a | --time 90s b | --time 2-00:00:00 c", Options{}, nil,
			pl(st(1, "a", "a").limit(90*time.Minute), st(20, "b", "b").limit(90*time.Second), st(35, "c", "c").limit(48*time.Hour))},
		{"gpus zero", "--gpus 0 x", Options{}, nil, pl(st(1, "x", "x"))},
		{"parallel one is one copy", "--parallel 1 x", Options{}, nil, pl(st(1, "x", "x"))},
		{"-- ends options", "-- --weird-program --cpus 2", Options{}, nil, pl(st(1, "weird-program", "--weird-program", "--cpus", "2"))},
		{"options then --", "--cpus 2 -- --x", Options{}, nil, pl(st(1, "x", "--x").cpus(2))},
		{"quoted -- word is a command", "'--cpus' 2", Options{}, nil, pl(st(1, "cpus", "--cpus", "2"))},
		{"single dash command after --", "-- -x y", Options{}, nil, pl(st(1, "x", "-x", "y"))},

		// quoting
		{"adjacent parts join", `echo a'b'"c"d`, Options{}, nil, pl(st(1, "echo", "echo", "abcd"))},
		{"empty quoted words", `echo '' "" a''`, Options{}, nil, pl(st(1, "echo", "echo", "", "", "a"))},
		{"double quote escapes", `echo "a\$b\"c\\d\e\n"`, Options{}, nil, pl(st(1, "echo", "echo", `a$b"c\d\e\n`))},
		{"single quotes are literal", `echo 'a\"$x` + "`y`" + `'`, Options{}, nil, pl(st(1, "echo", "echo", `a\"$x`+"`y`"))},
		{"backslash outside quotes", `echo a\ b \'c \\ \|`, Options{}, nil, pl(st(1, "echo", "echo", "a b", "'c", `\`, "|"))},
		{"escaped operators", `echo \&\& \; \( \) \< \> \# \$1 \~`, Options{}, nil,
			pl(st(1, "echo", "echo", "&&", ";", "(", ")", "<", ">", "#", "$1", "~"))},
		{"operators in quotes", `echo '&&' ";" '|' "(x)" '2>&1' "<<EOF"`, Options{}, nil,
			pl(st(1, "echo", "echo", "&&", ";", "|", "(x)", "2>&1", "<<EOF"))},
		{"newline inside quotes", "echo 'a\nb' \"c\nd\"", Options{}, nil, pl(st(1, "echo", "echo", "a\nb", "c\nd"))},
		{"line continuation joins", "echo a\\\nb", Options{}, nil, pl(st(1, "echo", "echo", "ab"))},
		{"line continuation between words", "echo a \\\n  b | \\\n wc", Options{}, nil, pl(st(1, "echo", "echo", "a", "b"), st(2, "wc", "wc"))},
		{"line continuation in double quotes", "echo \"a\\\nb\"", Options{}, nil, pl(st(1, "echo", "echo", "ab"))},
		{"backslash-newline kept in single quotes", "echo 'a\\\nb'", Options{}, nil, pl(st(1, "echo", "echo", "a\\\nb"))},
		{"escaped backslash before newline", "a \\\\\n| b", Options{}, nil, pl(st(1, "a", "a", `\`), st(3, "b", "b"))},
		{"braces as words", `find . -name '*.txt' -exec rm {} + | awk '{print $1}'`, Options{}, nil,
			pl(st(1, "find", "find", ".", "-name", "*.txt", "-exec", "rm", "{}", "+"), st(38, "awk", "awk", "{print $1}"))},
		{"brace without comma", "echo {x} a{b}c", Options{}, nil, pl(st(1, "echo", "echo", "{x}", "a{b}c"))},
		{"hash inside a word", "echo a#b c# 'd'#", Options{}, nil, pl(st(1, "echo", "echo", "a#b", "c#", "d#"))},
		{"comment", "a x # comment | b && c", Options{}, nil, pl(st(1, "a", "a", "x"))},
		{"comment after pipe", "a |# why\n  b", Options{}, nil, pl(st(1, "a", "a"), st(3, "b", "b"))},
		{"newline after pipe", "a |\n  b |\n\n c", Options{}, nil, pl(st(1, "a", "a"), st(3, "b", "b"), st(2, "c", "c"))},
		{"line starting with pipe", "a --x # first\n  | b\n  | c > out", Options{}, nil, pl(st(1, "a", "a", "--x"), st(5, "b", "b"), st(5, "c", "c")).out("out")},
		{"blank lines around", "\n\n  a | b  \n\n", Options{}, nil, pl(st(3, "a", "a"), st(7, "b", "b"))},
		{"tabs as space", "a\tb\t|\tc", Options{}, nil, pl(st(1, "a", "a", "b"), st(7, "c", "c"))},
		{"unicode columns", "écho ünï | wc", Options{}, nil, pl(st(1, "_cho", "écho", "ünï"), st(12, "wc", "wc"))},
		{"digits not before redirection", "a 2 > x", Options{}, nil, pl(st(1, "a", "a", "2")).out("x")},
		{"digits inside word before redirection", "a x2>x", Options{}, nil, pl(st(1, "a", "a", "x2")).out("x")},
		{"quoted digits before redirection", "a '2'>x", Options{}, nil, pl(st(1, "a", "a", "2")).out("x")},
		{"dollar literal", `echo $ a$ "$" $/x $% "a$"`, Options{}, nil, pl(st(1, "echo", "echo", "$", "a$", "$", "$/x", "$%", "a$"))},
		{"bang and keywords as arguments", "find ! -name x if then", Options{}, nil, pl(st(1, "find", "find", "!", "-name", "x", "if", "then"))},
		{"quoted keyword is a command", "'if' x", Options{}, nil, pl(st(1, "if", "if", "x"))},
		{"assignment-looking arguments", "env A=1 B= cmd", Options{}, nil, pl(st(1, "env", "env", "A=1", "B=", "cmd"))},
		{"quoted assignment is a command", "'A=1' x", Options{}, nil, pl(st(1, "A_1", "A=1", "x"))},
		{"equals first is a command", "=x y", Options{}, nil, pl(st(1, "_x", "=x", "y"))},

		// redirections
		{"stdin in first stage", "< in.txt cat | sort > out", Options{}, nil, pl(st(1, "cat", "cat"), st(16, "sort", "sort")).in("in.txt").out("out")},
		{"stdin after words", "cat -n < in.txt | wc -l >> log", Options{}, nil, pl(st(1, "cat", "cat", "-n"), st(19, "wc", "wc", "-l")).in("in.txt").appnd("log")},
		{"both in one stage", "sort < a > b", Options{}, nil, pl(st(1, "sort", "sort")).in("a").out("b")},
		{"no spaces", "cat<in>out", Options{}, nil, pl(st(1, "cat", "cat")).in("in").out("out")},
		{"redirection before options", "< in --cpus 2 cat", Options{}, nil, pl(st(1, "cat", "cat").cpus(2)).in("in")},
		{"quoted targets", `cat < 'my in' > "my out"`, Options{}, nil, pl(st(1, "cat", "cat")).in("my in").out("my out")},
		{"glob not expanded in target", "cat > *.txt", Options{}, map[string][]string{"*.txt": {"a.txt"}}, pl(st(1, "cat", "cat")).out("*.txt")},

		// names
		{"names made unique", "cat | cat | cat", Options{}, nil, pl(st(1, "cat", "cat"), st(7, "cat-2", "cat"), st(13, "cat-3", "cat"))},
		{"explicit name reserved first", "cat | cat | --name cat-2 x", Options{}, nil, pl(st(1, "cat", "cat"), st(7, "cat-3", "cat"), st(13, "cat-2", "x"))},
		{"explicit name taken from default", "cat | --name cat x", Options{}, nil, pl(st(1, "cat-2", "cat"), st(7, "cat", "x"))},
		{"base name of path", "/usr/bin/python3.11 x | ./dir/", Options{}, nil, pl(st(1, "python3.11", "/usr/bin/python3.11", "x"), st(25, "stage", "./dir/"))},
		{"name characters replaced", "'my prog' | 'a:b'", Options{}, nil, pl(st(1, "my_prog", "my prog"), st(13, "a_b", "a:b"))},

		// expansion
		{"parameters", `echo $A "$A" ${A}x $E "$E" a$E $UNSET "${N}"`, full, nil,
			pl(st(1, "echo", "echo", "1", "2", "1 2", "1", "2x", "", "a", "4"))},
		{"splitting trims", `echo a$SP"b"`, full, nil, pl(st(1, "echo", "echo", "a", "x", "b"))},
		{"parameters not in single quotes", `echo '$A' \$A "\$A"`, full, nil, pl(st(1, "echo", "echo", "$A", "$A", "$A"))},
		{"parameter then name chars", `echo $N_x ${N}_x "$Q"`, full, nil, pl(st(1, "echo", "echo", "4_x", "it's"))},
		{"parameter in option value", "--cpus $N --name \"s$N\" x", full, nil, pl(st(1, "s4", "x").cpus(4))},
		{"parameter in option = value", "--cpus=$N x", full, nil, pl(st(1, "x", "x").cpus(4))},
		{"parameter in targets", "cat < ~/in > $OUT/x", full, nil, pl(st(1, "cat", "cat")).in("/home/me/in").out("/tmp/o/x")},
		{"parameter command", "$A x", full, nil, pl(st(1, "1", "1", "2", "x"))},
		{"empty parameter before command", "$E cat", full, nil, pl(st(1, "cat", "cat"))},
		{"expansion off", `echo $A ${B} "$C"`, Options{}, nil, pl(st(1, "echo", "echo", "$A", "${B}", "$C"))},
		{"tilde", `ls ~ ~/x a~ '~' ~"/x" "~" ~$N x=~`, full, nil, pl(st(1, "ls", "ls", "/home/me", "/home/me/x", "a~", "~", "~/x", "~", "~4", "x=~"))},
		{"tilde without home", "ls ~ ~/x", Options{}, nil, pl(st(1, "ls", "ls", "~", "~/x"))},
		{"glob no match stays", `ls b* "q"?`, Options{}, map[string][]string{}, pl(st(1, "ls", "ls", "b*", "q?"))},
		{"glob from parameter", "ls $S", full, map[string][]string{"*.txt": {"a.txt", "b.txt"}}, pl(st(1, "ls", "ls", "a.txt", "b.txt"))},
		{"glob not in quotes", `ls '*.txt' "*.txt" \*.txt "$S"`, full, map[string][]string{"*.txt": {"a.txt"}}, pl(st(1, "ls", "ls", "*.txt", "*.txt", "*.txt", "*.txt"))},
		{"glob off", "ls *.txt", Options{}, nil, pl(st(1, "ls", "ls", "*.txt"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			if tt.glob != nil {
				g := &globber{matches: tt.glob}
				opt.Glob = g.glob
			}
			got, err := Parse(tt.in, opt)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestGlobPattern(t *testing.T) {
	tests := []struct {
		in   string
		want []string // patterns Glob is asked for, in order
	}{
		{`ls *.go`, []string{"*.go"}},
		{`ls "x*"*.go`, []string{`x\**.go`}},
		{`ls 'a[b]'?`, []string{`a\[b\]?`}},
		{`ls [!a]* [^b]*`, []string{`[^a]*`, `[^b]*`}},
		{`ls []a]*`, []string{`[\]a]*`}},
		{`ls "-"[a"-"z]`, []string{`\-[a\-z]`}},
		{`ls a b "c*" 'd?'`, nil},
		{`ls $P`, []string{`a\\b*`}},
		{`cat < *.in > *.out`, nil},
		{`--on x* ls`, nil}, // option values are not patterns (and x* is not a name)
	}
	for _, tt := range tests {
		g := &globber{}
		_, _ = Parse(tt.in, Options{Glob: g.glob, Getenv: env(map[string]string{"P": `a\b*`})})
		if !slices.Equal(g.asked, tt.want) {
			t.Errorf("Parse(%q) asked Glob for %q, want %q", tt.in, g.asked, tt.want)
		}
	}
}

func TestGlobMatchesPathMatch(t *testing.T) {
	// The patterns handed to Glob mean in path.Match what the words mean in sh.
	tests := []struct {
		word, name string
		match      bool
	}{
		{`"a*"*`, "a*bc", true},
		{`"a*"*`, "abc", false},
		{`[!x]y`, "zy", true},
		{`[!x]y`, "xy", false},
		{`'['a]`, "[a]", false}, // no match: '[' is quoted, so a] is literal and the word is "[a]" as text
		{`\?*`, "?x", true},
		{`\?*`, "ax", false},
	}
	for _, tt := range tests {
		g := &globber{}
		if _, err := Parse("ls "+tt.word, Options{Glob: g.glob}); err != nil {
			t.Fatalf("Parse(%q): %v", tt.word, err)
		}
		if len(g.asked) != 1 {
			if tt.match || len(g.asked) > 1 {
				t.Errorf("%s: Glob asked %q", tt.word, g.asked)
			}
			continue
		}
		ok, err := path.Match(g.asked[0], tt.name)
		if err != nil || ok != tt.match {
			t.Errorf("%s: path.Match(%q, %q) = %v, %v; want %v", tt.word, g.asked[0], tt.name, ok, err, tt.match)
		}
	}
}

func TestGlobErrors(t *testing.T) {
	g := &globber{err: map[string]error{"[": path.ErrBadPattern, "x*": errors.New("disk on fire")}}
	p, err := Parse("[ -f a ]", Options{Glob: g.glob})
	if err != nil {
		t.Fatalf("bad pattern should leave the word as written: %v", err)
	}
	if want := []string{"[", "-f", "a", "]"}; !slices.Equal(p.Stages[0].Argv, want) {
		t.Fatalf("argv %q, want %q", p.Stages[0].Argv, want)
	}
	_, err = Parse("ls  x*", Options{Glob: g.glob})
	var e *Error
	if !errors.As(err, &e) || e.Col != 5 || !strings.Contains(e.Msg, "disk on fire") {
		t.Fatalf("glob failure: %#v", err)
	}
}

func TestParseRefused(t *testing.T) {
	full := Options{Getenv: env(testEnv), Home: "/home/me"}
	tests := []struct {
		in   string
		opt  Options
		line int // 0 means 1
		col  int
		want string // a substring of Msg or Hint
	}{
		{"a && b", Options{}, 0, 3, "&& is not supported"},
		{"--stack Tools! a", Options{}, 0, 9, "a-z 0-9"},
		{"a | --stack tools:0 b", Options{}, 0, 13, "a version is a number from 1"},
		{"a | --keep-changes b", Options{}, 0, 5, "give it one with --stack NAME"},
		{"--stack tools --keep-changes=yes a", Options{}, 0, 15, "--keep-changes takes no value"},
		{"a &\\\n& b", Options{}, 0, 3, "&& is not supported"},
		{"a || b", Options{}, 0, 3, "|| is not supported"},
		{"a ; b", Options{}, 0, 3, "; is not supported"},
		{"a;b", Options{}, 0, 2, "one pipeline"},
		{"a &", Options{}, 0, 3, "background"},
		{"a & b", Options{}, 0, 3, "background"},
		{"a |& b", Options{}, 0, 3, "burst logs JOB --stage NAME"},
		{"(a)", Options{}, 0, 1, "subshell"},
		{"a )", Options{}, 0, 3, "subshell"},
		{"a(b)", Options{}, 0, 2, "subshell"},
		{"a $(b)", Options{}, 0, 3, "command substitution is not supported; run it first and pass the result, or quote with single quotes"},
		{`a "x$(b)"`, Options{}, 0, 5, "command substitution"},
		{"a `b`", Options{}, 0, 3, "command substitution"},
		{"a \"x`b`\"", Options{}, 0, 5, "command substitution"},
		{"a $((1+2))", Options{}, 0, 3, "arithmetic"},
		{`a "$((1))"`, Options{}, 0, 4, "arithmetic"},
		{"a $[1+2]", Options{}, 0, 3, "arithmetic"},
		{"cat <<EOF", Options{}, 0, 5, "here-document"},
		{"cat <<- EOF", Options{}, 0, 5, "here-document"},
		{"cat <<< x", Options{}, 0, 5, "here-string"},
		{"cat <> x", Options{}, 0, 5, "<> is not supported"},
		{"a >| x", Options{}, 0, 3, ">| is not supported"},
		{"a 2> x", Options{}, 0, 3, "file descriptor 2"},
		{"a 2>&1", Options{}, 0, 3, "burst logs JOB --stage NAME"},
		{"a 2>>x", Options{}, 0, 3, "file descriptor 2"},
		{"a 0< x", Options{}, 0, 3, "file descriptor 0"},
		{"a 10>x", Options{}, 0, 3, "file descriptor 10"},
		{"a {fd}>x", Options{}, 0, 3, "not supported"},
		{"a &> x", Options{}, 0, 3, "burst logs JOB --stage NAME"},
		{"a >& x", Options{}, 0, 3, "burst logs JOB --stage NAME"},
		{"a <&3", Options{}, 0, 3, "<& is not supported"},
		{"a <(b)", Options{}, 0, 3, "process substitution"},
		{"diff x <(a) <(b)", Options{}, 0, 8, "process substitution"},
		{"tee >(b)", Options{}, 0, 5, "process substitution"},
		{"X=1 cmd", Options{}, 0, 1, "env VAR=value cmd"},
		{"--cpus 2 X=1 cmd", Options{}, 0, 10, "variable assignment X=1"},
		{"< in X= cmd", Options{}, 0, 6, "variable assignment"},
		{"a | | b", Options{}, 0, 5, "empty stage"},
		{"| a", Options{}, 0, 1, "empty stage"},
		{"a |", Options{}, 0, 3, "empty stage"},
		{"a |\n\n", Options{}, 0, 3, "empty stage"},
		{"a |   |", Options{}, 0, 7, "empty stage"},
		{"", Options{}, 0, 1, "empty pipeline"},
		{"  # only a comment\n", Options{}, 0, 1, "empty pipeline"},
		{"a 'b", Options{}, 0, 3, "unterminated single quote"},
		{`a "b`, Options{}, 0, 3, "unterminated double quote"},
		{`a "b'c`, Options{}, 0, 3, "unterminated double quote"},
		{`a "b\`, Options{}, 0, 3, "unterminated double quote"},
		{"a 'b\nc", Options{}, 0, 3, "unterminated single quote"},
		{`a \`, Options{}, 0, 3, "backslash at the end"},
		{"--xyz a", Options{}, 0, 1, "unknown stage option --xyz"},
		{"seq 3 | -c 2 wc -l", Options{}, 0, 9, "stage options are written long: -c is not one"},
		{"--xyz a", Options{}, 0, 1, "write -- before it"},
		{"--cpu 4 a", Options{}, 0, 1, "--cpus N, --mem SIZE, --gpus N, --time DUR, --on CLUSTER, --parallel N, --stack STACK, --keep-changes and --name NAME"},
		{"a | --cpus 2 --nope b", Options{}, 0, 14, "unknown stage option --nope"},
		{"seq 3 | --cpu 2 cat", Options{}, 0, 9, "unknown stage option --cpu (did you mean --cpus?)"},
		{"seq 3 | --parralel 2 cat", Options{}, 0, 9, "unknown stage option --parralel (did you mean --parallel?)"},
		{`--cpus"=2" a`, Options{}, 0, 1, "unknown stage option"},
		{"--gpus x a", Options{}, 0, 8, `--gpus wants a whole number of at least 0, not "x"`},
		{"--gpus -1 a", Options{}, 0, 8, "--gpus wants"},
		{"--gpus=x a", Options{}, 0, 8, "--gpus wants"},
		{"--gpus", Options{}, 0, 1, "--gpus needs a value"},
		{"--gpus > x", Options{}, 0, 1, "--gpus needs a value"},
		{"--gpus= a", Options{}, 0, 1, "--gpus needs a value"},
		{"--cpus 0 a", Options{}, 0, 8, "at least 1"},
		{"--cpus +4 a", Options{}, 0, 8, "at least 1"},
		{"--cpus 1.5 a", Options{}, 0, 8, "at least 1"},
		{"--cpus 99999999999999999999 a", Options{}, 0, 8, "--cpus wants"},
		{"--parallel 0 a", Options{}, 0, 12, "--parallel wants"},
		{"--mem 8Q a", Options{}, 0, 7, `--mem "8Q" is not a memory size`},
		{"--mem 0 a", Options{}, 0, 7, "--mem must be more than 0"},
		{"--time soon a", Options{}, 0, 8, `--time "soon" is not a time limit`},
		{"--time infinite a", Options{}, 0, 8, "leave --time out for no limit"},
		{"--time 1.5s a", Options{}, 0, 8, `--time "1.5s" is not a whole number of seconds`},
		{"--on 'bad name' a", Options{}, 0, 6, "not a cluster name"},
		{"--name a/b x", Options{}, 0, 8, "not a valid stage name"},
		{"--name x* x", Options{}, 0, 8, "not a valid stage name"},
		{"--cpus 1 --cpus 2 x", Options{}, 0, 10, "--cpus is given twice"},
		{"--name=x a | --name x b", Options{}, 0, 21, `stage name "x" is used twice`},
		{"--cpus 2", Options{}, 0, 1, "stage has no command"},
		{"a | --cpus 2 < x", Options{}, 0, 5, "stage has no command"},
		{"a | < in b", Options{}, 0, 5, "only the first stage can read a file with <"},
		{"a | b < in", Options{}, 0, 7, "< in stage 2 of 2"},
		{"a > out | b", Options{}, 0, 3, "only the last stage can write to a file with >"},
		{"a >> out | b | c", Options{}, 0, 3, ">> in stage 1 of 3"},
		{"a < x < y", Options{}, 0, 7, "a second <"},
		{"a > x > y", Options{}, 0, 7, "a second >"},
		{"a > x >> y", Options{}, 0, 7, "a second >>"},
		{"a >", Options{}, 0, 3, "> needs a file name"},
		{"a > | b", Options{}, 0, 3, "> needs a file name"},
		{"a < > b", Options{}, 0, 3, "< needs a file name"},
		{"a > ''", Options{}, 0, 5, "file name after > is empty"},
		{"a > $E", full, 0, 5, "file name after > is empty"},
		{"a\nb", Options{}, 2, 1, "a second command starts on line 2"},
		{"a | b\n\n  c", Options{}, 3, 3, "end a line with |"},
		{"a # c\nb", Options{}, 2, 1, "second command"},
		{"a ${X:-d}", full, 0, 3, "${NAME:-default}"},
		{"a ${X", full, 0, 3, "no closing }"},
		{"a ${}", full, 0, 3, "names no variable"},
		{"a ${#X}", full, 0, 3, "${#NAME}"},
		{"a ${1}", full, 0, 3, "$1 is not supported"},
		{"a $1", Options{}, 0, 3, "$1 is not supported"},
		{"a $@", Options{}, 0, 3, "positional and special parameters"},
		{"a $*", Options{}, 0, 3, "special"},
		{"a $#", Options{}, 0, 3, "special"},
		{`a "$?"`, Options{}, 0, 4, "special"},
		{"a $$", Options{}, 0, 3, "special"},
		{"a $!", Options{}, 0, 3, "special"},
		{"a $-", Options{}, 0, 3, "special"},
		{"a $0", Options{}, 0, 3, "quote with single quotes to pass them literally"},
		{"a $'x'", Options{}, 0, 3, "$'...' quoting"},
		{`a $"x"`, Options{}, 0, 3, `$"..." quoting`},
		{"if true", Options{}, 0, 1, "shell syntax"},
		{"! a", Options{}, 0, 1, "shell syntax"},
		{"{ a", Options{}, 0, 1, "shell syntax"},
		{"a | while x", Options{}, 0, 5, "quote the word to run a program of that name"},
		{"'' x", Options{}, 0, 1, "command name is empty"},
		{`"$E" x`, full, 0, 1, "command name is empty"},
		{"$E", full, 0, 1, "expands to nothing"},
		{"~bob/x", full, 0, 1, "~bob is not supported"},
		{"ls ~+", Options{}, 0, 4, "~+ is not supported"},
		{"echo {a,b}", Options{}, 0, 6, "brace expansion"},
		{"echo x{1..3}", Options{}, 0, 7, "brace expansion"},
		{`echo {a,"b"}`, Options{}, 0, 6, "brace expansion"},
		{"a \xff", Options{}, 0, 3, "not valid UTF-8"},
		{"ab\ncd\x00", Options{}, 2, 3, "NUL"},
		{"é && x", Options{}, 0, 3, "&&"},
		{"a\tb && c", Options{}, 0, 5, "&&"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in, tt.opt)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, want an *Error", tt.in, err)
			continue
		}
		line := max(tt.line, 1)
		if e.Line != line || e.Col != tt.col {
			t.Errorf("Parse(%q): line %d column %d, want line %d column %d (%s)", tt.in, e.Line, e.Col, line, tt.col, e.Msg)
		}
		if !strings.Contains(e.Msg, tt.want) && !strings.Contains(e.Hint, tt.want) {
			t.Errorf("Parse(%q): %q / %q does not say %q", tt.in, e.Msg, e.Hint, tt.want)
		}
		if e.Input != tt.in {
			t.Errorf("Parse(%q): Input %q", tt.in, e.Input)
		}
		if e.Msg == "" || e.Msg != strings.TrimSuffix(e.Msg, ".") || strings.ToLower(e.Msg[:1]) != e.Msg[:1] {
			t.Errorf("Parse(%q): message %q should be lower case with no trailing period", tt.in, e.Msg)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"gen | filter && x",
			"column 14: && is not supported\n" +
				"  gen | filter && x\n" +
				"               ^\n" +
				hintOnePipeline},
		{"gen |\n\tfilt 2>&1",
			"line 2, column 7: 2> redirects file descriptor 2, which is not supported\n" +
				"  \tfilt 2>&1\n" +
				"  \t     ^\n" +
				"write plain < FILE or > FILE; " + hintStderr},
		{"a |",
			"column 3: empty stage after |\n" +
				"  a |\n" +
				"    ^\n" +
				"every stage needs a command: a | b | c"},
		{"a 'b\x1b",
			"column 3: unterminated single quote\n" +
				"  a 'b?\n" +
				"    ^\n" +
				"close it with '"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in, Options{})
		if err == nil {
			t.Fatalf("Parse(%q) succeeded", tt.in)
		}
		if got := err.Error(); got != tt.want {
			t.Errorf("Parse(%q).Error() =\n%s\nwant\n%s", tt.in, got, tt.want)
		}
	}
	// No hint: no trailing line; a column past the end of the line.
	e := &Error{Input: "abc", Line: 1, Col: 4, Msg: "m"}
	if got, want := e.Error(), "column 4: m\n  abc\n     ^"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"generate_data | --cpus 8 filter1 --threshold 3 | --gpus 1 filter2 > result.bin",
			"generate_data | --cpus 8 filter1 --threshold 3 | --gpus 1 filter2 > result.bin"},
		{`--parallel=4 --on hpc --time 1:30:00 --gpus 2 --mem 1.5G --cpus=8 --name step x "a b" '' it\'s`,
			`--name step --cpus 8 --mem 1536M --gpus 2 --time 5400s --on hpc --parallel 4 x 'a b' '' 'it'"'"'s'`},
		{"--mem 3000 a | --mem 1.5K b | --mem 2T c | --mem 0.001K d | --time 1 e | --time 1-0 f",
			"--mem 3000M a | --mem 1.5K b | --mem 2T c | --mem 0.0009765625K d | --time 60s e | --time 86400s f"},
		{"--parallel 1 --gpus 0 x", "x"},
		{"a | --stack=tools:2 b", "a | --stack tools:2 b"},
		{"a | --keep-changes --stack=tools:2 b", "a | --stack tools:2 --keep-changes b"},
		{"-- --weird x", "-- --weird x"},
		{"'if' x | 'A=1' | \\! | '{'", "'if' x | 'A=1' | '!' | '{'"},
		{`echo '*' '~' '$x' '#c' '<' a=b --x -y '' "a'b" "x\ny" é`,
			`echo '*' '~' '$x' '#c' '<' 'a=b' --x -y '' 'a'"'"'b' 'x\ny' 'é'`},
		{"echo 'a\nb' \"c\nd\"", "echo 'a\nb' 'c\nd'"},
		{"cat | --name cat x | cat", "--name cat-2 cat | --name cat x | cat"},
		{"< 'in file' cat | sort >> out", "cat < 'in file' | sort >> out"},
		{"a <in >out", "a < 'in' > out"}, // in is a reserved word: quoted wherever it stands,
	}
	for _, tt := range tests {
		p, err := Parse(tt.in, Options{})
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got := p.String(); got != tt.want {
			t.Errorf("Parse(%q).String() =\n %s\nwant\n %s", tt.in, got, tt.want)
		}
		checkRoundTrip(t, tt.in, p)
	}
}

// checkRoundTrip checks that p.String() parses back to p, but for Col.
func checkRoundTrip(t *testing.T, in string, p *Pipeline) {
	t.Helper()
	s := p.String()
	q, err := Parse(s, Options{})
	if err != nil {
		t.Fatalf("round trip of %q: Parse(%q): %v", in, s, err)
	}
	if !reflect.DeepEqual(noCols(p), noCols(q)) {
		t.Fatalf("round trip of %q through %q:\n got %#v\nwant %#v", in, s, q, p)
	}
	if s2 := q.String(); s2 != s {
		t.Fatalf("String not stable: %q then %q", s, s2)
	}
}

func noCols(p *Pipeline) *Pipeline {
	c := *p
	c.Stages = slices.Clone(p.Stages)
	for i := range c.Stages {
		c.Stages[i].Col = 0
	}
	return &c
}

func TestRoundTripHandBuilt(t *testing.T) {
	// Names and words that could be misread when printed.
	tests := []*Pipeline{
		pl(st(0, "cat-2", "cat"), st(0, "cat", "cat"), st(0, "cat-3", "cat")),
		pl(st(0, "x", "--cpus", "--mem"), st(0, "s", "--"), st(0, "t", "-")),
		pl(st(0, "weird", "--weird"), st(0, "weird-2", "weird")),
		pl(st(0, "a", "a", "$HOME", "~", "~/x", "*", "[a]", "{a,b}", "x=1", "#", "2>", "&&", "|", ";", "\\", "'", "\"", "\t", "")),
		pl(st(0, "in", "in"), st(0, "for", "for")).in("--x").out("-").appnd("a b"),
		pl(st(0, "x", "x").mem(1).limit(time.Second).cpus(1_000_000).parallel(2)),
	}
	for _, p := range tests {
		checkRoundTrip(t, p.String(), p)
	}
}

func TestRoundTripAccepted(t *testing.T) {
	// Every input of TestParseAccepted that parses without expansion.
	for _, in := range []string{
		"zcat reads/*.fq.gz | --cpus 4 --mem 8G ./align - | sort -k3 | uniq -c > counts.txt",
		`seq 1 100000000 | --cpus 2 awk "{s+=\$1} END {print s}"`,
		"gen | --parallel 4 --cpus 1 ./score | sort -n",
		`echo a'b'"c"d '' "" \& '$A' ~ ~/x "*" * ? [ é ''`,
		"echo 'a\nb' \"c\\\nd\" 'e\\\nf'",
		"--name=x a | --name y a | a | --name a-2 a",
		"cat | --name cat x",
		"/usr/bin/python3.11 x | ./dir/ | 'my prog'",
		"< in.txt cat -n | wc -l >> log",
		"-- --x | -- -- | -- '--'",
	} {
		p, err := Parse(in, Options{})
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		checkRoundTrip(t, in, p)
	}
}

func TestCopies(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"a", 1},
		{"gen | --parallel 4 --cpus 1 ./score | sort -n", 6},
		{"--parallel 1 a | --parallel 2 b", 3},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Copies(); got != tt.want {
			t.Errorf("Copies(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
