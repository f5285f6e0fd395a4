package cli

import (
	"os"
	"path/filepath"
	"strings"
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
