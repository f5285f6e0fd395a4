package shellquote

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"abc":                   "abc",
		"a/b.c:d=e@f%g+h,i-j_k": "a/b.c:d=e@f%g+h,i-j_k", // = after a non-name is no assignment
		"--opt=x":               "--opt=x",
		"":                      "''",
		"a b":                   "'a b'",
		"it's":                  `'it'"'"'s'`,
		"'":                     `''"'"''`,
		"$HOME":                 "'$HOME'",
		"*":                     "'*'",
		"~":                     "'~'",
		"x\ny":                  "'x\ny'",
		`\$"`:                   `'\$"'`,
		"é":                     "'é'",
		"A=1":                   "'A=1'", // an assignment at the start of a command
		"_x9=":                  "'_x9='",
		"=cmd":                  "'=cmd'", // zsh expands =cmd to the command's path
		"if":                    "'if'",
		"done":                  "'done'",
		"iff":                   "iff",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestAlways(t *testing.T) {
	for in, want := range map[string]string{"": "''", "a": "'a'", "it's": `'it'"'"'s'`, "'": `''"'"''`, "a b\nc": "'a b\nc'"} {
		if got := Always(in); got != want {
			t.Errorf("Always(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestNextToText checks that Always keeps an input apart from the shell text
// it is put next to, where Quote's bare plain word would join it (what burst
// map does with a template such as '$X{}' or '~{}').
func TestNextToText(t *testing.T) {
	for _, tt := range []struct{ before, s, after, want string }{
		{"X=v; printf %s $X", "a", "", "va"},
		{"printf %s ~", "root", "", "~root"},
		{"", "A", "=1 printf %s x", ""}, // 'A'=1 is a command named A=1, not an assignment: it fails
		{"printf %s ", "it's", "-$HOME", "it's-/h"},
	} {
		for _, sh := range shells(t) {
			if strings.HasSuffix(tt.before, "~") && filepath.Base(sh) == "zsh" {
				// zsh expands ~ before any quoted user name (~'root',
				// ~"root", ~\root alike): no quoting keeps it apart there.
				// burst runs a map's template with sh, which does not.
				continue
			}
			cmd := exec.Command(sh, "-c", tt.before+Always(tt.s)+tt.after)
			cmd.Env = []string{"HOME=/h", "PATH=/usr/bin:/bin"}
			out, err := cmd.Output()
			if string(out) != tt.want || (tt.want == "") != (err != nil) {
				t.Errorf("%s -c %s: %q, %v; want %q", sh, tt.before+Always(tt.s)+tt.after, out, err, tt.want)
			}
		}
	}
}

// shells are the POSIX shells on this machine to check quoted words with; sh is
// always there (CI's machines and every Slurm node have it).
func shells(t *testing.T) []string {
	var out []string
	for _, s := range []string{"sh", "bash", "dash", "zsh", "ksh", "mksh", "yash"} {
		if p, err := exec.LookPath(s); err == nil {
			out = append(out, p)
		} else if s == "sh" {
			t.Fatal("no sh on PATH")
		}
	}
	return out
}

// readBack is what shell prints for `printf %s QUOTED`.
func readBack(t *testing.T, shell, s string) string {
	t.Helper()
	out, err := exec.Command(shell, "-c", "printf %s "+Quote(s)).Output()
	if err != nil {
		t.Fatalf("%s -c 'printf %%s %s': %v", shell, Quote(s), err)
	}
	return string(out)
}

// TestShellReadsBack is the property Quote promises: sh -c 'printf %s QUOTED'
// prints the string itself, for any string without a NUL (which no argument
// can hold). Hand-picked words, then random ones over every byte but NUL,
// weighted towards the characters shells treat specially.
func TestShellReadsBack(t *testing.T) {
	words := []string{"", " ", "'", "''", `"`, `\`, `\'`, "'\\''", "$", "${x}", "$(id)", "`id`", "!", "!!", "a\nb",
		"\t", "~", "~root", "*", "?", "[a]", "{a,b}", "#", "a #b", "&", ";", "|", "<", ">", "(", ")", "-n", "-e",
		"--", "%s", "%%", "\\n", "A=1", "=x", "if", "é", "\xff\xfe", "\x7f\x01"}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	special := " \t\n'\"\\$`!*?[]{}~#&;|<>()=%-\x01\x7f\xc3\xa9"
	for range 150 {
		var b strings.Builder
		for range r.IntN(12) {
			if r.IntN(2) == 0 {
				b.WriteByte(special[r.IntN(len(special))])
			} else {
				b.WriteByte(byte(1 + r.IntN(255)))
			}
		}
		words = append(words, b.String())
	}
	for _, sh := range shells(t) {
		for _, w := range words {
			if got := readBack(t, sh, w); got != w {
				t.Errorf("%s read Quote(%q) = %s back as %q", sh, w, Quote(w), got)
			}
			out, err := exec.Command(sh, "-c", "printf %s "+Always(w)).Output()
			if err != nil || string(out) != w {
				t.Errorf("%s read Always(%q) = %s back as %q, %v", sh, w, Always(w), out, err)
			}
		}
	}
}

// TestCommandPosition checks that a quoted word at the start of a command is
// run as a program of that name, not read as a keyword, an assignment or
// zsh's =cmd.
func TestCommandPosition(t *testing.T) {
	dir := t.TempDir()
	names := []string{"A=1", "if", "done", "time", "=x", "a b", "it's"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\nprintf ran\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, sh := range shells(t) {
		for _, n := range names {
			cmd := exec.Command(sh, "-c", Quote(n))
			cmd.Env = append(os.Environ(), "PATH="+dir+":/usr/bin:/bin")
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != "ran" {
				t.Errorf("%s -c %s: %q, %v (want the program %q to run)", sh, Quote(n), out, err, n)
			}
		}
	}
}

// FuzzQuote checks the read-back property on fuzzed strings (make fuzz).
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a", "it's", "A=1", "$(x)", "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			t.Skip("no argument can hold a NUL")
		}
		if got := readBack(t, "sh", s); got != s {
			t.Fatalf("sh read Quote(%q) = %s back as %q", s, Quote(s), got)
		}
	})
}

// TestJoin: sh runs Join(argv) as exactly argv, word for word (printf '[%s]'
// shows each argument it gets).
func TestJoin(t *testing.T) {
	argv := []string{"printf", "[%s]", "a b", "", "it's", "$HOME", "x=1", "*", "tab\there", "new\nline"}
	for _, sh := range shells(t) {
		out, err := exec.Command(sh, "-c", Join(argv)).Output()
		if err != nil {
			t.Fatalf("%s -c %s: %v", sh, Join(argv), err)
		}
		want := "[a b][][it's][$HOME][x=1][*][tab\there][new\nline]"
		if string(out) != want {
			t.Errorf("%s ran %q as %q, want %q", sh, Join(argv), out, want)
		}
	}
}

// FuzzIsName checks IsName against the regular expression it replaced
// where a login's environment is read (internal/cli's loginEnv).
func FuzzIsName(f *testing.F) {
	name := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	for _, s := range []string{"", "_", "A", "a1", "1a", "PATH", "OMP_NUM_THREADS", "A-B", "A B", "é", "A\n", "\nA", "Z9_z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := IsName(s), name.MatchString(s); got != want {
			t.Fatalf("IsName(%q) = %v, the expression says %v", s, got, want)
		}
	})
}

