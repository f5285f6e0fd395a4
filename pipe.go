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
	names := map[string]bool{}
	for i, st := range p.Stages {
		what := fmt.Sprintf("stage %d (%s)", i+1, st.Name)
		if len(st.Argv) == 0 || st.Argv[0] == "" {
			return fmt.Errorf("%s has no command", what)
		}
		if !ValidName(st.Name) || names[st.Name] {
			return fmt.Errorf("%s: stage names must be distinct and use letters, digits, '-', '_' or '.'; set one with --name", what)
		}
		names[st.Name] = true
		r := st.Resources
		switch {
		case r.CPUs < 0:
			return fmt.Errorf("%s: --cpus %d: ask for at least 1 CPU", what, r.CPUs)
		case r.MemBytes < 0 || r.GPUs < 0 || r.TimeLimit < 0:
			return fmt.Errorf("%s: --mem, --gpus and --time must not be negative", what)
		case st.Parallel < 0 || st.Parallel > 1024:
			return fmt.Errorf("%s: --parallel %d: give 1 to 1024 copies", what, st.Parallel)
		case st.Cluster != "" && !ValidName(st.Cluster):
			return fmt.Errorf("%s: --on %q is not a cluster name", what, st.Cluster)
		}
	}
	return nil
}
