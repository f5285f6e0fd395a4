package burst

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDependencies(t *testing.T) {
	d := func(kind string, job int64) Dependency { return Dependency{Kind: kind, Job: job} }
	task := func(kind string, job int64, idx int) Dependency { return Dependency{Kind: kind, Job: job, Task: &idx} }
	for _, c := range []struct {
		in, bare string
		want     []Dependency
		anyOf    bool
		text     string // FormatDependencies of what was parsed
	}{
		{"afterok:1:2,afterany:3", AfterAny, []Dependency{d(AfterOK, 1), d(AfterOK, 2), d(AfterAny, 3)}, false, "afterok:1:2,afterany:3"},
		{"ok:5,notok:6,started:7", AfterOK, []Dependency{d(AfterOK, 5), d(AfterNotOK, 6), d(AfterStart, 7)}, false, "afterok:5,afternotok:6,after:7"},
		{"12", AfterOK, []Dependency{d(AfterOK, 12)}, false, "afterok:12"},
		{"afterok:12_*:13", AfterAny, []Dependency{d(AfterOK, 12), d(AfterOK, 13)}, false, "afterok:12:13"}, // ID_* is the whole array, as squeue writes it
		{"12", AfterAny, []Dependency{d(AfterAny, 12)}, false, "afterany:12"},
		{"afterok:1?afternotok:2", AfterAny, []Dependency{d(AfterOK, 1), d(AfterNotOK, 2)}, true, "afterok:1?afternotok:2"},
		{"singleton", AfterAny, []Dependency{{Kind: Singleton}}, false, "singleton"},
		{"AfterOK:3,singleton", AfterAny, []Dependency{d(AfterOK, 3), {Kind: Singleton}}, false, "afterok:3,singleton"},
		// One task of an array (sbatch's JOB_TASK), aftercorr, and a delay,
		// which Slurm reads and shows on every kind.
		{"afterok:3_1", AfterAny, []Dependency{task(AfterOK, 3, 1)}, false, "afterok:3_1"},
		{"afterany:12_7:13", AfterAny, []Dependency{task(AfterAny, 12, 7), d(AfterAny, 13)}, false, "afterany:12_7:13"},
		{"aftercorr:4,afterok:5", AfterAny, []Dependency{d(AfterCorr, 4), d(AfterOK, 5)}, false, "aftercorr:4,afterok:5"},
		{"corr:4_*", AfterOK, []Dependency{d(AfterCorr, 4)}, false, "aftercorr:4"},
		{"afterok:8+10", AfterAny, []Dependency{{Kind: AfterOK, Job: 8, Delay: 10}}, false, "afterok:8+10"},
		{"after:8+10:9", AfterAny, []Dependency{{Kind: AfterStart, Job: 8, Delay: 10}, d(AfterStart, 9)}, false, "after:8+10:9"}, // after waits the delay
		{"afterany:8_2+1", AfterAny, []Dependency{{Kind: AfterAny, Job: 8, Task: task(AfterAny, 8, 2).Task, Delay: 1}}, false, "afterany:8_2+1"},
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
	for _, bad := range []string{"", "afterok", "afterok:x", "afterok:0", "after:1_2+10", "afterok:3_x", "afterok:3_-1", "afterok:3+x",
		"afterok:3+-2", "later:1", "singleton:4", "afterok:1,afterok:2?afterany:3", "aftercorr:1?afterok:2"} {
		if d, _, err := ParseDependencies(bad, AfterOK); err == nil {
			t.Errorf("%q parsed as %v, want an error", bad, d)
		}
	}
	// A message names the fix.
	for in, want := range map[string]string{
		"after:1_2+10":          "give 1+10 (the array's start), or drop +10",
		"aftercorr:1?afterok:2": "join them with , (all of)",
		"afterok:3_x":           "e.g. 3_0",
	} {
		if _, _, err := ParseDependencies(in, AfterAny); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want it to say %q", in, err, want)
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
	four := 4
	for _, c := range []struct {
		d    Dependency
		st   State
		idx  int
		back string // as the reason reads back, in sbatch's syntax
	}{{Dependency{Kind: AfterOK, Job: 12}, Failed, -1, "afterok:12"}, {Dependency{Kind: AfterOK, Job: 3}, Cancelled, -1, "afterok:3"},
		{Dependency{Kind: AfterOK, Job: 4}, Timeout, -1, "afterok:4"}, {Dependency{Kind: AfterNotOK, Job: 5}, Succeeded, -1, "afternotok:5"},
		{Dependency{Kind: AfterOK, Job: 6}, Lost, -1, "afterok:6"},
		{Dependency{Kind: AfterOK, Job: 7, Task: &four}, Failed, -1, "afterok:7_4"},
		{Dependency{Kind: AfterCorr, Job: 8, Task: &four}, Failed, 4, "aftercorr:8"}, // each task's, shown as the array's
		{Dependency{Kind: AfterCorr, Job: 9}, Cancelled, 2, "aftercorr:9"},
		{Dependency{Kind: AfterCorr, Job: 10}, Failed, -1, "aftercorr:10"}} {
		text := "cancelled: " + c.d.NeverMet(c.st, c.idx)
		if got := ParseNeverMet(text); len(got) != 1 || FormatDependencies(got, false) != c.back {
			t.Errorf("%q reads back as %v, want %s", text, got, c.back)
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
