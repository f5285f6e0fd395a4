package sbatch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/burst-sh/burst"
)

// TestStepsFile: srun's step records read back by step id whatever order
// they ended in, a torn or foreign line skipped, none from a missing file.
func TestStepsFile(t *testing.T) {
	file := StepsFile(filepath.Join(t.TempDir(), "7.0.1"))
	if got := ReadSteps(file); got != nil {
		t.Fatalf("no file: %v", got)
	}
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, id := range []int{2, 0, 1} {
		if err := AppendStep(file, burst.Step{ID: id, Name: "sh", State: burst.Succeeded, Tasks: 1, CPUs: 1, StartedAt: at, EndedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{\"id\":9,\"na\n")
	f.Close()
	got := ReadSteps(file)
	var ids []int
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, []int{0, 1, 2}) || got[0].Name != "sh" || !got[0].StartedAt.Equal(at) {
		t.Fatalf("steps %+v, want ids 0 1 2", got)
	}
}

// TestStepsRunning: a step's start record (running) gives way to its end
// record; one that never ended is ended by EndSteps as its job's end
// killed it (CANCELLED, signal 15), and one that did is left as it was.
func TestStepsRunning(t *testing.T) {
	file := StepsFile(filepath.Join(t.TempDir(), "8.0.1"))
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, s := range []burst.Step{
		{ID: 0, Name: "sh", State: burst.Running, StartedAt: at},
		{ID: 1, Name: "sleep", State: burst.Running, StartedAt: at},
		{ID: 0, Name: "sh", State: burst.Failed, ExitCode: 3, StartedAt: at, EndedAt: at.Add(time.Second)},
	} {
		if err := AppendStep(file, s); err != nil {
			t.Fatal(err)
		}
	}
	got := ReadSteps(file)
	if len(got) != 2 || got[0].State != burst.Failed || got[0].ExitCode != 3 || got[1].State != burst.Running {
		t.Fatalf("steps %+v, want step 0 failed (its end) and step 1 running", got)
	}
	end := at.Add(time.Minute)
	EndSteps(got, end)
	if got[0].State != burst.Failed || !got[0].EndedAt.Equal(at.Add(time.Second)) {
		t.Errorf("an ended step changed: %+v", got[0])
	}
	if got[1].State != burst.Cancelled || got[1].Signal != 15 || !got[1].EndedAt.Equal(end) {
		t.Errorf("a step its job's end killed: %+v, want cancelled by 15 at %v", got[1], end)
	}
}

// TestStepsFileLongLine: a line longer than a step's record (a task that
// wrote its own garbage beside its step counter) is skipped like any
// other unreadable line: the steps srun recorded after it are still read.
// A scanner stopped at it, and sacct listed none of the job's steps.
func TestStepsFileLongLine(t *testing.T) {
	file := StepsFile(filepath.Join(t.TempDir(), "7.0.1"))
	if err := os.WriteFile(file, []byte(strings.Repeat("x", 3*maxStepLine)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for id := range 2 {
		if err := AppendStep(file, burst.Step{ID: id, Name: "true", State: burst.Succeeded, Tasks: 1, CPUs: 1, StartedAt: at, EndedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	// A last line cut short of its newline and over the bound is skipped too.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(strings.Repeat("y", 2*maxStepLine))
	f.Close()
	var ids []int
	for _, s := range ReadSteps(file) {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, []int{0, 1}) {
		t.Fatalf("steps %v after a %d-byte line, want 0 1", ids, 3*maxStepLine)
	}
}

// TestStepsFileBounded: a script that loops over srun far past
// burst.MaxSteps stops growing its steps file once it holds all that
// ReadSteps reads (the first MaxSteps steps): the file was appended to
// for every step, on the machine's disk, however many.
func TestStepsFileBounded(t *testing.T) {
	file := StepsFile(filepath.Join(t.TempDir(), "7.0.1"))
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	step := func(id int) burst.Step {
		return burst.Step{ID: id, Name: strings.Repeat("n", 256), State: burst.Succeeded, Tasks: 1, CPUs: 1, StartedAt: at, EndedAt: at}
	}
	id := 0
	for ; id < burst.MaxSteps; id++ {
		if err := AppendStep(file, step(id)); err != nil {
			t.Fatal(err)
		}
	}
	// Pad it to the bound, as longer records would have.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	f.Write(append([]byte(strings.Repeat("z", int(maxStepsBytes-fi.Size()-1))), '\n'))
	f.Close()
	for ; id < 3*burst.MaxSteps; id++ {
		if err := AppendStep(file, step(id)); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() > maxStepsBytes {
		t.Fatalf("steps file after %d steps: %v bytes (%v), want at most %d", id, fi.Size(), err, maxStepsBytes)
	}
	if got := ReadSteps(file); len(got) != burst.MaxSteps || got[len(got)-1].ID != burst.MaxSteps-1 {
		t.Fatalf("read %d steps, want the first %d", len(got), burst.MaxSteps)
	}
}

// TestStepsPIDs: the processes srun records of a running step are read by
// its agent alone (ReadStepsPIDs); what is sent on and what sacct and
// sstat in the job read has none (ReadSteps).
func TestStepsPIDs(t *testing.T) {
	file := StepsFile(filepath.Join(t.TempDir(), "7.0.1"))
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	if err := AppendStep(file, burst.Step{ID: 0, Name: "sim", State: burst.Running, Tasks: 2, CPUs: 2, StartedAt: at, PIDs: []int{41, 42}}); err != nil {
		t.Fatal(err)
	}
	if got := ReadStepsPIDs(file); len(got) != 1 || !slices.Equal(got[0].PIDs, []int{41, 42}) {
		t.Errorf("ReadStepsPIDs: %+v, want step 0 with pids 41 42", got)
	}
	if got := ReadSteps(file); len(got) != 1 || got[0].PIDs != nil || got[0].Name != "sim" {
		t.Errorf("ReadSteps: %+v, want step 0 without pids", got)
	}
}
