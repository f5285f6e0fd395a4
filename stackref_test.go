package burst

import (
	"regexp"
	"strings"
	"testing"
)

// stackNameRE is what stackName checks, as the regexp it replaced.
var stackNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

var stackNameCases = []string{
	"", "a", "0", "pytorch-2.3", "r_4.4", "a.b-c_d", ".a", "-a", "_a", "A", "aB", "a b", "a/b", "a\n", "\na",
	"é", "a:1", strings.Repeat("a", 63), strings.Repeat("a", 64), "a" + strings.Repeat("-", 62), "a" + strings.Repeat("-", 63),
}

func TestStackName(t *testing.T) {
	ok := 0
	for _, name := range stackNameCases {
		want := stackNameRE.MatchString(name)
		if got := stackName(name); got != want {
			t.Errorf("stackName(%q) = %v, the regexp says %v", name, got, want)
		}
		if got := CheckStackName(name) == nil; got != want {
			t.Errorf("CheckStackName(%q) accepts: %v, the regexp says %v", name, got, want)
		}
		if want {
			ok++
		}
	}
	if ok == 0 || ok == len(stackNameCases) {
		t.Fatalf("%d of %d cases are names: the table checks one side only", ok, len(stackNameCases))
	}
}

func FuzzStackName(f *testing.F) {
	for _, name := range stackNameCases {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := stackName(name), stackNameRE.MatchString(name); got != want {
			t.Errorf("stackName(%q) = %v, the regexp says %v", name, got, want)
		}
	})
}
