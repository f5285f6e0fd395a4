package mapspec

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/shellquote"
)

// files is a fake readFile over an in-memory map.
func files(m map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		s, ok := m[p]
		if !ok {
			return nil, fmt.Errorf("open %s: no such file or directory", p)
		}
		return []byte(s), nil
	}
}

func oneLineErr(t *testing.T, err error) {
	t.Helper()
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Errorf("error is not one line: %q", err)
	}
}

func TestParse(t *testing.T) {
	fs := files(map[string]string{
		"in.txt":    "a\nb\n",
		"f2":        "c\nd",
		"crlf.txt":  "a\r\nb\r\n",
		"crlfmid":   "a\r\n\r\nb",
		"mid.txt":   "a\n\nb\n",
		"endblank":  "a\n\n",
		"nl":        "\n",
		"empty":     "",
		"cr":        "a\r",
		"crcr":      "a\r\r\nb",
		"-":         "s1\ns2\n",
		"looks":     "{}\n:::\n",
		"sp":        "  x y  \n",
		"wide.list": "1\n2\n3\n",
	})
	tests := []struct {
		name    string
		args    []string
		tmpl    []string
		sources []Source
		err     string // substring; "" means success
	}{
		{"one group", []string{"echo", "{}", ":::", "a", "b", "c"}, []string{"echo", "{}"}, []Source{{"a", "b", "c"}}, ""},
		{"several groups", []string{"cmd", "-x", ":::", "a", "b", "c", ":::", "x", "y"}, []string{"cmd", "-x"}, []Source{{"a", "b", "c"}, {"x", "y"}}, ""},
		{"no groups", []string{"cmd", "{}"}, []string{"cmd", "{}"}, nil, ""},
		// `parallel echo :::` runs nothing and exits 0: an empty group.
		{"empty group at end", []string{"cmd", ":::"}, []string{"cmd"}, []Source{{}}, ""},
		{"empty group in middle", []string{"cmd", ":::", ":::", "a"}, []string{"cmd"}, []Source{{}, {"a"}}, ""},
		{"file", []string{"cmd", "::::", "in.txt"}, []string{"cmd"}, []Source{{"a", "b"}}, ""},
		// parallel: `:::: f1 f2` is `-a f1 -a f2`, two input sources (all combinations).
		{"files are groups", []string{"cmd", "::::", "in.txt", "f2"}, []string{"cmd"}, []Source{{"a", "b"}, {"c", "d"}}, ""},
		{"mixed", []string{"cmd", "{1}", "{2}", "{3}", ":::", "a", "b", "::::", "wide.list", ":::", "z"}, []string{"cmd", "{1}", "{2}", "{3}"},
			[]Source{{"a", "b"}, {"1", "2", "3"}, {"z"}}, ""},
		{"file then group", []string{"cmd", "::::", "f2", ":::", "q"}, []string{"cmd"}, []Source{{"c", "d"}, {"q"}}, ""},
		{"stdin", []string{"cmd", "::::", "-"}, []string{"cmd"}, []Source{{"s1", "s2"}}, ""},
		// parallel 20221122 keeps a line's "\r": printf 'a\r\nb\r\n' | parallel echo {} | od -c prints
		// a \r \n b \r \n.
		{"crlf", []string{"cmd", "::::", "crlf.txt"}, []string{"cmd"}, []Source{{"a\r", "b\r"}}, ""},
		{"crlf empty middle", []string{"cmd", "::::", "crlfmid"}, []string{"cmd"}, []Source{{"a\r", "\r", "b"}}, ""},
		{"empty middle line kept", []string{"cmd", "::::", "mid.txt"}, []string{"cmd"}, []Source{{"a", "", "b"}}, ""},
		{"blank line before final newline kept", []string{"cmd", "::::", "endblank"}, []string{"cmd"}, []Source{{"a", ""}}, ""},
		{"single newline is one empty input", []string{"cmd", "::::", "nl"}, []string{"cmd"}, []Source{{""}}, ""},
		{"empty file is an empty source", []string{"cmd", "::::", "empty"}, []string{"cmd"}, []Source{{}}, ""},
		{"final cr without newline", []string{"cmd", "::::", "cr"}, []string{"cmd"}, []Source{{"a\r"}}, ""},
		{"crs kept", []string{"cmd", "::::", "crcr"}, []string{"cmd"}, []Source{{"a\r\r", "b"}}, ""},
		{"file lines are values", []string{"cmd", "::::", "looks"}, []string{"cmd"}, []Source{{"{}", ":::"}}, ""},
		{"spaces kept", []string{"cmd", "::::", "sp"}, []string{"cmd"}, []Source{{"  x y  "}}, ""},
		{"values that look like strings", []string{"cmd", ":::", "{}", "{1}", "-", "::"}, []string{"cmd"}, []Source{{"{}", "{1}", "-", "::"}}, ""},
		{"empty value", []string{"cmd", ":::", ""}, []string{"cmd"}, []Source{{""}}, ""},
		// parallel reads ::: values as an input file's lines: `parallel echo ::: $'x\ny' z` runs echo x,
		// echo y and echo z; $'x\n' is x and an empty input; a "\r" stays.
		{"value lines are inputs", []string{"cmd", ":::", "x\ny", "z", ":::", "1\n2\n3"}, []string{"cmd"}, []Source{{"x", "y", "z"}, {"1", "2", "3"}}, ""},
		{"value ending in a newline", []string{"cmd", ":::", "x\n", "\ny", "a\r\nb"}, []string{"cmd"}, []Source{{"x", "", "", "y", "a\r", "b"}}, ""},
		// parallel: a first group after ::::+ or :::+ has none to link to, and is a group as any.
		{"linked files first", []string{"cmd", "::::+", "in.txt"}, []string{"cmd"}, []Source{{"a", "b"}}, ""},
		{"linked group first", []string{"cmd", ":::+", "a", "b", ":::", "c"}, []string{"cmd"}, []Source{{"a", "b"}, {"c"}}, ""},

		{"nothing", nil, nil, nil, "no command given"},
		{"no command", []string{":::", "a", "b"}, nil, nil, "no command before the first :::"},
		{"no command files", []string{"::::", "in.txt"}, nil, nil, "no command before the first ::::"},
		{"empty file group", []string{"cmd", "::::", ":::", "a"}, nil, nil, ":::: needs at least one file after it"},
		{"missing file", []string{"cmd", "::::", "in.txt", "nope.txt"}, nil, nil, `:::: cannot read inputs from "nope.txt": open nope.txt: no such file or directory`},
		{"linked", []string{"cmd", ":::", "a", ":::+", "b"}, nil, nil, "input group 2 is linked to the one before it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, sources, err := Parse(tc.args, fs)
			if tc.err != "" {
				if err == nil {
					t.Fatalf("Parse(%q) = %q, %q; want error %q", tc.args, tmpl, sources, tc.err)
				}
				if !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse(%q) error %q; want it to contain %q", tc.args, err, tc.err)
				}
				oneLineErr(t, err)
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.args, err)
			}
			if !reflect.DeepEqual(tmpl, tc.tmpl) {
				t.Errorf("template = %q, want %q", tmpl, tc.tmpl)
			}
			if len(sources) != len(tc.sources) {
				t.Fatalf("sources = %q, want %q", sources, tc.sources)
			}
			for i := range sources {
				if !slices.Equal(sources[i], tc.sources[i]) {
					t.Errorf("source %d = %q, want %q", i, sources[i], tc.sources[i])
				}
			}
		})
	}
}

func TestParseErrorWrapsReadFile(t *testing.T) {
	sentinel := errors.New("permission denied")
	_, _, err := Parse([]string{"cmd", "::::", "-"}, func(string) ([]byte, error) { return nil, sentinel })
	if err == nil || !strings.Contains(err.Error(), "standard input") || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("err = %v", err)
	}
	_, _, err = Parse([]string{"cmd", "::::", "x"}, func(string) ([]byte, error) { return nil, errors.New("line1\nline2") })
	if err == nil {
		t.Fatal("no error")
	}
	oneLineErr(t, err)
	if _, _, err := Parse([]string{"cmd", "::::", "x"}, nil); err == nil {
		t.Fatal("nil readFile with :::: should be an error")
	}
}

func TestParseDoesNotAlias(t *testing.T) {
	args := []string{"cmd", "{}", ":::", "a", "b"}
	tmpl, sources, err := Parse(args, nil)
	if err != nil {
		t.Fatal(err)
	}
	args[0], args[3] = "changed", "changed"
	if tmpl[0] != "cmd" || sources[0][0] != "a" {
		t.Fatalf("Parse results alias args: %q %q", tmpl, sources)
	}
}

func repeat(n, size int) []Source {
	s := make([]Source, n)
	for i := range s {
		s[i] = make(Source, size)
	}
	return s
}

