package discover

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The CLI that starts a server creates the home and nothing more: the
// server walks it once to make it private (home.Private), instead of the
// CLI walking it first and the server again. The "server" here is a script
// that records the modes it finds at its start: the home's and a file's,
// left as they were (0755, 0644) for the server to tighten. Before, the
// CLI had already made them 0700 and 0600.
func TestAutostartLeavesPrivacyToTheServer(t *testing.T) {
	h := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(h, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(h, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h, "notes"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(h, "notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	seen := filepath.Join(t.TempDir(), "seen")
	exe := filepath.Join(t.TempDir(), "fake-burst")
	script := "#!/bin/sh\nstat -c %a \"$BURST_HOME\" \"$BURST_HOME/notes\" > " + seen + "\nexit 1\n"
	if err := os.WriteFile(exe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BURST_HOME", h)
	t.Setenv("BURST_SERVER", "")
	t.Setenv("BURST_TOKEN", "")
	if _, err := Connect(context.Background(), exe, io.Discard); err == nil {
		t.Fatal("Connect with a server that exits at once: want an error")
	}
	b, err := os.ReadFile(seen)
	if err != nil {
		t.Fatalf("the server script did not run: %v", err)
	}
	if got := strings.Fields(string(b)); len(got) != 2 || got[0] != "755" || got[1] != "644" {
		t.Fatalf("modes the server found at its start (home, file): %q; want 755 644, left for the server's one walk", got)
	}
}

// A home that does not exist is created 0700 by the CLI that starts a
// server in it.
func TestAutostartCreatesTheHomePrivate(t *testing.T) {
	h := filepath.Join(t.TempDir(), "new", "home")
	t.Setenv("BURST_HOME", h)
	t.Setenv("BURST_SERVER", "")
	t.Setenv("BURST_TOKEN", "")
	if _, err := Connect(context.Background(), "false", io.Discard); err == nil {
		t.Fatal("Connect with a server that cannot start: want an error")
	}
	fi, err := os.Stat(h)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("home created with mode %o; want 700", fi.Mode().Perm())
	}
}

// A Go test binary is never started as the server: `pkg.test server` runs
// pkg's tests, so a test that reached the autostart (a CLI command with no
// server) started its own tests again, each of which did the same, until
// the machine ran out of processes. The "test binary" here is a script
// that would leave a mark had it been started.
func TestAutostartRefusesATestBinary(t *testing.T) {
	ran := filepath.Join(t.TempDir(), "ran")
	exe := filepath.Join(t.TempDir(), "cli.test")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\ntouch "+ran+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BURST_HOME", filepath.Join(t.TempDir(), "home"))
	t.Setenv("BURST_SERVER", "")
	t.Setenv("BURST_TOKEN", "")
	_, err := Connect(context.Background(), exe, io.Discard)
	var se *SetupError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "is a Go test binary") {
		t.Fatalf("Connect with a test binary for the server: %v, want a setup error saying it is a test binary", err)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("the test binary was started as a server")
	}
}
