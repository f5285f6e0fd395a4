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
// nothing raw reaches the terminal, and pasting it gives the same argv.
func TestShellJoinControl(t *testing.T) {
	argv := []string{"printf", "\x1b[31mred\\n'quoted'\n", "plain", "two words"}
	got := shellJoin(argv)
	if strings.ContainsAny(got, "\x1b\n") {
		t.Fatalf("shellJoin left a control character raw: %q", got)
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
