package sample

import (
	"bytes"
	"testing"
)

// A sample tells files apart by their size or either end, and is the same
// for the same bytes.
func TestOf(t *testing.T) {
	of := func(b []byte) string {
		s, err := Of(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	big := bytes.Repeat([]byte("x"), 3*Edge)
	base := of(big)
	if of(append([]byte{}, big...)) != base {
		t.Fatal("the same bytes sample differently")
	}
	for _, at := range []int{0, len(big) - 1} {
		b := append([]byte{}, big...)
		b[at] = 'y'
		if of(b) == base {
			t.Errorf("a change at byte %d is not seen", at)
		}
	}
	if of(big[:len(big)-1]) == base {
		t.Error("a shorter file samples the same")
	}
	if of(nil) == of([]byte{0}) || of(nil) == "" {
		t.Error("empty and one-byte files are not told apart")
	}
}
