package main

import (
	"go/token"
	"os"
	"path/filepath"
	"testing"
)

// mutantsOf finds each comparison, && and ||, ++ and --, in order, and
// none inside a call that only logs or formats.
func TestMutantsOf(t *testing.T) {
	src := `package p

import "fmt"

func f(a, b int, log func(string, ...any)) int {
	if a < b && b != 0 {
		a++
	}
	log("a", a == b)
	fmt.Println(a >= b)
	return a
}
`
	file := filepath.Join(t.TempDir(), "p.go")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got := mutantsOf(file)
	want := []struct {
		line     int
		from, to token.Token
	}{{6, token.LSS, token.LEQ}, {6, token.LAND, token.LOR}, {6, token.NEQ, token.EQL}, {7, token.INC, token.DEC}}
	if len(got) != len(want) {
		t.Fatalf("mutants %+v; want %d", got, len(want))
	}
	for i, w := range want {
		if got[i].Line != w.line || got[i].From != w.from || got[i].To != w.to {
			t.Errorf("mutant %d: %+v; want line %d %s -> %s", i, got[i], w.line, w.from, w.to)
		}
		if string([]byte(src)[got[i].Offset:got[i].Offset+len(w.from.String())]) != w.from.String() {
			t.Errorf("mutant %d: offset %d does not hold %s", i, got[i].Offset, w.from)
		}
	}
}
