package pipe

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/burst-sh/burst/internal/suggest"
	"io"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/burst-sh/burst"
)

// File is a pipeline read from a YAML pipeline file.
type File struct {
	Pipeline *Pipeline
	Name     string // the job name (top-level name:); "" when absent
	On       string // the default cluster for stages without their own (top-level on:); "" when absent
}

var (
	topKeys   = []string{"name", "on", "stdin", "stdout", "append", "stages", "pipe"}
	stageKeys = []string{"run", "name", "cpus", "mem", "gpus", "time", "on", "parallel", "stack", "keep-changes"}
)

// LoadFile reads and parses the pipeline file at path (see ParseFile).
func LoadFile(path string, opt Options) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseFile(data, path, opt)
}

// ParseFile parses a YAML pipeline file; name is the file's name for
// messages, which read "NAME:LINE: what is wrong; how to fix it". Unknown
// keys are errors.
//
//	name: counts        # optional job name
//	on: hpc             # optional default cluster (File.On)
//	stdin: reads.txt    # optional, like <
//	stdout: counts.txt  # optional, like > (append: true for >>)
//	stages:             # or pipe: 'a | --cpus 2 b > out', but not both
//	  - run: zcat reads.fq.gz   # one command: quoting and expansion as in Parse
//	    name: unzip             # and cpus, mem, gpus, time, on, parallel, stack
//
// A run: string is one command: no |, no redirections and no stage options
// (they are the stage's keys, checked as the options are). A pipe: string is
// the full language of Parse; stdin:, stdout: and append: may not repeat its
// redirections. stdin: and stdout: are file names taken as written (no
// quoting or expansion). Numbers may be YAML numbers or strings; a bare mem
// number means megabytes and a bare time number minutes, as in Slurm. An
// error in a run: or pipe: string wraps the *Error. Stages from a file have
// Col 0.
func ParseFile(data []byte, name string, opt Options) (*File, error) {
	f := &fileParser{name: name, opt: opt}
	return f.parse(data)
}

type fileParser struct {
	name string
	opt  Options
}

func (f *fileParser) errf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", f.name, line, fmt.Sprintf(format, args...))
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (f *fileParser) parse(data []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty; give the pipeline as stages: or pipe:", f.name)
		}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", f.name, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: %v", f.name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s:%d: a second YAML document; a pipeline file holds one", f.name, extra.Line)
	}
	top := doc.Content[0]
	if top.Kind == yaml.AliasNode {
		top = top.Alias
	}
	if top.Kind != yaml.MappingNode {
		return nil, f.errf(top.Line, "the file must be a mapping with the keys %s", strings.Join(topKeys, ", "))
	}
	kv, err := f.mapping(top, topKeys, "the top-level keys are")
	if err != nil {
		return nil, err
	}

	out := &File{}
	if v, ok := kv["name"]; ok {
		s, err := f.str(v, "name")
		if err != nil {
			return nil, err
		}
		if !burst.ValidName(s.Value) {
			return nil, f.errf(s.Line, "name %q is not a valid job name; use letters, digits, '-', '_' or '.' (at most 64)", s.Value)
		}
		out.Name = s.Value
	}
	if v, ok := kv["on"]; ok {
		s, err := f.str(v, "on")
		if err != nil {
			return nil, err
		}
		if !burst.ValidName(s.Value) {
			return nil, f.errf(s.Line, "on %q is not a cluster name; use letters, digits, '-', '_' or '.' (at most 64)", s.Value)
		}
		out.On = s.Value
	}
	var stdin, stdout string
	appendOut := false
	if v, ok := kv["stdin"]; ok {
		s, err := f.str(v, "stdin")
		if err != nil {
			return nil, err
		}
		stdin = s.Value
	}
	if v, ok := kv["stdout"]; ok {
		s, err := f.str(v, "stdout")
		if err != nil {
			return nil, err
		}
		stdout = s.Value
	}
	if v, ok := kv["append"]; ok {
		var b bool
		if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil || v.Tag != "!!bool" {
			return nil, f.errf(v.Line, "append must be true or false")
		}
		appendOut = b
	}

	pipeNode, hasPipe := kv["pipe"]
	stagesNode, hasStages := kv["stages"]
	switch {
	case hasPipe && hasStages:
		return nil, f.errf(stagesNode.Line, "both pipe: and stages: are given; keep one")
	case !hasPipe && !hasStages:
		return nil, f.errf(top.Line, "no pipeline: give stages: (a list of stages) or pipe: (one pipeline string)")
	}

	var p *Pipeline
	if hasPipe {
		s, err := f.str(pipeNode, "pipe")
		if err != nil {
			return nil, err
		}
		pp, perr := parse(s.Value, f.opt, modePipe)
		if perr != nil {
			return nil, f.wrap(s, "pipe", perr)
		}
		for i := range pp.Stages {
			pp.Stages[i].Col = 0
		}
		p = pp
		if _, ok := kv["stdin"]; ok && p.Stdin != "" {
			return nil, f.errf(kv["stdin"].Line, "stdin: and < in pipe: both give the input; keep one")
		}
		if _, ok := kv["stdout"]; ok && p.Stdout != "" {
			return nil, f.errf(kv["stdout"].Line, "stdout: and > in pipe: both give the output; keep one")
		}
		if _, ok := kv["append"]; ok && p.Stdout != "" {
			return nil, f.errf(kv["append"].Line, "append: conflicts with the redirection in pipe:; write >> or > in pipe: and drop append:")
		}
	} else {
		p, err = f.stages(stagesNode)
		if err != nil {
			return nil, err
		}
	}
	if _, ok := kv["stdin"]; ok {
		if stdin == "" {
			return nil, f.errf(kv["stdin"].Line, "stdin is empty; give a file name or leave the key out")
		}
		p.Stdin = stdin
	}
	if _, ok := kv["stdout"]; ok {
		if stdout == "" {
			return nil, f.errf(kv["stdout"].Line, "stdout is empty; give a file name or leave the key out")
		}
		p.Stdout = stdout
	}
	if appendOut {
		if p.Stdout == "" {
			return nil, f.errf(kv["append"].Line, "append: true needs stdout: (the file to append to)")
		}
		p.Append = true
	}
	out.Pipeline = p
	return out, nil
}

