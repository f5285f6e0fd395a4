package pipe

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const exampleFile = `# pipeline.yaml
name: counts          # optional job name
on: hpc               # default cluster
stdin: reads.txt
stdout: counts.txt
append: false
stages:
  - run: zcat reads.fq.gz
    name: unzip
  - run: ./align -
    cpus: 4
    mem: 8G
    time: 1h
  - run: sort -k3
    parallel: 2
    on: other
`

func TestParseFile(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		opt  Options
		want *File
		same string // a pipe string that must give the same Pipeline (but for Col)
	}{
		{"example", exampleFile, Options{},
			&File{Name: "counts", On: "hpc", Pipeline: pl(
				st(0, "unzip", "zcat", "reads.fq.gz"),
				st(0, "align", "./align", "-").cpus(4).mem(8<<30).limit(time.Hour),
				st(0, "sort", "sort", "-k3").parallel(2).on("other"),
			).in("reads.txt").out("counts.txt")},
			"--name unzip zcat reads.fq.gz < reads.txt | --cpus 4 --mem 8G --time 1h ./align - | --parallel 2 --on other sort -k3 > counts.txt"},
		{"pipe string", "name: j\non: hpc\npipe: 'a | --cpus 2 b >> out'\n", Options{},
			&File{Name: "j", On: "hpc", Pipeline: pl(st(0, "a", "a"), st(0, "b", "b").cpus(2)).appnd("out")},
			"a | --cpus 2 b >> out"},
		{"pipe with stdin and stdout keys", "pipe: a | b\nstdin: in\nstdout: out\nappend: true\n", Options{},
			&File{Pipeline: pl(st(0, "a", "a"), st(0, "b", "b")).in("in").appnd("out")},
			"a < in | b >> out"},
		{"numbers as ints and strings", "stages:\n  - run: x\n    cpus: \"2\"\n    mem: 512\n    gpus: 0\n    time: 90\n    parallel: 1\n", Options{},
			&File{Pipeline: pl(st(0, "x", "x").cpus(2).mem(512 << 20).limit(90 * time.Minute))},
			"--cpus 2 --mem 512M --time 90 x"},
		{"quoting and expansion in run", "stages:\n  - run: awk '{print $1}' \"$F\" ~/x\n  - run: -- --weird\n", Options{Getenv: env(map[string]string{"F": "a b"}), Home: "/h"},
			&File{Pipeline: pl(st(0, "awk", "awk", "{print $1}", "a b", "/h/x"), st(0, "weird", "--weird"))},
			""},
		{"default names unique", "stages:\n  - run: cat\n  - run: cat\n  - run: x\n    name: cat\n", Options{},
			&File{Pipeline: pl(st(0, "cat-2", "cat"), st(0, "cat-3", "cat"), st(0, "cat", "x"))},
			"cat | cat | --name cat x"},
		{"block scalar run", "stages:\n  - run: >\n      grep -v '^#'\n      x\n", Options{},
			&File{Pipeline: pl(st(0, "grep", "grep", "-v", "^#", "x"))},
			"grep -v '^#' x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFile([]byte(tt.yaml), "pipeline.yaml", tt.opt)
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseFile\n got %#v %#v\nwant %#v %#v", got, got.Pipeline, tt.want, tt.want.Pipeline)
			}
			if tt.same != "" {
				p, err := Parse(tt.same, tt.opt)
				if err != nil {
					t.Fatalf("Parse(%q): %v", tt.same, err)
				}
				if !reflect.DeepEqual(noCols(p), got.Pipeline) {
					t.Fatalf("file and string differ:\nfile   %#v\nstring %#v", got.Pipeline, p)
				}
			}
			checkRoundTrip(t, tt.yaml, got.Pipeline)
		})
	}
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // a substring of the error
	}{
		{"unknown stage key", "stages:\n  - run: x\n    cpus: 2\n    cpu: 4\n",
			`pipeline.yaml:4: unknown key "cpu" (did you mean "cpus"?); the keys of a stage are: run, name, cpus, mem, gpus, time, on, parallel`},
		{"unknown top key", "stage:\n  - run: x\n", `pipeline.yaml:1: unknown key "stage" (did you mean "stages"?); the top-level keys are: name, on, stdin, stdout, append, stages, pipe`},
		{"unknown key no suggestion", "pipe: x\nzzzzzz: 1\n", `pipeline.yaml:2: unknown key "zzzzzz"; the top-level keys are`},
		{"both pipe and stages", "pipe: a\nstages:\n  - run: b\n", "pipeline.yaml:3: both pipe: and stages: are given; keep one"},
		{"neither", "name: x\n", "pipeline.yaml:1: no pipeline: give stages:"},
		{"bad mem", "stages:\n  - run: x\n    mem: 8Q\n", `pipeline.yaml:3: mem: "8Q" is not a memory size; write e.g. mem: 512M`},
		{"zero mem", "stages:\n  - run: x\n    mem: 0\n", "pipeline.yaml:3: mem: must be more than 0"},
		{"bad cpus", "stages:\n  - run: x\n    cpus: many\n", `pipeline.yaml:3: cpus: wants a whole number of at least 1, not "many"`},
		{"zero cpus", "stages:\n  - run: x\n    cpus: 0\n", "pipeline.yaml:3: cpus: wants a whole number of at least 1"},
		{"negative gpus", "stages:\n  - run: x\n    gpus: -1\n", "pipeline.yaml:3: gpus: wants a whole number of at least 0"},
		{"bad time", "stages:\n  - run: x\n    time: soon\n", `pipeline.yaml:3: time: "soon" is not a time limit`},
		{"zero time", "stages:\n  - run: x\n    time: 0\n", "pipeline.yaml:3: time: must be more than 0"},
		{"bad parallel", "stages:\n  - run: x\n    parallel: 0\n", "pipeline.yaml:3: parallel: wants"},
		{"bad on", "stages:\n  - run: x\n    on: a b\n", `pipeline.yaml:3: on: "a b" is not a cluster name`},
		{"list value", "stages:\n  - run: x\n    cpus: [1]\n", "pipeline.yaml:3: cpus must be a single value"},
		{"null value", "stages:\n  - run: x\n    name:\n", "pipeline.yaml:3: name has no value"},
		{"duplicate stage names", "stages:\n  - run: a\n    name: s\n  - run: b\n    name: s\n", `pipeline.yaml:5: stage name "s" is used twice; give each stage its own name:`},
		{"no run", "stages:\n  - name: a\n", "pipeline.yaml:2: stage 1 has no run:"},
		{"null run", "stages:\n  - run: ~\n", "pipeline.yaml:2: run has no value"},
		{"empty run", "stages:\n  - run: ''\n", "pipeline.yaml:2: run: column 1: no command"},
		{"pipe in run", "stages:\n  - run: a\n  - run: b | c\n", "pipeline.yaml:3: run: column 3: | is not allowed in run:"},
		{"redirection in run", "stages:\n  - run: a > out\n", "pipeline.yaml:2: run: column 3: > is not allowed in run:"},
		{"option in run", "stages:\n  - run: --cpus 2 a\n", "give them as keys of the stage"},
		{"refused syntax in run", "stages:\n  - run: a && b\n", "pipeline.yaml:2: run: column 3: && is not supported"},
		{"error in block run", "stages:\n  - run: |\n      a\n      b\n", "pipeline.yaml:4: run: line 2, column 1: a second command"},
		{"error in pipe", "pipe: 'a | | b'\n", "pipeline.yaml:1: pipe: column 5: empty stage"},
		{"stdin conflicts", "pipe: a < x\nstdin: y\n", "pipeline.yaml:2: stdin: and < in pipe: both give the input"},
		{"stdout conflicts", "pipe: a > x\nstdout: y\n", "pipeline.yaml:2: stdout: and > in pipe: both give the output"},
		{"append conflicts", "pipe: a >> x\nappend: true\n", "pipeline.yaml:2: append: conflicts"},
		{"append without stdout", "pipe: a\nappend: true\n", "pipeline.yaml:2: append: true needs stdout:"},
		{"append not bool", "pipe: a\nstdout: x\nappend: yes\n", "pipeline.yaml:3: append must be true or false"},
		{"empty stdin", "pipe: a\nstdin: ''\n", "pipeline.yaml:2: stdin is empty"},
		{"duplicate key", "pipe: a\npipe: b\n", `pipeline.yaml:2: key "pipe" is given twice`},
		{"bad job name", "name: a/b\npipe: a\n", `pipeline.yaml:1: name "a/b" is not a valid job name`},
		{"bad default cluster", "on: 'x y'\npipe: a\n", `pipeline.yaml:1: on "x y" is not a cluster name`},
		{"empty stages", "stages: []\n", "pipeline.yaml:1: stages is empty"},
		{"stages not a list", "stages: a\n", "pipeline.yaml:1: stages must be a list"},
		{"stage not a mapping", "stages:\n  - a\n", "pipeline.yaml:2: stage 1 must be a mapping"},
		{"not a mapping", "- a\n", "pipeline.yaml:1: the file must be a mapping"},
		{"yaml syntax", "pipe: a\nstages: [\n", "pipeline.yaml:2: did not find expected node content"},
		{"empty file", "", "pipeline.yaml: the file is empty"},
		{"two documents", "pipe: a\n---\npipe: b\n", "pipeline.yaml:2: a second YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFile([]byte(tt.yaml), "pipeline.yaml", Options{})
			if err == nil {
				t.Fatalf("ParseFile succeeded: %#v", f.Pipeline)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\ndoes not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseFileWrapsError(t *testing.T) {
	_, err := ParseFile([]byte("stages:\n  - run: a\n  - run: b $(c)\n"), "p.yaml", Options{})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v does not wrap an *Error", err)
	}
	if e.Input != "b $(c)" || e.Col != 3 || e.Line != 1 {
		t.Fatalf("wrapped error %#v", e)
	}
	want := "p.yaml:3: run: column 3: $( ) (command substitution) is not supported\n  b $(c)\n    ^\n" + hintCmdSubst
	if err.Error() != want {
		t.Fatalf("error\n%s\nwant\n%s", err, want)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(p, []byte(exampleFile), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFile(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "counts" || len(f.Pipeline.Stages) != 3 || f.Pipeline.Stages[1].CPUs != 4 {
		t.Fatalf("LoadFile: %#v", f)
	}
	if err := os.WriteFile(p, []byte("stages:\n  - run: x\n    cpu: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(p, Options{}); err == nil || !strings.HasPrefix(err.Error(), p+":3: unknown key \"cpu\"") {
		t.Fatalf("LoadFile error %v does not name the file and line", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadFile of a missing file: %v", err)
	}
}
