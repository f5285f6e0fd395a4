package home

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// A brand-new home on a full disk: creating the token fails, and leaves no
// token file behind (before, an empty one was left, and every later
// command said "token file is empty: delete it"); once there is room the
// token is made and read back.
func TestEnsureTokenOnFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("BURST_CI") == "1" {
			t.Fatal("a full-disk test needs root to mount a small tmpfs, and BURST_CI=1 asks that it runs")
		}
		t.Skip("SKIPPED: a full-disk test needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			break
		}
	}
	f.Close()

	h := Home(dir)
	if tok, err := h.EnsureToken(); err == nil {
		t.Fatalf("EnsureToken on a full disk returned %q and no error", tok)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "filler" {
			t.Errorf("a failed EnsureToken left %s behind", e.Name())
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	tok, err := h.EnsureToken()
	if err != nil || len(tok) != 64 {
		t.Fatalf("EnsureToken once there is room: %q, %v", tok, err)
	}
	if got, err := h.ReadToken(); err != nil || got != tok {
		t.Errorf("ReadToken: %q, %v; want %q", got, err, tok)
	}
	if fi, err := os.Stat(h.Token()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file: %v, %v; want mode 0600", fi, err)
	}
}