// AsParallel writes what GNU parallel itself writes: its --dryrun of
// `echo {}` over each value, compared line by line.
func TestAsParallelAgainstGNUParallel(t *testing.T) {
	if _, err := exec.LookPath("parallel"); err != nil {
		if os.Getenv("BURST_CI") != "" {
			t.Fatal("GNU parallel is not installed, and BURST_CI asks that this test run (apt-get install parallel)")
		}
		t.Skip("SKIPPED, NOT PASSED: GNU parallel is not installed (apt-get install parallel)")
	}
	values := []string{"1", "a.b", "a/b", "a-b", "a_b", "a+b", "-x", "if", "a b", "it's", "a@b", "a%b", "a,b", "a:b",
		"a=b", "A=1", "é", "~x", "a]b", "$HOME", "", "x'y\"z", "*", "a\\b"}
	args := append([]string{"--dryrun", "-k", "echo {}", ":::"}, values...)
	cmd := exec.Command("parallel", args...)
	cmd.Env = append(os.Environ(), "SHELL=/bin/sh", "HOME="+t.TempDir()) // parallel writes ~/.parallel
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parallel --dryrun: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(values) {
		t.Fatalf("parallel printed %d lines for %d values:\n%s", len(lines), len(values), out)
	}
	for i, v := range values {
		if got, want := "echo "+AsParallel(v), lines[i]; got != want {
			t.Errorf("AsParallel(%q): burst writes %q, parallel %q", v, got, want)
		}
	}
}

// IsText tells shell text given as one word from a program's name.
func TestIsText(t *testing.T) {
	for s, want := range map[string]bool{
		"echo {} | wc -c": true, "gzip -9": true, "a;b": true, "x>y": true, "$(date)": true, "a*b": true,
		"~/bin/fit": true, "echo\nx": true, "it's": true, `a\b`: true, "(x)": true, "a&": true, "f?": true,
		"python3": false, "./sim{}": false, "/opt/bin/fit": false, "{}": false, "a~b": false, "x=1": false,
		"": false, "gzip": false, "r-4.2_x+y,z:@%": false,
	} {
		if got := IsText(s); got != want {
			t.Errorf("IsText(%q) = %v; want %v", s, got, want)
		}
	}
}
