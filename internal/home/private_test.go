package home

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestPrivateTightensEverythingAndFollowsNoLink(t *testing.T) {
	root := t.TempDir()
	h := Home(filepath.Join(root, "home"))
	outside := filepath.Join(root, "outside.txt")
	os.WriteFile(outside, []byte("not burst's"), 0o644)
	os.Chmod(outside, 0o644)
	files := map[string]os.FileMode{
		"state.db": 0o644, "token": 0o640, "logs/1/0/0.out": 0o666, "agents/local-1.log": 0o644,
		"backups/state-x.db": 0o644, "slurm/pilot.sh": 0o755, "already": 0o600,
	}
	for p, m := range files {
		p = filepath.Join(string(h), p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, m)
		os.Chmod(p, m)
	}
	os.Symlink(outside, filepath.Join(string(h), "link"))
	filepath.Walk(string(h), func(p string, fi os.FileInfo, err error) error {
		if fi.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{"slurm/pilot.sh": 0o700} // the owner's execute bit stays
	filepath.Walk(string(h), func(p string, fi os.FileInfo, err error) error {
		rel, _ := filepath.Rel(string(h), p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
		case fi.IsDir() && fi.Mode().Perm() != 0o700:
			t.Errorf("directory %s is %v; want 0700", rel, fi.Mode().Perm())
		case !fi.IsDir():
			w, ok := want[rel]
			if !ok {
				w = files[rel] & 0o600
			}
			if fi.Mode().Perm() != w {
				t.Errorf("%s is %v; want %v", rel, fi.Mode().Perm(), w)
			}
		}
		return nil
	})
	if fi, _ := os.Stat(outside); fi.Mode().Perm() != 0o644 {
		t.Errorf("a link's target outside the home was changed to %v", fi.Mode().Perm())
	}
}

func TestPrivateRefusesAnotherUsersHome(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a directory to another user")
	}
	h := Home(filepath.Join(t.TempDir(), "home"))
	os.Mkdir(string(h), 0o755)
	if err := os.Chown(string(h), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	err := h.Ensure()
	if !errors.Is(err, ErrNotYours) || !strings.Contains(err.Error(), "chown") || !strings.Contains(err.Error(), "BURST_HOME") {
		t.Fatalf("Ensure of another user's home = %v; want ErrNotYours naming chown and BURST_HOME", err)
	}
	var st syscall.Stat_t
	syscall.Stat(string(h), &st)
	if st.Mode&0o777 != 0o755 {
		t.Errorf("another user's home was changed to %o", st.Mode&0o777)
	}
}

func TestCreatePrivateIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	p := filepath.Join(t.TempDir(), "state.db")
	if err := CreatePrivate(p); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte("kept"), 0o644) // exists: mode unchanged
	if err := CreatePrivate(p); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("created %v under umask 0; want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(p); string(b) != "kept" {
		t.Errorf("CreatePrivate of an existing file changed it: %q", b)
	}
}

// A home burst keeps is checked at its top level only: a directory that is
// private already is not entered (nobody else can reach what it holds),
// while a file at the top level, such as a store an older burst made 0644,
// is tightened.
func TestPrivateEntersOnlyOpenDirectories(t *testing.T) {
	h := Home(t.TempDir())
	os.Chmod(string(h), 0o700)
	deep := filepath.Join(string(h), "logs", "1", "0", "0.out")
	os.MkdirAll(filepath.Dir(deep), 0o700)
	os.WriteFile(deep, nil, 0o644)
	os.Chmod(deep, 0o644)
	db := filepath.Join(string(h), "state.db")
	os.WriteFile(db, nil, 0o644)
	os.Chmod(db, 0o644)
	if err := h.Private(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(db); fi.Mode().Perm() != 0o600 {
		t.Errorf("state.db at the top level is %v; want 0600", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(deep); fi.Mode().Perm() != 0o644 {
		t.Errorf("a file under a private directory was visited (now %v)", fi.Mode().Perm())
	}
}

func TestPrivateFollowsAHomeThatIsALink(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "scratch")
	os.Mkdir(real, 0o755)
	os.Chmod(real, 0o755)
	os.WriteFile(filepath.Join(real, "token"), []byte("t\n"), 0o644)
	os.Chmod(filepath.Join(real, "token"), 0o644)
	link := filepath.Join(root, "home")
	os.Symlink(real, link)
	if err := Home(link).Ensure(); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{real: 0o700, filepath.Join(real, "token"): 0o600} {
		if fi, _ := os.Stat(p); fi.Mode().Perm() != want {
			t.Errorf("%s is %v; want %v", p, fi.Mode().Perm(), want)
		}
	}
}

// CreatePrivate follows no link: a store planted as a link (to a file
// anyone can read) is refused with the fix, and left as it is.
func TestCreatePrivateRefusesALink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere.db")
	os.WriteFile(target, nil, 0o644)
	link := filepath.Join(dir, "state.db")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	err := CreatePrivate(link)
	if err == nil || !strings.Contains(err.Error(), "rm "+link) {
		t.Fatalf("CreatePrivate(link) = %v; want a refusal naming `rm %s`", err, link)
	}
	if err := CreatePrivate(filepath.Join(dir, "new.db")); err != nil {
		t.Fatal(err)
	}
	if err := CreatePrivate(filepath.Join(dir, "new.db")); err != nil {
		t.Fatalf("CreatePrivate of an existing file: %v", err)
	}
}