func TestCount(t *testing.T) {
	tests := []struct {
		name    string
		sources []Source
		limit   int64
		want    int64
		err     string
	}{
		{"none", nil, 10, 0, ""},
		{"one", []Source{{"a", "b", "c"}}, 10, 3, ""},
		{"product", []Source{{"a", "b"}, {"1", "2", "3"}, {"x", "y"}}, 100, 12, ""},
		{"empty source", []Source{{"a", "b"}, {}}, 100, 0, ""},
		{"at limit", []Source{{"a", "b"}, {"1", "2", "3"}}, 6, 6, ""},
		{"over limit", []Source{{"a", "b"}, {"1", "2", "3"}}, 5, 0, "make 6 tasks, more than the limit of 5"},
		{"no limit", repeat(40, 2), 0, 1 << 40, ""},
		{"negative limit is no limit", repeat(3, 2), -1, 8, ""},
		{"2^62", repeat(62, 2), 0, 1 << 62, ""},
		{"2^63 overflows", repeat(63, 2), 0, 0, "more than 9223372036854775807 tasks"},
		{"2^64 overflows", repeat(64, 2), math.MaxInt64, 0, "more than 9223372036854775807 tasks"},
		{"overflow but empty", append(repeat(64, 2), Source{}), 10, 0, ""},
		{"big limit error", repeat(40, 2), 1 << 39, 0, "more than the limit of 549755813888"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Count(tc.sources, tc.limit)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Count = %d, %v; want error containing %q", got, err, tc.err)
				}
				oneLineErr(t, err)
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Count = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestTupleOrder(t *testing.T) {
	// The GNU parallel order for "::: a b ::: 1 2": (a,1) (a,2) (b,1) (b,2).
	two := []Source{{"a", "b"}, {"1", "2"}}
	var got [][]string
	for i := int64(0); i < 4; i++ {
		got = append(got, Tuple(two, i))
	}
	want := [][]string{{"a", "1"}, {"a", "2"}, {"b", "1"}, {"b", "2"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}

	// Three sources: the last varies fastest, like nested loops with the first outermost.
	srcs := []Source{{"a", "b"}, {"1", "2", "3"}, {"x", "y"}}
	n, err := Count(srcs, 0)
	if err != nil || n != 12 {
		t.Fatalf("Count = %d, %v", n, err)
	}
	var wantAll [][]string
	for _, p := range srcs[0] {
		for _, q := range srcs[1] {
			for _, r := range srcs[2] {
				wantAll = append(wantAll, []string{p, q, r})
			}
		}
	}
	for i := int64(0); i < n; i++ {
		if g := Tuple(srcs, i); !slices.Equal(g, wantAll[i]) {
			t.Errorf("Tuple(%d) = %q, want %q", i, g, wantAll[i])
		}
	}
	if g := Tuple(srcs, 0); !slices.Equal(g, []string{"a", "1", "x"}) {
		t.Errorf("first = %q", g)
	}
	if g := Tuple(srcs, 11); !slices.Equal(g, []string{"b", "3", "y"}) {
		t.Errorf("last = %q", g)
	}
	if g := Tuple(nil, 0); len(g) != 0 {
		t.Errorf("Tuple(nil, 0) = %q", g)
	}
}

func TestTupleHuge(t *testing.T) {
	srcs := repeat(62, 2)
	for i := range srcs {
		srcs[i] = Source{"0", "1"}
	}
	i := int64(1)<<62 - 1 - 5 // ...111010 in binary
	got := strings.Join(Tuple(srcs, i), "")
	want := fmt.Sprintf("%062b", i)
	if got != want {
		t.Fatalf("Tuple = %s, want %s", got, want)
	}
}

var tupleSink []string

func TestTupleAllocs(t *testing.T) {
	srcs := []Source{{"a", "b"}, {"1", "2", "3"}, {"x", "y"}}
	allocs := testing.AllocsPerRun(100, func() { tupleSink = Tuple(srcs, 7) })
	if allocs > 1 {
		t.Fatalf("Tuple allocates %v times, want 1 (the result)", allocs)
	}
}

func TestTuplePanics(t *testing.T) {
	srcs := []Source{{"a", "b"}, {"1", "2"}}
	for _, i := range []int64{-1, 4, math.MaxInt64} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Tuple(%d) did not panic", i)
				}
			}()
			Tuple(srcs, i)
		}()
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Tuple with an empty source did not panic")
			}
		}()
		Tuple([]Source{{"a"}, {}}, 0)
	}()
}

func TestExpandPathModifiers(t *testing.T) {
	// input, {.}, {/}, {//}, {/.} — GNU parallel's definitions: {.} s:\.[^/.]*$::, {/} s:.*/::,
	// {//} File::Basename::dirname, {/.} both.
	tests := [][5]string{
		{"/a/b/c.tar.gz", "/a/b/c.tar", "c.tar.gz", "/a/b", "c.tar"},
		{"c", "c", "c", ".", "c"},
		{"./x", "./x", "x", ".", "x"},
		{"dir/", "dir/", "", ".", ""},
		{"a.tar.gz", "a.tar", "a.tar.gz", ".", "a.tar"},
		{"dir.d/file", "dir.d/file", "file", "dir.d", "file"},
		{".bashrc", "", ".bashrc", ".", ""},
		{"x/.hidden", "x/", ".hidden", "x", ""},
		{"/", "/", "", "/", ""},
		{"", "", "", ".", ""},
		{"a//b", "a//b", "b", "a", "b"},
		{"//a", "//a", "a", "/", "a"},
		{"a/b/", "a/b/", "", "a", ""},
		{"a/b//", "a/b//", "", "a", ""},
		{"/a", "/a", "a", "/", "a"},
		{"a.", "a", "a.", ".", "a"},
		{"a..", "a.", "a..", ".", "a."},
		{"..", ".", "..", ".", "."},
		{"../x.y", "../x", "x.y", "..", "x"},
		{"a/./b.c", "a/./b", "b.c", "a/.", "b"},
		{"with space/f i.le", "with space/f i", "f i.le", "with space", "f i"},
	}
	for _, tc := range tests {
		in := tc[0]
		for k, rs := range []string{"{.}", "{/}", "{//}", "{/.}"} {
			want := tc[k+1]
			if got := Expand([]string{rs}, []string{in}, 1, 0, false, false); !slices.Equal(got, []string{want}) {
				t.Errorf("%s of %q = %q, want %q", rs, in, got, want)
			}
			// The positional form on the second of two sources gives the same.
			pos := "{2" + rs[1:]
			if got := Expand([]string{pos}, []string{"other.x/y.z", in}, 1, 0, false, false); !slices.Equal(got, []string{want}) {
				t.Errorf("%s of %q = %q, want %q", pos, in, got, want)
			}
		}
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name   string
		tmpl   []string
		inputs []string
		seq    int64
		want   []string
	}{
		{"plain", []string{"gzip", "{}"}, []string{"a b.txt"}, 1, []string{"gzip", "a b.txt"}},
		{"inside an argument", []string{"cp", "{}", "out/{/.}.bak"}, []string{"/data/x.csv"}, 1, []string{"cp", "/data/x.csv", "out/x.bak"}},
		{"all of them", []string{"{}|{.}|{/}|{//}|{/.}|{#}"}, []string{"/a/b/c.tar.gz"}, 7, []string{"/a/b/c.tar.gz|/a/b/c.tar|c.tar.gz|/a/b|c.tar|7"}},
		{"seq", []string{"run", "--id={#}", "{#}{#}"}, []string{"x"}, 42, []string{"run", "--id=42", "4242"}},
		// parallel gives {} of several input sources as one quoted word per source (`parallel printf
		// '[%s]\n' {} ::: a ::: 1` prints [a] and [1]): as argv, one argument per group.
		{"multiple sources {}", []string{"echo", "{}"}, []string{"a", "b c", "d"}, 1, []string{"echo", "a", "b c", "d"}},
		{"multiple sources {.}", []string{"echo", "{.}"}, []string{"a.x", "b/c.y"}, 1, []string{"echo", "a", "b/c"}},
		{"multiple sources {/}", []string{"echo", "{/}"}, []string{"p/a", "q/b"}, 1, []string{"echo", "a", "b"}},
		{"multiple sources glued", []string{"x{}y", "{}{}"}, []string{"a", "1"}, 1, []string{"xa", "1y", "a", "1a", "1"}},
		{"positional", []string{"cmd", "{1}", "{2}", "{3}", "{1}-{3}"}, []string{"a", "b", "c"}, 1, []string{"cmd", "a", "b", "c", "a-c"}},
		{"positional modifiers", []string{"{1.}", "{1/}", "{1//}", "{1/.}", "{2.}"}, []string{"/x/y.z", "q.r"}, 1, []string{"/x/y", "y.z", "/x", "y", "q"}},
		{"negative positional", []string{"{-1}", "{-2}", "{-1/.}"}, []string{"a", "b/c.d"}, 1, []string{"b/c.d", "a", "c"}},
		{"leading zeros", []string{"{01}", "{002}"}, []string{"a", "b"}, 1, []string{"a", "b"}},
		{"no placeholder appends", []string{"wc", "-l"}, []string{"a", "b"}, 1, []string{"wc", "-l", "a", "b"}},
		{"no placeholder, literal braces", []string{"echo", "{foo}", "{", "}", "a{b", "{1", "{ }", "{-}", "{1 }", "{+}", "{....}", "{+//}", "${x}"}, []string{"v"}, 1,
			[]string{"echo", "{foo}", "{", "}", "a{b", "{1", "{ }", "{-}", "{1 }", "{+}", "{....}", "{+//}", "${x}", "v"}},
		{"nested braces", []string{"{{}}", "{{1}}"}, []string{"v"}, 1, []string{"{v}", "{v}"}},
		// parallel -n0 echo a {} x{}x b ::: v runs echo a  xx b: no argument where {} stood alone.
		{"no inputs", []string{"echo", "a", "{}", "x{}x", "{.}{/}", "b"}, nil, 1, []string{"echo", "a", "xx", "b"}},
		{"no inputs no placeholder", []string{"date"}, nil, 1, []string{"date"}},
		{"empty input", []string{"echo", "[{}]"}, []string{""}, 1, []string{"echo", "[]"}},
		{"only {#} counts as a placeholder", []string{"echo", "{#}"}, []string{"a"}, 3, []string{"echo", "3"}},
		{"input is not re-expanded", []string{"echo", "{}"}, []string{"{#} {1} {}"}, 3, []string{"echo", "{#} {1} {}"}},
		{"slot unknown and {0} left as written", []string{"echo", "{%}", "{0}"}, []string{"a", "b"}, 1, []string{"echo", "{%}", "{0}"}},
		// Only a --colsep map reaches them (Validate refuses them elsewhere): a column the input lacks.
		{"columns beyond the inputs empty", []string{"echo", "{3}-{-3}"}, []string{"a", "b"}, 1, []string{"echo", "-"}},
	}
	// {%}: the task's job slot once it is known.
	if got := Expand([]string{"echo", "{%}", "gpu{%}-{#}"}, []string{"a"}, 7, 2, false, false); !slices.Equal(got, []string{"echo", "2", "gpu2-7"}) {
		t.Errorf("Expand with slot 2 = %q", got)
	}
	if got := Expand([]string{"echo {%}"}, []string{"a"}, 7, 3, true, false); got[len(got)-1] != "echo 3" {
		t.Errorf("Expand with slot 3, shell = %q", got)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Expand(tc.tmpl, tc.inputs, tc.seq, 0, false, false)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Expand(%q, %q) = %q, want %q", tc.tmpl, tc.inputs, got, tc.want)
			}
		})
	}
}

