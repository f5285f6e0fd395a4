package burst

import (
	"reflect"
	"testing"
)

func TestParseDependencies(t *testing.T) {
	for _, c := range []struct {
		in, bare string
		want     []Dependency
		anyOf    bool
		text     string // FormatDependencies of what was parsed
	}{
		{"afterok:1:2,afterany:3", AfterAny, []Dependency{{AfterOK, 1}, {AfterOK, 2}, {AfterAny, 3}}, false, "afterok:1:2,afterany:3"},
		{"ok:5,notok:6,started:7", AfterOK, []Dependency{{AfterOK, 5}, {AfterNotOK, 6}, {AfterStart, 7}}, false, "afterok:5,afternotok:6,after:7"},
		{"12", AfterOK, []Dependency{{AfterOK, 12}}, false, "afterok:12"},
		{"afterok:12_*:13", AfterAny, []Dependency{{AfterOK, 12}, {AfterOK, 13}}, false, "afterok:12:13"}, // ID_* is the whole array, as squeue writes it
		{"12", AfterAny, []Dependency{{AfterAny, 12}}, false, "afterany:12"},
		{"afterok:1?afternotok:2", AfterAny, []Dependency{{AfterOK, 1}, {AfterNotOK, 2}}, true, "afterok:1?afternotok:2"},
		{"singleton", AfterAny, []Dependency{{Kind: Singleton}}, false, "singleton"},
		{"AfterOK:3,singleton", AfterAny, []Dependency{{AfterOK, 3}, {Kind: Singleton}}, false, "afterok:3,singleton"},
	} {
		got, anyOf, err := ParseDependencies(c.in, c.bare)
		if err != nil || !reflect.DeepEqual(got, c.want) || anyOf != c.anyOf {
			t.Errorf("%q: %v %v %v, want %v %v", c.in, got, anyOf, err, c.want, c.anyOf)
			continue
		}
		if s := FormatDependencies(got, anyOf); s != c.text {
			t.Errorf("%q formats as %q, want %q", c.in, s, c.text)
		}
	}
	for _, bad := range []string{"", "afterok", "afterok:x", "afterok:0", "after:1+10", "afterok:3_1", "later:1",
		"singleton:4", "afterok:1,afterok:2?afterany:3"} {
		if d, _, err := ParseDependencies(bad, AfterOK); err == nil {
			t.Errorf("%q parsed as %v, want an error", bad, d)
		}
	}
}

func TestDependencyMet(t *testing.T) {
	for _, c := range []struct {
		kind       string
		st         State
		started    bool
		met, never bool
	}{
		{AfterOK, Running, true, false, false},
		{AfterOK, Succeeded, true, true, false},
		{AfterOK, Failed, true, false, true},
		{AfterOK, Cancelled, false, false, true},
		{AfterAny, Failed, true, true, false},
		{AfterAny, Queued, false, false, false},
		{AfterNotOK, Timeout, true, true, false},
		{AfterNotOK, Succeeded, true, false, true},
		{AfterNotOK, Lost, true, true, false},
		{AfterStart, Running, true, true, false},
		{AfterStart, Queued, false, false, false},
		{AfterStart, Cancelled, false, true, false},
	} {
		met, never := Dependency{Kind: c.kind, Job: 1}.Met(c.st, c.started)
		if met != c.met || never != c.never {
			t.Errorf("%s on %s (started %v): met %v never %v, want %v %v", c.kind, c.st, c.started, met, never, c.met, c.never)
		}
	}
}

func TestNeverMetReadsBack(t *testing.T) {
	for _, c := range []struct {
		d  Dependency
		st State
	}{{Dependency{AfterOK, 12}, Failed}, {Dependency{AfterOK, 3}, Cancelled}, {Dependency{AfterOK, 4}, Timeout},
		{Dependency{AfterNotOK, 5}, Succeeded}, {Dependency{AfterOK, 6}, Lost}} {
		text := "cancelled: " + c.d.NeverMet(c.st)
		if got := ParseNeverMet(text); len(got) != 1 || got[0] != c.d {
			t.Errorf("%q reads back as %v, want %v", text, got, c.d)
		}
	}
	if got := ParseNeverMet("cancelled by ann"); got != nil {
		t.Errorf("a plain cancel reads as %v", got)
	}
}

func FuzzParseDependencies(f *testing.F) {
	for _, s := range []string{"afterok:1:2,afterany:3", "ok:1?any:2", "singleton", "12", "after:1+5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		deps, anyOf, err := ParseDependencies(s, AfterAny)
		if err != nil {
			return
		}
		spec := JobSpec{After: deps, AfterAnyOf: anyOf}
		if err := spec.validateAfter(); err != nil {
			t.Fatalf("%q parsed to %v, which does not validate: %v", s, deps, err)
		}
		again, anyAgain, err := ParseDependencies(FormatDependencies(deps, anyOf), AfterAny)
		if err != nil || !reflect.DeepEqual(again, deps) || anyAgain != anyOf && len(deps) > 1 {
			t.Fatalf("%q: %v does not read back from %q: %v %v", s, deps, FormatDependencies(deps, anyOf), again, err)
		}
	})
}
