package cli

import (
	"bytes"
	"strings"
	"testing"
)

// dryRunMap runs burst map --dry-run with args (flags, then the command
// and inputs) and returns its stdout, stderr and exit status.
func dryRunMap(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	t.Setenv("BURST_HOME", t.TempDir())
	var out, errb bytes.Buffer
	code := Main(append([]string{"map", "--dry-run"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// A command's words run in a shell when one is a redirection, && or ||
// (as GNU parallel runs every command in one), glued to its target too
// when that names the input ('>{.}.txt'); a > or < after an option is its
// value (grep -c '>' {}), and --quote (parallel's -q) passes every word as
// it is. The shell's script is printed as it is, the words of a command
// run without one each quoted.
func TestMapRedirectionWords(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"echo", "{}", ">", "{}.txt", ":::", "a"}, "echo a > a.txt\n"},
		{[]string{"echo", "{}", ">{.}.txt", ":::", "a.b"}, "echo a.b >a.txt\n"},
		{[]string{"samtools", "view", "{}", "2>/dev/null", ":::", "a"}, "samtools view a 2>/dev/null\n"},
		{[]string{"cmd", "{}", "2>>log.{#}", ":::", "a"}, "cmd a 2>>log.1\n"},
		{[]string{"wc", "-l", "<{}", ":::", "a"}, "wc -l <a\n"},
		{[]string{"grep", "-c", ">", "{}", ":::", "x.fa"}, "grep -c '>' x.fa\n"},
		{[]string{"cut", "-d", ">", "-f2", "{}", ":::", "x"}, "cut -d '>' -f2 x\n"},
		{[]string{"grep", "-A1", ">chr1", "{}", ":::", "x.fa"}, "grep -A1 '>chr1' x.fa\n"},
		{[]string{"awk", "$1>=5", "{}", ":::", "x"}, "awk '$1>=5' x\n"},
		{[]string{"--quote", "echo", "{}", ">", "{}.txt", ":::", "a"}, "echo a '>' a.txt\n"},
		{[]string{"--quote", "echo {} | wc", ":::", "a"}, "'echo a | wc'\n"},
	} {
		out, errb, code := dryRunMap(t, c.args...)
		if code != 0 || out != c.want {
			t.Errorf("burst map --dry-run %q: exit %d, %q (stderr %q); want %q", c.args, code, out, errb, c.want)
		}
	}
}

// A > into the task's input itself (grep '>' {}: a pattern, written for
// parallel -q) would write over the input file in a shell: it is refused,
// naming --quote, before anything runs.
func TestMapRedirectionIntoTheInputIsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"grep", ">", "{}", ":::", "x.fa"},
		{"grep", ">{}", ":::", "x.fa"},
		{"sort", "{1}", ">", "{1}", ":::", "x"},
	} {
		out, errb, code := dryRunMap(t, args...)
		if code != 255 || out != "" || !strings.Contains(errb, "add --quote") || !strings.Contains(errb, "write over each task's input file") {
			t.Errorf("burst map %q: exit %d, stdout %q, stderr %q; want it refused, naming --quote", args, code, out, errb)
		}
	}
	if out, errb, code := dryRunMap(t, "--quote", "grep", ">", "{}", ":::", "x.fa"); code != 0 || out != "grep '>' x.fa\n" {
		t.Errorf("--quote grep > {}: exit %d, %q %q", code, out, errb)
	}
}