func TestExpandShellForm(t *testing.T) {
	tests := []struct {
		tmpl   []string
		inputs []string
		want   string
	}{
		{[]string{"gzip", "{}"}, []string{"a b"}, `gzip 'a b'`},
		{[]string{"gzip", "-c", "{}", ">", "{}.gz"}, []string{"it's"}, `gzip -c 'it'"'"'s' > 'it'"'"'s'.gz`},
		{[]string{"wc", "-l"}, []string{"a", "$b"}, `wc -l a '$b'`},
		{[]string{"echo", "{#}", "{2/.}"}, []string{"x", "d/f.c"}, `echo 9 f`},
		{[]string{"echo", "{}"}, []string{"a", "b"}, `echo a b`},
		{[]string{"echo $HOME | tr a-z A-Z"}, nil, `echo $HOME | tr a-z A-Z`},
	}
	for _, tc := range tests {
		got := Expand(tc.tmpl, tc.inputs, 9, 0, true, false)
		if !slices.Equal(got, []string{"sh", "-c", ShellLauncher, "sh", tc.want}) {
			t.Errorf("Expand(%q, %q, shell) = %q, want sh -c LAUNCHER sh %q", tc.tmpl, tc.inputs, got, tc.want)
		}
	}
}

// nasty inputs for the injection tests; marker is replaced by a file the shell must never create.
var nasty = []string{
	"plain",
	"",
	" ",
	"  two  spaces  ",
	"it's",
	"'",
	"''",
	`'\''`,
	`"double"`,
	`"`,
	"$HOME",
	"${HOME}",
	"$(touch MARKER)",
	"`touch MARKER`",
	`back\slash`,
	`\`,
	`\'`,
	"; touch MARKER",
	"& touch MARKER &",
	"| touch MARKER",
	"&& touch MARKER",
	"line1\nline2",
	"\ntouch MARKER\n",
	"tab\there",
	"*",
	"~",
	"#comment",
	"> MARKER",
	"< /etc/passwd",
	"!",
	"{}",
	"a=b",
	"-n",
	"%s",
	"ünïcødé ✓",
}

func TestExpandInjection(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pwned")
	for _, raw := range nasty {
		in := strings.ReplaceAll(raw, "MARKER", marker)
		got := Expand([]string{"echo", "{}"}, []string{in}, 1, 0, false, false)
		if !slices.Equal(got, []string{"echo", in}) {
			t.Errorf("Expand(echo {}) with %q = %q", in, got)
		}
		got = Expand([]string{"echo", "pre-{}-post"}, []string{in}, 1, 0, false, false)
		if !slices.Equal(got, []string{"echo", "pre-" + in + "-post"}) {
			t.Errorf("Expand(echo pre-{}-post) with %q = %q", in, got)
		}
		got = Expand([]string{"echo"}, []string{in, in}, 1, 0, false, false)
		if !slices.Equal(got, []string{"echo", in, in}) {
			t.Errorf("Expand(echo) with %q = %q", in, got)
		}
	}
}

// inShell runs a shell (sh, bash) with args in a directory of its own,
// with a bare environment; marker is a file there that no test's input may
// make. It skips the test where there is no sh, and fails it where a shell
// asked for is missing.
func inShell(t *testing.T) (sh func(shell string, args ...string) (stdout, stderr string, err error), marker string) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh:", err)
	}
	dir := t.TempDir()
	return func(shell string, args ...string) (string, string, error) {
		cmd := exec.Command(shell, args...)
		cmd.Dir = dir
		cmd.Env = []string{"HOME=/home/should-not-appear", "PATH=" + os.Getenv("PATH")}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		return string(out), stderr.String(), err
	}, filepath.Join(dir, "pwned")
}