// mapping reads a mapping's keys, refusing unknown and repeated keys.
func (f *fileParser) mapping(m *yaml.Node, keys []string, what string) (map[string]*yaml.Node, error) {
	kv := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		known := false
		for _, x := range keys {
			known = known || x == k.Value
		}
		if !known || k.Kind != yaml.ScalarNode {
			msg := fmt.Sprintf("unknown key %q", k.Value)
			if s := closest(k.Value, keys); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, f.errf(k.Line, "%s; %s: %s", msg, what, strings.Join(keys, ", "))
		}
		if _, dup := kv[k.Value]; dup {
			return nil, f.errf(k.Line, "key %q is given twice", k.Value)
		}
		kv[k.Value] = v
	}
	return kv, nil
}

// str returns a scalar value, refusing null, lists and mappings.
func (f *fileParser) str(v *yaml.Node, key string) (*yaml.Node, error) {
	if v.Kind != yaml.ScalarNode {
		return nil, f.errf(v.Line, "%s must be a single value, not a list or mapping", key)
	}
	if v.Tag == "!!null" {
		return nil, f.errf(v.Line, "%s has no value", key)
	}
	return v, nil
}

// wrap places an error in a run: or pipe: string on the file's line.
func (f *fileParser) wrap(v *yaml.Node, key string, e *Error) error {
	line := v.Line
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		line += e.Line // the text starts on the line after | or >
	} else if v.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0 {
		line += e.Line - 1
	}
	return fmt.Errorf("%s:%d: %s: %w", f.name, line, key, e)
}

func (f *fileParser) stages(v *yaml.Node) (*Pipeline, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, f.errf(v.Line, "stages must be a list of stages, each with run:")
	}
	if len(v.Content) == 0 {
		return nil, f.errf(v.Line, "stages is empty; give at least one stage with run:")
	}
	p := &Pipeline{}
	explicit := make([]bool, len(v.Content))
	names := map[string]bool{}
	for i, n := range v.Content {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			return nil, f.errf(n.Line, "stage %d must be a mapping with run: and optional %s", i+1, strings.Join(stageKeys[1:], ", "))
		}
		kv, err := f.mapping(n, stageKeys, "the keys of a stage are")
		if err != nil {
			return nil, err
		}
		run, ok := kv["run"]
		if !ok {
			return nil, f.errf(n.Line, "stage %d has no run: (the command to run)", i+1)
		}
		rs, err := f.str(run, "run")
		if err != nil {
			return nil, err
		}
		one, perr := parse(rs.Value, f.opt, modeRun)
		if perr != nil {
			return nil, f.wrap(rs, "run", perr)
		}
		s := one.Stages[0]
		s.Col = 0
		s.Name = ""
		// Each key goes through the same checks as the stage option.
		for _, key := range stageKeys[1:] {
			kn, ok := kv[key]
			if !ok {
				continue
			}
			sv, err := f.str(kn, key)
			if err != nil {
				return nil, err
			}
			if msg, hint := setOption(&s, key, sv.Value, names, true); msg != "" {
				if hint != "" {
					msg += "; " + hint
				}
				return nil, f.errf(sv.Line, "%s", msg)
			}
			if key == "name" {
				explicit[i] = true
			}
		}
		if s.Keep && s.Stack == "" {
			return nil, f.errf(n.Line, "stage %d: keep-changes: keeps what the stage changes in its stack, and it runs in none; give it one with stack: NAME", i+1)
		}
		p.Stages = append(p.Stages, s)
	}
	assignNames(p.Stages, explicit)
	return p, nil
}

// closest is the key within edit distance 2 of k, if there is one.
func closest(k string, keys []string) string {
	best, bestD := "", 3
	for _, x := range keys {
		if d := suggest.Distance(strings.ToLower(k), x); d < bestD {
			best, bestD = x, d
		}
	}
	return best
}
