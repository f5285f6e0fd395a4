package pipe

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/burst-sh/burst"
)

var fuzzSeeds = []string{
	"generate_data | --cpus 8 filter1 --threshold 3 | --gpus 1 filter2 > result.bin",
	"zcat reads/*.fq.gz | --cpus 4 --mem 8G ./align - | sort -k3 | uniq -c > counts.txt",
	`seq 1 100000000 | --cpus 2 awk "{s+=\$1} END {print s}"`,
	"gen | --parallel 4 --cpus 1 ./score | sort -n",
	`echo a'b'"c" '' "" \ x\\y "\$\"\\\q"`,
	"a |\n  b\n  | c # comment\n",
	"a \\\n b \\\n| c",
	"--name=x --on=hpc --time 1:30:00 --mem 1.5K a | --name x b",
	"-- --weird | -- -- x",
	"< in cat | tee >> out",
	"a 2>&1 | b",
	"a && b || c ; d &",
	"a $(b) `c` $((1)) ${x:-y} $1 $@ $'q'",
	"cat <<EOF <<< x <> y >| z",
	"diff <(a) >(b)",
	"X=1 cmd | if x | ! y",
	"a | | b",
	"a 'unterminated",
	`a "unterminated`,
	"a \\",
	"~ ~/x ~bob $HOME ${HOME} \"$HOME\"",
	"echo {a,b} {1..3} {} x{y}",
	"ls *.go [ab]? \"q*\"",
	"é ü \t x\t|\ty",
	"a\nb",
	"a \xff",
	"'' x",
	"--cpus 0 a | --gpus=-1 b | --mem 0 c | --time 0 d",
	"a>b<c",
	"#!/bin/sh\na",
	"$",
	"a${",
	".",
	".. | . | ./. x",
}

var fuzzEnv = map[string]string{"HOME": "/h", "A": "1 2 *", "E": "", "IFS": " \t"}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Parse(in, Options{})
		if err != nil {
			checkError(t, in, err)
		} else {
			checkPipeline(t, in, p)
			checkRoundTrip(t, in, p)
		}

		// With expansion on: no panics, errors still point into the input.
		g := &globber{matches: map[string][]string{"*": {"a", "b"}}}
		p, err = Parse(in, Options{Getenv: env(fuzzEnv), Glob: g.glob, Home: "/h"})
		if err != nil {
			checkError(t, in, err)
			return
		}
		for i, s := range p.Stages {
			if len(s.Argv) == 0 || s.Argv[0] == "" {
				t.Fatalf("Parse(%q) with expansion: stage %d has no command: %q", in, i+1, s.Argv)
			}
		}
	})
}

func checkError(t *testing.T, in string, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse(%q): error %T %v is not an *Error", in, err, err)
	}
	lines := strings.Split(in, "\n")
	if e.Line < 1 || e.Line > len(lines) {
		t.Fatalf("Parse(%q): line %d out of 1..%d", in, e.Line, len(lines))
	}
	if n := utf8.RuneCountInString(lines[e.Line-1]); e.Col < 1 || e.Col > n+1 {
		t.Fatalf("Parse(%q): column %d out of 1..%d on line %d", in, e.Col, n+1, e.Line)
	}
	if e.Input != in || e.Msg == "" {
		t.Fatalf("Parse(%q): bad error %#v", in, e)
	}
	if !strings.Contains(e.Error(), e.Msg) {
		t.Fatalf("Parse(%q): Error() %q lacks the message", in, e.Error())
	}
}

func checkPipeline(t *testing.T, in string, p *Pipeline) {
	t.Helper()
	if len(p.Stages) == 0 {
		t.Fatalf("Parse(%q): no stages", in)
	}
	names := map[string]bool{}
	for i, s := range p.Stages {
		if len(s.Argv) == 0 || s.Argv[0] == "" {
			t.Fatalf("Parse(%q): stage %d has no command: %q", in, i+1, s.Argv)
		}
		if !burst.ValidName(s.Name) || names[s.Name] {
			t.Fatalf("Parse(%q): stage %d name %q invalid or repeated", in, i+1, s.Name)
		}
		names[s.Name] = true
		if s.Col < 1 || s.CPUs < 0 || s.GPUs < 0 || s.MemBytes < 0 || s.TimeLimit < 0 || s.Parallel == 1 || s.Parallel < 0 {
			t.Fatalf("Parse(%q): stage %d: %#v", in, i+1, s)
		}
	}
	if p.Append && p.Stdout == "" {
		t.Fatalf("Parse(%q): Append without Stdout", in)
	}
	if p.Copies() < len(p.Stages) {
		t.Fatalf("Parse(%q): Copies %d < %d stages", in, p.Copies(), len(p.Stages))
	}
	if q, err := Parse(in, Options{}); err != nil || !reflect.DeepEqual(p, q) {
		t.Fatalf("Parse(%q) is not deterministic", in)
	}
}
