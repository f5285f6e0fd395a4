package cli

import (
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
