package runner

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A log inside burst's home is created 0600 in 0700 directories by its
// path alone, even where a link of the home leads to a directory open to
// others; elsewhere the modes follow the directory, as a user's files do.
func TestLogModesPrivateInsideTheHome(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home")
	open := filepath.Join(root, "open")
	os.MkdirAll(home, 0o700)
	os.MkdirAll(open, 0o755)
	os.Chmod(open, 0o755)
	if err := os.Symlink(open, filepath.Join(home, "logs")); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(home, "logs", "1", "0.out")
	f, err := openLog(log, false, home)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for p, want := range map[string]os.FileMode{log: 0o600, filepath.Dir(log): 0o700 | os.ModeDir} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode()&(os.ModeDir|os.ModePerm) != want {
			t.Errorf("%s: %v (%v); want %v", p, fi.Mode(), err, want)
		}
	}
	mine := filepath.Join(open, "out", "result.txt")
	f, err = openLog(mine, false, home)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(mine); fi.Mode().Perm() != 0o644&^umask() {
		t.Errorf("%s outside the home: %v; want 0644 less the umask", mine, fi.Mode())
	}
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}
