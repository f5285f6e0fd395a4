package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/burst-sh/burst/client"
)

// The join URL comes from --join, --join-file (a file, or - for stdin) or
// $BURST_JOIN_URL, one way at a time; the variable is dropped once read,
// so that nothing the agent starts inherits it.
func TestJoinURLFrom(t *testing.T) {
	const u = "https://10.0.0.5:7780/burst_j_ab#sha256:cd"
	file := filepath.Join(t.TempDir(), "join")
	if err := os.WriteFile(file, []byte(u+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, flag, file, stdin, env string
		want, from, err              string
	}{
		{name: "flag", flag: u, want: u, from: "--join"},
		{name: "file", file: file, want: u, from: "--join-file"},
		{name: "stdin", file: "-", stdin: u + "\n", want: u, from: "--join-file"},
		{name: "env", env: u, want: u, from: client.JoinURLEnv},
		{name: "flag over env", flag: u, env: "https://other", want: u, from: "--join"},
		{name: "none", from: client.JoinURLEnv},
		{name: "both flags", flag: u, file: file, err: "give the join URL one way"},
		{name: "empty stdin", file: "-", err: "is empty"},
	} {
		t.Setenv(client.JoinURLEnv, c.env)
		got, from, err := joinURLFrom(c.flag, c.file, strings.NewReader(c.stdin))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want an error saying %q", c.name, err, c.err)
			}
		} else if err != nil || got != c.want || from != c.from {
			t.Errorf("%s: %q from %q, %v; want %q from %q", c.name, got, from, err, c.want, c.from)
		}
		if v, ok := os.LookupEnv(client.JoinURLEnv); ok {
			t.Errorf("%s: %s=%q is still set after reading it", c.name, client.JoinURLEnv, v)
		}
	}
}

// The printed command gives the URL to the agent in its environment,
// quoted for the shell, and not as an argument.
func TestJoinCommand(t *testing.T) {
	got := client.JoinCommand("https://h:1/burst_j_x#sha256:y'z")
	if want := `BURST_JOIN_URL='https://h:1/burst_j_x#sha256:y'"'"'z' burst agent`; got != want {
		t.Errorf("JoinCommand: %s, want %s", got, want)
	}
}
