package cli

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestLabelWriter(t *testing.T) {
	var b strings.Builder
	w := &labelWriter{w: &b, mu: &sync.Mutex{}, prefix: "1: "}
	for _, p := range []string{"a", "b\nc\n", "d\ne", ""} {
		if n, err := w.Write([]byte(p)); err != nil || n != len(p) {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if got := b.String(); got != "1: ab\n1: c\n1: d\n" {
		t.Errorf("before flush: %q", got)
	}
	w.flush()
	if got := b.String(); got != "1: ab\n1: c\n1: d\n1: e" {
		t.Errorf("after flush: %q", got)
	}
}

// scancel's JOBID_[RANGE] names the tasks of an array it covers, each as
// JOBID_N, or the whole job when it covers all; what it names that the
// array lacks is "missing" (scancel -v says so, once per argument, as Slurm
// 22.05's does: checked with the suite's real Slurm, `scancel -v 43_[2-9]`
// of an array 1-3 cancelled 2 and 3 and said Invalid job id of 43_[2-9]).
func TestExpandArrayRefs(t *testing.T) {
	arrays := map[string][]int{"7": {0, 5, 6, 7, 8}, "9": {1, 4, 5}, "10": {0, 1, 2}}
	lookup := func(id string) ([]int, bool) { idx, ok := arrays[id]; return idx, ok }
	got, missing, err := expandArrayRefs([]string{"12", "7_[5-7]", "8_3", "9_[1,4-5]", "10_[1-4000000]", "99_[1-3]"}, lookup)
	if want := []string{"12", "7_5", "7_6", "7_7", "8_3", "9", "10_1", "10_2"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("expandArrayRefs = %q, %v; want %q", got, err, want)
	}
	if want := []string{"10_[1-4000000]", "99_[1-3]"}; !slices.Equal(missing, want) {
		t.Errorf("missing = %q, want %q", missing, want)
	}
	if _, _, err := expandArrayRefs([]string{"7_[x]"}, lookup); err == nil || !strings.Contains(err.Error(), "scancel: error: Invalid job id 7_[x]") {
		t.Errorf("a range that is none: %v; want scancel's Invalid job id", err)
	}
}

// Outside a job srun's -o/-e cannot name the job's id: it is not known
// before submission.
func TestJobPattern(t *testing.T) {
	for v, want := range map[string]bool{"out-%j.txt": true, "o%5J": true, "a%A_%a": true, "s%s": true,
		"out.json": false, "%%j": false, "/dev/null": false, "%t-%x.log": false, "x%": false} {
		if got := jobPattern(v); got != want {
			t.Errorf("jobPattern(%q) = %v, want %v", v, got, want)
		}
	}
}
