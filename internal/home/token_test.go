package home

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/burst-sh/burst/internal/testfs"
)

// A brand-new home on a full disk: creating the token fails, and leaves no
// token file behind (before, an empty one was left, and every later
// command said "token file is empty: delete it"); once there is room the
// token is made and read back.
func TestEnsureTokenOnFullDisk(t *testing.T) {
	dir := testfs.SmallDisk(t, "", "1m", nil)
	filler := filepath.Join(dir, "filler")
	testfs.Fill(t, filler)

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

// A home whose socket path does not fit sockaddr_un is refused naming
// the limit and the fix; one that fits, to the byte, is not.
func TestSocketFits(t *testing.T) {
	base := "/tmp/" + strings.Repeat("h", MaxSocketPath-len("/tmp/")-len("/burst.sock"))
	if err := Home(base).SocketFits(); err != nil {
		t.Errorf("a socket path of %d bytes: %v", len(Home(base).Socket()), err)
	}
	err := Home(base + "x").SocketFits()
	if err == nil || !strings.Contains(err.Error(), "is 108 bytes, and a UNIX socket's path may have at most 107") ||
		!strings.Contains(err.Error(), "use a home of at most 96 bytes") {
		t.Errorf("a socket path of 108 bytes: %v", err)
	}
}
