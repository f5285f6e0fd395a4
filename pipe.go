package burst

import (
	"errors"
	"fmt"
)

// PipeSpec makes a job a pipe: K stages that start together and stream
// into each other, stage i's stdout into stage i+1's stdin. A stage with
// Parallel N runs as N copies; lines of its input go to them round-robin
// and their outputs are merged line by line.
//
// The job's tasks are the stages' copies in order: stage 0's copies first.
type PipeSpec struct {
	Stages []PipeStage `json:"stages"`
	Stdin  string      `json:"stdin,omitempty"`  // file the first stage reads ("": nothing, /dev/null)
	Stdout string      `json:"stdout,omitempty"` // file the last stage writes ("": the job's output log)
	Append bool        `json:"append,omitempty"` // >> rather than >
	Text   string      `json:"text,omitempty"`   // the pipeline as written, for people
}

// PipeStage is one command of a pipe and the resources each copy asks for.
type PipeStage struct {
	Name      string    `json:"name"`
	Argv      []string  `json:"argv"`
	Resources Resources `json:"resources"`         // CPUs 0: reserves none, shares the machine's
	Cluster   string    `json:"cluster,omitempty"` // "": the job's cluster
	Stack     *StackRef `json:"stack,omitempty"`   // the software stack it runs inside (docs/stacks.md)
	Parallel  int       `json:"parallel,omitempty"`
}

// Copies is how many processes the stage runs.
func (s PipeStage) Copies() int { return max(s.Parallel, 1) }

// Tasks is the number of tasks of the pipe: all stages' copies.
func (p *PipeSpec) Tasks() int {
	n := 0
	for _, s := range p.Stages {
		n += s.Copies()
	}
	return n
}

// StageOf returns the stage and the copy that task index runs.
func (p *PipeSpec) StageOf(index int) (stage, copy int) {
	for i, s := range p.Stages {
		if index < s.Copies() {
			return i, index
		}
		index -= s.Copies()
	}
	return -1, -1
}

// FirstTask is the index of the first task of stage i.
func (p *PipeSpec) FirstTask(stage int) int {
	n := 0
	for _, s := range p.Stages[:stage] {
		n += s.Copies()
	}
	return n
}

// TaskResources is what task index of the job asks for: its stage's
// resources for a pipe, the job's otherwise.
func (s *JobSpec) TaskResources(index int) Resources {
	if s.Pipe != nil {
		if st, _ := s.Pipe.StageOf(index); st >= 0 {
			return s.Pipe.Stages[st].Resources
		}
	}
	return s.Resources
}

// TaskCluster is the cluster task index must run on ("" any).
func (s *JobSpec) TaskCluster(index int) string {
	if s.Pipe != nil {
		if st, _ := s.Pipe.StageOf(index); st >= 0 && s.Pipe.Stages[st].Cluster != "" {
			return s.Pipe.Stages[st].Cluster
		}
	}
	return s.Cluster
}

func (p *PipeSpec) validate() error {
	if len(p.Stages) == 0 {
		return errors.New("a pipe needs at least one stage: burst pipe 'gen | filter'")
	}
	if len(p.Stages) > MaxStages {
		return fmt.Errorf("the pipe has %d stages; the limit is %d: split it into several pipes that meet in files", len(p.Stages), MaxStages)
	}
	for _, f := range []struct{ what, v string }{{"the pipe's input file", p.Stdin}, {"the pipe's output file", p.Stdout}} {
		if err := checkPath(f.what, f.v); err != nil {
			return err
		}
	}
	if err := checkPipeText(p.Text); err != nil {
		return err
	}
	names := map[string]bool{}
	for i, st := range p.Stages {
		if !ValidName(st.Name) || names[st.Name] {
			return fmt.Errorf("stage %d (%s): stage names must be distinct and use letters, digits, '-', '_' or '.' (at most 64; not . or ..); set one with --name",
				i+1, quoteShort(st.Name))
		}
		names[st.Name] = true
		what := fmt.Sprintf("stage %d (%s)", i+1, st.Name)
		if len(st.Argv) == 0 || st.Argv[0] == "" {
			return fmt.Errorf("%s has no command", what)
		}
		if err := checkArgv(what, st.Argv, true); err != nil {
			return err
		}
		if err := checkResources(what+": ", st.Resources, 0); err != nil {
			return err
		}
		switch {
		case st.Parallel < 0 || st.Parallel > MaxParallel:
			return fmt.Errorf("%s: --parallel %d: give 1 to %d copies", what, st.Parallel, MaxParallel)
		case st.Cluster != "" && !ValidName(st.Cluster):
			return fmt.Errorf("%s: --on %s is not a cluster name", what, quoteShort(st.Cluster))
		}
	}
	return nil
}

// checkPipeText checks the pipeline as written, which burst show prints:
// text that may span lines and hold tabs, but no other control character.
func checkPipeText(t string) error {
	return checkLines("the pipeline's text", t, MaxTextBytes)
}
