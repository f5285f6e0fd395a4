package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// tokenGone tells a server gone for good (its token file removed, or
// holding another home's token) from one merely unreachable.
func TestTokenGone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if why := tokenGone(path, "old"); why != "" {
		t.Errorf("the token file as it was: %q, want \"\"", why)
	}
	if why := tokenGone("", "old"); why != "" {
		t.Errorf("no token file (a joined machine): %q, want \"\"", why)
	}
	if err := os.WriteFile(path, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if why := tokenGone(path, "old"); !strings.Contains(why, "holds another token") {
		t.Errorf("the home made again: %q", why)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if why := tokenGone(path, "old"); !strings.Contains(why, "was removed") {
		t.Errorf("the home removed: %q", why)
	}
	if err := os.Chmod(dir, 0o000); err == nil && os.Getuid() != 0 {
		defer os.Chmod(dir, 0o700)
		if why := tokenGone(path, "old"); why != "" {
			t.Errorf("an unreadable home tells nothing: %q", why)
		}
	}
}

// goneRule watches only a home's own token file: named token, a regular
// file, the home's state.db beside it.
func TestGoneRule(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, "token")
	if err := os.WriteFile(path, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if goneRule(path, "tok") != nil {
		t.Errorf("a token file with no state.db beside it: want no rule")
	}
	if err := os.WriteFile(filepath.Join(home, "state.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	gone := goneRule(path, "tok")
	if gone == nil {
		t.Fatalf("a home's token file: want a rule")
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if why := gone(); why != "" {
		t.Errorf("a token file being written (empty): %q, want \"\"", why)
	}
	other := filepath.Join(home, "copy")
	if err := os.WriteFile(other, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if goneRule(other, "tok") != nil || goneRule("", "tok") != nil {
		t.Errorf("a copy of the token, or none: want no rule")
	}
	// A named pipe called token beside a state.db (--token-file <(...)
	// reads as one): not a home's own token file.
	fifoHome := t.TempDir()
	fifo := filepath.Join(fifoHome, "token")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fifoHome, "state.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if goneRule(fifo, "tok") != nil {
		t.Errorf("a named pipe for a token file: want no rule")
	}
}
