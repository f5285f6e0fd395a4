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

// scancel's JOBID_[RANGE] names some tasks of an array, each as JOBID_N.
func TestExpandArrayRefs(t *testing.T) {
	got, err := expandArrayRefs([]string{"12", "7_[5-7]", "8_3", "9_[1,4-5]"})
	if want := []string{"12", "7_5", "7_6", "7_7", "8_3", "9_1", "9_4", "9_5"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("expandArrayRefs = %q, %v; want %q", got, err, want)
	}
	if _, err := expandArrayRefs([]string{"7_[x]"}); err == nil || !strings.Contains(err.Error(), "scancel: error: Invalid job id 7_[x]") {
		t.Errorf("a range that is none: %v; want scancel's Invalid job id", err)
	}
}
