package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// perlShellWords splits as Perl's Text::ParseWords::shellwords, which GNU
// parallel reads $PARALLEL and its config files with (each want is what
// perl -MText::ParseWords printed for it).
func TestPerlShellWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string // nil: not split (a quote left open)
	}{
		{"-k --tag", []string{"-k", "--tag"}},
		{"  -k   --tag  ", []string{"-k", "--tag"}},
		{`--tagstring "x y" z`, []string{"--tagstring", "x y", "z"}},
		{`--tagstring 'a\"b' c`, []string{"--tagstring", `a\"b`, "c"}},
		{`"a\\"b" c`, nil},
		{`a\ b`, []string{"a b"}},
		{"it's", nil},
		{`a"b c"d`, []string{"ab cd"}},
		{"'' x", []string{"", "x"}},
		{`x ""`, []string{"x", ""}},
		{`a\`, nil},
		{`"\\x"`, []string{`\x`}},
		{`'\x'`, []string{`\x`}},
		{"a\\\nb", []string{"a\nb"}},
		{"", []string{}},
	} {
		got, ok := perlShellWords(c.in)
		if ok != (c.want != nil) || ok && !slices.Equal(got, c.want) {
			t.Errorf("perlShellWords(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}

// GNU parallel reads default options from its config files
// (/etc/parallel/config, config in each of $PARALLEL_HOME,
// $XDG_CONFIG_HOME/parallel, ... ~/.parallel, then ~/.parallelrc), then
// from $PARALLEL, before its command line's, which win; -J reads its
// profile in the files' place, --plain none of them. burst map reads them
// so (parallel 20221122 prints the same for each: checked by hand, and in
// e2e TestMapAsGNUParallel/default_options). One burst map refuses is
// refused naming where it came from.
func TestParallelDefaults(t *testing.T) {
	home, ph := t.TempDir(), t.TempDir()
	put := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := func(kv ...string) map[string]string {
		m := map[string]string{"HOME": home}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env("PARALLEL", "--tag"), []string{"echo", ":::", "a"}, "a\techo a\n"},
		{env("PARALLEL", `--tagstring "<{}>"`), []string{"--tagstring", "[{}]", "echo", ":::", "a"}, "[a]\techo a\n"}, // the command line's wins
		{env("PARALLEL", "--tag"), []string{"--plain", "echo", ":::", "a"}, "echo a\n"},
		{env("PARALLEL", "-N2 nice -n 1"), []string{"-k", "echo", ":::", "a", "b"}, "nice -n 1 echo a b\n"},
		{env("PARALLEL", "--tag --"), []string{"echo", ":::", "a"}, "a\techo a\n"},
		{env("PARALLEL", "'--tag"), []string{"echo", ":::", "a"}, "echo a\n"}, // a quote left open: nothing, as to parallel
		{env("PARALLEL_CSH", "--tag"), []string{"echo", ":::", "a"}, "a\techo a\n"},
	} {
		if out, errb, code := dryRunMapIn(t, c.env, c.args...); code != 0 || out != c.want {
			t.Errorf("%v burst map --dry-run %q: exit %d, %q (stderr %q); want %q", c.env, c.args, code, out, errb, c.want)
		}
	}

	// One refused after its options were read (a value burst map cannot
	// take) says where the defaults came from too.
	if _, errb, code := dryRunMapIn(t, env("PARALLEL", "--halt bogus"), "echo", ":::", "a"); code != 255 ||
		!strings.Contains(errb, `--halt "bogus"`) || !strings.Contains(errb, "default options from $PARALLEL (--halt bogus); --plain reads none") {
		t.Errorf("--halt bogus in $PARALLEL: exit %d, stderr %q; want 255 naming $PARALLEL", code, errb)
	}
	if _, errb, _ := dryRunMapIn(t, env(), "--halt", "bogus", "echo", ":::", "a"); strings.Contains(errb, "default options") {
		t.Errorf("--halt bogus on the command line, no defaults: stderr %q names defaults", errb)
	}
	put(filepath.Join(ph, "config"), "# tag it\n--tagstring PH\n")
	put(filepath.Join(home, ".parallel", "config"), "--tagstring 'H O'\n")
	put(filepath.Join(ph, "prof"), "-k\n")
	wantDryRunsIn(t, env("PARALLEL_HOME", ph), []dryRun{
		{[]string{"echo", ":::", "a"}, "H O\techo a\n"}, // ~/.parallel/config after $PARALLEL_HOME/config
		{[]string{"-J", "none", "echo", ":::", "a"}, "echo a\n"},
	})
	wantDryRunsIn(t, env("PARALLEL_HOME", ph, "PARALLEL", "--tagstring E"), []dryRun{{[]string{"echo", ":::", "a"}, "E\techo a\n"}})
	put(filepath.Join(home, ".parallelrc"), "--tagstring RC\n")
	wantDryRunsIn(t, env(), []dryRun{{[]string{"echo", ":::", "a"}, "RC\techo a\n"}})

	for _, c := range []struct {
		env       map[string]string
		want, fix string
	}{
		{env("PARALLEL", "-S host"), "GNU parallel's default options in $PARALLEL (-S host), which burst map reads as parallel does: -S is GNU parallel's: burst map does not take it; ", "; unset PARALLEL, or give burst map --plain"},
		{env("PARALLEL", "--bogus"), "GNU parallel's default options in $PARALLEL (--bogus), which burst map reads as parallel does: unknown flag: --bogus", "; unset PARALLEL, or give burst map --plain"},
	} {
		_, errb, code := dryRunMapIn(t, c.env, "echo", ":::", "a")
		if code != 255 || !strings.HasPrefix(errb, "burst: "+c.want) || !strings.Contains(errb, c.fix) {
			t.Errorf("%v: exit %d, stderr %q; want 255, %q ... %q", c.env, code, errb, c.want, c.fix)
		}
	}
	put(filepath.Join(home, ".parallelrc"), "--pipe\n")
	_, errb, code := dryRunMapIn(t, env(), "echo", ":::", "a")
	if rc := filepath.Join(home, ".parallelrc"); code != 255 || !strings.Contains(errb, "in "+rc+" (--pipe)") || !strings.Contains(errb, "take it out of "+rc) {
		t.Errorf("--pipe in ~/.parallelrc: exit %d, stderr %q; want 255 naming the file", code, errb)
	}
}