// TestExpandShellRuns runs the shell form with sh and checks that every input arrives literally.
func TestExpandShellRuns(t *testing.T) {
	sh, marker := inShell(t)
	run := func(argv []string) string {
		t.Helper()
		if len(argv) != 5 || argv[0] != "sh" || argv[1] != "-c" || argv[2] != ShellLauncher {
			t.Fatalf("shell form = %q", argv)
		}
		out, stderr, err := sh("sh", argv[1:]...)
		if err != nil {
			t.Fatalf("sh -c %q: %v: %s", argv[4], err, stderr)
		}
		return out
	}
	for _, raw := range nasty {
		in := strings.ReplaceAll(raw, "MARKER", marker)
		other := "2nd " + in

		// One source, {} as a whole word.
		if got := run(Expand([]string{"printf", "'<%s>'", "{}"}, []string{in}, 1, 0, true, false)); got != "<"+in+">" {
			t.Errorf("{} of %q printed %q", in, got)
		}
		// Two sources, positional strings glued to literal text, and {#}.
		argv := Expand([]string{"printf", "'<%s>'", "{1}", "x{2}y", "{#}"}, []string{in, other}, 5, 0, true, false)
		if got, want := run(argv), "<"+in+"><x"+other+"y><5>"; got != want {
			t.Errorf("positional of %q printed %q, want %q", in, got, want)
		}
		// {} over two sources is one word per source, as in argv mode.
		if got, want := run(Expand([]string{"printf", "'<%s>'", "{}"}, []string{in, other}, 1, 0, true, false)), "<"+in+"><"+other+">"; got != want {
			t.Errorf("{} of %q, %q printed %q, want %q", in, other, got, want)
		}
		// No replacement string: inputs appended, each one word.
		if got, want := run(Expand([]string{"printf", "'<%s>'"}, []string{in, other}, 1, 0, true, false)), "<"+in+"><"+other+">"; got != want {
			t.Errorf("appended %q printed %q, want %q", in, got, want)
		}
		// The mini parser used by the fuzzer agrees with sh on these scripts.
		tmpl := []string{"printf", "%s", "{1}", "x{2}y", "{#}"}
		words, err := splitShell(Expand(tmpl, []string{in, other}, 5, 0, true, false)[4])
		if err != nil {
			t.Fatalf("splitShell: %v", err)
		}
		if want := Expand(tmpl, []string{in, other}, 5, 0, false, false); !slices.Equal(words, want) {
			t.Errorf("splitShell = %q, want %q", words, want)
		}
		if got, want := run(Expand(tmpl, []string{in, other}, 5, 0, true, false)), strings.Join(words[2:], ""); got != want {
			t.Errorf("sh printed %q, splitShell says %q", got, want)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("an input was run as shell code: the marker file exists")
	}
}

// TestExpandShellQuotedRuns runs with sh templates whose {} stands inside
// their own quotes, written for GNU parallel's shell: {} in single quotes, a
// double-quoted span ("{} n"), backquotes, "$(basename {})", $(({}*2)) and
// x\{}. Parallel's single quotes are no quoting there: an input that closes
// them (x'; rm ...), a backtick or a $(...) ran as code. Every input stays
// data.
func TestExpandShellQuotedRuns(t *testing.T) {
	sh, marker := inShell(t)
	run := func(script string) (string, error) {
		out, _, err := sh("sh", "-c", script)
		return out, err
	}
	trim := func(s string) string { return strings.TrimRight(s, "\n") } // $(...) and `...` drop trailing newlines
	for _, raw := range append(nasty, `x'; touch MARKER; '`, `a"; touch MARKER; "b`, "`;touch MARKER;`", "$(touch MARKER)'", "a[$(touch MARKER)]") {
		in := strings.ReplaceAll(raw, "MARKER", marker)
		for _, c := range []struct {
			template []string
			want     string // "" where the command may fail (arithmetic over a word)
		}{
			{[]string{"printf", "'<%s>'", "'{}'"}, "<" + in + ">"},
			{[]string{"printf", "'<%s>'", "'pre {} post'"}, "<pre " + in + " post>"},
			{[]string{"printf", "'<%s>'", `"{}`, `n"`}, "<" + shellquote.AsParallel(in) + " n>"},
			{[]string{"printf", "'<%s>'", "\"`printf %s {}`\""}, "<" + trim(in) + ">"},
			{[]string{"printf", "'<%s>'", "\"`printf %s \"{}\"`\""}, "<" + trim(shellquote.AsParallel(in)) + ">"},
			{[]string{"printf", "'<%s>'", "\"$(printf %s {})\""}, "<" + trim(in) + ">"},
			{[]string{"printf", "'<%s>'", "\"$(printf %s \"'{}'\")\""}, "<'" + shellquote.AsParallel(in) + "'>"},
			{[]string{"printf", "'<%s>'", "'$(({}*2))'"}, ""},
			{[]string{"printf", "'<%s>'", "$(({}*2))"}, ""},
		} {
			script := Expand(c.template, []string{in}, 1, 0, true, false)[4]
			got, err := run(script)
			if c.want != "" && (err != nil || got != c.want) {
				t.Errorf("%q over %q: sh -c %q printed %q (%v), want %q", c.template, in, script, got, err, c.want)
			}
		}
		// bash's $'...' (sh's $ then '...', which only has to run nothing)
		script := Expand([]string{"printf", "'<%s>'", "$'{}'", "$'x\\{}'"}, []string{in}, 1, 0, true, false)[4]
		if got, _, err := sh("bash", "-c", script); err != nil || got != "<"+in+"><x\\"+in+">" {
			t.Errorf(`bash: $'{}' over %q: %q printed %q (%v)`, in, script, got, err)
		}
		sh("sh", "-c", script)
		if in != "" && in[0] != '\n' {
			script := Expand([]string{"printf", "'<%s>'", `x\{}`}, []string{in}, 1, 0, true, false)[4]
			if got, err := run(script); err != nil || got != "<x"+in+">" {
				t.Errorf(`x\{} over %q: sh -c %q printed %q (%v)`, in, script, got, err)
			}
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("input %q was run as shell code: the marker file exists", in)
		}
	}
}

// GNU parallel's --plus strings, as parallel 20221122 gives them (e2e TestMapAsGNUParallel/plus): {} =
// {+/}/{/} = {.}.{+.} = {..}.{+..} = {+/}/{/..}.{+..} ...; {##} the tasks, {0#} and {0%} zero-padded.
func TestExpandPlus(t *testing.T) {
	tmpl := []string{"{..}", "{...}", "{/..}", "{/...}", "{+/}", "{+.}", "{+..}", "{+...}", "{##}", "{0#}", "{0%}", "{1..}", "{-1+/}"}
	for in, want := range map[string][]string{
		"d/a.tar.gz":  {"d/a", "d/a.tar.gz", "a", "a.tar.gz", "d", "gz", "tar.gz", "", "120", "007", "02", "d/a", "d"},
		"b.c":         {"b.c", "b.c", "b.c", "b.c", "", "c", "", "", "120", "007", "02", "b.c", ""},
		"e":           {"e", "e", "e", "e", "", "", "", "", "120", "007", "02", "e", ""},
		"x.y/a.b.c.d": {"x.y/a.b", "x.y/a", "a.b", "a", "x.y", "d", "c.d", "b.c.d", "120", "007", "02", "x.y/a.b", "x.y"},
		"d.x/a":       {"d.x/a", "d.x/a", "a", "a", "d.x", "x/a", "", "", "120", "007", "02", "d.x/a", "d.x"},
		"/r.tar.gz/":  {"/r.tar.gz/", "/r.tar.gz/", "", "", "/r.tar.gz", "gz/", "", "", "120", "007", "02", "/r.tar.gz/", "/r.tar.gz"},
		"a.b.c.d.e.f": {"a.b.c.d", "a.b.c", "a.b.c.d", "a.b.c", "", "f", "e.f", "d.e.f", "120", "007", "02", "a.b.c.d", ""},
	} {
		got := ExpandWith(tmpl, []string{in}, Numbers{Seq: 7, Slot: 2, Total: 120, Slots: 16}, false, false, false)
		if !slices.Equal(got, want) {
			t.Errorf("%q: %q\nwant %q", in, got, want)
		}
	}
	// Without the map's total (Expand), {##} {0#} {0%} stay as written.
	if got := Expand([]string{"{##}", "{0#}", "{0%}", "{#}"}, []string{"a"}, 3, 1, false, false); !slices.Equal(got, []string{"{##}", "{0#}", "{0%}", "3"}) {
		t.Errorf("Expand without a total: %q", got)
	}
	// {0%} pads to the total's width when no cap says how many slots.
	if got := ExpandWith([]string{"{0%}"}, nil, Numbers{Seq: 1, Slot: 3, Total: 1000}, false, false, false); !slices.Equal(got, []string{"0003"}) {
		t.Errorf("{0%%} without Slots: %q", got)
	}
}

func TestValidate(t *testing.T) {
	ok := []struct {
		tmpl []string
		n    int
	}{
		{[]string{"echo", "{}"}, 0},
		{[]string{"echo", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}", "slot-{%}.log"}, 1},
		{[]string{"echo", "{1}", "{2/.}", "{-1}", "{-2//}", "{2.}", "{1/}"}, 2},
		{[]string{"echo", "{foo}", "{", "}", "a{b", "{1", "{ 1}", "{1 }", "{-}", "{+/}", "{..}", "{##}", "{0#}", "{+}", "${x}"}, 0},
		{[]string{"date"}, 3},
	}
	for _, tc := range ok {
		if err := Validate(tc.tmpl, tc.n, false); err != nil {
			t.Errorf("Validate(%q, %d) = %v", tc.tmpl, tc.n, err)
		}
	}
	bad := []struct {
		tmpl []string
		n    int
		err  string
	}{
		{nil, 1, "no command given"},
		{[]string{}, 1, "no command given"},
		{[]string{"echo", "{0}"}, 2, "{0} refers to no input: input groups are numbered from {1}"},
		{[]string{"gunzip", "-c", "{}", ">", "{= s/\\.gz$// =}"}, 1, "{= ... =} is GNU parallel's Perl expression"},
		{[]string{"echo", "x{==}y"}, 1, "{= ... =} is GNU parallel's Perl expression"},
		{[]string{"echo", "{=", "s/.gz//", "=}"}, 1, "\"{= s/.gz// =}\": {= ... =} is GNU parallel's Perl expression"},
		{[]string{"echo", "{00/}"}, 2, "{00/} refers to no input"},
		{[]string{"echo", "{-0}"}, 2, "{-0} refers to no input"},
		{[]string{"echo", "{1}", "{3}"}, 2, `"{3}": {3} refers to input group 3, but there are only 2 (::: or ::::): use {1} to {2}`},
		{[]string{"echo", "{2.}"}, 1, "{2.} refers to input group 2, but there is only 1 (::: or ::::): use {1} to {1}"},
		{[]string{"echo", "{-3}"}, 2, "{-3} counts back from the last input group, but there are only 2"},
		{[]string{"echo", "{1}"}, 0, "{1} needs an input group: add `::: VALUES` or `:::: FILE` after the command"},
		{[]string{"echo", "{99999999999999999999999}"}, 2, "{99999999999999999999999} refers to input group 99999999999999999999999"},
	}
	for _, tc := range bad {
		err := Validate(tc.tmpl, tc.n, false)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Validate(%q, %d) = %v; want error containing %q", tc.tmpl, tc.n, err, tc.err)
			continue
		}
		oneLineErr(t, err)
	}
}

// --- fuzzing ---

// splitNUL splits s into fields each terminated by NUL (a last unterminated field counts too), so that ""
// is no field and "\x00" is one empty field.
func splitNUL(s string) []string {
	f := strings.Split(s, "\x00")
	if f[len(f)-1] == "" {
		f = f[:len(f)-1]
	}
	return f
}

// replRE is the replacement-string grammar, written independently of the scanner under test.
var replRE = regexp.MustCompile(`\{(?:#|%|(?:-?[0-9]+)?(?:|\.|/|//|/\.))\}`)

// safeLiteral is template text that means itself to sh and to splitShell.
var safeLiteral = regexp.MustCompile(`^[A-Za-z0-9_./%:,+@-]*$`)

// splitShell splits a script into words the way a POSIX shell would, for the subset Expand produces: unquoted
// safe text, single-quoted strings, double-quoted ones without expansions, backslash escapes and blanks. Any
// other unquoted shell syntax is an error, so a value that escaped its quotes is caught.
func splitShell(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote at %d in %q", i, s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += 1 + j
			inWord = true
		case c == '"': // POSIX: in double quotes a backslash escapes only $ ` " \ and newline
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				switch {
				case s[j] == '\\' && j+1 < len(s) && strings.IndexByte("$`\"\\\n", s[j+1]) >= 0:
					j++
					if s[j] != '\n' {
						cur.WriteByte(s[j])
					}
				case s[j] == '$' || s[j] == '`':
					return nil, fmt.Errorf("expansion %q in double quotes at %d in %q", s[j], j, s)
				default:
					cur.WriteByte(s[j])
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated double quote at %d in %q", i, s)
			}
			i = j
			inWord = true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("trailing backslash in %q", s)
			}
			i++
			if s[i] == '\n' { // line continuation
				continue
			}
			cur.WriteByte(s[i])
			inWord = true
		case strings.IndexByte("$`;&|<>()*?[]~#!{}=\r\x00", c) >= 0:
			return nil, fmt.Errorf("unquoted shell syntax %q at %d in %q", c, i, s)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func FuzzExpand(f *testing.F) {
	f.Add("echo\x00{}\x00", "a b\x00", int64(1))
	f.Add("cp\x00{1}\x00out/{2/.}.{#}\x00", "/a/b/c.tar.gz\x00it's\x00", int64(3))
	f.Add("wc\x00-l\x00", "; touch /tmp/x\x00$(id)\x00", int64(0))
	f.Add("{{}}\x00{1\x00{-1//}\x00{%}\x00{0}\x00", "x\x00", int64(-5))
	f.Add("printf\x00%s\x00x{.}y\x00", "'\\''\x00\n\x00", int64(9))
	f.Fuzz(func(t *testing.T, tmplS, inputsS string, seq int64) {
		tmpl, inputs := splitNUL(tmplS), splitNUL(inputsS)
		has := false
		for _, a := range tmpl {
			if replRE.MatchString(a) {
				has = true
			}
		}
		valid := Validate(tmpl, len(inputs), false) == nil

		// argv mode: one element per template argument, one more per input beyond the first for each {}
		// (one argument per input group), plus the inputs when there is no placeholder; quoted (parallel
		// -q), as a word for a value the task lacks ({9} of one input) is then an empty argument, not none.
		argv := ExpandWith(tmpl, inputs, Numbers{Seq: seq}, false, false, true)
		want, k := 0, 0
		for _, a := range tmpl {
			extra := 0
			pieces(a, false, func(string) {}, func(t token, _ string) {
				if t.kind == kAll && len(inputs) > 1 {
					extra += len(inputs) - 1
				}
			})
			if !replRE.MatchString(a) && (k >= len(argv) || argv[k] != a) {
				t.Fatalf("literal argument %q became %q", a, argv)
			}
			k += 1 + extra
			want += 1 + extra
		}
		if !has {
			want += len(inputs)
		}
		if len(argv) != want {
			t.Fatalf("Expand(%q, %q) has %d elements, want %d: %q", tmpl, inputs, len(argv), want, argv)
		}
		if !has && !slices.Equal(argv[k:], inputs) {
			t.Fatalf("appended inputs %q, want %q", argv[len(tmpl):], inputs)
		}

		// Every input survives quoting.
		for _, in := range inputs {
			for _, q := range []func(string) string{shellquote.Always, shellquote.AsParallel} {
				words, err := splitShell(q(in))
				if err != nil || len(words) != 1 || words[0] != in {
					t.Fatalf("quoted %q = %s splits to %q, %v", in, q(in), words, err)
				}
			}
		}

		// shell mode: sh -c SCRIPT; when the template's own text is plain, the script's words are exactly the
		// argv-mode arguments.
		sh := Expand(tmpl, inputs, seq, 0, true, false)
		if len(sh) != 5 || sh[0] != "sh" || sh[1] != "-c" || sh[2] != ShellLauncher || sh[3] != "sh" {
			t.Fatalf("shell form = %q", sh)
		}
		if !valid {
			return
		}
		for _, a := range tmpl {
			if a == "" {
				return
			}
			for _, lit := range replRE.Split(a, -1) {
				if !safeLiteral.MatchString(lit) {
					return
				}
			}
		}
		words, err := splitShell(sh[4])
		if err != nil {
			t.Fatalf("script %q: %v", sh[4], err)
		}
		if !slices.Equal(words, argv) {
			t.Fatalf("script %q splits to %q, argv mode gives %q", sh[4], words, argv)
		}
	})
}

// scanLines is the line splitting Parse promises: at each "\n", a "\r" kept (as GNU parallel keeps it), no
// line after a final "\n".
func scanLines(data []byte) []string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	lines := []string{}
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func FuzzParse(f *testing.F) {
	f.Add("echo\x00{}\x00:::\x00a\x00b\x00", []byte("x\ny\n"))
	f.Add("cmd\x00::::\x00f\x00-\x00:::\x00z\x00", []byte("a\r\n\r\nb"))
	f.Add(":::\x00a\x00", []byte(""))
	f.Add("cmd\x00:::\x00", []byte("\n"))
	f.Add("cmd\x00::::\x00missing\x00", []byte("a"))
	f.Add("cmd\x00:::+\x00a\x00", []byte("a\r"))
	f.Fuzz(func(t *testing.T, argsS string, file []byte) {
		args := splitNUL(argsS)
		readFile := func(p string) ([]byte, error) {
			if p == "missing" {
				return nil, errors.New("open missing: no such file or directory")
			}
			return file, nil
		}
		tmpl, sources, err := Parse(args, readFile)

		// When must it fail?
		isSep := func(a string) bool { return a == ":::" || a == "::::" || a == ":::+" || a == "::::+" }
		first := slices.IndexFunc(args, isSep)
		if first < 0 {
			first = len(args)
		}
		// Parse takes no linked group: a group after :::+, or a file after
		// ::::+, once there is a group before it (a first one is a group).
		wantErr := first == 0
		groups := 0
		for i := first; i < len(args); i++ {
			if !isSep(args[i]) {
				continue
			}
			j := i + 1
			for j < len(args) && !isSep(args[j]) {
				j++
			}
			link, files := strings.HasSuffix(args[i], "+"), strings.HasPrefix(args[i], "::::")
			switch {
			case files && (j == i+1 || slices.Contains(args[i+1:j], "missing")):
				wantErr = true
			case files:
				wantErr = wantErr || link && (groups > 0 || j > i+2)
				groups += j - i - 1
			default:
				wantErr = wantErr || link && groups > 0
				groups++
			}
		}
		if err != nil {
			if !wantErr {
				t.Fatalf("Parse(%q): unexpected error %v", args, err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if wantErr {
			t.Fatalf("Parse(%q) = %q, %q; want an error", args, tmpl, sources)
		}
		if !slices.Equal(tmpl, args[:first]) {
			t.Fatalf("template %q, want %q", tmpl, args[:first])
		}
		lines := scanLines(file)
		k := 0
		for i := first; i < len(args); {
			j := i + 1
			for j < len(args) && !isSep(args[j]) {
				j++
			}
			if k >= len(sources) {
				t.Fatalf("too few sources: %q", sources)
			}
			var want []string
			if args[i] == ":::" || args[i] == ":::+" {
				for _, v := range args[i+1 : j] { // a value's lines are inputs, as a file's
					want = append(want, strings.Split(v, "\n")...)
				}
			} else {
				// Each file is an input group of its own (parallel: `:::: f1 f2` is `-a f1 -a f2`).
				for range j - i - 1 {
					if k >= len(sources) {
						t.Fatalf("too few sources: %q", sources)
					}
					if !slices.Equal(sources[k], lines) && !(len(sources[k]) == 0 && len(lines) == 0) {
						t.Fatalf("source %d = %q, want %q", k, sources[k], lines)
					}
					k++
				}
				i = j
				continue
			}
			if !slices.Equal(sources[k], want) && !(len(sources[k]) == 0 && len(want) == 0) {
				t.Fatalf("source %d = %q, want %q", k, sources[k], want)
			}
			k++
			i = j
		}
		if k != len(sources) {
			t.Fatalf("%d sources, want %d", len(sources), k)
		}
	})
}

// --shell runs the script in $SHELL, as GNU parallel does (man parallel, ENVIRONMENT VARIABLES,
// $PARALLEL_SHELL: "$SHELL. If undefined use: /bin/sh"), when $SHELL is a POSIX shell that exists; in sh
// otherwise.
func TestExpandShellUsesSHELL(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash:", err)
	}
	argv := Expand([]string{"echo", "${BASH_VERSION:+bash}", "{}"}, []string{"x y"}, 1, 0, true, false)
	for _, tc := range []struct{ shell, want string }{
		{bash, "bash x y\n"},
		{"", "x y\n"},                               // unset: sh
		{"/no/such/bash", "x y\n"},                  // missing here: sh
		{"/usr/bin/fish", "x y\n"},                  // not a POSIX shell: its quoting differs
		{filepath.Join(t.TempDir(), "sh"), "x y\n"}, // not there
	} {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		if tc.shell != "" {
			cmd.Env = append(cmd.Env, "SHELL="+tc.shell)
		}
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != tc.want {
			t.Errorf("SHELL=%q: printed %q (%v), want %q", tc.shell, out, err, tc.want)
		}
	}
}

// parallel 20221122: `parallel echo [{1}] [{2}] ::: a b :::: empty` prints "[a] []" and "[b] []"; with every
// source empty it runs nothing.
func TestFillEmpty(t *testing.T) {
	for _, tc := range []struct{ in, want []Source }{
		{[]Source{{"a", "b"}, {}}, []Source{{"a", "b"}, {""}}},
		{[]Source{{}, {"a"}}, []Source{{""}, {"a"}}},
		{[]Source{{}}, []Source{{}}},
		{[]Source{{}, {}}, []Source{{}, {}}},
		{nil, nil},
	} {
		in := slices.Clone(tc.in)
		if got := FillEmpty(in); !slices.EqualFunc(got, tc.want, func(a, b Source) bool { return slices.Equal(a, b) }) {
			t.Errorf("FillEmpty(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// ParseSeparated reads the separators GNU parallel's --arg-sep and
// --arg-file-sep name in place of ::: and ::::, and ::: then as a value. The
// wants are what parallel 20221122 ran: parallel -k --arg-sep ,, echo {} ,,
// a ::: b echoed a, ::: and b; --arg-sep ,, echo {1} {2} ,, a b ,,+ 1 2
// echoed "a 1" and "b 2"; --arg-file-sep // echo {} // f2 ::: x (f2: 1, 2)
// echoed "1 x" and "2 x".
func TestParseSeparated(t *testing.T) {
	read := func(string) ([]byte, error) { return []byte("1\n2\n"), nil }
	for _, c := range []struct {
		args            []string
		argSep, fileSep string
		tmpl            []string
		srcs            []Source
		linked          []bool
	}{
		{[]string{"echo", "{}", ",,", "a", ":::", "b"}, ",,", "::::", []string{"echo", "{}"}, []Source{{"a", ":::", "b"}}, []bool{false}},
		{[]string{"echo", "{1}", "{2}", ",,", "a", "b", ",,+", "1", "2"}, ",,", "::::", []string{"echo", "{1}", "{2}"}, []Source{{"a", "b"}, {"1", "2"}}, []bool{false, true}},
		{[]string{"echo", "{}", "//", "f2", ":::", "x"}, ":::", "//", []string{"echo", "{}"}, []Source{{"1", "2"}, {"x"}}, []bool{false, false}},
		{[]string{"echo", "{1}{2}", "//", "f2", "//+", "f2"}, ":::", "//", []string{"echo", "{1}{2}"}, []Source{{"1", "2"}, {"1", "2"}}, []bool{false, true}},
	} {
		tmpl, srcs, linked, err := ParseSeparated(c.args, read, Lines, c.argSep, c.fileSep)
		if err != nil || !slices.Equal(tmpl, c.tmpl) || !slices.EqualFunc(srcs, c.srcs, slices.Equal) || !slices.Equal(linked, c.linked) {
			t.Errorf("ParseSeparated(%q, %q, %q) = %q %q %v, %v; want %q %q %v", c.args, c.argSep, c.fileSep, tmpl, srcs, linked, err, c.tmpl, c.srcs, c.linked)
		}
	}
}

// Combine against GNU parallel's own output (parallel 20221122, run here):
// each case's want is what `parallel -k echo ARGS` printed, a line a task.
func TestCombineAsParallel(t *testing.T) {
	comma, tab := regexp.MustCompile(`,`), regexp.MustCompile(`\t`)
	for _, c := range []struct {
		name    string
		args    []string
		linkAll bool
		colsep  *regexp.Regexp
		want    []string
	}{
		{"linked pairwise, the shorter sets the length", []string{"echo", ":::", "a", "b", "c", ":::+", "1", "2"}, false, nil, []string{"a 1", "b 2"}},
		{"a first group after :::+ is the one the next links to", []string{"echo", ":::+", "a", "b", "c", ":::+", "1", "2"}, false, nil, []string{"a 1", "b 2"}},
		{"a linked pair crossed with a group", []string{"echo", ":::", "a", "b", ":::", "x", "y", ":::+", "1", "2"}, false, nil,
			[]string{"a x 1", "a y 2", "b x 1", "b y 2"}},
		{"--link: the longest sets the length, the others start over", []string{"echo", ":::", "a", "b", ":::", "1", "2", "3", ":::", "x"}, true, nil,
			[]string{"a 1 x", "b 2 x", "a 3 x"}},
		{"--colsep: columns of every group, numbered in turn", []string{"echo", ":::", "a,b", ":::", "x,y"}, false, comma, []string{"a b x y"}},
		{"--colsep with {n}: a missing column is empty", []string{"echo", "{1}-{2}-{3}", ":::", "a\tb", "c\td\te"}, false, tab, []string{"a-b-", "c-d-e"}},
		{"--colsep leaves {} one argument per column", []string{"echo", "{}", "X", ":::", "a,b"}, false, comma, []string{"a b X"}},
		{"--colsep's capture groups are columns (Perl's split)", []string{"echo", "[{1}][{2}][{3}][{4}]", ":::", "a,b", "c;d", ";"}, false,
			regexp.MustCompile(`(,)|(;)`), []string{"[a][,][][b]", "[c][][;][d]", "[][][;][]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmpl, srcs, linked, err := ParseLinked(c.args, nil, Lines)
			if err != nil {
				t.Fatal(err)
			}
			comb, columns := Combine(srcs, linked, c.linkAll, c.colsep, TrimBoth)
			if !columns {
				t.Fatalf("Combine says no columns for %v", c.args)
			}
			n, err := Count(comb, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range n {
				got = append(got, strings.Join(Expand(tmpl, Columns(Tuple(comb, i)), i+1, 0, false, false)[1:], " "))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("tasks %q, want %q", got, c.want)
			}
		})
	}
	// Nothing linked and no --colsep: the sources as they were.
	srcs := []Source{{"a", "b"}, {"1"}}
	if out, columns := Combine(srcs, []bool{false, false}, false, nil, TrimNone); columns || len(out) != 2 || out[0][1] != "b" {
		t.Errorf("Combine without links or colsep: %q, %v", out, columns)
	}
}

// -0: a file's inputs end at NUL bytes and may hold newlines.
func TestParseNull(t *testing.T) {
	_, srcs, _, err := ParseLinked([]string{"echo", "::::", "-"}, func(string) ([]byte, error) { return []byte("a b\x00c\n\x00d"), nil }, "\x00")
	if err != nil || len(srcs) != 1 || !slices.Equal(srcs[0], Source{"a b", "c\n", "d"}) {
		t.Fatalf("ParseLinked -0: %q, %v", srcs, err)
	}
	// So may ::: values (parallel -0 echo {#} {} ::: $'x\ny' z: 1 x⏎y, 2 z).
	_, srcs, _, err = ParseLinked([]string{"echo", ":::", "x\ny", "z"}, nil, "\x00")
	if err != nil || len(srcs) != 1 || !slices.Equal(srcs[0], Source{"x\ny", "z"}) {
		t.Fatalf("ParseLinked -0 of ::: values: %q, %v", srcs, err)
	}
}

// TestParseBoundsInputs: a stream of empty inputs (-d , over a file of
// commas, blank lines) more than any map can carry is refused before its
// inputs are made; read whole, 200 MB of commas took 12.8 GB.
func TestParseBoundsInputs(t *testing.T) {
	for _, delim := range []string{Lines, ",", "XY"} {
		d := cmp.Or(delim, "\n")
		data := bytes.Repeat([]byte(d), burst.MaxMapInputs+1)
		_, _, _, err := ParseLinked([]string{"true", "::::", "-"}, func(string) ([]byte, error) { return data, nil }, delim)
		if err == nil || !strings.Contains(err.Error(), "more than 33554432 inputs") {
			t.Errorf("delimiter %q: %d empty inputs: err = %v", delim, burst.MaxMapInputs+1, err)
		}
		// records counts what the reading makes.
		for _, text := range []string{"", d, "a", "a" + d, d + d + "b", "a" + d + "b" + d + d} {
			_, srcs, _, err := ParseLinked([]string{"true", "::::", "f"}, func(string) ([]byte, error) { return []byte(text), nil }, delim)
			if err != nil || len(srcs[0]) != records([]byte(text), delim) {
				t.Errorf("delimiter %q: %q made %q (%v), records says %d", delim, text, srcs, err, records([]byte(text), delim))
			}
		}
	}
}

// -d DELIM: a file's inputs end at DELIM (the last may end at the file's
// end; the text after a last DELIM is no input), newlines are theirs, and
// a ::: value is cut at DELIM in full, as parallel 20221122 reads them
// (printf 'a,,b\n,' | parallel -d , echo '[{}]': [a] [] [b⏎];
// parallel -d , echo '[{}]' ::: x, $'p\nq,r': [x] [] [p⏎q] [r]).
func TestParseDelimiter(t *testing.T) {
	file := func(string) ([]byte, error) { return []byte("a,,b\n,"), nil }
	_, srcs, _, err := ParseLinked([]string{"echo", "::::", "-", ":::", "x,", "p\nq,r", ":::", "z"}, file, ",")
	if err != nil || len(srcs) != 3 || !slices.Equal(srcs[0], Source{"a", "", "b\n"}) ||
		!slices.Equal(srcs[1], Source{"x", "", "p\nq", "r"}) || !slices.Equal(srcs[2], Source{"z"}) {
		t.Fatalf("ParseLinked -d ,: %q, %v", srcs, err)
	}
	_, srcs, _, err = ParseLinked([]string{"echo", "::::", "-"}, func(string) ([]byte, error) { return []byte("aXYbXYXc"), nil }, "XY")
	if err != nil || len(srcs) != 1 || !slices.Equal(srcs[0], Source{"a", "b", "Xc"}) {
		t.Fatalf("ParseLinked -d XY: %q, %v", srcs, err)
	}
}

// Delimiter reads -d's value as GNU parallel's own unquote_printf does,
// taken from the installed parallel and run by perl on the same values.
func TestDelimiterAsParallel(t *testing.T) {
	vals := []string{",", "\\n", "\\t", "\\r\\n", "\\0", "\\000", "\\011", "\\8", "\\9", "\\18", "\\089", "\\181",
		"\\12", "\\1234", "\\x", "a\\", "\\\\t", "\\\\", "\\e", "\\x2c", "XY", "\\377", "\\1a", ";;", "\\t\\n\\0"}
	want := perlUnquotePrintf(t, vals)
	for i, v := range vals {
		got, err := Delimiter(v)
		if err != nil {
			t.Errorf("Delimiter(%q): %v", v, err)
			continue
		}
		if got == Lines {
			got = "\n"
		}
		if got != want[i] {
			t.Errorf("Delimiter(%q) = %q; GNU parallel reads %q", v, got, want[i])
		}
	}
	if d, err := Delimiter("\n"); err != nil || d != Lines {
		t.Errorf("a newline is line ends: %q, %v", d, err)
	}
	if _, err := Delimiter(""); err == nil || !strings.Contains(err.Error(), "paragraph mode") {
		t.Errorf("the empty delimiter: %v", err)
	}
}

// perlUnquotePrintf runs the installed GNU parallel's unquote_printf on
// vals with perl, and answers what it returns for each.
func perlUnquotePrintf(t *testing.T, vals []string) []string {
	t.Helper()
	src, err := os.ReadFile("/usr/bin/parallel")
	if err != nil {
		if os.Getenv("BURST_CI") != "" {
			t.Fatalf("GNU parallel is not installed (apt-get install parallel): -d is read as its own code reads it: %v", err)
		}
		t.Skipf("SKIPPED: GNU parallel is not installed (apt-get install parallel); -d is not compared with it: %v", err)
	}
	sub := regexp.MustCompile(`(?ms)^sub unquote_printf\(\) \{\n.*?^\}\n`).Find(src)
	if sub == nil {
		t.Fatal("no sub unquote_printf in /usr/bin/parallel: its -d is read by other code now; read it and change Delimiter")
	}
	prog := string(sub) + `while (my $v = <STDIN>) { chomp $v; print unpack("H*", &unquote_printf($v)), "\n" }`
	cmd := exec.Command("perl", "-e", prog)
	cmd.Stdin = strings.NewReader(strings.Join(vals, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		t.Fatalf("perl: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(vals) {
		t.Fatalf("perl answered %d values for %d: %q", len(lines), len(vals), lines)
	}
	got := make([]string, len(lines))
	for i, l := range lines {
		b, err := hex.DecodeString(l)
		if err != nil {
			t.Fatalf("perl's answer %q: %v", l, err)
		}
		got[i] = string(b)
	}
	return got
}

// -N: n inputs a task, the last chunk shorter.
func TestChunk(t *testing.T) {
	got := Chunk(Source{"a", "b", "c"}, 2)
	if len(got) != 1 || len(got[0]) != 2 || !slices.Equal(Columns(got[0][:1]), []string{"a", "b"}) || !slices.Equal(Columns(got[0][1:]), []string{"c"}) {
		t.Fatalf("Chunk: %q", got)
	}
}

// -X and -m: as many inputs a task as most allows, fewer where the line
// would pass the limit; an input too long alone still makes a task.
func TestFill(t *testing.T) {
	size := func(v string) int { return len(v) + 1 }
	for _, c := range []struct {
		src         Source
		most, limit int
		want        []string
	}{
		{Source{"a", "b", "c", "d", "e"}, 3, 0, []string{"a b c", "d e"}},
		{Source{"a", "b", "c", "d", "e"}, 10, 8, []string{"a b", "c d", "e"}}, // "echo" and two: 8
		{Source{"a", "toolong", "b"}, 10, 8, []string{"a", "toolong", "b"}},
		{Source{}, 3, 0, nil},
		{Source{"a", "b"}, 0, 0, []string{"a", "b"}},
	} {
		got := Fill(c.src, c.most, c.limit, 4, size)
		var rows []string
		for _, in := range got[0] {
			rows = append(rows, strings.Join(Columns([]string{in}), " "))
		}
		if len(got) != 1 || !slices.Equal(rows, c.want) {
			t.Errorf("Fill(%q, most %d, limit %d) = %q; want %q", c.src, c.most, c.limit, rows, c.want)
		}
	}
}

// --header's column names become the positional strings they stand for,
// with their modifiers; replacement strings and other braces keep theirs.
func TestNamed(t *testing.T) {
	names := map[string]int{"x": 1, "age": 2, "1": 3, "a.b": 4, "": 5}
	for in, want := range map[string]string{
		"{x}":              "{1}",
		"{age}-{x}":        "{2}-{1}",
		"{x.}{x/}{x//}":    "{1.}{1/}{1//}",
		"p{age/.}q":        "p{2/.}q",
		"{1}":              "{1}", // already a replacement string
		"{#}{}{%}":         "{#}{}{%}",
		"{nope}":           "{nope}",
		"{a.b}":            "{4}",
		"{a.b.}":           "{4.}",
		"{{x}}":            "{{x}}", // the inner name is "{x": not a name
		"}{x}{":            "}{1}{",
		"{x":               "{x",
		"{age}{age}{ }{x}": "{2}{2}{ }{1}",
	} {
		if got := Named([]string{in}, names); got[0] != want {
			t.Errorf("Named(%q) = %q, want %q", in, got[0], want)
		}
	}
}

// Task: a numbered map's last column is the task's number, not an input.
func TestTask(t *testing.T) {
	srcs := []Source{{"a" + ColumnSep + "b" + ColumnSep + "7", "c" + ColumnSep + "9"}}
	for i, want := range []struct {
		in  []string
		seq int64
	}{{[]string{"a", "b"}, 7}, {[]string{"c"}, 9}} {
		in, seq := Task(srcs, int64(i), true, true)
		if !slices.Equal(in, want.in) || seq != want.seq {
			t.Errorf("Task(%d) = %q, %d; want %q, %d", i, in, seq, want.in, want.seq)
		}
	}
	if in, seq := Task([]Source{{"x", "y"}}, 1, false, false); !slices.Equal(in, []string{"y"}) || seq != 2 {
		t.Errorf("Task of a plain map = %q, %d; want [y], 2", in, seq)
	}
}

// -I r: r in the literal text stands for the input; replacement strings,
// r inside them too, keep their meaning.
func TestReplaceWith(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"x%y", "%"}:    "x{}y",
		{"{#}-#", "#"}:  "{#}-{}",
		{"{%}%", "%"}:   "{%}{}",
		{"{.}.", "."}:   "{.}{}",
		{"@@ @", "@@"}:  "{} @",
		{"{1}%.", "%"}:  "{1}{}.",
		{"none", "%"}:   "none",
		{"{x%}", "%"}:   "{x{}}",
		{"{/}//", "//"}: "{/}{}",
		{"{}", "{}"}:    "{}",
	} {
		if got := ReplaceWith([]string{in[0]}, in[1]); got[0] != want {
			t.Errorf("ReplaceWith(%q, %q) = %q, want %q", in[0], in[1], got[0], want)
		}
	}
}

// UsesSlot finds {%} as a replacement string, and $PARALLEL_JOBSLOT.
func TestUsesSlot(t *testing.T) {
	for tmpl, want := range map[string]bool{
		"echo {%}": true, "gpu{%}.log": true, "CUDA_VISIBLE_DEVICES=$PARALLEL_JOBSLOT ./fit": true,
		"echo {}": false, "echo {#} {1}": false, "echo %": false, "echo {%x}": false, "echo { % }": false,
	} {
		if got := UsesSlot(strings.Fields(tmpl)); got != want {
			t.Errorf("UsesSlot(%q) = %v, want %v", tmpl, got, want)
		}
	}
}

// ShellLauncher's text is in the argv of every stored task of a --shell
// map: an agent recognises it there (Launch), so it must not change.
func TestShellLauncherTextIsStable(t *testing.T) {
	const stored = `s=${PARALLEL_SHELL:-$SHELL}; case ${s##*/} in sh|bash|dash|ksh|mksh|yash|zsh) [ -x "$s" ] || s=sh;; *) s=sh;; esac; exec "$s" -c "$1"`
	if ShellLauncher != stored {
		t.Errorf("ShellLauncher changed: tasks stored with the old text would no longer be launched by the agent's choice\n got %s\nwant %s", ShellLauncher, stored)
	}
}

// Launch chooses the shell as ShellLauncher does: $PARALLEL_SHELL (when set
// and not empty), else $SHELL, when it is an executable POSIX shell; else sh.
func TestLaunch(t *testing.T) {
	argv := Expand([]string{"echo {}"}, []string{"a"}, 1, 0, true, false)
	exec := func(p string) bool { return p != "/missing/bash" }
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"SHELL=/bin/bash"}, "/bin/bash"},
		{[]string{"SHELL=/bin/zsh", "PARALLEL_SHELL=/usr/bin/dash"}, "/usr/bin/dash"},
		{[]string{"SHELL=/bin/zsh", "PARALLEL_SHELL="}, "/bin/zsh"},
		{[]string{"SHELL=/usr/bin/fish"}, "sh"},
		{[]string{"SHELL=/missing/bash"}, "sh"},
		{[]string{"SHELL=/bin/bash", "SHELL=/bin/ksh"}, "/bin/ksh"},
		{nil, "sh"},
	} {
		if got := Launch(argv, c.env, exec); !slices.Equal(got, []string{c.want, "-c", "echo a"}) {
			t.Errorf("Launch with %q = %q, want %s -c 'echo a'", c.env, got, c.want)
		}
	}
	if plain := []string{"sh", "-c", "echo a"}; !slices.Equal(Launch(plain, nil, exec), plain) {
		t.Error("Launch changed an argv that is not the launcher's")
	}
}

// --trim's values are parallel's (n l r lr rl); each trims Perl's \s.
// ContinueLines joins an input ending in white space with the next, as GNU parallel's -L and -l read lines:
// parallel 20221122 -q -k -L 1 echo x{}y ::: 'a ' b c prints xa by and xcy; a last one stays as it is.
func TestContinueLines(t *testing.T) {
	for _, c := range []struct{ in, want Source }{
		{Source{"a ", "b", "c"}, Source{"a b", "c"}},
		{Source{"a\t", "b ", "c", "d"}, Source{"a\tb c", "d"}},
		{Source{"a", "", "b "}, Source{"a", "", "b "}},
		{Source{" ", "x"}, Source{" x"}},
		{Source{}, Source{}},
	} {
		in := slices.Clone(c.in)
		if got := ContinueLines(c.in); !slices.Equal(got, c.want) || !slices.Equal(c.in, in) {
			t.Errorf("ContinueLines(%q) = %q, want %q (its argument left as it was)", in, got, c.want)
		}
	}
}

func TestTrim(t *testing.T) {
	for _, c := range []struct{ arg, in, want string }{
		{"n", " \ta\v ", " \ta\v "},
		{"l", " \ta\v ", "a\v "},
		{"r", " \ta\v ", " \ta"},
		{"lr", "\r\n a b \f", "a b"},
		{"rl", "  ", ""},
	} {
		tr, err := ParseTrim(c.arg)
		if err != nil {
			t.Fatalf("ParseTrim(%q): %v", c.arg, err)
		}
		if got := tr.Apply(c.in); got != c.want {
			t.Errorf("--trim %s of %q = %q, want %q", c.arg, c.in, got, c.want)
		}
	}
	for _, bad := range []string{"", "x", "both", "LR", "lrl"} {
		if _, err := ParseTrim(bad); err == nil || !strings.Contains(err.Error(), "give n (none), l (left), r (right) or lr") {
			t.Errorf("ParseTrim(%q) = %v, want the refusal naming the values", bad, err)
		}
	}
}

// TestExpandPerInput: with perInput (-N), a word holding {} or a form of it
// is repeated for each input, its other replacement strings as they are
// for the task; words without {} are left alone.
func TestExpandPerInput(t *testing.T) {
	for _, c := range []struct {
		tmpl, in []string
		shell    bool
		want     []string
	}{
		{[]string{"rm", "pict{}.jpg"}, []string{"a", "b"}, false, []string{"rm", "picta.jpg", "pictb.jpg"}},
		{[]string{"x{#}y{.}", "{1}-{2}"}, []string{"a.q", "b.r"}, false, []string{"x7ya", "x7yb", "a.q-b.r"}},
		{[]string{"one{}"}, []string{"a"}, false, []string{"onea"}},
		{[]string{"echo", "x{}y"}, []string{"a b", "c"}, true, []string{"sh", "-c", ShellLauncher, "sh", "echo x'a b'y xcy"}},
	} {
		if got := Expand(c.tmpl, c.in, 7, 0, c.shell, true); !slices.Equal(got, c.want) {
			t.Errorf("Expand(%q, %q, perInput) = %q; want %q", c.tmpl, c.in, got, c.want)
		}
	}
}

// A word made only of replacement strings for values a task lacks ({2} of
// the last task of -N 2 over three inputs, {3} of an input of two --colsep
// columns) is no argument, as GNU parallel 20221122's shell drops the empty
// word it writes; with quoted (parallel -q) it is an empty argument; in
// shell text it is nothing. The wants are what parallel printed (below).
func TestExpandLacking(t *testing.T) {
	// parallel --dry-run -N2 ./pa {1} {2} x '{2}x' ::: a b c gave "./pa c  x x" for the last task (./pa got c,
	// x and x); with -q, "./pa c '' x x"; and given echo {1} {2} "{2}" x{2}y '{2}' as one word of shell text,
	// the script "echo c  "" xy ''".
	tmpl := []string{"./pa", "{1}", "{2}", "x", "{2}x"}
	if got, want := ExpandWith(tmpl, []string{"c"}, Numbers{Seq: 2}, false, false, false), []string{"./pa", "c", "x", "x"}; !slices.Equal(got, want) {
		t.Errorf("ExpandWith(%q, [c]) = %q; want %q", tmpl, got, want)
	}
	if got, want := ExpandWith(tmpl, []string{"c"}, Numbers{Seq: 2}, false, false, true), []string{"./pa", "c", "", "x", "x"}; !slices.Equal(got, want) {
		t.Errorf("ExpandWith(%q, [c], quoted) = %q; want %q", tmpl, got, want)
	}
	words, lacking := Words(tmpl, []string{"c"}, Numbers{Seq: 2}, false, false)
	if want := []string{"./pa", "c", "", "x", "x"}; !slices.Equal(words, want) || !slices.Equal(lacking, []int{2}) {
		t.Errorf("Words(%q, [c]) = %q, lacking %v; want %q, lacking [2]", tmpl, words, lacking, want)
	}
	// An empty input is a value, not a lacking one: an empty argument.
	if got, want := ExpandWith(tmpl, []string{"c", ""}, Numbers{Seq: 2}, false, false, false), []string{"./pa", "c", "", "x", "x"}; !slices.Equal(got, want) {
		t.Errorf("ExpandWith(%q, [c, empty]) = %q; want %q", tmpl, got, want)
	}
	// {0} is left as written, and {#} is there in every task.
	if got, want := ExpandWith([]string{"e", "{0}", "{#}", "{3.}"}, []string{"c"}, Numbers{Seq: 2}, false, false, false), []string{"e", "{0}", "2"}; !slices.Equal(got, want) {
		t.Errorf("{0} {#} {3.} = %q; want %q", got, want)
	}
	sh := []string{"echo", "{1}", "{2}", `"{2}"`, "x{2}y", "'{2}'"}
	if got := ExpandWith(sh, []string{"c"}, Numbers{Seq: 2}, true, false, false); got[len(got)-1] != `echo c  "" xy ''` {
		t.Errorf("shell ExpandWith(%q, [c]) = %q; want the script %q", sh, got, `echo c  "" xy ''`)
	}
}

// injections are inputs that try to leave the quoting burst gives them
// and run `touch MARKER`, in each of the shell's quoting contexts.
var injections = []string{"$(touch MARKER)", "`touch MARKER`", "'; touch MARKER; '", `"; touch MARKER; "`, "a[$(touch MARKER)]",
	`\'; touch MARKER; #`, `$'\''; touch MARKER; #'`, "x\"`touch MARKER`\"", `\"; touch MARKER; \"`, "${x:-$(touch MARKER)}",
	"$((1))$(touch MARKER)", "')$(touch MARKER)('", `")$(touch MARKER)("`, "`'`touch MARKER`'`", "\\`touch MARKER\\`",
	"}; touch MARKER; {", "))$(touch MARKER)((", "\n touch MARKER \n"}

// A command run as shell text, however it is written around its {} (quotes,
// backquotes, $( ), $(( )), bash's $'...', comments, here-documents,
// parameter expansions), runs no input as shell code, under sh and under
// bash: 500 commands made at random from the shell's pieces (seeded: the
// same each run), each over every injection; those ShellSafe refuses are
// not run (a here-document's body, bash's $[ ], a \' in $'...', where no
// quoting is data). Cases it found: a # comment that an input's newline
// ended, a backquote that ended inside single quotes, bash's $'...' made of
// a template's $ and an input's quote, $[ ] and \' that sh and bash read
// apart, a here-document's body.
func TestExpandShellFuzzedTemplatesRunNoInput(t *testing.T) {
	sh, marker := inShell(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("SKIPPED: no bash:", err)
	}
	pieces := []string{"<<E\n", "\nE\n", "<<'E'\n", "${x:-", "$[", "[[ ", " ]]", "case ", " in ", "=", "'", "\"", "`", "$(", ")",
		"$((", "))", "\\", "{}", "{}", "{}", " ", "x", "${", "}", "$'", "#", ";", "|", "&&", "<(", "(", "$", "*", "\n", "{1}", "{.}", "'{}'", "\"{}\""}
	r := rand.New(rand.NewSource(20261207))
	runs := 0
	for range 500 {
		var w strings.Builder
		for k := 1 + r.Intn(7); k > 0; k-- {
			w.WriteString(pieces[r.Intn(len(pieces))])
		}
		tmpl := []string{"printf", "'<%s>'", w.String()}
		if ShellSafe(tmpl, false) != nil {
			continue
		}
		in := strings.ReplaceAll(injections[r.Intn(len(injections))], "MARKER", marker)
		script := Expand(tmpl, []string{in}, 1, 0, true, false)[4]
		for _, shell := range []string{"sh", "bash"} {
			sh(shell, "-c", script) // a template may be no valid shell: only that nothing ran matters
			runs++
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("%s ran input %q: template %q, script %q", shell, in, w.String(), script)
				os.Remove(marker)
			}
		}
	}
	if runs < 500 {
		t.Errorf("only %d runs: ShellSafe refused most templates", runs)
	}
}

// ShellSafe refuses the commands where no quoting keeps an input data: a
// replacement string (or the inputs appended to a command that names none)
// in a here-document's body, after bash's $[, or after a \' in bash's
// $'...'; and takes a here-string, a here-document before the command's
// line ends, and arithmetic.
func TestShellSafe(t *testing.T) {
	for _, tmpl := range [][]string{{"cat", "<<E\n{}\nE"}, {"cat", "<<E\nx\nE\n", "echo"}, {"echo", "$[{}+1]"}, {"echo", `$'\''{}`}} {
		if err := ShellSafe(tmpl, false); err == nil {
			t.Errorf("ShellSafe(%q) took it", tmpl)
		}
	}
	for _, tmpl := range [][]string{{"cat", "<<<", "{}"}, {"echo", "{}", "<<E", "x"}, {"echo", "$(({}*2))"}, {"echo", "'<<E'", "{}"}, {"echo", "#", "<<E\n{}"}} {
		if err := ShellSafe(tmpl, false); err != nil {
			t.Errorf("ShellSafe(%q): %v", tmpl, err)
		}
	}
}

// The commands the fuzzing above found running an input, each kept: a #
// comment that the input's newline ended; a backquote that ended inside
// single quotes (the shell finds its end first); a template's $ before the
// input's quote, which bash reads as $'...'; a # after $( ) that is no
// comment, where the input was left unquoted.
func TestExpandShellFoundInjections(t *testing.T) {
	sh, marker := inShell(t)
	for _, c := range []struct {
		word, in string
	}{
		{"#{}", "\n touch MARKER \n"},
		{"`;'$(())`", "\n touch MARKER \n"}, // no {}: the input is appended
		{"\n${}\"{}\"", `\'; touch MARKER; #`},
		{" ]]$(\\))#", "$((1))$(touch MARKER)"},
	} {
		tmpl := []string{"printf", "'<%s>'", c.word}
		if err := ShellSafe(tmpl, false); err != nil {
			t.Fatalf("ShellSafe(%q): %v", tmpl, err)
		}
		in := strings.ReplaceAll(c.in, "MARKER", marker)
		script := Expand(tmpl, []string{in}, 1, 0, true, false)[4]
		for _, shell := range []string{"sh", "bash"} {
			if _, err := exec.LookPath(shell); err != nil {
				continue
			}
			sh(shell, "-c", script)
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("%s ran input %q: template %q, script %q", shell, in, c.word, script)
				os.Remove(marker)
			}
		}
	}
}

// An empty --colsep is Perl's split //, $_, -1 (GNU parallel 20221122: -C ""
// echo '[{1}][{2}][{3}]' ::: ab prints [a][b][]): each byte, then an
// empty column; an empty input has none. parallel 20221122 -q -C ""
// echo {1} {2} {3} ::: aéb prints "a \xc3 \xa9": a multi-byte
// character's bytes are columns of their own.
func TestSplitColumnsEmptySeparator(t *testing.T) {
	sep := regexp.MustCompile("")
	for in, want := range map[string][]string{"ab": {"a", "b", ""}, " a": {" ", "a", ""}, "": nil, "é": {"\xc3", "\xa9", ""}, "aéb": {"a", "\xc3", "\xa9", "b", ""}} {
		if got := SplitColumns(sep, in); !slices.Equal(got, want) {
			t.Errorf("SplitColumns('', %q) = %q, want %q", in, got, want)
		}
	}
}

// --header 0 numbers the files of :::: (and ::::+) from 1, by their paths as
// given, counting no ::: group, as parallel 20221122 does (--header 0 echo
// {f} ::: p :::: f prints p: {f} is {1}).
func TestFileGroups(t *testing.T) {
	got := FileGroups([]string{"echo", "{b}", ":::", "p", "q", "::::", "a", "b", "::::+", "c", "a", ":::", "r"}, ":::", "::::")
	want := map[string]int{"a": 1, "b": 2, "c": 3}
	if !maps.Equal(got, want) {
		t.Errorf("FileGroups = %v, want %v", got, want)
	}
	if got := FileGroups([]string{"echo", "::::"}, ":::", "::::"); len(got) != 0 {
		t.Errorf("no files: %v", got)
	}
}

// --plus's bash-like strings, filled as GNU parallel 20221122 fills them:
// each want is what /usr/bin/parallel --plus -k echo WORD ::: INPUTS
// printed (the regular expressions Perl's, made ungreedy for {#re} and
// {%re}: {#a*.} drops only an a's first byte, {%.*} nothing).
func TestPlusBashLike(t *testing.T) {
	for _, tc := range []struct {
		word   string
		inputs []string
		want   string
	}{
		{"{%.gz}", []string{"a.tar.gz"}, "a.tar"},
		{"{%%.*}", []string{"a.tar.gz"}, ""},
		{"{#a*.}", []string{"a.tar.gz"}, ".tar.gz"},
		{"{##a*.}", []string{"a.tar.gz"}, "tar.gz"},
		{"{%.*}", []string{"a.tar.gz"}, "a.tar.gz"},
		{"{#*.}", []string{"a.tar.gz"}, ".tar.gz"}, // ^*?. : Perl and RE2 alike
		{"{##*.}", []string{"a.tar.gz"}, ".tar.gz"},
		{"{/Aligned.sortedByCoord.out/_Cbr}", []string{"x.Aligned.sortedByCoord.out.bam"}, "x._Cbr.bam"},
		{"{/actual/expected}", []string{"out/actual.txt"}, "out/expected.txt"},
		{"{/a/b/c}", []string{"é%a"}, "é%b/c"},
		{"{/a/$HOME\\1}", []string{"xa"}, "x$HOME\\1"}, // str is text
		{"{#(a)}", []string{"abc"}, "a"},               // s/^(a)(.*)/$1/: the string's own group
		{"{%%}", []string{"a%"}, "a"},
		{"{^^.}", []string{"é%a"}, "é%A"}, // ASCII letters only
		{"{:-none}", []string{""}, "none"},
		{"{:-none}", []string{"0"}, "none"}, // Perl's $_ ||= str
		{"{:-none}", []string{"abab"}, "abab"},
		{"{:2}", []string{"abab"}, "ab"},
		{"{:2}", []string{"a"}, ""},
		{"{:1:2}", []string{"abab"}, "ba"},
		{"{:1:2}", []string{"a"}, ""},
		{"{^a}", []string{"abab"}, "Abab"},
		{"{^^a}", []string{"abab"}, "AbAb"},
		{"{,A}", []string{"ABAB"}, "aBAB"},
		{"{,,A}", []string{"ABAB"}, "aBaB"},
		{"{^a}", []string{"ABAB"}, "ABAB"},
		{"{2%.gz}", []string{"abab", "ab.gz"}, "ab"},
		{"{-1#a}", []string{"abab", "ab.gz"}, "b.gz"},
		{"{1//a/X}", []string{"abab", "ab.gz"}, "XbXb"},
		{"{1/#a/X}", []string{"abab", "ab.gz"}, "Xbab"},
		{"{1/%b/X}", []string{"abab", "ab.gz"}, "abaX"},
		{"x{%.gz}.txt", []string{"a.gz"}, "xa.txt"},
	} {
		tmpl := []string{tc.word}
		if err := Validate(tmpl, len(tc.inputs), true); err != nil {
			t.Errorf("Validate(%q, plus) = %v", tc.word, err)
		}
		got := strings.Join(ExpandWith(tmpl, tc.inputs, Numbers{Seq: 1, Plus: true}, false, false, true), " ")
		if got != tc.want {
			t.Errorf("--plus %s of %q = %q, want %q", tc.word, tc.inputs, got, tc.want)
		}
	}
	// Without --plus they are text, and the input is appended (parallel
	// echo {%.gz} ::: a.gz prints {%.gz} a.gz).
	if got := ExpandWith([]string{"echo", "{%.gz}"}, []string{"a.gz"}, Numbers{Seq: 1}, false, false, false); !slices.Equal(got, []string{"echo", "{%.gz}", "a.gz"}) {
		t.Errorf("{%%.gz} without --plus: %q", got)
	}
	// With it, one is a replacement string: no input is appended.
	if got := ExpandWith([]string{"echo", "{%.gz}"}, []string{"a.gz"}, Numbers{Seq: 1, Plus: true}, false, false, false); !slices.Equal(got, []string{"echo", "a"}) {
		t.Errorf("{%%.gz} with --plus: %q", got)
	}
}

// A bash-like string whose Perl regular expression RE2 cannot run is
// refused, named (parallel runs {%(.)\1} and {/(?=b)/X}); one beyond the
// input groups is refused as {3} is.
func TestPlusBashLikeRefused(t *testing.T) {
	for _, tc := range []struct{ word, err string }{
		{"{%(.)\\1}", `{%(.)\1}: GNU parallel reads "(.)\\1"`},
		{"{/(?=b)/X}", `{/(?=b)/X}: GNU parallel reads "(?=b)"`},
		{"{%%b++}", `{%%b++}: GNU parallel reads "b++"`}, // Perl's possessive
		{"{3%.gz}", "{3%.gz} refers to input group 3, but there are only 2"},
		{"{0%.gz}", "{0%.gz} refers to no input"},
	} {
		if err := Validate([]string{"echo", tc.word}, 2, true); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Validate(%s, plus) = %v, want %q", tc.word, err, tc.err)
		}
		if err := Validate([]string{"echo", tc.word}, 2, false); err != nil {
			t.Errorf("Validate(%s) without --plus = %v, want it taken as text", tc.word, err)
		}
	}
}
