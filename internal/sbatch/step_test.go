package sbatch

import (
	"os"
	"path/filepath"
	"slices"
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
