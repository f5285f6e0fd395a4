package sbatch

import (
	"strings"
	"testing"

	burst "github.com/burst-sh/burst"
)

// FuzzParse checks that Parse, and Apply after a successful Parse, never
// panic, and that errors and warnings are single lines naming the file. Its
// seeds live in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "f.sbatch"
		oneLine := func(what, msg string) {
			if !strings.HasPrefix(msg, name+":") || strings.Contains(msg, "\n") {
				t.Fatalf("%s is not one line starting with the path: %q", what, msg)
			}
		}
		s, err := Parse(name, data)
		if err != nil {
			oneLine("error", err.Error())
			return
		}
		for _, w := range s.Warnings {
			oneLine("warning", w)
		}
		spec := burst.JobSpec{Workdir: "/submit", Env: map[string]string{"A": "1", "PATH": "/bin"}}
		if err := s.Apply(&spec); err != nil {
			oneLine("Apply error", err.Error())
			return
		}
		r := spec.Resources
		if r.CPUs < 0 || r.MemBytes < 0 || r.GPUs < 0 || r.TimeLimit < 0 || spec.Batch == nil {
			t.Fatalf("Apply made a bad spec: %+v", spec)
		}
		info := TaskInfo{JobID: 1, JobName: s.JobName, ArrayTaskID: -1, NTasks: s.NTasks, CPUsPerTask: s.CPUsPerTask,
			MemBytes: r.MemBytes, Partition: s.Partition, GPUIDs: []int{0}}
		Expand(s.Output, info)
		Expand(s.Error, info)
		Env(info)
	})
}
