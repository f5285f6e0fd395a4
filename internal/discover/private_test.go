package discover

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadPrivate: a file of credentials is read only when it is this
// user's own regular file, mode 0600 or tighter, as ssh reads a private
// key (ssh(1), FILES: "~/.ssh/id_rsa ... These files contain sensitive
// data and should be readable by the user but not accessible by others
// ... ssh will simply ignore a private key file if it is accessible by
// others"); each refusal names the fix. ReadLogins (credentials.json)
// goes through it.
func TestReadPrivate(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	path := filepath.Join(dir, "burst", "credentials.json")
	os.MkdirAll(filepath.Dir(path), 0o700)
	if _, err := ReadPrivate(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	os.WriteFile(path, []byte(`{"servers":[]}`), 0o600)
	if _, err := ReadLogins(); err != nil {
		t.Errorf("a 0600 file: %v", err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o602} {
		os.Chmod(path, mode)
		if _, err := ReadLogins(); err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %04o: %v, want a refusal naming chmod 600 %s", mode, err, path)
		}
	}
	os.Chmod(path, 0o600)
	link := filepath.Join(dir, "link.json")
	os.Symlink(path, link)
	if _, err := ReadPrivate(link); err == nil || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a symlink: %v, want a refusal", err)
	}
	if os.Getuid() == 0 {
		os.Chown(path, 65534, 65534)
		if _, err := ReadPrivate(path); err == nil || !strings.Contains(err.Error(), "not to you") {
			t.Errorf("another user's file: %v, want a refusal", err)
		}
	}
}
