package cli

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/burst-sh/burst"
)

func TestClean(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"fit", "fit"},
		{"héllo wörld", "héllo wörld"},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{"del\x7f", `del\x7f`},
		{"c1\u009b31m", `c1\x9b31m`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"abc\u202edcba", `abc\u202edcba`},
		{"a\u200bb\u2028c\ufeff", `a\u200bb\u2028c\ufeff`},
	} {
		if got := clean(c.in); got != c.want {
			t.Errorf("clean(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// `burst jobs` writes no control character of a job's name or project to
// the terminal, and keeps its columns: the row of a hostile name is one
// line, and the next row is not moved.
func TestJobsTableEscapes(t *testing.T) {
	now := time.Now()
	jobs := []burst.Job{
		{ID: 2, Name: "ok\x1b[2J\x1b]0;title\x07\nFAKE\trow", Project: "default", State: burst.Queued, SubmittedAt: now},
		{ID: 1, Name: "plain", Project: "default", State: burst.Queued, SubmittedAt: now},
	}
	var b bytes.Buffer
	if err := jobsTable(&b, jobs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, r := range out {
		if r < 0x20 && r != '\n' || r == 0x7f {
			t.Fatalf("jobs table holds control character %q:\n%s", r, out)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and 2 rows, got %d lines:\n%s", len(lines), out)
	}
	if !strings.Contains(lines[1], `ok\x1b[2J`) {
		t.Errorf("the name should show escaped (truncated to 24): %q", lines[1])
	}
	col := func(l string) int { return utf8.RuneCountInString(l[:max(strings.Index(l, "default"), 0)]) }
	if i, j := col(lines[1]), col(lines[2]); i != j || i == 0 {
		t.Errorf("PROJECT column moved: at %d in the hostile row, %d in the next:\n%s", i, j, out)
	}
}

// A command with control characters is shown in bash's $'...' quoting:
// nothing raw reaches the terminal, and pasting it gives the same argv,
// byte for byte. bash(1), QUOTING, ANSI-C Quoting: "\xHH the eight-bit
// character whose value is the hexadecimal value HH": one byte, so a
// character of two or three bytes (a C1 control, U+202E) is written as one
// \xHH per byte, as bash's printf %q does (\302\233), whatever the locale.
func TestShellJoinControl(t *testing.T) {
	argv := []string{"printf", "\x1b[31mred\\n'quoted'\n", "plain", "two words", "a\u009bb", "abc\u202edcba", "bad\xffbyte"}
	got := shellJoin(argv)
	if strings.ContainsAny(got, "\x1b\n\u009b\u202e") || !utf8.ValidString(got) {
		t.Fatalf("shellJoin left a control character raw: %q", got)
	}
	if !strings.Contains(got, `$'a\xc2\x9bb'`) {
		t.Errorf("shellJoin(%q) = %s, want U+009B as the bytes of its encoding, $'a\\xc2\\x9bb'", argv[4], got)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is needed to check the quoting")
	}
	out, err := exec.Command(bash, "-c", `for a in `+got+`; do printf '%s\0' "$a"; done`).Output()
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	if back := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00"); strings.Join(back, "|") != strings.Join(argv, "|") {
		t.Errorf("bash reads %q back as %q, want %q", got, back, argv)
	}
}

// A cell cut to its width keeps an escape whole or leaves it out: a cut
// `\x1` would read as other characters.
func TestCleanCut(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 24, "short"},
		{"abcdefghijklmnopqrstuvwxyz", 10, "abcdefghi…"},
		{"abcdefg\x1bxyz", 10, "abcdefg…"},   // \x1b would end at 11: left out
		{"abcd\x1bxyzxyz", 10, `abcd\x1bx…`}, // whole
		{"ab\u202ecdefghij", 8, "ab…"},       // \u202e is 6 characters
		{"é\u009b" + "zzzzzzzzzz", 6, `é\x9b…`},
	} {
		got := cleanCut(c.in, c.n)
		if got != c.want {
			t.Errorf("cleanCut(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		if utf8.RuneCountInString(got) > c.n {
			t.Errorf("cleanCut(%q, %d) = %q: longer than %d", c.in, c.n, got, c.n)
		}
	}
}

// safeWriter passes a clean table through as it is, its newlines and tabs
// included, and escapes a raw control character in it.
func TestSafeWriter(t *testing.T) {
	var b bytes.Buffer
	w := safeWriter{&b}
	w.Write([]byte("A\tB\nok\tfine\n"))
	w.Write([]byte("x\x1b[2J\ty\n"))
	if want := "A\tB\nok\tfine\n" + `x\x1b[2J` + "\ty\n"; b.String() != want {
		t.Errorf("safeWriter wrote %q, want %q", b.String(), want)
	}
}
